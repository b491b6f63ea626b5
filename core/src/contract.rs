//! Request and response types of the native booking API (`/api/v1`).
//!
//! The server serialises exactly these types and the app's native adapter deserialises them, so the
//! two agree by construction. `server/openapi.json` documents the same shapes for outsiders.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};

/// Path prefix of every versioned route.
pub const API_PREFIX: &str = "/api/v1";
/// Header naming the channel (telecom portal, kiosk, partner app…) a request comes through.
pub const CHANNEL_HEADER: &str = "X-Fairslot-Channel";
/// Header carrying the client's idempotency key on booking creation.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
/// Header naming the client (one browser tab, or one patient at a kiosk) a hold belongs to: a
/// random token the app makes, never derived from the device or the person. Holds are capped per
/// client, so one script cannot keep a session's places from everyone else.
pub const CLIENT_HEADER: &str = "X-Fairslot-Client";
/// Shortest and longest client token; its characters are `A-Z a-z 0-9 - _`.
pub const CLIENT_TOKEN_LEN: std::ops::RangeInclusive<usize> = 16..=64;

/// Whether `s` is a client token the server takes ([`CLIENT_HEADER`]).
///
/// ```
/// assert!(fairslot_core::is_client_token("3f9c0a7d2b6e41c8"));
/// assert!(!fairslot_core::is_client_token("short"));
/// assert!(!fairslot_core::is_client_token("with spaces in the token"));
/// ```
pub fn is_client_token(s: &str) -> bool {
    CLIENT_TOKEN_LEN.contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
/// Whether `s` is a channel id: what [`CHANNEL_HEADER`] carries and the config names, 1 to 32
/// characters of `a-z 0-9 - _`.
///
/// ```
/// assert!(fairslot_core::is_channel_id("telecom-114"));
/// assert!(!fairslot_core::is_channel_id("Kiosk"));
/// assert!(!fairslot_core::is_channel_id(""));
/// ```
pub fn is_channel_id(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Longest schedule window one request may ask for.
pub const MAX_SCHEDULE_DAYS: u32 = 31;
/// Most alternatives a slot-taken answer offers.
pub const MAX_ALTERNATIVES: usize = 3;

/// A name or description in both languages the product speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Chinese hospital grading (医院等级), e.g. 三级甲等.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HospitalLevel {
    #[serde(rename = "3A")]
    Grade3A,
    #[serde(rename = "3B")]
    Grade3B,
    #[serde(rename = "2A")]
    Grade2A,
    #[serde(rename = "2B")]
    Grade2B,
    #[serde(rename = "1")]
    Grade1,
}

impl HospitalLevel {
    pub const ALL: [HospitalLevel; 5] = [
        Self::Grade3A,
        Self::Grade3B,
        Self::Grade2A,
        Self::Grade2B,
        Self::Grade1,
    ];

    /// The wire code, also used in URLs and filters.
    pub fn code(self) -> &'static str {
        match self {
            Self::Grade3A => "3A",
            Self::Grade3B => "3B",
            Self::Grade2A => "2A",
            Self::Grade2B => "2B",
            Self::Grade1 => "1",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct District {
    pub id: String,
    pub name: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hospital {
    pub id: String,
    pub name: Text,
    /// Not every backend states a grade (a FHIR server may not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<HospitalLevel>,
    pub district: District,
    pub address: Text,
    pub phone: String,
    /// The hospital's UTC offset in minutes; all its times are shown in it.
    pub utc_offset_minutes: i32,
    /// Whether any session today still has a slot that can be booked; `None` when the backend
    /// cannot say without reading every schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_slots_today: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HospitalList {
    pub items: Vec<Hospital>,
}

/// A clinical department (科室) that patients book with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Department {
    pub id: String,
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
}

/// The first level of a hospital's department tree, e.g. 内科 containing 心血管内科.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentGroup {
    pub id: String,
    pub name: Text,
    pub departments: Vec<Department>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentTree {
    pub hospital: Hospital,
    pub groups: Vec<DepartmentGroup>,
}

/// Professional title (职称).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoctorTitle {
    /// 主任医师
    Chief,
    /// 副主任医师
    AssociateChief,
    /// 主治医师
    Attending,
    /// 住院医师
    Resident,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Doctor {
    pub id: String,
    pub hospital_id: String,
    pub department_id: String,
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<DoctorTitle>,
    pub specialty: Text,
    /// Registration fee in fen (0.01 CNY); `None` when the backend does not publish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_fen: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoctorList {
    pub department: Department,
    pub hospital: Hospital,
    pub items: Vec<Doctor>,
}

/// Half-day clinic session (出诊时段).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Am,
    Pm,
    Evening,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Am, Period::Pm, Period::Evening];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Open,
    Full,
    /// 停诊: the doctor does not see patients in this session.
    Stopped,
    /// 号源 not yet released; see `release_at`.
    NotReleased,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    pub id: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub capacity: u32,
    pub remaining: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    pub doctor_id: String,
    pub department_id: String,
    /// The calendar day in the hospital's own time.
    pub date: NaiveDate,
    pub period: Period,
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_fen: Option<u32>,
    pub slots: Vec<Slot>,
}

impl Session {
    pub fn remaining(&self) -> u32 {
        self.slots.iter().map(|s| s.remaining).sum()
    }

    pub fn capacity(&self) -> u32 {
        self.slots.iter().map(|s| s.capacity).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub from: NaiveDate,
    pub days: u32,
    pub utc_offset_minutes: i32,
    /// The doctors the sessions belong to, so a department schedule needs no second request.
    pub doctors: Vec<Doctor>,
    pub sessions: Vec<Session>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequest {
    pub slot_id: String,
}

/// A temporary claim on one unit of a slot's capacity (锁号).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub id: String,
    pub slot_id: String,
    pub expires_at: DateTime<FixedOffset>,
    /// The server's clock when the hold was made; countdowns use the difference, not the device clock.
    pub server_time: DateTime<FixedOffset>,
}

/// Identity document kind (证件类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 居民身份证, 18 characters with a GB 11643 check digit.
    ResidentId,
    Passport,
    /// 港澳居民来往内地通行证
    HkMacaoPermit,
    /// 台湾居民来往大陆通行证
    TaiwanPermit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    #[serde(rename = "self")]
    Myself,
    Child,
    Parent,
    Spouse,
    Other,
}

/// The patient (就诊人) as the person booking entered them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientInput {
    pub name: String,
    pub document_kind: DocumentKind,
    pub document_number: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_card: Option<String>,
    pub relationship: Relationship,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRequest {
    pub slot_id: String,
    /// The hold this booking turns into; without one the slot's free capacity is used directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<String>,
    pub patient: PatientInput,
}

/// The patient as a booking shows them back: masked, never the full numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedPatient {
    pub name: String,
    pub document_kind: DocumentKind,
    pub document_number: String,
    pub phone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

/// Where and when, denormalised so a booking can be shown without further requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotSummary {
    pub slot_id: String,
    pub start: DateTime<FixedOffset>,
    pub end: DateTime<FixedOffset>,
    pub period: Period,
    pub hospital_id: String,
    pub hospital_name: Text,
    pub hospital_address: Text,
    pub department_id: String,
    pub department_name: Text,
    pub doctor_id: String,
    pub doctor_name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_fen: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booking {
    /// Short human code (e.g. `K7Q4-M2XP`) used at the hospital and for lookups.
    pub code: String,
    pub status: BookingStatus,
    pub slot: SlotSummary,
    pub patient: MaskedPatient,
    pub channel: String,
    pub created_at: DateTime<FixedOffset>,
    /// Cancelling is possible until this instant.
    pub cancel_deadline: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    /// Where the booking stands in the deployment's open ledger, if it keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerRef>,
}

/// A booking's entry in the open ledger: its index, and the opaque id the entry carries instead
/// of anything about the booking or the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRef {
    pub index: u64,
    pub entry: String,
}

