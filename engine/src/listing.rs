//! Listing records: plans a filtered, sorted, paginated query and runs it against the store.
//!
//! Three plans, chosen per query:
//! - `index`: a conjunct of the filter on an indexed field is selective: its index entries give
//!   the candidate ids, and only those records are read;
//! - `index-order`: the query sorts on one indexed field: its index is walked in sort order and
//!   the walk stops as soon as the page is full;
//! - `scan`: every record of the form is read (the response says so, so admins know to add an
//!   index).
//!
//! Every plan returns the same order — (sort key, id), see `query::Sort::compare` — so a cursor
//! minted by one plan resumes correctly under another.

use std::fmt;
use std::ops::Bound;

use forms::{CompiledForm, FieldType, FormName, SpaceName};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::model::{Access, Record, SYSTEM_FIELDS};
use crate::policy::Policy;
use crate::query::{self, Cursor, Filter, IndexScan, QueryError, Sort, ValueRange};
use crate::store::Store as _;
use crate::Engine;

/// Page size when the caller gives none.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;
/// An index scan with at most this many candidates is preferred over a scan: gathering that
/// many ids from index keys costs about as much as reading a few hundred records.
const SELECTIVE: usize = 4_000;
/// A range of many entries in the default order is read as this many id-ordered streams at
/// most, one per value (a month of dates), rather than by a scan.
const FEW_VALUES: usize = 32;
/// Below this many candidates an index scan is preferred over walking the sort field's index.
const SELECTIVE_BEFORE_ORDERED: usize = 1_000;

/// What a caller asks of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Filter expression (`query` module docs).
    pub filter: Option<String>,
    /// Sort spec, e.g. `-health,name`.
    pub sort: Option<String>,
    /// Page size, 1..=MAX_LIMIT.
    pub limit: Option<usize>,
    /// Continuation token from the previous page.
    pub cursor: Option<String>,
}

/// How a list query was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPlan {
    /// Every record of the form was read.
    Scan,
    /// Candidates came from the index of this field.
    Index(String),
    /// The index of this field was walked in sort order.
    IndexOrder(String),
    /// The form's aggregate columns answered (aggregates only).
    Columns,
}

impl fmt::Display for QueryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scan => f.write_str("scan"),
            Self::Index(field) => write!(f, "index:{field}"),
            Self::IndexOrder(field) => write!(f, "index-order:{field}"),
            Self::Columns => f.write_str("columns"),
        }
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Token for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// How the query was answered.
    pub plan: QueryPlan,
}

/// A parsed, checked query against one form.
struct Plan<'a> {
    space: &'a SpaceName,
    form: &'a FormName,
    compiled: &'a CompiledForm,
    /// The caller's record policy: only records it sees match, before any limit.
    policy: Policy<'a>,
    /// The caller's filter and the policy's scope, as one filter.
    filter: Option<Filter>,
    sort: Sort,
    cursor: Option<Cursor>,
    limit: usize,
}

