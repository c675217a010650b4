//! Which of the script variables a compiled script reads, and how much of each.
//!
//! Every evaluation hands the script its variables as rhai values, and converting a record's
//! JSON into a rhai map costs more than evaluating a typical condition
//! (`record.segment == "s0" && record.health < 10`). So at compile time the AST is walked once:
//! a variable the script never names is passed as `()`, and a map variable read only through
//! constant property names (`record.health`, `record.plan?.tier`, `record.tags[0]`) is passed
//! with those fields alone. Any other use (the variable itself, an index, a method call on it,
//! a capture) passes it whole. A property the map lacks reads as `()` either way, so the
//! script sees the same values.

use rhai::{ASTNode, Dynamic, Expr, AST};
use serde_json::Value;

use super::convert;
use super::VARIABLES;

/// How much of one variable a script reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Reads {
    /// Never named.
    #[default]
    Nothing,
    /// Named only as `variable.field`, for these fields.
    Fields(Vec<String>),
    /// Anything else.
    Whole,
}

impl Reads {
    fn add(&mut self, field: Option<&str>) {
        *self = match (std::mem::take(self), field) {
            (Reads::Nothing, Some(field)) => Reads::Fields(vec![field.to_owned()]),
            (Reads::Fields(mut fields), Some(field)) => {
                if !fields.iter().any(|known| known == field) {
                    fields.push(field.to_owned());
                }
                Reads::Fields(fields)
            }
            _ => Reads::Whole,
        }
    }

    /// `value` as the script reads it: `()` for none, a map of the fields read, or all of it;
    /// with `id` as its `id` field when the script may read that.
    pub(crate) fn convert(&self, value: Option<&Value>, id: Option<&str>) -> Dynamic {
        let mut converted = self.convert_value(value);
        let reads_id = match self {
            Reads::Nothing => false,
            Reads::Fields(fields) => fields.iter().any(|field| field == "id"),
            Reads::Whole => true,
        };
        if let (Some(id), true) = (id, reads_id) {
            if let Some(mut map) = converted.write_lock::<rhai::Map>() {
                map.insert("id".into(), id.into());
            }
        }
        converted
    }

    fn convert_value(&self, value: Option<&Value>) -> Dynamic {
        match (self, value) {
            (Reads::Nothing, _) | (_, None) => Dynamic::UNIT,
            (Reads::Fields(fields), Some(Value::Object(object))) => Dynamic::from_map(
                fields
                    .iter()
                    .filter_map(|field| {
                        object.get(field).map(|value| (field.as_str().into(), convert::to_dynamic(value)))
                    })
                    .collect(),
            ),
            (_, Some(value)) => convert::to_dynamic(value),
        }
    }
}

/// What `ast` reads of each of [`VARIABLES`], in their order.
pub(crate) fn variable_reads(ast: &AST) -> [Reads; VARIABLES.len()] {
    let mut reads: [Reads; VARIABLES.len()] = Default::default();
    ast.walk(&mut |path: &[ASTNode]| {
        let Some(ASTNode::Expr(node @ Expr::Variable(variable, _, _))) = path.last() else { return true };
        let Some(slot) = VARIABLES.iter().position(|name| *name == variable.1.as_str()) else { return true };
        let field = match path.len().checked_sub(2).map(|parent| &path[parent]) {
            Some(ASTNode::Expr(Expr::Dot(dot, _, _))) if std::ptr::eq(&dot.lhs, *node) => first_property(&dot.rhs),
            _ => None,
        };
        reads[slot].add(field);
        true
    });
    reads
}

/// The property a chain after `variable.` starts with, if it starts with a constant one.
fn first_property(chain: &Expr) -> Option<&str> {
    match chain {
        Expr::Property(property, _) => Some(property.2.as_str()),
        Expr::Dot(next, _, _) | Expr::Index(next, _, _) => match &next.lhs {
            Expr::Property(property, _) => Some(property.2.as_str()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(source: &str) -> [Reads; VARIABLES.len()] {
        let engine = rhai::Engine::new_raw();
        let mut scope = rhai::Scope::new();
        for name in VARIABLES {
            scope.push_dynamic(name, Dynamic::UNIT);
        }
        variable_reads(&engine.compile_with_scope(&scope, source).expect("compiles"))
    }

    fn fields(names: &[&str]) -> Reads {
        Reads::Fields(names.iter().map(|name| (*name).to_owned()).collect())
    }

    #[test]
    fn constant_properties_are_read_alone() {
        let [record, old, event, space, payload] =
            reads("record.segment == \"s0\" && record.health < 10 && record.plan?.tier == old.plan.tier");
        assert_eq!(record, fields(&["segment", "health", "plan"]));
        assert_eq!(old, fields(&["plan"]));
        assert_eq!((event, space, payload), (Reads::Nothing, Reads::Nothing, Reads::Nothing));
        assert_eq!(reads("record.tags[0] == `${record.name}`")[0], fields(&["tags", "name"]));
    }

    #[test]
    fn any_other_use_reads_the_whole_value() {
        for source in [
            "record",
            "record[\"health\"]",
            "record.keys().len()",
            "record.health > 1 && record.len() > 2",
            "let r = record; r.health",
            "let f = || record.health; f.call()",
            "space",
        ] {
            let reads = reads(source);
            assert!(reads.contains(&Reads::Whole), "`{source}` reads a whole variable: {reads:?}");
        }
    }

    #[test]
    fn a_partial_map_holds_the_fields_read() {
        let record = serde_json::json!({ "health": 7, "name": "Acme", "tags": ["a"] });
        let map = fields(&["health", "missing"]).convert(Some(&record), Some("r1")).cast::<rhai::Map>();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("health").map(|value| value.as_int()), Some(Ok(7)));
        assert!(Reads::Nothing.convert(Some(&record), Some("r1")).is_unit());
        let whole = Reads::Whole.convert(Some(&record), Some("r1")).cast::<rhai::Map>();
        assert_eq!(whole.len(), 4, "the fields and the id");
        let id = fields(&["id"]).convert(Some(&record), Some("r1")).cast::<rhai::Map>();
        assert_eq!(id.get("id").map(|id| id.to_string()), Some("r1".to_owned()));
    }
}
