//! End-to-end: drives the built `lore` binary exactly as a user would: init a project, fit the
//! declared and the Rust model, predict from a file, serve over real HTTP, generate a model.
//! One file an area; this one holds what several areas share.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

#[path = "../common/mod.rs"]
mod common;
use common::*;

mod api;
mod check;
mod data;
mod encoders;
mod environments;
mod error_reports;
mod estimators;
mod feedback;
mod fit;
mod generate;
mod predict;
mod registry;
mod runs;
mod s3;
mod tutorial;

struct Demo {
    root: PathBuf,
    declared: Value,
    rust: Value,
}

/// One project with the default 100,000-row sample, both Subscribers models fitted.
fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = workdir("demo");
        prints(&dir, &["init", "demo"], &["Created"]);
        let root = dir.join("demo");
        for file in [
            "Lore.toml",
            "Cargo.toml",
            "Cargo.lock",
            ".env.template",
            ".gitignore",
            "README.md",
            "config/database.toml",
            "config/aws.toml",
            "src/main.rs",
            "src/lib.rs",
            "src/extracts/users.sql",
            "src/models/subscribers.rs",
            "src/models/subscribers_declared.toml",
            "src/pipelines/subscribers.rs",
            "tests/subscribers.rs",
            "data/users.sqlite",
        ] {
            assert!(root.join(file).is_file(), "lore init wrote no {file}");
        }
        for folder in ["models", "logs", "docs"] {
            assert!(root.join(folder).is_dir(), "lore init made no {folder}/");
        }
        let out = lore(&root, &["-v", "fit", "SubscribersDeclared", "--json"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let declared: Value = serde_json::from_str(&ok(&out)).expect("--json prints JSON");
        assert!(
            stderr.contains("no cargo build"),
            "the declared model must fit in-process: {stderr}"
        );
        assert!(
            !stderr.contains("Compiling"),
            "the declared model must not compile anything: {stderr}"
        );
        let rust: Value =
            serde_json::from_str(&ok(&lore(&root, &["fit", "Subscribers", "--json"])))
                .expect("--json prints JSON");
        Demo {
            root,
            declared,
            rust,
        }
    })
}

/// A new project `name` with `rows` sample users, made by `lore init` in the work folder `work`
/// (one per test, so tests run side by side); its root.
fn project(work: &str, name: &str, rows: u32) -> PathBuf {
    let dir = workdir(work);
    ok(&lore(
        &dir,
        &["init", name, "--sample-rows", &rows.to_string()],
    ));
    dir.join(name)
}

/// `git` in `dir`, which must succeed; its standard output.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=Lore", "-c", "user.email=lore@localhost"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lore_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lore"));
    command.args(args).current_dir(dir);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("lore runs")
}

/// Loads a page of Lore's (a check's, a fit report) in headless Chromium: it must load with its
/// script run and no error, its DOM holding every one of `expect`; a screenshot is kept beside
/// it (`PAGE.png`) for people to look at.
fn page_in_a_browser(page: &Path, expect: &[&str]) {
    let Some(browser) = chromium() else { return };
    let profile = workdir(&format!(
        "chromium-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let run = |extra: &[String]| {
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,2400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap()
    };
    let out = run(&[
        "--enable-logging=stderr".to_string(),
        "--dump-dom".to_string(),
    ]);
    let dom = String::from_utf8_lossy(&out.stdout);
    holds(&dom, expect);
    let console = String::from_utf8_lossy(&out.stderr);
    assert!(
        !console.contains("Uncaught") && !console.contains("CONSOLE"),
        "the page logged errors: {console}"
    );
    let shot = page.with_extension("png");
    run(&[format!("--screenshot={}", shot.display())]);
    let bytes = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 10_000, "a screenshot of the page: {bytes} bytes");
}

/// `lore -q fit SubscribersDeclared --json` with `args`, in `root`.
fn fit_declared(root: &Path, args: &[&str]) -> Value {
    let mut all = vec!["-q", "fit", "SubscribersDeclared", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&lore(root, &all))).expect("--json prints JSON")
}

/// Runs `lore` and checks it exits with `code`; its stdout.
fn lore_status(root: &Path, args: &[&str], code: i32) -> String {
    let out = lore(root, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls the API's `/models` until `model` is served from `fitting` by `alias`.
fn wait_for_fitting(port: u16, model: &str, fitting: &Value, alias: Value) {
    let started = std::time::Instant::now();
    loop {
        let (_, models) = http(port, "GET", "/models", "");
        let served = models["models"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["name"] == model).cloned())
            .unwrap_or_default();
        if served["fitting_id"] == *fitting && served["alias"] == alias {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the API never switched to {fitting} ({alias}): {served}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
