//! The authorization matrix, generated from the OpenAPI document: every documented route and
//! method, requested as each kind of caller, gets exactly the status [`TABLE`] implies, and
//! the requests refused change nothing. A route documented without an entry here fails the
//! test, so a route added later has to say who may use it.

use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

/// Who a route is for (what the server's own table in `web/src/api/authz.rs` must say, stated
/// again independently here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// No credentials needed (signing in; inbound hooks check their own signature).
    Public,
    /// Anyone signed in, about their own things.
    SignedIn,
    /// Superadmins.
    Instance,
    /// Superadmins, or the user the path names.
    SelfUser,
    /// Viewers and up in the space.
    Read,
    /// Members and up.
    Work,
    /// Admins and owners.
    Define,
}

use Guard::*;

/// Every documented route and method, and who it is for.
const TABLE: &[(&str, &str, Guard)] = &[
    ("post", "/api/v1/auth/session", Public),
    ("delete", "/api/v1/auth/session", Public),
    ("get", "/api/v1/auth/link/{code}", Public),
    ("post", "/api/v1/auth/login", Public),
    ("post", "/api/v1/auth/logout", Public),
    ("post", "/api/v1/spaces/{space}/hooks/{name}", Public),
    ("get", "/api/v1/auth/me", SignedIn),
    ("get", "/api/v1/auth/sessions", SignedIn),
    ("delete", "/api/v1/auth/sessions/{id}", SignedIn),
    ("get", "/api/v1/openapi.json", SignedIn),
    ("get", "/api/v1/tokens", SignedIn),
    ("post", "/api/v1/tokens", SignedIn),
    ("delete", "/api/v1/tokens/{id}", SignedIn),
    ("get", "/api/v1/spaces", SignedIn),
    ("post", "/api/v1/spaces", Instance),
    ("get", "/api/v1/packs", SignedIn),
    ("get", "/api/v1/users", Instance),
    ("post", "/api/v1/users", Instance),
    ("post", "/api/v1/backup", Instance),
    ("get", "/api/v1/audit", Instance),
    ("get", "/api/v1/users/{id}", SelfUser),
    ("patch", "/api/v1/users/{id}", SelfUser),
    ("get", "/api/v1/spaces/{space}", Read),
    ("patch", "/api/v1/spaces/{space}", Define),
    ("get", "/api/v1/spaces/{space}/openapi.json", Read),
    ("get", "/api/v1/spaces/{space}/audit", Define),
    ("get", "/api/v1/spaces/{space}/members", Read),
    ("put", "/api/v1/spaces/{space}/members/{user_id}", Define),
    ("delete", "/api/v1/spaces/{space}/members/{user_id}", Define),
    ("get", "/api/v1/spaces/{space}/forms", Read),
    ("get", "/api/v1/spaces/{space}/forms/{form}", Read),
    ("put", "/api/v1/spaces/{space}/forms/{form}", Define),
    ("patch", "/api/v1/spaces/{space}/forms/{form}", Define),
    ("post", "/api/v1/spaces/{space}/forms/{form}/evaluate", Define),
    ("get", "/api/v1/spaces/{space}/forms/{form}/records", Read),
    ("post", "/api/v1/spaces/{space}/forms/{form}/records", Work),
    ("get", "/api/v1/spaces/{space}/forms/{form}/records/{id}", Read),
    ("patch", "/api/v1/spaces/{space}/forms/{form}/records/{id}", Work),
    ("delete", "/api/v1/spaces/{space}/forms/{form}/records/{id}", Work),
    ("get", "/api/v1/spaces/{space}/forms/{form}/records/{id}/history", Read),
    ("post", "/api/v1/spaces/{space}/forms/{form}/records/{id}/transition", Work),
    ("post", "/api/v1/spaces/{space}/forms/{form}/aggregate", Read),
    ("get", "/api/v1/spaces/{space}/forms/{form}/export", Read),
    ("post", "/api/v1/spaces/{space}/forms/{form}/import", Work),
    ("get", "/api/v1/spaces/{space}/forms/{form}/count", Read),
    ("get", "/api/v1/spaces/{space}/forms/{form}/views", Read),
    ("post", "/api/v1/spaces/{space}/forms/{form}/views", Work),
    ("get", "/api/v1/spaces/{space}/forms/{form}/views/{view}", Read),
    ("put", "/api/v1/spaces/{space}/forms/{form}/views/{view}", Work),
    ("delete", "/api/v1/spaces/{space}/forms/{form}/views/{view}", Work),
    ("get", "/api/v1/spaces/{space}/timers", Read),
    ("get", "/api/v1/spaces/{space}/upcoming", Read),
    ("get", "/api/v1/spaces/{space}/pack", Read),
    ("get", "/api/v1/spaces/{space}/workflows", Read),
    ("get", "/api/v1/spaces/{space}/workflows/{name}", Read),
    ("put", "/api/v1/spaces/{space}/workflows/{name}", Define),
    ("patch", "/api/v1/spaces/{space}/workflows/{name}", Define),
    ("post", "/api/v1/spaces/{space}/workflows/{name}/run", Work),
    ("post", "/api/v1/spaces/{space}/workflows/{name}/test", Define),
    ("get", "/api/v1/spaces/{space}/runs", Read),
    ("get", "/api/v1/spaces/{space}/runs/{id}", Read),
    ("post", "/api/v1/spaces/{space}/runs/{id}/retry", Work),
    ("get", "/api/v1/spaces/{space}/dashboards", Read),
    ("post", "/api/v1/spaces/{space}/dashboards", Define),
    ("get", "/api/v1/spaces/{space}/dashboards/{dashboard}", Read),
    ("put", "/api/v1/spaces/{space}/dashboards/{dashboard}", Define),
    ("delete", "/api/v1/spaces/{space}/dashboards/{dashboard}", Define),
    ("get", "/api/v1/spaces/{space}/dashboards/{dashboard}/data", Read),
    ("post", "/api/v1/spaces/{space}/dashboards/{dashboard}/data", Read),
    ("get", "/api/v1/spaces/{space}/webhooks", Define),
    ("get", "/api/v1/spaces/{space}/webhooks/{name}", Define),
    ("put", "/api/v1/spaces/{space}/webhooks/{name}", Define),
    ("delete", "/api/v1/spaces/{space}/webhooks/{name}", Define),
    ("get", "/api/v1/spaces/{space}/hooks", Define),
    ("get", "/api/v1/spaces/{space}/hooks/{name}", Define),
    ("put", "/api/v1/spaces/{space}/hooks/{name}", Define),
    ("delete", "/api/v1/spaces/{space}/hooks/{name}", Define),
    ("get", "/api/v1/spaces/{space}/deliveries", Define),
    ("get", "/api/v1/spaces/{space}/deliveries/{id}", Define),
    ("post", "/api/v1/spaces/{space}/deliveries/{id}/redeliver", Define),
];

