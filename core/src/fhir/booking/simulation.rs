//! Deterministic simulation of the FHIR booking protocol: several patients' [`Attempt`]s racing
//! for the same slots, against an in-memory FHIR server (versioned Slots, conditional creates on
//! an identifier, Appointments; some servers never mark a slot busy, ignore search parameters they
//! do not know, drop extensions, or apply a write and then lose its answer), over a network that
//! loses, delays and duplicates requests and answers, on a virtual clock. A try that ends
//! unsettled is tried again later under the same key, as the outbox does. Every schedule comes
//! from one seed; a failure prints it.
//!
//! `FAIRSLOT_FHIR_SIM_SEEDS=100000 cargo test -p fairslot-core fhir_simulation` runs more
//! schedules than the default; `FAIRSLOT_FHIR_SIM_SEED=1234` replays one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{Attempt, Command, Ending, Event, Failed, Lost, Refusal, Reply};
use crate::fhir::{
    AppointmentDraft, BOOKING_KEY_SYSTEM, CLAIM_TTL_MINUTES, appointment_resource, books_slot,
    claim, claimed_by, has_identifier, is_active_appointment, version_of,
};
use crate::simulation::Rng;

/// Schedules run by a plain `cargo test`.
const DEFAULT_SEEDS: u64 = 8_000;
/// Steps kept for the report of a failing seed.
const TRACE: usize = 80;
/// Tries per booking before the patient is left with an unsettled one.
const MAX_TRIES: u32 = 6;
/// How long a request waits for its answer.
const TIMEOUT: TimeDelta = TimeDelta::seconds(10);

/// A delay between `from` and `to` milliseconds.
fn millis(rng: &mut Rng, from: u64, to: u64) -> TimeDelta {
    TimeDelta::milliseconds((from + rng.below(to - from)) as i64)
}

/// How the FHIR server behaves, and how hostile the network is; drawn from the seed.
#[derive(Debug, Clone, Copy)]
struct Faults {
    /// The server never marks a slot busy when an Appointment is made for it.
    never_busy: bool,
    /// The server ignores search parameters it does not know, and answers with everything.
    ignores_parameters: bool,
    /// The server does not keep extensions it does not know: no claim survives.
    drops_extensions: bool,
    /// The server keeps no versions.
    unversioned: bool,
    /// The server applies a write, then fails to answer.
    write_then_drop: f64,
    /// The request never reaches the server.
    lose_request: f64,
    /// The server acts and its answer is lost.
    lose_answer: f64,
    /// The request reaches the server twice.
    duplicate: f64,
    /// The server answers 503 without acting.
    busy: f64,
    /// Longest delay one way, in milliseconds (a slow one outlasts the timeout).
    delay_ms: u64,
}

impl Faults {
    fn draw(rng: &mut Rng) -> Self {
        Self {
            never_busy: rng.chance(0.5),
            ignores_parameters: rng.chance(0.3),
            drops_extensions: rng.chance(0.03),
            unversioned: rng.chance(0.03),
            write_then_drop: if rng.chance(0.3) {
                rng.unit() * 0.4
            } else {
                0.0
            },
            lose_request: rng.unit() * 0.2,
            lose_answer: rng.unit() * 0.2,
            duplicate: rng.unit() * 0.2,
            busy: rng.unit() * 0.15,
            delay_ms: 50 + rng.below(8_000),
        }
    }
}

/// Who a request is from and for.
#[derive(Debug, Clone)]
struct Sent {
    patient: usize,
    /// Numbers the patient's requests, so a stale answer or timeout is told apart.
    seq: u64,
    command: Command,
    /// A duplicate: the server acts on it, and its answer goes nowhere.
    echo: bool,
}

#[derive(Debug)]
enum Happening {
    /// A request reaches the server.
    Arrive(Sent),
    /// An answer reaches the patient.
    Answer {
        patient: usize,
        seq: u64,
        answer: Result<Reply, Failed>,
    },
    /// The patient stops waiting for a request.
    GiveUpWaiting { patient: usize, seq: u64 },
    /// The patient's device tries the booking again.
    TryAgain { patient: usize },
}

