//! A doctor's or a whole department's schedule: 14 days as a day strip, then the chosen day's
//! sessions with their slots. Times are always the hospital's.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use fairslot_core::schedule::{Availability, ScheduleIndex, availability, periods_present};
use fairslot_core::time::{hhmm, hospital_today, offset, parse_date};
use fairslot_core::{Doctor, DoctorList, Schedule, Session};
use leptos::prelude::*;
use leptos_router::components::A;

use super::hospital::not_found;
use super::{hospital_param, param, query_param, use_set_query};
use crate::api::{Api, ApiError, ScheduleTarget, use_api};
use crate::browser;
use crate::components::{
    DayStrip, EmptyState, availability_state, availability_text, format_fee, period_msg,
    remote_view, title_msg,
};
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_reads;
use crate::routes;

/// How far ahead patients can look.
const SCHEDULE_DAYS: u32 = 14;

/// A department's or doctor's next 14 days, with what is needed to show them.
#[derive(Clone)]
pub(super) struct ScheduleData {
    pub list: DoctorList,
    pub schedule: Arc<Schedule>,
    pub index: Arc<ScheduleIndex>,
    pub today: NaiveDate,
    pub now: DateTime<FixedOffset>,
}

/// Loads the department (for names and the hospital's offset), then the schedule from the
/// hospital's today. An unknown doctor of that department is "not found".
pub(super) async fn load_schedule(
    api: Api,
    hospital: Option<String>,
    department: Option<String>,
    doctor: Option<String>,
) -> Result<ScheduleData, ApiError> {
    let (hospital, department) = hospital.zip(department).ok_or_else(not_found)?;
    let list = api.doctors(&department).await?;
    if list.hospital.id != hospital {
        return Err(not_found());
    }
    let today = hospital_today(browser::now_utc(), list.hospital.utc_offset_minutes);
    let target = match doctor {
        Some(d) if list.items.iter().any(|x| x.id == d) => ScheduleTarget::Doctor(d),
        Some(_) => return Err(not_found()),
        None => ScheduleTarget::Department(department),
    };
    let schedule = api.schedule(target, today, SCHEDULE_DAYS).await?;
    let index = Arc::new(ScheduleIndex::new(&schedule.sessions));
    let now = browser::now_utc().with_timezone(&offset(schedule.utc_offset_minutes));
    Ok(ScheduleData {
        list,
        schedule: Arc::new(schedule),
        index,
        today,
        now,
    })
}

#[component]
pub fn SchedulePage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let reads = use_reads();
    let department_id = param("department");
    let doctor_id = param("doctor");
    let hospital_id = hospital_param();
    let data = LocalResource::new(move || {
        // Shown from the device at once when seen before; loads again when a refresh lands.
        reads.track();
        load_schedule(
            api.clone(),
            hospital_id.get(),
            department_id.get(),
            doctor_id.get(),
        )
    });
    let day_param = query_param("day");
    let set_query = use_set_query();

    remote_view(data, 6, move |data| {
        let ScheduleData {
            list,
            schedule,
            index,
            today,
            now,
        } = data;
        let doctor = doctor_id
            .get_untracked()
            .and_then(|id| list.items.iter().find(|d| d.id == id).cloned());
        let offset_minutes = schedule.utc_offset_minutes;
        let strip = index.strip(&schedule.sessions, schedule.from, schedule.days, None, now);
        // Without a chosen day, open the first day a patient can book, or today.
        let first_open = strip
            .iter()
            .find(|d| d.availability.is_some_and(Availability::is_bookable))
            .map(|d| d.date)
            .unwrap_or(today);
        let (first_day, last_day) = (schedule.from, strip.last().map_or(today, |d| d.date));
        let selected = Memo::new(move |_| {
            day_param
                .get()
                .as_deref()
                .and_then(parse_date)
                .filter(|d| (first_day..=last_day).contains(d))
                .unwrap_or(first_open)
        });
        let on_select =
            Callback::new(move |date: NaiveDate| set_query.run(vec![("day", date.to_string())]));

        let hospital_href = routes::hospital(&list.hospital.id);
        let at = routes::Department::new(&list.hospital.id, &list.department.id);
        let department_href = at.href();
        let heading = doctor
            .as_ref()
            .map(|d| d.name.clone())
            .unwrap_or(list.department.name.clone());
        {
            let heading = heading.clone();
            Effect::new(move |_| {
                let title = format!(
                    "{} · {}",
                    i18n.pick(&heading),
                    Msg::ScheduleTitle.text(i18n.locale.get())
                );
                browser::set_title(&title);
            });
        }
        let doctors: Arc<Vec<Doctor>> = Arc::new(schedule.doctors.clone());
        let hospital_name = list.hospital.name.clone();
        let department_name = list.department.name.clone();
        let is_doctor_view = doctor.is_some();
        let sessions_view = {
            let schedule = Arc::clone(&schedule);
            let index = Arc::clone(&index);
            let at = at.clone();
            move || {
                let date = selected.get();
                let sessions: Vec<&Session> = index.day(&schedule.sessions, date).collect();
                if sessions.is_empty() {
                    return view! { <EmptyState message=Msg::NoSessions /> }.into_any();
                }
                periods_present(sessions.iter().copied())
                    .into_iter()
                    .map(|period| {
                        let rows = sessions
                            .iter()
                            .filter(|s| s.period == period)
                            .map(|s| {
                                let doc = doctors.iter().find(|d| d.id == s.doctor_id).cloned();
                                if is_doctor_view {
                                    view! { <SessionSlots session=(*s).clone() now=now offset_minutes=offset_minutes at=at.clone() /> }.into_any()
                                } else {
                                    let href = at.doctor_on(&s.doctor_id, date);
                                    view! { <SessionRow session=(*s).clone() doctor=doc href=href now=now offset_minutes=offset_minutes /> }.into_any()
                                }
                            })
                            .collect_view();
                        view! {
                            <section class="period" data-period=format!("{period:?}").to_lowercase()>
                                <h2>{i18n.t(period_msg(period))}</h2>
                                <ul class="sessions">{rows}</ul>
                            </section>
                        }
                    })
                    .collect_view()
                    .into_any()
            }
        };

        view! {
            <nav class="breadcrumbs" aria-label=i18n.t(Msg::Breadcrumbs)>
                <A href=routes::HOME>{i18n.t(Msg::HospitalsTitle)}</A>
                <A href=hospital_href>{move || i18n.pick(&hospital_name)}</A>
                <A href=department_href>{move || i18n.pick(&department_name)}</A>
            </nav>
            <header class="page-header">
                <h1>{move || i18n.pick(&heading)}</h1>
                {doctor.map(|d| view! {
                    <p class="card-meta">
                        {d.title.map(|t| view! { <span class="badge">{i18n.t(title_msg(t))}</span> })}
                        {d.fee_fen.map(|fee| view! { <span>{i18n.t(Msg::Fee)}" "{format_fee(fee)}</span> })}
                    </p>
                    <p class="card-specialty">{move || i18n.pick(&d.specialty)}</p>
                })}
                <p class="timezone-note">{move || i18n.fmt(Msg::TimesIn, fairslot_core::time::utc_offset(offset_minutes))}</p>
            </header>
            <DayStrip days=strip today=today offset_minutes=offset_minutes selected=selected on_select=on_select />
            <div class="day-sessions">{sessions_view}</div>
        }
    })
}

