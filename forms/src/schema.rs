//! Compiling a form definition (every consistency check, the JSON Schema validator) and judging
//! record data with the result: validation, field types, references to other forms.

use std::fmt;
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{ValidationError, Validator};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::definition::{is_reserved_field, parse_duration, FormDef, Pipeline, RESERVED_FIELDS, UI_NOT_OBJECT};
use crate::error::{escape_pointer_token, DefinitionErrors, FieldError, ValidationErrors};
use crate::field::FieldType;
use crate::names::FormName;

/// The only dialect forms are written in.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Bounds `$ref` chains followed by field lookups, so a self-referencing `$defs` entry cannot
/// loop forever.
const MAX_REF_HOPS: usize = 32;

/// A form definition that passed every check, ready to validate records.
///
/// Cloning is cheap: the definition and the compiled validator are shared.
#[derive(Clone)]
pub struct CompiledForm {
    inner: Arc<Inner>,
}

struct Inner {
    def: FormDef,
    validator: Validator,
    /// Whether the schema marks anything `"x-ref"`: most forms don't, and their writes skip
    /// the walk that looks for references.
    has_references: bool,
    /// See [`CompiledForm::person_fields`].
    person_fields: Vec<String>,
}

impl fmt::Debug for CompiledForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledForm").field("def", &self.inner.def).finish_non_exhaustive()
    }
}

/// A string in a record that names a record of another form (`"x-ref"` in the schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// JSON pointer of the value in the record data, e.g. `/account` or `/contacts/2`.
    pub path: String,
    /// The form the value refers to.
    pub form: FormName,
    /// The referenced record's id, as written in the data.
    pub id: String,
}

impl CompiledForm {
    /// Checks `def` and compiles its schema, gathering every problem with a JSON pointer into
    /// the definition (e.g. `/schema/properties/age/minimum`, `/pipeline/initial`).
    ///
    /// rhai expressions are only checked for being non-empty; compiling them is another
    /// crate's job.
    pub fn compile(def: FormDef) -> Result<CompiledForm, DefinitionErrors> {
        let mut errors = Vec::new();
        let schema_ok = check_schema(&def.schema, &mut errors);
        if def.ui.as_ref().is_some_and(|ui| !ui.is_object()) {
            errors.push(FieldError::new("/ui", UI_NOT_OBJECT));
        }
        let view = SchemaView { root: &def.schema };
        check_indexes(&def.indexes, view, &mut errors);
        check_computed(&def, view, &mut errors);
        check_rules(&def, &mut errors);
        if let Some(pipeline) = &def.pipeline {
            check_pipeline(pipeline, view, &mut errors);
        }
        if let Some(access) = &def.access {
            crate::access::check_access(access, &|name| view.top_level(name).map(|s| view.field_type(s)), &mut errors);
        }

        // Compiling a schema that already failed a check would only repeat the complaint less
        // clearly, so the validator is built only for a schema that passed them.
        let validator = if schema_ok {
            match build_validator(&def.schema) {
                Ok(validator) => Some(validator),
                Err(err) => {
                    errors.push(build_error(&def.schema, &err));
                    None
                }
            }
        } else {
            None
        };
        dedup_in_order(&mut errors);
        match validator {
            Some(validator) if errors.is_empty() => {
                let has_references = mentions_key(&def.schema, "x-ref");
                let person_fields = person_fields(&def);
                Ok(CompiledForm { inner: Arc::new(Inner { def, validator, has_references, person_fields }) })
            }
            _ if errors.is_empty() => {
                Err(DefinitionErrors(vec![FieldError::new("/schema", "the schema could not be compiled")]))
            }
            _ => Err(DefinitionErrors(errors)),
        }
    }

    /// Judges record data, reporting every failing field (sorted by path, then message).
    ///
    /// Messages never quote the submitted values, so they are safe to log and to show to
    /// someone who did not write the data.
    pub fn validate(&self, data: &Value) -> Result<(), ValidationErrors> {
        let Value::Object(fields) = data else {
            return Err(ValidationErrors(vec![FieldError::new("", "must be an object")]));
        };
        let mut errors: Vec<FieldError> = RESERVED_FIELDS
            .iter()
            .filter(|name| fields.contains_key(**name))
            .map(|name| FieldError::new(format!("/{name}"), format!("`{name}` is a system field and cannot be set")))
            .collect();
        for err in self.inner.validator.iter_errors(data) {
            for error in describe(&err) {
                // A system field was already reported above; "not allowed" on top says nothing new.
                if !under_reserved_field(&error.path) {
                    errors.push(error);
                }
            }
        }
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.dedup();
        Err(ValidationErrors(errors))
    }

