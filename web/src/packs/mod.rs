//! Template packs: a folder of definitions, scripts, sample data and workflow tests that Tend
//! checks, tests and installs into a space.
//!
//! ```text
//! pack.json            {name, title, description, version}
//! forms/<form>.json    one form definition per file, named after the form
//! workflows/<wf>.json  one workflow per file, named after the workflow
//! views/<view>.json    saved views of the grid, shared in the space (optional; see `views`)
//! dashboards/<d>.json  dashboards: widgets over the pack's forms (optional)
//! scripts/*.rhai       scripts that definitions reference as {"file": "scripts/x.rhai"}
//! data/<form>.ndjson   sample records, one JSON object per line (optional)
//! tests/*.json         workflow tests run by `tend pack test` (see `runner`)
//! ```
//!
//! A space's definitions can be exported as a pack (`export`), as a folder or a zip.
//!
//! A pack is read into memory once (from a folder, or from the copy built into the binary:
//! `embedded`), so checking, testing and installing see the same files. Every problem is
//! reported as `file:line: message`: definition errors carry JSON pointers, which `locate`
//! turns into the line of that value in the file, or into the line inside a referenced script.

mod check;
mod data;
pub mod demo;
mod embedded;
mod export;
mod install;
mod locate;
mod runner;
mod views;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use engine::{Actor, DashboardName, Engine, EngineError, FormName, SpaceName, WorkflowName};
use forms::FieldError;
use serde::Deserialize;
use serde_json::Value;

pub use check::{check, CheckReport};
pub use embedded::{embedded, embedded_names};
pub use export::export;
pub use install::{install, install_data, install_new, InstallError, Installed};
pub use runner::{run_tests, TestOutcome};

use locate::Lines;

/// The folders a pack's files live in; anything else (a README) is not read.
const FOLDERS: &[&str] = &["forms", "workflows", "views", "dashboards", "scripts", "data", "tests"];

/// `pack.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    /// Slug, also the folder's name; what `POST /api/v1/spaces {template}` takes.
    pub name: String,
    /// Human title.
    pub title: String,
    /// What it is for.
    pub description: String,
    /// The pack's own version; a space installed from it records it.
    pub version: String,
}

/// A pack read into memory.
#[derive(Debug, Clone)]
pub struct Pack {
    /// Its `pack.json`.
    pub meta: PackMeta,
    /// Where it came from, for messages.
    pub origin: String,
    /// Relative path (`forms/account.json`) → text.
    files: BTreeMap<String, String>,
}

/// One problem with a pack, where to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path inside the pack (`workflows/renewal-reminders.json`).
    pub file: String,
    /// 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One problem, one line: some parsers (cron) answer with several.
        let message = self.message.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        match self.line {
            Some(line) => write!(f, "{}:{line}: {message}", self.file),
            None => write!(f, "{}: {message}", self.file),
        }
    }
}

/// A pack that could not be read at all (no `pack.json`, unreadable files).
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The folder or a file in it could not be read.
    #[error("{path}: {message}")]
    Read {
        /// Which.
        path: String,
        /// Why.
        message: String,
    },
    /// `pack.json` is missing or malformed.
    #[error("{0}")]
    Meta(Problem),
}

/// What a definition file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionKind {
    /// `forms/*.json`.
    Form,
    /// `workflows/*.json`.
    Workflow,
    /// `views/*.json`.
    View,
    /// `dashboards/*.json`.
    Dashboard,
}

/// A definition of a pack with its script references resolved.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Form or workflow.
    pub kind: DefinitionKind,
    /// From the file name.
    pub name: String,
    /// Path in the pack.
    pub file: String,
    /// The definition as the engine takes it (script files inlined).
    pub value: Value,
    /// Pointer in the definition → script file inlined there.
    scripts: Vec<(String, String)>,
    lines: std::sync::Arc<Lines>,
}

