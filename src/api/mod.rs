//! The booking API as views see it: one trait, implemented once per backend protocol.
//!
//! Views take an [`Api`] from context and call its methods; they never build a URL or parse JSON.
//! Adding a backend means one new module implementing [`BookingApi`] and one config value.

mod deferred;
mod fhir;
mod http;
pub mod ledger;
mod native;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fairslot_core::config::{AdapterKind, Config};
use fairslot_core::retry::RetryAfter;
use fairslot_core::time::{at_hospital, hhmm};
use fairslot_core::{
    Booking, BookingRequest, BookingRule, DepartmentTree, DoctorList, Hold, HospitalList,
    KeyedBooking, Problem, ProblemKind, Schedule,
};
use leptos::prelude::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::i18n::Msg;

pub use fhir::FhirApi;
pub use http::{Dialect, Transport};
pub use native::NativeApi;

/// A request in flight. Browser futures are not `Send`, so neither is this.
pub type ApiFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + 'a>>;

/// Whose schedule to load.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ScheduleTarget {
    Doctor(String),
    Department(String),
}

/// What a booking code opens on a backend, so that pages ask for no more than it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeAccess {
    /// Lookup and cancel take the code and the last four characters of the document, checked on
    /// a server, where the browser never sees the patient.
    Proven,
    /// The code alone finds a booking, shown without its patient, and cancelling is by phone
    /// with the hospital: there is nowhere to check a proof without the browser reading the
    /// patient it is checked against (a FHIR server without the gateway).
    CodeOnly,
}

/// Operations of a booking backend, in domain terms.
pub trait BookingApi: Send + Sync {
    /// What a booking code opens here: lookup and cancel by proof, or lookup by code alone.
    fn code_access(&self) -> CodeAccess {
        CodeAccess::Proven
    }
    /// Whether the backend can hold a slot while the patient fills in the form. Without holds the
    /// booking page goes straight to the form, and the slot is taken only on confirming.
    fn holds(&self) -> bool {
        true
    }
    /// Whether the backend says it can take bookings at all. An answer that cannot be had counts
    /// as yes: each request then speaks for itself.
    fn takes_bookings(&self) -> ApiFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }
    /// Fetches ahead whatever the adapter's later calls need (its part of the app), so that the
    /// next page does not wait for it. Called once the first screen is up.
    fn prepare(&self) -> ApiFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn hospitals(&self) -> ApiFuture<'_, HospitalList>;
    fn departments(&self, hospital_id: &str) -> ApiFuture<'_, DepartmentTree>;
    fn doctors(&self, department_id: &str) -> ApiFuture<'_, DoctorList>;
    fn schedule(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> ApiFuture<'_, Schedule>;
    /// Takes one place of a slot for a few minutes while the patient fills in the form.
    fn hold(&self, slot_id: &str) -> ApiFuture<'_, Hold>;
    fn release_hold(&self, hold_id: &str) -> ApiFuture<'_, ()>;
    /// Creates a booking; the same key always yields the same booking.
    fn book(&self, request: BookingRequest, idempotency_key: String) -> ApiFuture<'_, Booking>;
    /// The booking made under a key, for a client that lost the answer. `document_last4` is the
    /// proof a lookup by code asks for, when the device still holds the patient's request: a
    /// backend that answers by key with the code alone reads the rest with it.
    fn booking_by_key(
        &self,
        idempotency_key: &str,
        document_last4: Option<&str>,
    ) -> ApiFuture<'_, KeyedAnswer>;
    /// A booking by its code, proven by the last four characters of the document. With
    /// [`CodeAccess::CodeOnly`] the proof is not asked for (pass it empty) and the booking comes
    /// without its patient.
    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking>;
    /// Cancels a booking by its code and proof. Refused with [`CodeAccess::CodeOnly`].
    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking>;
}

