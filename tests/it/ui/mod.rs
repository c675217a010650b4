//! The web app in a real browser, as a CSM would use it: headless Chromium through chromedriver
//! against a real `tend serve --demo`, with real clicks, typing and drags on `data-testid`s.
//! A screenshot of each page is saved under `target/ui-screenshots/`.
//!
//! Without chromium and chromedriver the test prints a notice and passes, except under
//! `CI=true`, where it fails.

mod browser;
mod dashboards;
mod designer;
mod import_export;
mod people;
mod templates;
mod watching;
mod workflows;

use std::time::Duration;

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};

pub use browser::{Browser, Demo};

/// Replaces an input's text by typing (finding the input again if a render replaced it). A
/// render that lands between the clear and the typing (a newly selected field's default name
/// put back into the input) leaves both texts in it: then it clears and types again.
async fn type_into(browser: &Browser, css: &str, text: &str) {
    for attempt in 0.. {
        let input = browser.wait_for(css).await;
        let typed = async {
            input.clear().await?;
            input.send_keys(text).await?;
            input.prop("value").await
        }
        .await;
        match typed {
            Ok(Some(value)) if value != text && attempt < 3 => {
                eprintln!("retrying {css}: it holds {value:?} after typing {text:?}")
            }
            Ok(_) => return,
            Err(err) if attempt < 3 => eprintln!("retrying {css}: {err}"),
            Err(err) => panic!("typing into {css}: {err}"),
        }
    }
}

/// Clicks the first element matching `css`, waiting for it.
async fn click(browser: &Browser, css: &str) {
    browser.wait_for(css).await.click().await.unwrap_or_else(|err| panic!("click {css}: {err}"));
}

/// Waits until the grid has finished loading and shows rows or its empty state.
async fn grid_settled(browser: &Browser) {
    browser
        .until("the grid to load", || async {
            let loading = browser.all(".loading-more").await;
            let rows = browser.all("[data-testid=grid-row]").await;
            loading.is_empty() && !rows.is_empty()
        })
        .await;
}

async fn row_ids(browser: &Browser) -> Vec<String> {
    // Read in one script: the virtualized body re-renders while it scrolls, so element handles
    // taken one by one may go stale.
    let script = "return Array.from(document.querySelectorAll('[data-testid=grid-row]')).map(r => r.dataset.id)";
    let ids = browser.client.execute(script, vec![]).await.expect("row ids");
    ids.as_array().expect("an array").iter().filter_map(|id| id.as_str().map(str::to_owned)).collect()
}