    /// The type of the field at `path`: a property name or a dotted path through nested
    /// objects (`address.city`). `None` when no such property is declared.
    pub fn field_type(&self, path: &str) -> Option<FieldType> {
        let view = self.view();
        let mut node = view.root;
        for segment in path.split('.') {
            node = view.properties(node)?.get(segment)?;
        }
        Some(view.field_type(node))
    }

    /// The top-level properties and their types, in the schema's property order.
    pub fn fields(&self) -> Vec<(String, FieldType)> {
        let view = self.view();
        view.properties(view.root)
            .map(|props| props.iter().map(|(name, s)| (name.clone(), view.field_type(s))).collect())
            .unwrap_or_default()
    }

    /// Every reference to another form's record in `data`: each string found where the schema
    /// says `"x-ref"`, walking `properties` and array `items`. Values of the wrong type are
    /// skipped; [`validate`](Self::validate) reports them.
    pub fn references(&self, data: &Value) -> Vec<Reference> {
        let mut out = Vec::new();
        if !self.inner.has_references {
            return out;
        }
        let mut pointer = String::new();
        collect_references(self.view(), self.view().root, data, &mut pointer, &mut out);
        out
    }

    /// The top-level fields that hold people (user ids), in schema order: each string
    /// property (or array of strings) marked `"x-person": true`, and the access policy's
    /// `person_field`, which holds a user id by definition.
    pub fn person_fields(&self) -> &[String] {
        &self.inner.person_fields
    }

    /// The definition this form was compiled from.
    pub fn def(&self) -> &FormDef {
        &self.inner.def
    }

    /// The indexed fields.
    pub fn indexes(&self) -> &[String] {
        &self.inner.def.indexes
    }

    /// The JSON Schema of the record data, as the admin wrote it.
    pub fn data_schema(&self) -> &Value {
        &self.inner.def.schema
    }

    fn view(&self) -> SchemaView<'_> {
        SchemaView { root: &self.inner.def.schema }
    }

    /// The schema of the top-level property `name`, as written (a `$ref` is not followed).
    pub(crate) fn property_schema(&self, name: &str) -> Option<&Value> {
        self.view().top_level(name)
    }

    /// `schema[key]` for a schema inside this form, following local `$ref`s.
    pub(crate) fn schema_lookup<'a>(&'a self, schema: &'a Value, key: &str) -> Option<&'a Value> {
        self.view().lookup(schema, key)
    }

    /// The field type a schema inside this form describes.
    pub(crate) fn schema_type(&self, schema: &Value) -> FieldType {
        SchemaView { root: &self.inner.def.schema }.field_type(schema)
    }
}

fn under_reserved_field(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or(rest);
    is_reserved_field(first)
}

/// Removes repeated errors while keeping the order in which checks found them.
fn dedup_in_order(errors: &mut Vec<FieldError>) {
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert((e.path.clone(), e.message.clone())));
}

/// Read access to a raw schema that follows local `$ref`s, so a property declared through
/// `$defs` has the same type as one written inline.
#[derive(Clone, Copy)]
struct SchemaView<'a> {
    root: &'a Value,
}

impl<'a> SchemaView<'a> {
    /// `schema[key]`, or the same key in the schema its local `$ref` points to.
    fn lookup(self, schema: &'a Value, key: &str) -> Option<&'a Value> {
        let mut node = schema;
        for _ in 0..MAX_REF_HOPS {
            if let Some(value) = node.get(key) {
                return Some(value);
            }
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = self.root.pointer(target)?;
        }
        None
    }

    fn properties(self, schema: &'a Value) -> Option<&'a Map<String, Value>> {
        self.lookup(schema, "properties")?.as_object()
    }

    fn field_type(self, schema: &'a Value) -> FieldType {
        let single = match self.lookup(schema, "type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(types)) => {
                let mut non_null = types.iter().filter_map(Value::as_str).filter(|t| *t != "null");
                match (non_null.next(), non_null.next()) {
                    (Some(t), None) => Some(t),
                    _ => None,
                }
            }
            _ => None,
        };
        match single {
            Some("string") => match self.lookup(schema, "format").and_then(Value::as_str) {
                Some("date") => FieldType::Date,
                Some("date-time") => FieldType::DateTime,
                _ => FieldType::String,
            },
            Some("number") => FieldType::Number,
            Some("integer") => FieldType::Integer,
            Some("boolean") => FieldType::Boolean,
            Some("array") => FieldType::Array,
            Some("object") => FieldType::Object,
            _ => FieldType::Any,
        }
    }

    /// A top-level property, for the checks that name one.
    fn top_level(self, name: &str) -> Option<&'a Value> {
        self.properties(self.root)?.get(name)
    }
}

