//! Imports: many rows of record data stored in batches through the normal write path.
//!
//! An [`Importer`] takes rows (record data, already read from a file and coerced by the caller)
//! one at a time and stores them a chunk at a time: each row is prepared exactly like a create
//! or a patch (computed fields, schema, rules, pipeline, references, index entries, event,
//! timers), and a chunk's writes go to the store as ONE commit, so one flush serves many rows.
//!
//! - **Upsert**: with a key field (which must be indexed), a row whose key matches a stored
//!   record updates it (the row's fields are merged into it, as a merge patch would), else it
//!   creates one. A row that changes nothing stores nothing, so re-running an import is
//!   idempotent.
//! - **References** (`x-ref`) are given by id or by a natural key of the referenced form: its
//!   `name` field (or the first of its `ui.list_columns`), or the field the caller names. A key
//!   that matches no record, or more than one, is an error of that row.
//! - **Workflows off**: events are marked [`Event::skip_workflows`]; they stay in the log, and
//!   the processor moves past them without running anything.
//! - **Modes**: [`ImportMode::All`] keeps nothing unless every row is valid;
//!   [`ImportMode::Resumable`] stores each chunk's valid rows as it goes, and the report's
//!   `stored_through` says the last row stored, for a re-run with `start_row`.
//! - **Dry run**: every check, nothing stored.
//!
//! Chunks are pipelined: a chunk's commit runs while the next chunk is prepared (one commit in
//! flight; the schema lock is held shared from a chunk's preparation to its commit).
//!
//! **All-or-nothing with flat memory.** An all-or-nothing import stores its chunks as it
//! goes too, each with a journal entry (`Extras::import_journal`, in the chunk's atomic
//! commit) that says how to undo it: the ids it created and the records it replaced, as they
//! were. When a row fails, nothing more is stored (the rest is only checked, for the report)
//! and the stored chunks are undone; when storing fails, likewise; when every row is stored,
//! one commit removes the journal, and that is the import's commit point. A crash leaves the
//! journal, and [`Engine::roll_back_imports`] (run at start-up) undoes it. Undoing deletes
//! what was created and puts back what was replaced (unless someone changed it since), with
//! events like any write. So after a failure no row of the import stays, but until the import
//! ends its stored rows are visible and, with workflows on, trigger them. Callers that can
//! read their input twice check it whole first (a dry run), so a file with invalid rows
//! stores nothing at all (`web::import` does).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use forms::{FieldError, FieldType, FormName, SpaceName, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::model::{Access, Actor, EventKind, Record};
use crate::policy::Policy;
use crate::query::encoding::encode_value;
use crate::records::{create_write, delete_write, update_write};
use crate::store::{Extras, RecordWrite, Store as _, StoreError};
use crate::{Engine, LoadedForm};

/// Rows per commit unless the caller says otherwise.
pub const DEFAULT_CHUNK_ROWS: usize = 1000;

/// The most row errors a report lists; past it, only the count goes on.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// What to do when some rows are invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Nothing is kept unless every row is valid: chunks stored meanwhile are undone.
    #[default]
    All,
    /// Valid rows are stored chunk by chunk; invalid rows are reported and skipped.
    Resumable,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Upsert by this field (it must be indexed).
    pub key: Option<String>,
    /// Whether the rows' events trigger workflows.
    pub workflows: bool,
    /// Check everything, store nothing.
    pub dry_run: bool,
    /// All-or-nothing or resumable.
    pub mode: ImportMode,
    /// Rows numbered below this are skipped (a resumed import).
    pub start_row: u64,
    /// Rows per commit.
    pub chunk_rows: usize,
    /// For `x-ref` fields: which field of the referenced form a natural key is matched against,
    /// by (top-level) field of the imported form.
    pub ref_keys: BTreeMap<String, String>,
    /// The file's column of each field, to name it in the report.
    pub columns: HashMap<String, String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            key: None,
            workflows: true,
            dry_run: false,
            mode: ImportMode::All,
            start_row: 0,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            ref_keys: BTreeMap::new(),
            columns: HashMap::new(),
        }
    }
}

/// One row to import: its number in the file, and its data or why it could not be read.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// The row's number in the file (the header being row 1).
    pub number: u64,
    /// The record data, or the cells that could not be read.
    pub data: std::result::Result<Map<String, Value>, Vec<RowError>>,
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row's number in the file.
    pub row: u64,
    /// The file's column, when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The field (a JSON pointer into the record data), when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What an import did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Nothing was stored because this was a dry run.
    pub dry_run: bool,
    /// The mode.
    pub mode: ImportMode,
    /// Rows read (from `start_row` on).
    pub rows: u64,
    /// Records created.
    pub created: u64,
    /// Records updated (upserts).
    pub updated: u64,
    /// Rows that matched a record and changed nothing.
    pub unchanged: u64,
    /// Rows refused.
    pub failed: u64,
    /// Whether anything was stored (false for a dry run, and for an all-or-nothing import
    /// with a failed row).
    pub stored: bool,
    /// The last row of the last chunk stored: a re-run with `start_row` one past it continues.
    pub stored_through: Option<u64>,
    /// Every row error (up to [`MAX_REPORTED_ERRORS`]).
    pub errors: Vec<RowError>,
    /// Whether errors were left out of the list.
    pub errors_truncated: bool,
}

