//! One try at a booking through FHIR, as a state machine without I/O in the style of
//! `quinn-proto`: it asks for one [`Command`] at a time and is told how the request went with an
//! [`Event`]; it reads no clock (every call takes `now`) and touches no network. The browser's
//! adapter is a thin driver that makes the requests; the simulation in this module's tests drives
//! the same machine against an in-memory FHIR server, a lossy network and rival patients.
//!
//! The protocol is the one the [`crate::fhir`] module describes, under one booking key:
//!
//! ```text
//!   SearchByKey(own) ── found ───────────────────────────────────────────────► Booked
//!        │ none
//!   Prepare ─► ReadSlot ◄──── 409/412 on the claim (at most CLAIM_TRIES reads) ──┐
//!                 │ busy, stale claim ─► SearchByKey(theirs) ─┐                 │
//!                 │ free, or ours (renewed) ──► ClaimSlot ◄───┘ ────────────────┘
//!                 │ busy, or 404 ─► Refused(Taken)   │ kept
//!                 ▼                                  ▼
//!        (failed: Refused / Unsettled)       SearchSlotBookings ── another's ──┐
//!                                                    │ none                    │
//!                                     CreatePatient (─► FindPatient)           │
//!                                                    │                         │
//!                                 CreateAppointment (─► SearchByKey(own)) ─► Booked
//!                                                    │ refused                 │
//!                                                    ▼                         │
//!   refused after the claim: SearchByKey(own) ── found ─► Booked               │
//!                                 │ none ◄────────────────────────────────────┘
//!                        ReadSlot ─► ours? ReleaseSlot ─► Refused
//!                           ▲ lost, or 412 (RELEASE_TRIES reads) │
//!                           └────────────────────────────────────┘
//! ```
//!
//! Rules it keeps:
//!
//! - **Refusal or not is the status's word** ([`Answered`]): a refusal ends the try as
//!   [`Ending::Refused`]; an outage, a lost answer or an unreadable one ends it
//!   [`Ending::Unsettled`], and keeps whatever was claimed for the next try under the same key,
//!   which starts by searching for what this one may have made.
//! - **A claim is what the server kept.** A claim answered with the slot but without the key
//!   counts as lost; a slot that keeps no versions cannot be claimed at all, since without
//!   `If-Match` two bookings could both win.
//! - **A slot booked by another system is refused** even when it was left `free`: an active
//!   Appointment of the slot under another key means it is taken.
//! - **Races are retried, boundedly.** A claim answered 409 or 412 reads the slot again (it may
//!   be this key's own claim by now), [`CLAIM_TRIES`] times at most.
//! - **Only this key's claim is given back**, and only after a refusal that came after the claim
//!   and a search that found no Appointment made under the key after all; a release that gets no
//!   answer is tried again, [`RELEASE_TRIES`] reads at most, and one that never arrives goes stale.
//! - **A claim left by a client never heard of again** (older than
//!   [`super::CLAIM_TTL_MINUTES`], with no Appointment under its key) may be taken over, still
//!   with `If-Match`. A try that finds its own claim renews it the same way before it builds on
//!   it, so the client that took a claim over and the one that made it never both go on (as long
//!   as one try takes less than the claim's lifetime).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    BOOKING_KEY_SYSTEM, Bundle, books_slot, claim, claim_is_stale, claimed_by, has_identifier,
    id_from_location, is_active_appointment, is_fhir_id, unclaim, version_of,
};
use crate::retry::Answered;

/// Reads of the slot one claim may take when the server says it changed meanwhile.
pub const CLAIM_TRIES: u32 = 3;
/// Reads of the slot giving a claim back may take when answers are lost or the slot changed.
pub const RELEASE_TRIES: u32 = 3;

