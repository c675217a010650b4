//! Aggregates: counts, sums, averages and percentiles of a form's records, grouped.
//!
//! A query is JSON: `{filter, group_by, metrics, sort, limit}`.
//! - `filter`: the record filter language (`query` module docs), checked the same way;
//! - `group_by`: up to 4 groupings, each a field name, `{field, bucket, timezone?, as?}` for a
//!   date or date-time (`bucket`: `day`, `week` (ISO, from Monday), `month`, `quarter`,
//!   `year`; a date-time is placed in its local day in `timezone`, UTC by default), or
//!   `{field, bins: [edges...], as?}` for a number (strictly increasing edges; a bin is
//!   `{from, to}` with `from` included, and values below the first or from the last edge on get
//!   `{to}` and `{from}`). A group's key is named by `as`, else by its field;
//! - `metrics`: up to 32 of `{op, field?, p?, as?}` with `op` one of `count` (records, or with a
//!   field the records where it is not null), `sum`, `avg`, `percentile` (`p` in 0..=100,
//!   linear between closest ranks) on numbers, `min`, `max` on numbers, dates and date-times,
//!   `count_distinct` on any scalar field. Named by `as`, else `count` or `{op}_{field}`
//!   (`p{p}_{field}` for a percentile). Without metrics, `count` alone is computed;
//! - `sort`: comma-separated names of keys or metrics, `-` for descending; groups otherwise come
//!   in key order (null keys first);
//! - `limit`: at most this many groups (1..=10,000; all by default).
//!
//! Nulls: a record whose grouped field is missing or null goes to the group whose key is null;
//! metrics skip null and missing values (and values of the wrong kind on untyped fields). `sum`
//! of nothing is 0; `avg`, `min`, `max` and `percentile` of nothing are null. Only groups that
//! hold at least one record are answered. `total` holds the metrics over every matching record.
//!
//! The query is type-checked against the form's schema before anything is read, every problem
//! reported with its JSON pointer (`/metrics/1/field`). More than [`MAX_GROUPS`] groups, or a
//! run longer than the deadline (10 s by default), stops the query with an error saying so.
//! Records are read through the listing planner's index choice: when a conjunct of the filter
//! on an indexed field is selective, only its candidates are read. Otherwise the form's
//! aggregate columns answer (`columns`: the fields aggregates read, in memory, kept exact with
//! every committed write, built on first use), and when they can't be kept the form is
//! scanned, looking at only the fields the query names. Every path gives the same answer.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use forms::{FieldError, FieldType, FormName, RecordScope, SpaceName};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::listing::{self, QueryPlan};
use crate::model::{Access, Record};
use crate::policy::Policy;
use crate::query::encoding::{number_as_f64, parse_instant};
use crate::query::{encode_value, is_field_path, FieldLookup, Filter};
use crate::store::Store as _;
use crate::{calendar, Engine};

mod columns;

pub use columns::ColumnStore;

/// Most groups one aggregate may produce.
pub const MAX_GROUPS: usize = 10_000;
/// How long an aggregate may run when the caller sets no deadline.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
const MAX_GROUP_BY: usize = 4;
const MAX_METRICS: usize = 32;
const MAX_BINS: usize = 100;
/// The deadline is checked every this many records.
const CHECK_EVERY: usize = 256;

/// The answer to an aggregate query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateResult {
    /// The groups, sorted and cut to the limit.
    pub groups: Vec<Group>,
    /// The metrics over every matching record.
    pub total: Map<String, Value>,
    /// How the records were found.
    #[serde(skip)]
    pub plan: QueryPlan,
}

/// One group of an aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The group's key: one entry per `group_by`.
    pub key: Map<String, Value>,
    /// The metrics over the group's records.
    pub values: Map<String, Value>,
}

/// A parsed aggregate query, checked against one form.
#[derive(Debug, Clone)]
pub struct Aggregate {
    filter: Option<Filter>,
    group_by: Vec<Grouping>,
    metrics: Vec<Metric>,
    sort: Vec<(SortTarget, bool)>,
    limit: usize,
}

#[derive(Debug, Clone)]
struct Grouping {
    field: String,
    name: String,
    ty: FieldType,
    kind: GroupKind,
}

#[derive(Debug, Clone)]
enum GroupKind {
    Value,
    Bucket(Bucket, Tz),
    Bins(Vec<f64>),
}

