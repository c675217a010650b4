//! Dashboards: versioned definitions of widgets (KPI tile, bar, line, pie, donut, funnel,
//! table), each bound to an aggregate of one form or to a ratio of two, and their evaluation
//! under a date range and an owner.
//!
//! A definition is checked when saved: every widget's aggregate is parsed and type-checked
//! against its form as `aggregate` would, with relative dates resolved for today, so a stored
//! dashboard always evaluates; problems carry pointers such as `/widgets/3/query/metrics/0/field`.
//!
//! Evaluating it (`dashboard_data`) runs each widget's aggregates with:
//! - the date range (the caller's, else the definition's `date_range`, else the last twelve
//!   months) applied to the widget's `date_field`, and offered to its filters as `{from}` and
//!   `{to}`;
//! - the owner, when given, applied to the widget's `owner_field`, and a team (one of the
//!   definition's `teams`, or a team of the space's members) as the owner being one of its
//!   members;
//! - relative dates (`{today+30d}`, `{quarter}`) resolved against the engine's clock today.
//!
//! A widget answers rows (an aggregate's groups; its `segments`, one aggregate each; or its
//! `periods`, one evaluation per month or quarter of the range with `{from}`/`{to}` that
//! period's days) and a total over the range. A ratio is the first metric of `numerator` over
//! that of `denominator`: GRR is `(ARR before {from} − churn − contraction since) / ARR before
//! {from}`, both sums of signed ARR movements. Each row also carries the filter that lists its
//! records, for the grid a click opens. A widget that fails is answered with its error; the
//! others still are.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use forms::{DashboardName, DefinitionErrors, FieldError, FieldType, FormName, SpaceName};
use serde_json::{Map, Value};

use crate::aggregate::Aggregate;
use crate::error::{EngineError, Result};
use crate::listing::field_type;
use crate::model::{Access, WidgetKind, WidgetRow};
use crate::model::{Actor, DashboardData, DashboardDef, Period, StoredDashboard, WidgetData, WidgetDef, WidgetError};
use crate::query::relative_dates::{self, DateAnchors};
use crate::query::QueryError;
use crate::store::Store as _;
use crate::Engine;

pub use crate::model::{NumberFormat, RangeDef, RatioDef, SegmentDef};

const MAX_WIDGETS: usize = 48;
const MAX_SEGMENTS: usize = 24;
/// Most periods one widget is evaluated over (five years of months).
const MAX_PERIODS: usize = 60;

/// What a caller narrows a dashboard to.
#[derive(Debug, Clone, Default)]
pub struct DashboardFilters {
    /// The first day; the definition's range by default.
    pub from: Option<NaiveDate>,
    /// The last day (included).
    pub to: Option<NaiveDate>,
    /// Only records whose owner field is this.
    pub owner: Option<String>,
    /// Only records owned by a member of this team (one of the definition's `teams`).
    pub team: Option<String>,
}

/// The outcome of saving a dashboard.
#[derive(Debug, Clone)]
pub struct PutDashboardOutcome {
    /// The version now current.
    pub dashboard: StoredDashboard,
    /// Whether a new version was stored (an unchanged definition stores nothing).
    pub changed: bool,
}

impl Engine {
    /// Checks a dashboard definition against the space's forms; every problem with its pointer.
    pub fn check_dashboard(&self, space: &SpaceName, definition: &Value) -> Result<DashboardDef> {
        self.space(space)?;
        let dashboard: DashboardDef = serde_json::from_value(definition.clone())
            .map_err(|err| DefinitionErrors(vec![FieldError::new("", format!("not a dashboard definition: {err}"))]))?;
        let today = self.now().date_naive();
        let mut problems = Vec::new();
        if dashboard.title.trim().is_empty() {
            problems.push(FieldError::new("/title", "must not be empty"));
        }
        let mut range = (today, today);
        if let Some(def) = &dashboard.date_range {
            match range_of(def, today) {
                Ok(resolved) => range = resolved,
                Err(problem) => problems.push(problem),
            }
        }
        if dashboard.widgets.len() > MAX_WIDGETS {
            problems.push(FieldError::new("/widgets", format!("at most {MAX_WIDGETS} widgets")));
        }
        let anchors = DateAnchors { today, range: Some(range) };
        let mut ids = std::collections::HashSet::new();
        for (i, widget) in dashboard.widgets.iter().enumerate() {
            if !ids.insert(widget.id.as_str()) {
                problems.push(FieldError::new(format!("/widgets/{i}/id"), format!("`{}` is used twice", widget.id)));
            }
            self.check_widget(space, &format!("/widgets/{i}"), widget, &anchors, &mut problems);
        }
        if problems.is_empty() {
            Ok(dashboard)
        } else {
            Err(DefinitionErrors(problems).into())
        }
    }

