//! `?sort=`: parsing sort specifications and the total order on (sort key, record id) that
//! list pages and cursors rely on.
//!
//! Sort keys are [`encode_value`] bytes, so sorting a page in memory and walking an index give
//! the same order.

use std::cmp::Ordering;

use forms::FieldType;

use super::encoding::encode_value;
use super::{is_field_path, FieldLookup, QueryError};

/// Most sort keys accepted; bounds the size of cursors and index-key comparisons.
pub const MAX_SORT_KEYS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: String,
    pub descending: bool,
}

/// Empty `keys` = default order (record id ascending = creation order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sort {
    pub keys: Vec<SortKey>,
}

impl Sort {
    /// `-health,name`: comma-separated fields, `-` prefix = descending, `+` optional. Unknown
    /// field, duplicate, empty item → QueryError naming it. At most 4 keys. Blank text is the
    /// default order. Whitespace around items is ignored, since a `+` in a query string
    /// arrives as a space.
    pub fn parse(src: &str, resolve: &dyn Fn(&str) -> Option<FieldType>) -> Result<Sort, QueryError> {
        let mut keys: Vec<SortKey> = Vec::new();
        if src.trim().is_empty() {
            return Ok(Sort { keys });
        }
        let mut offset = 0;
        for raw in src.split(',') {
            let item_at = offset + (raw.len() - raw.trim_start().len());
            offset += raw.len() + 1;
            let item = raw.trim();
            if item.is_empty() {
                return Err(QueryError::syntax("empty sort key", item_at));
            }
            let (descending, name) = match item.as_bytes()[0] {
                b'-' => (true, &item[1..]),
                b'+' => (false, &item[1..]),
                _ => (false, item),
            };
            if !is_field_path(name) {
                return Err(QueryError::about_field(
                    format!("invalid sort field `{item}` at {item_at}"),
                    name,
                    Some(item_at),
                ));
            }
            if resolve(name).is_none() {
                return Err(QueryError::about_field(format!("unknown field `{name}`"), name, Some(item_at)));
            }
            if keys.iter().any(|key| key.field == name) {
                return Err(QueryError::about_field(format!("duplicate sort field `{name}`"), name, Some(item_at)));
            }
            if keys.len() == MAX_SORT_KEYS {
                return Err(QueryError::about_field(
                    format!("too many sort fields: at most {MAX_SORT_KEYS}"),
                    name,
                    Some(item_at),
                ));
            }
            keys.push(SortKey { field: name.to_owned(), descending });
        }
        Ok(Sort { keys })
    }

    /// The sort key of a record: the encoded value of each key's field
    /// ([`encode_value`] with that field's type; untyped if `resolve` doesn't know it).
    pub fn key_of(&self, record: &dyn FieldLookup, resolve: &dyn Fn(&str) -> Option<FieldType>) -> Vec<Vec<u8>> {
        self.keys
            .iter()
            .map(|key| {
                let ty = resolve(&key.field).unwrap_or(FieldType::Any);
                encode_value(record.lookup(&key.field).as_deref(), ty)
            })
            .collect()
    }

    /// Total order on (sort key, record id): each key compared bytewise, reversed if
    /// descending; ties broken by the 16-byte id, in the direction of the LAST key (ascending
    /// when no keys). Following the last key's direction lets a single reversed index scan
    /// serve `-field` without re-sorting ids.
    pub fn compare(&self, a: (&[Vec<u8>], &[u8; 16]), b: (&[Vec<u8>], &[u8; 16])) -> Ordering {
        for (i, key) in self.keys.iter().enumerate() {
            let ord = a.0.get(i).cmp(&b.0.get(i));
            let ord = if key.descending { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        let ord = a.1.cmp(b.1);
        match self.keys.last() {
            Some(key) if key.descending => ord.reverse(),
            _ => ord,
        }
    }
}
