//! The audit log: `GET /api/v1/audit` (superadmins: everything) and
//! `GET /api/v1/spaces/{space}/audit` (the space's owners and admins: its entries), newest
//! first, paged with `before` (an entry id) and `limit`.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use engine::SpaceName;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery};
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/audit", get(all)).listed("/api/v1/spaces/{space}/audit", get(of_space))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    before: Option<Uuid>,
    limit: Option<usize>,
}

fn page(state: &AppState, space: Option<&str>, query: Page) -> Result<impl IntoResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let items = state.engine.audit_log(space, query.before, limit)?;
    let next = (items.len() == limit).then(|| items.last().map(|e| e.id)).flatten();
    Ok(Json(json!({ "items": items, "next_cursor": next })))
}

async fn all(State(state): State<AppState>, ApiQuery(query): ApiQuery<Page>) -> Result<impl IntoResponse, ApiError> {
    page(&state, None, query)
}

async fn of_space(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
    ApiQuery(query): ApiQuery<Page>,
) -> Result<impl IntoResponse, ApiError> {
    let space = state.engine.space(&space)?;
    page(&state, Some(space.name.as_str()), query)
}
