//! Per-channel accounting, public by design: every channel can see that none is favoured.

use axum::Json;
use axum::extract::State;
use chrono::Duration;
use fairslot_core::time::hospital_today;
use fairslot_core::{ChannelStats, MAX_SCHEDULE_DAYS};
use serde::Deserialize;

use super::AppState;
use crate::extract::{ApiQuery, parse_days, parse_from};
use crate::problem::ApiError;
use crate::seed::UTC_OFFSET_MINUTES;

const DEFAULT_DAYS: u32 = 7;
/// How far back (or ahead) statistics may be asked for.
const WINDOW_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    from: Option<String>,
    days: Option<String>,
}

/// Rows per channel and day; the day is the booking's creation day in the city's time (every
/// hospital of the deployment shares it). Without `from`, the last `days` days up to today.
pub async fn stats(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<ChannelStats>, ApiError> {
    let days = parse_days(query.days.as_deref(), DEFAULT_DAYS, MAX_SCHEDULE_DAYS)?;
    let today = hospital_today(state.clock.now(), UTC_OFFSET_MINUTES);
    let default_from = today - Duration::days(i64::from(days) - 1);
    let from = parse_from(query.from.as_deref(), default_from, today, WINDOW_DAYS)?;
    let to = from + Duration::days(i64::from(days) - 1);
    let rows = state.with_store(move |s| s.channel_stats(from, to)).await?;
    Ok(Json(ChannelStats { rows }))
}
