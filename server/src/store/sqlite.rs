//! SQLite implementation of [`Store`]: one writer connection that runs every change in a
//! `BEGIN IMMEDIATE` transaction, and a few reader connections that WAL mode lets run alongside it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fairslot_core::identity::{self, MobileNumber, Patient};
use fairslot_core::ledger::{Entry, Policy};
use fairslot_core::time::{hospital_today, offset};
use fairslot_core::{
    API_PREFIX, Alternative, Booking, BookingRule, BookingStatus, ChannelDayStats, Department,
    DepartmentGroup, District, Doctor, Hold, Hospital, HospitalLevel, KeyedBooking, LedgerRef,
    MAX_ALTERNATIVES, MaskedPatient, Period, Session, SessionStatus, Slot, SlotSummary, Text,
};
use rusqlite::types::Type;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    BookingOutcome, CatalogueHospital, DepartmentEntry, NewBooking, NewHold, NewSession,
    OwnedBooking, Proof, ProofOutcome, SessionQuery, Store, StoreError, StoreResult,
    StoredResponse, Unavailability,
};
use crate::random::secret_code;
use crate::rules::{LATE_CANCEL_WINDOW, ProofPolicy};

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i64 = 3;
/// Bring a database of an older version to the next one, in turn; `SCHEMA` then adds what is new.
const MIGRATE_1_TO_2: &str = include_str!("migrate_1_to_2.sql");
const MIGRATE_2_TO_3: &str = include_str!("migrate_2_to_3.sql");
/// Reader connections; a couple per core is plenty for SQLite reads that take microseconds.
const READERS: usize = 4;
/// How long a connection waits for another process's lock before reporting busy.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(5);
const BOOKING_CODE_LEN: usize = 8;
/// A booking's id in the open ledger: long enough never to repeat, and unrelated to its code.
const LEDGER_ENTRY_LEN: usize = 16;

/// The SQLite-backed store.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = Connection::open(path)?;
        writer.busy_timeout(BUSY_TIMEOUT)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        // One write transaction reads the version and brings the schema up to it, so a crash
        // leaves the old schema whole and two servers starting on one file migrate it once.
        let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "database schema version {version} is newer than this server ({SCHEMA_VERSION})"
            )));
        }
        if version == 1 {
            tx.execute_batch(MIGRATE_1_TO_2)?;
        }
        if (1..=2).contains(&version) {
            tx.execute_batch(MIGRATE_2_TO_3)?;
        }
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;

        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open(path)?;
                reader.busy_timeout(BUSY_TIMEOUT)?;
                reader.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(reader))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction: committed if it returns `Ok`, rolled back
    /// otherwise, so a refused request writes nothing.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        let conn = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| lock(&self.readers[start % n]));
        f(&conn)
    }
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection rolls its transaction back on drop; the connection itself
    // stays usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

impl Store for SqliteStore {
    fn install_catalogue(&self, catalogue: &[CatalogueHospital]) -> StoreResult<()> {
        self.write(|tx| {
            for (ord, entry) in catalogue.iter().enumerate() {
                insert_hospital(tx, ord, entry)?;
            }
            Ok(())
        })
    }

    fn add_sessions(&self, sessions: &[NewSession], now: DateTime<Utc>) -> StoreResult<usize> {
        self.write(|tx| {
            let mut added = 0;
            for new in sessions {
                if insert_session(tx, new, now)? {
                    added += 1;
                }
            }
            Ok(added)
        })
    }

