//! Architecture invariants, checked rather than remembered:
//! - every Rust source file starts with a `//!` doc saying what it owns;
//! - `forms` depends on nothing that does I/O, `engine` on nothing that speaks HTTP;
//! - only `engine::store` names the storage engines (sled, fjall);
//! - inside `engine`, no module imports from a layer above its own (the order is the one
//!   ARCHITECTURE.md gives under "Layers");
//! - the `Engine` façade's subsystems own their state: only the subsystem's module (and the
//!   façade, which builds it and rings its bell) reaches it.

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
            // The benchmark's raw-engine baselines must talk to the engines directly to be baselines.
            if file.starts_with(&store) || file.ends_with("tidy.rs") || file.starts_with(root.join("tests/benches")) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            if ["sled::", "use sled", "fjall::", "use fjall"].iter().any(|name| text.contains(name)) {
                offenders.push(file.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "a storage engine named outside engine::store: {offenders:?}");
}

/// The engine's layers, bottom first; "" is the crate root (`lib.rs`: the `Engine` façade and
/// what it re-exports). A module may use its own layer and those below. Mirrors the "Layers"
/// section of ARCHITECTURE.md; a new module must be placed here.
const ENGINE_LAYERS: &[&[&str]] = &[
    &["clock", "calendar", "query", "fault"],
    &["model"],
    &["store"],
    &["error"],
    &["auth", "rules", "policy"],
    &[
        "",
        "definitions",
        "drafts",
        "records",
        "listing",
        "aggregate",
        "dashboards",
        "spaces",
        "workflows",
        "timers",
        "upcoming",
        "outbox",
        "sessions",
        "people",
        "views",
        "counting",
        "import",
        "backup",
    ],
];

fn layer_of(module: &str) -> Option<usize> {
    ENGINE_LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a file of `engine/src` belongs to ("" for `lib.rs`).
fn engine_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => String::new(),
        Some(name) => name.to_owned(),
        None => first,
    }
}

/// The top-level modules named by `crate::` paths in `code` (comments excluded): `crate::x::y`
/// names `x`, `crate::{x, y::z}` names `x` and `y`, `crate::Item` names the root ("").
fn crate_paths(code: &str) -> Vec<String> {
    let mut named = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let preceded_by_ident =
                rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
            rest = &rest[at + "crate::".len()..];
            if preceded_by_ident {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // Top-level names of the group: split on commas outside nested braces.
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            named.push(first_segment(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                if !item.trim().is_empty() {
                    named.push(first_segment(&item));
                }
            } else {
                named.push(first_segment(rest));
            }
        }
    }
    named
}

/// `x` for `x::y` (modules are snake_case), "" (the root) for an item of the root such as
/// `Engine`, `ListQuery::default` or `MAX_LIMIT` (types and constants start upper case).
fn first_segment(path: &str) -> String {
    let path = path.trim();
    let name: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    let is_module = name.starts_with(|c: char| c.is_ascii_lowercase())
        && (path[name.len()..].starts_with("::") || layer_of(&name).is_some());
    if is_module {
        name
    } else {
        String::new()
    }
}

/// One source file of `engine`: its path as shown in a failure, its module, its text.
struct EngineSource {
    shown: String,
    module: String,
    text: String,
}

fn engine_sources() -> Vec<EngineSource> {
    let src = workspace_root().join("engine/src");
    rust_files(&src)
        .into_iter()
        .map(|file| EngineSource {
            shown: file.strip_prefix(workspace_root()).unwrap().display().to_string(),
            module: engine_module(&src, &file),
            text: std::fs::read_to_string(&file).unwrap(),
        })
        .collect()
}

#[test]
fn engine_modules_import_only_from_their_layer_or_below() {
    let mut offenders = Vec::new();
    for EngineSource { shown, module, text } in engine_sources() {
        let Some(own) = layer_of(&module) else {
            offenders.push(format!("{shown}: module `{module}` is in no layer (add it to ENGINE_LAYERS)"));
            continue;
        };
        for named in crate_paths(&text) {
            match layer_of(&named) {
                Some(layer) if layer <= own => {}
                Some(_) => offenders.push(format!("{shown}: `{module}` uses `crate::{named}` from a higher layer")),
                None => offenders.push(format!("{shown}: `crate::{named}` is in no layer")),
            }
        }
    }
    assert!(offenders.is_empty(), "layer order broken:\n{}", offenders.join("\n"));
}

#[test]
fn the_layer_check_reads_paths_as_the_compiler_does() {
    let code = "use crate::model::Record;\nuse crate::{store::Store, Engine};\n// crate::workflows in a comment\nlet x = crate::query::parse(y);\nlet q = crate::ListQuery::default();";
    assert_eq!(crate_paths(code), ["model", "store", "", "query", ""]);
    // A lower module naming a higher one is caught.
    assert!(layer_of("store") < layer_of("workflows"));
    assert!(
        layer_of("").is_some_and(|root| crate_paths("use crate::Engine;").iter().all(|n| layer_of(n) == Some(root)))
    );
}

/// Each subsystem's state (a field of the façade's `Inner`) and the modules that may reach it:
/// its own, and the façade's `lib.rs` (""). The definitions cache is every subsystem's to
/// read through its interface, and is not listed.
const SUBSYSTEM_OWNERS: &[(&str, &[&str])] = &[
    ("processor", &["workflows", ""]),
    ("scheduler", &["timers", ""]),
    ("deliveries", &["outbox", ""]),
    ("inbound", &["outbox"]),
    ("tokens", &[""]),
    ("people", &["people"]),
    // A form's new version drops the columns its old one filled.
    ("columns", &["aggregate", "definitions"]),
];

#[test]
fn subsystems_state_is_reached_only_by_its_own_module() {
    let mut offenders = Vec::new();
    for EngineSource { shown, module, text } in engine_sources() {
        for (field, owners) in SUBSYSTEM_OWNERS {
            let reached = text
                .match_indices(&format!("inner.{field}"))
                .any(|(at, found)| !text[at + found.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'));
            if reached && !owners.contains(&module.as_str()) {
                offenders.push(format!("{shown}: `{module}` reaches `inner.{field}`, which {owners:?} own"));
            }
        }
    }
    assert!(offenders.is_empty(), "a subsystem's state reached from outside it:\n{}", offenders.join("\n"));
}
