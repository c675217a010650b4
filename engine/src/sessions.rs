//! Browser sessions and one-time sign-in links.
//!
//! A browser holds a session id in a cookie instead of an API token. The id is 32 random bytes;
//! only its SHA-256 is stored (as for tokens), with the caller it stands for and an expiry.
//! A session is opened with a user's email and password (the session acts as that user), with
//! an API token (it acts as that token's user), or with a one-time sign-in link that the server
//! prints at start: 32 random bytes, stored hashed, valid for [`SIGN_IN_LINK_TTL`], removed by
//! its first use. Every sign-in makes a new session id (no fixation).

use base64::Engine as _;
use chrono::Duration;
use rand::RngCore;

use crate::auth::{self, Principal, Role};
use crate::store::Store;
use crate::{Engine, Result};

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::days(7);
/// How long a printed sign-in link can be used.
pub const SIGN_IN_LINK_TTL: Duration = Duration::minutes(15);

pub use crate::model::{Session, SignInLink};

impl Session {
    /// The caller the session stands for, as stored (see [`Engine::session_caller`] for the
    /// caller as of now).
    pub fn principal(&self) -> Principal {
        Principal {
            token_id: self.token_id.clone(),
            role: self.role,
            user_id: self.user_id.clone(),
            superadmin: self.user_id.is_none(),
            space: None,
            read_only: false,
        }
    }
}

/// The caller id of sessions opened with a sign-in link (there are no people yet).
pub const LINK_CALLER: &str = "sign-in-link";

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `secret` has the shape of a session id or link code (43 URL-safe base64 characters).
fn well_formed(secret: &str) -> bool {
    secret.len() == 43 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Engine {
    /// Opens a session acting as `principal` (a session has a token's user's rights, not its
    /// narrowing: it is the person at the browser) from address `from`; returns the session id
    /// (not stored) and the session.
    pub async fn open_session(&self, principal: &Principal, from: Option<String>) -> Result<(String, Session)> {
        let now = self.now();
        // Expired sessions are removed here rather than by a background task: sign-ins are rare.
        self.store().remove_sessions_where(&|session: &Session| session.expires_at <= now)?;
        let secret = new_secret();
        let hash = auth::hash_secret(&secret);
        let session = Session {
            token_id: principal.token_id.clone(),
            role: principal.role,
            user_id: principal.user_id.clone(),
            id: hash[..12].to_owned(),
            from,
            created_at: now,
            expires_at: now + SESSION_TTL,
        };
        self.store().insert_session(&hash, &session)?;
        self.store().barrier().await?;
        Ok((secret, session))
    }

    /// The live session with this id, if any (an expired one is removed).
    pub fn session(&self, session_id: &str) -> Result<Option<Session>> {
        if !well_formed(session_id) {
            return Ok(None);
        }
        let hash = auth::hash_secret(session_id);
        let Some(session) = self.store().session(&hash)? else {
            return Ok(None);
        };
        if session.expires_at <= self.now() {
            self.store().remove_session(&hash)?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// The live session with this id and the caller it stands for as of now (none when its
    /// user is disabled or gone).
    pub fn session_caller(&self, session_id: &str) -> Result<Option<(Principal, Session)>> {
        let Some(session) = self.session(session_id)? else {
            return Ok(None);
        };
        Ok(self.current_caller(session.principal())?.map(|principal| (principal, session)))
    }

    /// A user's live sessions, oldest first.
    pub fn sessions_of(&self, user_id: &str) -> Result<Vec<Session>> {
        let now = self.now();
        let mut sessions: Vec<Session> = (self.store().sessions()?.into_iter())
            .map(|(_, session)| session)
            .filter(|session| session.user_id.as_deref() == Some(user_id) && session.expires_at > now)
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    /// Ends one of a user's sessions by its public id (another user's answers like one that
    /// doesn't exist).
    pub async fn revoke_session(&self, user_id: &str, id: &str) -> Result<()> {
        let found = self.store().sessions()?.into_iter().find(|(_, session)| {
            !session.id.is_empty() && session.id == id && session.user_id.as_deref() == Some(user_id)
        });
        let Some((hash, _)) = found else {
            return Err(crate::EngineError::NotFound { what: "session", name: id.to_owned() });
        };
        self.store().remove_session(&hash)?;
        self.store().barrier().await?;
        Ok(())
    }

    /// Ends a session (signing out); ending an unknown one is not an error.
    pub async fn end_session(&self, session_id: &str) -> Result<()> {
        if well_formed(session_id) {
            self.store().remove_session(&auth::hash_secret(session_id))?;
            self.store().barrier().await?;
        }
        Ok(())
    }

    /// Makes a one-time sign-in link code for a session of `user_id` (a bootstrap admin
    /// session for `None`), valid for [`SIGN_IN_LINK_TTL`].
    pub async fn create_sign_in_link(&self, user_id: Option<String>) -> Result<(String, SignInLink)> {
        let now = self.now();
        self.store().remove_sign_in_links_where(&|link: &SignInLink| link.expires_at <= now)?;
        let code = new_secret();
        let role = if user_id.is_some() { Role::User } else { Role::Admin };
        let link = SignInLink { role, user_id, created_at: now, expires_at: now + SIGN_IN_LINK_TTL };
        self.store().insert_sign_in_link(&auth::hash_secret(&code), &link)?;
        self.store().barrier().await?;
        Ok((code, link))
    }

    /// Uses a sign-in link: opens a session if the code is known and not expired. The link is
    /// gone afterwards either way (single use).
    pub async fn redeem_sign_in_link(&self, code: &str, from: Option<String>) -> Result<Option<(String, Session)>> {
        if !well_formed(code) {
            return Ok(None);
        }
        let Some(link) = self.store().take_sign_in_link(&auth::hash_secret(code))? else {
            return Ok(None);
        };
        if link.expires_at <= self.now() {
            self.store().barrier().await?;
            return Ok(None);
        }
        let principal = Principal {
            token_id: LINK_CALLER.to_owned(),
            role: link.role,
            user_id: link.user_id,
            ..Principal::default()
        };
        self.open_session(&principal, from).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_well_formed_and_other_shapes_are_not() {
        let secret = new_secret();
        assert!(well_formed(&secret), "{secret}");
        assert_ne!(secret, new_secret());
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}!", &secret[..42])));
    }
}
