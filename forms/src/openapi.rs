//! JSON Schema fragments describing a form's records, for the web crate to embed in its
//! OpenAPI 3.1 document. Transport-free: no paths, operations or HTTP types here.

use serde_json::{json, Map, Value};

use crate::names::FormName;
use crate::schema::CompiledForm;

/// Keywords whose values are data, not subschemas: a `$ref` key inside them is not a reference.
const DATA_KEYWORDS: &[&str] = &["const", "enum", "default", "examples"];

/// Bounds inlining of nested references (a chain of `$defs` pointing at `$defs`).
const MAX_INLINE_DEPTH: usize = 32;

/// The form's data schema, ready to be placed anywhere in an OpenAPI document.
///
/// `$schema` and `$id` are dropped. Local references (`#/$defs/...`) are inlined, because once
/// embedded, `#` would mean the OpenAPI document's root; a reference that recurses into itself
/// is replaced by `{}` (any value), which only loosens the documentation, never validation.
pub fn record_data_schema(form: &CompiledForm) -> Value {
    let root = form.data_schema();
    let mut out = inline(root, root, &mut Vec::new());
    if let Value::Object(top) = &mut out {
        top.remove("$schema");
        top.remove("$id");
        if !map_has_ref(top) {
            top.remove("$defs");
            top.remove("definitions");
        }
    }
    out
}

fn inline(root: &Value, node: &Value, stack: &mut Vec<String>) -> Value {
    match node {
        Value::Object(obj) => {
            let local =
                obj.get("$ref").and_then(Value::as_str).and_then(|r| Some((r, root.pointer(r.strip_prefix('#')?)?)));
            let mut out = Map::new();
            for (key, value) in obj {
                if key == "$ref" && local.is_some() {
                    continue;
                }
                let value =
                    if DATA_KEYWORDS.contains(&key.as_str()) { value.clone() } else { inline(root, value, stack) };
                out.insert(key.clone(), value);
            }
            let Some((reference, target)) = local else {
                return Value::Object(out);
            };
            let expanded = if stack.iter().any(|r| r == reference) || stack.len() >= MAX_INLINE_DEPTH {
                json!({})
            } else {
                stack.push(reference.to_owned());
                let expanded = inline(root, target, stack);
                stack.pop();
                expanded
            };
            if out.is_empty() {
                return expanded;
            }
            // In 2020-12 `$ref` applies alongside its siblings, which is what `allOf` says.
            match out.get_mut("allOf") {
                Some(Value::Array(all)) => all.push(expanded),
                _ => {
                    out.insert("allOf".to_owned(), Value::Array(vec![expanded]));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline(root, v, stack)).collect()),
        other => other.clone(),
    }
}

fn map_has_ref(obj: &Map<String, Value>) -> bool {
    obj.iter().any(|(key, value)| {
        (key == "$ref" && value.is_string()) || (!DATA_KEYWORDS.contains(&key.as_str()) && has_ref(value))
    })
}

fn has_ref(node: &Value) -> bool {
    match node {
        Value::Object(obj) => map_has_ref(obj),
        Value::Array(items) => items.iter().any(has_ref),
        _ => false,
    }
}

/// The schema of a stored record of `form`, whose `data` is described at `data_schema_ref`
/// (e.g. `#/components/schemas/account_data`).
pub fn record_envelope_schema(form: &FormName, data_schema_ref: &str) -> Value {
    let actor = |what: &str| json!({ "type": "string", "description": what });
    let instant = |what: &str| json!({ "type": "string", "format": "date-time", "description": what });
    json!({
        "type": "object",
        "title": format!("{form} record"),
        "required": [
            "id", "form", "version", "form_version", "data",
            "created_at", "created_by", "updated_at", "updated_by"
        ],
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "Record id (UUIDv7), assigned by the server."
            },
            "form": { "type": "string", "const": form.as_str() },
            "version": {
                "type": "integer",
                "minimum": 1,
                "description": "The record's ETag: grows by one on every write (see `If-Match`)."
            },
            "form_version": {
                "type": "integer",
                "description": "Version of the form definition the record was last written with."
            },
            "data": { "$ref": data_schema_ref },
            "stage": {
                "type": "string",
                "description": "Current pipeline stage, for forms with a pipeline."
            },
            "created_at": instant("When the record was created."),
            "created_by": actor("Who created the record."),
            "updated_at": instant("When the record was last changed."),
            "updated_by": actor("Who last changed the record."),
            "people": people_schema()
        }
    })
}

/// `people` in record answers: the users a record's person fields (`x-person`) and actors
/// (`user:<id>`) name, by user id.
pub fn people_schema() -> Value {
    json!({
        "type": "object",
        "description": "The users the record's person fields and actors name, by user id.",
        "additionalProperties": {
            "type": "object",
            "properties": { "name": { "type": "string" }, "email": { "type": "string" } }
        }
    })
}

#[cfg(test)]
mod tests;
