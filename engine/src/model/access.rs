//! What a caller is inside one space, as record policy sees it: the role a member holds there
//! and the people whose records a team scope reaches. Resolving a request's caller to an
//! [`Access`] is the people subsystem's job; applying a form's policy to it is the policy's.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A member's role in a space, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpaceRole {
    /// Everything an admin may, and managing other owners.
    Owner,
    /// Forms, workflows, webhooks, hooks, views and members.
    Admin,
    /// Works records.
    Member,
    /// Reads.
    Viewer,
}

impl SpaceRole {
    /// The role's name as the API and form policies spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceRole::Owner => "owner",
            SpaceRole::Admin => "admin",
            SpaceRole::Member => "member",
            SpaceRole::Viewer => "viewer",
        }
    }
}

/// One caller's standing in one space.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// The user acting, if the caller is a person (or a token of one).
    pub user_id: Option<String>,
    /// The caller's role in the space; `None` means no policy applies: a superadmin, or a token
    /// made before people existed.
    pub role: Option<SpaceRole>,
    /// The users who share a team with the caller in this space, the caller included: whose
    /// records a `team` scope reaches.
    pub team_members: BTreeSet<String>,
}

impl Access {
    /// A caller no record policy restricts.
    pub fn unrestricted() -> Self {
        Access::default()
    }

    /// Whether no record policy applies to this caller.
    pub fn is_unrestricted(&self) -> bool {
        self.role.is_none()
    }
}