/// What the driver does next. Each is answered with an [`Event`]: [`Event::Prepared`] for
/// [`Command::Prepare`], [`Event::Answered`] for every request; [`Command::Finish`] is the last.
#[derive(Clone, PartialEq)]
pub enum Command {
    /// Search Appointments by the booking key `key` (a POST search, so the key is in no URL).
    SearchByKey { key: String },
    /// Read and check whatever the Appointment needs before anything is written (the slot's
    /// doctor and times, the patient's details). The driver ends the try itself when that fails:
    /// nothing has been written yet.
    Prepare,
    /// Read the slot, fresh from the server.
    ReadSlot,
    /// Update the slot to `slot` with `If-Match` on `version`, asking for the stored
    /// representation back.
    ClaimSlot { slot: Value, version: String },
    /// Search the Appointments of the slot.
    SearchSlotBookings,
    /// Create the booking's own Patient unless one exists under the key (`If-None-Exist`),
    /// asking for `return=minimal`.
    CreatePatient,
    /// Search the Patient made under the key, for its id alone.
    FindPatient,
    /// Create the Appointment for the Patient `patient_id` unless one exists under the key
    /// (`If-None-Exist`).
    CreateAppointment { patient_id: String },
    /// Update the slot to `slot`, free again, with `If-Match` on `version` when there is one.
    ReleaseSlot {
        slot: Value,
        version: Option<String>,
    },
    /// The try is over.
    Finish(Ending),
}

impl Command {
    /// What the command is, without the key and resources it carries.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SearchByKey { .. } => "SearchByKey",
            Self::Prepare => "Prepare",
            Self::ReadSlot => "ReadSlot",
            Self::ClaimSlot { .. } => "ClaimSlot",
            Self::SearchSlotBookings => "SearchSlotBookings",
            Self::CreatePatient => "CreatePatient",
            Self::FindPatient => "FindPatient",
            Self::CreateAppointment { .. } => "CreateAppointment",
            Self::ReleaseSlot { .. } => "ReleaseSlot",
            Self::Finish(_) => "Finish",
        }
    }
}

/// The key is a secret of the device: `Debug` names the command only.
impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a command went.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The booking's details are read and checked.
    Prepared,
    /// The request's answer.
    Answered(Result<Reply, Failed>),
}

/// A successful answer (2xx).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reply {
    /// The JSON body; `Null` when there was none.
    pub body: Value,
    /// The `Location` header, when the server sent (and exposed) one.
    pub location: Option<String>,
}

/// How a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// The server answered with a status that is not a success, and its `Retry-After`.
    Status {
        status: u16,
        retry_after: Option<String>,
    },
    /// No answer arrived.
    Lost(Lost),
    /// An answer arrived that could not be read; why, for the console.
    Unreadable(String),
}

/// Why no answer arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// The request never left the device.
    NotSent,
    /// Cut off, or offline.
    NoAnswer,
    /// No answer in time.
    TimedOut,
}

impl Failed {
    /// A refusal: the same request would get the same answer. Outages and lost answers are not.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Self::Status { status, .. } if Answered::of(*status) == Answered::Refusal)
    }

    fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How a try ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// The stored Appointment: made by this try, or found under the key.
    Booked(Value),
    Refused(Refusal),
    /// Neither: the same key may be tried again, and will find whatever this try made.
    Unsettled(Failed),
}

/// Why a booking was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The slot is someone else's. `alternatives`: whether other slots are worth offering (not
    /// when the slot is gone, or the server dropped the claim).
    Taken { alternatives: bool },
    /// The server keeps no versions of the slot, so no claim can be guarded.
    Unguarded,
    /// The server refused a request.
    Failed(Failed),
}

/// Where the try is; what it is waiting to hear about.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    New,
    Looking,
    Preparing,
    /// Reading the slot to claim it, for the `n`th time.
    Reading(u32),
    /// Asking whether a stale claim's key made an Appointment; `slot` as read.
    CheckingAbandoned(u32, Value),
    Claiming(u32),
    CheckingBooked,
    CreatingPatient,
    FindingPatient,
    CreatingAppointment,
    FindingAppointment,
    /// Refused after the claim: searching for a booking made under the key after all.
    Reconciling(Refusal),
    /// Reading the slot to give it back, for the `n`th time.
    ReadingToRelease(Refusal, u32),
    Releasing(Refusal, u32),
    Done,
}

