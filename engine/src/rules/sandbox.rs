//! The sandboxed `rhai::Engine` and the per-evaluation state its callbacks read.
//!
//! The engine is built once and shared by every thread, so anything that differs per
//! evaluation (deadline, time zone, the instant `now()` returns, captured `print`/`debug`
//! output, requested effects) lives in a thread-local [`EvalRun`]: rhai evaluates
//! synchronously on the caller's thread, so the callbacks always find the state of the
//! evaluation that called them.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, OptimizationLevel};

use crate::clock::Clock;
use crate::rules::{ScriptEffect, ScriptLimits, ScriptVars};

/// What `on_progress` returns to stop an evaluation that ran past its deadline; `error` turns
/// it into [`ScriptErrorKind::Timeout`](crate::rules::ScriptErrorKind::Timeout).
pub(crate) const TIMEOUT_TOKEN: &str = "tend:timeout";

/// Reading the clock on every operation would cost more than the operation; every this many
/// operations a runaway loop is stopped within well under a millisecond of its deadline.
const DEADLINE_CHECK_EVERY: u64 = 256;

/// Measuring every variable on every read would make reads cost as much as the values are big.
const SIZE_CHECK_EVERY: u32 = 64;

/// `print` in a loop could otherwise fill memory with lines nobody reads.
const MAX_OUTPUT_LINES: usize = 1_000;
const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// A loop calling `create` could otherwise queue writes without end; past either cap the
/// evaluation fails (a workflow's effects are all or nothing, so truncating is no option).
pub(crate) const MAX_EFFECTS: usize = 1_000;
/// The effects' data, measured as JSON.
pub(crate) const MAX_EFFECT_BYTES: usize = 16 * 1024 * 1024;

/// Builds the one engine: limits, the standard packages minus the system clock
/// (`timestamp()`), no `eval`, no imports, strict variables, and the host functions.
pub(crate) fn build_engine(limits: &ScriptLimits, clock: Arc<dyn Clock>) -> Engine {
    let mut engine = Engine::new_raw();
    // rhai's `StandardPackage` without `BasicTimePackage` and `BasicBlobPackage`: scripts must
    // read time from the engine's `Clock`, and have no use for byte buffers.
    for package in [
        CorePackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BitFieldPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
    ] {
        engine.register_global_module(package);
    }

    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_module_resolver(DummyModuleResolver::new())
        .set_strict_variables(true)
        // `Scripts::compile` optimizes after checking calls, so that dead code is checked too.
        .set_optimization_level(OptimizationLevel::None);
    // Disabled symbols are syntax errors, so a script that tries them fails at compile time.
    engine.disable_symbol("eval").disable_symbol("import");

    engine.on_progress(|operations| {
        if operations % DEADLINE_CHECK_EVERY == 0 && past_deadline() {
            Some(Dynamic::from(TIMEOUT_TOKEN))
        } else {
            None
        }
    });
    // rhai checks sizes when a value is built or passed, but not when `m[key] = value` adds a
    // key to a map, and never inside a function pointer: its curried arguments and the
    // variables its closure captured (shared cells) are not measured at all. A loop could pile
    // up such values until the operation limit, each up to the string limit (gigabytes under
    // the defaults). So every so many variable reads, everything the variables in scope (and a
    // method's `this`) hold is measured (`HeldSizes`). Whatever a script keeps beyond one expression is reachable
    // from a variable, and the scope holds at most as many variables as the script declares
    // (plus the parameters of the calls under way), so this bounds an evaluation's memory by
    // the limits times that count. `on_var` is rhai's variable resolver hook (marked volatile);
    // it never resolves anything here.
    let sizes = SizeLimits::of(limits);
    #[allow(deprecated)]
    engine.on_var(move |_name, _index, context| {
        if sample_variable_read() {
            sizes.check_scope(context.scope(), context.this_ptr())?;
        }
        Ok(None)
    });
    engine.on_print(push_output);
    engine.on_debug(|text, _source, _position| push_output(text));

    super::time::register(&mut engine, clock);
    super::helpers::register(&mut engine);
    super::effects::register(&mut engine);
    engine
}

/// The size limits as the sandbox's own measure applies them (0 is no limit, as in rhai).
#[derive(Clone, Copy)]
struct SizeLimits {
    string_bytes: usize,
    array_items: usize,
    map_entries: usize,
}

impl SizeLimits {
    fn of(limits: &ScriptLimits) -> SizeLimits {
        let limit = |value: usize| if value == 0 { usize::MAX } else { value };
        SizeLimits {
            string_bytes: limit(limits.max_string_size),
            array_items: limit(limits.max_array_size),
            map_entries: limit(limits.max_map_size),
        }
    }

