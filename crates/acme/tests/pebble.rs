//! `outpost-acme` against a real ACME server: Pebble (Let's Encrypt's test
//! CA, Debian package `pebble`) with dnsmasq (Debian `dnsmasq-base`) as the
//! DNS server its validation asks, both started by the test bed
//! (`outpost_testbed::acme_ca`) on 127.0.0.1 ports of each test's own.
//!
//! - Pebble's own HTTPS uses a test CA of the bed's; the client trusts it
//!   through `extra_ca_file`, as an operator would Pebble's or a company
//!   CA's.
//! - Pebble's validation connects to `httpPort` / `tlsPort` of the address
//!   dnsmasq gives for the name: 127.0.0.1, where our responders listen.
//! - Every order gets fresh authorizations (`PEBBLE_AUTHZREUSE=0`), so the
//!   TLS-ALPN-01 order really is validated over TLS-ALPN-01 rather than by
//!   the HTTP-01 one's leftovers.
//!
//! Missing binaries fail the test (CI installs them through
//! `scripts/test.sh`); readiness is polled with deadlines, never slept.

// A test bed of real processes and sockets reads the real clock.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_acme::{AcmeClient, AcmeConfig, AcmeError, Challenge, ChallengeKind, Issued};
use outpost_testbed::acme_ca::AcmeTestCa;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

const NAME: &str = "sbc.acme.test";
/// Bound on each obtain in these tests (Pebble answers in well under 1 s).
const OBTAIN_DEADLINE: Duration = Duration::from_secs(60);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Pebble, dnsmasq (NAME → 127.0.0.1) and a directory for account files.
struct Bed {
    ca: AcmeTestCa,
    dir: tempfile::TempDir,
}

impl Bed {
    fn start() -> Self {
        Self {
            ca: AcmeTestCa::start(&[(NAME, LOCALHOST)]).unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config(&self, account_file: &Path) -> AcmeConfig {
        let mut config = AcmeConfig::new(self.ca.directory_url().to_owned(), account_file);
        config.contact_email = Some("noc@acme.test".into());
        config.extra_ca_file = Some(self.ca.https_ca_file().to_path_buf());
        config.request_timeout = Duration::from_secs(10);
        config.order_timeout = Duration::from_secs(45);
        config
    }

    fn http01(&self) -> Challenge {
        Challenge::Http01 {
            bind: SocketAddr::new(LOCALHOST, self.ca.http_port()),
        }
    }

    fn tls_alpn01(&self) -> Challenge {
        Challenge::TlsAlpn01 {
            bind: SocketAddr::new(LOCALHOST, self.ca.tls_port()),
        }
    }

    /// The leaf is for NAME, carries the returned key, and chains through
    /// Pebble's intermediate to Pebble's root.
    fn check_issued(&self, issued: &Issued) {
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
        let root = CertificateDer::from_pem_slice(self.ca.root_pem().unwrap().as_bytes()).unwrap();
        let intermediate =
            CertificateDer::from_pem_slice(self.ca.intermediate_pem().unwrap().as_bytes()).unwrap();
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

/// A TCP port free on 127.0.0.1 just now.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
        Err(e) => panic!("http-01: {e}\n{}", bed.ca.diagnostics()),
    };
    println!("http-01 order: {:?}", started.elapsed());
    bed.check_issued(&issued);
    let meta = std::fs::metadata(&account_file).expect("account file created");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "account file mode"
    );
    let account_bytes = std::fs::read(&account_file).unwrap();
    // The responder listened only while the order was pending.
    assert!(
        std::net::TcpStream::connect(SocketAddr::new(LOCALHOST, bed.ca.http_port())).is_err(),
        "the http-01 responder still listens after the order"
    );

    // TLS-ALPN-01 with a new client on the same file: the account is read
    // back, not registered again (a new one would rewrite the file).
    let client = AcmeClient::new(bed.config(&account_file)).unwrap();
    let started = Instant::now();
    let second = match obtain(&client, &[NAME], bed.tls_alpn01()).await {
        Ok(issued) => issued,
        Err(e) => panic!("tls-alpn-01: {e}\n{}", bed.ca.diagnostics()),
    };
    println!("tls-alpn-01 order: {:?}", started.elapsed());
    bed.check_issued(&second);
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
        std::net::TcpStream::connect(SocketAddr::new(LOCALHOST, bed.ca.tls_port())).is_err(),
        "the tls-alpn-01 responder still listens after the order"
    );
    // Pebble saw one account registered for both orders, and a second,
    // fresh authorization (no reuse) validated while only the
    // tls-alpn-01 responder listened.
    let log = bed.ca.pebble_log_text();
    assert!(log.contains("There are now 1 accounts in memory"), "{log}");
    assert!(!log.contains("There are now 2 accounts"), "{log}");
    assert!(log.contains("There are now 2 authorizations"), "{log}");
    bed.ca.ensure_running().unwrap();
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
        bed.ca.dns_log_text().contains("query[A] nowhere.acme.test"),
        "{}",
        bed.ca.dns_log_text()
    );
    let text = e.to_string();
    assert!(text.contains(bed.ca.directory_url()), "{text}");
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
    let elsewhere = free_tcp_port();
    let started = Instant::now();
    let e = obtain(
        &client,
        &[NAME],
        Challenge::Http01 {
            bind: SocketAddr::new(LOCALHOST, elsewhere),
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
