//! How deeply a value nests. Data is bounded where it enters (record data, inbound payloads):
//! well below what any reader on the way back accepts (serde_json's 128 levels), so the
//! envelopes Tend stores data in (a record, an event's `before`/`after`) always stay readable.

use serde_json::Value;

use crate::FieldError;

/// The deepest nesting of arrays and objects record data and inbound payloads may have: the
/// data itself is level 1, so `{"a": {"b": 1}}` is 2 deep.
pub const MAX_DATA_DEPTH: usize = 32;

/// Refuses `value` when its arrays and objects nest deeper than `limit`, naming the pointer of
/// the first place past it. Walks iteratively, so any nesting is judged without recursion; the
/// pointer is only built for a refusal (every write passes here, and almost all pass).
pub fn check_depth(value: &Value, limit: usize) -> Result<(), FieldError> {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((item, depth)) = stack.pop() {
        match item {
            Value::Array(_) | Value::Object(_) if depth > limit => {
                return Err(FieldError::new(
                    first_too_deep(value, limit),
                    format!("nests arrays and objects more than {limit} levels deep, the most data may have"),
                ));
            }
            Value::Array(items) => stack.extend(items.iter().map(|child| (child, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|child| (child, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// The pointer of the first array or object in `value` nested deeper than `limit` (the same
/// walk as [`check_depth`], carrying pointers).
fn first_too_deep(value: &Value, limit: usize) -> String {
    let mut stack: Vec<(&Value, String, usize)> = vec![(value, String::new(), 1)];
    while let Some((value, path, depth)) = stack.pop() {
        let children: Vec<(String, &Value)> = match value {
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
            Value::Object(map) => map.iter().map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v)).collect(),
            _ => continue,
        };
        if depth > limit {
            return path;
        }
        for (segment, child) in children {
            stack.push((child, format!("{path}/{segment}"), depth + 1));
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (1..levels).fold(json!({}), |inner, _| json!({ "a": inner }))
    }

    #[test]
    fn nesting_up_to_the_limit_passes_and_past_it_is_named() {
        assert_eq!(check_depth(&nested(3), 3), Ok(()));
        assert_eq!(check_depth(&json!(1), 0), Ok(()));
        let refused = check_depth(&json!({"x": [1, nested(3)]}), 3).expect_err("too deep");
        assert_eq!(refused.path, "/x/1/a");
        assert_eq!(
            check_depth(&nested(500), MAX_DATA_DEPTH).map(|()| 0).map_err(|e| e.path.len()),
            Err(2 * MAX_DATA_DEPTH)
        );
    }
}
