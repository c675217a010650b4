//! Integrations as stored: outgoing webhook endpoints and inbound hooks, each with the secret
//! it signs or verifies with, and the views the API shows (secrets are write-only).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use forms::{EndpointName, HookName};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An outgoing webhook endpoint as stored, secret included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Its name in the space (what `notify.webhook` names).
    pub name: EndpointName,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where to post.
    pub url: String,
    /// `whsec_` + base64 of the signing key.
    pub secret: String,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A disabled endpoint's deliveries fail their attempts (and end dead) until it is enabled.
    pub enabled: bool,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// An endpoint as the API shows it: the secret is write-only.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointInfo {
    /// Its name.
    pub name: EndpointName,
    /// Human title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Where deliveries go.
    pub url: String,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// Whether deliveries are attempted.
    pub enabled: bool,
    /// Always true: every endpoint signs.
    pub has_secret: bool,
    /// The secret, only in the answer to the PUT that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// The endpoint without its secret.
    pub fn info(&self) -> EndpointInfo {
        EndpointInfo {
            name: self.name.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            enabled: self.enabled,
            has_secret: !self.secret.is_empty(),
            secret: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// How an inbound hook authenticates its caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookAuth {
    /// A Standard Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
    /// made with the hook's secret.
    #[default]
    Signature,
    /// `Authorization: Bearer <the hook's secret>`, for senders that can't sign.
    Bearer,
}

/// An inbound hook as stored, secret included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    /// Its name in the space (what a `{"hook": ...}` trigger names).
    pub name: HookName,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `whsec_` + base64.
    pub secret: String,
    /// How callers authenticate.
    pub auth: HookAuth,
    /// A JSON Schema (2020-12) bodies must satisfy; any JSON when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// A disabled hook answers 404.
    pub enabled: bool,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A hook as the API shows it: the secret is write-only.
#[derive(Debug, Clone, Serialize)]
pub struct HookInfo {
    /// Its name.
    pub name: HookName,
    /// Human title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How callers authenticate.
    pub auth: HookAuth,
    /// The body schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Whether posts are accepted.
    pub enabled: bool,
    /// Always true.
    pub has_secret: bool,
    /// The secret, only in the answer to the PUT that generated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// When it was first stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Hook {
    /// The hook without its secret.
    pub fn info(&self) -> HookInfo {
        HookInfo {
            name: self.name.clone(),
            title: self.title.clone(),
            auth: self.auth,
            schema: self.schema.clone(),
            enabled: self.enabled,
            has_secret: !self.secret.is_empty(),
            secret: None,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}
