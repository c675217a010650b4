//! `/api/v1/tokens`: list API tokens (never their secrets) and revoke one while the server
//! runs; a revoked token is refused from the answer on.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::json;

use super::error::ApiError;
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/tokens", get(list)).listed("/api/v1/tokens/{id}", delete(revoke))
}

async fn list(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.tokens()?, "next_cursor": null })))
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    state.engine.revoke_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
