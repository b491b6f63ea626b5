//! Storage behind one trait, so the HTTP layer never sees SQL and another backend (PostgreSQL) can
//! be added as one more implementation.
//!
//! Methods are synchronous: implementations are free to block, and callers run them on Tokio's
//! blocking pool. Every method that changes capacity does so in a single transaction, which is what
//! makes overbooking impossible however many clients race.

pub mod sqlite;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fairslot_core::Booking;
use fairslot_core::identity::Patient;
use fairslot_core::{
    Alternative, BookingRule, ChannelDayStats, Department, DepartmentGroup, Doctor, Hold, Hospital,
    KeyedBooking, Relationship, Session,
};

use crate::rules::{BookingLimits, HoldLimits, ProofPolicy};

pub use sqlite::SqliteStore;

/// Why a session refuses holds and bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailability {
    /// 停诊
    Stopped,
    /// 号源 not released yet; opens at the given instant.
    NotReleased(Option<DateTime<FixedOffset>>),
    /// The slot's start time has passed.
    Started,
}

/// Failures a store reports; each maps onto one problem type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("slot taken")]
    SlotTaken { alternatives: Vec<Alternative> },
    #[error("hold expired or unknown")]
    HoldExpired,
    #[error("hold belongs to another slot")]
    HoldMismatch,
    #[error("session unavailable: {0:?}")]
    Unavailable(Unavailability),
    #[error("cancel cut-off passed")]
    CancelClosed { deadline: DateTime<FixedOffset> },
    /// A real-name rule refuses the booking.
    #[error("booking rule {rule:?}")]
    BookingLimit {
        rule: BookingRule,
        limit: Option<u32>,
        until: Option<DateTime<FixedOffset>>,
    },
    /// Too many wrong proofs for this code.
    #[error("proof locked")]
    ProofLocked {
        until: DateTime<FixedOffset>,
        retry_after_seconds: u32,
    },
    /// A hold budget is spent; try again after this many seconds.
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u32 },
    #[error("database busy")]
    Busy,
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A department with the hospital it belongs to.
#[derive(Debug, Clone)]
pub struct DepartmentEntry {
    pub department: Department,
    pub hospital_id: String,
}

/// Which sessions to read.
#[derive(Debug, Clone)]
pub struct SessionQuery {
    pub department_id: String,
    pub doctor_id: Option<String>,
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

/// A hold to take, with who asks for it.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub slot_id: String,
    /// The client token (one tab, one kiosk patient).
    pub client: String,
    /// Keyed hash of the client's address.
    pub address: String,
    pub ttl: Duration,
    pub limits: HoldLimits,
}

/// A booking attempt that has passed validation.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Keyed hashes that name the person and the phone for the booking rules.
    pub person: String,
    pub phone: String,
    /// Keyed hash of the address it came from.
    pub address: String,
    pub limits: BookingLimits,
    pub idempotency_key: String,
    /// Hash of the canonical request, to tell a replay from a key reused for something else.
    pub fingerprint: String,
    pub channel: String,
    pub slot_id: String,
    pub hold_id: Option<String>,
    pub patient: Patient,
    pub relationship: Relationship,
    /// Cancelling closes this long before the slot starts.
    pub cancel_cutoff: Duration,
}

/// The exact response given when a booking was created, replayed for a repeated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: String,
    pub body: String,
    pub fingerprint: String,
}

/// What happened to a [`NewBooking`].
#[derive(Debug, Clone)]
pub enum BookingOutcome {
    /// Committed now.
    Created(StoredResponse),
    /// Another request with the same key committed first (a race of retries).
    AlreadyStored(StoredResponse),
}

/// A booking together with the proof of ownership it asks for.
#[derive(Debug, Clone)]
pub struct OwnedBooking {
    pub booking: Booking,
    pub document_last4: String,
}

/// A claim of ownership of a booking: its code and the last four characters of the document.
#[derive(Debug, Clone)]
pub struct Proof {
    pub code: String,
    pub document_last4: String,
    pub policy: ProofPolicy,
}

/// How a proof checked outside the store ended (see [`Store::settle_proof_attempt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofOutcome {
    Held,
    Wrong,
    /// The proof could not be checked (the FHIR server did not answer).
    Unsettled,
}