/// The in-memory FHIR server.
struct Server {
    faults: Faults,
    /// Slots by id; `meta.versionId` counts writes.
    slots: BTreeMap<String, Value>,
    appointments: Vec<Value>,
    patients: Vec<Value>,
    /// Booking keys whose Appointment a business rule refuses (422).
    refuses: Vec<String>,
    next_id: u64,
}

fn bundle<'a>(resources: impl Iterator<Item = &'a Value>) -> Value {
    let entry: Vec<Value> = resources.map(|r| json!({ "resource": r })).collect();
    json!({ "resourceType": "Bundle", "entry": entry })
}

fn status(status: u16) -> Result<Reply, Failed> {
    Err(Failed::Status {
        status,
        retry_after: None,
    })
}

fn body(body: Value) -> Result<Reply, Failed> {
    Ok(Reply {
        body,
        location: None,
    })
}

impl Server {
    fn bump(&self, slot: &mut Value, old: Option<&Value>) {
        let version = old
            .and_then(version_of)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        if let Some(obj) = slot.as_object_mut() {
            if self.faults.unversioned {
                obj.remove("meta");
            } else {
                obj.insert("meta".into(), json!({ "versionId": version.to_string() }));
            }
            if self.faults.drops_extensions {
                obj.remove("extension");
            }
        }
    }

    /// Stores a slot, guarded by `version` when there is one.
    fn put_slot(
        &mut self,
        id: &str,
        mut slot: Value,
        version: Option<&str>,
    ) -> Result<Reply, Failed> {
        let Some(old) = self.slots.get(id) else {
            return status(404);
        };
        if version.is_some() && version != version_of(old) {
            return status(412);
        }
        let old = old.clone();
        self.bump(&mut slot, Some(&old));
        self.slots.insert(id.to_string(), slot.clone());
        body(slot)
    }

    /// A search by key: everything, on a server that ignores the parameter.
    fn with_key<'a>(&'a self, list: &'a [Value], key: &'a str) -> Vec<&'a Value> {
        list.iter()
            .filter(|r| {
                self.faults.ignores_parameters || has_identifier(r, BOOKING_KEY_SYSTEM, key)
            })
            .collect()
    }

    /// The matches of an `If-None-Exist` on the key, which every server that takes conditional
    /// creates understands.
    fn under_key<'a>(list: &'a [Value], key: &'a str) -> Vec<&'a Value> {
        list.iter()
            .filter(|r| has_identifier(r, BOOKING_KEY_SYSTEM, key))
            .collect()
    }

    /// Acts on a request of the patient booking `slot_id` under `key`, at `now`.
    fn serve(
        &mut self,
        command: &Command,
        key: &str,
        slot_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Reply, Failed> {
        match command {
            Command::SearchByKey { key } => {
                body(bundle(self.with_key(&self.appointments, key).into_iter()))
            }
            Command::ReadSlot => match self.slots.get(slot_id) {
                Some(slot) => body(slot.clone()),
                None => status(404),
            },
            Command::ClaimSlot { slot, version } => {
                self.put_slot(slot_id, slot.clone(), Some(version))
            }
            Command::ReleaseSlot { slot, version } => {
                self.put_slot(slot_id, slot.clone(), version.as_deref())
            }
            Command::SearchSlotBookings => {
                body(bundle(self.appointments.iter().filter(|a| {
                    self.faults.ignores_parameters || books_slot(a, slot_id)
                })))
            }
            Command::CreatePatient => {
                let found = Self::under_key(&self.patients, key).len();
                match found {
                    0 => {
                        self.next_id += 1;
                        let id = format!("p{}", self.next_id);
                        self.patients.push(json!({
                            "resourceType": "Patient", "id": id,
                            "identifier": [{ "system": BOOKING_KEY_SYSTEM, "value": key }],
                        }));
                        Ok(Reply {
                            body: Value::Null,
                            location: Some(format!("Patient/{id}/_history/1")),
                        })
                    }
                    // Found, not made: no Location.
                    1 => body(Value::Null),
                    _ => status(412),
                }
            }
            Command::FindPatient => body(bundle(self.with_key(&self.patients, key).into_iter())),
            Command::CreateAppointment { patient_id } => {
                let found: Vec<Value> = Self::under_key(&self.appointments, key)
                    .into_iter()
                    .cloned()
                    .collect();
                match found.as_slice() {
                    [] if self.refuses.iter().any(|k| k == key) => status(422),
                    [] => {
                        self.next_id += 1;
                        let start = "2026-12-01T09:00:00+08:00".parse().unwrap();
                        let mut appointment = appointment_resource(&AppointmentDraft {
                            key,
                            channel: "sim",
                            slot_id,
                            start,
                            end: start + TimeDelta::minutes(10),
                            patient_id,
                            role_id: "r1",
                            created: now,
                        });
                        appointment["id"] = json!(format!("a{}", self.next_id));
                        self.appointments.push(appointment.clone());
                        if !self.faults.never_busy
                            && let Some(slot) = self.slots.get(slot_id).cloned()
                        {
                            let mut busy = slot.clone();
                            busy["status"] = json!("busy");
                            self.bump(&mut busy, Some(&slot));
                            self.slots.insert(slot_id.to_string(), busy);
                        }
                        body(appointment)
                    }
                    [one] => body(one.clone()),
                    _ => status(412),
                }
            }
            Command::Prepare | Command::Finish(_) => unreachable!("not a request"),
        }
    }
}

