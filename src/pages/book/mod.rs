//! Booking one slot: hold it with a visible countdown, ask who the patient is, show everything
//! once more, confirm once. Every refusal says what happened and keeps what was typed.
//!
//! What happens when is decided by [`fairslot_core::booking_flow`]; this page keeps its state in
//! one signal, turns what happens in the browser into its events, and carries out its commands in
//! one place, [`Driver::send`].

mod form;
mod refusal;
mod review;

use std::sync::Arc;
use std::time::Duration;

use fairslot_core::booking_flow::{
    self, Answer, Command, Destination, Event, HeldPlace, Note, Place, Refusal as Refused, Step,
};
use fairslot_core::outbox::{IdempotencyKey, Intent, State};
use fairslot_core::schedule::availability;
use fairslot_core::time::hhmm;
use fairslot_core::{BookingRequest, Session, Slot, SlotSummary, Text};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use self::form::PatientForm;
use self::refusal::Refusal;
use self::review::Review;
use super::hospital::not_found;
use super::schedule::{ScheduleData, load_schedule};
use super::{hospital_param, param};
use crate::api::{Advice, Api, ApiError, use_api};
use crate::booking::{Draft, Field, use_draft};
use crate::browser;
use crate::components::{IntentStatus, format_fee, period_msg, remote_view, title_msg};
use crate::i18n::{Msg, use_i18n};
use crate::offline::{Outbox, use_outbox};
use crate::routes;

type Flow = booking_flow::BookingFlow<ApiError>;

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
        view! { <BookingSteps data=data session=session chosen=slot /> }
    })
}

/// A fresh idempotency key; the browser's UUID always passes the key rule, the fallback too.
fn new_key() -> IdempotencyKey {
    IdempotencyKey::parse(&browser::new_idempotency_key())
        .or_else(|_| IdempotencyKey::parse(&format!("k{}", browser::now_ms() as u64)))
        .expect("a decimal timestamp is a valid key")
}

/// Carries out the flow's commands and feeds it what they bring back. It holds the flow by
/// reference count, so a hold answered after the page has gone is still given back.
#[derive(Clone)]
struct Driver {
    flow: ArcRwSignal<Flow>,
    api: Api,
    draft: Draft,
    outbox: Outbox,
    slot: SlotSummary,
    navigate: Callback<String>,
    owner: Owner,
}

impl Driver {
    fn send(&self, event: Event<ApiError>) {
        let now = browser::now_ms();
        let Some(commands) = self.flow.try_update(|f| f.handle(event, now)) else {
            return;
        };
        // The host link and the router are the page's context, wherever the event came from.
        self.owner.with(|| {
            untrack(|| {
                for command in commands {
                    self.run(command);
                }
            })
        });
    }

    fn run(&self, command: Command) {
        match command {
            Command::TakeHold => self.take_hold(),
            Command::RememberHold(p) => browser::stash_hold(&p.hold, p.device_then_ms),
            Command::ForgetHold => browser::clear_stashed_hold(),
            Command::ReleaseHold { hold_id } => {
                let api = self.api.clone();
                spawn_local(async move {
                    let _ = api.release_hold(&hold_id).await;
                });
            }
            // This page shows it in full; the banner leaves it out until the page goes.
            Command::Follow { key } => self.outbox.shown_here.set(Some(key)),
            Command::HandToOutbox { key, hold_id } => self.hand_to_outbox(key, hold_id),
            Command::Dismiss { key } => self.outbox.dismiss(key),
            Command::TellHost(message) => crate::modes::tell_host(message),
            Command::ShowFieldErrors(errors) => self.draft.server_errors.set(errors),
            Command::ClearDraft => self.draft.clear(),
            Command::Navigate(Destination::Ticket { code }) => {
                self.navigate.run(routes::booking(&code))
            }
            // The step that replaced the focused button takes the focus, so nobody is left on
            // <body>.
            Command::Show(step) => {
                let id = match step {
                    Step::Form => "patient-title",
                    Step::Review => "review-title",
                };
                request_animation_frame(move || browser::focus(id));
            }
        }
    }

