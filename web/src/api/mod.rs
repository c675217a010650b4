//! The HTTP API: one module per resource, each exposing `router()`, merged here with the
//! cross-cutting layers (authentication, limits, timeouts, metrics, problem+json for every
//! error the router or a layer produces).

mod counts;
mod error;
mod extract;
mod forms;
mod integrations;
mod openapi;
mod records;
pub(crate) mod sessions;
mod spaces;
mod system;
mod timers;
mod views;
mod workflows;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use engine::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::telemetry;
use error::{ApiError, PROBLEM_JSON};

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    pub(crate) metrics: PrometheusHandle,
    limits: Limits,
    /// Mark session cookies `Secure` (Tend behind a TLS proxy).
    secure_cookies: bool,
}

#[derive(Clone, Copy)]
struct Limits {
    body: usize,
    timeout: Duration,
}

/// The whole application router.
pub(crate) fn router(engine: Engine, config: &Config) -> Router {
    let limits =
        Limits { body: config.http.body_limit, timeout: Duration::from_secs(config.http.request_timeout_secs) };
    let state =
        AppState { engine, metrics: telemetry::metrics_handle(), limits, secure_cookies: config.http.secure_cookies };
    Router::new()
        .merge(system::router())
        .merge(openapi::router())
        .merge(spaces::router())
        .merge(forms::router())
        .merge(records::router())
        .merge(workflows::router())
        .merge(timers::router())
        .merge(integrations::router())
        .merge(sessions::router())
        .merge(counts::router())
        .merge(views::router())
        .fallback(not_api_or_unknown)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        // Each `layer` call wraps the ones before it: the body limit is innermost, panics are
        // caught outermost, and bare error statuses from the limit and the timeout are turned
        // into problem documents on their way out.
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(RequestBodyLimitLayer::new(limits.body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.timeout))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn_with_state(state.clone(), problem_for_bare_errors))
        .layer(middleware::from_fn(record_metrics))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log")
                .into_response()
        }))
        .with_state(state)
}

/// Paths no route matched: the web app for reads outside `/api/`, else a problem+json 404.
async fn not_api_or_unknown(method: Method, uri: Uri) -> Response {
    if !uri.path().starts_with("/api/") {
        if let Some(page) = crate::ui::serve(&method, &uri) {
            return page;
        }
    }
    ApiError::for_status(StatusCode::NOT_FOUND, "no such route").into_response()
}

/// `?version=N` on reads of versioned definitions (forms, workflows).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionParam {
    version: Option<u32>,
}

/// The answer to a PUT of a versioned definition: 201 when it stored the first version, else
/// 200, with the location of the version now current.
fn stored_definition<T: serde::Serialize>(first_version: bool, location: String, body: T) -> impl IntoResponse {
    let status = if first_version { StatusCode::CREATED } else { StatusCode::OK };
    (status, [(header::LOCATION, location)], axum::Json(body))
}

/// Every `/api/` request needs `Authorization: Bearer <token>` or a browser session cookie
/// (`sessions`); the caller is put in the request's extensions for the `Caller` extractor.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    // Outside systems posting to an inbound hook authenticate with the hook's own secret.
    if integrations::is_inbound_post(request.method(), request.uri().path())
        || sessions::is_sign_in(request.method(), request.uri().path())
    {
        return next.run(request).await;
    }
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(secret) = header.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))) else {
        if header.is_none() && sessions::session_cookie(request.headers()).is_some() {
            return match sessions::authenticate_cookie(&state, &request) {
                Ok((principal, session)) => {
                    request.extensions_mut().insert(principal);
                    request.extensions_mut().insert(session);
                    next.run(request).await
                }
                Err(refused) => refused.into_response(),
            };
        }
        return ApiError::unauthorized("missing `Authorization: Bearer <token>` header").into_response();
    };
    match state.engine.authenticate(secret.trim()) {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) => ApiError::unauthorized("unknown or revoked token").into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// Responses that left the router or a layer as a bare status (a 408 from the timeout, a 413
/// from the body limit, a 405) get a problem+json body like every other error.
async fn problem_for_bare_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body is larger than the limit of {} bytes", state.limits.body)
        }
        StatusCode::REQUEST_TIMEOUT => {
            format!("the request was not completed within {} s", state.limits.timeout.as_secs())
        }
        StatusCode::METHOD_NOT_ALLOWED => "this route does not accept that method".to_owned(),
        other => other.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut problem = ApiError::for_status(status, detail).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

/// Prometheus request counts and latencies, labelled by route template (not raw path, which
/// would make a series per record id).
async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("tend_http_requests_total", &labels).increment(1);
    metrics::histogram!("tend_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}