/// The kinds of caller the matrix asks as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No credentials.
    Anonymous,
    /// A member (with every role but owner's reach) of another space only.
    OtherSpaceMember,
    /// A viewer of the space.
    Viewer,
    /// A read-only token narrowed to the space, of a user who is the space's admin.
    ScopedReadOnly,
    /// A revoked token of the space's owner.
    Revoked,
    /// A cookie session of the space's owner, without `Origin` or `Sec-Fetch-Site` (unsafe
    /// methods only: reads need no CSRF check).
    CookieWithoutCsrf,
    /// A member whose form policy has `own` scope, on someone else's record.
    OwnScopeOnAnothersRecord,
}

const KINDS: [Kind; 7] = [
    Kind::Anonymous,
    Kind::OtherSpaceMember,
    Kind::Viewer,
    Kind::ScopedReadOnly,
    Kind::Revoked,
    Kind::CookieWithoutCsrf,
    Kind::OwnScopeOnAnothersRecord,
];

/// What a caller should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly this refusal (a problem document of this type).
    Refused(StatusCode, &'static str),
    /// Past authorization: whatever the handler answers, but no 401, 403, nor the 404 of a
    /// space the caller can't see.
    Allowed,
    /// Exactly what the same request about a record that doesn't exist gets: a 404 problem,
    /// the same document apart from the id.
    AsMissing,
    /// Not asked (no credentials involved, or nothing to check for this kind).
    Skip,
}

/// Only reads, though a POST: queries.
fn reads(method: &str, path: &str) -> bool {
    method == "get" || path.ends_with("/aggregate") || path.ends_with("/data")
}

