//! `outpost icps test NAME` with the real binary against real peers, each
//! on a loopback address of its own (127.0.84.x; no other test uses
//! 127.0.84): a UDP SIP responder, a closed TCP port, a TLS listener with
//! a certificate from a test CA, a UDP port that never answers, and
//! dnsmasq (127.0.84.53 and .54, port 15353, no root needed) serving the
//! names and answering NXDOMAIN for the others.
//!
//! The DNS tests need `/usr/sbin/dnsmasq` (Debian `dnsmasq-base`,
//! installed by `scripts/test.sh`); without it they print `skipped: ...`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outpost_testbed::local_dns::LocalDnsmasq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DNS_PORT: u16 = 15353;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 84, last))
}

/// An installation in a temporary directory, with `[dns] servers` set
/// (through the environment) when a DNS server is given.
struct Install {
    _dir: tempfile::TempDir,
    data: PathBuf,
    dns: Option<SocketAddr>,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Install {
    fn new(dns: Option<SocketAddr>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let install = Self {
            _dir: dir,
            data,
            dns,
        };
        install.ok(&["init"]);
        install
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
        cmd.args(args)
            .env("OUTPOST_DATA_DIR", &self.data)
            .env("OUTPOST_LOG", "warn")
            .env_remove("OUTPOST_CONFIG")
            .env_remove("OUTPOST_SETUP_TOKEN")
            .env_remove("OUTPOST_PRIVATE_INTERFACE");
        match self.dns {
            Some(dns) => cmd.env("OUTPOST_DNS_SERVERS", dns.to_string()),
            None => cmd.env_remove("OUTPOST_DNS_SERVERS"),
        };
        let Output {
            status,
            stdout,
            stderr,
        } = cmd.output().expect("run outpost");
        Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, Some(0), "{args:?}: {}{}", run.stdout, run.stderr);
        run.stdout
    }

    fn add_icp(&self, name: &str, host: &str, transports: &str, extra: &[&str]) {
        let mut args = vec![
            "icps",
            "add",
            "--name",
            name,
            "--host",
            host,
            "--transports",
            transports,
        ];
        args.extend_from_slice(extra);
        self.ok(&args);
    }
}

/// Asserts the test failed with exit status 1 and printed every needle.
fn assert_fails_with(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{}{}", run.stdout, run.stderr);
    for needle in needles {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stdout
        );
    }
}

/// A SIP UDP responder answering OPTIONS with 200 (after ignoring the
/// first `ignore` requests), in a thread of its own.
struct UdpResponder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicUsize>,
    first: Arc<std::sync::Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl UdpResponder {
    fn start(at: IpAddr, ignore: usize) -> Self {
        let socket = UdpSocket::bind(SocketAddr::new(at, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicUsize::new(0));
        let first = Arc::new(std::sync::Mutex::new(None));
        let (stop2, seen2, first2) = (stop.clone(), seen.clone(), first.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                first2
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| request.clone());
                if seen2.fetch_add(1, Ordering::Relaxed) < ignore {
                    continue;
                }
                let _ = socket.send_to(respond(&request).as_bytes(), from);
            }
        });
        Self {
            addr,
            stop,
            seen,
            first,
            thread: Some(thread),
        }
    }
}

impl Drop for UdpResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `200 OK` to `request`: its Via, From, Call-ID and CSeq, its To with a tag.
fn respond(request: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for line in request.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if ["via:", "from:", "call-id:", "cseq:"]
            .iter()
            .any(|h| lower.starts_with(h))
        {
            out.push_str(line);
            out.push_str("\r\n");
        } else if lower.starts_with("to:") {
            out.push_str(line);
            out.push_str(";tag=icp\r\n");
        }
    }
    out.push_str("Server: icp-test-responder\r\nContent-Length: 0\r\n\r\n");
    out
}

