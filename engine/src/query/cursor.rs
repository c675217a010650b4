//! `?cursor=`: the opaque continuation token of `{items, next_cursor}` pages, and the query
//! fingerprint that ties a token to the filter and sort it was issued for.
//!
//! Token bytes, before URL-safe unpadded base64:
//! version · fingerprint (u64 BE) · record id (16) · key count (varint) ·
//! per key: length (varint) + bytes · checksum (first 8 bytes of SHA-256 of all before).
//!
//! Version `0x01` holds the sort keys whole; `0x02` says some key longer than
//! [`MAX_KEY_BYTES`] was cut to that length, so that a sort on long strings still gives a
//! token short enough to send back in a URL. The listing then reads the exact key again from
//! the record the token names (see `engine::listing`).
//!
//! The checksum catches corrupted or hand-edited tokens; it is not a signature. A forged
//! token can only move where a page starts: the filter still applies to every row.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::sort::MAX_SORT_KEYS;
use super::QueryError;

const VERSION: u8 = 1;
const VERSION_TRUNCATED: u8 = 2;
/// The most bytes of one sort key a token holds: four keys stay well under the API's 8 KiB
/// request-target limit once base64-encoded.
pub const MAX_KEY_BYTES: usize = 1024;
const CHECKSUM_LEN: usize = 8;
/// Longer tokens are refused before decoding; the longest real one (four cut keys) is about
/// 5.5 KiB.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Opaque continuation token for `{items, next_cursor}` pages: the last item's sort key and id,
/// plus a fingerprint of the query (filter text + sort text) so a cursor can't be replayed
/// against a different query. A decoded `sort_key` has at most 4 entries but, the token
/// being unsigned, callers should not assume it has as many as the sort has keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort_key: Vec<Vec<u8>>,
    pub id: [u8; 16],
    /// Decoded from a token whose keys longer than [`MAX_KEY_BYTES`] were cut to that length
    /// (ignored when encoding: cutting is decided then).
    pub truncated: bool,
}

impl Cursor {
    /// URL-safe base64, no padding.
    pub fn encode(&self, fingerprint: u64) -> String {
        let mut bytes = Vec::with_capacity(40 + self.sort_key.iter().map(Vec::len).sum::<usize>());
        let cut = self.sort_key.iter().any(|key| key.len() > MAX_KEY_BYTES);
        bytes.push(if cut { VERSION_TRUNCATED } else { VERSION });
        bytes.extend_from_slice(&fingerprint.to_be_bytes());
        bytes.extend_from_slice(&self.id);
        put_varint(&mut bytes, self.sort_key.len() as u64);
        for key in &self.sort_key {
            let key = &key[..key.len().min(MAX_KEY_BYTES)];
            put_varint(&mut bytes, key.len() as u64);
            bytes.extend_from_slice(key);
        }
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Tampered or garbage tokens → "invalid cursor"; a token issued for another filter or
    /// sort → "cursor belongs to a different query".
    pub fn decode(token: &str, fingerprint: u64) -> Result<Cursor, QueryError> {
        let invalid = || QueryError::new("invalid cursor");
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let body_len = bytes.len().checked_sub(CHECKSUM_LEN).ok_or_else(invalid)?;
        let (body, sum) = bytes.split_at(body_len);
        if checksum(body) != sum {
            return Err(invalid());
        }
        let mut reader = Reader { bytes: body };
        let truncated = match reader.take(1).ok_or_else(invalid)? {
            [VERSION] => false,
            [VERSION_TRUNCATED] => true,
            _ => return Err(invalid()),
        };
        let issued_for = reader.array::<8>().map(u64::from_be_bytes).ok_or_else(invalid)?;
        let id = reader.array::<16>().ok_or_else(invalid)?;
        let count = reader.varint().ok_or_else(invalid)?;
        if count > MAX_SORT_KEYS as u64 {
            return Err(invalid());
        }
        let mut sort_key = Vec::new();
        for _ in 0..count {
            let len = reader.varint().ok_or_else(invalid)?;
            let len = usize::try_from(len).map_err(|_| invalid())?;
            sort_key.push(reader.take(len).ok_or_else(invalid)?.to_vec());
        }
        if !reader.bytes.is_empty() {
            return Err(invalid());
        }
        if issued_for != fingerprint {
            return Err(QueryError::new("cursor belongs to a different query"));
        }
        Ok(Cursor { sort_key, id, truncated })
    }
}

/// Fingerprint of a query's filter and sort text. Stable across processes and releases
/// (first 8 bytes of SHA-256), unlike std's randomized hasher, because cursors outlive them.
pub fn fingerprint(filter: &str, sort: &str) -> u64 {
    let mut hasher = Sha256::new();
    hasher.update(b"tend-query-v1\0");
    // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    hasher.update((filter.len() as u64).to_be_bytes());
    hasher.update(filter.as_bytes());
    hasher.update(sort.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::digest(bytes);
    let mut sum = [0u8; CHECKSUM_LEN];
    sum.copy_from_slice(&digest[..CHECKSUM_LEN]);
    sum
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.take(1)?.first()?;
            n |= u64::from(byte & 0x7F).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }
}
