//! Error types shared by everything that judges a definition or a record.
//!
//! Validation gathers every failure instead of stopping at the first one: an admin fixing a
//! form or a record wants the whole list at once.

use serde::Serialize;

/// One failing place in a document, named by an RFC 6901 JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON pointer into the document that was judged (`""` is the whole document).
    pub path: String,
    /// What is wrong there, in words an admin understands.
    pub message: String,
}

impl FieldError {
    /// A failure at `path` with `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// Every failure found in one record's data. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) failed validation", .0.len())]
pub struct ValidationErrors(pub Vec<FieldError>);

/// Every problem found in a form definition (its shape, its schema, its extras). Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the form definition is invalid: {}", .0.first().map(|e| e.message.as_str()).unwrap_or(""))]
pub struct DefinitionErrors(pub Vec<FieldError>);

/// A space or form name that is not a lowercase slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {name:?}: {reason}")]
pub struct NameError {
    /// The rejected input.
    pub name: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Escapes one reference token for use in a JSON pointer (RFC 6901 section 4).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
