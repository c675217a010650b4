//! Posts to inbound hooks, below the HTTP handler: the hook's own authentication (a Standard
//! Webhooks signature made with its secret, or the secret as a bearer token), then the body
//! as JSON, then the engine's schema check and append. The handler makes this one call and
//! maps its error; the route carries no Tend token.

use axum::http::{header, HeaderMap};
use engine::outbox::HookAuth;
use engine::{Actor, Engine, EngineError, Event};

/// Why a post to an inbound hook was refused.
#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    /// No such hook or space, a body the hook's schema refuses, or a storage failure.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The hook exists but is disabled (answered like a missing one).
    #[error("inbound hook `{0}` is disabled")]
    Disabled(String),
    /// The signature or bearer secret is missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// The stored secret can't be used to verify (not a `whsec_` key).
    #[error("the hook's secret is unusable")]
    UnusableSecret,
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
}

/// Authenticates a post to hook `name` of `space` and appends it as an `inbound` event.
pub async fn receive(
    engine: &Engine,
    space: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Event, InboundError> {
    let hook = engine.hook(space, name)?;
    if !hook.enabled {
        return Err(InboundError::Disabled(name.to_owned()));
    }
    match hook.auth {
        HookAuth::Signature => {
            let verifier = standardwebhooks::Webhook::new(&hook.secret).map_err(|_| InboundError::UnusableSecret)?;
            verifier.verify(body, headers).map_err(|err| {
                InboundError::Unauthorized(format!("the Standard Webhooks signature does not verify: {err}"))
            })?;
        }
        HookAuth::Bearer => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !constant_time_eq(given.trim().as_bytes(), hook.secret.as_bytes()) {
                return Err(InboundError::Unauthorized(
                    "missing or wrong `Authorization: Bearer <hook secret>`".into(),
                ));
            }
        }
    }
    let payload: serde_json::Value =
        serde_json::from_slice(body).map_err(|err| InboundError::NotJson(err.to_string()))?;
    Ok(engine.receive_inbound(&Actor(format!("hook:{name}")), space, name, payload).await?)
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
