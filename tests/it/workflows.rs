//! Workflows through the HTTP API: record-triggered runs, `when`, actions, exactly one effect
//! per triggering event, failed runs that apply nothing, cascades stopped at the depth and work
//! limits.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn task_form() -> Value {
    json!({ "schema": { "type": "object", "required": ["title"], "properties": {
        "title": { "type": "string", "minLength": 1 },
        "account": { "type": "string", "x-ref": "account" },
        "assignee": { "type": "string" },
        "due": { "type": "string", "format": "date" },
        "status": { "type": "string", "enum": ["open", "done"] } } } })
}

fn health_drop_alert() -> Value {
    json!({
        "title": "Health drop alert",
        "trigger": { "form": "account", "on": ["updated"], "fields": ["health"] },
        "when": "old.health >= 60 && record.health < 60",
        "actions": [
            { "create": { "form": "task", "data": {
                "title": "`Health dropped to ${record.health} for ${record.name}`",
                "account": "record.id", "assignee": "record.owner", "due": "today() + days(2)", "status": "\"open\"" } } },
            { "notify": { "webhook": "cs-alerts", "body": "#{ account: record.name, health: record.health }" } }
        ]
    })
}

/// Waits until the space has `count` runs (the processor works in the background).
async fn wait_for_runs(app: &TestApp, space: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = expect_json(app.get(&format!("/api/v1/spaces/{space}/runs?limit=1000")).await, StatusCode::OK).await;
        let runs = page["items"].as_array().unwrap().clone();
        if runs.len() >= count {
            // Give a straggler the chance to show up, so "exactly" is checked, not "at least".
            tokio::time::sleep(Duration::from_millis(300)).await;
            let page =
                expect_json(app.get(&format!("/api/v1/spaces/{space}/runs?limit=1000")).await, StatusCode::OK).await;
            let runs = page["items"].as_array().unwrap().clone();
            assert_eq!(runs.len(), count, "{runs:#?}");
            return runs;
        }
        assert!(Instant::now() < deadline, "expected {count} runs, have {}: {runs:#?}", runs.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn cs_space(app: &TestApp) {
    app.space_with_accounts("cs").await;
    app.put_form("cs", "task", &task_form()).await;
}

#[tokio::test]
async fn health_drop_creates_exactly_one_task_per_drop() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    let stored = expect_json(
        app.put("/api/v1/spaces/cs/workflows/health-drop-alert", &health_drop_alert()).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(stored["version"], 1);

    let acme = app.create_record("cs", "account", &account("Acme", "enterprise", 80)).await;
    let path = format!("{}/{}", records_path("cs", "account"), acme["id"].as_str().unwrap());
    for health in [50, 40, 70, 55] {
        expect_json(app.patch(&path, &json!({ "health": health }), None).await, StatusCode::OK).await;
    }
    // Another field changing starts no run at all.
    expect_json(app.patch(&path, &json!({ "name": "Acme Corp" }), None).await, StatusCode::OK).await;

    let runs = wait_for_runs(&app, "cs", 4).await;
    let statuses: Vec<&str> = runs.iter().rev().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["succeeded", "skipped", "skipped", "succeeded"], "drop, still low, rise, drop");
    assert!(runs.iter().all(|r| r["workflow"] == "health-drop-alert" && r["workflow_version"] == 1));

    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    let tasks = tasks["items"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["data"]["title"], "Health dropped to 50 for Acme");
    assert_eq!(tasks[1]["data"]["title"], "Health dropped to 55 for Acme");
    assert_eq!(tasks[0]["data"]["account"], acme["id"]);
    assert_eq!(tasks[0]["data"]["assignee"], "csm@example.com");
    assert!(tasks[0]["created_by"].as_str().unwrap().starts_with("workflow:"));
    let deliveries = app.engine.deliveries().unwrap();
    assert_eq!(deliveries.len(), 2);
    // The target is typed, and stored and shown as it always was.
    assert_eq!(serde_json::to_value(&deliveries[0].target).unwrap(), json!({ "webhook": "cs-alerts" }));
    assert_eq!(deliveries[0].body, json!({ "account": "Acme", "health": 50 }));

    // The task's creation event says which run made it.
    let history = expect_json(
        app.get(&format!("{}/{}/history", records_path("cs", "task"), tasks[0]["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["items"][0]["cause"]["chain"], json!(["health-drop-alert"]));
}

#[tokio::test]
async fn a_failed_run_applies_nothing_and_blocks_nothing() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    // The first action works, the second can't (a task needs a title): neither is applied.
    let workflow = json!({
        "trigger": { "form": "account", "on": ["created"] },
        "actions": [
            { "set": { "arr": "record.arr * 2.0" } },
            { "create": { "form": "task", "data": { "title": "if record.name == \"Broken\" { \"\" } else { record.name }" } } }
        ]
    });
    app.put("/api/v1/spaces/cs/workflows/double", &workflow).await;
    let broken = app.create_record("cs", "account", &account("Broken", "growth", 50)).await;
    let fine = app.create_record("cs", "account", &account("Fine", "growth", 50)).await;
    let runs = wait_for_runs(&app, "cs", 2).await;
    let failed = runs.iter().find(|r| r["record"] == broken["id"]).unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("/title"), "{failed}");
    let ok = runs.iter().find(|r| r["record"] == fine["id"]).unwrap();
    assert_eq!(ok["status"], "succeeded");

    let path = |record: &Value| format!("{}/{}", records_path("cs", "account"), record["id"].as_str().unwrap());
    let broken_now = expect_json(app.get(&path(&broken)).await, StatusCode::OK).await;
    assert_eq!(broken_now["data"]["arr"], 12000.5, "no effect of the failed run was applied");
    assert_eq!(expect_json(app.get(&path(&fine)).await, StatusCode::OK).await["data"]["arr"], 24001.0);
    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
    let failed_only = expect_json(app.get("/api/v1/spaces/cs/runs?status=failed").await, StatusCode::OK).await;
    assert_eq!(failed_only["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_cascade_stops_at_the_limit_and_shows_the_chain() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.put_form(
        "cs",
        "counter",
        &json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } }),
    )
    .await;
    let bump = json!({ "trigger": { "form": "counter", "on": ["created", "updated"] },
                       "actions": [ { "set": { "n": "record.n + 1" } } ] });
    app.put("/api/v1/spaces/cs/workflows/bump", &bump).await;
    let counter = app.create_record("cs", "counter", &json!({ "n": 0 })).await;
    // Runs at depths 0..=7 succeed; the eighth write's run is refused.
    let runs = wait_for_runs(&app, "cs", 9).await;
    let failed: Vec<&Value> = runs.iter().filter(|r| r["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{runs:#?}");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("cascade stopped") && error.contains("bump → bump"), "{error}");
    let current = expect_json(
        app.get(&format!("{}/{}", records_path("cs", "counter"), counter["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(current["data"]["n"], 8);
}

/// Depth alone let a workflow that creates two records of its own form turn one POST into 511
/// records. With a budget of 30, the cascade's events share it: 1 + 2 + 4 + 8 records, seven
/// runs that spent it, and eight that fail naming it; the space's other work goes on.
#[tokio::test]
async fn a_self_replicating_workflow_stops_at_the_work_budget() {
    let app = TestApp::spawn_configured(|config| config.workflows.max_cascade_work = 30).await;
    app.create_space("cs").await;
    let cell = json!({ "schema": { "type": "object", "properties": { "generation": { "type": "integer" } } } });
    app.put_form("cs", "cell", &cell).await;
    let counter = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
    app.put_form("cs", "counter", &counter).await;
    let divide = json!({ "trigger": { "form": "cell", "on": ["created"] }, "actions": [
        { "create": { "form": "cell", "data": { "generation": "record.generation + 1" } } },
        { "create": { "form": "cell", "data": { "generation": "record.generation + 1" } } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/divide", &divide).await, StatusCode::CREATED).await;
    let count = json!({ "trigger": { "form": "counter", "on": ["created"] },
                        "actions": [ { "set": { "n": "record.n + 1" } } ] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/count", &count).await, StatusCode::CREATED).await;

    app.create_record("cs", "cell", &json!({ "generation": 0 })).await;
    let runs = wait_for_runs(&app, "cs", 15).await;
    let failed: Vec<&Value> = runs.iter().filter(|run| run["status"] == "failed").collect();
    assert_eq!(failed.len(), 8, "{runs:#?}");
    for run in &failed {
        let error = run["error"].as_str().unwrap();
        assert!(error.contains("cascade stopped") && error.contains("max_cascade_work = 30"), "{error}");
    }
    let cells = expect_json(app.get(&format!("{}?limit=1000", records_path("cs", "cell"))).await, StatusCode::OK).await;
    assert_eq!(cells["items"].as_array().unwrap().len(), 15);

    let counter = app.create_record("cs", "counter", &json!({ "n": 0 })).await;
    let runs = wait_for_runs(&app, "cs", 16).await;
    assert_eq!(runs.iter().filter(|run| run["status"] == "succeeded").count(), 8, "{runs:#?}");
    let counter = expect_json(
        app.get(&format!("{}/{}", records_path("cs", "counter"), counter["id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(counter["data"]["n"], 1);
}

#[tokio::test]
async fn definitions_are_checked_versioned_and_listed_in_run_order() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    let bad = json!({
        "trigger": { "form": "account", "on": ["updated"], "fields": ["helth"] },
        "when": "record.health <",
        "actions": [
            { "create": { "form": "ticket", "data": { "title": "\"x\"" } } },
            { "set": { "nope": "1" } },
            { "notify": { "url": "ftp://example.com" } }
        ]
    });
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/workflows/broken", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        error_paths(&problem),
        ["/actions/0/create/form", "/actions/1/set/nope", "/actions/2/notify/url", "/trigger/fields/0", "/when"],
        "{problem}"
    );
    let misspelt = json!({ "trigger": { "form": "account", "on": ["updatd"] } });
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/workflows/typo", &misspelt).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/trigger/on/0"], "{problem}");
    let unknown_form = json!({ "trigger": { "form": "ghost", "on": ["created"] } });
    let problem = expect_problem(
        app.put("/api/v1/spaces/cs/workflows/ghost", &unknown_form).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/trigger/form"]);

    let mut later = health_drop_alert();
    later["order"] = json!(20);
    app.put("/api/v1/spaces/cs/workflows/a-later", &later).await;
    let mut sooner = health_drop_alert();
    sooner["order"] = json!(10);
    app.put("/api/v1/spaces/cs/workflows/z-sooner", &sooner).await;
    sooner["when"] = json!("record.health < 30");
    let v2 = expect_json(app.put("/api/v1/spaces/cs/workflows/z-sooner", &sooner).await, StatusCode::OK).await;
    assert_eq!(v2["version"], 2);
    let list = expect_json(app.get("/api/v1/spaces/cs/workflows").await, StatusCode::OK).await;
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["z-sooner", "a-later"], "order first, then name");
    let v1 = expect_json(app.get("/api/v1/spaces/cs/workflows/z-sooner?version=1").await, StatusCode::OK).await;
    assert!(v1["definition"]["when"].as_str().unwrap().contains("old.health"));

    // Both run on one event, in that order, and the new version is the one that runs.
    let acme = app.create_record("cs", "account", &account("Acme", "enterprise", 80)).await;
    let path = format!("{}/{}", records_path("cs", "account"), acme["id"].as_str().unwrap());
    app.patch(&path, &json!({ "health": 20 }), None).await;
    let runs = wait_for_runs(&app, "cs", 2).await;
    let order: Vec<(&str, u64)> =
        runs.iter().rev().map(|r| (r["workflow"].as_str().unwrap(), r["workflow_version"].as_u64().unwrap())).collect();
    assert_eq!(order, [("z-sooner", 2), ("a-later", 1)]);
}

#[tokio::test]
async fn a_failed_run_is_retried_with_the_fixed_workflow() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    // `nickname` doesn't exist: the task gets no title and the run fails.
    let mut workflow = json!({
        "trigger": { "form": "account", "on": ["created"] },
        "actions": [ { "create": { "form": "task", "data": { "title": "record.nickname", "account": "record.id" } } } ]
    });
    app.put("/api/v1/spaces/cs/workflows/welcome", &workflow).await;
    app.create_record("cs", "account", &account("Acme", "growth", 70)).await;
    let runs = wait_for_runs(&app, "cs", 1).await;
    assert_eq!(runs[0]["status"], "failed");
    let failed_id = runs[0]["id"].as_str().unwrap().to_owned();

    workflow["actions"][0]["create"]["data"]["title"] = json!("`Welcome ${record.name}`");
    app.put("/api/v1/spaces/cs/workflows/welcome", &workflow).await;
    let retried = expect_json(
        app.post(&format!("/api/v1/spaces/cs/runs/{failed_id}/retry"), &json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(retried["status"], "succeeded", "{retried}");
    assert_eq!(retried["workflow_version"], 2, "the retry says which version ran");
    assert_eq!(retried["retry_of"], failed_id);
    assert_eq!(retried["event"], runs[0]["event"]);
    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    assert_eq!(tasks["items"][0]["data"]["title"], "Welcome Acme");
    assert_eq!(tasks["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_dry_run_shows_what_would_happen_and_stores_nothing() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    app.put("/api/v1/spaces/cs/workflows/health-drop-alert", &health_drop_alert()).await;
    let acme = app.create_record("cs", "account", &account("Acme", "enterprise", 50)).await;
    let seq_before = app.last_event_seq();

    let input =
        json!({ "record_id": acme["id"], "old": account("Acme", "enterprise", 75), "now": "2027-01-10T08:00:00Z" });
    let dry =
        expect_json(app.post("/api/v1/spaces/cs/workflows/health-drop-alert/test", &input).await, StatusCode::OK).await;
    assert_eq!(dry["run"]["when"], true, "{dry}");
    assert_eq!(dry["run"]["status"], "succeeded", "{dry}");
    assert_eq!(dry["records"].as_array().unwrap().len(), 1);
    assert_eq!(dry["records"][0]["data"]["title"], "Health dropped to 50 for Acme");
    assert_eq!(dry["records"][0]["data"]["due"], "2027-01-12", "`now` is the pretended instant");
    assert_eq!(dry["deliveries"].as_array().unwrap().len(), 1);

    let rising = json!({ "record": account("Beta", "growth", 90), "old": account("Beta", "growth", 40) });
    let dry =
        expect_json(app.post("/api/v1/spaces/cs/workflows/health-drop-alert/test", &rising).await, StatusCode::OK)
            .await;
    assert_eq!(dry["run"]["when"], false);
    assert_eq!(dry["run"]["status"], "skipped");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.last_event_seq(), seq_before, "no event was written");
    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    assert_eq!(tasks["items"], json!([]));
    let runs = expect_json(app.get("/api/v1/spaces/cs/runs").await, StatusCode::OK).await;
    assert_eq!(runs["items"], json!([]));
    assert!(app.engine.deliveries().unwrap().is_empty());
}

#[tokio::test]
async fn a_manual_run_applies_its_effects_once() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    let workflow = json!({
        "trigger": { "form": "account", "on": ["created"] },
        "when": "record.tier == \"enterprise\"",
        "actions": [ { "set": { "tags": "[\"reviewed\"]" } } ]
    });
    app.put("/api/v1/spaces/cs/workflows/review", &workflow).await;
    let growth = app.create_record("cs", "account", &account("Small", "growth", 70)).await;
    wait_for_runs(&app, "cs", 1).await;
    let acme = app.create_record("cs", "account", &account("Acme", "enterprise", 70)).await;
    wait_for_runs(&app, "cs", 2).await;

    let run = expect_json(
        app.post("/api/v1/spaces/cs/workflows/review/run", &json!({ "record": growth["id"] })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(run["status"], "skipped", "manual runs check `when` too");
    let path = format!("{}/{}", records_path("cs", "account"), acme["id"].as_str().unwrap());
    assert_eq!(expect_json(app.get(&path).await, StatusCode::OK).await["data"]["tags"], json!(["reviewed"]));
    let unknown = app
        .post("/api/v1/spaces/cs/workflows/review/run", &json!({ "record": "0191e0b8-0000-7000-8000-000000000000" }))
        .await;
    expect_problem(unknown, StatusCode::NOT_FOUND, "not-found").await;
    wait_for_runs(&app, "cs", 3).await;
}

#[tokio::test]
async fn a_script_applies_its_effects_only_when_it_all_succeeds() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    let workflow = json!({
        "trigger": { "form": "account", "on": ["created"] },
        "actions": [ { "script": r#"
            print(`checking ${record.name}`);
            create("task", #{ title: `Call ${record.name}`, account: record.id, status: "open" });
            update(#{ tags: ["triaged"] });
            notify(#{ webhook: "cs-alerts", body: #{ account: record.name } });
            if record.name == "Boom" { throw "no triage for Boom"; }
        "# } ]
    });
    let stored = app.put("/api/v1/spaces/cs/workflows/triage", &workflow).await;
    assert_eq!(stored.status(), StatusCode::CREATED, "{}", stored.text().await.unwrap());
    let boom = app.create_record("cs", "account", &account("Boom", "growth", 40)).await;
    let fine = app.create_record("cs", "account", &account("Fine", "growth", 40)).await;
    let runs = wait_for_runs(&app, "cs", 2).await;
    let failed = runs.iter().find(|r| r["record"] == boom["id"]).unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("no triage for Boom"), "{failed}");
    let succeeded = runs.iter().find(|r| r["record"] == fine["id"]).unwrap();
    assert_eq!(succeeded["status"], "succeeded", "{succeeded}");
    assert_eq!(succeeded["output"], json!(["checking Fine"]));
    assert_eq!(succeeded["effects"].as_array().unwrap().len(), 3);

    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    let titles: Vec<&str> =
        tasks["items"].as_array().unwrap().iter().map(|t| t["data"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Call Fine"], "the failed script created nothing");
    let path = |record: &Value| format!("{}/{}", records_path("cs", "account"), record["id"].as_str().unwrap());
    assert!(expect_json(app.get(&path(&boom)).await, StatusCode::OK).await["data"].get("tags").is_none());
    assert_eq!(expect_json(app.get(&path(&fine)).await, StatusCode::OK).await["data"]["tags"], json!(["triaged"]));
    assert_eq!(app.engine.deliveries().unwrap().len(), 1);
}

fn ticket_form() -> Value {
    json!({ "schema": { "type": "object", "required": ["subject"], "properties": {
        "subject": { "type": "string" }, "assignee": { "type": "string" },
        "status": { "type": "string", "enum": ["open", "closed"] } } }, "indexes": ["assignee"] })
}

async fn assignees(app: &TestApp) -> Vec<String> {
    let page = expect_json(app.get(&records_path("support", "ticket")).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().iter().map(|t| t["data"]["assignee"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn round_robin_assignment_rotates_durably() {
    let app = TestApp::spawn().await;
    app.create_space("support").await;
    app.put_form("support", "ticket", &ticket_form()).await;
    let workflow = json!({ "trigger": { "form": "ticket", "on": ["created"] },
        "actions": [ { "assign": { "field": "assignee", "pool": ["ana", "ben", "cy"], "strategy": "round_robin" } } ] });
    app.put("/api/v1/spaces/support/workflows/auto-assign", &workflow).await;
    for i in 0..4 {
        app.create_record("support", "ticket", &json!({ "subject": format!("T{i}") })).await;
        wait_for_runs(&app, "support", i + 1).await;
    }
    assert_eq!(assignees(&app).await, ["ana", "ben", "cy", "ana"]);

    // The rotation survives a restart.
    let (data_dir, token) = app.stop().await;
    let app = TestApp::spawn_with(data_dir, Some(token), |_| {}).await;
    app.create_record("support", "ticket", &json!({ "subject": "T4" })).await;
    wait_for_runs(&app, "support", 5).await;
    assert_eq!(assignees(&app).await, ["ana", "ben", "cy", "ana", "ben"]);
}

/// A pool may name people by role or team: the space's members as of each run, by user id;
/// an email to a team goes to its members' addresses, and one to a person is written in
/// their time zone.
#[tokio::test]
async fn assignment_pools_and_email_name_members_by_role_and_team() {
    let app = TestApp::spawn().await;
    app.create_space("support").await;
    app.put_form("support", "ticket", &ticket_form()).await;
    let ana = app.create_user("ana@example.com", false).await;
    let ben = app.create_user("ben@example.com", false).await;
    let cy = app.create_user("cy@example.com", false).await;
    app.add_member("support", &ana, "member", &["emea"]).await;
    app.add_member("support", &ben, "member", &[]).await;
    app.add_member("support", &cy, "viewer", &["emea"]).await;
    // Kiritimati (UTC+14) and the space's UTC are never on the same date past 10:00 UTC, and
    // before it the test compares with Kiritimati's date all the same.
    let kiritimati = json!({ "time_zone": "Pacific/Kiritimati" });
    expect_json(app.patch(&format!("/api/v1/users/{ana}"), &kiritimati, None).await, StatusCode::OK).await;
    let workflow = json!({ "trigger": { "form": "ticket", "on": ["created"] },
        "actions": [ { "assign": { "field": "assignee", "pool": ["role:member"], "strategy": "round_robin" } },
                     { "notify": { "email": { "to": "\"team:emea\"", "subject": "\"New ticket\"", "body": "record.subject" } } },
                     { "notify": { "email": { "to": format!("\"{ana}\""), "subject": "`Yours from ${today()}`", "body": "record.subject" } } } ] });
    app.put("/api/v1/spaces/support/workflows/auto-assign", &workflow).await;
    for i in 0..3 {
        app.create_record("support", "ticket", &json!({ "subject": format!("T{i}") })).await;
        wait_for_runs(&app, "support", i + 1).await;
    }
    assert_eq!(assignees(&app).await, [ana.clone(), ben.clone(), ana.clone()]);
    let deliveries = app.engine.deliveries().unwrap();
    let to = serde_json::to_value(&deliveries[0].target).unwrap();
    assert_eq!(to["email"]["to"], json!(["ana@example.com", "cy@example.com"]), "{to}");
    let to_ana = serde_json::to_value(&deliveries[1].target).unwrap();
    let ana_today = chrono::Utc::now().with_timezone(&chrono_tz::Pacific::Kiritimati).date_naive();
    assert_eq!(to_ana["email"]["to"], json!("ana@example.com"), "{to_ana}");
    let subject = to_ana["email"]["subject"].as_str().unwrap_or_default();
    let yesterday = ana_today.pred_opt().unwrap_or(ana_today);
    assert!(
        subject == format!("Yours from {ana_today}") || subject == format!("Yours from {yesterday}"),
        "written for Kiritimati's date: {subject}"
    );
}

#[tokio::test]
async fn least_open_assignment_picks_the_least_loaded() {
    let app = TestApp::spawn().await;
    app.create_space("support").await;
    app.put_form("support", "ticket", &ticket_form()).await;
    // Ana has two open tickets, Ben one open and three closed, Cy two open.
    for (who, status) in [
        ("ana", "open"),
        ("ana", "open"),
        ("ben", "open"),
        ("ben", "closed"),
        ("ben", "closed"),
        ("ben", "closed"),
        ("cy", "open"),
        ("cy", "open"),
    ] {
        app.create_record("support", "ticket", &json!({ "subject": "old", "assignee": who, "status": status })).await;
    }
    let workflow = json!({ "trigger": { "form": "ticket", "on": ["created"] }, "when": "record.assignee == ()",
        "actions": [ { "assign": { "field": "assignee", "pool": ["ana", "ben", "cy"], "strategy": "least_open", "open": "status != \"closed\"" } } ] });
    app.put("/api/v1/spaces/support/workflows/balance", &workflow).await;
    app.create_record("support", "ticket", &json!({ "subject": "new", "status": "open" })).await;
    wait_for_runs(&app, "support", 1).await;
    app.create_record("support", "ticket", &json!({ "subject": "newer", "status": "open" })).await;
    wait_for_runs(&app, "support", 2).await;
    let all = assignees(&app).await;
    assert_eq!(&all[8..], ["ben", "ana"], "ben had 1 open; then ana and ben have 2 and ana comes first in the pool");
}

#[tokio::test]
async fn stage_changes_and_deletions_trigger_workflows_and_actions_move_pipelines() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    app.put_form(
        "cs",
        "onboarding",
        &json!({
            "schema": { "type": "object", "required": ["account_name"], "properties": {
                "account_name": { "type": "string" },
                "stage": { "type": "string" },
                "checklist": { "type": "object", "additionalProperties": { "type": "boolean" } } } },
            "pipeline": { "field": "stage", "stages": [
                { "name": "kickoff", "checklist": ["kickoff_call"] }, { "name": "setup" }, { "name": "live" } ],
                "transitions": { "kickoff": ["setup"], "setup": ["live"] } }
        }),
    )
    .await;
    // A fast-track: enterprise onboardings tick the kickoff call and move straight to setup.
    let fast_track = json!({ "trigger": { "form": "onboarding", "on": ["created"] },
        "when": "record.account_name.starts_with(\"VIP\")",
        "actions": [ { "set": { "checklist": "#{ kickoff_call: true }" } }, { "transition": { "to": "setup" } } ] });
    app.put("/api/v1/spaces/cs/workflows/fast-track", &fast_track).await;
    let on_setup = json!({ "trigger": { "form": "onboarding", "on": ["stage_changed"] }, "when": "record.stage == \"setup\"",
        "actions": [ { "create": { "form": "task", "data": { "title": "`Configure SSO for ${record.account_name}`" } } } ] });
    app.put("/api/v1/spaces/cs/workflows/on-setup", &on_setup).await;
    let on_delete = json!({ "trigger": { "form": "account", "on": ["deleted"] },
        "actions": [ { "create": { "form": "task", "data": { "title": "`Archive files of ${record.name}`" } } } ] });
    app.put("/api/v1/spaces/cs/workflows/on-delete", &on_delete).await;

    let vip = app.create_record("cs", "onboarding", &json!({ "account_name": "VIP Corp" })).await;
    app.create_record("cs", "onboarding", &json!({ "account_name": "Small Co" })).await;
    // created ×2 (fast-track: one succeeds, one skipped), then the VIP's stage change (on-setup).
    let runs = wait_for_runs(&app, "cs", 3).await;
    assert!(runs.iter().all(|r| r["status"] != "failed"), "{runs:#?}");
    let path = format!("{}/{}", records_path("cs", "onboarding"), vip["id"].as_str().unwrap());
    let moved = expect_json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(moved["stage"], "setup");
    assert_eq!(moved["version"], 2, "set and transition of one run are one write");
    let history = expect_json(app.get(&format!("{path}/history")).await, StatusCode::OK).await;
    assert_eq!(history["items"][1]["kind"], "stage_changed");
    assert_eq!(history["items"][1]["cause"]["chain"], json!(["fast-track"]));

    let acme = app.create_record("cs", "account", &account("Acme", "growth", 50)).await;
    let account_path = format!("{}/{}", records_path("cs", "account"), acme["id"].as_str().unwrap());
    assert_eq!(app.delete(&account_path, None).await.status(), StatusCode::NO_CONTENT);
    wait_for_runs(&app, "cs", 4).await;
    let tasks = expect_json(app.get(&records_path("cs", "task")).await, StatusCode::OK).await;
    let titles: Vec<&str> =
        tasks["items"].as_array().unwrap().iter().map(|t| t["data"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Configure SSO for VIP Corp", "Archive files of Acme"]);
}

/// Runs are listed by when they started: `since` keeps those at or after an instant, `until`
/// those before one; an instant that is not RFC 3339 is a 400.
#[tokio::test]
async fn runs_are_listed_by_start_time() {
    let app = TestApp::spawn().await;
    cs_space(&app).await;
    let workflow = json!({ "trigger": { "form": "account", "on": ["created"] } });
    expect_json(app.put("/api/v1/spaces/cs/workflows/seen", &workflow).await, StatusCode::CREATED).await;
    app.create_record("cs", "account", &account("First", "growth", 70)).await;
    let first = wait_for_runs(&app, "cs", 1).await.remove(0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.create_record("cs", "account", &account("Second", "growth", 70)).await;
    let runs = wait_for_runs(&app, "cs", 2).await;
    let second = runs[0].clone();
    let ids =
        |page: &Value| -> Vec<Value> { page["items"].as_array().unwrap().iter().map(|r| r["id"].clone()).collect() };
    let list = async |query: &[(&str, &str)]| {
        let response = app.request(reqwest::Method::GET, "/api/v1/spaces/cs/runs").query(query).send().await.unwrap();
        expect_json(response, StatusCode::OK).await
    };
    let second_started = second["started_at"].as_str().unwrap();
    assert_eq!(ids(&list(&[("since", second_started)]).await), [second["id"].clone()]);
    assert_eq!(ids(&list(&[("until", second_started)]).await), [first["id"].clone()]);
    let first_started = first["started_at"].as_str().unwrap();
    assert_eq!(ids(&list(&[("since", first_started), ("until", second_started)]).await), [first["id"].clone()]);
    assert_eq!(ids(&list(&[("since", "2000-01-01T00:00:00Z")]).await).len(), 2);
    let bad = app.get("/api/v1/spaces/cs/runs?since=yesterday").await;
    expect_problem(bad, StatusCode::BAD_REQUEST, "bad-request").await;
}
