//! Pipelines: records start in the initial stage, move only through allowed transitions, and
//! can't leave a stage whose checklist is not done.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn onboarding_form() -> Value {
    json!({
        "title": "Onboarding",
        "schema": { "type": "object", "required": ["account_name"], "properties": {
            "account_name": { "type": "string" },
            "stage": { "type": "string", "enum": ["kickoff", "setup", "training", "live"] },
            "checklist": { "type": "object", "additionalProperties": { "type": "boolean" } } } },
        "indexes": ["stage"],
        "pipeline": {
            "field": "stage",
            "stages": [
                { "name": "kickoff", "checklist": ["kickoff_call", "success_plan"], "sla": "3d" },
                { "name": "setup", "checklist": ["sso"] },
                { "name": "training" },
                { "name": "live" }
            ],
            "transitions": { "kickoff": ["setup"], "setup": ["training", "kickoff"], "training": ["live"] }
        }
    })
}

#[tokio::test]
async fn a_checklist_blocks_a_transition_until_it_is_done() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.put_form("cs", "onboarding", &onboarding_form()).await;
    let created = app.create_record("cs", "onboarding", &json!({ "account_name": "Acme" })).await;
    assert_eq!(created["stage"], "kickoff");
    assert_eq!(created["data"]["stage"], "kickoff");
    let record = format!("{}/{}", records_path("cs", "onboarding"), created["id"].as_str().unwrap());
    let transition = format!("{record}/transition");

    let problem =
        expect_problem(app.post(&transition, &json!({ "to": "setup" })).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["unchecked_items"], json!(["kickoff_call", "success_plan"]), "{problem}");
    assert_eq!(problem["from"], "kickoff");

    // Ticking items is an ordinary merge patch of the checklist object.
    app.patch(&record, &json!({ "checklist": { "kickoff_call": true } }), None).await;
    let problem =
        expect_problem(app.post(&transition, &json!({ "to": "setup" })).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["unchecked_items"], json!(["success_plan"]));
    app.patch(&record, &json!({ "checklist": { "success_plan": true } }), None).await;

    let problem =
        expect_problem(app.post(&transition, &json!({ "to": "live" })).await, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("only to"), "{problem}");
    let moved = expect_json(app.post(&transition, &json!({ "to": "setup" })).await, StatusCode::OK).await;
    assert_eq!(moved["stage"], "setup");
    assert_eq!(moved["version"], 4);

    let history = expect_json(app.get(&format!("{record}/history")).await, StatusCode::OK).await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "stage_changed");
    assert_eq!(last["before"]["stage"], "kickoff");
    assert_eq!(last["after"]["stage"], "setup");

    // The stage is indexed like any field.
    let response = app.get(&format!("{}?filter=stage%20%3D%20%22setup%22", records_path("cs", "onboarding"))).await;
    assert_eq!(response.headers()["tend-query-plan"], "index:stage");
    assert_eq!(expect_json(response, StatusCode::OK).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_stage_is_not_patched_and_unknown_stages_are_refused() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.put_form("cs", "onboarding", &onboarding_form()).await;
    let created = app.create_record("cs", "onboarding", &json!({ "account_name": "Acme" })).await;
    let record = format!("{}/{}", records_path("cs", "onboarding"), created["id"].as_str().unwrap());

    let problem = expect_problem(
        app.patch(&record, &json!({ "stage": "live" }), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(error_paths(&problem), ["/stage"]);
    expect_problem(
        app.post(&format!("{record}/transition"), &json!({ "to": "done" })).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    expect_problem(
        app.post(&format!("{record}/transition"), &json!({ "stage": "setup" })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    // Imports may create records in any declared stage.
    let live = app.create_record("cs", "onboarding", &json!({ "account_name": "Beta", "stage": "live" })).await;
    assert_eq!(live["stage"], "live");
    let current = expect_json(app.get(&record).await, StatusCode::OK).await;
    assert_eq!(current["version"], 1);
    assert_eq!(current["stage"], "kickoff");
}
