//! Exports: a form's records, filtered and sorted like a list, written as CSV, NDJSON or XLSX and
//! streamed page by page, so neither the server nor the client holds the whole file.
//!
//! The columns are `id`, the form's fields (in `ui.order`, then schema order, or the `fields`
//! asked for) and the record's system fields; headers are field names, so an export imports back
//! unchanged. The first page is read before anything is sent: a bad filter, sort or field is a
//! problem document, not a truncated file.

use std::io;

use engine::policy::Policy;
use engine::{Access, Engine, EngineError, FormName, ListQuery, Record, SpaceName, MAX_LIMIT};
use forms::{CompiledForm, FieldError, FieldType};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::tabular::{ExportColumn, FileFormat, TableWriter};

/// System fields that follow the form's own fields, with their types.
const SYSTEM_COLUMNS: &[(&str, FieldType)] = &[
    ("version", FieldType::Integer),
    ("created_at", FieldType::DateTime),
    ("created_by", FieldType::String),
    ("updated_at", FieldType::DateTime),
    ("updated_by", FieldType::String),
];

/// How many chunks may wait for a slow client before reading pauses.
const CHUNKS_IN_FLIGHT: usize = 4;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// Filter expression, as for a list.
    pub filter: Option<String>,
    /// Sort spec, as for a list.
    pub sort: Option<String>,
    /// The file format.
    pub format: FileFormat,
    /// The columns, by name (`id`, fields, system fields); all of them when `None`.
    pub fields: Option<Vec<String>>,
}

/// Why an export could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The engine refused the query (unknown form, bad filter or sort...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// `fields` names columns that don't exist.
    #[error("unknown export column(s)")]
    UnknownFields(Vec<FieldError>),
    /// The writer failed (a temporary file for XLSX).
    #[error(transparent)]
    Write(#[from] crate::tabular::WriteError),
}

/// The media type and file extension of a format.
pub fn media_type(format: FileFormat) -> (&'static str, &'static str) {
    match format {
        FileFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        FileFormat::Ndjson => ("application/x-ndjson", "ndjson"),
        FileFormat::Xlsx => ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    }
}

/// Starts an export: checks the request, reads the first page, and returns the receiving end
/// of the file's chunks, fed by a blocking task that reads the following pages as the client
/// takes them.
pub fn start(
    engine: Engine,
    access: Access,
    space: SpaceName,
    form: FormName,
    request: ExportRequest,
) -> Result<mpsc::Receiver<io::Result<Vec<u8>>>, ExportError> {
    let loaded = engine.loaded_form(&space, &form)?;
    let policy = Policy::new(loaded.compiled.def(), &access);
    let columns = columns(&loaded.compiled, &policy, request.fields.as_deref())?;
    let mut query = ListQuery { filter: request.filter, sort: request.sort, limit: Some(MAX_LIMIT), cursor: None };
    let first = engine.list_records(&access, &space, &form, &query)?;
    let mut writer = TableWriter::new(request.format, columns)?;
    let (sender, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut page = first;
        loop {
            for record in &page.items {
                if let Err(err) = writer.write_row(&row(record)) {
                    let _ = sender.blocking_send(Err(io::Error::other(err)));
                    return;
                }
            }
            let chunk = writer.take_ready().map_err(io::Error::other);
            if !chunk.as_ref().is_ok_and(Vec::is_empty) && sender.blocking_send(chunk).is_err() {
                return; // The client went away.
            }
            let Some(cursor) = page.next_cursor.take() else {
                break;
            };
            query.cursor = Some(cursor);
            page = match engine.list_records(&access, &space, &form, &query) {
                Ok(page) => page,
                Err(err) => {
                    // Headers are gone already: all that can be done is end the body with an
                    // error, so the client sees a broken transfer rather than a short file.
                    tracing::warn!(%space, %form, error = %err, "export stopped");
                    let _ = sender.blocking_send(Err(io::Error::other(err.to_string())));
                    return;
                }
            };
        }
        let _ = sender.blocking_send(writer.finish().map_err(io::Error::other));
    });
    Ok(receiver)
}

