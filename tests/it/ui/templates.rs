//! The template gallery and the next days in a real browser: an admin installs the
//! support-desk template from the gallery, copies the new space for another department, changes
//! an SLA in the copy's designer (the original keeps its own), and opens the demo's next 30 days, where a renewal reminder shows at 09:00 in Shanghai. Screenshots
//! in English and Chinese, at 1440×900 and 1280×800.

use chrono::{Days, Utc};
use serde_json::{json, Value};

use super::{click, type_into, Browser, Demo};

/// The text of each row of the agenda.
async fn agenda_rows(browser: &Browser) -> Vec<String> {
    let script = "return Array.from(document.querySelectorAll('[data-testid=upcoming-item]')).map(r => r.innerText)";
    let rows = browser.client.execute(script, vec![]).await.expect("agenda rows");
    rows.as_array().expect("an array").iter().filter_map(|r| r.as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_installs_a_template_copies_it_and_sees_the_next_30_days() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();
    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=space-demo]").await;

    // The gallery: a card per built-in pack; support-desk installs with its sample data.
    click(&browser, "[data-testid=nav-templates]").await;
    browser.wait_for("[data-testid=pack-customer-success]").await;
    browser.wait_for("[data-testid=pack-sales-pipeline]").await;
    browser.screenshot("templates-en-1440").await;
    click(&browser, "[data-testid=install-support-desk]").await;
    let name = browser.wait_for("[data-testid=new-space-name]").await;
    assert_eq!(name.prop("value").await.expect("value").as_deref(), Some("support-desk"), "a free name by default");
    type_into(&browser, "[data-testid=new-space-name]", "support").await;
    browser.screenshot("templates-install-en-1440").await;
    click(&browser, "[data-testid=new-space-submit]").await;
    browser.wait_for("[data-testid=space-support]").await;
    browser.wait_for("[data-testid=space-support] [data-testid=form-ticket]").await;
    let space = demo.get("/api/v1/spaces/support", &[]).await;
    assert_eq!(space["template"]["name"], "support-desk");
    let tickets = demo.get("/api/v1/spaces/support/forms/ticket/count", &[]).await;
    assert!(tickets["count"].as_u64().expect("a count") > 0, "with its sample data");

    // Copied for another department, under a name and title of its own.
    click(&browser, "[data-testid=copy-space-support]").await;
    browser.wait_for("[data-testid=new-space-dialog]").await;
    type_into(&browser, "[data-testid=new-space-name]", "support-emea").await;
    type_into(&browser, "[data-testid=new-space-title]", "Support EMEA").await;
    browser.screenshot("space-copy-en-1440").await;
    click(&browser, "[data-testid=new-space-submit]").await;
    browser.wait_for("[data-testid=space-support-emea]").await;
    let copy = demo.get("/api/v1/spaces/support-emea", &[]).await;
    assert_eq!((&copy["title"], &copy["copied_from"]["space"]), (&json!("Support EMEA"), &json!("support")));
    let export = browser.wait_for("[data-testid=export-pack-support-emea]").await;
    assert_eq!(export.attr("href").await.expect("href").as_deref(), Some("/api/v1/spaces/support-emea/pack"));
    browser.screenshot("spaces-copied-en-1440").await;

    // The copy's tickets get four hours before a new one is late; the original keeps two.
    browser.client.goto(&demo.url("/s/support-emea/ticket/design")).await.expect("the copy's designer");
    click(&browser, "[data-testid=tab-pipeline]").await;
    // A controlled input may put its old text back between WebDriver's clear and the typing:
    // typed again until it reads 4h.
    browser
        .until("the SLA reading 4h", || async {
            type_into(&browser, "[data-testid=stage-sla-0]", "4h").await;
            let value = browser.wait_for("[data-testid=stage-sla-0]").await.prop("value").await;
            value.ok().flatten().as_deref() == Some("4h")
        })
        .await;
    click(&browser, "[data-testid=publish]").await;
    browser.wait_for("[data-testid=published]").await;
    let copy = demo.get("/api/v1/spaces/support-emea/forms/ticket", &[]).await;
    let original = demo.get("/api/v1/spaces/support/forms/ticket", &[]).await;
    let first_sla = |form: &Value| form["definition"]["pipeline"]["stages"][0]["sla"].clone();
    assert_eq!(first_sla(&copy), json!("4h"));
    assert_eq!(first_sla(&original), json!("2h"), "the original is unchanged");

    // An account renewing in 45 days, in Shanghai: its 30-day reminder is due in 15 days at
    // 09:00 there.
    let owner = demo.get("/api/v1/spaces/demo/forms/account/records", &[("limit", "1")]).await["items"][0]["data"]
        ["owner"]
        .clone();
    let renewal = Utc::now().date_naive().checked_add_days(Days::new(45)).expect("a date");
    let account = json!({ "name": "Shanghai Harbor Trading", "tier": "growth", "owner": owner,
                          "timezone": "Asia/Shanghai", "renewal_date": renewal });
    let created = demo.post("/api/v1/spaces/demo/forms/account/records", &account).await;
    let id = created["id"].as_str().expect("an id").to_owned();
    for _ in 0..100 {
        let upcoming: Value = demo.get("/api/v1/spaces/demo/upcoming", &[("days", "30")]).await;
        if upcoming["items"].as_array().expect("items").iter().any(|i| i["record"] == id.as_str()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    browser.client.goto(&demo.url("/space/demo/upcoming")).await.expect("open the next 30 days");
    browser.wait_for("[data-testid=upcoming-agenda-list]").await;
    browser
        .until("the reminder at 09:00 in Shanghai", || async {
            agenda_rows(&browser)
                .await
                .iter()
                .any(|row| row.contains("Shanghai Harbor Trading") && row.contains("09:00 Asia/Shanghai"))
        })
        .await;
    let day = renewal.checked_sub_days(Days::new(30)).expect("a date");
    let link = format!("[data-testid=upcoming-day-{day}] a[href='/s/demo/account/r/{id}']");
    browser.wait_for(&link).await;
    browser.screenshot("upcoming-en-1440").await;
    click(&browser, "[data-testid=upcoming-month]").await;
    browser
        .until("the month view in the URL", || async { browser.query("view").await.as_deref() == Some("month") })
        .await;
    browser
        .wait_for(&format!("[data-testid=upcoming-calendar] [data-date='{day}'] a[href='/s/demo/account/r/{id}']"))
        .await;
    browser.screenshot("upcoming-month-en-1440").await;

    // 中文, and the smaller laptop.
    click(&browser, "[data-testid=upcoming-agenda]").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser
        .until("Chinese labels", || async {
            let text = browser.wait_for("[data-testid=nav-templates]").await.text().await.unwrap_or_default();
            text == "模板"
        })
        .await;
    browser
        .until("the reminder in Chinese", || async {
            agenda_rows(&browser)
                .await
                .iter()
                .any(|row| row.contains("Shanghai Harbor Trading") && row.contains("提醒"))
        })
        .await;
    browser.screenshot("upcoming-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.screenshot("upcoming-zh-1280").await;
    click(&browser, "[data-testid=upcoming-month]").await;
    browser.wait_for("[data-testid=upcoming-calendar]").await;
    browser.screenshot("upcoming-month-zh-1280").await;
    click(&browser, "[data-testid=nav-templates]").await;
    browser.wait_for("[data-testid=pack-in-use-support-desk]").await;
    browser.screenshot("templates-zh-1280").await;
    click(&browser, "[data-testid=install-customer-success]").await;
    browser.wait_for("[data-testid=new-space-dialog]").await;
    browser.screenshot("templates-install-zh-1280").await;
    click(&browser, "[data-testid=new-space-cancel]").await;
    click(&browser, "[data-testid=nav-spaces]").await;
    browser.wait_for("[data-testid=copy-space-support]").await;
    browser.screenshot("spaces-zh-1280").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("en").await.expect("language");
    browser.client.goto(&demo.url("/space/demo/upcoming")).await.expect("the next 30 days");
    browser.wait_for("[data-testid=upcoming-agenda-list]").await;
    browser.screenshot("upcoming-en-1280").await;
    click(&browser, "[data-testid=nav-templates]").await;
    browser.wait_for("[data-testid=pack-support-desk]").await;
    browser.screenshot("templates-en-1280").await;
    browser.close().await;
}
