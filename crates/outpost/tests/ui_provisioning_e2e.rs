//! The provisioning page (`/ui/provisioning`, issue 18) and the devices
//! page's CSV import and export in a real browser: a real `outpost serve`
//! on 127.0.101.0/24 (admin listener `https://127.0.101.3:9464`, phones'
//! HTTPS on `127.0.101.1:4445`), and `tests/ui/provisioning.py`,
//! Playwright (PyPI) driving Debian's Chromium headless: setup and login;
//! issue 18's acceptance, a remote-worker CSV with an error on line 3
//! refused with line 3 and its column and nothing imported, then a valid
//! one and the inventory listing the phones (one of them fetching its
//! file over HTTPS, listed with its model); the hash key and its
//! replacement (password, warning, the old URL then 404); the global
//! CSV; an extra file; the inventory's filters and export; an action whose
//! progress reaches "done" by polling; the devices CSV import (line 3
//! reported, then two devices) and export; the phone-sized page; every
//! form refused without its CSRF token; no console error, failed request or
//! CSP violation; screenshots under `target/ui-screenshots/provisioning/`
//! (not committed). Then the CLI, over the same database, sees what the
//! browser left, audited as the administrator.
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

/// This test's loopback block: 127.0.101.1 public, .2 private, .3 admin,
/// .9 the phone.
const NET: u8 = 101;
const ADMIN_URL: &str = "https://127.0.101.3:9464";
const PHONE_URL: &str = "https://127.0.101.1:4445";
const PHONE_SOURCE: &str = "127.0.101.9";
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
        .arg(workspace().join("tests/ui/provisioning.py"))
        .args(["--base-url", ADMIN_URL, "--setup-token", token])
        .args(["--phone-url", PHONE_URL, "--phone-source", PHONE_SOURCE])
        .arg("--screenshots")
        .arg(screenshots)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/ui/provisioning.py");
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

fn text(out: &Output) -> String {
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_administrator_provisions_phones_in_chromium() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let screenshots = workspace().join("target/ui-screenshots/provisioning");
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
        shots >= 10,
        "{shots} screenshots in {}",
        screenshots.display()
    );

    // What the browser left is in the store: the two phone files, the
    // global and extra files, the inventory with the phone that fetched.
    let data = outpost.data_dir();
    let files = text(&cli(&data, &["provisioning", "files", "list", "--json"]));
    for name in [
        "00085D842061.cfg",
        "00085D842062.cfg",
        "aastra.cfg",
        "template.xml",
    ] {
        assert!(files.contains(name), "{name} not stored: {files}");
    }
    let inventory = text(&cli(
        &data,
        &["provisioning", "inventory", "list", "--json"],
    ));
    assert!(inventory.contains("00085D842061"), "{inventory}");
    assert!(inventory.contains("6867i"), "{inventory}");
    let devices = text(&cli(&data, &["devices", "list", "--json"]));
    assert!(
        devices.contains("4001") && devices.contains("4002"),
        "{devices}"
    );
    // Audited as the administrator: one remote-worker import (the refused
    // one wrote nothing, not even an audit entry), one devices import.
    let audit = text(&cli(&data, &["audit", "--actor", "alice", "--json"]));
    let lines = |action: &str| audit.lines().filter(|l| l.contains(action)).count();
    assert_eq!(lines("\"provisioning.import\""), 1, "{audit}");
    assert_eq!(lines("\"provisioning.global.import\""), 1, "{audit}");
    assert_eq!(lines("\"provisioning.extra.upload\""), 1, "{audit}");
    assert_eq!(lines("\"device.import\""), 1, "{audit}");
    assert!(
        !audit.contains("sip-secret-7000"),
        "a password in the audit log"
    );
}
