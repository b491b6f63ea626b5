//! Health, the OpenAPI document, and the test-only fault switch.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::SubsecRound;
use fairslot_core::{Health, ProblemKind, field_code};
use serde::Serialize;

use super::AppState;
use crate::extract::ApiBody;
use crate::faults::FaultSpec;
use crate::problem::ApiError;

/// The contract as published, served from the file in the repository so the two cannot drift.
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let now = state.clock.now();
    state.with_store(|s| s.ping()).await.map_err(|_| {
        ApiError::new(ProblemKind::Unavailable, "The database does not answer.").with_retry_after(5)
    })?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        time: now.trunc_subsecs(3).fixed_offset(),
    }))
}

pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

/// The fault switch's state.
#[derive(Debug, Serialize)]
pub struct FaultStatus {
    /// Canonical spec, `off` when none.
    pub spec: String,
    pub active: bool,
}

fn status(spec: &FaultSpec) -> Json<FaultStatus> {
    Json(FaultStatus {
        spec: spec.to_string(),
        active: spec.is_active(),
    })
}

pub async fn faults_show(State(state): State<AppState>) -> Json<FaultStatus> {
    status(&state.faults.current())
}

/// Replaces the faults with the spec in the (plain text) body.
pub async fn faults_set(
    State(state): State<AppState>,
    ApiBody(body): ApiBody,
) -> Result<Json<FaultStatus>, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            ProblemKind::Validation,
            "The fault spec must be UTF-8 text.",
        )
    })?;
    let spec: FaultSpec = text.parse().map_err(|e: crate::faults::SpecError| {
        ApiError::invalid_field("spec", field_code::FORMAT, e.to_string())
    })?;
    state.faults.set(spec.clone());
    Ok(status(&spec))
}

pub async fn faults_clear(State(state): State<AppState>) -> StatusCode {
    state.faults.set(FaultSpec::default());
    StatusCode::NO_CONTENT
}