/// What a backend knows of the booking made under an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyedAnswer {
    /// The booking in full, as a lookup shows it.
    Booking(Box<Booking>),
    /// Its code and status only: the proof to read the rest was not at hand, or reading it
    /// failed. The booking exists all the same.
    Code(KeyedBooking),
}

/// The configured backend, shared by every view.
pub type Api = Arc<dyn BookingApi>;

/// Why a request failed, in terms a view can turn into advice for the patient.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// No answer at all: offline, DNS, connection refused, CORS.
    #[error("the booking service could not be reached")]
    Network,
    /// The request never left the device: the part of the app that makes it could not be fetched.
    /// Told to the patient like `Network`; unlike it, nothing can have reached the server.
    #[error("the request could not be sent")]
    NotSent,
    #[error("the booking service did not answer in time")]
    Timeout,
    /// A refusal the server explained with problem details.
    #[error("refused: {}", .0.title)]
    Problem(Box<Problem>),
    /// A failure without usable problem details.
    #[error("server error {status}")]
    Server {
        status: u16,
        /// The `Retry-After` header as sent, read by whoever schedules a retry.
        retry_after: Option<String>,
    },
    /// The answer could not be read as what the contract promises.
    #[error("unreadable answer: {0}")]
    BadData(String),
}

impl ApiError {
    /// What to tell the patient, without the figure or time some refusals name (see
    /// [`ApiError::advice`]).
    pub fn message(&self) -> Msg {
        match self {
            Self::Network | Self::NotSent => Msg::ErrNetwork,
            Self::Timeout => Msg::ErrTimeout,
            Self::Server { status: 429, .. } => Msg::ErrRateLimited,
            Self::Server { status: 408, .. } => Msg::ErrRequestTimeout,
            Self::Server { status: 415, .. } => Msg::ErrMediaType,
            Self::Server { .. } => Msg::ErrUnavailable,
            Self::BadData(_) => Msg::ErrBadData,
            Self::Problem(p) => match p.kind() {
                Some(ProblemKind::NotFound) => Msg::ErrNotFound,
                Some(ProblemKind::RateLimited) => Msg::ErrRateLimited,
                Some(ProblemKind::Unavailable | ProblemKind::Internal) => Msg::ErrUnavailable,
                Some(ProblemKind::BookingLimit) => Msg::LimitOther,
                Some(ProblemKind::ProofLocked) => Msg::ProofLockedLater,
                Some(ProblemKind::UnsupportedMediaType) => Msg::ErrMediaType,
                Some(ProblemKind::RequestTimeout) => Msg::ErrRequestTimeout,
                _ => Msg::ErrRequest,
            },
        }
    }

    /// What to tell the patient, with the rule's number, the end of a lock or the wait a refusal
    /// names. Times are shown at `offset_minutes` (the hospital's, where there is one); `now` is
    /// when the answer came.
    pub fn advice(&self, now: DateTime<Utc>, offset_minutes: i32) -> Advice {
        match self {
            Self::Server {
                status: 429,
                retry_after: Some(wait),
            } => match RetryAfter::parse(wait, now) {
                Ok(r) => {
                    let seconds = (r.not_before(now) - now).num_seconds().max(1);
                    if seconds > 90 {
                        Advice::with(Msg::ErrRateLimitedWaitMinutes, (seconds + 59) / 60)
                    } else {
                        Advice::with(Msg::ErrRateLimitedWait, seconds)
                    }
                }
                Err(_) => Msg::ErrRateLimited.into(),
            },
            Self::Problem(p) => problem_advice(p, now, offset_minutes),
            other => other.message().into(),
        }
    }
}

