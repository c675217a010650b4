//! Browser sessions and one-time sign-in links in the `auth` tree, beside the tokens.
//!
//! | key | value |
//! |---|---|
//! | `s\0{sha256 hex of the session id}\0` | session JSON |
//! | `L\0{sha256 hex of the link code}\0` | sign-in link JSON |
//!
//! Like tokens, only hashes of the secrets are keys: a copy of the database opens no session.

use super::{decode_pair, encode, get, Store, StoreError};
use crate::sessions::{Session, SignInLink};

const SESSION: &[u8] = b"s";
const SIGN_IN_LINK: &[u8] = b"L";

fn key(kind: &[u8], hash_hex: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(kind.len() + hash_hex.len() + 2);
    key.extend_from_slice(kind);
    key.push(0);
    key.extend_from_slice(hash_hex.as_bytes());
    key.push(0);
    key
}

fn all(kind: &[u8]) -> Vec<u8> {
    let mut key = kind.to_vec();
    key.push(0);
    key
}

impl Store {
    /// Stores a session under the hash of its id. Durable after [`Store::barrier`].
    pub fn insert_session(&self, hash_hex: &str, session: &Session) -> Result<(), StoreError> {
        self.auth.insert(key(SESSION, hash_hex), encode(session)?)?;
        Ok(())
    }

    /// The session whose id hashes to `hash_hex`.
    pub fn session(&self, hash_hex: &str) -> Result<Option<Session>, StoreError> {
        get(&self.auth, &key(SESSION, hash_hex))
    }

    /// Removes a session; durable after [`Store::barrier`].
    pub fn remove_session(&self, hash_hex: &str) -> Result<(), StoreError> {
        self.auth.remove(key(SESSION, hash_hex))?;
        Ok(())
    }

    /// Removes every session for which `expired` holds; how many.
    pub fn remove_sessions_where(&self, expired: impl Fn(&Session) -> bool) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.auth.scan_prefix(all(SESSION)) {
            let (key, value) = item?;
            let session: Session = decode_pair((key.clone(), value))?;
            if expired(&session) {
                self.auth.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Stores a sign-in link under the hash of its code. Durable after [`Store::barrier`].
    pub fn insert_sign_in_link(&self, hash_hex: &str, link: &SignInLink) -> Result<(), StoreError> {
        self.auth.insert(key(SIGN_IN_LINK, hash_hex), encode(link)?)?;
        Ok(())
    }

    /// Removes the link whose code hashes to `hash_hex` and returns it: one atomic step, so two
    /// concurrent uses of the same link can't both get it.
    pub fn take_sign_in_link(&self, hash_hex: &str) -> Result<Option<SignInLink>, StoreError> {
        let key = key(SIGN_IN_LINK, hash_hex);
        match self.auth.remove(&key)? {
            Some(value) => decode_pair((key.into(), value)).map(Some),
            None => Ok(None),
        }
    }

    /// Removes every sign-in link for which `expired` holds.
    pub fn remove_sign_in_links_where(&self, expired: impl Fn(&SignInLink) -> bool) -> Result<(), StoreError> {
        for item in self.auth.scan_prefix(all(SIGN_IN_LINK)) {
            let (key, value) = item?;
            let link: SignInLink = decode_pair((key.clone(), value))?;
            if expired(&link) {
                self.auth.remove(key)?;
            }
        }
        Ok(())
    }
}