/// Body of a booking lookup (`POST /bookings/{code}/lookup`): proof of ownership, the last four
/// characters of the ID document. It travels in the body, never in the URL, because proxies and
/// CDNs log URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupRequest {
    pub document_last4: String,
}

/// Body of a cancellation (`POST /bookings/{code}/cancel`): the same proof of ownership as a
/// lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub document_last4: String,
}

/// Body of `POST /bookings/by-key`: did a booking request sent under this idempotency key get
/// through? The key is a credential of the device that made it, so it travels in a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLookupRequest {
    pub idempotency_key: String,
}

/// The answer to [`KeyLookupRequest`]: the booking's code and status, nothing about the patient.
/// The device that holds the key also holds the proof, and looks the booking up with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedBooking {
    pub code: String,
    pub status: BookingStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDayStats {
    pub channel: String,
    pub date: NaiveDate,
    pub booked: u32,
    pub cancelled: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStats {
    pub rows: Vec<ChannelDayStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub time: DateTime<FixedOffset>,
}

/// Stable failure kinds; each has its own problem `type` URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    NotFound,
    Validation,
    SlotTaken,
    HoldExpired,
    SessionUnavailable,
    CancelClosed,
    IdempotencyConflict,
    IdempotencyKeyMissing,
    RateLimited,
    Unavailable,
    PayloadTooLarge,
    Internal,
    /// A real-name booking rule (实名制) refuses the booking; [`Problem::rule`] says which.
    BookingLimit,
    /// Too many wrong proofs for this booking code: lookup and cancel are locked until
    /// [`Problem::until`].
    ProofLocked,
    /// A request body that is not `application/json`.
    UnsupportedMediaType,
    /// The request did not arrive in full in time.
    RequestTimeout,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 16] = [
        Self::NotFound,
        Self::Validation,
        Self::SlotTaken,
        Self::HoldExpired,
        Self::SessionUnavailable,
        Self::CancelClosed,
        Self::IdempotencyConflict,
        Self::IdempotencyKeyMissing,
        Self::RateLimited,
        Self::Unavailable,
        Self::PayloadTooLarge,
        Self::Internal,
        Self::BookingLimit,
        Self::ProofLocked,
        Self::UnsupportedMediaType,
        Self::RequestTimeout,
    ];

    /// The short slug in the problem `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::Validation => "validation",
            Self::SlotTaken => "slot-taken",
            Self::HoldExpired => "hold-expired",
            Self::SessionUnavailable => "session-unavailable",
            Self::CancelClosed => "cancel-closed",
            Self::IdempotencyConflict => "idempotency-conflict",
            Self::IdempotencyKeyMissing => "idempotency-key-missing",
            Self::RateLimited => "rate-limited",
            Self::Unavailable => "unavailable",
            Self::PayloadTooLarge => "payload-too-large",
            Self::Internal => "internal",
            Self::BookingLimit => "booking-limit",
            Self::ProofLocked => "proof-locked",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::RequestTimeout => "request-timeout",
        }
    }

    /// The RFC 9457 `type` member: a URN, so clients compare it and never dereference it.
    pub fn type_uri(self) -> String {
        format!("urn:fairslot:problem:{}", self.slug())
    }

    pub fn from_type_uri(uri: &str) -> Option<Self> {
        let slug = uri.strip_prefix("urn:fairslot:problem:")?;
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }

    pub fn status(self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Validation => 422,
            Self::SlotTaken => 409,
            Self::HoldExpired => 410,
            Self::SessionUnavailable => 409,
            Self::CancelClosed => 409,
            Self::IdempotencyConflict => 422,
            Self::IdempotencyKeyMissing => 400,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::PayloadTooLarge => 413,
            Self::Internal => 500,
            Self::BookingLimit => 409,
            Self::ProofLocked => 429,
            Self::UnsupportedMediaType => 415,
            Self::RequestTimeout => 408,
        }
    }
}

