//! The aggregate columns: per form, the values of the fields aggregates read, held in memory
//! and kept in step with every committed write, so that an aggregate that would scan the form
//! reads them instead of loading and decoding every record.
//!
//! - Built on first use, from one scan of the form, for the fields the query names (filter,
//!   groups, metrics); a later query that names more fields rebuilds them with the union (up
//!   to [`MAX_FIELDS`]). A definition change of the form drops them.
//! - Exact: the store tells [`ColumnStore`] (a `store::WriteObserver`) every record write of
//!   every commit once it is durable and before its writer is answered. The change joins the
//!   form's queue; a query applies the queue before it reads (and the committer applies it when
//!   no query is reading). So an aggregate started after a write was acknowledged sees it.
//! - A build registers the form first, then scans: writes committed during the scan queue up
//!   and are applied after it, a record's value replaced only by the same or a newer version, a
//!   deletion removing it; that converges on the stored state whatever the scan saw.
//! - A failed flush makes the store reopen and forget writes it had applied: every column is
//!   dropped then, and a build that was under way is thrown away.
//! - Each column is dictionary-encoded: a row holds a code, the dictionary the distinct values;
//!   missing and null are code 0 (filters and metrics treat them alike). Rows are kept in
//!   record id order, the order a scan reads them in, so sums add up in the same order and
//!   ties keep the same first value: the answers are those of the scan, to the bit.
//! - Memory: about 40 bytes a row plus 4 a row per field plus the dictionaries; columns that
//!   would pass [`MAX_BYTES`] are not kept (the query scans). The total is the gauge
//!   `tend_aggregate_columns_bytes` and [`crate::Engine::aggregate_columns_bytes`].

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use forms::{FormName, SpaceName};
use serde_json::Value;
use uuid::Uuid;

use super::{deadline_passed, too_many_groups, Acc, Aggregate, Evaluated, Groups, CHECK_EVERY, MAX_GROUPS};
use crate::error::{EngineError, Result};
use crate::model::Record;
use crate::query::FieldLookup;
use crate::store::{AppliedWrite, Items, StoreError, WriteObserver};

/// Most fields one form's columns hold.
pub const MAX_FIELDS: usize = 16;
/// Most memory (estimated) one form's columns may take; past it, aggregates scan.
pub const MAX_BYTES: usize = 512 << 20;
/// Most changes waiting for one form's columns; past it they are dropped (and rebuilt on use).
const MAX_PENDING: usize = 250_000;
/// The committer applies queued changes itself once this many wait (if no query is reading).
const APPLY_AFTER: usize = 512;
/// Estimated bytes a row takes besides its codes: its id in the ordered map, its slot, its version.
const ROW_BYTES: usize = 48;

/// Every form's columns; the store's observer of committed writes.
#[derive(Default)]
pub struct ColumnStore {
    /// space → form → columns.
    forms: Mutex<HashMap<SpaceName, HashMap<FormName, Arc<Projection>>>>,
    /// Bumped when the store forgets applied writes: a build begun before is thrown away.
    generation: AtomicU64,
    /// One build at a time.
    building: Mutex<()>,
}

/// One form's columns and the changes waiting for them.
pub struct Projection {
    fields: Vec<String>,
    generation: u64,
    columns: RwLock<Columns>,
    pending: Mutex<Vec<Change>>,
    bytes: AtomicUsize,
}

/// A committed record write, reduced to the projected fields.
struct Change {
    id: Uuid,
    /// The record's version and its fields' values; `None`: deleted.
    row: Option<(u64, Vec<Option<Value>>)>,
}

/// The rows of a form, a column per projected field.
pub struct Columns {
    /// Filled by a build: until then changes wait in the queue.
    built: bool,
    fields: Vec<String>,
    /// Record id → row slot, in id order.
    order: BTreeMap<Uuid, u32>,
    versions: Vec<u64>,
    columns: Vec<Column>,
    free: Vec<u32>,
    /// Estimated size of the dictionaries.
    dict_bytes: usize,
}

/// One field: a code per row slot, and the values the codes stand for.
struct Column {
    codes: Vec<u32>,
    /// `dict[0]` is unused: code 0 is missing or null.
    dict: Vec<Value>,
    lookup: HashMap<DictKey, u32>,
}

/// A value's identity in a dictionary: its exact JSON, so 1 and 1.0 stay apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DictKey {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(u64),
    Text(Box<str>),
    Json(Box<str>),
}

