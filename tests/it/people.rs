//! People: users, password sign-in with sessions, CSRF and rate limits, tokens of a user
//! (narrowed, revocable, expiring), who records say made them, and the audit log.

use reqwest::header::{COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn superadmins_make_users_and_users_change_only_themselves() {
    let app = TestApp::spawn().await;
    let ana = app.create_user("ana@example.com", false).await;
    let bob = app.create_user("bob@example.com", false).await;
    let taken = app.post("/api/v1/users", &json!({ "email": "ANA@example.com", "name": "Another Ana" })).await;
    expect_problem(taken, StatusCode::CONFLICT, "already-exists").await;
    let short = app.post("/api/v1/users", &json!({ "email": "c@x", "name": "C", "password": "short" })).await;
    let problem = expect_problem(short, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_paths(&problem), ["/password"]);
    let users = expect_json(app.get("/api/v1/users").await, StatusCode::OK).await;
    let emails: Vec<&str> = items(&users).iter().filter_map(|u| u["email"].as_str()).collect();
    assert_eq!(emails, ["admin@localhost", "ana@example.com", "bob@example.com"]);
    assert!(!users.to_string().contains("argon2"), "no password hashes: {users}");

    let token = app.token_of(&ana, Narrowing::default()).await;
    let as_ana = |method: Method, path: String| app.request_as(&token, method, &path);
    let status = |response: reqwest::Response| response.status();
    assert_eq!(status(as_ana(Method::GET, "/api/v1/users".into()).send().await.unwrap()), StatusCode::FORBIDDEN);
    assert_eq!(
        status(as_ana(Method::GET, format!("/api/v1/users/{bob}")).send().await.unwrap()),
        StatusCode::FORBIDDEN
    );
    let own =
        expect_json(as_ana(Method::GET, format!("/api/v1/users/{ana}")).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(own["has_password"], true);
    let patch = |body: serde_json::Value| as_ana(Method::PATCH, format!("/api/v1/users/{ana}")).json(&body).send();
    let renamed =
        expect_json(patch(json!({ "name": "Ana Lima", "time_zone": "Europe/Lisbon" })).await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!((renamed["name"].as_str(), renamed["time_zone"].as_str()), (Some("Ana Lima"), Some("Europe/Lisbon")));
    expect_problem(patch(json!({ "superadmin": true })).await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let wrong_old = json!({ "password": "a brand new passphrase", "old_password": "not it at all" });
    expect_problem(patch(wrong_old).await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let right_old = json!({ "password": "a brand new passphrase", "old_password": PASSWORD });
    expect_json(patch(right_old).await.unwrap(), StatusCode::OK).await;
    assert_eq!(app.login("ana@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("ana@example.com", "a brand new passphrase").await.status(), StatusCode::CREATED);

    // A disabled user's tokens stop at once.
    let disabled = app.patch(&format!("/api/v1/users/{ana}"), &json!({ "disabled": true }), None).await;
    expect_json(disabled, StatusCode::OK).await;
    let refused = as_ana(Method::GET, "/api/v1/spaces".into()).send().await.unwrap();
    expect_problem(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_password_sign_in_opens_a_new_session_that_the_user_lists_and_ends() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let ana = app.create_user("ana@example.com", false).await;
    app.add_member("cs", &ana, "member", &["emea"]).await;

    expect_problem(app.login("ana@example.com", "wrong password!").await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    expect_problem(app.login("nobody@example.com", PASSWORD).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let cross_site = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "http://evil.example")
        .json(&json!({ "email": "ana@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    expect_problem(cross_site, StatusCode::FORBIDDEN, "cross-origin").await;

    let first = app.login("ana@example.com", PASSWORD).await;
    let set_cookie = first.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let me = expect_json(first, StatusCode::CREATED).await;
    assert_eq!(me["user"]["id"], ana.as_str(), "{me}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let other = app.session_of("ana@example.com").await;
    assert_ne!(cookie, other, "every sign-in makes a new session id");

    let with_cookie = |method: Method, path: &str, cookie: &str| {
        app.client.request(method, app.url(path)).header(COOKIE, cookie.to_owned())
    };
    let me =
        expect_json(with_cookie(Method::GET, "/api/v1/auth/me", &cookie).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((me["via"].as_str(), me["superadmin"].as_bool()), (Some("session"), Some(false)));
    assert_eq!(me["caller"], format!("user:{ana}"));
    assert_eq!(me["memberships"], json!([{ "space": "cs", "role": "member", "teams": ["emea"] }]));

    // A change made with the cookie needs to come from Tend's own pages.
    let data = account("Cookie Co", "starter", 70);
    let forged = with_cookie(Method::POST, &records_path("cs", "account"), &cookie).json(&data).send().await.unwrap();
    expect_problem(forged, StatusCode::FORBIDDEN, "cross-origin").await;
    let own_page = with_cookie(Method::POST, &records_path("cs", "account"), &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&data)
        .send()
        .await
        .unwrap();
    let record = expect_json(own_page, StatusCode::CREATED).await;
    assert_eq!(record["created_by"], format!("user:{ana}"), "a user's change is theirs");

    let sessions =
        expect_json(with_cookie(Method::GET, "/api/v1/auth/sessions", &cookie).send().await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!(items(&sessions).len(), 2, "{sessions}");
    let other_id = items(&sessions).iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(items(&sessions).iter().find(|s| s["current"] == true).unwrap()["from"], "127.0.0.1");
    let revoke = with_cookie(Method::DELETE, &format!("/api/v1/auth/sessions/{other_id}"), &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let ended = with_cookie(Method::GET, "/api/v1/auth/me", &other).send().await.unwrap();
    expect_problem(ended, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let logout =
        with_cookie(Method::POST, "/api/v1/auth/logout", &cookie).header("origin", app.url("")).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(logout.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after = with_cookie(Method::GET, "/api/v1/auth/me", &cookie).send().await.unwrap();
    expect_problem(after, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account_and_per_address() {
    let app = TestApp::spawn().await;
    app.create_user("ana@example.com", false).await;
    app.create_user("bob@example.com", false).await;
    for _ in 0..5 {
        assert_eq!(app.login("ana@example.com", "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    // The account is held, even with the right password; the answer says for how long.
    let held = app.login("ana@example.com", PASSWORD).await;
    let retry_after: u64 = held.headers()[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    expect_problem(held, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
    // Another account from the same address still signs in, until the address's limit.
    assert_eq!(app.login("bob@example.com", PASSWORD).await.status(), StatusCode::CREATED);
    for n in 0..15 {
        let status = app.login(&format!("guess{n}@example.com"), "wrong password!").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let address_held = app.login("bob@example.com", PASSWORD).await;
    assert!(address_held.headers().contains_key(RETRY_AFTER));
    expect_problem(address_held, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
}

#[tokio::test]
async fn tokens_act_for_their_user_narrowed_and_stop_when_revoked_or_expired() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    app.space_with_accounts("ops").await;
    let (ana, token) = app.member("ana@example.com", "cs", "member").await;
    let as_ana = |method: Method, path: &str| app.request_as(&token, method, path);

    let made = as_ana(Method::POST, "/api/v1/tokens")
        .json(&json!({ "label": "reports", "space": "cs", "read_only": true }))
        .send()
        .await
        .unwrap();
    let made = expect_json(made, StatusCode::CREATED).await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        (made["user_id"].as_str(), made["space"].as_str(), made["read_only"].as_bool()),
        (Some(ana.as_str()), Some("cs"), Some(true))
    );
    // Not a space she can't see.
    let elsewhere = as_ana(Method::POST, "/api/v1/tokens").json(&json!({ "space": "ops" })).send().await.unwrap();
    expect_problem(elsewhere, StatusCode::NOT_FOUND, "not-found").await;

    let as_reports = |method: Method, path: &str| app.request_as(&secret, method, path);
    expect_json(as_reports(Method::GET, &records_path("cs", "account")).send().await.unwrap(), StatusCode::OK).await;
    let write = as_reports(Method::POST, &records_path("cs", "account"))
        .json(&account("No", "starter", 1))
        .send()
        .await
        .unwrap();
    expect_problem(write, StatusCode::FORBIDDEN, "forbidden").await;
    let used = expect_json(as_ana(Method::GET, "/api/v1/tokens").send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(items(&used).len(), 2, "her own tokens only: {used}");
    assert!(items(&used).iter().all(|t| t["last_used_at"].is_string()), "{used}");

    // The admin token is the bootstrap user's, listed as such among every token.
    let all = expect_json(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    assert_eq!(items(&all)[0]["user_id"], "bootstrap", "{all}");
    assert_eq!(items(&all).len(), 3);
    let admin_id = items(&all)[0]["id"].as_str().unwrap().to_owned();
    let not_hers = as_ana(Method::DELETE, &format!("/api/v1/tokens/{admin_id}")).send().await.unwrap();
    expect_problem(not_hers, StatusCode::NOT_FOUND, "not-found").await;

    let created =
        as_ana(Method::POST, &records_path("cs", "account")).json(&account("Mine", "starter", 5)).send().await.unwrap();
    let created = expect_json(created, StatusCode::CREATED).await;
    assert_eq!(created["created_by"], format!("user:{ana}"), "a user's token acts as the user");

    let revoked =
        as_ana(Method::DELETE, &format!("/api/v1/tokens/{}", made["id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = as_reports(Method::GET, &records_path("cs", "account")).send().await.unwrap();
    expect_problem(after, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let expired = engine::NewToken {
        user_id: Some(ana.clone()),
        expires_at: Some(app.engine.now() - chrono::Duration::seconds(1)),
        ..engine::NewToken::default()
    };
    let (expired, _) = app.engine.create_token(expired).await.unwrap();
    let refused = app.request_as(&expired, Method::GET, "/api/v1/spaces").send().await.unwrap();
    expect_problem(refused, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn the_audit_log_keeps_changes_and_sign_ins_for_those_who_may_read_it() {
    let app = TestApp::spawn().await;
    app.space_with_accounts("cs").await;
    let (owner, owner_token) = app.member("olga@example.com", "cs", "owner").await;
    let (_, admin_token) = app.member("adam@example.com", "cs", "admin").await;
    let (ana, _) = app.member("ana@example.com", "cs", "member").await;
    // An admin can't make an owner; an owner can.
    let path = format!("/api/v1/spaces/cs/members/{ana}");
    let by_admin =
        app.request_as(&admin_token, Method::PUT, &path).json(&json!({ "role": "owner" })).send().await.unwrap();
    expect_problem(by_admin, StatusCode::FORBIDDEN, "forbidden").await;
    let by_owner =
        app.request_as(&owner_token, Method::PUT, &path).json(&json!({ "role": "admin" })).send().await.unwrap();
    expect_json(by_owner, StatusCode::OK).await;
    app.session_of("ana@example.com").await;

    let log = app.request_as(&admin_token, Method::GET, "/api/v1/spaces/cs/audit").send().await.unwrap();
    let log = expect_json(log, StatusCode::OK).await;
    let actions: Vec<&str> = items(&log).iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions[0], "PUT /api/v1/spaces/{space}/members/{user_id}", "{log}");
    assert_eq!(items(&log)[0]["actor"], format!("user:{owner}"));
    assert_eq!(items(&log)[0]["from"], "127.0.0.1");
    assert!(actions.contains(&"PUT /api/v1/spaces/{space}/forms/{form}"), "{log}");
    assert!(!actions.contains(&"sign_in"), "sign-ins are instance entries: {log}");
    let members_only = app.request_as(&admin_token, Method::GET, "/api/v1/audit").send().await.unwrap();
    expect_problem(members_only, StatusCode::FORBIDDEN, "forbidden").await;
    let all = expect_json(app.get("/api/v1/audit").await, StatusCode::OK).await;
    let sign_in = items(&all).iter().find(|e| e["action"] == "sign_in").expect("the sign-in");
    assert_eq!(sign_in["actor"], format!("user:{ana}"));
    assert_eq!(sign_in["from"], "127.0.0.1");
    assert!(items(&all).iter().any(|e| e["action"] == "POST /api/v1/users"), "{all}");
}

#[tokio::test]
async fn a_new_data_dir_has_a_superadmin_whose_link_signs_in_to_set_a_password() {
    let app = TestApp::spawn().await;
    let users = expect_json(app.get("/api/v1/users").await, StatusCode::OK).await;
    let first = &items(&users)[0];
    assert_eq!((first["email"].as_str(), first["superadmin"].as_bool()), (Some("admin@localhost"), Some(true)));
    assert_eq!(first["has_password"], false);
    let id = first["id"].as_str().unwrap().to_owned();
    let (code, _) = app.engine.create_sign_in_link(Some(id.clone())).await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let opened = browser.get(app.url(&format!("/api/v1/auth/link/{code}"))).send().await.unwrap();
    let cookie = opened.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let set = browser
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "password": "the first admin's passphrase" }))
        .send()
        .await
        .unwrap();
    expect_json(set, StatusCode::OK).await;
    let me = expect_json(app.login("Admin@Localhost", "the first admin's passphrase").await, StatusCode::CREATED).await;
    assert_eq!(me["superadmin"], true);
}

/// A person field holds a user id; answers name the people a record's person fields and
/// actors hold, once per record or once per page, and leave out values that are no user.
#[tokio::test]
async fn record_answers_name_the_people_their_person_fields_hold() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    let form = json!({ "schema": { "type": "object", "properties": {
        "name": { "type": "string" },
        "owner": { "type": "string", "x-person": true },
        "watchers": { "type": "array", "items": { "type": "string", "x-person": true } },
        "note": { "type": "string" } } } });
    app.put_form("cs", "account", &form).await;
    let (ana, ana_token) = app.member("ana@example.com", "cs", "member").await;
    let ben = app.create_user("ben@example.com", false).await;

    let body = json!({ "name": "Acme", "owner": ben, "watchers": [ana, "someone@else"], "note": ana });
    let path = "/api/v1/spaces/cs/forms/account/records";
    let created = app.request_as(&ana_token, Method::POST, path).json(&body).send().await.expect("create");
    let created = expect_json(created, StatusCode::CREATED).await;
    let people = &created["people"];
    assert_eq!(people[&ben], json!({ "name": "ben", "email": "ben@example.com" }), "{created}");
    // Ana is a watcher and made the record.
    assert_eq!(people[&ana]["name"], "ana");
    assert_eq!(created["created_by"], format!("user:{ana}"));
    // Neither a value that is no user nor a field that holds no person is looked up.
    assert_eq!(people.as_object().map(|p| p.len()), Some(2), "{people}");

    let id = created["id"].as_str().expect("id");
    let shown = expect_json(app.get(&format!("{path}/{id}")).await, StatusCode::OK).await;
    assert_eq!(shown["people"], *people);
    let listed = expect_json(app.get(path).await, StatusCode::OK).await;
    assert_eq!(listed["people"], *people);
    assert!(items(&listed)[0].get("people").is_none(), "a page names its people once");
}
