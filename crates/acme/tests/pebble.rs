//! `outpost-acme` against a real ACME server: Pebble (Let's Encrypt's test
//! CA, Debian package `pebble`) with dnsmasq (Debian `dnsmasq-base`) as the
//! DNS server its validation asks, both started here on 127.0.0.1 ports
//! picked by each test.
//!
//! - Pebble's own HTTPS uses a CA this test makes with rcgen; the client
//!   trusts it through `extra_ca_file`, as an operator would Pebble's or a
//!   company CA's.
//! - Pebble's validation connects to `httpPort` / `tlsPort` of the address
//!   dnsmasq gives for the name: 127.0.0.1, where our responders listen.
//! - `PEBBLE_VA_NOSLEEP=1`: validate at once; `PEBBLE_WFE_NONCEREJECT=0`:
//!   no random bad-nonce rejections; `PEBBLE_AUTHZREUSE=0`: every order
//!   gets fresh authorizations, so the TLS-ALPN-01 order really is
//!   validated over TLS-ALPN-01 rather than by the HTTP-01 one's leftovers.
//!
//! Missing binaries fail the test (CI installs them through
//! `scripts/test.sh`); readiness is polled with deadlines, never slept.

// A test bed of real processes and sockets reads the real clock.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_acme::{AcmeClient, AcmeConfig, AcmeError, Challenge, ChallengeKind, Issued};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAME: &str = "sbc.acme.test";
/// Bound on each obtain in these tests (Pebble answers in well under 1 s).
const OBTAIN_DEADLINE: Duration = Duration::from_secs(60);

/// A child process killed (and reaped) on drop, with its output in a file.
struct Proc {
    name: &'static str,
    child: std::process::Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, mut command: Command, log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Self { name, child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log if the process has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.log_text());
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary at the first existing path, or a failure saying what to
/// install.
fn program(candidates: &[&str]) -> PathBuf {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{} not found (looked at {candidates:?}): run `apt-get install pebble dnsmasq` \
                 (scripts/test.sh installs them)",
                candidates[0]
            )
        })
}