impl Engine {
    /// Lists records of a form, as a caller with `access` may see them: only records in its
    /// scope match (before the page is cut, whichever plan runs, so a page is never short or
    /// padded by records the caller can't see), hidden fields are left out, and a filter or
    /// sort on a hidden field is refused naming it.
    pub fn list_records(
        &self,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        query: &ListQuery,
    ) -> Result<Page<Record>> {
        let loaded = self.loaded_form(space, form)?;
        let compiled = &loaded.compiled;
        let policy = Policy::new(compiled.def(), access);
        let resolve = |field: &str| field_type(compiled, field);
        let filter_src = query.filter.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let sort_src = query.sort.as_deref().map(str::trim).unwrap_or("");
        let limit = match query.limit {
            None => DEFAULT_LIMIT,
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
            Some(_) => return Err(bad_query(format!("limit must be between 1 and {MAX_LIMIT}"))),
        };
        let fingerprint = query::fingerprint(filter_src.unwrap_or(""), sort_src);
        let filter = filter_src.map(|src| Filter::parse(src, &resolve)).transpose()?;
        let sort = Sort::parse(sort_src, &resolve)?;
        check_query_readable(&policy, filter.as_ref(), &sort)?;
        let plan = Plan {
            space: &loaded.space,
            form: &loaded.stored.name,
            compiled,
            policy,
            filter: scoped(filter, &policy, &resolve),
            sort,
            cursor: None,
            limit,
        };
        let cursor = query.cursor.as_deref().map(|token| Cursor::decode(token, fingerprint)).transpose()?;
        let plan =
            Plan { cursor: cursor.map(|cursor| self.whole_cursor(&plan, cursor, &resolve)).transpose()?, ..plan };
        let (mut items, plan_used) = self.run_plan(&plan)?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|last| {
                let sort_key = plan.sort.key_of(last, &resolve);
                Cursor { sort_key, id: *last.id.as_bytes(), truncated: false }.encode(fingerprint)
            })
        } else {
            None
        };
        let items = items.into_iter().map(|record| plan.policy.redact_record(record)).collect();
        Ok(Page { items, next_cursor, plan: plan_used })
    }

    /// Runs the cheapest plan; returns up to `limit + 1` records (one more tells there's a next page).
    /// A cursor whose long keys were cut (see `query::cursor`) made whole again: the exact
    /// keys are read from the record it names. If that record is gone or its keys changed, a
    /// cut key is replaced by the nearest position that skips nothing: the cut prefix itself
    /// (it sorts before every key it starts) when ascending, the first position past every
    /// key it starts when descending. The next page may then repeat some items; it never
    /// misses one.
    fn whole_cursor(
        &self,
        plan: &Plan<'_>,
        cursor: Cursor,
        resolve: &dyn Fn(&str) -> Option<forms::FieldType>,
    ) -> Result<Cursor> {
        if !cursor.truncated {
            return Ok(cursor);
        }
        // A record the caller can't see is treated as gone: how the page resumes must not tell
        // anything about it.
        let record = self.store().record(plan.space, plan.form, &Uuid::from_bytes(cursor.id))?;
        if let Some(record) = record.filter(|record| plan.policy.sees_record(record)) {
            let exact = plan.sort.key_of(&record, resolve);
            let consistent = exact.len() == cursor.sort_key.len()
                && exact.iter().zip(&cursor.sort_key).all(|(whole, cut)| whole.starts_with(cut));
            if consistent {
                return Ok(Cursor { sort_key: exact, id: cursor.id, truncated: false });
            }
        }
        let mut sort_key = cursor.sort_key;
        for (key, spec) in sort_key.iter_mut().zip(&plan.sort.keys) {
            if key.len() >= query::cursor::MAX_KEY_BYTES && spec.descending {
                *key = past_every_extension(key);
            }
        }
        Ok(Cursor { sort_key, id: cursor.id, truncated: false })
    }

    fn run_plan(&self, plan: &Plan<'_>) -> Result<(Vec<Record>, QueryPlan)> {
        let indexed = |field: &str| plan.compiled.indexes().iter().any(|f| f == field);
        let scans = plan.filter.as_ref().map(|f| f.index_scans(&indexed)).unwrap_or_default();
        let sort_index = match plan.sort.keys.as_slice() {
            [key] if indexed(&key.field) => Some(key),
            _ => None,
        };
        // Counting is cut off as soon as a scan can't win, so estimates stay cheap.
        let threshold = if sort_index.is_some() { SELECTIVE_BEFORE_ORDERED } else { SELECTIVE };
        let mut best: Option<(usize, &IndexScan)> = None;
        for scan in &scans {
            let cap = best.map_or(threshold, |(fewest, _)| fewest.min(threshold));
            let count = self.estimate(plan, scan, cap)?;
            if best.is_none_or(|(fewest, _)| count < fewest) {
                best = Some((count, scan));
            }
        }
        let default_order = plan.sort.keys.is_empty();
        match (best, sort_index) {
            (Some((count, scan)), _) if count <= threshold => self.run_index(plan, scan),
            (_, Some(key)) => {
                let ranges = scans.iter().find(|s| s.field == key.field).map(|s| s.ranges.clone());
                self.run_index_order(plan, &key.field, key.descending, ranges)
            }
            // Entries of one value are in id order, the default order: merge a few such
            // streams and stop when the page is full.
            (Some((_, scan)), None) if default_order && is_few_points(scan) => self.run_index_points(plan, scan),
            // Many matches in the default order. A range over a few values (a week of dates)
            // is a few id-ordered streams, merged as for points; else records stream in id
            // order, and a broad filter fills the page after a few reads.
            (Some((_, scan)), None) if default_order => match self.few_values(plan, scan)? {
                Some(points) => self.run_index_points(plan, &points),
                None => self.run_scan(plan),
            },
            (Some((_, scan)), None) => self.run_index(plan, scan),
            (None, None) => self.run_scan(plan),
        }
    }

    /// The values `scan`'s ranges hold, as one point each, when there are at most
    /// [`FEW_VALUES`]: each is found with one seek past the entries of the one before.
    fn few_values(&self, plan: &Plan<'_>, scan: &IndexScan) -> Result<Option<IndexScan>> {
        let mut points = Vec::new();
        for range in &scan.ranges {
            let mut rest = range.clone();
            while let Some(entry) =
                self.store().scan_index(plan.space, plan.form, &scan.field, rest.clone(), None, false).next()
            {
                let (value, _) = entry?;
                if points.len() == FEW_VALUES {
                    return Ok(None);
                }
                points.push((Bound::Included(value.clone()), Bound::Included(value.clone())));
                rest.0 = Bound::Excluded(value);
            }
        }
        Ok(Some(IndexScan { field: scan.field.clone(), ranges: points }))
    }

    /// Merges the id-ordered entries of a few single values (`=`, `in`) of one index.
    fn run_index_points(&self, plan: &Plan<'_>, scan: &IndexScan) -> Result<(Vec<Record>, QueryPlan)> {
        let after = plan.cursor.as_ref().map(|c| Uuid::from_bytes(c.id));
        let mut streams: Vec<_> = scan
            .ranges
            .iter()
            .map(|range| {
                let value = match &range.0 {
                    Bound::Included(value) => value.clone(),
                    _ => Vec::new(),
                };
                let resume = after.map(|id| (value, id));
                let resume_ref = resume.as_ref().map(|(value, id)| (value.as_slice(), id));
                self.store()
                    .scan_index(plan.space, plan.form, &scan.field, range.clone(), resume_ref, false)
                    .map(|entry| entry.map(|(_, id)| id))
                    .peekable()
            })
            .collect();
        let mut items = Vec::new();
        while items.len() <= plan.limit {
            // The stream whose next id is smallest goes next.
            let mut next: Option<(usize, Uuid)> = None;
            for (i, stream) in streams.iter_mut().enumerate() {
                if let Some(Err(_)) = stream.peek() {
                    if let Some(Err(err)) = stream.next() {
                        return Err(err.into());
                    }
                }
                if let Some(Ok(id)) = stream.peek() {
                    if next.is_none_or(|(_, best)| *id < best) {
                        next = Some((i, *id));
                    }
                }
            }
            let Some((i, id)) = next else { break };
            streams[i].next();
            if let Some(record) = self.store().record(plan.space, plan.form, &id)? {
                if plan.matches(&record) {
                    items.push(record);
                }
            }
        }
        Ok((items, QueryPlan::Index(scan.field.clone())))
    }

    /// Index entries a scan covers, counted up to `cap + 1`.
    fn estimate(&self, plan: &Plan<'_>, scan: &IndexScan, cap: usize) -> Result<usize> {
        self.estimate_in(plan.space, plan.form, scan, cap)
    }

    /// For readers of every match (aggregates): when a conjunct of `filter` on an indexed field
    /// is selective (the same rule as the `index` plan of a list), that field and the ids its
    /// index gives, in id order; `None` when the form is better scanned.
    pub(crate) fn selective_candidates(
        &self,
        space: &SpaceName,
        form: &FormName,
        compiled: &CompiledForm,
        filter: &Filter,
    ) -> Result<Option<(String, Vec<Uuid>)>> {
        let indexed = |field: &str| compiled.indexes().iter().any(|f| f == field);
        let mut best: Option<(usize, IndexScan)> = None;
        for scan in filter.index_scans(&indexed) {
            let cap = best.as_ref().map_or(SELECTIVE, |(fewest, _)| (*fewest).min(SELECTIVE));
            let count = self.estimate_in(space, form, &scan, cap)?;
            if count <= SELECTIVE && best.as_ref().is_none_or(|(fewest, _)| count < *fewest) {
                best = Some((count, scan));
            }
        }
        let Some((_, scan)) = best else { return Ok(None) };
        let mut ids = Vec::new();
        for range in &scan.ranges {
            for entry in self.store().scan_index(space, form, &scan.field, range.clone(), None, false) {
                ids.push(entry?.1);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(Some((scan.field, ids)))
    }

    fn estimate_in(&self, space: &SpaceName, form: &FormName, scan: &IndexScan, cap: usize) -> Result<usize> {
        let mut total = 0;
        for range in &scan.ranges {
            total += self.store().count_index(space, form, &scan.field, range.clone(), cap + 1 - total)?;
            if total > cap {
                break;
            }
        }
        Ok(total)
    }

    /// Candidates from one index, then filter, then order.
    fn run_index(&self, plan: &Plan<'_>, scan: &IndexScan) -> Result<(Vec<Record>, QueryPlan)> {
        let mut ids = Vec::new();
        for range in &scan.ranges {
            for entry in self.store().scan_index(plan.space, plan.form, &scan.field, range.clone(), None, false) {
                ids.push(entry?.1);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let used = QueryPlan::Index(scan.field.clone());
        if plan.sort.keys.is_empty() {
            // Default order is id order: read records only until the page is full.
            let after = plan.cursor.as_ref().map(|c| Uuid::from_bytes(c.id));
            let mut items = Vec::new();
            for id in ids.into_iter().filter(|id| after.is_none_or(|after| *id > after)) {
                if let Some(record) = self.store().record(plan.space, plan.form, &id)? {
                    if plan.matches(&record) {
                        items.push(record);
                        if items.len() > plan.limit {
                            break;
                        }
                    }
                }
            }
            return Ok((items, used));
        }
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(record) = self.store().record(plan.space, plan.form, &id)? {
                records.push(record);
            }
        }
        Ok((plan.filter_sort_page(records), used))
    }

    /// Walk one field's index in sort order, stop when the page is full.
    fn run_index_order(
        &self,
        plan: &Plan<'_>,
        field: &str,
        descending: bool,
        ranges: Option<Vec<ValueRange>>,
    ) -> Result<(Vec<Record>, QueryPlan)> {
        let mut ranges = ranges.unwrap_or_else(|| vec![(Bound::Unbounded, Bound::Unbounded)]);
        if descending {
            ranges.reverse();
        }
        let resume = plan.cursor.as_ref().and_then(|c| Some((c.sort_key.first()?.clone(), Uuid::from_bytes(c.id))));
        let mut items = Vec::new();
        'ranges: for range in ranges {
            let resume = resume.as_ref().map(|(value, id)| (value.as_slice(), id));
            for entry in self.store().scan_index(plan.space, plan.form, field, range, resume, descending) {
                let (_, id) = entry?;
                if let Some(record) = self.store().record(plan.space, plan.form, &id)? {
                    if plan.matches(&record) {
                        items.push(record);
                        if items.len() > plan.limit {
                            break 'ranges;
                        }
                    }
                }
            }
        }
        Ok((items, QueryPlan::IndexOrder(field.to_owned())))
    }

    /// Read every record of the form.
    fn run_scan(&self, plan: &Plan<'_>) -> Result<(Vec<Record>, QueryPlan)> {
        if plan.sort.keys.is_empty() {
            // Records are stored in id order, which is the default order: stream.
            let after = plan.cursor.as_ref().map(|c| Uuid::from_bytes(c.id));
            let mut items = Vec::new();
            for record in self.store().scan_records(plan.space, plan.form, after, false) {
                let record = record?;
                if plan.matches(&record) {
                    items.push(record);
                    if items.len() > plan.limit {
                        break;
                    }
                }
            }
            return Ok((items, QueryPlan::Scan));
        }
        let records = self.store().scan_records(plan.space, plan.form, None, false).collect::<Result<Vec<_>, _>>()?;
        Ok((plan.filter_sort_page(records), QueryPlan::Scan))
    }
}

impl Plan<'_> {
    fn matches(&self, record: &Record) -> bool {
        self.filter.as_ref().is_none_or(|filter| filter.matches(record)) && self.policy.sees_record(record)
    }

    /// Filters, sorts in memory and cuts the page after the cursor.
    fn filter_sort_page(&self, records: Vec<Record>) -> Vec<Record> {
        let resolve = |field: &str| field_type(self.compiled, field);
        let mut keyed: Vec<(Vec<Vec<u8>>, Record)> = records
            .into_iter()
            .filter(|record| self.matches(record))
            .map(|record| (self.sort.key_of(&record, &resolve), record))
            .collect();
        keyed.sort_by(|a, b| self.sort.compare((&a.0, a.1.id.as_bytes()), (&b.0, b.1.id.as_bytes())));
        let start = match &self.cursor {
            Some(cursor) => keyed.partition_point(|(key, record)| {
                self.sort.compare((key, record.id.as_bytes()), (&cursor.sort_key, &cursor.id)).is_le()
            }),
            None => 0,
        };
        keyed.into_iter().skip(start).take(self.limit + 1).map(|(_, record)| record).collect()
    }
}