#[test]
fn udp_icp_that_answers_passes_every_step() {
    let install = Install::new(None);
    // The first OPTIONS is ignored: the answer comes to the retransmission.
    let responder = UdpResponder::start(ip(1), 1);
    let port = responder.addr.port().to_string();
    install.add_icp("pbx-udp", "127.0.84.1", "udp", &["--port", &port]);

    let run = install.run(&["icps", "test", "pbx-udp"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let steps: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("ICP ") && !l.starts_with("PASSED"))
        .collect();
    assert_eq!(steps.len(), 2, "{}", run.stdout);
    assert!(steps.iter().all(|l| l.starts_with("OK ")), "{}", run.stdout);
    for needle in [
        "127.0.84.1 is an IP address: no DNS lookup",
        &format!("udp 127.0.84.1:{port}: 200 OK in"),
        "server: icp-test-responder",
        "OPTIONS sent 2 times",
        "PASSED: all 2 steps passed",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} in:\n{}",
            run.stdout
        );
    }
    let request = responder.first.lock().unwrap().clone().unwrap();
    assert!(
        request.starts_with(&format!("OPTIONS sip:127.0.84.1:{port} SIP/2.0\r\n")),
        "{request}"
    );
    assert!(request.contains("\r\nMax-Forwards: 70\r\n"), "{request}");
    assert!(request.contains(";branch=z9hG4bK"), "{request}");

    let run = install.run(&["icps", "test", "pbx-udp", "--json"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["icp"], "pbx-udp");
    let statuses: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "ok"]);

    // TCP is preferred over UDP: without --all only TCP is tried (and
    // nothing listens there); with --all UDP is tested too.
    install.add_icp("pbx-both", "127.0.84.1", "udp,tcp", &["--port", &port]);
    let run = install.run(&["icps", "test", "pbx-both"]);
    assert_fails_with(&run, &["connection refused"]);
    assert!(
        !run.stdout
            .lines()
            .any(|l| !l.starts_with(' ') && l.contains("udp 127.0.84.1")),
        "only the first target is tested: {}",
        run.stdout
    );
    let run = install.run(&["icps", "test", "pbx-both", "--all"]);
    assert_fails_with(
        &run,
        &[
            "FAIL connect",
            &format!("udp 127.0.84.1:{port}: 200 OK"),
            "FAILED: 1 of 3 steps failed",
        ],
    );
    assert!(responder.seen.load(Ordering::Relaxed) >= 4);
}