    fn take_hold(&self) {
        // A kiosk starting over passes back through this page: it takes nothing.
        if browser::is_resetting() {
            return;
        }
        let (this, api) = (self.clone(), self.api.clone());
        if !api.holds() {
            spawn_local(async move {
                let takes = api.takes_bookings().await.unwrap_or(true);
                this.send(if takes {
                    Event::NoHoldNeeded
                } else {
                    Event::NoBookings
                });
            });
            return;
        }
        spawn_local(async move {
            // Counting from the request, not the answer, errs on the patient's side.
            let device_then_ms = browser::now_ms();
            this.send(match api.hold(&this.slot.slot_id).await {
                Ok(hold) => Event::HoldTaken(HeldPlace {
                    hold,
                    device_then_ms,
                }),
                Err(ApiError::Problem(p)) => Event::HoldRefused(*p),
                Err(e) => Event::HoldFailed(e),
            });
        });
    }

    /// Confirming stores the booking in the outbox first; the outbox sends it and keeps trying
    /// through lost networks and outages, and the page follows its state.
    fn hand_to_outbox(&self, key: IdempotencyKey, hold_id: Option<String>) {
        self.outbox.shown_here.set(Some(key.as_str().to_string()));
        let request = BookingRequest {
            slot_id: self.slot.slot_id.clone(),
            hold_id,
            patient: self.draft.input(),
        };
        let Ok(intent) = Intent::new(key, request, self.slot.clone(), browser::now_utc()) else {
            self.send(Event::Stored(false));
            return;
        };
        let this = self.clone();
        spawn_local(async move {
            let stored = this.outbox.submit(intent).await.is_ok();
            this.send(Event::Stored(stored));
        });
    }
}

