//! Request extractors whose every rejection is a problem+json answer (axum's own are text/plain),
//! plus the typed headers of the API: channel and idempotency key.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use fairslot_core::outbox::IdempotencyKey;
use fairslot_core::time::parse_date;
use fairslot_core::{
    CHANNEL_HEADER, CLIENT_HEADER, IDEMPOTENCY_HEADER, ProblemKind, field_code, is_channel_id,
    is_client_token,
};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, field_error};

/// Largest JSON body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A raw body of at most [`MAX_BODY_BYTES`]; an oversized or unreadable one is a problem, not
/// axum's plain-text rejection.
pub struct ApiBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBody)
            .map_err(body_rejection)
    }
}

/// A JSON body, sent as `application/json`. Any other media type is a 415: a `text/plain` (or
/// form) body is what another website can make a visitor's browser send without a CORS
/// preflight, so accepting it would let any page take holds or guess proofs through its visitors.
pub struct ApiJson<T>(pub T);

/// `application/json`, with or without parameters (`; charset=utf-8`), in any case.
pub fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_media_type);
        if !json {
            return Err(ApiError::new(
                ProblemKind::UnsupportedMediaType,
                "Send the body as application/json.",
            ));
        }
        let ApiBody(bytes) = ApiBody::from_request(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::new(ProblemKind::Validation, json_error_detail(&e)))
    }
}

fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("The body may be at most {MAX_BODY_BYTES} bytes."),
        )
    } else {
        ApiError::new(
            ProblemKind::Validation,
            "The request body could not be read.",
        )
    }
}

/// A description of a JSON error that names the place but never echoes submitted values, which
/// may be personal data.
fn json_error_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax => format!("The body is not valid JSON ({at})."),
        Category::Eof => "The body is empty or ends too early.".to_string(),
        Category::Io => "The request body could not be read.".to_string(),
        Category::Data => format!(
            "The body does not have the expected shape: {} ({at}).",
            redact_quoted(&e.to_string())
        ),
    }
}

/// serde messages quote offending values as `"..."` or `` `...` ``; only field names (after
/// "field ") are kept, anything else could be a phone or document number.
fn redact_quoted(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<(char, bool)> = None;
    for c in message.chars() {
        match quote {
            None if c == '"' || c == '`' => {
                let keep = c == '`' && out.ends_with("field ");
                out.push(c);
                if !keep {
                    out.push('…');
                }
                quote = Some((c, keep));
            }
            None => out.push(c),
            Some((q, _)) if c == q => {
                out.push(c);
                quote = None;
            }
            Some((_, keep)) => {
                if keep {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Query parameters; a malformed query string is a 422.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e: QueryRejection| {
                ApiError::new(
                    ProblemKind::Validation,
                    format!(
                        "The query string is not valid: {}.",
                        redact_quoted(&e.body_text())
                    ),
                )
            })
    }
}

/// Path parameters; a segment that cannot be decoded names nothing that exists, so it is a 404.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| ApiPath(p))
            .map_err(|_: PathRejection| ApiError::not_found("Nothing exists at this address."))
    }
}

/// The channel (telecom portal, kiosk, partner app…) a request came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel(pub String);

impl Channel {
    /// The channel of requests that do not name one.
    pub const DIRECT: &'static str = "direct";

    /// Reads the channel header: absent means [`Channel::DIRECT`]; present but malformed is an
    /// error, because silently re-attributing bookings would defeat per-channel accounting.
    pub fn from_parts(parts: &Parts) -> Result<Self, ApiError> {
        match parts.headers.get(CHANNEL_HEADER) {
            None => Ok(Self(Self::DIRECT.to_string())),
            Some(value) => value
                .to_str()
                .ok()
                .filter(|v| is_channel_id(v))
                .map(|v| Self(v.to_string()))
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "header.X-Fairslot-Channel",
                        field_code::FORMAT,
                        "a channel id has 1 to 32 characters: a-z, 0-9, - and _",
                    )
                }),
        }
    }

    /// A label for logs: the channel, or a placeholder that does not echo a malformed header.
    pub fn log_label(parts: &Parts) -> String {
        Self::from_parts(parts).map_or_else(|_| "invalid".to_string(), |c| c.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Channel {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Channel>() {
            Some(channel) => Ok(channel.clone()),
            None => Self::from_parts(parts),
        }
    }
}

/// Middleware validating the channel header of every API request up front.
pub async fn require_valid_channel(request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match Channel::from_parts(&parts) {
        Ok(channel) => {
            parts.extensions.insert(channel);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    }
}

/// The `Idempotency-Key` header of a booking request, checked by the rule the app makes its keys
/// by ([`IdempotencyKey::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyHeader(pub IdempotencyKey);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_HEADER) else {
            return Err(ApiError::new(
                ProblemKind::IdempotencyKeyMissing,
                "Send an Idempotency-Key header so a retried request cannot book twice.",
            ));
        };
        value
            .to_str()
            .ok()
            .and_then(|v| IdempotencyKey::parse(v).ok())
            .map(Self)
            .ok_or_else(|| {
                ApiError::new(
                    ProblemKind::IdempotencyKeyMissing,
                    "The Idempotency-Key header must be 8 to 128 characters of A-Z, a-z, 0-9, - and _.",
                )
            })
    }
}

