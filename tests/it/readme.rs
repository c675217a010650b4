//! The README's tour, executed: every `sh` block from "A first tour" on runs with bash, in
//! order, against a real `tend serve --demo`, the way a reader would run it. The only
//! substitutions are the ones the README asks a reader to make: the token the server printed
//! and the address it listens on. Blocks that call the API run while the server runs; blocks
//! of `tend` commands alone run with it stopped (they say so: the data directory is locked).
//! `curl` fails on an error answer here, so a refused request fails the test.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The fenced `sh` blocks of `text` after the line `from`.
fn shell_blocks(text: &str, from: &str) -> Vec<String> {
    let start = text.find(from).unwrap_or_else(|| panic!("the README has no {from:?}"));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text[start..].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_readme_tour_runs_as_written() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new(tool).arg("--version").output().is_ok_and(|output| output.status.success());
        assert!(found, "the README's commands need `{tool}` (e.g. apt-get install {tool})");
    }
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = shell_blocks(&readme, "## A first tour");
    assert!(blocks.len() >= 5, "{} blocks", blocks.len());
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // As after `cargo install --path web`: `tend` is on the PATH.
    let bin = Path::new(env!("CARGO_BIN_EXE_tend")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let state = dir.join(".readme-state");
    let baseline = dir.join(".readme-baseline");
    // Run where a reader of a checkout runs it: `examples/` beside the data directory.
    std::os::unix::fs::symlink(workspace_root().join("examples"), dir.join("examples")).unwrap();
    let vars = Command::new("bash").args(["-c", "compgen -v | sort"]).output().unwrap();
    std::fs::write(&baseline, vars.stdout).unwrap();

    let data_dir = dir.join("tend-data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let (mut server, banner) = ServerProcess::start_with(&data_dir, &["--demo"]);
    let token = server.token.clone().unwrap_or_else(|| panic!("no token in {banner:?}"));
    // The banner's advice names the executable as it was started, so it works when pasted.
    let advice = banner.iter().find(|line| line.contains("simulate")).expect("the banner mentions simulate");
    assert!(advice.contains(&format!("`{} simulate --days 30`", env!("CARGO_BIN_EXE_tend"))), "{advice}");
    let mut running = Some(server);
    let mut base = running.as_ref().unwrap().base.clone();
    for (number, block) in blocks.iter().enumerate() {
        let needs_server = block.contains("curl");
        match (&running, needs_server) {
            (None, true) => {
                server = ServerProcess::start(&data_dir);
                // The restarted server has another port; a reader's stays at 8080.
                if let Ok(saved) = std::fs::read_to_string(&state) {
                    std::fs::write(&state, saved.replace(&base, &server.base)).unwrap();
                }
                base = server.base.clone();
                running = Some(server);
            }
            (Some(_), false) => {
                assert!(running.take().unwrap().terminate(), "the server stopped cleanly");
            }
            _ => {}
        }
        let script = block.replace("http://127.0.0.1:8080", &base).replace("TOKEN=tend_...", &format!("TOKEN={token}"));
        let wrapped = format!(
            "[ -f {state} ] && source {state}\n\
             set -euo pipefail\n\
             curl() {{ command curl --silent --show-error --fail-with-body \"$@\"; }}\n\
             {script}\n\
             declare -p $(comm -13 {baseline} <(compgen -v | sort) | grep -v '^BASH_') > {state}\n",
            state = state.display(),
            baseline = baseline.display(),
        );
        let output = Command::new("bash")
            .arg("-c")
            .arg(&wrapped)
            .current_dir(dir)
            .env("PATH", &path)
            .env_remove("TEND_DATA_DIR")
            .env_remove("TEND_CONFIG")
            .env_remove("TEND_BIND")
            .env("TEND_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "README block {} failed:\n{block}\n--- stdout\n{}\n--- stderr\n{}",
            number + 1,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
