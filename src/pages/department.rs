//! A department: its doctors, each with the next days' availability at a glance.

use fairslot_core::schedule::ScheduleIndex;
use fairslot_core::time::{hospital_today, offset};
use fairslot_core::{Doctor, DoctorList, Schedule};
use leptos::prelude::*;
use leptos_router::components::A;

use super::hospital::not_found;
use super::{hospital_param, param};
use crate::api::{ApiError, ScheduleTarget, use_api};
use crate::browser;
use crate::components::{
    EmptyState, availability_state, availability_text, format_fee, remote_view, title_msg,
};
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_reads;
use crate::routes;

/// Days shown at a glance on each doctor's card.
const GLANCE_DAYS: u32 = 7;

#[derive(Clone)]
struct DepartmentView {
    list: DoctorList,
    schedule: Schedule,
}

#[component]
pub fn DepartmentPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let reads = use_reads();
    let hospital_id = hospital_param();
    let department_id = param("department");
    let data = LocalResource::new(move || {
        // Shown from the device at once when seen before; loads again when a refresh lands.
        reads.track();
        let api = api.clone();
        let ids = hospital_id.get().zip(department_id.get());
        async move {
            let (hospital, department) = ids.ok_or_else(not_found)?;
            let list = api.doctors(&department).await?;
            // A department reached through another hospital's URL does not exist there.
            if list.hospital.id != hospital {
                return Err(not_found());
            }
            let today = hospital_today(browser::now_utc(), list.hospital.utc_offset_minutes);
            let schedule = api
                .schedule(ScheduleTarget::Department(department), today, GLANCE_DAYS)
                .await?;
            Ok::<_, ApiError>(DepartmentView { list, schedule })
        }
    });

    remote_view(data, 5, move |DepartmentView { list, schedule }| {
        let DoctorList {
            department,
            hospital,
            items,
        } = list;
        let name = department.name.clone();
        Effect::new(move |_| browser::set_title(&i18n.pick(&name)));
        let hospital_href = routes::hospital(&hospital.id);
        let at = routes::Department::new(&hospital.id, &department.id);
        let empty = items.is_empty();
        let index = ScheduleIndex::new(&schedule.sessions);
        let now = browser::now_utc().with_timezone(&offset(schedule.utc_offset_minutes));
        let cards = items
            .into_iter()
            .map(|doctor| {
                let strip = index.strip(&schedule.sessions, schedule.from, schedule.days, Some(&doctor.id), now);
                let href = at.doctor(&doctor.id);
                view! { <DoctorCard doctor=doctor strip=strip href=href offset_minutes=schedule.utc_offset_minutes /> }
            })
            .collect_view();
        view! {
            <nav class="breadcrumbs" aria-label=i18n.t(Msg::Breadcrumbs)>
                <A href=routes::HOME>{i18n.t(Msg::HospitalsTitle)}</A>
                <A href=hospital_href>{move || i18n.pick(&hospital.name)}</A>
            </nav>
            <h1>{move || i18n.pick(&department.name)}</h1>
            <p>
                <A href=at.schedule() attr:class="button button-secondary">
                    {i18n.t(Msg::DepartmentSchedule)}
                </A>
            </p>
            <h2>{i18n.t(Msg::DoctorsTitle)}</h2>
            {if empty {
                view! { <EmptyState message=Msg::NoDoctors /> }.into_any()
            } else {
                view! { <ul class="cards">{cards}</ul> }.into_any()
            }}
        }
    })
}

#[component]
fn DoctorCard(
    doctor: Doctor,
    strip: Vec<fairslot_core::schedule::DaySummary>,
    href: String,
    offset_minutes: i32,
) -> impl IntoView {
    let i18n = use_i18n();
    let Doctor {
        name,
        title,
        specialty,
        fee_fen,
        ..
    } = doctor;
    let days = strip
        .into_iter()
        .map(|day| {
            let state = availability_state(day.availability);
            let text = move || availability_text(i18n, day.availability, offset_minutes);
            let date = fairslot_core::time::month_day(day.date);
            view! {
                <li data-state=state>
                    <span class="glance-date">{date}</span>
                    <span class="glance-state">{text}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <li class="card doctor-card">
            <A href=href attr:class="card-link">
                <h3 class="card-title">{move || i18n.pick(&name)}</h3>
            </A>
            <p class="card-meta">
                {title.map(|t| view! { <span class="badge">{i18n.t(title_msg(t))}</span> })}
                {fee_fen.map(|fee| view! { <span>{i18n.t(Msg::Fee)}" "{format_fee(fee)}</span> })}
            </p>
            <p class="card-specialty">{move || i18n.pick(&specialty)}</p>
            <h4 class="visually-hidden">{i18n.t(Msg::NextDays)}</h4>
            <ol class="glance">{days}</ol>
        </li>
    }
}
