//! The sender: the loop that takes every stored intent to a definite answer, exactly once, as a
//! state machine without I/O in the style of `quinn-proto`.
//!
//! The [`crate::outbox`] machine says what one intent needs; the sender decides which intent gets
//! a turn when, and what to do with each answer. It asks for one [`Command`] at a time and must be
//! told how that command went with the matching [`Event`] before it is asked again. The browser's
//! runtime is then a thin driver: it reads and writes records in IndexedDB, makes the requests,
//! sleeps, and nothing else; the simulation in this module's tests drives the same machine
//! against an in-memory server, store, network and clock.
//!
//! ```text
//!   start ─► List ─► Apply(Reload) for every record ─┐
//!                                                    ▼
//!        ┌──────────────────────────────────── List (a pass) ◄──────────────────┐
//!        ▼                                                                     │
//!   for each record:                                                           │
//!     TakeTurn ─► Send / AskByKey ─► Apply(Answer) or Record+Apply(Booked) ─► TakeTurn (at most
//!        │   └─► Wait / settled / unreadable ──────┐                          │  MAX_TURNS)
//!        ▼                                         ▼                          │
//!     Inspect, once per record per sender ─► unresolved? CheckByKey ─► Record+Apply(Booked)
//!                                                                             │
//!   Sleep until the earliest wait, or until woken ────────────────────────────┘
//! ```
//!
//! Rules it keeps:
//!
//! - **One exchange at a time.** The driver does one command and reports it before the next, so
//!   nothing overtakes an answer; every change of a record is a [`Change`] the driver applies in
//!   one read-modify-write, so another tab's change is never overwritten.
//! - **A request leaves only after the store says so.** A turn marks the record as sending before
//!   the sender asks for the request ([`Intent::take_turn`]); if that write fails, nothing is sent
//!   and the record is tried again [`STORE_RETRY`] later.
//! - **A booking is listed before it settles its intent.** A booking found is put in the
//!   device's list first ([`Command::Record`]); if that cannot be done, the intent stays in flight
//!   and is asked about again, so no confirmed intent is missing from the list.
//! - **Nothing is lost to an ended intent.** An intent that ended with a request out and no answer
//!   (given up, expired) is asked about by key once per sender, so a booking made meanwhile is
//!   found and recorded; if that fails too, the patient is offered to check again.
//!
//! [`Intent::take_turn`]: crate::outbox::Intent::take_turn

use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

use crate::BookingRequest;
use crate::outbox::{Action, Change, Found, IdempotencyKey, Outcome};

#[cfg(test)]
mod simulation;

/// Exchanges one record gets in one pass. A send, a lost answer, a question by key and a resend
/// is four; more would mean a server answering instantly and uselessly, so the record rests.
pub const MAX_TURNS: u32 = 6;
/// How long a record waits when the store could not be written before a request.
pub const STORE_RETRY: TimeDelta = TimeDelta::seconds(30);
/// Longest sleep between passes, so a missed wake-up costs a minute at most.
pub const MAX_SLEEP: TimeDelta = TimeDelta::seconds(60);

/// What the driver does next. Each is answered with the [`Event`] named in its documentation.
#[derive(Clone, PartialEq)]
pub enum Command {
    /// Read the keys of every stored record: [`Event::Listed`].
    List,
    /// Apply `change` to the record in one read-modify-write (nothing if it is missing or
    /// unreadable), then publish it: [`Event::Applied`].
    Apply { key: String, change: Change },
    /// Take the record's turn ([`crate::outbox::Intent::take_turn`]) in one read-modify-write,
    /// then publish it: [`Event::Turn`].
    TakeTurn { key: String },
    /// Send the booking request under the key: [`Event::Answered`].
    Send {
        key: IdempotencyKey,
        request: BookingRequest,
    },
    /// Ask whether a booking exists under the key, with the proof to read it: [`Event::Answered`].
    AskByKey {
        key: IdempotencyKey,
        document_last4: String,
    },
    /// Whether the record ended with a request out and no answer
    /// ([`crate::outbox::Intent::is_unresolved`]): [`Event::Inspected`].
    Inspect { key: String },
    /// Ask whether a booking exists under the key of an ended intent, without a proof (it went with
    /// the intent's identity): [`Event::Answered`].
    CheckByKey { key: String },
    /// Put a booking found under the key in the device's list of bookings, before the intent is
    /// settled by it; one known by its code alone takes the slot from the stored intent
    /// ([`crate::outbox::Intent::record_of`]): [`Event::Recorded`].
    Record { key: String, found: Found },
    /// Sleep until `until`, or until woken (another tab changed the store, the network came
    /// back, the patient returned): [`Event::Woke`].
    Sleep { until: DateTime<Utc> },
}

