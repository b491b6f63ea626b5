//! Booking one slot: hold it with a visible countdown, ask who the patient is, show everything
//! once more, confirm once. Every refusal says what happened and keeps what was typed.

use std::time::Duration;

use chrono::NaiveDate;
use fairslot_core::embed::ToHost;
use fairslot_core::identity::{mask_document, mask_name, mask_phone};
use fairslot_core::outbox::{IdempotencyKey, Intent, State};
use fairslot_core::schedule::availability;
use fairslot_core::time::{hhmm, seconds_left};
use fairslot_core::{
    Alternative, BookingRequest, DocumentKind, Hold, ProblemKind, Relationship, Session, Slot,
    SlotSummary, Text,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use super::hospital::not_found;
use super::schedule::{ScheduleData, load_schedule};
use super::{hospital_param, param};
use crate::api::{Advice, ApiError, use_api};
use crate::booking::{
    Draft, Field, document_msg, identity_msg, relationship_msg, server_code_msg, use_draft,
};
use crate::browser;
use crate::components::{
    IntentStatus, Keypad, alternative_link, format_fee, period_msg, remote_view, title_msg,
};
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_outbox;
use crate::routes;

#[component]
pub fn BookPage() -> impl IntoView {
    let api = use_api();
    let hospital_id = hospital_param();
    let department_id = param("department");
    let doctor_id = param("doctor");
    let slot_id = param("slot");
    let data = LocalResource::new(move || {
        let api = api.clone();
        let (hospital, department, doctor, slot) = (
            hospital_id.get(),
            department_id.get(),
            doctor_id.get(),
            slot_id.get(),
        );
        async move {
            let data = load_schedule(api, hospital, department, doctor).await?;
            let slot = slot.ok_or_else(not_found)?;
            let found = data.schedule.sessions.iter().find_map(|s| {
                s.slots
                    .iter()
                    .find(|x| x.id == slot)
                    .map(|x| (s.clone(), x.clone()))
            });
            let (session, slot) = found.ok_or_else(not_found)?;
            Ok::<_, ApiError>((data, session, slot))
        }
    });
    remote_view(data, 3, |(data, session, slot)| {
        view! { <BookingFlow data=data session=session chosen=slot /> }
    })
}

/// Where the hold stands.
#[derive(Debug, Clone, PartialEq)]
enum HoldState {
    Taking,
    Held {
        hold: Hold,
        device_then_ms: f64,
    },
    Expired,
    /// The backend has no holds: the place is taken on confirming.
    NotNeeded,
    /// The backend says it takes no bookings (a read-only FHIR server).
    Unsupported,
    /// The slot could not be held or booked: taken, stopped, or the service failed.
    Refused(ApiError),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Form,
    Review,
}

/// A fresh idempotency key; the browser's UUID always passes the key rule, the fallback too.
fn new_key() -> IdempotencyKey {
    IdempotencyKey::parse(&browser::new_idempotency_key())
        .or_else(|_| IdempotencyKey::parse(&format!("k{}", browser::now_ms() as u64)))
        .expect("a decimal timestamp is a valid key")
}

/// The server refused for a field the form does not show: nothing the patient can correct.
fn names_unknown_field(e: &ApiError) -> bool {
    match e {
        ApiError::Problem(p) => p
            .errors
            .iter()
            .any(|f| !Field::ALL.iter().any(|x| x.api_name() == f.field)),
        _ => false,
    }
}

fn problem_kind(e: &ApiError) -> Option<ProblemKind> {
    match e {
        ApiError::Problem(p) => p.kind(),
        _ => None,
    }
}

#[component]
fn BookingFlow(data: ScheduleData, session: Session, chosen: Slot) -> impl IntoView {
    let slot = chosen;
    let i18n = use_i18n();
    let api = use_api();
    let draft = use_draft();
    let navigate = use_navigate();
    let offset_minutes = data.schedule.utc_offset_minutes;
    let today = data.today;
    let doctor = data
        .schedule
        .doctors
        .iter()
        .find(|d| d.id == session.doctor_id)
        .cloned();
    let hospital = data.list.hospital.clone();
    let department = data.list.department.clone();
    let alt_base = routes::Department::new(&hospital.id, &department.id);
    let schedule_href = alt_base.doctor_on(&session.doctor_id, session.date);

    let summary_of_slot = SlotSummary {
        slot_id: slot.id.clone(),
        start: slot.start,
        end: slot.end,
        period: session.period,
        hospital_id: hospital.id.clone(),
        hospital_name: hospital.name.clone(),
        hospital_address: hospital.address.clone(),
        department_id: department.id.clone(),
        department_name: department.name.clone(),
        doctor_id: session.doctor_id.clone(),
        doctor_name: doctor.as_ref().map_or_else(
            || Text {
                zh: String::new(),
                en: String::new(),
            },
            |d| d.name.clone(),
        ),
        fee_fen: session.fee_fen,
    };

    let outbox = use_outbox();
    let hold = RwSignal::new(HoldState::Taking);
    let step = RwSignal::new(Step::Form);
    // Between the confirm tap and the intent being safely stored.
    let saving = RwSignal::new(false);
    let failure = RwSignal::new(None::<Advice>);
    // The outbox entry of this page's booking, once confirmed.
    let intent_key = RwSignal::new(None::<String>);
    let intent = Memo::new(move |_| intent_key.get().and_then(|k| outbox.find(&k)));
    // Pending, or settled in a way the patient must read before going on.
    let in_outbox = Memo::new(move |_| {
        intent.with(|i| {
            i.as_ref().is_some_and(|i| {
                !matches!(i.state(), State::Confirmed { .. } | State::Rejected { .. })
            })
        })
    });
    let booked = StoredValue::new(false);
    let now_ms = RwSignal::new(browser::now_ms());

    let slot_id = slot.id.clone();
    let bookable = availability(&session, data.now).is_bookable();
    // One hold request at a time, whoever asks for it.
    let hold_in_flight = StoredValue::new(false);
    let take_hold = {
        let api = api.clone();
        let slot_id = slot_id.clone();
        move || {
            // A kiosk starting over passes back through this page: it takes nothing.
            if hold_in_flight.get_value() || browser::is_resetting() {
                return;
            }
            if !api.holds() {
                let api = api.clone();
                spawn_local(async move {
                    let takes = api.takes_bookings().await.unwrap_or(true);
                    hold.set(if takes {
                        HoldState::NotNeeded
                    } else {
                        HoldState::Unsupported
                    });
                });
                return;
            }
            let api = api.clone();
            let slot_id = slot_id.clone();
            // After a reload the hold taken before it is still ours: use it rather than take a
            // second place (on the last place, the old hold would shut the patient out).
            if let Some((h, then)) = browser::stashed_hold(&slot_id)
                && seconds_left(h.expires_at, h.server_time, then, browser::now_ms()) > 5
            {
                hold.set(HoldState::Held {
                    hold: h,
                    device_then_ms: then,
                });
                return;
            }
            hold.set(HoldState::Taking);
            hold_in_flight.set_value(true);
            spawn_local(async move {
                // Counting from the request, not the answer, errs on the patient's side.
                let device_then_ms = browser::now_ms();
                let answer = api.hold(&slot_id).await;
                hold_in_flight.set_value(false);
                let next = match answer {
                    Ok(h) => {
                        browser::stash_hold(&h, device_then_ms);
                        HoldState::Held {
                            hold: h,
                            device_then_ms,
                        }
                    }
                    Err(e) => HoldState::Refused(e),
                };
                hold.set(next);
            });
        }
    };
    // Once the outbox is read: a booking for this slot already on its way (the page was
    // reloaded) is shown as such; otherwise the slot is held for the patient.
    {
        let take_hold = take_hold.clone();
        let slot_id = slot_id.clone();
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            if !bookable || started.get_value() || !outbox.ready.get() {
                return;
            }
            started.set_value(true);
            let pending = outbox.intents.with_untracked(|list| {
                list.iter()
                    .find(|i| !i.is_settled() && i.slot().slot_id == slot_id)
                    .map(|i| i.key().as_str().to_string())
            });
            match pending {
                Some(key) => {
                    // This page shows it in full; the banner leaves it out until the page goes.
                    outbox.shown_here.set(Some(key.clone()));
                    intent_key.set(Some(key));
                }
                None => take_hold(),
            }
        });
    }
    on_cleanup(move || outbox.shown_here.set(None));

    // The countdown follows the server's clock: only device-clock differences are used.
    if let Ok(handle) = set_interval_with_handle(
        move || now_ms.set(browser::now_ms()),
        Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }
    let remaining_secs = Memo::new(move |_| match hold.get() {
        HoldState::Held {
            hold,
            device_then_ms,
        } => Some(seconds_left(
            hold.expires_at,
            hold.server_time,
            device_then_ms,
            now_ms.get(),
        )),
        _ => None,
    });
    Effect::new(move |_| {
        let busy = saving.get() || in_outbox.get();
        // A refusal that came meanwhile says more than "the hold ran out".
        let held = matches!(hold.get_untracked(), HoldState::Held { .. });
        if remaining_secs.get() == Some(0) && !busy && held {
            hold.set(HoldState::Expired);
        }
    });

    // Leaving the flow without booking gives the place back at once.
    {
        let api = api.clone();
        on_cleanup(move || {
            // Not while a booking that uses the hold is on its way: it books the held place.
            let in_doubt =
                saving.get_untracked() || intent.get_untracked().is_some_and(|i| !i.is_settled());
            if booked.get_value() || in_doubt {
                return;
            }
            if let HoldState::Held { hold: h, .. } = hold.get_untracked() {
                browser::clear_stashed_hold();
                let api = api.clone();
                spawn_local(async move {
                    let _ = api.release_hold(&h.id).await;
                });
            }
        });
    }

    // Confirming stores the booking in the outbox first; the outbox sends it and keeps trying
    // through lost networks and outages, and this page follows its state.
    let confirm = {
        let slot_id = slot_id.clone();
        move || {
            let busy =
                saving.get_untracked() || intent.get_untracked().is_some_and(|i| !i.is_settled());
            if busy {
                return;
            }
            let hold_id = match hold.get_untracked() {
                HoldState::Held { hold, .. } => Some(hold.id),
                _ => None,
            };
            let request = BookingRequest {
                slot_id: slot_id.clone(),
                hold_id,
                patient: draft.input(),
            };
            let key = new_key();
            let Ok(new_intent) = Intent::new(
                key.clone(),
                request,
                summary_of_slot.clone(),
                browser::now_utc(),
            ) else {
                return;
            };
            failure.set(None);
            saving.set(true);
            outbox.shown_here.set(Some(key.as_str().to_string()));
            intent_key.set(Some(key.as_str().to_string()));
            spawn_local(async move {
                if outbox.submit(new_intent).await.is_err() {
                    // Nothing was sent: a booking the device cannot remember is not made.
                    intent_key.set(None);
                    failure.set(Some(Msg::ErrStorage.into()));
                }
                saving.set(false);
            });
        }
    };

    // A definite answer ends the page's part: the ticket, or back to where the patient can act.
    {
        let navigate = navigate.clone();
        let take_hold = take_hold.clone();
        Effect::new(move |_| {
            let Some(current) = intent.get() else {
                return;
            };
            let key = current.key().as_str().to_string();
            match current.state() {
                State::Confirmed { booking } => {
                    crate::modes::tell_host(ToHost::BookingConfirmed {
                        code: booking.code.clone(),
                        start: booking.slot.start.to_rfc3339(),
                    });
                    booked.set_value(true);
                    browser::clear_stashed_hold();
                    draft.clear();
                    intent_key.set(None);
                    outbox.dismiss(key);
                    navigate(&routes::booking(&booking.code), Default::default());
                }
                State::Rejected { problem } => {
                    crate::modes::tell_host(ToHost::BookingFailed {
                        reason: problem.kind().map_or("refused", |k| k.slug()).to_string(),
                    });
                    intent_key.set(None);
                    outbox.dismiss(key);
                    let e = ApiError::Problem(Box::new(problem.clone()));
                    // After a reload the page showed the intent and took no hold: the form and
                    // the review need one again.
                    let retake = matches!(hold.get_untracked(), HoldState::Taking);
                    match problem.kind() {
                        Some(ProblemKind::Validation) if !names_unknown_field(&e) => {
                            draft.server_errors.set(problem.errors.clone());
                            step.set(Step::Form);
                            if retake {
                                take_hold();
                            }
                        }
                        Some(ProblemKind::HoldExpired) => {
                            // The kept hold is dead; taking the slot again must not reuse it.
                            browser::clear_stashed_hold();
                            hold.set(HoldState::Expired);
                        }
                        Some(
                            ProblemKind::SlotTaken
                            | ProblemKind::SessionUnavailable
                            | ProblemKind::Validation,
                        ) => hold.set(HoldState::Refused(e)),
                        // A booking rule (实名制) and anything else: said on the review, which
                        // keeps everything typed, with what the patient can do about it.
                        _ => {
                            failure.set(Some(e.advice(browser::now_utc(), offset_minutes)));
                            if retake {
                                take_hold();
                            }
                        }
                    }
                }
                _ => {}
            }
        });
    }

    // An intent shown after a reload that the patient dismissed (given up, expired) leaves the
    // page without a hold: take one, so the patient can book again from here.
    {
        let take_hold = take_hold.clone();
        Effect::new(move |was_shown: Option<bool>| {
            let shown = intent.with(Option::is_some);
            if was_shown == Some(true)
                && !shown
                && !booked.get_value()
                && !saving.get_untracked()
                && matches!(hold.get_untracked(), HoldState::Taking)
            {
                take_hold();
            }
            shown
        });
    }

    let doctor_name = doctor.as_ref().map(|d| d.name.clone());
    let doctor_title = doctor.as_ref().and_then(|d| d.title.map(title_msg));
    let when = format!(
        "{} {}–{}",
        session.date,
        hhmm(slot.start, offset_minutes),
        hhmm(slot.end, offset_minutes)
    );
    let period = session.period;
    let fee = session.fee_fen;
    let hospital_name = hospital.name.clone();
    let hospital_address = hospital.address.clone();
    let department_name = department.name.clone();
    {
        Effect::new(move |_| browser::set_title(Msg::BookTitle.text(i18n.locale.get())));
    }

    let summary = view! {
        <section class="card slot-summary" aria-labelledby="slot-summary-title">
            <h2 id="slot-summary-title">{i18n.t(Msg::YourSlot)}</h2>
            <dl class="facts">
                <dt>{i18n.t(Msg::When)}</dt>
                <dd>
                    {when}" "{i18n.t(period_msg(period))}
                </dd>
                <dt>{i18n.t(Msg::Doctor)}</dt>
                <dd>
                    {move || doctor_name.as_ref().map(|n| i18n.pick(n))}" "
                    {doctor_title.map(|t| i18n.t(t))}
                </dd>
                <dt>{i18n.t(Msg::Department)}</dt>
                <dd>{move || i18n.pick(&department_name)}</dd>
                <dt>{i18n.t(Msg::Where)}</dt>
                <dd>{move || i18n.pick(&hospital_name)}", "{move || i18n.pick(&hospital_address)}</dd>
                {fee.map(|fee| view! {
                    <dt>{i18n.t(Msg::Fee)}</dt>
                    <dd>{format_fee(fee)}</dd>
                })}
            </dl>
        </section>
    };

    let hold_banner = {
        let take_hold = take_hold.clone();
        let schedule_href = schedule_href.clone();
        move || match hold.get() {
            // The part that knows what is on its way from this device has not arrived: no hold
            // is taken blind. It is fetched again every few seconds.
            HoldState::Taking if outbox.part_missing.get() => view! {
                <p class="notice notice-error" role="alert">{i18n.t(Msg::ErrPart)}</p>
            }
            .into_any(),
            HoldState::Taking => view! {
                <p class="notice" role="status">{i18n.t(Msg::Holding)}</p>
            }
            .into_any(),
            HoldState::NotNeeded => view! {
                <p class="notice">{i18n.t(Msg::NoHold)}</p>
            }
            .into_any(),
            HoldState::Unsupported => view! {
                <p class="notice notice-error" role="alert">{i18n.t(Msg::NoOnlineBooking)}</p>
            }
            .into_any(),
            HoldState::Held { .. } => {
                let text = move || {
                    let s = remaining_secs.get().unwrap_or(0);
                    i18n.fmt(Msg::HeldFor, format!("{}:{:02}", s / 60, s % 60))
                };
                // The timer itself stays quiet; one polite line says when time is running short.
                let ending = move || remaining_secs.get().is_some_and(|s| s <= 60);
                view! {
                    <p class="notice notice-hold" role="timer" aria-live="off">{text}</p>
                    <p class="hold-warning" role="status">
                        {move || ending().then(|| i18n.t(Msg::HoldEndingSoon)())}
                    </p>
                }
                .into_any()
            }
            HoldState::Expired => {
                let take_hold = take_hold.clone();
                view! {
                    <div class="notice notice-error" role="alert">
                        <p>{i18n.t(Msg::HoldExpired)}</p>
                        <button class="button" type="button" on:click=move |_| take_hold()>
                            {i18n.t(Msg::TakeAgain)}
                        </button>
                    </div>
                }
                .into_any()
            }
            HoldState::Refused(e) => {
                let take_hold = take_hold.clone();
                view! {
                    <Refusal
                        error=e
                        schedule_href=schedule_href.clone()
                        alt_base=alt_base.clone()
                        offset_minutes=offset_minutes
                        on_retry=Callback::new(move |_| take_hold())
                    />
                }
                .into_any()
            }
        }
    };

    // The step that replaced the focused button takes the focus, so nobody is left on <body>.
    Effect::new(move |previous: Option<Step>| {
        let now = step.get();
        if previous.is_some_and(|p| p != now) {
            let id = match now {
                Step::Form => "patient-title",
                Step::Review => "review-title",
            };
            request_animation_frame(move || browser::focus(id));
        }
        now
    });

    let flow = move || {
        if !matches!(hold.get(), HoldState::Held { .. } | HoldState::NotNeeded) {
            return ().into_any();
        }
        match step.get() {
            Step::Form => view! {
                <PatientForm
                    draft=draft
                    today=today
                    on_done=Callback::new(move |_| {
                        failure.set(None);
                        step.set(Step::Review)
                    })
                />
            }
            .into_any(),
            Step::Review => {
                let confirm = confirm.clone();
                view! {
                    <Review
                        draft=draft
                        sending=saving
                        failure=failure
                        on_edit=Callback::new(move |_| step.set(Step::Form))
                        on_confirm=Callback::new(move |_| confirm())
                    />
                }
                .into_any()
            }
        }
    };

    view! {
        <nav class="breadcrumbs" aria-label=i18n.t(Msg::Breadcrumbs)>
            <A href=schedule_href.clone()>{i18n.t(Msg::BackToSchedule)}</A>
        </nav>
        <h1>{i18n.t(Msg::BookTitle)}</h1>
        {summary}
        {if bookable {
            let held_or_waiting = move || match intent_key.get() {
                Some(key) if in_outbox.get() => view! { <IntentStatus key=key /> }.into_any(),
                _ => view! { {hold_banner.clone()} {flow.clone()} }.into_any(),
            };
            held_or_waiting.into_any()
        } else {
            view! { <p class="notice notice-error" role="alert">{i18n.t(Msg::SessionGone)}</p> }.into_any()
        }}
    }
}

