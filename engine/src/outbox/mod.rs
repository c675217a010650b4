//! Integrations: the outbox that workflows write deliveries to, the worker that delivers them,
//! outgoing webhook endpoints, and inbound hooks that turn outside posts into events.
//!
//! The engine speaks no network protocol. It keeps the outbox (rows, retry schedule, state)
//! and hands each attempt to a [`Transport`], which the caller implements (the `web` crate:
//! HTTP with Standard Webhooks signatures, SMTP). What the transport answers decides the next
//! state: accepted → `delivered`; refused for good (a private address, say) → `dead`;
//! anything else → another attempt after an exponential backoff with jitter, until
//! `max_attempts`, then `dead`. Every attempt is recorded on the delivery.
//!
//! Endpoints and hooks are definitions (the `defs` tree, durable after a barrier); their
//! secrets are stored, because signing and verifying need them, and never shown again by the
//! API (see [`EndpointInfo`], [`HookInfo`]).

mod replays;
mod worker;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use forms::{
    DefinitionErrors, EndpointName, FieldError, HookName, PayloadSchema, SpaceName, ValidationErrors, WorkflowName,
};
use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub(crate) use self::replays::InboundReplays;
pub use self::replays::{REPLAY_WINDOW, SIGNATURE_TOLERANCE};
pub use self::worker::{DeliveryPolicy, RESPONSE_SLICE};
use crate::error::{EngineError, Result};
use crate::model::url_authority;
use crate::model::{Action, Actor, Event, EventKind, StoredWorkflow};
pub use crate::model::{
    Attempt, Delivery, DeliveryStatus, DeliveryTarget, Endpoint, EndpointInfo, Hook, HookAuth, HookInfo,
    MAX_KEPT_ATTEMPTS,
};
use crate::store::Store as _;
use crate::store::{Extras, InboundReceipt};
use crate::Engine;

/// What became of an authenticated post to an inbound hook.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// Appended as this `inbound` event.
    Appended(Box<Event>),
    /// A replay of a message the hook already took: nothing appended.
    Replay,
}

/// The prefix of Standard Webhooks secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// What an admin PUTs to define an endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointDef {
    /// Human title.
    #[serde(default)]
    pub title: Option<String>,
    /// An http:// or https:// URL, or [`SINK_URL`].
    pub url: String,
    /// `whsec_` + base64 (24 to 64 bytes); generated for a new endpoint when absent, kept for
    /// an existing one.
    #[serde(default)]
    pub secret: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// What an admin PUTs to define an inbound hook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookDef {
    /// Human title.
    #[serde(default)]
    pub title: Option<String>,
    /// `whsec_` + base64; generated for a new hook when absent, kept for an existing one.
    #[serde(default)]
    pub secret: Option<String>,
    /// Default `signature`.
    #[serde(default)]
    pub auth: HookAuth,
    /// A JSON Schema for bodies.
    #[serde(default)]
    pub schema: Option<Value>,
    /// Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// The secret an endpoint or hook keeps: the one given, else the one it had, else a new one;
/// and the new one, if one was generated (shown once, in the answer to the PUT).
fn resolve_secret(given: Option<String>, previous: Option<String>) -> (String, Option<String>) {
    match (given, previous) {
        (Some(secret), _) | (None, Some(secret)) => (secret, None),
        (None, None) => {
            let secret = new_secret();
            (secret.clone(), Some(secret))
        }
    }
}

fn yes() -> bool {
    true
}

/// One attempt, as the engine hands it to the [`Transport`].
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// An HTTP POST of a JSON body.
    Webhook {
        /// The URL.
        url: String,
        /// The signing secret (`whsec_…`); none for a bare `url` target, which is not signed.
        secret: Option<String>,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// `webhook-id`: the delivery's id, the same on every attempt.
        id: String,
        /// `webhook-timestamp`: this attempt's instant, seconds since the epoch.
        timestamp: i64,
        /// The JSON payload.
        body: Vec<u8>,
    },
    /// An email.
    Email {
        /// The delivery's id (the message's `Message-ID`, the same on every attempt).
        id: String,
        /// Recipients.
        to: Vec<String>,
        /// Rendered subject.
        subject: String,
        /// Rendered plain-text body.
        body: String,
    },
}