impl Command {
    /// What the command is, without the keys and requests it carries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::List => "List",
            Self::Apply { .. } => "Apply",
            Self::TakeTurn { .. } => "TakeTurn",
            Self::Send { .. } => "Send",
            Self::AskByKey { .. } => "AskByKey",
            Self::Inspect { .. } => "Inspect",
            Self::CheckByKey { .. } => "CheckByKey",
            Self::Record { .. } => "Record",
            Self::Sleep { .. } => "Sleep",
        }
    }
}

/// Keys and requests hold credentials and identity: `Debug` names the command only.
impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a command went.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Listed(Vec<String>),
    Applied,
    /// The action the turn asked for, or `Err` when the store could not be written (and so
    /// nothing may be sent).
    Turn(Result<Option<Action>, StoreFailed>),
    Answered(Exchanged),
    Inspected {
        unresolved: bool,
    },
    /// Whether the booking is in the device's list now. When it is not (the stored intent could
    /// not be read), the intent is not settled by it: it stays in flight and is asked about again.
    Recorded {
        listed: bool,
    },
    Woke,
}

/// How an exchange with the server went.
#[derive(Debug, Clone, PartialEq)]
pub enum Exchanged {
    /// A booking exists under the key.
    Found(Found),
    /// No booking: how the exchange failed, or what the server refused.
    Failed(Outcome),
}

/// The device's store refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFailed;

/// Where the sender is; what it is waiting to hear about.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Nothing asked yet.
    New,
    /// Asked for the keys, to reload every record before the first pass.
    ListingToReload,
    Reloading(VecDeque<String>),
    /// Asked for the keys of a pass.
    Listing,
    Passing(Pass),
    Sleeping,
}

