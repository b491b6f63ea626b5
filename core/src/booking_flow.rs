//! The booking page's flow: hold the slot, ask who the patient is, show everything once more,
//! confirm once, follow the outbox to an answer — as a state machine without I/O.
//!
//! The page feeds it [`Event`]s (the page opened, a hold answered, a tap, the outbox's state of
//! the booking, a clock tick) with the device clock's `now_ms` as an argument, and carries out the
//! [`Command`]s it returns (take or release a hold, hand a booking to the outbox, tell the host
//! page, go to the ticket). It reads no clock and makes no request, so every path a patient can
//! take is tested on the host.
//!
//! ```text
//!   opened ─┬─ a booking for this slot already on its way ─► sending (following the outbox)
//!           ├─ a hold remembered from before a reload ─────► holding
//!           └─ TakeHold ─► taking hold ─┬─ taken / none needed ─► holding
//!                                       ├─ refused / failed ────► refused ── retry ─► taking hold
//!                                       └─ no bookings here ────► unsupported
//!
//!   holding: form ─ done ─► review ─ confirm ─► sending ─┬─ booked ──────────► confirmed (ticket)
//!              ▲             │                           ├─ fixable details ─► form
//!              └──── back ───┘                           ├─ rule, outage… ───► review, with a note
//!                                                        ├─ slot gone ───────► refused
//!                                                        └─ hold expired ────► hold lost
//!   holding ── countdown reaches 0, nothing on its way ──► hold lost ── take again ─► taking hold
//!   leave, nothing on its way ──► ReleaseHold
//! ```
//!
//! Rules it keeps:
//!
//! - **One hold per patient.** A hold remembered from before a reload is used again while it has
//!   more than [`REUSE_MARGIN_SECS`] left, rather than taking a second place (on the last place,
//!   the old hold would shut the patient out); only one hold request is out at a time.
//! - **One booking per confirm.** A confirm while a booking is on its way does nothing.
//! - **A hold a booking may use is kept.** Leaving releases the hold only when no booking is on
//!   its way; the countdown does not end a hold while one is.
//! - **The form and the review keep their step.** A hold lost or refused and taken again returns
//!   the patient to where they were.
//!
//! `E` is the app's error for a hold request that failed without a refusal (network, timeout…).

use chrono::{DateTime, FixedOffset};

use crate::embed::ToHost;
use crate::outbox::{IdempotencyKey, State as IntentState};
use crate::time::seconds_left;
use crate::{Alternative, FieldError, Hold, Problem, ProblemKind};

/// A remembered hold is used again only with more than this many seconds left; with less, the
/// patient could not finish the form in time and a fresh hold serves them better.
pub const REUSE_MARGIN_SECS: i64 = 5;

/// A hold the patient has, with the device time it was asked for: the countdown follows the
/// server's clock and uses only device-clock differences, counted from the request (which errs on
/// the patient's side).
#[derive(Debug, Clone, PartialEq)]
pub struct HeldPlace {
    pub hold: Hold,
    pub device_then_ms: f64,
}

impl HeldPlace {
    /// Whole seconds left on the hold at device time `now_ms`.
    pub fn seconds_left(&self, now_ms: f64) -> i64 {
        seconds_left(
            self.hold.expires_at,
            self.hold.server_time,
            self.device_then_ms,
            now_ms,
        )
    }
}

/// Where the place stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Place<E> {
    /// A hold is being asked for, or the page waits for the outbox before asking.
    Taking,
    Held(HeldPlace),
    /// The backend has no holds: the place is taken on confirming.
    NotNeeded,
    /// The backend takes no bookings (a read-only FHIR server).
    Unsupported,
    /// The hold ran out, or the server said it had.
    Lost,
    /// The slot could not be held or booked.
    Refused(Refusal<E>),
}

impl<E> Place<E> {
    /// The form and the review are shown only with a place to book.
    pub fn is_bookable(&self) -> bool {
        matches!(self, Self::Held(_) | Self::NotNeeded)
    }
}

/// Why the slot cannot be had.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal<E> {
    /// The server refused, with its reason and maybe other slots (taken, stopped, invalid).
    Problem(Problem),
    /// The service failed to answer a hold request; trying again may work.
    Failed(E),
}

