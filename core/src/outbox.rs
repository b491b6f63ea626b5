//! The outbox: a booking the patient has confirmed, kept on the device until the server gives a
//! definite answer, and the state machine that takes it there.
//!
//! The app creates an [`Intent`] the moment the patient confirms — with a fresh idempotency key and
//! the exact request it will send — and stores it before the first attempt, so a tunnel, a killed
//! tab or a reload can delay a booking but never lose it or make it twice.
//!
//! ```text
//!             poll: Send / AskByKey               on_sent
//!   queued ─────────────────────────────────────────────────► sending
//!     ▲  ▲                                                      │
//!     │  └──── timeout, lost answer, 5xx, 429, by-key 404 ──────┤
//!     │                                                         ├── Booked ───────────► confirmed
//!     │ keep_trying                                             ├── business refusal ─► rejected
//!     │                                                         │
//!   needs-attention ◄──── retry budget spent, unexpected answer ┘
//!     └── give_up ──► abandoned         (queued too)
//!
//!   any pending state (queued, sending, needs-attention) past its deadline ──► expired
//! ```
//!
//! Rules the machine keeps:
//!
//! - **It leaves only on a definite answer.** A booking, or a refusal about the booking itself
//!   (slot taken, invalid details, hold expired, session unavailable). Network errors, timeouts,
//!   5xx and 429 keep it queued, with capped exponential backoff and full jitter
//!   ([`crate::retry`]), never earlier than the server's `Retry-After`.
//! - **After a timeout or a lost answer it asks before it sends.** The first request may have been
//!   committed with its answer lost on the way back, so the next exchange is a by-key lookup. A 404
//!   there proves nothing while a request could still be in flight, but it does make sending again
//!   safe: the server is idempotent, so the same key can never become a second booking. It is
//!   therefore "send again with the same key", never "rejected".
//! - **Identity lives only as long as the booking is pending.** The request with the patient's name,
//!   document and phone sits in [`Pending`], which only the queued, sending and needs-attention
//!   states have. Settled states have no field that could hold it, so settling purges it from the
//!   stored value by construction; what remains is what the screen needs (code, slot, reason,
//!   alternatives).
//! - **It does not linger.** A pending intent expires [`MAX_PENDING`] after creation, or when its
//!   slot starts if that is sooner.
//!
//! Like the retry policy it reads no clock and no random source and touches no storage: every call
//! takes `now`, and the app stores the intent (as JSON, in IndexedDB) after every call.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::contract::{BookingRequest, KeyedBooking, Problem, ProblemKind, SlotSummary};
use crate::history::BookingRecord;
use crate::retry::{NextTry, RetryAfter, RetryPolicy, Tries, add};

/// Version of the stored JSON; a record of any other version is refused, not guessed at.
pub const FORMAT_VERSION: u32 = 1;

/// Longest an intent may stay pending. A day covers a night with the phone off; beyond that the
/// patient has very likely booked some other way, and a pending intent keeps identity on the device.
pub const MAX_PENDING: TimeDelta = TimeDelta::hours(24);

/// The `Idempotency-Key` a booking is sent under: 8–128 characters of `A-Z a-z 0-9 - _`, the same
/// rule the reference server enforces, so a key that would be refused cannot be stored.
///
/// Anyone holding the key can ask for the booking made under it, so `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 8 to 128 characters of A-Z, a-z, 0-9, - and _")]
pub struct KeyError;

impl IdempotencyKey {
    /// ```
    /// use fairslot_core::outbox::IdempotencyKey;
    /// assert!(IdempotencyKey::parse("3b241101-e2bb-4255-8caf-4136c566a962").is_ok());
    /// assert!(IdempotencyKey::parse("short").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        let ok = (8..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(KeyError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = KeyError;

    fn try_from(s: String) -> Result<Self, KeyError> {
        Self::parse(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> String {
        key.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdempotencyKey(…)")
    }
}

/// Which exchange comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// `POST /bookings` with the stored request and key.
    Send,
    /// `POST /bookings/by-key` with the key: did an earlier send get through?
    AskByKey,
}

/// What only a pending intent holds: the request, with the patient's identity, and how its tries
/// stand. Its fields are private, so only the machine builds one, and settled states have no
/// place for it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    request: BookingRequest,
    tries: Tries,
    /// The server's latest `Retry-After` deadline: no exchange starts before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_before: Option<DateTime<Utc>>,
    /// Whether a booking request has ever left the device under this key.
    sent: bool,
    /// What went wrong with the latest failed exchange, for the patient to read while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_trouble: Option<Trouble>,
}

impl Pending {
    pub fn tries(&self) -> Tries {
        self.tries
    }

    pub fn not_before(&self) -> Option<DateTime<Utc>> {
        self.not_before
    }

    /// What went wrong with the latest failed exchange, if one failed.
    pub fn last_trouble(&self) -> Option<Trouble> {
        self.last_trouble
    }

    /// Whether a booking may exist: a request went out and no definite answer came back.
    pub fn maybe_booked(&self) -> bool {
        self.sent
    }

    /// The soonest an exchange may start: now, unless the server asked us to wait longer.
    fn earliest(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.not_before.map_or(now, |nb| nb.max(now))
    }
}

/// Identity never reaches a log through `{:?}`.
impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("slot_id", &self.request.slot_id)
            .field("tries", &self.tries)
            .field("not_before", &self.not_before)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Where an intent stands. Only the first three are pending; the rest are settled and produce no
/// further exchanges.
///
/// Stored externally tagged (`{"queued": {…}}`): an internally tagged enum makes serde buffer
/// the value first, and that machinery costs the download tens of kilobytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Waiting until `due` to make the `next` exchange.
    Queued {
        pending: Pending,
        next: Step,
        due: DateTime<Utc>,
    },
    /// An exchange is in flight; its answer decides what follows.
    Sending {
        pending: Pending,
        step: Step,
        since: DateTime<Utc>,
    },
    /// Retrying stopped; the patient decides between keeping on and giving up.
    NeedsAttention {
        pending: Pending,
        next: Step,
        reason: Attention,
    },
    /// Booked. Only what the booking screen and "my bookings" show is kept.
    Confirmed { booking: Box<BookingRecord> },
    /// The server refused this booking for good; the problem carries its reason and alternatives.
    Rejected { problem: Problem },
    /// The patient gave up. If `maybe_booked`, a request went out whose fate is unknown.
    Abandoned { maybe_booked: bool },
    /// Pending too long; see `reason`. If `maybe_booked`, a request went out whose fate is unknown.
    Expired { reason: Expiry, maybe_booked: bool },
}

impl State {
    pub fn is_settled(&self) -> bool {
        !matches!(
            self,
            Self::Queued { .. } | Self::Sending { .. } | Self::NeedsAttention { .. }
        )
    }

    pub fn pending(&self) -> Option<&Pending> {
        match self {
            Self::Queued { pending, .. }
            | Self::Sending { pending, .. }
            | Self::NeedsAttention { pending, .. } => Some(pending),
            _ => None,
        }
    }
}

/// Why the patient is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attention {
    /// The retry budget is spent; `last` says what kept going wrong.
    OutOfRetries { last: Trouble },
    /// The server answered with something this client cannot act on (an unknown problem type, or
    /// a refusal from the by-key lookup, which only ever finds or does not find).
    UnexpectedAnswer { status: u16 },
}

/// What made an exchange fail, for the message shown when retries run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trouble {
    /// No usable answer: offline, timed out, cut off or unreadable.
    NoAnswer,
    /// The service answered "not now" (5xx, 429).
    Busy,
}

/// Which deadline ended a pending intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expiry {
    /// The slot's start came first: booking it no longer makes sense.
    SlotStarted,
    /// [`MAX_PENDING`] passed first.
    PendingTooLong,
}

/// An HTTP result as the app maps it for the intent.
///
/// Map `POST /bookings` 2xx and a by-key 200 to `Booked` (with the record of the booking: from
/// the booking itself, or from its code and the intent's slot when the device no longer holds the
/// proof to read it); a problem-details refusal to `Refused`; a by-key 404 to `NotFoundByKey`; 5xx and 429 to `Transient` with their parsed
/// `Retry-After`; the app's own timer to `TimedOut`; a network error or a body that cannot be read
/// to `Lost`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Booked(Box<BookingRecord>),
    Refused(Problem),
    NotFoundByKey,
    Transient { retry_after: Option<RetryAfter> },
    TimedOut,
    Lost,
}