/// The [`FieldError::code`]s of a request's fields that are wrong for a reason any field can
/// have. Identity fields add their own, each [`crate::identity::IdentityError::code`], which uses
/// these where the reason is the same.
pub mod field_code {
    /// Missing or empty.
    pub const REQUIRED: &str = "required";
    /// More characters than the field takes.
    pub const TOO_LONG: &str = "too_long";
    /// Not written the way the field is written (a date, a header's alphabet, a resident ID).
    pub const FORMAT: &str = "format";
    /// A number or date outside the range the field allows.
    pub const OUT_OF_RANGE: &str = "out_of_range";
}

/// One invalid field of a request, with a machine code the app translates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `patient.document_number`.
    pub field: String,
    /// Stable code, e.g. `check_digit`; see [`crate::identity::IdentityError::code`].
    pub code: String,
    pub message: String,
}

/// The real-name booking rule (实名制) behind a [`ProblemKind::BookingLimit`] refusal. "Person" is
/// the document (kind and number); the limits are the deployment's and come in [`Problem::limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingRule {
    /// One booking per person per doctor per day.
    DoctorDay,
    /// One booking per person per department per day.
    DepartmentDay,
    /// At most `limit` bookings not yet attended per person.
    ActivePerPerson,
    /// At most `limit` bookings not yet attended per mobile number.
    ActivePerPhone,
    /// Too many late cancellations or unkept bookings: booking again is possible from `until`.
    CoolingOff,
}