/// A refusal in words: which booking rule applies and what the patient can do about it, or until
/// when a booking code stays locked.
fn problem_advice(p: &Problem, now: DateTime<Utc>, offset_minutes: i32) -> Advice {
    let until = |with: Msg, without: Msg| match p.until {
        Some(until) => Advice::with(with, moment(until, now, offset_minutes)),
        None => without.into(),
    };
    let limit = |with: Msg| match p.limit {
        Some(n) => Advice::with(with, n),
        None => Msg::LimitOther.into(),
    };
    match (p.kind(), p.rule) {
        (Some(ProblemKind::BookingLimit), Some(rule)) => match rule {
            BookingRule::DoctorDay => Msg::LimitDoctorDay.into(),
            BookingRule::DepartmentDay => Msg::LimitDepartmentDay.into(),
            BookingRule::ActivePerPerson => limit(Msg::LimitActivePerson),
            BookingRule::ActivePerPhone => limit(Msg::LimitActivePhone),
            BookingRule::CoolingOff => until(Msg::LimitCoolingOff, Msg::LimitCoolingOffLater),
        },
        (Some(ProblemKind::ProofLocked), _) => until(Msg::ProofLocked, Msg::ProofLockedLater),
        _ => ApiError::Problem(Box::new(p.clone())).message().into(),
    }
}

/// `08:45` today, `2026-11-24 08:45` on another day, at `offset_minutes`.
fn moment(at: DateTime<FixedOffset>, now: DateTime<Utc>, offset_minutes: i32) -> String {
    let local = at_hospital(at, offset_minutes);
    let time = hhmm(at, offset_minutes);
    if local.date_naive() == at_hospital(now.fixed_offset(), offset_minutes).date_naive() {
        time
    } else {
        format!("{} {time}", local.date_naive())
    }
}

/// A message for the patient with the one value it names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub msg: Msg,
    pub arg: Option<String>,
}

impl Advice {
    fn with(msg: Msg, arg: impl std::fmt::Display) -> Self {
        Self {
            msg,
            arg: Some(arg.to_string()),
        }
    }
}

impl From<Msg> for Advice {
    fn from(msg: Msg) -> Self {
        Self { msg, arg: None }
    }
}

/// Builds the backend named by the config.
pub fn from_config(config: &Config) -> Api {
    let timeout = std::time::Duration::from_millis(config.timeout_ms.into());
    let urls = config.base_urls.clone();
    match config.adapter {
        AdapterKind::Native => {
            // A kiosk keeps its token in memory: each patient, after the reset's reload, is a
            // new client.
            let kiosk = matches!(config.mode, fairslot_core::config::Mode::Kiosk { .. });
            let dialect = Dialect::Native {
                channel: config.channel.clone(),
                client: crate::browser::client_token(kiosk),
            };
            Arc::new(deferred::Deferred::native(NativeApi::new(Transport::new(
                urls, dialect, timeout,
            ))))
        }
        AdapterKind::Fhir => Arc::new(deferred::Deferred::fhir(
            urls,
            timeout,
            config.channel.clone(),
            config.gateway,
        )),
    }
}

pub fn provide_api(api: Api) {
    provide_context(api);
}

