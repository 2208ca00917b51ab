//! The settings page (`/ui/settings`, issue 18 "General parameters") in
//! a real browser: a real `outpost serve` on 127.0.98.0/24 (admin listener
//! `https://127.0.98.3:9464`; its environment pins the interfaces and the
//! admin listener), and `tests/ui/settings.py`, Playwright (PyPI) driving
//! Debian's Chromium headless: setup and login, every group listed, a
//! pinned value read-only with its variable, a live setting changed and
//! shown ("applied live"), a restart one ("restart needed"), an invalid
//! port refused with its bounds next to the field, a reset to the default,
//! the phone-sized page, every form refused without its CSRF token; no
//! console error, failed request or CSP violation, screenshots under
//! `target/ui-screenshots/settings/` (not committed). Then the CLI, over
//! the same database, sees the values the browser left, audited as the
//! administrator.
//!
//! Needs `OUTPOST_PYTHON` (a Python with `playwright`) and
//! `/usr/bin/chromium`, as `ui_e2e.rs`; skipped like the other end-to-end
//! tests without them when not root.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Outpost;

/// This test's loopback block: 127.0.98.1 public, .2 private, .3 admin.
const NET: u8 = 98;
const ADMIN_URL: &str = "https://127.0.98.3:9464";
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser session, at most.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

/// The Python with Playwright, or `None` when the test is to be skipped
/// (`OUTPOST_SKIP_E2E=1`, or the tools missing when not root); panics
/// when they are missing as root.
fn python_or_skip() -> Option<String> {
    if std::env::var(outpost_testbed::SKIP_ENV).is_ok_and(|v| v == "1")
        && outpost_testbed::skip_e2e()
    {
        return None;
    }
    let python = std::env::var("OUTPOST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let found = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found && Path::new(CHROMIUM).exists() {
        return Some(python);
    }
    if outpost_testbed::skip_e2e() {
        return None;
    }
    panic!(
        "{python} has no playwright or there is no {CHROMIUM}: run scripts/test.sh (it \
         installs both), or `pip install playwright`, set OUTPOST_PYTHON and `apt-get install \
         chromium`"
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn setup_token(outpost: &Outpost) -> String {
    let log = outpost.log_text();
    let tokens: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split(TOKEN_LINE).nth(1))
        .map(str::trim)
        .collect();
    assert_eq!(tokens.len(), 1, "one setup token expected in:\n{log}");
    tokens[0].to_owned()
}

/// Runs the browser script, echoing its lines; kills it past the timeout.
fn browse(python: &str, token: &str, screenshots: &Path) -> (bool, String, String) {
    let mut child = Command::new(python)
        .arg(workspace().join("tests/ui/settings.py"))
        .args(["--base-url", ADMIN_URL, "--setup-token", token])
        .arg("--screenshots")
        .arg(screenshots)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/ui/settings.py");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("browser: {line}");
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let err = errors.join().unwrap();
    (status.is_some_and(|s| s.success()), out, err)
}

/// `outpost --data-dir DATA ARGS`.
fn cli(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("OUTPOST_DATA_DIR")
        .env_remove("OUTPOST_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("outpost runs")
}

/// The JSON line of setting `key` in `outpost settings list --json`.
fn setting(data: &Path, key: &str) -> serde_json::Value {
    let out = cli(data, &["settings", "list", "--json"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["key"] == key)
        .unwrap_or_else(|| panic!("{key} not listed: {out:?}"))
}

#[test]
fn an_administrator_changes_settings_in_chromium() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let screenshots = workspace().join("target/ui-screenshots/settings");
    let _ = std::fs::remove_dir_all(&screenshots);
    let started = Instant::now();
    let (ok, out, err) = browse(&python, &token, &screenshots);
    assert!(
        ok,
        "the browser session failed:\n{out}\n{err}\noutpost's log:\n{}",
        outpost.log_text()
    );
    assert!(out.contains("\"done\": true"), "{out}");
    println!("browser session: {:.1} s", started.elapsed().as_secs_f64());
    let shots = std::fs::read_dir(&screenshots).unwrap().count();
    assert!(
        shots >= 6,
        "{shots} screenshots in {}",
        screenshots.display()
    );

    // What the browser left is in the store: web.port stored (restart
    // needed), media.timeout_secs back to its default.
    let data = outpost.data_dir();
    let port = setting(&data, "web.port");
    assert_eq!(port["value"], 8443, "{port}");
    assert_eq!(port["source"]["kind"], "database", "{port}");
    let timeout = setting(&data, "media.timeout_secs");
    assert_eq!(timeout["value"], 60, "{timeout}");
    assert_eq!(timeout["source"]["kind"], "default", "{timeout}");
    // Audited as the administrator; the refused forms stored nothing.
    let audit = cli(&data, &["audit", "--actor", "alice", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    let lines = |action: &str| audit.lines().filter(|l| l.contains(action)).count();
    assert_eq!(lines("\"setting.change\""), 2, "{audit}");
    assert_eq!(lines("\"setting.reset\""), 1, "{audit}");
    assert!(
        !audit.contains("70000"),
        "the refused value is not stored: {audit}"
    );
}