fn is_write(command: &Command) -> bool {
    matches!(
        command,
        Command::ClaimSlot { .. }
            | Command::ReleaseSlot { .. }
            | Command::CreatePatient
            | Command::CreateAppointment { .. }
    )
}

/// One patient booking one slot, through as many tries as it takes.
struct Patient {
    key: String,
    slot_id: String,
    attempt: Attempt,
    tries: u32,
    /// The request the patient waits for.
    waiting: Option<u64>,
    next_seq: u64,
    /// How the last try ended; the last one is the booking's outcome.
    ending: Option<Ending>,
    /// The last request, and whether it was answered with a success.
    last: (&'static str, bool),
    /// Whether the last try was refused while giving its claim back got no answer.
    release_unanswered: bool,
}

/// Figures across seeds.
#[derive(Debug, Default)]
struct Totals {
    booked: usize,
    taken: usize,
    refused_otherwise: usize,
    unsettled: usize,
    tries: usize,
    requests: usize,
    lost: usize,
    duplicated: usize,
    released: usize,
    taken_over: usize,
    /// Refusals whose claim could not be given back, left to go stale.
    left_to_expire: usize,
}

struct World {
    rng: Rng,
    faults: Faults,
    now: DateTime<Utc>,
    server: Server,
    patients: Vec<Patient>,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, usize)>>,
    happenings: BTreeMap<usize, Happening>,
    next_happening: usize,
    trace: VecDeque<String>,
    totals: Totals,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let faults = Faults::draw(&mut rng);
        let now: DateTime<Utc> = "2026-11-22T08:00:00Z".parse().unwrap();
        let mut server = Server {
            faults,
            slots: BTreeMap::new(),
            appointments: Vec::new(),
            patients: Vec::new(),
            refuses: Vec::new(),
            next_id: 0,
        };
        let slots = 1 + rng.below(3);
        for s in 0..slots {
            let id = format!("slot-{s}");
            let mut slot = json!({
                "resourceType": "Slot", "id": id, "status": "free",
                "schedule": { "reference": "Schedule/s1" },
                "start": "2026-12-01T01:00:00Z", "end": "2026-12-01T01:10:00Z",
            });
            // A client that claimed the slot and was never heard of again.
            if rng.chance(0.2) {
                let at = now - TimeDelta::minutes(CLAIM_TTL_MINUTES + 5);
                slot = claim(&slot, &format!("gone-{s}"), at);
            }
            server.bump(&mut slot, None);
            // Booked by another system, left `free` by a server that never marks slots busy.
            if rng.chance(0.2) {
                server.appointments.push(json!({
                    "resourceType": "Appointment", "id": format!("other-{s}"), "status": "booked",
                    "identifier": [{ "system": "https://other.example/booking", "value": format!("o{s}") }],
                    "slot": [{ "reference": format!("Slot/{id}") }],
                }));
                if !faults.never_busy {
                    slot["status"] = json!("busy");
                }
            }
            server.slots.insert(id, slot);
        }
        let patients = 1 + rng.below(5);
        let patients = (0..patients)
            .map(|n| {
                let key = format!("key-{seed:x}-{n}");
                if rng.chance(0.1) {
                    server.refuses.push(key.clone());
                }
                let slot_id = format!("slot-{}", rng.below(slots));
                Patient {
                    attempt: Attempt::new(key.clone(), slot_id.clone()),
                    key,
                    slot_id,
                    tries: 0,
                    waiting: None,
                    next_seq: 0,
                    ending: None,
                    last: ("", true),
                    release_unanswered: false,
                }
            })
            .collect::<Vec<_>>();
        let mut world = Self {
            rng,
            faults,
            now,
            server,
            patients,
            queue: BinaryHeap::new(),
            happenings: BTreeMap::new(),
            next_happening: 0,
            trace: VecDeque::new(),
            totals: Totals::default(),
        };
        for patient in 0..world.patients.len() {
            let at = millis(&mut world.rng, 0, 3_000);
            world.at(at, Happening::TryAgain { patient });
        }
        world
    }

    fn at(&mut self, after: TimeDelta, happening: Happening) {
        let id = self.next_happening;
        self.next_happening += 1;
        self.happenings.insert(id, happening);
        self.queue.push(Reverse((self.now + after, id as u64, id)));
    }

    fn note(&mut self, what: String) {
        if self.trace.len() == TRACE {
            self.trace.pop_front();
        }
        self.trace
            .push_back(format!("{} {what}", self.now.format("%H:%M:%S%.3f")));
    }

    fn run(&mut self) -> Result<(), String> {
        let mut steps = 0;
        while let Some(Reverse((at, _, id))) = self.queue.pop() {
            steps += 1;
            if steps > 100_000 {
                return Err("the schedule did not end".into());
            }
            self.now = at;
            let happening = self.happenings.remove(&id).expect("scheduled");
            match happening {
                Happening::TryAgain { patient } => {
                    let p = &mut self.patients[patient];
                    p.tries += 1;
                    p.attempt = Attempt::new(p.key.clone(), p.slot_id.clone());
                    let command = p.attempt.start();
                    self.note(format!(
                        "patient {patient} try {}",
                        self.patients[patient].tries
                    ));
                    self.totals.tries += 1;
                    self.perform(patient, command);
                }
                Happening::Arrive(sent) => self.arrive(sent),
                Happening::Answer {
                    patient,
                    seq,
                    answer,
                } => {
                    if self.patients[patient].waiting == Some(seq) {
                        self.answered(patient, answer);
                    }
                }
                Happening::GiveUpWaiting { patient, seq } => {
                    if self.patients[patient].waiting == Some(seq) {
                        self.totals.lost += 1;
                        self.answered(patient, Err(Failed::Lost(Lost::TimedOut)));
                    }
                }
            }
        }
        Ok(())
    }

    fn answered(&mut self, patient: usize, answer: Result<Reply, Failed>) {
        let p = &mut self.patients[patient];
        p.waiting = None;
        p.last.1 = answer.is_ok();
        let now = self.now;
        let command = self.patients[patient]
            .attempt
            .handle(Event::Answered(answer), now);
        self.perform(patient, command);
    }

    /// Carries out the patient's command: a request goes out; the rest happens at once.
    fn perform(&mut self, patient: usize, mut command: Command) {
        loop {
            self.note(format!("patient {patient} {command:?}"));
            match command {
                Command::Prepare => {
                    let now = self.now;
                    command = self.patients[patient].attempt.handle(Event::Prepared, now);
                }
                Command::Finish(ending) => {
                    self.note(format!("patient {patient} ends {ending:?}"));
                    let p = &mut self.patients[patient];
                    let again = matches!(ending, Ending::Unsettled(_)) && p.tries < MAX_TRIES;
                    p.release_unanswered = matches!(ending, Ending::Refused(_))
                        && matches!(p.last, ("ReadSlot" | "ReleaseSlot", false));
                    p.ending = Some(ending);
                    if again {
                        // The outbox's backoff: a moment, or long enough for a claim to go stale.
                        let after = if self.rng.chance(0.3) {
                            millis(&mut self.rng, 600_000, 1_200_000)
                        } else {
                            millis(&mut self.rng, 1_000, 60_000)
                        };
                        self.at(after, Happening::TryAgain { patient });
                    }
                    return;
                }
                request => {
                    let p = &mut self.patients[patient];
                    p.next_seq += 1;
                    let seq = p.next_seq;
                    p.waiting = Some(seq);
                    p.last = (request.name(), false);
                    self.totals.requests += 1;
                    self.at(TIMEOUT, Happening::GiveUpWaiting { patient, seq });
                    if self.rng.chance(self.faults.lose_request) {
                        return;
                    }
                    let delay = millis(&mut self.rng, 5, self.faults.delay_ms);
                    if self.rng.chance(self.faults.duplicate) {
                        self.totals.duplicated += 1;
                        let later = delay + millis(&mut self.rng, 0, 5_000);
                        let echo = Sent {
                            patient,
                            seq,
                            command: request.clone(),
                            echo: true,
                        };
                        self.at(later, Happening::Arrive(echo));
                    }
                    let sent = Sent {
                        patient,
                        seq,
                        command: request,
                        echo: false,
                    };
                    self.at(delay, Happening::Arrive(sent));
                    return;
                }
            }
        }
    }

    /// The server acts on a request that arrived, and the answer sets off back.
    fn arrive(&mut self, sent: Sent) {
        let (key, slot_id) = {
            let p = &self.patients[sent.patient];
            (p.key.clone(), p.slot_id.clone())
        };
        if self.rng.chance(self.faults.busy) {
            let answer = Err(Failed::Status {
                status: 503,
                retry_after: Some("5".into()),
            });
            return self.answer(sent, answer);
        }
        if let Command::ClaimSlot { .. } = &sent.command
            && let Some(slot) = self.server.slots.get(&slot_id)
            && claimed_by(slot).is_some_and(|k| k != key)
        {
            self.totals.taken_over += 1;
        }
        if let Command::ReleaseSlot { .. } = &sent.command {
            self.totals.released += 1;
        }
        let answer = self.server.serve(&sent.command, &key, &slot_id, self.now);
        self.note(format!(
            "server: patient {} {:?}{} → {}",
            sent.patient,
            sent.command,
            if sent.echo { " (again)" } else { "" },
            match &answer {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("{e:?}"),
            }
        ));
        if is_write(&sent.command) && self.rng.chance(self.faults.write_then_drop) {
            let answer = if self.rng.chance(0.5) {
                Err(Failed::Status {
                    status: 504,
                    retry_after: None,
                })
            } else {
                Err(Failed::Lost(Lost::NoAnswer))
            };
            return self.answer(sent, answer);
        }
        if self.rng.chance(self.faults.lose_answer) {
            return;
        }
        self.answer(sent, answer);
    }

    fn answer(&mut self, sent: Sent, answer: Result<Reply, Failed>) {
        if sent.echo {
            return;
        }
        let delay = millis(&mut self.rng, 5, self.faults.delay_ms);
        self.at(
            delay,
            Happening::Answer {
                patient: sent.patient,
                seq: sent.seq,
                answer,
            },
        );
    }

    /// Checks the outcome: no slot given twice, every booking holds its claim, a refusal leaves
    /// no claim behind, and every ending is one the patient can be told.
    fn check(&self) -> Result<(), String> {
        for (id, slot) in &self.server.slots {
            let active: Vec<&Value> = self
                .server
                .appointments
                .iter()
                .filter(|a| books_slot(a, id) && is_active_appointment(a))
                .collect();
            if active.len() > 1 {
                return Err(format!("{id} has {} Appointments", active.len()));
            }
            for a in active {
                let ours = self
                    .patients
                    .iter()
                    .find(|p| has_identifier(a, BOOKING_KEY_SYSTEM, &p.key));
                if let Some(p) = ours
                    && claimed_by(slot) != Some(p.key.as_str())
                {
                    return Err(format!(
                        "{id}'s Appointment is {}'s, without the claim: {slot}",
                        p.key
                    ));
                }
            }
        }
        for p in &self.patients {
            let mine: Vec<&Value> = self
                .server
                .appointments
                .iter()
                .filter(|a| has_identifier(a, BOOKING_KEY_SYSTEM, &p.key))
                .collect();
            match &p.ending {
                Some(Ending::Booked(found)) => {
                    if mine.len() != 1 || mine[0].get("id") != found.get("id") {
                        return Err(format!(
                            "{} booked, but the server holds {} Appointments for it",
                            p.key,
                            mine.len()
                        ));
                    }
                }
                Some(Ending::Refused(_)) => {
                    if !mine.is_empty() {
                        return Err(format!("{} refused, but the server booked it", p.key));
                    }
                    let left = self
                        .server
                        .slots
                        .iter()
                        .find(|(_, s)| claimed_by(s) == Some(p.key.as_str()));
                    // A release that never arrived leaves a claim that goes stale, and no more.
                    if let Some((id, _)) = left.filter(|_| !p.release_unanswered) {
                        return Err(format!(
                            "{} refused, and {id} is left claimed for it",
                            p.key
                        ));
                    }
                }
                Some(Ending::Unsettled(_)) => {
                    if mine.len() > 1 {
                        return Err(format!("{} has {} Appointments", p.key, mine.len()));
                    }
                }
                None => return Err(format!("{} never ended", p.key)),
            }
        }
        Ok(())
    }

    fn count(&mut self) {
        for p in &self.patients {
            match &p.ending {
                Some(Ending::Booked(_)) => self.totals.booked += 1,
                Some(Ending::Refused(Refusal::Taken { .. })) => self.totals.taken += 1,
                Some(Ending::Refused(_)) => self.totals.refused_otherwise += 1,
                _ => self.totals.unsettled += 1,
            }
            if p.release_unanswered
                && self
                    .server
                    .slots
                    .values()
                    .any(|s| claimed_by(s) == Some(p.key.as_str()))
            {
                self.totals.left_to_expire += 1;
            }
        }
    }
}