/// An import under way: push rows, then finish. Rows are stored a chunk at a time.
pub struct Importer {
    engine: Engine,
    actor: Actor,
    space: SpaceName,
    form: FormName,
    form_version: u32,
    options: ImportOptions,
    /// Rows waiting for the next chunk.
    pending: Vec<ImportRow>,
    /// All-or-nothing: the journal's import id, and the chunks stored so far.
    journal: Option<(Uuid, u32)>,
    /// The commit in flight: its task, and the last row it stores.
    in_flight: Option<(InFlight, Option<u64>)>,
    /// Upsert keys seen so far, with their row (a key twice in one file is an error).
    keys_seen: HashMap<String, u64>,
    references: HashMap<FormName, NaturalKeys>,
    last_row: Option<u64>,
    report: ImportReport,
}

/// A chunk's commit, running.
type InFlight = tokio::task::JoinHandle<std::result::Result<(), StoreError>>;

/// How the natural keys of one referenced form are looked up.
enum NaturalKeys {
    /// Through the key field's index, one value at a time (remembered).
    Indexed { field: String, ty: FieldType, found: HashMap<String, Vec<Uuid>> },
    /// The key field is not indexed: every record read once.
    Scanned(HashMap<String, Vec<Uuid>>),
    /// The form has no natural key: only ids are accepted.
    None,
}

impl Engine {
    /// Starts an import into `form`. Refuses (422) an upsert key that is not an indexed field,
    /// and natural-key fields the referenced forms don't have. An import writes and matches
    /// records in bulk, past any record policy, so a caller the form's policy restricts in any
    /// way (`access`) may not import into it (403).
    pub fn importer(
        &self,
        actor: &Actor,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        options: ImportOptions,
    ) -> Result<Importer> {
        let loaded = self.loaded_form(space, form)?;
        if !Policy::new(loaded.compiled.def(), access).is_unrestricted() {
            return Err(EngineError::Forbidden {
                message: format!("your role's access to `{form}` is restricted, so it may not import into it"),
                errors: Vec::new(),
            });
        }
        let mut errors = Vec::new();
        if let Some(key) = &options.key {
            if loaded.compiled.field_type(key).is_none() {
                errors.push(FieldError::new("/key", format!("the form has no field `{key}`")));
            } else if !loaded.compiled.indexes().contains(key) {
                errors.push(FieldError::new(
                    "/key",
                    format!("`{key}` is not indexed: an upsert key must be an indexed field"),
                ));
            }
        }
        for field in options.ref_keys.keys() {
            if !loaded.compiled.coercer(field).is_some_and(|c| c.is_reference()) {
                errors.push(FieldError::new(format!("/ref_keys/{field}"), "not a reference (`x-ref`) field"));
            }
        }
        if !errors.is_empty() {
            return Err(ValidationErrors(errors).into());
        }
        let chunk_rows = options.chunk_rows.max(1);
        let report = ImportReport { dry_run: options.dry_run, mode: options.mode, ..ImportReport::default() };
        Ok(Importer {
            engine: self.clone(),
            actor: actor.clone(),
            space: loaded.space.clone(),
            form: loaded.stored.name.clone(),
            form_version: loaded.stored.version,
            options: ImportOptions { chunk_rows, ..options },
            pending: Vec::new(),
            journal: (options.mode == ImportMode::All && !options.dry_run).then(|| (Uuid::now_v7(), 0)),
            in_flight: None,
            keys_seen: HashMap::new(),
            references: HashMap::new(),
            last_row: None,
            report,
        })
    }
}

impl Importer {
    /// Adds a row; true when a chunk is full and [`flush`](Self::flush) should be called.
    pub fn push(&mut self, row: ImportRow) -> bool {
        if row.number < self.options.start_row {
            return false;
        }
        self.report.rows += 1;
        self.pending.push(row);
        self.pending.len() >= self.options.chunk_rows
    }

    /// The report so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// Prepares the waiting rows and stores the valid ones (all-or-nothing: as long as no row
    /// failed). After an error, an all-or-nothing import has undone what it stored.
    pub async fn flush(&mut self) -> Result<()> {
        let flushed = self.flush_pending().await;
        self.undo_on_error(flushed).await
    }

