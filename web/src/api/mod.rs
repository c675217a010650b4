//! The HTTP API: one module per resource, each exposing `router()`, merged here with the
//! cross-cutting layers (authentication, limits, timeouts, metrics, problem+json for every
//! error the router or a layer produces).

mod access;
mod aggregates;
mod audit;
mod authz;
mod backup;
mod counts;
mod dashboards;
mod error;
mod export;
mod extract;

pub(crate) use extract::bearer_token;
mod forms;
mod import;
mod integrations;
mod members;
mod openapi;
mod packs;
mod records;
pub(crate) mod sessions;
mod spaces;
pub(crate) mod strict_json;
mod system;
mod timers;
mod tokens;
mod upcoming;
mod users;
mod views;
mod warnings;
mod workflows;

use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use engine::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Config;
use crate::telemetry;
use error::{ApiError, PROBLEM_JSON};

/// The client's address, put in each request's extensions by the HTTP server (absent when the
/// router is driven directly, as in unit tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) std::net::SocketAddr);

/// What every handler can reach: one shared value, so that handing it to a request costs one
/// reference count rather than one per part.
#[derive(Clone)]
pub(crate) struct AppState(std::sync::Arc<AppStateParts>);

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// [`AppState`]'s parts.
pub(crate) struct AppStateParts {
    pub(crate) engine: Engine,
    pub(crate) metrics: PrometheusHandle,
    limits: Limits,
    /// `[webhooks] allow_private_targets`: endpoints may point at private addresses.
    pub(crate) allow_private_targets: bool,
    /// An `[smtp]` host is configured: email can be sent.
    pub(crate) mail: bool,
    /// Mark session cookies `Secure` (Tend behind a TLS proxy).
    secure_cookies: bool,
    /// Failed sign-ins, per account and per client address.
    pub(crate) sign_in_limits: sessions::SignInLimits,
}

#[derive(Clone, Copy)]
struct Limits {
    body: usize,
    timeout: Duration,
    import: usize,
    import_timeout: Duration,
}

/// The whole application router.
pub(crate) fn router(engine: Engine, config: &Config) -> Router {
    let limits = Limits {
        body: config.http.body_limit,
        timeout: Duration::from_secs(config.http.request_timeout_secs),
        import: config.http.import_limit,
        import_timeout: Duration::from_secs(config.http.import_timeout_secs),
    };
    let state = AppState(std::sync::Arc::new(AppStateParts {
        engine,
        metrics: telemetry::metrics_handle(),
        limits,
        allow_private_targets: config.webhooks.allow_private_targets,
        mail: config.smtp.host.is_some(),
        secure_cookies: config.http.secure_cookies,
        sign_in_limits: Default::default(),
    }));
    // Imports take files far larger (and longer to store) than any other request: their route
    // has its own body limit and timeout; every other route has the API's.
    let standard = Router::new()
        .merge(system::router())
        .merge(openapi::router())
        .merge(spaces::router())
        .merge(forms::router())
        .merge(records::router())
        .merge(aggregates::router())
        .merge(export::router())
        .merge(workflows::router())
        .merge(timers::router())
        .merge(upcoming::router())
        .merge(packs::router())
        .merge(integrations::router())
        .merge(tokens::router())
        .merge(users::router())
        .merge(members::router())
        .merge(audit::router())
        .merge(sessions::router())
        .merge(counts::router())
        .merge(views::router())
        .merge(dashboards::router())
        .merge(backup::router())
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(RequestBodyLimitLayer::new(limits.body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.timeout));
    let imports = import::router()
        .layer(DefaultBodyLimit::max(limits.import))
        .layer(RequestBodyLimitLayer::new(limits.import))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.import_timeout));
    let authenticated = Router::new()
        .merge(standard)
        .merge(imports)
        .route_layer(middleware::from_fn_with_state(state.clone(), authz::authorize))
        .fallback(not_api_or_unknown)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    // The inbound-hook post authenticates with the hook's own secret, and signing in opens a
    // session: their routers are merged outside the token check rather than the check skipping
    // them by path.
    let unauthenticated = integrations::inbound_router()
        .merge(sessions::sign_in_router())
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(RequestBodyLimitLayer::new(limits.body))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.timeout));
    Router::new()
        .merge(authenticated)
        .merge(unauthenticated)
        // Each `layer` call wraps the ones before it: the body limits and timeouts are
        // innermost (per route group, above), panics are caught outermost, and bare error
        // statuses from the limits and the timeouts are turned into problem documents on their
        // way out.
        .layer(middleware::from_fn_with_state(state.clone(), problem_for_bare_errors))
        .layer(middleware::from_fn(refuse_oversized_heads))
        .layer(middleware::from_fn(observe_request))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the server log")
                .into_response()
        }))
        .with_state(state)
}

