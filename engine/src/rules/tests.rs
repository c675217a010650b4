//! Tests of the rhai scripting layer: computed-field style expressions, dates and zones, the
//! variables in scope, errors and their positions, the sandbox limits (each must end within a
//! second and leave other threads' evaluations running), the compile cache, a per-evaluation
//! `now`, and the effects workflow scripts request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::*;
use crate::clock::ManualClock;
use forms::FormName;

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("test instant").with_timezone(&Utc)
}

/// Scripts whose clock stands at `now`.
fn scripts_at(now: &str) -> Scripts {
    Scripts::new(ScriptLimits::default(), Arc::new(ManualClock::new(instant(now))))
}

fn scripts_with(limits: ScriptLimits) -> Scripts {
    Scripts::new(limits, Arc::new(ManualClock::new(instant("2027-02-27T20:00:00Z"))))
}

fn origin() -> ScriptOrigin {
    ScriptOrigin("form cs/account v3, computed `health`".to_owned())
}

fn record_vars(record: Value) -> ScriptVars {
    ScriptVars { record, ..ScriptVars::default() }
}

fn run(scripts: &Scripts, source: &str, vars: &ScriptVars) -> Result<Evaluation, ScriptError> {
    let script = scripts.compile(&origin(), source)?;
    scripts.eval(&script, vars)
}

/// The value of `source` over `record`; panics with the error message if it fails.
fn value_of(scripts: &Scripts, source: &str, record: Value) -> Value {
    match run(scripts, source, &record_vars(record)) {
        Ok(evaluation) => evaluation.value,
        Err(err) => panic!("`{source}` failed: {err}"),
    }
}

fn error_of(scripts: &Scripts, source: &str, vars: &ScriptVars) -> ScriptError {
    match run(scripts, source, vars) {
        Ok(evaluation) => panic!("`{source}` should fail, gave {:?}", evaluation.value),
        Err(err) => err,
    }
}

/// A record lent with its id kept apart reads the same as one holding it: `record.id`, and
/// the id among the record's fields when the script takes the record whole.
#[test]
fn a_record_id_kept_apart_reads_as_the_records_id() {
    let scripts = scripts_with(ScriptLimits::default());
    let vars = ScriptVars {
        record: json!({ "id": "stale", "tier": "gold" }),
        record_id: Some("r1".into()),
        ..ScriptVars::default()
    };
    let value = |source: &str| run(&scripts, source, &vars).map(|evaluation| evaluation.value).expect(source);
    assert_eq!(value("record.id"), json!("r1"));
    assert_eq!(value("record.tier + record.id"), json!("goldr1"));
    assert_eq!(value("record"), json!({ "id": "r1", "tier": "gold" }));
    assert_eq!(value("record.tier"), json!("gold"));
}

fn account() -> Value {
    json!({
        "name": "  Acme Corp ",
        "tier": "gold",
        "usage": 80,
        "nps": 7,
        "arr": 120000.5,
        "renewal_date": "2027-03-15",
        "created_at": "2027-02-27T08:00:00Z",
        "owner": null,
        "tags": ["beta", "emea"],
        "contact": {"email": "ops@acme.test"},
    })
}

// ---- computed-field style expressions ----

#[test]
fn weighted_health_score_is_a_rounded_number() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let score = value_of(&scripts, "round(record.usage * 0.5 + record.nps * 5.0, 0)", account());
    assert_eq!(score, json!(75));
    assert_eq!(value_of(&scripts, "round(10.0 / 3.0, 2)", account()), json!(3.33));
    assert_eq!(value_of(&scripts, "round(1234, -2)", account()), json!(1200));
    assert_eq!(value_of(&scripts, "round(-1250.0, -2)", account()), json!(-1300));
    assert_eq!(value_of(&scripts, "record.arr / 2", account()), json!(60000.25));
}

#[test]
fn strings_interpolate_and_helpers_work() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let text = value_of(&scripts, "`${trim(record.name)} (${upper(record.tier)}, ${record.usage}%)`", account());
    assert_eq!(text, json!("Acme Corp (GOLD, 80%)"));
    assert_eq!(value_of(&scripts, "lower(\"MiXed\") + record.name.trim()", account()), json!("mixedAcme Corp"));
    assert_eq!(value_of(&scripts, "upper(record.owner)", account()), Value::Null);
    assert_eq!(value_of(&scripts, "record.contact.email", account()), json!("ops@acme.test"));
    assert_eq!(value_of(&scripts, "record.tags.len() + record.tags[1].len()", account()), json!(6));
    assert_eq!(value_of(&scripts, "record.missing", account()), Value::Null);
}

#[test]
fn clamp_min_and_max_mix_integers_and_floats() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    assert_eq!(value_of(&scripts, "clamp(record.usage * 2, 0, 100)", account()), json!(100));
    assert_eq!(value_of(&scripts, "clamp(-3, 0.5, 10)", account()), json!(0.5));
    assert_eq!(value_of(&scripts, "clamp(7.25, 0, 10)", account()), json!(7.25));
    assert_eq!(value_of(&scripts, "max(record.nps, 9.5)", account()), json!(9.5));
    assert_eq!(value_of(&scripts, "min(2.5, record.nps)", account()), json!(2.5));
    let err = error_of(&scripts, "clamp(1, 10, 0)", &ScriptVars::default());
    assert!(matches!(err.kind, ScriptErrorKind::Runtime(ref m) if m.contains("lower bound")), "{err}");
}

// ---- dates, instants, durations ----