#[component]
fn BookingSteps(data: ScheduleData, session: Session, chosen: Slot) -> impl IntoView {
    let slot = chosen;
    let i18n = use_i18n();
    let draft = use_draft();
    let outbox = use_outbox();
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

    let form_fields = Field::ALL.iter().map(|f| f.api_name()).collect();
    let shared = ArcRwSignal::new(Flow::new(form_fields, browser::now_ms()));
    let flow = RwSignal::from(shared.clone());
    let navigate = use_navigate();
    let driver = Arc::new(Driver {
        flow: shared,
        api: use_api(),
        draft,
        outbox,
        slot: summary_of_slot,
        navigate: Callback::new(move |path: String| navigate(&path, Default::default())),
        owner: Owner::current().expect("a component has an owner"),
    });
    let send = {
        let driver = driver.clone();
        move |event: Event<ApiError>| driver.send(event)
    };

    let bookable = availability(&session, data.now).is_bookable();
    // Once the outbox is read: a booking for this slot already on its way (the page was
    // reloaded) is shown as such; otherwise the slot is held for the patient.
    {
        let send = send.clone();
        let slot_id = slot.id.clone();
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
            // A kiosk starting over passes back through this page: it takes nothing.
            let remembered = (!browser::is_resetting())
                .then(|| browser::stashed_hold(&slot_id))
                .flatten()
                .map(|(hold, device_then_ms)| HeldPlace {
                    hold,
                    device_then_ms,
                });
            send(Event::Opened {
                pending,
                remembered,
            });
        });
    }

    // The outbox entry of this page's booking, and what it says of it.
    let following = Memo::new(move |_| flow.with(|f| f.following().map(String::from)));
    let intent = Memo::new(move |_| following.get().and_then(|k| outbox.find(&k)));
    // Pending, or settled in a way the patient must read before going on.
    let in_outbox = Memo::new(move |_| {
        intent.with(|i| {
            i.as_ref().is_some_and(|i| {
                !matches!(i.state(), State::Confirmed { .. } | State::Rejected { .. })
            })
        })
    });
    {
        let send = send.clone();
        Effect::new(move |_| {
            let answer = intent.with(|i| Answer::from(i.as_ref().map(Intent::state)));
            send(Event::Answer(answer));
        });
    }

    // The countdown follows the server's clock: only device-clock differences are used.
    {
        let send = send.clone();
        if let Ok(handle) =
            set_interval_with_handle(move || send(Event::Tick), Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    }
    // Leaving the flow without booking gives the place back at once.
    {
        let send = send.clone();
        on_cleanup(move || {
            outbox.shown_here.set(None);
            send(Event::Leave);
        });
    }

    let place = Memo::new(move |_| flow.with(|f| f.place().clone()));
    let remaining_secs = Memo::new(move |_| flow.with(|f| f.seconds_left()));
    let step = Memo::new(move |_| flow.with(|f| f.step()));
    let has_place = Memo::new(move |_| place.with(Place::is_bookable));
    let saving = Memo::new(move |_| flow.with(|f| f.is_saving()));
    let note = Memo::new(move |_| flow.with(|f| f.note().cloned()));
    let failure = Signal::derive(move || {
        note.get().map(|n| match n {
            Note::NotStored => Advice::from(Msg::ErrStorage),
            Note::Refused(p) => {
                ApiError::Problem(Box::new(p)).advice(browser::now_utc(), offset_minutes)
            }
        })
    });

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
        let send = send.clone();
        let schedule_href = schedule_href.clone();
        move || match place.get() {
            // The part that knows what is on its way from this device has not arrived: no hold
            // is taken blind. It is fetched again every few seconds.
            Place::Taking if outbox.part_missing.get() => view! {
                <p class="notice notice-error" role="alert">{i18n.t(Msg::ErrPart)}</p>
            }
            .into_any(),
            Place::Taking => view! {
                <p class="notice" role="status">{i18n.t(Msg::Holding)}</p>
            }
            .into_any(),
            Place::NotNeeded => view! {
                <p class="notice">{i18n.t(Msg::NoHold)}</p>
            }
            .into_any(),
            Place::Unsupported => view! {
                <p class="notice notice-error" role="alert">{i18n.t(Msg::NoOnlineBooking)}</p>
            }
            .into_any(),
            Place::Held(_) => {
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
            Place::Lost => {
                let send = send.clone();
                view! {
                    <div class="notice notice-error" role="alert">
                        <p>{i18n.t(Msg::HoldExpired)}</p>
                        <button class="button" type="button" on:click=move |_| send(Event::TakeAgain)>
                            {i18n.t(Msg::TakeAgain)}
                        </button>
                    </div>
                }
                .into_any()
            }
            Place::Refused(refusal) => {
                let send = send.clone();
                let error = match refusal {
                    Refused::Problem(p) => ApiError::Problem(Box::new(p)),
                    Refused::Failed(e) => e,
                };
                view! {
                    <Refusal
                        error=error
                        schedule_href=schedule_href.clone()
                        alt_base=alt_base.clone()
                        offset_minutes=offset_minutes
                        on_retry=Callback::new(move |_| send(Event::TakeAgain))
                    />
                }
                .into_any()
            }
        }
    };

    let steps = move || {
        if !has_place.get() {
            return ().into_any();
        }
        match step.get() {
            Step::Form => {
                let send = send.clone();
                view! {
                    <PatientForm
                        draft=draft
                        today=today
                        on_done=Callback::new(move |_| send(Event::FormDone))
                    />
                }
                .into_any()
            }
            Step::Review => {
                let (back, confirm) = (send.clone(), send.clone());
                view! {
                    <Review
                        draft=draft
                        sending=saving
                        failure=failure
                        on_edit=Callback::new(move |_| back(Event::Back))
                        on_confirm=Callback::new(move |_| confirm(Event::Confirm { key: new_key() }))
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
            let held_or_waiting = move || match following.get() {
                Some(key) if in_outbox.get() => view! { <IntentStatus key=key /> }.into_any(),
                _ => view! { {hold_banner.clone()} {steps.clone()} }.into_any(),
            };
            held_or_waiting.into_any()
        } else {
            view! { <p class="notice notice-error" role="alert">{i18n.t(Msg::SessionGone)}</p> }.into_any()
        }}
    }
}
