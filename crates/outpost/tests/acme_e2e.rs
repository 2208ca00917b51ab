//! ACME end to end (issue 17, acceptance "ACME against Pebble"): a real
//! `outpost serve` with `fqdn = "sbc.acme.test"` obtains a certificate for
//! its FQDN from Pebble through HTTP-01, the name resolved by the test
//! bed's DNS (dnsmasq: sbc.acme.test → Outpost's public address), serves it
//! on SIP TLS and on the web services port, and renews it; `openssl
//! s_client` sees each. Then:
//! - the served leaves are issued by Pebble's intermediate and verify with
//!   a CA file made of Pebble's root and intermediate, for the name;
//! - the admin listener (a usage not asked for) still presents the default
//!   certificate;
//! - "renew now" gives a new leaf (another serial and fingerprint), seen on
//!   both ports;
//! - `outpost_acme_orders_total{result="issued"}` is 2 on `/metrics`, and
//!   the audit log (`outpost audit`) has both `certificate.acme_issued`
//!   entries (actor `system`) and the CLI's request and renewal;
//! - a request for a name the DNS does not know (nowhere.acme.test) ends
//!   `failed` with an error naming it, counted as `result="failed"` and
//!   audited as `certificate.acme_failed`; the served certificate and the
//!   usage assignments do not change.
//!
//! The request and "renew now" are `outpost certs request` and `outpost
//! certs renew` (they write the request files); the running gateway
//! carries them out; the test reads the request's status file. Outpost
//! runs on 127.0.96.x (see `support`): .1 public (SIP TLS 5063, web services 4445, the HTTP-01
//! responder on Pebble's `httpPort`), .3 admin (9464). Pebble and dnsmasq
//! listen on 127.0.0.1 ports of their own (`outpost_testbed::acme_ca`).
//! Every wait polls with a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use outpost_certs::acme_requests::{AcmeRequests, AcmeStatus};
use outpost_certs::store::{CertStore, Usage};
use outpost_testbed::acme_ca::AcmeTestCa;
use outpost_testbed::wait::wait_until_or;
use outpost_testbed::{metric_sum, require_tools, skip_e2e, wait_until};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};
use support::Outpost;

const NET: u8 = 96;
const FQDN: &str = "sbc.acme.test";
const NOWHERE: &str = "nowhere.acme.test";
const SIP_TLS_PORT: u16 = 5063;
const WEB_PORT: u16 = 4445;
const ADMIN_PORT: u16 = 9464;
const ISSUED: &str = "outpost_acme_orders_total{result=\"issued\"}";
const FAILED: &str = "outpost_acme_orders_total{result=\"failed\"}";
/// An order: the 2 s look at the requests, then Pebble (well under 1 s).
const ORDER: Duration = Duration::from_secs(60);
/// A new certificate reaches the listeners within
/// `certs::FILE_CHECK_INTERVAL` (5 s), or one interval later.
const SWITCH: Duration = Duration::from_secs(30);

/// The leaf certificate a TLS listener presented.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    subject: String,
    issuer: String,
    serial: String,
    sha256: String,
    /// `openssl s_client -CAfile ... -verify_hostname` said `0 (ok)`.
    verified: bool,
}

/// What `openssl s_client` gets from `addr` for SNI `sbc.acme.test`,
/// verified against `ca_file`; `Err` with its output when it got no
/// certificate.
fn served(addr: SocketAddr, ca_file: &Path) -> Result<Leaf, String> {
    let out = Command::new("openssl")
        .arg("s_client")
        .arg("-connect")
        .arg(addr.to_string())
        .args(["-servername", FQDN, "-verify_hostname", FQDN, "-showcerts"])
        .arg("-CAfile")
        .arg(ca_file)
        .stdin(Stdio::null())
        .output()
        .expect("openssl s_client runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let der = CertificateDer::pem_slice_iter(text.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| {
            format!(
                "openssl s_client -connect {addr} got no certificate ({}):\n{text}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    Ok(Leaf {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: cert.raw_serial_as_string(),
        sha256: hex::encode(Sha256::digest(&der)),
        verified: text.contains("Verify return code: 0 (ok)"),
    })
}