fn person_fields(def: &FormDef) -> Vec<String> {
    let view = SchemaView { root: &def.schema };
    let declared = def.access.as_ref().and_then(|access| access.person_field.as_deref());
    let Some(props) = view.properties(view.root) else {
        return Vec::new();
    };
    props
        .iter()
        .filter(|(name, schema)| {
            let marked = |node: &Value| view.lookup(node, "x-person") == Some(&Value::Bool(true));
            declared == Some(name.as_str()) || marked(schema) || view.lookup(schema, "items").is_some_and(marked)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Whether an object anywhere in `schema` has the key `key`.
fn mentions_key(schema: &Value, key: &str) -> bool {
    match schema {
        Value::Object(fields) => fields.contains_key(key) || fields.values().any(|value| mentions_key(value, key)),
        Value::Array(items) => items.iter().any(|item| mentions_key(item, key)),
        _ => false,
    }
}

fn collect_references(
    view: SchemaView<'_>,
    schema: &Value,
    data: &Value,
    pointer: &mut String,
    out: &mut Vec<Reference>,
) {
    match data {
        Value::String(id) => {
            let form = view.lookup(schema, "x-ref").and_then(Value::as_str);
            if let Some(form) = form.and_then(|f| FormName::parse(f).ok()) {
                out.push(Reference { path: pointer.clone(), form, id: id.clone() });
            }
        }
        Value::Object(fields) => {
            let Some(props) = view.properties(schema) else {
                return;
            };
            for (name, sub) in props {
                if let Some(value) = fields.get(name) {
                    with_segment(pointer, &escape_pointer_token(name), |pointer| {
                        collect_references(view, sub, value, pointer, out);
                    });
                }
            }
        }
        Value::Array(values) => {
            let Some(items) = view.lookup(schema, "items") else {
                return;
            };
            for (index, value) in values.iter().enumerate() {
                with_segment(pointer, &index.to_string(), |pointer| {
                    collect_references(view, items, value, pointer, out);
                });
            }
        }
        _ => {}
    }
}

/// Runs `f` with `segment` appended to `pointer`, then restores it; saves an allocation per
/// level of a deep walk.
fn with_segment(pointer: &mut String, segment: &str, f: impl FnOnce(&mut String)) {
    let len = pointer.len();
    pointer.push('/');
    pointer.push_str(segment);
    f(pointer);
    pointer.truncate(len);
}

fn pointer_join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}

// ---------------------------------------------------------------------------------------------
// Definition checks. Each pushes errors with pointers into the definition document.
// ---------------------------------------------------------------------------------------------

/// Checks the schema itself. Returns whether it is fit to hand to the JSON Schema compiler.
fn check_schema(schema: &Value, errors: &mut Vec<FieldError>) -> bool {
    let Value::Object(root) = schema else {
        errors.push(FieldError::new("/schema", "must be a JSON Schema object"));
        return false;
    };
    let before = errors.len();
    if root.get("type") != Some(&Value::String("object".into())) {
        errors.push(FieldError::new("/schema/type", "must be \"object\": a record is an object"));
    }
    match root.get("properties") {
        Some(Value::Object(props)) => {
            for name in props.keys().filter(|name| is_reserved_field(name)) {
                errors.push(FieldError::new(
                    pointer_join("/schema/properties", name),
                    format!("`{name}` is a system field of every record and cannot be declared"),
                ));
            }
        }
        Some(_) => errors.push(FieldError::new("/schema/properties", "must be an object")),
        None => errors.push(FieldError::new("/schema/properties", "is required")),
    }
    if let Some(dialect) = root.get("$schema") {
        if dialect.as_str().map(|d| d.trim_end_matches('#')) != Some(DRAFT_2020_12) {
            errors.push(FieldError::new(
                "/schema/$schema",
                format!("only JSON Schema 2020-12 is supported (`{DRAFT_2020_12}`)"),
            ));
        }
    }
    let meta = jsonschema::draft202012::meta::validator();
    for err in meta.iter_errors(schema) {
        errors.push(FieldError::new(format!("/schema{}", err.instance_path().as_str()), meta_message(&err)));
    }
    let mut local_refs = Vec::new();
    let mut nested_id = false;
    walk_subschemas(schema, &mut "/schema".to_owned(), &mut |node, pointer| {
        check_keywords(node, pointer, errors);
        nested_id |= pointer != "/schema" && node.contains_key("$id");
        if let Some(Value::String(target)) = node.get("$ref") {
            local_refs.push((pointer_join(pointer, "$ref"), target.clone()));
        }
    });
    // A nested `$id` starts a new resource that `#/...` is then relative to, and `%` escapes
    // need URI decoding: both cases are left to the compiler, whose message is vaguer.
    if !nested_id {
        for (at, target) in local_refs {
            let Some(fragment) = target.strip_prefix('#') else {
                continue;
            };
            let is_pointer = fragment.is_empty() || fragment.starts_with('/');
            if is_pointer && !fragment.contains('%') && schema.pointer(fragment).is_none() {
                errors.push(FieldError::new(at, format!("`{target}` does not point at anything in this schema")));
            }
        }
    }
    errors.len() == before
}

/// The per-subschema checks: references stay inside the form, `x-ref` names a form.
fn check_keywords(node: &Map<String, Value>, pointer: &str, errors: &mut Vec<FieldError>) {
    for keyword in ["$ref", "$dynamicRef"] {
        let Some(Value::String(target)) = node.get(keyword) else {
            continue;
        };
        if target.starts_with('#') {
            continue;
        }
        let kind = if target.contains("://") || target.starts_with("file:") {
            "remote references are not allowed"
        } else {
            "references outside this form are not allowed"
        };
        errors.push(FieldError::new(
            pointer_join(pointer, keyword),
            format!(
                "`{target}`: {kind}; a form can only point into its own schema \
                 (e.g. `#/$defs/address`)"
            ),
        ));
    }
    if let Some(person) = node.get("x-person") {
        let string_typed = matches!(node.get("type"), Some(Value::String(t)) if t == "string")
            || matches!(node.get("type"), Some(Value::Array(ts)) if ts.iter().any(|t| t == "string"));
        if person != &Value::Bool(true) && person != &Value::Bool(false) {
            errors.push(FieldError::new(pointer_join(pointer, "x-person"), "must be true or false"));
        } else if person == &Value::Bool(true) && !string_typed {
            errors.push(FieldError::new(
                pointer_join(pointer, "x-person"),
                "a person field must be of type string: it holds a user id",
            ));
        }
    }
    if let Some(target) = node.get("x-ref") {
        let problem = match target.as_str() {
            Some(name) => FormName::parse(name).err().map(|e| e.to_string()),
            None => Some("must be the name of a form".to_owned()),
        };
        if let Some(message) = problem {
            errors.push(FieldError::new(pointer_join(pointer, "x-ref"), message));
        }
    }
}

/// Calls `visit` on every subschema object of `schema` (itself included) with its pointer.
///
/// Walks keywords, not raw JSON: values of `const`, `enum`, `default` or `examples` are data,
/// and a property *named* `$ref` is not a reference.
fn walk_subschemas(schema: &Value, pointer: &mut String, visit: &mut dyn FnMut(&Map<String, Value>, &str)) {
    let Value::Object(node) = schema else { return };
    visit(node, pointer);
    for (keyword, value) in node {
        let token = escape_pointer_token(keyword);
        match keyword.as_str() {
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                let Value::Object(named) = value else {
                    continue;
                };
                for (name, sub) in named {
                    let segment = format!("{token}/{}", escape_pointer_token(name));
                    with_segment(pointer, &segment, |p| walk_subschemas(sub, p, visit));
                }
            }
            "prefixItems" | "allOf" | "anyOf" | "oneOf" => {
                let Value::Array(subs) = value else { continue };
                for (index, sub) in subs.iter().enumerate() {
                    let segment = format!("{token}/{index}");
                    with_segment(pointer, &segment, |p| walk_subschemas(sub, p, visit));
                }
            }
            "items"
            | "additionalProperties"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "propertyNames"
            | "contains"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contentSchema" => {
                with_segment(pointer, &token, |p| walk_subschemas(value, p, visit));
            }
            _ => {}
        }
    }
}

