//! The import wizard and the grid's export button in a real browser: a CSV with a bad row is
//! uploaded, its columns mapped, the dry run reports the bad row, the valid rows are imported
//! and show in the grid; the export of a filtered view asks for that view and returns it.

use super::{grid_settled, row_ids, Browser, Demo};

const CSV: &str = "Company,Tier,ARR,Owner,Timezone,Renewal Date,Notes\n\
Zephyr Imports,growth,\"48,000\",ana@example.com,Europe/Berlin,2027-05-01,first\n\
Yonder Labs,enterprise,120000,ben@example.com,Asia/Shanghai,2027-06-15,second\n\
Broken Row,platinum,1000,cai@example.com,UTC,2027-07-01,bad\n\
Xylo Retail,growth,9000,cai@example.com,America/New_York,2027-07-01,third\n";

async fn text(browser: &Browser, css: &str) -> String {
    browser.wait_for(css).await.text().await.unwrap_or_default()
}

/// Chooses the file and waits for the mapping step.
async fn upload(browser: &Browser, file: &std::path::Path) {
    let input = browser.wait_for("[data-testid=import-file]").await;
    input.send_keys(&file.display().to_string()).await.expect("choose the file");
    browser.wait_for("[data-testid=mapping-table]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_is_checked_imported_and_exported_from_the_web_app() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("new-accounts.csv");
    std::fs::write(&file, CSV).expect("write the CSV");

    browser.client.goto(&demo.sign_in_link).await.expect("open the sign-in link");
    browser.wait_for("[data-testid=space-demo]").await;
    browser.client.goto(&demo.url("/s/demo/account")).await.expect("accounts");
    grid_settled(&browser).await;
    browser.wait_for("[data-testid=open-import]").await.click().await.expect("open the wizard");
    browser.wait_for("[data-testid=import-file]").await;
    browser.screenshot("import-file-en-1440").await;

    // Columns are matched by name or title; `Company` is mapped by hand, `Notes` stays out.
    upload(&browser, &file).await;
    let selected = |testid: &'static str| {
        let browser = &browser;
        async move {
            let select = browser.wait_for(&format!("[data-testid='{testid}']")).await;
            select.prop("value").await.expect("value").unwrap_or_default()
        }
    };
    assert_eq!(selected("map-Tier").await, "tier");
    assert_eq!(selected("map-Renewal Date").await, "renewal_date");
    assert_eq!(selected("map-Notes").await, "");
    browser.wait_for("[data-testid='map-Company']").await.select_by_value("name").await.expect("map Company");
    browser.wait_for("[data-testid=import-skip-failed]").await.click().await.expect("skip failed rows");
    browser.screenshot("import-mapping-en-1440").await;

    // The dry run: four rows, three to create, row 4 (the file's line 4) refused for its tier.
    browser.wait_for("[data-testid=import-check]").await.click().await.expect("check");
    browser.wait_for("[data-testid=row-errors]").await;
    assert!(text(&browser, "[data-testid=count-rows]").await.ends_with('4'));
    assert!(text(&browser, "[data-testid=count-wouldCreate]").await.ends_with('3'));
    assert!(text(&browser, "[data-testid=count-failed]").await.ends_with('1'));
    let errors = browser.all("[data-testid=row-error]").await;
    assert_eq!(errors.len(), 1);
    let error = errors[0].text().await.expect("error text");
    assert!(error.starts_with('4') && error.contains("Tier"), "{error}");
    let before = demo.get("/api/v1/spaces/demo/forms/account/count", &[]).await["count"].as_u64().expect("count");
    browser.screenshot("import-report-en-1440").await;

    // The import itself, then the records in the grid.
    browser.wait_for("[data-testid=import-run]").await.click().await.expect("import");
    browser.wait_for("[data-testid=import-done]").await;
    assert!(text(&browser, "[data-testid=count-created]").await.ends_with('3'));
    browser.screenshot("import-done-en-1440").await;
    let after = demo.get("/api/v1/spaces/demo/forms/account/count", &[]).await["count"].as_u64().expect("count");
    assert_eq!(after, before + 3);
    browser.wait_for("[data-testid=import-open-grid]").await.click().await.expect("see the records");
    grid_settled(&browser).await;
    let imported = demo
        .get(
            "/api/v1/spaces/demo/forms/account/records",
            &[("filter", "name in [\"Zephyr Imports\", \"Xylo Retail\"]")],
        )
        .await;
    let ids: Vec<String> = imported["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2);
    let filtered = "/s/demo/account?filter=name%20in%20%5B%22Zephyr%20Imports%22%2C%20%22Xylo%20Retail%22%5D&sort=name&columns=name,tier,arr";
    browser.client.goto(&demo.url(filtered)).await.expect("the imported accounts");
    grid_settled(&browser).await;
    browser.until("the two imported accounts in the grid", || async { row_ids(&browser).await.len() == 2 }).await;
    let mut shown = row_ids(&browser).await;
    shown.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(shown, expected);

    // Export the view: its filter, sort and visible columns, as the link asks and the file holds.
    browser.wait_for("[data-testid=export]").await.click().await.expect("open the export menu");
    let link = browser.wait_for("[data-testid=export-csv]").await;
    browser.screenshot("grid-export-en-1440").await;
    let href = link.attr("href").await.expect("href").expect("an export link");
    let url = reqwest::Url::parse(&demo.url(&href)).expect("export URL");
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query.get("format").map(String::as_str), Some("csv"));
    assert_eq!(query.get("filter").map(String::as_str), Some("name in [\"Zephyr Imports\", \"Xylo Retail\"]"));
    assert_eq!(query.get("sort").map(String::as_str), Some("name"));
    assert_eq!(query.get("fields").map(String::as_str), Some("id,name,tier,arr"));
    let exported = demo.api.get(url).bearer_auth(&demo.token).send().await.expect("export");
    assert!(exported.status().is_success());
    let csv = exported.text().await.expect("CSV");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.first().copied(), Some("id,name,tier,arr"));
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains("Xylo Retail") && lines[2].contains("Zephyr Imports"), "{csv}");

    // 中文, at both sizes.
    browser.client.goto(&demo.url("/s/demo/account/import")).await.expect("the wizard");
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser.until("Chinese labels", || async { text(&browser, "[data-testid=nav-spaces]").await == "空间" }).await;
    browser.screenshot("import-file-zh-1440").await;
    upload(&browser, &file).await;
    browser.wait_for("[data-testid='map-Company']").await.select_by_value("name").await.expect("map Company");
    browser.screenshot("import-mapping-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.screenshot("import-mapping-zh-1280").await;
    browser.wait_for("[data-testid=import-check]").await.click().await.expect("check");
    browser.wait_for("[data-testid=row-errors]").await;
    browser.wait_for("[data-testid=import-blocked]").await;
    browser.screenshot("import-report-zh-1280").await;
    browser.client.goto(&demo.url(filtered)).await.expect("the imported accounts");
    grid_settled(&browser).await;
    browser.wait_for("[data-testid=export]").await.click().await.expect("open the export menu");
    browser.wait_for("[data-testid=export-xlsx]").await;
    browser.screenshot("grid-export-zh-1280").await;
    browser.close().await;
}
