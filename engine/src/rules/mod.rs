//! The sandboxed rhai layer: compiling and evaluating admins' scripts (computed fields,
//! validation rules, workflow conditions and script actions).
//!
//! One [`Scripts`] is shared by the whole engine. It owns one `rhai::Engine`, built once with
//! every limit of [`ScriptLimits`] set, no `eval`, no imports and strict variables, and a cache
//! of compiled scripts keyed by (origin, source), so a definition version compiles once.
//!
//! Admin scripts are untrusted input: an infinite loop, a memory bomb or runaway recursion ends
//! that one evaluation with a [`ScriptError`] naming the limit it hit, and every other
//! evaluation, on any thread, goes on. rhai has no wall-clock limit of its own; `sandbox`
//! checks a per-evaluation deadline from rhai's progress callback. Nor do rhai's size limits
//! see inside function pointers (curried arguments, what a closure captured), so `sandbox`
//! measures everything the script's variables hold, through pointers and captured cells, every
//! so many variable reads: closures stay available, and what an evaluation can hold stays
//! bounded by the size limits times the variables it declares.
//!
//! Variables in scope, all constants: `record` (a map), `old` (a map or `()`), `event` (a map
//! or `()`), `space` (a string or `()`), `payload` (what was posted to an inbound hook, or
//! `()`). JSON comes in as rhai values (objects → maps, arrays →
//! arrays, integral numbers → `INT`, other numbers → `FLOAT`, null → `()`) and goes back the
//! same way; see `convert`.
//!
//! Workflow scripts ([`ScriptVars::allow_effects`]) may also call `create`, `update`,
//! `transition` and `notify`. These only record [`ScriptEffect`]s in the [`Evaluation`], for
//! the caller to apply if the whole script succeeded; see `effects`. Elsewhere they are runtime
//! errors.
//!
//! # Dates, date-times and durations
//!
//! Records hold dates as strings ("2027-03-01") and date-times as RFC 3339 strings
//! ("2027-03-01T09:00:00Z"). The clock is read once per evaluation, or not at all when
//! [`ScriptVars::now`] sets the instant (a dry run "as if" at another time), so `now()` and
//! `today()` agree throughout it. Scripts get three value types (see `time` for every
//! function):
//! - `date`: a calendar day. `today()` is today in the evaluation's zone
//!   ([`ScriptVars::timezone`], UTC when `None`); `today("Asia/Shanghai")` in another.
//! - `datetime`: an instant, printed in UTC ("…Z"). `local_time(x, "Europe/Paris")` pins a zone
//!   to it, and it then prints with that offset. Calendar questions about an instant (its
//!   `.date`, `.hour`, `days_until`) use its pinned zone, else the evaluation's zone.
//! - `duration`: an exact length of time (`days(n)`, `hours(n)`, `minutes(n)`, `weeks(n)`,
//!   `seconds(n)`; `days(1)` is 24 hours). `.days`, `.hours`, `.minutes`, `.seconds` are whole
//!   units truncated toward zero (negative allowed); `as_days(d)` etc. are exact floats.
//!
//! A string stands for a date or a date-time wherever one is expected: in comparisons
//! (`record.renewal_date < today()`), in `+`/`-` with a duration (`record.start + days(30)`),
//! and as an argument (`days_until(record.renewal_date)`). A string that is neither is a
//! runtime error, never a silent `false`. Date-times without an offset are local to the
//! evaluation's zone.
//!
//! Arithmetic: date ± duration → date (the duration must be whole days); date-time ± duration →
//! date-time (exact); date − date and date-time − date-time → duration; a date mixed with a
//! date-time in `-` stands for the start of that day in the evaluation's zone.
//!
//! Comparisons (`== != < <= > >=`) between dates, date-times and date strings: two dates or
//! two date-times compare as such; a date against a date-time compares calendar days, the
//! date-time taken as its date in its zone (so `record.created_at == today()` means "created
//! today").
//!
//! Results: a date → "YYYY-MM-DD"; a date-time → RFC 3339 ("Z" for UTC, the offset when a zone
//! was pinned); a duration → its length in seconds (an integer when whole); a float with no
//! fractional part → an integer; `()` → null.

mod check;
mod convert;
mod effects;
mod error;
mod helpers;
mod pace;
mod reads;
mod sandbox;
mod time;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use rhai::{Dynamic, ImmutableString, OptimizationLevel, Scope, AST};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
pub use crate::rules::effects::ScriptEffect;
pub use crate::rules::error::{ScriptError, ScriptErrorKind};
pub use crate::rules::pace::ScriptPace;

