//! The engine's error type and the stable codes callers map to their own protocol.

use forms::{DefinitionErrors, FieldError, NameError, ValidationErrors};
use serde::Serialize;

use crate::query::QueryError;
use crate::store::StoreError;

/// A stored record that a proposed form change would make invalid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailingRecord {
    /// The record's id.
    pub id: String,
    /// What would fail.
    pub errors: Vec<FieldError>,
}

/// Everything the engine can refuse or fail at.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such space, form, form version or record.
    #[error("{what} `{name}` does not exist")]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// Which one.
        name: String,
    },
    /// A name that must be unique is taken.
    #[error("{what} `{name}` already exists")]
    AlreadyExists {
        /// Kind of thing.
        what: &'static str,
        /// Which one.
        name: String,
    },
    /// A space, form or workflow name that is not a slug.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// A form definition with problems.
    #[error(transparent)]
    InvalidDefinition(#[from] DefinitionErrors),
    /// Record data with problems.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// A filter, sort, limit or cursor that can't be used.
    #[error("invalid query: {0}")]
    InvalidQuery(#[from] QueryError),
    /// An aggregate query that does not fit the form: every problem with its JSON pointer.
    #[error("invalid aggregate: {}", .0.iter().map(|e| format!("{} ({})", e.message, e.path)).collect::<Vec<_>>().join("; "))]
    InvalidAggregate(Vec<FieldError>),
    /// An aggregate that grew past a limit while running (too many groups, too long).
    #[error("{message}")]
    AggregateLimit {
        /// What was exceeded and what to do about it.
        message: String,
        /// The JSON pointer of the part of the query to change (`""`: the whole query).
        path: String,
    },
    /// The caller's `If-Match` names a version that is no longer current.
    #[error("the current version is {current}, not the version given in If-Match")]
    PreconditionFailed {
        /// The current version of the record or definition.
        current: u64,
    },
    /// A form change that would make stored records invalid, refused without `force`.
    #[error("{failing} stored record(s) would not be valid under the new definition")]
    SchemaChangeRefused {
        /// How many stored records would fail.
        failing: usize,
        /// A few of them, with their errors.
        examples: Vec<FailingRecord>,
    },
    /// A pipeline move that the form's pipeline does not allow now.
    #[error("cannot move from `{}` to `{to}`: {reason}", from.as_deref().unwrap_or("(no stage)"))]
    TransitionRefused {
        /// The record's current stage.
        from: Option<String>,
        /// The stage asked for.
        to: String,
        /// Why not, in words.
        reason: String,
        /// Checklist items of the current stage not yet done.
        unchecked: Vec<String>,
    },
    /// The caller may not do this: a role too low, a read-only token, a wrong old password, or a
    /// form's record policy (write a read-only or hidden field, filter or group on a hidden one,
    /// give a record away), with the fields concerned.
    #[error("{message}")]
    Forbidden {
        /// What was refused, in words.
        message: String,
        /// The fields concerned, each with its pointer (`/arr`, `/filter`).
        errors: Vec<FieldError>,
    },
    /// The thing is busy (a delivery being attempted): try again shortly.
    #[error("{0}")]
    Busy(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something that should not happen did (a retry loop that never settled, a commit that
    /// answered without the event it was sent): a bug or an overload, never the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Stable, documented error codes; protocol layers map them to statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Something named does not exist.
    NotFound,
    /// A unique name is taken.
    AlreadyExists,
    /// The request's content is invalid (names, definitions, record data).
    Invalid,
    /// The query is invalid.
    BadQuery,
    /// Optimistic concurrency check failed.
    PreconditionFailed,
    /// The caller's role may not do this.
    Forbidden,
    /// The change conflicts with stored state.
    Conflict,
    /// The write may not be durable; retry later.
    Unavailable,
    /// Stored data can't be read back: the data files are damaged.
    StorageDamaged,
    /// A bug or corruption.
    Internal,
}

impl ErrorCode {
    /// The code as a stable slug (used in problem type URIs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not-found",
            Self::AlreadyExists => "already-exists",
            Self::Invalid => "validation",
            Self::BadQuery => "bad-query",
            Self::PreconditionFailed => "precondition-failed",
            Self::Conflict => "conflict",
            Self::Forbidden => "forbidden",
            Self::Unavailable => "unavailable",
            Self::StorageDamaged => "storage-damaged",
            Self::Internal => "internal",
        }
    }
}

impl EngineError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Self::InvalidName(_) | Self::InvalidDefinition(_) | Self::Validation(_) => ErrorCode::Invalid,
            Self::InvalidQuery(_) | Self::InvalidAggregate(_) | Self::AggregateLimit { .. } => ErrorCode::BadQuery,
            Self::PreconditionFailed { .. } => ErrorCode::PreconditionFailed,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::SchemaChangeRefused { .. } | Self::TransitionRefused { .. } | Self::Busy(_) => ErrorCode::Conflict,
            Self::Store(StoreError::Durability(_) | StoreError::Closed) => ErrorCode::Unavailable,
            Self::Store(StoreError::Unreadable(_)) => ErrorCode::StorageDamaged,
            Self::Store(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The failing fields, for errors that have them.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::InvalidDefinition(errors) => errors.0.clone(),
            Self::Validation(errors) => errors.0.clone(),
            Self::InvalidAggregate(errors) => errors.clone(),
            Self::AggregateLimit { message, path } => vec![FieldError::new(path.clone(), message.clone())],
            Self::InvalidName(err) => vec![FieldError::new("", err.to_string())],
            Self::Forbidden { errors, .. } => errors.clone(),
            _ => Vec::new(),
        }
    }

    /// A refusal that names no field.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { message: message.into(), errors: Vec::new() }
    }

    pub(crate) fn not_found(what: &'static str, name: impl std::fmt::Display) -> Self {
        Self::NotFound { what, name: name.to_string() }
    }
}

/// Shorthand for engine results.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