impl BookingRule {
    pub const ALL: [BookingRule; 5] = [
        Self::DoctorDay,
        Self::DepartmentDay,
        Self::ActivePerPerson,
        Self::ActivePerPhone,
        Self::CoolingOff,
    ];
}

/// An RFC 9457 problem details body (`application/problem+json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Other slots of the same doctor or department, offered when the asked one is taken.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
    /// Which booking rule refused ([`ProblemKind::BookingLimit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<BookingRule>,
    /// The number the rule allows, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// When a lock or a cooling-off period ends, on the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<FixedOffset>>,
}

impl Problem {
    /// The problem without the server's free text (`detail`, field messages), which may repeat
    /// what the patient typed: what a device keeps after the answer was read. Types, codes,
    /// fields and alternatives stay, and they are what the app shows.
    pub fn without_free_text(mut self) -> Self {
        self.detail = None;
        for e in &mut self.errors {
            e.message.clear();
        }
        self
    }

    pub fn kind(&self) -> Option<ProblemKind> {
        ProblemKind::from_type_uri(&self.type_uri)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternative {
    pub slot: Slot,
    pub doctor_id: String,
    pub doctor_name: Text,
    pub date: NaiveDate,
    pub period: Period,
}

/// Percent-encodes one path segment or query value. Only letters, digits, `-`, `_`, `~` and `.`
/// pass: an id taken from a URL or an API answer can never change which route is called.
///
/// Browsers read `%2E` in a path as a dot, so encoding dots would not stop `..` from climbing a
/// level, and would make the address bar and the app disagree about a path. Dots stay dots, and a
/// value made of dots alone, the only one a URL parser treats as `.` or `..`, is encoded twice: it
/// reaches the server as the literal text `%2E`, which names nothing.
pub fn encode_component(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b == b'.') {
        return "%252E".repeat(s.len());
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_components_cannot_escape_their_segment() {
        assert_eq!(encode_component("h1-cardio_2"), "h1-cardio_2");
        assert_eq!(encode_component("../admin?x=1#y"), "..%2Fadmin%3Fx%3D1%23y");
        assert_eq!(encode_component("org.b-resp"), "org.b-resp");
        assert_eq!(encode_component(".."), "%252E%252E");
        assert_eq!(encode_component("."), "%252E");
        assert_eq!(encode_component("心"), "%E5%BF%83");
    }

    #[test]
    fn problem_types_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemKind::ALL {
            assert_eq!(ProblemKind::from_type_uri(&kind.type_uri()), Some(kind));
            assert!(seen.insert(kind.slug()), "duplicate slug {}", kind.slug());
        }
        assert_eq!(ProblemKind::from_type_uri("about:blank"), None);
    }

    #[test]
    fn levels_use_their_wire_codes() {
        for level in HospitalLevel::ALL {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{}\"", level.code()));
            assert_eq!(HospitalLevel::from_code(level.code()), Some(level));
        }
    }

    #[test]
    fn slot_times_keep_their_offset_on_the_wire() {
        let json = r#"{"id":"s1","start":"2026-11-23T08:00:00+08:00","end":"2026-11-23T08:10:00+08:00","capacity":2,"remaining":1}"#;
        let slot: Slot = serde_json::from_str(json).unwrap();
        assert_eq!(slot.start.offset().local_minus_utc(), 8 * 3600);
        assert!(
            serde_json::to_string(&slot)
                .unwrap()
                .contains("08:00:00+08:00")
        );
    }

    #[test]
    fn ownership_proofs_name_document_last4_on_the_wire() {
        let lookup = LookupRequest {
            document_last4: "002X".into(),
        };
        let json = serde_json::to_string(&lookup).unwrap();
        assert_eq!(json, r#"{"document_last4":"002X"}"#);
        let cancel: CancelRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(cancel.document_last4, lookup.document_last4);
    }

    #[test]
    fn relationship_self_is_spelled_self() {
        assert_eq!(
            serde_json::to_string(&Relationship::Myself).unwrap(),
            "\"self\""
        );
    }
}