impl Definition {
    /// Stores the definition in `space`, as `actor`; true when a form or workflow got a new
    /// version (a view or dashboard stored says nothing of that). Its name, from its file
    /// name, was checked when the pack was read ([`Pack::definitions`]) and takes its type here.
    pub async fn store(&self, engine: &Engine, actor: &Actor, space: &SpaceName) -> Result<bool, EngineError> {
        match self.kind {
            DefinitionKind::Form => {
                let name = FormName::parse(&self.name)?;
                Ok(engine.put_form(actor, space, &name, &self.value, false).await?.changed)
            }
            DefinitionKind::Workflow => {
                let name = WorkflowName::parse(&self.name)?;
                Ok(engine.put_workflow(actor, space, &name, &self.value).await?.changed)
            }
            DefinitionKind::View => views::store(engine, actor, space, self).await.map(|()| false),
            DefinitionKind::Dashboard => {
                let name = DashboardName::parse(&self.name)?;
                engine.put_dashboard(actor, space, &name, &self.value, None).await.map(|_| false)
            }
        }
    }

    /// Places an engine error about this definition: inside the referenced script when the
    /// pointer is one and the message names a line, else at the pointer's line in the file.
    pub fn problem(&self, error: &FieldError) -> Problem {
        let script = self.scripts.iter().find(|(pointer, _)| {
            pointer == &error.path || pointer.starts_with(&format!("{}/", error.path)) && !error.path.is_empty()
        });
        if let Some((_, file)) = script {
            if let Some(line) = script_line(&error.message) {
                return Problem { file: file.clone(), line: Some(line), message: error.message.clone() };
            }
        }
        let at = if error.path.is_empty() { String::new() } else { format!("{}: ", error.path) };
        Problem {
            file: self.file.clone(),
            line: Some(self.lines.line(&error.path)),
            message: format!("{at}{}", error.message),
        }
    }
}

