//! Integrations: `/api/v1/spaces/{space}/webhooks[/{name}]` (outgoing endpoints),
//! `/api/v1/spaces/{space}/hooks[/{name}]` (inbound hooks; a POST to one is an outside
//! system's event) and `/api/v1/spaces/{space}/deliveries[/{id}[/redeliver]]` (the outbox).
//!
//! The POST to a hook is the one `/api/` route without a Tend token: it authenticates with the
//! hook's own secret, a Standard Webhooks signature or a bearer token.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::outbox::{DeliveryFilter, Inbound};
use engine::workflows::DeliveryStatus;
use engine::{EndpointName, HookName, SpaceName};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{json_body_error, ApiPath, ApiQuery, JsonBody};
use super::{AppState, Routes as _};
use crate::inbound::{self, InboundError};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/spaces/{space}/webhooks", get(endpoints))
        .listed("/api/v1/spaces/{space}/webhooks/{name}", get(endpoint).put(put_endpoint).delete(delete_endpoint))
        .listed("/api/v1/spaces/{space}/hooks", get(hooks))
        .listed("/api/v1/spaces/{space}/hooks/{name}", get(hook).put(put_hook).delete(delete_hook))
        .listed("/api/v1/spaces/{space}/deliveries", get(deliveries))
        .listed("/api/v1/spaces/{space}/deliveries/{id}", get(delivery))
        .listed("/api/v1/spaces/{space}/deliveries/{id}/redeliver", post(redeliver))
}

/// The post to an inbound hook, in a router of its own: it authenticates with the hook's
/// secret, so it is merged outside the token check.
pub(super) fn inbound_router() -> Router<AppState> {
    Router::new().listed("/api/v1/spaces/{space}/hooks/{name}", post(inbound))
}

/// 201 for a definition stored for the first time, else 200.
fn stored_status(created_at: chrono::DateTime<chrono::Utc>, updated_at: chrono::DateTime<chrono::Utc>) -> StatusCode {
    if created_at == updated_at {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

async fn put_endpoint(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, EndpointName)>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    if let (Some(url), false) = (definition.get("url").and_then(|url| url.as_str()), state.allow_private_targets) {
        crate::targets::check_saved_url(url).await.map_err(|reason| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                format!("the webhook endpoint is invalid: {reason}"),
            )
            .with_errors(vec![forms::FieldError::new("/url", reason)])
        })?;
    }
    let endpoint =
        state.engine.put_endpoint(&space, &name, &definition).await.map_err(ApiError::storing("webhook endpoint"))?;
    Ok((stored_status(endpoint.created_at, endpoint.updated_at), Json(endpoint)))
}

async fn endpoint(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, EndpointName)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.endpoint(&space, &name)?.info()))
}

async fn endpoints(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.endpoints(&space)?, "next_cursor": null })))
}

async fn delete_endpoint(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, EndpointName)>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.delete_endpoint(&space, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_hook(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, HookName)>,
) -> Result<impl IntoResponse, ApiError> {
    state.engine.delete_hook(&space, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn put_hook(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, HookName)>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let hook = state.engine.put_hook(&space, &name, &definition).await.map_err(ApiError::storing("inbound hook"))?;
    Ok((stored_status(hook.created_at, hook.updated_at), Json(hook)))
}

async fn hook(
    State(state): State<AppState>,
    ApiPath((space, name)): ApiPath<(SpaceName, HookName)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.hook(&space, &name)?.info()))
}

async fn hooks(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.hooks(&space)?, "next_cursor": null })))
}

/// An outside system's post: authenticated with the hook's secret, then its body checked
/// against the hook's schema and appended as an `inbound` event (202 with the event's number);
/// a replay of a message already taken is a 200 that appends nothing.
async fn inbound(
    State(state): State<AppState>,
    // Not `ApiPath`: a bad name gets the one answer every refused post gets (see `inbound`).
    Path((space, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let received = inbound::receive(&state.engine, &space, &name, &headers, &body).await.map_err(|err| match err {
        InboundError::Unauthorized => ApiError::unauthorized(err.to_string()),
        InboundError::Body(err) => json_body_error(err),
        InboundError::Engine(err) => ApiError::from(err),
    })?;
    Ok(match received {
        Inbound::Appended(event) => (StatusCode::ACCEPTED, Json(json!({ "hook": name, "event": event.seq }))),
        Inbound::Replay => (StatusCode::OK, Json(json!({ "hook": name, "event": null, "replay": true }))),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    status: Option<DeliveryStatus>,
    workflow: Option<String>,
    limit: Option<usize>,
    cursor: Option<uuid::Uuid>,
}

async fn deliveries(
    State(state): State<AppState>,
    ApiPath(space): ApiPath<SpaceName>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 1000"));
    }
    let filter = DeliveryFilter { status: params.status, workflow: params.workflow };
    let (items, more) = state.engine.list_deliveries(&space, &filter, limit, params.cursor)?;
    let next_cursor = if more { items.last().map(|d| d.id.to_string()) } else { None };
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}

async fn delivery(
    State(state): State<AppState>,
    ApiPath((space, id)): ApiPath<(SpaceName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.delivery(&space, &id)?))
}

async fn redeliver(
    State(state): State<AppState>,
    ApiPath((space, id)): ApiPath<(SpaceName, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.engine.redeliver(&space, &id).await?)))
}
