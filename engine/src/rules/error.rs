//! Script errors: rhai's parse and evaluation errors turned into one [`ScriptError`] that names
//! the script's origin, the line and column, and, for a limit, the setting that stopped it.

use rhai::{EvalAltResult, ParseError, ParseErrorType, Position};

use crate::rules::sandbox::TIMEOUT_TOKEN;
use crate::rules::{ScriptLimits, ScriptOrigin};

/// Why a script did not compile or did not finish.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ScriptError {
    /// Which script.
    pub origin: ScriptOrigin,
    /// What went wrong.
    pub kind: ScriptErrorKind,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

/// What went wrong, by kind; each limit kind carries the limit in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptErrorKind {
    /// The script does not parse (or uses a disabled symbol such as `eval` or `import`).
    Syntax(String),
    /// Ran longer than `timeout_ms`.
    Timeout { limit_ms: u64 },
    /// Ran more than `max_operations` operations.
    TooManyOperations { limit: u64 },
    /// Nested function calls deeper than `max_call_depth`.
    CallDepth { limit: usize },
    /// Built a value larger than allowed; `what` is "string", "array" or "map".
    DataTooLarge { what: String, limit: usize },
    /// A function that does not exist: its name at compile time, or the signature that matched
    /// nothing (name and argument types) at run time.
    UnknownFunction(String),
    /// A variable that does not exist.
    UnknownVariable(String),
    /// Anything else that stopped the script: `throw`, wrong types, division by zero, a string
    /// that is not a date...
    Runtime(String),
}

impl ScriptError {
    /// One line naming the origin, the position and what happened, e.g. "form cs/account v3,
    /// computed `health`: line 2, column 5: stopped after 250 ms (timeout_ms)".
    pub fn message(&self) -> String {
        let detail = match &self.kind {
            ScriptErrorKind::Syntax(message) => format!("syntax error: {message}"),
            ScriptErrorKind::Timeout { limit_ms } => format!("stopped after {limit_ms} ms (timeout_ms)"),
            ScriptErrorKind::TooManyOperations { limit } => {
                format!("stopped after {limit} operations (max_operations)")
            }
            ScriptErrorKind::CallDepth { limit } => {
                format!("function calls nested deeper than {limit} (max_call_depth)")
            }
            ScriptErrorKind::DataTooLarge { what, limit } => match what.as_str() {
                "string" => format!("string longer than {limit} bytes (max_string_size)"),
                "array" => format!("array larger than {limit} items (max_array_size)"),
                "map" => format!("map larger than {limit} entries (max_map_size)"),
                other => format!("{other} larger than {limit}"),
            },
            ScriptErrorKind::UnknownFunction(name) if name.contains('(') => {
                format!("no function matches `{name}` (unknown name, or wrong number or types of arguments)")
            }
            ScriptErrorKind::UnknownFunction(name) => format!("unknown function `{name}`"),
            ScriptErrorKind::UnknownVariable(name) => format!("unknown variable `{name}`"),
            ScriptErrorKind::Runtime(message) => message.clone(),
        };
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}: line {line}, column {column}: {detail}", self.origin),
            (Some(line), None) => format!("{}: line {line}: {detail}", self.origin),
            _ => format!("{}: {detail}", self.origin),
        }
    }

    pub(crate) fn at(origin: &ScriptOrigin, kind: ScriptErrorKind, position: Position) -> ScriptError {
        ScriptError { origin: origin.clone(), kind, line: position.line(), column: position.position() }
    }

    pub(crate) fn from_parse(origin: &ScriptOrigin, err: ParseError, limits: &ScriptLimits) -> ScriptError {
        let ParseError(kind, position) = err;
        let kind = match *kind {
            ParseErrorType::VariableUndefined(name) => ScriptErrorKind::UnknownVariable(name),
            ParseErrorType::ExprTooDeep => ScriptErrorKind::Syntax(format!(
                "expression nested too deeply (max_expr_depth {}, max_function_expr_depth {})",
                limits.max_expr_depth, limits.max_function_expr_depth
            )),
            ParseErrorType::Reserved(symbol) if symbol == "eval" || symbol == "import" => {
                ScriptErrorKind::Syntax(format!("`{symbol}` is not available in Tend scripts"))
            }
            other => ScriptErrorKind::Syntax(other.to_string()),
        };
        ScriptError::at(origin, kind, position)
    }

    pub(crate) fn from_eval(origin: &ScriptOrigin, err: EvalAltResult, limits: &ScriptLimits) -> ScriptError {
        let (mut err, position) = innermost(err);
        let kind = match &err {
            EvalAltResult::ErrorTerminated(token, _)
                if token.read_lock::<rhai::ImmutableString>().is_some_and(|t| t.as_str() == TIMEOUT_TOKEN) =>
            {
                ScriptErrorKind::Timeout { limit_ms: limits.timeout_ms }
            }
            EvalAltResult::ErrorTooManyOperations(_) => {
                ScriptErrorKind::TooManyOperations { limit: limits.max_operations }
            }
            EvalAltResult::ErrorStackOverflow(_) => ScriptErrorKind::CallDepth { limit: limits.max_call_depth },
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let what = what.to_ascii_lowercase();
                let (what, limit) = if what.contains("string") {
                    ("string", limits.max_string_size)
                } else if what.contains("array") {
                    ("array", limits.max_array_size)
                } else {
                    ("map", limits.max_map_size)
                };
                ScriptErrorKind::DataTooLarge { what: what.to_owned(), limit }
            }
            EvalAltResult::ErrorFunctionNotFound(signature, _) => function_not_found(signature),
            EvalAltResult::ErrorVariableNotFound(name, _) => ScriptErrorKind::UnknownVariable(name.clone()),
            EvalAltResult::ErrorAssignmentToConstant(name, _) => {
                ScriptErrorKind::Runtime(format!("`{name}` is read-only"))
            }
            EvalAltResult::ErrorRuntime(value, _) => {
                ScriptErrorKind::Runtime(match value.read_lock::<rhai::ImmutableString>() {
                    Some(text) => text.to_string(),
                    None if value.is_unit() => "script threw an error".to_owned(),
                    None => value.to_string(),
                })
            }
            _ => {
                err.clear_position();
                ScriptErrorKind::Runtime(err.to_string())
            }
        };
        ScriptError::at(origin, kind, position)
    }
}

/// rhai wraps an error raised inside a script function once per call level; the innermost one
/// says what happened, and its position is where (the outer positions are the call sites).
fn innermost(err: EvalAltResult) -> (EvalAltResult, Position) {
    let mut err = err;
    let mut position = Position::NONE;
    loop {
        if !err.position().is_none() {
            position = err.position();
        }
        match err {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
                err = *inner;
            }
            other => return (other, position),
        }
    }
}

/// rhai reports a missing operator, property or indexer the same way as a missing function;
/// only the last is an unknown function for the admin.
fn function_not_found(signature: &str) -> ScriptErrorKind {
    if let Some(rest) = signature.strip_prefix("get$").or_else(|| signature.strip_prefix("set$")) {
        let (property, types) = rest.split_once(' ').unwrap_or((rest, ""));
        return ScriptErrorKind::Runtime(format!("no property `{property}` on {}", types.trim()));
    }
    let first = signature.chars().next().unwrap_or(' ');
    if first.is_alphabetic() || first == '_' {
        ScriptErrorKind::UnknownFunction(signature.to_owned())
    } else {
        let (operator, types) = signature.split_once(' ').unwrap_or((signature, ""));
        ScriptErrorKind::Runtime(format!("operator `{operator}` does not apply to {}", types.trim()))
    }
}