    fn hospitals(&self, now: DateTime<Utc>) -> StoreResult<Vec<Hospital>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {HOSPITAL_COLUMNS} FROM hospitals ORDER BY ord"
            ))?;
            let rows = stmt.query_map([], hospital_from_row)?;
            let mut out = rows.collect::<Result<Vec<_>, _>>()?;
            for h in &mut out {
                h.has_slots_today = Some(has_slots_today(conn, h, now)?);
            }
            Ok(out)
        })
    }

    fn hospital(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Hospital> {
        self.read(|conn| {
            let mut h = load_hospital(conn, id)?.ok_or(StoreError::NotFound("hospital"))?;
            h.has_slots_today = Some(has_slots_today(conn, &h, now)?);
            Ok(h)
        })
    }

    fn department_groups(&self, hospital_id: &str) -> StoreResult<Vec<DepartmentGroup>> {
        self.read(|conn| {
            let mut groups: Vec<DepartmentGroup> = conn
                .prepare_cached(
                    "SELECT id, name_zh, name_en FROM department_groups WHERE hospital_id = ?1 ORDER BY ord",
                )?
                .query_map([hospital_id], |r| {
                    Ok(DepartmentGroup {
                        id: r.get(0)?,
                        name: Text::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                        departments: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT group_id, {DEPARTMENT_COLUMNS} FROM departments WHERE hospital_id = ?1 ORDER BY ord"
            ))?;
            let mut rows = stmt.query([hospital_id])?;
            while let Some(row) = rows.next()? {
                let group_id: String = row.get(0)?;
                let department = department_from_row(row, 1)?;
                if let Some(g) = groups.iter_mut().find(|g| g.id == group_id) {
                    g.departments.push(department);
                }
            }
            Ok(groups)
        })
    }

    fn department(&self, id: &str) -> StoreResult<DepartmentEntry> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT hospital_id, {DEPARTMENT_COLUMNS} FROM departments WHERE id = ?1"
            ))?
            .query_row([id], |r| {
                Ok(DepartmentEntry {
                    hospital_id: r.get(0)?,
                    department: department_from_row(r, 1)?,
                })
            })
            .optional()?
            .ok_or(StoreError::NotFound("department"))
        })
    }

    fn doctor(&self, id: &str) -> StoreResult<Doctor> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {DOCTOR_COLUMNS} FROM doctors WHERE id = ?1"
            ))?
            .query_row([id], doctor_from_row)
            .optional()?
            .ok_or(StoreError::NotFound("doctor"))
        })
    }

    fn doctors(&self, department_id: &str) -> StoreResult<Vec<Doctor>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {DOCTOR_COLUMNS} FROM doctors WHERE department_id = ?1 ORDER BY ord"
            ))?;
            let rows = stmt.query_map([department_id], doctor_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn sessions(&self, q: &SessionQuery, now: DateTime<Utc>) -> StoreResult<Vec<Session>> {
        self.read(|conn| load_sessions(conn, q, now))
    }

    fn slot_utc_offset(&self, slot_id: &str) -> StoreResult<i32> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT h.utc_offset_minutes FROM slots sl
                 JOIN sessions se ON se.id = sl.session_id
                 JOIN hospitals h ON h.id = se.hospital_id
                 WHERE sl.id = ?1",
            )?
            .query_row([slot_id], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotFound("slot"))
        })
    }

    fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> StoreResult<Hold> {
        self.write(|tx| {
            expire_holds(tx, now)?;
            check_hold_budget(tx, hold, now)?;
            let slot = load_slot_context(tx, &hold.slot_id)?.ok_or(StoreError::NotFound("slot"))?;
            slot.check_bookable(now)?;
            // Over its live holds, the client gives its oldest back first: that place may be
            // the very one it asks for again.
            let live: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM holds WHERE client_id = ?1 AND state = 'active'
                     ORDER BY created_ms DESC, id",
                )?
                .query_map([&hold.client], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for id in live.iter().skip(hold.limits.per_client as usize - 1) {
                release_live_hold(tx, id)?;
            }
            let remaining: u32 = tx.query_row(
                "SELECT remaining FROM slots WHERE id = ?1",
                [&hold.slot_id],
                |r| r.get(0),
            )?;
            if remaining == 0 {
                return Err(StoreError::SlotTaken {
                    alternatives: alternatives(tx, &slot, now)?,
                });
            }
            take_place(tx, &hold.slot_id)?;
            let id = format!("hold-{}", random_code(20)?.to_ascii_lowercase());
            let expires = now + hold.ttl;
            tx.execute(
                "INSERT INTO holds (id, slot_id, created_ms, expires_ms, state, client_id, address_hash)
                 VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6)",
                params![
                    id,
                    hold.slot_id,
                    now.timestamp_millis(),
                    expires.timestamp_millis(),
                    hold.client,
                    hold.address
                ],
            )?;
            let tz = offset(slot.utc_offset_minutes);
            Ok(Hold {
                id,
                slot_id: hold.slot_id.clone(),
                expires_at: millis(expires.timestamp_millis(), tz),
                server_time: millis(now.timestamp_millis(), tz),
            })
        })
    }

    fn release_hold(&self, hold_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.write(|tx| {
            expire_holds(tx, now)?;
            let hold: Option<(String, String)> = tx
                .query_row(
                    "SELECT slot_id, state FROM holds WHERE id = ?1",
                    [hold_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (_, state) = hold.ok_or(StoreError::NotFound("hold"))?;
            if state == "active" {
                release_live_hold(tx, hold_id)?;
            }
            Ok(())
        })
    }

    fn expire_holds(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        self.write(|tx| {
            // Wrong proofs older than any lock lasts no longer count for anything.
            tx.prepare_cached("DELETE FROM proof_failures WHERE failed_ms < ?1")?
                .execute([(now - MAX_PROOF_LOCK).timestamp_millis()])?;
            expire_holds(tx, now)
        })
    }

    fn stored_response(&self, key: &str) -> StoreResult<Option<StoredResponse>> {
        self.read(|conn| stored_response(conn, key))
    }

    fn create_booking(&self, new: &NewBooking, now: DateTime<Utc>) -> StoreResult<BookingOutcome> {
        self.write(|tx| {
            expire_holds(tx, now)?;
            // A concurrent retry with the same key may have committed while this one waited.
            if let Some(stored) = stored_response(tx, &new.idempotency_key)? {
                return Ok(BookingOutcome::AlreadyStored(stored));
            }
            let slot = load_slot_context(tx, &new.slot_id)?.ok_or(StoreError::NotFound("slot"))?;
            slot.check_bookable(now)?;
            check_booking_rules(tx, new, &slot, now)?;
            // A live hold already took the place. Without one — none given, or it ran out while
            // the booking waited in a phone's outbox — the booking competes for a free place.
            let held = match &new.hold_id {
                Some(hold_id) => convert_hold(tx, hold_id, &new.slot_id, now)?,
                None => false,
            };
            if !held {
                check_direct_budget(tx, new, now)?;
                if slot.remaining == 0 {
                    return Err(StoreError::SlotTaken {
                        alternatives: alternatives(tx, &slot, now)?,
                    });
                }
                take_place(tx, &new.slot_id)?;
            }
            let stored = insert_booking(tx, new, &slot, now, !held)?;
            Ok(BookingOutcome::Created(stored))
        })
    }

    fn prove(&self, proof: &Proof, now: DateTime<Utc>) -> StoreResult<OwnedBooking> {
        // The refusal is the inner error: the transaction that recorded it commits.
        self.write(|tx| check_proof(tx, proof, now))?
    }

    fn reserve_proof_attempt(
        &self,
        code: &str,
        policy: ProofPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(|tx| {
            if let Some(locked) = proof_lock(tx, code, policy, now)? {
                return Ok(Err(locked));
            }
            tx.prepare_cached("INSERT INTO proof_failures (code, failed_ms) VALUES (?1, ?2)")?
                .execute(params![code, now.timestamp_millis()])?;
            Ok(Ok(()))
        })?
    }

    fn settle_proof_attempt(
        &self,
        code: &str,
        reserved_at: DateTime<Utc>,
        outcome: ProofOutcome,
    ) -> StoreResult<()> {
        self.write(|tx| {
            match outcome {
                ProofOutcome::Held => {
                    tx.prepare_cached("DELETE FROM proof_failures WHERE code = ?1")?
                        .execute([code])?;
                }
                ProofOutcome::Unsettled => {
                    tx.prepare_cached(
                        "DELETE FROM proof_failures WHERE rowid = (SELECT rowid FROM proof_failures
                         WHERE code = ?1 AND failed_ms = ?2 LIMIT 1)",
                    )?
                    .execute(params![code, reserved_at.timestamp_millis()])?;
                }
                ProofOutcome::Wrong => {}
            }
            Ok(())
        })
    }

    fn booking_by_key(&self, key: &str) -> StoreResult<Option<KeyedBooking>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT code, status FROM bookings WHERE idempotency_key = ?1")?
                .query_row([key], |r| {
                    Ok(KeyedBooking {
                        code: r.get(0)?,
                        status: enum_column(r, 1)?,
                    })
                })
                .optional()?)
        })
    }

    fn cancel_booking(
        &self,
        proof: &Proof,
        late: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking> {
        // A refusal after the proof was checked must still record a wrong proof, so the proof
        // has its own transaction and the cancellation another.
        let booking = self.prove(proof, now)?.booking;
        self.write(|tx| {
            let current: String = tx.query_row(
                "SELECT status FROM bookings WHERE code = ?1",
                [&booking.code],
                |r| r.get(0),
            )?;
            if current == "cancelled" {
                return Ok(load_booking(tx, &booking.code)?
                    .ok_or(StoreError::NotFound("booking"))?
                    .booking);
            }
            if now > booking.cancel_deadline {
                return Err(StoreError::CancelClosed {
                    deadline: booking.cancel_deadline,
                });
            }
            let cancelled_at = seconds(now.timestamp(), *booking.created_at.offset());
            let is_late = booking.slot.start.with_timezone(&Utc) - now < late;
            tx.execute(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = ?2, cancelled_ts = ?3,
                     late_cancel = ?4
                 WHERE code = ?1",
                params![
                    booking.code,
                    cancelled_at.to_rfc3339(),
                    now.timestamp(),
                    is_late
                ],
            )?;
            give_place_back(tx, &booking.slot.slot_id)?;
            if let Some(ledger) = &booking.ledger {
                let entry = ledger.entry.clone();
                append_to_ledger(tx, &Entry::Cancelled { entry, at: now })?;
            }
            Ok(Booking {
                status: BookingStatus::Cancelled,
                cancelled_at: Some(cancelled_at),
                ..booking
            })
        })
    }

    fn ledger_leaves(&self, from: u64, limit: u64) -> StoreResult<Vec<String>> {
        self.read(|conn| {
            let from = i64::try_from(from).unwrap_or(i64::MAX);
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut stmt = conn
                .prepare_cached("SELECT leaf FROM ledger WHERE idx >= ?1 ORDER BY idx LIMIT ?2")?;
            let leaves = stmt
                .query_map(params![from, limit], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(leaves)
        })
    }

    fn channel_stats(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<ChannelDayStats>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT channel, created_date, COUNT(*), SUM(status = 'cancelled')
                 FROM bookings WHERE created_date >= ?1 AND created_date <= ?2
                 GROUP BY created_date, channel ORDER BY created_date, channel",
            )?;
            let rows = stmt.query_map(params![from.to_string(), to.to_string()], |r| {
                Ok(ChannelDayStats {
                    channel: r.get(0)?,
                    date: date_column(r, 1)?,
                    booked: r.get(2)?,
                    cancelled: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn ping(&self) -> StoreResult<()> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
    }
}

// ---- catalogue ------------------------------------------------------------------------------

const HOSPITAL_COLUMNS: &str = "id, name_zh, name_en, level, district_id, district_zh, district_en, \
     address_zh, address_en, phone, utc_offset_minutes";
const DEPARTMENT_COLUMNS: &str = "id, name_zh, name_en, description_zh, description_en";
const DOCTOR_COLUMNS: &str = "id, hospital_id, department_id, name_zh, name_en, title, \
     specialty_zh, specialty_en, fee_fen, photo_url";

fn insert_hospital(tx: &Transaction<'_>, ord: usize, entry: &CatalogueHospital) -> StoreResult<()> {
    let h = &entry.hospital;
    tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO hospitals (ord, {HOSPITAL_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?
    .execute(params![
        ord,
        h.id,
        h.name.zh,
        h.name.en,
        h.level.map_or("", HospitalLevel::code),
        h.district.id,
        h.district.name.zh,
        h.district.name.en,
        h.address.zh,
        h.address.en,
        h.phone,
        h.utc_offset_minutes
    ])?;
    let mut department_ord = 0;
    for (ord, group) in entry.groups.iter().enumerate() {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO department_groups (id, hospital_id, ord, name_zh, name_en)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![group.id, h.id, ord, group.name.zh, group.name.en])?;
        for d in &group.departments {
            tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO departments (hospital_id, group_id, ord, {DEPARTMENT_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))?
            .execute(params![
                h.id,
                group.id,
                department_ord,
                d.id,
                d.name.zh,
                d.name.en,
                d.description.as_ref().map(|t| &t.zh),
                d.description.as_ref().map(|t| &t.en),
            ])?;
            department_ord += 1;
        }
    }
    for (ord, d) in entry.doctors.iter().enumerate() {
        tx.prepare_cached(&format!(
            "INSERT OR IGNORE INTO doctors (ord, {DOCTOR_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))?
        .execute(params![
            ord,
            d.id,
            d.hospital_id,
            d.department_id,
            d.name.zh,
            d.name.en,
            enum_str(&d.title),
            d.specialty.zh,
            d.specialty.en,
            d.fee_fen,
            d.photo_url,
        ])?;
    }
    Ok(())
}

/// Inserts a session and its slots unless the session exists; returns whether it was new.
fn insert_session(tx: &Transaction<'_>, new: &NewSession, now: DateTime<Utc>) -> StoreResult<bool> {
    let s = &new.session;
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO sessions (id, hospital_id, department_id, doctor_id, date, period,
                 period_ord, stopped, release_at, release_ts, fee_fen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            s.id,
            new.hospital_id,
            s.department_id,
            s.doctor_id,
            s.date.to_string(),
            enum_str(&s.period),
            period_ord(s.period),
            s.status == SessionStatus::Stopped,
            s.release_at.map(|t| t.to_rfc3339()),
            s.release_at.map(|t| t.timestamp()),
            s.fee_fen,
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO slots (id, session_id, start, \"end\", start_ts, capacity, remaining)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for slot in &s.slots {
        stmt.execute(params![
            slot.id,
            s.id,
            slot.start.to_rfc3339(),
            slot.end.to_rfc3339(),
            slot.start.timestamp(),
            slot.capacity,
            slot.remaining.min(slot.capacity),
        ])?;
    }
    if let Some(start) = s.slots.iter().map(|slot| slot.start).min() {
        append_to_ledger(
            tx,
            &Entry::Released {
                session: s.id.clone(),
                doctor: s.doctor_id.clone(),
                start: start.to_utc(),
                places: s.slots.iter().map(|slot| slot.capacity).sum(),
                policy: Policy::Fcfs,
                at: s.release_at.map_or(now, |t| t.to_utc().max(now)),
            },
        )?;
    }
    Ok(true)
}

/// Appends an entry to the open ledger, in the transaction of the change it records, so the
/// ledger and the bookings never disagree.
/// Returns the entry's index.
fn append_to_ledger(tx: &Transaction<'_>, entry: &Entry) -> StoreResult<u64> {
    let index: i64 = tx
        .prepare_cached(
            "INSERT INTO ledger (idx, leaf)
             VALUES ((SELECT COALESCE(MAX(idx) + 1, 0) FROM ledger), ?1) RETURNING idx",
        )?
        .query_row([entry.leaf()], |r| r.get(0))?;
    u64::try_from(index).map_err(|_| StoreError::Backend("negative ledger index".into()))
}

fn hospital_from_row(r: &Row<'_>) -> rusqlite::Result<Hospital> {
    let level: String = r.get(3)?;
    Ok(Hospital {
        id: r.get(0)?,
        name: Text::new(r.get::<_, String>(1)?, r.get::<_, String>(2)?),
        level: HospitalLevel::from_code(&level),
        district: District {
            id: r.get(4)?,
            name: Text::new(r.get::<_, String>(5)?, r.get::<_, String>(6)?),
        },
        address: Text::new(r.get::<_, String>(7)?, r.get::<_, String>(8)?),
        phone: r.get(9)?,
        utc_offset_minutes: r.get(10)?,
        has_slots_today: None,
    })
}

fn load_hospital(conn: &Connection, id: &str) -> StoreResult<Option<Hospital>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {HOSPITAL_COLUMNS} FROM hospitals WHERE id = ?1"
        ))?
        .query_row([id], hospital_from_row)
        .optional()?)
}

/// Whether any released, running session today still has a place in a slot that has not started.
fn has_slots_today(conn: &Connection, h: &Hospital, now: DateTime<Utc>) -> StoreResult<bool> {
    let today = hospital_today(now, h.utc_offset_minutes);
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (
                SELECT 1 FROM sessions se JOIN slots sl ON sl.session_id = se.id
                WHERE se.hospital_id = ?1 AND se.date = ?2 AND se.stopped = 0
                  AND (se.release_ts IS NULL OR se.release_ts <= ?3)
                  AND sl.start_ts > ?3
                  AND (sl.remaining > 0 OR EXISTS (
                      SELECT 1 FROM holds ho
                      WHERE ho.slot_id = sl.id AND ho.state = 'active' AND ho.expires_ms <= ?4)))",
        )?
        .query_row(
            params![
                h.id,
                today.to_string(),
                now.timestamp(),
                now.timestamp_millis()
            ],
            |r| r.get(0),
        )?)
}

fn department_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Department> {
    let description = match (
        r.get::<_, Option<String>>(at + 3)?,
        r.get::<_, Option<String>>(at + 4)?,
    ) {
        (Some(zh), Some(en)) => Some(Text::new(zh, en)),
        _ => None,
    };
    Ok(Department {
        id: r.get(at)?,
        name: Text::new(r.get::<_, String>(at + 1)?, r.get::<_, String>(at + 2)?),
        description,
    })
}

fn doctor_from_row(r: &Row<'_>) -> rusqlite::Result<Doctor> {
    Ok(Doctor {
        id: r.get(0)?,
        hospital_id: r.get(1)?,
        department_id: r.get(2)?,
        name: Text::new(r.get::<_, String>(3)?, r.get::<_, String>(4)?),
        title: enum_column(r, 5)?,
        specialty: Text::new(r.get::<_, String>(6)?, r.get::<_, String>(7)?),
        fee_fen: r.get(8)?,
        photo_url: r.get(9)?,
    })
}

// ---- schedules ------------------------------------------------------------------------------

/// Places held by holds that have expired but were not swept yet count as free: reads are exact
/// without having to write.
const EXPIRED_HOLDS: &str = "LEFT JOIN (SELECT slot_id, COUNT(*) AS n FROM holds
        WHERE state = 'active' AND expires_ms <= :now_ms GROUP BY slot_id) x ON x.slot_id = sl.id";

fn load_sessions(
    conn: &Connection,
    q: &SessionQuery,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Session>> {
    let filter = "se.department_id = :department AND se.date >= :from AND se.date <= :to
        AND (:doctor IS NULL OR se.doctor_id = :doctor)";
    let (from, to) = (q.from.to_string(), q.to.to_string());
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT se.id, se.doctor_id, se.department_id, se.date, se.period, se.stopped,
                se.release_at, se.release_ts, se.fee_fen
         FROM sessions se JOIN doctors d ON d.id = se.doctor_id
         WHERE {filter}
         ORDER BY se.date, se.period_ord, d.ord"
    ))?;
    let named = rusqlite::named_params! {
        ":department": q.department_id,
        ":from": from,
        ":to": to,
        ":doctor": q.doctor_id,
    };
    let now_ts = now.timestamp();
    let mut sessions = Vec::new();
    let mut rows = stmt.query(named)?;
    while let Some(r) = rows.next()? {
        let stopped: bool = r.get(5)?;
        let release_ts: Option<i64> = r.get(7)?;
        let status = if stopped {
            SessionStatus::Stopped
        } else if release_ts.is_some_and(|t| t > now_ts) {
            SessionStatus::NotReleased
        } else {
            SessionStatus::Open
        };
        sessions.push(Session {
            id: r.get(0)?,
            doctor_id: r.get(1)?,
            department_id: r.get(2)?,
            date: date_column(r, 3)?,
            period: enum_column(r, 4)?,
            status,
            release_at: time_column_opt(r, 6)?,
            fee_fen: r.get(8)?,
            slots: Vec::new(),
        });
    }
    drop(rows);
    let index: HashMap<String, usize> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();

    let mut stmt = conn.prepare_cached(&format!(
        "SELECT sl.session_id, sl.id, sl.start, sl.\"end\", sl.capacity,
                sl.remaining + COALESCE(x.n, 0)
         FROM slots sl JOIN sessions se ON se.id = sl.session_id
         {EXPIRED_HOLDS}
         WHERE {filter}
         ORDER BY sl.start_ts, sl.id"
    ))?;
    let named = rusqlite::named_params! {
        ":department": q.department_id,
        ":from": from,
        ":to": to,
        ":doctor": q.doctor_id,
        ":now_ms": now.timestamp_millis(),
    };
    let mut rows = stmt.query(named)?;
    while let Some(r) = rows.next()? {
        let session_id: String = r.get(0)?;
        let Some(&i) = index.get(&session_id) else {
            continue;
        };
        let session = &mut sessions[i];
        let capacity: u32 = r.get(4)?;
        let remaining: u32 = r.get::<_, u32>(5)?.min(capacity);
        session.slots.push(Slot {
            id: r.get(1)?,
            start: time_column(r, 2)?,
            end: time_column(r, 3)?,
            capacity,
            // A stopped session has no bookable place, whatever its counters say.
            remaining: if session.status == SessionStatus::Stopped {
                0
            } else {
                remaining
            },
        });
    }
    // Open means bookable now: a free place in a slot that has not started.
    for s in &mut sessions {
        let bookable = s
            .slots
            .iter()
            .any(|slot| slot.remaining > 0 && slot.start.timestamp() > now_ts);
        if s.status == SessionStatus::Open && !bookable {
            s.status = SessionStatus::Full;
        }
    }
    Ok(sessions)
}

