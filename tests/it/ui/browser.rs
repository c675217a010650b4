//! A headless Chromium driven through chromedriver (WebDriver, the `fantoccini` crate), and a
//! `tend serve --demo` (the real binary) for it to open.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Map, Value};
use tempfile::TempDir;

use crate::support::ServerProcess;

const WAIT: Duration = Duration::from_secs(20);

/// Where screenshots go: `target/ui-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target_tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = target_tmp.parent().map_or_else(|| target_tmp.join("ui-screenshots"), |t| t.join("ui-screenshots"));
    std::fs::create_dir_all(&dir).expect("creating target/ui-screenshots");
    dir
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// chromedriver and a Chromium session, ended when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (with a notice) when either is not
    /// installed, except under `CI=true`, where that fails the test.
    pub async fn start(width: u32, height: u32) -> Option<Browser> {
        let chromium = find(&["chromium", "chromium-browser", "google-chrome"]);
        let driver = find(&["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let message = "the web app's browser tests need Debian's chromium and chromium-driver \
                           (apt-get install -y chromium chromium-driver)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{message}; they are missing and CI=true");
            }
            eprintln!("SKIPPED: {message}; not installed here");
            return None;
        };
        let port = free_port();
        let mut driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let profile = TempDir::new().expect("a browser profile dir");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--lang=en-US".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args, "prefs": { "intl.accept_languages": "en-US" } }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                Err(err) if started.elapsed() > WAIT => {
                    let _ = driver.kill();
                    panic!("chromedriver did not start a session: {err}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        client.set_window_size(width, height).await.expect("window size");
        Some(Browser { client, driver, _profile: profile })
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => {
                // What the page showed instead, for whoever reads the failure.
                self.screenshot("failure").await;
                panic!("no `{css}` within {WAIT:?} (see target/ui-screenshots/failure.png): {err}")
            }
        }
    }

    /// Every element matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.expect("find_all")
    }

    /// Waits until `check` answers true, polling.
    pub async fn until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let started = Instant::now();
        while !check().await {
            if started.elapsed() > WAIT {
                self.screenshot("failure").await;
                panic!("timed out waiting for {what} (see target/ui-screenshots/failure.png)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current URL's query parameter `name`.
    pub async fn query(&self, name: &str) -> Option<String> {
        let url = self.client.current_url().await.expect("current url");
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// Saves a screenshot as `target/ui-screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("writing a screenshot");
    }

    pub async fn close(self) {
        let Browser { client, mut driver, _profile } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

/// `tend serve --demo` on a temporary data dir, with its token and sign-in link.
pub struct Demo {
    pub server: ServerProcess,
    pub token: String,
    pub sign_in_link: String,
    /// The demo's users as the banner prints them: (email, password).
    pub users: Vec<(String, String)>,
    pub api: reqwest::Client,
    _data: TempDir,
}

impl Demo {
    pub fn start() -> Demo {
        Self::start_with_env(&[])
    }

    /// Like [`Demo::start`], the server configured by `TEND_*` variables.
    pub fn start_with_env(env: &[(&str, &str)]) -> Demo {
        let data = TempDir::new().expect("a data dir");
        let (server, banner) = ServerProcess::start_with_args_and_env(data.path(), &["--demo"], env);
        let token = server.token.clone().expect("a first admin token");
        let sign_in_link = banner
            .iter()
            .find_map(|line| line.split_whitespace().find(|w| w.contains("/api/v1/auth/link/")))
            .unwrap_or_else(|| panic!("the banner prints a sign-in link: {banner:?}"))
            .to_owned();
        // `Demo user: ana.silva@example.com / <password> (member, team north)`
        let users = banner
            .iter()
            .filter_map(|line| line.strip_prefix("Demo user: "))
            .filter_map(|rest| match rest.split_whitespace().collect::<Vec<_>>()[..] {
                [email, "/", password, ..] => Some((email.to_owned(), password.to_owned())),
                _ => None,
            })
            .collect();
        Demo { server, token, sign_in_link, users, api: reqwest::Client::new(), _data: data }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    /// A POST of the API with the admin token; the answer's JSON, which must be a success.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self.api.post(self.url(path)).json(body).bearer_auth(&self.token).send().await.expect("POST");
        assert!(response.status().is_success(), "POST {path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    /// A PUT of the API with the admin token; the answer's JSON, which must be a success.
    pub async fn put(&self, path: &str, body: &Value) -> Value {
        let response = self.api.put(self.url(path)).json(body).bearer_auth(&self.token).send().await.expect("PUT");
        assert!(response.status().is_success(), "PUT {path}: {}", response.status());
        response.json().await.expect("JSON")
    }

    /// Waits until the workflow processor has caught up with the demo's own writes, so a
    /// workflow a test adds next sees only the test's records, not the tail of the demo data.
    pub async fn settled(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let metrics = self.api.get(self.url("/metrics")).bearer_auth(&self.token).send().await.expect("metrics");
            let text = metrics.text().await.expect("metrics text");
            let lag = text
                .lines()
                .find_map(|line| line.strip_prefix("tend_workflow_processor_lag_events "))
                .and_then(|value| value.trim().parse::<f64>().ok());
            if lag == Some(0.0) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the demo's processor did not catch up: lag {lag:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// A GET of the API with the admin token.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let response = self.api.get(self.url(path)).query(query).bearer_auth(&self.token).send().await.expect("GET");
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.expect("JSON")
    }
}
