//! Storage behind one trait, so the HTTP layer never sees SQL and another backend (PostgreSQL) can
//! be added as one more implementation.
//!
//! Methods are synchronous: implementations are free to block, and callers run them on Tokio's
//! blocking pool. Every method that changes capacity does so in a single transaction, which is what
//! makes overbooking impossible however many clients race.

pub mod sqlite;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fairslot_core::identity::Patient;
use fairslot_core::{
    Alternative, Booking, ChannelDayStats, Department, DepartmentGroup, Doctor, Hold, Hospital,
    Relationship, Session,
};

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

/// A booking attempt that has passed validation.
#[derive(Debug, Clone)]
pub struct NewBooking {
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
    /// Adds sessions and their slots that do not exist yet; returns how many sessions were new.
    fn add_sessions(&self, sessions: &[NewSession]) -> StoreResult<usize>;

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

    fn create_hold(&self, slot_id: &str, now: DateTime<Utc>, ttl: Duration) -> StoreResult<Hold>;
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
    fn booking_by_code(&self, code: &str) -> StoreResult<Option<OwnedBooking>>;
    fn booking_by_key(&self, idempotency_key: &str) -> StoreResult<Option<Booking>>;
    /// Cancels if `document_last4` matches; cancelling a cancelled booking returns it unchanged.
    fn cancel_booking(
        &self,
        code: &str,
        document_last4: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Booking>;
    /// Bookings per channel per creation day (hospital time), `from..=to`.
    fn channel_stats(&self, from: NaiveDate, to: NaiveDate) -> StoreResult<Vec<ChannelDayStats>>;

    /// Cheap liveness probe of the backend.
    fn ping(&self) -> StoreResult<()>;
}
