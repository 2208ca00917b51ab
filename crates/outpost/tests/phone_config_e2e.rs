//! The phone configuration service (issue 15 item 2) with real clients: a
//! running `outpost serve` listens on `[web] port` (4445) of its public
//! address with the gateway's certificate; `curl` with a Mitel phone's
//! User-Agent fetches its `<MAC>.cfg`, the global file and the extra file
//! (`ca.pem`) over TLS 1.2+
//! under the hash key, gets 304 for a matching ETag and 404 for a wrong
//! key; the inventory then lists the phone with the User-Agent's model and
//! firmware; a source guessing keys is denied (SEC-5) and gets nothing,
//! and so is one asking, under the right key, for the files of more than
//! the threshold of distinct unknown MACs.
//! Runs on 127.0.71.x (see `support`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::Outpost;

const AGENT: &str = "Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP";
/// The phone's own address, so the inventory's source can be checked.
const PHONE_IP: &str = "127.0.71.9";

/// The CLI on the running server's data directory.
fn cli(data: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("--data-dir").arg(data).args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("OUTPOST_") {
            cmd.env_remove(var);
        }
    }
    let out = cmd.output().expect("run outpost");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `curl` over TLS 1.2 or later (the certificate is self-signed: -k),
/// printing the status code last; `extra` adds options.
fn curl(url: &str, extra: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "-k", "--tlsv1.2", "--max-time", "10", "-A", AGENT])
        .args(["--interface", PHONE_IP])
        .args(["-D", "-", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl")
}

fn status(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn phones_fetch_their_files_under_the_hash_and_land_in_the_inventory() {
    let outpost = Outpost::start(71, &[]);
    let data = outpost.data_dir();
    let shown = cli(&data, &["provisioning", "hash", "show", "--json"]);
    let hash: serde_json::Value = serde_json::from_str(shown.trim()).unwrap();
    let hash = hash["hash"].as_str().unwrap().to_owned();

    let dir = tempfile::tempdir().unwrap();
    let phones = dir.path().join("phones.csv");
    std::fs::write(
        &phones,
        "MAC_ADDRESS;!sip line1 user name;sip line1 password\n00-08-5D-23-74-29;7000;pw-7000-x\n",
    )
    .unwrap();
    cli(&data, &["provisioning", "import", phones.to_str().unwrap()]);
    let global = dir.path().join("global.csv");
    std::fs::write(&global, "PARAMETERS;VALUE\ntime server disabled;0\n").unwrap();
    cli(
        &data,
        &["provisioning", "import-global", global.to_str().unwrap()],
    );

    let extra = dir.path().join("ca.pem");
    std::fs::write(&extra, "-----BEGIN CERTIFICATE-----\n").unwrap();
    cli(
        &data,
        &["provisioning", "upload-extra", extra.to_str().unwrap()],
    );

    let base = format!("https://{}:4445", outpost.ip);
    let phone = curl(&format!("{base}/{hash}/00085D237429.cfg"), &[]);
    let text = String::from_utf8_lossy(&phone.stdout).into_owned();
    assert_eq!(
        status(&phone),
        "200",
        "{text}{}",
        String::from_utf8_lossy(&phone.stderr)
    );
    assert!(text.contains("!sip line1 user name: 7000"), "{text}");
    let etag = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("etag: ")
                .or_else(|| l.strip_prefix("ETag: "))
        })
        .expect("an ETag")
        .trim()
        .to_owned();
    let again = curl(
        &format!("{base}/{hash}/00085D237429.cfg"),
        &["-H", &format!("If-None-Match: {etag}")],
    );
    assert_eq!(status(&again), "304");

    let aastra = curl(&format!("{base}/{hash}/aastra.cfg"), &[]);
    assert_eq!(status(&aastra), "200");
    assert!(String::from_utf8_lossy(&aastra.stdout).contains("time server disabled: 0"));

    let ca = curl(&format!("{base}/{hash}/ca.pem"), &[]);
    assert_eq!(status(&ca), "200");
    assert!(String::from_utf8_lossy(&ca.stdout).contains("BEGIN CERTIFICATE"));

    // TLS 1.1 and older are refused.
    let old = Command::new("curl")
        .args([
            "-sS",
            "-k",
            "--tlsv1.1",
            "--tls-max",
            "1.1",
            "-o",
            "/dev/null",
        ])
        .arg(format!("{base}/{hash}/aastra.cfg"))
        .output()
        .unwrap();
    assert!(!old.status.success(), "TLS 1.1 must be refused");

    let wrong = curl(&format!("{base}/{}/00085D237429.cfg", "0".repeat(32)), &[]);
    assert_eq!(status(&wrong), "404");
    assert!(!String::from_utf8_lossy(&wrong.stdout).contains("7000"));
    assert_eq!(status(&curl(&format!("{base}/"), &[])), "404");

    let inventory = cli(&data, &["provisioning", "inventory", "list", "--json"]);
    let row: serde_json::Value = serde_json::from_str(inventory.lines().next().unwrap()).unwrap();
    assert_eq!(row["mac"], "00085D237429", "{inventory}");
    assert_eq!(row["model"], "6867i");
    assert_eq!(row["firmware"], "6.3.0.1020");
    assert_eq!(row["address"], PHONE_IP);
    assert_eq!(
        row["downloads"], 4,
        "the .cfg, its 304 check, aastra.cfg and ca.pem: {inventory}"
    );
    assert!(
        !outpost.log_text().contains(&hash),
        "the hash key is never logged"
    );

    // Guessing keys is SEC-5 enumeration: after the default threshold (10
    // distinct guesses) the source is denied and gets nothing, not even a
    // TLS handshake, while the phone's address is still served.
    let guesser = |key: String| {
        Command::new("curl")
            .args([
                "-sS",
                "-k",
                "--max-time",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args(["--interface", "127.0.71.8"])
            .arg(format!("{base}/{key}/aastra.cfg"))
            .output()
            .unwrap()
    };
    for n in 0..11 {
        let out = guesser(format!("{n:032x}"));
        let code = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(code, "404", "guess {n}");
    }
    let denied = guesser("0".repeat(32));
    assert_eq!(
        String::from_utf8_lossy(&denied.stdout),
        "000",
        "no answer at all"
    );
    assert_eq!(
        status(&curl(&format!("{base}/{hash}/aastra.cfg"), &[])),
        "200"
    );
    // Denied for SIP too: an OPTIONS from the guesser gets nothing, while
    // the same request from the phone's address is answered.
    let sip = outpost.addr(5060);
    let ask = |from: &str, call_id: &str| {
        let socket = std::net::UdpSocket::bind((from, 0)).unwrap();
        socket
            .set_read_timeout(Some(std::time::Duration::from_secs(3)))
            .unwrap();
        let request = support::options("UDP", socket.local_addr().unwrap(), call_id);
        socket.send_to(request.as_bytes(), sip).unwrap();
        let mut buf = [0u8; 4096];
        socket
            .recv_from(&mut buf)
            .ok()
            .and_then(|(n, _)| support::status_of(&buf[..n]))
    };
    assert!(
        ask(PHONE_IP, "phone-options").is_some(),
        "the phone's address gets an answer"
    );
    assert_eq!(
        ask("127.0.71.8", "guesser-options"),
        None,
        "the guesser gets none"
    );
    // Under the right key, asking for the files of phones Outpost does not
    // know is enumeration too (a third address): more than the threshold
    // of distinct unknown MACs denies the source.
    let scanner = |n: u32| {
        Command::new("curl")
            .args(["-sS", "-k", "--max-time", "5", "-o", "/dev/null"])
            .args(["-w", "%{http_code}", "--interface", "127.0.71.7"])
            .arg(format!("{base}/{hash}/00085D{n:06X}.cfg"))
            .output()
            .unwrap()
    };
    for n in 0..11 {
        assert_eq!(
            String::from_utf8_lossy(&scanner(n).stdout),
            "404",
            "MAC {n}"
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&scanner(99).stdout),
        "000",
        "an enumerating source gets no answer at all"
    );
    // The guard's task persists the entry shortly after (SEC-10).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let listed = cli(&data, &["guard", "deny", "list"]);
        if listed.contains("127.0.71.8") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not persisted: {listed}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
