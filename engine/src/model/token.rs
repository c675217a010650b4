//! API tokens as stored: what a token may do, without its secret (only the secret's hash is
//! its key).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, in every space.
    Admin,
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
}
