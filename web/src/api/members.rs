//! `/api/v1/spaces/{space}/members`: who belongs to a space, with which role and teams.
//! Members read the list; admins and owners change it (only owners touch the owner role).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use engine::{SpaceName, SpaceRole};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{ApiPath, Caller, JsonBody};
use super::users::body_as;
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/members", get(list))
        .listed("/api/v1/spaces/{space}/members/{user_id}", put(set).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    let items: Vec<_> = state
        .engine
        .members(&space)?
        .into_iter()
        .map(|(m, user)| {
            json!({
                "user_id": m.user_id, "role": m.role, "teams": m.teams,
                "name": user.as_ref().map(|u| u.name.clone()), "email": user.map(|u| u.email),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberRequest {
    role: SpaceRole,
    #[serde(default)]
    teams: Vec<String>,
}

async fn set(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, user_id)): ApiPath<(SpaceName, String)>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let MemberRequest { role, teams } = body_as("membership", body)?;
    let (membership, created) = state.engine.put_member(&caller, &space, &user_id, role, &teams).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(membership)))
}

async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiPath((space, user_id)): ApiPath<(SpaceName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.remove_member(&caller, &space, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
