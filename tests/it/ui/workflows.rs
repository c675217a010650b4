//! An ops admin builds workflows in the builder with clicks and typing only (never a JSON box):
//! "health drops below 60 → a task for the owner and a webhook notice", dry-run on an account;
//! "renewal reminder 30 days before `renewal_date` at 09:00 Asia/Shanghai"; a server refusal
//! shown at the input it names, and a saved workflow's warning at the endpoint it names. Then a
//! CSM's edit of an account makes the first fire, and its run, task and delivery (to a real
//! receiver on loopback) are seen in the runs and deliveries pages; the reminder is on the
//! next-30-days page.

use serde_json::{json, Value};

use super::{click, type_into, Browser, Demo};
use crate::support::{Behaviour, Receiver};

async fn choose(browser: &Browser, testid: &str, value: &str) {
    let css = format!("[data-testid=\"{testid}\"]");
    browser
        .wait_for(&css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|err| panic!("choose {value} in {css}: {err}"));
}

async fn text_of(browser: &Browser, testid: &str) -> String {
    browser.wait_for(&format!("[data-testid=\"{testid}\"]")).await.text().await.unwrap_or_default()
}

/// Starts a new workflow named `name` from the space's list of workflows.
async fn new_workflow(browser: &Browser, demo: &Demo, name: &str) {
    browser.client.goto(&demo.url("/space/demo/workflows")).await.expect("open the workflows");
    browser.wait_for("[data-testid=workflows-table]").await;
    type_into(browser, "[data-testid=new-workflow-name]", name).await;
    click(browser, "[data-testid=new-workflow]").await;
    browser.wait_for("[data-testid=step-trigger]").await;
}

async fn save(browser: &Browser) {
    click(browser, "[data-testid=save-workflow]").await;
    browser.wait_for("[data-testid=workflow-saved]").await;
}

/// The first account whose health is in `low..high`.
async fn account_with_health(demo: &Demo, low: i64, high: i64) -> Value {
    let filter = format!("health >= {low} and health < {high}");
    let page = demo.get("/api/v1/spaces/demo/forms/account/records", &[("filter", &filter), ("limit", "1")]).await;
    page["items"][0].clone()
}