    fn check_widget(
        &self,
        space: &SpaceName,
        at: &str,
        widget: &WidgetDef,
        anchors: &DateAnchors,
        problems: &mut Vec<FieldError>,
    ) {
        let mut problem = |path: String, message: String| problems.push(FieldError::new(path, message));
        if FormName::parse(&widget.id).is_err() {
            problem(format!("{at}/id"), "must be a slug such as `health_bands`".into());
        }
        if widget.title.trim().is_empty() {
            problem(format!("{at}/title"), "must not be empty".into());
        }
        let Ok(loaded) = self.loaded_form(space, &widget.form) else {
            problem(format!("{at}/form"), format!("the space has no form `{}`", widget.form));
            return;
        };
        let resolve = |field: &str| field_type(&loaded.compiled, field);
        if let Some(field) = &widget.date_field {
            match resolve(field) {
                Some(FieldType::Date | FieldType::DateTime) => {}
                Some(_) => problem(format!("{at}/date_field"), format!("`{field}` is not a date or date-time field")),
                None => problem(format!("{at}/date_field"), format!("the form has no field `{field}`")),
            }
        }
        if let Some(field) = widget.owner_field.as_ref().filter(|field| resolve(field).is_none()) {
            problem(format!("{at}/owner_field"), format!("the form has no field `{field}`"));
        }
        let mut grouped = false;
        let check_query = |query: &Value, path: String, problem: &mut dyn FnMut(String, String)| -> bool {
            match parse_query(query, anchors, &resolve) {
                Ok(aggregate) => aggregate.is_grouped(),
                Err(errors) => {
                    for error in errors {
                        problem(format!("{path}{}", error.path), error.message);
                    }
                    false
                }
            }
        };
        match (&widget.query, &widget.ratio) {
            (Some(query), None) => grouped = check_query(query, format!("{at}/query"), &mut problem),
            (None, Some(ratio)) => {
                for (part, query) in [("numerator", &ratio.numerator), ("denominator", &ratio.denominator)] {
                    if check_query(query, format!("{at}/ratio/{part}"), &mut problem) {
                        problem(
                            format!("{at}/ratio/{part}/group_by"),
                            "a ratio's parts don't group; use `periods`".into(),
                        );
                    }
                }
                if !widget.segments.is_empty() {
                    problem(format!("{at}/segments"), "a ratio has no segments; use `periods`".into());
                }
            }
            (Some(_), Some(_)) => problem(at.to_owned(), "a widget has a `query` or a `ratio`, not both".into()),
            (None, None) => problem(at.to_owned(), "a widget needs a `query` or a `ratio`".into()),
        }
        if grouped && (!widget.segments.is_empty() || widget.periods.is_some()) {
            problem(format!("{at}/query/group_by"), "a query with `segments` or `periods` has no `group_by`".into());
        }
        if !widget.segments.is_empty() && widget.periods.is_some() {
            problem(format!("{at}/periods"), "a widget has `segments` or `periods`, not both".into());
        }
        if widget.kind == WidgetKind::Kpi && (grouped || !widget.segments.is_empty() || widget.periods.is_some()) {
            problem(format!("{at}/type"), "a KPI shows one number: no `group_by`, `segments` or `periods`".into());
        }
        if widget.segments.len() > MAX_SEGMENTS {
            problem(format!("{at}/segments"), format!("at most {MAX_SEGMENTS} segments"));
        }
        for (j, segment) in widget.segments.iter().enumerate() {
            if segment.label.trim().is_empty() {
                problem(format!("{at}/segments/{j}/label"), "must not be empty".into());
            }
            if let Err(message) = check_filter(&segment.filter, anchors, &resolve) {
                problem(format!("{at}/segments/{j}/filter"), message);
            }
            let is_colour =
                |c: &str| c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|h| h.is_ascii_hexdigit());
            if let Some(colour) = segment.color.as_deref().filter(|c| !is_colour(c)) {
                problem(format!("{at}/segments/{j}/color"), format!("`{colour}` is not a colour such as #1a7f37"));
            }
        }
    }

    /// Saves a new version of a dashboard (creating it); refused with `PreconditionFailed` when
    /// `if_match` names a version that is not the current one.
    pub async fn put_dashboard(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: &DashboardName,
        definition: &Value,
        if_match: Option<u64>,
    ) -> Result<PutDashboardOutcome> {
        let definition = self.check_dashboard(space, definition)?;
        self.space(space)?;
        let current = self.store().dashboard_version(space, name, None)?;
        let current_version = current.as_ref().map_or(0, |d| d.version);
        if let Some(expected) = if_match {
            if expected != u64::from(current_version) {
                return Err(EngineError::PreconditionFailed { current: u64::from(current_version) });
            }
        }
        if let Some(current) = current.filter(|d| d.definition == definition) {
            return Ok(PutDashboardOutcome { dashboard: current, changed: false });
        }
        let dashboard = StoredDashboard {
            name: name.clone(),
            version: current_version + 1,
            definition,
            updated_by: actor.clone(),
            updated_at: self.now(),
        };
        self.store().insert_dashboard_version(space, &dashboard).map_err(|err| match err {
            crate::store::StoreError::AlreadyExists => {
                EngineError::PreconditionFailed { current: u64::from(dashboard.version) }
            }
            other => other.into(),
        })?;
        self.store().barrier().await?;
        Ok(PutDashboardOutcome { dashboard, changed: true })
    }

    /// Creates a dashboard; `AlreadyExists` if the name is taken.
    pub async fn create_dashboard(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: &DashboardName,
        definition: &Value,
    ) -> Result<StoredDashboard> {
        let stored = self.space(space)?.name;
        if self.store().dashboard_version(&stored, name, None)?.is_some() {
            return Err(EngineError::AlreadyExists { what: "dashboard", name: name.to_string() });
        }
        Ok(self.put_dashboard(actor, space, name, definition, Some(0)).await?.dashboard)
    }

    /// A dashboard's latest version, or the one asked for.
    pub fn dashboard(&self, space: &SpaceName, name: &DashboardName, version: Option<u32>) -> Result<StoredDashboard> {
        self.space(space)?;
        self.store().dashboard_version(space, name, version)?.ok_or_else(|| EngineError::not_found("dashboard", name))
    }

    /// The latest version of every dashboard of a space, in name order.
    pub fn dashboards(&self, space: &SpaceName) -> Result<Vec<StoredDashboard>> {
        self.space(space)?;
        Ok(self.store().latest_dashboards(space)?)
    }

    /// Deletes a dashboard with all its versions.
    pub async fn delete_dashboard(&self, space: &SpaceName, name: &DashboardName, if_match: Option<u64>) -> Result<()> {
        let current = self.dashboard(space, name, None)?;
        if if_match.is_some_and(|expected| expected != u64::from(current.version)) {
            return Err(EngineError::PreconditionFailed { current: u64::from(current.version) });
        }
        self.store().remove_dashboard(space, name)?;
        self.store().barrier().await?;
        Ok(())
    }

    /// The owners a dashboard's team filter keeps: the people the definition lists under
    /// `team` (an email among them also as its user's id, the value person fields hold), else
    /// the members of the space's team of that name.
    fn dashboard_team(
        &self,
        space: &SpaceName,
        listed: &BTreeMap<String, Vec<String>>,
        team: &str,
    ) -> Result<Vec<String>> {
        if let Some(people) = listed.get(team) {
            let mut owners = people.clone();
            for email in people.iter().filter(|p| p.contains('@')) {
                if let Ok(user) = self.user_by_email(email) {
                    owners.push(user.id);
                }
            }
            return Ok(owners);
        }
        let space_name = self.space(space)?.name;
        let members = self.members(space)?;
        if members.iter().any(|(m, _)| m.teams.iter().any(|t| t == team)) {
            return Ok(self.people_named(&space_name, &format!("team:{team}"))?.unwrap_or_default());
        }
        let mut known: BTreeSet<&str> = listed.keys().map(String::as_str).collect();
        known.extend(members.iter().flat_map(|(m, _)| m.teams.iter().map(String::as_str)));
        let known = known.into_iter().collect::<Vec<_>>().join(", ");
        Err(QueryError::new(format!("the dashboard has no team `{team}` (its teams: {known})")).into())
    }

    /// Evaluates every widget of a dashboard (see the module docs), as a caller with `access`:
    /// each widget counts only the records in its scope, and a widget that groups, measures or
    /// filters on a field hidden from it answers that error instead of figures.
    pub fn dashboard_data(
        &self,
        access: &Access,
        space: &SpaceName,
        name: &DashboardName,
        filters: &DashboardFilters,
    ) -> Result<DashboardData> {
        let stored = self.dashboard(space, name, None)?;
        let today = self.now().date_naive();
        let (default_from, default_to) = match &stored.definition.date_range {
            Some(def) => range_of(def, today).map_err(|err| EngineError::Internal(err.message))?,
            None => last_twelve_months(today),
        };
        let from = filters.from.unwrap_or(default_from);
        let to = filters.to.unwrap_or(default_to);
        if from > to {
            return Err(QueryError::new(format!("the range ends ({to}) before it starts ({from})")).into());
        }
        let owner = filters.owner.as_deref().map(str::trim).filter(|owner| !owner.is_empty());
        let team = filters.team.as_deref().map(str::trim).filter(|team| !team.is_empty());
        let members = match team {
            Some(team) => Some(self.dashboard_team(space, &stored.definition.teams, team)?),
            None => None,
        };
        let scope = Scope { today, from, to, owner, team: members.as_deref() };
        let widgets = stored
            .definition
            .widgets
            .iter()
            .map(|widget| {
                self.widget_data(access, space, widget, &scope).unwrap_or_else(|err| WidgetData {
                    error: Some(WidgetError { code: err.code().as_str().to_owned(), message: err.to_string() }),
                    ..empty_data(widget)
                })
            })
            .collect();
        Ok(DashboardData {
            name: stored.name,
            version: stored.version,
            from,
            to,
            owner: owner.map(str::to_owned),
            team: team.map(str::to_owned),
            widgets,
        })
    }

    fn widget_data(
        &self,
        access: &Access,
        space: &SpaceName,
        widget: &WidgetDef,
        scope: &Scope<'_>,
    ) -> Result<WidgetData> {
        let loaded = self.loaded_form(space, &widget.form)?;
        let resolve = |field: &str| field_type(&loaded.compiled, field);
        let mut narrowing = Vec::new();
        if let Some(field) = &widget.date_field {
            let (from, to) = (scope.from, scope.to);
            narrowing.push(match resolve(field) {
                Some(FieldType::DateTime) => {
                    let after = to.succ_opt().unwrap_or(to);
                    format!("{field} >= \"{from}\" and {field} < \"{after}\"")
                }
                _ => format!("{field} >= \"{from}\" and {field} <= \"{to}\""),
            });
        }
        if let (Some(field), Some(owner)) = (&widget.owner_field, scope.owner) {
            narrowing.push(format!("{field} = {}", Value::from(owner)));
        }
        if let (Some(field), Some(members)) = (&widget.owner_field, scope.team) {
            narrowing.push(format!("{field} in {}", Value::from(members.to_vec())));
        }
        let whole = DateAnchors { today: scope.today, range: Some((scope.from, scope.to)) };
        let periods = match widget.periods {
            Some(period) => periods_of(period, scope.from, scope.to)?,
            None => Vec::new(),
        };
        let run = |query: &Value,
                   extra: Option<&str>,
                   anchors: &DateAnchors|
         -> Result<(crate::aggregate::AggregateResult, Aggregate, String)> {
            let mut parts: Vec<&str> = Vec::new();
            if let Some(filter) = query.get("filter").and_then(Value::as_str).filter(|f| !f.trim().is_empty()) {
                parts.push(filter);
            }
            parts.extend(narrowing.iter().map(String::as_str));
            parts.extend(extra);
            let filter = conjunction(&parts);
            let filter = relative_dates::resolve(&filter, anchors).map_err(QueryError::new)?;
            let mut query = query.clone();
            if let Some(object) = query.as_object_mut() {
                object.insert("filter".into(), Value::String(filter.clone()));
            }
            let aggregate = Aggregate::parse(&query, &resolve)?;
            let result = self.aggregate(access, space, &widget.form, &query)?;
            Ok((result, aggregate, filter))
        };
        let period_key = |start: NaiveDate| -> Map<String, Value> {
            Map::from_iter([("period".to_owned(), Value::String(start.to_string()))])
        };
        let mut data = empty_data(widget);
        if let Some(ratio) = &widget.ratio {
            let ratio_of = |anchors: &DateAnchors| -> Result<Map<String, Value>> {
                let (numerator, aggregate, _) = run(&ratio.numerator, None, anchors)?;
                let numerator = first_metric(&numerator.total, &aggregate);
                let (denominator, aggregate, _) = run(&ratio.denominator, None, anchors)?;
                let denominator = first_metric(&denominator.total, &aggregate);
                let value = match (numerator, denominator) {
                    (Some(n), Some(d)) if d != 0.0 => json_number(n / d),
                    _ => Value::Null,
                };
                Ok(Map::from_iter([
                    ("value".to_owned(), value),
                    ("numerator".to_owned(), numerator.map_or(Value::Null, json_number)),
                    ("denominator".to_owned(), denominator.map_or(Value::Null, json_number)),
                ]))
            };
            data.metrics = vec!["value".into(), "numerator".into(), "denominator".into()];
            for (start, end) in periods {
                let values = ratio_of(&DateAnchors { today: scope.today, range: Some((start, end)) })?;
                data.rows.push(WidgetRow { key: period_key(start), values, filter: None });
            }
            if !data.rows.is_empty() {
                data.keys = vec!["period".into()];
            }
            data.total = ratio_of(&whole)?;
            return Ok(data);
        }
        let Some(query) = &widget.query else {
            return Err(EngineError::Internal(format!("widget `{}` has neither a query nor a ratio", widget.id)));
        };
        let (result, aggregate, filter) = run(query, None, &whole)?;
        data.metrics = aggregate.metric_names();
        data.total = result.total;
        if !periods.is_empty() {
            data.keys = vec!["period".into()];
            for (start, end) in periods {
                let (result, _, filter) =
                    run(query, None, &DateAnchors { today: scope.today, range: Some((start, end)) })?;
                data.rows.push(WidgetRow { key: period_key(start), values: result.total, filter: Some(filter) });
            }
        } else if !widget.segments.is_empty() {
            data.keys = vec!["segment".into()];
            for segment in &widget.segments {
                let (result, _, filter) = run(query, Some(&segment.filter), &whole)?;
                let key = Map::from_iter([("segment".to_owned(), Value::String(segment.label.clone()))]);
                data.rows.push(WidgetRow { key, values: result.total, filter: Some(filter) });
            }
        } else if aggregate.is_grouped() {
            data.keys = aggregate.key_names();
            data.rows = result
                .groups
                .into_iter()
                .map(|group| {
                    let filter = conjunction(&[filter.as_str(), &aggregate.group_filter(&group.key)]);
                    WidgetRow { key: group.key, values: group.values, filter: Some(filter) }
                })
                .collect();
        } else {
            data.rows.push(WidgetRow { key: Map::new(), values: data.total.clone(), filter: Some(filter) });
        }
        Ok(data)
    }
}