/// A slot with everything needed to decide on it and to describe a booking of it.
struct SlotContext {
    slot_id: String,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
    start_ts: i64,
    remaining: u32,
    stopped: bool,
    release_at: Option<DateTime<FixedOffset>>,
    release_ts: Option<i64>,
    period: Period,
    fee_fen: u32,
    utc_offset_minutes: i32,
    hospital_id: String,
    hospital_name: Text,
    hospital_address: Text,
    department_id: String,
    department_name: Text,
    doctor_id: String,
    doctor_name: Text,
}

impl SlotContext {
    fn check_bookable(&self, now: DateTime<Utc>) -> StoreResult<()> {
        let now_ts = now.timestamp();
        if self.stopped {
            Err(StoreError::Unavailable(Unavailability::Stopped))
        } else if self.release_ts.is_some_and(|t| t > now_ts) {
            Err(StoreError::Unavailable(Unavailability::NotReleased(
                self.release_at,
            )))
        } else if self.start_ts <= now_ts {
            Err(StoreError::Unavailable(Unavailability::Started))
        } else {
            Ok(())
        }
    }

    fn summary(&self) -> SlotSummary {
        SlotSummary {
            slot_id: self.slot_id.clone(),
            start: self.start,
            end: self.end,
            period: self.period,
            hospital_id: self.hospital_id.clone(),
            hospital_name: self.hospital_name.clone(),
            hospital_address: self.hospital_address.clone(),
            department_id: self.department_id.clone(),
            department_name: self.department_name.clone(),
            doctor_id: self.doctor_id.clone(),
            doctor_name: self.doctor_name.clone(),
            fee_fen: Some(self.fee_fen),
        }
    }
}