#[derive(Debug, Clone, Copy)]
enum Bucket {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone)]
struct Metric {
    op: Op,
    field: Option<String>,
    ty: FieldType,
    name: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    CountDistinct,
    Percentile(f64),
}

#[derive(Debug, Clone)]
enum SortTarget {
    Key(usize),
    Metric(usize),
}

/// Collects problems with their pointers.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }
}

impl Aggregate {
    /// Parses and type-checks a query; `resolve` gives a field's type (None: no such field).
    /// Every problem is reported with its JSON pointer.
    pub fn parse(query: &Value, resolve: &dyn Fn(&str) -> Option<FieldType>) -> Result<Self> {
        let mut problems = Problems::default();
        let Some(object) = query.as_object() else {
            return Err(invalid(vec![FieldError::new("", "an aggregate is a JSON object")]));
        };
        for key in object.keys() {
            if !["filter", "group_by", "metrics", "sort", "limit"].contains(&key.as_str()) {
                problems.add(format!("/{}", escape(key)), format!("unknown member `{key}`"));
            }
        }
        let filter = match object.get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(src)) if src.trim().is_empty() => None,
            Some(Value::String(src)) => match Filter::parse(src.trim(), resolve) {
                Ok(filter) => Some(filter),
                Err(err) => {
                    problems.add("/filter", err.message);
                    None
                }
            },
            Some(_) => {
                problems.add("/filter", "must be a filter expression (a string)");
                None
            }
        };
        let group_by = parse_group_by(object.get("group_by"), resolve, &mut problems);
        let metrics = parse_metrics(object.get("metrics"), resolve, &mut problems);
        let mut names: HashSet<&str> = HashSet::new();
        for (i, grouping) in group_by.iter().enumerate() {
            if !names.insert(&grouping.name) {
                problems.add(format!("/group_by/{i}"), format!("`{}` names two keys; set `as`", grouping.name));
            }
        }
        for (i, metric) in metrics.iter().enumerate() {
            if !names.insert(&metric.name) {
                problems.add(format!("/metrics/{i}/as"), format!("`{}` names two keys or metrics", metric.name));
            }
        }
        let sort = parse_sort(object.get("sort"), &group_by, &metrics, &mut problems);
        let limit = match object.get("limit") {
            None | Some(Value::Null) => MAX_GROUPS,
            Some(limit) => match limit.as_u64() {
                Some(n) if (1..=MAX_GROUPS as u64).contains(&n) => n as usize,
                _ => {
                    problems.add("/limit", format!("must be an integer from 1 to {MAX_GROUPS}"));
                    MAX_GROUPS
                }
            },
        };
        if !problems.0.is_empty() {
            return Err(invalid(problems.0));
        }
        Ok(Self { filter, group_by, metrics, sort, limit })
    }

    /// The metrics' names, in the query's order.
    pub fn metric_names(&self) -> Vec<String> {
        self.metrics.iter().map(|metric| metric.name.clone()).collect()
    }

    /// The keys' names, in the query's order.
    pub fn key_names(&self) -> Vec<String> {
        self.group_by.iter().map(|grouping| grouping.name.clone()).collect()
    }

    /// Whether the query groups.
    pub fn is_grouped(&self) -> bool {
        !self.group_by.is_empty()
    }

    /// A filter (the query's own aside) that selects the records of the group with `key`:
    /// what a chart's bar or slice lists. Buckets of date-times are cut at midnight UTC.
    pub fn group_filter(&self, key: &Map<String, Value>) -> String {
        let mut parts = Vec::new();
        for grouping in &self.group_by {
            let field = &grouping.field;
            match (key.get(&grouping.name), &grouping.kind) {
                (None | Some(Value::Null), _) => parts.push(format!("{field} = null")),
                (Some(Value::String(start)), GroupKind::Bucket(bucket, _)) => {
                    match start.parse::<NaiveDate>().ok().and_then(|start| bucket.next(start).map(|end| (start, end))) {
                        Some((start, end)) => parts.push(format!("{field} >= \"{start}\" and {field} < \"{end}\"")),
                        None => parts.push(format!("{field} = null")),
                    }
                }
                (Some(Value::Object(bin)), GroupKind::Bins(_)) => {
                    if let Some(from) = bin.get("from") {
                        parts.push(format!("{field} >= {from}"));
                    }
                    if let Some(to) = bin.get("to") {
                        parts.push(format!("{field} < {to}"));
                    }
                }
                (Some(value), _) => parts.push(format!("{field} = {value}")),
            }
        }
        parts.join(" and ")
    }

    /// Every field the query reads, with the pointer of the part that names it.
    fn fields_named(&self) -> impl Iterator<Item = (&str, String)> {
        let grouped = self.group_by.iter().enumerate().map(|(i, g)| (g.field.as_str(), format!("/group_by/{i}")));
        let measured =
            self.metrics.iter().enumerate().filter_map(|(i, m)| Some((m.field.as_deref()?, format!("/metrics/{i}"))));
        let filtered = self.filter.iter().flat_map(|f| f.fields()).map(|field| (field, "/filter".to_owned()));
        grouped.chain(measured).chain(filtered)
    }

    /// Every field the query reads (the filter's aside).
    fn fields(&self) -> impl Iterator<Item = &str> {
        self.group_by.iter().map(|g| g.field.as_str()).chain(self.metrics.iter().filter_map(|m| m.field.as_deref()))
    }

    /// Every field the query reads, the filter's included, sorted and once each.
    fn read_fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self.fields().map(str::to_owned).collect();
        fields.extend(self.filter.iter().flat_map(|f| f.fields()).map(str::to_owned));
        fields.sort_unstable();
        fields.dedup();
        fields
    }

    /// Folds records into groups; stops at the group cap or the deadline.
    fn run(&self, records: impl Iterator<Item = Result<Record>>, deadline: Instant) -> Result<Evaluated> {
        let mut groups: Groups = BTreeMap::new();
        let mut total: Vec<Acc> = self.metrics.iter().map(Acc::new).collect();
        for (n, record) in records.enumerate() {
            if n % CHECK_EVERY == CHECK_EVERY - 1 && Instant::now() > deadline {
                return Err(deadline_passed());
            }
            let record = record?;
            if self.filter.as_ref().is_some_and(|filter| !filter.matches(&record)) {
                continue;
            }
            let values: Vec<Option<Value>> =
                self.metrics.iter().map(|m| m.field.as_deref().and_then(|f| present(&record, f))).collect();
            for (acc, value) in total.iter_mut().zip(&values) {
                acc.add(value.as_ref());
            }
            if self.group_by.is_empty() {
                continue;
            }
            let (sort_key, key): (Vec<Vec<u8>>, Vec<Value>) =
                self.group_by.iter().map(|g| g.key_of(present(&record, &g.field).as_ref())).unzip();
            if !groups.contains_key(&sort_key) && groups.len() >= MAX_GROUPS {
                return Err(too_many_groups());
            }
            let (_, accs) =
                groups.entry(sort_key).or_insert_with(|| (key, self.metrics.iter().map(Acc::new).collect()));
            for (acc, value) in accs.iter_mut().zip(&values) {
                acc.add(value.as_ref());
            }
        }
        Ok(Evaluated { groups, total })
    }

    fn answer(&self, evaluated: Evaluated, plan: QueryPlan) -> AggregateResult {
        let values_of = |accs: Vec<Acc>| -> Map<String, Value> {
            self.metrics.iter().zip(accs).map(|(metric, acc)| (metric.name.clone(), acc.finish())).collect()
        };
        let mut groups: Vec<(Vec<Vec<u8>>, Group)> = if self.group_by.is_empty() {
            vec![(Vec::new(), Group { key: Map::new(), values: values_of(evaluated.total.clone()) })]
        } else {
            evaluated
                .groups
                .into_iter()
                .map(|(sort_key, (key, accs))| {
                    let key = self.group_by.iter().map(|g| g.name.clone()).zip(key).collect();
                    (sort_key, Group { key, values: values_of(accs) })
                })
                .collect()
        };
        if !self.sort.is_empty() {
            // Stable: ties keep key order.
            groups.sort_by(|(a_key, a), (b_key, b)| {
                for (target, descending) in &self.sort {
                    let ordering = match target {
                        SortTarget::Key(i) => a_key[*i].cmp(&b_key[*i]),
                        SortTarget::Metric(i) => {
                            let name = &self.metrics[*i].name;
                            encode_value(a.values.get(name), FieldType::Any)
                                .cmp(&encode_value(b.values.get(name), FieldType::Any))
                        }
                    };
                    let ordering = if *descending { ordering.reverse() } else { ordering };
                    if ordering.is_ne() {
                        return ordering;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        groups.truncate(self.limit);
        AggregateResult {
            groups: groups.into_iter().map(|(_, group)| group).collect(),
            total: values_of(evaluated.total),
            plan,
        }
    }
}

/// The error of a run past its deadline.
fn deadline_passed() -> EngineError {
    EngineError::AggregateLimit {
        message: "the aggregate ran past its time limit; narrow the filter or index a field it filters on".into(),
        path: String::new(),
    }
}

/// The error of a run with more than [`MAX_GROUPS`] groups.
fn too_many_groups() -> EngineError {
    EngineError::AggregateLimit {
        message: format!(
            "the aggregate has more than {MAX_GROUPS} groups; filter it or group by coarser buckets or bins"
        ),
        path: "/group_by".into(),
    }
}

/// Groups by their keys' sort bytes: each with its key values and its metrics' accumulators.
type Groups = BTreeMap<Vec<Vec<u8>>, (Vec<Value>, Vec<Acc>)>;

struct Evaluated {
    groups: Groups,
    total: Vec<Acc>,
}

impl Engine {
    /// Checks an aggregate query against a form without running it.
    pub fn check_aggregate(&self, space: &SpaceName, form: &FormName, query: &Value) -> Result<()> {
        let loaded = self.loaded_form(space, form)?;
        Aggregate::parse(query, &|field| listing::field_type(&loaded.compiled, field)).map(|_| ())
    }

    /// Runs an aggregate query on a form's records (see the module docs), as a caller with
    /// `access`: only records in its scope count, and a query that groups, measures or filters
    /// on a field hidden from it is refused naming the field.
    pub fn aggregate(
        &self,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        query: &Value,
    ) -> Result<AggregateResult> {
        self.aggregate_within(access, space, form, query, DEFAULT_DEADLINE)
    }

    /// [`Engine::aggregate`] with its own time limit.
    pub fn aggregate_within(
        &self,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        query: &Value,
        time_limit: Duration,
    ) -> Result<AggregateResult> {
        let deadline = Instant::now() + time_limit;
        let loaded = self.loaded_form(space, form)?;
        let resolve = |field: &str| listing::field_type(&loaded.compiled, field);
        let mut aggregate = Aggregate::parse(query, &resolve)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        policy.check_readable(aggregate.fields_named())?;
        aggregate.filter = listing::scoped(aggregate.filter.take(), &policy, &resolve);
        let seen = |record: &Result<Record>| record.as_ref().map_or(true, |record| policy.sees_record(record));
        let (space, form) = (&loaded.space, &loaded.stored.name);
        let candidates = match &aggregate.filter {
            Some(filter) => self.selective_candidates(space, form, &loaded.compiled, filter)?,
            None => None,
        };
        if let Some((field, ids)) = candidates {
            let records = ids.into_iter().filter_map(|id: Uuid| self.store().record(space, form, &id).transpose());
            let evaluated = aggregate.run(records.map(|r| r.map_err(EngineError::from)).filter(seen), deadline)?;
            return Ok(aggregate.answer(evaluated, QueryPlan::Index(field)));
        }
        // The columns hold no whole records, so they answer only when the filter alone decides
        // what the caller sees: no scope, or a scope the filter carries.
        let scope_in_filter = matches!(policy.scope(), RecordScope::All) || policy.scope_filter(&resolve).is_some();
        if !scope_in_filter {
            return self.aggregate_scanning(space, form, &aggregate, &policy, deadline);
        }
        let mut fields = aggregate.read_fields();
        fields.extend(policy.scope_field().map(str::to_owned));
        let scan = |fields: &[String]| self.store().scan_records_with_fields(space, form, fields);
        let building = Instant::now();
        if let Some(projection) = self.inner.columns.columns(space, form, &fields, scan)? {
            // Building the columns (or waiting for another query's build) is not the query's run.
            let deadline = deadline + building.elapsed();
            let columns = projection.read();
            let evaluated = aggregate.run_columns(&columns, deadline)?;
            return Ok(aggregate.answer(evaluated, QueryPlan::Columns));
        }
        self.aggregate_scanning(space, form, &aggregate, &policy, deadline)
    }

    /// Answers an aggregate from a scan of the form's records, reading only the fields it names.
    fn aggregate_scanning(
        &self,
        space: &forms::SpaceName,
        form: &forms::FormName,
        aggregate: &Aggregate,
        policy: &Policy<'_>,
        deadline: Instant,
    ) -> Result<AggregateResult> {
        let mut fields = aggregate.read_fields();
        fields.extend(policy.scope_field().map(str::to_owned));
        let records = self.store().scan_records_with_fields(space, form, &fields);
        let seen = |record: &Result<Record>| record.as_ref().map_or(true, |record| policy.sees_record(record));
        let evaluated = aggregate.run(records.map(|r| r.map_err(EngineError::from)).filter(seen), deadline)?;
        Ok(aggregate.answer(evaluated, QueryPlan::Scan))
    }

    /// Estimated memory of the aggregate columns of every form (see `aggregate::columns`).
    pub fn aggregate_columns_bytes(&self) -> usize {
        self.inner.columns.bytes()
    }
}

impl Grouping {
    /// The key of a record whose field holds `value` (`None`: missing or null) for this
    /// grouping: its sort bytes and its JSON value.
    fn key_of(&self, value: Option<&Value>) -> (Vec<u8>, Value) {
        let key = match (&self.kind, value) {
            (_, None) => Value::Null,
            (GroupKind::Value, Some(value)) => value.clone(),
            (GroupKind::Bucket(bucket, zone), Some(Value::String(s))) => {
                match local_date(s, self.ty, *zone).map(|date| bucket.start(date)) {
                    Some(start) => Value::String(start.format("%Y-%m-%d").to_string()),
                    None => Value::Null,
                }
            }
            (GroupKind::Bins(edges), Some(Value::Number(n))) => {
                let index = bin_of(edges, number_as_f64(n));
                let mut bin = Map::new();
                if index > 0 {
                    bin.insert("from".into(), number(edges[index - 1]));
                }
                if index < edges.len() {
                    bin.insert("to".into(), number(edges[index]));
                }
                return (encode_value(Some(&Value::from(index)), FieldType::Number), Value::Object(bin));
            }
            _ => Value::Null,
        };
        let ty = match self.kind {
            GroupKind::Bucket(..) => FieldType::Date,
            _ => self.ty,
        };
        (encode_value(Some(&key), ty), key)
    }
}

impl Bucket {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "quarter" => Self::Quarter,
            "year" => Self::Year,
            _ => return None,
        })
    }

    /// The first day of the bucket after the one starting on `start`.
    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::Day => start.checked_add_signed(chrono::Duration::days(1)),
            Self::Week => start.checked_add_signed(chrono::Duration::days(7)),
            Self::Month => start.checked_add_months(chrono::Months::new(1)),
            Self::Quarter => start.checked_add_months(chrono::Months::new(3)),
            Self::Year => start.checked_add_months(chrono::Months::new(12)),
        }
    }

    fn start(self, date: NaiveDate) -> NaiveDate {
        let first_of = |month: u32| NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date);
        match self {
            Self::Day => date,
            Self::Week => date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => first_of(date.month()),
            Self::Quarter => first_of((date.month() - 1) / 3 * 3 + 1),
            Self::Year => first_of(1),
        }
    }
}

