//! Trying a form definition before it is stored: a draft's computed fields, rules and checks
//! evaluated on given data exactly as a record write would evaluate them, with nothing stored.
//! The form designer calls it while an admin types; each script that does not compile is
//! reported with its line and column instead of refusing the whole draft.

use std::sync::Arc;

use forms::{CompiledForm, FieldError, FormDef, FormName, SpaceName};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::model::{Actor, StoredForm};
use crate::records::{apply_initial_stage, RuleCheck};
use crate::rules::{Script, ScriptError, ScriptOrigin};
use crate::{Engine, LoadedForm, Scripted};

/// What a draft definition makes of some data.
#[derive(Debug, Clone, Serialize)]
pub struct DraftEvaluation {
    /// The data as a write would store it: computed fields set, a new record's stage filled in.
    pub record: Value,
    /// Whether a write of this data would be accepted (no `errors`, every script compiled).
    pub valid: bool,
    /// Each computed field, in evaluation order.
    pub computed: Vec<ComputedOutcome>,
    /// Each rule, in the definition's order.
    pub rules: Vec<RuleOutcome>,
    /// Every failure a write would answer with, by JSON pointer into the record data.
    pub errors: Vec<FieldError>,
}

/// How one computed field came out.
#[derive(Debug, Clone, Serialize)]
pub struct ComputedOutcome {
    /// The field it sets.
    pub field: String,
    /// Where its expression is in the definition (`/computed/<field>`).
    pub path: String,
    /// Its value (null: the field is left out); absent when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Why it did not compile or did not finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScriptProblem>,
}

/// How one rule came out.
#[derive(Debug, Clone, Serialize)]
pub struct RuleOutcome {
    /// Its label, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where its expression is in the definition (`/rules/<i>/expr`).
    pub path: String,
    /// The record field its message is about (the rule's own `path`).
    pub field: String,
    /// `passed`, `failed` (gave false), `not_boolean`, `error` (did not compile or finish) or
    /// `skipped` (the data failed the schema first, as on a write).
    pub outcome: &'static str,
    /// Why it errored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScriptProblem>,
}

/// A script error as the designer places it: the server's message and its position in the
/// script.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptProblem {
    /// The whole message, as a write's error would give it.
    pub message: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<&ScriptError> for ScriptProblem {
    fn from(err: &ScriptError) -> Self {
        ScriptProblem { message: err.message(), line: err.line, column: err.column }
    }
}

impl Engine {
    /// Evaluates `definition` (not stored) of `form` in `space` on `data`: the computed fields,
    /// the schema, the rules, the pipeline stage and the references, as a write would. With
    /// `id`, the data is an existing record's (kept in its stage); without, a new record's.
    ///
    /// A definition whose shape or schema is wrong is refused with every pointer (as a PUT
    /// would be); a script that does not compile is an outcome, with its line and column.
    pub async fn evaluate_draft(
        &self,
        actor: &Actor,
        space: &SpaceName,
        form: &FormName,
        definition: &Value,
        data: Value,
        id: Option<&str>,
    ) -> Result<DraftEvaluation> {
        self.space(space)?;
        let name = form.clone();
        let definition = FormDef::from_json(definition)?;
        let compiled = CompiledForm::compile(definition.clone())?;
        let existing = id.is_some();
        let id = match id {
            Some(id) => Uuid::parse_str(id).map_err(|_| EngineError::not_found("record", id))?,
            None => self.new_record_id(self.now()),
        };
        let Value::Object(mut object) = data else {
            let error = FieldError::new("/record", "the record data must be a JSON object");
            return Err(forms::ValidationErrors(vec![error]).into());
        };
        // Computed fields are the engine's to write, as on a write; a stored record's old
        // values are recomputed.
        for field in definition.computed.keys() {
            object.remove(field);
        }
        let mut data = Value::Object(object);

        let origin = |what: String| ScriptOrigin(format!("draft of form {space}/{name}, {what}"));
        let mut computed = Vec::new();
        let mut computed_failed = Vec::new();
        for (field, expr) in &definition.computed {
            match self.inner.scripts.compile(&origin(format!("computed `{field}`")), &expr.expr) {
                Ok(script) => computed.push((field.clone(), script)),
                Err(err) => computed_failed.push((field.clone(), err)),
            }
        }
        let mut rules: Vec<(forms::Rule, Arc<Script>)> = Vec::new();
        let mut rule_compiled: Vec<std::result::Result<(), ScriptError>> = Vec::new();
        for (i, rule) in definition.rules.iter().enumerate() {
            let label = rule.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
            match self.inner.scripts.compile(&origin(format!("rule {label}")), &rule.expr) {
                Ok(script) => {
                    rules.push((rule.clone(), script));
                    rule_compiled.push(Ok(()));
                }
                Err(err) => rule_compiled.push(Err(err)),
            }
        }
        let scripted = if computed.is_empty() && rules.is_empty() { Scripted::No } else { Scripted::Yes };
        let loaded = LoadedForm {
            space: space.clone(),
            stored: StoredForm {
                name,
                version: 0,
                definition: definition.clone(),
                created_at: self.now(),
                created_by: actor.clone(),
            },
            compiled,
            computed,
            rules,
            pace: Arc::default(),
        };
        if !existing {
            apply_initial_stage(&loaded, &mut data);
        }
        let space_name = space.clone();
        let (data, check) = self
            .evaluating(scripted, move |engine| {
                let check = engine.check_data(&space_name, &loaded, &id, &mut data)?;
                Ok((data, check))
            })
            .await?;

        let mut computed: Vec<ComputedOutcome> = check
            .computed
            .into_iter()
            .map(|(field, outcome)| {
                let path = format!("/computed/{}", forms::escape_pointer_token(&field));
                match outcome {
                    Ok(value) => ComputedOutcome { field, path, value: Some(value), error: None },
                    Err(err) => ComputedOutcome { field, path, value: None, error: Some((&err).into()) },
                }
            })
            .collect();
        for (field, err) in computed_failed {
            let path = format!("/computed/{}", forms::escape_pointer_token(&field));
            computed.push(ComputedOutcome { field, path, value: None, error: Some((&err).into()) });
        }
        computed.sort_by(|a, b| a.field.cmp(&b.field));

        let mut checks = check.rules.into_iter();
        let rules: Vec<RuleOutcome> = definition
            .rules
            .iter()
            .zip(rule_compiled)
            .enumerate()
            .map(|(i, (rule, compiled))| {
                let (outcome, error) = match compiled {
                    Err(err) => ("error", Some(ScriptProblem::from(&err))),
                    Ok(()) => match checks.next().unwrap_or(RuleCheck::Skipped) {
                        RuleCheck::Passed => ("passed", None),
                        RuleCheck::Failed => ("failed", None),
                        RuleCheck::NotBoolean => ("not_boolean", None),
                        RuleCheck::Error(err) => ("error", Some(ScriptProblem::from(&err))),
                        RuleCheck::Skipped => ("skipped", None),
                    },
                };
                RuleOutcome {
                    name: rule.name.clone(),
                    path: format!("/rules/{i}/expr"),
                    field: rule.path.clone(),
                    outcome,
                    error,
                }
            })
            .collect();
        let all_compiled = computed.iter().all(|c| c.error.is_none()) && rules.iter().all(|r| r.outcome != "error");
        Ok(DraftEvaluation {
            record: data,
            valid: check.errors.is_empty() && all_compiled,
            computed,
            rules,
            errors: check.errors,
        })
    }
}
