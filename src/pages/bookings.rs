//! The confirmation ticket, and "my bookings": the device's list, lookup by code, cancel, rebook.

use fairslot_core::history::BookingRecord;
use fairslot_core::identity::mask_document;
use fairslot_core::time::{hhmm, utc_offset};
use fairslot_core::{Booking, BookingStatus, MaskedPatient, encode_component};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::ledger::LedgerLine;
use super::param;
use crate::api::{Advice, ApiError, CodeAccess, use_api};
use crate::booking::{document_msg, use_draft};
use crate::browser;
use crate::components::{EmptyState, format_fee, period_msg};
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_reads;
use crate::routes;

/// `2026-11-23 08:30–09:00 (UTC+08:00)` in the hospital's own time.
fn when(record: &BookingRecord) -> String {
    let offset = record.slot.start.offset().local_minus_utc() / 60;
    format!(
        "{} {}–{} (UTC{})",
        record.slot.start.date_naive(),
        hhmm(record.slot.start, offset),
        hhmm(record.slot.end, offset),
        utc_offset(offset)
    )
}

/// When cancelling closes, in the hospital's time; unknown for a booking the device learnt of by
/// its code alone.
fn deadline(record: &BookingRecord) -> Option<String> {
    let offset = offset_of(record);
    let at = fairslot_core::time::at_hospital(record.cancel_deadline?, offset);
    Some(format!("{} {}", at.date_naive(), hhmm(at, offset)))
}

/// The hospital's UTC offset in minutes, as the slot's times carry it.
fn offset_of(record: &BookingRecord) -> i32 {
    record.slot.start.offset().local_minus_utc() / 60
}

/// The doctor's schedule, where a patient picks a new slot to rebook.
fn doctor_href(record: &BookingRecord) -> String {
    let slot = &record.slot;
    routes::Department::new(&slot.hospital_id, &slot.department_id).doctor(&slot.doctor_id)
}

/// After booking: the ticket with everything needed on the day.
#[component]
pub fn ConfirmationPage() -> impl IntoView {
    let i18n = use_i18n();
    let draft = use_draft();
    let code = param("code");
    Effect::new(move |_| browser::set_title(Msg::BookedTitle.text(i18n.locale.get())));
    move || {
        let code = code.get().unwrap_or_default();
        // The masked patient is known only right after booking; the device never stores it.
        let just_booked = draft.last_booking.get().filter(|b| b.code == code);
        let record = just_booked.as_ref().map(BookingRecord::from).or_else(|| {
            browser::booking_history()
                .into_iter()
                .find(|r| r.code == code)
        });
        match record {
            Some(record) => {
                let patient = just_booked.map(|b| b.patient);
                view! {
                    <h1>{i18n.t(Msg::BookedTitle)}</h1>
                    <Ticket record=record patient=patient />
                }
                .into_any()
            }
            None => view! { <MyBookingsPage /> }.into_any(),
        }
    }
}