/// How an exchange failed, as any adapter sees it: the input of [`Outcome::of_failure`].
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// An answer with problem details.
    Problem(Problem),
    /// An answer with any other status, and its `Retry-After` header.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// The request never left the device.
    NotSent,
    /// No answer in time.
    TimedOut,
    /// Cut off, offline, or an answer that could not be read.
    NoAnswer,
}

impl Outcome {
    /// What a failed exchange means for an intent, received at `received_at`.
    pub fn of_failure(failure: Failure, received_at: DateTime<Utc>) -> Self {
        match failure {
            Failure::Problem(p) => Self::Refused(p),
            Failure::Status {
                status,
                retry_after,
            } if crate::retry::Answered::of(status) == crate::retry::Answered::Retryable => {
                Self::Transient {
                    retry_after: retry_after.and_then(|v| RetryAfter::parse(&v, received_at).ok()),
                }
            }
            Failure::Status { status: 404, .. } => Self::NotFoundByKey,
            // A refusal without problem details: the machine asks the patient what to do.
            Failure::Status { status, .. } => Self::Refused(Problem {
                type_uri: "about:blank".into(),
                status,
                ..Default::default()
            }),
            // Nothing went out: tried again later, with no need to ask the server about it.
            Failure::NotSent => Self::Transient { retry_after: None },
            Failure::TimedOut => Self::TimedOut,
            Failure::NoAnswer => Self::Lost,
        }
    }
}

/// What the app should do next for an intent.
#[derive(Clone, PartialEq)]
pub enum Action {
    /// Send this request under this key, then call [`Intent::on_sent`].
    Send {
        key: IdempotencyKey,
        request: BookingRequest,
    },
    /// Ask whether a booking exists under this key, then call [`Intent::on_sent`]. The server
    /// answers by key with the booking's code only; `document_last4`, the proof a lookup by code
    /// asks for, is what the device still holds of the patient to read the rest.
    AskByKey {
        key: IdempotencyKey,
        document_last4: String,
    },
    /// Nothing to do before `until`; poll again then (or on an event).
    Wait { until: DateTime<Utc> },
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Send { key, request } => f
                .debug_struct("Send")
                .field("key", key)
                .field("slot_id", &request.slot_id)
                .finish_non_exhaustive(),
            Self::AskByKey { key, .. } => f
                .debug_struct("AskByKey")
                .field("key", key)
                .finish_non_exhaustive(),
            Self::Wait { until } => f.debug_struct("Wait").field("until", until).finish(),
        }
    }
}

/// A booking the server has under an intent's key, as the app learnt of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// The booking itself (a booking answer, or a by-key lookup that could read it in full).
    Booking(Box<BookingRecord>),
    /// Its code and status only: the rest is the slot the patient confirmed.
    Code(KeyedBooking),
}

/// What happens to a stored intent, applied inside the store's read-modify-write so that no other
/// tab's change is lost (see [`Intent::apply`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The sender started: whatever was in flight died with the page that sent it.
    Reload,
    /// The device is online again.
    Online,
    /// The patient looks at the app again.
    Focus,
    /// The patient keeps trying after retries ran out.
    KeepTrying,
    /// The patient gives up.
    GiveUp,
    /// The answer to the exchange in flight, other than a booking.
    Answer(Outcome),
    /// A booking exists under the key.
    Booked(Found),
}

/// Why an event changed nothing. Each is harmless; it says which assumption the caller got wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    /// A settled intent never changes, except that a booking found under its key after it was
    /// abandoned or expired still confirms it: that booking exists either way.
    #[error("the intent is settled")]
    Settled,
    /// An answer for an exchange that is no longer in flight — e.g. a late reply after the app's
    /// timer already counted it as lost. The next exchange will learn the same thing, because the
    /// server replays its answer for the key; only a booking is taken whenever it arrives.
    #[error("no exchange is in flight")]
    NotSending,
    /// Its answer decides what happens next; acting now would race it.
    #[error("an exchange is in flight")]
    InFlight,
    /// Retrying stopped to ask the patient; only their choice resumes it.
    #[error("the intent is waiting for the patient")]
    AwaitingPatient,
    /// Keep-trying answers the question asked in needs-attention, and nothing else.
    #[error("the intent is not waiting for the patient")]
    NotAwaitingPatient,
}

/// Why an intent could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("the request is for a different slot than the summary shown to the patient")]
    SlotMismatch,
}

/// Why a stored intent could not be read. Messages never quote the stored value, which may hold
/// identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoredError {
    #[error("the stored booking is unreadable (line {line}, column {column})")]
    Malformed { line: usize, column: usize },
    #[error("the stored booking has format version {0}, which this version cannot read")]
    Version(u32),
    #[error("the stored booking contradicts itself")]
    Inconsistent,
}

/// One booking on its way from the device to the server.
///
/// ```
/// use fairslot_core::outbox::{Action, IdempotencyKey, Intent};
/// # fn demo(request: fairslot_core::BookingRequest, slot: fairslot_core::SlotSummary) {
/// let now = "2026-11-22T08:00:00Z".parse().unwrap();
/// let key = IdempotencyKey::parse("3b241101-e2bb-4255-8caf-4136c566a962").unwrap();
/// let mut intent = Intent::new(key, request, slot, now).unwrap();
/// // Store `intent.to_json()` now, before anything goes out.
/// if let Some(Action::Send { .. }) = intent.poll(now) {
///     intent.on_sent(now).unwrap();
///     // …send, then map the HTTP result into `intent.on_outcome(outcome, now, Math.random())`.
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    v: u32,
    key: IdempotencyKey,
    slot: SlotSummary,
    created_at: DateTime<Utc>,
    policy: RetryPolicy,
    state: State,
}

impl Intent {
    /// A queued intent, due at once. `slot` is what the patient confirmed; its start bounds how
    /// long the intent may stay pending.
    pub fn new(
        key: IdempotencyKey,
        request: BookingRequest,
        slot: SlotSummary,
        now: DateTime<Utc>,
    ) -> Result<Self, IntentError> {
        if request.slot_id != slot.slot_id {
            return Err(IntentError::SlotMismatch);
        }
        Ok(Self {
            v: FORMAT_VERSION,
            key,
            slot,
            created_at: now,
            policy: RetryPolicy::default(),
            state: State::Queued {
                pending: Pending {
                    request,
                    tries: Tries::new(now),
                    not_before: None,
                    sent: false,
                    last_trouble: None,
                },
                next: Step::Send,
                due: now,
            },
        })
    }

    /// Replaces the default retry policy; it is stored with the intent.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    pub fn slot(&self) -> &SlotSummary {
        &self.slot
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn is_settled(&self) -> bool {
        self.state.is_settled()
    }