impl DictKey {
    fn of(value: &Value) -> Self {
        match value {
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Self::Unsigned(u),
                (None, Some(i)) => Self::Signed(i),
                (None, None) => Self::Float(n.as_f64().unwrap_or(f64::NAN).to_bits()),
            },
            Value::String(s) => Self::Text(s.as_str().into()),
            other => Self::Json(other.to_string().into()),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Text(s) | Self::Json(s) => s.len(),
            _ => 0,
        }
    }
}

impl Column {
    fn new() -> Self {
        Self { codes: Vec::new(), dict: vec![Value::Null], lookup: HashMap::new() }
    }

    /// The code of `value`, added to the dictionary if new; returns the bytes it added.
    fn code(&mut self, value: Option<Value>) -> (u32, usize) {
        let Some(value) = value.filter(|v| !v.is_null()) else { return (0, 0) };
        let key = DictKey::of(&value);
        if let Some(&code) = self.lookup.get(&key) {
            return (code, 0);
        }
        let code = u32::try_from(self.dict.len()).unwrap_or(u32::MAX);
        let added = 2 * key.heap_bytes()
            + std::mem::size_of::<Value>()
            + std::mem::size_of::<DictKey>()
            + std::mem::size_of::<u32>()
            + 16;
        self.lookup.insert(key, code);
        self.dict.push(value);
        (code, added)
    }

    /// The value a code stands for (`None`: missing or null).
    pub(super) fn value(&self, code: u32) -> Option<&Value> {
        (code != 0).then(|| &self.dict[code as usize])
    }
}

impl Columns {
    fn new(fields: &[String]) -> Self {
        Self {
            built: false,
            fields: fields.to_vec(),
            order: BTreeMap::new(),
            versions: Vec::new(),
            columns: fields.iter().map(|_| Column::new()).collect(),
            free: Vec::new(),
            dict_bytes: 0,
        }
    }

    /// Estimated memory.
    pub fn bytes(&self) -> usize {
        self.versions.len() * (ROW_BYTES + 4 * self.columns.len()) + self.dict_bytes
    }

    /// Applies one committed write: a newer (or the same) version replaces the row, a deletion
    /// removes it.
    fn apply(&mut self, change: Change) {
        match change.row {
            None => {
                if let Some(slot) = self.order.remove(&change.id) {
                    for column in &mut self.columns {
                        column.codes[slot as usize] = 0;
                    }
                    self.free.push(slot);
                }
            }
            Some((version, values)) => {
                let slot = match self.order.get(&change.id) {
                    Some(&slot) if self.versions[slot as usize] > version => return,
                    Some(&slot) => slot,
                    None => {
                        let slot = match self.free.pop() {
                            Some(slot) => slot,
                            None => {
                                self.versions.push(0);
                                for column in &mut self.columns {
                                    column.codes.push(0);
                                }
                                u32::try_from(self.versions.len() - 1).unwrap_or(u32::MAX)
                            }
                        };
                        self.order.insert(change.id, slot);
                        slot
                    }
                };
                self.versions[slot as usize] = version;
                for (column, value) in self.columns.iter_mut().zip(values) {
                    let (code, added) = column.code(value);
                    column.codes[slot as usize] = code;
                    self.dict_bytes += added;
                }
            }
        }
    }

    /// Whether the dictionaries hold many values no row uses any more (after many updates):
    /// then the columns are better built again.
    fn worn(&self) -> bool {
        self.columns.iter().any(|column| column.dict.len() > 2 * self.order.len() + 4096)
    }

    /// The position of a projected field.
    pub(super) fn field_index(&self, field: &str) -> Result<usize> {
        self.fields
            .iter()
            .position(|f| f == field)
            .ok_or_else(|| EngineError::Internal(format!("the aggregate columns lack the field `{field}`")))
    }

    /// The row slots, in record id order, with their ids.
    pub(super) fn rows(&self) -> impl Iterator<Item = (&Uuid, usize)> + '_ {
        self.order.iter().map(|(id, slot)| (id, *slot as usize))
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// One row, as a filter reads it.
struct Row<'c> {
    columns: &'c Columns,
    slot: usize,
}

impl FieldLookup for Row<'_> {
    fn lookup(&self, field: &str) -> Option<Cow<'_, Value>> {
        let index = self.columns.fields.iter().position(|f| f == field)?;
        let column = &self.columns.columns[index];
        column.value(column.codes[self.slot]).map(Cow::Borrowed)
    }
}

/// One field's value, as a filter on that field alone reads it.
struct OneValue<'v> {
    field: &'v str,
    value: Option<&'v Value>,
}