pub fn use_api() -> Api {
    expect_context::<Api>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: ProblemKind) -> ApiError {
        ApiError::Problem(Box::new(Problem {
            type_uri: kind.type_uri(),
            title: "t".into(),
            status: kind.status(),
            detail: None,
            errors: vec![],
            alternatives: vec![],
            ..Default::default()
        }))
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn limit(rule: BookingRule, limit: Option<u32>, until: Option<&str>) -> ApiError {
        ApiError::Problem(Box::new(Problem {
            type_uri: ProblemKind::BookingLimit.type_uri(),
            title: "t".into(),
            status: 409,
            rule: Some(rule),
            limit,
            until: until.map(|u| u.parse().unwrap()),
            ..Default::default()
        }))
    }

    #[test]
    fn each_booking_rule_says_which_rule_and_what_to_do() {
        let now = at("2026-11-22T08:00:00Z");
        let advice = |e: ApiError| e.advice(now, 480);
        assert_eq!(
            advice(limit(BookingRule::DoctorDay, None, None)),
            Msg::LimitDoctorDay.into()
        );
        assert_eq!(
            advice(limit(BookingRule::DepartmentDay, None, None)),
            Msg::LimitDepartmentDay.into()
        );
        assert_eq!(
            advice(limit(BookingRule::ActivePerPerson, Some(3), None)),
            Advice::with(Msg::LimitActivePerson, 3)
        );
        assert_eq!(
            advice(limit(BookingRule::ActivePerPhone, Some(5), None)),
            Advice::with(Msg::LimitActivePhone, 5)
        );
        // The end of a cooling-off period is shown in hospital time, with its date when it is
        // not today there.
        let until = Some("2026-11-22T10:30:00Z");
        assert_eq!(
            advice(limit(BookingRule::CoolingOff, None, until)),
            Advice::with(Msg::LimitCoolingOff, "18:30")
        );
        let until = Some("2026-11-25T01:00:00+00:00");
        assert_eq!(
            advice(limit(BookingRule::CoolingOff, None, until)),
            Advice::with(Msg::LimitCoolingOff, "2026-11-25 09:00")
        );
        // A server that leaves out the figure still gets a sentence that reads.
        assert_eq!(
            advice(limit(BookingRule::ActivePerPerson, None, None)),
            Msg::LimitOther.into()
        );
        assert_eq!(
            advice(limit(BookingRule::CoolingOff, None, None)),
            Msg::LimitCoolingOffLater.into()
        );
    }

    #[test]
    fn a_locked_code_says_until_when_and_a_rate_limit_how_long_to_wait() {
        let now = at("2026-11-22T08:00:00Z");
        let mut locked = Problem {
            type_uri: ProblemKind::ProofLocked.type_uri(),
            status: 429,
            until: Some("2026-11-22T16:15:00+08:00".parse().unwrap()),
            ..Default::default()
        };
        let e = ApiError::Problem(Box::new(locked.clone()));
        assert_eq!(e.advice(now, 480), Advice::with(Msg::ProofLocked, "16:15"));
        assert_eq!(e.advice(now, 0), Advice::with(Msg::ProofLocked, "08:15"));
        locked.until = None;
        let e = ApiError::Problem(Box::new(locked));
        assert_eq!(e.advice(now, 480), Msg::ProofLockedLater.into());
        let busy = |retry_after: Option<&str>| ApiError::Server {
            status: 429,
            retry_after: retry_after.map(str::to_string),
        };
        assert_eq!(
            busy(Some("42")).advice(now, 480),
            Advice::with(Msg::ErrRateLimitedWait, 42)
        );
        assert_eq!(
            busy(Some("Sun, 22 Nov 2026 08:01:30 GMT")).advice(now, 480),
            Advice::with(Msg::ErrRateLimitedWait, 90)
        );
        // A wait of more than a minute and a half is told in minutes.
        assert_eq!(
            busy(Some("3540")).advice(now, 480),
            Advice::with(Msg::ErrRateLimitedWaitMinutes, 59)
        );
        assert_eq!(busy(None).advice(now, 480), Msg::ErrRateLimited.into());
        assert_eq!(
            problem(ProblemKind::RequestTimeout).message(),
            Msg::ErrRequestTimeout
        );
        assert_eq!(
            problem(ProblemKind::UnsupportedMediaType).message(),
            Msg::ErrMediaType
        );
    }

    #[test]
    fn each_failure_has_advice() {
        assert_eq!(ApiError::Network.message(), Msg::ErrNetwork);
        assert_eq!(ApiError::NotSent.message(), Msg::ErrNetwork);
        assert_eq!(problem(ProblemKind::NotFound).message(), Msg::ErrNotFound);
        assert_eq!(
            ApiError::Server {
                status: 429,
                retry_after: Some("2".into())
            }
            .message(),
            Msg::ErrRateLimited
        );
        assert_eq!(
            ApiError::Server {
                status: 500,
                retry_after: None
            }
            .message(),
            Msg::ErrUnavailable
        );
    }
}
