//! People as stored: users, their memberships of spaces, and the audit log of who changed what.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::SpaceRole;

/// A person who signs in. The password is an argon2id PHC string; none until it is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Stable id (`u` + a UUIDv7 in simple form); actors name it as `user:{id}`.
    pub id: String,
    /// Unique, compared case-insensitively (stored as given).
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone for notifications and the web app.
    pub time_zone: String,
    /// BCP 47 language tag.
    pub locale: String,
    /// argon2id PHC string; `None` until a password is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A disabled user can't sign in, and their tokens and sessions stop working.
    #[serde(default)]
    pub disabled: bool,
    /// Instance-level rights: users, spaces, packs, backups, every space.
    #[serde(default)]
    pub superadmin: bool,
    /// When the user was made.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// The user as the API shows them: without the password hash.
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            locale: self.locale.clone(),
            has_password: self.password.is_some(),
            disabled: self.disabled,
            superadmin: self.superadmin,
            created_at: self.created_at,
        }
    }
}

/// A user without secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserInfo {
    /// Stable id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Language tag.
    pub locale: String,
    /// Whether a password is set.
    pub has_password: bool,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// Instance-level rights.
    pub superadmin: bool,
    /// When the user was made.
    pub created_at: DateTime<Utc>,
}

/// A user's membership of one space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The member.
    pub user_id: String,
    /// Their role in the space.
    pub role: SpaceRole,
    /// The space's teams they belong to (names), sorted.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// One entry of the audit log: who did what, when and from where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Time-ordered id (UUIDv7).
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (`user:{id}`, `token:{id}`, `cli`, `system`).
    pub actor: String,
    /// The space concerned, for space-level changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// What happened: `form.put`, `member.put`, `token.create`, `sign_in`, …
    pub action: String,
    /// What it happened to (a form's name, a user id, a token id).
    pub target: String,
    /// The client's address, when the change came over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}
