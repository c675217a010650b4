//! Runs as a caller may see them: a run is about its triggering record, so the record policy of
//! the workflow's trigger form decides. A run of a record out of the caller's scope is not
//! found; a run about no record (a cron schedule, a hook) is shown only to a caller no form of
//! the space restricts. To a caller the trigger form restricts, what a run shows of hidden
//! fields (`set` and `assign` effects on them) is left out, and so are its script effects,
//! output and error text, which may quote any field of any record.

use forms::{FormName, SpaceName};
use serde_json::Value;
use uuid::Uuid;

use super::{DryRun, Run};
use crate::error::Result;
use crate::model::Access;
use crate::policy::Policy;
use crate::store::Store as _;
use crate::Engine;

/// Replaces a run's error for a caller who may not see every field it could quote.
const HIDDEN_ERROR: &str = "the run failed; its details are hidden from your role";

impl Engine {
    /// `run` as `access` may see it; `None` when it may not see the run at all.
    pub(crate) fn run_as_seen(&self, space: &SpaceName, access: &Access, run: Run) -> Result<Option<Run>> {
        if access.is_unrestricted() {
            return Ok(Some(run));
        }
        let Some(form) = self.trigger_form_of(space, &run)? else {
            return Ok(self.unrestricted_in_space(space, access)?.then_some(run));
        };
        if run.record.is_nil() {
            return Ok(self.unrestricted_in_space(space, access)?.then_some(run));
        }
        let loaded = self.loaded_form(space, &form)?;
        let policy = Policy::new(loaded.compiled.def(), access);
        if !self.seen_in_scope(&loaded, &run.record, &policy)? {
            return Ok(None);
        }
        Ok(Some(redact_run(&policy, run)))
    }

    /// A dry run as `access` may see it: its run redacted like a stored one (a dry run of a
    /// sample record is about that sample), written records out of scope dropped and the rest
    /// redacted, deliveries (whose bodies may quote any record) left out when the trigger form
    /// restricts the caller.
    pub(crate) fn dry_run_as_seen(
        &self,
        space: &SpaceName,
        access: &Access,
        form: Option<&FormName>,
        mut dry: DryRun,
    ) -> Result<DryRun> {
        if access.is_unrestricted() {
            return Ok(dry);
        }
        match form {
            Some(form) => {
                let loaded = self.loaded_form(space, form)?;
                let policy = Policy::new(loaded.compiled.def(), access);
                if !policy.is_unrestricted() {
                    dry.deliveries.clear();
                }
                dry.run = redact_run(&policy, dry.run);
            }
            None if !self.unrestricted_in_space(space, access)? => {
                dry.run.output.clear();
                dry.run.error = dry.run.error.map(|_| HIDDEN_ERROR.to_owned());
                dry.deliveries.clear();
            }
            None => {}
        }
        let mut records = Vec::with_capacity(dry.records.len());
        for record in dry.records {
            let loaded = self.loaded_form(space, &record.form)?;
            let policy = Policy::new(loaded.compiled.def(), access);
            if policy.sees_record(&record) {
                records.push(policy.redact_record(record));
            }
        }
        dry.records = records;
        Ok(dry)
    }

    fn trigger_form_of(&self, space: &SpaceName, run: &Run) -> Result<Option<FormName>> {
        let workflow = self.store().workflow_version(space, &run.workflow, Some(run.workflow_version))?;
        Ok(workflow.and_then(|w| w.definition.trigger.form))
    }

    /// Whether no form of the space restricts `access` in any way.
    fn unrestricted_in_space(&self, space: &SpaceName, access: &Access) -> Result<bool> {
        Ok(self.forms(space)?.iter().all(|form| Policy::new(&form.definition, access).is_unrestricted()))
    }

    /// Whether a record (stored, or as it was deleted) is in the policy's scope.
    pub(crate) fn seen_in_scope(&self, loaded: &crate::LoadedForm, id: &Uuid, policy: &Policy<'_>) -> Result<bool> {
        if let Some(record) = self.store().record(&loaded.space, &loaded.stored.name, id)? {
            return Ok(policy.sees_record(&record));
        }
        let events = self.store().record_events(&loaded.space, &loaded.stored.name, id, 0, usize::MAX)?;
        let last = events.last().and_then(|event| event.after.as_ref().or(event.before.as_ref()));
        Ok(last.is_some_and(|data| policy.sees(data)))
    }
}

/// A visible run as a caller the form restricts may see it: effects on hidden fields left out,
/// and what may quote any record (script effects, output and errors: a script can read other
/// records) withheld.
fn redact_run(policy: &Policy<'_>, mut run: Run) -> Run {
    if policy.is_unrestricted() {
        return run;
    }
    run.effects.retain_mut(|effect| {
        if let Some(Value::Object(set)) = effect.get_mut("set") {
            policy.redact_map(set);
        }
        let assigned = effect.pointer("/assign/field").and_then(Value::as_str);
        // A script's effects may write any field of any record: their summary goes too.
        !assigned.is_some_and(|field| policy.is_hidden(field)) && effect.get("script").is_none()
    });
    run.output.clear();
    run.error = run.error.map(|_| HIDDEN_ERROR.to_owned());
    run
}