/// What a transport says about one attempt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attempted {
    /// The receiver accepted it (a 2xx; a mail server's acceptance).
    pub accepted: bool,
    /// Retrying can't help (the target is refused by policy, malformed): dead at once.
    pub permanent: bool,
    /// The answer's status code.
    pub status: Option<u16>,
    /// The start of the answer's body.
    pub response: Option<String>,
    /// Why there was no usable answer.
    pub error: Option<String>,
}

/// A boxed future, as [`Transport::send`] returns (keeps the trait object-safe).
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Attempted> + Send + 'a>>;

/// Sends one attempt over the network; implemented outside the engine. It must give up on
/// its own after its timeout (the worker also stops waiting after the policy's timeout).
pub trait Transport: Send + Sync + 'static {
    /// Makes one attempt.
    fn send<'a>(&'a self, outgoing: &'a Outgoing) -> SendFuture<'a>;
}

/// The delivery worker's state: deliveries being attempted right now, and its bell.
#[derive(Debug, Default)]
pub(crate) struct DeliveryWorker {
    in_flight: Mutex<HashSet<Uuid>>,
    wake: tokio::sync::Notify,
}

impl DeliveryWorker {
    /// Rings the worker's bell: there are deliveries to look at.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether an attempt at `id` is under way.
    fn is_in_flight(&self, id: &Uuid) -> bool {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
    }

    /// Marks `id` as being attempted (or rewritten); false if it already was.
    fn claim(&self, id: Uuid) -> bool {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(id)
    }

    /// `id` is no longer being attempted.
    fn release(&self, id: &Uuid) {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

/// The URL of a sink endpoint: its deliveries are recorded as delivered and never sent
/// anywhere (for demos and for trying workflows before a receiver exists). The transport
/// honours it.
pub const SINK_URL: &str = "sink:";

/// A new random secret in the Standard Webhooks format.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// Checks a given secret: `whsec_` + standard base64 of 24 to 64 bytes.
fn check_secret(secret: &str, path: &str, problems: &mut Vec<FieldError>) {
    let key = secret.strip_prefix(SECRET_PREFIX).map(|b64| base64::engine::general_purpose::STANDARD.decode(b64));
    match key {
        Some(Ok(key)) if (24..=64).contains(&key.len()) => {}
        _ => problems.push(FieldError::new(path, "must be `whsec_` followed by the base64 of 24 to 64 random bytes")),
    }
}

/// Header names and values that an HTTP request can carry and that don't clash with the
/// ones deliveries set themselves.
fn check_headers(headers: &BTreeMap<String, String>, problems: &mut Vec<FieldError>) {
    for (name, value) in headers {
        let path = format!("/headers/{}", forms::escape_pointer_token(name));
        let token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !token {
            problems.push(FieldError::new(path, "a header name is letters, digits, `-`, `_` and `.`"));
        } else if name.to_ascii_lowercase().starts_with("webhook-")
            || ["content-type", "content-length", "host"].contains(&name.to_ascii_lowercase().as_str())
        {
            problems.push(FieldError::new(path, "this header is set by Tend itself"));
        } else if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            problems.push(FieldError::new(path, "header values can't contain control characters"));
        }
    }
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only those in this state.
    pub status: Option<DeliveryStatus>,
    /// Only those this workflow asked for.
    pub workflow: Option<String>,
}

impl Engine {
    /// A new outbox row for a run's `notify`, due at once; the run's commit writes it. Its id
    /// (the `webhook-id` receivers dedupe by) is `derived` when given, else a fresh one.
    pub(crate) fn new_delivery(
        &self,
        space: &SpaceName,
        workflow: &WorkflowName,
        run: Uuid,
        target: DeliveryTarget,
        body: Value,
        derived: Option<Uuid>,
    ) -> Delivery {
        let now = self.now();
        let id = derived.unwrap_or_else(|| self.new_record_id(now));
        Delivery::queued(id, space.clone(), workflow.clone(), run, target, body, now)
    }

