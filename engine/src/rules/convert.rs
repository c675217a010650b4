//! JSON ⇄ rhai values: what a script sees of a record, and what its result becomes.

use rhai::{Array, Dynamic, ImmutableString, Map, FLOAT, INT};
use serde_json::{Number, Value};

use crate::rules::time::{ScriptDate, ScriptDateTime, ScriptDuration};

/// Floats within this magnitude hold every integer exactly, so an integral one converts to an
/// integer without changing its value.
const EXACT_INTEGER_LIMIT: FLOAT = 9_007_199_254_740_992.0; // 2^53

/// objects → maps, arrays → arrays, integral numbers → `INT`, other numbers → `FLOAT`,
/// null → `()`. Dates stay strings: every date function accepts one.
pub(crate) fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => number_to_dynamic(n),
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect::<Array>()),
        Value::Object(fields) => {
            let map: Map = fields.iter().map(|(key, value)| (key.as_str().into(), to_dynamic(value))).collect();
            Dynamic::from_map(map)
        }
    }
}

fn number_to_dynamic(n: &Number) -> Dynamic {
    if let Some(i) = n.as_i64() {
        return Dynamic::from_int(i);
    }
    let f = n.as_f64().unwrap_or(FLOAT::NAN);
    if f.fract() == 0.0 && f.abs() <= EXACT_INTEGER_LIMIT {
        // In range by the check above: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return Dynamic::from_int(f as INT);
    }
    Dynamic::from_float(f)
}

/// The reverse of [`to_dynamic`], plus script-only values: a date → "YYYY-MM-DD", a date-time
/// → RFC 3339, a duration → seconds, a char → a string, an integral float → an integer.
/// Anything else (function pointers, ranges, non-finite floats) is an error naming the type.
pub(crate) fn from_dynamic(value: Dynamic) -> Result<Value, String> {
    to_json(value, "the result")
}

/// [`from_dynamic`] for a value that is not the script's result: `what` names it in errors
/// (e.g. "the data of `create`").
pub(crate) fn to_json(value: Dynamic, what: &str) -> Result<Value, String> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return float_json(f, what);
    }
    if value.is_string() {
        return Ok(Value::String(value.into_immutable_string().map(|s| s.to_string()).unwrap_or_default()));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if value.is_array() {
        let items = value.into_array().unwrap_or_default();
        return items.into_iter().map(|item| to_json(item, what)).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if value.is_map() {
        let map = value.try_cast::<Map>().unwrap_or_default();
        return map
            .into_iter()
            .map(|(key, value)| to_json(value, what).map(|value| (key.to_string(), value)))
            .collect::<Result<serde_json::Map<_, _>, _>>()
            .map(Value::Object);
    }
    if let Some(date) = value.read_lock::<ScriptDate>() {
        return Ok(Value::String(date.to_string()));
    }
    if let Some(at) = value.read_lock::<ScriptDateTime>() {
        return Ok(Value::String(at.to_string()));
    }
    if let Some(duration) = value.read_lock::<ScriptDuration>() {
        return Ok(duration.json_seconds());
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    Err(format!("{what} is a {}, which has no JSON form", value.type_name()))
}

pub(crate) fn float_to_json(f: FLOAT) -> Result<Value, String> {
    float_json(f, "the result")
}

fn float_json(f: FLOAT, what: &str) -> Result<Value, String> {
    if !f.is_finite() {
        return Err(format!("{what} is {f}, not a number JSON can hold"));
    }
    if f.fract() == 0.0 && f.abs() <= EXACT_INTEGER_LIMIT {
        // Exact, by the range check.
        #[allow(clippy::cast_possible_truncation)]
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{what} is {f}, not a number JSON can hold"))
}