    async fn flush_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        let engine = self.engine.clone();
        let shared = engine.inner.definitions.shared_owned().await;
        let loaded = engine.loaded_form(&self.space, &self.form)?;
        if loaded.stored.version != self.form_version {
            return Err(EngineError::Busy("the form changed during the import; run it again".into()));
        }
        let mut writes = Vec::with_capacity(rows.len());
        let mut undo = Undo {
            space: self.space.clone(),
            form: self.form.clone(),
            workflows: self.options.workflows,
            actor: self.actor.clone(),
            created: Vec::new(),
            replaced: Vec::new(),
        };
        let mut counts = (0, 0, 0);
        let last = rows.last().map(|row| row.number);
        for row in rows {
            match self.prepare(&loaded, row.number, row.data) {
                Ok(Prepared::Create(write)) => {
                    counts.0 += 1;
                    undo.created.push(write.id);
                    writes.push(*write);
                }
                Ok(Prepared::Update(write, before)) => {
                    counts.1 += 1;
                    undo.replaced.push(*before);
                    writes.push(*write);
                }
                Ok(Prepared::Unchanged) => counts.2 += 1,
                Err(errors) => self.fail(errors),
            }
        }
        self.report.created += counts.0;
        self.report.updated += counts.1;
        self.report.unchanged += counts.2;
        self.last_row = last.or(self.last_row);
        if self.options.dry_run || self.report.failed > 0 && self.options.mode == ImportMode::All {
            return Ok(());
        }
        let mut journal = Vec::new();
        if let Some((import, chunks)) = &mut self.journal {
            if writes.is_empty() {
                return Ok(());
            }
            let entry = serde_json::to_vec(&undo).map_err(|err| EngineError::Internal(err.to_string()))?;
            journal.push((*import, *chunks, Some(entry)));
            *chunks += 1;
        }
        self.settle().await?;
        if writes.is_empty() {
            self.report.stored_through = self.last_row;
            return Ok(());
        }
        let task = tokio::spawn(async move {
            // Held until committed: a form change waits for the chunk prepared under it.
            let _shared = shared;
            engine.commit(writes, Extras { import_journal: journal, ..Extras::default() }).await.map(|_| ())
        });
        self.in_flight = Some((task, self.last_row));
        Ok(())
    }

    /// Waits for the commit in flight.
    async fn settle(&mut self) -> Result<()> {
        let Some((task, through)) = self.in_flight.take() else { return Ok(()) };
        match task.await {
            Ok(Ok(())) => {
                self.report.stored = true;
                self.report.stored_through = through;
                crate::fault::reached("import-chunk-stored");
                Ok(())
            }
            Ok(Err(StoreError::VersionConflict { .. })) => {
                Err(EngineError::Busy("a record the import updates changed meanwhile; run it again".into()))
            }
            Ok(Err(err)) => Err(err.into()),
            Err(err) => Err(EngineError::Internal(format!("an import's commit was cancelled: {err}"))),
        }
    }

    /// Stores what is left and answers the report. All-or-nothing: if no row failed, removes
    /// the journal (the import's commit point); else undoes what was stored.
    pub async fn finish(mut self) -> Result<ImportReport> {
        let finished = self.finish_storing().await;
        self.undo_on_error(finished).await?;
        Ok(self.report)
    }

    async fn finish_storing(&mut self) -> Result<()> {
        self.flush_pending().await?;
        self.settle().await?;
        let Some((import, chunks)) = self.journal else { return Ok(()) };
        if self.report.failed > 0 {
            self.engine.undo_import(import).await?;
            self.journal = None;
            self.report.created = 0;
            self.report.updated = 0;
            self.report.unchanged = 0;
            self.report.stored = false;
            self.report.stored_through = None;
            return Ok(());
        }
        if chunks > 0 {
            let done = (0..chunks).map(|chunk| (import, chunk, None)).collect();
            self.engine.commit(Vec::new(), Extras { import_journal: done, ..Extras::default() }).await?;
            self.report.stored = true;
        }
        self.journal = None;
        self.report.stored_through = self.last_row;
        Ok(())
    }

    /// After an error, an all-or-nothing import undoes what it stored (if that fails too, the
    /// journal stays for the next start-up).
    async fn undo_on_error(&mut self, outcome: Result<()>) -> Result<()> {
        let Err(err) = outcome else { return Ok(()) };
        if let Some((task, _)) = self.in_flight.take() {
            let _ = task.await;
        }
        if let Some((import, _)) = self.journal.take() {
            if let Err(undo) = self.engine.undo_import(import).await {
                tracing::error!(error = %undo, %import, "undoing a failed all-or-nothing import; it is undone at the next start");
            }
            self.report.stored = false;
            self.report.stored_through = None;
        }
        Err(err)
    }

    fn fail(&mut self, errors: Vec<RowError>) {
        self.report.failed += 1;
        for error in errors {
            if self.report.errors.len() < MAX_REPORTED_ERRORS {
                self.report.errors.push(error);
            } else {
                self.report.errors_truncated = true;
            }
        }
    }

    /// One row as a write, or its errors.
    fn prepare(
        &mut self,
        loaded: &Arc<LoadedForm>,
        row: u64,
        data: std::result::Result<Map<String, Value>, Vec<RowError>>,
    ) -> std::result::Result<Prepared, Vec<RowError>> {
        let mut data = data?;
        let mut errors = Vec::new();
        for field in loaded.computed.iter().map(|(field, _)| field) {
            if data.remove(field).is_some() {
                errors.push(self.error(row, &format!("/{field}"), format!("`{field}` is computed and cannot be set")));
            }
        }
        let mut data = Value::Object(data);
        errors.extend(self.resolve_references(loaded, row, &mut data));
        if !errors.is_empty() {
            return Err(errors);
        }
        let existing = match &self.options.key {
            None => None,
            Some(key) => {
                let value = data.get(key).cloned();
                let Some(value) = value.filter(|v| !v.is_null()) else {
                    return Err(vec![self.error(row, &format!("/{key}"), format!("the key `{key}` is empty"))]);
                };
                let text = value.to_string();
                if let Some(first) = self.keys_seen.insert(text, row) {
                    return Err(vec![self.error(row, &format!("/{key}"), format!("the same key is on row {first}"))]);
                }
                let ty = loaded.compiled.field_type(key).unwrap_or(FieldType::Any);
                let encoded = encode_value(Some(&value), ty);
                let range = (Bound::Included(encoded.clone()), Bound::Included(encoded));
                let mut ids = Vec::new();
                for entry in self.engine.store().scan_index(&self.space, &self.form, key, range, None, false).take(2) {
                    ids.push(entry.map_err(|err| vec![self.error(row, "", err.to_string())])?.1);
                }
                match ids.as_slice() {
                    [] => None,
                    [id] => self
                        .engine
                        .store()
                        .record(&self.space, &self.form, id)
                        .map_err(|err| vec![self.error(row, "", err.to_string())])?,
                    _ => {
                        return Err(vec![self.error(
                            row,
                            &format!("/{key}"),
                            format!("more than one stored record has this `{key}`"),
                        )])
                    }
                }
            }
        };
        let mut prepared = match existing {
            None => {
                let record = self.engine.new_record(&self.space, loaded, data, &self.actor);
                let record = record.map_err(|err| self.engine_errors(row, err))?;
                Prepared::Create(Box::new(create_write(&self.space, loaded, &record)))
            }
            Some(current) => {
                let mut merged = current.data.clone();
                json_patch::merge(&mut merged, &data);
                self.engine
                    .prepare_data(&self.space, loaded, &current.id, &mut merged)
                    .map_err(|err| self.engine_errors(row, err))?;
                if merged == current.data {
                    return Ok(Prepared::Unchanged);
                }
                if let Some(pipeline) = &loaded.compiled.def().pipeline {
                    if merged.get(&pipeline.field) != current.data.get(&pipeline.field) {
                        let message = "the stage changes only through a transition, not an import";
                        return Err(vec![self.error(row, &format!("/{}", pipeline.field), message.into())]);
                    }
                }
                let now = self.engine.now();
                let (_, write) =
                    update_write(&self.space, loaded, &current, merged, EventKind::Updated, &self.actor, now);
                Prepared::Update(Box::new(write), Box::new(current))
            }
        };
        if !self.options.workflows {
            match &mut prepared {
                Prepared::Create(write) | Prepared::Update(write, _) => write.event.skip_workflows = true,
                Prepared::Unchanged => {}
            }
        }
        Ok(prepared)
    }

    /// Replaces natural keys in `x-ref` fields by the ids they name; an error for each key that
    /// names no record or several.
    fn resolve_references(&mut self, loaded: &LoadedForm, row: u64, data: &mut Value) -> Vec<RowError> {
        let mut errors = Vec::new();
        for reference in loaded.compiled.references(data) {
            if Uuid::parse_str(&reference.id).is_ok() {
                // An id: `prepare_data` checks that it exists.
                continue;
            }
            let top = reference.path.trim_start_matches('/').split('/').next().unwrap_or("").to_owned();
            let found = match self.natural_key(&reference.form, &top, &reference.id) {
                Ok(found) => found,
                Err(err) => {
                    errors.push(self.error(row, &reference.path, err.to_string()));
                    continue;
                }
            };
            match found.as_slice() {
                [id] => {
                    if let Some(slot) = data.pointer_mut(&reference.path) {
                        *slot = Value::String(id.to_string());
                    }
                }
                [] => errors.push(self.error(
                    row,
                    &reference.path,
                    format!("no `{}` record has this id or key", reference.form),
                )),
                more => errors.push(self.error(
                    row,
                    &reference.path,
                    format!("{} `{}` records have this key; give the id", more.len(), reference.form),
                )),
            }
        }
        errors
    }

    /// The ids of `form`'s records whose natural key is `key`.
    fn natural_key(&mut self, form: &FormName, field: &str, key: &str) -> Result<Vec<Uuid>> {
        if !self.references.contains_key(form) {
            let keys = self.natural_keys(form, field)?;
            self.references.insert(form.clone(), keys);
        }
        let store = self.engine.store();
        let space = &self.space;
        match self.references.get_mut(form) {
            Some(NaturalKeys::Indexed { field, ty, found }) => {
                if let Some(ids) = found.get(key) {
                    return Ok(ids.clone());
                }
                let encoded = encode_value(Some(&Value::String(key.to_owned())), *ty);
                let range = (Bound::Included(encoded.clone()), Bound::Included(encoded));
                let mut ids = Vec::new();
                for entry in store.scan_index(space, form, field, range, None, false).take(2) {
                    ids.push(entry?.1);
                }
                found.insert(key.to_owned(), ids.clone());
                Ok(ids)
            }
            Some(NaturalKeys::Scanned(map)) => Ok(map.get(key).cloned().unwrap_or_default()),
            Some(NaturalKeys::None) | None => Ok(Vec::new()),
        }
    }

    fn natural_keys(&self, form: &FormName, field: &str) -> Result<NaturalKeys> {
        let target = self.engine.loaded_form(&self.space, form)?;
        let named = self.options.ref_keys.get(field).cloned();
        let list_first = || {
            target
                .compiled
                .def()
                .ui
                .as_ref()
                .and_then(|ui| ui.get("list_columns"))
                .and_then(Value::as_array)
                .and_then(|columns| columns.first())
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let key_field =
            named.or_else(|| target.compiled.field_type("name").map(|_| "name".to_owned())).or_else(list_first);
        let Some(key_field) = key_field else {
            return Ok(NaturalKeys::None);
        };
        let Some(ty) = target.compiled.field_type(&key_field) else {
            return Err(ValidationErrors(vec![FieldError::new(
                format!("/ref_keys/{field}"),
                format!("form `{form}` has no field `{key_field}`"),
            )])
            .into());
        };
        if target.compiled.indexes().contains(&key_field) {
            return Ok(NaturalKeys::Indexed { field: key_field, ty, found: HashMap::new() });
        }
        let mut map: HashMap<String, Vec<Uuid>> = HashMap::new();
        for record in self.engine.store().scan_records(&self.space, form, None, false) {
            let record: Record = record?;
            let text = match record.data.get(&key_field) {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Null) | None => continue,
                Some(other) => other.to_string(),
            };
            map.entry(text).or_default().push(record.id);
        }
        Ok(NaturalKeys::Scanned(map))
    }

    /// A row error at `pointer` (empty: the whole row), naming the column of its field.
    fn error(&self, row: u64, pointer: &str, message: String) -> RowError {
        let top = pointer.trim_start_matches('/').split('/').next().unwrap_or("");
        RowError {
            row,
            column: self.options.columns.get(top).cloned(),
            field: (!pointer.is_empty()).then(|| pointer.to_owned()),
            message,
        }
    }

    fn engine_errors(&self, row: u64, err: EngineError) -> Vec<RowError> {
        match err {
            EngineError::Validation(ValidationErrors(errors)) => {
                errors.into_iter().map(|e| self.error(row, &e.path, e.message)).collect()
            }
            other => vec![self.error(row, "", other.to_string())],
        }
    }
}