/// What [`slot_context_from_row`] reads, and the joins that reach it from `slots sl`.
const SLOT_CONTEXT_COLUMNS: &str = "sl.id, sl.start, sl.\"end\", sl.start_ts, sl.remaining,
    se.stopped, se.release_at, se.release_ts, se.period, se.fee_fen,
    h.utc_offset_minutes, h.id, h.name_zh, h.name_en, h.address_zh, h.address_en,
    dp.id, dp.name_zh, dp.name_en, d.id, d.name_zh, d.name_en";
const SLOT_CONTEXT_JOINS: &str = "JOIN sessions se ON se.id = sl.session_id
    JOIN hospitals h ON h.id = se.hospital_id
    JOIN departments dp ON dp.id = se.department_id
    JOIN doctors d ON d.id = se.doctor_id";

fn slot_context_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<SlotContext> {
    let text = |i: usize| -> rusqlite::Result<Text> {
        Ok(Text::new(
            r.get::<_, String>(at + i)?,
            r.get::<_, String>(at + i + 1)?,
        ))
    };
    Ok(SlotContext {
        slot_id: r.get(at)?,
        start: time_column(r, at + 1)?,
        end: time_column(r, at + 2)?,
        start_ts: r.get(at + 3)?,
        remaining: r.get(at + 4)?,
        stopped: r.get(at + 5)?,
        release_at: time_column_opt(r, at + 6)?,
        release_ts: r.get(at + 7)?,
        period: enum_column(r, at + 8)?,
        fee_fen: r.get(at + 9)?,
        utc_offset_minutes: r.get(at + 10)?,
        hospital_id: r.get(at + 11)?,
        hospital_name: text(12)?,
        hospital_address: text(14)?,
        department_id: r.get(at + 16)?,
        department_name: text(17)?,
        doctor_id: r.get(at + 19)?,
        doctor_name: text(20)?,
    })
}

