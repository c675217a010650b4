//! An ops admin builds a form in the designer with clicks and typing only (never the JSON tab):
//! an `account` form with six fields of different kinds, a computed health from two of them, a
//! fast filter (index) and a three-stage pipeline with a checklist; publishes it; creates two
//! records through the app; and the API shows both the definition and the records.

use fantoccini::key::Key;
use serde_json::json;

use super::{click, type_into, Browser, Demo};

/// Adds a field of `kind` from the palette and names it; it is left selected.
async fn add_field(browser: &Browser, kind: &str, name: &str, title: &str) {
    browser.wait_for(&format!("[data-testid=palette-{kind}]")).await.click().await.expect("palette");
    type_into(browser, "[data-testid=prop-name]", name).await;
    // The name is applied when the input loses focus.
    type_into(browser, "[data-testid=prop-title]", title).await;
    browser.wait_for(&format!("[data-testid=canvas-field-{name}]")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_and_publishes_a_form_in_the_designer() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();
    demo.post("/api/v1/spaces", &json!({ "name": "crm", "title": "CRM" })).await;

    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=count-account]").await;
    type_into(&browser, "[data-testid=new-form-name-crm]", "account").await;
    browser.screenshot("spaces-new-form-en-1440").await;
    click(&browser, "[data-testid=new-form-crm]").await;
    browser.wait_for("[data-testid=designer]").await;
    type_into(&browser, "[data-testid=form-title]", "Account").await;

    // Six fields of six kinds.
    add_field(&browser, "text", "name", "Name").await;
    click(&browser, "[data-testid=prop-required]").await;
    add_field(&browser, "select", "tier", "Tier").await;
    type_into(&browser, "[data-testid=option-0]", "starter").await;
    click(&browser, "[data-testid=add-option]").await;
    type_into(&browser, "[data-testid=option-1]", "enterprise").await;
    add_field(&browser, "percent", "usage_score", "Usage").await;
    add_field(&browser, "integer", "nps", "NPS").await;
    type_into(&browser, "[data-testid=prop-minimum]", "0").await;
    type_into(&browser, "[data-testid=prop-maximum]", "10").await;
    add_field(&browser, "person", "owner", "Owner").await;
    add_field(&browser, "date", "renewal_date", "Renewal date").await;

    // A computed health from usage and NPS, typed in the script editor, with its live result
    // on the sample (empty: both count as 0) from the server.
    add_field(&browser, "integer", "health", "Health").await;
    click(&browser, "[data-testid=prop-index]").await;
    click(&browser, "[data-testid=prop-computed]").await;
    let editor = browser.wait_for("[data-testid=script-computed-health]").await;
    editor.click().await.expect("focus the editor");
    editor.send_keys("((record.usage_score ?? 0) * 0.6 + (record.nps ?? 0) * 4).to_int()").await.expect("type");
    browser.client.active_element().await.expect("focus").send_keys(&Key::Escape.to_string()).await.expect("escape");
    browser
        .until("the computed result", || async {
            let text = browser.wait_for("[data-testid=computed-result-health]").await.text().await.unwrap_or_default();
            text.contains('0') && !text.contains("error")
        })
        .await;
    // A mistake is marked where the server says it is.
    let focused = browser.client.active_element().await.expect("the focused editor");
    focused.send_keys(" +").await.expect("type");
    browser.wait_for(".cm-lintRange-error, .cm-lintPoint-error").await;
    let problem = browser.wait_for("[data-testid=computed-result-health]").await.text().await.expect("text");
    assert!(problem.contains("line 1, column"), "{problem}");
    focused.send_keys(&format!("{}{}", Key::Backspace, Key::Backspace)).await.expect("fix");
    browser
        .until("the error gone", || async { browser.all(".cm-lintRange-error, .cm-lintPoint-error").await.is_empty() })
        .await;
    // Drag health up, next to the fields it comes from.
    let handle = browser.wait_for("[data-testid=canvas-field-health] .drag-handle").await;
    let owner = browser.wait_for("[data-testid=canvas-field-owner]").await;
    super::drag(&browser, &handle, &owner).await;
    browser
        .until("health dragged above owner", || async {
            let script = "return Array.from(document.querySelectorAll('.canvas-item')).map(i => i.dataset.testid)";
            let order = browser.client.execute(script, vec![]).await.expect("order");
            let order: Vec<String> = serde_json::from_value(order).unwrap_or_default();
            order.iter().position(|i| i == "canvas-field-health") < order.iter().position(|i| i == "canvas-field-owner")
        })
        .await;
    browser.screenshot("designer-fields-en-1440").await;

    // A three-stage pipeline with a checklist; onboarding may not jump straight to renewal.
    click(&browser, "[data-testid=tab-pipeline]").await;
    click(&browser, "[data-testid=create-pipeline]").await;
    type_into(&browser, "[data-testid=stage-title-0]", "Onboarding").await;
    click(&browser, "[data-testid=add-stage]").await;
    type_into(&browser, "[data-testid=stage-title-1]", "Adoption").await;
    click(&browser, "[data-testid=add-stage]").await;
    type_into(&browser, "[data-testid=stage-title-2]", "Renewal").await;
    type_into(&browser, "[data-testid=stage-sla-0]", "14d").await;
    click(&browser, "[data-testid=add-checklist-0]").await;
    type_into(&browser, "[data-testid=checklist-0-0]", "Kickoff call").await;
    click(&browser, "[data-testid=move-onboarding-renewal]").await;
    browser.screenshot("designer-pipeline-en-1440").await;

    click(&browser, "[data-testid=tab-preview]").await;
    browser.wait_for("[data-testid=form-preview] #root_name").await;
    // A new record starts in the first stage, as the server's evaluation of the draft says.
    browser
        .until("the preview in the first stage", || async {
            let script = "const s = document.querySelector('#root_stage'); return s && s.selectedOptions[0] ? s.selectedOptions[0].textContent : ''";
            browser.client.execute(script, vec![]).await.expect("stage") == "onboarding"
        })
        .await;
    browser.screenshot("designer-preview-en-1440").await;

    click(&browser, "[data-testid=publish]").await;
    browser.wait_for("[data-testid=published]").await;

    let form = demo.get("/api/v1/spaces/crm/forms/account", &[]).await;
    let definition = &form["definition"];
    assert_eq!(form["version"], 1);
    assert_eq!(definition["title"], "Account");
    let properties = definition["schema"]["properties"].as_object().expect("properties");
    assert_eq!(properties["name"], json!({ "type": "string", "title": "Name" }));
    assert_eq!(properties["tier"]["enum"], json!(["starter", "enterprise"]));
    assert_eq!(properties["usage_score"], json!({ "type": "number", "minimum": 0, "maximum": 100, "title": "Usage" }));
    assert_eq!(properties["nps"], json!({ "type": "integer", "minimum": 0, "maximum": 10, "title": "NPS" }));
    assert_eq!(properties["owner"], json!({ "type": "string", "format": "email", "title": "Owner" }));
    assert_eq!(properties["renewal_date"], json!({ "type": "string", "format": "date", "title": "Renewal date" }));
    assert_eq!(definition["schema"]["required"], json!(["name"]));
    assert_eq!(
        definition["computed"],
        json!({ "health": "((record.usage_score ?? 0) * 0.6 + (record.nps ?? 0) * 4).to_int()" })
    );
    assert_eq!(definition["indexes"], json!(["health"]));
    assert_eq!(definition["ui"]["widgets"], json!({ "usage_score": "percent", "owner": "person" }));
    let order = definition["ui"]["order"].as_array().expect("order");
    assert_eq!(
        order[..7],
        json!(["name", "tier", "usage_score", "nps", "health", "owner", "renewal_date"]).as_array().expect("names")[..]
    );
    let pipeline = &definition["pipeline"];
    assert_eq!(pipeline["field"], "stage");
    assert_eq!(
        pipeline["stages"],
        json!([
            { "name": "onboarding", "title": "Onboarding", "sla": "14d", "checklist": [{ "id": "kickoff_call", "label": "Kickoff call" }] },
            { "name": "adoption", "title": "Adoption" },
            { "name": "renewal", "title": "Renewal" }
        ])
    );
    assert_eq!(
        pipeline["transitions"],
        json!({ "onboarding": ["adoption"], "adoption": ["onboarding", "renewal"], "renewal": ["onboarding", "adoption"] })
    );
    assert_eq!(properties["stage"]["enum"], json!(["onboarding", "adoption", "renewal"]));

    // Two records through the app's own record form.
    for (name, tier, usage, nps) in [("Acme", "enterprise", "80", "9"), ("Globex", "starter", "50", "5")] {
        browser.client.goto(&demo.url("/s/crm/account?record=new")).await.expect("new record");
        type_into(&browser, "#root_name", name).await;
        browser.wait_for("#root_tier").await.select_by_label(tier).await.expect("tier");
        type_into(&browser, "#root_usage_score", usage).await;
        type_into(&browser, "#root_nps", nps).await;
        type_into(&browser, "#root_owner", "csm@example.com").await;
        click(&browser, "[data-testid=save-record]").await;
        // Once created, the drawer shows the stored record under its name.
        browser
            .until("the record created", || async {
                browser.wait_for("[data-testid=record-title]").await.text().await.unwrap_or_default() == name
            })
            .await;
    }
    let records = demo.get("/api/v1/spaces/crm/forms/account/records", &[("sort", "name")]).await;
    let items = records["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let summary: Vec<_> = items
        .iter()
        .map(|r| (r["data"]["name"].clone(), r["data"]["health"].clone(), r["data"]["stage"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![(json!("Acme"), json!(84), json!("onboarding")), (json!("Globex"), json!(50), json!("onboarding"))]
    );
    // The index serves a filter on health.
    let filtered = demo.get("/api/v1/spaces/crm/forms/account/records", &[("filter", "health > 60")]).await;
    assert_eq!(filtered["items"].as_array().expect("items").len(), 1);

    // A change the stored records do not fit shows its impact before anything is stored.
    browser.client.goto(&demo.url("/s/crm/account/design")).await.expect("designer");
    click(&browser, "[data-testid=select-renewal_date]").await;
    click(&browser, "[data-testid=prop-required]").await;
    click(&browser, "[data-testid=publish]").await;
    let impact = browser.wait_for("[data-testid=impact-dialog]").await.text().await.expect("text");
    assert!(impact.contains("reject 2 stored records"), "{impact}");
    assert!(impact.contains("/renewal_date"), "{impact}");
    browser.screenshot("designer-impact-en-1440").await;
    click(&browser, "[data-testid=impact-cancel]").await;
    assert_eq!(demo.get("/api/v1/spaces/crm/forms/account", &[]).await["version"], 1, "cancel stores nothing");
    click(&browser, "[data-testid=prop-required]").await;
    click(&browser, "[data-testid=tab-json]").await;
    browser.wait_for("[data-testid=definition-json]").await;
    browser.screenshot("designer-json-en-1440").await;

    // The same designer at a laptop size, in Chinese, with the versions diff.
    browser.client.goto(&demo.url("/s/crm/account/design")).await.expect("designer");
    browser.wait_for("[data-testid=canvas-field-health]").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    click(&browser, "[data-testid=select-health]").await;
    browser.wait_for("[data-testid=computed-result-health]").await;
    browser.screenshot("designer-fields-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.screenshot("designer-fields-zh-1280").await;
    click(&browser, "[data-testid=tab-pipeline]").await;
    browser.wait_for("[data-testid=moves-grid]").await;
    browser.screenshot("designer-pipeline-zh-1280").await;
    click(&browser, "[data-testid=tab-rules]").await;
    click(&browser, "[data-testid=add-rule]").await;
    // The server's objection (an empty message) shows at the rule; a message fixes it.
    browser.wait_for("[data-testid=rule-error-0]").await;
    type_into(&browser, "[data-testid=rule-message-0]", "健康度过低").await;
    browser.wait_for("[data-testid=rule-outcome-0]").await;
    browser.screenshot("designer-rules-zh-1280").await;
    click(&browser, "[data-testid=tab-versions]").await;
    browser.wait_for("[data-testid=versions-list]").await;
    browser.wait_for("[data-testid=version-diff]").await;
    browser.screenshot("designer-versions-zh-1280").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("en").await.expect("language");
    browser.screenshot("designer-versions-en-1280").await;

    browser.close().await;
}
