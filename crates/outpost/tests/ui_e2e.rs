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
//! And on the namespace test bed (root), the acceptance's live status: a
//! device added in the browser turns "registered" on the devices page, and
//! the dashboard's count goes up, each within 3 s of its baresip phone
//! registering through Outpost to Kamailio, without a reload:
//!
//!   phone (198.18.0.20) ─ inet ─ (198.18.0.10) Outpost (198.18.2.10) ─ lan
//!     ─ Kamailio (198.18.2.20); Chromium in Outpost's namespace, on the
//!     admin listener (http://127.0.0.1:9464, as the test bed configures it)
//!
//! Needs `OUTPOST_PYTHON` (scripts/test.sh sets it: a Python with
//! `playwright`) and `/usr/bin/chromium` (scripts/test.sh installs
//! Debian's). Without them the tests fail as root (CI), and are skipped
//! otherwise, like the other end-to-end tests; the registration test needs
//! root for its namespaces.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use outpost_testbed::{Ipbx, IpbxConfig, Lab, OutpostNode, OutpostSpec, Phone, PhoneConfig};
use support::Outpost;

/// This test's loopback block: 127.0.97.1 public, .2 private, .3 admin.
const NET: u8 = 97;
const ADMIN_URL: &str = "https://127.0.97.3:9464";
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The whole browser session, at most.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);
/// A step of the registration scenario, at most.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The teleworker of the registration test: set side, then ICP side.
const PHONE: (&str, &str, &str, &str) = ("tw-4001", "Set-side-Secret-4001", "1001", "alpha-1001");

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

/// The Python with Playwright, or `None` when the test is to be skipped
/// (`OUTPOST_SKIP_E2E=1`, or tools missing when not root: recorded as
/// skipped); panics when tools are missing as root.
fn python_or_skip(needs_root: bool) -> Option<String> {
    if (needs_root || std::env::var(outpost_testbed::SKIP_ENV).is_ok_and(|v| v == "1"))
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

/// Runs the browser script, echoing its lines; kills it past the timeout.
fn browse(python: &str, token: &str, screenshots: &Path) -> (bool, String, String) {
    let mut child = Command::new(python)
        .arg(workspace().join("tests/ui/admin_ui.py"))
        .args([
            "--base-url",
            ADMIN_URL,
            "--setup-token",
            token,
            "--scenario",
            "tour",
        ])
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
    // Loopback only: no root needed, it runs wherever its tools are.
    let Some(python) = python_or_skip(false) else {
        return;
    };
    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let screenshots = workspace().join("target/ui-screenshots/tour");
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

/// Lines of the script's standard output, as they come (echoed).
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("browser: {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The next JSON line whose `step` is `step`; panics with the script's
/// stderr if it ends or says nothing in time.
fn wait_step(lines: &mpsc::Receiver<String>, child: &mut Child, step: &str) -> serde_json::Value {
    loop {
        match lines.recv_timeout(STEP_TIMEOUT) {
            Ok(line) => {
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if value["step"] == step {
                    return value;
                }
                assert!(value.get("problems").is_none(), "{value}");
            }
            Err(e) => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                let _ = child.wait();
                panic!("no step {step:?} from the browser ({e}); its stderr:\n{err}");
            }
        }
    }
}

#[test]
fn a_device_added_in_the_browser_turns_registered_when_its_phone_registers() {
    let Some(python) = python_or_skip(true) else {
        return;
    };
    let lab = Lab::new("adminui").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let phone_host = lab.host("phone", &inet, 20).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();
    let ipbx = Ipbx::start(
        &pbx_host,
        IpbxConfig::new([(PHONE.2, PHONE.3)]).realm("ipbx.test"),
    )
    .unwrap();
    let mut outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: String::new(),
            env: vec![],
        },
    )
    .unwrap();
    let issued = outpost.cli(&["admin", "setup-token", "--new"]).unwrap();
    let token = issued
        .lines()
        .find_map(|l| l.strip_prefix(TOKEN_LINE))
        .unwrap_or_else(|| panic!("no token in {issued}"))
        .trim()
        .to_owned();
    let screenshots = workspace().join("target/ui-screenshots/registration");
    let _ = std::fs::remove_dir_all(&screenshots);

    // The browser, in Outpost's namespace (the admin listener is on its
    // loopback), adds the device on the test bed's ICP `ipbx`.
    let mut cmd = gw.command(&python);
    cmd.arg(workspace().join("tests/ui/admin_ui.py"))
        .args([
            "--base-url",
            "http://127.0.0.1:9464",
            "--setup-token",
            &token,
        ])
        .arg("--screenshots")
        .arg(&screenshots)
        .args(["--scenario", "registration", "--device", PHONE.0])
        .args(["--device-password", PHONE.1, "--icp-user", PHONE.2])
        .args(["--icp-password", PHONE.3, "--icp", "ipbx"])
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut browser = cmd.spawn().expect("run tests/ui/admin_ui.py");
    let lines = lines_of(&mut browser);
    wait_step(&lines, &mut browser, "ready");

    // The SIP core picks the new device up with its next directory load;
    // then the phone registers through Outpost to Kamailio.
    outpost
        .process()
        .wait_for_log("devices=1 icps=1", STEP_TIMEOUT)
        .unwrap();
    let phone = Phone::start(
        &phone_host,
        PhoneConfig::new(PHONE.0, PHONE.1, outpost.public_plain()),
    )
    .unwrap();
    phone.wait_registered(STEP_TIMEOUT).unwrap();
    let mut stdin = browser.stdin.take().unwrap();
    writeln!(stdin, "registered").unwrap();
    stdin.flush().unwrap();
    let seen = wait_step(&lines, &mut browser, "registered");
    println!("the browser saw the registration: {seen}");
    for key in ["devices_ms", "dashboard_ms"] {
        let ms = seen[key].as_u64().unwrap_or(u64::MAX);
        assert!(ms <= 3000, "{key} = {ms} ms: {seen}");
    }
    let status = browser.wait().unwrap();
    let mut err = String::new();
    if let Some(mut stderr) = browser.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
    }
    assert!(status.success(), "the browser session failed: {err}");
    drop(phone);
}