enum Prepared {
    Create(Box<RecordWrite>),
    /// The write, and the record it replaces.
    Update(Box<RecordWrite>, Box<Record>),
    Unchanged,
}

/// What undoes one stored chunk of an all-or-nothing import (its journal entry).
#[derive(Debug, Serialize, Deserialize)]
struct Undo {
    space: SpaceName,
    form: FormName,
    /// Whether the import's events trigger workflows (the undoing events do likewise).
    workflows: bool,
    actor: Actor,
    /// Records the chunk created.
    created: Vec<Uuid>,
    /// Records the chunk updated, as they were before.
    replaced: Vec<Record>,
}

/// How many times undoing one chunk is tried when records change under it.
const UNDO_ATTEMPTS: usize = 5;

impl Engine {
    /// Undoes every all-or-nothing import a crash or a failure left unfinished (see the module
    /// docs); run at start-up, before serving. Answers how many it undid.
    pub async fn roll_back_imports(&self) -> Result<usize> {
        let mut imports: Vec<Uuid> = self.store().import_journal()?.into_iter().map(|(import, _, _)| import).collect();
        imports.dedup();
        for import in &imports {
            tracing::warn!(%import, "undoing an all-or-nothing import that did not finish");
            self.undo_import(*import).await?;
        }
        Ok(imports.len())
    }

