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
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// After this it opens nothing.
    pub expires_at: DateTime<Utc>,
}