/// The booking as the patient takes it to the hospital, on screen and on paper.
#[component]
fn Ticket(record: BookingRecord, patient: Option<MaskedPatient>) -> impl IntoView {
    let i18n = use_i18n();
    let ics_href = {
        let record = record.clone();
        move || {
            let booking = Booking {
                code: record.code.clone(),
                status: record.status,
                slot: record.slot.clone(),
                patient: MaskedPatient {
                    name: String::new(),
                    document_kind: fairslot_core::DocumentKind::ResidentId,
                    document_number: String::new(),
                    phone: String::new(),
                },
                channel: String::new(),
                created_at: record.slot.start,
                // The calendar file does not say when cancelling closes.
                cancel_deadline: record.cancel_deadline.unwrap_or(record.slot.start),
                cancelled_at: None,
                ledger: None,
            };
            let ics =
                fairslot_core::ics::booking_event(&booking, i18n.locale.get(), browser::now_utc());
            format!(
                "data:text/calendar;charset=utf-8,{}",
                encode_component(&ics)
            )
        }
    };
    let slot = record.slot.clone();
    let cancelled = record.status == BookingStatus::Cancelled;
    let code = record.code.clone();
    let cancel_until = deadline(&record);
    view! {
        <article class="ticket" aria-labelledby="ticket-code">
            <p class="ticket-code-label">{i18n.t(Msg::BookingCode)}</p>
            <p class="ticket-code" id="ticket-code">{record.code.clone()}</p>
            {cancelled.then(|| view! { <p class="badge badge-cancelled">{i18n.t(Msg::StatusCancelled)}</p> })}
            <dl class="facts">
                // A booking found without its patient (by key, or through FHIR without the
                // gateway) has no patient row at all rather than an empty one.
                {patient.filter(|p| !p.name.is_empty() || !p.document_number.is_empty()).map(|p| view! {
                    <dt>{i18n.t(Msg::Patient)}</dt>
                    // Masked again here: whatever a server sends, the ticket, which is printed
                    // and left at kiosks, never shows the end of the document, the proof that
                    // lookup and cancel ask for.
                    <dd class="masked">
                        {p.name}" · "{i18n.t(document_msg(p.document_kind))}" "
                        {mask_document(&p.document_number)}" · "{p.phone}
                    </dd>
                })}
                <dt>{i18n.t(Msg::When)}</dt>
                <dd>{when(&record)}" "{i18n.t(period_msg(slot.period))}</dd>
                <dt>{i18n.t(Msg::Doctor)}</dt>
                <dd>{move || i18n.pick(&slot.doctor_name)}</dd>
                <dt>{i18n.t(Msg::Department)}</dt>
                <dd>{move || i18n.pick(&record.slot.department_name)}</dd>
                <dt>{i18n.t(Msg::Where)}</dt>
                <dd>
                    {move || i18n.pick(&record.slot.hospital_name)}<br />
                    {move || i18n.pick(&record.slot.hospital_address)}
                </dd>
            </dl>
            {record.slot.fee_fen.map(|fee| view! {
                <p>{move || i18n.fmt(Msg::FeeAtHospital, format_fee(fee))}</p>
            })}
            <p>{i18n.t(Msg::WhatToBring)}</p>
            {cancel_until.filter(|_| !cancelled).map(|until| {
                view! { <p class="ticket-deadline">{move || i18n.fmt(Msg::CancelUntil, until.clone())}</p> }
            })}
            {record.ledger.clone().map(|entry| view! { <LedgerLine entry=entry /> })}
        </article>
        <div class="actions no-print">
            // A calendar file saved on a lobby kiosk would help nobody and stay for the next.
            {(!crate::modes::is_kiosk()).then(|| view! {
                <a class="button" href=ics_href download=format!("fairslot-{code}.ics")>{i18n.t(Msg::AddToCalendar)}</a>
            })}
            <button class="button button-secondary" type="button" on:click=|_| browser::print()>
                {i18n.t(Msg::Print)}
            </button>
            <A href=routes::MY_BOOKINGS attr:class="button button-secondary">{i18n.t(Msg::MyBookings)}</A>
        </div>
    }
}

/// Bookings made on this device, and lookup of any booking by code and document.
#[component]
pub fn MyBookingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let history = RwSignal::new(browser::booking_history());
    Effect::new(move |_| browser::set_title(Msg::MyBookings.text(i18n.locale.get())));
    // A booking of this device changed (cancelled): update its entry.
    let updated = Callback::new(move |b: Booking| {
        browser::remember_booking(BookingRecord::from(&b));
        history.set(browser::booking_history());
    });
    // A booking found by lookup is shown, not stored: it may be someone else's on a shared device.
    let found = RwSignal::new(None::<Booking>);
    let found_changed = Callback::new(move |b: Booking| {
        if history.get_untracked().iter().any(|r| r.code == b.code) {
            updated.run(b.clone());
        }
        found.set(Some(b));
    });
    view! {
        <h1>{i18n.t(Msg::MyBookings)}</h1>
        <p>{i18n.t(Msg::MyBookingsIntro)}</p>
        {move || {
            let list = history.get();
            if list.is_empty() {
                return view! { <EmptyState message=Msg::NoBookings /> }.into_any();
            }
            view! {
                <ul class="cards">
                    {list.into_iter().map(|r| view! { <BookingItem record=r on_update=updated /> }).collect_view()}
                </ul>
            }
            .into_any()
        }}
        <Lookup on_found=Callback::new(move |b| found.set(Some(b))) />
        {move || found.get().map(|b| view! {
            <ul class="cards lookup-result" aria-live="polite">
                <BookingItem record=BookingRecord::from(&b) on_update=found_changed />
            </ul>
        })}
    }
}

