//! Issue 18's acceptance "Approve a temporary web-services token in the UI
//! and finish the OAuth flow with the client of the web-services issue",
//! in a real browser: a real `outpost serve` on 127.0.100.0/24 (admin
//! listener `https://127.0.100.3:9464`, web services on
//! `https://127.0.100.1:4445`, its self-signed certificate), Playwright
//! (PyPI) driving Debian's Chromium headless (`tests/ui/webservices.py`),
//! and `tests/webservices/msl_client.py` (requests-oauthlib) as the
//! application server:
//!
//! 1. in the browser: first-run setup, login, the web services page;
//!    Start; add the consumer, whose shared secret the page shows once;
//! 2. the client requests a temporary token; it appears in the page
//!    without a reload; the browser approves it and reads the verifier
//!    the page shows;
//! 3. the client exchanges it for its final token and calls the
//!    protected resources (lists the ICPs, creates a device...);
//! 4. the browser renews the final token, then revokes it after its
//!    confirmation page; the client's next request (deleting its device)
//!    is refused with 401;
//! 5. every form of the page refused without its CSRF token; the CLI,
//!    over the same database, sees it all audited as the administrator.
//!
//! On every page no console error, failed request or CSP violation, and
//! screenshots under `target/ui-screenshots/webservices/` (not committed).
//! Needs `OUTPOST_PYTHON` (a Python with `playwright` and
//! `requests-oauthlib`: scripts/test.sh) and `/usr/bin/chromium`; skipped
//! without them unless root (CI), like `ui_e2e.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::Outpost;

/// This test's loopback block: 127.0.100.1 public, .2 private, .3 admin.
const NET: u8 = 100;
const ADMIN_URL: &str = "https://127.0.100.3:9464";
const WEB_SERVICES_URL: &str = "https://127.0.100.1:4445";
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const CHROMIUM: &str = "/usr/bin/chromium";
const CONSUMER: &str = "MiVOAppSuite";
/// A step of either script, at most.
const STEP_TIMEOUT: Duration = Duration::from_secs(90);