#[test]
fn date_arithmetic_gives_exact_iso_strings() {
    let scripts = scripts_at("2027-02-27T10:00:00Z");
    assert_eq!(value_of(&scripts, "today() + days(2)", json!({})), json!("2027-03-01"));
    assert_eq!(value_of(&scripts, "today() - weeks(1)", json!({})), json!("2027-02-20"));
    assert_eq!(value_of(&scripts, "days(2) + today()", json!({})), json!("2027-03-01"));
    assert_eq!(value_of(&scripts, "now()", json!({})), json!("2027-02-27T10:00:00Z"));
    assert_eq!(value_of(&scripts, "now() + hours(36) + minutes(30)", json!({})), json!("2027-02-28T22:30:00Z"));
    assert_eq!(value_of(&scripts, "`due ${today() + days(2)}`", json!({})), json!("due 2027-03-01"));
    assert_eq!(value_of(&scripts, "(now() - days(1)).to_string()", json!({})), json!("2027-02-26T10:00:00Z"));
    assert_eq!(value_of(&scripts, "record.renewal_date + days(30)", account()), json!("2027-04-14"));
    assert_eq!(value_of(&scripts, "record.created_at + hours(1)", account()), json!("2027-02-27T09:00:00Z"));
    assert_eq!(value_of(&scripts, "let d = today(); d += days(1); d", json!({})), json!("2027-02-28"));
    assert_eq!(value_of(&scripts, "date(2028, 2, 29).weekday", json!({})), json!(2));
    assert_eq!(value_of(&scripts, "type_of(today() + days(1))", json!({})), json!("date"));
}

#[test]
fn days_until_depends_on_the_evaluation_time_zone() {
    // 20:00 UTC on Feb 27 is already 04:00 on Feb 28 in Shanghai.
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let utc = ScriptVars::default();
    let shanghai = ScriptVars { timezone: Some(chrono_tz::Asia::Shanghai), ..ScriptVars::default() };
    let days_until = scripts.compile(&origin(), "days_until(\"2027-03-01\")").expect("compiles");
    assert_eq!(scripts.eval(&days_until, &utc).expect("evaluates").value, json!(2));
    assert_eq!(scripts.eval(&days_until, &shanghai).expect("evaluates").value, json!(1));

    let today = scripts.compile(&origin(), "today()").expect("compiles");
    assert_eq!(scripts.eval(&today, &utc).expect("evaluates").value, json!("2027-02-27"));
    assert_eq!(scripts.eval(&today, &shanghai).expect("evaluates").value, json!("2027-02-28"));
    assert_eq!(value_of(&scripts, "today(\"Asia/Shanghai\")", json!({})), json!("2027-02-28"));
    assert_eq!(value_of(&scripts, "today(\"America/Los_Angeles\")", json!({})), json!("2027-02-27"));

    assert_eq!(value_of(&scripts, "days_since(\"2027-02-20\")", json!({})), json!(7));
    assert_eq!(value_of(&scripts, "days_until(\"2027-02-20\")", json!({})), json!(-7));
    assert_eq!(value_of(&scripts, "days_until(record.owner)", account()), Value::Null);
    // An instant's day is taken in the evaluation's zone: 23:30 UTC is the 28th in Shanghai.
    let late = scripts.compile(&origin(), "days_until(\"2027-02-27T23:30:00Z\")").expect("compiles");
    assert_eq!(scripts.eval(&late, &utc).expect("evaluates").value, json!(0));
    assert_eq!(scripts.eval(&late, &shanghai).expect("evaluates").value, json!(0));
    let unknown_zone = error_of(&scripts, "today(\"Mars/Olympus\")", &utc);
    assert!(matches!(unknown_zone.kind, ScriptErrorKind::Runtime(ref m) if m.contains("Mars/Olympus")));
}

#[test]
fn dates_compare_with_dates_instants_and_date_strings() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let checks = [
        ("record.renewal_date < today()", false),
        ("record.renewal_date > today()", true),
        ("today() + days(30) > record.renewal_date", true),
        ("today() + days(10) >= record.renewal_date", false),
        ("record.renewal_date == date(\"2027-03-15\")", true),
        ("date(\"2027-03-15\") == record.renewal_date", true),
        ("today() != \"2027-02-27\"", false),
        ("today() <= \"2027-02-27\"", true),
        ("record.created_at < now()", true),
        ("now() - hours(12) == record.created_at", true),
        ("datetime(record.created_at) == today()", true),
        ("datetime(record.created_at) > today()", false),
        ("record.created_at < today()", false),
        ("days(1) < hours(25)", true),
        ("record.owner < today()", false),
    ];
    for (source, expected) in checks {
        assert_eq!(value_of(&scripts, source, account()), json!(expected), "{source}");
    }
    let bad = error_of(&scripts, "record.tier < today()", &record_vars(account()));
    assert!(matches!(bad.kind, ScriptErrorKind::Runtime(ref m) if m.contains("`gold` is not a date")), "{bad}");
}

#[test]
fn durations_have_whole_units_exact_units_and_seconds_as_json() {
    let scripts = scripts_at("2027-02-27T10:00:00Z");
    assert_eq!(value_of(&scripts, "(date(\"2027-03-01\") - today()).days", json!({})), json!(2));
    assert_eq!(value_of(&scripts, "(today() - \"2027-03-01\").days", json!({})), json!(-2));
    assert_eq!(value_of(&scripts, "(now() - record.created_at).hours", account()), json!(2));
    assert_eq!(value_of(&scripts, "now() - record.created_at", account()), json!(7200));
    assert_eq!(value_of(&scripts, "as_days(hours(36))", json!({})), json!(1.5));
    assert_eq!(value_of(&scripts, "hours(36).days", json!({})), json!(1));
    assert_eq!(value_of(&scripts, "(-hours(36)).days", json!({})), json!(-1));
    assert_eq!(value_of(&scripts, "days(1.5) == hours(36)", json!({})), json!(true));
    assert_eq!(value_of(&scripts, "(days(3) * 2 - hours(12)).to_string()", json!({})), json!("P5DT12H"));
    assert_eq!(value_of(&scripts, "`${minutes(90)}`", json!({})), json!("PT1H30M"));
    assert_eq!(value_of(&scripts, "seconds(0.25)", json!({})), json!(0.25));
    let partial = error_of(&scripts, "today() + hours(3)", &ScriptVars::default());
    assert!(matches!(partial.kind, ScriptErrorKind::Runtime(ref m) if m.contains("whole days")), "{partial}");
    let huge = error_of(&scripts, "days(9223372036854775807)", &ScriptVars::default());
    assert!(matches!(huge.kind, ScriptErrorKind::Runtime(ref m) if m.contains("out of range")), "{huge}");
    let far = error_of(&scripts, "today() + days(999999999)", &ScriptVars::default());
    assert!(matches!(far.kind, ScriptErrorKind::Runtime(_)), "{far}");
}

