//! Deterministic simulation of the outbox: the [`Sender`] and the intents it drives, against an
//! in-memory booking server (idempotent by key, with capacity), a device store that survives
//! crashes and sometimes refuses a write, a network that loses requests and answers (also after
//! the server committed), times out and answers "busy", a patient who gives up or keeps trying,
//! and a virtual clock. Every schedule comes from one seed; a failure prints it.
//!
//! `FAIRSLOT_SIM_SEEDS=100000 cargo test -p fairslot-core simulation` runs more schedules than the
//! default; `FAIRSLOT_SIM_SEED=1234` replays one.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

use super::{Command, Event, Exchanged, Sender, StoreFailed};
use crate::history::BookingRecord;
use crate::outbox::{Change, Failure, Found, IdempotencyKey, Intent, Outcome, State};
use crate::simulation::Rng;
use crate::{
    BookingRequest, BookingStatus, DocumentKind, KeyedBooking, PatientInput, Period, Problem,
    ProblemKind, Relationship, SlotSummary, Text,
};

/// Steps kept for the report of a failing seed.
const TRACE: usize = 60;

/// Schedules run by a plain `cargo test`.
const DEFAULT_SEEDS: u64 = 3_000;

/// How hostile one schedule is; drawn from the seed.
#[derive(Debug, Clone, Copy)]
struct Faults {
    /// The request never reaches the server.
    lose_request: f64,
    /// The server acts, and its answer is lost.
    lose_answer: f64,
    /// The server answers 503 or 429 without acting.
    busy: f64,
    /// The device's store refuses a write.
    store_fails: f64,
    /// The tab dies (before any command).
    crash: f64,
}

impl Faults {
    fn draw(rng: &mut Rng) -> Self {
        let mut p = |max: f64| rng.unit() * max;
        Self {
            lose_request: p(0.5),
            lose_answer: p(0.5),
            busy: p(0.4),
            store_fails: p(0.2),
            crash: p(0.05),
        }
    }

    fn none() -> Self {
        Self {
            lose_request: 0.0,
            lose_answer: 0.0,
            busy: 0.0,
            store_fails: 0.0,
            crash: 0.0,
        }
    }
}

/// One booking the server made.
#[derive(Debug, Clone)]
struct Made {
    code: String,
    slot_id: String,
    request: BookingRequest,
}

/// The booking server: one booking per key, a slot's places never overbooked.
#[derive(Default)]
struct Server {
    bookings: BTreeMap<String, Made>,
    /// Places left per slot.
    places: BTreeMap<String, u32>,
    /// Places per slot at the start.
    capacity: BTreeMap<String, u32>,
}

enum Answer {
    Booked(Made),
    Refused(ProblemKind),
    NotFound,
}

impl Server {
    fn book(&mut self, key: &str, request: &BookingRequest) -> Answer {
        if let Some(made) = self.bookings.get(key) {
            return if made.request == *request {
                Answer::Booked(made.clone())
            } else {
                Answer::Refused(ProblemKind::IdempotencyConflict)
            };
        }
        let places = self.places.entry(request.slot_id.clone()).or_insert(0);
        if *places == 0 {
            return Answer::Refused(ProblemKind::SlotTaken);
        }
        *places -= 1;
        let made = Made {
            code: format!("C{:07}", self.bookings.len()),
            slot_id: request.slot_id.clone(),
            request: request.clone(),
        };
        self.bookings.insert(key.to_string(), made.clone());
        Answer::Booked(made)
    }

    fn by_key(&self, key: &str) -> Answer {
        match self.bookings.get(key) {
            Some(made) => Answer::Booked(made.clone()),
            None => Answer::NotFound,
        }
    }
}

fn code_of(record: &BookingRecord) -> Found {
    Found::Code(KeyedBooking {
        code: record.code.clone(),
        status: record.status,
    })
}

fn slot(id: &str, start: DateTime<FixedOffset>) -> SlotSummary {
    SlotSummary {
        slot_id: id.into(),
        start,
        end: start + TimeDelta::minutes(10),
        period: Period::Am,
        hospital_id: "h1".into(),
        hospital_name: Text::new("医院", "Hospital"),
        hospital_address: Text::new("路1号", "1 Road"),
        department_id: "d1".into(),
        department_name: Text::new("科室", "Department"),
        doctor_id: "doc-1".into(),
        doctor_name: Text::new("医生", "Doctor"),
        fee_fen: None,
    }
}

fn request(slot_id: &str, n: u64) -> BookingRequest {
    BookingRequest {
        slot_id: slot_id.into(),
        hold_id: None,
        patient: PatientInput {
            name: format!("病人{n}"),
            document_kind: DocumentKind::ResidentId,
            document_number: "11010519491231002X".into(),
            phone: "13812345678".into(),
            medical_card: None,
            relationship: Relationship::Myself,
            consent: true,
        },
    }
}

