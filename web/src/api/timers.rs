//! `/api/v1/spaces/{space}/timers`: upcoming timers, by workflow or record.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use engine::timers::{Timer, TimerFilter};
use engine::SpaceName;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::{AppState, Routes as _};

/// Timers per page unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/timers", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimerParams {
    workflow: Option<String>,
    record: Option<uuid::Uuid>,
    before: Option<DateTime<Utc>>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
    ApiQuery(params): ApiQuery<TimerParams>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, engine::MAX_LIMIT);
    let filter = TimerFilter { workflow: params.workflow, record: params.record, before: params.before };
    let (timers, next_cursor) = state.engine.timers(&space, &filter, limit, params.cursor.as_deref())?;
    let items: Vec<Value> = timers.iter().map(describe).collect();
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

/// A timer as the API shows it: due in UTC and on its zone's wall clock.
fn describe(timer: &Timer) -> Value {
    json!({
        "id": timer.id,
        "kind": timer.kind,
        "workflow": timer.workflow,
        "form": timer.form,
        "record": (!timer.record.is_nil()).then_some(timer.record),
        "offset": timer.spec,
        "due": timer.due,
        "due_local": timer.local().format("%Y-%m-%dT%H:%M:%S").to_string(),
        "timezone": timer.timezone,
        "scheduled_at": timer.created_at,
    })
}
