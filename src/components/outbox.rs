//! How a booking on its way stands, in words a patient can act on: on the booking page itself,
//! and in a banner on every other page until the patient has seen how it ended.

use chrono::{DateTime, Timelike, Utc};
use fairslot_core::ProblemKind;
use fairslot_core::outbox::{Attention, Expiry, Intent, State, Trouble};
use fairslot_core::time::{at_hospital, hhmm};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api::{Advice, ApiError};
use crate::browser;
use crate::browser::PartMissing;
use crate::i18n::{Msg, use_i18n};
use crate::offline::{Outbox, use_outbox, use_reads};

use super::{alternative_link, period_msg};

/// `HH:MM:SS` of `at` in the offset of the slot the intent is for: the hospital's time, like
/// every other time the app shows.
fn clock(intent: &Intent, at: DateTime<Utc>) -> String {
    let offset = intent.slot().start.offset().local_minus_utc() / 60;
    let t = at_hospital(at.fixed_offset(), offset);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

fn trouble_msg(t: Trouble) -> Msg {
    match t {
        Trouble::NoAnswer => Msg::OutboxNoAnswer,
        Trouble::Busy => Msg::OutboxBusy,
    }
}

/// Why the server refused, as the booking page would say it; a rule's time in the hospital's
/// (`offset_minutes`).
pub fn refusal(problem: &fairslot_core::Problem, offset_minutes: i32) -> Advice {
    match problem.kind() {
        Some(ProblemKind::SlotTaken) => Msg::SlotGone.into(),
        Some(ProblemKind::SessionUnavailable) => Msg::SessionGone.into(),
        Some(ProblemKind::HoldExpired) => Msg::HoldExpired.into(),
        Some(ProblemKind::Validation) => Msg::ServerRejected.into(),
        _ => {
            ApiError::Problem(Box::new(problem.clone())).advice(browser::now_utc(), offset_minutes)
        }
    }
}

/// What the status shows, coarser than the state: the view is rebuilt only when this changes,
/// so a button under the patient's finger stays put while tries come and go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// The first try is on its way.
    Sending,
    /// A try failed; the next is scheduled (or in flight: then "try now" waits).
    Waiting,
    Attention,
    Confirmed,
    Rejected,
    Abandoned,
    Expired,
}

fn shown(intent: &Intent) -> Shown {
    match intent.state() {
        State::Queued { pending, .. } | State::Sending { pending, .. } => {
            if pending.last_trouble().is_some() {
                Shown::Waiting
            } else {
                Shown::Sending
            }
        }
        State::NeedsAttention { .. } => Shown::Attention,
        State::Confirmed { .. } => Shown::Confirmed,
        State::Rejected { .. } => Shown::Rejected,
        State::Abandoned { .. } => Shown::Abandoned,
        State::Expired { .. } => Shown::Expired,
    }
}