#[component]
fn BookingItem(record: BookingRecord, on_update: Callback<Booking>) -> impl IntoView {
    let i18n = use_i18n();
    let status = if record.status == BookingStatus::Cancelled {
        Msg::StatusCancelled
    } else {
        Msg::StatusConfirmed
    };
    let href = routes::booking(&record.code);
    let rebook = doctor_href(&record);
    let doctor = record.slot.doctor_name.clone();
    let hospital = record.slot.hospital_name.clone();
    let cancellable = record.status == BookingStatus::Confirmed;
    let by_proof = use_api().code_access() == CodeAccess::Proven;
    let code = record.code.clone();
    let title = record.code.clone();
    view! {
        <li class="card booking-item" data-code=code>
            <A href=href attr:class="card-link">
                <h2 class="card-title">{title}</h2>
            </A>
            <p class="card-meta">
                <span class="badge">{i18n.t(status)}</span>
                <span>{when(&record)}</span>
            </p>
            <p>{move || i18n.pick(&doctor)}" · "{move || i18n.pick(&hospital)}</p>
            <div class="actions">
                <A href=rebook attr:class="button button-secondary">{i18n.t(Msg::Rebook)}</A>
            </div>
            {cancellable.then(|| if by_proof {
                view! { <CancelForm record=record.clone() on_cancelled=on_update /> }.into_any()
            } else {
                view! { <CallToCancel record=record.clone() /> }.into_any()
            })}
        </li>
    }
}

/// In place of cancelling where the backend cannot check a proof: who to call, with the
/// hospital's phone number where the app knows it (the hospital list, which the device usually
/// holds already; a booking record carries no phone number).
#[component]
fn CallToCancel(record: BookingRecord) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let hospital_id = record.slot.hospital_id.clone();
    let phone = LocalResource::new(move || {
        let (api, id) = (api.clone(), hospital_id.clone());
        async move {
            let list = api.hospitals().await.ok()?;
            let hospital = list.items.into_iter().find(|h| h.id == id)?;
            Some(hospital.phone).filter(|p| !p.trim().is_empty())
        }
    });
    let name = record.slot.hospital_name;
    view! {
        <p class="hint call-to-cancel">
            {move || {
                let name = i18n.pick(&name);
                match phone.get().flatten() {
                    _ if name.trim().is_empty() => i18n.fmt_all(Msg::CallHospitalToCancel, &[]),
                    Some(phone) => i18n.fmt_all(Msg::CallToCancelPhone, &[&name, &phone]),
                    None => i18n.fmt_all(Msg::CallToCancel, &[&name]),
                }
            }}
        </p>
    }
}

/// Cancels with a confirmation step, and only before the cut-off.
#[component]
fn CancelForm(record: BookingRecord, on_cancelled: Callback<Booking>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let reads = use_reads();
    let open = RwSignal::new(false);
    let last4 = RwSignal::new(String::new());
    let state = RwSignal::new(None::<Result<(), Advice>>);
    let busy = RwSignal::new(false);
    let closed = record
        .cancel_deadline
        .is_some_and(|d| browser::now_utc() >= d);
    let offset = offset_of(&record);
    let input_id = format!("cancel-last4-{}", record.code);
    let code = record.code.clone();
    let cancel = move || {
        let proof = last4.get_untracked().trim().to_string();
        if proof.chars().count() != 4 {
            state.set(Some(Err(Msg::CancelNeedsLast4.into())));
            return;
        }
        if busy.get_untracked() {
            return;
        }
        state.set(None);
        busy.set(true);
        let (api, reads) = (api.clone(), reads.clone());
        let code = code.clone();
        spawn_local(async move {
            let result = api.cancel(&code, &proof).await;
            busy.set(false);
            match result {
                Ok(b) => {
                    reads.forget_schedules();
                    state.set(Some(Ok(())));
                    on_cancelled.run(b);
                }
                Err(ApiError::Problem(p))
                    if p.kind() == Some(fairslot_core::ProblemKind::CancelClosed) =>
                {
                    state.set(Some(Err(Msg::CancelClosed.into())))
                }
                // The code is known here, so "not found" can only mean the proof is wrong.
                Err(ApiError::Problem(p))
                    if p.kind() == Some(fairslot_core::ProblemKind::NotFound) =>
                {
                    state.set(Some(Err(Msg::ProofMismatch.into())))
                }
                // A locked code says until when, in the hospital's time like the booking.
                Err(e) => state.set(Some(Err(e.advice(browser::now_utc(), offset)))),
            }
        });
    };
    if closed {
        return view! { <p class="hint">{i18n.t(Msg::CancelClosed)}</p> }.into_any();
    }
    view! {
        <div class="cancel">
            {move || (!open.get()).then(|| view! {
                <button class="button button-secondary" type="button" on:click=move |_| open.set(true)>
                    {i18n.t(Msg::CancelBooking)}
                </button>
            })}
            {move || open.get().then(|| {
                let cancel = cancel.clone();
                let input_id = input_id.clone();
                view! {
                    <div class="notice" role="group" aria-label=i18n.t(Msg::CancelBooking)>
                        <p>{i18n.t(Msg::CancelConfirm)}</p>
                        <ProofField id=input_id label=Msg::Last4 value=last4 max_len=4 />
                        <div class="actions">
                            <button
                                class="button"
                                type="button"
                                aria-disabled=move || busy.get().to_string()
                                on:click=move |_| cancel()
                            >
                                {i18n.t(Msg::CancelYes)}
                            </button>
                            <button class="button button-secondary" type="button" on:click=move |_| open.set(false)>
                                {i18n.t(Msg::CancelNo)}
                            </button>
                        </div>
                    </div>
                }
            })}
            {move || state.get().map(|s| match s {
                Ok(()) => view! { <p class="notice" role="status">{i18n.t(Msg::Cancelled)}</p> }.into_any(),
                Err(a) => view! { <p class="notice notice-error" role="alert">{move || i18n.advise(&a)}</p> }.into_any(),
            })}
        </div>
    }
    .into_any()
}

