//! Form definitions and records the tests share: a CS `account` form shaped like the real pack.

use serde_json::{json, Value};

/// An account form: indexed health/tier/renewal_date/name, formats, a reference-free schema.
pub fn account_form() -> Value {
    json!({
        "title": "Account",
        "schema": {
            "type": "object",
            "required": ["name", "tier"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "minLength": 1 },
                "tier": { "type": "string", "enum": ["starter", "growth", "enterprise"] },
                "health": { "type": "integer", "minimum": 0, "maximum": 100 },
                "arr": { "type": "number", "minimum": 0 },
                "owner": { "type": "string", "format": "email" },
                "website": { "type": "string", "format": "uri" },
                "renewal_date": { "type": "string", "format": "date" },
                "last_contact_at": { "type": "string", "format": "date-time" },
                "tags": { "type": "array", "items": { "type": "string" } }
            }
        },
        "ui": { "list_columns": ["name", "tier", "health", "renewal_date"] },
        "indexes": ["health", "tier", "renewal_date", "name"]
    })
}

/// A contact form whose `account` points at an account record.
pub fn contact_form() -> Value {
    json!({
        "schema": {
            "type": "object",
            "required": ["name", "account"],
            "properties": {
                "name": { "type": "string" },
                "email": { "type": "string", "format": "email" },
                "account": { "type": "string", "x-ref": "account" }
            }
        }
    })
}

/// A valid account.
pub fn account(name: &str, tier: &str, health: i64) -> Value {
    json!({ "name": name, "tier": tier, "health": health, "arr": 12000.5, "owner": "csm@example.com",
            "renewal_date": "2027-03-01" })
}
