//! SIPp, a real SIP peer, sends OPTIONS to `outpost serve` over UDP, TCP
//! and TLS and must get 200 with Allow, Supported and Accept every time.
//!
//! Debian's SIPp is built without TLS, so for TLS SIPp talks TCP to a local
//! stunnel client that carries it over TLS 1.2+ to Outpost's TLS port and
//! verifies Outpost's self-signed certificate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Outpost;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/e2e/sipp/options.xml"
);
const CALLS: &str = "20";

fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed; scripts/test.sh installs it"
    );
}

/// Runs SIPp to `target` over `transport` (`u1` or `t1`) from `local_ip`;
/// panics with SIPp's error log unless every OPTIONS got its 200.
fn sipp(dir: &Path, target: &str, transport: &str, local_ip: &str) {
    let out = Command::new("sipp")
        .current_dir(dir)
        .args([
            "-sf", SCENARIO, target, "-t", transport, "-i", local_ip, "-p", "5060",
        ])
        .args([
            "-m",
            CALLS,
            "-r",
            "50",
            "-timeout",
            "20s",
            "-timeout_error",
            "-nostdin",
        ])
        .args(["-trace_err", "-trace_stat"])
        .stdin(Stdio::null())
        .output()
        .expect("run sipp");
    let errors: String = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with("_errors.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(
        out.status.success(),
        "sipp over {transport} to {target} failed ({}):\n{}\n{}\n{errors}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sipp_options_over_udp_and_tcp() {
    require("sipp");
    let _outpost = Outpost::start(49, &[]);
    let dir = tempfile::tempdir().unwrap();
    sipp(dir.path(), "127.0.49.1:5060", "u1", "127.0.49.10");
    sipp(dir.path(), "127.0.49.1:5060", "t1", "127.0.49.11");
    // And the private side answers too.
    sipp(dir.path(), "127.0.49.2:5060", "u1", "127.0.49.12");
}

struct Stunnel(Child);

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sipp_options_over_tls() {
    require("sipp");
    require("stunnel");
    let mut outpost = Outpost::start(50, &[]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stunnel.log");
    let conf = dir.path().join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\noutput = {}\ndebug = info\n[sip]\nclient = yes\naccept = 127.0.50.20:5070\nconnect = 127.0.50.1:5063\nCAfile = {}\nverifyChain = yes\ncheckIP = 127.0.50.1\nsslVersionMin = TLSv1.2\n",
            log.display(),
            outpost.data_dir().join("tls/default.crt").display()
        ),
    )
    .unwrap();
    let child = Command::new("stunnel")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start stunnel");
    let _stunnel = Stunnel(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("Configuration successful")
    {
        assert!(
            Instant::now() < deadline,
            "stunnel did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let before_sipp = outpost.log_cursor();
    sipp(dir.path(), "127.0.50.20:5070", "t1", "127.0.50.10");
    outpost.wait_for_log_after(
        before_sipp,
        "TLS handshake complete",
        Duration::from_secs(5),
    );
    let stunnel_log = std::fs::read_to_string(&log).unwrap_or_default();
    for needle in ["Certificate accepted", "TLS connected", "TLSv1.3"] {
        assert!(
            stunnel_log.contains(needle),
            "{needle} missing:\n{stunnel_log}"
        );
    }
}
