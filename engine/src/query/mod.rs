//! The list API's query language: `?filter=`, `?sort=` and `?cursor=`, plus the byte encoding
//! that index keys, sort keys and cursors share.
//!
//! The module parses and type-checks queries against a form's field types, evaluates filters on
//! records, tells the planner which index ranges a filter needs, and orders records. It does no
//! I/O: records are read through [`FieldLookup`] and field types through a `resolve` callback.
//!
//! # Filters
//!
//! ```text
//! health < 60 and tier = "enterprise"
//! status in ["active", "at_risk"]
//! name contains "acme"
//! (a = 1 or b = 2) and not c = null
//! ```
//!
//! * **Comparisons** are `field op value`, with `op` one of `=`, `!=`, `<`, `<=`, `>`, `>=`,
//!   `in`, `contains`. The field is always on the left.
//! * **Logic**: `and`, `or`, `not` and parentheses. `not` binds tightest, then `and`, then
//!   `or`: `a = 1 or b = 2 and c = 3` is `a = 1 or (b = 2 and c = 3)`. Keywords (`and`, `or`,
//!   `not`, `in`, `contains`, `true`, `false`, `null`) are case-insensitive.
//! * **Fields** are identifiers `[A-Za-z_][A-Za-z0-9_]*`, dotted for nested objects
//!   (`address.city`). System fields such as `id` and `created_at` work when the form's
//!   resolver knows them.
//! * **Values**: numbers (`-3`, `2.5`, `1e6`), strings in double or single quotes with JSON
//!   escapes (`"a\"b"`, `'it\'s'`, `"\u00e9"`), `true`, `false`, `null`. After `in`, a list:
//!   `[v, ...]` or `(v, ...)`.
//!
//! ## Types
//!
//! Filters are checked against the form's field types when parsed; errors name the field.
//!
//! | field type            | accepted values                                | operators                    |
//! |-----------------------|------------------------------------------------|------------------------------|
//! | string                | strings                                        | all                          |
//! | number, integer       | numbers                                        | all but `contains`           |
//! | boolean               | `true`, `false`                                | all but `contains`           |
//! | date                  | `"YYYY-MM-DD"`                                 | all but `contains`           |
//! | date-time             | RFC 3339 (`"2024-05-01T09:00:00+02:00"`) or a date (its midnight UTC) | all but `contains` |
//! | array                 | any value, with `contains`                     | `contains`, `= null`, `!= null` |
//! | object                | —                                              | `= null`, `!= null`          |
//! | any (untyped)         | any value                                      | all                          |
//!
//! `null` is only allowed with `=` and `!=`.
//!
//! ## Semantics
//!
//! * A missing field and `null` are the same: `= null` is true for both, `!= v` is true for
//!   both, every other comparison is false for both.
//! * `!=` is exactly `not =`.
//! * Numbers compare as `f64` (so `1 = 1.0`); dates and date-times compare as instants (so
//!   `"2024-01-01T02:00:00+02:00" = "2024-01-01T00:00:00Z"`); strings compare bytewise (UTF-8,
//!   case-sensitive); `false < true`.
//! * `<`, `<=`, `>`, `>=` only match values of the literal's kind: `health > 5` never matches a
//!   record whose `health` is a string, and on an untyped field `x > 5` matches numbers only.
//! * `in` is true when `=` is true for one of the listed values.
//! * `contains` on a string value is a case-insensitive substring test; on an array value it is
//!   true when an element `=` the given value.
//!
//! ## Limits
//!
//! A filter is at most 4 KiB and nests at most 32 levels (parentheses and `not`). Syntax errors
//! carry the byte offset: `expected a value after `<` at 9`.
//!
//! # Sorts
//!
//! `?sort=-health,name`: up to 4 comma-separated fields, `-` for descending (`+` allowed for
//! ascending). Values order as the [`encoding`] module describes: missing/null first, then
//! booleans, numbers, dates, strings. Ties, and the default order, go by record id (creation
//! order).
//!
//! # Cursors
//!
//! Pages come back as `{items, next_cursor}`. A cursor is opaque, URL-safe, and valid only for
//! the same `filter` and `sort` text it was issued for.

pub mod cursor;
pub mod encoding;
pub mod filter;
pub mod relative_dates;
pub mod sort;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::Value;

pub use cursor::{fingerprint, Cursor};
pub use encoding::encode_value;
pub use filter::{Filter, IndexScan, ValueRange};
pub use sort::{Sort, SortKey};

/// Where the evaluator reads a field's value from (a record: system fields like `id`,
/// `created_at`, or data fields, maybe dotted `address.city`). None = missing.
pub trait FieldLookup {
    fn lookup(&self, field: &str) -> Option<Cow<'_, Value>>;
}

/// Follows a dotted path (`address.city`) through nested objects; for `FieldLookup`
/// implementations over JSON record data.
pub fn lookup_path<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |value, segment| value.as_object()?.get(segment))
}

/// Why a filter, sort or cursor was rejected. `message` is meant for the API client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub message: String,
    /// The field the error is about, when there is one.
    pub field: Option<String>,
    /// Byte offset in the source text.
    pub position: Option<usize>,
}

impl QueryError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), field: None, position: None }
    }

    /// A syntax error: the offset is appended to the message so it shows in plain-text logs.
    pub(crate) fn syntax(message: impl Into<String>, position: usize) -> Self {
        Self { message: format!("{} at {position}", message.into()), field: None, position: Some(position) }
    }

    pub(crate) fn about_field(message: impl Into<String>, field: &str, position: Option<usize>) -> Self {
        Self { message: message.into(), field: Some(field.to_owned()), position }
    }
}

/// How a field type is named in error messages ("`health` is a number").
pub(crate) fn type_name(ty: forms::FieldType) -> &'static str {
    use forms::FieldType as T;
    match ty {
        T::String => "a string",
        T::Number => "a number",
        T::Integer => "an integer",
        T::Boolean => "a boolean",
        T::Date => "a date",
        T::DateTime => "a date-time",
        T::Array => "an array",
        T::Object => "an object",
        T::Any => "untyped",
    }
}

/// Whether `name` is a field path: identifiers joined by single dots.
pub(crate) fn is_field_path(name: &str) -> bool {
    name.split('.').all(|segment| {
        let mut chars = segment.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}
