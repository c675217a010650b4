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
use engine::outbox::{DeliveryFilter, HookAuth};
use engine::workflows::DeliveryStatus;
use engine::Actor;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{bearer_token, parse_json_body, ApiQuery, JsonBody};
use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/spaces/{space}/webhooks", get(endpoints))
        .route("/api/v1/spaces/{space}/webhooks/{name}", get(endpoint).put(put_endpoint))
        .route("/api/v1/spaces/{space}/hooks", get(hooks))
        .route("/api/v1/spaces/{space}/hooks/{name}", get(hook).put(put_hook).post(inbound))
        .route("/api/v1/spaces/{space}/deliveries", get(deliveries))
        .route("/api/v1/spaces/{space}/deliveries/{id}", get(delivery))
        .route("/api/v1/spaces/{space}/deliveries/{id}/redeliver", post(redeliver))
}

/// Whether a request is a post to an inbound hook (authenticated by the hook, not a token).
pub(super) fn is_inbound_post(method: &axum::http::Method, path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    method == axum::http::Method::POST
        && parts.len() == 7
        && parts[..4] == ["", "api", "v1", "spaces"]
        && parts[5] == "hooks"
        && !parts[6].is_empty()
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
    Path((space, name)): Path<(String, String)>,
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
    Path((space, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.endpoint(&space, &name)?.info()))
}

async fn endpoints(State(state): State<AppState>, Path(space): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.endpoints(&space)?, "next_cursor": null })))
}

async fn put_hook(
    State(state): State<AppState>,
    Path((space, name)): Path<(String, String)>,
    JsonBody(definition): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let hook = state.engine.put_hook(&space, &name, &definition).await.map_err(ApiError::storing("inbound hook"))?;
    Ok((stored_status(hook.created_at, hook.updated_at), Json(hook)))
}

async fn hook(
    State(state): State<AppState>,
    Path((space, name)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.hook(&space, &name)?.info()))
}

async fn hooks(State(state): State<AppState>, Path(space): Path<String>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({ "items": state.engine.hooks(&space)?, "next_cursor": null })))
}

/// What every unauthenticated failure of a hook post answers, whatever the cause (no such
/// space, no such or a disabled hook, a missing or wrong signature or secret): telling them
/// apart would let anyone map a deployment's spaces and hooks without a secret.
const INBOUND_REFUSED: &str =
    "this hook does not exist, is disabled, or the request is not authenticated with its secret";

/// An outside system's post: authenticated with the hook's secret, then its body checked
/// against the hook's schema and appended as an `inbound` event (202 with the event's number).
async fn inbound(
    State(state): State<AppState>,
    Path((space, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let hook = match state.engine.hook(&space, &name) {
        Ok(hook) => Some(hook).filter(|hook| hook.enabled),
        Err(err) if err.code() == engine::ErrorCode::NotFound => None,
        Err(err) => return Err(err.into()),
    };
    let authentic = match &hook {
        Some(hook) => is_authentic(&hook.auth, &hook.secret, &headers, &body),
        // Check against a throwaway secret, so a missing hook costs the same time as a bad
        // signature.
        None => is_authentic(&HookAuth::Signature, DECOY_SECRET, &headers, &body),
    };
    if !authentic {
        return Err(ApiError::unauthorized(INBOUND_REFUSED));
    }
    let payload = parse_json_body(&body)?;
    let event = state.engine.receive_inbound(&Actor(format!("hook:{name}")), &space, &name, payload).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "hook": name, "event": event.seq }))))
}

/// A well-formed Standard Webhooks secret no hook has (hook secrets are random).
const DECOY_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Whether the post carries the hook's secret the way the hook asks for.
fn is_authentic(auth: &HookAuth, secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    match auth {
        HookAuth::Signature => standardwebhooks::Webhook::new(secret)
            .map(|verifier| verifier.verify(body, headers).is_ok())
            .unwrap_or(false),
        HookAuth::Bearer => {
            let given = bearer_token(headers).unwrap_or("");
            constant_time_eq(given.as_bytes(), secret.as_bytes())
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    Path(space): Path<String>,
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
    Path((space, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(state.engine.delivery(&space, &id)?))
}

async fn redeliver(
    State(state): State<AppState>,
    Path((space, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.engine.redeliver(&space, &id).await?)))
}
