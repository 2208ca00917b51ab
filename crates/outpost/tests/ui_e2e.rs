//! The admin web UI in a real browser (issue 18, acceptance "in CI, real
//! browser"): a real `outpost serve` on 127.0.97.0/24 (admin listener
//! `https://127.0.97.3:9464`, its self-signed certificate), and
//! `tests/ui/admin_ui.py`, Playwright (PyPI) driving Debian's Chromium
//! headless: first-run setup with the setup token Outpost printed, login,
//! the dashboard refreshing itself, add an ICP, add devices and see them
//! in the list, search, delete, every section, a phone-sized screen, every
//! form refused without its CSRF token; on every page no console error,
//! no failed request, no CSP violation, and a screenshot under
//! `target/ui-screenshots/` (not committed). Then the CLI, over the same
//! database, sees what the browser did, audited as the administrator.
//!
//! Needs `OUTPOST_PYTHON` (scripts/test.sh sets it: a Python with
//! `playwright`) and `/usr/bin/chromium` (scripts/test.sh installs
//! Debian's). Without them the test fails as root (CI), and is skipped
//! otherwise, like the other end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::Outpost;

/// This test's loopback block: 127.0.97.1 public, .2 private, .3 admin.
const NET: u8 = 97;
const ADMIN_URL: &str = "https://127.0.97.3:9464";
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser session, at most.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

/// The Python with Playwright (`OUTPOST_PYTHON`, else `python3`), or why
/// there is none.
fn python() -> Result<String, String> {
    let python = std::env::var("OUTPOST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let found = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Err(format!(
            "{python} has no playwright: run scripts/test.sh (it installs it), or \
             `pip install playwright` and set OUTPOST_PYTHON"
        ));
    }
    if !Path::new(CHROMIUM).exists() {
        return Err(format!(
            "no {CHROMIUM}: run scripts/test.sh (it installs Debian's chromium), or \
             `apt-get install chromium`"
        ));
    }
    Ok(python)
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
        .arg(workspace().join("tests/ui/admin_ui.py"))
        .args(["--base-url", ADMIN_URL, "--setup-token", token])
        .arg("--screenshots")
        .arg(screenshots)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/ui/admin_ui.py");
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
    let deadline = std::time::Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
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

fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn an_administrator_sets_up_and_manages_outpost_in_chromium() {
    // Asked to skip (OUTPOST_SKIP_E2E=1): skip. Otherwise it needs no
    // root (loopback only) and runs wherever its tools are.
    if std::env::var(outpost_testbed::SKIP_ENV).is_ok_and(|v| v == "1")
        && outpost_testbed::skip_e2e()
    {
        return;
    }
    let python = match python() {
        Ok(python) => python,
        Err(why) => {
            if outpost_testbed::skip_e2e() {
                return;
            }
            panic!("{why}");
        }
    };
    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let screenshots = workspace().join("target/ui-screenshots");
    let _ = std::fs::remove_dir_all(&screenshots);
    let (ok, out, err) = browse(&python, &token, &screenshots);
    assert!(
        ok,
        "the browser session failed:\n{out}\n{err}\noutpost's log:\n{}",
        outpost.log_text()
    );
    assert!(out.contains("\"done\": true"), "{out}");
    let shots = std::fs::read_dir(&screenshots).unwrap().count();
    assert!(
        shots >= 20,
        "{shots} screenshots in {}",
        screenshots.display()
    );

    // What the browser did is in the store, audited as the administrator.
    let data = outpost.data_dir();
    let icps = json_of(&cli(&data, &["icps", "list", "--json"]));
    assert!(icps.to_string().contains("\"pbx1\""), "{icps}");
    let devices = json_of(&cli(&data, &["devices", "list", "--json"]));
    let text = devices.to_string();
    assert!(
        text.contains("\"4001\"") && !text.contains("\"4002\""),
        "{text}"
    );
    assert!(text.contains("Desk <b>4001</b>"), "stored as typed: {text}");
    // One JSON entry a line.
    let audit = cli(&data, &["audit", "--actor", "alice", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    for action in [
        "session.login",
        "icp.create",
        "device.create",
        "device.delete",
        "session.logout",
    ] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
    // The refused forms changed nothing: the SIP service never stopped.
    assert!(!audit.contains("service.stop"), "{audit}");
}