fn seeds() -> Vec<u64> {
    crate::simulation::seeds(
        "FAIRSLOT_FHIR_SIM_SEED",
        "FAIRSLOT_FHIR_SIM_SEEDS",
        DEFAULT_SEEDS,
    )
}

#[test]
fn fhir_simulation_gives_no_slot_twice_and_leaves_no_claim_behind_a_refusal() {
    let seeds = seeds();
    let started = std::time::Instant::now();
    let mut all = Totals::default();
    for &seed in &seeds {
        let mut world = World::new(seed);
        if let Err(why) = world.run().and_then(|()| world.check()) {
            panic!(
                "seed {seed}: {why}\n{:?}\nlast steps:\n{}\nreplay: FAIRSLOT_FHIR_SIM_SEED={seed} cargo test -p fairslot-core fhir_simulation",
                world.faults,
                Vec::from(world.trace.clone()).join("\n")
            );
        }
        world.count();
        let t = world.totals;
        all.booked += t.booked;
        all.taken += t.taken;
        all.refused_otherwise += t.refused_otherwise;
        all.unsettled += t.unsettled;
        all.tries += t.tries;
        all.requests += t.requests;
        all.lost += t.lost;
        all.duplicated += t.duplicated;
        all.released += t.released;
        all.taken_over += t.taken_over;
        all.left_to_expire += t.left_to_expire;
    }
    // Every kind of ending happened somewhere, or the simulation is not exploring.
    if seeds.len() >= 1_000 {
        assert!(
            all.booked > 0 && all.taken > 0 && all.refused_otherwise > 0 && all.unsettled > 0,
            "{all:?}"
        );
        assert!(all.released > 0 && all.taken_over > 0, "{all:?}");
    }
    eprintln!(
        "{} seeds in {:.1?}: {all:?}",
        seeds.len(),
        started.elapsed()
    );
}
