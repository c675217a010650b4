//! Kills at controlled points (`TEND_FAULT=<point>:<n>`, the process aborts there), several
//! in a row on one data dir with work pending at each: the processor's batch planned and not
//! committed, a committer batch applied and not flushed, a cron timer read and its next
//! occurrence computed. Afterwards every run, task, delivery, round-robin assignment and timer
//! exists exactly once, and the receiver got each delivery's id and body exactly once with a
//! 2xx (the receiver refuses every attempt until the last start, so deliveries sit in backoff
//! at the kills and no 2xx answer is ever lost to a kill).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use engine::clock::ManualClock;
use engine::workflows::{DeliveryStatus, RunFilter, RunStatus};
use engine::{Access, Actor, EndpointName, Engine, EngineConfig, EventKind, FormName, SpaceName, WorkflowName};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

const ACCOUNTS: usize = 30;
const ONBOARDINGS: usize = 4;
const REMINDERS: usize = 4;

/// Work the data dir holds that is not done: events the processor has not processed, timers
/// due, deliveries not delivered.
fn work_left(dir: &std::path::Path) -> (u64, usize, usize) {
    let engine = Engine::open(EngineConfig::new(dir)).expect("engine");
    let unprocessed = engine.last_event_seq() - engine.processor_position().expect("position");
    let now = Utc::now();
    let due_timers = engine
        .timers(&cs(), &engine::timers::TimerFilter::default(), 10_000, None)
        .expect("timers")
        .0
        .iter()
        .filter(|timer| timer.due <= now)
        .count();
    let undelivered =
        engine.deliveries().expect("deliveries").iter().filter(|d| d.status != DeliveryStatus::Delivered).count();
    engine.close().expect("close");
    (unprocessed, due_timers, undelivered)
}

/// Starts `tend serve` with `TEND_FAULT=fault` and waits for the fault to abort it.
fn serve_until_the_fault(dir: &std::path::Path, fault: &str) {
    let mut child = tend()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env(engine::FAULT_VAR, fault)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawning tend serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{fault} was never reached");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    use std::os::unix::process::ExitStatusExt as _;

    assert_eq!(status.signal(), Some(6), "{fault} aborted the server: {status}");
}