    /// Stores an outgoing webhook endpoint; returns it and, when this call generated the
    /// secret, the secret (the only time it is shown).
    pub async fn put_endpoint(
        &self,
        space: &SpaceName,
        name: &EndpointName,
        definition: &Value,
    ) -> Result<EndpointInfo> {
        self.space(space)?;
        let definition: EndpointDef = forms::parse_definition(definition, "a webhook endpoint")?;
        let mut problems = Vec::new();
        let http = (definition.url.starts_with("https://") || definition.url.starts_with("http://"))
            && !url_authority(&definition.url).is_empty();
        if !http && definition.url != SINK_URL {
            problems.push(FieldError::new("/url", "must be an http:// or https:// URL, or `sink:`"));
        }
        if let Some(secret) = &definition.secret {
            check_secret(secret, "/secret", &mut problems);
        }
        check_headers(&definition.headers, &mut problems);
        if !problems.is_empty() {
            return Err(DefinitionErrors(problems).into());
        }
        let previous = self.store().endpoint(space, name)?;
        let now = self.now();
        let (secret, generated) =
            resolve_secret(definition.secret.clone(), previous.as_ref().map(|p| p.secret.clone()));
        let endpoint = Endpoint {
            name: name.clone(),
            title: definition.title,
            url: definition.url,
            secret,
            headers: definition.headers,
            enabled: definition.enabled,
            created_at: previous.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
        };
        self.store().put_endpoint(space, &endpoint)?;
        self.store().barrier().await?;
        Ok(EndpointInfo { secret: generated, ..endpoint.info() })
    }

    /// An endpoint, secret included (for the transport and for callers that sign).
    pub fn endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<Endpoint> {
        self.space(space)?;
        self.store().endpoint(space, name)?.ok_or_else(|| EngineError::not_found("webhook endpoint", name))
    }

    /// Every endpoint of a space, in name order, without secrets.
    pub fn endpoints(&self, space: &SpaceName) -> Result<Vec<EndpointInfo>> {
        self.space(space)?;
        Ok(self.store().endpoints(space)?.iter().map(Endpoint::info).collect())
    }

    /// Deletes an outgoing webhook endpoint; refused while a workflow's `notify` action names
    /// it. Deliveries already queued to it fail their attempts and end dead.
    pub async fn delete_endpoint(&self, space: &SpaceName, name: &EndpointName) -> Result<()> {
        let endpoint = self.endpoint(space, name)?;
        let notifying =
            |action: &Action| matches!(action, Action::Notify(n) if n.webhook.as_deref() == Some(name.as_str()));
        self.refuse_if_used(space, "webhook endpoint", name.as_str(), |w| w.definition.actions.iter().any(notifying))?;
        self.store().remove_endpoint(space, &endpoint.name)?;
        self.store().barrier().await?;
        Ok(())
    }

    /// Deletes an inbound hook; refused while a workflow is triggered by it. Posts to it are
    /// then refused like posts to a hook that never existed.
    pub async fn delete_hook(&self, space: &SpaceName, name: &HookName) -> Result<()> {
        let hook = self.hook(space, name)?;
        let triggered = |w: &StoredWorkflow| w.definition.trigger.hook.as_deref() == Some(name.as_str());
        self.refuse_if_used(space, "inbound hook", name.as_str(), triggered)?;
        self.store().remove_hook(space, &hook.name)?;
        self.store().barrier().await?;
        Ok(())
    }

    /// A conflict naming the workflows (their latest versions) that `uses` picks out.
    fn refuse_if_used(
        &self,
        space: &SpaceName,
        what: &str,
        name: &str,
        uses: impl Fn(&StoredWorkflow) -> bool,
    ) -> Result<()> {
        let users: Vec<String> =
            self.store().latest_workflows(space)?.into_iter().filter(|w| uses(w)).map(|w| w.name.to_string()).collect();
        if users.is_empty() {
            return Ok(());
        }
        Err(EngineError::Busy(format!(
            "{what} `{name}` is used by workflow(s) {}: change or delete them first",
            users.join(", ")
        )))
    }

    /// Stores an inbound hook; returns it and, when this call generated the secret, the secret.
    pub async fn put_hook(&self, space: &SpaceName, name: &HookName, definition: &Value) -> Result<HookInfo> {
        self.space(space)?;
        let definition: HookDef = forms::parse_definition(definition, "an inbound hook")?;
        let mut problems = Vec::new();
        if let Some(secret) = &definition.secret {
            check_secret(secret, "/secret", &mut problems);
        }
        if let Some(schema) = &definition.schema {
            if let Err(DefinitionErrors(errors)) = PayloadSchema::compile(schema) {
                problems.extend(errors);
            }
        }
        if !problems.is_empty() {
            return Err(DefinitionErrors(problems).into());
        }
        let previous = self.store().hook(space, name)?;
        let now = self.now();
        let (secret, generated) =
            resolve_secret(definition.secret.clone(), previous.as_ref().map(|p| p.secret.clone()));
        let hook = Hook {
            name: name.clone(),
            title: definition.title,
            secret,
            auth: definition.auth,
            schema: definition.schema,
            enabled: definition.enabled,
            created_at: previous.as_ref().map_or(now, |p| p.created_at),
            updated_at: now,
        };
        self.store().put_hook(space, &hook)?;
        self.store().barrier().await?;
        Ok(HookInfo { secret: generated, ..hook.info() })
    }

