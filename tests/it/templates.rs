//! The next days' calendar over the API, the template gallery's list, and a copied space
//! exported as a pack that `tend pack check` accepts and that installs into the same
//! definitions.

use std::time::Duration;

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn upcoming(app: &TestApp, space: &str, query: &str) -> Value {
    expect_json(app.get(&format!("/api/v1/spaces/{space}/upcoming{query}")).await, StatusCode::OK).await
}

#[tokio::test]
async fn the_next_30_days_show_a_renewal_reminder_at_nine_in_shanghai() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let account = json!({ "schema": { "type": "object", "required": ["name"], "properties": {
        "name": { "type": "string" }, "owner": { "type": "string" },
        "renewal_date": { "type": "string", "format": "date" } } } });
    app.put_form("cs", "account", &account).await;
    let reminders = json!({ "title": "Renewal reminders",
        "trigger": { "form": "account", "at": "renewal_date", "offsets": ["-30d"], "time": "09:00",
                     "timezone": "Asia/Shanghai" }, "actions": [] });
    expect_json(app.put("/api/v1/spaces/cs/workflows/renewal-reminders", &reminders).await, StatusCode::CREATED).await;
    let renewal = Utc::now().date_naive().checked_add_days(Days::new(45)).expect("a date");
    let record =
        app.create_record("cs", "account", &json!({ "name": "Acme", "owner": "ana", "renewal_date": renewal })).await;

    // The processor schedules the record's timer when it handles the record's event.
    let mut calendar = upcoming(&app, "cs", "?days=30").await;
    for _ in 0..100 {
        if !items(&calendar).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        calendar = upcoming(&app, "cs", "?days=30").await;
    }
    let reminder = &items(&calendar)[0];
    let day = renewal.checked_sub_days(Days::new(30)).expect("a date");
    assert_eq!(reminder["local"], format!("{day}T09:00:00"), "{calendar}");
    assert_eq!(reminder["at"], format!("{day}T01:00:00Z"));
    assert_eq!(reminder["timezone"], "Asia/Shanghai");
    assert_eq!(reminder["kind"], "date_offset");
    assert_eq!(reminder["workflows"], json!(["renewal-reminders"]));
    assert_eq!((&reminder["form"], &reminder["record"]), (&json!("account"), &record["id"]));
    assert_eq!((&reminder["label"], &reminder["person"]), (&json!("Acme"), &json!("ana")));
    assert_eq!(calendar["truncated"], false);
    assert_eq!(items(&upcoming(&app, "cs", "?days=7").await).len(), 0, "a week ends before it");
    let pending = expect_json(app.get("/api/v1/spaces/cs/timers").await, StatusCode::OK).await;
    assert_eq!(items(&pending).len(), 1, "reading the calendar scheduled nothing");

    for query in ["?days=93", "?days=0", "?limit=0", "?days=x", "?weeks=2"] {
        let refused = app.get(&format!("/api/v1/spaces/cs/upcoming{query}")).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    assert_eq!(app.get("/api/v1/spaces/nope/upcoming").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_gallery_lists_each_built_in_pack_with_what_it_brings() {
    let app = TestApp::spawn().await;
    let packs = expect_json(app.get("/api/v1/packs").await, StatusCode::OK).await;
    let names: Vec<&str> = items(&packs).iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["customer-success", "sales-pipeline", "support-desk"]);
    let support = &items(&packs)[2];
    assert_eq!(support["title"], "Support desk");
    let forms: Vec<&str> = support["forms"].as_array().unwrap().iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(forms, ["csat_response", "ticket"]);
    assert_eq!(support["workflows"].as_array().unwrap().len(), 5);
    assert!(support["sample_records"].as_u64().unwrap() > 0);
    let cs = &items(&packs)[0];
    assert!(!cs["dashboards"].as_array().unwrap().is_empty(), "{cs}");
}

/// The definitions of a space's forms and workflows, by name.
async fn definitions(client: &reqwest::Client, base: &str, token: &str, space: &str) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for kind in ["forms", "workflows"] {
        let url = format!("{base}/api/v1/spaces/{space}/{kind}");
        let list: Value = client.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        for item in items(&list) {
            found.push((format!("{kind}/{}", item["name"].as_str().unwrap()), item["definition"].clone()));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[tokio::test]
async fn a_copied_support_desk_with_a_changed_sla_exports_as_a_pack_that_checks_and_installs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (server, token) = ServerProcess::start_with_admin_token(dir.path());
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", server.base);
    let post = |body: Value| client.post(api("/spaces")).bearer_auth(&token).json(&body).send();
    assert_eq!(post(json!({ "name": "support", "template": "support-desk" })).await.unwrap().status(), 201);
    let copied = post(json!({ "name": "support-emea", "title": "Support EMEA", "from_space": "support" }));
    assert_eq!(copied.await.unwrap().status(), 201);

    // The copy's first-response SLA goes from 2 hours to 4.
    let ticket = |space: &str| client.get(api(&format!("/spaces/{space}/forms/ticket"))).bearer_auth(&token).send();
    let mut definition = ticket("support-emea").await.unwrap().json::<Value>().await.unwrap()["definition"].clone();
    assert_eq!(definition["pipeline"]["stages"][0]["sla"], "2h");
    definition["pipeline"]["stages"][0]["sla"] = json!("4h");
    let put = client.put(api("/spaces/support-emea/forms/ticket")).bearer_auth(&token).json(&definition).send();
    assert_eq!(put.await.unwrap().status(), 200);
    let original = ticket("support").await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(
        (original["version"].as_u64(), &original["definition"]["pipeline"]["stages"][0]["sla"]),
        (Some(1), &json!("2h"))
    );

    let zip = client.get(api("/spaces/support-emea/pack")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(zip.status(), 200);
    assert_eq!(zip.headers()["content-type"], "application/zip");
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));

    let out = dir.path().join("exported");
    let exported = tend()
        .args(["pack", "export", "--space", "support-emea", "--out"])
        .arg(&out)
        .args(["--server", &server.base])
        .env("TEND_TOKEN", &token)
        .output()
        .unwrap();
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let form = std::fs::read_to_string(out.join("forms/ticket.json")).unwrap();
    assert!(form.contains("\"4h\""), "{form}");
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(out.join("pack.json")).unwrap()).unwrap();
    assert_eq!((&meta["name"], &meta["title"]), (&json!("support-emea"), &json!("Support EMEA")));
    let checked = tend().args(["pack", "check"]).arg(&out).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let stdout = String::from_utf8(checked.stdout).unwrap();
    assert!(stdout.starts_with("support-emea 1.0.0: ok (2 forms, 5 workflows"), "{stdout}");
    let mut again = tend();
    again.args(["pack", "export", "--space", "support-emea", "--out"]).arg(&out).args(["--server", &server.base]);
    let refused = again.env("TEND_TOKEN", &token).output().unwrap();
    assert!(!refused.status.success(), "a folder with files in it is not written over");

    // Installed into another space (the server stopped: `pack install` opens the data dir).
    let before = definitions(&client, &server.base, &token, "support-emea").await;
    assert!(server.terminate());
    let installed = tend()
        .arg("pack")
        .arg("install")
        .arg(&out)
        .args(["--space", "elsewhere", "--data-dir"])
        .arg(dir.path())
        .output();
    let installed = installed.unwrap();
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    let server = ServerProcess::start(dir.path());
    let after = definitions(&client, &server.base, &token, "elsewhere").await;
    assert_eq!(after.len(), 7);
    assert_eq!(after, before, "the same definitions");
}
