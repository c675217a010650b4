//! `/api/v1/spaces/{space}/upcoming`: what would fire over the next days (engine `upcoming`:
//! read from the stored timers and schedules, nothing written).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::SpaceName;
use serde::Deserialize;

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Caller};
use super::{AppState, Routes as _};

/// Days ahead unless `days` says otherwise.
const DEFAULT_DAYS: u32 = 30;
/// Items unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 500;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/upcoming", get(upcoming))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpcomingParams {
    days: Option<u32>,
    limit: Option<usize>,
}

async fn upcoming(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath(space): ApiPath<SpaceName>,
    ApiQuery(params): ApiQuery<UpcomingParams>,
) -> Result<impl IntoResponse, ApiError> {
    let access = space_access(&state, &caller, &space)?;
    let days = params.days.unwrap_or(DEFAULT_DAYS);
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    Ok(Json(state.engine.upcoming(&access, &space, days, limit)?))
}
