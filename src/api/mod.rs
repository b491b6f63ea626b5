//! The booking API as views see it: one trait, implemented once per backend protocol.
//!
//! Views take an [`Api`] from context and call its methods; they never build a URL or parse JSON.
//! Adding a backend means one new module implementing [`BookingApi`] and one config value.

mod deferred;
mod fhir;
mod http;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleTarget {
    Doctor(String),
    Department(String),
}

/// Operations of a booking backend, in domain terms.
pub trait BookingApi: Send + Sync {
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
    /// A booking by its code, proven by the last four characters of the document.
    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking>;
    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking>;
    /// The body of a public read by its path, straight from the network: how the read cache
    /// refreshes what it showed from the device.
    fn read_raw(&self, path: &str) -> ApiFuture<'_, String>;
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
    /// What to tell the patient.
    pub fn message(&self) -> Msg {
        match self {
            Self::Network | Self::NotSent => Msg::ErrNetwork,
            Self::Timeout => Msg::ErrTimeout,
            Self::Server { status: 429, .. } => Msg::ErrRateLimited,
            Self::Server { .. } => Msg::ErrUnavailable,
            Self::BadData(_) => Msg::ErrBadData,
            Self::Problem(p) => match p.kind() {
                Some(ProblemKind::NotFound) => Msg::ErrNotFound,
                Some(ProblemKind::RateLimited) => Msg::ErrRateLimited,
                Some(ProblemKind::Unavailable | ProblemKind::Internal) => Msg::ErrUnavailable,
                _ => Msg::ErrRequest,
            },
        }
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
        }))
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