/// The local calendar day of a date, or of a date-time in `zone`.
fn local_date(s: &str, ty: FieldType, zone: Tz) -> Option<NaiveDate> {
    let (secs, nanos) = parse_instant(s, ty)?;
    let instant = DateTime::<Utc>::from_timestamp(secs, nanos)?;
    Some(match ty {
        FieldType::Date => instant.date_naive(),
        _ => instant.with_timezone(&zone).date_naive(),
    })
}

/// Which bin a number falls in: 0 below the first edge, `i` in `[edges[i-1], edges[i])`,
/// `edges.len()` from the last edge on.
fn bin_of(edges: &[f64], value: f64) -> usize {
    edges.partition_point(|edge| *edge <= value)
}

/// A field's value unless missing or null.
fn present(record: &Record, field: &str) -> Option<Value> {
    match record.lookup(field) {
        None => None,
        Some(value) if value.is_null() => None,
        Some(value) => Some(value.into_owned()),
    }
}

/// A number as JSON: whole numbers that fit exactly as integers.
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// A metric's running state.
#[derive(Debug, Clone)]
enum Acc {
    /// The count, and whether it counts a field's present values rather than records.
    Count(u64, bool),
    Sum(f64),
    Avg(f64, u64),
    /// The extreme so far: its sort bytes and its value; `true` for max.
    Extreme(Option<(Vec<u8>, Value)>, bool, FieldType),
    Distinct(HashSet<Vec<u8>>),
    Values(Vec<f64>, f64),
}

