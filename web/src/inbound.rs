//! Posts to inbound hooks, below the HTTP handler: the hook's own authentication (a Standard
//! Webhooks signature made with its secret, or the secret as a bearer token), then the body
//! as strict JSON, then the engine's schema check and append. The handler makes this one call
//! and maps its error; the route carries no Tend token.
//!
//! Every unauthenticated failure (no such space, no such or a disabled hook, a missing or wrong
//! signature or secret) is the same [`InboundError::Unauthorized`], and a missing hook is
//! checked against a decoy secret so it costs the time a bad signature does: telling them
//! apart would let anyone map a deployment's spaces and hooks without a secret.
//!
//! A post that repeats a `webhook-id` the hook took within the replay window (a sender's retry
//! after a lost answer, or a copied signed post) is answered as a success and appends nothing,
//! the way Standard Webhooks receivers dedupe.

use axum::http::HeaderMap;
use engine::outbox::{HookAuth, Inbound};
use engine::{Actor, Engine, ErrorCode, HookName, SpaceName};

use crate::api::strict_json::{self, StrictJsonError};

/// A well-formed Standard Webhooks secret no hook has (hook secrets are random).
const DECOY_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Why a post to an inbound hook was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InboundError {
    /// No such space or hook, a disabled hook, or a missing or wrong signature or secret: one
    /// answer for all.
    #[error("this hook does not exist, is disabled, or the request is not authenticated with its secret")]
    Unauthorized,
    /// The authenticated body is not strict JSON (syntax, a duplicate key, an inexact number).
    #[error("the body is refused: {0}")]
    Body(#[from] StrictJsonError),
    /// A body the hook's schema refuses, or a storage failure.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
}

/// Authenticates a post to hook `name` of `space` and appends it as an `inbound` event, unless
/// it replays a message (its `webhook-id`) the hook took within the replay window. The names
/// come straight from the path: one that breaks the name rule is a hook that doesn't exist,
/// and is answered like one.
pub(crate) async fn receive(
    engine: &Engine,
    space: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Inbound, InboundError> {
    let names = SpaceName::parse(space).ok().zip(HookName::parse(name).ok());
    let hook = match names.as_ref().map(|(space, name)| engine.hook(space, name)) {
        Some(Ok(hook)) => Some(hook).filter(|hook| hook.enabled),
        None => None,
        Some(Err(err)) if err.code() == ErrorCode::NotFound => None,
        Some(Err(err)) => return Err(err.into()),
    };
    let authentic = match &hook {
        Some(hook) => is_authentic(&hook.auth, &hook.secret, headers, body),
        None => is_authentic(&HookAuth::Signature, DECOY_SECRET, headers, body),
    };
    let (Some((space, name)), true) = (names, authentic && hook.is_some()) else {
        return Err(InboundError::Unauthorized);
    };
    let payload = strict_json::parse(body)?;
    let message_id = headers.get("webhook-id").and_then(|id| id.to_str().ok()).filter(|id| !id.is_empty());
    Ok(engine.receive_inbound(&Actor(format!("hook:{name}")), &space, &name, payload, message_id).await?)
}

/// Whether the post carries the hook's secret the way the hook asks for.
fn is_authentic(auth: &HookAuth, secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    match auth {
        HookAuth::Signature => standardwebhooks::Webhook::new(secret)
            .map(|verifier| verifier.verify(body, headers).is_ok())
            .unwrap_or(false),
        HookAuth::Bearer => {
            let given = crate::api::bearer_token(headers).unwrap_or("");
            constant_time_eq(given.as_bytes(), secret.as_bytes())
        }
    }
}

/// Compares secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
