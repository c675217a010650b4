//! Prepares what the binary embeds with `include_dir!`, which Cargo can't see into on its own:
//! - the packs under `examples/` (rebuild when one changes);
//! - the web app under `ui/`: `npm ci` when the lockfile changed since the last install (a
//!   stamp in `node_modules`), then the Vite build into `$OUT_DIR/ui`, embedded from there.
//!
//! `TEND_UI=skip` builds without the app (a small page says so). Without Node.js the build
//! warns and embeds that page; `TEND_UI=required` (CI) makes that, or a failed UI build, an
//! error.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=../examples");
    for input in
        ["ui/src", "ui/index.html", "ui/package.json", "ui/package-lock.json", "ui/vite.config.ts", "ui/tsconfig.json"]
    {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=TEND_UI");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let ui_out = out_dir.join("ui");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let ui_src = manifest_dir.join("ui");
    let mode = std::env::var("TEND_UI").unwrap_or_default();

    let outcome = match mode.as_str() {
        "skip" => Err(Unbuilt::Skipped),
        _ => build_ui(&ui_src, &ui_out),
    };
    if let Err(why) = outcome {
        let required = mode == "required";
        match &why {
            Unbuilt::Skipped => {}
            Unbuilt::NoNode(detail) if !required => println!(
                "cargo:warning=building without the web UI: Node.js/npm not found ({detail}); install Node.js 20+ and rebuild, or set TEND_UI=skip to silence this"
            ),
            Unbuilt::Failed(detail) if !required => {
                println!("cargo:warning=building without the web UI: {}", detail.replace('\n', " | "))
            }
            Unbuilt::NoNode(detail) | Unbuilt::Failed(detail) => {
                panic!("TEND_UI=required but the web UI could not be built: {detail}")
            }
        }
        write_placeholder(&ui_out, &why);
    }
    println!("cargo:rustc-env=TEND_UI_DIR={}", ui_out.display());
}

/// Why the app was not built.
enum Unbuilt {
    Skipped,
    NoNode(String),
    Failed(String),
}

fn build_ui(ui_src: &Path, ui_out: &Path) -> Result<(), Unbuilt> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    for tool in ["node", npm] {
        match Command::new(tool).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => return Err(Unbuilt::NoNode(format!("`{tool} --version` failed with {}", output.status))),
            Err(err) => return Err(Unbuilt::NoNode(format!("`{tool}`: {err}"))),
        }
    }
    let lockfile = std::fs::read(ui_src.join("package-lock.json"))
        .map_err(|err| Unbuilt::Failed(format!("reading ui/package-lock.json: {err}")))?;
    // The stamp is a copy of the lockfile the last `npm ci` installed: compare bytes, no hashing.
    let stamp = ui_src.join("node_modules").join(".tend-lockfile-stamp");
    if std::fs::read(&stamp).ok().as_deref() != Some(lockfile.as_slice()) {
        run(Command::new(npm).args(["ci", "--no-audit", "--no-fund"]).current_dir(ui_src), "npm ci")?;
        std::fs::write(&stamp, &lockfile).map_err(|err| Unbuilt::Failed(format!("writing the npm stamp: {err}")))?;
    }
    run(Command::new(npm).args(["run", "build"]).env("TEND_UI_OUT_DIR", ui_out).current_dir(ui_src), "npm run build")?;
    if !ui_out.join("index.html").is_file() {
        return Err(Unbuilt::Failed("the Vite build wrote no index.html".into()));
    }
    Ok(())
}

fn run(command: &mut Command, what: &str) -> Result<(), Unbuilt> {
    let output = command.output().map_err(|err| Unbuilt::Failed(format!("{what}: {err}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut detail = String::from_utf8_lossy(&output.stdout).into_owned();
    detail.push_str(&String::from_utf8_lossy(&output.stderr));
    // The end of the output has the error; keep the warning readable.
    let tail: String =
        detail.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    Err(Unbuilt::Failed(format!("{what} failed ({}):\n{tail}", output.status)))
}

/// The page served at `/` when the binary has no app, saying why and what to do.
fn write_placeholder(ui_out: &Path, why: &Unbuilt) {
    let reason = match why {
        Unbuilt::Skipped => "it was built with <code>TEND_UI=skip</code>".to_owned(),
        Unbuilt::NoNode(_) => "Node.js was not found when it was built".to_owned(),
        Unbuilt::Failed(_) => "the web app failed to build (see the build's warnings)".to_owned(),
    };
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tend</title></head>\n\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto\">\n\
         <h1>Tend</h1>\n<p data-testid=\"ui-missing\">This Tend binary has no web app: {reason}.</p>\n\
         <p>The API is served as usual under <code>/api/v1</code>. To get the app, install Node.js 20 or later \
         and rebuild (<code>cargo build --release</code>).</p>\n</body></html>\n"
    );
    let _ = std::fs::remove_dir_all(ui_out);
    std::fs::create_dir_all(ui_out).expect("creating the UI output folder");
    std::fs::write(ui_out.join("index.html"), page).expect("writing the placeholder page");
}