#[test]
fn local_time_pins_a_zone() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let shanghai = "local_time(now(), \"Asia/Shanghai\")";
    assert_eq!(value_of(&scripts, shanghai, json!({})), json!("2027-02-28T04:00:00+08:00"));
    assert_eq!(value_of(&scripts, &format!("{shanghai}.hour"), json!({})), json!(4));
    assert_eq!(value_of(&scripts, &format!("{shanghai}.date"), json!({})), json!("2027-02-28"));
    assert_eq!(value_of(&scripts, &format!("{shanghai} == now()"), json!({})), json!(true));
    assert_eq!(value_of(&scripts, "now().hour", json!({})), json!(20));
    // A local time without an offset is read in the evaluation's zone.
    let vars = ScriptVars { timezone: Some(chrono_tz::Europe::Paris), ..ScriptVars::default() };
    let paris = run(&scripts, "datetime(\"2027-03-01T09:00\")", &vars).expect("evaluates");
    assert_eq!(paris.value, json!("2027-03-01T08:00:00Z"));
}

// ---- variables in scope ----

#[test]
fn old_event_and_space_are_bound() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let vars = ScriptVars {
        record: json!({"health": 55}),
        old: Some(json!({"health": 70})),
        event: Some(json!({"kind": "updated"})),
        space: Some("cs".to_owned()),
        ..ScriptVars::default()
    };
    let when = run(&scripts, "old.health >= 60 && record.health < 60", &vars).expect("evaluates");
    assert_eq!(when.as_bool(), Some(true));
    let text = run(&scripts, "`${space}: ${event.kind}`", &vars).expect("evaluates");
    assert_eq!(text.value, json!("cs: updated"));
    assert_eq!(text.as_bool(), None);

    let empty = ScriptVars::default();
    let unset = run(&scripts, "[old == (), event == (), space == (), record == ()]", &empty).expect("evaluates");
    assert_eq!(unset.value, json!([true, true, true, true]));
}

#[test]
fn record_cannot_be_reassigned() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let vars = record_vars(account());
    for source in ["record = #{}; 1", "old = 1", "space = \"other\""] {
        let err = error_of(&scripts, source, &vars);
        assert!(matches!(err.kind, ScriptErrorKind::Runtime(ref m) if m.contains("read-only")), "{source}: {err}");
    }
    // Changing a field changes the script's copy at most, never the caller's record.
    let after = run(&scripts, "record.usage = 1; record.usage", &vars);
    assert!(after.is_err() || after.is_ok_and(|e| e.value == json!(1)));
    assert_eq!(vars.record["usage"], json!(80));
}

#[test]
fn values_convert_back_to_json() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let source = "#{ n: (), i: 3, f: 2.0, g: 2.5, s: `x`, c: 'c', a: [1, [today()]], d: days(1), t: now() }";
    assert_eq!(
        value_of(&scripts, source, json!({})),
        json!({"n": null, "i": 3, "f": 2, "g": 2.5, "s": "x", "c": "c", "a": [1, ["2027-02-27"]], "d": 86400,
               "t": "2027-02-27T20:00:00Z"})
    );
    assert_eq!(value_of(&scripts, "record", json!({"x": 1.0, "y": [null, 1.5]})), json!({"x": 1, "y": [null, 1.5]}));
    assert_eq!(value_of(&scripts, "type_of(record.x)", json!({"x": 1.0})), json!("i64"));
    let infinite = error_of(&scripts, "1.0 / 0.0", &ScriptVars::default());
    assert!(matches!(infinite.kind, ScriptErrorKind::Runtime(_)), "{infinite}");
    let pointer = error_of(&scripts, "Fn(\"today\")", &ScriptVars::default());
    assert!(matches!(pointer.kind, ScriptErrorKind::Runtime(ref m) if m.contains("no JSON form")), "{pointer}");
}

// ---- print and debug ----

#[test]
fn print_and_debug_are_captured_per_evaluation() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let script = scripts.compile(&origin(), "print(`usage ${record.usage}`); debug(record.tier); 1").expect("compiles");
    let first = scripts.eval(&script, &record_vars(json!({"usage": 1, "tier": "a"}))).expect("evaluates");
    let second = scripts.eval(&script, &record_vars(json!({"usage": 2, "tier": "b"}))).expect("evaluates");
    assert_eq!(first.output, vec!["usage 1".to_owned(), "\"a\"".to_owned()]);
    assert_eq!(second.output, vec!["usage 2".to_owned(), "\"b\"".to_owned()]);

    // Output of an evaluation that fails is dropped with it, and doesn't leak into the next.
    let failing = scripts.compile(&origin(), "print(\"before\"); throw \"boom\"").expect("compiles");
    let err = scripts.eval(&failing, &ScriptVars::default()).expect_err("throws");
    assert_eq!(err.kind, ScriptErrorKind::Runtime("boom".to_owned()));
    let third = scripts.eval(&script, &record_vars(json!({"usage": 3, "tier": "c"}))).expect("evaluates");
    assert_eq!(third.output.len(), 2);
}

