//! The sandboxed `rhai::Engine` and the per-evaluation state its callbacks read.
//!
//! The engine is built once and shared by every thread, so anything that differs per
//! evaluation (deadline, time zone, the instant `now()` returns, captured `print`/`debug`
//! output) lives in a thread-local [`EvalRun`]: rhai evaluates synchronously on the caller's
//! thread, so the callbacks always find the state of the evaluation that called them.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, BitFieldPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{Dynamic, Engine, OptimizationLevel};

use crate::rules::ScriptLimits;
use crate::Clock;

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
    // rhai checks sizes when a value is built or passed, except when `m[key] = value` adds a
    // key to a map: a loop could add entries until the operation limit, each up to the string
    // limit (gigabytes under the defaults). So every so many variable reads, the variables in
    // scope are measured too. `on_var` is rhai's variable resolver hook (marked volatile); it
    // never resolves anything here.
    #[allow(deprecated)]
    engine.on_var(|_name, _index, context| {
        if sample_variable_read() {
            for (_, constant, value) in context.scope().iter_raw() {
                // Constants can't grow, and `record` may legitimately exceed script limits.
                if !constant {
                    context.engine().ensure_data_size_within_limits(value)?;
                }
            }
        }
        Ok(None)
    });
    engine.on_print(push_output);
    engine.on_debug(|text, _source, _position| push_output(text));

    super::time::register(&mut engine, clock);
    super::helpers::register(&mut engine);
    engine
}

/// The state of the evaluation running on this thread.
struct EvalState {
    deadline: Option<Instant>,
    zone: Tz,
    /// Read from the clock on first use, then fixed: `now()` is one instant per evaluation.
    now: Option<DateTime<Utc>>,
    variable_reads: u32,
    output: Vec<String>,
    output_bytes: usize,
    output_truncated: bool,
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
    pub(crate) fn enter(limits: &ScriptLimits, zone: Tz) -> EvalRun {
        let deadline = (limits.timeout_ms > 0)
            .then(|| Instant::now().checked_add(Duration::from_millis(limits.timeout_ms)))
            .flatten();
        let state = EvalState {
            deadline,
            zone,
            now: None,
            variable_reads: 0,
            output: Vec::new(),
            output_bytes: 0,
            output_truncated: false,
        };
        let previous = CURRENT.with(|current| current.replace(Some(state)));
        EvalRun { previous, finished: false }
    }

    /// Ends the evaluation and returns what it printed.
    pub(crate) fn finish(mut self) -> Vec<String> {
        self.finished = true;
        let state = CURRENT.with(|current| current.replace(self.previous.take()));
        state.map(|state| state.output).unwrap_or_default()
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

/// The evaluation's current instant: read from `clock` once, then the same for the rest of it.
pub(crate) fn now(clock: &dyn Clock) -> DateTime<Utc> {
    CURRENT.with(|current| match current.borrow_mut().as_mut() {
        Some(state) => *state.now.get_or_insert_with(|| clock.now()),
        None => clock.now(),
    })
}