/// Limits for every evaluation; the `[scripts]` section of `tend.toml`.
///
/// A limit of 0 means "no limit" (rhai's convention, kept for `timeout_ms` too): meant for
/// tests and trusted tooling, never for admin scripts in a server.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptLimits {
    /// rhai operations (roughly: expression nodes evaluated) per evaluation.
    pub max_operations: u64,
    /// Nesting of function calls (script functions and recursion).
    pub max_call_depth: usize,
    /// Nesting of expressions at top level, checked at compile time.
    pub max_expr_depth: usize,
    /// Nesting of expressions inside functions, checked at compile time.
    pub max_function_expr_depth: usize,
    /// Bytes in one string value (and in all the strings inside one array, map or function
    /// pointer).
    pub max_string_size: usize,
    /// Items in one array (nested arrays count too, and so do the values a function pointer
    /// carries).
    pub max_array_size: usize,
    /// Entries in one map (nested maps count too).
    pub max_map_size: usize,
    /// Wall-clock time per evaluation.
    pub timeout_ms: u64,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            max_operations: 100_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 65_536,
            max_array_size: 10_000,
            max_map_size: 10_000,
            timeout_ms: 250,
        }
    }
}

/// Names where a script comes from, for error messages: e.g. "form cs/account v3, computed
/// `health`".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScriptOrigin(pub String);

impl fmt::Display for ScriptOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A compiled script, ready to evaluate any number of times, on any thread.
pub struct Script {
    origin: ScriptOrigin,
    source: String,
    ast: AST,
    /// What it reads of each of [`VARIABLES`].
    reads: [reads::Reads; VARIABLES.len()],
}

impl Script {
    /// Where the script comes from.
    pub fn origin(&self) -> &ScriptOrigin {
        &self.origin
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script").field("origin", &self.origin).field("source", &self.source).finish_non_exhaustive()
    }
}

/// Answers `query(form, filter)` in workflow scripts: the records of a form of the space that
/// match a filter, as JSON objects (with their `id`), or an error message.
#[derive(Clone)]
pub struct RecordQuery(pub Arc<QueryFn>);

/// The function behind a [`RecordQuery`]: (form, filter) → matching records.
pub type QueryFn = dyn Fn(&str, &str) -> Result<Vec<serde_json::Value>, String> + Send + Sync;

impl fmt::Debug for RecordQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordQuery")
    }
}

/// What a script can see: bound as the constants `record`, `old`, `event` and `space`.
#[derive(Debug, Default, Clone)]
pub struct ScriptVars {
    /// The record (after the change, for writes).
    pub record: serde_json::Value,
    /// The record's id, which scripts read as `record.id`: kept apart so that a record's data
    /// is lent to a script as it is, not copied to add its id. `None`: `record` says it, if
    /// anything does.
    pub record_id: Option<String>,
    /// The record before the change, when there is one.
    pub old: Option<serde_json::Value>,
    /// The event being handled, for workflows.
    pub event: Option<serde_json::Value>,
    /// The space's name.
    pub space: Option<String>,
    /// The body posted to an inbound hook, for runs it triggered.
    pub payload: Option<serde_json::Value>,
    /// The zone for `today()` and for calendar questions about instants; UTC if `None`.
    pub timezone: Option<chrono_tz::Tz>,
    /// The instant `now()`, `today()` and everything else reading the clock see in this
    /// evaluation; the engine's `Clock` if `None`.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether `create`, `update`, `transition` and `notify` may be called (workflow scripts);
    /// when false, calling one is a runtime error.
    pub allow_effects: bool,
    /// What `query(form, filter)` reads; calling it without one is a runtime error.
    pub query: Option<RecordQuery>,
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The script's value, converted to JSON (see the module docs for dates and durations).
    pub value: serde_json::Value,
    /// Lines written by `print` and `debug` during this evaluation, in order (capped; see
    /// `sandbox`).
    pub output: Vec<String>,
    /// The effects the script requested, in order; empty unless `allow_effects` was set. An
    /// evaluation that fails returns none.
    pub effects: Vec<ScriptEffect>,
}

impl Evaluation {
    /// The value, if it is a boolean (a rule or a `when`).
    pub fn as_bool(&self) -> Option<bool> {
        self.value.as_bool()
    }
}