/// Refuses a filter or sort that names a field hidden from the caller.
pub(crate) fn check_query_readable(policy: &Policy<'_>, filter: Option<&Filter>, sort: &Sort) -> Result<()> {
    let filtered = filter.into_iter().flat_map(|f| f.fields()).map(|field| (field, "/filter".to_owned()));
    let sorted = sort.keys.iter().map(|key| (key.field.as_str(), "/sort".to_owned()));
    policy.check_readable(filtered.chain(sorted))
}

/// The caller's filter narrowed by its policy's scope (see [`Policy::scope_filter`]).
pub(crate) fn scoped(
    filter: Option<Filter>,
    policy: &Policy<'_>,
    resolve: &dyn Fn(&str) -> Option<FieldType>,
) -> Option<Filter> {
    match (filter, policy.scope_filter(resolve)) {
        (Some(filter), Some(scope)) => Some(filter.and(scope)),
        (filter, scope) => filter.or(scope),
    }
}

/// Whether an index scan is a handful of single values (`=` or a short `in` list).
fn is_few_points(scan: &IndexScan) -> bool {
    scan.ranges.len() <= 8
        && scan.ranges.iter().all(|range| matches!(range, (Bound::Included(low), Bound::Included(high)) if low == high))
}

/// The type of a field a filter or sort may name: a system field or a field of the form.
pub(crate) fn field_type(compiled: &CompiledForm, field: &str) -> Option<FieldType> {
    SYSTEM_FIELDS.iter().find(|(name, _)| *name == field).map(|(_, ty)| *ty).or_else(|| compiled.field_type(field))
}

