//! People in the web app: a demo CSM signs in with her printed password, sees names rather
//! than user ids in her book, can't edit what her role may only read, and changes her password
//! on her account page.

use super::{click, grid_settled, type_into, Browser, Demo};

async fn sign_in(browser: &Browser, demo: &Demo, email: &str, password: &str) {
    browser.client.goto(&demo.url("/signin")).await.expect("the sign-in page");
    type_into(browser, "[data-testid=email]", email).await;
    type_into(browser, "[data-testid=password]", password).await;
    click(browser, "[data-testid=sign-in-password]").await;
    browser.wait_for("[data-testid=space-demo]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csm_sees_names_and_changes_her_password() {
    let Some(browser) = Browser::start(1440, 900).await else { return };
    let demo = Demo::start();
    let (email, password) =
        demo.users.iter().find(|(email, _)| email == "ana.silva@example.com").cloned().expect("Ana is a demo CSM");
    sign_in(&browser, &demo, &email, &password).await;

    // Her book, with her name where the owner's user id is stored.
    browser.wait_for("[data-testid=form-account]").await.click().await.expect("open accounts");
    grid_settled(&browser).await;
    browser
        .until("owners shown by name", || async {
            let cells = browser.all("[data-testid=grid] .person").await;
            let mut names = Vec::new();
            for cell in &cells {
                names.push(cell.text().await.unwrap_or_default());
            }
            !names.is_empty() && names.iter().all(|name| name == "Ana Silva")
        })
        .await;
    browser.screenshot("people-grid-en-1440").await;

    // The record's owner is picked from the space's members, by name.
    browser.wait_for("[data-testid=grid-row]").await.click().await.expect("open an account");
    let owner = browser.wait_for("[data-testid=field-owner] select").await;
    browser
        .until("the owner picker showing Ana", || async {
            let chosen = owner.find(fantoccini::Locator::Css("option:checked")).await;
            match chosen {
                Ok(option) => option.text().await.unwrap_or_default().starts_with("Ana Silva"),
                Err(_) => false,
            }
        })
        .await;
    // ARR is finance's: read-only for a CSM, as the pack's access rules say.
    let arr = browser.wait_for("[data-testid=field-arr] input").await;
    browser
        .until("ARR read-only for a CSM", || async {
            arr.attr("readonly").await.ok().flatten().is_some() || arr.attr("disabled").await.ok().flatten().is_some()
        })
        .await;
    browser.screenshot("people-record-en-1440").await;

    // Her account: a new password, checked against the current one.
    click(&browser, "[data-testid=nav-account]").await;
    browser.wait_for("[data-testid=account-page]").await;
    let new_password = "a new and longer passphrase";
    type_into(&browser, "[data-testid=account-old-password]", "not my password").await;
    type_into(&browser, "[data-testid=account-new-password]", new_password).await;
    type_into(&browser, "[data-testid=account-confirm-password]", new_password).await;
    click(&browser, "[data-testid=account-change-password]").await;
    browser.wait_for(".account-form .field-error").await;
    browser.screenshot("account-wrong-password-en-1440").await;
    type_into(&browser, "[data-testid=account-old-password]", &password).await;
    click(&browser, "[data-testid=account-change-password]").await;
    browser.wait_for("[data-testid=account-password-changed]").await;
    browser.screenshot("account-en-1440").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("zh-CN").await.expect("language");
    browser.screenshot("account-zh-1440").await;
    browser.client.set_window_size(1280, 800).await.expect("resize");
    browser.screenshot("account-zh-1280").await;
    browser.wait_for("[data-testid=language]").await.select_by_value("en").await.expect("language");
    browser.screenshot("account-en-1280").await;

    // The old password no longer opens a session; the new one does.
    browser.wait_for("[data-testid=sign-out]").await.click().await.expect("sign out");
    let login = |password: &str| {
        let body = serde_json::json!({ "email": email, "password": password });
        demo.api.post(demo.url("/api/v1/auth/login")).header("origin", demo.url("")).json(&body).send()
    };
    assert_eq!(login(&password).await.expect("login").status(), reqwest::StatusCode::UNAUTHORIZED);
    sign_in(&browser, &demo, &email, new_password).await;
    browser.close().await;
}