/// One doctor's session in a department's day: who, and how many places; opens the doctor's page.
#[component]
fn SessionRow(
    session: Session,
    doctor: Option<Doctor>,
    href: String,
    now: DateTime<FixedOffset>,
    offset_minutes: i32,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = availability(&session, now);
    let data_state = availability_state(Some(state));
    let label = move || availability_text(i18n, Some(state), offset_minutes);
    let name = doctor.as_ref().map(|d| d.name.clone());
    let title = doctor.and_then(|d| d.title.map(title_msg));
    view! {
        <li class="session-row" data-state=data_state>
            <A href=href attr:class="card-link">
                <span class="session-doctor">{move || name.as_ref().map(|n| i18n.pick(n))}</span>
            </A>
            <span class="session-title">{title.map(|t| i18n.t(t))}</span>
            <span class="session-state">{label}</span>
        </li>
    }
}

/// A session of one doctor with its slots listed by time.
#[component]
fn SessionSlots(
    session: Session,
    now: DateTime<FixedOffset>,
    offset_minutes: i32,
    /// The department the session is in, where its slots are booked.
    at: routes::Department,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = availability(&session, now);
    let data_state = availability_state(Some(state));
    let label = move || availability_text(i18n, Some(state), offset_minutes);
    let show_slots = matches!(state, Availability::Open(_) | Availability::Full);
    let slots = session
        .slots
        .into_iter()
        .map(|slot| {
            let time = format!(
                "{}–{}",
                hhmm(slot.start, offset_minutes),
                hhmm(slot.end, offset_minutes)
            );
            let past = slot.start <= now;
            let open = slot.remaining > 0 && !past;
            let remaining = slot.remaining;
            let text = move || match (past, open) {
                (true, _) => Msg::SlotPast.text(i18n.locale.get()).to_string(),
                (false, true) => i18n.fmt(Msg::Remaining, remaining),
                (false, false) => Msg::Full.text(i18n.locale.get()).to_string(),
            };
            let body = view! {
                <span class="slot-time">{time}</span>
                <span class="slot-remaining">{text}</span>
            };
            // Only a place that can really be booked is a link.
            let content = if open && state.is_bookable() {
                let href = at.book(&session.doctor_id, &slot.id);
                view! { <A href=href attr:class="slot-link">{body}</A> }.into_any()
            } else {
                body.into_any()
            };
            view! {
                <li class="slot" data-open=open.to_string() data-slot=slot.id>
                    {content}
                </li>
            }
        })
        .collect_view();
    view! {
        <li class="session-card" data-state=data_state>
            <p class="session-state">{label}</p>
            {show_slots.then(|| view! { <ul class="slots">{slots}</ul> })}
        </li>
    }
}
