//! The example packs under `examples/` install into a fresh server through the API and work:
//! every form and workflow is accepted, and a scenario runs through the starter pack.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// The `*.json` files of a pack's subfolder, sorted, as (name, definition).
fn definitions(pack: &Path, folder: &str) -> Vec<(String, Value)> {
    let Ok(entries) = std::fs::read_dir(pack.join(folder)) else { return Vec::new() };
    let mut files: Vec<_> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (name, serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display())))
        })
        .collect()
}

/// Installs a pack into a new space named after it: forms first, then workflows.
async fn install(app: &TestApp, pack: &Path, space: &str) {
    app.create_space(space).await;
    for (name, definition) in definitions(pack, "forms") {
        let response = app.put(&format!("/api/v1/spaces/{space}/forms/{name}"), &definition).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}/forms/{name}: {}",
            pack.display(),
            response.text().await.unwrap()
        );
    }
    for (name, definition) in definitions(pack, "workflows") {
        let response = app.put(&format!("/api/v1/spaces/{space}/workflows/{name}"), &definition).await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}/workflows/{name}: {}",
            pack.display(),
            response.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn every_example_pack_installs() {
    let app = TestApp::spawn().await;
    let mut packs = 0;
    for entry in std::fs::read_dir(workspace_root().join("examples")).unwrap() {
        let pack = entry.unwrap().path();
        if pack.join("pack.json").is_file() {
            let meta: Value = serde_json::from_str(&std::fs::read_to_string(pack.join("pack.json")).unwrap()).unwrap();
            let name = meta["name"].as_str().expect("pack.json names the pack");
            assert_eq!(pack.file_name().unwrap().to_string_lossy(), name, "the folder is named after the pack");
            install(&app, &pack, name).await;
            packs += 1;
        }
    }
    assert!(packs >= 1);
}

async fn items(app: &TestApp, path: &str) -> Vec<Value> {
    expect_json(app.get(path).await, StatusCode::OK).await["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_starter_pack_scores_alerts_and_onboards() {
    let app = TestApp::spawn().await;
    install(&app, &workspace_root().join("examples/cs-starter"), "cs").await;
    let account = app
        .create_record(
            "cs",
            "account",
            &json!({ "name": "Acme", "tier": "growth", "owner": "ana@example.com",
            "usage_score": 90, "nps": 9, "open_tickets": 1, "renewal_date": "2027-06-30" }),
        )
        .await;
    assert_eq!(account["data"]["health"], 88, "0.5 * 90 + 0.3 * 90 + 0.2 * 80");
    let path = format!("{}/{}", records_path("cs", "account"), account["id"].as_str().unwrap());
    let dropped =
        expect_json(app.patch(&path, &json!({ "usage_score": 10, "open_tickets": 4 }), None).await, StatusCode::OK)
            .await;
    assert_eq!(dropped["data"]["health"], 36);

    let onboarding =
        app.create_record("cs", "onboarding", &json!({ "account": account["id"], "stage": "kickoff" })).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while items(&app, &records_path("cs", "task")).await.len() < 2 {
        assert!(Instant::now() < deadline, "the workflows did not run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tasks = items(&app, &records_path("cs", "task")).await;
    let titles: Vec<&str> = tasks.iter().map(|t| t["data"]["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Health dropped to 36 for Acme"), "{titles:?}");
    assert!(titles.contains(&"Hold the kickoff call"), "{titles:?}");
    let current = expect_json(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(current["data"]["status"], "at_risk");
    assert_eq!(app.engine.deliveries().unwrap().len(), 1);

    let transition = format!("{}/{}/transition", records_path("cs", "onboarding"), onboarding["id"].as_str().unwrap());
    expect_problem(app.post(&transition, &json!({ "to": "setup" })).await, StatusCode::CONFLICT, "conflict").await;
    let record = format!("{}/{}", records_path("cs", "onboarding"), onboarding["id"].as_str().unwrap());
    app.patch(&record, &json!({ "checklist": { "kickoff_call": true, "success_plan": true } }), None).await;
    let moved = expect_json(app.post(&transition, &json!({ "to": "setup" })).await, StatusCode::OK).await;
    assert_eq!(moved["stage"], "setup");
    let runs = items(&app, "/api/v1/spaces/cs/runs").await;
    assert!(runs.iter().all(|r| r["status"] != "failed"), "{runs:#?}");
}
