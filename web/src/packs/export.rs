//! A space's definitions as a pack: `pack.json`, `forms/`, `workflows/`, `views/` (the shared
//! views) and `dashboards/`, each the latest version as the API would take it back, so the
//! pack passes `tend pack check` and installs elsewhere into the same definitions. Records are
//! not exported (a space's data is not sample data: `tend export` takes records), nor are
//! webhook endpoints and inbound hooks, whose secrets are the space's own.
//!
//! The pack travels as a zip (`GET /api/v1/spaces/{space}/pack`) whose entries sit under one
//! folder named after the space; `tend pack export` unpacks it into a folder.

use std::collections::BTreeMap;
use std::io::{Cursor, Read as _, Write as _};
use std::path::{Component, Path};

use anyhow::{bail, Context};
use engine::{Actor, Engine, EngineError, SpaceName};
use serde::Serialize;
use serde_json::{json, Value};

use super::Pack;

/// The pack of `space`'s definitions.
pub fn export(engine: &Engine, space: &SpaceName) -> Result<Pack, EngineError> {
    let space = engine.space(space)?;
    let mut files = BTreeMap::new();
    let description = match &space.template {
        Some(template) => format!("Exported from space `{}`, made from the `{}` pack.", space.name, template.name),
        None => format!("Exported from space `{}`.", space.name),
    };
    let version = space.template.as_ref().map_or_else(|| "1.0.0".to_owned(), |t| t.version.clone());
    let meta = json!({ "name": space.name, "title": space.title, "description": description, "version": version });
    files.insert("pack.json".to_owned(), pretty(&meta)?);
    for form in engine.forms(&space.name)? {
        files.insert(format!("forms/{}.json", form.name), pretty(&form.definition)?);
        // Shared views only: a personal view is its owner's, not the space's.
        let anyone = Actor(String::new());
        for view in engine.views(&anyone, &space.name, &form.name)?.into_iter().filter(|v| v.definition.shared) {
            let mut value = serde_json::to_value(&view.definition).map_err(encoding)?;
            if let Some(object) = value.as_object_mut() {
                object.remove("shared");
                object.insert("form".into(), Value::String(view.form.to_string()));
            }
            let mut path = format!("views/{}.json", view.name);
            if files.contains_key(&path) {
                path = format!("views/{}-{}.json", view.form, view.name);
            }
            files.insert(path, pretty(&value)?);
        }
    }
    for workflow in engine.workflows(&space.name)? {
        files.insert(format!("workflows/{}.json", workflow.name), pretty(&workflow.definition)?);
    }
    for dashboard in engine.dashboards(&space.name)? {
        files.insert(format!("dashboards/{}.json", dashboard.name), pretty(&dashboard.definition)?);
    }
    Pack::from_files(format!("space {}", space.name), files).map_err(|err| EngineError::Internal(err.to_string()))
}

fn pretty(value: &impl Serialize) -> Result<String, EngineError> {
    let mut text = serde_json::to_string_pretty(value).map_err(encoding)?;
    text.push('\n');
    Ok(text)
}

fn encoding(err: serde_json::Error) -> EngineError {
    EngineError::Internal(format!("encoding a definition: {err}"))
}

impl Pack {
    /// The pack as a zip, its files under a folder named after it.
    pub fn to_zip(&self) -> anyhow::Result<Vec<u8>> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (path, text) in &self.files {
            zip.start_file(format!("{}/{path}", self.meta.name), options)?;
            zip.write_all(text.as_bytes())?;
        }
        Ok(zip.finish()?.into_inner())
    }

    /// Reads a zip made by [`Pack::to_zip`]: every entry must sit under one folder, inside it.
    pub fn from_zip(origin: String, bytes: &[u8]) -> anyhow::Result<Pack> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip archive")?;
        let mut files = BTreeMap::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i)?;
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().map_or_else(|_| format!("entry {i}"), |name| name.to_string());
            let Some(path) = entry.enclosed_name() else { bail!("{name}: a path outside the archive") };
            let mut parts = path.components().filter_map(|c| match c {
                Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                _ => None,
            });
            parts.next();
            let relative = parts.collect::<Vec<_>>().join("/");
            let mut text = String::new();
            entry.read_to_string(&mut text).with_context(|| format!("{name}: not UTF-8 text"))?;
            files.insert(relative, text);
        }
        Pack::from_files(origin, files).map_err(|err| anyhow::anyhow!("{err}"))
    }

    /// Writes the pack's files into `dir`, which must not exist yet or be empty.
    pub fn write_dir(&self, dir: &Path) -> anyhow::Result<()> {
        if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
            bail!("{} is not empty", dir.display());
        }
        for (path, text) in &self.files {
            let target = dir.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
        }
        Ok(())
    }

    /// What a gallery shows of a pack: its `pack.json`, and the title of each form, workflow,
    /// dashboard and view it brings, and how many sample records.
    pub fn summary(&self) -> Value {
        let (definitions, _) = self.definitions();
        let of = |kind: super::DefinitionKind| -> Vec<Value> {
            definitions
                .iter()
                .filter(|d| d.kind == kind)
                .map(|d| json!({ "name": d.name, "title": d.value.get("title").and_then(Value::as_str) }))
                .collect()
        };
        let records: usize =
            self.data_files().map(|(_, _, text)| text.lines().filter(|line| !line.trim().is_empty()).count()).sum();
        json!({
            "name": self.meta.name, "title": self.meta.title, "description": self.meta.description,
            "version": self.meta.version,
            "forms": of(super::DefinitionKind::Form), "workflows": of(super::DefinitionKind::Workflow),
            "dashboards": of(super::DefinitionKind::Dashboard), "views": of(super::DefinitionKind::View),
            "sample_records": records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_goes_through_a_zip_unchanged() {
        let pack = super::super::embedded("support-desk").expect("built in");
        let zip = pack.to_zip().expect("zipped");
        let back = Pack::from_zip("zip".into(), &zip).expect("read back");
        assert_eq!(back.files, pack.files);
        assert_eq!(back.meta.name, "support-desk");
    }

    #[test]
    fn a_zip_reaching_outside_its_folder_is_refused() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("../evil/pack.json", zip::write::SimpleFileOptions::default()).expect("entry");
        zip.write_all(b"{}").expect("written");
        let bytes = zip.finish().expect("finished").into_inner();
        let refused = Pack::from_zip("zip".into(), &bytes).expect_err("refused");
        assert!(refused.to_string().contains("outside"), "{refused}");
    }

    #[test]
    fn a_summary_lists_what_a_pack_brings() {
        let summary = super::super::embedded("support-desk").expect("built in").summary();
        assert_eq!(summary["name"], "support-desk");
        assert!(summary["forms"].as_array().expect("forms").iter().any(|f| f["name"] == "ticket"));
        assert!(summary["workflows"].as_array().expect("workflows").len() >= 5);
        assert!(summary["sample_records"].as_u64().expect("count") > 0);
    }
}
