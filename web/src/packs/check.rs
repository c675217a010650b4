//! `tend pack check`: everything that would stop a pack from installing and working, found
//! at once and each placed at its file and line.
//!
//! The definitions are stored, in order, in a throwaway database: the engine's own checks
//! (schemas, scripts compiled, workflows against forms and fields, triggers, cron and zones)
//! are the pack's checks, so a pack that passes installs. Sample data is written there too,
//! and the tests are parsed and checked against the pack's workflows and forms. A form refused
//! only for its computed fields' or rules' scripts is stored without them, so one broken
//! script is reported once, at its line, and what uses the form is still checked.

use std::collections::BTreeSet;

use anyhow::Context;
use engine::{Actor, Engine, EngineConfig, FormName, SpaceName};

use super::{data, runner, DefinitionKind, Pack, PackMeta, Problem};

/// What `check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// The pack's `pack.json`.
    pub meta: PackMeta,
    /// Forms stored.
    pub forms: usize,
    /// Workflows stored.
    pub workflows: usize,
    /// Saved views stored.
    pub views: usize,
    /// Dashboards stored.
    pub dashboards: usize,
    /// Script files.
    pub scripts: usize,
    /// Sample records written.
    pub records: usize,
    /// Workflow tests read.
    pub tests: usize,
    /// Every problem, in file and line order.
    pub problems: Vec<Problem>,
}

/// Checks `pack`; `Err` only when the throwaway database can't be made.
pub async fn check(pack: &Pack) -> anyhow::Result<CheckReport> {
    let dir = tempfile::tempdir().context("creating a temporary database")?;
    let engine = Engine::open(EngineConfig::new(dir.path())).context("opening a temporary database")?;
    let report = check_with(&engine, pack).await;
    engine.close().context("closing the temporary database")?;
    report
}

async fn check_with(engine: &Engine, pack: &Pack) -> anyhow::Result<CheckReport> {
    let actor = Actor("pack-check".into());
    let space = &SpaceName::from_static("check");
    engine.create_space(&actor, space, None).await.context("creating a space to check in")?;
    let mut problems = pack.stray_files();
    let (definitions, definition_problems) = pack.definitions();
    problems.extend(definition_problems);

    let (mut forms, mut workflows, mut views, mut dashboards) = (0, 0, 0, 0);
    let mut workflow_names = BTreeSet::new();
    for definition in &definitions {
        if definition.kind == DefinitionKind::Workflow {
            workflow_names.insert(definition.name.clone());
        }
        match definition.store(engine, &actor, space).await.map(|_| ()) {
            Ok(()) if definition.kind == DefinitionKind::Form => forms += 1,
            Ok(()) if definition.kind == DefinitionKind::Workflow => workflows += 1,
            Ok(()) if definition.kind == DefinitionKind::View => views += 1,
            Ok(()) => dashboards += 1,
            Err(err) => {
                let errors = err.field_errors();
                if errors.is_empty() {
                    problems.push(Problem { file: definition.file.clone(), line: Some(1), message: err.to_string() });
                }
                problems.extend(errors.iter().map(|e| definition.problem(e)));
                // A form refused only for its scripts is stored without them, so the workflows,
                // sample records and tests that use the form are still checked: one broken
                // script is one problem, not one per dependent.
                let form = FormName::parse(&definition.name).ok().filter(|_| definition.kind == DefinitionKind::Form);
                if let Some((name, stand_in)) = form.zip(without_failing_scripts(&definition.value, &errors)) {
                    let _ = engine.put_form(&actor, space, &name, &stand_in, false).await;
                }
            }
        }
    }

    let referenced: BTreeSet<&str> =
        definitions.iter().flat_map(|d| d.scripts.iter().map(|(_, f)| f.as_str())).collect();
    let mut scripts = 0;
    for (path, _) in pack.scripts() {
        scripts += 1;
        if !referenced.contains(path) {
            problems.push(Problem {
                file: path.into(),
                line: None,
                message: "no definition uses this script (reference it as {\"file\": \"".to_owned() + path + "\"})",
            });
        }
    }

    let files: Vec<(String, String, String)> =
        pack.data_files().map(|(path, form, text)| (path.to_owned(), form.to_owned(), text.to_owned())).collect();
    for (path, form, _) in &files {
        if !definitions.iter().any(|d| d.kind == DefinitionKind::Form && &d.name == form) {
            problems.push(Problem {
                file: path.clone(),
                line: None,
                message: format!("the pack has no form `{form}`"),
            });
        }
    }
    let files: Vec<_> = files
        .into_iter()
        .filter(|(_, form, _)| FormName::parse(form).is_ok_and(|form| engine.form(space, &form, None).is_ok()))
        .collect();
    let (records, data_problems) = data::load(engine, &actor, space, &files).await;
    problems.extend(data_problems);

    let mut tests = 0;
    let form_names: BTreeSet<String> =
        definitions.iter().filter(|d| d.kind == DefinitionKind::Form).map(|d| d.name.clone()).collect();
    let dashboard_names: BTreeSet<String> =
        definitions.iter().filter(|d| d.kind == DefinitionKind::Dashboard).map(|d| d.name.clone()).collect();
    for (path, text) in pack.test_files() {
        tests += 1;
        problems.extend(runner::check_test(path, text, &form_names, &workflow_names, &dashboard_names));
    }

    problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    problems.dedup();
    Ok(CheckReport { meta: pack.meta.clone(), forms, workflows, views, dashboards, scripts, records, tests, problems })
}

/// `definition` without the computed fields and rules that `errors` point into, when every
/// error points into one; `None` when something else is wrong too (no stand-in would store).
fn without_failing_scripts(definition: &serde_json::Value, errors: &[forms::FieldError]) -> Option<serde_json::Value> {
    let mut stand_in = definition.clone();
    let mut rules = BTreeSet::new();
    for error in errors {
        let mut segments = error.path.trim_start_matches('/').split('/');
        match (segments.next(), segments.next()) {
            (Some("computed"), Some(field)) => {
                let field = field.replace("~1", "/").replace("~0", "~");
                stand_in.get_mut("computed")?.as_object_mut()?.remove(&field);
            }
            (Some("rules"), Some(index)) => {
                rules.insert(index.parse::<usize>().ok()?);
            }
            _ => return None,
        }
    }
    if let Some(list) = stand_in.get_mut("rules").and_then(|rules| rules.as_array_mut()) {
        for index in rules.into_iter().rev() {
            if index < list.len() {
                list.remove(index);
            }
        }
    }
    (!errors.is_empty()).then_some(stand_in)
}
