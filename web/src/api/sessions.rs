//! Browser sign-in: a session id in an HttpOnly, SameSite=Lax cookie, opened with an email and
//! password (`POST /api/v1/auth/login`), an API token (`POST /api/v1/auth/session`) or a
//! one-time sign-in link printed at start (`GET /api/v1/auth/link/{code}`); every sign-in makes
//! a new session id. `GET /api/v1/auth/me`; the user's sessions (`GET /api/v1/auth/sessions`,
//! `DELETE /api/v1/auth/sessions/{id}`); sign out with `POST /api/v1/auth/logout` (or
//! `DELETE /api/v1/auth/session`), which ends the session on the server.
//!
//! Password sign-ins are limited per account and per client address ([`SignInLimits`]): past
//! the limit, 429 with `Retry-After`, before any password is checked.
//!
//! A request authenticated by the cookie with an unsafe method must show it comes from Tend's
//! own pages (CSRF): `Sec-Fetch-Site: same-origin`, or an `Origin` equal to the request's own.
//! Requests with `Authorization: Bearer` are unaffected: a browser never adds that header by
//! itself, so another site can't forge one.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use engine::sessions::Session;
use engine::Principal;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{Caller, JsonBody};
use super::{AppState, ClientAddr, Routes as _};

/// The cookie's name.
pub(crate) const COOKIE: &str = "tend_session";
const SIGN_IN: &str = "/api/v1/auth/session";
const LINK_PREFIX: &str = "/api/v1/auth/link/";

/// Who is calling, and their sessions: behind the token or session check.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .listed("/api/v1/auth/me", get(me))
        .listed("/api/v1/auth/sessions", get(list_sessions))
        .listed("/api/v1/auth/sessions/{id}", delete(revoke_session))
}

/// Signing in and out: reachable without a token or a session (merged outside the check).
pub(super) fn sign_in_router() -> Router<AppState> {
    Router::new()
        .listed(SIGN_IN, post(sign_in).delete(sign_out))
        .listed("/api/v1/auth/login", post(login))
        .listed("/api/v1/auth/logout", post(sign_out))
        .listed("/api/v1/auth/link/{code}", get(follow_link))
}

/// How long failed sign-ins are remembered.
const LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins to one account within the window before it is refused for a while.
const ACCOUNT_LIMIT: usize = 5;
/// Failed sign-ins from one address within the window (several people may share one).
const ADDRESS_LIMIT: usize = 20;
/// Keys kept at most; past this, the oldest failures are forgotten first.
const MAX_KEYS: usize = 100_000;

/// Failed password sign-ins, per account (`a:{email}`) and per address (`ip:{address}`).
#[derive(Default)]
pub(crate) struct SignInLimits {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl SignInLimits {
    /// How long until `key` may try again, if it is over `limit` now.
    fn wait(&self, key: &str, limit: usize, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let times = failures.get_mut(key)?;
        while times.front().is_some_and(|t| now.duration_since(*t) >= LIMIT_WINDOW) {
            times.pop_front();
        }
        if times.len() < limit {
            return None;
        }
        let oldest = *times.front()?;
        Some(LIMIT_WINDOW.saturating_sub(now.duration_since(oldest)).max(Duration::from_secs(1)))
    }

    fn fail(&self, key: String, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < LIMIT_WINDOW));
        }
        failures.entry(key).or_default().push_back(now);
    }

    fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// The path a browser opens to use a sign-in link.
pub(crate) fn link_path(code: &str) -> String {
    format!("{LINK_PREFIX}{code}")
}

/// The session id in the request's cookies, if any.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == COOKIE).then_some(value))
}

/// Authenticates a request by its session cookie; the caller, or the answer to give instead.
pub(super) fn authenticate_cookie(state: &AppState, request: &Request) -> Result<(Principal, Session), ApiError> {
    let Some(session_id) = session_cookie(request.headers()) else {
        return Err(ApiError::unauthorized("sign in, or send `Authorization: Bearer <token>`"));
    };
    let Some((principal, session)) = state.engine.session_caller(session_id)? else {
        return Err(ApiError::unauthorized("the session has ended; sign in again"));
    };
    if !request.method().is_safe() {
        same_origin(request.headers())?;
    }
    Ok((principal, session))
}

