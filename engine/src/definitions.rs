//! Form definitions: versioned storage, the compiled-form cache, and keeping stored records and
//! indexes in step when a definition changes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use forms::{CompiledForm, DefinitionErrors, FieldError, FieldType, FormDef, FormName, Rule, SpaceName, WorkflowName};
use serde_json::Value;

use crate::error::{EngineError, FailingRecord, Result};
use crate::model::{Actor, EventKind, Record, StoredForm};
use crate::query::encoding::encode_value;
use crate::query::FieldLookup;
use crate::rules::{Script, ScriptOrigin};
use crate::store::IndexEntry;
use crate::store::Store as _;
use crate::workflows::CompiledWorkflow;
use crate::{Engine, LoadedForm};

/// `current` (at `version`) with the JSON merge patch `merge` applied, refused when the caller
/// expected another version.
pub(crate) fn merged<T: serde::Serialize>(
    current: &T,
    version: u32,
    merge: &Value,
    expected_version: Option<u32>,
) -> Result<Value> {
    if expected_version.is_some_and(|expected| expected != version) {
        return Err(EngineError::PreconditionFailed { current: u64::from(version) });
    }
    let mut definition = serde_json::to_value(current).map_err(|err| EngineError::Internal(err.to_string()))?;
    json_patch::merge(&mut definition, merge);
    Ok(definition)
}

/// How many failing records a refused schema change shows.
const FAILING_EXAMPLES: usize = 3;

/// The result of storing a definition.
#[derive(Debug, Clone)]
pub struct PutFormOutcome {
    /// The version now current.
    pub form: StoredForm,
    /// False when the definition equals the current one (nothing was stored).
    pub changed: bool,
}

/// A map of shared values behind a lock; readers clone the `Arc`.
pub(crate) struct Cache<K, V>(RwLock<HashMap<K, Arc<V>>>);