/// A meta-schema failure in words an admin can act on.
fn meta_message(err: &ValidationError<'_>) -> String {
    let mut segments = err.instance_path().as_str().rsplit('/');
    let last = segments.next();
    let parent = segments.next();
    let names_a_property = matches!(parent, Some("properties" | "$defs" | "patternProperties"));
    if last == Some("type") && !names_a_property && matches!(err.kind(), ValidationErrorKind::AnyOf { .. }) {
        return "must be one of \"string\", \"number\", \"integer\", \"boolean\", \"object\", \
                \"array\", \"null\", or a list of them"
            .to_owned();
    }
    err.to_string()
}

pub(crate) fn build_validator(schema: &Value) -> Result<Validator, ValidationError<'static>> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        // A misspelt format would otherwise be silently unenforced.
        .should_ignore_unknown_formats(false)
        // Belt and braces: the reference check above already refused anything non-local.
        .offline()
        .build(schema)
}

/// Formats jsonschema knows with the crate's features as built (no `idn-*`: that needs `idna`).
const KNOWN_FORMATS: &str = "date, date-time, time, duration, email, hostname, ipv4, ipv6, uri, \
    uri-reference, uri-template, iri, iri-reference, uuid, json-pointer, relative-json-pointer, regex";

pub(crate) fn build_error(schema: &Value, err: &ValidationError<'_>) -> FieldError {
    let at = err.instance_path().as_str();
    let path = format!("/schema{at}");
    let message = err.to_string();
    if message.starts_with("Unknown format") {
        if let Some(format) = schema.pointer(at).and_then(Value::as_str) {
            return FieldError::new(path, format!("`{format}` is not a known format; use one of {KNOWN_FORMATS}"));
        }
    }
    FieldError::new(path, message)
}