/// A data dir prepared on a clock two days back, nothing processed since: accounts written
/// (each to be assigned round-robin and announced by webhook), onboardings whose one-day stage
/// SLA is past, reminders whose date timers are due, and an hourly cron schedule whose next
/// occurrence is past.
async fn prepare(dir: &std::path::Path, receiver: &Receiver) {
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now - chrono::Duration::days(2)));
    let engine = Engine::open(EngineConfig { clock, ..EngineConfig::new(dir) }).expect("engine");
    let actor = Actor::system();
    engine.create_space(&actor, &cs(), None).await.expect("space");
    let account = json!({ "schema": { "type": "object", "properties": {
        "name": { "type": "string" }, "owner": { "type": "string" } } } });
    let task = json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "about": { "type": "string" } } }, "indexes": ["about"] });
    let reminder = json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "remind_at": { "type": "string", "format": "date-time" } } } });
    let onboarding = json!({ "schema": { "type": "object", "properties": {
        "name": { "type": "string" }, "stage": { "type": "string", "enum": ["kickoff", "live"] } } },
        "pipeline": { "field": "stage", "stages": [ { "name": "kickoff", "sla": "1d" }, { "name": "live" } ],
                      "transitions": { "kickoff": ["live"] } } });
    for (name, form) in [("account", account), ("task", task), ("reminder", reminder), ("onboarding", onboarding)] {
        engine.put_form(&actor, &cs(), &FormName::parse(name).expect("name"), &form, false).await.expect("form");
    }
    engine
        .put_endpoint(&cs(), &EndpointName::from_static("counter"), &json!({ "url": receiver.url("/count") }))
        .await
        .expect("endpoint");
    let workflows = [
        (
            "tell",
            json!({ "trigger": { "form": "account", "on": ["created"] }, "actions": [
            { "assign": { "field": "owner", "pool": ["ana", "ben", "cy"], "strategy": "round_robin" } },
            { "notify": { "webhook": "counter", "body": "#{ kind: \"account\", name: record.name }" } } ] }),
        ),
        (
            "remind",
            json!({ "trigger": { "form": "reminder", "at": "remind_at", "offsets": ["0m"] }, "actions": [
            { "create": { "form": "task", "data": { "title": "record.title", "about": "record.id" } } },
            { "notify": { "webhook": "counter", "body": "#{ kind: \"reminder\", title: record.title }" } } ] }),
        ),
        (
            "escalate",
            json!({ "trigger": { "form": "onboarding", "on": ["sla_breached"] }, "actions": [
            { "notify": { "webhook": "counter", "body": "#{ kind: \"sla\", name: record.name }" } } ] }),
        ),
        (
            "hourly",
            json!({ "trigger": { "cron": "0 * * * *" }, "actions": [
            { "create": { "form": "task", "data": { "title": "\"hourly\"", "about": "\"cron\"" } } } ] }),
        ),
    ];
    for (name, workflow) in workflows {
        engine
            .put_workflow(&actor, &cs(), &WorkflowName::parse(name).expect("name"), &workflow)
            .await
            .expect("workflow");
    }
    let remind_at = (now - chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
    for n in 0..REMINDERS {
        let data = json!({ "title": format!("r{n}"), "remind_at": remind_at });
        engine
            .create_record(&actor, &Access::unrestricted(), &cs(), &FormName::from_static("reminder"), data)
            .await
            .expect("reminder");
    }
    engine.process_pending().await.expect("the reminders' timers scheduled");
    for n in 0..ACCOUNTS {
        engine
            .create_record(
                &actor,
                &Access::unrestricted(),
                &cs(),
                &FormName::from_static("account"),
                json!({ "name": format!("a{n}") }),
            )
            .await
            .expect("account");
    }
    for n in 0..ONBOARDINGS {
        engine
            .create_record(
                &actor,
                &Access::unrestricted(),
                &cs(),
                &FormName::from_static("onboarding"),
                json!({ "name": format!("o{n}") }),
            )
            .await
            .expect("onboarding");
    }
    assert_eq!(
        engine.last_event_seq() - engine.processor_position().expect("position"),
        (ACCOUNTS + ONBOARDINGS) as u64
    );
    assert_eq!(engine.pending_timers(), REMINDERS + ONBOARDINGS + 1);
    engine.close().expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controlled_kills_leave_runs_deliveries_timers_and_assignments_exactly_once() {
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("tend.toml"),
        "[webhooks]\nallow_private_targets = true\nbackoff_base_ms = 100\nbackoff_max_ms = 400\nmax_attempts = 1000\n",
    )
    .expect("config");
    prepare(dir.path(), &receiver).await;

    let faults =
        ["cron-fire:1", "processor-batch:1", "committer-applied:3", "committer-applied:5", "committer-applied:8"];
    for fault in faults {
        serve_until_the_fault(dir.path(), fault);
        let (unprocessed, due_timers, undelivered) = work_left(dir.path());
        assert!(unprocessed + due_timers as u64 + undelivered as u64 > 0, "work was pending at the kill at {fault}");
        eprintln!("killed at {fault}: {unprocessed} events, {due_timers} due timers, {undelivered} deliveries left");
    }
    assert!(receiver.hits().iter().all(|hit| hit.status != StatusCode::OK), "no attempt succeeded yet");

    receiver.set(Behaviour::Succeed);
    let server = ServerProcess::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let expected_deliveries = ACCOUNTS + REMINDERS + ONBOARDINGS;
    loop {
        let succeeded = receiver.hits().iter().filter(|hit| hit.status == StatusCode::OK).count();
        if succeeded >= expected_deliveries {
            break;
        }
        assert!(Instant::now() < deadline, "{succeeded} of {expected_deliveries} deliveries succeeded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for a stray extra run, task or delivery to show.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(server.terminate(), "graceful stop");

    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    assert_eq!(engine.last_event_seq(), engine.processor_position().expect("position"), "everything processed");
    let (runs, _) = engine.runs(&Access::unrestricted(), &cs(), &RunFilter::default(), usize::MAX, None).expect("runs");
    let mut per_workflow: BTreeMap<String, usize> = BTreeMap::new();
    for run in &runs {
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        *per_workflow.entry(run.workflow.to_string()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        [("escalate", ONBOARDINGS), ("hourly", 1), ("remind", REMINDERS), ("tell", ACCOUNTS)]
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect();
    assert_eq!(per_workflow, expected, "one run per trigger");

    // Round-robin: each of the three took exactly a third of the accounts.
    let accounts = engine.list_records(
        &Access::unrestricted(),
        &cs(),
        &FormName::from_static("account"),
        &engine::ListQuery { limit: Some(1000), ..Default::default() },
    );
    let mut owners: BTreeMap<String, usize> = BTreeMap::new();
    for account in accounts.expect("accounts").items {
        *owners.entry(account.data["owner"].as_str().expect("an owner").to_owned()).or_default() += 1;
    }
    let third = ACCOUNTS / 3;
    assert_eq!(owners, [("ana", third), ("ben", third), ("cy", third)].map(|(o, n)| (o.to_owned(), n)).into());

    // Tasks: one per reminder, one for the cron occurrence.
    let tasks = engine.list_records(
        &Access::unrestricted(),
        &cs(),
        &FormName::from_static("task"),
        &engine::ListQuery { limit: Some(1000), ..Default::default() },
    );
    let mut abouts: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks.expect("tasks").items {
        *abouts.entry(task.data["about"].as_str().expect("about").to_owned()).or_default() += 1;
    }
    assert_eq!(abouts.len(), REMINDERS + 1, "{abouts:?}");
    assert!(abouts.values().all(|n| *n == 1), "{abouts:?}");

    // Timers: the cron schedule's next occurrence, once, in the future; nothing else.
    let (timers, _) = engine.timers(&cs(), &engine::timers::TimerFilter::default(), 10_000, None).expect("timers");
    assert_eq!(timers.len(), 1, "{timers:?}");
    assert_eq!(timers[0].workflow.as_ref().map(|w| w.as_str()), Some("hourly"));
    assert!(timers[0].due > Utc::now(), "{timers:?}");
    let events = engine.events_after(0, usize::MAX).expect("events");
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::TimerFired).count(), REMINDERS + 1);
    assert_eq!(events.iter().filter(|e| e.kind == EventKind::SlaBreached).count(), ONBOARDINGS);

    // Deliveries: each stored once, delivered, after failed attempts in backoff; the receiver
    // got exactly these ids, each body as stored, each answered 2xx exactly once.
    let deliveries = engine.deliveries().expect("deliveries");
    assert_eq!(deliveries.len(), expected_deliveries);
    let stored: HashMap<String, Value> = deliveries.iter().map(|d| (d.id.to_string(), d.body.clone())).collect();
    assert!(deliveries.iter().all(|d| d.status == DeliveryStatus::Delivered));
    assert!(deliveries.iter().any(|d| d.attempts.len() > 1), "some deliveries were retried");
    let mut succeeded: HashMap<String, usize> = HashMap::new();
    for hit in receiver.hits() {
        let id = hit.header("webhook-id");
        let body: Value = serde_json::from_slice(&hit.body).expect("a JSON body");
        assert_eq!(stored.get(&id), Some(&body), "the receiver got {id} with the body stored for it");
        if hit.status == StatusCode::OK {
            *succeeded.entry(id).or_default() += 1;
        }
    }
    assert_eq!(succeeded.len(), expected_deliveries);
    assert!(succeeded.values().all(|n| *n == 1), "{succeeded:?}");
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for body in stored.values() {
        *kinds.entry(body["kind"].as_str().expect("kind").to_owned()).or_default() += 1;
    }
    assert_eq!(
        kinds,
        [("account", ACCOUNTS), ("reminder", REMINDERS), ("sla", ONBOARDINGS)].map(|(k, n)| (k.to_owned(), n)).into()
    );
    engine.close().expect("close");
}
