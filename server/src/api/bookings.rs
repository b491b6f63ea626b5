//! Bookings: created exactly once per idempotency key, looked up and cancelled with the code and
//! the last four characters of the patient's document.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fairslot_core::identity::Patient;
use fairslot_core::outbox::IdempotencyKey;
use fairslot_core::time::hospital_today;
use fairslot_core::{
    Booking, BookingRequest, CancelRequest, KeyLookupRequest, KeyedBooking, LookupRequest,
    ProblemKind, field_code,
};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::extract::{ApiJson, ApiPath, Channel, ClientAddress, IdempotencyHeader};
use crate::faults::FreshCommit;
use crate::problem::ApiError;
use crate::store::{BookingOutcome, NewBooking, Proof, StoredResponse};

pub async fn create(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Channel(channel): Channel,
    IdempotencyHeader(key): IdempotencyHeader,
    ApiJson(request): ApiJson<BookingRequest>,
) -> Result<Response, ApiError> {
    let fingerprint = fingerprint(&request);
    // A repeat is answered before anything else: its original answer stands even if the slot has
    // since started or the rules have moved.
    let key = String::from(key);
    let lookup_key = key.clone();
    if let Some(stored) = state
        .with_store(move |s| s.stored_response(&lookup_key))
        .await?
    {
        return replay(stored, &fingerprint);
    }

    let now = state.clock.now();
    let slot_id = request.slot_id.clone();
    let utc_offset = state
        .with_store(move |s| s.slot_utc_offset(&slot_id))
        .await?;
    let patient = Patient::validate(&request.patient, hospital_today(now, utc_offset))
        .map_err(ApiError::invalid)?;
    let new = NewBooking {
        person: state
            .hash_key
            .person(patient.document_kind, &patient.document_number),
        phone: state.hash_key.phone(patient.phone.as_str()),
        address: state.hash_key.address(address),
        limits: state.settings.policy.bookings,
        idempotency_key: key,
        fingerprint: fingerprint.clone(),
        channel,
        slot_id: request.slot_id,
        hold_id: request.hold_id,
        patient,
        relationship: request.patient.relationship,
        cancel_cutoff: state.settings.cancel_cutoff,
    };
    match state
        .with_store(move |s| s.create_booking(&new, now))
        .await?
    {
        BookingOutcome::Created(stored) => {
            let mut response = http_response(stored);
            response.extensions_mut().insert(FreshCommit);
            Ok(response)
        }
        BookingOutcome::AlreadyStored(stored) => replay(stored, &fingerprint),
    }
}

/// The original answer for a repeated request, or a conflict if the key was used for another one.
fn replay(stored: StoredResponse, fingerprint: &str) -> Result<Response, ApiError> {
    if stored.fingerprint == fingerprint {
        Ok(http_response(stored))
    } else {
        Err(ApiError::new(
            ProblemKind::IdempotencyConflict,
            "This Idempotency-Key was already used for a different booking request; use a new key for a new request.",
        ))
    }
}

fn http_response(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        stored.body,
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&stored.location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// SHA-256 of the request as parsed, written back out in one fixed form, so "the same body" means
/// the same JSON value: whitespace, member order, unknown members and an explicit `null` for an
/// absent option make no difference; any other difference in content does, down to the spelling of
/// a phone number. Headers (the channel) are not part of it.
fn fingerprint(request: &BookingRequest) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Booking codes are read off paper and phones: case, spaces and dashes do not matter.
pub(crate) fn normalise_code(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!code.is_empty() && code.len() <= 16 && code.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(code)
}

fn no_such_booking() -> ApiError {
    // The same answer for an unknown code and a wrong document, so neither can be probed.
    ApiError::not_found("No booking matches this code and document.")
}

/// The proof of a request, refused before the store when it cannot name any booking.
fn proof(state: &AppState, code: &str, document_last4: String) -> Result<Proof, ApiError> {
    if document_last4.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "document_last4",
            field_code::REQUIRED,
            "give the last four characters of the patient's document",
        ));
    }
    Ok(Proof {
        code: normalise_code(code).ok_or_else(no_such_booking)?,
        document_last4,
        policy: state.settings.policy.proof,
    })
}

/// Proof of ownership travels in the body, never in the URL: proxies and CDNs log URLs. Wrong
/// proofs lock the code for a while (see [`crate::store::Store::prove`]).
pub async fn lookup(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(request): ApiJson<LookupRequest>,
) -> Result<Json<Booking>, ApiError> {
    let proof = proof(&state, &code, request.document_last4)?;
    let now = state.clock.now();
    match state.with_store(move |s| s.prove(&proof, now)).await {
        Ok(owned) => Ok(Json(owned.booking)),
        Err(e) if e.kind == ProblemKind::NotFound => Err(no_such_booking()),
        Err(e) => Err(e),
    }
}

/// Whether a booking request sent under this key got through: code and status only. The key is
/// a credential of the device that made it, so it comes in a body; the device holds the proof
/// too and looks the booking up with it.
pub async fn by_key(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<KeyLookupRequest>,
) -> Result<Json<KeyedBooking>, ApiError> {
    let none = || ApiError::not_found("No booking was created with this Idempotency-Key.");
    let Ok(key) = IdempotencyKey::parse(&request.idempotency_key) else {
        return Err(none());
    };
    state
        .with_store(move |s| s.booking_by_key(key.as_str()))
        .await?
        .map(Json)
        .ok_or_else(none)
}

pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(request): ApiJson<CancelRequest>,
) -> Result<Json<Booking>, ApiError> {
    let proof = proof(&state, &code, request.document_last4)?;
    let now = state.clock.now();
    let late = state.settings.policy.bookings.late_cancel;
    match state
        .with_store(move |s| s.cancel_booking(&proof, late, now))
        .await
    {
        Err(e) if e.kind == ProblemKind::NotFound => Err(no_such_booking()),
        other => other.map(Json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_for_humans() {
        assert_eq!(normalise_code("k7q4-m2xp").as_deref(), Some("K7Q4M2XP"));
        assert_eq!(normalise_code("K7Q4 M2XP").as_deref(), Some("K7Q4M2XP"));
        assert_eq!(normalise_code("' OR 1=1 --"), None);
        assert_eq!(normalise_code(""), None);
    }
}