/// The world of one schedule.
struct World {
    seed: u64,
    rng: Rng,
    faults: Faults,
    now: DateTime<Utc>,
    /// The device's records, which survive a crash (kept as values; every restart reads them
    /// back from their JSON, as a reloaded page would).
    store: BTreeMap<String, Intent>,
    /// When the server is down for everyone, if it goes down in this schedule.
    outage: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// When the patient gives up on whatever is still pending, if they do.
    give_up_at: Option<DateTime<Utc>>,
    server: Server,
    /// Slot summaries by id, for the records the device keeps.
    slots: BTreeMap<String, SlotSummary>,
    /// Bookings the device showed the patient (remembered in "my bookings").
    remembered: BTreeMap<String, String>,
    /// The last steps, for the report of a failing seed.
    trace: VecDeque<(DateTime<Utc>, &'static str)>,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let faults = Faults::draw(&mut rng);
        let now: DateTime<Utc> = "2026-11-22T08:00:00Z".parse().unwrap();
        let mut world = Self {
            seed,
            rng,
            faults,
            now,
            store: BTreeMap::new(),
            outage: None,
            give_up_at: None,
            server: Server::default(),
            slots: BTreeMap::new(),
            remembered: BTreeMap::new(),
            trace: VecDeque::new(),
        };
        // Now and then the server is down for hours, long enough for bookings to expire.
        if world.rng.chance(0.2) {
            let from = now + TimeDelta::seconds(world.rng.below(600) as i64);
            let hours = 1 + world.rng.below(8) as i64;
            world.outage = Some((from, from + TimeDelta::hours(hours)));
        }
        if world.rng.chance(0.3) {
            world.give_up_at = Some(now + TimeDelta::seconds(world.rng.below(3_600) as i64));
        }
        // One to four bookings, for one to three slots of one or two places: some are refused.
        let slots = 1 + world.rng.below(3);
        for s in 0..slots {
            let id = format!("slot-{s}");
            // Some slots start within the day, so pending intents can expire by the slot's start.
            let minutes = 30 + world.rng.below(12 * 60) as i64;
            let start = (now + TimeDelta::minutes(minutes)).fixed_offset();
            world.slots.insert(id.clone(), slot(&id, start));
            let places = 1 + world.rng.below(2) as u32;
            world.server.places.insert(id.clone(), places);
            world.server.capacity.insert(id, places);
        }
        let intents = 1 + world.rng.below(4);
        for n in 0..intents {
            let slot_id = format!("slot-{}", world.rng.below(slots));
            let key = IdempotencyKey::parse(&format!("key-{seed:016x}-{n}")).unwrap();
            let intent = Intent::new(
                key.clone(),
                request(&slot_id, n),
                world.slots[&slot_id].clone(),
                now,
            )
            .unwrap();
            world.store.insert(key.as_str().to_string(), intent);
        }
        world
    }

    fn intent(&self, key: &str) -> Option<Intent> {
        self.store.get(key).cloned()
    }

    /// A new page: every record read back from the JSON it is stored as.
    fn reload_store(&mut self) {
        for intent in self.store.values_mut() {
            *intent = Intent::from_json(&intent.to_json()).expect("a stored intent reads back");
        }
    }

    /// One exchange over the network: the answer, or how it failed.
    fn exchange(&mut self, serve: impl FnOnce(&mut Server) -> Answer) -> Exchanged {
        self.now += TimeDelta::milliseconds(50 + self.rng.below(2_000) as i64);
        let down = self
            .outage
            .is_some_and(|(from, until)| (from..until).contains(&self.now));
        if down || self.rng.chance(self.faults.lose_request) {
            return Exchanged::Failed(self.no_answer());
        }
        if self.rng.chance(self.faults.busy) {
            let status = if self.rng.chance(0.5) { 503 } else { 429 };
            let retry_after = self
                .rng
                .chance(0.5)
                .then(|| (1 + self.rng.below(120)).to_string());
            return Exchanged::Failed(Outcome::of_failure(
                Failure::Status {
                    status,
                    retry_after,
                },
                self.now,
            ));
        }
        let answer = serve(&mut self.server);
        if self.rng.chance(self.faults.lose_answer) {
            return Exchanged::Failed(self.no_answer());
        }
        match answer {
            Answer::Booked(made) => Exchanged::Found(Found::Booking(Box::new(BookingRecord {
                code: made.code,
                status: BookingStatus::Confirmed,
                slot: self.slots[&made.slot_id].clone(),
                cancel_deadline: None,
                ledger: None,
            }))),
            Answer::Refused(kind) => Exchanged::Failed(Outcome::of_failure(
                Failure::Problem(Problem {
                    type_uri: kind.type_uri(),
                    status: kind.status(),
                    ..Default::default()
                }),
                self.now,
            )),
            Answer::NotFound => Exchanged::Failed(Outcome::of_failure(
                Failure::Status {
                    status: 404,
                    retry_after: None,
                },
                self.now,
            )),
        }
    }