impl<E> Refusal<E> {
    pub fn kind(&self) -> Option<ProblemKind> {
        match self {
            Self::Problem(p) => p.kind(),
            Self::Failed(_) => None,
        }
    }

    /// Other slots the server offered instead.
    pub fn alternatives(&self) -> &[Alternative] {
        match self {
            Self::Problem(p) => &p.alternatives,
            Self::Failed(_) => &[],
        }
    }
}

/// The part of the flow the patient is on while the place is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Form,
    Review,
}

/// A line on the review saying why confirming did not book.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The device could not store the booking, so it was not sent.
    NotStored,
    /// A booking rule (实名制) or another refusal the patient can act on from the review.
    Refused(Problem),
}

/// The booking this page confirmed, or found on its way after a reload.
#[derive(Debug, Clone, PartialEq)]
enum Booking {
    None,
    Sending {
        key: String,
        /// The outbox has stored it.
        stored: bool,
        /// The outbox's list has shown it at least once.
        seen: bool,
        /// It ended without an answer (given up, expired) and waits to be dismissed.
        ended: bool,
    },
    Booked,
}

/// What the outbox says of the page's booking.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Not (or no longer) in the outbox.
    Gone,
    /// Still on its way: the outbox keeps trying through outages.
    Waiting,
    /// Ended without an answer: the patient gave up, or it expired.
    Ended,
    Booked {
        code: String,
        start: DateTime<FixedOffset>,
    },
    Refused(Problem),
}