/// An account at 60 or more whose health falls below 59 once its usage, adoption and NPS are 0
/// (the weights of `examples/customer-success/scripts/health.rhai`).
async fn account_to_drop(demo: &Demo) -> Value {
    let page =
        demo.get("/api/v1/spaces/demo/forms/account/records", &[("filter", "health >= 60"), ("limit", "200")]).await;
    let items = page["items"].as_array().expect("accounts").clone();
    items
        .into_iter()
        .find(|account| {
            let data = &account["data"];
            let number = |field: &str, default: f64| data[field].as_f64().unwrap_or(default);
            let loss =
                0.3 * number("usage_score", 50.0) + 0.2 * number("feature_adoption", 50.0) + 1.5 * number("nps", 5.0);
            number("health", 0.0) - loss < 59.0
        })
        .expect("an account whose health can drop below 60")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_tests_and_runs_workflows_in_the_builder() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let receiver = Receiver::start(Behaviour::Succeed).await;
    let demo = Demo::start_with_env(&[("TEND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")]);
    demo.settled().await;
    // The alerts go to a real receiver rather than the demo's sink.
    demo.put("/api/v1/spaces/demo/webhooks/cs-alerts", &json!({ "url": receiver.url("/alerts") })).await;
    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=count-account]").await;

    // 1. Health drops below 60 → a task for the owner, and a notice to the alerts webhook.
    new_workflow(&browser, &demo, "health-below-60").await;
    type_into(&browser, "[data-testid=workflow-title]", "Health below 60").await;
    choose(&browser, "trigger-form", "account").await;
    click(&browser, "[data-testid=trigger-field-health]").await;
    click(&browser, "[data-testid=add-condition]").await;
    choose(&browser, "condition-source-0", "old").await;
    choose(&browser, "condition-field-0", "health").await;
    choose(&browser, "condition-op-0", ">=").await;
    type_into(&browser, "[data-testid=condition-value-0]", "60").await;
    click(&browser, "[data-testid=add-condition]").await;
    choose(&browser, "condition-field-1", "health").await;
    choose(&browser, "condition-op-1", "<").await;
    type_into(&browser, "[data-testid=condition-value-1]", "60").await;
    assert_eq!(text_of(&browser, "condition-rhai").await, "old.health >= 60 && record.health < 60");

    choose(&browser, "add-action-kind", "create").await;
    click(&browser, "[data-testid=add-action]").await;
    choose(&browser, "create-form-0", "task").await;
    choose(&browser, "create-0-title-mode", "typed").await;
    type_into(&browser, "[data-testid=create-0-title-typed]", "Call the customer: health below 60").await;
    choose(&browser, "create-0-account-mode", "field").await;
    choose(&browser, "create-0-account-field", "id").await;
    choose(&browser, "create-0-assignee-mode", "field").await;
    choose(&browser, "create-0-assignee-field", "owner").await;
    choose(&browser, "create-0-status-mode", "typed").await;
    choose(&browser, "create-0-status-typed", "open").await;
    choose(&browser, "create-0-source-mode", "typed").await;
    type_into(&browser, "[data-testid=create-0-source-typed]", "health-below-60").await;
    choose(&browser, "add-action-kind", "notify").await;
    click(&browser, "[data-testid=add-action]").await;
    choose(&browser, "notify-webhook-1", "cs-alerts").await;
    browser.screenshot("workflow-builder-en-1440").await;
    save(&browser).await;

    let stored = demo.get("/api/v1/spaces/demo/workflows/health-below-60", &[]).await;
    assert_eq!(stored["version"], 1);
    let definition = &stored["definition"];
    assert_eq!(definition["title"], "Health below 60");
    assert_eq!(definition["trigger"], json!({ "form": "account", "on": ["updated"], "fields": ["health"] }));
    assert_eq!(definition["when"], "old.health >= 60 && record.health < 60");
    assert_eq!(
        definition["actions"],
        json!([
            { "create": { "form": "task", "data": {
                "title": "\"Call the customer: health below 60\"", "account": "record.id",
                "assignee": "record.owner", "status": "\"open\"", "source": "\"health-below-60\"" } } },
            { "notify": { "webhook": "cs-alerts" } }
        ])
    );

    // Dry run on an account now below 60 that was 65 before: the condition holds, a task would
    // be written and a delivery made; nothing is stored.
    let low = account_with_health(&demo, 0, 60).await;
    let low_id = low["id"].as_str().expect("an account below 60");
    choose(&browser, "test-record", low_id).await;
    type_into(&browser, "[data-testid=test-old-health]", "65").await;
    click(&browser, "[data-testid=dry-run]").await;
    browser.wait_for("[data-testid=dry-run-result]").await;
    assert_eq!(text_of(&browser, "test-status").await, "Succeeded");
    let records = text_of(&browser, "test-records").await;
    assert!(records.contains("task") && records.contains("Call the customer"), "{records}");
    assert!(text_of(&browser, "test-deliveries").await.contains("cs-alerts"));
    browser.screenshot("workflow-dry-run-en-1440").await;
    let runs = demo.get("/api/v1/spaces/demo/runs", &[("workflow", "health-below-60")]).await;
    assert_eq!(runs["items"], json!([]), "a dry run stores no run");
    // Run now stores a run, whatever `when` says of a record that did not change.
    click(&browser, "[data-testid=run-now]").await;
    browser.wait_for("[data-testid=run-result] [data-testid=runs-link]").await;
    let runs = demo.get("/api/v1/spaces/demo/runs", &[("workflow", "health-below-60")]).await;
    assert_eq!(runs["items"][0]["record"], low_id, "{runs}");

    // 2. Renewal reminder 30 days before renewal_date at 09:00 Shanghai time. Saved before the
    // date field is chosen, the server's refusal shows at the field picker.
    new_workflow(&browser, &demo, "renewal-30-days").await;
    type_into(&browser, "[data-testid=workflow-title]", "Renewal in 30 days").await;
    choose(&browser, "trigger-kind", "date").await;
    choose(&browser, "trigger-form", "account").await;
    choose(&browser, "add-action-kind", "create").await;
    click(&browser, "[data-testid=add-action]").await;
    choose(&browser, "create-form-0", "task").await;
    choose(&browser, "create-0-title-mode", "typed").await;
    type_into(&browser, "[data-testid=create-0-title-typed]", "Renewal in 30 days").await;
    choose(&browser, "create-0-status-mode", "typed").await;
    choose(&browser, "create-0-status-typed", "open").await;
    choose(&browser, "create-0-assignee-mode", "field").await;
    choose(&browser, "create-0-assignee-field", "owner").await;
    click(&browser, "[data-testid=save-workflow]").await;
    let refusal = text_of(&browser, "error-/trigger/at").await;
    assert!(refusal.contains("not a field"), "{refusal}");
    choose(&browser, "trigger-at", "renewal_date").await;
    type_into(&browser, "[data-testid=offset-0-amount]", "30").await;
    choose(&browser, "offset-0-unit", "d").await;
    choose(&browser, "offset-0-direction", "before").await;
    choose(&browser, "zone-mode", "fixed").await;
    type_into(&browser, "[data-testid=zone-name]", "Asia/Shanghai").await;
    let summary = text_of(&browser, "trigger-summary").await;
    assert!(summary.contains("30 days before account.renewal_date at 09:00, Asia/Shanghai"), "{summary}");
    browser.screenshot("workflow-renewal-en-1440").await;
    save(&browser).await;
    let renewal = demo.get("/api/v1/spaces/demo/workflows/renewal-30-days", &[]).await;
    assert_eq!(
        renewal["definition"]["trigger"],
        json!({ "form": "account", "at": "renewal_date", "offsets": ["-30d"], "time": "09:00", "timezone": "Asia/Shanghai" })
    );
    let timers = demo.get("/api/v1/spaces/demo/timers", &[("workflow", "renewal-30-days")]).await;
    assert!(!timers["items"].as_array().expect("timers").is_empty(), "the reminders are scheduled: {timers}");
    // The demo's accounts renew all year round, so some reminders fall in the next 30 days.
    click(&browser, "[data-testid=space-upcoming-demo]").await;
    browser
        .until("the reminder in the next 30 days, at 09:00 in Shanghai", || async {
            let script =
                "return Array.from(document.querySelectorAll('[data-testid=upcoming-item]')).map(r => r.innerText)";
            let rows = browser.client.execute(script, vec![]).await.expect("agenda rows");
            rows.as_array().is_some_and(|rows| {
                rows.iter()
                    .filter_map(Value::as_str)
                    .any(|row| row.contains("Renewal in 30 days") && row.contains("09:00"))
            })
        })
        .await;
    browser.screenshot("workflow-renewal-upcoming-en-1440").await;

    // A workflow that notifies an endpoint the space does not define is saved with a warning,
    // shown at the endpoint it names.
    let nowhere = json!({ "trigger": { "form": "account", "on": ["created"] },
                          "actions": [{ "notify": { "webhook": "nowhere" } }] });
    let put = demo
        .api
        .put(demo.url("/api/v1/spaces/demo/workflows/notify-nowhere"))
        .bearer_auth(&demo.token)
        .json(&nowhere)
        .send()
        .await
        .expect("PUT");
    assert!(put.status().is_success());
    browser.client.goto(&demo.url("/space/demo/workflows/notify-nowhere")).await.expect("open it");
    type_into(&browser, "[data-testid=workflow-title]", "Tell nobody").await;
    save(&browser).await;
    let warning = text_of(&browser, "warning-/actions/0/notify/webhook").await;
    assert!(warning.contains("nowhere"), "{warning}");

    // 3. A CSM's edit drops an account's health below 60: the workflow runs, the task is there
    // and the webhook delivery is in the outbox.
    let account = account_to_drop(&demo).await;
    let id = account["id"].as_str().expect("an account");
    browser.client.goto(&demo.url(&format!("/s/demo/account?record={id}"))).await.expect("open the account");
    type_into(&browser, "#root_usage_score", "0").await;
    type_into(&browser, "#root_feature_adoption", "0").await;
    type_into(&browser, "#root_nps", "0").await;
    click(&browser, "[data-testid=save-record]").await;
    let query = [("workflow", "health-below-60"), ("record", id)];
    browser
        .until("the workflow's run", || async {
            demo.get("/api/v1/spaces/demo/runs", &query).await["items"][0]["status"] == "succeeded"
        })
        .await;
    let runs = demo.get("/api/v1/spaces/demo/runs", &query).await;
    let run = &runs["items"][0];
    assert_eq!(run["record"], id);
    let tasks = demo.get("/api/v1/spaces/demo/forms/task/records", &[("filter", "source = \"health-below-60\"")]).await;
    let task = &tasks["items"][0]["data"];
    assert_eq!(task["account"], id);
    assert_eq!(task["assignee"], account["data"]["owner"]);
    let deliveries = demo.get("/api/v1/spaces/demo/deliveries", &[("workflow", "health-below-60")]).await;
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["target"], json!({ "webhook": "cs-alerts" }));
    assert_eq!(delivery["run"], run["id"]);

    // The same in the app: the run with its effects, then its delivery, which the receiver got.
    let run_id = run["id"].as_str().expect("a run id");
    browser.client.goto(&demo.url("/")).await.expect("the spaces");
    click(&browser, "[data-testid=space-runs-demo]").await;
    click(&browser, &format!("[data-testid=run-{run_id}]")).await;
    browser.wait_for("[data-testid=run-detail][data-status=succeeded]").await;
    browser.wait_for("[data-testid=run-effects]").await;
    browser.screenshot("workflow-run-en-1440").await;
    click(&browser, "[data-testid=run-delivery]").await;
    browser
        .until("the delivery delivered", || async {
            if browser.all("[data-testid=delivery-detail][data-status=delivered]").await.len() == 1 {
                return true;
            }
            browser.client.refresh().await.expect("reload");
            browser.wait_for("[data-testid=delivery-detail]").await;
            false
        })
        .await;
    browser.screenshot("workflow-delivery-en-1440").await;
    let delivery_id = delivery["id"].as_str().expect("a delivery id");
    assert!(receiver.hits().iter().any(|hit| hit.header("webhook-id") == delivery_id), "the receiver got the delivery");

    // The list shows the run's outcome; the builder shows the versions.
    browser.client.goto(&demo.url("/space/demo/workflows")).await.expect("the list");
    browser
        .until("the last run listed", || async {
            text_of(&browser, "workflow-last-health-below-60").await.contains("Succeeded")
        })
        .await;
    browser.screenshot("workflows-en-1440").await;
    browser.client.goto(&demo.url("/space/demo/workflows/notify-nowhere?tab=versions")).await.expect("versions");
    let diff = text_of(&browser, "version-diff").await;
    assert!(diff.contains("title"), "{diff}");

    // At a laptop size, in Chinese: the builder with a dry run, and the list.
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser.client.goto(&demo.url("/space/demo/workflows/health-below-60")).await.expect("the builder");
    choose(&browser, "test-record", low_id).await;
    type_into(&browser, "[data-testid=test-old-health]", "65").await;
    click(&browser, "[data-testid=dry-run]").await;
    browser.wait_for("[data-testid=dry-run-result]").await;
    assert_eq!(text_of(&browser, "test-status").await, "成功");
    browser.screenshot("workflow-dry-run-zh-1280").await;
    browser.client.goto(&demo.url("/space/demo/workflows/weekly-at-risk-digest")).await.expect("a schedule");
    let reading = text_of(&browser, "cron-reading").await;
    assert!(reading.contains("星期一") && reading.contains("Europe/Berlin"), "{reading}");
    browser.screenshot("workflow-schedule-zh-1280").await;
    browser.client.goto(&demo.url("/space/demo/workflows")).await.expect("the list");
    browser.wait_for("[data-testid=workflows-table]").await;
    browser.screenshot("workflows-zh-1280").await;
    browser.close().await;
}
