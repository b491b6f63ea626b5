//! Holds (锁号): a place kept for a few minutes while the patient fills in the form.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fairslot_core::{Hold, HoldRequest};

use super::AppState;
use crate::extract::{ApiJson, ApiPath, ClientAddress, ClientToken};
use crate::problem::ApiError;
use crate::store::NewHold;

/// A hold belongs to a client and counts against its budget and its address's: one script
/// cannot take a session's places, however fast it asks.
pub async fn create(
    State(state): State<AppState>,
    ClientToken(client): ClientToken,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Result<(StatusCode, Json<Hold>), ApiError> {
    let now = state.clock.now();
    let hold = NewHold {
        slot_id: request.slot_id,
        client,
        address: state.hash_key.address(address),
        ttl: state.settings.hold_ttl,
        limits: state.settings.policy.holds,
    };
    let hold = state.with_store(move |s| s.create_hold(&hold, now)).await?;
    Ok((StatusCode::CREATED, Json(hold)))
}

pub async fn release(
    State(state): State<AppState>,
    ApiPath(hold_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let now = state.clock.now();
    state
        .with_store(move |s| s.release_hold(&hold_id, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