fn check_indexes(indexes: &[String], view: SchemaView<'_>, errors: &mut Vec<FieldError>) {
    for (i, name) in indexes.iter().enumerate() {
        let path = format!("/indexes/{i}");
        if indexes[..i].contains(name) {
            errors.push(FieldError::new(path, format!("`{name}` is listed more than once")));
            continue;
        }
        match view.top_level(name) {
            None => errors.push(FieldError::new(path, format!("`{name}` is not a top-level property of the schema"))),
            Some(schema) => {
                let ty = view.field_type(schema);
                if !ty.is_indexable() {
                    errors.push(FieldError::new(
                        path,
                        format!(
                            "`{name}` cannot be indexed: only single-typed scalar fields \
                             (string, number, integer, boolean, date, date-time) can, \
                             and its type is {}",
                            type_label(ty)
                        ),
                    ));
                }
            }
        }
    }
}

fn type_label(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Number => "number",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::DateTime => "date-time",
        FieldType::Array => "array",
        FieldType::Object => "object",
        FieldType::Any => "unspecified or mixed",
    }
}

fn check_computed(def: &FormDef, view: SchemaView<'_>, errors: &mut Vec<FieldError>) {
    for (name, field) in &def.computed {
        let path = pointer_join("/computed", name);
        if view.top_level(name).is_none() {
            errors.push(FieldError::new(path.clone(), format!("`{name}` is not a top-level property of the schema")));
        }
        if field.expr.trim().is_empty() {
            errors.push(FieldError::new(format!("{path}/expr"), "must not be empty"));
        }
    }
}

fn check_rules(def: &FormDef, errors: &mut Vec<FieldError>) {
    for (i, rule) in def.rules.iter().enumerate() {
        if rule.expr.trim().is_empty() {
            errors.push(FieldError::new(format!("/rules/{i}/expr"), "must not be empty"));
        }
        if rule.message.trim().is_empty() {
            errors.push(FieldError::new(format!("/rules/{i}/message"), "must not be empty"));
        }
        if let Err(problem) = check_pointer_syntax(&rule.path) {
            errors.push(FieldError::new(format!("/rules/{i}/path"), problem));
        }
    }
}

