//! Architecture invariants, checked rather than remembered:
//! - every Rust source file starts with a `//!` doc saying what it owns;
//! - `forms` depends on nothing that does I/O, `engine` on nothing that speaks HTTP;
//! - only `engine::store` names sled.

use std::path::{Path, PathBuf};

use crate::support::workspace_root;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace_root().join(krate).join("Cargo.toml")).unwrap();
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            // Dev-dependencies count too: a test helper is still a dependency of the crate.
            in_deps = line.ends_with("dependencies]");
        } else if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                deps.push(name.trim().split('.').next().unwrap().to_owned());
            }
        }
    }
    deps
}

#[test]
fn every_source_file_has_a_module_doc() {
    let root = workspace_root();
    let mut missing = Vec::new();
    for dir in ["forms/src", "engine/src", "web/src", "tests"] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            if !text.trim_start().starts_with("//!") {
                missing.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "files without a `//!` module doc: {missing:?}");
}

#[test]
fn crates_do_not_depend_on_what_they_must_not_know() {
    let forbidden: [(&str, &[&str]); 2] = [
        ("forms", &["tokio", "sled", "rhai", "axum", "hyper", "reqwest", "engine", "web"]),
        ("engine", &["axum", "hyper", "tower", "tower-http", "http", "reqwest", "lettre", "web"]),
    ];
    for (krate, banned) in forbidden {
        let deps = dependencies(krate);
        assert!(!deps.is_empty(), "{krate} manifest parsed");
        for dep in deps {
            assert!(!banned.contains(&dep.as_str()), "`{krate}` must not depend on `{dep}`");
        }
    }
}

#[test]
fn only_engine_store_names_sled() {
    let root = workspace_root();
    let store = root.join("engine/src/store");
    let mut offenders = Vec::new();
    for dir in ["forms/src", "engine/src", "web/src", "tests"] {
        for file in rust_files(&root.join(dir)) {
            // The benchmark's raw-sled baseline must talk to sled directly to be a baseline.
            if file.starts_with(&store) || file.ends_with("tidy.rs") || file.starts_with(root.join("tests/benches")) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            if text.contains("sled::") || text.contains("use sled") {
                offenders.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "sled named outside engine::store: {offenders:?}");
}