    /// Fails with rhai's own "data too large" error when a variable, or `this` in a method,
    /// holds more than a limit allows. Constants are left out: they can't grow, `record` may
    /// legitimately exceed the limits, and a closure that captures one shares it rather than
    /// copying it.
    fn check_scope(&self, scope: &rhai::Scope, this: Option<&Dynamic>) -> Result<(), Box<EvalAltResult>> {
        let mut constants = HashSet::new();
        for (_, constant, value) in scope.iter_raw() {
            if constant && value.is_shared() {
                if let Some(inner) = value.read_lock::<Dynamic>() {
                    constants.insert(&*inner as *const Dynamic);
                }
            }
        }
        let variables = scope.iter_raw().filter(|(_, constant, _)| !constant).map(|(_, _, value)| value);
        // A method's `this` is no variable of its scope, and may grow while the method runs.
        let this = this.filter(|this| !this.is_read_only());
        for value in variables.chain(this) {
            let mut held =
                HeldSizes { limits: *self, seen: constants.clone(), string_bytes: 0, array_items: 0, map_entries: 0 };
            held.add(value).map_err(|what| EvalAltResult::ErrorDataTooLarge(what.to_owned(), rhai::Position::NONE))?;
        }
        Ok(())
    }
}

/// What one variable holds, counted the way rhai counts a value (array items, map entries and
/// string bytes, nested ones included), and also through function pointers: their curried
/// arguments count as array items, and the cells a closure captured are measured once each
/// (`seen`: cells can refer to each other, even in a loop).
struct HeldSizes {
    limits: SizeLimits,
    seen: HashSet<*const Dynamic>,
    string_bytes: usize,
    array_items: usize,
    map_entries: usize,
}

impl HeldSizes {
    /// Adds `value`; stops at the first limit passed, naming it as rhai does.
    fn add(&mut self, value: &Dynamic) -> Result<(), &'static str> {
        if value.is_shared() {
            // A cell locked for writing is being changed by the call under way; it is measured
            // at a later sample.
            if let Some(inner) = value.read_lock::<Dynamic>() {
                if self.seen.insert(&*inner as *const Dynamic) {
                    self.add(&inner)?;
                }
            }
            return Ok(());
        }
        if let Some(text) = value.read_lock::<rhai::ImmutableString>() {
            self.string_bytes = self.string_bytes.saturating_add(text.len());
        } else if let Some(array) = value.read_lock::<rhai::Array>() {
            self.array_items = self.array_items.saturating_add(array.len());
            self.within()?;
            array.iter().try_for_each(|item| self.add(item))?;
        } else if let Some(map) = value.read_lock::<rhai::Map>() {
            self.map_entries = self.map_entries.saturating_add(map.len());
            self.within()?;
            map.values().try_for_each(|item| self.add(item))?;
        } else if let Some(pointer) = value.read_lock::<rhai::FnPtr>() {
            self.array_items = self.array_items.saturating_add(pointer.curry().len());
            self.within()?;
            pointer.iter_curry().try_for_each(|item| self.add(item))?;
        }
        self.within()
    }

    fn within(&self) -> Result<(), &'static str> {
        let limits = self.limits;
        if self.string_bytes > limits.string_bytes {
            Err("Length of string")
        } else if self.array_items > limits.array_items {
            Err("Size of array")
        } else if self.map_entries > limits.map_entries {
            Err("Size of object map")
        } else {
            Ok(())
        }
    }
}

/// The state of the evaluation running on this thread.
struct EvalState {
    deadline: Option<Instant>,
    zone: Tz,
    /// [`ScriptVars::now`], else read from the clock on first use; then fixed: `now()` is one
    /// instant per evaluation.
    now: Option<DateTime<Utc>>,
    variable_reads: u32,
    output: Vec<String>,
    output_bytes: usize,
    output_truncated: bool,
    /// `Some` (the record, as JSON: the default body of `notify`) when effects are allowed.
    effects_record: Option<serde_json::Value>,
    effects: Vec<ScriptEffect>,
    effect_bytes: usize,
    query: Option<super::RecordQuery>,
}

/// What one evaluation left behind.
pub(crate) struct Captured {
    pub(crate) output: Vec<String>,
    pub(crate) effects: Vec<ScriptEffect>,
}

thread_local! {
    static CURRENT: RefCell<Option<EvalState>> = const { RefCell::new(None) };
}

/// One evaluation's state installed on this thread; the previous one (none, unless a host
/// function ever evaluates a script) comes back when it ends, even by unwinding.
pub(crate) struct EvalRun {
    previous: Option<EvalState>,
    finished: bool,
}

