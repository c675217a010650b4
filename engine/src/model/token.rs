//! API tokens as stored: whose they are and how far they reach, without their secret (only the
//! secret's hash is their key).

use chrono::{DateTime, Utc};
use forms::SpaceName;
use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, in every space: the tokens made before people existed (the "bootstrap"
    /// user's) and the first admin token of a new data dir.
    Admin,
    /// At most what its user may (see [`TokenInfo::user_id`]).
    #[default]
    User,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public identifier (a prefix of the hash), shown in `created_by` and logs.
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// Free text to tell tokens apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The user it acts for; `None` for an `Admin` token (the bootstrap user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The one space it reaches, if narrowed; other spaces answer as if they didn't exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<SpaceName>,
    /// Only safe methods (reads).
    #[serde(default)]
    pub read_only: bool,
    /// After this it authenticates nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to the minute: written at most once a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The name tokens without a user are listed under.
pub const BOOTSTRAP_USER: &str = "bootstrap";