/// The range, owner and team a dashboard is evaluated under.
struct Scope<'a> {
    today: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    owner: Option<&'a str>,
    /// The owners of the team chosen.
    team: Option<&'a [String]>,
}

/// A query's aggregate, parsed with its filter's relative dates resolved.
/// A widget's answer with no numbers yet (and no error).
fn empty_data(widget: &WidgetDef) -> WidgetData {
    WidgetData {
        id: widget.id.clone(),
        form: widget.form.clone(),
        keys: Vec::new(),
        metrics: Vec::new(),
        rows: Vec::new(),
        total: Map::new(),
        error: None,
    }
}

fn parse_query(
    query: &Value,
    anchors: &DateAnchors,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
) -> std::result::Result<Aggregate, Vec<FieldError>> {
    let mut query = query.clone();
    if let Some(filter) = query.get("filter").and_then(Value::as_str) {
        let resolved =
            relative_dates::resolve(filter, anchors).map_err(|message| vec![FieldError::new("/filter", message)])?;
        query["filter"] = Value::String(resolved);
    }
    Aggregate::parse(&query, resolve).map_err(|err| match err {
        EngineError::InvalidAggregate(errors) => errors,
        other => vec![FieldError::new("", other.to_string())],
    })
}

/// Whether a filter parses against the form, relative dates resolved.
fn check_filter(
    filter: &str,
    anchors: &DateAnchors,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
) -> std::result::Result<(), String> {
    let resolved = relative_dates::resolve(filter, anchors)?;
    crate::query::Filter::parse(&resolved, resolve).map(|_| ()).map_err(|err| err.to_string())
}

