//! Watching workflows work, in a real browser: a record-triggered workflow whose script fails
//! for one account and notifies a webhook (a real receiver on loopback that answers 500) for
//! another. An admin sees the badge, opens the failed run and reads the error at its script
//! line, fixes the workflow and retries; reads the dead delivery's attempts and redelivers; and
//! creates an inbound hook, sees its secret once, and runs the page's sender command against
//! the server. English and Chinese, at 1440 and 1280 wide.

use std::process::Command;

use serde_json::{json, Value};

use super::{Browser, Demo};
use crate::support::{Behaviour, Receiver};

/// Line 3 throws for Boom; every account is announced to the `alerts` endpoint first.
const SCRIPT: &str = "print(`checking ${record.name}`);\nnotify(#{ webhook: \"alerts\", body: #{ account: record.name } });\nif record.name == \"Boom\" { throw \"no triage for Boom\"; }\n";

fn account(name: &str) -> Value {
    json!({ "name": name, "tier": "growth", "owner": "ana.silva@example.com", "timezone": "Europe/Berlin" })
}

/// What a badge shows for `count` (its label for screen readers follows): 99 at most.
fn badge(count: usize) -> String {
    if count > 99 {
        "99+".to_owned()
    } else {
        count.to_string()
    }
}

async fn text(browser: &Browser, css: &str) -> String {
    browser.wait_for(css).await.text().await.unwrap_or_default()
}

/// The runs of the `watch-triage` workflow, newest first.
async fn runs(demo: &Demo) -> Vec<Value> {
    let page = demo.get("/api/v1/spaces/demo/runs", &[("workflow", "watch-triage")]).await;
    page["items"].as_array().expect("items").clone()
}

