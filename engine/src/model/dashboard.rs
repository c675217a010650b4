//! Dashboards as stored: versioned definitions of widgets, each bound to an aggregate of one
//! form (or to two, for a ratio), and what evaluating them answers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use forms::{DashboardName, FormName};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Actor;

/// What a client sends to save a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardDef {
    /// What people see as the page's heading.
    pub title: String,
    /// What the dashboard is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The range shown when the caller names none; relative dates such as `{quarter-3q}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<RangeDef>,
    /// Teams the dashboard can be narrowed to: a name and the owners in it (as the widgets'
    /// owner fields hold them). The team filter keeps records whose owner is one of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub teams: BTreeMap<String, Vec<String>>,
    /// The widgets, in reading order.
    pub widgets: Vec<WidgetDef>,
}

/// A date range whose ends are dates or relative dates (`{today}`, `{quarter+1q-1d}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeDef {
    /// The first day.
    pub from: String,
    /// The last day (included).
    pub to: String,
}

/// How a widget draws its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// One number (the first metric of the total).
    Kpi,
    /// Bars per group.
    Bar,
    /// A line over groups or periods.
    Line,
    /// Slices per group.
    Pie,
    /// A pie with a hole.
    Donut,
    /// Stages in order, widest first.
    Funnel,
    /// Rows of keys and metrics.
    Table,
}

/// How a widget's numbers read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberFormat {
    /// Plain numbers.
    #[default]
    Number,
    /// A fraction shown as a percentage (0.92 → 92.0 %).
    Percent,
    /// An amount of money, in the dashboard's `currency`.
    Currency,
}

/// Periods a widget is evaluated over, one row each, across the date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

/// One widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetDef {
    /// Slug, unique in the dashboard.
    pub id: String,
    /// The widget's heading.
    pub title: String,
    /// How it draws.
    #[serde(rename = "type")]
    pub kind: WidgetKind,
    /// The form whose records it counts.
    pub form: FormName,
    /// An aggregate query (`{filter, group_by, metrics, sort, limit}`); its filter may use
    /// relative dates, and `{from}`/`{to}` for the date range (or the period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    /// Instead of `query`: a ratio of two aggregates' first metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<RatioDef>,
    /// Rows that are each the query under one more filter, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentDef>,
    /// One row per period of the date range, `{from}`/`{to}` being the period's days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<Period>,
    /// The date field the dashboard's date range applies to; none: the range filters nothing
    /// (beyond `{from}` and `{to}` in the query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_field: Option<String>,
    /// The field the dashboard's owner filter applies to; none: it is not filtered by owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_field: Option<String>,
    /// How the numbers read.
    #[serde(default)]
    pub format: NumberFormat,
    /// ISO 4217 code for `currency` numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// Numerator over denominator, each an aggregate query without `group_by`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioDef {
    /// Whose first metric is divided.
    pub numerator: Value,
    /// Whose first metric divides.
    pub denominator: Value,
}

/// A named slice of a widget's records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    /// What the row is called.
    pub label: String,
    /// The filter added for it.
    pub filter: String,
    /// Its colour in charts (`#rrggbb`), where a colour means something (health bands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A stored version of a dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDashboard {
    /// Slug, unique per space.
    pub name: DashboardName,
    /// 1, 2, ...: every change is a new version.
    pub version: u32,
    /// What it shows.
    pub definition: DashboardDef,
    /// Who saved this version.
    pub updated_by: Actor,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// What evaluating a dashboard answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardData {
    /// The dashboard.
    pub name: DashboardName,
    /// The version evaluated.
    pub version: u32,
    /// The first day of the range used.
    pub from: NaiveDate,
    /// The last day of the range used.
    pub to: NaiveDate,
    /// The owner filter applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The team filter applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// One per widget, in the definition's order.
    pub widgets: Vec<WidgetData>,
}

/// One widget's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WidgetData {
    /// The widget's id.
    pub id: String,
    /// The form counted; where a row's `filter` lists records.
    pub form: FormName,
    /// The names of the key columns, in order.
    pub keys: Vec<String>,
    /// The names of the metrics, in order (a ratio's: `value`, `numerator`, `denominator`).
    pub metrics: Vec<String>,
    /// Groups, segments or periods.
    pub rows: Vec<WidgetRow>,
    /// The metrics over the whole range (what a KPI shows).
    pub total: Map<String, Value>,
    /// Why the widget could not be evaluated; the others still are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<WidgetError>,
}

/// One row of a widget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WidgetRow {
    /// The row's key (a group's key, `{segment}` or `{period}`).
    pub key: Map<String, Value>,
    /// Its metrics.
    pub values: Map<String, Value>,
    /// The records behind the row, as a filter of the widget's form (none for ratios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// A widget that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WidgetError {
    /// The engine's error code.
    pub code: String,
    /// What went wrong.
    pub message: String,
}