    /// An inbound hook, secret included (to authenticate a post).
    pub fn hook(&self, space: &SpaceName, name: &HookName) -> Result<Hook> {
        self.space(space)?;
        self.store().hook(space, name)?.ok_or_else(|| EngineError::not_found("inbound hook", name))
    }

    /// Every inbound hook of a space, in name order, without secrets.
    pub fn hooks(&self, space: &SpaceName) -> Result<Vec<HookInfo>> {
        self.space(space)?;
        Ok(self.store().hooks(space)?.iter().map(Hook::info).collect())
    }

    /// Whether hook `name` exists in `space` (trigger checks).
    pub(crate) fn hook_exists(&self, space: &SpaceName, name: &HookName) -> bool {
        matches!(self.store().hook(space, name), Ok(Some(_)))
    }

    /// Appends an `inbound` event for a post to hook `name`, after checking the body against
    /// the hook's schema (every failing field, nothing stored when one fails). The caller has
    /// authenticated the post. A post carrying a `message_id` the hook already took within
    /// [`REPLAY_WINDOW`] is a replay: nothing is appended, and the answer says so.
    pub async fn receive_inbound(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: &HookName,
        payload: Value,
        message_id: Option<&str>,
    ) -> Result<Inbound> {
        let hook = self.hook(space, name)?;
        if !hook.enabled {
            return Err(EngineError::not_found("inbound hook", name));
        }
        forms::check_depth(&payload, forms::MAX_DATA_DEPTH).map_err(|error| ValidationErrors(vec![error]))?;
        if let Some(schema) = &hook.schema {
            let schema = PayloadSchema::compile(schema).map_err(|errors| {
                ValidationErrors(
                    errors
                        .0
                        .into_iter()
                        .map(|e| FieldError::new("", format!("the hook's schema: {}", e.message)))
                        .collect(),
                )
            })?;
            schema.validate(&payload)?;
        }
        let receipt = message_id.map(|message_id| InboundReceipt {
            space: space.clone(),
            hook: hook.name.to_string(),
            message_id: message_id.to_owned(),
        });
        let _serialised = match &receipt {
            Some(receipt) => Some(self.inner.inbound.lock_for(&receipt.message_id).lock().await),
            None => None,
        };
        let now = self.now();
        let mut receipts = Vec::new();
        if self.inner.inbound.prune_due(now) {
            let expired = self.store().inbound_receipts_before(now - REPLAY_WINDOW)?;
            let renewed = |old: &InboundReceipt| receipt.as_ref() == Some(old);
            receipts.extend(expired.into_iter().filter(|old| !renewed(old)).map(|old| (old, None)));
        }
        if let Some(receipt) = receipt {
            let taken = self.store().inbound_receipt(&receipt)?;
            if taken.is_some_and(|taken| now - taken < REPLAY_WINDOW) {
                return Ok(Inbound::Replay);
            }
            receipts.push((receipt, Some(now)));
        }
        let event = Event {
            hook: Some(hook.name.to_string()),
            payload: Some(payload),
            ..Event::bare(space.clone(), EventKind::Inbound, actor.clone(), now)
        };
        let extras = Extras { events: vec![event], inbound_receipts: receipts, ..Extras::default() };
        let mut events = self.commit(Vec::new(), extras).await?;
        let event = events.pop().ok_or_else(|| EngineError::Internal("the commit returned no event".into()))?;
        Ok(Inbound::Appended(Box::new(event)))
    }

    /// A space's deliveries, newest first, matching `filter`; `before` is the last one of the
    /// previous page. Returns up to `limit` of them and whether there are more.
    pub fn list_deliveries(
        &self,
        space: &SpaceName,
        filter: &DeliveryFilter,
        limit: usize,
        before: Option<Uuid>,
    ) -> Result<(Vec<Delivery>, bool)> {
        self.space(space)?;
        let mut found = Vec::new();
        for delivery in self.store().space_deliveries_newest_first(space, before) {
            let delivery = self.with_live_status(delivery?);
            let keep = filter.status.is_none_or(|s| delivery.status == s)
                && filter.workflow.as_deref().is_none_or(|w| delivery.workflow.as_str() == w);
            if keep {
                if found.len() == limit {
                    return Ok((found, true));
                }
                found.push(delivery);
            }
        }
        Ok((found, false))
    }