/// Finds any booking by its code and the document's last four characters, or by its code alone
/// where the backend checks no proof: asking for one nobody checks would mislead.
#[component]
fn Lookup(on_found: Callback<Booking>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let by_proof = api.code_access() == CodeAccess::Proven;
    let (incomplete, failed) = if by_proof {
        (Msg::LookupIncomplete, Msg::LookupFailed)
    } else {
        (Msg::LookupCodeIncomplete, Msg::LookupCodeFailed)
    };
    let code = RwSignal::new(String::new());
    let last4 = RwSignal::new(String::new());
    let error = RwSignal::new(None::<Advice>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (c, l) = (
            code.get_untracked().trim().to_ascii_uppercase(),
            last4.get_untracked().trim().to_string(),
        );
        if c.is_empty() || by_proof && l.chars().count() != 4 {
            error.set(Some(incomplete.into()));
            return;
        }
        let api = api.clone();
        spawn_local(async move {
            match api.lookup(&c, &l).await {
                Ok(b) => {
                    error.set(None);
                    code.set(String::new());
                    last4.set(String::new());
                    on_found.run(b);
                }
                Err(ApiError::Problem(p))
                    if p.kind() == Some(fairslot_core::ProblemKind::NotFound) =>
                {
                    error.set(Some(failed.into()))
                }
                // No hospital is known yet: a lock's end is told on the device's own clock.
                Err(e) => error.set(Some(
                    e.advice(browser::now_utc(), browser::device_offset_minutes()),
                )),
            }
        });
    };
    view! {
        <form class="lookup" on:submit=submit>
            <h2>{i18n.t(Msg::LookupTitle)}</h2>
            <ProofField id="lookup-code".to_string() label=Msg::BookingCode value=code max_len=16 />
            {by_proof.then(|| view! {
                <ProofField id="lookup-last4".to_string() label=Msg::Last4 value=last4 max_len=4 />
            })}
            {move || error.get().map(|a| view! { <p class="notice notice-error" role="alert">{i18n.advise(&a)}</p> })}
            <button class="button" type="submit">{i18n.t(Msg::Lookup)}</button>
        </form>
    }
}

/// A labelled field for a booking code or the document's last characters: typed exactly, so no
/// autocomplete, spelling fixes or lowercase.
#[component]
fn ProofField(id: String, label: Msg, value: RwSignal<String>, max_len: u32) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="field">
            <label class="field-label" for=id.clone()>{i18n.t(label)}</label>
            <input
                id=id
                type="text"
                maxlength=max_len
                autocomplete="off"
                autocapitalize="characters"
                spellcheck="false"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </div>
    }
}