impl FieldLookup for OneValue<'_> {
    fn lookup(&self, field: &str) -> Option<Cow<'_, Value>> {
        (field == self.field).then_some(self.value?).map(Cow::Borrowed)
    }
}

/// A record's values of the projected fields (missing and null alike).
fn values_of(record: &Record, fields: &[String]) -> Vec<Option<Value>> {
    fields.iter().map(|field| record.lookup(field).filter(|v| !v.is_null()).map(Cow::into_owned)).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Projection {
    /// The columns with every change committed so far applied.
    pub fn read(&self) -> RwLockReadGuard<'_, Columns> {
        if !lock(&self.pending).is_empty() {
            // The queue is taken under the write lock: a reader that finds it empty while
            // another applies it waits for that one to finish.
            let mut columns = write(&self.columns);
            self.apply_pending(&mut columns);
        }
        read(&self.columns)
    }

    fn apply_pending(&self, columns: &mut Columns) {
        if !columns.built {
            return;
        }
        let changes = std::mem::take(&mut *lock(&self.pending));
        for change in changes {
            columns.apply(change);
        }
        self.bytes.store(columns.bytes(), Ordering::Relaxed);
    }

    /// The fields it holds.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

impl ColumnStore {
    /// The columns of `space`/`form` holding at least `fields`, with every committed write
    /// applied, built with `scan` (a scan of the form's records reading those fields) when
    /// missing. `None` when they can't be kept (too many fields, too much memory, or the
    /// store forgot writes during the build): the caller scans.
    pub fn columns<'s>(
        &self,
        space: &SpaceName,
        form: &FormName,
        fields: &[String],
        scan: impl FnOnce(&[String]) -> Items<'s, Record>,
    ) -> Result<Option<Arc<Projection>>> {
        if let Some(projection) = self.covering(space, form, fields) {
            return Ok(Some(projection));
        }
        let _building = lock(&self.building);
        // Built by another query while this one waited?
        let mut wanted: Vec<String> = fields.to_vec();
        if let Some(existing) = self.get(space, form) {
            if fields.iter().all(|f| existing.fields.contains(f)) {
                return Ok(Some(existing));
            }
            wanted.extend(existing.fields.iter().cloned());
        }
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.len() > MAX_FIELDS {
            wanted = fields.to_vec();
            wanted.sort_unstable();
            wanted.dedup();
            if wanted.len() > MAX_FIELDS {
                return Ok(None);
            }
        }
        let projection = Arc::new(Projection {
            fields: wanted.clone(),
            generation: self.generation.load(Ordering::SeqCst),
            columns: RwLock::new(Columns::new(&wanted)),
            pending: Mutex::new(Vec::new()),
            bytes: AtomicUsize::new(0),
        });
        // Registered before the scan: every write committed from here on is queued for it.
        lock(&self.forms).entry(space.clone()).or_default().insert(form.clone(), Arc::clone(&projection));
        let started = Instant::now();
        let built = Self::build(&wanted, scan(&wanted));
        let mut columns = write(&projection.columns);
        let kept = match built {
            Ok(Some(built)) => {
                *columns = built;
                projection.apply_pending(&mut columns);
                self.generation.load(Ordering::SeqCst) == projection.generation && self.holds(space, form, &projection)
            }
            Ok(None) => false,
            Err(err) => {
                drop(columns);
                self.remove(space, form, &projection);
                return Err(EngineError::from(err));
            }
        };
        drop(columns);
        if !kept {
            self.remove(space, form, &projection);
            return Ok(None);
        }
        tracing::debug!(%space, %form, fields = ?wanted, rows = read(&projection.columns).len(),
            bytes = projection.bytes.load(Ordering::Relaxed), took = ?started.elapsed(), "built aggregate columns");
        self.report();
        Ok(Some(projection))
    }

    /// Reads every record into new columns; `None` past [`MAX_BYTES`].
    fn build(fields: &[String], records: Items<'_, Record>) -> Result<Option<Columns>, StoreError> {
        let mut columns = Columns::new(fields);
        for (n, record) in records.enumerate() {
            let record = record?;
            let row = Some((record.version, values_of(&record, fields)));
            columns.apply(Change { id: record.id, row });
            if n % 4096 == 4095 && columns.bytes() > MAX_BYTES {
                return Ok(None);
            }
        }
        columns.built = true;
        Ok((columns.bytes() <= MAX_BYTES).then_some(columns))
    }

    fn get(&self, space: &SpaceName, form: &FormName) -> Option<Arc<Projection>> {
        lock(&self.forms).get(space).and_then(|forms| forms.get(form)).cloned()
    }

    /// Built columns of the form holding `fields`.
    fn covering(&self, space: &SpaceName, form: &FormName, fields: &[String]) -> Option<Arc<Projection>> {
        let projection = self.get(space, form)?;
        let covers = fields.iter().all(|f| projection.fields.contains(f));
        (covers && read(&projection.columns).built).then_some(projection)
    }

    fn holds(&self, space: &SpaceName, form: &FormName, projection: &Arc<Projection>) -> bool {
        self.get(space, form).is_some_and(|current| Arc::ptr_eq(&current, projection))
    }

    fn remove(&self, space: &SpaceName, form: &FormName, projection: &Arc<Projection>) {
        let mut forms = lock(&self.forms);
        if let Some(of_space) = forms.get_mut(space) {
            if of_space.get(form).is_some_and(|current| Arc::ptr_eq(current, projection)) {
                of_space.remove(form);
            }
        }
        drop(forms);
        self.report();
    }

    /// Drops a form's columns (its definition changed).
    pub fn forget(&self, space: &SpaceName, form: &FormName) {
        if let Some(of_space) = lock(&self.forms).get_mut(space) {
            of_space.remove(form);
        }
        self.report();
    }

    /// Estimated memory of every form's columns.
    pub fn bytes(&self) -> usize {
        lock(&self.forms).values().flat_map(HashMap::values).map(|p| p.bytes.load(Ordering::Relaxed)).sum()
    }

    fn report(&self) {
        metrics::gauge!("tend_aggregate_columns_bytes").set(self.bytes() as f64);
    }
}