#[test]
fn print_output_of_concurrent_evaluations_does_not_mix() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let script =
        scripts.compile(&origin(), "for i in 0..20 { print(`${record.who} ${i}`); } record.who").expect("compiles");
    std::thread::scope(|s| {
        for who in ["left", "right"] {
            let (scripts, script) = (&scripts, &script);
            s.spawn(move || {
                for _ in 0..50 {
                    let evaluation = scripts.eval(script, &record_vars(json!({"who": who}))).expect("evaluates");
                    assert_eq!(evaluation.output.len(), 20);
                    assert!(evaluation.output.iter().all(|line| line.starts_with(who)), "{:?}", evaluation.output);
                }
            });
        }
    });
}

#[test]
fn print_output_is_capped() {
    // No deadline: the operation limit alone bounds the loop, so a loaded machine can't turn
    // this into a timeout.
    let scripts = scripts_with(ScriptLimits { timeout_ms: 0, ..ScriptLimits::default() });
    let evaluation = run(&scripts, "for i in 0..5000 { print(i); } 0", &ScriptVars::default()).expect("evaluates");
    assert_eq!(evaluation.output.len(), 1_001);
    assert_eq!(evaluation.output[999], "999");
    assert_eq!(evaluation.output.last().map(String::as_str), Some("… (output truncated)"));
}

// ---- compile errors ----

#[test]
fn syntax_errors_carry_line_and_column() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let err = error_of(&scripts, "let x = 1;\nlet y = x +;\n", &ScriptVars::default());
    assert!(matches!(err.kind, ScriptErrorKind::Syntax(_)), "{err}");
    assert_eq!(err.line, Some(2));
    assert!(err.column.is_some());
    let message = err.to_string();
    assert!(message.starts_with("form cs/account v3, computed `health`: line 2, column "), "{message}");
    for source in ["eval(\"1\")", "import \"x\" as y; 1"] {
        let err = error_of(&scripts, source, &ScriptVars::default());
        assert!(matches!(err.kind, ScriptErrorKind::Syntax(_)), "{source}: {err}");
    }
}

#[test]
fn unknown_variables_are_compile_errors() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let err = scripts.compile(&origin(), "1 +\n  recrod.health").expect_err("unknown variable");
    assert_eq!(err.kind, ScriptErrorKind::UnknownVariable("recrod".to_owned()));
    assert_eq!((err.line, err.column), (Some(2), Some(3)));
    assert!(err.to_string().ends_with("line 2, column 3: unknown variable `recrod`"), "{err}");
}

#[test]
fn unknown_functions_are_named() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    // Caught at compile time even in a branch that never runs.
    let err = scripts.compile(&origin(), "if false {\n  frobnicate(record)\n} else { 1 }").expect_err("unknown");
    assert_eq!(err.kind, ScriptErrorKind::UnknownFunction("frobnicate".to_owned()));
    assert_eq!((err.line, err.column), (Some(2), Some(3)));
    let method = scripts.compile(&origin(), "record.name.shout()").expect_err("unknown method");
    assert_eq!(method.kind, ScriptErrorKind::UnknownFunction("shout".to_owned()));
    // The script's own functions, closures and keywords are known.
    let fine = "fn double(x) { x * 2 } let f = |x| double(x) + 1; let m = #{ g: |y| y }; \
                [f.call(1), call(f, 2), m.g(3), type_of(1), is_def_fn(\"double\", 1)]";
    assert_eq!(value_of(&scripts, fine, json!({})), json!([3, 5, 3, "i64", true]));
    // Known names with arguments of the wrong types fail at run time, with the signature.
    let err = error_of(&scripts, "days_until(42)", &ScriptVars::default());
    assert!(matches!(err.kind, ScriptErrorKind::UnknownFunction(ref s) if s.starts_with("days_until")), "{err}");
    assert_eq!(err.line, Some(1));
    // A missing operator is a type error, not an unknown function.
    let err = error_of(&scripts, "1 + today()", &ScriptVars::default());
    assert_eq!(err.kind, ScriptErrorKind::Runtime("operator `+` does not apply to (i64, date)".to_owned()));
}

// ---- the sandbox ----

fn assert_quick(started: Instant, what: &str) {
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "{what} took {elapsed:?}");
}

#[test]
fn an_infinite_loop_stops() {
    // The deadline out of reach: the operation limit alone must stop it, even unoptimized.
    let scripts = scripts_with(ScriptLimits { timeout_ms: 120_000, ..ScriptLimits::default() });
    let started = Instant::now();
    let err = error_of(&scripts, "loop {}", &ScriptVars::default());
    assert_quick(started, "loop {}");
    assert_eq!(err.kind, ScriptErrorKind::TooManyOperations { limit: 100_000 }, "{err}");
}

#[test]
fn a_cheap_loop_under_a_high_operation_limit_times_out() {
    let limits = ScriptLimits { max_operations: 0, timeout_ms: 100, ..ScriptLimits::default() };
    let scripts = scripts_with(limits);
    let started = Instant::now();
    let err = error_of(&scripts, "let x = 0;\nloop { x += 1; }", &ScriptVars::default());
    let elapsed = started.elapsed();
    assert_eq!(err.kind, ScriptErrorKind::Timeout { limit_ms: 100 });
    assert!(elapsed >= Duration::from_millis(100) && elapsed < Duration::from_millis(1_000), "{elapsed:?}");
    assert!(err.to_string().ends_with("stopped after 100 ms (timeout_ms)"), "{err}");
    assert_eq!(err.line, Some(2));
}

#[test]
fn exponential_string_growth_is_data_too_large() {
    let scripts = size_limits_only(100_000);
    let started = Instant::now();
    let err = error_of(&scripts, "let s = \"x\"; loop { s += s; }", &ScriptVars::default());
    assert_quick(started, "string growth");
    assert_eq!(err.kind, ScriptErrorKind::DataTooLarge { what: "string".to_owned(), limit: 65_536 });
    assert!(err.to_string().contains("(max_string_size)"), "{err}");
}

