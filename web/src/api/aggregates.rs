//! `POST /api/v1/spaces/{space}/forms/{form}/aggregate`: counts, sums, averages, percentiles of
//! a form's records, grouped by fields, date buckets or number bins (`engine::aggregate`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, Caller, JsonBody};
use super::records::QUERY_PLAN_HEADER;
use super::{AppState, Routes as _};
use engine::{FormName, SpaceName};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/forms/{form}/aggregate", post(aggregate))
}

async fn aggregate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    JsonBody(query): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    // Reading many records is blocking work: keep it off the runtime's threads.
    let access = space_access(&state, &caller, &space)?;
    let engine = state.engine.clone();
    let result = tokio::task::spawn_blocking(move || engine.aggregate(&access, &space, &form, &query))
        .await
        .map_err(|_| ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log"))??;
    Ok(([(QUERY_PLAN_HEADER, result.plan.to_string())], Json(result)))
}