/// One try at booking a slot under a key.
#[derive(Clone, PartialEq)]
pub struct Attempt {
    key: String,
    slot_id: String,
    step: Step,
}

/// The key is a secret of the device: `Debug` shows the step only.
impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// The first resource of `kind` in a search answer that carries the identifier exactly: a server
/// that ignores a search parameter may answer with everything.
///
/// ```
/// use fairslot_core::fhir::booking::found_by_identifier;
/// use serde_json::json;
/// let bundle = json!({"resourceType": "Bundle", "entry": [
///     {"resource": {"resourceType": "Appointment", "id": "a1"}},
///     {"resource": {"resourceType": "Appointment", "id": "a2",
///                   "identifier": [{"system": "s", "value": "k"}]}},
/// ]});
/// let found = found_by_identifier(bundle, "Appointment", "s", "k").unwrap().unwrap();
/// assert_eq!(found["id"], "a2");
/// ```
pub fn found_by_identifier(
    answer: Value,
    kind: &str,
    system: &str,
    value: &str,
) -> Result<Option<Value>, super::FhirError> {
    let bundle = Bundle::from_value(answer)?;
    Ok(bundle
        .raw(kind)
        .into_iter()
        .find(|r| has_identifier(r, system, value))
        .cloned())
}

/// The id of a resource just created, from what the server answered: the `Location` header, else
/// a body that names it. The body is looked at only because some servers ignore
/// `Prefer: return=minimal`; it is never read for anything else.
///
/// ```
/// use fairslot_core::fhir::booking::created_id;
/// assert_eq!(created_id(Some("/fhir/Patient/p1/_history/3"), &serde_json::Value::Null, "Patient").as_deref(), Some("p1"));
/// ```
pub fn created_id(location: Option<&str>, body: &Value, kind: &str) -> Option<String> {
    if let Some(id) = location.and_then(|l| id_from_location(l, kind)) {
        return Some(id.to_string());
    }
    let named = body.get("resourceType").and_then(Value::as_str);
    body.get("id")
        .and_then(Value::as_str)
        .filter(|id| is_fhir_id(id) && named.is_none_or(|n| n == kind))
        .map(str::to_string)
}

fn is_kind(resource: &Value, kind: &str) -> bool {
    resource.get("resourceType").and_then(Value::as_str) == Some(kind)
}