impl Acc {
    fn new(metric: &Metric) -> Self {
        match metric.op {
            Op::Count => Self::Count(0, metric.field.is_some()),
            Op::Sum => Self::Sum(0.0),
            Op::Avg => Self::Avg(0.0, 0),
            Op::Min => Self::Extreme(None, false, metric.ty),
            Op::Max => Self::Extreme(None, true, metric.ty),
            Op::CountDistinct => Self::Distinct(HashSet::new()),
            Op::Percentile(p) => Self::Values(Vec::new(), p),
        }
    }

    /// Adds one record's value of the metric's field (None: missing or null, or no field).
    fn add(&mut self, value: Option<&Value>) {
        match self {
            Self::Count(n, of_field) => {
                if !*of_field || value.is_some() {
                    *n += 1;
                }
            }
            Self::Sum(sum) => {
                if let Some(Value::Number(n)) = value {
                    *sum += number_as_f64(n);
                }
            }
            Self::Avg(sum, count) => {
                if let Some(Value::Number(n)) = value {
                    *sum += number_as_f64(n);
                    *count += 1;
                }
            }
            Self::Extreme(best, max, ty) => {
                let Some(value) = value else { return };
                let ordered = match (value, *ty) {
                    (Value::Number(_), _) => true,
                    (Value::String(s), FieldType::Date | FieldType::DateTime) => parse_instant(s, *ty).is_some(),
                    _ => false,
                };
                if !ordered {
                    return;
                }
                let bytes = encode_value(Some(value), *ty);
                let better =
                    best.as_ref().is_none_or(|(current, _)| if *max { bytes > *current } else { bytes < *current });
                if better {
                    *best = Some((bytes, value.clone()));
                }
            }
            Self::Distinct(seen) => {
                if let Some(value) = value {
                    seen.insert(encode_value(Some(value), FieldType::Any));
                }
            }
            Self::Values(values, _) => {
                if let Some(Value::Number(n)) = value {
                    values.push(number_as_f64(n));
                }
            }
        }
    }