/// The CSRF check for unsafe requests a browser sends with its cookies.
fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if text("sec-fetch-site") == Some("same-origin") {
        return Ok(());
    }
    let host = text("host");
    let origin = text("origin");
    let origin_host = origin.and_then(|o| o.strip_prefix("http://").or_else(|| o.strip_prefix("https://")));
    if host.is_some() && origin_host == host {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "cross-origin",
        format!(
            "a change made with a session cookie must come from Tend's own pages (Origin {}, host {}); \
             scripts send `Authorization: Bearer <token>` instead",
            origin.unwrap_or("missing"),
            host.unwrap_or("missing")
        ),
    ))
}

fn came_over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

fn set_cookie(value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).expect("session ids are URL-safe base64")
}

fn session_cookie_header(state: &AppState, headers: &HeaderMap, id: &str, session: &Session) -> HeaderValue {
    let max_age = (session.expires_at - session.created_at).num_seconds();
    set_cookie(id, max_age, came_over_tls(state, headers))
}

fn me_body(state: &AppState, principal: &Principal, session: Option<&Session>) -> Result<serde_json::Value, ApiError> {
    let user = principal.user_id.as_deref().map(|id| state.engine.user(id)).transpose()?;
    let memberships = match &user {
        Some(user) => state.engine.memberships_of(&user.id)?,
        None => Vec::new(),
    };
    let memberships: Vec<_> =
        memberships.into_iter().map(|(space, m)| json!({ "space": space, "role": m.role, "teams": m.teams })).collect();
    Ok(json!({
        "caller": principal.actor().0,
        "token_id": principal.token_id,
        "role": principal.role,
        "user": user.map(|u| u.info()),
        "superadmin": principal.superadmin,
        "memberships": memberships,
        "space": principal.space,
        "read_only": principal.read_only,
        "via": if session.is_some() { "session" } else { "token" },
        "session_expires_at": session.map(|s| s.expires_at),
    }))
}