/// `n` distinct free TCP ports on 127.0.0.1 (held together while picked).
fn free_tcp_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A DNS query for `NAME` A, id 0x4f51.
fn dns_query() -> Vec<u8> {
    let mut q = vec![0x4f, 0x51, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in NAME.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// Pebble, dnsmasq and what a client needs to use them.
struct Bed {
    dir: tempfile::TempDir,
    pebble: Proc,
    dns: Proc,
    directory_url: String,
    management: SocketAddr,
    https_ca: PathBuf,
    http_port: u16,
    tls_port: u16,
}

impl Bed {
    fn start() -> Self {
        let pebble_bin = program(&["/usr/bin/pebble", "/usr/local/bin/pebble"]);
        let dnsmasq_bin = program(&["/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"]);
        let dir = tempfile::tempdir().unwrap();

        // dnsmasq: NAME → 127.0.0.1; every other name under .test NXDOMAIN.
        let dns_port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dns_addr = SocketAddr::from(([127, 0, 0, 1], dns_port));
        let mut dnsmasq = Command::new(dnsmasq_bin);
        dnsmasq.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            // No /run/dnsmasq.pid: tests run several at once.
            "--pid-file",
            "--log-queries",
            "--log-facility=-",
            "--local=/test/",
        ]);
        dnsmasq
            .arg(format!("--port={dns_port}"))
            .arg(format!("--address=/{NAME}/127.0.0.1"));
        let mut dns = Proc::spawn("dnsmasq", dnsmasq, dir.path().join("dnsmasq.log"));
        wait_dns(&mut dns, dns_addr);

        // Pebble's HTTPS certificate, from a CA of our own.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "outpost-acme test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let https_ca = dir.path().join("https-ca.pem");
        std::fs::write(&https_ca, ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("https-cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.path().join("https-key.pem"), key.serialize_pem()).unwrap();

        let ports = free_tcp_ports(4);
        let (listen, management, http_port, tls_port) = (
            SocketAddr::from(([127, 0, 0, 1], ports[0])),
            SocketAddr::from(([127, 0, 0, 1], ports[1])),
            ports[2],
            ports[3],
        );
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": listen.to_string(),
                "managementListenAddress": management.to_string(),
                "certificate": dir.path().join("https-cert.pem"),
                "privateKey": dir.path().join("https-key.pem"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let mut command = Command::new(pebble_bin);
        command
            .arg("-config")
            .arg(&config_path)
            .arg("-dnsserver")
            .arg(dns_addr.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0");
        let mut pebble = Proc::spawn("pebble", command, dir.path().join("pebble.log"));
        wait_tcp(&mut pebble, listen);
        wait_tcp(&mut pebble, management);

        Self {
            directory_url: format!("https://{listen}/dir"),
            dir,
            pebble,
            dns,
            management,
            https_ca,
            http_port,
            tls_port,
        }
    }

    fn config(&self, account_file: &Path) -> AcmeConfig {
        let mut config = AcmeConfig::new(self.directory_url.clone(), account_file);
        config.contact_email = Some("noc@acme.test".into());
        config.extra_ca_file = Some(self.https_ca.clone());
        config.request_timeout = Duration::from_secs(10);
        config.order_timeout = Duration::from_secs(45);
        config
    }

    fn http01(&self) -> Challenge {
        Challenge::Http01 {
            bind: SocketAddr::from(([127, 0, 0, 1], self.http_port)),
        }
    }

    fn tls_alpn01(&self) -> Challenge {
        Challenge::TlsAlpn01 {
            bind: SocketAddr::from(([127, 0, 0, 1], self.tls_port)),
        }
    }

    /// `GET path` on Pebble's management interface (HTTPS, HTTP/1.0 so
    /// the body is not chunked).
    async fn management_get(&self, path: &str) -> String {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.https_ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(self.management)
            .await
            .unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
            .await
            .unwrap();
        tls.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = Vec::new();
        // Go closes without close_notify after an HTTP/1.0 answer.
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
            "{path}: {text}"
        );
        text.split_once("\r\n\r\n").unwrap().1.to_owned()
    }

    /// The leaf is for NAME, carries the returned key, and chains through
    /// Pebble's intermediate to Pebble's root.
    async fn check_issued(&self, issued: &Issued) {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(issued.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        assert!(
            chain.len() >= 2,
            "leaf and intermediate expected:\n{}",
            issued.chain_pem
        );
        let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0]).unwrap();
        let sans: Vec<String> = leaf
            .subject_alternative_name()
            .unwrap()
            .expect("a SAN extension")
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(sans, [format!("DNSName({NAME})")]);
        assert_eq!(issued.not_after, leaf.validity().not_after.to_datetime());
        assert!(issued.not_after > time::OffsetDateTime::now_utc());

        // The key is the leaf's.
        let key = rcgen::KeyPair::from_pem(&issued.key_pem).unwrap();
        assert_eq!(
            leaf.public_key().raw,
            rcgen::PublicKeyData::subject_public_key_info(&key).as_slice()
        );

        // The chain's intermediate is Pebble's, and the whole chain verifies
        // (signatures, validity, serverAuth, the name) up to Pebble's root.
        let root = CertificateDer::from_pem_slice(self.management_get("/roots/0").await.as_bytes())
            .unwrap();
        let intermediate = CertificateDer::from_pem_slice(
            self.management_get("/intermediates/0").await.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            chain[1], intermediate,
            "the chain's second certificate is Pebble's intermediate"
        );
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        verifier
            .verify_server_cert(
                &chain[0],
                &chain[1..],
                &ServerName::try_from(NAME).unwrap(),
                &[],
                UnixTime::now(),
            )
            .unwrap_or_else(|e| panic!("the leaf does not chain to Pebble's root: {e}"));
    }
}

/// Waits until `addr` accepts TCP, the process still running, 30 s at most.
fn wait_tcp(proc: &mut Proc, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        proc.assert_running();
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {addr} within 30 s:\n{}",
            proc.name,
            proc.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until dnsmasq answers a query for NAME, 10 s at most.
fn wait_dns(proc: &mut Proc, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let query = dns_query();
    let mut buf = [0u8; 512];
    loop {
        proc.assert_running();
        // Errors (port not open yet) just mean "not yet".
        let _ = socket.send_to(&query, addr);
        if let Ok((n, _)) = socket.recv_from(&mut buf) {
            // Same id, an answer (QR set), at least one answer record.
            if n >= 12 && buf[..2] == query[..2] && buf[2] & 0x80 != 0 && buf[7] >= 1 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "dnsmasq did not answer on {addr} within 10 s:\n{}",
            proc.log_text()
        );
    }
}

async fn obtain(
    client: &AcmeClient,
    names: &[&str],
    challenge: Challenge,
) -> Result<Issued, AcmeError> {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    tokio::time::timeout(OBTAIN_DEADLINE, client.obtain(&names, challenge))
        .await
        .expect("obtain finished within its deadline")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_then_tls_alpn01_with_one_account_file() {
    let mut bed = Bed::start();
    let account_file = bed.dir.path().join("state/acme-account.json");

    // HTTP-01; the account is registered and written.
    let client = AcmeClient::new(bed.config(&account_file)).unwrap();
    let started = Instant::now();
    let issued = match obtain(&client, &[NAME], bed.http01()).await {
        Ok(issued) => issued,
        Err(e) => panic!("http-01: {e}\npebble log:\n{}", bed.pebble.log_text()),
    };
    println!("http-01 order: {:?}", started.elapsed());
    bed.check_issued(&issued).await;
    let meta = std::fs::metadata(&account_file).expect("account file created");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "account file mode"
    );
    let account_bytes = std::fs::read(&account_file).unwrap();
    // The responder listened only while the order was pending.
    assert!(
        std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], bed.http_port))).is_err(),
        "the http-01 responder still listens after the order"
    );

    // TLS-ALPN-01 with a new client on the same file: the account is read
    // back, not registered again (a new one would rewrite the file).
    let client = AcmeClient::new(bed.config(&account_file)).unwrap();
    let started = Instant::now();
    let second = match obtain(&client, &[NAME], bed.tls_alpn01()).await {
        Ok(issued) => issued,
        Err(e) => panic!("tls-alpn-01: {e}\npebble log:\n{}", bed.pebble.log_text()),
    };
    println!("tls-alpn-01 order: {:?}", started.elapsed());
    bed.check_issued(&second).await;
    assert_ne!(issued.key_pem, second.key_pem, "a fresh key per order");
    assert_ne!(issued.chain_pem, second.chain_pem);
    let after = std::fs::metadata(&account_file).unwrap();
    assert_eq!(
        std::fs::read(&account_file).unwrap(),
        account_bytes,
        "account file unchanged"
    );
    assert_eq!(
        (after.ino(), after.mtime()),
        (meta.ino(), meta.mtime()),
        "account file not rewritten"
    );
    assert!(
        std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], bed.tls_port))).is_err(),
        "the tls-alpn-01 responder still listens after the order"
    );
    // Pebble saw one account registered for both orders, and a second,
    // fresh authorization (no reuse) validated while only the
    // tls-alpn-01 responder listened.
    let log = bed.pebble.log_text();
    assert!(log.contains("There are now 1 accounts in memory"), "{log}");
    assert!(!log.contains("There are now 2 accounts"), "{log}");
    assert!(log.contains("There are now 2 authorizations"), "{log}");
    bed.pebble.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_is_a_clear_challenge_failure() {
    let bed = Bed::start();
    let client = AcmeClient::new(bed.config(&bed.dir.path().join("account.json"))).unwrap();
    let started = Instant::now();
    let e = obtain(&client, &["nowhere.acme.test"], bed.http01())
        .await
        .expect_err("no certificate for a name that does not resolve");
    println!("failed in {:?}: {e}", started.elapsed());
    let AcmeError::ChallengeFailed {
        kind, name, detail, ..
    } = &e
    else {
        panic!("expected a challenge failure, got: {e}");
    };
    assert_eq!(
        (*kind, name.as_str()),
        (ChallengeKind::Http01, "nowhere.acme.test")
    );
    assert!(detail.contains("resolve"), "{detail}");
    // Pebble asked the test bed's DNS server, which had no such name.
    assert!(
        bed.dns.log_text().contains("query[A] nowhere.acme.test"),
        "{}",
        bed.dns.log_text()
    );
    let text = e.to_string();
    assert!(text.contains(&bed.directory_url), "{text}");
    assert!(
        text.contains("nowhere.acme.test resolves to this gateway's public address"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responder_where_the_ca_connects_is_a_clear_challenge_failure() {
    let bed = Bed::start();
    let client = AcmeClient::new(bed.config(&bed.dir.path().join("account.json"))).unwrap();
    // Our responder listens elsewhere; Pebble connects to httpPort, where
    // nothing listens (as if TCP 80 did not reach the gateway).
    let elsewhere = free_tcp_ports(1)[0];
    let started = Instant::now();
    let e = obtain(
        &client,
        &[NAME],
        Challenge::Http01 {
            bind: SocketAddr::from(([127, 0, 0, 1], elsewhere)),
        },
    )
    .await
    .expect_err("no certificate without a reachable responder");
    println!("failed in {:?}: {e}", started.elapsed());
    let AcmeError::ChallengeFailed {
        kind, name, detail, ..
    } = &e
    else {
        panic!("expected a challenge failure, got: {e}");
    };
    assert_eq!((*kind, name.as_str()), (ChallengeKind::Http01, NAME));
    assert!(
        detail.contains("refused") || detail.contains("onnection"),
        "{detail}"
    );
    assert!(e.to_string().contains("TCP port 80"), "{e}");
}