    fn finish(self) -> Value {
        match self {
            Self::Count(n, _) => Value::from(n),
            Self::Sum(sum) => number(sum),
            Self::Avg(_, 0) => Value::Null,
            Self::Avg(sum, count) => Number::from_f64(sum / count as f64).map_or(Value::Null, Value::Number),
            Self::Extreme(best, _, _) => best.map_or(Value::Null, |(_, value)| value),
            Self::Distinct(seen) => Value::from(seen.len()),
            Self::Values(mut values, p) => {
                if values.is_empty() {
                    return Value::Null;
                }
                values.sort_by(f64::total_cmp);
                let rank = p / 100.0 * (values.len() - 1) as f64;
                let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
                let result = values[low] + (values[high] - values[low]) * (rank - low as f64);
                number(result)
            }
        }
    }
}

fn parse_group_by(
    value: Option<&Value>,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
    problems: &mut Problems,
) -> Vec<Grouping> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.add("/group_by", "must be a list of fields or groupings");
            return Vec::new();
        }
    };
    if items.len() > MAX_GROUP_BY {
        problems.add("/group_by", format!("at most {MAX_GROUP_BY} groupings"));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/group_by/{i}");
        let (field, field_at, object) = match item {
            Value::String(field) => (field.as_str(), at.clone(), None),
            Value::Object(object) => {
                for key in object.keys() {
                    if !["field", "bucket", "timezone", "bins", "as"].contains(&key.as_str()) {
                        problems.add(format!("{at}/{}", escape(key)), format!("unknown member `{key}`"));
                    }
                }
                match object.get("field") {
                    Some(Value::String(field)) => (field.as_str(), format!("{at}/field"), Some(object)),
                    _ => {
                        problems.add(format!("{at}/field"), "a grouping names its field");
                        continue;
                    }
                }
            }
            _ => {
                problems.add(at, "must be a field name or {field, bucket} or {field, bins}");
                continue;
            }
        };
        let Some(ty) = field_of(field, &field_at, resolve, problems) else { continue };
        if matches!(ty, FieldType::Array | FieldType::Object) {
            problems.add(field_at, format!("`{field}` is {}; group by a single value", crate::query::type_name(ty)));
            continue;
        }
        let mut name = field.to_owned();
        let mut kind = GroupKind::Value;
        if let Some(object) = object {
            if let Some(alias) = object.get("as") {
                match alias.as_str().filter(|a| is_field_path(a) && !a.contains('.')) {
                    Some(alias) => name = alias.to_owned(),
                    None => problems.add(format!("{at}/as"), "must be a name (letters, digits, `_`)"),
                }
            }
            match (object.get("bucket"), object.get("bins")) {
                (Some(_), Some(_)) => problems.add(at.clone(), "a grouping has a bucket or bins, not both"),
                (Some(bucket), None) => {
                    let zone = match object.get("timezone") {
                        None | Some(Value::Null) => Some(Tz::UTC),
                        Some(_) if ty == FieldType::Date => {
                            problems.add(format!("{at}/timezone"), format!("`{field}` is a date: it has no time zone"));
                            None
                        }
                        Some(Value::String(zone)) => match calendar::parse_zone(zone) {
                            Ok(zone) => Some(zone),
                            Err(message) => {
                                problems.add(format!("{at}/timezone"), message);
                                None
                            }
                        },
                        Some(_) => {
                            problems.add(format!("{at}/timezone"), "must be an IANA time zone name");
                            None
                        }
                    };
                    if !matches!(ty, FieldType::Date | FieldType::DateTime) {
                        problems.add(
                            format!("{at}/bucket"),
                            format!("`{field}` is {}; buckets need a date or a date-time", crate::query::type_name(ty)),
                        );
                    }
                    match bucket.as_str().and_then(Bucket::parse) {
                        Some(bucket) => kind = GroupKind::Bucket(bucket, zone.unwrap_or(Tz::UTC)),
                        None => problems
                            .add(format!("{at}/bucket"), "must be one of `day`, `week`, `month`, `quarter`, `year`"),
                    }
                }
                (None, Some(bins)) => {
                    if !matches!(ty, FieldType::Number | FieldType::Integer) {
                        problems.add(
                            format!("{at}/bins"),
                            format!("`{field}` is {}; bins need a number", crate::query::type_name(ty)),
                        );
                    }
                    if object.contains_key("timezone") {
                        problems.add(format!("{at}/timezone"), "a time zone goes with a bucket");
                    }
                    let edges: Option<Vec<f64>> =
                        bins.as_array().and_then(|edges| edges.iter().map(Value::as_f64).collect());
                    match edges {
                        Some(edges)
                            if !edges.is_empty()
                                && edges.len() <= MAX_BINS
                                && edges.windows(2).all(|pair| pair[0] < pair[1]) =>
                        {
                            kind = GroupKind::Bins(edges);
                        }
                        _ => problems.add(
                            format!("{at}/bins"),
                            format!("must be 1 to {MAX_BINS} numbers in strictly increasing order"),
                        ),
                    }
                }
                (None, None) => {
                    if object.contains_key("timezone") {
                        problems.add(format!("{at}/timezone"), "a time zone goes with a bucket");
                    }
                }
            }
        }
        out.push(Grouping { field: field.to_owned(), name, ty, kind });
    }
    out
}