impl WriteObserver for ColumnStore {
    fn applied(&self, writes: Vec<AppliedWrite>) {
        let mut forms = lock(&self.forms);
        if forms.is_empty() {
            return;
        }
        let mut queued: Vec<(Arc<Projection>, Vec<Change>)> = Vec::new();
        for write in writes {
            let Some(projection) = forms.get(write.space.as_str()).and_then(|forms| forms.get(write.form.as_str()))
            else {
                continue;
            };
            let row = write.record.as_ref().map(|record| (record.version, values_of(record, &projection.fields)));
            let change = Change { id: write.id, row };
            match queued.iter_mut().find(|(p, _)| Arc::ptr_eq(p, projection)) {
                Some((_, changes)) => changes.push(change),
                None => queued.push((Arc::clone(projection), vec![change])),
            }
        }
        let mut dropped = false;
        for (projection, changes) in queued {
            let mut pending = lock(&projection.pending);
            pending.extend(changes);
            let waiting = pending.len();
            drop(pending);
            if waiting > MAX_PENDING {
                // Nobody reads them: cheaper to build them again when someone does.
                for of_space in forms.values_mut() {
                    of_space.retain(|_, p| !Arc::ptr_eq(p, &projection));
                }
                dropped = true;
            } else if waiting >= APPLY_AFTER {
                if let Ok(mut columns) = projection.columns.try_write() {
                    projection.apply_pending(&mut columns);
                    if columns.worn() {
                        for of_space in forms.values_mut() {
                            of_space.retain(|_, p| !Arc::ptr_eq(p, &projection));
                        }
                        dropped = true;
                    }
                }
            }
        }
        drop(forms);
        if dropped {
            self.report();
        }
    }

    fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.forms).clear();
        self.report();
    }
}

/// A grouping's keys by code: each code's key is computed once.
struct GroupCodes {
    column: usize,
    /// Per code: the key's index (`u32::MAX`: not computed yet) and its value.
    ids: Vec<u32>,
    values: Vec<Value>,
    /// Per key index: its sort bytes.
    bytes: Vec<Vec<u8>>,
    by_bytes: HashMap<Vec<u8>, u32>,
}

/// A group being folded: its sort key, its key, its metrics' accumulators.
type GroupState = (Vec<Vec<u8>>, Vec<Value>, Vec<Acc>);

/// A filter's verdict per row: on one field it is computed once per code.
enum RowFilter<'a> {
    All,
    ByCode { column: usize, field: &'a str, verdicts: Vec<u8> },
    PerRow,
}