impl EvalRun {
    pub(crate) fn enter(limits: &ScriptLimits, vars: &ScriptVars) -> EvalRun {
        let deadline = (limits.timeout_ms > 0)
            .then(|| Instant::now().checked_add(Duration::from_millis(limits.timeout_ms)))
            .flatten();
        let state = EvalState {
            deadline,
            zone: vars.timezone.unwrap_or(Tz::UTC),
            now: vars.now,
            variable_reads: 0,
            output: Vec::new(),
            output_bytes: 0,
            output_truncated: false,
            effects_record: vars.allow_effects.then(|| {
                let mut record = vars.record.clone();
                if let (Some(id), Some(object)) = (&vars.record_id, record.as_object_mut()) {
                    object.insert("id".into(), serde_json::Value::String(id.clone()));
                }
                record
            }),
            effects: Vec::new(),
            effect_bytes: 0,
            query: vars.query.clone(),
        };
        let previous = CURRENT.with(|current| current.replace(Some(state)));
        EvalRun { previous, finished: false }
    }

    /// Ends the evaluation and returns what it printed and the effects it requested.
    pub(crate) fn finish(mut self) -> Captured {
        self.finished = true;
        let state = CURRENT.with(|current| current.replace(self.previous.take()));
        match state {
            Some(state) => Captured { output: state.output, effects: state.effects },
            None => Captured { output: Vec::new(), effects: Vec::new() },
        }
    }
}

impl Drop for EvalRun {
    fn drop(&mut self) {
        if !self.finished {
            CURRENT.with(|current| current.replace(self.previous.take()));
        }
    }
}

fn past_deadline() -> bool {
    CURRENT.with(|current| {
        current.borrow().as_ref().and_then(|state| state.deadline).is_some_and(|deadline| Instant::now() >= deadline)
    })
}

/// Counts a variable read; true every `SIZE_CHECK_EVERY` reads.
fn sample_variable_read() -> bool {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let Some(state) = current.as_mut() else { return false };
        state.variable_reads = state.variable_reads.wrapping_add(1);
        state.variable_reads % SIZE_CHECK_EVERY == 0
    })
}

fn push_output(text: &str) {
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let Some(state) = current.as_mut() else { return };
        if state.output_truncated {
            return;
        }
        if state.output.len() >= MAX_OUTPUT_LINES || state.output_bytes + text.len() > MAX_OUTPUT_BYTES {
            state.output_truncated = true;
            state.output.push("… (output truncated)".to_owned());
            return;
        }
        state.output_bytes += text.len();
        state.output.push(text.to_owned());
    });
}

/// The evaluation's time zone (UTC outside an evaluation).
pub(crate) fn zone() -> Tz {
    CURRENT.with(|current| current.borrow().as_ref().map_or(Tz::UTC, |state| state.zone))
}

/// The evaluation's current instant: [`ScriptVars::now`], else read from `clock` once; the
/// same for the rest of the evaluation.
pub(crate) fn now(clock: &dyn Clock) -> DateTime<Utc> {
    CURRENT.with(|current| match current.borrow_mut().as_mut() {
        Some(state) => *state.now.get_or_insert_with(|| clock.now()),
        None => clock.now(),
    })
}

/// Fails unless this evaluation may request effects and has room for one more; `function`
/// names the effect function in the error.
pub(crate) fn check_effects_allowed(function: &str) -> Result<(), Box<EvalAltResult>> {
    CURRENT.with(|current| match current.borrow().as_ref() {
        Some(state) if state.effects_record.is_some() => {
            if state.effects.len() >= MAX_EFFECTS {
                Err(format!("`{function}`: a script may request at most {MAX_EFFECTS} effects per run").into())
            } else {
                Ok(())
            }
        }
        _ => Err(format!("`{function}` is only available in workflow scripts").into()),
    })
}

/// The record as the evaluation received it (`null` when effects are not allowed).
pub(crate) fn effects_record() -> serde_json::Value {
    CURRENT.with(|current| {
        current.borrow().as_ref().and_then(|state| state.effects_record.clone()).unwrap_or(serde_json::Value::Null)
    })
}

/// Records an effect, after [`check_effects_allowed`] and the size cap.
/// The record reader of the running evaluation, if it has one.
pub(crate) fn record_query() -> Option<super::RecordQuery> {
    CURRENT.with(|current| current.borrow().as_ref().and_then(|state| state.query.clone()))
}

pub(crate) fn push_effect(function: &str, effect: ScriptEffect) -> Result<(), Box<EvalAltResult>> {
    check_effects_allowed(function)?;
    let size = json_size(&effect);
    CURRENT.with(|current| {
        let mut current = current.borrow_mut();
        let Some(state) = current.as_mut() else {
            return Err(format!("`{function}` is only available in workflow scripts").into());
        };
        if state.effect_bytes.saturating_add(size) > MAX_EFFECT_BYTES {
            return Err(format!(
                "`{function}`: the effects requested by this script exceed {} MiB of data",
                MAX_EFFECT_BYTES / (1024 * 1024)
            )
            .into());
        }
        state.effect_bytes += size;
        state.effects.push(effect);
        Ok(())
    })
}

/// Bytes of `value` serialized as JSON, without building the text.
fn json_size(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Only a failing `Serialize` impl could fail here, and none of these do: count it as huge.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}
