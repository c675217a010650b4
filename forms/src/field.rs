//! The types of fields as filters, sorts and indexes see them.

use serde::Serialize;

/// What kind of value a form field holds, read off its JSON Schema (`type` and `format`).
///
/// Filters use it to reject a comparison of mismatched types, and indexes use it to choose an
/// order-preserving key encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// `"type": "string"` without a date format.
    String,
    /// `"type": "number"`.
    Number,
    /// `"type": "integer"`.
    Integer,
    /// `"type": "boolean"`.
    Boolean,
    /// `"type": "string", "format": "date"` (`YYYY-MM-DD`).
    Date,
    /// `"type": "string", "format": "date-time"` (RFC 3339).
    DateTime,
    /// `"type": "array"`.
    Array,
    /// `"type": "object"`.
    Object,
    /// Anything else (no `type`, or several types): compared as raw JSON.
    Any,
}

impl FieldType {
    /// Whether values of this type can be index keys (scalars only).
    pub fn is_indexable(self) -> bool {
        matches!(self, Self::String | Self::Number | Self::Integer | Self::Boolean | Self::Date | Self::DateTime)
    }

    /// Whether values of this type are numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Number | Self::Integer)
    }
}
