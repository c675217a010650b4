//! Running the real `tend` executable as a child process (CLI tests, kill -9 crash tests).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `tend` binary Cargo built for this test run.
pub fn tend() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tend"));
    // Tests must not pick up a developer's tend.toml or TEND_* settings.
    command.env_remove("TEND_DATA_DIR").env_remove("TEND_BIND").env_remove("TEND_CONFIG").env("TEND_LOG", "warn");
    command
}

/// A `tend serve` child process with the address it listens on.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    /// The first admin token, when the data dir was empty.
    pub token: Option<String>,
}

impl ServerProcess {
    /// Starts `tend serve` on a free port and waits until it says where it listens.
    pub fn start(data_dir: &Path) -> ServerProcess {
        Self::start_with(data_dir, &[]).0
    }

    /// An admin token made by `tend token create --admin` on the data dir, then `tend serve`
    /// on it: for CLI commands that talk to a running server.
    pub fn start_with_admin_token(data_dir: &Path) -> (ServerProcess, String) {
        let output = tend().args(["token", "create", "--admin", "--data-dir"]).arg(data_dir).output().expect("tend");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let token = String::from_utf8(output.stdout).expect("UTF-8").trim().to_owned();
        (Self::start(data_dir), token)
    }

    /// Like [`ServerProcess::start`] with more `serve` arguments; also returns the banner lines.
    pub fn start_with(data_dir: &Path, args: &[&str]) -> (ServerProcess, Vec<String>) {
        Self::spawn(tend().args(["serve", "--bind", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(args), data_dir)
    }

    /// Like [`ServerProcess::start`] with more environment variables (a `TEND_FAULT`, say).
    pub fn start_with_env(data_dir: &Path, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_with_args_and_env(data_dir, &[], env).0
    }

    /// Like [`ServerProcess::start_with`] with more environment variables too.
    pub fn start_with_args_and_env(
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (ServerProcess, Vec<String>) {
        let mut command = tend();
        command.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(args);
        Self::spawn(command.envs(env.iter().copied()), data_dir)
    }

    /// Like [`ServerProcess::start`] with the server's log (stderr, not a terminal) at `info`
    /// written to `log`.
    pub fn start_logging_to(data_dir: &Path, log: &Path) -> ServerProcess {
        let file = std::fs::File::create(log).expect("creating the log file");
        let mut command = tend();
        command.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"]).arg(data_dir).env("TEND_LOG", "info");
        command.stderr(Stdio::from(file));
        Self::spawn(&mut command, data_dir).0
    }

    /// Starts `command` (a `tend serve`; stderr inherited unless it says otherwise) and reads
    /// its banner.
    fn spawn(command: &mut Command, data_dir: &Path) -> (ServerProcess, Vec<String>) {
        let mut child = command.current_dir(data_dir).stdout(Stdio::piped()).spawn().expect("spawning tend serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut base = None;
        let mut token = None;
        let mut banner = Vec::new();
        // The banner ends with the address line; a first admin token comes before it.
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            banner.push(line.clone());
            if line.starts_with("tend_") {
                token = Some(line.trim().to_owned());
            } else if let Some(url) = line.strip_prefix("Tend is listening on ") {
                base = Some(url.trim().to_owned());
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let base = base.expect("tend serve printed its address");
        (ServerProcess { child, base, token }, banner)
    }

    /// Starts `tend serve` on `data_dir` (stdin closed, stderr captured) and waits until it
    /// serves or exits: for data dirs it may refuse. `Err` has its exit status and stderr.
    pub fn try_start(data_dir: &Path) -> Result<ServerProcess, (std::process::ExitStatus, String)> {
        use std::io::Read as _;
        let mut child = tend()
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning tend serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (listening, serving) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(base) = line.strip_prefix("Tend is listening on ") {
                    let _ = listening.send(base.trim().to_owned());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("waiting for tend serve") {
                let mut stderr = String::new();
                child.stderr.take().expect("piped stderr").read_to_string(&mut stderr).expect("reading stderr");
                return Err((status, stderr));
            }
            if let Ok(base) = serving.try_recv() {
                // Nobody reads its stderr any more: a full pipe must not stall it.
                let stderr = child.stderr.take().expect("piped stderr");
                std::thread::spawn(move || std::io::copy(&mut BufReader::new(stderr), &mut std::io::sink()));
                return Ok(ServerProcess { child, base, token: None });
            }
            assert!(Instant::now() < deadline, "tend serve neither served nor exited within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for the graceful shutdown; whether the process exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("running kill");
        assert!(sent.success(), "kill -TERM {pid}");
        self.child.wait().expect("waiting for the server").success()
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaping the child");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
