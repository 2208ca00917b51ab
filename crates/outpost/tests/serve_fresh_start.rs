//! `outpost serve` on a fresh machine, with no argument and no configuration:
//! run in a network namespace of its own so that the default ports (5063,
//! 5064, 127.0.0.1:9464) are really the defaults, and checked from inside
//! that namespace with third-party clients (openssl s_client, curl): the
//! SIP TLS ports and the admin listener's HTTPS.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use outpost_testbed::{Host, Lab, require_tools, skip_e2e};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const TOKEN_BANNER: &str = "Administrator setup token (shown only this once): ";

fn serve(host: &Host, workdir: &Path) -> Command {
    let mut cmd = host.command(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("serve").current_dir(workdir).env_clear().env(
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    cmd
}

/// Runs an openssl TLS handshake to `target` from inside `host`, verifying
/// the certificate against `ca` for `name`. Returns (succeeded, output).
fn tls_handshake(
    host: &Host,
    target: &str,
    ca: &Path,
    name: &str,
    extra: &[&str],
) -> (bool, String) {
    let out = host
        .command("openssl")
        .args([
            "s_client",
            "-connect",
            target,
            "-brief",
            "-verify_return_error",
        ])
        .arg("-CAfile")
        .arg(ca)
        .args(["-verify_hostname", name])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn machine_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("read host name")
        .trim()
        .to_string()
}

#[test]
fn fresh_start_creates_everything_and_serves_tls() {
    if skip_e2e() {
        return;
    }
    require_tools(&["ip", "openssl", "curl"], "the fresh-start test").unwrap();
    let lab = Lab::new("serve").unwrap();
    let net = lab.network("inet", "198.18.7").unwrap();
    let host = lab.host("gw", &net, 10).unwrap();
    let work = tempfile::tempdir().unwrap();

    let mut outpost = host.spawn(serve(&host, work.path()), "outpost").unwrap();
    outpost
        .wait_for_log("outpost running", START_TIMEOUT)
        .unwrap();
    outpost
        .wait_for_log("admin listener up", START_TIMEOUT)
        .unwrap();
    let log = outpost.log_text();

    // The data directory, database and certificate exist.
    let data = work.path().join("outpost-data");
    let cert = data.join("tls/default.crt");
    for file in [
        data.join("outpost.db"),
        cert.clone(),
        data.join("tls/default.key"),
    ] {
        assert!(file.is_file(), "{} missing; log:\n{log}", file.display());
    }

    // The setup token is printed once, and never through the logger.
    let token_lines: Vec<&str> = log.lines().filter(|l| l.contains(TOKEN_BANNER)).collect();
    assert_eq!(token_lines.len(), 1, "log:\n{log}");
    let token = token_lines[0]
        .split(TOKEN_BANNER)
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.len() >= 40, "token too short: {token:?}");
    assert_eq!(
        log.matches(&token).count(),
        1,
        "the token appears elsewhere in the output"
    );

    // Every listener is logged with its address and port.
    for needle in ["0.0.0.0:5063", "0.0.0.0:5064", "127.0.0.1:9464"] {
        assert!(log.contains(needle), "{needle} not logged:\n{log}");
    }

    // A TLS client completes a handshake on the public SIP port and trusts
    // the self-signed certificate for the host name; TLS 1.2 works, TLS 1.1
    // is refused by the server (the client is allowed to offer it).
    let name = machine_hostname();
    let target = format!("{}:5063", host.ip());
    let (ok, out) = tls_handshake(&host, &target, &cert, &name, &[]);
    assert!(
        ok && out.contains("TLSv1.3") && out.contains("Verification: OK"),
        "{out}"
    );
    let (ok, out) = tls_handshake(&host, &target, &cert, &name, &["-tls1_2"]);
    assert!(ok && out.contains("TLSv1.2"), "{out}");
    let (ok, out) = tls_handshake(
        &host,
        &target,
        &cert,
        &name,
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
    );
    assert!(!ok, "TLS 1.1 must be refused:\n{out}");
    let (ok, out) = tls_handshake(&host, &format!("{}:5064", host.ip()), &cert, &name, &[]);
    assert!(ok, "private TLS port:\n{out}");

    // Metrics on the loopback admin listener, over HTTPS with the
    // gateway's certificate (`[admin] tls` is on by default); plain HTTP
    // gets no answer.
    let metrics = outpost_testbed::metrics_https(&host, &cert, &name).unwrap();
    let plain = outpost_testbed::metrics(&host);
    assert!(
        !plain
            .as_ref()
            .is_ok_and(|m| m.contains("outpost_build_info")),
        "plain HTTP answered: {plain:?}"
    );
    assert!(
        metrics.contains(&format!(
            "outpost_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{metrics}"
    );
    assert!(metrics.contains("outpost_uptime_seconds "), "{metrics}");
    let public_tls_up = metrics.lines().any(|l| {
        l.starts_with("outpost_listener_up{")
            && l.contains("side=\"public\"")
            && l.contains("transport=\"tls\"")
            && l.contains("0.0.0.0:5063")
            && l.ends_with(" 1")
    });
    assert!(public_tls_up, "{metrics}");

    // SIGTERM stops it cleanly.
    let status = outpost.stop().expect("reaped");
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        outpost.log_text()
    );
    assert!(outpost.log_text().contains("stopped"));

    // A second start reuses everything and does not print a token again.
    let cert_before = std::fs::read(&cert).unwrap();
    let mut again = host
        .spawn(serve(&host, work.path()), "outpost-again")
        .unwrap();
    again
        .wait_for_log("outpost running", START_TIMEOUT)
        .unwrap();
    let status = again.stop().expect("reaped");
    let log = again.log_text();
    assert!(status.success(), "{log}");
    assert!(!log.contains(TOKEN_BANNER), "token printed twice:\n{log}");
    assert!(log.contains("setup token was already issued"), "{log}");
    assert_eq!(
        std::fs::read(&cert).unwrap(),
        cert_before,
        "certificate regenerated"
    );
}