/// One hospital of the demo catalogue with everything under it.
#[derive(Debug, Clone)]
pub struct CatalogueHospital {
    pub hospital: Hospital,
    pub groups: Vec<DepartmentGroup>,
    pub doctors: Vec<Doctor>,
}

/// A session to insert, with stored remaining counts and the `Stopped`/`Open` status only: full
/// and not-released are derived from counts and `release_at` when read.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hospital_id: String,
    pub session: Session,
}

/// Persistence of the booking domain.
pub trait Store: Send + Sync + 'static {
    /// Adds hospitals, departments and doctors that do not exist yet; never changes existing ones.
    fn install_catalogue(&self, catalogue: &[CatalogueHospital]) -> StoreResult<()>;
    /// Adds sessions and their slots that do not exist yet, each with its release in the open
    /// ledger; returns how many sessions were new.
    fn add_sessions(&self, sessions: &[NewSession], now: DateTime<Utc>) -> StoreResult<usize>;

    fn hospitals(&self, now: DateTime<Utc>) -> StoreResult<Vec<Hospital>>;
    fn hospital(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Hospital>;
    fn department_groups(&self, hospital_id: &str) -> StoreResult<Vec<DepartmentGroup>>;
    fn department(&self, id: &str) -> StoreResult<DepartmentEntry>;
    fn doctor(&self, id: &str) -> StoreResult<Doctor>;
    fn doctors(&self, department_id: &str) -> StoreResult<Vec<Doctor>>;
    /// Sessions with their slots, ordered by date, period and doctor; statuses as of `now`.
    fn sessions(&self, query: &SessionQuery, now: DateTime<Utc>) -> StoreResult<Vec<Session>>;
    /// UTC offset (minutes) of the hospital a slot belongs to.
    fn slot_utc_offset(&self, slot_id: &str) -> StoreResult<i32>;

    /// Takes a place for the client within its limits; a client over its live holds gives its
    /// oldest back in the same transaction.
    fn create_hold(&self, hold: &NewHold, now: DateTime<Utc>) -> StoreResult<Hold>;
    /// Gives a live hold's place back; releasing a hold that already ended is a no-op.
    fn release_hold(&self, hold_id: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Gives the places of expired holds back; returns how many holds expired.
    fn expire_holds(&self, now: DateTime<Utc>) -> StoreResult<usize>;

    fn stored_response(&self, idempotency_key: &str) -> StoreResult<Option<StoredResponse>>;
    fn create_booking(
        &self,
        booking: &NewBooking,
        now: DateTime<Utc>,
    ) -> StoreResult<BookingOutcome>;
    /// The booking the proof owns. A wrong proof (or an unknown code: the two are never told
    /// apart) counts against the code, and a code locked by too many wrong ones refuses even the
    /// right proof until the lock ends. One transaction, so parallel guesses count one by one.
    fn prove(&self, proof: &Proof, now: DateTime<Utc>) -> StoreResult<OwnedBooking>;
    /// For a proof checked elsewhere (the FHIR gateway asks the FHIR server): counts an attempt
    /// on `code` as wrong before it is checked, so parallel guesses count one by one, or refuses
    /// with [`StoreError::ProofLocked`] as [`Store::prove`] would.
    fn reserve_proof_attempt(
        &self,
        code: &str,
        policy: ProofPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// How an attempt reserved at `reserved_at` ended: a proof that held forgets the code's
    /// wrong ones, a wrong one stays counted, and one that could not be checked is uncounted.
    fn settle_proof_attempt(
        &self,
        code: &str,
        reserved_at: DateTime<Utc>,
        outcome: ProofOutcome,
    ) -> StoreResult<()>;
    fn booking_by_key(&self, idempotency_key: &str) -> StoreResult<Option<KeyedBooking>>;
    /// Cancels the booking the proof owns (see [`Store::prove`]); cancelling a cancelled booking
    /// returns it unchanged. A cancellation within `late` of the start counts as late.
    fn cancel_booking(
        &self,
        proof: &Proof,
        late: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking>;
    /// Up to `limit` leaves of the open ledger from index `from` on, in order.
    fn ledger_leaves(&self, from: u64, limit: u64) -> StoreResult<Vec<String>>;
    /// Bookings per channel per creation day (hospital time), `from..=to`.
    fn channel_stats(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<ChannelDayStats>>;

    /// Cheap liveness probe of the backend.
    fn ping(&self) -> StoreResult<()>;
}