fn expected(kind: Kind, guard: Guard, method: &str, path: &str) -> Expect {
    use Expect::*;
    let unauthorized = Refused(StatusCode::UNAUTHORIZED, "unauthorized");
    let forbidden = Refused(StatusCode::FORBIDDEN, "forbidden");
    let hidden = Refused(StatusCode::NOT_FOUND, "not-found");
    match kind {
        _ if guard == Public && kind != Kind::CookieWithoutCsrf => Skip,
        Kind::Anonymous | Kind::Revoked => unauthorized,
        Kind::OtherSpaceMember => match guard {
            SignedIn => Allowed,
            Instance | SelfUser => forbidden,
            Read | Work | Define => hidden,
            Public => Skip,
        },
        Kind::Viewer => match guard {
            SignedIn | Read => Allowed,
            Instance | SelfUser | Work | Define => forbidden,
            Public => Skip,
        },
        Kind::ScopedReadOnly => match guard {
            Instance | SelfUser => forbidden,
            SignedIn | Read | Work | Define if reads(method, path) => Allowed,
            _ => forbidden,
        },
        Kind::CookieWithoutCsrf if method == "get" => Skip,
        // An inbound hook's post checks its own signature, not a cookie.
        Kind::CookieWithoutCsrf if path.ends_with("/hooks/{name}") => Skip,
        Kind::CookieWithoutCsrf => Refused(StatusCode::FORBIDDEN, "cross-origin"),
        Kind::OwnScopeOnAnothersRecord => own_scope_on_anothers_record(guard, method, path),
    }
}

/// The column for a member whose form policy gives `own` scope, asking for a record someone
/// else owns: every route about one record answers as if it didn't exist. (What such a member
/// may do with their own records is `record_policy.rs`.)
fn own_scope_on_anothers_record(_guard: Guard, _method: &str, path: &str) -> Expect {
    if path.contains("/records/{id}") {
        Expect::AsMissing
    } else {
        Expect::Skip
    }
}

/// The state refused requests must leave alone: definitions, records, members, users,
/// tokens (without their last-used time), the audit log, the event log's length.
async fn snapshot(app: &TestApp) -> Value {
    let mut state = serde_json::Map::new();
    for path in [
        "/api/v1/spaces".to_owned(),
        "/api/v1/spaces/cs".to_owned(),
        "/api/v1/spaces/cs/forms".to_owned(),
        records_path("cs", "account"),
        "/api/v1/spaces/cs/workflows".to_owned(),
        "/api/v1/spaces/cs/members".to_owned(),
        "/api/v1/spaces/cs/dashboards".to_owned(),
        "/api/v1/spaces/cs/forms/account/views".to_owned(),
        "/api/v1/spaces/cs/webhooks".to_owned(),
        "/api/v1/spaces/cs/hooks".to_owned(),
        "/api/v1/users".to_owned(),
        "/api/v1/audit".to_owned(),
        "/api/v1/tokens".to_owned(),
    ] {
        let mut body = expect_json(app.get(&path).await, StatusCode::OK).await;
        if let Some(items) = body["items"].as_array_mut() {
            items.iter_mut().filter_map(Value::as_object_mut).for_each(|item| {
                item.remove("last_used_at");
            });
        }
        state.insert(path, body);
    }
    state.insert("last_event_seq".into(), json!(app.last_event_seq()));
    Value::Object(state)
}