fn client_ip(addr: Option<Extension<ClientAddr>>) -> Option<String> {
    addr.map(|Extension(ClientAddr(addr))| addr.ip().to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSignIn {
    token: String,
}

async fn sign_in(
    State(state): State<AppState>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    // Without this, another site could sign a visitor in as the other site's own account.
    same_origin(&headers)?;
    let TokenSignIn { token } = serde_json::from_value(body).map_err(|err| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", format!("invalid sign-in: {err}"))
            .with_errors(vec![forms::FieldError::new("/token", err.to_string())])
    })?;
    let Some(principal) = state.engine.authenticate(token.trim())? else {
        return Err(ApiError::unauthorized("unknown or revoked token")
            .with_errors(vec![forms::FieldError::new("/token", "unknown or revoked token")]));
    };
    if principal.read_only || principal.space.is_some() {
        // A session has its user's full rights: a narrowed token can't open one.
        return Err(ApiError::forbidden("a token narrowed to a space or to reads can't open a session")
            .with_errors(vec![forms::FieldError::new("/token", "narrowed token")]));
    }
    opened(&state, &headers, &principal, client_ip(addr)).await
}

/// Opens a session for `principal`, audits the sign-in, and answers with the cookie.
async fn opened(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
    from: Option<String>,
) -> Result<Response, ApiError> {
    let (id, session) = state.engine.open_session(principal, from.clone()).await?;
    state.engine.audit(&principal.actor().0, None, "sign_in", &principal.actor().0, from).await?;
    let cookie = session_cookie_header(state, headers, &id, &session);
    let body = me_body(state, principal, Some(&session))?;
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordSignIn {
    email: String,
    password: String,
}

fn too_many(wait: Duration) -> Response {
    let mut response = ApiError::for_status(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed sign-ins; try again in {} s", wait.as_secs()),
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs()));
    response
}

async fn login(
    State(state): State<AppState>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    same_origin(&headers)?;
    let PasswordSignIn { email, password } = super::users::body_as("sign-in", body)?;
    let from = client_ip(addr);
    let account = format!("a:{}", email.trim().to_lowercase());
    let address = format!("ip:{}", from.as_deref().unwrap_or("unknown"));
    let limits = &state.sign_in_limits;
    let now = Instant::now();
    let wait = [(&account, ACCOUNT_LIMIT), (&address, ADDRESS_LIMIT)]
        .into_iter()
        .filter_map(|(key, limit)| limits.wait(key, limit, now))
        .max();
    if let Some(wait) = wait {
        return Ok(too_many(wait));
    }
    let Some(user) = state.engine.check_password(&email, &password).await? else {
        limits.fail(account, now);
        limits.fail(address, now);
        return Err(ApiError::unauthorized("unknown email or wrong password"));
    };
    limits.clear(&account);
    let principal = Principal { token_id: "password".into(), user_id: Some(user.id), ..Principal::default() };
    let principal =
        state.engine.current_caller(principal)?.ok_or_else(|| ApiError::unauthorized("the user is disabled"))?;
    opened(&state, &headers, &principal, from).await
}

async fn follow_link(
    State(state): State<AppState>,
    addr: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let from = client_ip(addr);
    let Some((id, session)) = state.engine.redeem_sign_in_link(&code, from.clone()).await? else {
        // A person clicked this: send them to the sign-in page, which explains, not to JSON.
        let to = HeaderValue::from_static("/signin?link=invalid");
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to), no_store]).into_response());
    };
    let actor = session.principal().actor().0;
    state.engine.audit(&actor, None, "sign_in", &actor, from).await?;
    let cookie = session_cookie_header(&state, &headers, &id, &session);
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static("/")), no_store, (header::SET_COOKIE, cookie)],
    )
        .into_response())
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers) {
        // Like every change made with the cookie: only Tend's own pages may sign a browser out.
        same_origin(&headers)?;
        state.engine.end_session(id).await?;
    }
    let cleared = set_cookie("", 0, came_over_tls(&state, &headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cleared)]).into_response())
}

async fn me(
    State(state): State<AppState>,
    Caller(caller): Caller,
    session: Option<Extension<Session>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(me_body(&state, &caller, session.as_ref().map(|s| &s.0))?))
}

async fn list_sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    current: Option<Extension<Session>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(user) = caller.user_id.as_deref() else {
        return Ok(Json(json!({ "items": [], "next_cursor": null })));
    };
    let current = current.map(|Extension(session)| session.id);
    let items: Vec<_> = state
        .engine
        .sessions_of(user)?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id, "created_at": s.created_at, "expires_at": s.expires_at, "from": s.from,
                "current": current.as_deref() == Some(s.id.as_str()),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": null })))
}

async fn revoke_session(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let Some(user) = caller.user_id.as_deref() else {
        return Err(engine::EngineError::NotFound { what: "session", name: id }.into());
    };
    state.engine.revoke_session(user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; tend_session=abc; b=2"));
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("tend_session_x=1"));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn same_origin_needs_fetch_metadata_or_a_matching_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers).is_err(), "no Origin at all");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(same_origin(&headers).is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&headers).is_err());
    }

    #[test]
    fn failed_sign_ins_are_limited_within_the_window() {
        let limits = SignInLimits::default();
        let start = Instant::now();
        for _ in 0..ACCOUNT_LIMIT {
            assert_eq!(limits.wait("a:x", ACCOUNT_LIMIT, start), None);
            limits.fail("a:x".into(), start);
        }
        let wait = limits.wait("a:x", ACCOUNT_LIMIT, start + Duration::from_secs(60)).unwrap();
        assert_eq!(wait, LIMIT_WINDOW - Duration::from_secs(60));
        assert_eq!(limits.wait("a:x", ACCOUNT_LIMIT, start + LIMIT_WINDOW), None, "forgotten after the window");
        limits.fail("a:y".into(), start);
        limits.clear("a:y");
        assert_eq!(limits.wait("a:y", 1, start), None);
    }
}