/// The columns of an export of `form`: `wanted` in the order given, or every column the
/// caller's policy shows (a hidden field is no column: asking for one is refused naming it).
fn columns(
    form: &CompiledForm,
    policy: &Policy<'_>,
    wanted: Option<&[String]>,
) -> Result<Vec<ExportColumn>, ExportError> {
    let mut all = vec![ExportColumn { name: "id".into(), kind: FieldType::String }];
    let fields = form.fields();
    let order: Vec<&str> = form
        .def()
        .ui
        .as_ref()
        .and_then(|ui| ui.get("order"))
        .and_then(Value::as_array)
        .map(|order| order.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ordered = order.iter().filter_map(|name| fields.iter().find(|(field, _)| field == name));
    let rest = fields.iter().filter(|(field, _)| !order.contains(&field.as_str()));
    let visible = ordered.chain(rest).filter(|(name, _)| !policy.is_hidden(name));
    all.extend(visible.map(|(name, kind)| ExportColumn { name: name.clone(), kind: *kind }));
    all.extend(SYSTEM_COLUMNS.iter().map(|(name, kind)| ExportColumn { name: (*name).to_owned(), kind: *kind }));
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    policy.check_readable(wanted.iter().map(|name| (name.as_str(), format!("/fields/{name}"))))?;
    let mut chosen = Vec::with_capacity(wanted.len());
    let mut unknown = Vec::new();
    for name in wanted {
        match all.iter().find(|c| c.name == *name) {
            Some(column) => chosen.push(column.clone()),
            None => unknown.push(FieldError::new(format!("/fields/{name}"), "no such field or system field")),
        }
    }
    if unknown.is_empty() {
        Ok(chosen)
    } else {
        Err(ExportError::UnknownFields(unknown))
    }
}

/// A record as one flat object: its data beside its id and system fields, each written as the
/// API writes it. (A pipeline's stage is a data field already.)
fn row(record: &Record) -> Map<String, Value> {
    let Ok(Value::Object(mut envelope)) = serde_json::to_value(record) else {
        return Map::new();
    };
    let mut row = match envelope.remove("data") {
        Some(Value::Object(data)) => data,
        _ => Map::new(),
    };
    for (name, _) in SYSTEM_COLUMNS.iter().chain(&[("id", FieldType::String)]) {
        if let Some(value) = envelope.remove(*name) {
            row.insert((*name).to_owned(), value);
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use engine::{Access, EngineError, SpaceRole};
    use forms::{CompiledForm, FormDef};
    use serde_json::json;

    use super::*;

    fn form() -> CompiledForm {
        let def = json!({
            "schema": { "type": "object", "properties": {
                "name": { "type": "string" }, "csm": { "type": "string" }, "notes": { "type": "string" } } },
            "ui": { "order": ["notes", "name"] },
            "access": { "person_field": "csm", "roles": { "member": { "records": "own", "fields": { "notes": "hidden" } } } }
        });
        CompiledForm::compile(FormDef::from_json(&def).expect("shape")).expect("form")
    }

    fn names(columns: &[ExportColumn]) -> Vec<&str> {
        columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// A hidden field is no column of a restricted caller's export, and asking for it is
    /// refused naming it; others get every column.
    #[test]
    fn hidden_fields_are_no_export_columns() {
        let form = form();
        let member =
            Access { user_id: Some("ann".into()), role: Some(SpaceRole::Member), team_members: BTreeSet::new() };
        let policy = Policy::new(form.def(), &member);
        let shown = columns(&form, &policy, None).expect("columns");
        assert_eq!(&names(&shown)[..3], ["id", "name", "csm"]);
        assert!(!names(&shown).contains(&"notes"));
        let wanted = ["name".to_owned(), "notes".to_owned()];
        match columns(&form, &policy, Some(&wanted)) {
            Err(ExportError::Engine(err @ EngineError::Forbidden { .. })) => {
                assert_eq!(err.field_errors()[0].path, "/fields/notes");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let everything = Access::unrestricted();
        let all = columns(&form, &Policy::new(form.def(), &everything), None).expect("columns");
        assert_eq!(&names(&all)[..4], ["id", "notes", "name", "csm"]);
    }
}