/// RFC 6901 syntax: empty, or `/`-separated tokens where `~` only starts `~0` or `~1`.
fn check_pointer_syntax(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(format!("`{pointer}` is not a JSON pointer: it must be empty or start with `/` (e.g. `/name`)"));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!("`{pointer}` is not a JSON pointer: `~` must be followed by 0 or 1"));
        }
    }
    Ok(())
}

fn check_pipeline(pipeline: &Pipeline, view: SchemaView<'_>, errors: &mut Vec<FieldError>) {
    let field = &pipeline.field;
    match view.top_level(field) {
        None => errors
            .push(FieldError::new("/pipeline/field", format!("`{field}` is not a top-level property of the schema"))),
        Some(schema) => {
            if view.field_type(schema) != FieldType::String {
                errors.push(FieldError::new(
                    "/pipeline/field",
                    format!("`{field}` must be a string property to hold the stage"),
                ));
            }
            check_stages_allowed_by_enum(pipeline, view.lookup(schema, "enum"), errors);
        }
    }

    if pipeline.stages.iter().any(|stage| !stage.checklist.is_empty()) {
        let checklist = pipeline.checklist_field();
        let declared = view.top_level(checklist).map(|schema| view.field_type(schema));
        if declared != Some(FieldType::Object) {
            errors.push(FieldError::new(
                "/pipeline/checklist_field",
                format!(
                    "stages have checklists, so `{checklist}` must be a top-level object property of the schema \
                     (it holds {{\"<item id>\": true}} for each item done)"
                ),
            ));
        }
    }

    if pipeline.stages.is_empty() {
        errors.push(FieldError::new("/pipeline/stages", "must list at least one stage"));
    }
    for (i, stage) in pipeline.stages.iter().enumerate() {
        let at = format!("/pipeline/stages/{i}");
        if stage.name.trim().is_empty() {
            errors.push(FieldError::new(format!("{at}/name"), "must not be empty"));
        } else if pipeline.stages[..i].iter().any(|s| s.name == stage.name) {
            errors.push(FieldError::new(
                format!("{at}/name"),
                format!("stage `{}` is declared more than once", stage.name),
            ));
        }
        if let Some(sla) = &stage.sla {
            if let Err(problem) = parse_duration(sla) {
                errors.push(FieldError::new(format!("{at}/sla"), problem));
            }
        }
        if let Some(from) = &stage.sla_from {
            let kind = view.top_level(from).map(|schema| view.field_type(schema));
            if !matches!(kind, Some(FieldType::Date | FieldType::DateTime)) {
                errors.push(FieldError::new(
                    format!("{at}/sla_from"),
                    format!("`{from}` must be a top-level date or date-time property of the schema"),
                ));
            } else if stage.sla.is_none() {
                errors.push(FieldError::new(format!("{at}/sla_from"), "the stage has no `sla` to count from it"));
            }
        }
        for (j, item) in stage.checklist.iter().enumerate() {
            let item_at = format!("{at}/checklist/{j}");
            if item.id.trim().is_empty() {
                errors.push(FieldError::new(item_at, "the checklist item id must not be empty"));
            } else if stage.checklist[..j].iter().any(|other| other.id == item.id) {
                errors.push(FieldError::new(
                    item_at,
                    format!("checklist item `{}` appears more than once in this stage", item.id),
                ));
            }
        }
    }

    let unknown_stage = |name: &str| pipeline.stage(name).is_none();
    if let Some(initial) = pipeline.initial.as_deref().filter(|n| unknown_stage(n)) {
        errors.push(FieldError::new("/pipeline/initial", format!("`{initial}` is not a stage of this pipeline")));
    }
    for (from, targets) in &pipeline.transitions {
        let at = pointer_join("/pipeline/transitions", from);
        if unknown_stage(from) {
            errors.push(FieldError::new(at.clone(), format!("`{from}` is not a stage of this pipeline")));
        }
        for (j, to) in targets.iter().enumerate().filter(|(_, to)| unknown_stage(to)) {
            errors.push(FieldError::new(format!("{at}/{j}"), format!("`{to}` is not a stage of this pipeline")));
        }
    }
}

