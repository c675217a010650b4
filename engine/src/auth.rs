//! API tokens: how they are made, stored and checked.
//!
//! A token is 32 random bytes shown to its owner once (`tend_` + URL-safe base64). Only its
//! SHA-256 is stored: the secret has 256 bits of entropy, so a fast hash is enough to make a
//! stolen database useless for logging in (a slow password hash like argon2 guards low-entropy
//! secrets, and would cost milliseconds on every request here).
//!
//! `Tokens` is the tokens subsystem: it makes and checks tokens over the store and keeps
//! the principals it has seen; the `Engine` façade delegates to it.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use chrono::{DateTime, Utc};

use crate::error::{EngineError, Result};
use crate::model::Actor;
pub use crate::model::{Role, TokenInfo};
use crate::store::Store;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The token's public id.
    pub token_id: String,
    /// What it may do.
    pub role: Role,
}

impl Principal {
    /// How the caller appears in `created_by`, `updated_by` and event actors.
    pub fn actor(&self) -> Actor {
        Actor(format!("token:{}", self.token_id))
    }
}

/// The tokens subsystem's state: principals already authenticated, by secret hash. Every
/// request authenticates, and tokens are never changed in place, so a hit needs no storage
/// read.
#[derive(Default)]
pub(crate) struct Tokens {
    seen: std::sync::RwLock<std::collections::HashMap<String, Principal>>,
}

impl Tokens {
    /// Creates a token and returns its secret, which is not stored and can't be shown again;
    /// durable when it returns.
    pub(crate) async fn create(
        &self,
        store: &impl Store,
        role: Role,
        label: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, TokenInfo)> {
        let secret = new_secret();
        let hash = hash_secret(&secret);
        let info = TokenInfo { id: hash[..12].to_owned(), role, label, created_at: now };
        store.insert_token(&hash, &info)?;
        store.barrier().await?;
        Ok((secret, info))
    }

    /// The caller a bearer secret belongs to, if any.
    pub(crate) fn authenticate(&self, store: &impl Store, secret: &str) -> Result<Option<Principal>> {
        if !looks_like_token(secret) {
            return Ok(None);
        }
        let hash = hash_secret(secret);
        if let Some(principal) = self.seen.read().unwrap_or_else(|p| p.into_inner()).get(&hash) {
            return Ok(Some(principal.clone()));
        }
        // Read the store under the cache's write lock, as revoking removes under it: a token
        // revoked meanwhile can't slip back into the cache.
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        let Some(info) = store.token(&hash)? else {
            return Ok(None);
        };
        let principal = Principal { token_id: info.id, role: info.role };
        seen.insert(hash, principal.clone());
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
}