    /// When a still-pending intent expires: [`MAX_PENDING`] after creation, or the slot's start if
    /// that is sooner.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.slot_start().min(add(self.created_at, MAX_PENDING))
    }

    fn slot_start(&self) -> DateTime<Utc> {
        self.slot.start.with_timezone(&Utc)
    }

    /// What to do now. `None` exactly when the intent is settled; a pending intent always says
    /// what to do or how long to wait, so the app needs no timer logic of its own.
    ///
    /// Expires the intent first if its deadline has passed.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Option<Action> {
        self.expire(now);
        let expires_at = self.expires_at();
        match &self.state {
            State::Queued { pending, next, due } if now >= *due => Some(match next {
                Step::Send => Action::Send {
                    key: self.key.clone(),
                    request: pending.request.clone(),
                },
                Step::AskByKey => Action::AskByKey {
                    key: self.key.clone(),
                    document_last4: crate::identity::last4(
                        &pending.request.patient.document_number,
                    ),
                },
            }),
            State::Queued { due, .. } => Some(Action::Wait {
                until: (*due).min(expires_at),
            }),
            // Nothing to do but wait for the answer or the patient; the deadline still applies.
            State::Sending { .. } | State::NeedsAttention { .. } => {
                Some(Action::Wait { until: expires_at })
            }
            _ => None,
        }
    }

    /// The exchange [`Intent::poll`] asked for has started. From here on a `Send` counts as
    /// possibly booked until a definite answer says otherwise.
    pub fn on_sent(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.expire(now);
        self.transition(|state| match state {
            State::Queued {
                mut pending, next, ..
            } => {
                pending.sent |= next == Step::Send;
                Move::To(State::Sending {
                    pending,
                    step: next,
                    since: now,
                })
            }
            other => {
                let why = not_now(&other);
                Move::Stay(other, why)
            }
        })
    }

    /// The answer to the exchange in flight. `jitter` is a uniform sample in `[0, 1)` for the
    /// backoff delay.
    ///
    /// A definite answer that arrives after the deadline still counts: it is better news than
    /// "expired". A booking is accepted whenever it arrives, even after the intent was abandoned or
    /// expired, since it exists either way; any other answer is taken only while sending.
    pub fn on_outcome(
        &mut self,
        outcome: Outcome,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Result<(), Ignored> {
        let policy = self.policy;
        let result = self.transition(|state| match (state, outcome) {
            (settled @ (State::Confirmed { .. } | State::Rejected { .. }), _) => {
                Move::Stay(settled, Ignored::Settled)
            }
            (_, Outcome::Booked(booking)) => Move::To(State::Confirmed { booking }),
            (State::Sending { pending, step, .. }, outcome) => {
                Move::To(answer(&policy, pending, step, outcome, now, jitter))
            }
            (other, _) => {
                let why = if other.is_settled() {
                    Ignored::Settled
                } else {
                    Ignored::NotSending
                };
                Move::Stay(other, why)
            }
        });
        self.expire(now);
        result
    }

    /// The browser is back online: a queued exchange is due now — unless the server's
    /// `Retry-After` deadline is still ahead, which stands. `online` says the device has a network
    /// again; it says nothing about the server's load, which is what `Retry-After` is about.
    pub fn on_online(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.wake(now)
    }

    /// The app regained focus: the patient is looking, so try now, on the same terms as
    /// [`Intent::on_online`].
    pub fn on_focus(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.wake(now)
    }

    fn wake(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.expire(now);
        match &mut self.state {
            State::Queued { pending, due, .. } => {
                *due = pending.earliest(now).min(*due);
                Ok(())
            }
            other => Err(not_now(other)),
        }
    }

    /// The app was loaded and found this intent stored. An exchange recorded as in flight died
    /// with the old page and its answer will never come, so the next step is to ask by key. Each
    /// load also starts a fresh retry budget: time the app spent closed is not time spent trying.
    pub fn on_reload(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.expire(now);
        self.transition(|state| match state {
            State::Sending { mut pending, .. } => {
                pending.tries = Tries::new(now);
                let due = pending.earliest(now);
                Move::To(State::Queued {
                    pending,
                    next: Step::AskByKey,
                    due,
                })
            }
            State::Queued {
                mut pending,
                next,
                due,
            } => {
                pending.tries = Tries::new(now);
                Move::To(State::Queued { pending, next, due })
            }
            other => {
                let why = not_now(&other);
                Move::Stay(other, why)
            }
        })
    }

    /// The patient chose to keep trying: queued again with a fresh budget, still no earlier than
    /// the server's `Retry-After`, and resuming with the step it stopped at (so an unclear send is
    /// still asked about before it is repeated).
    pub fn keep_trying(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.expire(now);
        self.transition(|state| match state {
            State::NeedsAttention {
                mut pending, next, ..
            } => {
                pending.tries = Tries::new(now);
                let due = pending.earliest(now);
                Move::To(State::Queued { pending, next, due })
            }
            other => {
                let why = if other.is_settled() {
                    Ignored::Settled
                } else {
                    Ignored::NotAwaitingPatient
                };
                Move::Stay(other, why)
            }
        })
    }

    /// The patient gave up: settled as abandoned and identity purged. Allowed while queued or
    /// waiting for the patient, not while an exchange is in flight — its answer may be the booking.
    pub fn give_up(&mut self, now: DateTime<Utc>) -> Result<(), Ignored> {
        self.expire(now);
        self.transition(|state| match state {
            State::Queued { pending, .. } | State::NeedsAttention { pending, .. } => {
                Move::To(State::Abandoned {
                    maybe_booked: pending.sent,
                })
            }
            other => {
                let why = not_now(&other);
                Move::Stay(other, why)
            }
        })
    }

    /// Applies a [`Change`]; whether it changed the intent. `jitter` is a uniform sample in
    /// `[0, 1)`, used only by an answer that schedules a retry.
    pub fn apply(&mut self, change: Change, now: DateTime<Utc>, jitter: f64) -> bool {
        let done = match change {
            Change::Reload => self.on_reload(now),
            Change::Online => self.on_online(now),
            Change::Focus => self.on_focus(now),
            Change::KeepTrying => self.keep_trying(now),
            Change::GiveUp => self.give_up(now),
            Change::Answer(outcome) => self.on_outcome(outcome, now, jitter),
            Change::Booked(found) => {
                let record = Box::new(self.record_of(&found));
                self.on_outcome(Outcome::Booked(record), now, jitter)
            }
        };
        done.is_ok()
    }

    /// The booking found under this intent's key, as the device records it. Known by its code
    /// alone, it is recorded with the slot the patient confirmed: never lost, and never booked
    /// twice for want of the rest.
    pub fn record_of(&self, found: &Found) -> BookingRecord {
        match found {
            Found::Booking(record) => (**record).clone(),
            Found::Code(keyed) => BookingRecord {
                code: keyed.code.clone(),
                status: keyed.status,
                slot: self.slot.clone(),
                cancel_deadline: None,
                ledger: None,
            },
        }
    }

    /// The sender's turn on this intent, in one read-modify-write of the store: what to do now,
    /// and the intent marked as sending before any request leaves, so a page that dies in
    /// between asks by key instead of assuming nothing went out. The sender has nothing in flight
    /// when it takes a turn, so a record still marked as sending is one whose answer was never
    /// stored (a failed write, a crash): it is asked about by key.
    pub fn take_turn(&mut self, now: DateTime<Utc>) -> Option<Action> {
        if matches!(self.state, State::Sending { .. }) {
            let _ = self.on_reload(now);
        }
        let action = self.poll(now);
        if matches!(action, Some(Action::Send { .. } | Action::AskByKey { .. })) {
            // `poll` just found it queued and due, so this cannot be ignored.
            let _ = self.on_sent(now);
        }
        action
    }

    /// Whether it ended without an answer after a request went out: a booking may exist that
    /// the patient does not know of.
    pub fn is_unresolved(&self) -> bool {
        matches!(
            self.state,
            State::Abandoned { maybe_booked: true }
                | State::Expired {
                    maybe_booked: true,
                    ..
                }
        )
    }

    /// The JSON the app stores.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an intent has only string keys and no floats")
    }

    /// Reads a stored intent. Anything unreadable, of another format version or contradicting
    /// itself is an error, never a panic and never a half-read intent.
    pub fn from_json(json: &str) -> Result<Self, StoredError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let malformed = |e: serde_json::Error| StoredError::Malformed {
            line: e.line(),
            column: e.column(),
        };
        let version: Version = serde_json::from_str(json).map_err(malformed)?;
        if version.v != FORMAT_VERSION {
            return Err(StoredError::Version(version.v));
        }
        let intent: Self = serde_json::from_str(json).map_err(malformed)?;
        match intent.state.pending() {
            Some(p) if p.request.slot_id != intent.slot.slot_id => Err(StoredError::Inconsistent),
            _ => Ok(intent),
        }
    }

    /// Whether a stored record that [`Intent::from_json`] refuses should be deleted. A record of
    /// another format version may be another version's pending booking, still being sent by one
    /// of its tabs, so it stays until it is [`MAX_PENDING`] old: no version keeps a pending
    /// booking longer, and a pending one holds the patient's identity. A record that names no
    /// version or no creation time belongs to no version, and goes at once.
    ///
    /// ```
    /// use fairslot_core::outbox::Intent;
    /// let now = "2026-11-22T08:00:00Z".parse().unwrap();
    /// let old = r#"{"v":0,"created_at":"2026-11-20T08:00:00Z","request":{"patient":{}}}"#;
    /// assert!(Intent::forget_unreadable(old, now));
    /// let recent = r#"{"v":7,"created_at":"2026-11-22T07:00:00Z"}"#;
    /// assert!(!Intent::forget_unreadable(recent, now));
    /// assert!(Intent::forget_unreadable("{not json", now));
    /// ```
    pub fn forget_unreadable(json: &str, now: DateTime<Utc>) -> bool {
        #[derive(Deserialize)]
        struct Dated {
            #[allow(dead_code)]
            v: u32,
            created_at: DateTime<Utc>,
        }
        match serde_json::from_str::<Dated>(json) {
            Ok(d) => now - d.created_at >= MAX_PENDING,
            Err(_) => true,
        }
    }

    /// Settles a pending intent whose deadline has passed.
    fn expire(&mut self, now: DateTime<Utc>) {
        let Some(pending) = self.state.pending() else {
            return;
        };
        if now < self.expires_at() {
            return;
        }
        let reason = if self.slot_start() <= add(self.created_at, MAX_PENDING) {
            Expiry::SlotStarted
        } else {
            Expiry::PendingTooLong
        };
        self.state = State::Expired {
            reason,
            maybe_booked: pending.sent,
        };
    }

    /// Moves the state through `f`, which either replaces it or hands it back with a reason.
    fn transition(&mut self, f: impl FnOnce(State) -> Move) -> Result<(), Ignored> {
        let placeholder = State::Abandoned {
            maybe_booked: false,
        };
        match f(std::mem::replace(&mut self.state, placeholder)) {
            Move::To(next) => {
                self.state = next;
                Ok(())
            }
            Move::Stay(unchanged, why) => {
                self.state = unchanged;
                Err(why)
            }
        }
    }
}