#[test]
fn deep_recursion_is_call_depth() {
    let scripts = scripts_with(ScriptLimits::default());
    let started = Instant::now();
    let err = error_of(&scripts, "fn f(n) { f(n + 1) }\nf(0)", &ScriptVars::default());
    assert_quick(started, "recursion");
    assert_eq!(err.kind, ScriptErrorKind::CallDepth { limit: 32 });
    assert!(err.line.is_some());
}

/// DataTooLarge and nothing else: the callers give the script time enough that only the size
/// guard can stop it, even in an unoptimized build.
fn assert_too_large(err: &ScriptError, what: &str) {
    assert_eq!(err.kind, ScriptErrorKind::DataTooLarge { what: what.to_owned(), limit: 10_000 }, "{err}");
}

/// Limits under which only a size guard can end a growing loop: no deadline within reach.
fn size_limits_only(max_operations: u64) -> Scripts {
    scripts_with(ScriptLimits { max_operations, timeout_ms: 120_000, ..ScriptLimits::default() })
}

#[test]
fn huge_arrays_and_maps_are_data_too_large() {
    let scripts = size_limits_only(100_000);
    let started = Instant::now();
    let err = error_of(&scripts, "let a = []; a.pad(10_000_000, 0); a.len()", &ScriptVars::default());
    assert_quick(started, "pad");
    assert_eq!(err.kind, ScriptErrorKind::DataTooLarge { what: "array".to_owned(), limit: 10_000 });
    // rhai re-measures the whole array after each push, so growing one item at a time is
    // quadratic: slow in an unoptimized build, so the deadline is put out of reach and the
    // size guard alone must stop it.
    let err = error_of(&size_limits_only(100_000), "let a = []; loop { a.push(0); }", &ScriptVars::default());
    assert_too_large(&err, "array");
    // rhai doesn't measure a map when `m[key] = value` adds a key; `sandbox` does.
    let source = "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }";
    let err = error_of(&size_limits_only(1_000_000), source, &ScriptVars::default());
    assert_too_large(&err, "map");
    let started = Instant::now();
    let source = "let s = \"x\"; s.pad(60_000, \"x\"); let m = #{}; let i = 0; loop { m[`k${i}`] = s + i; i += 1; }";
    let err = error_of(&scripts, source, &ScriptVars::default());
    assert_quick(started, "map of big strings");
    assert_eq!(err.kind, ScriptErrorKind::DataTooLarge { what: "string".to_owned(), limit: 65_536 });
}

/// rhai measures a value when it is built or passed, but not what a function pointer carries:
/// its curried arguments and the variables its closure captured. Before those were measured,
/// each of these scripts ran to the operation limit holding a new 60 kB string per loop
/// (about 1.4 GB under the default limits); now the size guard stops them as soon as it
/// samples the variables. The deadline is out of reach, so only the size guard can pass.
#[test]
fn values_held_by_function_pointers_count_toward_the_size_limits() {
    let scripts = size_limits_only(20_000);
    let big = "let s = \"x\"; s.pad(60_000, \"x\"); let i = 0;";
    for source in [
        // Curried arguments piling up in one pointer.
        "fn keep(a) { a } let f = Fn(\"keep\"); loop { f = f.curry(s + i); i += 1; }",
        // An array of pointers, each carrying its own big string.
        "fn keep(a) { a } let a = []; loop { a.push(Fn(\"keep\").curry(s + i)); i += 1; }",
        // Closures, each capturing a variable that leaves the scope with its iteration.
        "let a = []; loop { let t = s + i; a.push(|| t); i += 1; }",
        // A map of closures.
        "let m = #{}; loop { let t = s + i; m[`k${i}`] = || t.len(); i += 1; }",
        // Grown through `this` inside a method, whose own scope holds no accumulator.
        "fn k(x) { x } fn grow(s) { let i = 0; loop { this.push(Fn(\"k\").curry(s + i)); i += 1; } } \
         let a = []; a.grow(s);",
        // One captured array, grown through the closure after its variable is gone.
        "let f = 0; { let a = []; f = |x| { a.push(x); a.len() }; } loop { f.call(s + i); i += 1; }",
    ] {
        let source = format!("{big} {source}");
        let err = error_of(&scripts, &source, &ScriptVars::default());
        assert_eq!(
            err.kind,
            ScriptErrorKind::DataTooLarge { what: "string".to_owned(), limit: 65_536 },
            "{source}: {err}"
        );
        assert!(err.to_string().ends_with("string longer than 65536 bytes (max_string_size)"), "{err}");
    }
}

/// Measuring what closures capture leaves out the constants they capture, and a method's
/// `this` when it is a constant: `record` may legitimately be larger than a script's own
/// values.
#[test]
fn closures_may_capture_a_record_larger_than_the_script_limits() {
    let scripts = size_limits_only(100_000);
    let record = json!({ "notes": "n".repeat(200_000), "items": [1, 2, 3], "min": 2 });
    let source = "let keep = |x| x >= record.min && record.notes.len() > 0; \
                  let items = record.items; let kept = items.filter(keep); let n = 0; for x in kept { n += x; } n";
    assert_eq!(value_of(&scripts, source, record.clone()), json!(5));
    let source = "fn notes() { let n = 0; for i in 0..100 { n += this.notes.len(); } n } record.notes()";
    assert_eq!(value_of(&scripts, source, record), json!(20_000_000));
}

#[test]
fn deeply_nested_expressions_are_refused_at_compile_time() {
    let scripts = scripts_with(ScriptLimits::default());
    let source = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    let err = scripts.compile(&origin(), &source).expect_err("too deep");
    assert!(matches!(err.kind, ScriptErrorKind::Syntax(ref m) if m.contains("max_expr_depth")), "{err}");
}

