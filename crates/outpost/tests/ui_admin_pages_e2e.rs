//! The admin web UI's certificates, administrators and API tokens, and
//! audit pages in a real browser (issue 18): a real `outpost serve` on
//! 127.0.102.0/24 (admin listener `https://127.0.102.3:9464`), and
//! `tests/ui/admin_pages.py`, Playwright (PyPI) driving Debian's Chromium
//! headless: import a PEM certificate (after a refused one, shown next to
//! its field), assign it to web-services and see it listed there, upload a
//! PKCS#12 file, a delete refused while in use, an ACME request to a CA
//! that does not answer (its state, error and next try listed, then
//! forgotten), add an account, create an API token (shown once, working)
//! and revoke it, filter the audit log by `certificate.`; the pages at
//! phone size and every form refused without its CSRF token; no console
//! error, failed request, unexpected HTTP error or CSP violation, a
//! screenshot of each page under `target/ui-screenshots/admin_pages/`.
//! Then the CLI, over the same data directory, sees what the browser did.
//!
//! Needs `OUTPOST_PYTHON` (a Python with `playwright`, scripts/test.sh sets
//! it) and `/usr/bin/chromium`; without them the test fails as root (CI)
//! and is skipped otherwise, like the other end-to-end tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use support::Outpost;

/// This test's loopback block: 127.0.102.1 public, .2 private, .3 admin;
/// .9 is an ACME directory nobody answers on.
const NET: u8 = 102;
const ADMIN_URL: &str = "https://127.0.102.3:9464";
const ACME_DIRECTORY: &str = "https://127.0.102.9:14000/dir";
const TOKEN_LINE: &str = "Administrator setup token (shown only this once): ";
const CHROMIUM: &str = "/usr/bin/chromium";
const HOST: &str = "sbc.example.test";
const P12_PASS: &str = "P12-UI-Pass-Secret-1";
/// The whole browser session, at most.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(300);

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
    let why = if !found {
        format!(
            "{python} has no playwright: run scripts/test.sh (it installs it), or `pip install \
             playwright` and set OUTPOST_PYTHON"
        )
    } else if !Path::new(CHROMIUM).exists() {
        format!("no {CHROMIUM}: run scripts/test.sh, or `apt-get install chromium`")
    } else {
        return Some(python);
    };
    if outpost_testbed::skip_e2e() {
        return None;
    }
    panic!("{why}");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A leaf for [`HOST`] signed by "UI Test CA", valid until 2040: the chain
/// and the key as PEM.
fn material() -> (String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "UI Test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut params = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, HOST);
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, &issuer).unwrap();
    (format!("{}{}", leaf.pem(), ca.pem()), key.serialize_pem())
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
fn browse(python: &str, args: &[&str], screenshots: &Path) -> (bool, String, String) {
    let mut child = Command::new(python)
        .arg(workspace().join("tests/ui/admin_pages.py"))
        .args(args)
        .arg("--screenshots")
        .arg(screenshots)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/ui/admin_pages.py");
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

#[test]
fn certificates_accounts_tokens_and_the_audit_log_in_chromium() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (chain, key) = material();
    let pem_file = work.path().join("company.pem");
    std::fs::write(&pem_file, format!("{chain}{key}")).unwrap();
    std::fs::write(work.path().join("chain.pem"), &chain).unwrap();
    std::fs::write(work.path().join("key.pem"), &key).unwrap();
    let out = Command::new("openssl")
        .args(["pkcs12", "-export", "-in", "chain.pem", "-inkey", "key.pem"])
        .args(["-out", "portal.p12", "-passout"])
        .arg(format!("pass:{P12_PASS}"))
        .current_dir(work.path())
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{out:?}");

    let outpost = Outpost::start(NET, &[]);
    let token = setup_token(&outpost);
    let screenshots = workspace().join("target/ui-screenshots/admin_pages");
    let _ = std::fs::remove_dir_all(&screenshots);
    let p12_file = work.path().join("portal.p12");
    let (ok, out, err) = browse(
        &python,
        &[
            "--base-url",
            ADMIN_URL,
            "--setup-token",
            &token,
            "--pem-file",
            pem_file.to_str().unwrap(),
            "--p12-file",
            p12_file.to_str().unwrap(),
            "--p12-password",
            P12_PASS,
            "--acme-directory",
            ACME_DIRECTORY,
        ],
        &screenshots,
    );
    assert!(
        ok,
        "the browser session failed:\n{out}\n{err}\noutpost's log:\n{}",
        outpost.log_text()
    );
    assert!(out.contains("\"done\": true"), "{out}");
    let shots = std::fs::read_dir(&screenshots).unwrap().count();
    assert!(
        shots >= 15,
        "{shots} screenshots in {}",
        screenshots.display()
    );

    // What the browser did is on the gateway, audited as the administrator.
    let data = outpost.data_dir();
    let list = cli(&data, &["certs", "list", "--json"]);
    assert!(list.status.success(), "{list:?}");
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        list.contains("\"company\"") && list.contains("web-services"),
        "{list}"
    );
    assert!(!list.contains("\"portal\""), "portal was deleted: {list}");
    let audit = cli(&data, &["audit", "--actor", "alice", "--json"]);
    assert!(audit.status.success(), "{audit:?}");
    let audit = String::from_utf8_lossy(&audit.stdout).into_owned();
    for action in [
        "certificate.import",
        "certificate.assign",
        "certificate.delete",
        "certificate.acme_request",
        "certificate.renew",
        "certificate.acme_forget",
        "admin.create",
        "token.create",
        "token.revoke",
    ] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
    for secret in [P12_PASS, &key[40..80]] {
        assert!(!audit.contains(secret), "a secret in the audit log");
    }
    // The refused forms changed nothing: one import of company, no account
    // but alice and bob.
    assert_eq!(
        audit.matches("\"certificate.import\"").count(),
        2,
        "{audit}"
    );
    let admins = cli(&data, &["admin", "list", "--json"]);
    let admins = String::from_utf8_lossy(&admins.stdout).into_owned();
    assert!(
        admins.contains("\"bob\"") && admins.matches("\"name\"").count() == 2,
        "{admins}"
    );
}