/// The state of the intent under `key`, with what the patient can do about it.
#[component]
pub fn IntentStatus(#[prop(into)] key: String) -> impl IntoView {
    let i18n = use_i18n();
    let outbox = use_outbox();
    let intent = {
        let key = key.clone();
        Memo::new(move |_| outbox.find(&key))
    };
    let kind = Memo::new(move |_| intent.with(|i| i.as_ref().map(shown)));
    let with_intent =
        move |f: fn(&Intent) -> Option<String>| move || intent.with(|i| i.as_ref().and_then(f));
    // The answer to "check again", once asked.
    let checked = RwSignal::new(None::<bool>);
    let checking = RwSignal::new(false);
    let key = StoredValue::new(key);
    let button = move |msg: Msg, class: &'static str, act: fn(Outbox, String)| {
        view! {
            <button class=class type="button" on:click=move |_| act(outbox, key.get_value())>
                {i18n.t(msg)}
            </button>
        }
    };
    let in_flight = move || {
        intent.with(|i| {
            i.as_ref()
                .is_some_and(|i| matches!(i.state(), State::Sending { .. }))
        })
    };
    // Waits while a try is under way: its answer may be the booking, and "try now" is moot.
    let waiting_button = move |msg: Msg, class: &'static str, act: fn(Outbox, String)| {
        view! {
            <button
                class=class
                type="button"
                aria-disabled=move || in_flight().to_string()
                on:click=move |_| {
                    if !in_flight() {
                        act(outbox, key.get_value())
                    }
                }
            >
                {i18n.t(msg)}
            </button>
        }
    };
    let check_again = move |_| {
        checking.set(true);
        spawn_local(async move {
            let found = outbox.check_again(key.get_value()).await;
            checking.set(false);
            checked.set(found.ok());
        });
    };
    let kept_note = move || {
        let msg = if outbox.durable.get() {
            Msg::OutboxKeptHere
        } else {
            Msg::OutboxMemoryOnly
        };
        view! { <p class="outbox-note">{i18n.t(msg)}</p> }
    };
    let maybe_booked = move || {
        let maybe = intent.with(|i| {
            i.as_ref().is_some_and(|i| {
                matches!(
                    i.state(),
                    State::Abandoned { maybe_booked: true }
                        | State::Expired {
                            maybe_booked: true,
                            ..
                        }
                )
            })
        });
        maybe.then(|| {
            view! {
                <p>{i18n.t(Msg::OutboxMaybeBooked)}</p>
                {move || (checked.get() == Some(false)).then(|| view! { <p>{i18n.t(Msg::OutboxNotFound)}</p> })}
                <button class="button button-secondary" type="button" disabled=checking on:click=check_again>
                    {i18n.t(Msg::OutboxCheckAgain)}
                </button>
            }
        })
    };
    let trouble = move || {
        intent.with(|i| {
            i.as_ref()
                .and_then(|i| i.state().pending()?.last_trouble())
                .map(|t| view! { <p>{i18n.t(trouble_msg(t))}</p> })
        })
    };
    // While a try is in flight the line keeps saying when it was due, rather than flickering
    // between two texts (and moving the buttons below) on every quick failure.
    let next_try = Memo::new(move |previous: Option<&Option<String>>| {
        intent.with(|i| match i.as_ref() {
            Some(i) => match i.state() {
                State::Queued { due, .. } => Some(clock(i, *due)),
                State::Sending { .. } => previous.cloned().flatten(),
                _ => None,
            },
            None => None,
        })
    });
    let code = with_intent(|i| match i.state() {
        State::Confirmed { booking } => Some(booking.code.clone()),
        _ => None,
    });
    // Other slots the server offered when it refused, as links to book them.
    let alternatives = move || {
        intent.with(|i| {
            let Some(i) = i.as_ref() else {
                return Vec::new();
            };
            let State::Rejected { problem } = i.state() else {
                return Vec::new();
            };
            let s = i.slot();
            let base = crate::routes::Department::new(&s.hospital_id, &s.department_id);
            problem
                .alternatives
                .iter()
                .map(|a| {
                    let offset = a.slot.start.offset().local_minus_utc() / 60;
                    let (href, time) = alternative_link(&base, a, offset);
                    (href, time, a.period, a.doctor_name.clone())
                })
                .collect::<Vec<_>>()
        })
    };
    let reason = move || {
        intent.with(|i| match i.as_ref().map(Intent::state) {
            Some(State::Rejected { problem }) => {
                let offset = i.as_ref()?.slot().start.offset().local_minus_utc() / 60;
                Some(refusal(problem, offset))
            }
            _ => None,
        })
    };

    move || {
        let view = match kind.get()? {
            Shown::Sending => view! {
                <p class="notice notice-pending" role="status">
                    <strong>{i18n.t(Msg::OutboxSending)}</strong>
                </p>
            }
            .into_any(),
            Shown::Waiting => view! {
                <div class="notice notice-pending" role="status">
                    <p><strong>{i18n.t(Msg::OutboxWaiting)}</strong></p>
                    {trouble}
                    <p>
                        {move || match next_try.get() {
                            Some(at) => i18n.fmt(Msg::OutboxNextTry, at),
                            None => Msg::OutboxSending.text(i18n.locale.get()).to_string(),
                        }}
                    </p>
                    {kept_note}
                    <div class="actions">
                        {waiting_button(Msg::TryNow, "button", Outbox::try_now)}
                        {waiting_button(Msg::GiveUp, "button button-secondary", Outbox::give_up)}
                    </div>
                </div>
            }
            .into_any(),
            Shown::Attention => {
                let headline = move || {
                    intent.with(|i| match i.as_ref().map(Intent::state) {
                        Some(State::NeedsAttention {
                            reason: Attention::UnexpectedAnswer { status },
                            ..
                        }) => i18n.fmt(Msg::OutboxUnexpected, status),
                        _ => Msg::OutboxAttention.text(i18n.locale.get()).to_string(),
                    })
                };
                view! {
                    <div class="notice notice-error" role="alert">
                        <p><strong>{headline}</strong></p>
                        {trouble}
                        {kept_note}
                        <div class="actions">
                            {button(Msg::KeepTrying, "button", Outbox::keep_trying)}
                            {button(Msg::GiveUp, "button button-secondary", Outbox::give_up)}
                        </div>
                    </div>
                }
                .into_any()
            }
            Shown::Confirmed => {
                let href = move || crate::routes::booking(&code().unwrap_or_default());
                view! {
                    <div class="notice notice-success" role="status">
                        <p>{move || i18n.fmt(Msg::OutboxConfirmed, code().unwrap_or_default())}</p>
                        <A href=href attr:class="button" on:click=move |_| outbox.dismiss(key.get_value())>
                            {i18n.t(Msg::View)}
                        </A>
                    </div>
                }
                .into_any()
            }
            Shown::Rejected => {
                let links = move || {
                    alternatives()
                        .into_iter()
                        .map(|(href, time, period, name)| {
                            view! {
                                <li>
                                    <A
                                        href=href
                                        attr:class="list-link alternative"
                                        on:click=move |_| outbox.dismiss(key.get_value())
                                    >
                                        {time}" · "{i18n.t(period_msg(period))}" · "{move || i18n.pick(&name)}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()
                };
                view! {
                    <div class="notice notice-error" role="alert">
                        <p>
                            {i18n.t(Msg::OutboxRejected)}
                            {move || reason().map(|a| i18n.advise(&a))}
                        </p>
                        <ul class="alternatives">{links}</ul>
                        {button(Msg::Dismiss, "button button-secondary", Outbox::dismiss)}
                    </div>
                }
                .into_any()
            }
            Shown::Abandoned | Shown::Expired => {
                let message = move || {
                    let msg = intent.with(|i| match i.as_ref().map(Intent::state) {
                        Some(State::Expired {
                            reason: Expiry::SlotStarted,
                            ..
                        }) => Msg::OutboxSlotStarted,
                        Some(State::Expired { .. }) => Msg::OutboxExpired,
                        _ => Msg::OutboxAbandoned,
                    });
                    msg.text(i18n.locale.get())
                };
                view! {
                    <div class="notice notice-error" role="alert">
                        <p>{message}</p>
                        {maybe_booked}
                        {button(Msg::Dismiss, "button button-secondary", Outbox::dismiss)}
                    </div>
                }
                .into_any()
            }
        };
        Some(view)
    }
}

/// Every booking on its way or just settled, on every page but the one showing it in full.
#[component]
pub fn OutboxBanner() -> impl IntoView {
    let i18n = use_i18n();
    let outbox = use_outbox();
    // Keyed by intent, so a change of state re-renders that intent's status and nothing else.
    let listed = Memo::new(move |_| {
        let here = outbox.shown_here.get();
        outbox.intents.with(|list| {
            list.iter()
                .filter(|i| here.as_deref() != Some(i.key().as_str()))
                .map(|i| (i.key().as_str().to_string(), i.slot().clone()))
                .collect::<Vec<_>>()
        })
    });
    let item = move |(key, slot): (String, fairslot_core::SlotSummary)| {
        let offset = slot.start.offset().local_minus_utc() / 60;
        let when = format!(
            "{} {}–{}",
            slot.start.date_naive(),
            hhmm(slot.start, offset),
            hhmm(slot.end, offset)
        );
        view! {
            <li class="outbox-item">
                <p class="outbox-slot">
                    {when}" "{i18n.t(period_msg(slot.period))}" · "
                    {move || i18n.pick(&slot.doctor_name)}" · "
                    {move || i18n.pick(&slot.hospital_name)}
                </p>
                <IntentStatus key=key />
            </li>
        }
    };
    view! {
        <Show when=move || !listed.with(Vec::is_empty)>
            <aside class="outbox-banner" aria-labelledby="outbox-title">
                <h2 id="outbox-title" class="outbox-title">{i18n.t(Msg::OutboxTitle)}</h2>
                <ul class="outbox-list">
                    <For each=move || listed.get() key=|(key, _)| key.clone() children=item />
                </ul>
            </aside>
        </Show>
    }
}

/// [`OutboxBanner`], in the outbox runtime's part: the first screen does not carry it.
#[leptos::wasm_split::wasm_split(outbox, wasm_split_path = ::leptos::wasm_split, fallible)]
fn banner_part() -> Result<ViewFn, PartMissing> {
    Ok(ViewFn::from(|| view! { <OutboxBanner /> }))
}

/// Where [`OutboxBanner`] goes on every page, once the outbox runtime has read the store. It
/// comes with the runtime's part, never on a first screen without bookings on their way.
#[component]
pub fn OutboxBannerSlot() -> impl IntoView {
    let outbox = use_outbox();
    let banner = LocalResource::new(move || {
        let ready = outbox.ready.get();
        async move {
            if ready {
                banner_part().await.ok()
            } else {
                None
            }
        }
    });
    move || banner.get().flatten().map(|banner| banner.run())
}

/// Says when what is on screen came from the device rather than the service: how old it is,
/// and that places left may have changed. Booking itself always asks the service.
#[component]
pub fn StaleNotice() -> impl IntoView {
    let i18n = use_i18n();
    let staleness = use_reads().staleness();
    Effect::new(move |_| {
        let stale = staleness.get().as_of.is_some();
        browser::set_root_attribute("data-stale", if stale { "true" } else { "false" });
    });
    move || {
        let staleness = staleness.get();
        let as_of = staleness.as_of?;
        let time = browser::local_hhmm(as_of);
        let msg = if staleness.offline {
            Msg::StaleOffline
        } else {
            Msg::StaleUpdating
        };
        Some(view! {
            <p class="stale-notice" role="status" data-offline=staleness.offline.to_string()>
                {move || i18n.fmt(msg, &time)}
            </p>
        })
    }
}
