//! JSON Schemas for bodies that are not records (what outside systems post to inbound hooks):
//! compiled with the same dialect and options as forms, failures reported the same way.

use std::fmt;

use jsonschema::Validator;
use serde_json::Value;

use crate::error::{DefinitionErrors, FieldError, ValidationErrors};
use crate::schema::{build_error, build_validator, describe};

/// A compiled JSON Schema (2020-12, no remote references) for arbitrary JSON bodies.
pub struct PayloadSchema {
    validator: Validator,
}

impl fmt::Debug for PayloadSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadSchema").finish_non_exhaustive()
    }
}

impl PayloadSchema {
    /// Compiles `schema`; a problem is reported at its pointer under `/schema`.
    pub fn compile(schema: &Value) -> Result<PayloadSchema, DefinitionErrors> {
        if !schema.is_object() {
            return Err(DefinitionErrors(vec![FieldError::new("/schema", "must be a JSON Schema object")]));
        }
        build_validator(schema)
            .map(|validator| PayloadSchema { validator })
            .map_err(|err| DefinitionErrors(vec![build_error(schema, &err)]))
    }

    /// Judges a body, reporting every failure (sorted by path, then message).
    pub fn validate(&self, body: &Value) -> Result<(), ValidationErrors> {
        let mut errors: Vec<FieldError> = self.validator.iter_errors(body).flat_map(|err| describe(&err)).collect();
        if errors.is_empty() {
            return Ok(());
        }
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.dedup();
        Err(ValidationErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_are_judged_with_every_failure() {
        let schema = json!({ "type": "object", "required": ["account", "score"], "properties": {
            "account": { "type": "string", "format": "uuid" }, "score": { "type": "integer", "minimum": 0 } } });
        let compiled = PayloadSchema::compile(&schema).expect("compiles");
        compiled.validate(&json!({ "account": "0190f6b0-0000-7000-8000-000000000000", "score": 3 })).expect("valid");
        let errors = compiled.validate(&json!({ "score": -1 })).expect_err("invalid").0;
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/account", "/score"]);
        assert!(PayloadSchema::compile(&json!({ "type": "nope" })).is_err());
        assert!(PayloadSchema::compile(&json!({ "$ref": "https://example.com/s.json" })).is_err());
    }
}
