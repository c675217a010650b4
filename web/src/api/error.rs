//! `ApiError`: every error response is RFC 9457 `application/problem+json`.
//!
//! Engine errors map by their stable code; the body names each failing field as
//! `{path, message}` in `errors`. A 500 shows a generic text and logs the cause.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::{EngineError, ErrorCode};
use forms::FieldError;
use serde_json::{json, Map, Value};

/// The media type of problem documents.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error on its way to becoming a problem+json response.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    /// Slug of the problem type: `urn:tend:problem:{kind}`.
    kind: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    extra: Map<String, Value>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self { status, kind, detail: detail.into(), errors: Vec::new(), extra: Map::new() }
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub(crate) fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub(crate) fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The problem document for a status alone (used for responses the router or a
    /// middleware produced without a body of ours).
    pub(crate) fn for_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let kind = match status {
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
            StatusCode::REQUEST_TIMEOUT => "request-timeout",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::TOO_MANY_REQUESTS => "too-many-requests",
            StatusCode::URI_TOO_LONG => "uri-too-long",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "header-fields-too-large",
            status if status.is_server_error() => "internal",
            _ => "bad-request",
        };
        Self::new(status, kind, detail)
    }
}

impl ApiError {
    /// An engine error from storing a definition of `kind` ("workflow definition", "webhook
    /// endpoint", ...): an invalid definition's detail names that kind, where the engine's own
    /// message can only say "definition".
    pub(crate) fn storing(kind: &str) -> impl FnOnce(EngineError) -> ApiError + '_ {
        move |err| match &err {
            EngineError::InvalidDefinition(errors) => {
                let first = errors.0.first().map_or("", |error| error.message.as_str());
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::Invalid.as_str(),
                    format!("the {kind} is invalid: {first}"),
                )
                .with_errors(errors.0.clone())
            }
            _ => ApiError::from(err),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        let code = err.code();
        let status = match code {
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyExists | ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::BadQuery => StatusCode::BAD_REQUEST,
            ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StorageDamaged | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %err, "request failed");
        }
        let detail =
            if code == ErrorCode::Internal { "internal error; see the server log".to_owned() } else { err.to_string() };
        let mut api = ApiError::new(status, code.as_str(), detail).with_errors(err.field_errors());
        match &err {
            EngineError::InvalidQuery(query) => {
                if let Some(field) = &query.field {
                    api = api.with("field", json!(field));
                }
                if let Some(position) = query.position {
                    api = api.with("position", json!(position));
                }
            }
            EngineError::PreconditionFailed { current } => {
                api = api.with("current_version", json!(current));
            }
            EngineError::TransitionRefused { from, to, unchecked, .. } => {
                api = api.with("from", json!(from)).with("to", json!(to)).with("unchecked_items", json!(unchecked));
            }
            EngineError::SchemaChangeRefused { failing, examples } => {
                api = api.with("failing_records", json!(failing)).with("examples", json!(examples));
            }
            _ => {}
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("type".into(), json!(format!("urn:tend:problem:{}", self.kind)));
        body.insert("title".into(), json!(self.status.canonical_reason().unwrap_or("Error")));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("detail".into(), json!(self.detail));
        if !self.errors.is_empty() {
            body.insert("errors".into(), json!(self.errors));
        }
        body.extend(self.extra);
        let mut response = (self.status, Value::Object(body).to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use engine::StoreError;

    use super::*;

    #[test]
    fn damaged_files_are_a_problem_of_their_own_that_says_to_restore() {
        let unreadable = StoreError::Unreadable(Arc::new(std::io::Error::other("block checksum mismatch")));
        let problem = ApiError::from(EngineError::Store(unreadable));
        assert_eq!((problem.status, problem.kind), (StatusCode::INTERNAL_SERVER_ERROR, "storage-damaged"));
        assert!(problem.detail.contains("damaged") && problem.detail.contains("restore"), "{}", problem.detail);

        let other = StoreError::Backend(Arc::new(std::io::Error::other("a disk error")));
        let problem = ApiError::from(EngineError::Store(other));
        assert_eq!((problem.status, problem.kind), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert_eq!(problem.detail, "internal error; see the server log");
    }
}