fn load_slot_context(conn: &Connection, slot_id: &str) -> StoreResult<Option<SlotContext>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SLOT_CONTEXT_COLUMNS} FROM slots sl {SLOT_CONTEXT_JOINS} WHERE sl.id = ?1"
        ))?
        .query_row([slot_id], |r| slot_context_from_row(r, 0))
        .optional()?)
}

/// Up to [`MAX_ALTERNATIVES`] bookable slots near the wanted one: the same doctor first, then
/// colleagues in the same department, each nearest in time.
fn alternatives(
    conn: &Connection,
    wanted: &SlotContext,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Alternative>> {
    let sql = |scope: &str| {
        format!(
            "SELECT sl.id, sl.start, sl.\"end\", sl.capacity, sl.remaining,
                    se.doctor_id, d.name_zh, d.name_en, se.date, se.period
             FROM slots sl
             JOIN sessions se ON se.id = sl.session_id
             JOIN doctors d ON d.id = se.doctor_id
             WHERE {scope} AND sl.id <> ?2 AND sl.remaining > 0 AND sl.start_ts > ?3
               AND se.stopped = 0 AND (se.release_ts IS NULL OR se.release_ts <= ?3)
             ORDER BY ABS(sl.start_ts - ?4), sl.start_ts, sl.id
             LIMIT ?5"
        )
    };
    let map = |r: &Row<'_>| {
        Ok(Alternative {
            slot: Slot {
                id: r.get(0)?,
                start: time_column(r, 1)?,
                end: time_column(r, 2)?,
                capacity: r.get(3)?,
                remaining: r.get(4)?,
            },
            doctor_id: r.get(5)?,
            doctor_name: Text::new(r.get::<_, String>(6)?, r.get::<_, String>(7)?),
            date: date_column(r, 8)?,
            period: enum_column(r, 9)?,
        })
    };
    let now_ts = now.timestamp();
    let mut out: Vec<Alternative> = conn
        .prepare_cached(&sql("se.doctor_id = ?1"))?
        .query_map(
            params![
                wanted.doctor_id,
                wanted.slot_id,
                now_ts,
                wanted.start_ts,
                MAX_ALTERNATIVES
            ],
            map,
        )?
        .collect::<Result<_, _>>()?;
    let missing = MAX_ALTERNATIVES - out.len();
    if missing > 0 {
        let colleagues = conn
            .prepare_cached(&sql("se.department_id = ?1 AND se.doctor_id <> ?6"))?
            .query_map(
                params![
                    wanted.department_id,
                    wanted.slot_id,
                    now_ts,
                    wanted.start_ts,
                    missing,
                    wanted.doctor_id
                ],
                map,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(colleagues);
    }
    Ok(out)
}

// ---- holds and capacity ---------------------------------------------------------------------

fn take_place(tx: &Transaction<'_>, slot_id: &str) -> StoreResult<()> {
    let changed = tx.execute(
        "UPDATE slots SET remaining = remaining - 1 WHERE id = ?1 AND remaining > 0",
        [slot_id],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Backend("slot had no place left to take".into()))
    }
}

fn give_place_back(tx: &Transaction<'_>, slot_id: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE slots SET remaining = MIN(capacity, remaining + 1) WHERE id = ?1",
        [slot_id],
    )?;
    Ok(())
}

fn expire_holds(tx: &Transaction<'_>, now: DateTime<Utc>) -> StoreResult<usize> {
    let now_ms = now.timestamp_millis();
    tx.prepare_cached(
        "UPDATE slots SET remaining = MIN(capacity, remaining + (
             SELECT COUNT(*) FROM holds ho
             WHERE ho.slot_id = slots.id AND ho.state = 'active' AND ho.expires_ms <= ?1))
         WHERE id IN (SELECT slot_id FROM holds WHERE state = 'active' AND expires_ms <= ?1)",
    )?
    .execute([now_ms])?;
    Ok(tx
        .prepare_cached(
            "UPDATE holds SET state = 'expired' WHERE state = 'active' AND expires_ms <= ?1",
        )?
        .execute([now_ms])?)
}