/// Why the slot cannot be had, with the server's alternatives when it offered some.
#[component]
fn Refusal(
    error: ApiError,
    schedule_href: String,
    alt_base: routes::Department,
    offset_minutes: i32,
    /// Offered when the failure was the service's, not a refusal of this slot.
    on_retry: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let transient = matches!(
        error,
        ApiError::Network | ApiError::NotSent | ApiError::Timeout | ApiError::Server { .. }
    ) || matches!(
        problem_kind(&error),
        Some(
            ProblemKind::Unavailable
                | ProblemKind::RateLimited
                | ProblemKind::Internal
                | ProblemKind::RequestTimeout
        )
    );
    // A rate limit says how long to wait; a rule, which rule and what to do.
    let advice = error.advice(browser::now_utc(), offset_minutes);
    let (message, alternatives): (Advice, Vec<Alternative>) = match &error {
        ApiError::Problem(p) => match p.kind() {
            Some(ProblemKind::SlotTaken) => (Msg::SlotGone.into(), p.alternatives.clone()),
            Some(ProblemKind::SessionUnavailable) => (Msg::SessionGone.into(), Vec::new()),
            _ => (advice, Vec::new()),
        },
        _ => (advice, Vec::new()),
    };
    let empty = message.msg == Msg::SlotGone && alternatives.is_empty();
    let links = alternatives
        .into_iter()
        .map(|a| {
            let (href, time) = alternative_link(&alt_base, &a, offset_minutes);
            let name = a.doctor_name.clone();
            view! {
                <li>
                    <A href=href attr:class="list-link alternative">
                        {time}" · "{i18n.t(period_msg(a.period))}" · "{move || i18n.pick(&name)}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="notice notice-error" role="alert">
            <p>{move || i18n.advise(&message)}</p>
            <ul class="alternatives">{links}</ul>
            {empty.then(|| view! { <p>{i18n.t(Msg::NoAlternatives)}</p> })}
            {transient.then(|| view! {
                <button class="button" type="button" on:click=move |_| on_retry.run(())>{i18n.t(Msg::Retry)}</button>
            })}
            <A href=schedule_href attr:class="button button-secondary">{i18n.t(Msg::BackToSchedule)}</A>
        </div>
    }
}

/// The identity form: checked as the patient types (once a field has been left) and on leaving
/// each field, with messages that say how to fix the value.
#[component]
fn PatientForm(draft: Draft, today: NaiveDate, on_done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    // A kiosk types numbers on its own keypad; the system keyboard would cover half the screen.
    let kiosk = crate::modes::is_kiosk();
    // The keypad types resident IDs (digits and X); passports and permits have letters, and get
    // the system keyboard.
    let keypad_for_document =
        Memo::new(move |_| kiosk && draft.document_kind.get() == DocumentKind::ResidentId);
    let document_mode = Signal::derive(move || {
        if keypad_for_document.get() {
            "none"
        } else {
            "text"
        }
    });
    let phone_mode = Signal::stored(if kiosk { "none" } else { "tel" });
    let text_mode = Signal::stored("text");
    // A shared screen offers no one the last patient's name or number to fill in.
    let fill = move |hint: &'static str| if kiosk { "off" } else { hint };
    let touched = RwSignal::new(Vec::<Field>::new());
    let touch = move |f: Field| {
        touched.update(|t| {
            if !t.contains(&f) {
                t.push(f)
            }
        })
    };
    // A server message stands until the field is edited.
    let clear_server = move |f: Field| {
        draft
            .server_errors
            .update(|errs| errs.retain(|e| e.field != f.api_name()))
    };
    let error_of = move |f: Field| -> Option<String> {
        let server = draft
            .server_errors
            .get()
            .into_iter()
            .find(|e| e.field == f.api_name());
        if let Some(e) = server {
            return Some(match server_code_msg(&e.code) {
                Some(m) => m.text(i18n.locale.get()).to_string(),
                // A code this build does not know: the stored refusal keeps no server text.
                None if e.message.is_empty() => {
                    Msg::FieldRejected.text(i18n.locale.get()).to_string()
                }
                None => e.message,
            });
        }
        if !touched.get().contains(&f) {
            return None;
        }
        draft
            .check(f, today)
            .err()
            .map(|e| identity_msg(e).text(i18n.locale.get()).to_string())
    };
    let show_summary = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(Field::ALL.to_vec());
        let first_bad = Field::ALL.into_iter().find(|f| error_of(*f).is_some());
        match first_bad {
            Some(f) => {
                show_summary.set(true);
                browser::focus(f.id());
            }
            None => {
                show_summary.set(false);
                on_done.run(());
            }
        }
    };

    let text_field = move |f: Field,
                           label: Msg,
                           hint: Option<Msg>,
                           value: RwSignal<String>,
                           kind: &'static str,
                           inputmode: Signal<&'static str>,
                           autocomplete: &'static str| {
        let err_id = format!("{}-error", f.id());
        let hint_id = format!("{}-hint", f.id());
        let described = match hint {
            Some(_) => format!("{hint_id} {err_id}"),
            None => err_id.clone(),
        };
        view! {
            <div class="field">
                <label class="field-label" for=f.id()>{i18n.t(label)}</label>
                {hint.map(|h| view! { <span class="field-hint" id=hint_id.clone()>{i18n.t(h)}</span> })}
                <input
                    id=f.id()
                    type=kind
                    inputmode=move || inputmode.get()
                    autocomplete=autocomplete
                    spellcheck="false"
                    aria-invalid=move || error_of(f).is_some().to_string()
                    aria-describedby=described
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        value.set(event_target_value(&ev));
                        clear_server(f);
                    }
                    on:blur=move |_| touch(f)
                />
                <p class="field-error" id=err_id aria-live="polite">{move || error_of(f)}</p>
            </div>
        }
    };

    let doc_kinds = [
        DocumentKind::ResidentId,
        DocumentKind::Passport,
        DocumentKind::HkMacaoPermit,
        DocumentKind::TaiwanPermit,
    ];
    let relationships = [
        Relationship::Myself,
        Relationship::Child,
        Relationship::Parent,
        Relationship::Spouse,
        Relationship::Other,
    ];

    view! {
        <form class="patient-form" novalidate on:submit=submit>
            <h2 id="patient-title" tabindex="-1">{i18n.t(Msg::PatientTitle)}</h2>
            {move || {
                let msg = if !draft.server_errors.get().is_empty() {
                    Some(Msg::ServerRejected)
                } else {
                    show_summary.get().then_some(Msg::FixErrors)
                };
                msg.map(|m| view! { <p class="notice notice-error" role="alert">{i18n.t(m)}</p> })
            }}
            <div class="field">
                <label class="field-label" for="patient-relationship">{i18n.t(Msg::Relationship)}</label>
                <select
                    id="patient-relationship"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(r) = relationships.into_iter().find(|r| relationship_code(*r) == v) {
                            draft.relationship.set(r);
                        }
                    }
                >
                    {relationships.into_iter().map(|r| view! {
                        <option value=relationship_code(r) selected=move || draft.relationship.get() == r>
                            {i18n.t(relationship_msg(r))}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            {text_field(Field::Name, Msg::Name, Some(Msg::NameHint), draft.name, "text", text_mode, fill("name"))}
            <div class="field">
                <label class="field-label" for="patient-document-kind">{i18n.t(Msg::DocumentKind)}</label>
                <select
                    id="patient-document-kind"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(k) = doc_kinds.into_iter().find(|k| document_code(*k) == v) {
                            draft.document_kind.set(k);
                            clear_server(Field::DocumentNumber);
                        }
                    }
                >
                    {doc_kinds.into_iter().map(|k| view! {
                        <option value=document_code(k) selected=move || draft.document_kind.get() == k>
                            {i18n.t(document_msg(k))}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            {text_field(Field::DocumentNumber, Msg::DocumentNumber, None, draft.document_number, "text", document_mode, "off")}
            {move || keypad_for_document.get().then(|| view! {
                <Keypad
                    value=draft.document_number
                    label=Msg::DocumentNumber
                    with_x=true
                    on_key=Callback::new(move |_| clear_server(Field::DocumentNumber))
                />
            })}
            {text_field(Field::Phone, Msg::Mobile, Some(Msg::MobileHint), draft.phone, "tel", phone_mode, fill("tel-national"))}
            {kiosk.then(|| view! {
                <Keypad
                    value=draft.phone
                    label=Msg::Mobile
                    with_x=false
                    on_key=Callback::new(move |_| clear_server(Field::Phone))
                />
            })}
            {text_field(Field::MedicalCard, Msg::MedicalCard, None, draft.medical_card, "text", text_mode, "off")}
            <p class="privacy-notice" id="privacy-notice">{i18n.t(Msg::PrivacyNotice)}</p>
            <div class="field field-check">
                <input
                    id=Field::Consent.id()
                    type="checkbox"
                    aria-invalid=move || error_of(Field::Consent).is_some().to_string()
                    aria-describedby="privacy-notice patient-consent-error"
                    prop:checked=move || draft.consent.get()
                    on:change=move |ev| {
                        draft.consent.set(event_target_checked(&ev));
                        touch(Field::Consent);
                        clear_server(Field::Consent);
                    }
                />
                <label for=Field::Consent.id()>{i18n.t(Msg::Consent)}</label>
                <p class="field-error" id="patient-consent-error" aria-live="polite">
                    {move || error_of(Field::Consent)}
                </p>
            </div>
            <button class="button button-wide" type="submit">{i18n.t(Msg::Continue)}</button>
        </form>
    }
}

fn document_code(k: DocumentKind) -> &'static str {
    match k {
        DocumentKind::ResidentId => "resident_id",
        DocumentKind::Passport => "passport",
        DocumentKind::HkMacaoPermit => "hk_macao_permit",
        DocumentKind::TaiwanPermit => "taiwan_permit",
    }
}

fn relationship_code(r: Relationship) -> &'static str {
    match r {
        Relationship::Myself => "self",
        Relationship::Child => "child",
        Relationship::Parent => "parent",
        Relationship::Spouse => "spouse",
        Relationship::Other => "other",
    }
}

/// Everything once more, identity masked, and one confirm button that cannot send twice.
#[component]
fn Review(
    draft: Draft,
    #[prop(into)] sending: Signal<bool>,
    #[prop(into)] failure: Signal<Option<Advice>>,
    on_edit: Callback<()>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let input = draft.input();
    let sending = move || sending.get();
    view! {
        <section class="review" aria-labelledby="review-title">
            <h2 id="review-title" tabindex="-1">{i18n.t(Msg::ReviewTitle)}</h2>
            <dl class="facts">
                <dt>{i18n.t(Msg::Relationship)}</dt>
                <dd>{i18n.t(relationship_msg(input.relationship))}</dd>
                <dt>{i18n.t(Msg::Name)}</dt>
                <dd class="masked">{mask_name(input.name.trim())}</dd>
                <dt>{i18n.t(document_msg(input.document_kind))}</dt>
                <dd class="masked">{mask_document(input.document_number.trim())}</dd>
                <dt>{i18n.t(Msg::Mobile)}</dt>
                <dd class="masked">{mask_phone(&input.phone.replace([' ', '-'], ""))}</dd>
            </dl>
            {move || failure.get().map(|a| view! { <p class="notice notice-error" role="alert">{i18n.advise(&a)}</p> })}
            <div class="actions">
                <button class="button button-secondary" type="button" on:click=move |_| on_edit.run(()) disabled=sending>
                    {i18n.t(Msg::Edit)}
                </button>
                <button
                    class="button button-wide"
                    type="button"
                    aria-disabled=move || sending().to_string()
                    on:click=move |_| {
                        if !sending() {
                            on_confirm.run(())
                        }
                    }
                >
                    {move || if sending() { Msg::Submitting.text(i18n.locale.get()) } else { Msg::ConfirmBooking.text(i18n.locale.get()) }}
                </button>
            </div>
        </section>
    }
}
