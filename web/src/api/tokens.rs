//! `/api/v1/tokens`: make a token for oneself (the secret is shown once), list one's tokens
//! (a superadmin sees every token, the bootstrap ones shown as the `bootstrap` user's), and
//! revoke one while the server runs; a revoked token is refused from the answer on.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use engine::{NewToken, Principal, Role, SpaceName, TokenInfo};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{Caller, JsonBody};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/tokens", get(list).post(create)).listed("/api/v1/tokens/{id}", delete(revoke))
}

/// A token as listed: its user (`bootstrap` for tokens made before people existed).
pub(crate) fn token_json(token: &TokenInfo) -> Value {
    let mut value = serde_json::to_value(token).unwrap_or(Value::Null);
    if token.user_id.is_none() {
        value["user_id"] = json!(engine::model::BOOTSTRAP_USER);
    }
    value
}

async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Result<impl IntoResponse, ApiError> {
    let tokens = match caller.user_id.as_deref() {
        _ if caller.superadmin && caller.space.is_none() => state.engine.tokens(None)?,
        Some(user) => state.engine.tokens(Some(user))?,
        None => Vec::new(),
    };
    let items: Vec<Value> = tokens.iter().map(token_json).collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    label: Option<String>,
    space: Option<SpaceName>,
    #[serde(default)]
    read_only: bool,
    expires_at: Option<DateTime<Utc>>,
}

/// A token no broader than its maker: a narrowed caller's token keeps the narrowing, and the
/// bootstrap user's tokens are bootstrap tokens.
fn new_token(caller: &Principal, request: TokenRequest) -> Result<NewToken, ApiError> {
    if let (Some(only), Some(asked)) = (&caller.space, &request.space) {
        if only != asked {
            return Err(ApiError::forbidden("a token narrowed to a space can't make one for another"));
        }
    }
    let role = if caller.user_id.is_none() { Role::Admin } else { Role::User };
    Ok(NewToken {
        role,
        label: request.label,
        user_id: caller.user_id.clone(),
        space: request.space.or_else(|| caller.space.clone()),
        read_only: request.read_only || caller.read_only,
        expires_at: request.expires_at,
    })
}

async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let request: TokenRequest = super::users::body_as("token", body)?;
    if let Some(space) = &request.space {
        // A space the caller can't see answers like one that doesn't exist.
        if state.engine.space_access(&caller, space)?.is_none() {
            return Err(engine::EngineError::NotFound { what: "space", name: space.to_string() }.into());
        }
    }
    let (secret, info) = state.engine.create_token(new_token(&caller, request)?).await?;
    let mut body = token_json(&info);
    body["secret"] = json!(secret);
    let location = format!("/api/v1/tokens/{}", info.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(body)))
}

async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