impl<K: std::hash::Hash + Eq, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self(RwLock::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V> Cache<K, V> {
    pub(crate) fn get(&self, key: &K) -> Option<Arc<V>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    pub(crate) fn insert(&self, key: K, value: Arc<V>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(key, value);
    }

    pub(crate) fn clear(&self) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Each space's default zone, as read from the store: every record write with scripts asks.
/// A change bumps the generation, so a zone read before it is never kept after it.
#[derive(Default)]
pub(crate) struct Zones(RwLock<(u64, HashMap<SpaceName, chrono_tz::Tz>)>);

impl Zones {
    /// The zone of `space` if known, else the generation to pass to [`Zones::keep`].
    pub(crate) fn get(&self, space: &SpaceName) -> Result<chrono_tz::Tz, u64> {
        let zones = self.0.read().unwrap_or_else(|p| p.into_inner());
        zones.1.get(space).copied().ok_or(zones.0)
    }

    /// Keeps `zone` for `space`, read at `generation`, unless the zones changed since.
    pub(crate) fn keep(&self, generation: u64, space: &SpaceName, zone: chrono_tz::Tz) {
        let mut zones = self.0.write().unwrap_or_else(|p| p.into_inner());
        if zones.0 == generation {
            zones.1.insert(space.clone(), zone);
        }
    }

    /// Forgets every zone: a space's changed.
    pub(crate) fn changed(&self) {
        let mut zones = self.0.write().unwrap_or_else(|p| p.into_inner());
        zones.0 += 1;
        zones.1.clear();
    }
}

/// The definitions subsystem's state: what is compiled once and kept (forms, workflow
/// versions, the trigger index as read) and the schema lock.
#[derive(Default)]
pub(crate) struct Definitions {
    /// Latest version of each form, compiled once: compiling a schema costs far more than
    /// validating a record against it.
    pub(crate) forms: Cache<(SpaceName, FormName), LoadedForm>,
    /// Compiled workflow versions, by (space, workflow, version).
    pub(crate) workflows: Cache<(SpaceName, WorkflowName, u32), CompiledWorkflow>,
    /// The trigger index, as read from the store; cleared whenever a workflow is stored.
    pub(crate) triggers: Cache<(SpaceName, String, EventKind), Vec<(WorkflowName, u32)>>,
    /// Spaces' default zones.
    pub(crate) zones: Zones,
    /// Record writes hold it shared; a form or workflow change holds it exclusively, so the
    /// check "every stored record fits the new schema" and the index rebuild see no
    /// concurrent writes.
    schema_lock: Arc<tokio::sync::RwLock<()>>,
}

impl Definitions {
    /// Held by a write that reads definitions (records, runs) until it is committed.
    pub(crate) async fn shared(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.schema_lock.read().await
    }

    /// [`Definitions::shared`], as a guard that can move to another task (an import's commit
    /// in flight).
    pub(crate) async fn shared_owned(&self) -> tokio::sync::OwnedRwLockReadGuard<()> {
        Arc::clone(&self.schema_lock).read_owned().await
    }

    /// Held by a definition change.
    pub(crate) async fn exclusive(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.schema_lock.write().await
    }
}

impl Engine {
    /// Stores `definition` as the next version of `form` in `space`, holding the schema lock
    /// exclusively so that no record write runs while records are checked and indexes rebuilt.
    ///
    /// Refused when stored records would not validate under it, unless `force`.
    pub async fn put_form(
        &self,
        actor: &Actor,
        space: &SpaceName,
        form: &FormName,
        definition: &Value,
        force: bool,
    ) -> Result<PutFormOutcome> {
        self.space(space)?;
        let name = form.clone();
        let definition = FormDef::from_json(definition)?;
        let compiled = CompiledForm::compile(definition.clone())?;
        // Scripts are checked before anything is stored: a syntax error is the admin's to fix.
        self.compile_scripts(space, &name, &definition)?;
        let outcome = {
            let _exclusive = self.inner.definitions.exclusive().await;
            self.put_form_locked(actor, space, name, definition, compiled, force)?
        };
        if outcome.changed {
            self.store().barrier().await?;
        }
        Ok(outcome)
    }

    /// Changes part of `form`'s definition: `merge` is a JSON merge patch (RFC 7386) applied to
    /// the current version, which must be `expected_version` when one is given; the result is
    /// stored as the next version exactly as [`Engine::put_form`] would store it. Reading the
    /// current version and storing the next happen under one hold of the schema lock, so no
    /// concurrent change is lost.
    pub async fn patch_form(
        &self,
        actor: &Actor,
        space: &SpaceName,
        form: &FormName,
        merge: &Value,
        expected_version: Option<u32>,
        force: bool,
    ) -> Result<PutFormOutcome> {
        self.space(space)?;
        let name = form.clone();
        let exclusive = self.inner.definitions.exclusive().await;
        let current = self.store().form_version(space, &name, None)?;
        let current = current.ok_or_else(|| EngineError::not_found("form", name.as_str()))?;
        let definition = merged(&current.definition, current.version, merge, expected_version)?;
        let definition = FormDef::from_json(&definition)?;
        let compiled = CompiledForm::compile(definition.clone())?;
        self.compile_scripts(space, &name, &definition)?;
        let outcome = self.put_form_locked(actor, space, name, definition, compiled, force)?;
        drop(exclusive);
        if outcome.changed {
            self.store().barrier().await?;
        }
        Ok(outcome)
    }

    fn put_form_locked(
        &self,
        actor: &Actor,
        space: &SpaceName,
        name: FormName,
        definition: FormDef,
        compiled: CompiledForm,
        force: bool,
    ) -> Result<PutFormOutcome> {
        let previous = self.store().form_version(space, &name, None)?;
        if let Some(previous) = &previous {
            if previous.definition == definition {
                return Ok(PutFormOutcome { form: previous.clone(), changed: false });
            }
        }
        let old_indexes = match &previous {
            Some(previous) => {
                if !force {
                    self.check_records_fit(space, &name, &compiled)?;
                }
                indexed_fields(&CompiledForm::compile(previous.definition.clone())?)
            }
            None => BTreeMap::new(),
        };
        let new_indexes = indexed_fields(&compiled);

        // New or retyped indexes are built before the definition that uses them is stored, and
        // dropped ones are removed after: a crash in between leaves unused entries, never a
        // definition whose index is missing entries.
        for (field, ty) in &new_indexes {
            if old_indexes.get(field) != Some(ty) {
                self.rebuild_index(space, &name, field, *ty)?;
            }
        }
        let stored = StoredForm {
            name: name.clone(),
            version: previous.as_ref().map_or(1, |p| p.version + 1),
            definition,
            created_at: self.now(),
            created_by: actor.clone(),
        };
        self.store().insert_form_version(space, &stored)?;
        for field in old_indexes.keys() {
            if !new_indexes.contains_key(field) {
                self.store().drop_index(space, &name, field)?;
            }
        }
        let loaded = Arc::new(self.load(space, stored.clone(), compiled)?);
        // The columns hold values, not types, but they hold fields the old version's queries read.
        self.inner.columns.forget(space, &name);
        self.inner.definitions.forms.insert((space.clone(), name), loaded);
        Ok(PutFormOutcome { form: stored, changed: true })
    }

    fn check_records_fit(&self, space: &SpaceName, form: &FormName, compiled: &CompiledForm) -> Result<()> {
        let mut failing = 0;
        let mut examples = Vec::new();
        for record in self.store().scan_records(space, form, None, false) {
            let record = record?;
            if let Err(errors) = compiled.validate(&record.data) {
                failing += 1;
                if examples.len() < FAILING_EXAMPLES {
                    examples.push(FailingRecord { id: record.id.to_string(), errors: errors.0 });
                }
            }
        }
        if failing > 0 {
            return Err(EngineError::SchemaChangeRefused { failing, examples });
        }
        Ok(())
    }

    fn rebuild_index(&self, space: &SpaceName, form: &FormName, field: &str, ty: FieldType) -> Result<()> {
        let mut entries = Vec::new();
        for record in self.store().scan_records(space, form, None, false) {
            let record = record?;
            entries.push((encode_value(record.lookup(field).as_deref(), ty), record.id));
        }
        self.store().rebuild_index(space, form, field, &mut entries.into_iter())?;
        Ok(())
    }

    /// One version of a form as stored, or the latest.
    pub fn form(&self, space: &SpaceName, form: &FormName, version: Option<u32>) -> Result<StoredForm> {
        self.space(space)?;
        match self.store().form_version(space, form, version)? {
            Some(stored) => Ok(stored),
            None => match version {
                Some(version) => Err(EngineError::not_found("form version", format!("{form}@{version}"))),
                None => Err(EngineError::not_found("form", form.as_str())),
            },
        }
    }

    /// The latest version of every form of a space.
    pub fn forms(&self, space: &SpaceName) -> Result<Vec<StoredForm>> {
        self.space(space)?;
        Ok(self.store().latest_forms(space)?)
    }

    /// The latest version of a form, compiled (cached).
    pub fn loaded_form(&self, space: &SpaceName, form: &FormName) -> Result<Arc<LoadedForm>> {
        let key = (space.clone(), form.clone());
        if let Some(loaded) = self.inner.definitions.forms.get(&key) {
            return Ok(loaded);
        }
        let (space, form) = key;
        let stored = match self.store().form_version(&space, &form, None)? {
            Some(stored) => stored,
            None => {
                // Distinguish a missing space from a missing form for the caller.
                self.space(&space)?;
                return Err(EngineError::not_found("form", form.as_str()));
            }
        };
        let compiled = CompiledForm::compile(stored.definition.clone())?;
        let loaded = Arc::new(self.load(&space, stored, compiled)?);
        self.inner.definitions.forms.insert((space, form), Arc::clone(&loaded));
        Ok(loaded)
    }
}

impl Engine {
    fn load(&self, space: &SpaceName, stored: StoredForm, compiled: CompiledForm) -> Result<LoadedForm> {
        let (computed, rules) = self.compile_scripts(space, &stored.name, &stored.definition)?;
        Ok(LoadedForm { space: space.clone(), stored, compiled, computed, rules, pace: Arc::default() })
    }

    /// Compiles a definition's computed fields and rules; every failure is reported with the
    /// pointer of the expression in the definition, and the line and column in it.
    #[allow(clippy::type_complexity)]
    fn compile_scripts(
        &self,
        space: &SpaceName,
        form: &FormName,
        definition: &FormDef,
    ) -> Result<(Vec<(String, Arc<Script>)>, Vec<(Rule, Arc<Script>)>)> {
        let mut errors = Vec::new();
        let mut compile = |what: String, path: String, source: &str| {
            let origin = ScriptOrigin(format!("form {space}/{form}, {what}"));
            self.inner
                .scripts
                .compile(&origin, source)
                .map_err(|err| errors.push(FieldError::new(path, err.message())))
                .ok()
        };
        let computed: Vec<_> = definition
            .computed
            .iter()
            .filter_map(|(field, computed)| {
                let script = compile(format!("computed `{field}`"), format!("/computed/{field}"), &computed.expr)?;
                Some((field.clone(), script))
            })
            .collect();
        let rules: Vec<_> = definition
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, rule)| {
                let label = rule.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
                let script = compile(format!("rule {label}"), format!("/rules/{i}/expr"), &rule.expr)?;
                Some((rule.clone(), script))
            })
            .collect();
        if errors.is_empty() {
            Ok((computed, rules))
        } else {
            Err(DefinitionErrors(errors).into())
        }
    }
}

/// The indexed fields of a form with the type that decides their encoding.
fn indexed_fields(compiled: &CompiledForm) -> BTreeMap<String, FieldType> {
    compiled
        .indexes()
        .iter()
        .map(|field| (field.clone(), compiled.field_type(field).unwrap_or(FieldType::Any)))
        .collect()
}

/// The index entries a record has under `form`.
pub(crate) fn index_entries(form: &CompiledForm, record: &Record) -> Vec<IndexEntry> {
    form.indexes()
        .iter()
        .map(|field| {
            let ty = form.field_type(field).unwrap_or(FieldType::Any);
            IndexEntry { field: field.clone(), value: encode_value(record.lookup(field).as_deref(), ty) }
        })
        .collect()
}
