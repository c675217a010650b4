//! Browser sessions and one-time sign-in links as stored (their secrets are not: only hashes
//! are keys).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Role;

/// A stored session, without its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Who the session acts as: the token it was opened with, or `link` for a sign-in link.
    pub token_id: String,
    /// What it may do.
    pub role: Role,
    /// The user signed in (password or their sign-in link); `None` for a session opened with
    /// a bootstrap token or link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Public id (a prefix of the hash of the session id), for listing and revoking; empty for
    /// sessions opened before it existed.
    #[serde(default)]
    pub id: String,
    /// The client's address at sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A stored one-time sign-in link, without its code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInLink {
    /// What the session it opens may do.
    pub role: Role,
    /// The user it signs in, if any (the first superadmin's link, before a password is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// After this it opens nothing.
    pub expires_at: DateTime<Utc>,
}
