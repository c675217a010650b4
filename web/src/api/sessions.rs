//! Browser sign-in: a session id in an HttpOnly, SameSite=Lax cookie, opened with an API token
//! (`POST /api/v1/auth/session`) or a one-time sign-in link printed at start
//! (`GET /api/v1/auth/link/{code}`); `GET /api/v1/auth/me`; sign out with
//! `DELETE /api/v1/auth/session`, which ends the session on the server.
//!
//! A request authenticated by the cookie with an unsafe method must show it comes from Tend's
//! own pages (CSRF): `Sec-Fetch-Site: same-origin`, or an `Origin` equal to the request's own.
//! Requests with `Authorization: Bearer` are unaffected: a browser never adds that header by
//! itself, so another site can't forge one.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use engine::sessions::Session;
use engine::Principal;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::{Caller, JsonBody};
use super::{AppState, Routes as _};

/// The cookie's name.
pub(crate) const COOKIE: &str = "tend_session";
const SIGN_IN: &str = "/api/v1/auth/session";
const LINK_PREFIX: &str = "/api/v1/auth/link/";

/// Who is calling: behind the token or session check.
pub(super) fn router() -> Router<AppState> {
    Router::new().listed("/api/v1/auth/me", get(me))
}

/// Signing in and out: reachable without a token or a session (merged outside the check).
pub(super) fn sign_in_router() -> Router<AppState> {
    Router::new()
        .listed(SIGN_IN, axum::routing::post(sign_in).delete(sign_out))
        .listed("/api/v1/auth/link/{code}", get(follow_link))
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
    let Some(session) = state.engine.session(session_id)? else {
        return Err(ApiError::unauthorized("the session has ended; sign in again"));
    };
    if !request.method().is_safe() {
        same_origin(request.headers())?;
    }
    Ok((session.principal(), session))
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

fn me_body(principal: &Principal, session: Option<&Session>) -> serde_json::Value {
    json!({
        "caller": principal.actor().0,
        "token_id": principal.token_id,
        "role": principal.role,
        "via": if session.is_some() { "session" } else { "token" },
        "session_expires_at": session.map(|s| s.expires_at),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSignIn {
    token: String,
}

async fn sign_in(
    State(state): State<AppState>,
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
    let (id, session) = state.engine.open_session(&principal).await?;
    let cookie = session_cookie_header(&state, &headers, &id, &session);
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(me_body(&principal, Some(&session)))).into_response())
}

async fn follow_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let Some((id, session)) = state.engine.redeem_sign_in_link(&code).await? else {
        // A person clicked this: send them to the sign-in page, which explains, not to JSON.
        let to = HeaderValue::from_static("/signin?link=invalid");
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, to), no_store]).into_response());
    };
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

async fn me(Caller(caller): Caller, session: Option<axum::Extension<Session>>) -> Json<serde_json::Value> {
    Json(me_body(&caller, session.as_ref().map(|s| &s.0)))
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
}
