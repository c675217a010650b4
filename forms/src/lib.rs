//! What a valid record is.
//!
//! `forms` turns an admin's form definition (JSON Schema 2020-12 plus `ui`, `indexes`,
//! `computed`, `rules`, `pipeline`, `access`) into a [`CompiledForm`] that validates record data and
//! reports every failing field. It is pure: no storage, no network, no async, no clock.
//!
//! Architecture invariant: this crate depends on no workspace crate and on nothing that does
//! I/O (no tokio, sled, rhai, axum). The `tidy` test checks it.

mod access;
mod coerce;
mod definition;
mod depth;
mod error;
mod field;
mod names;
mod openapi;
mod payload;
mod schema;

pub use access::{AccessPolicy, FieldRule, RecordScope, RolePolicy, ROLE_NAMES};
pub use coerce::{CellError, CoerceOptions, ColumnMatch, FieldCoercer, MappingError, RowMapping};
pub use definition::*;
pub use depth::{check_depth, MAX_DATA_DEPTH};
pub use error::*;
pub use field::FieldType;
pub use names::*;
pub use openapi::*;
pub use payload::PayloadSchema;
pub use schema::*;