/// Polls what `addr` presents until `wanted` holds; the last leaf seen is
/// in the timeout message.
fn wait_served(
    outpost: &Outpost,
    addr: SocketAddr,
    ca_file: &Path,
    what: &str,
    wanted: impl Fn(&Leaf) -> bool,
) -> Leaf {
    wait_until_or(
        &format!("{addr} to present {what}"),
        SWITCH,
        |note| match served(addr, ca_file) {
            Ok(leaf) if wanted(&leaf) => Ok(Some(leaf)),
            Ok(leaf) => {
                *note = format!("last presented: {leaf:?}");
                Ok(None)
            }
            Err(e) => {
                *note = e;
                Ok(None)
            }
        },
        || format!("outpost log:\n{}", tail(&outpost.log_text())),
    )
    .unwrap()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// `/metrics` from the admin listener (HTTPS with the default, self-signed
/// certificate: its identity is checked with `s_client` separately).
fn metrics(outpost: &Outpost) -> String {
    let url = format!("https://{}:{ADMIN_PORT}/metrics", admin_ip());
    let out = Command::new("curl")
        .args(["-sS", "--insecure", "--max-time", "5", &url])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "GET {url}: {}\noutpost log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        tail(&outpost.log_text())
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn admin_ip() -> IpAddr {
    IpAddr::from([127, 0, NET, 3])
}

/// `outpost --data-dir DATA ARGS`.
fn outpost_cli(data: &Path, args: &[&str]) -> Output {
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

fn unix_now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// `outpost certs request NAME` for `domain` from `ca`, answered with
/// HTTP-01 on Pebble's `httpPort`, for the public SIP and web services
/// usages.
fn request(data: &Path, requests: &AcmeRequests, ca: &AcmeTestCa, name: &str, domain: &str) {
    let port = ca.http_port().to_string();
    let out = outpost_cli(
        data,
        &[
            "certs",
            "request",
            name,
            "--domain",
            domain,
            "--directory",
            ca.directory_url(),
            "--email",
            "noc@acme.test",
            "--challenge",
            "http-01",
            "--port",
            &port,
            "--ca-file",
            ca.https_ca_file().to_str().unwrap(),
            "--usage",
            "sip-public",
            "--usage",
            "web-services",
        ],
    );
    assert!(out.status.success(), "outpost certs request: {out:?}");
    let saved = requests.get(name).unwrap();
    assert_eq!(saved.domains, [domain]);
    assert_eq!(saved.port, ca.http_port());
    assert_eq!(saved.usages, [Usage::SipPublic, Usage::WebServices]);
}

/// `outpost certs renew NAME`: "renew now".
fn renew(data: &Path, name: &str) {
    let out = outpost_cli(data, &["certs", "renew", name]);
    assert!(out.status.success(), "outpost certs renew: {out:?}");
}

/// Waits until request `name`'s status is `state` after an attempt made
/// at or after `since`; a different final state fails at once.
fn wait_status(
    outpost: &Outpost,
    ca: &AcmeTestCa,
    requests: &AcmeRequests,
    name: &str,
    state: &str,
    since: i64,
) -> AcmeStatus {
    wait_until_or(
        &format!("ACME request {name} to be {state}"),
        ORDER,
        |note| {
            let status = requests.status(name);
            *note = format!("status: {status:?}");
            if status.last_attempt.is_none_or(|t| t < since) || status.state == "pending" {
                return Ok(None);
            }
            assert_eq!(
                status.state,
                state,
                "request {name}: {status:?}\noutpost log:\n{}\n{}",
                tail(&outpost.log_text()),
                ca.diagnostics()
            );
            Ok(Some(status))
        },
        || {
            format!(
                "outpost log:\n{}\n{}",
                tail(&outpost.log_text()),
                ca.diagnostics()
            )
        },
    )
    .unwrap()
}

/// The audit entries of `action` (newest first), via `outpost audit`.
fn audit(data: &Path, action: &str) -> Vec<serde_json::Value> {
    let out = outpost_cli(data, &["audit", "--action", action, "--json"]);
    assert!(out.status.success(), "outpost audit: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["action"] == action)
        .collect()
}

#[test]
fn outpost_obtains_serves_and_renews_its_certificate_from_pebble() {
    if skip_e2e() {
        return;
    }
    require_tools(
        &["pebble", "dnsmasq", "openssl", "curl"],
        "the ACME end-to-end test (Debian packages pebble, dnsmasq-base, openssl, curl)",
    )
    .unwrap();
    let started = Instant::now();
    let public = IpAddr::from([127, 0, NET, 1]);
    let mut ca = AcmeTestCa::start(&[(FQDN, public)]).unwrap();
    let outpost = Outpost::start(NET, &[("OUTPOST_FQDN", FQDN)]);
    let data = outpost.data_dir();
    let certs = CertStore::new(data.join("tls"));
    let requests = AcmeRequests::of(&certs);
    let issuers = ca.issuers_file().unwrap();
    let intermediate = CertificateDer::from_pem_slice(ca.intermediate_pem().unwrap().as_bytes())
        .expect("Pebble's intermediate (PEM)");
    let pebble_issuer = x509_parser::parse_x509_certificate(&intermediate)
        .unwrap()
        .1
        .subject()
        .to_string();
    let (sip, web, admin) = (
        SocketAddr::new(public, SIP_TLS_PORT),
        SocketAddr::new(public, WEB_PORT),
        SocketAddr::new(admin_ip(), ADMIN_PORT),
    );

    // Before: the default, self-signed certificate everywhere.
    let default = served(sip, &issuers).unwrap();
    assert!(default.subject.contains(FQDN), "{default:?}");
    assert_ne!(default.issuer, pebble_issuer, "{default:?}");
    assert!(
        !default.verified,
        "Pebble's CA file verifies only Pebble's leaves: {default:?}"
    );
    assert_eq!(served(web, &issuers).unwrap(), default);
    assert_eq!(served(admin, &issuers).unwrap().sha256, default.sha256);
    let usages_before = certs.assignments().unwrap();

    // The request; the running gateway orders, installs and assigns it.
    let asked = unix_now();
    request(&data, &requests, &ca, "acme", FQDN);
    let first = wait_status(&outpost, &ca, &requests, "acme", "valid", asked);
    println!(
        "issued after {:?} (test start): {first:?}",
        started.elapsed()
    );
    assert_eq!(first.last_error, None);
    assert!(first.not_after.is_some_and(|t| t > unix_now()), "{first:?}");
    assert!(
        ca.dns_log_text().contains(&format!("query[A] {FQDN}")),
        "Pebble resolved the name through the test bed's DNS:\n{}",
        ca.dns_log_text()
    );
    let pebble_leaf = |l: &Leaf| l.issuer == pebble_issuer && l.verified;
    let issued = wait_served(&outpost, sip, &issuers, "Pebble's leaf", pebble_leaf);
    // Pebble 2.4 puts the name in the CN; a CA may leave the subject
    // empty (the name is in the SAN, which -verify_hostname checked).
    assert!(
        issued.subject.contains(FQDN) || issued.subject.is_empty(),
        "{issued:?}"
    );
    assert_eq!(
        wait_served(&outpost, web, &issuers, "Pebble's leaf", pebble_leaf),
        issued,
        "web services present the same certificate as SIP TLS"
    );
    println!(
        "served on SIP TLS and web services after {:?}: {issued:?}",
        started.elapsed()
    );
    // The admin usage was not asked for: still the default certificate.
    assert_eq!(served(admin, &issuers).unwrap().sha256, default.sha256);
    let usages = certs.assignments().unwrap();
    for usage in [Usage::SipPublic, Usage::WebServices] {
        assert_eq!(
            usages.get(&usage).and_then(|names| names.first()),
            Some(&"acme".to_owned()),
            "{usage} presents acme first: {usages:?}"
        );
    }
    assert_eq!(usages.get(&Usage::Admin), usages_before.get(&Usage::Admin));

    // Renew now: a new leaf on both ports.
    let renew_asked = unix_now();
    renew(&data, "acme");
    let renewed = wait_served(&outpost, sip, &issuers, "a renewed Pebble leaf", |l| {
        pebble_leaf(l) && l.sha256 != issued.sha256
    });
    assert_ne!(renewed.serial, issued.serial);
    assert_eq!(
        wait_served(&outpost, web, &issuers, "the renewed leaf", |l| l.sha256
            == renewed.sha256),
        renewed
    );
    let second = wait_status(&outpost, &ca, &requests, "acme", "valid", renew_asked);
    assert_eq!(second.failures, 0, "{second:?}");
    assert_eq!(served(admin, &issuers).unwrap().sha256, default.sha256);
    println!("renewed after {:?}: {renewed:?}", started.elapsed());
    let text = metrics(&outpost);
    assert_eq!(metric_sum(&text, ISSUED), 2.0, "{text}");
    assert_eq!(metric_sum(&text, FAILED), 0.0, "{text}");
    let issued_entries = audit(&data, "certificate.acme_issued");
    assert_eq!(issued_entries.len(), 2, "{issued_entries:?}");
    for entry in &issued_entries {
        assert_eq!(entry["actor"], "system", "{entry}");
        assert_eq!(entry["target"], "acme", "{entry}");
    }
    // What the CLI asked is audited too (as the local user).
    for action in ["certificate.acme_request", "certificate.renew"] {
        let entries = audit(&data, action);
        assert!(
            entries.len() == 1
                && entries[0]["target"] == "acme"
                && entries[0]["actor"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("cli:")),
            "{action}: {entries:?}"
        );
    }

    // A name the DNS does not know: the order fails, nothing changes.
    let asked = unix_now();
    request(&data, &requests, &ca, "nowhere", NOWHERE);
    let failed = wait_status(&outpost, &ca, &requests, "nowhere", "failed", asked);
    let error = failed.last_error.clone().unwrap_or_default();
    assert!(error.contains(NOWHERE), "{failed:?}");
    assert!(
        failed.next_attempt.is_some_and(|t| t > asked),
        "back-off: {failed:?}"
    );
    println!("failed after {:?}: {error}", started.elapsed());
    let text = wait_until(
        "the failed order on /metrics",
        Duration::from_secs(10),
        || {
            let text = metrics(&outpost);
            Ok((metric_sum(&text, FAILED) >= 1.0).then_some(text))
        },
    )
    .unwrap();
    assert_eq!(metric_sum(&text, ISSUED), 2.0, "{text}");
    let failed_entries = audit(&data, "certificate.acme_failed");
    assert!(
        failed_entries
            .iter()
            .any(|e| e["target"] == "nowhere" && e["actor"] == "system"),
        "{failed_entries:?}"
    );
    assert!(certs.load("nowhere").is_err(), "no certificate installed");
    assert_eq!(
        certs.assignments().unwrap(),
        usages,
        "assignments unchanged"
    );
    assert_eq!(served(sip, &issuers).unwrap(), renewed);
    assert_eq!(served(web, &issuers).unwrap(), renewed);
    assert_eq!(served(admin, &issuers).unwrap().sha256, default.sha256);
    ca.ensure_running().unwrap();
    println!("done in {:?}", started.elapsed());
}