    /// One delivery of a space.
    pub fn delivery(&self, space: &SpaceName, id: &str) -> Result<Delivery> {
        self.space(space)?;
        let id = Uuid::parse_str(id).map_err(|_| EngineError::not_found("delivery", id))?;
        match self.store().delivery(&id)? {
            Some(delivery) if &delivery.space == space => Ok(self.with_live_status(delivery)),
            _ => Err(EngineError::not_found("delivery", id.to_string())),
        }
    }

    /// Sends a delivery again, whatever its state, with a fresh budget of attempts and the same
    /// `webhook-id`; refused while an attempt is under way.
    pub async fn redeliver(&self, space: &SpaceName, id: &str) -> Result<Delivery> {
        let current = self.delivery(space, id)?;
        if !self.inner.deliveries.claim(current.id) {
            return Err(EngineError::Busy(format!("delivery {} is being attempted right now", current.id)));
        }
        // Holding the in-flight mark keeps the worker off this delivery while it is rewritten.
        let result = async {
            let stored = self.store().delivery(&current.id)?.ok_or_else(|| EngineError::not_found("delivery", id))?;
            let now = self.now();
            let updated = Delivery {
                status: DeliveryStatus::Pending,
                next_attempt_at: Some(now),
                round_attempts: 0,
                ..stored.clone()
            };
            self.store().update_deliveries(vec![(updated.clone(), stored.next_attempt_at)]).await?;
            Ok(updated)
        }
        .await;
        self.inner.deliveries.release(&current.id);
        self.inner.deliveries.wake();
        result
    }

    /// The delivery with `delivering` for one being attempted right now.
    fn with_live_status(&self, mut delivery: Delivery) -> Delivery {
        if delivery.status == DeliveryStatus::Pending && self.inner.deliveries.is_in_flight(&delivery.id) {
            delivery.status = DeliveryStatus::Delivering;
        }
        delivery
    }

    /// How many deliveries of each status a space has (for dashboards and tests).
    pub fn delivery_counts(&self, space: &SpaceName) -> Result<HashMap<&'static str, usize>> {
        self.space(space)?;
        let mut counts = HashMap::new();
        for delivery in self.store().space_deliveries_newest_first(space, None) {
            let delivery = self.with_live_status(delivery?);
            *counts.entry(delivery.status.as_str()).or_insert(0) += 1;
        }
        Ok(counts)
    }
}

/// Exponential backoff with jitter: about `base · 2^(n-1)` after the n-th failed attempt,
/// capped at `max`, drawn from its upper half so retries of many deliveries spread out.
pub(crate) fn backoff(policy: &DeliveryPolicy, failed_attempts: u32) -> Duration {
    let exponent = failed_attempts.saturating_sub(1).min(30);
    let full = policy.backoff_base.saturating_mul(1u32 << exponent).min(policy.backoff_max);
    let half = full / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let extra = if jitter_ms == 0 { 0 } else { rand::random::<u64>() % (jitter_ms + 1) };
    half + Duration::from_millis(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_authorities() {
        assert_eq!(url_authority("https://user:pw@hooks.example.com:8443/a?b"), "hooks.example.com:8443");
        assert_eq!(url_authority("http://10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = DeliveryPolicy {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            ..DeliveryPolicy::default()
        };
        for attempt in 1..=12 {
            let delay = backoff(&policy, attempt);
            let full = Duration::from_secs(1 << (attempt - 1).min(30)).min(Duration::from_secs(60));
            assert!(delay >= full / 2 && delay <= full, "attempt {attempt}: {delay:?}");
        }
    }

    #[test]
    fn secrets_are_checked() {
        let mut problems = Vec::new();
        check_secret(&new_secret(), "/secret", &mut problems);
        assert!(problems.is_empty());
        for bad in ["whsec_short", "nope", "whsec_!!!!"] {
            check_secret(bad, "/secret", &mut problems);
        }
        assert_eq!(problems.len(), 3);
    }
}