#[test]
fn the_deepest_allowed_recursion_fits_a_two_mebibyte_stack() {
    // Tokio's worker threads have 2 MiB stacks; rhai recurses on the native stack, so the
    // default limits must fit one even in an unoptimized build.
    let scripts = scripts_with(ScriptLimits::default());
    let body = |depth: usize| format!("fn f(n) {{ [{}f(n + 1){}] }}\nf(0)", "#{a: [".repeat(depth), "]}".repeat(depth));
    let script =
        (1..=16).rev().find_map(|depth| scripts.compile(&origin(), &body(depth)).ok()).expect("some nesting compiles");
    let result = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn_scoped(s, || scripts.eval(&script, &ScriptVars::default()))
            .expect("thread starts")
            .join()
            .expect("no stack overflow")
    });
    assert_eq!(result.expect_err("too deep").kind, ScriptErrorKind::CallDepth { limit: 32 });
}

#[test]
fn a_runaway_script_does_not_hold_up_other_threads() {
    let limits = ScriptLimits { max_operations: 0, timeout_ms: 300, ..ScriptLimits::default() };
    let scripts = scripts_with(limits);
    let runaway = scripts.compile(&origin(), "let x = 0; loop { x += 1; }").expect("compiles");
    let when = scripts.compile(&origin(), "old.health >= 60 && record.health < 60").expect("compiles");
    let vars = ScriptVars { record: json!({"health": 50}), old: Some(json!({"health": 70})), ..ScriptVars::default() };
    let (runaway_result, evaluations) = std::thread::scope(|s| {
        let slow = s.spawn(|| scripts.eval(&runaway, &ScriptVars::default()));
        let mut evaluations = 0_u32;
        while !slow.is_finished() {
            assert_eq!(scripts.eval(&when, &vars).expect("evaluates").as_bool(), Some(true));
            evaluations += 1;
        }
        (slow.join().expect("no panic"), evaluations)
    });
    assert_eq!(runaway_result.expect_err("times out").kind, ScriptErrorKind::Timeout { limit_ms: 300 });
    assert!(evaluations > 100, "only {evaluations} evaluations while the runaway ran");
}

// ---- a per-evaluation `now` ----

#[test]
fn vars_now_replaces_the_clock_for_the_whole_evaluation() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let as_if = ScriptVars { now: Some(instant("2030-06-15T23:30:00Z")), ..ScriptVars::default() };
    let source = "[now(), today(), today(\"Asia/Shanghai\"), days_until(\"2030-06-20\"), days_since(\"2030-06-01\"), \
                  now() + hours(1)]";
    let evaluation = run(&scripts, source, &as_if).expect("evaluates");
    assert_eq!(
        evaluation.value,
        json!(["2030-06-15T23:30:00Z", "2030-06-15", "2030-06-16", 5, 14, "2030-06-16T00:30:00Z"])
    );
    // With a zone, calendar questions about that instant use it.
    let in_shanghai = ScriptVars { timezone: Some(chrono_tz::Asia::Shanghai), ..as_if.clone() };
    assert_eq!(
        run(&scripts, "[today(), days_until(\"2030-06-20\")]", &in_shanghai).expect("evaluates").value,
        json!(["2030-06-16", 4])
    );
    // Without it, the clock; and the override does not stick to the thread.
    let clock = run(&scripts, "[now(), today()]", &ScriptVars::default()).expect("evaluates");
    assert_eq!(clock.value, json!(["2027-02-27T20:00:00Z", "2027-02-27"]));
}

// ---- effects of workflow scripts ----

fn workflow_vars(record: Value) -> ScriptVars {
    ScriptVars { record, allow_effects: true, ..ScriptVars::default() }
}

fn runtime_message(err: &ScriptError) -> &str {
    match &err.kind {
        ScriptErrorKind::Runtime(message) => message,
        other => panic!("expected a runtime error, got {other:?} ({err})"),
    }
}