    fn no_answer(&mut self) -> Outcome {
        let failure = match self.rng.below(3) {
            0 => Failure::TimedOut,
            1 => Failure::NoAnswer,
            _ => Failure::NotSent,
        };
        Outcome::of_failure(failure, self.now)
    }

    /// Reads a record, applies `f` and writes it back when it changed, unless the store fails.
    fn update<T>(&mut self, key: &str, f: impl FnOnce(&mut Intent) -> T) -> Result<T, StoreFailed> {
        let Some(mut intent) = self.intent(key) else {
            return Err(StoreFailed);
        };
        let before = intent.clone();
        let result = f(&mut intent);
        if intent != before {
            if self.rng.chance(self.faults.store_fails) {
                return Err(StoreFailed);
            }
            self.store.insert(key.to_string(), intent);
        }
        Ok(result)
    }

    /// Carries out one command and says how it went.
    fn perform(&mut self, command: Command) -> Event {
        self.note(command.name());
        match command {
            Command::List => Event::Listed(self.store.keys().cloned().collect()),
            Command::Apply { key, change } => {
                let jitter = self.rng.unit();
                let now = self.now;
                let _ = self.update(&key, |i| i.apply(change, now, jitter));
                Event::Applied
            }
            Command::TakeTurn { key } => {
                let now = self.now;
                Event::Turn(match self.intent(&key) {
                    None => Ok(None),
                    Some(_) => self.update(&key, |i| i.take_turn(now)),
                })
            }
            Command::Send { key, request } => {
                let key = key.as_str().to_string();
                Event::Answered(self.exchange(|s| s.book(&key, &request)))
            }
            Command::AskByKey { key, .. } => {
                let key = key.as_str().to_string();
                let code_only = self.rng.chance(0.5);
                // The by-key answer names the code only; the proof reads the rest, or not.
                Event::Answered(match self.exchange(|s| s.by_key(&key)) {
                    Exchanged::Found(Found::Booking(record)) if code_only => {
                        Exchanged::Found(code_of(&record))
                    }
                    other => other,
                })
            }
            // As the browser's driver does: a booking in full is listed as it is; one known by its
            // code alone needs the stored intent's slot, and that read can fail.
            Command::Record { key, found } => {
                let record = match &found {
                    Found::Booking(record) => Some((**record).clone()),
                    Found::Code(_) if self.rng.chance(self.faults.store_fails) => None,
                    Found::Code(_) => self.intent(&key).map(|i| i.record_of(&found)),
                };
                let listed = record.is_some();
                if let Some(record) = record {
                    self.remembered.insert(key, record.code);
                }
                Event::Recorded { listed }
            }
            Command::Inspect { key } => Event::Inspected {
                unresolved: self.intent(&key).is_some_and(|i| i.is_unresolved()),
            },
            Command::CheckByKey { key } => {
                // Asked without a proof: the code only.
                Event::Answered(match self.exchange(|s| s.by_key(&key)) {
                    Exchanged::Found(Found::Booking(record)) => Exchanged::Found(code_of(&record)),
                    other => other,
                })
            }
            Command::Sleep { until } => {
                // Woken early now and then: the network came back, the patient looked.
                let until = if self.rng.chance(0.3) {
                    let span = (until - self.now).num_milliseconds().max(1) as u64;
                    self.now + TimeDelta::milliseconds(self.rng.below(span) as i64)
                } else {
                    until
                };
                self.now = self.now.max(until);
                Event::Woke
            }
        }
    }

    /// What the patient and the browser do between commands, applied to the store as another tab
    /// or the page would.
    fn outside(&mut self) {
        let now = self.now;
        let giving_up = self.give_up_at.is_some_and(|at| now >= at);
        let mut changes = Vec::new();
        for (key, intent) in &self.store {
            let change = match intent.state() {
                State::NeedsAttention { .. } if giving_up => Change::GiveUp,
                State::NeedsAttention { .. } => Change::KeepTrying,
                State::Queued { .. } if giving_up => Change::GiveUp,
                State::Queued { .. } if self.rng.chance(0.002) => Change::Online,
                _ => continue,
            };
            changes.push((key.clone(), change));
        }
        for (key, change) in changes {
            self.note(match change {
                Change::KeepTrying => "patient keeps trying",
                Change::GiveUp => "patient gives up",
                _ => "online",
            });
            let _ = self.update(&key, |i| i.apply(change, now, 0.5));
        }
    }

    fn all_settled(&self) -> bool {
        self.store.values().all(Intent::is_settled)
    }

