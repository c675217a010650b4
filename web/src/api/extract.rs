//! Extractors that turn every malformed request into a problem+json answer: JSON bodies,
//! query strings, `If-Match`, and the authenticated caller.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use engine::{EngineError, Principal, SpaceName};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::strict_json::{self, StrictJsonError};

/// A JSON request body (`application/json` or any `application/*+json`, such as
/// `application/merge-patch+json`).
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let is_json =
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
        if !is_json {
            return Err(ApiError::for_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected a JSON body (Content-Type: application/json), got {:?}", content_type),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json_body(&bytes).map(JsonBody)
    }
}

/// Parses a request body strictly (see [`strict_json`]): malformed JSON, a duplicate key or an
/// inexact number is a 400; the last two name the key's JSON pointer in `errors`.
pub(crate) fn parse_json_body(bytes: &[u8]) -> Result<Value, ApiError> {
    strict_json::parse(bytes).map_err(json_body_error)
}

/// The problem a body that is not strict JSON gets: the syntax error, or the key refused.
pub(crate) fn json_body_error(err: StrictJsonError) -> ApiError {
    match err {
        StrictJsonError::Syntax(message) => ApiError::bad_request(format!("the body is not valid JSON: {message}")),
        StrictJsonError::Refused(error) => {
            ApiError::bad_request(format!("the body is refused at {}: {}", error.path, error.message))
                .with_errors(vec![error])
        }
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "the request body is larger than the configured limit".to_owned()
    } else {
        format!("the request body could not be read: {}", rejection.body_text())
    };
    ApiError::for_status(status, detail)
}

/// A query string deserialized into `T`; a malformed one is a 400 naming the problem.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|query| ApiQuery(query.0))
            .map_err(|rejection| ApiError::bad_request(format!("invalid query string: {}", rejection.body_text())))
    }
}

/// Path parameters, with the names in them checked once, here: `{space}` deserializes into a
/// [`engine::SpaceName`], `{form}` into a [`engine::FormName`], and so on for workflows,
/// views, dashboards, webhook endpoints and inbound hooks. A name that breaks the slug rule
/// can't name anything stored, so it is answered as a name that isn't there (404), except by
/// a `PUT`, which creates what it names and so refuses the name (422).
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => {
                let route = parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
                let params = RawPathParams::from_request_parts(parts, state).await;
                let refused = params.iter().flat_map(|params| params.iter()).find_map(|(key, value)| {
                    let what = name_param(&route, key)?;
                    SpaceName::parse(value).err().map(|err| (what, err))
                });
                Err(match refused {
                    Some((_, err)) if parts.method == Method::PUT => EngineError::InvalidName(err).into(),
                    Some((what, err)) => EngineError::NotFound { what, name: err.name }.into(),
                    None => ApiError::bad_request(format!("invalid path: {}", rejection.body_text())),
                })
            }
        }
    }
}

/// What the path parameter `key` of `route` names, when it is a name with the slug rule (every
/// name type shares it).
fn name_param(route: &str, key: &str) -> Option<&'static str> {
    match key {
        "space" => Some("space"),
        "form" => Some("form"),
        "view" => Some("view"),
        "dashboard" => Some("dashboard"),
        "name" if route.contains("/workflows/{name}") => Some("workflow"),
        "name" if route.contains("/webhooks/{name}") => Some("webhook endpoint"),
        "name" if route.contains("/hooks/{name}") => Some("inbound hook"),
        _ => None,
    }
}

/// The optional `If-Match` precondition: `None` when absent or `*`.
pub(crate) struct IfMatch(pub(crate) Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        text.trim_matches('"')
            .parse::<u64>()
            .ok()
            .filter(|_| !text.starts_with("W/"))
            .map(|version| IfMatch(Some(version)))
            .ok_or_else(|| ApiError::bad_request(format!("If-Match must be an ETag such as \"3\", got {text:?}")))
    }
}

/// The optional `If-Match` precondition of a partial definition change: the definition
/// version it is based on (`None` when absent or `*`).
pub(crate) struct DefinitionIfMatch(pub(crate) Option<u32>);

impl<S: Send + Sync> FromRequestParts<S> for DefinitionIfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let IfMatch(version) = IfMatch::from_request_parts(parts, state).await?;
        version
            .map(|version| u32::try_from(version).map_err(|_| ApiError::bad_request("If-Match names no such version")))
            .transpose()
            .map(DefinitionIfMatch)
    }
}

/// The authenticated caller, put in the request by the auth middleware.
pub(crate) struct Caller(pub(crate) Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }
}

/// The credentials of an `Authorization: Bearer <credentials>` header, trimmed; the scheme is
/// matched case-insensitively, as RFC 9110 asks.
pub(crate) fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim_start();
    let (scheme, credentials) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim()).filter(|credentials| !credentials.is_empty())
}

/// The ETag of a record version.
pub(crate) fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
