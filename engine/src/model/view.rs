//! Saved views of a form's records as stored: a name, a filter, a sort and the columns to show,
//! personal or shared.

use chrono::{DateTime, Utc};
use forms::{FormName, ViewName};
use serde::{Deserialize, Serialize};

use super::Actor;

/// What a client sends to save a view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDef {
    /// What people see in the view picker.
    pub title: String,
    /// A filter expression, as `?filter=` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// A sort spec, as `?sort=` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// The columns to show, in order; empty: the form's default columns.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Seen by everyone in the space (`true`) or only by whoever saved it.
    #[serde(default)]
    pub shared: bool,
}

/// A stored view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredView {
    /// Slug, unique per form.
    pub name: ViewName,
    /// The form it lists.
    pub form: FormName,
    /// What it shows.
    #[serde(flatten)]
    pub definition: ViewDef,
    /// Who saved it; a personal view is seen by this caller only.
    pub owner: Actor,
    /// When it was last saved.
    pub updated_at: DateTime<Utc>,
    /// The filter with `{today±N}` replaced by dates, as of when the view was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_filter: Option<String>,
}
