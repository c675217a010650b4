//! Timers with the real clock and a real server: on time, across a restart, through a kill -9
//! during a burst, and listed through the API.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use engine::workflows::{RunFilter, RunStatus};
use engine::{Access, Actor, EndpointName, Engine, EngineConfig, FormName, SpaceName, WorkflowName};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn cs() -> SpaceName {
    SpaceName::from_static("cs")
}

fn reminder_form() -> Value {
    json!({ "schema": { "type": "object", "required": ["title", "remind_at"], "properties": {
        "title": { "type": "string" }, "remind_at": { "type": "string", "format": "date-time" } } } })
}

fn task_form() -> Value {
    json!({ "schema": { "type": "object", "properties": {
        "title": { "type": "string" }, "reminder": { "type": "string" } } },
        "indexes": ["reminder"] })
}

/// Runs at the instant in `remind_at` (a date-time field, offset zero, its own time of day).
fn remind_workflow() -> Value {
    json!({ "trigger": { "form": "reminder", "at": "remind_at", "offsets": ["0m"] },
            "actions": [ { "create": { "form": "task", "data": { "title": "record.title", "reminder": "record.id" } } } ] })
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn reminders_space(app: &TestApp) {
    app.create_space("cs").await;
    app.put_form("cs", "reminder", &reminder_form()).await;
    app.put_form("cs", "task", &task_form()).await;
    let response = app.put("/api/v1/spaces/cs/workflows/remind", &remind_workflow()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Polls the runs of `remind` until there are `count`.
async fn wait_for_runs(app: &TestApp, count: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let runs =
            expect_json(app.get("/api/v1/spaces/cs/runs?workflow=remind&limit=1000").await, StatusCode::OK).await;
        let items = runs["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items;
        }
        assert!(Instant::now() < deadline, "{} of {count} runs after {within:?}", items.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_timer_due_in_two_seconds_fires_within_a_second_of_its_due_time() {
    let app = TestApp::spawn().await;
    reminders_space(&app).await;
    let due = Utc::now() + chrono::Duration::seconds(2);
    app.create_record("cs", "reminder", &json!({ "title": "Call Acme", "remind_at": rfc3339(due) })).await;
    let runs = wait_for_runs(&app, 1, Duration::from_secs(10)).await;
    let seen = Utc::now();
    let started: DateTime<Utc> = serde_json::from_value(runs[0]["started_at"].clone()).expect("started_at");
    assert_eq!(runs[0]["status"], "succeeded");
    assert!(started >= due - chrono::Duration::milliseconds(1), "not before it was due: {started} < {due}");
    assert!(started - due < chrono::Duration::seconds(1), "ran {} after it was due", started - due);
    assert!(seen - due < chrono::Duration::seconds(2), "seen {} after due", seen - due);
    let timers = expect_json(app.get("/api/v1/spaces/cs/timers").await, StatusCode::OK).await;
    assert_eq!(timers["items"], json!([]), "a fired timer is gone");
}

#[tokio::test]
async fn a_timer_due_while_the_server_is_stopped_fires_once_on_restart() {
    let app = TestApp::spawn().await;
    reminders_space(&app).await;
    let due = Utc::now() + chrono::Duration::seconds(2);
    app.create_record("cs", "reminder", &json!({ "title": "Renewal call", "remind_at": rfc3339(due) })).await;
    // Wait until the processor has scheduled it, then stop before it is due.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.engine.pending_timers() == 0 {
        assert!(Instant::now() < deadline, "the timer was never scheduled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (dir, token) = app.stop().await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(Utc::now() > due);
    let app = TestApp::spawn_with(dir, Some(token), |_| {}).await;
    let runs = wait_for_runs(&app, 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let runs_after = wait_for_runs(&app, 1, Duration::from_secs(1)).await;
    assert_eq!((runs.len(), runs_after.len()), (1, 1), "fired exactly once");
    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    assert_eq!(tasks["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn timers_are_listed_by_workflow_and_record_with_local_times() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let response = app.patch("/api/v1/spaces/cs", &json!({ "timezone": "Asia/Shanghai" }), None).await;
    assert_eq!(expect_json(response, StatusCode::OK).await["timezone"], "Asia/Shanghai");
    let bad = app.patch("/api/v1/spaces/cs", &json!({ "timezone": "Moon/Crater" }), None).await;
    assert_eq!(error_paths(&expect_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation").await), ["/timezone"]);
    let account = json!({ "schema": { "type": "object", "properties": {
        "name": { "type": "string" }, "renewal_date": { "type": "string", "format": "date" } } } });
    app.put_form("cs", "account", &account).await;
    app.put_form("cs", "task", &task_form()).await;
    let reminders = json!({ "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-90d", "-60d", "-30d"] },
                            "actions": [ { "create": { "form": "task", "data": { "title": "\"renewal\"" } } } ] });
    assert_eq!(
        app.put("/api/v1/spaces/cs/workflows/renewal-reminders", &reminders).await.status(),
        StatusCode::CREATED
    );
    let renewal = (Utc::now() + chrono::Duration::days(200)).format("%Y-%m-%d").to_string();
    let mut ids = Vec::new();
    for name in ["Acme", "Globex"] {
        let record = app.create_record("cs", "account", &json!({ "name": name, "renewal_date": renewal })).await;
        ids.push(record["id"].as_str().expect("id").to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.engine.pending_timers() < 6 {
        assert!(Instant::now() < deadline, "timers were not scheduled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = expect_json(app.get("/api/v1/spaces/cs/timers?workflow=renewal-reminders").await, StatusCode::OK).await;
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 6);
    for item in items {
        assert!(item["due_local"].as_str().is_some_and(|t| t.ends_with("T09:00:00")), "{item}");
        assert_eq!(item["timezone"], "Asia/Shanghai", "the space's zone");
        assert!(item["due"].as_str().is_some_and(|t| t.contains("T01:00:00")), "{item}");
    }
    let dues: Vec<&str> = items.iter().filter_map(|i| i["due"].as_str()).collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "in due order: {dues:?}");

    let one = expect_json(app.get(&format!("/api/v1/spaces/cs/timers?record={}", ids[0])).await, StatusCode::OK).await;
    let offsets: Vec<&str> =
        one["items"].as_array().expect("items").iter().filter_map(|i| i["offset"].as_str()).collect();
    assert_eq!(offsets, ["-90d", "-60d", "-30d"]);

    let mut seen = HashSet::new();
    let mut path = "/api/v1/spaces/cs/timers?limit=4".to_owned();
    loop {
        let page = expect_json(app.get(&path).await, StatusCode::OK).await;
        seen.extend(page["items"].as_array().expect("items").iter().map(|i| i["id"].to_string()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/spaces/cs/timers?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "pages cover every timer once");

    let soon = rfc3339(Utc::now() + chrono::Duration::days(125));
    let early = expect_json(app.get(&format!("/api/v1/spaces/cs/timers?before={soon}")).await, StatusCode::OK).await;
    assert_eq!(early["items"].as_array().map(Vec::len), Some(2), "only the −90d timers are due within 125 days");

    let bad = app.get("/api/v1/spaces/cs/timers?cursor=zz").await;
    expect_problem(bad, StatusCode::BAD_REQUEST, "bad-query").await;
    let bad = app.get("/api/v1/spaces/cs/timers?before=tomorrow").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let missing = app.get("/api/v1/spaces/nope/timers").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// kill -9 while 10,000 timers fire: after a restart each fired exactly once, with exactly one
/// run and one task per timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_of_10000_timers_fires_each_exactly_once() {
    const TIMERS: usize = 10_000;
    let dir = tempfile::tempdir().expect("temp dir");
    // All due at one instant, already past when the server starts, so they fire as one burst
    // then. They are scheduled on a clock an hour before it, however long preparing takes.
    let due = Utc::now();
    let ids = prepare_burst(dir.path(), TIMERS, due).await;

    let server = ServerProcess::start(dir.path());
    let token = server.token.clone().expect("first admin token");
    let client = reqwest::Client::new();
    // Kill as soon as the first runs are committed: the burst is still going.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs: Value = client
            .get(format!("{}/api/v1/spaces/cs/runs?limit=1", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("runs")
            .json()
            .await
            .expect("runs JSON");
        if runs["items"].as_array().is_some_and(|items| !items.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no timer fired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill9();
    {
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let unprocessed = engine.last_event_seq() - engine.processor_position().expect("position");
        let pending = engine.pending_timers();
        assert!(pending > 0 || unprocessed > 0, "the burst was still going at the kill");
        assert!(pending < TIMERS, "some timers had fired at the kill");
        engine.close().expect("close");
    }

    let restarted = ServerProcess::start(dir.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let page: Value = client
            .get(format!("{}/api/v1/spaces/cs/timers?limit=1", restarted.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("timers")
            .json()
            .await
            .expect("timers JSON");
        let metrics = client.get(format!("{}/metrics", restarted.base)).send().await.expect("metrics");
        let metrics = metrics.text().await.expect("metrics text");
        let lag = metrics.lines().find_map(|l| l.strip_prefix("tend_workflow_processor_lag_events ")).map(str::trim);
        if page["items"] == json!([]) && lag == Some("0") {
            break;
        }
        assert!(Instant::now() < deadline, "the burst did not finish: lag {lag:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    restarted.kill9();

    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    assert_eq!(engine.pending_timers(), 0);
    let (runs, _) = engine.runs(&Access::unrestricted(), &cs(), &RunFilter::default(), usize::MAX, None).expect("runs");
    assert_eq!(runs.len(), TIMERS, "one run per timer");
    assert!(runs.iter().all(|r| r.status == RunStatus::Succeeded));
    let run_records: HashSet<String> = runs.iter().map(|r| r.record.to_string()).collect();
    assert_eq!(run_records, ids, "every reminder ran, none twice");
    let mut tasks = HashSet::new();
    let mut total = 0;
    let mut cursor = None;
    loop {
        let query = engine::ListQuery { limit: Some(1000), cursor, ..Default::default() };
        let page =
            engine.list_records(&Access::unrestricted(), &cs(), &FormName::from_static("task"), &query).expect("tasks");
        total += page.items.len();
        tasks.extend(page.items.iter().filter_map(|t| t.data["reminder"].as_str().map(str::to_owned)));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((total, tasks.len()), (TIMERS, TIMERS), "exactly one task per timer");
    let fired = engine
        .events_after(0, usize::MAX)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == engine::EventKind::TimerFired)
        .count();
    assert_eq!(fired, TIMERS, "one timer_fired event per timer");
    engine.close().expect("close");
}

/// A data dir with the reminder space and `count` reminders all due at `due`, their timers
/// scheduled (written on a clock an hour before `due`, so none is past when written);
/// returns the reminders' ids.
async fn prepare_burst(dir: &std::path::Path, count: usize, due: DateTime<Utc>) -> HashSet<String> {
    let clock = std::sync::Arc::new(engine::clock::ManualClock::new(due - chrono::Duration::hours(1)));
    let engine = Engine::open(EngineConfig { clock, ..EngineConfig::new(dir) }).expect("engine");
    let actor = Actor::system();
    engine.create_space(&actor, &cs(), None).await.expect("space");
    engine.put_form(&actor, &cs(), &FormName::from_static("reminder"), &reminder_form(), false).await.expect("form");
    engine.put_form(&actor, &cs(), &FormName::from_static("task"), &task_form(), false).await.expect("form");
    engine
        .put_workflow(&actor, &cs(), &WorkflowName::from_static("remind"), &remind_workflow())
        .await
        .expect("workflow");
    let mut ids = HashSet::new();
    let everything = Access::unrestricted();
    let (cs, reminder) = (SpaceName::from_static("cs"), FormName::from_static("reminder"));
    for chunk in 0..count.div_ceil(500) {
        let writes = (0..500.min(count - chunk * 500)).map(|n| {
            let data = json!({ "title": format!("Call {chunk}-{n}"), "remind_at": rfc3339(due) });
            engine.create_record(&actor, &everything, &cs, &reminder, data)
        });
        for record in futures::future::join_all(writes).await {
            ids.insert(record.expect("record").id.to_string());
        }
    }
    engine.process_pending().await.expect("timers scheduled");
    assert_eq!(engine.pending_timers(), count);
    engine.close().expect("close");
    ids
}

/// `tend simulate` prints the runs of the next days from a stopped server's data, in order, and
/// leaves the data as it was; it refuses a data dir a server is using.
#[tokio::test]
async fn simulate_prints_the_coming_runs_and_touches_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        engine.update_space(&cs(), None, Some("Asia/Shanghai".into())).await.expect("zone");
        let account = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "renewal_date": { "type": "string", "format": "date" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("account"), &account, false).await.expect("form");
        engine.put_form(&actor, &cs(), &FormName::from_static("task"), &task_form(), false).await.expect("form");
        let reminders = json!({ "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-60d", "-30d"] },
            "actions": [ { "create": { "form": "task", "data": { "title": "`Renewal of ${record.name} in ${days_until(record.renewal_date)} days`" } } } ] });
        engine
            .put_workflow(&actor, &cs(), &WorkflowName::from_static("renewal-reminders"), &reminders)
            .await
            .expect("workflow");
        let renewal = (Utc::now() + chrono::Duration::days(45)).format("%Y-%m-%d").to_string();
        engine
            .create_record(
                &actor,
                &Access::unrestricted(),
                &cs(),
                &FormName::from_static("account"),
                json!({ "name": "Acme", "renewal_date": renewal }),
            )
            .await
            .expect("acme");
        engine.process_pending().await.expect("processed");
        assert_eq!(engine.pending_timers(), 1, "−60d is already past");
        engine.close().expect("close");
    }
    let output = tend().args(["simulate", "--days", "30", "--data-dir"]).arg(dir.path()).output().expect("simulate");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].contains("09:00 CST  cs/renewal-reminders  succeeded  on account \"Acme\""), "{stdout}");
    assert!(lines[1].contains("→ create task \"Renewal of Acme in 30 days\""), "{stdout}");
    assert!(lines.last().is_some_and(|l| l.starts_with("1 runs over 30 days")), "{stdout}");

    let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
    assert_eq!(engine.pending_timers(), 1, "the real timer is still pending");
    assert_eq!(engine.runs(&Access::unrestricted(), &cs(), &RunFilter::default(), 10, None).expect("runs").0.len(), 0);
    engine.close().expect("close");
    drop(engine);

    let server = ServerProcess::start(dir.path());
    let output = tend().args(["simulate", "--data-dir"]).arg(dir.path()).output().expect("simulate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.starts_with("error: ") && stderr.contains("in use by a running Tend server"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    server.kill9();
}

/// Scripts count days on the calendar of the zone in force, not UTC's: the space's zone for
/// computed fields and record workflows, the trigger's zone (here read from the record) for a
/// timer's run. UTC-11 and UTC+14 are on different dates at every instant, so each count
/// differs from the other and from at least one UTC-based count.
#[tokio::test]
async fn scripts_count_days_in_the_zone_in_force() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let response = app.patch("/api/v1/spaces/cs", &json!({ "timezone": "Pacific/Pago_Pago" }), None).await;
    expect_json(response, StatusCode::OK).await;
    let deal = json!({ "schema": { "type": "object", "properties": {
            "due": { "type": "string", "format": "date" }, "zone": { "type": "string" },
            "remind_at": { "type": "string", "format": "date-time" },
            "days_left": { "type": "integer" }, "days_left_on_create": { "type": "integer" } } },
        "computed": { "days_left": "days_until(record.due)" } });
    app.put_form("cs", "deal", &deal).await;
    app.put_form("cs", "task", &task_form()).await;
    let on_create = json!({ "trigger": { "form": "deal", "on": ["created"] },
        "actions": [ { "set": { "days_left_on_create": "days_until(record.due)" } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/count", &on_create).await, StatusCode::CREATED).await;
    let remind = json!({ "trigger": { "form": "deal", "at": "remind_at", "offsets": ["0m"], "timezone": { "field": "zone" } },
        "actions": [ { "create": { "form": "task", "data": { "title": "`${days_until(record.due)}`", "reminder": "record.id" } } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/remind", &remind).await, StatusCode::CREATED).await;

    let due = Utc::now().date_naive() + chrono::Duration::days(30);
    let days_in = |zone: chrono_tz::Tz| (due - Utc::now().with_timezone(&zone).date_naive()).num_days();
    let data = json!({ "due": due.to_string(), "zone": "Pacific/Kiritimati",
                       "remind_at": rfc3339(Utc::now() + chrono::Duration::seconds(1)) });
    let created = app.create_record("cs", "deal", &data).await;
    let space_days = days_in(chrono_tz::Pacific::Pago_Pago);
    assert_eq!(created["data"]["days_left"], space_days, "computed in the space's zone");

    let path = format!("{}/{}", records_path("cs", "deal"), created["id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let (set, task) = loop {
        let record = expect_json(app.get(&path).await, StatusCode::OK).await;
        let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
        if let (Some(set), Some(task)) = (record["data"]["days_left_on_create"].as_i64(), tasks["items"].get(0)) {
            break (set, task["data"]["title"].as_str().unwrap().to_owned());
        }
        assert!(Instant::now() < deadline, "{record} {tasks}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(set, space_days, "a record workflow counts in the space's zone");
    let record_zone_days = days_in(chrono_tz::Pacific::Kiritimati);
    assert_eq!(task, record_zone_days.to_string(), "a timer's run counts in its trigger's zone");
    assert_ne!(space_days, record_zone_days);
}

/// `tend simulate` says which deliveries would fail and why (an endpoint the space lacks,
/// email without a mail server), for actions and scripts alike, and never prints a bare
/// `notify null`.
#[tokio::test]
async fn simulate_marks_deliveries_that_would_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let engine = Engine::open(EngineConfig::new(dir.path())).expect("engine");
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let account = json!({ "schema": { "type": "object", "properties": {
            "name": { "type": "string" }, "renewal_date": { "type": "string", "format": "date" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("account"), &account, false).await.expect("form");
        let sink = json!({ "url": engine::outbox::SINK_URL });
        engine.put_endpoint(&cs(), &EndpointName::from_static("defined"), &sink).await.expect("endpoint");
        let notifying = json!({ "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-1d"] },
            "actions": [
                { "notify": { "webhook": "nowhere" } },
                { "notify": { "webhook": "defined" } },
                { "notify": { "email": { "to": "\"csm@example.com\"", "subject": "\"Renewal\"", "body": "\"soon\"" } } },
                { "script": "notify(#{ webhook: \"nowhere\", body: #{ digest: 1 } })" } ] });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("tell"), &notifying).await.expect("workflow");
        let renewal = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        engine
            .create_record(
                &actor,
                &Access::unrestricted(),
                &cs(),
                &FormName::from_static("account"),
                json!({ "name": "Acme", "renewal_date": renewal }),
            )
            .await
            .expect("acme");
        engine.process_pending().await.expect("processed");
        engine.close().expect("close");
    }
    let output = tend().args(["simulate", "--days", "5", "--data-dir"]).arg(dir.path()).output().expect("simulate");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!stdout.contains("null"), "{stdout}");
    let effects: Vec<&str> = stdout.lines().filter(|line| line.trim_start().starts_with('→')).collect();
    assert_eq!(effects.len(), 4, "{stdout}");
    let missing = "✗ would fail: the space defines no webhook endpoint `nowhere`";
    assert!(effects[0].contains("notify webhook `nowhere`") && effects[0].contains(missing), "{stdout}");
    assert!(effects[1].contains("notify webhook `defined`") && !effects[1].contains("would fail"), "{stdout}");
    assert!(effects[2].contains("email csm@example.com \"Renewal\""), "{stdout}");
    assert!(effects[2].contains("✗ would fail: no [smtp] host is configured"), "{stdout}");
    assert!(effects[3].contains("notify webhook `nowhere`") && effects[3].contains(missing), "{stdout}");
}