impl From<Option<&IntentState>> for Answer {
    fn from(state: Option<&IntentState>) -> Self {
        match state {
            None => Self::Gone,
            Some(IntentState::Confirmed { booking }) => Self::Booked {
                code: booking.code.clone(),
                start: booking.slot.start,
            },
            Some(IntentState::Rejected { problem }) => Self::Refused(problem.clone()),
            Some(s) if s.is_settled() => Self::Ended,
            Some(_) => Self::Waiting,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<E> {
    /// The outbox has been read. `pending` is the key of a booking for this slot already on its
    /// way (the page was reloaded); `remembered` is the hold this tab kept for this slot.
    Opened {
        pending: Option<String>,
        remembered: Option<HeldPlace>,
    },
    HoldTaken(HeldPlace),
    /// The backend has no holds but takes bookings.
    NoHoldNeeded,
    /// The backend takes no bookings at all.
    NoBookings,
    HoldRefused(Problem),
    HoldFailed(E),
    /// The patient asks for the slot again (after a lost hold or a failure).
    TakeAgain,
    /// The form is filled in and checked.
    FormDone,
    /// Back from the review to the form.
    Back,
    /// The confirm tap, with a fresh key for the booking.
    Confirm {
        key: IdempotencyKey,
    },
    /// Whether the outbox stored the booking handed to it.
    Stored(bool),
    /// The outbox's state of the booking this page follows.
    Answer(Answer),
    /// The clock moved.
    Tick,
    /// The patient leaves the page.
    Leave,
}

/// Where the page sends the patient.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// The booking's ticket.
    Ticket { code: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Ask for a hold on the slot (or, on a backend without holds, whether it takes bookings);
    /// answered with one of the hold events.
    TakeHold,
    /// Keep the hold for this tab, so a reload goes on with it.
    RememberHold(HeldPlace),
    /// Forget the hold kept for this tab.
    ForgetHold,
    /// Give the place back.
    ReleaseHold {
        hold_id: String,
    },
    /// Show this booking's progress on this page rather than in the outbox banner.
    Follow {
        key: String,
    },
    /// Build the booking from the form under `key` and store it in the outbox, which sends it;
    /// answered with [`Event::Stored`].
    HandToOutbox {
        key: IdempotencyKey,
        hold_id: Option<String>,
    },
    /// Remove the settled booking from the outbox: this page has told its answer.
    Dismiss {
        key: String,
    },
    TellHost(ToHost),
    /// Put the server's messages on the form's fields.
    ShowFieldErrors(Vec<FieldError>),
    /// Forget what the patient typed: the booking is made.
    ClearDraft,
    Navigate(Destination),
    /// A step replaced the one the patient was on: move the focus to it.
    Show(Step),
}

/// The booking page's state. See the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingFlow<E> {
    place: Place<E>,
    step: Step,
    booking: Booking,
    note: Option<Note>,
    /// The hold this tab keeps, for taking the slot again without a second hold.
    remembered: Option<HeldPlace>,
    /// A hold request is out.
    asking: bool,
    left: bool,
    now_ms: f64,
    /// The API names of the fields the form shows; a refusal naming another cannot be corrected.
    form_fields: Vec<&'static str>,
}

impl<E> BookingFlow<E> {
    /// A flow at device time `now_ms`, waiting for [`Event::Opened`].
    pub fn new(form_fields: Vec<&'static str>, now_ms: f64) -> Self {
        Self {
            place: Place::Taking,
            step: Step::Form,
            booking: Booking::None,
            note: None,
            remembered: None,
            asking: false,
            left: false,
            now_ms,
            form_fields,
        }
    }

    pub fn place(&self) -> &Place<E> {
        &self.place
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn note(&self) -> Option<&Note> {
        self.note.as_ref()
    }

    /// Seconds left on the hold, if the patient has one.
    pub fn seconds_left(&self) -> Option<i64> {
        match &self.place {
            Place::Held(p) => Some(p.seconds_left(self.now_ms)),
            _ => None,
        }
    }

    /// Between the confirm tap and the outbox having the booking stored.
    pub fn is_saving(&self) -> bool {
        matches!(self.booking, Booking::Sending { stored: false, .. })
    }

    /// The key of the booking this page follows in the outbox.
    pub fn following(&self) -> Option<&str> {
        match &self.booking {
            Booking::Sending { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Handles `event` at device time `now_ms`; the commands are carried out in order.
    pub fn handle(&mut self, event: Event<E>, now_ms: f64) -> Vec<Command> {
        self.now_ms = now_ms;
        let mut out = Vec::new();
        if self.left {
            // A hold answered after the patient left is given back at once.
            if let Event::HoldTaken(p) = event {
                out.push(Command::ReleaseHold { hold_id: p.hold.id });
            }
            return out;
        }
        match event {
            Event::Opened {
                pending,
                remembered,
            } => {
                self.remembered = remembered;
                match pending {
                    Some(key) => {
                        out.push(Command::Follow { key: key.clone() });
                        self.booking = Booking::Sending {
                            key,
                            stored: true,
                            seen: false,
                            ended: false,
                        };
                    }
                    None => self.take_hold(&mut out),
                }
            }
            Event::HoldTaken(p) => {
                self.asking = false;
                self.remembered = Some(p.clone());
                out.push(Command::RememberHold(p.clone()));
                self.place = Place::Held(p);
            }
            Event::NoHoldNeeded => {
                self.asking = false;
                self.place = Place::NotNeeded;
            }
            Event::NoBookings => {
                self.asking = false;
                self.place = Place::Unsupported;
            }
            Event::HoldRefused(problem) => {
                self.asking = false;
                self.place = Place::Refused(Refusal::Problem(problem));
            }
            Event::HoldFailed(e) => {
                self.asking = false;
                self.place = Place::Refused(Refusal::Failed(e));
            }
            Event::TakeAgain => self.take_hold(&mut out),
            Event::FormDone => {
                if self.step == Step::Form && self.place.is_bookable() {
                    self.note = None;
                    self.go_to(Step::Review, &mut out);
                }
            }
            Event::Back => {
                if self.booking == Booking::None {
                    self.go_to(Step::Form, &mut out);
                }
            }
            Event::Confirm { key } => {
                let ready = self.step == Step::Review && self.place.is_bookable();
                if self.booking != Booking::None || !ready {
                    return out;
                }
                let hold_id = match &self.place {
                    Place::Held(p) => Some(p.hold.id.clone()),
                    _ => None,
                };
                self.note = None;
                self.booking = Booking::Sending {
                    key: key.as_str().to_string(),
                    stored: false,
                    seen: false,
                    ended: false,
                };
                out.push(Command::HandToOutbox { key, hold_id });
            }
            Event::Stored(ok) => {
                if let Booking::Sending { stored, .. } = &mut self.booking {
                    if ok {
                        *stored = true;
                    } else {
                        // Nothing was sent: a booking the device cannot remember is not made.
                        self.booking = Booking::None;
                        self.note = Some(Note::NotStored);
                    }
                }
            }
            Event::Answer(answer) => self.answered(answer, &mut out),
            Event::Tick => {
                // The outbox may still book the held place: its answer says more than the clock.
                if self.booking == Booking::None && self.seconds_left() == Some(0) {
                    self.place = Place::Lost;
                }
            }
            Event::Leave => {
                self.left = true;
                let in_doubt = match &self.booking {
                    Booking::Sending { stored, ended, .. } => !*stored || !*ended,
                    Booking::Booked => true,
                    Booking::None => false,
                };
                if let (Place::Held(p), false) = (&self.place, in_doubt) {
                    out.push(Command::ForgetHold);
                    out.push(Command::ReleaseHold {
                        hold_id: p.hold.id.clone(),
                    });
                }
            }
        }
        out
    }

    fn answered(&mut self, answer: Answer, out: &mut Vec<Command>) {
        let Booking::Sending {
            key,
            stored,
            seen,
            ended,
        } = &mut self.booking
        else {
            return;
        };
        let key = key.clone();
        match answer {
            Answer::Gone => {
                // Dismissed after it ended (given up, expired): the patient may book again here.
                if *stored && *seen {
                    self.booking = Booking::None;
                    if matches!(self.place, Place::Taking) {
                        self.take_hold(out);
                    }
                }
            }
            Answer::Waiting => *seen = true,
            Answer::Ended => {
                *seen = true;
                *ended = true;
            }
            Answer::Booked { code, start } => {
                self.booking = Booking::Booked;
                out.push(Command::TellHost(ToHost::BookingConfirmed {
                    code: code.clone(),
                    start: start.to_rfc3339(),
                }));
                self.remembered = None;
                out.push(Command::ForgetHold);
                out.push(Command::ClearDraft);
                out.push(Command::Dismiss { key });
                out.push(Command::Navigate(Destination::Ticket { code }));
            }
            Answer::Refused(problem) => {
                self.booking = Booking::None;
                let kind = problem.kind();
                out.push(Command::TellHost(ToHost::BookingFailed {
                    reason: kind.map_or("refused", |k| k.slug()).to_string(),
                }));
                out.push(Command::Dismiss { key });
                // After a reload the page followed the booking and took no hold: the form and the
                // review need one again.
                let retake = matches!(self.place, Place::Taking);
                let fixable = problem
                    .errors
                    .iter()
                    .all(|f| self.form_fields.contains(&f.field.as_str()));
                match kind {
                    Some(ProblemKind::Validation) if fixable => {
                        out.push(Command::ShowFieldErrors(problem.errors));
                        self.go_to(Step::Form, out);
                        if retake {
                            self.take_hold(out);
                        }
                    }
                    Some(ProblemKind::HoldExpired) => {
                        // The kept hold is dead; taking the slot again must not reuse it.
                        self.remembered = None;
                        out.push(Command::ForgetHold);
                        self.place = Place::Lost;
                    }
                    Some(
                        ProblemKind::SlotTaken
                        | ProblemKind::SessionUnavailable
                        | ProblemKind::Validation,
                    ) => self.place = Place::Refused(Refusal::Problem(problem)),
                    // A booking rule (实名制) and anything else: said on the review, which keeps
                    // everything typed, with what the patient can do about it.
                    _ => {
                        self.note = Some(Note::Refused(problem));
                        if retake {
                            self.take_hold(out);
                        }
                    }
                }
            }
        }
    }

    /// Takes the slot: with the remembered hold while it lasts, else with a new one.
    fn take_hold(&mut self, out: &mut Vec<Command>) {
        if self.asking {
            return;
        }
        if let Some(p) = &self.remembered
            && p.seconds_left(self.now_ms) > REUSE_MARGIN_SECS
        {
            self.place = Place::Held(p.clone());
            return;
        }
        self.place = Place::Taking;
        self.asking = true;
        out.push(Command::TakeHold);
    }

    fn go_to(&mut self, step: Step, out: &mut Vec<Command>) {
        if self.step != step {
            self.step = step;
            out.push(Command::Show(step));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [&str; 2] = ["patient.name", "patient.phone"];
    /// The device clock when the hold was asked for, in milliseconds.
    const T0: f64 = 1_000_000.0;

    type Flow = BookingFlow<&'static str>;

    fn at(secs: f64) -> f64 {
        T0 + secs * 1000.0
    }

    /// A hold of ten minutes, asked for at `T0`.
    fn place(id: &str) -> HeldPlace {
        HeldPlace {
            hold: Hold {
                id: id.into(),
                slot_id: "s1".into(),
                expires_at: "2026-11-22T08:10:00+08:00".parse().unwrap(),
                server_time: "2026-11-22T08:00:00+08:00".parse().unwrap(),
            },
            device_then_ms: T0,
        }
    }

    fn problem(kind: ProblemKind) -> Problem {
        Problem {
            type_uri: kind.type_uri(),
            status: kind.status(),
            ..Problem::default()
        }
    }

    fn key(k: &str) -> IdempotencyKey {
        IdempotencyKey::parse(k).unwrap()
    }

    /// A flow opened at `secs`, with what the page found, and the commands opening gave.
    fn open(
        secs: f64,
        pending: Option<&str>,
        remembered: Option<HeldPlace>,
    ) -> (Flow, Vec<Command>) {
        let mut f = Flow::new(FIELDS.to_vec(), at(secs));
        let opened = Event::Opened {
            pending: pending.map(String::from),
            remembered,
        };
        let out = f.handle(opened, at(secs));
        (f, out)
    }

    fn confirm(k: &str) -> Event<&'static str> {
        Event::Confirm { key: key(k) }
    }

    fn booked() -> Answer {
        Answer::Booked {
            code: "FS-1234".into(),
            start: "2026-11-23T08:30:00+08:00".parse().unwrap(),
        }
    }

    /// A flow on the review with hold `h1`, as a patient gets there without a reload.
    fn on_review() -> Flow {
        let (mut f, out) = open(0.0, None, None);
        assert_eq!(out, vec![Command::TakeHold]);
        f.handle(Event::HoldTaken(place("h1")), at(1.0));
        f.handle(Event::FormDone, at(30.0));
        assert_eq!(f.step(), Step::Review);
        f
    }

    /// A flow after a reload, following a booking already on its way, with hold `h1` kept.
    fn reloaded_with_booking() -> Flow {
        let (mut f, out) = open(60.0, Some("booking-key-1"), Some(place("h1")));
        assert_eq!(
            out,
            vec![Command::Follow {
                key: "booking-key-1".into()
            }]
        );
        f.handle(Event::Answer(Answer::Waiting), at(61.0));
        f
    }

    #[test]
    fn reload_with_a_held_slot_resumes_the_hold_without_taking_another() {
        let (f, out) = open(120.0, None, Some(place("h1")));
        assert!(out.is_empty());
        assert_eq!(f.place(), &Place::Held(place("h1")));
        assert_eq!(f.seconds_left(), Some(480));
    }

    #[test]
    fn a_remembered_hold_about_to_end_is_replaced() {
        let (f, out) = open(597.0, None, Some(place("h1")));
        assert_eq!(out, vec![Command::TakeHold]);
        assert_eq!(f.place(), &Place::Taking);
    }

    #[test]
    fn a_hold_taken_is_remembered_for_a_reload() {
        let (mut f, _) = open(0.0, None, None);
        let out = f.handle(Event::HoldTaken(place("h1")), at(1.0));
        assert_eq!(out, vec![Command::RememberHold(place("h1"))]);
        assert_eq!(f.step(), Step::Form);
    }

    #[test]
    fn a_hold_expiring_mid_form_is_lost_and_taken_again_on_the_same_step() {
        let (mut f, _) = open(0.0, None, None);
        f.handle(Event::HoldTaken(place("h1")), at(1.0));
        f.handle(Event::Tick, at(599.0));
        assert_eq!(f.seconds_left(), Some(1));
        f.handle(Event::Tick, at(600.0));
        assert_eq!(f.place(), &Place::Lost);
        // The form cannot be finished without a place.
        assert!(f.handle(Event::FormDone, at(601.0)).is_empty());
        assert_eq!(f.step(), Step::Form);
        // The dead hold is not reused: a new one is asked for.
        assert_eq!(
            f.handle(Event::TakeAgain, at(602.0)),
            vec![Command::TakeHold]
        );
        let fresh = HeldPlace {
            device_then_ms: at(602.0),
            ..place("h2")
        };
        f.handle(Event::HoldTaken(fresh), at(603.0));
        assert_eq!(f.step(), Step::Form);
        assert_eq!(f.seconds_left(), Some(599));
    }

    #[test]
    fn the_countdown_does_not_end_a_hold_a_booking_on_its_way_uses() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(590.0));
        f.handle(Event::Stored(true), at(591.0));
        f.handle(Event::Tick, at(700.0));
        assert!(matches!(f.place(), Place::Held(_)));
    }

    #[test]
    fn a_double_confirm_sends_once() {
        let mut f = on_review();
        let first = f.handle(confirm("booking-key-1"), at(40.0));
        assert_eq!(
            first,
            vec![Command::HandToOutbox {
                key: key("booking-key-1"),
                hold_id: Some("h1".into())
            }]
        );
        assert!(f.is_saving());
        let second = f.handle(confirm("booking-key-2"), at(40.1));
        assert!(second.is_empty());
        f.handle(Event::Stored(true), at(40.2));
        let third = f.handle(confirm("booking-key-3"), at(40.3));
        assert!(third.is_empty());
        assert_eq!(f.following(), Some("booking-key-1"));
    }

    #[test]
    fn a_booking_the_device_cannot_store_is_not_made_and_can_be_confirmed_again() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(40.0));
        f.handle(Event::Stored(false), at(40.5));
        assert_eq!(f.note(), Some(&Note::NotStored));
        assert_eq!(f.following(), None);
        let again = f.handle(confirm("booking-key-2"), at(41.0));
        assert_eq!(again.len(), 1);
        assert_eq!(f.note(), None);
    }

    #[test]
    fn booked_tells_the_host_forgets_the_patient_and_shows_the_ticket() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(40.0));
        f.handle(Event::Stored(true), at(40.5));
        let out = f.handle(Event::Answer(booked()), at(41.0));
        assert_eq!(
            out,
            vec![
                Command::TellHost(ToHost::BookingConfirmed {
                    code: "FS-1234".into(),
                    start: "2026-11-23T08:30:00+08:00".into()
                }),
                Command::ForgetHold,
                Command::ClearDraft,
                Command::Dismiss {
                    key: "booking-key-1".into()
                },
                Command::Navigate(Destination::Ticket {
                    code: "FS-1234".into()
                }),
            ]
        );
        // The hold became the booking: leaving gives nothing back.
        assert!(f.handle(Event::Leave, at(42.0)).is_empty());
    }

    #[test]
    fn leaving_releases_the_hold() {
        let mut f = on_review();
        assert_eq!(
            f.handle(Event::Leave, at(50.0)),
            vec![
                Command::ForgetHold,
                Command::ReleaseHold {
                    hold_id: "h1".into()
                }
            ]
        );
    }

    #[test]
    fn leaving_while_a_booking_is_on_its_way_keeps_the_hold() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(40.0));
        assert!(f.handle(Event::Leave, at(40.1)).is_empty());
        let mut f = reloaded_with_booking();
        assert!(f.handle(Event::Leave, at(62.0)).is_empty());
    }

    #[test]
    fn a_hold_answered_after_leaving_is_given_back() {
        let (mut f, _) = open(0.0, None, None);
        assert!(f.handle(Event::Leave, at(0.5)).is_empty());
        assert_eq!(
            f.handle(Event::HoldTaken(place("h1")), at(1.0)),
            vec![Command::ReleaseHold {
                hold_id: "h1".into()
            }]
        );
    }

    #[test]
    fn a_reload_follows_the_booking_on_its_way_and_takes_no_hold() {
        let f = reloaded_with_booking();
        assert_eq!(f.place(), &Place::Taking);
        assert_eq!(f.following(), Some("booking-key-1"));
        assert!(!f.is_saving());
    }

    #[test]
    fn a_refusal_after_reload_takes_the_slot_again_with_the_kept_hold() {
        let mut f = reloaded_with_booking();
        let mut p = problem(ProblemKind::Validation);
        p.errors.push(FieldError {
            field: "patient.phone".into(),
            code: "format".into(),
            message: String::new(),
        });
        let out = f.handle(Event::Answer(Answer::Refused(p.clone())), at(70.0));
        assert_eq!(
            out,
            vec![
                Command::TellHost(ToHost::BookingFailed {
                    reason: "validation".into()
                }),
                Command::Dismiss {
                    key: "booking-key-1".into()
                },
                Command::ShowFieldErrors(p.errors),
            ]
        );
        // The hold kept from before the reload still has minutes: no second place is taken.
        assert_eq!(f.place(), &Place::Held(place("h1")));
        assert_eq!(f.step(), Step::Form);
        // The dismissed booking's disappearance changes nothing more.
        assert!(f.handle(Event::Answer(Answer::Gone), at(71.0)).is_empty());
    }

    #[test]
    fn a_rule_refusal_after_reload_is_said_on_the_review_and_a_hold_taken() {
        let (mut f, _) = open(700.0, Some("booking-key-1"), Some(place("h1")));
        let p = problem(ProblemKind::BookingLimit);
        let out = f.handle(Event::Answer(Answer::Refused(p.clone())), at(701.0));
        // The kept hold has run out meanwhile: a new one is asked for.
        assert_eq!(out.last(), Some(&Command::TakeHold));
        assert_eq!(f.note(), Some(&Note::Refused(p)));
    }

    #[test]
    fn a_taken_slot_offers_alternatives() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(40.0));
        f.handle(Event::Stored(true), at(40.5));
        let p = problem(ProblemKind::SlotTaken);
        f.handle(Event::Answer(Answer::Refused(p.clone())), at(41.0));
        assert_eq!(f.place(), &Place::Refused(Refusal::Problem(p)));
        assert!(!f.place().is_bookable());
    }

    #[test]
    fn a_field_the_form_does_not_show_is_a_refusal_not_a_correction() {
        let mut f = on_review();
        f.handle(confirm("booking-key-1"), at(40.0));
        let mut p = problem(ProblemKind::Validation);
        p.errors.push(FieldError {
            field: "slot_id".into(),
            code: "unknown".into(),
            message: String::new(),
        });
        f.handle(Event::Answer(Answer::Refused(p)), at(41.0));
        assert_eq!(f.step(), Step::Review);
        assert!(
            matches!(f.place(), Place::Refused(r) if r.kind() == Some(ProblemKind::Validation))
        );
    }

    #[test]
    fn an_expired_hold_refused_by_the_server_is_not_reused() {
        let mut f = reloaded_with_booking();
        let out = f.handle(
            Event::Answer(Answer::Refused(problem(ProblemKind::HoldExpired))),
            at(70.0),
        );
        assert!(out.contains(&Command::ForgetHold));
        assert_eq!(f.place(), &Place::Lost);
        assert_eq!(
            f.handle(Event::TakeAgain, at(71.0)),
            vec![Command::TakeHold]
        );
    }

    #[test]
    fn a_booking_given_up_and_dismissed_after_reload_lets_the_patient_book_again() {
        let mut f = reloaded_with_booking();
        f.handle(Event::Answer(Answer::Ended), at(70.0));
        assert_eq!(f.following(), Some("booking-key-1"));
        f.handle(Event::Answer(Answer::Gone), at(71.0));
        assert_eq!(f.following(), None);
        assert_eq!(f.place(), &Place::Held(place("h1")));
    }

    #[test]
    fn a_failed_hold_request_can_be_tried_again_once_at_a_time() {
        let (mut f, _) = open(0.0, None, None);
        assert!(f.handle(Event::TakeAgain, at(0.5)).is_empty());
        f.handle(Event::HoldFailed("network"), at(1.0));
        assert_eq!(f.place(), &Place::Refused(Refusal::Failed("network")));
        assert_eq!(f.handle(Event::TakeAgain, at(2.0)), vec![Command::TakeHold]);
    }

    #[test]
    fn back_from_the_review_is_refused_while_sending() {
        let mut f = on_review();
        assert_eq!(
            f.handle(Event::Back, at(35.0)),
            vec![Command::Show(Step::Form)]
        );
        f.handle(Event::FormDone, at(36.0));
        f.handle(confirm("booking-key-1"), at(40.0));
        assert!(f.handle(Event::Back, at(41.0)).is_empty());
        assert_eq!(f.step(), Step::Review);
    }
}