/// What an event does to a state taken by value.
enum Move {
    To(State),
    Stay(State, Ignored),
}

/// Why a state other than queued declines an event meant for a queued intent.
fn not_now(state: &State) -> Ignored {
    match state {
        State::Sending { .. } => Ignored::InFlight,
        State::NeedsAttention { .. } => Ignored::AwaitingPatient,
        State::Queued { .. } => Ignored::NotSending,
        _ => Ignored::Settled,
    }
}

/// How a problem-details refusal bears on the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// About the booking itself; sending it again would be refused again.
    Final,
    /// "Not now": 5xx or 429 that came with problem details.
    Busy,
    /// The key was already used with another body: something under it exists; ask for it.
    InDoubt,
    /// Nothing this client knows how to act on.
    Unexpected,
}

fn verdict(problem: &Problem) -> Verdict {
    use ProblemKind::*;
    match problem.kind() {
        Some(
            SlotTaken
            | HoldExpired
            | SessionUnavailable
            | Validation
            | NotFound
            | PayloadTooLarge
            | IdempotencyKeyMissing
            | BookingLimit,
        ) => Verdict::Final,
        // A request that did not arrive in full was never acted on.
        Some(RateLimited | Unavailable | Internal | RequestTimeout) => Verdict::Busy,
        Some(IdempotencyConflict) => Verdict::InDoubt,
        Some(CancelClosed | ProofLocked | UnsupportedMediaType) => Verdict::Unexpected,
        None if problem.status == 429 || problem.status >= 500 => Verdict::Busy,
        None => Verdict::Unexpected,
    }
}