async fn settle<F, Fut>(what: &str, mut check: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    for _ in 0..200 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_watches_runs_and_deliveries_and_sets_up_a_hook() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let demo = Demo::start_with_env(&[
        ("TEND_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true"),
        ("TEND_WEBHOOKS__MAX_ATTEMPTS", "2"),
        ("TEND_WEBHOOKS__BACKOFF_BASE_MS", "50"),
        ("TEND_WEBHOOKS__BACKOFF_MAX_MS", "100"),
    ]);
    demo.settled().await;
    demo.put("/api/v1/spaces/demo/webhooks/alerts", &json!({ "url": receiver.url("/alerts") })).await;
    let workflow = json!({ "title": "Watch triage", "trigger": { "form": "account", "on": ["created"] },
                           "actions": [ { "script": SCRIPT } ] });
    demo.put("/api/v1/spaces/demo/workflows/watch-triage", &workflow).await;
    let boom = demo.post("/api/v1/spaces/demo/forms/account/records", &account("Boom")).await;
    demo.post("/api/v1/spaces/demo/forms/account/records", &account("Fine")).await;
    let failed = settle("Boom's failed run", || async {
        runs(&demo).await.into_iter().find(|run| run["record"] == boom["id"] && run["status"] == "failed")
    })
    .await;
    let dead = settle("a dead delivery", || async {
        let page = demo.get("/api/v1/spaces/demo/deliveries", &[("status", "dead")]).await;
        page["items"].as_array().and_then(|items| items.first().cloned())
    })
    .await;
    assert_eq!(dead["attempts"].as_array().map(Vec::len), Some(2), "max_attempts = 2: {dead}");

    // The runs list, narrowed by time with the API's new filter, still holds Boom's run.
    let started = failed["started_at"].as_str().expect("started_at");
    let window = demo.get("/api/v1/spaces/demo/runs", &[("status", "failed"), ("since", started)]).await;
    assert!(window["items"].as_array().expect("items").iter().any(|run| run["id"] == failed["id"]), "{window}");
    let later = demo.get("/api/v1/spaces/demo/runs", &[("workflow", "watch-triage"), ("until", started)]).await;
    assert!(!later["items"].as_array().expect("items").iter().any(|run| run["id"] == failed["id"]), "{later}");

    // The badge: failed runs and dead deliveries need attention.
    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=space-demo]").await;
    browser.client.goto(&demo.url("/space/demo/runs?workflow=watch-triage")).await.expect("open the runs");
    let failed_count = demo.get("/api/v1/spaces/demo/runs", &[("status", "failed"), ("limit", "100")]).await["items"]
        .as_array()
        .map_or(0, Vec::len);
    let dead_count = demo.get("/api/v1/spaces/demo/deliveries", &[("status", "dead"), ("limit", "100")]).await["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(failed_count >= 1 && dead_count >= 1);
    let demo_failures = demo.get("/api/v1/spaces/demo/runs", &[("status", "failed"), ("limit", "3")]).await;
    eprintln!("failed runs: {failed_count}; the latest: {demo_failures:#}");
    assert!(text(&browser, "[data-testid=badge-runs]").await.starts_with(&badge(failed_count)));
    assert!(text(&browser, "[data-testid=badge-deliveries]").await.starts_with(&badge(dead_count)));

    // The failed run: the error, at its script line, with the script around it.
    let failed_id = failed["id"].as_str().expect("id");
    browser.wait_for(&format!("[data-testid=run-{failed_id}]")).await;
    browser.screenshot("runs-en-1440").await;
    browser.wait_for(&format!("[data-testid=run-{failed_id}]")).await.click().await.expect("open the run");
    let error = text(&browser, "[data-testid=run-error]").await;
    assert!(error.contains("no triage for Boom"), "{error}");
    let line = text(&browser, "[data-testid=run-error-line]").await;
    assert!(line.contains("line 3"), "{line}");
    let marked = text(&browser, "[data-testid=run-error-script] .at").await;
    assert!(marked.contains("throw \"no triage for Boom\""), "{marked}");
    assert!(text(&browser, "[data-testid=run-when]").await.starts_with("true"));
    browser.screenshot("run-failed-en-1440").await;

    // Fix the script, let the receiver answer, and retry: the page lands on the new run.
    let fixed = json!({ "title": "Watch triage", "trigger": { "form": "account", "on": ["created"] },
                        "actions": [ { "script": SCRIPT.replace("throw \"no triage for Boom\";", "print(\"triaged\");") } ] });
    demo.put("/api/v1/spaces/demo/workflows/watch-triage", &fixed).await;
    receiver.set(Behaviour::Succeed);
    browser.wait_for("[data-testid=run-retry]").await.click().await.expect("retry");
    browser
        .until("the retry's run", || async {
            browser.all("[data-testid=run-detail][data-status=succeeded]").await.len() == 1
        })
        .await;
    let retried = runs(&demo).await.into_iter().find(|run| run["retry_of"] == failed["id"]).expect("a retry");
    assert_eq!(retried["status"], "succeeded", "{retried}");
    assert!(browser.client.current_url().await.expect("url").path().ends_with(retried["id"].as_str().expect("id")));
    // It links to the record its script updated and to the delivery it queued.
    browser.wait_for("[data-testid=run-delivery]").await;
    browser.screenshot("run-retried-en-1440").await;

    // The record's page links to its runs: the failed one and its retry.
    browser.wait_for("[data-testid=run-record]").await.click().await.expect("open the record");
    browser.wait_for("[data-testid=record-runs]").await.click().await.expect("open its runs");
    let boom_id = boom["id"].as_str().expect("id").to_owned();
    browser
        .until("the record's runs", || async { browser.query("record").await.as_deref() == Some(boom_id.as_str()) })
        .await;
    browser.until("two runs of Boom", || async { browser.all("[data-testid=run-row]").await.len() == 2 }).await;
    browser.wait_for(&format!("[data-testid=run-{failed_id}]")).await;

    // The dead delivery: every attempt, then a redelivery the receiver now takes.
    let dead_id = dead["id"].as_str().expect("id");
    browser.wait_for("[data-testid=space-deliveries-demo]").await.click().await.expect("open the deliveries");
    browser.wait_for(&format!("[data-testid=delivery-{dead_id}]")).await.click().await.expect("open the delivery");
    browser.until("two attempts", || async { browser.all("[data-testid=attempt]").await.len() == 2 }).await;
    let attempts = text(&browser, "[data-testid=attempts]").await;
    assert!(attempts.contains("500"), "{attempts}");
    browser.screenshot("delivery-dead-en-1440").await;
    browser.wait_for("[data-testid=redeliver]").await.click().await.expect("redeliver");
    browser.wait_for("[data-testid=redelivered]").await;
    browser
        .until("the delivery delivered", || async {
            if browser.all("[data-testid=delivery-detail][data-status=delivered]").await.len() == 1 {
                return true;
            }
            browser.client.refresh().await.expect("refresh");
            browser.wait_for("[data-testid=delivery-detail]").await;
            false
        })
        .await;
    assert_eq!(browser.all("[data-testid=attempt]").await.len(), 3);
    let delivered = demo.get(&format!("/api/v1/spaces/demo/deliveries/{dead_id}"), &[]).await;
    assert_eq!(delivered["status"], "delivered");
    assert_eq!(receiver.hits().last().map(|hit| hit.header("webhook-id")).as_deref(), Some(dead_id));

    // An inbound hook: its secret once, and a sender command that the server accepts.
    browser.wait_for("[data-testid=space-integrations-demo]").await.click().await.expect("open the integrations");
    browser.wait_for("[data-testid=endpoint-alerts]").await;
    browser.wait_for("[data-testid=hook-new]").await.click().await.expect("new hook");
    browser.wait_for("[data-testid=hook-name]").await.send_keys("signup").await.expect("name");
    browser.wait_for("[data-testid=hook-save]").await.click().await.expect("save");
    let secret = text(&browser, "[data-testid=hook-secret-value]").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let command = text(&browser, "[data-testid=sender-command-signup]").await;
    assert!(command.contains(&secret), "the command right after creation carries the secret");
    browser.screenshot("integrations-en-1440").await;
    let sent = Command::new("sh").args(["-c", &command]).output().expect("running the sender command");
    let answer: Value =
        serde_json::from_slice(&sent.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&sent.stderr)));
    assert_eq!(answer["hook"], "signup", "{answer}");
    assert!(answer["event"].as_u64().is_some(), "the signed post was accepted: {answer}");
    browser.client.refresh().await.expect("refresh");
    browser.wait_for("[data-testid=hook-signup]").await;
    assert!(browser.all("[data-testid=hook-secret]").await.is_empty(), "the secret is shown once");
    browser.wait_for("[data-testid=hook-sender-signup]").await.click().await.expect("show the sender");
    let later = text(&browser, "[data-testid=sender-command-signup]").await;
    assert!(!later.contains(&secret) && later.contains("TEND_HOOK_SECRET"), "{later}");

    // Timers: the page and its per-workflow summary load (the demo schedules some).
    browser.wait_for("[data-testid=space-timers-demo]").await.click().await.expect("open the timers");
    browser.wait_for("[data-testid=timers-table], .empty-state").await;
    browser.screenshot("timers-en-1440").await;

    // Chinese, at both widths.
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    for (width, height) in [(1440, 900), (1280, 800)] {
        browser.client.set_window_size(width, height).await.expect("resize");
        for (page, ready) in [
            (format!("/space/demo/runs/{failed_id}"), "[data-testid=run-error]"),
            ("/space/demo/runs".to_owned(), "[data-testid=runs-table]"),
            (format!("/space/demo/deliveries/{dead_id}"), "[data-testid=attempts]"),
            ("/space/demo/timers".to_owned(), "[data-testid=timers-table], .empty-state"),
            ("/space/demo/integrations".to_owned(), "[data-testid=hook-signup]"),
        ] {
            browser.client.goto(&demo.url(&page)).await.expect("open a page");
            browser.wait_for(ready).await;
            let name = page.trim_start_matches("/space/demo/").split('/').next().unwrap_or("page").to_owned();
            let detail = if page.matches('/').count() > 3 { "-detail" } else { "" };
            browser.screenshot(&format!("{name}{detail}-zh-{width}")).await;
        }
        assert!(text(&browser, "[data-testid=space-runs-demo]").await.starts_with("运行记录"));
    }
    let line = {
        browser.client.goto(&demo.url(&format!("/space/demo/runs/{failed_id}"))).await.expect("open the run");
        text(&browser, "[data-testid=run-error-line]").await
    };
    assert!(line.contains("第 3 行"), "{line}");
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.wait_for("[data-testid=language]").await.select_by_value("en").await.expect("language");
    for (page, ready) in [
        (format!("/space/demo/runs/{failed_id}"), "[data-testid=run-error]"),
        (format!("/space/demo/deliveries/{dead_id}"), "[data-testid=attempts]"),
        ("/space/demo/integrations".to_owned(), "[data-testid=hook-signup]"),
    ] {
        browser.client.goto(&demo.url(&page)).await.expect("open a page");
        browser.wait_for(ready).await;
        let name = page.trim_start_matches("/space/demo/").split('/').next().unwrap_or("page").to_owned();
        browser.screenshot(&format!("{name}-en-1280")).await;
    }

    // The hook is deleted from its form, on a second click; its secret then opens nothing.
    browser.wait_for("[data-testid=hook-edit-signup]").await.click().await.expect("edit the hook");
    browser.wait_for("[data-testid=hook-delete]").await.click().await.expect("delete");
    browser.wait_for("[data-testid=hook-delete]").await.click().await.expect("confirm");
    browser.until("the hook gone", || async { browser.all("[data-testid=hook-signup]").await.is_empty() }).await;
    let listed = demo.get("/api/v1/spaces/demo/hooks", &[]).await;
    assert!(!listed["items"].as_array().expect("items").iter().any(|hook| hook["name"] == "signup"), "{listed}");
    let refused = Command::new("sh").args(["-c", &format!("{command} -o /dev/null -w '%{{http_code}}'")]).output();
    assert_eq!(String::from_utf8_lossy(&refused.expect("the sender command").stdout), "401");
    browser.close().await;
}