async fn drag(browser: &Browser, from: &fantoccini::elements::Element, to: &fantoccini::elements::Element) {
    let step = Some(Duration::from_millis(50));
    let actions = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement { element: from.clone(), duration: step, x: 0, y: 0 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveBy { duration: step, x: 10, y: 10 })
        .then(PointerAction::MoveBy { duration: step, x: 20, y: 10 })
        .then(PointerAction::MoveToElement {
            element: to.clone(),
            duration: Some(Duration::from_millis(200)),
            x: 0,
            y: 0,
        })
        .then(PointerAction::MoveBy { duration: step, x: 2, y: 2 })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    browser.client.perform_actions(actions).await.expect("drag");
    browser.client.release_actions().await.expect("release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csm_works_the_demo_in_the_browser() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();

    // Sign in with the banner's one-time link: it lands on the spaces page.
    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=space-demo]").await;
    browser.wait_for("[data-testid=count-account]").await;
    browser.screenshot("spaces-en-1440").await;

    // The accounts grid.
    browser.wait_for("[data-testid=form-account]").await.click().await.expect("open accounts");
    grid_settled(&browser).await;
    browser.screenshot("grid-en-1440").await;

    // Infinite scroll: scrolling to the end pages through the cursors to the last account.
    let all = demo.get("/api/v1/spaces/demo/forms/account/records", &[("limit", "1000")]).await;
    let last_id =
        all["items"].as_array().expect("items").last().expect("accounts")["id"].as_str().expect("id").to_owned();
    browser
        .until("the last account after scrolling", || async {
            let scroll =
                "const g = document.querySelector('[data-testid=grid]'); g.scrollTop = g.scrollHeight; return true;";
            browser.client.execute(scroll, vec![]).await.expect("scroll");
            row_ids(&browser).await.last() == Some(&last_id)
        })
        .await;

    // Build the at-risk filter with the builder: health < 50, status != "churned".
    for (field, op, value) in [("health", "<", "50"), ("status", "!=", "churned")] {
        browser.wait_for("[data-testid=add-condition]").await.click().await.expect("add condition");
        browser.wait_for("[data-testid=condition-field]").await.select_by_value(field).await.expect("field");
        browser.wait_for("[data-testid=condition-op]").await.select_by_value(op).await.expect("op");
        let value_box = browser.wait_for("[data-testid=condition-value]").await;
        if value_box.tag_name().await.expect("tag") == "select" {
            value_box.select_by_value(value).await.expect("value");
        } else {
            value_box.send_keys(value).await.expect("value");
        }
        browser.wait_for("[data-testid=condition-add]").await.click().await.expect("apply condition");
    }
    let filter = "health < 50 and status != \"churned\"";
    browser.until("the filter in the URL", || async { browser.query("filter").await.as_deref() == Some(filter) }).await;
    grid_settled(&browser).await;
    let expected = demo.get("/api/v1/spaces/demo/forms/account/count", &[("filter", filter)]).await["count"]
        .as_u64()
        .expect("count");
    assert!(expected > 0, "the demo has at-risk accounts");
    browser
        .until("the total count", || async {
            let text = browser.wait_for("[data-testid=total-count]").await.text().await.unwrap_or_default();
            text.replace(',', "") == format!("{expected} records")
        })
        .await;
    let shown = row_ids(&browser).await;
    let listed = demo.get("/api/v1/spaces/demo/forms/account/records", &[("filter", filter), ("limit", "1000")]).await;
    let api_ids: Vec<String> =
        listed["items"].as_array().expect("items").iter().map(|r| r["id"].as_str().expect("id").to_owned()).collect();
    assert_eq!(api_ids.len() as u64, expected);
    assert_eq!(
        shown,
        api_ids[..shown.len()],
        "the grid shows the accounts the API returns for the same filter, in order"
    );
    assert!(browser.all("[data-testid=filter-chip]").await.len() == 2);
    browser.screenshot("grid-filtered-en-1440").await;

    // Sort by health by clicking its header.
    browser.wait_for("[data-testid=sort-health]").await.click().await.expect("sort");
    browser
        .until("sort=health in the URL", || async { browser.query("sort").await.as_deref() == Some("health") })
        .await;
    let sorted = demo
        .get("/api/v1/spaces/demo/forms/account/records", &[("filter", filter), ("sort", "health"), ("limit", "10")])
        .await;
    let first_sorted: Vec<String> =
        sorted["items"].as_array().expect("items").iter().map(|r| r["id"].as_str().expect("id").to_owned()).collect();
    browser.until("the grid sorted by health", || async { row_ids(&browser).await.starts_with(&first_sorted) }).await;

    // Open an account; save an invalid value and see the error at that field; fix it.
    browser.wait_for("[data-testid=grid-row]").await.click().await.expect("open account");
    browser.wait_for("[data-testid=record-drawer] [data-testid=record]").await;
    let usage = browser.wait_for("#root_usage_score").await;
    usage.clear().await.expect("clear");
    usage.send_keys("150").await.expect("type");
    browser.wait_for("[data-testid=save-record]").await.click().await.expect("save");
    let error = browser.wait_for("[data-testid=field-error-usage_score]").await;
    assert!(error.text().await.expect("text").contains("100"), "the schema's maximum is named");
    browser.screenshot("record-error-en-1440").await;
    let usage = browser.wait_for("#root_usage_score").await;
    usage.clear().await.expect("clear");
    usage.send_keys("87").await.expect("type");
    browser.wait_for("[data-testid=save-record]").await.click().await.expect("save");
    browser.wait_for("[data-testid=saved]").await;
    browser
        .until("the change in the history timeline", || async {
            let entries = browser.all("[data-testid=history-entry][data-kind=updated]").await;
            for entry in entries {
                if entry.text().await.unwrap_or_default().contains("→ 87") {
                    return true;
                }
            }
            false
        })
        .await;
    browser.screenshot("record-en-1440").await;

    // Someone else saves the account meanwhile: saving here answers 412 and the dialog shows
    // their value beside ours; taking theirs loads it.
    let opened = browser.query("record").await.expect("the open record in the URL");
    let path = format!("/api/v1/spaces/demo/forms/account/records/{opened}");
    let current = demo.get(&path, &[]).await;
    let version = current["version"].as_u64().expect("version");
    let theirs = demo
        .api
        .patch(demo.url(&path))
        .bearer_auth(&demo.token)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", format!("\"{version}\""))
        .body(r#"{"open_tickets": 9}"#)
        .send()
        .await
        .expect("PATCH");
    assert!(theirs.status().is_success(), "{}", theirs.status());
    let tickets = browser.wait_for("#root_open_tickets").await;
    tickets.clear().await.expect("clear");
    tickets.send_keys("2").await.expect("type");
    browser.wait_for("[data-testid=save-record]").await.click().await.expect("save");
    let conflict = browser.wait_for("[data-testid=conflict-dialog] [data-testid=conflict-open_tickets]").await;
    let cells = conflict.text().await.expect("text");
    assert!(cells.contains('9') && cells.contains('2'), "their 9 beside my 2: {cells}");
    browser.screenshot("record-conflict-en-1440").await;
    browser.wait_for("[data-testid=take-theirs]").await.click().await.expect("take theirs");
    browser
        .until("their value in the form", || async {
            browser.wait_for("#root_open_tickets").await.prop("value").await.ok().flatten().as_deref() == Some("9")
        })
        .await;
    browser.wait_for("[data-testid=close-drawer]").await.click().await.expect("close the drawer");

    // Kanban: an onboarding in kickoff with an unticked checklist can't move to setup.
    let kickoffs = demo
        .get("/api/v1/spaces/demo/forms/onboarding/records", &[("filter", "stage = \"kickoff\""), ("limit", "100")])
        .await;
    let onboarding = kickoffs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| {
            ["kickoff_call", "success_plan", "stakeholders"].iter().any(|item| r["data"]["checklist"][item] != true)
        })
        .expect("an onboarding in kickoff with an unticked item")
        .clone();
    let id = onboarding["id"].as_str().expect("id").to_owned();
    browser.client.goto(&demo.url("/s/demo/onboarding/board")).await.expect("board");
    let card = browser.wait_for(&format!("[data-testid=board-card][data-id='{id}']")).await;
    let setup = browser.wait_for("[data-testid=column-setup]").await;
    drag(&browser, &card, &setup).await;
    let refusal = browser.wait_for("[data-testid=board-refusal]").await;
    assert!(refusal.text().await.expect("text").contains("checklist"), "the reason is shown");
    browser.wait_for(&format!("[data-testid=column-kickoff] [data-testid=board-card][data-id='{id}']")).await;
    browser.screenshot("board-en-1440").await;

    // Tick the checklist on the record, move the card, and see `stage_changed` in its history.
    browser.client.goto(&demo.url(&format!("/s/demo/onboarding/r/{id}"))).await.expect("record page");
    for item in ["kickoff_call", "success_plan", "stakeholders"] {
        let path = format!("/api/v1/spaces/demo/forms/onboarding/records/{id}");
        if demo.get(&path, &[]).await["data"]["checklist"][item] == true {
            continue;
        }
        browser.wait_for(&format!("[data-testid=check-{item}]")).await.click().await.expect("tick");
        browser
            .until("the tick to be saved", || async { demo.get(&path, &[]).await["data"]["checklist"][item] == true })
            .await;
    }
    browser.client.goto(&demo.url("/s/demo/onboarding/board")).await.expect("board");
    let card = browser.wait_for(&format!("[data-testid=board-card][data-id='{id}']")).await;
    let setup = browser.wait_for("[data-testid=column-setup]").await;
    drag(&browser, &card, &setup).await;
    browser.wait_for(&format!("[data-testid=column-setup] [data-testid=board-card][data-id='{id}']")).await;
    let path = format!("/api/v1/spaces/demo/forms/onboarding/records/{id}");
    browser.until("the move to be stored", || async { demo.get(&path, &[]).await["data"]["stage"] == "setup" }).await;
    browser.client.goto(&demo.url(&format!("/s/demo/onboarding/r/{id}"))).await.expect("record page");
    browser.wait_for("[data-testid=history-entry][data-kind=stage_changed]").await;
    browser.screenshot("record-pipeline-en-1440").await;

    // The renewals calendar: what it shows is what the API lists for the days on screen.
    browser.client.goto(&demo.url("/s/demo/renewal/calendar")).await.expect("calendar");
    browser.wait_for("[data-testid=calendar]").await;
    let first = browser.wait_for(".calendar .day").await.attr("data-date").await.expect("attr").expect("date");
    let days = browser.all(".calendar .day").await;
    let last = days.last().expect("days").attr("data-date").await.expect("attr").expect("date");
    let range = format!("renewal_date >= \"{first}\" and renewal_date <= \"{last}\"");
    let in_range = demo.get("/api/v1/spaces/demo/forms/renewal/count", &[("filter", &range)]).await["count"]
        .as_u64()
        .expect("count");
    browser
        .until("the calendar's items", || async {
            let shown = browser.all("[data-testid=calendar-item]").await.len() as u64;
            let more = browser.all(".calendar .day .muted").await.len() as u64;
            shown == in_range || (more > 0 && shown <= in_range)
        })
        .await;
    browser.screenshot("calendar-en-1440").await;

    // A raw filter the server refuses: its 400 is shown, marked at the position it names.
    browser.client.goto(&demo.url("/s/demo/account")).await.expect("grid");
    grid_settled(&browser).await;
    let raw = browser.wait_for("[data-testid=raw-filter]").await;
    raw.send_keys("health < 50 and tier =").await.expect("type a filter");
    browser.wait_for("[data-testid=raw-filter-apply]").await.click().await.expect("apply");
    let error = browser.wait_for("[data-testid=filter-error]").await;
    let marker = error.find(fantoccini::Locator::Css("pre")).await.expect("the marked filter");
    let label = marker.attr("aria-label").await.expect("attr").unwrap_or_default();
    assert_eq!(label, "at character 23", "the position the server names, counted from 1");
    let text = error.text().await.expect("text");
    assert!(text.contains("expected a value after"), "the server's words: {text}");
    assert!(
        text.lines().nth(1).is_some_and(|l| l.trim_end().ends_with('^') && l.len() == 23),
        "a marker under the position: {text}"
    );
    browser.screenshot("grid-filter-error-en-1440").await;

    // Save a view of the grid and reopen it after a reload.
    let growth = "tier = \"growth\"";
    let grid_url = format!("/s/demo/account?filter={}&sort=-arr", urlencode(growth));
    browser.client.goto(&demo.url(&grid_url)).await.expect("grid");
    grid_settled(&browser).await;
    browser.wait_for("[data-testid=save-view]").await.click().await.expect("save view");
    browser.wait_for("[data-testid=view-title]").await.send_keys("Growth by ARR").await.expect("title");
    browser.wait_for("[data-testid=view-save]").await.click().await.expect("save");
    browser
        .until("the view in the URL", || async { browser.query("view").await.as_deref() == Some("growth-by-arr") })
        .await;
    browser.client.goto(&demo.url("/s/demo/account")).await.expect("plain grid");
    grid_settled(&browser).await;
    browser.client.refresh().await.expect("reload");
    grid_settled(&browser).await;
    browser.wait_for("[data-testid=view-picker]").await.select_by_value("growth-by-arr").await.expect("pick view");
    browser
        .until("the view's filter and sort", || async {
            browser.query("filter").await.as_deref() == Some(growth)
                && browser.query("sort").await.as_deref() == Some("-arr")
        })
        .await;
    // Saved as a personal view: another caller (the admin token) does not see it.
    let views = demo.get("/api/v1/spaces/demo/forms/account/views", &[]).await;
    let names: Vec<&str> =
        views["items"].as_array().expect("items").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(names, ["at-risk-accounts"], "the pack's shared view only");

    // 中文.
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser
        .until("Chinese labels", || async {
            browser.wait_for("[data-testid=nav-spaces]").await.text().await.unwrap_or_default() == "空间"
        })
        .await;
    grid_settled(&browser).await;
    browser.screenshot("grid-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.screenshot("grid-zh-1280").await;
    browser.client.goto(&demo.url("/")).await.expect("spaces");
    browser.wait_for("[data-testid=count-account]").await;
    browser.screenshot("spaces-zh-1280").await;
    browser.client.goto(&demo.url("/my-work?who=ana.silva%40example.com")).await.expect("my work");
    browser.wait_for(".my-work").await;
    browser.screenshot("my-work-zh-1280").await;

    // Sign out ends the session; the token box signs in again.
    browser.wait_for("[data-testid=sign-out]").await.click().await.expect("sign out");
    browser.wait_for("[data-testid=token]").await.send_keys(&demo.token).await.expect("token");
    browser.wait_for("[data-testid=sign-in]").await.click().await.expect("sign in");
    browser.wait_for("[data-testid=count-account]").await;
    browser.client.goto(&demo.url("/s/demo/onboarding/board")).await.expect("board");
    browser.wait_for("[data-testid=board-card]").await;
    browser.screenshot("board-zh-1280").await;
    // A board by any single-select field, and an account's page with its related records.
    browser.client.goto(&demo.url("/s/demo/task/board?by=priority")).await.expect("task board");
    browser.wait_for("[data-testid=column-high] [data-testid=board-card]").await;
    browser.screenshot("board-by-priority-zh-1280").await;
    // Without a pointer: a card's "move to" list sets the field.
    let card = browser.wait_for("[data-testid=column-high] [data-testid=board-card]").await;
    let task = card.attr("data-id").await.expect("attr").expect("data-id");
    card.find(fantoccini::Locator::Css("[data-testid=card-move]"))
        .await
        .expect("move list")
        .select_by_value("low")
        .await
        .expect("move");
    browser.wait_for(&format!("[data-testid=column-low] [data-testid=board-card][data-id='{task}']")).await;
    let task_path = format!("/api/v1/spaces/demo/forms/task/records/{task}");
    browser
        .until("the new priority stored", || async { demo.get(&task_path, &[]).await["data"]["priority"] == "low" })
        .await;
    let account = shown_first_account(&demo).await;
    browser.client.set_window_size(1440, 900).await.expect("resize");
    browser.client.goto(&demo.url(&format!("/s/demo/account/r/{account}"))).await.expect("account page");
    browser.wait_for("[data-testid=related-contact]").await;
    browser.wait_for("[data-testid=history-entry]").await;
    browser.screenshot("record-account-zh-1440").await;

    browser.close().await;
}

/// An account that has contacts, tasks and the like pointing at it.
async fn shown_first_account(demo: &Demo) -> String {
    let contacts = demo.get("/api/v1/spaces/demo/forms/contact/records", &[("limit", "1")]).await;
    contacts["items"][0]["data"]["account"].as_str().expect("a contact's account").to_owned()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