/// How routes are declared: `Router::listed` adds the route and writes its path in the route
/// table, so the set of routes served can be compared with the OpenAPI document (see the
/// tests below; a route added with a bare `Router::route` fails them).
pub(crate) trait Routes {
    /// Adds `path` with `methods`, and lists it.
    fn listed(self, path: &'static str, methods: MethodRouter<AppState>) -> Self;
}

impl Routes for Router<AppState> {
    fn listed(self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        route_table().lock().unwrap_or_else(|p| p.into_inner()).insert(path);
        self.route(path, methods)
    }
}

/// Every path declared with [`Routes::listed`] since start.
fn route_table() -> &'static Mutex<BTreeSet<&'static str>> {
    static TABLE: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
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
    let Some(secret) = extract::bearer_token(request.headers()) else {
        if !request.headers().contains_key(header::AUTHORIZATION)
            && sessions::session_cookie(request.headers()).is_some()
        {
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
    match state.engine.authenticate(secret) {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) => ApiError::unauthorized("unknown or revoked token").into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// The longest request target (path and query) accepted, in bytes.
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header fields a request may carry.
pub(crate) const MAX_HEADERS: usize = 100;
/// The most bytes a request's header fields may take in all.
pub(crate) const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Oversized request heads get 414 and 431 as problem documents. hyper refuses heads past its
/// own, larger bounds with an empty body before any of this code runs, so these limits sit
/// below hyper's (see `http_server`) to answer every realistic case here.
async fn refuse_oversized_heads(request: Request, next: Next) -> Response {
    let uri_bytes = request.uri().path_and_query().map_or(0, |target| target.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        let detail = format!("the request target is {uri_bytes} bytes; at most {MAX_URI_BYTES} are accepted");
        return ApiError::for_status(StatusCode::URI_TOO_LONG, detail).into_response();
    }
    let headers = request.headers();
    let header_bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        let detail = format!(
            "the request has {} header fields of {header_bytes} bytes; at most {MAX_HEADERS} fields of \
             {MAX_HEADER_BYTES} bytes in all are accepted",
            headers.len()
        );
        return ApiError::for_status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, detail).into_response();
    }
    next.run(request).await
}

/// Responses that left the router or a layer as a bare status (a 408 from the timeout, a 413
/// from the body limit, a 405) get a problem+json body like every other error.
async fn problem_for_bare_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // The import route has limits of its own.
    let import = request.uri().path().ends_with("/import");
    let (body_limit, timeout) = if import {
        (state.limits.import, state.limits.import_timeout)
    } else {
        (state.limits.body, state.limits.timeout)
    };
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
            format!("the request body is larger than the limit of {body_limit} bytes")
        }
        StatusCode::REQUEST_TIMEOUT => {
            format!("the request was not completed within {} s", timeout.as_secs())
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

/// Every request's outcome, once: Prometheus counts and latencies, one `info` log line, and an
/// `x-request-id` on the answer (the caller's own when it sent a usable one).
///
/// Every metric label comes from a known set, so no client can add series: the method is one
/// of the standard ones or `other`, the route is the matched template (never the raw path,
/// which would make a series per record id) or `unmatched`, the status is its class (`2xx`).
async fn observe_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| path.as_str()).to_owned();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_usable_request_id(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status();
    let labels = [("method", method), ("route", route.clone()), ("status", status_class(status).to_owned())];
    metrics::counter!("tend_http_requests_total", &labels).increment(1);
    metrics::histogram!("tend_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::info!(
        target: "tend::http",
        method = %labels[0].1,
        route = %route,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// The header carrying a request's id, in both directions.
const REQUEST_ID: &str = "x-request-id";

/// A caller's request id is echoed only when it is short and printable, so it cannot forge
/// log lines or bloat them.
fn is_usable_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The method as a metric label: one of the standard methods, else `other`.
fn method_label(method: &axum::http::Method) -> String {
    use axum::http::Method;
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if known.contains(method) {
        method.as_str().to_owned()
    } else {
        "other".to_owned()
    }
}

/// `1xx` … `5xx`.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests;
