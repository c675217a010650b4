//! The order-preserving byte encoding of field values shared by index keys, sort keys,
//! cursors and filter evaluation.
//!
//! Filters evaluate comparisons on these bytes too, so "the record matches" and "the record's
//! index entry lies inside the scan range" can never disagree.
//!
//! Layout (the first byte is the type tag; tag order is the cross-type order):
//!
//! | tag    | value                          | payload                                        |
//! |--------|--------------------------------|------------------------------------------------|
//! | `0x01` | missing or `null`              | none                                           |
//! | `0x02` | boolean                        | `0x00` false, `0x01` true                      |
//! | `0x03` | number (as `f64`)              | 8 bytes, big-endian, sign-flipped IEEE 754     |
//! | `0x04` | date / date-time (an instant)  | 8 bytes seconds (sign-flipped) + 4 bytes nanos |
//! | `0x05` | string                         | UTF-8, `0x00` → `0x00 0xFF`, then `0x00 0x01`  |
//! | `0x06` | array (`Any` fields only)      | each element's encoding, then `0x00`           |
//! | `0x07` | object (`Any` fields only)     | per key in key order: `0x01`, key, value; `0x00` |
//!
//! Every encoding is self-delimiting, so no encoding is a proper prefix of another and index
//! keys can append the record id directly.

use chrono::{DateTime, NaiveDate};
use forms::FieldType;
use serde_json::Value;

/// Missing or `null`.
pub const NULL_TAG: u8 = 0x01;
/// `false` / `true`.
pub const BOOL_TAG: u8 = 0x02;
/// Any JSON number, read as `f64`.
pub const NUMBER_TAG: u8 = 0x03;
/// A date or date-time value of a `Date`/`DateTime` field that parsed to an instant.
pub const INSTANT_TAG: u8 = 0x04;
/// A string (including unparsable date/date-time values).
pub const STRING_TAG: u8 = 0x05;
/// A JSON array.
pub const ARRAY_TAG: u8 = 0x06;
/// A JSON object.
pub const OBJECT_TAG: u8 = 0x07;

/// Order-preserving, prefix-free encoding of one field value for index keys and sort keys.
/// Bytewise order of encodings == the order filters and sorts use. Missing and null encode
/// the same and sort lowest; then false < true; then numbers (f64 order, -0.0 == 0.0, integers
/// as f64); then dates/date-times by instant; then strings (UTF-8 byte order, 0x00 escaped,
/// terminated); then arrays and objects. `ty` decides how strings are read: for Date
/// ("YYYY-MM-DD") and DateTime (RFC 3339, normalised to UTC; a bare date = its midnight UTC)
/// the instant is encoded; a value that doesn't parse falls back to the string encoding.
pub fn encode_value(value: Option<&Value>, ty: FieldType) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_into(value, ty, &mut out);
    out
}

fn encode_into(value: Option<&Value>, ty: FieldType, out: &mut Vec<u8>) {
    match value {
        None | Some(Value::Null) => out.push(NULL_TAG),
        Some(Value::Bool(b)) => out.extend_from_slice(&[BOOL_TAG, u8::from(*b)]),
        Some(Value::Number(n)) => {
            out.push(NUMBER_TAG);
            out.extend_from_slice(&encode_f64(number_as_f64(n)));
        }
        Some(Value::String(s)) => match parse_instant(s, ty) {
            Some((secs, nanos)) => {
                out.push(INSTANT_TAG);
                out.extend_from_slice(&((secs as u64) ^ (1 << 63)).to_be_bytes());
                out.extend_from_slice(&nanos.to_be_bytes());
            }
            None => {
                out.push(STRING_TAG);
                encode_str(s, out);
            }
        },
        Some(Value::Array(items)) => {
            out.push(ARRAY_TAG);
            for item in items {
                // Elements have no declared type, so dates inside arrays are plain strings.
                encode_into(Some(item), FieldType::Any, out);
            }
            out.push(0x00);
        }
        Some(Value::Object(map)) => {
            out.push(OBJECT_TAG);
            // Sorted explicitly: the map's iteration order depends on serde_json features.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            for (key, item) in entries {
                out.push(0x01);
                encode_str(key, out);
                encode_into(Some(item), FieldType::Any, out);
            }
            out.push(0x00);
        }
    }
}

/// Escapes 0x00 as `00 FF` and terminates with `00 01`, so that a string sorts before every
/// extension of it ("a" < "a\0" < "ab") and no encoding is a prefix of another.
fn encode_str(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        out.push(b);
        if b == 0x00 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

fn encode_f64(f: f64) -> [u8; 8] {
    // -0.0 and 0.0 compare equal as f64, so they must encode equal.
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let bits = if bits >> 63 == 1 { !bits } else { bits | (1 << 63) };
    bits.to_be_bytes()
}

pub(crate) fn number_as_f64(n: &serde_json::Number) -> f64 {
    n.as_f64().or_else(|| n.to_string().parse().ok()).unwrap_or(0.0)
}

/// Reads a string as an instant the way a field of type `ty` stores it: `Date` takes only
/// `YYYY-MM-DD`; `DateTime` takes RFC 3339 or a bare date (its midnight UTC). Other types
/// never hold instants.
pub(crate) fn parse_instant(s: &str, ty: FieldType) -> Option<(i64, u32)> {
    match ty {
        FieldType::Date => parse_date(s),
        FieldType::DateTime => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| (t.timestamp(), t.timestamp_subsec_nanos()))
            .or_else(|| parse_date(s)),
        _ => None,
    }
}

fn parse_date(s: &str) -> Option<(i64, u32)> {
    // chrono alone would accept "2024-1-5" and signed or 5-digit years; the format is exact.
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((date.and_hms_opt(0, 0, 0)?.and_utc().timestamp(), 0))
}

/// The smallest byte string greater than every encoding carrying `tag`, for exclusive upper
/// bounds of "everything of this type".
pub(crate) fn after_tag(tag: u8) -> Vec<u8> {
    vec![tag.saturating_add(1)]
}
