//! `/api/v1/spaces`: create (empty, from a built-in template pack, or as a copy of another
//! space's definitions), list, get.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::SpaceName;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{ApiPath, Caller, JsonBody};
use super::{AppState, Routes as _};
use crate::spaces::{self, CreateSpaceError, NewSpace};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces", get(list).post(create))
        .listed("/api/v1/spaces/{space}", get(show).patch(update))
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let new: NewSpace = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid space: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    let space = spaces::create(&state.engine, &caller.actor(), new).await.map_err(|err| match err {
        CreateSpaceError::Engine(err) => ApiError::from(err),
        CreateSpaceError::Invalid { path, message } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message.clone())
                .with_errors(vec![forms::FieldError::new(path, message)])
        }
        CreateSpaceError::Template { ref problems, .. } => {
            let errors = problems.iter().map(|p| forms::FieldError::new("/template", p.clone())).collect();
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", err.to_string()).with_errors(errors)
        }
    })?;
    let location = format!("/api/v1/spaces/{}", space.name);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(space)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceChange {
    title: Option<String>,
    timezone: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let change: SpaceChange = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid space change: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })?;
    Ok(Json(state.engine.update_space(&space, change.title, change.timezone).await?))
}

/// The spaces the caller can see: all for a superadmin, else those they are a member of.
async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Result<impl IntoResponse, ApiError> {
    let mut spaces = state.engine.spaces()?;
    let mut refused = Ok(());
    spaces.retain(|space| match state.engine.space_access(&caller, &space.name) {
        Ok(access) => access.is_some(),
        Err(err) => {
            refused = Err(err);
            false
        }
    });
    refused?;
    Ok(Json(json!({ "items": spaces, "next_cursor": null })))
}

async fn show(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.space(&space)?))
}