#[derive(Debug, Clone, PartialEq)]
struct Pass {
    /// Records still to take their turns in this pass.
    keys: VecDeque<String>,
    /// The record whose turns are being taken, and how many it had.
    current: Option<(String, u32)>,
    /// What is in flight for the current record.
    waiting: Waiting,
    /// The soonest a record that waits is due.
    earliest: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Waiting {
    Nothing,
    Turn,
    Exchange,
    /// The booking found by the exchange is being listed; then it settles the intent.
    Recorded(Found),
    Applied,
    Inspected,
    Check,
    CheckRecorded(Found),
    CheckApplied,
}

/// The sending loop of the one tab that sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    phase: Phase,
    /// Ended intents this sender asked about already.
    checked: BTreeSet<String>,
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl Sender {
    pub fn new() -> Self {
        Self {
            phase: Phase::New,
            checked: BTreeSet::new(),
        }
    }

    /// The first command, for a sender that has just started.
    pub fn start(&mut self) -> Command {
        self.phase = Phase::ListingToReload;
        Command::List
    }

    /// The next command, given how the last one went. `now` is the driver's clock when the event
    /// arrived.
    ///
    /// # Panics
    ///
    /// When the event does not answer the last command: a driver bug, not something a network or
    /// a server can cause.
    pub fn handle(&mut self, event: Event, now: DateTime<Utc>) -> Command {
        let phase = std::mem::replace(&mut self.phase, Phase::New);
        match (phase, event) {
            (Phase::ListingToReload, Event::Listed(keys)) => self.reload(keys.into()),
            (Phase::Reloading(keys), Event::Applied) => self.reload(keys),
            (Phase::Listing, Event::Listed(keys)) => self.pass(
                Pass {
                    keys: keys.into(),
                    current: None,
                    waiting: Waiting::Nothing,
                    earliest: None,
                },
                now,
            ),
            (Phase::Sleeping, Event::Woke) => {
                self.phase = Phase::Listing;
                Command::List
            }
            (Phase::Passing(pass), event) => self.in_pass(pass, event, now),
            (phase, event) => panic!("{event:?} does not answer the command of {phase:?}"),
        }
    }

    fn reload(&mut self, mut keys: VecDeque<String>) -> Command {
        match keys.pop_front() {
            Some(key) => {
                self.phase = Phase::Reloading(keys);
                Command::Apply {
                    key,
                    change: Change::Reload,
                }
            }
            None => {
                self.phase = Phase::Listing;
                Command::List
            }
        }
    }

    /// The next record's first turn, or the end of the pass.
    fn pass(&mut self, mut pass: Pass, now: DateTime<Utc>) -> Command {
        match pass.keys.pop_front() {
            Some(key) => {
                pass.current = Some((key.clone(), 0));
                pass.waiting = Waiting::Turn;
                self.phase = Phase::Passing(pass);
                Command::TakeTurn { key }
            }
            None => {
                let latest = now + MAX_SLEEP;
                let until = pass.earliest.map_or(latest, |e| e.clamp(now, latest));
                self.phase = Phase::Sleeping;
                Command::Sleep { until }
            }
        }
    }

    fn in_pass(&mut self, mut pass: Pass, event: Event, now: DateTime<Utc>) -> Command {
        let Some((key, turns)) = pass.current.clone() else {
            panic!("{event:?} arrived between records");
        };
        match (
            std::mem::replace(&mut pass.waiting, Waiting::Nothing),
            event,
        ) {
            (Waiting::Turn, Event::Turn(turn)) => match turn {
                Ok(Some(Action::Send { key, request })) => {
                    pass.waiting = Waiting::Exchange;
                    self.phase = Phase::Passing(pass);
                    Command::Send { key, request }
                }
                Ok(Some(Action::AskByKey {
                    key,
                    document_last4,
                })) => {
                    pass.waiting = Waiting::Exchange;
                    self.phase = Phase::Passing(pass);
                    Command::AskByKey {
                        key,
                        document_last4,
                    }
                }
                Ok(Some(Action::Wait { until })) => {
                    pass.earliest = Some(pass.earliest.map_or(until, |e| e.min(until)));
                    self.done_with_turns(pass, key, now)
                }
                Ok(None) => self.done_with_turns(pass, key, now),
                // Nothing went out: the record is tried again later.
                Err(StoreFailed) => {
                    let until = now + STORE_RETRY;
                    pass.earliest = Some(pass.earliest.map_or(until, |e| e.min(until)));
                    self.done_with_turns(pass, key, now)
                }
            },
            (Waiting::Exchange, Event::Answered(Exchanged::Found(found))) => {
                pass.waiting = Waiting::Recorded(found.clone());
                self.phase = Phase::Passing(pass);
                Command::Record { key, found }
            }
            (Waiting::Exchange, Event::Answered(Exchanged::Failed(outcome))) => {
                pass.waiting = Waiting::Applied;
                self.phase = Phase::Passing(pass);
                Command::Apply {
                    key,
                    change: Change::Answer(outcome),
                }
            }
            (Waiting::Recorded(found), Event::Recorded { listed: true }) => {
                pass.waiting = Waiting::Applied;
                self.phase = Phase::Passing(pass);
                Command::Apply {
                    key,
                    change: Change::Booked(found),
                }
            }
            // Not listed: not settled either; the next turn asks by key again.
            (Waiting::Recorded(_), Event::Recorded { listed: false }) => {
                self.done_with_turns(pass, key, now)
            }
            (Waiting::Applied, Event::Applied) => {
                let turns = turns + 1;
                if turns >= MAX_TURNS {
                    return self.done_with_turns(pass, key, now);
                }
                pass.current = Some((key.clone(), turns));
                pass.waiting = Waiting::Turn;
                self.phase = Phase::Passing(pass);
                Command::TakeTurn { key }
            }
            (Waiting::Inspected, Event::Inspected { unresolved }) => {
                if !unresolved {
                    return self.pass(pass, now);
                }
                self.checked.insert(key.clone());
                pass.waiting = Waiting::Check;
                self.phase = Phase::Passing(pass);
                Command::CheckByKey { key }
            }
            // Found nothing, or could not ask: the patient is offered to check again.
            (Waiting::Check, Event::Answered(Exchanged::Failed(_))) => self.pass(pass, now),
            (Waiting::Check, Event::Answered(Exchanged::Found(found))) => {
                pass.waiting = Waiting::CheckRecorded(found.clone());
                self.phase = Phase::Passing(pass);
                Command::Record { key, found }
            }
            (Waiting::CheckRecorded(found), Event::Recorded { listed: true }) => {
                pass.waiting = Waiting::CheckApplied;
                self.phase = Phase::Passing(pass);
                Command::Apply {
                    key,
                    change: Change::Booked(found),
                }
            }
            (Waiting::CheckRecorded(_), Event::Recorded { listed: false }) => self.pass(pass, now),
            (Waiting::CheckApplied, Event::Applied) => self.pass(pass, now),
            (waiting, event) => panic!("{event:?} does not answer {waiting:?}"),
        }
    }

    /// The record's turns are over for this pass: ask once whether it ended unresolved.
    fn done_with_turns(&mut self, mut pass: Pass, key: String, now: DateTime<Utc>) -> Command {
        if self.checked.contains(&key) {
            return self.pass(pass, now);
        }
        pass.waiting = Waiting::Inspected;
        self.phase = Phase::Passing(pass);
        Command::Inspect { key }
    }
}
