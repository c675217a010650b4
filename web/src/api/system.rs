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
    if let Some(problem) = state.engine.storage_problem() {
        return Err(ApiError::for_status(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("storage is not available: {problem}"),
        ));
    }
    match state.engine.processor_stalled() {
        None => Ok(Json(json!({ "status": "ready" }))),
        Some(reason) => Err(ApiError::for_status(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the workflow processor cannot go on: {reason}"),
        )),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
