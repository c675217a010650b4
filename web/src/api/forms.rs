//! `/api/v1/spaces/{space}/forms[/{form}]`: versioned form definitions.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{ApiQuery, Caller, JsonBody};
use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/spaces/{space}/forms", get(list))
        .route("/api/v1/spaces/{space}/forms/{form}", get(show).put(put))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutParams {
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowParams {
    version: Option<u32>,
}

async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((space, form)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<PutParams>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let outcome = state.engine.put_form(&caller.actor(), &space, &form, &definition, params.force).await?;
    let status = match (outcome.changed, outcome.form.version) {
        (true, 1) => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let location = format!("/api/v1/spaces/{space}/forms/{form}?version={}", outcome.form.version);
    Ok((status, [(header::LOCATION, location)], Json(outcome.form)))
}

async fn show(
    State(state): State<AppState>,
    Path((space, form)): Path<(String, String)>,
    ApiQuery(params): ApiQuery<ShowParams>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.form(&space, &form, params.version)?))
}

async fn list(State(state): State<AppState>, Path(space): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let forms = state.engine.forms(&space)?;
    Ok(Json(json!({ "items": forms, "next_cursor": null })))
}
