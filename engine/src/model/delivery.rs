//! The outbox as stored: a delivery (a webhook call or an email a workflow asked for) with
//! every attempt at it, and its concurrency group.

use chrono::{DateTime, Utc};
use forms::{SpaceName, WorkflowName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// An outgoing webhook call or email in the outbox, with every attempt at delivering it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// UUIDv7; also the idempotency key receivers see (`webhook-id`).
    pub id: Uuid,
    /// The space.
    pub space: SpaceName,
    /// The workflow that asked for it.
    pub workflow: WorkflowName,
    /// The run that asked for it.
    pub run: Uuid,
    /// Where it goes.
    pub target: DeliveryTarget,
    /// The payload.
    pub body: Value,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due (none once delivered or dead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When a receiver accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts since it was written or last redelivered; `max_attempts` of them make it dead.
    #[serde(default)]
    pub round_attempts: u32,
    /// Every attempt, oldest first (the most recent `MAX_KEPT_ATTEMPTS`).
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

/// Where a delivery goes. Stored (and shown) as `{"webhook": name}`, `{"url": url}` or
/// `{"email": {to, subject, body}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryTarget {
    /// An outgoing webhook endpoint of the delivery's space, by name: signed with its secret.
    Webhook(String),
    /// A bare http(s) URL: not signed.
    Url(String),
    /// An email: `to` (a string or an array of strings), `subject` and `body`, as the
    /// workflow's expressions evaluated them; checked when it is sent, so a bad one ends dead
    /// with a reason rather than failing the run.
    Email(Value),
}

/// How many attempts a delivery keeps on record.
pub const MAX_KEPT_ATTEMPTS: usize = 50;

impl Delivery {
    /// A new delivery, due at once.
    pub(crate) fn queued(
        id: Uuid,
        space: SpaceName,
        workflow: WorkflowName,
        run: Uuid,
        target: DeliveryTarget,
        body: Value,
        now: DateTime<Utc>,
    ) -> Self {
        Delivery {
            id,
            space,
            workflow,
            run,
            target,
            body,
            status: DeliveryStatus::Pending,
            created_at: now,
            next_attempt_at: Some(now),
            delivered_at: None,
            round_attempts: 0,
            attempts: Vec::new(),
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// An attempt is under way (never stored: a crash leaves it pending).
    Delivering,
    /// A receiver answered 2xx (or the mail server accepted it).
    Delivered,
    /// Every attempt failed, or the target was refused; `redeliver` starts over.
    Dead,
}

impl DeliveryStatus {
    /// The status as a word (metrics labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status (SMTP deliveries: 250 when accepted); none if there was no
    /// answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// The start of the receiver's answer (bounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Why it failed, when it did without an answer (network error, timeout, refused target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Delivery {
    /// The concurrency group: deliveries of one group share a concurrency limit, so a slow
    /// receiver holds up only its own group. An endpoint is a group; a bare URL is grouped by
    /// host; all email goes through the one mail server.
    pub fn group(&self) -> String {
        let group = match &self.target {
            DeliveryTarget::Webhook(name) => format!("webhook/{}/{name}", self.space),
            DeliveryTarget::Url(url) => format!("url/{}", url_authority(url)),
            DeliveryTarget::Email(_) => "email".to_owned(),
        };
        // Groups are key parts, which a NUL would end early.
        group.replace('\0', "")
    }
}

/// The `host:port` part of an http(s) URL (what follows `://` up to the path).
pub(crate) fn url_authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}