/// Filters joined with `and`, each in parentheses.
fn conjunction(parts: &[&str]) -> String {
    let parts: Vec<&str> = parts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        many => many.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" and "),
    }
}

/// A definition's range resolved for today; a problem points at the end that is wrong.
fn range_of(def: &crate::model::RangeDef, today: NaiveDate) -> std::result::Result<(NaiveDate, NaiveDate), FieldError> {
    let anchors = DateAnchors::today(today);
    let day = |text: &str, path: &str| -> std::result::Result<NaiveDate, FieldError> {
        let resolved =
            relative_dates::resolve(text.trim(), &anchors).map_err(|message| FieldError::new(path, message))?;
        resolved
            .trim_matches('"')
            .parse::<NaiveDate>()
            .map_err(|_| FieldError::new(path, "a date (YYYY-MM-DD) or a relative date such as {quarter-3q}"))
    };
    let from = day(&def.from, "/date_range/from")?;
    let to = day(&def.to, "/date_range/to")?;
    if from > to {
        return Err(FieldError::new("/date_range/to", "the range ends before it starts"));
    }
    Ok((from, to))
}

/// The twelve months up to the end of this one.
fn last_twelve_months(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = today.with_day(1).unwrap_or(today);
    let from = this_month.checked_sub_months(Months::new(11)).unwrap_or(this_month);
    let to = this_month.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(today);
    (from, to)
}