#[test]
fn effects_are_recorded_in_order_with_converted_data() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let source = r#"
        create("task", #{ title: `Call ${record.name}`, due: today() + days(3), at: now(), tags: ["a"] });
        create("note", #{ text: "renewal soon", weight: 2.0, ratio: 0.5, owner: record.owner });
        update(#{ health: record.health - 5, checked: now() - hours(2) });
        update("account", "01J0ABC", #{ owner: "ana", wait: days(1) });
        transition("at_risk");
        notify(#{ webhook: "slack", body: #{ text: `Health ${record.health}`, on: date(2027, 3, 1) } });
        notify(#{ url: "https://hooks.example/x" });
        notify(#{ email: #{ to: ["a@x.test", "b@x.test"], subject: "Renewal", body: `Call ${record.name}` } });
        notify(#{ email: #{ to: "c@x.test", subject: "s", body: "b" }, body: () });
        print("done");
        42
    "#;
    let record = json!({"name": "Acme", "health": 55, "owner": null});
    let vars = ScriptVars { now: Some(instant("2027-03-10T09:00:00Z")), ..workflow_vars(record.clone()) };
    let evaluation = run(&scripts, source, &vars).expect("evaluates");
    assert_eq!(evaluation.value, json!(42));
    assert_eq!(evaluation.output, vec!["done".to_owned()]);
    let expected = vec![
        ScriptEffect::Create {
            form: FormName::from_static("task"),
            data: json!({"title": "Call Acme", "due": "2027-03-13", "at": "2027-03-10T09:00:00Z", "tags": ["a"]}),
        },
        ScriptEffect::Create {
            form: FormName::from_static("note"),
            data: json!({"text": "renewal soon", "weight": 2, "ratio": 0.5, "owner": null}),
        },
        ScriptEffect::Update { data: json!({"health": 50, "checked": "2027-03-10T07:00:00Z"}) },
        ScriptEffect::UpdateRecord {
            form: FormName::from_static("account"),
            id: "01J0ABC".into(),
            data: json!({"owner": "ana", "wait": 86_400}),
        },
        ScriptEffect::Transition { to: "at_risk".into() },
        ScriptEffect::Notify {
            webhook: Some("slack".into()),
            url: None,
            email: None,
            body: json!({"text": "Health 55", "on": "2027-03-01"}),
        },
        // Without `body`, the record.
        ScriptEffect::Notify { webhook: None, url: Some("https://hooks.example/x".into()), email: None, body: record },
        ScriptEffect::Notify {
            webhook: None,
            url: None,
            email: Some(json!({"to": ["a@x.test", "b@x.test"], "subject": "Renewal", "body": "Call Acme"})),
            body: json!({"name": "Acme", "health": 55, "owner": null}),
        },
        ScriptEffect::Notify {
            webhook: None,
            url: None,
            email: Some(json!({"to": "c@x.test", "subject": "s", "body": "b"})),
            body: Value::Null,
        },
    ];
    assert_eq!(evaluation.effects, expected);

    // Serialized with the effect's name as a tag.
    assert_eq!(
        serde_json::to_value(&expected[3]).expect("serializes"),
        json!({"effect": "update_record", "form": "account", "id": "01J0ABC", "data": {"owner": "ana", "wait": 86_400}})
    );
    assert_eq!(
        serde_json::to_value(&expected[4]).expect("serializes"),
        json!({"effect": "transition", "to": "at_risk"})
    );

    // Scripts that request nothing, and expressions, have no effects.
    assert!(run(&scripts, "record.health + 1", &vars).expect("evaluates").effects.is_empty());
}

#[test]
fn a_script_that_fails_after_requesting_effects_returns_none() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let vars = workflow_vars(json!({"health": 10}));
    let failing = "create(\"task\", #{ title: \"a\" }); transition(\"lost\"); throw \"boom\"";
    let err = error_of(&scripts, failing, &vars);
    assert_eq!(err.kind, ScriptErrorKind::Runtime("boom".to_owned()));
    // Nor do they leak into the next evaluation on this thread.
    let next = run(&scripts, "update(#{ health: 11 }); true", &vars).expect("evaluates");
    assert_eq!(next.effects, vec![ScriptEffect::Update { data: json!({"health": 11}) }]);
    // A script error in the data is an error of the script, too.
    let err = error_of(&scripts, "create(\"task\", #{ f: |x| x })", &vars);
    assert!(runtime_message(&err).contains("the data of `create`"), "{err}");
}

#[test]
fn effects_are_refused_unless_allowed() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let vars = record_vars(json!({"health": 10}));
    for (source, function) in [
        ("create(\"task\", #{})", "create"),
        ("update(#{ health: 1 })", "update"),
        ("update(\"account\", \"01J0ABC\", #{})", "update"),
        ("transition(\"won\")", "transition"),
        ("notify(#{ webhook: \"slack\" })", "notify"),
        // Refused before its arguments are looked at.
        ("notify(#{})", "notify"),
    ] {
        let err = error_of(&scripts, source, &vars);
        assert_eq!(runtime_message(&err), format!("`{function}` is only available in workflow scripts"), "{source}");
        assert_eq!(err.line, Some(1), "{source}");
    }
    // They compile wherever they are called, and misspellings still don't.
    let err = scripts.compile(&origin(), "if false { creat(\"task\", #{}) }").expect_err("unknown function");
    assert_eq!(err.kind, ScriptErrorKind::UnknownFunction("creat".to_owned()));
    // Wrong argument types are unknown signatures.
    let err = error_of(&scripts, "transition(1)", &workflow_vars(json!({})));
    assert!(matches!(err.kind, ScriptErrorKind::UnknownFunction(ref s) if s.starts_with("transition")), "{err}");
}

#[test]
fn bad_notify_specs_are_refused_with_a_reason() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let vars = workflow_vars(json!({}));
    for (spec, reason) in [
        ("#{}", "give one of `webhook`, `url` or `email`"),
        ("#{ body: 1 }", "give one of `webhook`, `url` or `email`"),
        (
            "#{ webhook: \"a\", url: \"https://x.test\" }",
            "give only one of `webhook`, `url`, `email` (got `webhook` and `url`)",
        ),
        ("#{ webhook: 1 }", "`webhook` must be a string, not an integer"),
        ("#{ webhook: \" \" }", "`webhook` is empty"),
        ("#{ url: \"ftp://x.test\" }", "`url` must be an http:// or https:// URL"),
        ("#{ url: today() }", "`url` must be a string, not a date"),
        ("#{ webhook: \"a\", headers: #{} }", "unknown key `headers` (expected `webhook`, `url`, `email`, `body`)"),
        ("#{ email: \"a@x.test\" }", "`email` must be a map of `to`, `subject` and `body`, not a string"),
        ("#{ email: #{ to: \"a@x.test\", subject: \"s\" } }", "`email.body` is missing"),
        ("#{ email: #{ to: 1, subject: \"s\", body: \"b\" } }", "`email.to` must be a string or an array of strings"),
        ("#{ email: #{ to: [], subject: \"s\", body: \"b\" } }", "`email.to` is an empty array"),
        (
            "#{ email: #{ to: [\"a\", 2], subject: \"s\", body: \"b\" } }",
            "`email.to[]` must be a string, not an integer",
        ),
        ("#{ email: #{ to: \"a\", subject: (), body: \"b\" } }", "`email.subject` must be a string, not ()"),
        (
            "#{ email: #{ to: \"a\", subject: \"s\", body: \"b\", cc: \"c\" } }",
            "unknown key `email.cc` (expected `to`, `subject`, `body`)",
        ),
        ("#{ webhook: \"a\", body: |x| x }", "a value in `body` is a Fn, which has no JSON form"),
    ] {
        let source = format!("notify({spec})");
        let err = error_of(&scripts, &source, &vars);
        assert_eq!(runtime_message(&err), format!("`notify`: {reason}"), "{source}");
    }
    let err = error_of(&scripts, "notify(\"slack\")", &vars);
    assert!(matches!(err.kind, ScriptErrorKind::UnknownFunction(ref s) if s.starts_with("notify")), "{err}");
    for (source, message) in [
        ("create(\"\", #{})", "`create`: the form is empty"),
        ("update(\"account\", \"\", #{})", "`update`: the record id is empty"),
        ("transition(\"\")", "`transition`: the stage is empty"),
    ] {
        assert_eq!(runtime_message(&error_of(&scripts, source, &vars)), message);
    }
}

#[test]
fn effects_per_evaluation_are_capped() {
    let scripts = scripts_with(ScriptLimits { timeout_ms: 0, ..ScriptLimits::default() });
    let vars = workflow_vars(json!({}));
    let at_cap = run(&scripts, "for i in 0..1000 { transition(`s${i}`) } 0", &vars).expect("evaluates");
    assert_eq!(at_cap.effects.len(), 1_000);
    let err = error_of(&scripts, "for i in 0..1001 { transition(`s${i}`) } 0", &vars);
    assert_eq!(runtime_message(&err), "`transition`: a script may request at most 1000 effects per run");

    // And so is their data, measured as JSON.
    let big = "let s = \"\"; s.pad(60000, 'x'); for i in 0..300 { create(\"task\", #{ s: s }) } 0";
    let err = error_of(&scripts, big, &vars);
    assert_eq!(runtime_message(&err), "`create`: the effects requested by this script exceed 16 MiB of data");
}

#[test]
fn effects_of_concurrent_evaluations_do_not_mix() {
    let scripts = scripts_at("2027-02-27T20:00:00Z");
    let script = scripts
        .compile(&origin(), "for i in 0..20 { create(record.who, #{ i: i }); print(i) } record.who")
        .expect("compiles");
    std::thread::scope(|s| {
        for who in ["left", "right"] {
            let (scripts, script) = (&scripts, &script);
            s.spawn(move || {
                for _ in 0..50 {
                    let evaluation = scripts.eval(script, &workflow_vars(json!({"who": who}))).expect("evaluates");
                    let expected: Vec<ScriptEffect> = (0..20)
                        .map(|i| ScriptEffect::Create {
                            form: FormName::parse(who).expect("name"),
                            data: json!({"i": i}),
                        })
                        .collect();
                    assert_eq!(evaluation.effects, expected);
                    assert_eq!(evaluation.output.len(), 20);
                }
            });
        }
    });
}

// ---- compile cache and configuration ----

#[test]
fn compiling_the_same_script_twice_returns_the_cached_one() {
    let scripts = scripts_with(ScriptLimits::default());
    let first = scripts.compile(&origin(), "record.usage * 2").expect("compiles");
    let again = scripts.compile(&origin(), "record.usage * 2").expect("compiles");
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(first.origin(), &origin());
    let other_origin = ScriptOrigin("form cs/account v4, computed `health`".to_owned());
    let moved = scripts.compile(&other_origin, "record.usage * 2").expect("compiles");
    assert!(!Arc::ptr_eq(&first, &moved));
    let edited = scripts.compile(&origin(), "record.usage * 3").expect("compiles");
    assert!(!Arc::ptr_eq(&first, &edited));
    assert_eq!(scripts.eval(&edited, &record_vars(json!({"usage": 2}))).expect("evaluates").value, json!(6));
}

#[test]
fn limits_deserialize_with_defaults_and_refuse_unknown_keys() {
    let limits: ScriptLimits = serde_json::from_value(json!({"timeout_ms": 50})).expect("valid");
    assert_eq!(limits, ScriptLimits { timeout_ms: 50, ..ScriptLimits::default() });
    assert!(serde_json::from_value::<ScriptLimits>(json!({"timeout": 50})).is_err());
}

#[test]
fn scripts_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Scripts>();
    assert_send_sync::<Script>();
    assert_send_sync::<ScriptError>();
}

/// Cost of one evaluation of a `when`-style condition over a 15-field record. Run with
/// `cargo test -p engine --release rules::tests::measure -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a test"]
fn measure_when_condition_cost() {
    let scripts = Scripts::new(ScriptLimits::default(), Arc::new(crate::clock::SystemClock));
    let record = json!({
        "name": "Acme", "tier": "gold", "health": 55, "usage": 80, "nps": 7, "arr": 120000.5,
        "renewal_date": "2027-03-15", "created_at": "2027-02-27T08:00:00Z", "owner": "ana",
        "region": "emea", "seats": 40, "plan": "pro", "churn_risk": false, "tags": ["beta", "emea"],
        "contact": {"email": "ops@acme.test", "phone": "+33 1 23 45 67 89"},
    });
    let mut old = record.clone();
    old["health"] = json!(70);
    let vars = ScriptVars { record, old: Some(old), space: Some("cs".to_owned()), ..ScriptVars::default() };
    for source in ["old.health >= 60 && record.health < 60", "days_until(record.renewal_date) < 30"] {
        let script = scripts.compile(&origin(), source).expect("compiles");
        for _ in 0..10_000 {
            std::hint::black_box(scripts.eval(&script, &vars).expect("evaluates"));
        }
        let rounds = 200_000_u32;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(scripts.eval(&script, std::hint::black_box(&vars)).expect("evaluates"));
        }
        let per_eval = started.elapsed() / rounds;
        println!("{source}: {per_eval:?} per evaluation ({rounds} rounds)");
    }
    let script = scripts.compile(&origin(), "old.health >= 60 && record.health < 60").expect("compiles");
    let rounds = 200_000_u32;
    let started = Instant::now();
    for _ in 0..rounds {
        let _ = std::hint::black_box(convert::to_dynamic(std::hint::black_box(&vars.record)));
    }
    println!("converting the record alone: {:?}", started.elapsed() / rounds);
    let compile_rounds = 2_000_u32;
    let started = Instant::now();
    for i in 0..compile_rounds {
        let origin = ScriptOrigin(format!("bench {i}"));
        std::hint::black_box(scripts.compile(&origin, "old.health >= 60 && record.health < 60").expect("compiles"));
    }
    println!("compiling (cache miss): {:?}", started.elapsed() / compile_rounds);
    drop(script);
}
