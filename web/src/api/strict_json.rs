//! Parsing request bodies as JSON strictly: a key given twice in one object, or a number
//! beyond what a double holds exactly as an integer (±(2^53 − 1), the I-JSON range), is
//! refused with the JSON pointer of the offending key instead of being silently resolved
//! (last key wins, the number rounded). Bodies nest at most [`MAX_BODY_DEPTH`] levels, well below
//! the 128 every JSON reader on the way back accepts, so whatever is stored inside Tend's
//! envelopes (a record, an event, a form version) can be read back.

use std::cell::RefCell;
use std::fmt;

use forms::FieldError;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer magnitude a JSON number keeps exactly once read as a double.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The deepest nesting of arrays and objects a request body may have. Record data and inbound
/// payloads are held tighter by the engine (`forms::MAX_DATA_DEPTH`); this bounds everything
/// else (form and workflow definitions with their `default` and `const` values).
pub(crate) const MAX_BODY_DEPTH: usize = 64;

/// Why a body is not acceptable JSON.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StrictJsonError {
    /// Not JSON at all (the parser's message, with line and column).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but with a duplicate key or an inexact number at `path`.
    #[error("{} at {}", .0.message, .0.path)]
    Refused(FieldError),
}

/// Parses `bytes` as one JSON document, refusing duplicate keys and inexact numbers.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let refusal = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictValue { parent: None, segment: Segment::Root, depth: 1, refusal: &refusal }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, refusal.into_inner()) {
        (_, Some(refused)) => Err(StrictJsonError::Refused(refused)),
        (Ok(value), None) => Ok(value),
        (Err(err), None) => Err(StrictJsonError::Syntax(err.to_string())),
    }
}

/// Where a value is in its parent.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// One value, at `segment` of `parent`; a refusal is recorded in `refusal` so the caller gets
/// the path as data, not only inside the parser's message. The path (a JSON pointer) is
/// spelled out only for a refusal: most bodies have none, and building every value's path
/// cost more than the parse.
struct StrictValue<'a> {
    parent: Option<&'a StrictValue<'a>>,
    segment: Segment<'a>,
    /// How deep this value is (the document is 1).
    depth: usize,
    refusal: &'a RefCell<Option<FieldError>>,
}

impl StrictValue<'_> {
    /// This value's JSON pointer.
    fn path(&self) -> String {
        let mut segments = Vec::with_capacity(self.depth);
        let mut value = Some(self);
        while let Some(at) = value {
            match at.segment {
                Segment::Root => {}
                Segment::Key(key) => segments.push(key.replace('~', "~0").replace('/', "~1")),
                Segment::Index(index) => segments.push(index.to_string()),
            }
            value = at.parent;
        }
        segments.iter().rev().map(|segment| format!("/{segment}")).collect()
    }

    fn refuse<E: serde::de::Error>(&self, message: String) -> E {
        let path = self.path();
        let error = E::custom(format!("{}: {message}", if path.is_empty() { "/" } else { &path }));
        *self.refusal.borrow_mut() = Some(FieldError::new(path, message));
        error
    }

    fn child<'c>(&'c self, segment: Segment<'c>) -> StrictValue<'c> {
        StrictValue { parent: Some(self), segment, depth: self.depth + 1, refusal: self.refusal }
    }

    fn exact<E: serde::de::Error>(&self, magnitude: f64, shown: impl fmt::Display) -> Result<(), E> {
        if magnitude > MAX_EXACT_INTEGER {
            Err(self.refuse(format!(
                "the number {shown} cannot be held exactly; numbers must lie within ±9007199254740991 (2^53 - 1)"
            )))
        } else {
            Ok(())
        }
    }

    fn shallow_enough<E: serde::de::Error>(&self) -> Result<(), E> {
        if self.depth > MAX_BODY_DEPTH {
            Err(self.refuse(format!("arrays and objects nest more than {MAX_BODY_DEPTH} levels deep here")))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Value, E> {
        self.exact(value.unsigned_abs() as f64, value)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Value, E> {
        self.exact(value as f64, value)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Value, E> {
        // Past 2^53 a double has no fraction left: such a number is an integer that was
        // (or may have been) rounded on the way in.
        self.exact(value.abs(), value)?;
        Number::from_f64(value).map(Value::Number).ok_or_else(|| self.refuse("the number is not finite".to_owned()))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.shallow_enough()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child(Segment::Index(items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.shallow_enough()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(Segment::Key(&key));
            if object.contains_key(&key) {
                return Err(child.refuse(format!("the key {key:?} appears more than once in this object")));
            }
            let value = map.next_value_seed(child)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> FieldError {
        match parse(text.as_bytes()) {
            Err(StrictJsonError::Refused(error)) => error,
            Err(StrictJsonError::Syntax(message)) => panic!("{text}: syntax error {message}"),
            Ok(value) => panic!("{text}: accepted as {value}"),
        }
    }

    #[test]
    fn duplicate_keys_are_refused_at_their_path() {
        assert_eq!(refused(r#"{"a": 1, "a": 2}"#).path, "/a");
        assert_eq!(refused(r#"{"x": [{}, {"b/c": 1, "b/c": 1}]}"#).path, "/x/1/b~1c");
        assert_eq!(
            parse(br#"{"a": {"a": 1}, "b": [1, 1]}"#).ok(),
            Some(serde_json::json!({"a": {"a": 1}, "b": [1, 1]}))
        );
    }

    #[test]
    fn numbers_beyond_the_exact_range_are_refused() {
        assert_eq!(refused(r#"{"n": 9007199254740993}"#).path, "/n");
        assert_eq!(refused(r#"{"n": -9007199254740993}"#).path, "/n");
        assert_eq!(refused(r#"{"n": 123456789012345678901234567890}"#).path, "/n");
        assert_eq!(refused(r#"[1e300]"#).path, "/0");
        let exact = parse(br#"[9007199254740991, -9007199254740991, 1.5, 0.1, -2]"#).expect("in range");
        assert_eq!(exact, serde_json::json!([9007199254740991_i64, -9007199254740991_i64, 1.5, 0.1, -2]));
    }

    #[test]
    fn nesting_past_the_body_limit_is_refused_at_its_path() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(parse(nested(MAX_BODY_DEPTH).as_bytes()).is_ok());
        assert_eq!(refused(&nested(MAX_BODY_DEPTH + 1)).path, "/0".repeat(MAX_BODY_DEPTH));
        // Past serde_json's own limit too: the refusal names the path, not a parser error.
        assert_eq!(refused(&nested(200)).path, "/0".repeat(MAX_BODY_DEPTH));
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        assert!(matches!(parse(b"{\"a\": }"), Err(StrictJsonError::Syntax(_))));
        assert!(matches!(parse(b"{} {}"), Err(StrictJsonError::Syntax(_))));
    }
}