/// The line a script error message names ("..., line 3, column 7: ...").
fn script_line(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

impl Pack {
    /// Reads a pack folder.
    pub fn from_dir(dir: &Path) -> Result<Pack, PackError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|err| PackError::Read { path: path.display().to_string(), message: err.to_string() })
        };
        let meta_path = dir.join("pack.json");
        if !meta_path.is_file() {
            return Err(PackError::Read {
                path: dir.display().to_string(),
                message: "not a pack: there is no pack.json".into(),
            });
        }
        let mut files = BTreeMap::new();
        files.insert("pack.json".to_owned(), read(&meta_path)?);
        for folder in FOLDERS {
            let Ok(entries) = std::fs::read_dir(dir.join(folder)) else { continue };
            for entry in entries {
                let entry = entry.map_err(|err| PackError::Read {
                    path: dir.join(folder).display().to_string(),
                    message: err.to_string(),
                })?;
                let path = entry.path();
                if path.is_file() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    files.insert(format!("{folder}/{name}"), read(&path)?);
                }
            }
        }
        Pack::from_files(dir.display().to_string(), files)
    }

    /// A pack from its files (relative path → text).
    pub(crate) fn from_files(origin: String, mut files: BTreeMap<String, String>) -> Result<Pack, PackError> {
        files.retain(|path, _| {
            path == "pack.json"
                || FOLDERS.iter().any(|folder| path.strip_prefix(folder).is_some_and(|p| p.starts_with('/')))
        });
        let text = files.get("pack.json").map(String::as_str).unwrap_or("");
        let meta: PackMeta = serde_json::from_str(text).map_err(|err| {
            PackError::Meta(Problem { file: "pack.json".into(), line: Some(err.line()), message: err.to_string() })
        })?;
        if forms::SpaceName::parse(&meta.name).is_err() {
            return Err(PackError::Meta(Problem {
                file: "pack.json".into(),
                line: Some(Lines::of(text).line("/name")),
                message: format!("`{}` is not a valid pack name: lowercase letters, digits, - and _", meta.name),
            }));
        }
        Ok(Pack { meta, origin, files })
    }

    /// Files under `folder` with `extension`, in name order: (path, stem, text).
    fn files_in<'a>(
        &'a self,
        folder: &'a str,
        extension: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> {
        self.files.iter().filter_map(move |(path, text)| {
            let name = path.strip_prefix(folder)?.strip_prefix('/')?;
            let stem = name.strip_suffix(extension)?.strip_suffix('.')?;
            Some((path.as_str(), stem, text.as_str()))
        })
    }

    /// Files of the pack that are in no known place or have an unexpected extension.
    fn stray_files(&self) -> Vec<Problem> {
        let expected = [
            ("forms", "json"),
            ("workflows", "json"),
            ("views", "json"),
            ("dashboards", "json"),
            ("scripts", "rhai"),
            ("data", "ndjson"),
            ("tests", "json"),
        ];
        self.files
            .keys()
            .filter(|path| {
                path.as_str() != "pack.json"
                    && !expected.iter().any(|(folder, ext)| {
                        path.strip_prefix(folder).and_then(|p| p.strip_prefix('/')).is_some_and(|n| n.ends_with(&format!(".{ext}")))
                    })
            })
            .map(|path| Problem {
                file: path.clone(),
                line: None,
                message: "not part of the pack format (forms/*.json, workflows/*.json, views/*.json, dashboards/*.json, scripts/*.rhai, data/*.ndjson, tests/*.json)".into(),
            })
            .collect()
    }

    /// Every form, workflow, view and dashboard definition, forms first (the others are checked
    /// against them), with script files inlined; and the problems that stopped some from being read.
    pub fn definitions(&self) -> (Vec<Definition>, Vec<Problem>) {
        let mut definitions = Vec::new();
        let mut problems = Vec::new();
        let kinds = [
            ("forms", DefinitionKind::Form),
            ("workflows", DefinitionKind::Workflow),
            ("views", DefinitionKind::View),
            ("dashboards", DefinitionKind::Dashboard),
        ];
        for (folder, kind) in kinds {
            for (file, name, text) in self.files_in(folder, "json") {
                let mut value: Value = match serde_json::from_str(text) {
                    Ok(value) => value,
                    Err(err) => {
                        problems.push(Problem {
                            file: file.into(),
                            line: Some(err.line()),
                            message: format!("not valid JSON: {err}"),
                        });
                        continue;
                    }
                };
                let lines = std::sync::Arc::new(Lines::of(text));
                let name_ok = match kind {
                    DefinitionKind::Form | DefinitionKind::View | DefinitionKind::Dashboard => {
                        forms::FormName::parse(name).map(|_| ())
                    }
                    DefinitionKind::Workflow => forms::WorkflowName::parse(name).map(|_| ()),
                };
                if let Err(err) = name_ok {
                    problems.push(Problem { file: file.into(), line: None, message: format!("the file name: {err}") });
                    continue;
                }
                let mut scripts = Vec::new();
                self.inline_scripts(&mut value, String::new(), &mut scripts, &mut |pointer, message| {
                    problems.push(Problem { file: file.into(), line: Some(lines.line(pointer)), message });
                });
                definitions.push(Definition { kind, name: name.into(), file: file.into(), value, scripts, lines });
            }
        }
        (definitions, problems)
    }

    /// Replaces every `{"file": "scripts/x.rhai"}` in `value` by that script's text.
    fn inline_scripts(
        &self,
        value: &mut Value,
        pointer: String,
        scripts: &mut Vec<(String, String)>,
        problem: &mut dyn FnMut(&str, String),
    ) {
        if let Some(file) = script_reference(value) {
            match self.files.get(&file) {
                Some(text) if file.starts_with("scripts/") => {
                    *value = Value::String(text.clone());
                    scripts.push((pointer, file));
                }
                _ => problem(&pointer, format!("{pointer}: no script file `{file}` in the pack (scripts/*.rhai)")),
            }
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    self.inline_scripts(child, format!("{pointer}/{escaped}"), scripts, problem);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.inline_scripts(child, format!("{pointer}/{i}"), scripts, problem);
                }
            }
            _ => {}
        }
    }

    /// Script files, as (path, text).
    fn scripts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files_in("scripts", "rhai").map(|(path, _, text)| (path, text))
    }

    /// Sample data files: (path, form, text).
    fn data_files(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.files_in("data", "ndjson")
    }

    /// Test files: (path, text).
    fn test_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files_in("tests", "json").map(|(path, _, text)| (path, text))
    }
}

/// `{"file": "scripts/x.rhai"}`: an object with only a `file` key naming a `.rhai` file.
fn script_reference(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let file = map.get("file")?.as_str()?;
    file.ends_with(".rhai").then(|| file.trim_start_matches("./").to_owned())
}

/// Finds a pack by name among those built in, or reads it from a folder.
pub fn load(dir_or_name: &str) -> Result<Pack, PackError> {
    let path = Path::new(dir_or_name);
    if path.join("pack.json").is_file() || path.components().count() > 1 || path.exists() {
        return Pack::from_dir(path);
    }
    embedded(dir_or_name).ok_or_else(|| PackError::Read {
        path: dir_or_name.into(),
        message: format!(
            "no such folder, and no built-in pack of that name (built in: {})",
            embedded_names().join(", ")
        ),
    })
}