impl Aggregate {
    /// Folds the rows of `columns` into groups (the same answers as [`Aggregate::run`] over
    /// the records in id order); stops at the group cap or the deadline.
    pub(super) fn run_columns(&self, columns: &Columns, deadline: Instant) -> Result<Evaluated> {
        let mut filter = match &self.filter {
            None => RowFilter::All,
            Some(filter) => match filter.fields().as_slice() {
                [field] => RowFilter::ByCode {
                    column: columns.field_index(field)?,
                    field,
                    verdicts: vec![0; columns.columns[columns.field_index(field)?].dict.len()],
                },
                _ => RowFilter::PerRow,
            },
        };
        if let (Some(filter), RowFilter::PerRow) = (&self.filter, &filter) {
            for field in filter.fields() {
                columns.field_index(field)?;
            }
        }
        let mut groupings = Vec::with_capacity(self.group_by.len());
        for grouping in &self.group_by {
            let column = columns.field_index(&grouping.field)?;
            let size = columns.columns[column].dict.len();
            groupings.push(GroupCodes {
                column,
                ids: vec![u32::MAX; size],
                values: vec![Value::Null; size],
                bytes: Vec::new(),
                by_bytes: HashMap::new(),
            });
        }
        let metric_columns: Vec<Option<usize>> = self
            .metrics
            .iter()
            .map(|m| m.field.as_deref().map(|f| columns.field_index(f)).transpose())
            .collect::<Result<_>>()?;
        let mut total: Vec<Acc> = self.metrics.iter().map(Acc::new).collect();
        // With one grouping, a key's index is its group's; with more, their packed indexes are.
        let mut single: Vec<u32> = Vec::new();
        let mut packed: HashMap<u64, u32> = HashMap::new();
        let mut groups: Vec<GroupState> = Vec::new();
        let filter_of = self.filter.as_ref();
        for (n, (_, slot)) in columns.rows().enumerate() {
            if n % CHECK_EVERY == CHECK_EVERY - 1 && Instant::now() > deadline {
                return Err(deadline_passed());
            }
            let keep = match &mut filter {
                RowFilter::All => true,
                RowFilter::ByCode { column, field, verdicts } => {
                    let column = &columns.columns[*column];
                    let code = column.codes[slot] as usize;
                    if verdicts[code] == 0 {
                        let one = OneValue { field, value: column.value(code as u32) };
                        verdicts[code] = if filter_of.is_some_and(|f| f.matches(&one)) { 2 } else { 1 };
                    }
                    verdicts[code] == 2
                }
                RowFilter::PerRow => filter_of.is_none_or(|f| f.matches(&Row { columns, slot })),
            };
            if !keep {
                continue;
            }
            let value = |i: usize| {
                metric_columns[i].and_then(|c| {
                    let column = &columns.columns[c];
                    column.value(column.codes[slot])
                })
            };
            for (i, acc) in total.iter_mut().enumerate() {
                acc.add(value(i));
            }
            if self.group_by.is_empty() {
                continue;
            }
            let mut key: u64 = 0;
            for (g, (grouping, codes)) in self.group_by.iter().zip(&mut groupings).enumerate() {
                let column = &columns.columns[codes.column];
                let code = column.codes[slot] as usize;
                if codes.ids[code] == u32::MAX {
                    let (bytes, value) = grouping.key_of(column.value(code as u32));
                    let next = u32::try_from(codes.bytes.len()).unwrap_or(u32::MAX);
                    let id = *codes.by_bytes.entry(bytes.clone()).or_insert(next);
                    if id == next {
                        codes.bytes.push(bytes);
                    }
                    codes.ids[code] = id;
                    codes.values[code] = value;
                }
                let id = codes.ids[code];
                if id as usize > MAX_GROUPS {
                    return Err(too_many_groups());
                }
                key |= u64::from(id) << (16 * g);
            }
            let index = if groupings.len() == 1 {
                let id = key as usize;
                if single.len() <= id {
                    single.resize(id + 1, u32::MAX);
                }
                &mut single[id]
            } else {
                packed.entry(key).or_insert(u32::MAX)
            };
            if *index == u32::MAX {
                if groups.len() >= MAX_GROUPS {
                    return Err(too_many_groups());
                }
                // The key of the group's first row, as a scan would take it.
                let (sort_key, key_values) = groupings
                    .iter()
                    .map(|codes| {
                        let code = columns.columns[codes.column].codes[slot] as usize;
                        (codes.bytes[codes.ids[code] as usize].clone(), codes.values[code].clone())
                    })
                    .unzip();
                *index = u32::try_from(groups.len()).unwrap_or(u32::MAX);
                groups.push((sort_key, key_values, self.metrics.iter().map(Acc::new).collect()));
            }
            let accs = &mut groups[*index as usize].2;
            for (i, acc) in accs.iter_mut().enumerate() {
                acc.add(value(i));
            }
        }
        let groups: Groups = groups.into_iter().map(|(sort_key, key, accs)| (sort_key, (key, accs))).collect();
        Ok(Evaluated { groups, total })
    }
}

#[cfg(test)]
mod tests;