fn bad_query(message: String) -> EngineError {
    EngineError::InvalidQuery(QueryError { message, field: None, position: None })
}

/// The smallest byte string greater than every string that starts with `prefix`.
fn past_every_extension(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // All 0xFF (no encoded key is: each starts with a type tag): nothing sorts after every
    // extension, so a longer run of 0xFF stands in.
    vec![u8::MAX; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{json, Value};

    use super::*;
    use crate::{Actor, EngineConfig};

    const N: usize = 5_000;

    /// More records than `SELECTIVE`, so every plan is taken; each query's pages must equal
    /// the brute-force answer, in id order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_plan_answers_like_brute_force() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &SpaceName::from_static("s"), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": {
            "tier": { "type": "string" }, "health": { "type": "integer" } } }, "indexes": ["tier", "health"] });
        engine
            .put_form(&actor, &SpaceName::from_static("s"), &FormName::from_static("f"), &form, false)
            .await
            .expect("form");
        let writers = (0..16).map(|w| {
            let (engine, actor) = (engine.clone(), actor.clone());
            tokio::spawn(async move {
                for i in (w..N).step_by(16) {
                    let data = json!({ "tier": if i % 10 == 0 { "b" } else { "a" }, "health": i % 100 });
                    engine
                        .create_record(
                            &actor,
                            &crate::Access::unrestricted(),
                            &SpaceName::from_static("s"),
                            &FormName::from_static("f"),
                            data,
                        )
                        .await
                        .expect("create");
                }
            })
        });
        for writer in writers {
            writer.await.expect("writer");
        }
        let mut everything = Vec::new();
        let mut cursor = None;
        loop {
            let page = engine
                .list_records(
                    &crate::Access::unrestricted(),
                    &SpaceName::from_static("s"),
                    &FormName::from_static("f"),
                    &ListQuery { limit: Some(MAX_LIMIT), cursor, ..ListQuery::default() },
                )
                .expect("page");
            everything.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(everything.len(), N);

        type Case = (&'static str, fn(&Value) -> bool, &'static str);
        let cases: [Case; 5] = [
            ("tier = \"a\"", |d| d["tier"] == "a", "index:tier"),
            // Every record, but only two values: two id-ordered streams.
            ("tier >= \"a\"", |_| true, "index:tier"),
            ("tier in [\"a\", \"b\"] and health != 3", |d| d["health"] != 3, "index:tier"),
            ("health < 95", |d| d["health"].as_i64().is_some_and(|h| h < 95), "scan"),
            (
                "tier = \"b\" and health >= 50",
                |d| d["tier"] == "b" && d["health"].as_i64().is_some_and(|h| h >= 50),
                "index",
            ),
        ];
        for (filter, keep, plan) in cases {
            let expected: Vec<Uuid> = everything.iter().filter(|r| keep(&r.data)).map(|r| r.id).collect();
            let mut got = Vec::new();
            let mut cursor = None;
            loop {
                let query = ListQuery { filter: Some(filter.into()), limit: Some(700), cursor, ..ListQuery::default() };
                let page = engine
                    .list_records(
                        &crate::Access::unrestricted(),
                        &SpaceName::from_static("s"),
                        &FormName::from_static("f"),
                        &query,
                    )
                    .expect(filter);
                assert!(page.plan.to_string().starts_with(plan), "{filter}: plan {}", page.plan);
                got.extend(page.items.iter().map(|r| r.id));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(got.len(), got.iter().collect::<BTreeSet<_>>().len(), "{filter}: no duplicates");
            assert_eq!(got, expected, "{filter}");
        }
        engine.close().expect("close");
    }
}
