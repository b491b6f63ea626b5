//! The open ledger, public by design: its signed checkpoint and key, its entries, and proofs that
//! an entry is in it and that it only ever grew. Nothing here is personal.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fairslot_core::field_code;
use fairslot_core::ledger::{EntriesAnswer, MAX_ENTRIES_PER_PAGE, ProofAnswer};
use serde::Deserialize;

use super::AppState;
use crate::extract::ApiQuery;
use crate::ledger::{Ledger, Proven};
use crate::problem::ApiError;
use crate::store::{Store, StoreResult};

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// A whole number query parameter.
fn number(field: &str, value: Option<&str>) -> Result<Option<u64>, ApiError> {
    value
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::invalid_field(
                    field,
                    field_code::OUT_OF_RANGE,
                    format!("{field} must be a whole number"),
                )
            })
        })
        .transpose()
}

/// The latest checkpoint as a C2SP signed note.
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let ledger = Arc::clone(&state.ledger);
    let note = state.with_store(move |s| ledger.checkpoint(s)).await?;
    Ok(text(note))
}

/// The verifier key checkpoints are signed with (`name+id+key`).
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.ledger.verifier_key()))
}

#[derive(Debug, Deserialize)]
pub struct EntriesQuery {
    start: Option<String>,
    end: Option<String>,
}

/// Entries `start..end` (end exclusive, at most [`MAX_ENTRIES_PER_PAGE`] at once), as the leaves
/// that are hashed: a verifier hashes these exact strings before it reads them.
pub async fn entries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<Json<EntriesAnswer>, ApiError> {
    let start = number("start", query.start.as_deref())?.unwrap_or(0);
    let end =
        number("end", query.end.as_deref())?.unwrap_or(start.saturating_add(MAX_ENTRIES_PER_PAGE));
    if end < start || end - start > MAX_ENTRIES_PER_PAGE {
        return Err(ApiError::invalid_field(
            "end",
            field_code::OUT_OF_RANGE,
            format!("end must be from start to start + {MAX_ENTRIES_PER_PAGE}"),
        ));
    }
    let entries = state
        .with_store(move |s| s.ledger_leaves(start, end - start))
        .await?;
    Ok(Json(EntriesAnswer { start, entries }))
}

/// A required whole number query parameter.
fn required(field: &str, value: Option<&str>) -> Result<u64, ApiError> {
    number(field, value)?.ok_or_else(|| {
        ApiError::invalid_field(field, field_code::REQUIRED, format!("{field} is required"))
    })
}

/// A proof against the latest checkpoint, or 404 with `missing` when there can be none.
async fn prove(
    state: &AppState,
    missing: &'static str,
    proof: impl FnOnce(&Ledger, &dyn Store) -> StoreResult<Option<Proven>> + Send + 'static,
) -> Result<Json<ProofAnswer>, ApiError> {
    let ledger = Arc::clone(&state.ledger);
    let proven = state
        .with_store(move |s| proof(&ledger, s))
        .await?
        .ok_or_else(|| ApiError::not_found(missing))?;
    Ok(Json(ProofAnswer::new(
        proven.checkpoint,
        proven.size,
        &proven.hashes,
    )))
}

#[derive(Debug, Deserialize)]
pub struct InclusionQuery {
    index: Option<String>,
}

/// The latest checkpoint and the proof that entry `index` is in it.
pub async fn inclusion(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    let index = required("index", query.index.as_deref())?;
    prove(&state, "The ledger has no such entry yet.", move |l, s| {
        l.inclusion(s, index)
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    first: Option<String>,
}

/// The latest checkpoint and the proof that it extends the tree of the `first` entries — the
/// size of a checkpoint the asker kept (the name RFC 6962 gives it). A 404 says the ledger is
/// now smaller than that: it was rewritten.
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ProofAnswer>, ApiError> {
    let first = required("first", query.first.as_deref())?;
    prove(&state, "The ledger was never that large.", move |l, s| {
        l.consistency(s, first)
    })
    .await
}