    /// Keeps the last steps for the report of a failing seed.
    fn note(&mut self, what: &'static str) {
        if self.trace.len() == TRACE {
            self.trace.pop_front();
        }
        self.trace.push_back((self.now, what));
    }

    /// Runs the sender, restarting it after crashes, until every intent is settled; then, with
    /// the faults gone, reloads once more (a patient coming back) and lets that sender make a
    /// whole pass, in which it asks about every intent that ended without an answer.
    fn run(&mut self) {
        let mut sender = Sender::new();
        let mut command = sender.start();
        let mut calm = false;
        for _ in 0..2_000_000 {
            if self.rng.chance(self.faults.crash) {
                self.note("crash");
                self.reload_store();
                sender = Sender::new();
                command = sender.start();
                continue;
            }
            self.outside();
            if matches!(command, Command::Sleep { .. }) && self.all_settled() {
                if calm {
                    return;
                }
                calm = true;
                self.faults = Faults::none();
                self.note("faults end; reload");
                self.outage = None;
                self.reload_store();
                sender = Sender::new();
                command = sender.start();
                continue;
            }
            let event = self.perform(command);
            command = sender.handle(event, self.now);
        }
        panic!(
            "the simulation of seed {} did not end; last steps:\n{}",
            self.seed,
            self.steps()
        );
    }

    /// The last steps, one a line.
    fn steps(&self) -> String {
        let lines: Vec<String> = self
            .trace
            .iter()
            .map(|(at, what)| format!("{} {what}", at.format("%d %H:%M:%S%.3f")))
            .collect();
        lines.join("\n")
    }

    /// Checks the outcome: nothing lost, nothing twice, everything visible.
    fn check(&self) -> Result<(), String> {
        let mut per_slot: BTreeMap<&str, u32> = BTreeMap::new();
        for (key, made) in &self.server.bookings {
            *per_slot.entry(made.slot_id.as_str()).or_default() += 1;
            match self.intent(key).map(|i| i.state().clone()) {
                Some(State::Confirmed { booking }) if booking.code == made.code => {}
                other => {
                    return Err(format!(
                        "booking {key} is not confirmed on the device: {other:?}"
                    ));
                }
            }
            if self.remembered.get(key) != Some(&made.code) {
                return Err(format!("booking {key} is not in the patient's list"));
            }
        }
        for (key, intent) in &self.store {
            let booked = self.server.bookings.get(key);
            match intent.state() {
                State::Confirmed { booking } => {
                    if booked.map(|m| &m.code) != Some(&booking.code) {
                        return Err(format!("{key} confirmed without a booking on the server"));
                    }
                }
                State::Rejected { .. } | State::Abandoned { .. } | State::Expired { .. }
                    if booked.is_some() =>
                {
                    return Err(format!(
                        "{key} ended {:?} but the server booked it",
                        intent.state()
                    ));
                }
                State::Rejected { .. } | State::Abandoned { .. } | State::Expired { .. } => {}
                pending => return Err(format!("{key} never ended: {pending:?}")),
            }
        }
        // The server's own promise, checked too: no slot has more bookings than places.
        for (slot, n) in per_slot {
            let capacity = self.server.capacity[slot];
            if n > capacity || self.server.places[slot] != capacity - n {
                return Err(format!("{slot} has {capacity} places and {n} bookings"));
            }
        }
        Ok(())
    }
}

fn seeds() -> Vec<u64> {
    crate::simulation::seeds("FAIRSLOT_SIM_SEED", "FAIRSLOT_SIM_SEEDS", DEFAULT_SEEDS)
}

#[test]
fn no_booking_is_lost_or_made_twice_and_every_intent_ends_visible() {
    let mut totals = BTreeMap::<&str, usize>::new();
    let seeds = seeds();
    for &seed in &seeds {
        let mut world = World::new(seed);
        world.run();
        if let Err(why) = world.check() {
            panic!(
                "seed {seed}: {why}\nfaults {:?}, outage {:?}\nlast steps:\n{}\nreplay: FAIRSLOT_SIM_SEED={seed} cargo test -p fairslot-core simulation",
                world.faults,
                world.outage,
                world.steps()
            );
        }
        for intent in world.store.values() {
            let state = match intent.state() {
                State::Confirmed { .. } => "confirmed",
                State::Rejected { .. } => "rejected",
                State::Abandoned { .. } => "abandoned",
                State::Expired { .. } => "expired",
                _ => "pending",
            };
            *totals.entry(state).or_default() += 1;
        }
    }
    // Every kind of ending happened somewhere, or the simulation is not exploring (a replay of
    // a few seeds need not show them all).
    for state in ["confirmed", "rejected", "abandoned", "expired"] {
        if seeds.len() < 1_000 {
            break;
        }
        assert!(totals.get(state).copied().unwrap_or(0) > 0, "{totals:?}");
    }
    eprintln!("intents by ending: {totals:?}");
}