/// The client a hold belongs to: the app's random token for one tab (or one patient at a kiosk),
/// from the `X-Fairslot-Client` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(CLIENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_client_token(v))
            .map(|v| Self(v.to_string()))
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "header.X-Fairslot-Client",
                    field_code::FORMAT,
                    "a hold needs the client's token: 16 to 64 characters of A-Z, a-z, 0-9, - and _",
                )
            })
    }
}

/// The address a request comes from, as [`crate::guard`] resolved it (the peer, or the client a
/// trusted proxy names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Requests always pass the guard; one built by hand (a test's oneshot) is loopback.
        Ok(parts
            .extensions
            .get::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(std::net::Ipv4Addr::LOCALHOST.into())))
    }
}

/// Parses a `days` parameter: a whole number in `1..=max`, `default` when absent.
pub fn parse_days(value: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=max).contains(d))
        .ok_or_else(|| {
            ApiError::invalid_field(
                "days",
                field_code::OUT_OF_RANGE,
                format!("days must be a whole number from 1 to {max}"),
            )
        })
}

/// Parses a `from` date (`YYYY-MM-DD`) that must lie within `window` days of `today` either way.
pub fn parse_from(
    value: Option<&str>,
    default: NaiveDate,
    today: NaiveDate,
    window: i64,
) -> Result<NaiveDate, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let date = parse_date(value.trim()).ok_or_else(|| {
        ApiError::invalid_field(
            "from",
            field_code::FORMAT,
            "from must be a date written YYYY-MM-DD",
        )
    })?;
    if (date - today).abs() > Duration::days(window) {
        return Err(ApiError::invalid_field(
            "from",
            field_code::OUT_OF_RANGE,
            format!("from must be within {window} days of today"),
        ));
    }
    Ok(date)
}

/// Refuses over-long free-text parameters before they reach any query.
pub fn check_length(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.chars().count() > max_chars {
        Err(ApiError::invalid(vec![field_error(
            field,
            field_code::TOO_LONG,
            format!("{field} may have at most {max_chars} characters"),
        )]))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_bodies_are_json() {
        for yes in [
            "application/json",
            "Application/JSON; charset=utf-8",
            " application/json ",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/jsonp",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn json_errors_never_echo_values() {
        let e = serde_json::from_str::<u32>("\"330106199001011234\"").unwrap_err();
        let detail = json_error_detail(&e);
        assert!(!detail.contains("3301"), "{detail}");
        assert!(detail.contains("expected u32"), "{detail}");
        let e = serde_json::from_str::<String>("13812345678").unwrap_err();
        assert!(!json_error_detail(&e).contains("138"));
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            slot_id: String,
        }
        let e = serde_json::from_str::<Body>("{}").unwrap_err();
        assert!(json_error_detail(&e).contains("`slot_id`"));
    }

    #[test]
    fn days_and_dates_are_bounded() {
        assert_eq!(parse_days(None, 7, 31).unwrap(), 7);
        assert_eq!(parse_days(Some("31"), 7, 31).unwrap(), 31);
        for bad in ["0", "32", "-1", "9999", "seven", ""] {
            assert!(parse_days(Some(bad), 7, 31).is_err(), "{bad}");
        }
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert!(parse_from(Some("2026-11-30"), today, today, 31).is_ok());
        assert!(parse_from(Some("2027-11-30"), today, today, 31).is_err());
        assert!(parse_from(Some("garbage"), today, today, 31).is_err());
    }
}