/// The Python with Playwright and requests-oauthlib, or why there is none.
fn python() -> Result<String, String> {
    let python = std::env::var("OUTPOST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let found = Command::new(&python)
        .args(["-c", "import playwright.sync_api, requests_oauthlib"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        return Err(format!(
            "{python} lacks playwright or requests-oauthlib: run scripts/test.sh (it installs \
             them), or `pip install playwright requests-oauthlib` and set OUTPOST_PYTHON"
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

/// The Python, or `None` when the test is to be skipped
/// (`OUTPOST_SKIP_E2E=1`, or tools missing when not root); panics when
/// tools are missing as root.
fn python_or_skip() -> Option<String> {
    if std::env::var(outpost_testbed::SKIP_ENV).is_ok_and(|v| v == "1")
        && outpost_testbed::skip_e2e()
    {
        return None;
    }
    match python() {
        Ok(python) => Some(python),
        Err(why) => {
            if outpost_testbed::skip_e2e() {
                return None;
            }
            panic!("{why}");
        }
    }
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

/// A script: its JSON lines as they come (echoed with `name`), its
/// standard input.
struct Script {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Script {
    fn start(name: &'static str, mut cmd: Command) -> Self {
        let mut child = cmd
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{name}: {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
        }
    }

    fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next JSON line whose `step` is `step` (problems reported by the
    /// browser fail at once); panics with stderr if it ends or is silent.
    fn wait_step(&mut self, step: &str) -> Value {
        loop {
            match self.lines.recv_timeout(STEP_TIMEOUT) {
                Ok(line) => {
                    let Ok(value) = serde_json::from_str::<Value>(&line) else {
                        continue;
                    };
                    assert!(value.get("problems").is_none(), "{}: {value}", self.name);
                    if value["step"] == step {
                        return value;
                    }
                }
                Err(e) => {
                    let err = self.finish().1;
                    panic!(
                        "no step {step:?} from {} ({e}); its stderr:\n{err}",
                        self.name
                    );
                }
            }
        }
    }

    /// Closes its input, waits for it (killed past the step timeout):
    /// whether it succeeded, and its stderr.
    fn finish(&mut self) -> (bool, String) {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + STEP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
        }
        (status.is_some_and(|s| s.success()), err)
    }

    /// Every JSON line left, until it ends.
    fn rest(&mut self) -> Vec<Value> {
        let mut all = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(STEP_TIMEOUT) {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                all.push(value);
            }
        }
        all
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_token_approved_in_chromium_completes_the_oauth_flow_until_revoked_there() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let data = outpost.data_dir();
    // The ICP the client lists and attaches its device to.
    let added = cli(
        &data,
        &["icps", "add", "--name", "pbx1", "--host", "127.0.100.20"],
    );
    assert!(added.status.success(), "{added:?}");
    let screenshots = workspace().join("target/ui-screenshots/webservices");
    let _ = std::fs::remove_dir_all(&screenshots);

    // 1. The browser starts the web services and adds the consumer.
    let mut browser_cmd = Command::new(&python);
    browser_cmd
        .arg(workspace().join("tests/ui/webservices.py"))
        .args(["--base-url", ADMIN_URL, "--setup-token", &token])
        .args(["--consumer", CONSUMER])
        .arg("--screenshots")
        .arg(&screenshots);
    let mut browser = Script::start("browser", browser_cmd);
    let made = browser.wait_step("consumer");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 40, "{made}");

    // 2. The application server asks for a temporary token; the browser
    // approves it and reads the verifier.
    let mut client_cmd = Command::new(&python);
    client_cmd
        .arg(workspace().join("tests/webservices/msl_client.py"))
        .args([WEB_SERVICES_URL, CONSUMER, &secret])
        .arg("--ca")
        .arg(data.join("tls/default.crt"))
        .args(["--username", "tw-ui-1", "--password", "Set-side-Secret-1"])
        .arg("--delete-on-request");
    let mut client = Script::start("client", client_cmd);
    let initiated = client.wait_step("initiate");
    let temporary = initiated["token"].as_str().unwrap().to_owned();
    browser.say(&format!("token {temporary}"));
    let approved = browser.wait_step("approved");
    assert_eq!(approved["token"], temporary.as_str());
    let verifier = approved["verifier"].as_str().unwrap().to_owned();
    assert_eq!(verifier.len(), 20, "{approved}");

    // 3. It finishes the OAuth flow and uses the protected resources.
    client.say(&verifier);
    let final_token = client.wait_step("token")["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let icps = client.wait_step("icps");
    assert_eq!(icps["status"], 200, "{icps}");
    assert_eq!(icps["body"]["response"][0]["name"], "pbx1", "{icps}");
    let created = client.wait_step("create");
    assert_eq!(created["status"], 201, "{created}");
    client.wait_step("created");

    // 4. The browser renews, then revokes it: the client is refused.
    browser.say(&format!("final {final_token}"));
    browser.wait_step("revoked");
    client.say("delete");
    let rest = client.rest();
    let deleted = rest
        .iter()
        .find(|s| s["step"] == "delete")
        .unwrap_or_else(|| panic!("no delete step: {rest:#?}"));
    assert_eq!(
        deleted["status"], 401,
        "the revoked token is refused: {deleted}"
    );
    let done = rest.iter().find(|s| s["step"] == "done").unwrap();
    assert_eq!(done["ok"], false, "{done}");
    let (client_ok, _) = client.finish();
    assert!(!client_ok, "the client fails on the refusal");

    // 5. Every form refused without its CSRF token, the narrow page.
    browser.say("refused");
    let end = browser.rest();
    let (ok, err) = browser.finish();
    assert!(
        ok && end.iter().any(|v| v["done"] == true),
        "the browser session failed: {end:#?}\n{err}\noutpost's log:\n{}",
        outpost.log_text()
    );
    let shots = std::fs::read_dir(&screenshots).unwrap().count();
    assert!(
        shots >= 14,
        "{shots} screenshots in {}",
        screenshots.display()
    );

    // What the browser did is in the store, audited as the administrator.
    let tokens = cli(&data, &["webservices", "tokens", "list"]);
    let tokens = String::from_utf8_lossy(&tokens.stdout).into_owned();
    assert!(
        tokens
            .lines()
            .any(|l| l.contains(&final_token) && l.contains("revoked")),
        "{tokens}"
    );
    assert!(!tokens.contains(&temporary), "{tokens}");
    let devices = cli(&data, &["devices", "list"]);
    assert!(
        String::from_utf8_lossy(&devices.stdout).contains("tw-ui-1"),
        "the device stayed: its deletion was refused"
    );
    let audit = cli(&data, &["audit", "--actor", "alice", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    for action in [
        "setting.change",
        "webservices.consumer.create",
        "webservices.token.approve",
        "webservices.token.renew",
        "webservices.token.revoke",
    ] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
    // The refused forms changed nothing: the consumer is still there.
    let consumers = cli(&data, &["webservices", "consumers", "list"]);
    assert!(String::from_utf8_lossy(&consumers.stdout).contains(CONSUMER));
}