    /// Undoes the stored chunks of one import, last first, each in one commit with the removal
    /// of its journal entry.
    async fn undo_import(&self, import: Uuid) -> Result<()> {
        let mut chunks: Vec<(u32, Vec<u8>)> = self
            .store()
            .import_journal()?
            .into_iter()
            .filter(|(id, _, _)| *id == import)
            .map(|(_, chunk, entry)| (chunk, entry))
            .collect();
        chunks.reverse();
        for (chunk, entry) in chunks {
            let undo: Undo = serde_json::from_slice(&entry)
                .map_err(|err| EngineError::Internal(format!("an import journal entry can't be read: {err}")))?;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let _shared = self.inner.definitions.shared().await;
                let writes = self.undo_writes(&undo)?;
                let journal = vec![(import, chunk, None)];
                match self.commit(writes, Extras { import_journal: journal, ..Extras::default() }).await {
                    Ok(_) => break,
                    Err(StoreError::VersionConflict { .. }) if attempt < UNDO_ATTEMPTS => continue,
                    Err(err) => return Err(err.into()),
                }
            }
        }
        Ok(())
    }

    /// The writes that undo one chunk, as the records are now: created records are deleted,
    /// replaced ones put back unless they changed since the import wrote them.
    fn undo_writes(&self, undo: &Undo) -> Result<Vec<RecordWrite>> {
        let loaded = self.loaded_form(&undo.space, &undo.form)?;
        let now = self.now();
        let mut writes = Vec::new();
        for id in &undo.created {
            if let Some(current) = self.store().record(&undo.space, &undo.form, id)? {
                writes.push(delete_write(&loaded, &current, &undo.actor, now));
            }
        }
        for before in &undo.replaced {
            match self.store().record(&undo.space, &undo.form, &before.id)? {
                Some(current) if current.version == before.version + 1 => {
                    let data = before.data.clone();
                    writes.push(
                        update_write(&undo.space, &loaded, &current, data, EventKind::Updated, &undo.actor, now).1,
                    );
                }
                _ => tracing::warn!(record = %before.id, "not undoing an import's update: the record changed since"),
            }
        }
        if !undo.workflows {
            for write in &mut writes {
                write.event.skip_workflows = true;
            }
        }
        Ok(writes)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::{EngineConfig, ListQuery, ManualClock, WorkflowName};

    fn cs() -> SpaceName {
        SpaceName::from_static("cs")
    }

    async fn engine(dir: &std::path::Path) -> Engine {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).single().expect("instant"));
        let engine = Engine::open(EngineConfig { clock: Arc::new(clock), ..EngineConfig::new(dir) }).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let account = json!({
            "schema": { "type": "object", "required": ["name"], "properties": {
                "name": { "type": "string" }, "arr": { "type": "number", "minimum": 0 },
                "tag": { "type": "string" } } },
            "indexes": ["name"]
        });
        engine.put_form(&actor, &cs(), &FormName::from_static("account"), &account, false).await.expect("account");
        let contact = json!({ "schema": { "type": "object", "properties": {
            "email": { "type": "string" }, "account": { "type": "string", "x-ref": "account" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("contact"), &contact, false).await.expect("contact");
        let workflow = json!({ "trigger": { "form": "account", "on": ["created"] },
                               "actions": [ { "set": { "tag": "\"seen\"" } } ] });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("tag"), &workflow).await.expect("workflow");
        engine
    }

    fn row(number: u64, data: Value) -> ImportRow {
        let Value::Object(data) = data else { panic!("rows are objects") };
        ImportRow { number, data: Ok(data) }
    }

    async fn import(
        engine: &Engine,
        form: &FormName,
        rows: Vec<ImportRow>,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        let mut importer = engine.importer(&Actor::system(), &crate::Access::unrestricted(), &cs(), form, options)?;
        for row in rows {
            if importer.push(row) {
                importer.flush().await?;
            }
        }
        importer.finish().await
    }

    fn records(engine: &Engine, form: &FormName) -> Vec<Record> {
        let query = ListQuery { sort: Some("name".into()), ..ListQuery::default() };
        let query = if form.as_str() == "account" { query } else { ListQuery::default() };
        engine.list_records(&crate::Access::unrestricted(), &cs(), form, &query).expect("list").items
    }

    fn accounts(names: &[(&str, f64)]) -> Vec<ImportRow> {
        names
            .iter()
            .enumerate()
            .map(|(i, (name, arr))| row(i as u64 + 2, json!({ "name": name, "arr": arr })))
            .collect()
    }

    /// An upsert creates, then updates only what changed; a re-run changes nothing.
    #[tokio::test]
    async fn upserts_by_an_indexed_key_and_reruns_are_idempotent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path()).await;
        let keyed = || ImportOptions { key: Some("name".into()), chunk_rows: 2, ..ImportOptions::default() };
        let report = import(
            &engine,
            &FormName::from_static("account"),
            accounts(&[("Acme", 10.0), ("Globex", 20.0), ("Initech", 5.0)]),
            keyed(),
        )
        .await
        .expect("import");
        assert_eq!((report.created, report.updated, report.failed, report.stored), (3, 0, 0, true));
        let report =
            import(&engine, &FormName::from_static("account"), accounts(&[("Acme", 10.0), ("Globex", 25.0)]), keyed())
                .await
                .expect("again");
        assert_eq!((report.created, report.updated, report.unchanged), (0, 1, 1));
        let stored = records(&engine, &FormName::from_static("account"));
        assert_eq!(stored.len(), 3);
        assert_eq!(stored[1].data["arr"], json!(25.0));
        assert_eq!(stored[1].version, 2);
        let twice = import(
            &engine,
            &FormName::from_static("account"),
            accounts(&[("Umbrella", 1.0), ("Umbrella", 2.0)]),
            keyed(),
        )
        .await
        .expect("dup");
        assert_eq!(twice.failed, 1);
        assert_eq!(twice.errors[0].message, "the same key is on row 2");
        assert_eq!(records(&engine, &FormName::from_static("account")).len(), 3, "all-or-nothing stored nothing");
        let unindexed = ImportOptions { key: Some("arr".into()), ..ImportOptions::default() };
        let refused = engine
            .importer(
                &Actor::system(),
                &crate::Access::unrestricted(),
                &cs(),
                &FormName::from_static("account"),
                unindexed,
            )
            .err()
            .expect("refused");
        assert!(matches!(refused, EngineError::Validation(_)), "{refused}");
        engine.close().expect("close");
    }

    /// All-or-nothing stores nothing when one row fails; resumable stores the valid rows and
    /// says how far it got; a dry run stores nothing and reports the same.
    #[tokio::test]
    async fn modes_and_dry_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path()).await;
        let mut rows = accounts(&[("A", 1.0), ("B", -1.0), ("C", 3.0)]);
        rows.push(ImportRow {
            number: 5,
            data: Err(vec![RowError {
                row: 5,
                column: Some("ARR".into()),
                field: None,
                message: "not a number".into(),
            }]),
        });
        let options = ImportOptions {
            chunk_rows: 2,
            columns: HashMap::from([("arr".to_owned(), "ARR".to_owned())]),
            ..ImportOptions::default()
        };
        let all = import(&engine, &FormName::from_static("account"), rows.clone(), options.clone()).await.expect("all");
        assert_eq!((all.failed, all.stored, all.stored_through), (2, false, None));
        assert_eq!(
            all.errors[0],
            RowError {
                row: 3,
                column: Some("ARR".into()),
                field: Some("/arr".into()),
                message: all.errors[0].message.clone()
            }
        );
        assert!(records(&engine, &FormName::from_static("account")).is_empty());
        let dry = ImportOptions { dry_run: true, mode: ImportMode::Resumable, ..options.clone() };
        let dry = import(&engine, &FormName::from_static("account"), rows.clone(), dry).await.expect("dry");
        assert_eq!((dry.created, dry.failed, dry.stored), (2, 2, false));
        assert!(records(&engine, &FormName::from_static("account")).is_empty());
        let resumable = ImportOptions { mode: ImportMode::Resumable, ..options };
        let report =
            import(&engine, &FormName::from_static("account"), rows, resumable.clone()).await.expect("resumable");
        assert_eq!((report.created, report.failed, report.stored_through), (2, 2, Some(5)));
        assert_eq!(records(&engine, &FormName::from_static("account")).len(), 2);
        let resumed = ImportOptions { start_row: 4, ..resumable };
        let report = import(
            &engine,
            &FormName::from_static("account"),
            accounts(&[("A", 1.0), ("B", 2.0), ("D", 4.0)]),
            resumed,
        )
        .await
        .expect("resumed");
        assert_eq!((report.rows, report.created), (1, 1), "rows before start_row are skipped");
        engine.close().expect("close");
    }

    /// References by natural key: found, missing and ambiguous; ids still work.
    #[tokio::test]
    async fn references_by_name_or_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path()).await;
        import(
            &engine,
            &FormName::from_static("account"),
            accounts(&[("Acme", 1.0), ("Twin", 2.0), ("Twin", 3.0)]),
            ImportOptions::default(),
        )
        .await
        .expect("accounts");
        let acme = records(&engine, &FormName::from_static("account"))
            .into_iter()
            .find(|r| r.data["name"] == "Acme")
            .expect("acme");
        let rows = vec![
            row(2, json!({ "email": "a@x", "account": "Acme" })),
            row(3, json!({ "email": "b@x", "account": acme.id.to_string() })),
            row(4, json!({ "email": "c@x", "account": "Nobody" })),
            row(5, json!({ "email": "d@x", "account": "Twin" })),
        ];
        let options = ImportOptions { mode: ImportMode::Resumable, ..ImportOptions::default() };
        let report = import(&engine, &FormName::from_static("contact"), rows, options).await.expect("contacts");
        assert_eq!((report.created, report.failed), (2, 2));
        assert_eq!(report.errors[0].message, "no `account` record has this id or key");
        assert_eq!(report.errors[1].message, "2 `account` records have this key; give the id");
        for contact in records(&engine, &FormName::from_static("contact")) {
            assert_eq!(contact.data["account"], json!(acme.id.to_string()));
        }
        engine.close().expect("close");
    }

    /// With workflows off, events are in the log but the processor runs nothing for them.
    #[tokio::test]
    async fn workflows_can_be_left_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path()).await;
        let quiet = ImportOptions { workflows: false, ..ImportOptions::default() };
        import(&engine, &FormName::from_static("account"), accounts(&[("Quiet", 1.0)]), quiet).await.expect("quiet");
        import(&engine, &FormName::from_static("account"), accounts(&[("Loud", 1.0)]), ImportOptions::default())
            .await
            .expect("loud");
        engine.process_pending().await.expect("processed");
        let stored = records(&engine, &FormName::from_static("account"));
        assert_eq!(stored[0].data.get("tag"), Some(&json!("seen")), "Loud triggered the workflow");
        assert_eq!(stored[1].data.get("tag"), None, "Quiet did not");
        let events = engine.events_after(0, 100).expect("events");
        assert_eq!(events.iter().filter(|e| e.skip_workflows).count(), 1);
        engine.close().expect("close");
    }

    /// All-or-nothing stores chunk by chunk; a failed row after stored chunks undoes them,
    /// creates deleted and updates put back, so no row of the import stays.
    #[tokio::test]
    async fn all_or_nothing_undoes_stored_chunks_when_a_later_row_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path()).await;
        import(
            &engine,
            &FormName::from_static("account"),
            accounts(&[("Acme", 1.0), ("Globex", 2.0)]),
            ImportOptions::default(),
        )
        .await
        .expect("first import");
        let before = records(&engine, &FormName::from_static("account"));
        let mut rows =
            accounts(&[("Acme", 10.0), ("Initech", 3.0), ("Globex", 20.0), ("Umbrella", 4.0), ("Hooli", 5.0)]);
        rows.push(row(7, json!({ "name": "Broken", "arr": -1 })));
        let options =
            ImportOptions { key: Some("name".into()), chunk_rows: 2, workflows: false, ..ImportOptions::default() };
        let report = import(&engine, &FormName::from_static("account"), rows, options).await.expect("import");
        assert_eq!((report.failed, report.stored, report.stored_through, report.created), (1, false, None, 0));
        let after = records(&engine, &FormName::from_static("account"));
        assert_eq!(after.len(), 2, "the created records are gone");
        for (was, is) in before.iter().zip(&after) {
            assert_eq!((&was.id, &was.data), (&is.id, &is.data), "updated records are put back");
        }
        assert!(engine.store().import_journal().expect("journal").is_empty());
        let events = engine.events_after(0, 1000).expect("events");
        assert_eq!(
            events.iter().filter(|e| e.kind == EventKind::Deleted).count(),
            2,
            "one per record created by a stored chunk"
        );
        assert!(events.iter().filter(|e| e.kind == EventKind::Deleted).all(|e| e.skip_workflows));
        engine.close().expect("close");
    }

    /// An all-or-nothing import cut short after storing chunks (a crash: its journal stays)
    /// is undone by `roll_back_imports`, also after a reopen; a finished one leaves no journal.
    #[tokio::test]
    async fn an_unfinished_all_or_nothing_import_is_rolled_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let engine = engine(dir.path()).await;
            let options = ImportOptions { chunk_rows: 2, ..ImportOptions::default() };
            let done = import(&engine, &FormName::from_static("account"), accounts(&[("Kept", 1.0)]), options.clone())
                .await
                .expect("done");
            assert!(done.stored);
            assert!(engine.store().import_journal().expect("journal").is_empty());
            let mut importer = engine
                .importer(
                    &Actor::system(),
                    &crate::Access::unrestricted(),
                    &cs(),
                    &FormName::from_static("account"),
                    options,
                )
                .expect("importer");
            for row in accounts(&[("A", 1.0), ("B", 2.0), ("C", 3.0), ("D", 4.0), ("E", 5.0)]) {
                if importer.push(row) {
                    importer.flush().await.expect("flush");
                }
            }
            importer.settle().await.expect("stored");
            assert_eq!(
                records(&engine, &FormName::from_static("account")).len(),
                5,
                "two chunks stored, visible while it runs"
            );
            assert_eq!(engine.store().import_journal().expect("journal").len(), 2);
            drop(importer);
            engine.close().expect("close");
        }
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("reopen");
        assert_eq!(engine.roll_back_imports().await.expect("rolled back"), 1);
        let names: Vec<Value> =
            records(&engine, &FormName::from_static("account")).into_iter().map(|r| r.data["name"].clone()).collect();
        assert_eq!(names, vec![json!("Kept")]);
        assert!(engine.store().import_journal().expect("journal").is_empty());
        assert_eq!(engine.roll_back_imports().await.expect("nothing left"), 0);
        engine.close().expect("close");
    }
}