fn parse_metrics(
    value: Option<&Value>,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
    problems: &mut Problems,
) -> Vec<Metric> {
    let items = match value {
        None | Some(Value::Null) => {
            return vec![Metric { op: Op::Count, field: None, ty: FieldType::Any, name: "count".into() }]
        }
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            problems.add("/metrics", "must be a non-empty list of {op, field?, p?, as?}");
            return Vec::new();
        }
    };
    if items.len() > MAX_METRICS {
        problems.add("/metrics", format!("at most {MAX_METRICS} metrics"));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/metrics/{i}");
        let Some(object) = item.as_object() else {
            problems.add(at, "a metric is {op, field?, p?, as?}");
            continue;
        };
        for key in object.keys() {
            if !["op", "field", "p", "as"].contains(&key.as_str()) {
                problems.add(format!("{at}/{}", escape(key)), format!("unknown member `{key}`"));
            }
        }
        let op_name = object.get("op").and_then(Value::as_str).unwrap_or("");
        let op = match op_name {
            "count" => Op::Count,
            "sum" => Op::Sum,
            "avg" => Op::Avg,
            "min" => Op::Min,
            "max" => Op::Max,
            "count_distinct" => Op::CountDistinct,
            "percentile" => match object.get("p").and_then(Value::as_f64) {
                Some(p) if (0.0..=100.0).contains(&p) => Op::Percentile(p),
                _ => {
                    problems.add(format!("{at}/p"), "a percentile needs `p` from 0 to 100");
                    continue;
                }
            },
            _ => {
                problems.add(
                    format!("{at}/op"),
                    "must be one of `count`, `sum`, `avg`, `min`, `max`, `count_distinct`, `percentile`",
                );
                continue;
            }
        };
        if !matches!(op, Op::Percentile(_)) && object.contains_key("p") {
            problems.add(format!("{at}/p"), "`p` goes with `percentile`");
        }
        let field = match object.get("field") {
            None | Some(Value::Null) => None,
            Some(Value::String(field)) => Some(field.clone()),
            Some(_) => {
                problems.add(format!("{at}/field"), "must be a field name");
                continue;
            }
        };
        let ty = match &field {
            None if op == Op::Count => FieldType::Any,
            None => {
                problems.add(format!("{at}/field"), format!("`{op_name}` needs a field"));
                continue;
            }
            Some(field) => match field_of(field, &format!("{at}/field"), resolve, problems) {
                Some(ty) => ty,
                None => continue,
            },
        };
        let fits = match op {
            Op::Count => true,
            Op::Sum | Op::Avg | Op::Percentile(_) => {
                matches!(ty, FieldType::Number | FieldType::Integer | FieldType::Any)
            }
            Op::Min | Op::Max => matches!(
                ty,
                FieldType::Number | FieldType::Integer | FieldType::Date | FieldType::DateTime | FieldType::Any
            ),
            Op::CountDistinct => !matches!(ty, FieldType::Array | FieldType::Object),
        };
        if !fits {
            let field = field.as_deref().unwrap_or_default();
            problems.add(
                format!("{at}/field"),
                format!("`{op_name}` can't take `{field}`: it is {}", crate::query::type_name(ty)),
            );
            continue;
        }
        let name = match object.get("as") {
            None | Some(Value::Null) => match (&field, op) {
                (None, _) => "count".to_owned(),
                (Some(field), Op::Percentile(p)) => format!("p{}_{}", number(p), field.replace('.', "_")),
                (Some(field), _) => format!("{op_name}_{}", field.replace('.', "_")),
            },
            Some(alias) => match alias.as_str().filter(|a| is_field_path(a) && !a.contains('.')) {
                Some(alias) => alias.to_owned(),
                None => {
                    problems.add(format!("{at}/as"), "must be a name (letters, digits, `_`)");
                    continue;
                }
            },
        };
        out.push(Metric { op, field, ty, name });
    }
    out
}

