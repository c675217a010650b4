//! People for the tests: users made through the API, memberships, tokens of a user, and
//! password sign-ins the way a browser sends them.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use super::{expect_json, TestApp};

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// A token's narrowing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Narrowing<'a> {
    pub space: Option<&'a str>,
    pub read_only: bool,
}

impl TestApp {
    /// A user (with [`PASSWORD`]) made by the admin token; their id.
    pub async fn create_user(&self, email: &str, superadmin: bool) -> String {
        let body =
            json!({ "email": email, "name": email.split('@').next(), "password": PASSWORD, "superadmin": superadmin });
        let user = expect_json(self.post("/api/v1/users", &body).await, StatusCode::CREATED).await;
        user["id"].as_str().expect("an id").to_owned()
    }

    /// Makes `user` a member of `space` with `role` and `teams`.
    pub async fn add_member(&self, space: &str, user: &str, role: &str, teams: &[&str]) {
        let path = format!("/api/v1/spaces/{space}/members/{user}");
        let response = self.put(&path, &json!({ "role": role, "teams": teams })).await;
        assert!(response.status().is_success(), "PUT member: {}", response.status());
    }

    /// A new user who is a member of `space` with `role`: (id, token).
    pub async fn member(&self, email: &str, space: &str, role: &str) -> (String, String) {
        let id = self.create_user(email, false).await;
        self.add_member(space, &id, role, &[]).await;
        let token = self.token_of(&id, Narrowing::default()).await;
        (id, token)
    }

    /// A token acting for `user`, narrowed as asked.
    pub async fn token_of(&self, user: &str, narrowing: Narrowing<'_>) -> String {
        let new = engine::NewToken {
            role: engine::Role::User,
            user_id: Some(user.to_owned()),
            space: narrowing.space.map(|space| engine::SpaceName::parse(space).expect("a space name")),
            read_only: narrowing.read_only,
            ..engine::NewToken::default()
        };
        self.engine.create_token(new).await.expect("token").0
    }

    /// A request with another bearer token.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(token)
    }

    /// `POST /api/v1/auth/login` from the app's own pages.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .header("origin", self.url(""))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("POST login")
    }

    /// Signs in with [`PASSWORD`]: the `tend_session=…` cookie pair.
    pub async fn session_of(&self, email: &str) -> String {
        let response = self.login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let set_cookie = response.headers()["set-cookie"].to_str().expect("ASCII").to_owned();
        set_cookie.split(';').next().expect("a pair").to_owned()
    }
}

/// The `items` of a list answer.
pub fn items(list: &Value) -> &Vec<Value> {
    list["items"].as_array().expect("items")
}