impl Attempt {
    /// A try at the slot `slot_id` under `key`, the booking's idempotency key.
    pub fn new(key: impl Into<String>, slot_id: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            slot_id: slot_id.into(),
            step: Step::New,
        }
    }

    /// The first command.
    pub fn start(&mut self) -> Command {
        self.step = Step::Looking;
        self.search_own()
    }

    /// Whether the try is over.
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// The next command, given how the last one went. `now` is the driver's clock when the
    /// event arrived.
    ///
    /// # Panics
    ///
    /// When the event does not answer the last command: a driver bug, not something a network or
    /// a server can cause.
    pub fn handle(&mut self, event: Event, now: DateTime<Utc>) -> Command {
        let step = std::mem::replace(&mut self.step, Step::Done);
        let answer = match (step, event) {
            (Step::Preparing, Event::Prepared) => return self.read(1),
            (step, Event::Answered(answer)) => (step, answer),
            (step, event) => panic!("{event:?} does not answer the command of {step:?}"),
        };
        match answer {
            (Step::Looking, Ok(reply)) => match self.own_booking(reply) {
                Ok(Some(found)) => self.finish(Ending::Booked(found)),
                Ok(None) => {
                    self.step = Step::Preparing;
                    Command::Prepare
                }
                Err(why) => self.finish(Ending::Unsettled(why)),
            },
            (Step::Looking, Err(failed)) => self.failed_before_claim(failed),
            (Step::Reading(n), Ok(reply)) => self.read_slot(n, reply.body, now),
            // A slot that is gone is taken, as far as the patient is concerned.
            (
                Step::Reading(_),
                Err(Failed::Status {
                    status: 404 | 410, ..
                }),
            ) => self.refused(Refusal::Taken {
                alternatives: false,
            }),
            (Step::Reading(_), Err(failed)) => self.failed_before_claim(failed),
            (Step::CheckingAbandoned(n, slot), Ok(reply)) => {
                let Some(theirs) = claimed_by(&slot).map(str::to_string) else {
                    return self.claim(n, &slot, now);
                };
                match found_by_identifier(reply.body, "Appointment", BOOKING_KEY_SYSTEM, &theirs) {
                    Ok(None) => self.claim(n, &slot, now),
                    Ok(Some(_)) => self.refused(Refusal::Taken { alternatives: true }),
                    Err(e) => self.finish(Ending::Unsettled(Failed::Unreadable(e.to_string()))),
                }
            }
            (Step::CheckingAbandoned(..), Err(failed)) => self.failed_before_claim(failed),
            // A server that answered with the slot but without the claim did not keep it.
            (Step::Claiming(_), Ok(reply))
                if is_kind(&reply.body, "Slot")
                    && claimed_by(&reply.body) != Some(self.key.as_str()) =>
            {
                self.refused(Refusal::Taken {
                    alternatives: false,
                })
            }
            (Step::Claiming(_), Ok(_)) => self.claimed(),
            // Changed since it was read: read it again; it may be this key's own claim.
            (
                Step::Claiming(n),
                Err(Failed::Status {
                    status: 409 | 412, ..
                }),
            ) => {
                if n < CLAIM_TRIES {
                    self.read(n + 1)
                } else {
                    // It may have been this key's own claim that kept changing: given back.
                    self.failed_after_claim(Refusal::Taken {
                        alternatives: false,
                    })
                }
            }
            (Step::Claiming(_), Err(failed)) => self.failed_before_claim(failed),
            (Step::CheckingBooked, Ok(reply)) => match self.booked_elsewhere(reply.body) {
                Ok(false) => {
                    self.step = Step::CreatingPatient;
                    Command::CreatePatient
                }
                Ok(true) => self.failed_after_claim(Refusal::Taken { alternatives: true }),
                Err(why) => self.finish(Ending::Unsettled(why)),
            },
            (Step::CheckingBooked, Err(failed)) => self.failed_after_claim(Refusal::Failed(failed)),
            (Step::CreatingPatient, Ok(reply)) => {
                match created_id(reply.location.as_deref(), &reply.body, "Patient") {
                    Some(patient_id) => self.create_appointment(patient_id),
                    None => self.find_patient(),
                }
            }
            // More than one Patient under the key (a server that let two tries both create one):
            // either is this booking's.
            (Step::CreatingPatient, Err(Failed::Status { status: 412, .. })) => self.find_patient(),
            (Step::CreatingPatient | Step::FindingPatient, Err(failed)) => {
                self.failed_after_claim(Refusal::Failed(failed))
            }
            (Step::FindingPatient, Ok(reply)) => {
                let found =
                    found_by_identifier(reply.body, "Patient", BOOKING_KEY_SYSTEM, &self.key);
                match found {
                    Ok(found) => match found
                        .and_then(|p| p.get("id").and_then(Value::as_str).map(str::to_string))
                        .filter(|id| is_fhir_id(id))
                    {
                        Some(patient_id) => self.create_appointment(patient_id),
                        None => self.unreadable("Patient created but not found"),
                    },
                    Err(e) => self.unreadable(&e.to_string()),
                }
            }
            (Step::CreatingAppointment, Ok(reply))
                if is_kind(&reply.body, "Appointment")
                    && reply.body.get("id").is_some()
                    && has_identifier(&reply.body, BOOKING_KEY_SYSTEM, &self.key) =>
            {
                self.finish(Ending::Booked(reply.body))
            }
            // Created without a body (or with one not under the key), or more than one match
            // already: find it.
            (Step::CreatingAppointment, Ok(_))
            | (Step::CreatingAppointment, Err(Failed::Status { status: 412, .. })) => {
                self.step = Step::FindingAppointment;
                self.search_own()
            }
            (Step::FindingAppointment, Ok(reply)) => match self.own_booking(reply) {
                Ok(Some(found)) => self.finish(Ending::Booked(found)),
                Ok(None) => self.unreadable("Appointment created but not found"),
                Err(why) => self.finish(Ending::Unsettled(why)),
            },
            (Step::CreatingAppointment | Step::FindingAppointment, Err(failed)) => {
                // The server's own word that the slot is gone (a conflict, a failed
                // precondition, a business rule): the same refusal as a lost claim.
                let refusal = match failed.status() {
                    Some(409 | 412 | 422) => Refusal::Taken { alternatives: true },
                    _ => Refusal::Failed(failed),
                };
                self.failed_after_claim(refusal)
            }
            (Step::Reconciling(refusal), answer) => {
                match answer.map(|reply| self.own_booking(reply)) {
                    Ok(Ok(Some(found))) => self.finish(Ending::Booked(found)),
                    _ => self.read_to_release(refusal, 1),
                }
            }
            (Step::ReadingToRelease(refusal, n), Ok(reply))
                if claimed_by(&reply.body) == Some(self.key.as_str()) =>
            {
                let version = version_of(&reply.body).map(str::to_string);
                let slot = unclaim(&reply.body);
                self.step = Step::Releasing(refusal, n);
                Command::ReleaseSlot { slot, version }
            }
            // Not given back yet (no answer, or changed since it was read): read it again, a few
            // times. A claim that is never given back goes stale; it does not block the slot.
            (Step::ReadingToRelease(refusal, n) | Step::Releasing(refusal, n), Err(failed))
                if n < RELEASE_TRIES && (!failed.is_refusal() || failed.status() == Some(412)) =>
            {
                self.read_to_release(refusal, n + 1)
            }
            (Step::ReadingToRelease(refusal, _) | Step::Releasing(refusal, _), _) => {
                self.refused(refusal)
            }
            (step, answer) => panic!("{answer:?} does not answer the command of {step:?}"),
        }
    }

    fn finish(&mut self, ending: Ending) -> Command {
        self.step = Step::Done;
        Command::Finish(ending)
    }

    fn refused(&mut self, refusal: Refusal) -> Command {
        self.finish(Ending::Refused(refusal))
    }

    fn unreadable(&mut self, why: &str) -> Command {
        self.finish(Ending::Unsettled(Failed::Unreadable(why.to_string())))
    }

    fn search_own(&self) -> Command {
        Command::SearchByKey {
            key: self.key.clone(),
        }
    }

    fn own_booking(&self, reply: Reply) -> Result<Option<Value>, Failed> {
        found_by_identifier(reply.body, "Appointment", BOOKING_KEY_SYSTEM, &self.key)
            .map_err(|e| Failed::Unreadable(e.to_string()))
    }

    fn read_to_release(&mut self, refusal: Refusal, n: u32) -> Command {
        self.step = Step::ReadingToRelease(refusal, n);
        Command::ReadSlot
    }

    fn read(&mut self, n: u32) -> Command {
        self.step = Step::Reading(n);
        Command::ReadSlot
    }

    /// Nothing is claimed yet, so nothing needs giving back.
    fn failed_before_claim(&mut self, failed: Failed) -> Command {
        if failed.is_refusal() {
            self.refused(Refusal::Failed(failed))
        } else {
            self.finish(Ending::Unsettled(failed))
        }
    }

    /// Refused outright after the claim: unless an earlier try's Appointment turns up after all,
    /// the slot goes back. An outage or a lost answer keeps the claim for the retry with this key.
    fn failed_after_claim(&mut self, refusal: Refusal) -> Command {
        match refusal {
            Refusal::Failed(failed) if !failed.is_refusal() => {
                self.finish(Ending::Unsettled(failed))
            }
            refusal => {
                self.step = Step::Reconciling(refusal);
                self.search_own()
            }
        }
    }

    fn read_slot(&mut self, n: u32, slot: Value, now: DateTime<Utc>) -> Command {
        // This key's own claim, from an earlier try or a request that arrived twice: renewed
        // like any claim, so that it cannot be taken over as stale while this try builds on it.
        if claimed_by(&slot) == Some(self.key.as_str()) {
            return self.claim(n, &slot, now);
        }
        let free = slot.get("status").and_then(Value::as_str) == Some("free");
        // A claim left by a client never heard of again: asked about before it is taken over.
        if let Some(theirs) = claimed_by(&slot)
            && !free
            && claim_is_stale(&slot, now)
        {
            let key = theirs.to_string();
            self.step = Step::CheckingAbandoned(n, slot);
            return Command::SearchByKey { key };
        }
        if !free {
            return self.refused(Refusal::Taken { alternatives: true });
        }
        self.claim(n, &slot, now)
    }

    fn claim(&mut self, n: u32, slot: &Value, now: DateTime<Utc>) -> Command {
        // Without a version there is no If-Match, and two bookings could both win.
        let Some(version) = version_of(slot).map(str::to_string) else {
            return self.refused(Refusal::Unguarded);
        };
        self.step = Step::Claiming(n);
        Command::ClaimSlot {
            slot: claim(slot, &self.key, now),
            version,
        }
    }

    fn claimed(&mut self) -> Command {
        self.step = Step::CheckingBooked;
        Command::SearchSlotBookings
    }

    /// Whether another system booked the slot while leaving it `free` (many never mark a slot
    /// busy): an active Appointment for it that is not this key's.
    fn booked_elsewhere(&self, answer: Value) -> Result<bool, Failed> {
        let bundle = Bundle::from_value(answer).map_err(|e| Failed::Unreadable(e.to_string()))?;
        Ok(bundle.raw("Appointment").into_iter().any(|a| {
            books_slot(a, &self.slot_id)
                && is_active_appointment(a)
                && !has_identifier(a, BOOKING_KEY_SYSTEM, &self.key)
        }))
    }

    fn find_patient(&mut self) -> Command {
        self.step = Step::FindingPatient;
        Command::FindPatient
    }

    fn create_appointment(&mut self, patient_id: String) -> Command {
        self.step = Step::CreatingAppointment;
        Command::CreateAppointment { patient_id }
    }
}

