//! `/api/v1/users`: people. Superadmins list, create and change anyone; a user reads and
//! changes themselves (name, time zone, locale, password with the old one). Who may call which
//! is the `authz` table's; what a self-change may touch is the engine's.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::people::{NewUser, UserPatch};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Caller, JsonBody};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/users", get(list).post(create)).listed("/api/v1/users/{id}", get(show).patch(update))
}

/// Parses a request body into `T`, a mismatch being a 422 naming it.
pub(crate) fn body_as<T: DeserializeOwned>(what: &str, body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid {what}: {err}"))
            .with_errors(vec![forms::FieldError::new("", err.to_string())])
    })
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let items: Vec<_> = state.engine.users()?.iter().map(|u| u.info()).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRequest {
    email: String,
    name: String,
    time_zone: Option<String>,
    locale: Option<String>,
    password: Option<String>,
    #[serde(default)]
    superadmin: bool,
}

async fn create(State(state): State<AppState>, JsonBody(body): JsonBody) -> Result<impl IntoResponse, ApiError> {
    let UserRequest { email, name, time_zone, locale, password, superadmin } = body_as("user", body)?;
    let new = NewUser { email, name, time_zone, locale, password, superadmin };
    let user = state.engine.create_user(new).await?;
    let location = format!("/api/v1/users/{}", user.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(user.info())))
}

async fn show(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.user(&id)?.info()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    name: Option<String>,
    time_zone: Option<String>,
    locale: Option<String>,
    password: Option<String>,
    old_password: Option<String>,
    disabled: Option<bool>,
    superadmin: Option<bool>,
}

async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let UserChange { name, time_zone, locale, password, old_password, disabled, superadmin } =
        body_as("user change", body)?;
    let patch = UserPatch { name, time_zone, locale, password, old_password, disabled, superadmin };
    Ok(Json(state.engine.update_user(&caller, &id, patch).await?.info()))
}