/// Turns a live hold on this slot into the booking's place; the place was taken when the hold
/// was made, so capacity does not change. `false` when the hold is no longer live (expired,
/// released or unknown): its place went back to the slot.
fn convert_hold(
    tx: &Transaction<'_>,
    hold_id: &str,
    slot_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let hold: Option<(String, String, i64)> = tx
        .query_row(
            "SELECT slot_id, state, expires_ms FROM holds WHERE id = ?1",
            [hold_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match hold {
        Some((held, state, expires_ms))
            if state == "active" && expires_ms > now.timestamp_millis() =>
        {
            if held != slot_id {
                return Err(StoreError::HoldMismatch);
            }
            tx.execute(
                "UPDATE holds SET state = 'converted' WHERE id = ?1",
                [hold_id],
            )?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Ends a live hold early and gives its place back.
fn release_live_hold(tx: &Transaction<'_>, hold_id: &str) -> StoreResult<()> {
    let slot_id: String = tx.query_row(
        "UPDATE holds SET state = 'released' WHERE id = ?1 AND state = 'active' RETURNING slot_id",
        [hold_id],
        |r| r.get(0),
    )?;
    give_place_back(tx, &slot_id)
}

/// Refuses a hold over the client's or the address's budget, with the seconds until it refills.
/// Holds given back or turned into bookings cost nothing: a patient who changes their mind is
/// not slowed down, a script that sits on places is.
fn check_hold_budget(tx: &Transaction<'_>, hold: &NewHold, now: DateTime<Utc>) -> StoreResult<()> {
    let now_ms = now.timestamp_millis();
    let limits = hold.limits;
    let spent = |column: &str, value: &str| -> StoreResult<(u32, Option<i64>)> {
        Ok(tx
            .prepare_cached(&format!(
                "SELECT COUNT(*), MIN(created_ms) FROM holds
                 WHERE {column} = ?1 AND created_ms > ?2 AND state IN ('active', 'expired')"
            ))?
            .query_row(params![value, now_ms - 60_000], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?)
    };
    let refill = |oldest_ms: Option<i64>, window_ms: i64| StoreError::RateLimited {
        retry_after_seconds: whole_seconds(oldest_ms.unwrap_or(now_ms) + window_ms - now_ms),
    };
    for (column, value, limit) in [
        ("client_id", &hold.client, limits.client_per_minute),
        ("address_hash", &hold.address, limits.ip_per_minute),
    ] {
        let (count, oldest) = spent(column, value)?;
        if count >= limit {
            return Err(refill(oldest, 60_000));
        }
    }
    let (live, first_to_end): (u32, Option<i64>) = tx
        .prepare_cached(
            "SELECT COUNT(*), MIN(expires_ms) FROM holds
             WHERE address_hash = ?1 AND state = 'active' AND client_id <> ?2",
        )?
        .query_row(params![hold.address, hold.client], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if live >= limits.ip_live {
        return Err(refill(first_to_end, 0));
    }
    if limits.unconverted_per_hour > 0 {
        let (count, oldest): (u32, Option<i64>) = tx
            .prepare_cached(
                "SELECT COUNT(*), MIN(expires_ms) FROM holds
                 WHERE client_id = ?1 AND state = 'expired' AND expires_ms > ?2",
            )?
            .query_row(params![hold.client, now_ms - 3_600_000], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if count >= limits.unconverted_per_hour {
            return Err(refill(oldest, 3_600_000));
        }
    }
    Ok(())
}

/// Milliseconds to wait as whole seconds for `Retry-After`, at least one.
fn whole_seconds(ms: i64) -> u32 {
    u32::try_from((ms.max(1) + 999) / 1000).unwrap_or(u32::MAX)
}

/// A booking that takes a place without a live hold of its own skips every hold budget, so it
/// has a budget of its own per address: otherwise one script books a whole session directly
/// with generated ID numbers. An outbox that waited past its hold meets it rarely, and a 429 only
/// delays it.
fn check_direct_budget(
    tx: &Transaction<'_>,
    new: &NewBooking,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let limit = new.limits.ip_direct_per_hour;
    if limit == 0 {
        return Ok(());
    }
    let now_ms = now.timestamp_millis();
    let (count, oldest): (u32, Option<i64>) = tx
        .prepare_cached(
            "SELECT COUNT(*), MIN(direct_ms) FROM bookings WHERE address_hash = ?1 AND direct_ms > ?2",
        )?
        .query_row(params![new.address, now_ms - 3_600_000], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if count >= limit {
        return Err(StoreError::RateLimited {
            retry_after_seconds: whole_seconds(oldest.unwrap_or(now_ms) + 3_600_000 - now_ms),
        });
    }
    Ok(())
}

// ---- booking rules (实名制) -------------------------------------------------------------------

/// Refuses a booking that one of the deployment's rules forbids for this person or phone,
/// counting confirmed bookings only.
fn check_booking_rules(
    tx: &Transaction<'_>,
    new: &NewBooking,
    slot: &SlotContext,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let limits = &new.limits;
    let now_ts = now.timestamp();
    let refuse = |rule, limit: u32| StoreError::BookingLimit {
        rule,
        limit: Some(limit),
        until: None,
    };
    if limits.late_cancels > 0 {
        let (count, last): (u32, Option<i64>) = tx
            .prepare_cached(
                "SELECT COUNT(*), MAX(cancelled_ts) FROM bookings
                 WHERE person_hash = ?1 AND late_cancel = 1 AND cancelled_ts > ?2",
            )?
            .query_row(
                params![new.person, (now - LATE_CANCEL_WINDOW).timestamp()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
        let until = last.map(|t| t + limits.cooling_off.num_seconds());
        if let Some(until) = until.filter(|&u| count >= limits.late_cancels && u > now_ts) {
            return Err(StoreError::BookingLimit {
                rule: BookingRule::CoolingOff,
                limit: Some(limits.late_cancels),
                until: Some(seconds(until, offset(slot.utc_offset_minutes))),
            });
        }
    }
    let date = slot.start.date_naive().to_string();
    let same_day = |column: &str, value: &str| -> StoreResult<u32> {
        Ok(tx
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM bookings b
                 JOIN slots sl ON sl.id = b.slot_id JOIN sessions se ON se.id = sl.session_id
                 WHERE b.person_hash = ?1 AND b.status = 'confirmed' AND se.{column} = ?2
                   AND se.date = ?3"
            ))?
            .query_row(params![new.person, value, date], |r| r.get(0))?)
    };
    if limits.per_doctor_day > 0 && same_day("doctor_id", &slot.doctor_id)? >= limits.per_doctor_day
    {
        return Err(refuse(BookingRule::DoctorDay, limits.per_doctor_day));
    }
    if limits.per_department_day > 0
        && same_day("department_id", &slot.department_id)? >= limits.per_department_day
    {
        return Err(refuse(
            BookingRule::DepartmentDay,
            limits.per_department_day,
        ));
    }
    let active = |column: &str, value: &str| -> StoreResult<u32> {
        Ok(tx
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM bookings b JOIN slots sl ON sl.id = b.slot_id
                 WHERE b.{column} = ?1 AND b.status = 'confirmed' AND sl.start_ts > ?2"
            ))?
            .query_row(params![value, now_ts], |r| r.get(0))?)
    };
    if limits.active_per_person > 0
        && active("person_hash", &new.person)? >= limits.active_per_person
    {
        return Err(refuse(
            BookingRule::ActivePerPerson,
            limits.active_per_person,
        ));
    }
    if limits.active_per_phone > 0 && active("phone_hash", &new.phone)? >= limits.active_per_phone {
        return Err(refuse(BookingRule::ActivePerPhone, limits.active_per_phone));
    }
    Ok(())
}

// ---- proofs of ownership --------------------------------------------------------------------

/// How long wrong proofs count; older ones are pruned.
const MAX_PROOF_LOCK: Duration = Duration::days(7);
/// A lock doubles at most this many times (15 minutes become about 10.7 days at most, cut short
/// when the wrong proofs behind it are a week old).
const MAX_LOCK_DOUBLINGS: u32 = 10;

/// The lock on a code, if its wrong proofs lock it at `now`.
fn proof_lock(
    tx: &Transaction<'_>,
    code: &str,
    policy: ProofPolicy,
    now: DateTime<Utc>,
) -> StoreResult<Option<StoreError>> {
    let now_ms = now.timestamp_millis();
    let (count, last): (u32, Option<i64>) = tx
        .prepare_cached(
            "SELECT COUNT(*), MAX(failed_ms) FROM proof_failures WHERE code = ?1 AND failed_ms > ?2",
        )?
        .query_row(
            params![code, (now - MAX_PROOF_LOCK).timestamp_millis()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    // Every `attempts` wrong proofs lock the code, each lock twice as long as the one before,
    // from the last wrong proof: a script gets `attempts` guesses per round, and the rounds grow
    // apart (5 guesses, 15 min, 5, 30 min, 5, 1 h …), so the week a booking waits is worth about fifty
    // guesses of the ten thousand or so endings.
    let Some(last) = last.filter(|_| count > 0 && count % policy.attempts == 0) else {
        return Ok(None);
    };
    let round = (count / policy.attempts).min(MAX_LOCK_DOUBLINGS + 1);
    let until = last + policy.lock.num_milliseconds() * (1_i64 << (round - 1));
    // In UTC whatever the booking's hospital: a known code and an unknown one answer alike.
    Ok((until > now_ms).then(|| StoreError::ProofLocked {
        until: millis(until, offset(0)),
        retry_after_seconds: whole_seconds(until - now_ms),
    }))
}

/// The booking the proof owns, or why not (locked, or not found after counting a wrong proof).
/// The outer result is the transaction's; the inner one is the answer, committed either way.
fn check_proof(
    tx: &Transaction<'_>,
    proof: &Proof,
    now: DateTime<Utc>,
) -> StoreResult<StoreResult<OwnedBooking>> {
    if let Some(locked) = proof_lock(tx, &proof.code, proof.policy, now)? {
        return Ok(Err(locked));
    }
    let given = identity::last4(&proof.document_last4);
    match load_booking(tx, &proof.code)?
        .filter(|b| !given.is_empty() && b.document_last4.eq_ignore_ascii_case(&given))
    {
        Some(owned) => {
            tx.prepare_cached("DELETE FROM proof_failures WHERE code = ?1")?
                .execute([&proof.code])?;
            Ok(Ok(owned))
        }
        None => {
            tx.prepare_cached("INSERT INTO proof_failures (code, failed_ms) VALUES (?1, ?2)")?
                .execute(params![proof.code, now.timestamp_millis()])?;
            Ok(Err(StoreError::NotFound("booking")))
        }
    }
}

// ---- bookings -------------------------------------------------------------------------------

fn stored_response(conn: &Connection, key: &str) -> StoreResult<Option<StoredResponse>> {
    Ok(conn
        .prepare_cached(
            "SELECT response_status, response_location, response_body, fingerprint
             FROM bookings WHERE idempotency_key = ?1",
        )?
        .query_row([key], |r| {
            Ok(StoredResponse {
                status: r.get(0)?,
                location: r.get(1)?,
                body: r.get(2)?,
                fingerprint: r.get(3)?,
            })
        })
        .optional()?)
}

fn insert_booking(
    tx: &Transaction<'_>,
    new: &NewBooking,
    slot: &SlotContext,
    now: DateTime<Utc>,
    direct: bool,
) -> StoreResult<StoredResponse> {
    let code = loop {
        let candidate = random_code(BOOKING_CODE_LEN)?;
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM bookings WHERE code = ?1)",
            [&candidate],
            |r| r.get(0),
        )?;
        if !taken {
            break candidate;
        }
    };
    let session: String = tx.query_row(
        "SELECT session_id FROM slots WHERE id = ?1",
        [&slot.slot_id],
        |r| r.get(0),
    )?;
    let entry = random_code(LEDGER_ENTRY_LEN)?;
    let index = append_to_ledger(
        tx,
        &Entry::Booked {
            entry: entry.clone(),
            session,
            slot: slot.slot_id.clone(),
            channel: new.channel.clone(),
            at: now,
        },
    )?;
    let ledger = LedgerRef { index, entry };
    let tz = offset(slot.utc_offset_minutes);
    let created_at = seconds(now.timestamp(), tz);
    let cancel_deadline = slot.start - new.cancel_cutoff;
    let patient = &new.patient;
    let booking = Booking {
        code: code.clone(),
        status: BookingStatus::Confirmed,
        slot: slot.summary(),
        patient: patient.masked(),
        channel: new.channel.clone(),
        created_at,
        cancel_deadline,
        cancelled_at: None,
        ledger: Some(ledger.clone()),
    };
    let body = serde_json::to_string(&booking).map_err(|e| StoreError::Backend(e.to_string()))?;
    let stored = StoredResponse {
        status: 201,
        location: format!("{API_PREFIX}/bookings/{code}"),
        body,
        fingerprint: new.fingerprint.clone(),
    };
    tx.prepare_cached(
        "INSERT INTO bookings (code, slot_id, hold_id, status, channel, idempotency_key, fingerprint,
             response_status, response_location, response_body,
             patient_name, document_kind, document_number, document_last4, phone, medical_card,
             relationship, fee_fen, created_at, created_date, cancel_deadline, cancel_deadline_ts,
             person_hash, phone_hash, address_hash, direct_ms, ledger_entry, ledger_index)
         VALUES (?1, ?2, ?3, 'confirmed', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
    )?
    .execute(params![
        code,
        slot.slot_id,
        new.hold_id,
        new.channel,
        new.idempotency_key,
        stored.fingerprint,
        stored.status,
        stored.location,
        stored.body,
        patient.name,
        enum_str(&patient.document_kind),
        patient.document_number,
        patient.document_last4(),
        patient.phone.as_str(),
        patient.medical_card,
        enum_str(&new.relationship),
        slot.fee_fen,
        created_at.to_rfc3339(),
        created_at.date_naive().to_string(),
        cancel_deadline.to_rfc3339(),
        cancel_deadline.timestamp(),
        new.person,
        new.phone,
        new.address,
        direct.then(|| now.timestamp_millis()),
        ledger.entry,
        i64::try_from(ledger.index).unwrap_or(i64::MAX),
    ])?;
    Ok(stored)
}

fn load_booking(conn: &Connection, code: &str) -> StoreResult<Option<OwnedBooking>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT b.code, b.status, b.channel, b.created_at, b.cancel_deadline, b.cancelled_at,
                    b.patient_name, b.document_kind, b.document_number, b.phone, b.medical_card,
                    b.document_last4, b.fee_fen, b.ledger_index, b.ledger_entry,
                    {SLOT_CONTEXT_COLUMNS}
             FROM bookings b JOIN slots sl ON sl.id = b.slot_id {SLOT_CONTEXT_JOINS}
             WHERE b.code = ?1"
        ))?
        .query_row([code], |r| {
            let name: String = r.get(6)?;
            let document_number: String = r.get(8)?;
            let phone: String = r.get(9)?;
            let patient =
                masked_patient(name, enum_column(r, 7)?, document_number, phone, r.get(10)?);
            Ok(OwnedBooking {
                booking: Booking {
                    code: r.get(0)?,
                    status: enum_column(r, 1)?,
                    channel: r.get(2)?,
                    created_at: time_column(r, 3)?,
                    cancel_deadline: time_column(r, 4)?,
                    cancelled_at: time_column_opt(r, 5)?,
                    patient,
                    // The fee the booking was made at, whatever the session charges now.
                    slot: SlotSummary {
                        fee_fen: r.get(12)?,
                        ..slot_context_from_row(r, 15)?.summary()
                    },
                    ledger: match (r.get::<_, Option<i64>>(13)?, r.get(14)?) {
                        (Some(index), Some(entry)) => Some(LedgerRef {
                            index: u64::try_from(index).unwrap_or_default(),
                            entry,
                        }),
                        _ => None,
                    },
                },
                document_last4: r.get(11)?,
            })
        })
        .optional()?)
}

/// Masks the stored identity the same way the booking response did, through core's [`Patient`].
fn masked_patient(
    name: String,
    document_kind: fairslot_core::DocumentKind,
    document_number: String,
    phone: String,
    medical_card: Option<String>,
) -> MaskedPatient {
    match MobileNumber::parse(&phone) {
        Ok(phone) => Patient {
            name,
            document_kind,
            document_number,
            phone,
            medical_card,
        }
        .masked(),
        Err(_) => MaskedPatient {
            name: identity::mask_name(&name),
            document_kind,
            document_number: identity::mask_document(&document_number),
            phone: identity::mask_phone(&phone),
        },
    }
}

// ---- columns and values ---------------------------------------------------------------------

fn random_code(len: usize) -> StoreResult<String> {
    secret_code(len).map_err(|e| StoreError::Backend(format!("random source: {e}")))
}

fn period_ord(p: Period) -> i64 {
    match p {
        Period::Am => 0,
        Period::Pm => 1,
        Period::Evening => 2,
    }
}

/// The serde (wire) spelling of a unit enum, so the database uses the same words as the API.
fn enum_str<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn enum_column<T: DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    serde_json::from_value(serde_json::Value::String(s))
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn time_column(r: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<FixedOffset>> {
    let s: String = r.get(i)?;
    DateTime::parse_from_rfc3339(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn time_column_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<FixedOffset>>> {
    match r.get::<_, Option<String>>(i)? {
        Some(_) => time_column(r, i).map(Some),
        None => Ok(None),
    }
}

fn date_column(r: &Row<'_>, i: usize) -> rusqlite::Result<NaiveDate> {
    let s: String = r.get(i)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn seconds(ts: i64, tz: FixedOffset) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(ts, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
}

fn millis(ms: i64, tz: FixedOffset) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use fairslot_core::{DocumentKind, PatientInput, Relationship};

    use super::*;
    use crate::seed::{self, Demo};

    /// A seeded store on a fresh file, at Monday 2026-11-23 09:00 in Hangzhou.
    fn seeded() -> (tempfile::TempDir, SqliteStore, DateTime<Utc>) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = SqliteStore::open(&dir.path().join("fairslot.sqlite3")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        seed::ensure(&store, &Demo::new(false), now).unwrap();
        (dir, store, now)
    }

    fn new_booking(key: &str, slot_id: &str) -> NewBooking {
        let input = PatientInput {
            name: "李雷".into(),
            document_kind: DocumentKind::ResidentId,
            document_number: "11010519491231002X".into(),
            phone: "13812345678".into(),
            medical_card: None,
            relationship: Relationship::Myself,
            consent: true,
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let policy = crate::rules::Policy::from(&crate::Config::for_data_dir(".").rules);
        NewBooking {
            person: "person-hash".into(),
            phone: "phone-hash".into(),
            address: "address-hash".into(),
            limits: policy.bookings,
            idempotency_key: key.into(),
            fingerprint: format!("fingerprint-of-{key}"),
            channel: "direct".into(),
            slot_id: slot_id.into(),
            hold_id: None,
            patient: Patient::validate(&input, today).unwrap(),
            relationship: Relationship::Myself,
            cancel_cutoff: Duration::minutes(120),
        }
    }

    fn count(store: &SqliteStore, sql: &str) -> i64 {
        store
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    #[test]
    fn proofs_checked_elsewhere_lock_as_the_store_own_do() {
        let (_dir, store, now) = seeded();
        let policy = ProofPolicy {
            attempts: 3,
            lock: Duration::minutes(15),
        };
        let reserve = |at| store.reserve_proof_attempt("ABCD-EFGH", policy, at);
        // An attempt the FHIR server never answered is uncounted again.
        for _ in 0..5 {
            reserve(now).unwrap();
            store
                .settle_proof_attempt("ABCD-EFGH", now, ProofOutcome::Unsettled)
                .unwrap();
        }
        // Three wrong ones lock, from the third, for the right proof too.
        for i in 0..3 {
            reserve(now + Duration::seconds(i)).unwrap();
        }
        let locked = reserve(now + Duration::minutes(14)).unwrap_err();
        assert!(
            matches!(locked, StoreError::ProofLocked { retry_after_seconds, .. } if retry_after_seconds == 62),
            "{locked:?}"
        );
        // After the lock: three more, and the next lock is twice as long.
        let after = now + Duration::minutes(16);
        for i in 0..3 {
            reserve(after + Duration::seconds(i)).unwrap();
        }
        assert!(matches!(
            reserve(after + Duration::minutes(29)),
            Err(StoreError::ProofLocked { .. })
        ));
        // A right proof forgets them all.
        let later = after + Duration::minutes(31);
        reserve(later).unwrap();
        store
            .settle_proof_attempt("ABCD-EFGH", later, ProofOutcome::Held)
            .unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM proof_failures"), 0);
        // Another code was never touched by any of it.
        reserve(later).unwrap();
        store
            .reserve_proof_attempt("WXYZ-2345", policy, later)
            .unwrap();
    }

    #[test]
    fn a_key_that_committed_meanwhile_is_answered_from_the_store_not_booked_again() {
        let (_dir, store, now) = seeded();
        let slot = "h1-cardio-4-2026-11-24-am-0800";
        let new = new_booking("same-key-0001", slot);
        let BookingOutcome::Created(first) = store.create_booking(&new, now).unwrap() else {
            panic!("first request books");
        };
        // The handler's own look-up missed (the first request had not committed yet): the
        // transaction itself must find the key.
        let BookingOutcome::AlreadyStored(again) = store.create_booking(&new, now).unwrap() else {
            panic!("second request must not book");
        };
        assert_eq!(again, first);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM bookings"), 1);
        assert_eq!(
            count(
                &store,
                &format!("SELECT remaining FROM slots WHERE id = '{slot}'")
            ),
            1
        );
    }

    #[test]
    fn the_schema_itself_refuses_a_second_booking_per_key_and_impossible_counts() {
        let (_dir, store, now) = seeded();
        let slot = "h1-cardio-4-2026-11-24-am-0800";
        store
            .create_booking(&new_booking("unique-key-01", slot), now)
            .unwrap();
        let duplicate = store.write(|tx| {
            tx.execute(
                "INSERT INTO bookings SELECT 'OTHERCODE', slot_id, hold_id, status, channel,
                     idempotency_key, fingerprint, response_status, response_location,
                     response_body, patient_name, document_kind, document_number,
                     document_last4, phone, medical_card, relationship, fee_fen, created_at,
                     created_date, cancel_deadline, cancel_deadline_ts, cancelled_at,
                     person_hash, phone_hash, cancelled_ts, late_cancel, address_hash, direct_ms,
                     ledger_entry, ledger_index
                 FROM bookings",
                [],
            )?;
            Ok(())
        });
        assert!(
            matches!(&duplicate, Err(StoreError::Backend(m)) if m.contains("UNIQUE")),
            "{duplicate:?}"
        );
        for overbooked in ["-1", "capacity + 1"] {
            let result = store.write(|tx| {
                tx.execute(
                    &format!("UPDATE slots SET remaining = {overbooked} WHERE id = ?1"),
                    [slot],
                )?;
                Ok(())
            });
            assert!(
                matches!(&result, Err(StoreError::Backend(m)) if m.contains("CHECK")),
                "{overbooked}: {result:?}"
            );
        }
        assert_eq!(count(&store, "SELECT COUNT(*) FROM bookings"), 1);
    }
}