#[tokio::test]
async fn every_documented_route_answers_each_kind_of_caller_as_the_table_says() {
    let app = TestApp::spawn().await;
    app.create_space("cs").await;
    app.space_with_accounts("other").await;
    let (tess, _) = app.member("tess@example.com", "cs", "member").await;
    let (_, mona) = app.member("mona@example.com", "cs", "member").await;
    // Members reach only the accounts whose `csm` they are; this one is Tess's.
    let mut form = account_form();
    form["schema"]["properties"]["csm"] = json!({ "type": "string" });
    form["access"] = json!({ "person_field": "csm", "roles": { "member": { "records": "own" } } });
    app.put_form("cs", "account", &form).await;
    let mut tess_account = account("Acme", "enterprise", 80);
    tess_account["csm"] = json!(tess);
    let record = app.create_record("cs", "account", &tess_account).await;
    let record_id = record["id"].as_str().expect("id").to_owned();
    let missing_id = uuid::Uuid::now_v7().to_string();
    let (_, other_member) = app.member("otto@example.com", "other", "admin").await;
    let (_, viewer) = app.member("vera@example.com", "cs", "viewer").await;
    let rita = app.create_user("rita@example.com", false).await;
    app.add_member("cs", &rita, "admin", &[]).await;
    app.add_member("other", &rita, "viewer", &[]).await;
    let scoped = app.token_of(&rita, Narrowing { space: Some("cs"), read_only: true }).await;
    let (olga, _) = app.member("olga@example.com", "cs", "owner").await;
    let revoked = app.token_of(&olga, Narrowing::default()).await;
    let revoked_id = app.engine.tokens(Some(&olga)).expect("tokens")[1].id.clone();
    app.engine.revoke_token(&Default::default(), &revoked_id).await.expect_err("only a superadmin or its user");
    let root = engine::Principal { superadmin: true, ..Default::default() };
    app.engine.revoke_token(&root, &revoked_id).await.expect("revoked");
    let cookie = app.session_of("olga@example.com").await;

    let document = expect_json(app.get("/api/v1/openapi.json").await, StatusCode::OK).await;
    let before = snapshot(&app).await;
    let mut checked = 0;
    let mut missing = Vec::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            let Some(&(_, _, guard)) = TABLE.iter().find(|(m, p, _)| m == method && p == path) else {
                missing.push(format!("{} {path}", method.to_uppercase()));
                continue;
            };
            let concrete = path
                .replace("{space}", "cs")
                .replace("{form}", "account")
                .replace("{user_id}", &tess)
                .replace("/records/{id}", &format!("/records/{record_id}"))
                .replace(['{', '}'], "");
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            for kind in KINDS {
                let expect = expected(kind, guard, method, path);
                if expect == Expect::Skip {
                    continue;
                }
                let send = |url: &str| {
                    let mut request = app.client.request(http_method.clone(), app.url(url));
                    request = match kind {
                        Kind::Anonymous => request,
                        Kind::OtherSpaceMember => request.bearer_auth(&other_member),
                        Kind::Viewer => request.bearer_auth(&viewer),
                        Kind::ScopedReadOnly => request.bearer_auth(&scoped),
                        Kind::Revoked => request.bearer_auth(&revoked),
                        Kind::CookieWithoutCsrf => request.header(COOKIE, &cookie),
                        Kind::OwnScopeOnAnothersRecord => request.bearer_auth(&mona),
                    };
                    if http_method.is_safe() {
                        request
                    } else if kind == Kind::OwnScopeOnAnothersRecord {
                        // A body that would go through on the member's own record.
                        let to = path.ends_with("/transition").then(|| json!({ "to": "live" }));
                        request.json(&to.unwrap_or_else(|| json!({ "name": "Probe" })))
                    } else {
                        // Deliberately not a valid body: an allowed write must not go through.
                        request.json(&json!({ "__authorization_probe": true }))
                    }
                };
                let response = send(&concrete).send().await.expect("request");
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                let what = format!("{kind:?} {} {concrete} -> {status} {body}", method.to_uppercase());
                match expect {
                    Expect::Refused(expected_status, kind_slug) => {
                        assert_eq!(status, expected_status, "{what}");
                        assert_eq!(body["type"], format!("urn:tend:problem:{kind_slug}"), "{what}");
                    }
                    Expect::Allowed => {
                        assert!(status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN, "{what}");
                        let detail = body["detail"].as_str().unwrap_or_default();
                        assert!(!detail.starts_with("space `cs`"), "{what}");
                    }
                    Expect::AsMissing => {
                        let missing = concrete.replace(&record_id, &missing_id);
                        let response = send(&missing).send().await.expect("request");
                        let missing_status = response.status();
                        let missing_body: Value = response.json().await.unwrap_or(Value::Null);
                        assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                        assert_eq!(body["type"], "urn:tend:problem:not-found", "{what}");
                        assert_eq!(missing_status, status, "{what}, a missing record: {missing_body}");
                        let unnamed = body.to_string().replace(&record_id, &missing_id);
                        assert_eq!(unnamed, missing_body.to_string(), "{what}, a missing record: {missing_body}");
                    }
                    Expect::Skip => unreachable!(),
                }
                checked += 1;
            }
        }
    }
    assert!(missing.is_empty(), "documented routes without an entry in the authorization table: {missing:?}");
    assert!(checked > 250, "the matrix ran: {checked} requests");
    assert_eq!(snapshot(&app).await, before, "a refused request changed something");

    // A narrowed token doesn't reach another space its user is a member of: it doesn't exist.
    let elsewhere = app.request_as(&scoped, Method::GET, "/api/v1/spaces/other/forms").send().await.unwrap();
    expect_problem(elsewhere, StatusCode::NOT_FOUND, "not-found").await;
    let listed = app.request_as(&scoped, Method::GET, "/api/v1/spaces").send().await.unwrap();
    let listed = expect_json(listed, StatusCode::OK).await;
    assert_eq!(items(&listed).iter().map(|s| s["name"].as_str().unwrap()).collect::<Vec<_>>(), ["cs"]);
    // And the refusals are the caller's standing, not the route: the owner's own session with
    // the CSRF header passes the same check.
    let own_page = app
        .client
        .post(app.url(&records_path("cs", "account")))
        .header(COOKIE, &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&account("Owned", "starter", 50))
        .send()
        .await
        .unwrap();
    expect_json(own_page, StatusCode::CREATED).await;
}
