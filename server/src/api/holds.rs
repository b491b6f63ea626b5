//! Holds (锁号): a place kept for a few minutes while the patient fills in the form.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fairslot_core::{Hold, HoldRequest};

use super::AppState;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::ApiError;

pub async fn create(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Result<(StatusCode, Json<Hold>), ApiError> {
    let now = state.clock.now();
    let ttl = state.settings.hold_ttl;
    let hold = state
        .with_store(move |s| s.create_hold(&request.slot_id, now, ttl))
        .await?;
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