fn parse_sort(
    value: Option<&Value>,
    group_by: &[Grouping],
    metrics: &[Metric],
    problems: &mut Problems,
) -> Vec<(SortTarget, bool)> {
    let src = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::String(src)) => src,
        Some(_) => {
            problems.add("/sort", "must be names of keys or metrics, comma-separated, `-` for descending");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for part in src.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (descending, name) = match part.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, part.strip_prefix('+').unwrap_or(part)),
        };
        let target = group_by
            .iter()
            .position(|g| g.name == name)
            .map(SortTarget::Key)
            .or_else(|| metrics.iter().position(|m| m.name == name).map(SortTarget::Metric));
        match target {
            Some(target) => out.push((target, descending)),
            None => problems.add("/sort", format!("`{name}` is neither a group key nor a metric of this aggregate")),
        }
    }
    out
}

/// A field's type, or a problem at `at` if the form has no such field.
fn field_of(
    field: &str,
    at: &str,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
    problems: &mut Problems,
) -> Option<FieldType> {
    let ty = is_field_path(field).then(|| resolve(field)).flatten();
    if ty.is_none() {
        problems.add(at, format!("unknown field `{field}`"));
    }
    ty
}

/// Escapes a member name for a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn invalid(errors: Vec<FieldError>) -> EngineError {
    EngineError::InvalidAggregate(errors)
}

#[cfg(test)]
mod tests;
