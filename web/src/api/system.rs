//! Probes and metrics, outside `/api/` and without authentication: `/healthz` (the process
//! answers, with Tend's version), `/readyz` (storage answers and the workflow processor goes on), `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::error::ApiError;
use super::{AppState, Routes as _};

pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/healthz", get(healthz)).listed("/readyz", get(readyz)).listed("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let problems: Vec<String> = [
        state.engine.storage_problem().map(|problem| format!("storage is not available: {problem}")),
        state.engine.processor_stalled().map(|reason| format!("the workflow processor cannot go on: {reason}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if problems.is_empty() {
        return Ok(Json(json!({ "status": "ready" })));
    }
    Err(ApiError::for_status(StatusCode::SERVICE_UNAVAILABLE, problems.join("; ")))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