/// Compiled scripts whose cache entries are replaced rather than piled up: one entry per
/// origin, holding the last source compiled for it. Beyond this many origins the cache starts
/// over, which costs recompiles, never correctness.
const MAX_CACHED_SCRIPTS: usize = 16_384;

/// The scripting layer. `Send + Sync`; share one per engine.
pub struct Scripts {
    engine: rhai::Engine,
    limits: ScriptLimits,
    known_functions: check::KnownFunctions,
    cache: RwLock<HashMap<ScriptOrigin, Arc<Script>>>,
}

impl fmt::Debug for Scripts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scripts").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Scripts {
    /// Builds the sandboxed engine; `clock` is where `now()` and `today()` get the time.
    pub fn new(limits: ScriptLimits, clock: Arc<dyn Clock>) -> Scripts {
        let engine = sandbox::build_engine(&limits, clock);
        let known_functions = check::KnownFunctions::of(&engine);
        Scripts { engine, limits, known_functions, cache: RwLock::new(HashMap::new()) }
    }

    /// The limits every evaluation runs under.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// Compiles an expression (computed field, rule, `when`) or a script.
    ///
    /// Syntax errors, unknown variables and calls to functions that exist nowhere carry a line
    /// and column. Compiled scripts are cached by (origin, source): compiling the same pair
    /// again returns the same `Arc`.
    pub fn compile(&self, origin: &ScriptOrigin, source: &str) -> Result<Arc<Script>, ScriptError> {
        if let Some(script) = self.cached(origin, source) {
            return Ok(script);
        }
        // Placeholders, not constants: the optimizer folds constants found in a compile scope
        // into the AST, and these values change with every evaluation.
        let mut scope = Scope::new();
        for name in VARIABLES {
            scope.push_dynamic(name, Dynamic::UNIT);
        }
        let ast = self
            .engine
            .compile_with_scope(&scope, source)
            .map_err(|err| ScriptError::from_parse(origin, err, &self.limits))?;
        if let Some((name, position)) = check::first_unknown_function(&ast, &self.known_functions) {
            return Err(ScriptError::at(origin, ScriptErrorKind::UnknownFunction(name), position));
        }
        let ast = self.engine.optimize_ast(&scope, ast, OptimizationLevel::Simple);
        let reads = reads::variable_reads(&ast);
        let script = Arc::new(Script { origin: origin.clone(), source: source.to_owned(), ast, reads });

        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another thread may have compiled the same pair meanwhile: keep one Arc per pair.
        if let Some(existing) = cache.get(origin).filter(|s| s.source == source) {
            return Ok(existing.clone());
        }
        if cache.len() >= MAX_CACHED_SCRIPTS && !cache.contains_key(origin) {
            cache.clear();
        }
        cache.insert(origin.clone(), script.clone());
        Ok(script)
    }

    fn cached(&self, origin: &ScriptOrigin, source: &str) -> Option<Arc<Script>> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(origin).filter(|script| script.source == source).cloned()
    }

    /// Evaluates `script` with `vars` bound as read-only variables.
    pub fn eval(&self, script: &Script, vars: &ScriptVars) -> Result<Evaluation, ScriptError> {
        // In the order of VARIABLES; only what the script reads of each (see `reads`).
        let [record, old, event, space, payload] = &script.reads;
        let mut scope = Scope::new();
        scope.push_constant_dynamic("record", record.convert(Some(&vars.record), vars.record_id.as_deref()));
        scope.push_constant_dynamic("old", old.convert(vars.old.as_ref(), None));
        scope.push_constant_dynamic("event", event.convert(vars.event.as_ref(), None));
        let space = match space {
            reads::Reads::Nothing => None,
            _ => vars.space.as_deref(),
        };
        scope.push_constant_dynamic("space", space.map_or(Dynamic::UNIT, |s| ImmutableString::from(s).into()));
        scope.push_constant_dynamic("payload", payload.convert(vars.payload.as_ref(), None));

        let run = sandbox::EvalRun::enter(&self.limits, vars);
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut scope, &script.ast);
        let sandbox::Captured { output, effects } = run.finish();

        let value = result.map_err(|err| ScriptError::from_eval(&script.origin, *err, &self.limits))?;
        let value = convert::from_dynamic(value).map_err(|message| {
            ScriptError::at(&script.origin, ScriptErrorKind::Runtime(message), rhai::Position::NONE)
        })?;
        Ok(Evaluation { value, output, effects })
    }
}

/// The variables every script sees, in scope order.
const VARIABLES: [&str; 5] = ["record", "old", "event", "space", "payload"];