/// The periods overlapping `from..=to`, each as its first and last day.
fn periods_of(period: Period, from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, NaiveDate)>> {
    let months = match period {
        Period::Month => 1,
        Period::Quarter => 3,
        Period::Year => 12,
    };
    let first_month = (from.month() - 1) / months * months + 1;
    let mut start = NaiveDate::from_ymd_opt(from.year(), first_month, 1).unwrap_or(from);
    let mut out = Vec::new();
    while start <= to {
        let Some(next) = start.checked_add_months(Months::new(months)) else { break };
        out.push((start, next.pred_opt().unwrap_or(next)));
        if out.len() > MAX_PERIODS {
            return Err(QueryError::new(format!("the range holds more than {MAX_PERIODS} periods; shorten it")).into());
        }
        start = next;
    }
    Ok(out)
}

/// The first metric of an aggregate's answer, as a number.
fn first_metric(values: &Map<String, Value>, aggregate: &Aggregate) -> Option<f64> {
    let names = aggregate.metric_names();
    values.get(names.first()?)?.as_f64()
}

/// A number as JSON, rounded to 10 decimals so that 0.92 is answered as 0.92.
fn json_number(value: f64) -> Value {
    let rounded = (value * 1e10).round() / 1e10;
    serde_json::Number::from_f64(rounded).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    #[test]
    fn periods_cover_the_range() {
        let quarters = periods_of(Period::Quarter, day("2026-02-10"), day("2026-07-01")).expect("periods");
        assert_eq!(
            quarters,
            vec![
                (day("2026-01-01"), day("2026-03-31")),
                (day("2026-04-01"), day("2026-06-30")),
                (day("2026-07-01"), day("2026-09-30"))
            ]
        );
        assert_eq!(periods_of(Period::Month, day("2026-01-31"), day("2026-02-01")).expect("periods").len(), 2);
        assert!(periods_of(Period::Month, day("2000-01-01"), day("2026-01-01")).is_err());
    }

    #[test]
    fn ranges_resolve_relative_ends() {
        let def = crate::model::RangeDef { from: "{quarter-3q}".into(), to: "{quarter+1q-1d}".into() };
        assert_eq!(range_of(&def, day("2026-12-01")), Ok((day("2026-01-01"), day("2026-12-31"))));
        let bad = crate::model::RangeDef { from: "{today}".into(), to: "{today-1d}".into() };
        assert_eq!(range_of(&bad, day("2026-12-01")).map_err(|e| e.path), Err("/date_range/to".to_owned()));
        let garbage = crate::model::RangeDef { from: "soon".into(), to: "{today}".into() };
        assert_eq!(range_of(&garbage, day("2026-12-01")).map_err(|e| e.path), Err("/date_range/from".to_owned()));
        assert_eq!(last_twelve_months(day("2026-12-15")), (day("2026-01-01"), day("2026-12-31")));
    }

    #[test]
    fn conjunctions_bracket_their_parts() {
        assert_eq!(conjunction(&["", " a = 1 "]), "a = 1");
        assert_eq!(conjunction(&["a = 1 or b = 2", "c = 3"]), "(a = 1 or b = 2) and (c = 3)");
        assert_eq!(json_number(0.92), serde_json::json!(0.92));
        assert_eq!(json_number(1380000.0 / 1500000.0), serde_json::json!(0.92));
    }
}
