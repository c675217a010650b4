//! Real receivers on loopback for delivery tests: an HTTP server that records every request
//! and answers as told, and an SMTP server process (Python's `aiosmtpd`) that writes every
//! message it accepts to a file.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered.
    pub status: StatusCode,
}

impl Hit {
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// 200 every time.
    Succeed,
    /// 500 for the first `n` requests, then 200.
    FailFirst(usize),
    /// 500 every time.
    AlwaysFail,
}

struct Shared {
    hits: Mutex<Vec<Hit>>,
    behaviour: Mutex<Behaviour>,
    answered: AtomicUsize,
}

/// An HTTP receiver on 127.0.0.1 that records what it is sent.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let shared = Arc::new(Shared {
            hits: Mutex::default(),
            behaviour: Mutex::new(behaviour),
            answered: AtomicUsize::new(0),
        });
        let app = Router::new().fallback(post(receive)).with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the receiver");
        let addr = listener.local_addr().expect("receiver address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    /// Waits until the receiver has had `count` requests.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let hits = self.hits();
            if hits.len() >= count {
                return hits;
            }
            assert!(Instant::now() < deadline, "expected {count} requests, got {}", hits.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    let n = shared.answered.fetch_add(1, Ordering::SeqCst);
    let behaviour = *shared.behaviour.lock().unwrap();
    let answer = match behaviour {
        Behaviour::Succeed => (StatusCode::OK, "thanks"),
        Behaviour::FailFirst(failures) if n >= failures => (StatusCode::OK, "thanks"),
        Behaviour::FailFirst(_) | Behaviour::AlwaysFail => (StatusCode::INTERNAL_SERVER_ERROR, "receiver is down"),
    };
    shared.hits.lock().unwrap().push(Hit { headers, body, status: answer.0 });
    answer
}

/// An SMTP server process on 127.0.0.1 that appends every accepted message to a file as one
/// JSON line (`tests/it/support/smtp_sink.py`).
pub struct SmtpSink {
    pub port: u16,
    pub messages: PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink. A missing `aiosmtpd` fails the test, in CI and locally alike: an email
    /// test that skipped itself would pass without checking anything.
    pub fn start() -> SmtpSink {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            available,
            "the email tests need an SMTP server: `python3 -m pip install aiosmtpd` (.ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let messages = dir.path().join("messages.jsonl");
        let script = super::workspace_root().join("tests/it/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&messages)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the SMTP sink");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the SMTP sink's port");
        let port = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("the SMTP sink did not start: {line:?}"));
        SmtpSink { port, messages, child, _dir: dir }
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.messages).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