/// The state after the answer to the `step` in flight.
fn answer(
    policy: &RetryPolicy,
    mut pending: Pending,
    step: Step,
    outcome: Outcome,
    now: DateTime<Utc>,
    jitter: f64,
) -> State {
    let retry = |mut pending: Pending, next: Step, last: Trouble| {
        pending.last_trouble = Some(last);
        match policy.after_failure(&mut pending.tries, pending.not_before, now, jitter) {
            NextTry::At(due) => State::Queued { pending, next, due },
            NextTry::Exhausted => State::NeedsAttention {
                pending,
                next,
                reason: Attention::OutOfRetries { last },
            },
        }
    };
    let unexpected = |pending: Pending, status: u16| State::NeedsAttention {
        pending,
        next: step,
        reason: Attention::UnexpectedAnswer { status },
    };
    // Nothing under the key yet: sending with the same key is safe whatever is still in flight.
    let resend = |pending: Pending| {
        let due = pending.earliest(now);
        State::Queued {
            pending,
            next: Step::Send,
            due,
        }
    };
    match outcome {
        Outcome::Booked(booking) => State::Confirmed { booking },
        Outcome::Refused(problem) => match (step, verdict(&problem)) {
            (_, Verdict::Busy) => {
                pending.not_before = None;
                retry(pending, step, Trouble::Busy)
            }
            (Step::Send, Verdict::Final) => State::Rejected {
                problem: problem.without_free_text(),
            },
            (Step::Send, Verdict::InDoubt) => {
                pending.not_before = None;
                retry(pending, Step::AskByKey, Trouble::NoAnswer)
            }
            (Step::AskByKey, Verdict::Final) if problem.kind() == Some(ProblemKind::NotFound) => {
                resend(pending)
            }
            // Only the booking endpoint can refuse a booking; the lookup only finds or does not.
            (Step::Send, Verdict::Unexpected) | (Step::AskByKey, _) => {
                unexpected(pending, problem.status)
            }
        },
        Outcome::NotFoundByKey => match step {
            Step::AskByKey => resend(pending),
            // A 404 the app could not place: the booking endpoint's own 404s come as problems.
            // Whether the send got through is unknown, so it is treated as lost.
            Step::Send => {
                pending.not_before = None;
                retry(pending, Step::AskByKey, Trouble::NoAnswer)
            }
        },
        Outcome::Transient { retry_after } => {
            pending.not_before = retry_after.map(|r| r.not_before(now));
            retry(pending, step, Trouble::Busy)
        }
        Outcome::TimedOut | Outcome::Lost => {
            pending.not_before = None;
            retry(pending, Step::AskByKey, Trouble::NoAnswer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{
        Booking, BookingStatus, DocumentKind, MaskedPatient, PatientInput, Period, Relationship,
        Text,
    };

    const NAME: &str = "李雷";
    const DOCUMENT: &str = "11010519491231002X";
    const PHONE: &str = "13812345678";
    const CARD: &str = "MC778899";
    const IDENTITY: [&str; 4] = [NAME, DOCUMENT, PHONE, CARD];

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    /// Creation time in the fixtures.
    fn t0() -> DateTime<Utc> {
        t("2026-11-22T08:00:00Z")
    }

    /// The slot starts at 08:30 in Hangzhou the next day, 16.5 hours after creation.
    fn slot_start() -> DateTime<Utc> {
        t("2026-11-23T00:30:00Z")
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey::parse("3b241101-e2bb-4255-8caf-4136c566a962").unwrap()
    }

    fn request() -> BookingRequest {
        BookingRequest {
            slot_id: "slot-1".into(),
            hold_id: Some("hold-9".into()),
            patient: PatientInput {
                name: NAME.into(),
                document_kind: DocumentKind::ResidentId,
                document_number: DOCUMENT.into(),
                phone: PHONE.into(),
                medical_card: Some(CARD.into()),
                relationship: Relationship::Parent,
                consent: true,
            },
        }
    }

    fn summary(start: &str) -> SlotSummary {
        let start: DateTime<chrono::FixedOffset> = start.parse().unwrap();
        SlotSummary {
            slot_id: "slot-1".into(),
            start,
            end: start + TimeDelta::minutes(10),
            period: Period::Am,
            hospital_id: "h1".into(),
            hospital_name: Text::new("浙江大学医学院附属第一医院", "First Affiliated Hospital"),
            hospital_address: Text::new("庆春路79号", "79 Qingchun Rd"),
            department_id: "cardio".into(),
            department_name: Text::new("心血管内科", "Cardiology"),
            doctor_id: "doc-1".into(),
            doctor_name: Text::new("王医生", "Dr Wang"),
            fee_fen: Some(5_000),
        }
    }

    fn slot() -> SlotSummary {
        summary("2026-11-23T08:30:00+08:00")
    }

    fn booking() -> Booking {
        let at: DateTime<chrono::FixedOffset> = "2026-11-22T16:00:00+08:00".parse().unwrap();
        Booking {
            code: "K7Q4-M2XP".into(),
            status: BookingStatus::Confirmed,
            slot: slot(),
            patient: MaskedPatient {
                name: "李*".into(),
                document_kind: DocumentKind::ResidentId,
                document_number: "1101**********002X".into(),
                phone: "138****5678".into(),
            },
            channel: "kiosk".into(),
            created_at: at,
            cancel_deadline: at + TimeDelta::hours(12),
            cancelled_at: None,
            ledger: None,
        }
    }

    /// The question by key, with the proof the pending request holds.
    fn ask() -> Action {
        Action::AskByKey {
            key: key(),
            document_last4: "002X".into(),
        }
    }

    fn booked() -> Outcome {
        Outcome::Booked(Box::new(BookingRecord::from(&booking())))
    }

    fn problem(kind: ProblemKind) -> Problem {
        Problem {
            type_uri: kind.type_uri(),
            title: "refused".into(),
            status: kind.status(),
            detail: None,
            errors: vec![],
            alternatives: vec![],
            ..Default::default()
        }
    }

    fn refused(kind: ProblemKind) -> Outcome {
        Outcome::Refused(problem(kind))
    }

    /// A problem type this client does not know, as a misconfigured proxy might send.
    fn odd_refusal() -> Outcome {
        Outcome::Refused(Problem {
            type_uri: "about:blank".into(),
            title: "Method Not Allowed".into(),
            status: 405,
            detail: None,
            errors: vec![],
            alternatives: vec![],
            ..Default::default()
        })
    }

    fn transient() -> Outcome {
        Outcome::Transient { retry_after: None }
    }

    fn intent() -> Intent {
        Intent::new(key(), request(), slot(), t0()).unwrap()
    }

    fn label(intent: &Intent) -> &'static str {
        match intent.state() {
            State::Queued {
                next: Step::Send, ..
            } => "q-send",
            State::Queued {
                next: Step::AskByKey,
                ..
            } => "q-ask",
            State::Sending {
                step: Step::Send, ..
            } => "s-send",
            State::Sending {
                step: Step::AskByKey,
                ..
            } => "s-ask",
            State::NeedsAttention { .. } => "attention",
            State::Confirmed { .. } => "confirmed",
            State::Rejected { .. } => "rejected",
            State::Abandoned { .. } => "abandoned",
            State::Expired { .. } => "expired",
        }
    }

    type Event<'a> = dyn Fn(&mut Intent) -> Result<(), Ignored> + 'a;

    /// Reaches each state through the public events only, at `t0`.
    fn in_state(name: &str) -> Intent {
        let now = t0();
        let mut i = intent();
        let mut go = |events: &[&Event<'_>]| {
            for e in events {
                e(&mut i).unwrap();
            }
        };
        let sent = |i: &mut Intent| i.on_sent(now);
        let lost = |i: &mut Intent| i.on_outcome(Outcome::Lost, now, 0.0);
        match name {
            "q-send" => {}
            "s-send" => go(&[&sent]),
            "q-ask" => go(&[&sent, &lost]),
            "s-ask" => go(&[&sent, &lost, &sent]),
            "attention" => go(&[&sent, &|i| i.on_outcome(odd_refusal(), now, 0.0)]),
            "confirmed" => go(&[&sent, &|i| i.on_outcome(booked(), now, 0.0)]),
            "rejected" => go(&[&sent, &|i| {
                i.on_outcome(refused(ProblemKind::SlotTaken), now, 0.0)
            }]),
            "abandoned" => go(&[&sent, &|i| i.on_outcome(odd_refusal(), now, 0.0), &|i| {
                i.give_up(now)
            }]),
            "expired" => go(&[&sent, &|i| {
                assert_eq!(i.poll(slot_start()), None);
                Ok(())
            }]),
            other => panic!("no fixture {other}"),
        }
        assert_eq!(label(&i), name);
        i
    }

    const STATES: [&str; 9] = [
        "q-send",
        "q-ask",
        "s-send",
        "s-ask",
        "attention",
        "confirmed",
        "rejected",
        "abandoned",
        "expired",
    ];

    const EVENTS: [&str; 17] = [
        "poll",
        "sent",
        "booked",
        "refused-final",
        "refused-busy",
        "refused-conflict",
        "refused-odd",
        "refused-not-found",
        "not-found-by-key",
        "transient",
        "timed-out",
        "lost",
        "online",
        "focus",
        "reload",
        "keep-trying",
        "give-up",
    ];

    /// Applies one event; `poll` reports `Ok` since it has no refusal to give.
    fn apply(i: &mut Intent, event: &str, now: DateTime<Utc>, jitter: f64) -> Result<(), Ignored> {
        let o = match event {
            "poll" => {
                i.poll(now);
                return Ok(());
            }
            "sent" => return i.on_sent(now),
            "online" => return i.on_online(now),
            "focus" => return i.on_focus(now),
            "reload" => return i.on_reload(now),
            "keep-trying" => return i.keep_trying(now),
            "give-up" => return i.give_up(now),
            "booked" => booked(),
            "refused-final" => refused(ProblemKind::SlotTaken),
            "refused-busy" => refused(ProblemKind::Unavailable),
            "refused-conflict" => refused(ProblemKind::IdempotencyConflict),
            "refused-odd" => odd_refusal(),
            "refused-not-found" => refused(ProblemKind::NotFound),
            "not-found-by-key" => Outcome::NotFoundByKey,
            "transient" => transient(),
            "timed-out" => Outcome::TimedOut,
            "lost" => Outcome::Lost,
            other => panic!("no event {other}"),
        };
        i.on_outcome(o, now, jitter)
    }

    /// Every state × every event. A cell names the state after the event; `!` marks an event
    /// that is ignored and leaves the intent exactly as it was.
    #[test]
    fn every_state_answers_every_event() {
        #[rustfmt::skip]
        let table: [[&str; 17]; 9] = [
            // poll        sent        booked       final        busy         conflict     odd          not-found    nf-by-key    transient    timed-out    lost         online       focus        reload       keep         give-up
            ["q-send",    "s-send",   "confirmed", "!q-send",   "!q-send",   "!q-send",   "!q-send",   "!q-send",   "!q-send",   "!q-send",   "!q-send",   "!q-send",   "q-send",    "q-send",    "q-send",    "!q-send",   "abandoned"],
            ["q-ask",     "s-ask",    "confirmed", "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "!q-ask",    "q-ask",     "q-ask",     "q-ask",     "!q-ask",    "abandoned"],
            ["s-send",    "!s-send",  "confirmed", "rejected",  "q-send",    "q-ask",     "attention", "rejected",  "q-ask",     "q-send",    "q-ask",     "q-ask",     "!s-send",   "!s-send",   "q-ask",     "!s-send",   "!s-send"],
            ["s-ask",     "!s-ask",   "confirmed", "attention", "q-ask",     "attention", "attention", "q-send",    "q-send",    "q-ask",     "q-ask",     "q-ask",     "!s-ask",    "!s-ask",    "q-ask",     "!s-ask",    "!s-ask"],
            ["attention", "!attention","confirmed","!attention","!attention","!attention","!attention","!attention","!attention","!attention","!attention","!attention","!attention","!attention","!attention","q-send",    "abandoned"],
            ["confirmed", "!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed","!confirmed"],
            ["rejected",  "!rejected","!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected", "!rejected"],
            ["abandoned", "!abandoned","confirmed","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned","!abandoned"],
            ["expired",   "!expired", "confirmed", "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired",  "!expired"],
        ];
        let now = t0() + secs(60);
        for (s, row) in STATES.iter().zip(table) {
            for (event, cell) in EVENTS.iter().zip(row) {
                let before = in_state(s);
                let mut after = before.clone();
                let result = apply(&mut after, event, now, 0.0);
                let (ignored, expected) = match cell.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, cell),
                };
                assert_eq!(label(&after), expected, "{s} + {event}");
                assert_eq!(result.is_err(), ignored, "{s} + {event}: {result:?}");
                if ignored {
                    assert_eq!(after, before, "{s} + {event} changed while ignored");
                }
            }
        }
    }

    #[test]
    fn the_last_trouble_is_kept_for_the_patient_to_read() {
        let now = t0();
        let mut i = intent();
        assert_eq!(i.state().pending().unwrap().last_trouble(), None);
        i.on_sent(now).unwrap();
        i.on_outcome(transient(), now, 0.0).unwrap();
        assert_eq!(
            i.state().pending().unwrap().last_trouble(),
            Some(Trouble::Busy)
        );
        i.poll(now + secs(10));
        i.on_sent(now + secs(10)).unwrap();
        i.on_outcome(Outcome::Lost, now + secs(10), 0.0).unwrap();
        assert_eq!(
            i.state().pending().unwrap().last_trouble(),
            Some(Trouble::NoAnswer)
        );
        // It survives storage, and older stored intents without it still read.
        let back = Intent::from_json(&i.to_json()).unwrap();
        assert_eq!(back, i);
        let old = intent().to_json();
        assert!(!old.contains("last_trouble"));
        assert!(Intent::from_json(&old).is_ok());
    }

    #[test]
    fn a_refusal_is_kept_without_the_servers_free_text() {
        let now = t0();
        let mut i = intent();
        i.on_sent(now).unwrap();
        let mut problem = problem(ProblemKind::Validation);
        problem.detail = Some("李雷 11010519491231002X is not valid".into());
        problem.errors = vec![crate::contract::FieldError {
            field: "patient.phone".into(),
            code: "phone".into(),
            message: "13812345678 is not a mobile number".into(),
        }];
        i.on_outcome(Outcome::Refused(problem), now, 0.0).unwrap();
        let json = i.to_json();
        assert!(
            !json.contains("11010519491231002X") && !json.contains("13812345678"),
            "{json}"
        );
        match i.state() {
            State::Rejected { problem } => {
                assert_eq!(problem.kind(), Some(ProblemKind::Validation));
                assert_eq!(problem.errors[0].code, "phone");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ignored_events_say_why() {
        let now = t0() + secs(60);
        let cases = [
            ("q-send", "lost", Ignored::NotSending),
            ("attention", "reload", Ignored::AwaitingPatient),
            ("q-send", "keep-trying", Ignored::NotAwaitingPatient),
            ("s-send", "sent", Ignored::InFlight),
            ("s-send", "online", Ignored::InFlight),
            ("s-send", "give-up", Ignored::InFlight),
            ("attention", "sent", Ignored::AwaitingPatient),
            ("attention", "focus", Ignored::AwaitingPatient),
            ("attention", "transient", Ignored::NotSending),
            ("confirmed", "booked", Ignored::Settled),
            ("rejected", "booked", Ignored::Settled),
            ("abandoned", "give-up", Ignored::Settled),
            ("expired", "keep-trying", Ignored::Settled),
        ];
        for (s, event, why) in cases {
            let mut i = in_state(s);
            assert_eq!(apply(&mut i, event, now, 0.0), Err(why), "{s} + {event}");
        }
    }

    #[test]
    fn stored_before_the_first_attempt_with_the_exact_request() {
        let i = intent();
        let mut stored = Intent::from_json(&i.to_json()).unwrap();
        assert_eq!(stored, i);
        assert_eq!(
            stored.poll(t0()),
            Some(Action::Send {
                key: key(),
                request: request()
            })
        );
        assert_eq!(
            Intent::new(key(), request(), summary("2026-11-23T09:00:00+08:00"), t0()),
            Ok(Intent {
                slot: summary("2026-11-23T09:00:00+08:00"),
                ..intent()
            })
        );
        let other_slot = BookingRequest {
            slot_id: "slot-2".into(),
            ..request()
        };
        assert_eq!(
            Intent::new(key(), other_slot, slot(), t0()),
            Err(IntentError::SlotMismatch)
        );
    }

    #[test]
    fn failures_then_success_on_a_virtual_clock() {
        let mut now = t0();
        let mut i = intent();
        let send = Action::Send {
            key: key(),
            request: request(),
        };
        let ask = ask();

        // First send: the app's timer fires before any answer.
        assert_eq!(i.poll(now), Some(send.clone()));
        i.on_sent(now).unwrap();
        now += secs(15);
        i.on_outcome(Outcome::TimedOut, now, 0.5).unwrap();
        // First retry: ceiling 2 s, half of it drawn. It asks before sending again.
        assert_eq!(
            i.poll(now),
            Some(Action::Wait {
                until: now + secs(1)
            })
        );
        now += secs(1);
        assert_eq!(i.poll(now), Some(ask.clone()));
        i.on_sent(now).unwrap();

        // The lookup meets a busy server that asks for 30 s.
        i.on_outcome(
            Outcome::Transient {
                retry_after: Some(RetryAfter::Seconds(30)),
            },
            now,
            0.0,
        )
        .unwrap();
        let floor = now + secs(30);
        assert_eq!(i.poll(now), Some(Action::Wait { until: floor }));
        // Coming back online does not override the server's deadline.
        now += secs(5);
        i.on_online(now).unwrap();
        assert_eq!(i.poll(now), Some(Action::Wait { until: floor }));
        now = floor;
        assert_eq!(i.poll(now), Some(ask.clone()));
        i.on_sent(now).unwrap();

        // Nothing under the key: sending again with the same key is safe.
        i.on_outcome(Outcome::NotFoundByKey, now, 0.9).unwrap();
        assert_eq!(i.poll(now), Some(send.clone()));
        i.on_sent(now).unwrap();

        // An unreadable answer: ask again, after a backoff the next `online` cuts short.
        i.on_outcome(Outcome::Lost, now, 0.999).unwrap();
        let Some(Action::Wait { until }) = i.poll(now) else {
            panic!("expected a wait");
        };
        assert!(until > now && until < now + i.policy().ceiling(3));
        now += secs(2);
        i.on_online(now).unwrap();
        assert_eq!(i.poll(now), Some(ask));
        i.on_sent(now).unwrap();

        // The first send had been booked after all.
        i.on_outcome(booked(), now, 0.0).unwrap();
        assert_eq!(
            i.state(),
            &State::Confirmed {
                booking: Box::new(BookingRecord::from(&booking()))
            }
        );
        assert_eq!(i.poll(now), None);
        assert_identity_gone(&i);
    }

    #[test]
    fn an_http_date_retry_after_is_honoured() {
        let now = t0();
        let mut i = in_state("s-send");
        let retry_after = RetryAfter::parse("Sun, 22 Nov 2026 08:05:00 GMT", now).unwrap();
        i.on_outcome(
            Outcome::Transient {
                retry_after: Some(retry_after),
            },
            now,
            0.0,
        )
        .unwrap();
        let floor = t("2026-11-22T08:05:00Z");
        assert_eq!(i.state().pending().unwrap().not_before(), Some(floor));
        // Resends the request (a 503 is an answer, not a lost one) once the date has come.
        assert_eq!(i.poll(now), Some(Action::Wait { until: floor }));
        i.on_focus(now + secs(1)).unwrap();
        assert_eq!(i.poll(floor - secs(1)), Some(Action::Wait { until: floor }));
        assert!(matches!(i.poll(floor), Some(Action::Send { .. })));
    }

    #[test]
    fn online_makes_a_queued_intent_due_at_once() {
        let now = t0();
        let mut i = in_state("s-send");
        i.on_outcome(transient(), now, 0.999).unwrap();
        assert!(matches!(i.poll(now), Some(Action::Wait { .. })));
        i.on_online(now + secs(1)).unwrap();
        assert!(matches!(i.poll(now + secs(1)), Some(Action::Send { .. })));
        // Waking never postpones: a second wake later leaves the due time where it was.
        i.on_focus(now + secs(50)).unwrap();
        assert!(matches!(i.poll(now + secs(1)), Some(Action::Send { .. })));
    }

    #[test]
    fn business_refusals_reject_with_reason_and_alternatives() {
        for kind in [
            ProblemKind::SlotTaken,
            ProblemKind::Validation,
            ProblemKind::HoldExpired,
            ProblemKind::SessionUnavailable,
        ] {
            let mut i = in_state("s-send");
            let mut p = problem(kind);
            if kind == ProblemKind::SlotTaken {
                p.alternatives = vec![crate::contract::Alternative {
                    slot: crate::contract::Slot {
                        id: "slot-2".into(),
                        start: slot().start,
                        end: slot().end,
                        capacity: 2,
                        remaining: 1,
                    },
                    doctor_id: "doc-1".into(),
                    doctor_name: Text::new("王医生", "Dr Wang"),
                    date: slot().start.date_naive(),
                    period: Period::Am,
                }];
            }
            i.on_outcome(Outcome::Refused(p.clone()), t0(), 0.0)
                .unwrap();
            assert_eq!(i.state(), &State::Rejected { problem: p }, "{kind:?}");
            assert_identity_gone(&i);
        }
    }

    #[test]
    fn server_trouble_keeps_the_intent_queued() {
        for outcome in [
            transient(),
            refused(ProblemKind::RateLimited),
            refused(ProblemKind::Unavailable),
            refused(ProblemKind::Internal),
            Outcome::Refused(Problem {
                type_uri: "about:blank".into(),
                status: 502,
                ..problem(ProblemKind::Internal)
            }),
        ] {
            let mut i = in_state("s-send");
            i.on_outcome(outcome.clone(), t0(), 0.3).unwrap();
            assert_eq!(label(&i), "q-send", "{outcome:?}");
            assert_eq!(i.state().pending().unwrap().tries().failures(), 1);
        }
    }

    #[test]
    fn a_by_key_404_means_send_again_with_the_same_key_never_rejected() {
        let now = t0();
        for outcome in [Outcome::NotFoundByKey, refused(ProblemKind::NotFound)] {
            let mut i = in_state("s-ask");
            i.on_outcome(outcome, now, 0.0).unwrap();
            assert_eq!(
                i.poll(now),
                Some(Action::Send {
                    key: key(),
                    request: request()
                })
            );
            // Still counted as possibly booked: the first send may yet land.
            assert!(i.state().pending().unwrap().maybe_booked());
        }
    }

    #[test]
    fn a_reload_mid_send_asks_by_key_before_anything_else() {
        let now = t0() + secs(40);
        let mut i = in_state("s-send");
        let mut reloaded = Intent::from_json(&i.to_json()).unwrap();
        reloaded.on_reload(now).unwrap();
        assert_eq!(reloaded.poll(now), Some(ask()));
        // The old page's answer can never reach the new one; if the app nonetheless hands one in
        // late, a failure is ignored and a booking still counts.
        assert_eq!(
            reloaded.on_outcome(Outcome::Lost, now, 0.0),
            Err(Ignored::NotSending)
        );
        reloaded.on_outcome(booked(), now, 0.0).unwrap();
        assert_eq!(label(&reloaded), "confirmed");
        i.on_reload(now).unwrap();
        assert_eq!(label(&i), "q-ask");
    }

    #[test]
    fn spent_budget_asks_the_patient_then_keep_trying_starts_afresh() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let mut now = t0();
        let mut i = intent().with_policy(policy);
        let run = |i: &mut Intent, now: &mut DateTime<Utc>, outcome: Outcome| {
            while let Some(action) = i.poll(*now) {
                match action {
                    Action::Wait { until } => *now = until,
                    _ => {
                        i.on_sent(*now).unwrap();
                        *now += secs(10);
                        i.on_outcome(outcome.clone(), *now, 0.5).unwrap();
                    }
                }
                if label(i) == "attention" {
                    return;
                }
            }
        };
        run(&mut i, &mut now, Outcome::Lost);
        assert_eq!(
            i.state(),
            &State::NeedsAttention {
                pending: i.state().pending().unwrap().clone(),
                next: Step::AskByKey,
                reason: Attention::OutOfRetries {
                    last: Trouble::NoAnswer
                },
            }
        );
        assert_eq!(i.state().pending().unwrap().tries().failures(), 3);
        // Waiting for the patient: nothing to send, only the deadline to watch.
        assert_eq!(
            i.poll(now),
            Some(Action::Wait {
                until: i.expires_at()
            })
        );

        i.keep_trying(now).unwrap();
        let tries = i.state().pending().unwrap().tries();
        assert_eq!((tries.failures(), tries.since()), (0, now));
        // It resumes where it stopped: asking, not sending.
        assert_eq!(i.poll(now), Some(ask()));

        run(&mut i, &mut now, transient());
        assert!(matches!(
            i.state(),
            State::NeedsAttention {
                reason: Attention::OutOfRetries {
                    last: Trouble::Busy
                },
                ..
            }
        ));
        i.give_up(now).unwrap();
        assert_eq!(i.state(), &State::Abandoned { maybe_booked: true });
        assert_eq!(i.poll(now), None);
        assert_identity_gone(&i);
    }

    #[test]
    fn keep_trying_still_waits_for_the_servers_deadline() {
        let now = t0();
        let mut i = in_state("s-send").with_policy(RetryPolicy {
            max_elapsed_ms: 60_000,
            ..RetryPolicy::default()
        });
        i.on_outcome(
            Outcome::Transient {
                retry_after: Some(RetryAfter::Seconds(600)),
            },
            now,
            0.0,
        )
        .unwrap();
        // Ten minutes is beyond a one-minute budget: ask rather than wait silently.
        assert_eq!(label(&i), "attention");
        i.keep_trying(now + secs(5)).unwrap();
        assert_eq!(
            i.poll(now + secs(5)),
            Some(Action::Wait {
                until: now + secs(600)
            })
        );
    }

    #[test]
    fn giving_up_before_anything_went_out_is_not_in_doubt() {
        let mut i = intent();
        i.give_up(t0()).unwrap();
        assert_eq!(
            i.state(),
            &State::Abandoned {
                maybe_booked: false
            }
        );
        assert_identity_gone(&i);
    }

    #[test]
    fn expires_when_the_slot_starts() {
        let mut i = in_state("q-ask");
        assert_eq!(i.expires_at(), slot_start());
        // The app is opened again a second before the slot starts. A backoff beyond the
        // deadline is cut to it, so the app wakes to expire it.
        let late = slot_start() - secs(1);
        i.on_reload(late).unwrap();
        assert_eq!(i.poll(late), Some(ask()), "due before the deadline");
        i.on_sent(late).unwrap();
        i.on_outcome(Outcome::Lost, late, 0.999).unwrap();
        assert_eq!(
            i.poll(late),
            Some(Action::Wait {
                until: slot_start()
            })
        );
        assert_eq!(i.poll(slot_start()), None);
        assert_eq!(
            i.state(),
            &State::Expired {
                reason: Expiry::SlotStarted,
                maybe_booked: true
            }
        );
        assert_identity_gone(&i);
    }

    #[test]
    fn expires_a_day_after_creation_when_the_slot_is_further_away() {
        let mut i =
            Intent::new(key(), request(), summary("2026-11-30T08:30:00+08:00"), t0()).unwrap();
        assert_eq!(i.expires_at(), t0() + MAX_PENDING);
        assert!(matches!(i.poll(t0()), Some(Action::Send { .. })));
        i.give_up(t0() + MAX_PENDING).unwrap_err();
        assert_eq!(
            i.state(),
            &State::Expired {
                reason: Expiry::PendingTooLong,
                maybe_booked: false
            }
        );
        assert_identity_gone(&i);
    }

    #[test]
    fn a_definite_answer_in_flight_beats_expiry() {
        let mut i = in_state("s-send");
        i.on_outcome(refused(ProblemKind::SessionUnavailable), slot_start(), 0.0)
            .unwrap();
        assert_eq!(label(&i), "rejected");
        let mut i = in_state("s-send");
        i.on_outcome(Outcome::Lost, slot_start(), 0.0).unwrap();
        assert_eq!(label(&i), "expired");
        // The booking turns up after all: it exists, so the patient is told.
        i.on_outcome(booked(), slot_start() + secs(1), 0.0).unwrap();
        assert_eq!(label(&i), "confirmed");
    }

    /// The stored value and its `Debug` hold none of the patient's identity.
    fn assert_identity_gone(i: &Intent) {
        assert!(i.is_settled());
        let json = i.to_json();
        let debug = format!("{i:?}");
        for value in IDENTITY {
            assert!(!json.contains(value), "{value} still stored: {json}");
            assert!(!debug.contains(value), "{value} in debug output");
        }
        assert!(!json.contains("\"patient\""));
    }

    #[test]
    fn identity_is_purged_on_every_settled_state() {
        for s in ["confirmed", "rejected", "abandoned", "expired"] {
            assert_identity_gone(&in_state(s));
        }
        // …and held while pending, so the check above can fail.
        for s in ["q-send", "q-ask", "s-send", "s-ask", "attention"] {
            let i = in_state(s);
            let json = i.to_json();
            assert!(IDENTITY.iter().all(|v| json.contains(v)), "{s}");
            let debug = format!("{i:?} {:?}", i.clone().poll(t0()));
            assert!(!IDENTITY.iter().any(|v| debug.contains(v)), "{s}: {debug}");
            assert!(!debug.contains(key().as_str()));
        }
    }

    #[test]
    fn the_confirmed_record_is_what_the_ticket_needs() {
        let i = in_state("confirmed");
        let State::Confirmed { booking } = i.state() else {
            panic!("not confirmed");
        };
        assert_eq!(booking.code, "K7Q4-M2XP");
        assert_eq!(booking.slot, slot());
        // Not even the masked patient is kept.
        assert!(!i.to_json().contains("138****5678"));
    }

    #[test]
    fn stored_json_round_trips_in_every_state() {
        for s in STATES {
            let i = in_state(s);
            assert_eq!(Intent::from_json(&i.to_json()), Ok(i), "{s}");
        }
        let json = in_state("attention").to_json();
        assert!(json.contains(r#""needs-attention":{"#), "{json}");
    }

    #[test]
    fn corrupt_or_unknown_storage_fails_cleanly() {
        let good = in_state("q-ask").to_json();
        let malformed =
            |r: Result<Intent, StoredError>| matches!(r, Err(StoredError::Malformed { .. }));
        for bad in [
            "",
            "{",
            "null",
            "[]",
            "42",
            r#"{"v":1}"#,
            r#"{"v":"1"}"#,
            &good.replace(r#""queued":{"#, r#""teleported":{"#),
            &good.replace(key().as_str(), "short"),
            &good.replace(r#""consent":true"#, r#""consent":"yes""#),
            &good.replace(r#""next":"ask-by-key""#, r#""next":"fax""#),
            &good.replace(r#""failures":1"#, r#""failures":-1"#),
        ] {
            assert!(malformed(Intent::from_json(bad)), "accepted {bad}");
        }
        // Every truncation of a good record is refused without a panic.
        for (cut, _) in good.char_indices().skip(1) {
            assert!(Intent::from_json(&good[..cut]).is_err(), "accepted {cut}");
        }
        assert_eq!(
            Intent::from_json(&good.replacen(r#""v":1"#, r#""v":2"#, 1)),
            Err(StoredError::Version(2))
        );
        assert_eq!(
            Intent::from_json(&good.replacen(r#""slot_id":"slot-1""#, r#""slot_id":"slot-7""#, 1)),
            Err(StoredError::Inconsistent)
        );
        // The error never quotes what was stored.
        let err = Intent::from_json(&good.replace(r#""consent":true"#, r#""consent":"李雷""#))
            .unwrap_err();
        assert!(!err.to_string().contains(NAME));
        assert!(!format!("{err:?}").contains(NAME));
    }

    #[test]
    fn a_pending_record_of_another_format_is_deleted_once_no_version_would_keep_it() {
        // A record of an older format, with the patient in it, as an earlier build stored it.
        let old = in_state("q-ask")
            .to_json()
            .replacen(r#""v":1"#, r#""v":0"#, 1);
        assert!(Intent::from_json(&old).is_err());
        assert!(old.contains(DOCUMENT));
        // Its own build's tab may still be sending it: kept while it could still be pending…
        assert!(!Intent::forget_unreadable(&old, t0() + secs(60)));
        assert!(!Intent::forget_unreadable(
            &old,
            t0() + MAX_PENDING - secs(1)
        ));
        // …and deleted once no build would keep a pending booking any longer.
        assert!(Intent::forget_unreadable(&old, t0() + MAX_PENDING));
        // Nothing that names no version and time is any build's: deleted at once.
        for junk in [
            "",
            "{",
            r#"{"v":1}"#,
            r#"{"created_at":"2026-11-22T08:00:00Z"}"#,
        ] {
            assert!(Intent::forget_unreadable(junk, t0()), "{junk}");
        }
    }

    #[test]
    fn idempotency_keys_follow_the_servers_rule() {
        assert!(IdempotencyKey::parse("abcd-EFG_123").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(128)).is_ok());
        for bad in [
            "",
            "short",
            "has space in",
            "dot.ted.key",
            "钥匙钥匙钥匙钥匙",
        ] {
            assert_eq!(IdempotencyKey::parse(bad), Err(KeyError), "{bad}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
        assert_eq!(format!("{:?}", key()), "IdempotencyKey(…)");
    }

    /// splitmix64: small, deterministic, good enough to shuffle events.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn random_event_sequences_keep_the_invariants() {
        let mut rng = Rng(0x00F0_0D5E_ED5A_1F00);
        let policies = [
            RetryPolicy::default(),
            RetryPolicy {
                base_ms: 500,
                cap_ms: 4_000,
                max_attempts: 3,
                max_elapsed_ms: 30_000,
            },
        ];
        let mut settled_runs = 0;
        for run in 0..400 {
            let policy = policies[run % policies.len()];
            let mut i = intent().with_policy(policy);
            let mut now = t0();
            // After a lost or timed-out send, nothing is sent again before a by-key lookup.
            let mut unclear = false;
            for _ in 0..40 {
                now += match rng.below(10) {
                    0 => TimeDelta::hours(rng.below(6) as i64),
                    1..=3 => TimeDelta::zero(),
                    _ => TimeDelta::milliseconds(rng.below(90_000) as i64),
                };
                let before = i.clone();
                let event = EVENTS[rng.below(EVENTS.len())];
                let outcome_step = match before.state() {
                    State::Sending { step, .. } => Some(*step),
                    _ => None,
                };
                let result = match event {
                    "transient" if rng.below(2) == 0 => {
                        let retry_after = Some(RetryAfter::Seconds(rng.below(120) as u64));
                        i.on_outcome(Outcome::Transient { retry_after }, now, rng.unit())
                    }
                    _ => apply(&mut i, event, now, rng.unit()),
                };

                // Confirmed and rejected never change.
                if matches!(
                    before.state(),
                    State::Confirmed { .. } | State::Rejected { .. }
                ) {
                    assert_eq!(i, before, "{event} changed a settled intent");
                }
                // An ignored event changes nothing, except that an overdue intent expires.
                if result.is_err() && i != before {
                    assert!(!before.is_settled() && label(&i) == "expired", "{event}");
                }
                if result.is_ok() && outcome_step.is_some() {
                    match event {
                        "timed-out" | "lost" => unclear = true,
                        "booked" => unclear = false,
                        _ => {}
                    }
                }
                if event == "reload" && result.is_ok() && outcome_step.is_some() {
                    unclear = true;
                }
                if let State::Sending {
                    step: Step::AskByKey,
                    ..
                } = i.state()
                {
                    unclear = false;
                }

                let action = i.clone().poll(now);
                match (i.state().pending(), &action) {
                    (None, None) => {
                        assert_identity_gone(&i);
                    }
                    (Some(pending), Some(action)) => {
                        assert!(pending.tries().failures() <= policy.max_attempts);
                        match action {
                            Action::Send { key: k, request: r } => {
                                assert_eq!((k, r), (&key(), &request()));
                                assert!(!unclear, "resent without asking first");
                            }
                            Action::AskByKey {
                                key: k,
                                document_last4,
                            } => assert_eq!((k, document_last4.as_str()), (&key(), "002X")),
                            Action::Wait { until } => assert!(*until > now),
                        }
                        if !matches!(action, Action::Wait { .. }) {
                            assert!(pending.not_before().is_none_or(|nb| nb <= now));
                            assert!(now < i.expires_at());
                        }
                    }
                    (pending, action) => {
                        panic!("pending {} but action {action:?}", pending.is_some())
                    }
                }
                assert_eq!(Intent::from_json(&i.to_json()).as_ref(), Ok(&i));

                // Follow the machine's advice half of the time, as the app would.
                if rng.below(2) == 0
                    && matches!(action, Some(Action::Send { .. } | Action::AskByKey { .. }))
                {
                    i.on_sent(now).unwrap();
                    if let State::Sending {
                        step: Step::AskByKey,
                        ..
                    } = i.state()
                    {
                        unclear = false;
                    }
                }
            }
            settled_runs += usize::from(i.is_settled());
        }
        // The walk reaches settled states often enough for the checks on them to mean something.
        assert!(settled_runs > 100, "only {settled_runs} runs settled");
    }
}
