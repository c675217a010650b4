//! `GET /api/v1/spaces/{space}/forms/{form}/count?filter=`: how many records match, for the
//! totals a grid and the spaces page show (listing pages carry no total: they stop early).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use engine::{FormName, SpaceName};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::space_access;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, Caller};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/forms/{form}/count", get(count))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountParams {
    filter: Option<String>,
}

async fn count(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, form)): ApiPath<(SpaceName, FormName)>,
    ApiQuery(params): ApiQuery<CountParams>,
) -> Result<Json<Value>, ApiError> {
    // Counting reads every record of the form: off the async runtime.
    let access = space_access(&state, &caller, &space)?;
    let engine = state.engine.clone();
    let count =
        tokio::task::spawn_blocking(move || engine.count_matching(&access, &space, &form, params.filter.as_deref()))
            .await
            .map_err(|err| ApiError::for_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))??;
    Ok(Json(json!({ "count": count })))
}