#[test]
fn closed_tcp_port_is_reported_as_refused() {
    let install = Install::new(None);
    let port = {
        let listener = TcpListener::bind(SocketAddr::new(ip(2), 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    install.add_icp(
        "pbx-tcp",
        "127.0.84.2",
        "tcp",
        &["--port", &port.to_string()],
    );
    let run = install.run(&["icps", "test", "pbx-tcp"]);
    assert_fails_with(
        &run,
        &[
            "FAIL connect",
            "connection refused",
            &format!(
                "fix: nothing listens on 127.0.84.2:{port} over TCP; check the ICP's port and transports"
            ),
            "SKIP options",
        ],
    );
}

#[test]
fn silent_udp_port_is_no_answer_to_options_after_retransmissions() {
    let install = Install::new(None);
    let silent = UdpSocket::bind(SocketAddr::new(ip(4), 0)).unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    install.add_icp("pbx-silent", "127.0.84.4", "udp", &["--port", &port]);
    let started = Instant::now();
    let run = install.run(&["icps", "test", "pbx-silent", "--timeout", "1.5"]);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_fails_with(
        &run,
        &[
            "FAIL options",
            "no answer to OPTIONS within 1.5 s (",
            &format!("fix: 127.0.84.4:{port} does not answer SIP over UDP"),
        ],
    );
    silent.set_nonblocking(true).unwrap();
    let mut received = 0;
    let mut buf = [0u8; 4096];
    while silent.recv_from(&mut buf).is_ok() {
        received += 1;
    }
    assert!(
        received >= 2,
        "OPTIONS retransmitted over UDP: got {received}"
    );
}

#[test]
fn unknown_icp_is_a_usage_error_naming_the_icps() {
    let install = Install::new(None);
    install.add_icp("pbx1", "192.0.2.10", "udp", &[]);
    let run = install.run(&["icps", "test", "pbx9"]);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("no ICP named `pbx9`; the ICPs are: pbx1"),
        "{}",
        run.stderr
    );
}

/// dnsmasq on 127.0.84.`n`:15353 (the test bed's [`LocalDnsmasq`]).
struct Dnsmasq(LocalDnsmasq);

impl Dnsmasq {
    fn start(n: u8, records: &[&str]) -> Option<Self> {
        LocalDnsmasq::start(SocketAddr::new(ip(n), DNS_PORT), 60, records).map(Self)
    }

    fn log_text(&self) -> String {
        self.0.log_text()
    }
}

#[test]
fn name_that_does_not_exist_is_reported_with_the_dns_setting() {
    let Some(dns) = Dnsmasq::start(54, &[]) else {
        return;
    };
    let install = Install::new(Some(dns.0.addr()));
    install.add_icp("pbx-nx", "nope.test", "udp", &[]);
    let run = install.run(&["icps", "test", "pbx-nx"]);
    assert_fails_with(
        &run,
        &[
            "FAIL dns",
            "no such DNS name: nope.test (NXDOMAIN)",
            "NAPTR nope.test: no such name (NXDOMAIN) (",
            "fix: check the name (the ICP's host), or the DNS server in [dns] servers (now: 127.0.84.54:15353)",
        ],
    );
    assert!(dns.log_text().contains("nope.test"), "{}", dns.log_text());
}

/// A test CA and a certificate it issued for `name`.
struct Pki {
    ca_pem: String,
    leaf: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn pki(name: &str) -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "icps test CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::new(ca, &ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem,
        leaf: leaf.der().clone(),
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// A SIP-over-TLS listener (tokio-rustls) answering OPTIONS with 200, in
/// a thread of its own until dropped.
struct TlsListener {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsListener {
    fn start(at: IpAddr, pki: &Pki) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![pki.leaf.clone()], pki.key.clone_key())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(SocketAddr::new(at, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let (tcp, _) = tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        // A handshake the client refuses just ends here.
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let mut request = Vec::new();
                        let mut buf = [0u8; 4096];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match tls.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buf[..n]),
                            }
                        }
                        let response = respond(&String::from_utf8_lossy(&request));
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.flush().await;
                        // Keep the connection until the client closes it.
                        let _ = tls.read(&mut buf).await;
                    });
                }
            });
        });
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn tls_certificate_is_checked_against_the_icp_host_name_with_its_ca() {
    let Some(dns) = Dnsmasq::start(
        53,
        &[
            "--host-record=a.test,127.0.84.3",
            "--host-record=b.test,127.0.84.3",
        ],
    ) else {
        return;
    };
    let pki = pki("a.test");
    let listener = TlsListener::start(ip(3), &pki);
    let port = listener.addr.port().to_string();
    let install = Install::new(Some(dns.0.addr()));
    let ca = write_file(install._dir.path(), "ca.pem", &pki.ca_pem);

    // Name B, certificate for A.
    install.add_icp(
        "pbx-b",
        "b.test",
        "tls",
        &["--port", &port, "--ca-file", &ca],
    );
    let run = install.run(&["icps", "test", "pbx-b"]);
    assert_fails_with(
        &run,
        &[
            "OK   dns",
            "A b.test: b.test. 60 A 127.0.84.3 (",
            &format!("1. tls 127.0.84.3:{port} (certificate name b.test)"),
            "OK   connect",
            "FAIL tls",
            "certificate name mismatch: the certificate does not cover b.test",
            "fix: the certificate covers a.test but not b.test: use a name it covers as the ICP host or reissue the certificate",
            "SKIP options",
        ],
    );

    // The right name, without the CA: unknown issuer.
    install.add_icp("pbx-a", "a.test", "tls", &["--port", &port]);
    let run = install.run(&["icps", "test", "pbx-a"]);
    assert_fails_with(
        &run,
        &[
            "FAIL tls",
            "certificate of an unknown issuer: CN=icps test CA",
            "fix: give the CA with --ca-file",
        ],
    );

    // With the CA: every step passes, OPTIONS over TLS included.
    let run = install.run(&["icps", "test", "pbx-a", "--ca-file", &ca]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    for needle in [
        "OK   tls",
        "certificate valid for a.test (checked with CA file",
        "certificate names: a.test",
        "OK   options   ",
        &format!("tls 127.0.84.3:{port}: 200 OK in"),
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} in:\n{}",
            run.stdout
        );
    }
}

#[test]
fn the_test_never_creates_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("none");
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["icps", "test", "pbx1"])
        .env("OUTPOST_DATA_DIR", &data)
        .env_remove("OUTPOST_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Outpost database"));
    assert!(matches!(
        std::fs::metadata(&data).map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    ));
}

#[test]
fn help_lists_the_options_and_a_bad_timeout_is_a_usage_error() {
    let install = Install::new(None);
    let help = install.ok(&["icps", "test", "--help"]);
    for option in ["--all", "--json", "--timeout", "--ca-file"] {
        assert!(help.contains(option), "{option} in:\n{help}");
    }
    install.add_icp("pbx1", "192.0.2.10", "udp", &[]);
    for bad in ["0", "abc", "120"] {
        let run = install.run(&["icps", "test", "pbx1", "--timeout", bad]);
        assert_eq!(run.code, Some(2), "--timeout {bad}: {}", run.stderr);
    }
}
