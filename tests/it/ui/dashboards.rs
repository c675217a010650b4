//! The CS overview in a real browser: a manager opens the demo's dashboard, reads the KPI tiles
//! (the numbers the API computes, formatted), narrows it to one owner, and clicks a bar to land
//! on the grid filtered to the records behind it. Screenshots in English and Chinese, at
//! 1440×900 and 1280×800.

use serde_json::Value;

use super::{Browser, Demo};

/// `0.9155` as the English app shows a percentage: `91.6%`.
fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// `7952000` as the English app shows US dollars: `$7,952,000`.
fn dollars(value: f64) -> String {
    let digits = format!("{}", value.round() as i64);
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}")
}

fn widget<'a>(data: &'a Value, id: &str) -> &'a Value {
    data["widgets"].as_array().expect("widgets").iter().find(|w| w["id"] == id).expect("the widget")
}

/// The dashboard's data once the demo's workflows have caught up with its sample data (they
/// move health scores for a moment after start): the same answer twice in a row.
async fn settled(demo: &Demo, path: &str) -> Value {
    let mut last = demo.get(path, &[]).await;
    for _ in 0..120 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = demo.get(path, &[]).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the demo's dashboard kept changing for a minute");
}

async fn kpi_text(browser: &Browser, id: &str) -> String {
    browser.wait_for(&format!("[data-testid=kpi-{id}]")).await.text().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_reads_the_cs_overview_and_drills_into_a_bar() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();
    let path = "/api/v1/spaces/demo/dashboards/cs-overview/data";
    let data = settled(&demo, path).await;

    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=dashboards-demo]").await.click().await.expect("open the dashboards");
    browser.wait_for("[data-testid=dashboard-cs-overview]").await.click().await.expect("open the CS overview");

    // The KPI tiles show the API's numbers, formatted.
    let value = |id: &str, metric: &str| widget(&data, id)["total"][metric].as_f64().expect("a number");
    for (id, shown) in [
        ("grr", percent(value("grr", "value"))),
        ("nrr", percent(value("nrr", "value"))),
        ("logo_churn", percent(value("logo_churn", "value"))),
        ("arr_at_risk", dollars(value("arr_at_risk", "arr"))),
    ] {
        let expected = shown.clone();
        browser
            .until(&format!("the {id} tile to read {expected}"), || async { kpi_text(&browser, id).await == expected })
            .await;
    }
    browser.wait_for("[data-testid=chart-overdue_tasks] svg").await;
    browser.wait_for("[data-testid=chart-grr_by_quarter] svg").await;
    browser.screenshot("dashboard-en-1440").await;
    browser.client.set_window_size(1440, 2400).await.expect("a tall window");
    browser.wait_for("[data-testid=chart-at_risk_trend] svg").await;
    browser.screenshot("dashboard-full-en-1440").await;
    browser.client.set_window_size(1440, 900).await.expect("resize");

    // Narrowed to one owner, the tile follows the API's answer for that owner.
    let owner = widget(&data, "overdue_tasks")["rows"][0]["key"]["assignee"].as_str().expect("an owner").to_owned();
    let theirs = demo.get(path, &[("owner", &owner)]).await;
    let their_risk = dollars(widget(&theirs, "arr_at_risk")["total"]["arr"].as_f64().expect("a number"));
    browser.wait_for("[data-testid=dashboard-owner]").await.select_by_value(&owner).await.expect("pick an owner");
    browser
        .until("the owner in the URL", || async { browser.query("owner").await.as_deref() == Some(owner.as_str()) })
        .await;
    browser.until("the owner's ARR at risk", || async { kpi_text(&browser, "arr_at_risk").await == their_risk }).await;
    browser.wait_for("[data-testid=dashboard-owner]").await.select_by_value("").await.expect("all owners");
    browser.until("all owners again", || async { browser.query("owner").await.is_none() }).await;
    assert_eq!(browser.query("from").await, None, "the dashboard's own range stays out of the URL");

    // A range with no data: the dated widgets say so, the ratio tiles have nothing to divide.
    browser.client.goto(&demo.url("/d/demo/cs-overview?from=2020-01-01&to=2020-03-31")).await.expect("an empty range");
    browser.wait_for("[data-testid=empty-nps_by_month]").await;
    browser.until("GRR without a base", || async { kpi_text(&browser, "grr").await == "—" }).await;
    browser.screenshot("dashboard-empty-range-en-1440").await;
    browser.client.goto(&demo.url("/d/demo/cs-overview")).await.expect("the dashboard again");
    browser.wait_for("[data-testid=chart-overdue_tasks] svg").await;

    // A click on a bar of "overdue tasks by owner" opens the task grid filtered to that owner.
    let rows = widget(&data, "overdue_tasks")["rows"].as_array().expect("rows").clone();
    let filters: Vec<String> = rows.iter().filter_map(|r| r["filter"].as_str().map(str::to_owned)).collect();
    let bars = "[data-testid=chart-overdue_tasks] svg path[fill='#2f5bd3']";
    browser.until("the bars to be drawn", || async { browser.all(bars).await.len() == rows.len() }).await;
    let bar = browser.all(bars).await.into_iter().next().expect("a bar");
    bar.click().await.expect("click a bar");
    browser
        .until("the task grid", || async {
            let url = browser.client.current_url().await.expect("url");
            url.path() == "/s/demo/task"
        })
        .await;
    let filter = browser.query("filter").await.expect("a filter in the URL");
    let clicked =
        filters.iter().position(|f| f == &filter).unwrap_or_else(|| panic!("{filter} is a bar's filter: {filters:?}"));
    let expected_rows = rows[clicked]["values"]["overdue"].as_u64().expect("a count") as usize;
    browser
        .until("the bar's tasks in the grid", || async {
            browser.all("[data-testid=grid-row]").await.len() == expected_rows
        })
        .await;
    browser.screenshot("dashboard-drill-en-1440").await;

    // 中文, and the smaller laptop.
    browser.client.back().await.expect("back to the dashboard");
    browser.wait_for("[data-testid=kpi-grr]").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser
        .until("Chinese labels", || async {
            browser.wait_for("[data-testid=nav-dashboards]").await.text().await.unwrap_or_default() == "仪表盘"
        })
        .await;
    let grr = percent(value("grr", "value"));
    browser.until("the GRR tile in Chinese", || async { kpi_text(&browser, "grr").await == grr }).await;
    browser.wait_for("[data-testid=chart-nps_by_month] svg").await;
    browser.screenshot("dashboard-zh-1440").await;
    browser.client.set_window_size(1440, 2400).await.expect("a tall window");
    browser.wait_for("[data-testid=chart-at_risk_trend] svg").await;
    browser.screenshot("dashboard-full-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.wait_for("[data-testid=chart-overdue_tasks] svg").await;
    browser.screenshot("dashboard-zh-1280").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("en").await.expect("language");
    browser.wait_for("[data-testid=chart-overdue_tasks] svg").await;
    browser.screenshot("dashboard-en-1280").await;
    browser.close().await;
}
