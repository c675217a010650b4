//! API tokens: how they are made, stored and checked.
//!
//! A token is 32 random bytes shown to its owner once (`tend_` + URL-safe base64). Only its
//! SHA-256 is stored: the secret has 256 bits of entropy, so a fast hash is enough to make a
//! stolen database useless for logging in (a slow password hash like argon2 guards low-entropy
//! secrets, and would cost milliseconds on every request here).
//!
//! `Tokens` is the tokens subsystem: it makes and checks tokens over the store and keeps
//! the principals it has seen; the `Engine` façade delegates to it.
//!
//! Passwords are the opposite case: low-entropy secrets, hashed with argon2id at the OWASP
//! parameters ([`hash_password`]), a PHC string per user.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};
use forms::SpaceName;

use crate::error::{EngineError, Result};
use crate::model::Actor;
pub use crate::model::{Role, TokenInfo};
use crate::store::Store;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Principal {
    /// The token's public id (or the session's, for a signed-in user).
    pub token_id: String,
    /// What it may do: `Admin` acts for the bootstrap user, everywhere.
    pub role: Role,
    /// The user acting; `None` for the bootstrap user.
    pub user_id: Option<String>,
    /// The user is a superadmin (always, for the bootstrap user); resolved per request.
    pub superadmin: bool,
    /// The one space a narrowed token reaches.
    pub space: Option<SpaceName>,
    /// Only safe methods.
    pub read_only: bool,
}

impl Principal {
    /// How the caller appears in `created_by`, `updated_by` and event actors: the user, or
    /// the token for the bootstrap user.
    pub fn actor(&self) -> Actor {
        match &self.user_id {
            Some(user) => Actor(format!("user:{user}")),
            None => Actor(format!("token:{}", self.token_id)),
        }
    }

    /// The caller of a token as stored.
    pub(crate) fn of_token(info: &TokenInfo) -> Principal {
        Principal {
            token_id: info.id.clone(),
            role: info.role,
            user_id: info.user_id.clone(),
            superadmin: info.role == Role::Admin,
            space: info.space.clone(),
            read_only: info.read_only,
        }
    }
}

/// What a new token is: whose, how far it reaches, until when.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// `Admin` for a bootstrap token, else `User`.
    pub role: Role,
    /// Free text.
    pub label: Option<String>,
    /// The user it acts for (required for `User` tokens).
    pub user_id: Option<String>,
    /// Narrowed to one space.
    pub space: Option<SpaceName>,
    /// Only safe methods.
    pub read_only: bool,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// How often at most a token's last-used time is written.
const LAST_USED_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// A token already authenticated: its caller, when it expires, when its last use was written.
#[derive(Clone)]
struct Seen {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    used_written: Option<DateTime<Utc>>,
}

/// The tokens subsystem's state: principals already authenticated, by secret hash. Every
/// request authenticates, and tokens are never changed in place (but for their last-used
/// time, written at most once a minute), so a hit needs no storage read.
#[derive(Default)]
pub(crate) struct Tokens {
    seen: std::sync::RwLock<std::collections::HashMap<String, Seen>>,
}

impl Tokens {
    /// Creates a token and returns its secret, which is not stored and can't be shown again;
    /// durable when it returns.
    pub(crate) async fn create(
        &self,
        store: &impl Store,
        new: NewToken,
        now: DateTime<Utc>,
    ) -> Result<(String, TokenInfo)> {
        let secret = new_secret();
        let hash = hash_secret(&secret);
        let info = TokenInfo {
            id: hash[..12].to_owned(),
            role: new.role,
            label: new.label,
            created_at: now,
            user_id: new.user_id,
            space: new.space,
            read_only: new.read_only,
            expires_at: new.expires_at,
            last_used_at: None,
        };
        store.insert_token(&hash, &info)?;
        store.barrier().await?;
        Ok((secret, info))
    }

    /// The caller a bearer secret belongs to, if any (an expired token belongs to none). Its
    /// last-used time is written when the one stored is a minute old or more: one small write
    /// a minute per token in use, not one per request, and none waits for a flush.
    pub(crate) fn authenticate(
        &self,
        store: &impl Store,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>> {
        if !looks_like_token(secret) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        let hit = self.seen.read().unwrap_or_else(|p| p.into_inner()).get(&hash).cloned();
        if let Some(seen) = &hit {
            if seen.expires_at.is_some_and(|at| at <= now) {
                return Ok(None);
            }
            if seen.used_written.is_some_and(|at| now - at < LAST_USED_EVERY) {
                return Ok(Some(seen.principal.clone()));
            }
        }
        // Read the store under the cache's write lock, as revoking removes under it: a token
        // revoked meanwhile can't slip back into the cache.
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        let Some(mut info) = store.token(&hash)? else {
            seen.remove(&hash);
            return Ok(None);
        };
        if info.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        info.last_used_at = Some(now);
        store.insert_token(&hash, &info)?;
        let principal = Principal::of_token(&info);
        seen.insert(hash, Seen { principal: principal.clone(), expires_at: info.expires_at, used_written: Some(now) });
        Ok(Some(principal))
    }

    /// Every token (without secrets), oldest first.
    pub(crate) fn list(&self, store: &impl Store) -> Result<Vec<TokenInfo>> {
        let mut tokens: Vec<TokenInfo> = store.tokens()?.into_iter().map(|(_, info)| info).collect();
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }

    /// Revokes the token with public id `id`: from the answer on, its secret authenticates
    /// nothing (the cache entry goes with the stored one). Durable when it returns.
    pub(crate) async fn revoke(&self, store: &impl Store, id: &str) -> Result<TokenInfo> {
        let found = store.tokens()?.into_iter().find(|(_, info)| info.id == id);
        let Some((hash, info)) = found else {
            return Err(EngineError::NotFound { what: "token", name: id.to_owned() });
        };
        {
            // Under the cache's write lock, like the store read in `authenticate`.
            let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
            store.remove_token(&hash)?;
            seen.remove(&hash);
        }
        store.barrier().await?;
        Ok(info)
    }
}

const PREFIX: &str = "tend_";

/// argon2id with the OWASP-recommended parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> argon2::Argon2<'static> {
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("the OWASP parameters are valid");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// A password's PHC string (argon2id, a fresh random salt). Slow on purpose (tens of
/// milliseconds): call it off the async runtime.
pub fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| EngineError::Internal(format!("hashing a password: {err}")))
}

/// Whether `password` matches the PHC string `phc` (any argon2 variant and parameters it
/// names). As slow as [`hash_password`].
pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A new random token secret.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret.
pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` could be a token at all (cheap check before hashing and a lookup).
pub(crate) fn looks_like_token(secret: &str) -> bool {
    secret.len() == PREFIX.len() + 43 && secret.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_well_formed_and_hashed_stably() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert!(looks_like_token(&a), "{a}");
        assert!(!looks_like_token("tend_short"));
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        assert_eq!(hash_secret(&a).len(), 64);
    }

    #[test]
    fn passwords_hash_to_argon2id_phc_strings_with_the_owasp_parameters() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_ne!(phc, hash_password("correct horse").unwrap(), "salted");
        assert!(verify_password(&phc, "correct horse"));
        assert!(!verify_password(&phc, "correct horsE"));
        assert!(!verify_password("not a phc string", "correct horse"));
    }
}