#[cfg(test)]
mod simulation;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "key-0001";

    fn now() -> DateTime<Utc> {
        "2026-11-22T08:00:00Z".parse().unwrap()
    }

    fn ok(body: Value) -> Event {
        Event::Answered(Ok(Reply {
            body,
            location: None,
        }))
    }

    fn failed(status: u16) -> Event {
        Event::Answered(Err(Failed::Status {
            status,
            retry_after: None,
        }))
    }

    fn bundle(resources: &[Value]) -> Value {
        let entry: Vec<Value> = resources.iter().map(|r| json!({ "resource": r })).collect();
        json!({ "resourceType": "Bundle", "entry": entry })
    }

    fn free_slot() -> Value {
        json!({ "resourceType": "Slot", "id": "s1", "status": "free", "meta": { "versionId": "4" } })
    }

    fn appointment(key: &str) -> Value {
        json!({
            "resourceType": "Appointment", "id": "a1", "status": "booked",
            "identifier": [{ "system": BOOKING_KEY_SYSTEM, "value": key }],
            "slot": [{ "reference": "Slot/s1" }],
        })
    }

    /// An attempt that has found nothing under its key, is prepared, and asked to read the slot.
    fn reading() -> Attempt {
        let mut a = Attempt::new(KEY, "s1");
        assert_eq!(a.start(), Command::SearchByKey { key: KEY.into() });
        assert_eq!(a.handle(ok(bundle(&[])), now()), Command::Prepare);
        assert_eq!(a.handle(Event::Prepared, now()), Command::ReadSlot);
        a
    }

    /// An attempt that holds the claim and is asked for the slot's Appointments.
    fn claimed() -> Attempt {
        let mut a = reading();
        let Command::ClaimSlot { slot, version } = a.handle(ok(free_slot()), now()) else {
            panic!("no claim");
        };
        assert_eq!(version, "4");
        assert_eq!(claimed_by(&slot), Some(KEY));
        assert_eq!(a.handle(ok(slot), now()), Command::SearchSlotBookings);
        a
    }

    #[test]
    fn a_booking_already_made_under_the_key_is_the_booking() {
        let mut a = Attempt::new(KEY, "s1");
        a.start();
        // A server that ignores the search parameter answers with another booking too.
        let answer = bundle(&[appointment("someone-else"), appointment(KEY)]);
        let Command::Finish(Ending::Booked(found)) = a.handle(ok(answer), now()) else {
            panic!("not booked");
        };
        assert!(has_identifier(&found, BOOKING_KEY_SYSTEM, KEY));
        assert!(a.is_done());
    }

    #[test]
    fn a_free_slot_is_claimed_then_the_patient_and_the_appointment_are_made_once() {
        let mut a = claimed();
        assert_eq!(a.handle(ok(bundle(&[])), now()), Command::CreatePatient);
        let created = Event::Answered(Ok(Reply {
            body: Value::Null,
            location: Some("/fhir/Patient/p9/_history/1".into()),
        }));
        assert_eq!(
            a.handle(created, now()),
            Command::CreateAppointment {
                patient_id: "p9".into()
            }
        );
        assert_eq!(
            a.handle(ok(appointment(KEY)), now()),
            Command::Finish(Ending::Booked(appointment(KEY)))
        );
    }

    #[test]
    fn a_claim_the_server_did_not_keep_is_a_taken_slot() {
        let mut a = reading();
        a.handle(ok(free_slot()), now());
        assert_eq!(
            a.handle(ok(free_slot()), now()),
            Command::Finish(Ending::Refused(Refusal::Taken {
                alternatives: false
            }))
        );
    }

    #[test]
    fn a_busy_slot_is_taken_and_one_without_versions_cannot_be_claimed() {
        let mut a = reading();
        let mut busy = claim(&free_slot(), "another-key", now());
        busy["meta"] = json!({ "versionId": "5" });
        assert_eq!(
            a.handle(ok(busy), now()),
            Command::Finish(Ending::Refused(Refusal::Taken { alternatives: true }))
        );
        let mut a = reading();
        let unversioned = json!({ "resourceType": "Slot", "id": "s1", "status": "free" });
        assert_eq!(
            a.handle(ok(unversioned), now()),
            Command::Finish(Ending::Refused(Refusal::Unguarded))
        );
    }

    #[test]
    fn a_stale_claim_is_taken_over_only_when_nothing_was_booked_under_it() {
        for (booked, expected) in [(false, "ClaimSlot"), (true, "Finish")] {
            let mut a = reading();
            let stale = claim(&free_slot(), "gone", now() - chrono::TimeDelta::minutes(30));
            assert_eq!(
                a.handle(ok(stale), now()),
                Command::SearchByKey { key: "gone".into() }
            );
            let found = if booked {
                vec![appointment("gone")]
            } else {
                vec![]
            };
            assert_eq!(a.handle(ok(bundle(&found)), now()).name(), expected);
        }
    }

    #[test]
    fn a_conflicting_claim_is_read_again_a_few_times_then_refused() {
        let mut a = reading();
        for _ in 0..CLAIM_TRIES - 1 {
            assert_eq!(a.handle(ok(free_slot()), now()).name(), "ClaimSlot");
            assert_eq!(a.handle(failed(412), now()), Command::ReadSlot);
        }
        a.handle(ok(free_slot()), now());
        // The last conflict: anything this key made is looked for, and its claim given back.
        assert_eq!(
            a.handle(failed(409), now()),
            Command::SearchByKey { key: KEY.into() }
        );
        assert_eq!(a.handle(ok(bundle(&[])), now()), Command::ReadSlot);
        assert_eq!(
            a.handle(ok(free_slot()), now()),
            Command::Finish(Ending::Refused(Refusal::Taken {
                alternatives: false
            }))
        );
    }

    #[test]
    fn a_slot_booked_by_another_system_while_free_is_refused_and_given_back() {
        let mut a = claimed();
        let other = appointment("another-system");
        assert_eq!(
            a.handle(ok(bundle(&[other])), now()),
            Command::SearchByKey { key: KEY.into() }
        );
        assert_eq!(a.handle(ok(bundle(&[])), now()), Command::ReadSlot);
        let mut ours = claim(&free_slot(), KEY, now());
        ours["meta"] = json!({ "versionId": "5" });
        let Command::ReleaseSlot { slot, version } = a.handle(ok(ours), now()) else {
            panic!("not given back");
        };
        assert_eq!(version.as_deref(), Some("5"));
        assert_eq!(claimed_by(&slot), None);
        assert_eq!(slot["status"], "free");
        assert_eq!(
            a.handle(ok(slot), now()),
            Command::Finish(Ending::Refused(Refusal::Taken { alternatives: true }))
        );
    }

    #[test]
    fn an_outage_after_the_claim_keeps_it_for_the_next_try() {
        let mut a = claimed();
        a.handle(ok(bundle(&[])), now());
        let lost = Event::Answered(Err(Failed::Lost(Lost::TimedOut)));
        assert_eq!(
            a.handle(lost, now()),
            Command::Finish(Ending::Unsettled(Failed::Lost(Lost::TimedOut)))
        );
    }

    #[test]
    fn a_refused_appointment_gives_back_only_this_keys_claim() {
        let mut a = claimed();
        a.handle(ok(bundle(&[])), now());
        a.handle(
            Event::Answered(Ok(Reply {
                body: Value::Null,
                location: Some("Patient/p1".into()),
            })),
            now(),
        );
        assert_eq!(
            a.handle(failed(422), now()),
            Command::SearchByKey { key: KEY.into() }
        );
        assert_eq!(a.handle(ok(bundle(&[])), now()), Command::ReadSlot);
        // Someone else's claim by now: left alone.
        let theirs = claim(&free_slot(), "another-key", now());
        assert_eq!(
            a.handle(ok(theirs), now()),
            Command::Finish(Ending::Refused(Refusal::Taken { alternatives: true }))
        );
    }

    #[test]
    fn a_created_patient_is_known_by_location_or_id_and_nothing_else() {
        let empty = Value::Null;
        assert_eq!(
            created_id(Some("/fhir/Patient/p1/_history/3"), &empty, "Patient").as_deref(),
            Some("p1")
        );
        // A server that ignores return=minimal names it in the body.
        let body = json!({"resourceType": "Patient", "id": "p2"});
        assert_eq!(created_id(None, &body, "Patient").as_deref(), Some("p2"));
        assert_eq!(
            created_id(None, &json!({"id": "p3"}), "Patient").as_deref(),
            Some("p3")
        );
        // The Location wins over a body; nothing usable is nothing.
        assert_eq!(
            created_id(Some("Patient/p4"), &body, "Patient").as_deref(),
            Some("p4")
        );
        for (location, body) in [
            (None, Value::Null),
            (Some("/fhir/Appointment/a1"), Value::Null),
            (
                None,
                json!({"resourceType": "OperationOutcome", "id": "oo"}),
            ),
            (None, json!({"id": "../x"})),
            (None, json!({"id": 7})),
        ] {
            assert_eq!(created_id(location, &body, "Patient"), None, "{body}");
        }
    }
}
