//! RFC 9457 problem responses: every failure leaves the server as `application/problem+json` with a
//! stable `type` from [`ProblemKind`], so clients branch on the type and never parse prose.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use fairslot_core::{Alternative, BookingRule, FieldError, Problem, ProblemKind};

use crate::store::{StoreError, Unavailability};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failure on its way to becoming a problem response.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub alternatives: Vec<Alternative>,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u32>,
    pub rule: Option<BookingRule>,
    pub limit: Option<u32>,
    pub until: Option<DateTime<FixedOffset>>,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            errors: Vec::new(),
            alternatives: Vec::new(),
            retry_after: None,
            rule: None,
            limit: None,
            until: None,
        }
    }

    /// A 429 with `Retry-After`.
    pub fn rate_limited(retry_after_seconds: u32) -> Self {
        Self::new(
            ProblemKind::RateLimited,
            format!("Too many requests from this client; try again in {retry_after_seconds} s."),
        )
        .with_retry_after(retry_after_seconds)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    /// A 422 listing every invalid field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        Self {
            errors,
            ..Self::new(ProblemKind::Validation, detail)
        }
    }

    /// A 422 about one field.
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![field_error(field, code, message)])
    }

    pub fn internal() -> Self {
        Self::new(
            ProblemKind::Internal,
            "Something went wrong on our side; nothing was changed. Please try again.",
        )
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: self.kind.type_uri(),
            title: title(self.kind).to_string(),
            status: self.kind.status(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            alternatives: self.alternatives.clone(),
            rule: self.rule,
            limit: self.limit,
            until: self.until,
        }
    }
}

pub fn field_error(field: &str, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

/// A short, fixed summary per kind (RFC 9457 `title`); the `detail` says what happened this time.
pub fn title(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::NotFound => "Not found",
        ProblemKind::Validation => "The request is not valid",
        ProblemKind::SlotTaken => "This slot has just been taken",
        ProblemKind::HoldExpired => "The hold has expired",
        ProblemKind::SessionUnavailable => "This session cannot be booked",
        ProblemKind::CancelClosed => "Cancelling is no longer possible",
        ProblemKind::IdempotencyConflict => "Idempotency key reused for a different request",
        ProblemKind::IdempotencyKeyMissing => "An Idempotency-Key header is required",
        ProblemKind::RateLimited => "Too many requests",
        ProblemKind::Unavailable => "The service is temporarily unavailable",
        ProblemKind::PayloadTooLarge => "The request body is too large",
        ProblemKind::Internal => "Internal error",
        ProblemKind::BookingLimit => "A booking rule does not allow this booking",
        ProblemKind::ProofLocked => "Too many wrong attempts for this booking code",
        ProblemKind::UnsupportedMediaType => "The body must be application/json",
        ProblemKind::RequestTimeout => "The request did not arrive in time",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = problem_response(status, &self.problem());
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn rule_detail(
    rule: BookingRule,
    limit: Option<u32>,
    until: Option<DateTime<FixedOffset>>,
) -> String {
    let n = limit.unwrap_or(1);
    match rule {
        BookingRule::DoctorDay => {
            format!("A patient may have {n} booking(s) with one doctor on one day.")
        }
        BookingRule::DepartmentDay => {
            format!("A patient may have {n} booking(s) in one department on one day.")
        }
        BookingRule::ActivePerPerson => {
            format!("A patient may have {n} upcoming booking(s); cancel one to book another.")
        }
        BookingRule::ActivePerPhone => format!(
            "One mobile number may have {n} upcoming booking(s); cancel one to book another."
        ),
        BookingRule::CoolingOff => format!(
            "After {n} late cancellations, booking is possible again from {}.",
            until.map(|u| u.to_rfc3339()).unwrap_or_default()
        ),
    }
}

/// Serialises any problem body with the right media type; errors are never cached.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// 405 has no [`ProblemKind`]: it is a client programming error, described with `about:blank`
/// as RFC 9457 suggests for plain HTTP statuses.
pub fn method_not_allowed() -> Response {
    problem_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &Problem {
            type_uri: "about:blank".into(),
            title: "Method Not Allowed".into(),
            status: 405,
            detail: Some("This resource does not support this HTTP method.".into()),
            errors: Vec::new(),
            alternatives: Vec::new(),
            ..Default::default()
        },
    )
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(format!("No {what} with this id.")),
            StoreError::SlotTaken { alternatives } => Self {
                alternatives,
                ..Self::new(
                    ProblemKind::SlotTaken,
                    "Every place in this slot is taken. Pick one of the alternatives or another slot.",
                )
            },
            StoreError::HoldExpired => Self::new(
                ProblemKind::HoldExpired,
                "The hold is no longer valid; hold the slot again if it is still free.",
            ),
            StoreError::HoldMismatch => Self::invalid_field(
                "hold_id",
                "slot_mismatch",
                "the hold belongs to a different slot",
            ),
            StoreError::Unavailable(why) => Self::new(
                ProblemKind::SessionUnavailable,
                match why {
                    Unavailability::Stopped => {
                        "The doctor does not see patients in this session (停诊).".to_string()
                    }
                    Unavailability::NotReleased(Some(at)) => {
                        format!(
                            "Places for this session are released at {}.",
                            at.to_rfc3339()
                        )
                    }
                    Unavailability::NotReleased(None) => {
                        "Places for this session are not released yet.".to_string()
                    }
                    Unavailability::Started => "This slot has already started.".to_string(),
                },
            ),
            StoreError::CancelClosed { deadline } => Self::new(
                ProblemKind::CancelClosed,
                format!(
                    "Cancelling closed at {}; please contact the hospital.",
                    deadline.to_rfc3339()
                ),
            ),
            StoreError::BookingLimit { rule, limit, until } => Self {
                rule: Some(rule),
                limit,
                until,
                ..Self::new(ProblemKind::BookingLimit, rule_detail(rule, limit, until))
            },
            StoreError::ProofLocked {
                until,
                retry_after_seconds,
            } => Self {
                until: Some(until),
                ..Self::new(
                    ProblemKind::ProofLocked,
                    format!(
                        "Lookup and cancel are locked for this booking code until {}.",
                        until.to_rfc3339()
                    ),
                )
            }
            .with_retry_after(retry_after_seconds),
            StoreError::RateLimited {
                retry_after_seconds,
            } => Self::rate_limited(retry_after_seconds),
            StoreError::Busy => Self::new(
                ProblemKind::Unavailable,
                "The database is busy; please retry shortly.",
            )
            .with_retry_after(1),
            StoreError::Backend(_) => Self::internal(),
        }
    }
}