/// A stage the field's `enum` forbids could never be stored, so the pipeline would jam there.
fn check_stages_allowed_by_enum(pipeline: &Pipeline, allowed: Option<&Value>, errors: &mut Vec<FieldError>) {
    let Some(Value::Array(allowed)) = allowed else {
        return;
    };
    for (i, stage) in pipeline.stages.iter().enumerate() {
        if !allowed.iter().any(|v| v.as_str() == Some(stage.name.as_str())) {
            errors.push(FieldError::new(
                format!("/pipeline/stages/{i}/name"),
                format!(
                    "stage `{}` is not in the `enum` of `{}`, so no record could be in it",
                    stage.name, pipeline.field
                ),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Record validation messages.
// ---------------------------------------------------------------------------------------------

/// One jsonschema failure as field errors: `required` and `additionalProperties` name the
/// property itself rather than the object holding it, since that is what a form highlights.
pub(crate) fn describe(err: &ValidationError<'_>) -> Vec<FieldError> {
    let at = err.instance_path().as_str();
    let here = |message: String| vec![FieldError::new(at, message)];
    match err.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
            vec![FieldError::new(pointer_join(at, &name), "is required")]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| FieldError::new(pointer_join(at, name), "is not a field of this form"))
            .collect(),
        ValidationErrorKind::Type { kind } => here(format!("must be {}", type_words(kind))),
        ValidationErrorKind::Format { format } => here(format_message(format)),
        ValidationErrorKind::Enum { options } => here(match options.as_array() {
            Some(options) => format!("must be one of: {}", join_json(options)),
            None => "is not one of the allowed values".to_owned(),
        }),
        ValidationErrorKind::Constant { expected_value } => here(format!("must be {expected_value}")),
        ValidationErrorKind::MinLength { limit } => {
            here(format!("must be at least {limit} character{}", plural(*limit)))
        }
        ValidationErrorKind::MaxLength { limit } => {
            here(format!("must be at most {limit} character{}", plural(*limit)))
        }
        ValidationErrorKind::Minimum { limit } => here(format!("must be at least {limit}")),
        ValidationErrorKind::Maximum { limit } => here(format!("must be at most {limit}")),
        ValidationErrorKind::ExclusiveMinimum { limit } => here(format!("must be greater than {limit}")),
        ValidationErrorKind::ExclusiveMaximum { limit } => here(format!("must be less than {limit}")),
        ValidationErrorKind::MultipleOf { multiple_of } => here(format!("must be a multiple of {multiple_of}")),
        ValidationErrorKind::MinItems { limit } => here(format!("must have at least {limit} item{}", plural(*limit))),
        ValidationErrorKind::MaxItems { limit } => here(format!("must have at most {limit} item{}", plural(*limit))),
        ValidationErrorKind::UniqueItems => here("must not contain duplicate items".to_owned()),
        ValidationErrorKind::Pattern { pattern } => here(format!("must match the pattern `{pattern}`")),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            here("does not match any of the allowed alternatives".to_owned())
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            here("matches more than one alternative but must match exactly one".to_owned())
        }
        ValidationErrorKind::Not { .. } | ValidationErrorKind::FalseSchema => here("is not allowed".to_owned()),
        ValidationErrorKind::Contains => here("must contain at least one item of the expected kind".to_owned()),
        // `masked` keeps the submitted value (possibly personal data) out of the message.
        _ => here(err.masked().to_string()),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn join_json(values: &[Value]) -> String {
    values.iter().map(Value::to_string).collect::<Vec<_>>().join(", ")
}

fn type_words(kind: &TypeKind) -> String {
    fn one(name: &str) -> String {
        match name {
            "null" => "null".to_owned(),
            "integer" | "object" | "array" => format!("an {name}"),
            _ => format!("a {name}"),
        }
    }
    match kind {
        TypeKind::Single(ty) => one(&ty.to_string()),
        TypeKind::Multiple(types) => {
            let words: Vec<String> = types.iter().map(|t| one(&t.to_string())).collect();
            words.join(" or ")
        }
    }
}

fn format_message(format: &str) -> String {
    match format {
        "date" => "must be a date (YYYY-MM-DD)".to_owned(),
        "date-time" => "must be a date and time with a time zone (RFC 3339, e.g. 2024-05-01T09:30:00Z)".to_owned(),
        "time" => "must be a time with a time zone (e.g. 09:30:00Z)".to_owned(),
        "email" => "must be an email address".to_owned(),
        "uri" => "must be an absolute URI (e.g. https://example.com)".to_owned(),
        "uuid" => "must be a UUID".to_owned(),
        other => format!("must be a valid `{other}`"),
    }
}

#[cfg(test)]
mod tests;
