//! Mutual TLS for trunks end to end (issue 17 item 5, SPEC SIG-2), with a
//! real `outpost serve`:
//!
//! - with `private.mtls = true`, a trunk peer on the private side's SIP/TLS
//!   port without a client certificate, with one from another CA, or with
//!   one from the right CA but not the expected name
//!   (`private.mtls_peer_name`) is refused at the handshake, each with the
//!   TLS alert that says why (`openssl s_client` and a rustls client, TLS
//!   1.3 and 1.2); with the right certificate an OPTIONS gets its answer;
//! - when Outpost forwards a phone's REGISTER to its ICP over TLS, it
//!   presents its `sip-private` certificate as client certificate (a TLS
//!   server requiring client certificates stands in for the iPBX);
//! - `public.ott_terminals`: a warning at start when the certificate for
//!   the FQDN will not do, and MTLS with OTT terminals refused.
//!
//! Runs on 127.0.93.x, 127.0.94.x and 127.0.95.x (see `support`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_certs::store::{CertStore, Usage};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{AlertDescription, SupportedProtocolVersion};
use support::{Outpost, options, status_of};

const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The name the trunk peer's client certificate must carry.
const PEER_NAME: &str = "pbx.mtls.test";

/// A test CA.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A certificate signed by a test CA, with its key.
struct Leaf {
    der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Self {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A certificate for `names` (DNS names or IP addresses), CN the
    /// first, for TLS clients and servers.
    fn leaf(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().clone(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(self.pem.as_bytes()).unwrap()
    }
}

impl Leaf {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).unwrap()
    }

    /// Writes `NAME.crt` and `NAME.key` in `dir`; returns their paths.
    fn files(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// The test's PKI: the trunk CA (the peers' client certificates and the
/// iPBX's server certificate), another CA, and the CA of Outpost's own
/// `sip-private` certificate.
struct Pki {
    trunk: Ca,
    other: Ca,
    outpost: Ca,
    /// Outpost's `sip-private` certificate.
    private_cert: Leaf,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new(net: u8) -> Self {
        let outpost = Ca::new("Outpost LAN CA");
        let private_ip = format!("127.0.{net}.2");
        let private_cert = outpost.leaf(&["sbc-lan.mtls.test", &private_ip]);
        let pki = Self {
            trunk: Ca::new("Trunk CA"),
            other: Ca::new("Other CA"),
            outpost,
            private_cert,
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(pki.trunk_ca_file(), &pki.trunk.pem).unwrap();
        pki
    }

    fn trunk_ca_file(&self) -> PathBuf {
        self.dir.path().join("trunk-ca.pem")
    }

    /// Installs Outpost's `sip-private` certificate in `home`'s store and
    /// assigns it, as `outpost certs import` + `assign` would.
    fn install_private_cert(&self, home: &Path) {
        let store = CertStore::new(home.join("outpost-data/tls"));
        let pem = format!(
            "{}{}{}",
            self.private_cert.cert_pem, self.outpost.pem, self.private_cert.key_pem
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let bundle =
            outpost_certs::import_pem(pem.as_bytes(), None, i64::try_from(now).unwrap()).unwrap();
        store.install("lan", &bundle).unwrap();
        store
            .assign(Usage::SipPrivate, &["lan".to_owned()])
            .unwrap();
    }
}

/// The environment turning MTLS on, with the trunk CA and [`PEER_NAME`].
fn mtls_env(pki: &Pki) -> Vec<(&'static str, String)> {
    vec![
        ("OUTPOST_PRIVATE_PROTOCOLS", "tls".to_owned()),
        ("OUTPOST_PRIVATE_MTLS", "true".to_owned()),
        (
            "OUTPOST_PRIVATE_MTLS_CA_FILE",
            pki.trunk_ca_file().display().to_string(),
        ),
        ("OUTPOST_PRIVATE_MTLS_PEER_NAME", PEER_NAME.to_owned()),
    ]
}

fn start(home: tempfile::TempDir, net: u8, env: &[(&'static str, String)]) -> Outpost {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Outpost::start_in(home, net, &env)
}

/// `openssl s_client` to `addr`, presenting `identity` (certificate and
/// key files) if given, at TLS `version` (`-tls1_3`, `-tls1_2`); it
/// sends nothing and waits (`-ign_eof`) for the server to answer or
/// close. Returns its output (stdout and stderr).
fn s_client(addr: SocketAddr, identity: Option<&(PathBuf, PathBuf)>, version: &str) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr.to_string(),
        version,
        "-ign_eof",
    ]);
    if let Some((cert, key)) = identity {
        cmd.arg("-cert").arg(cert).arg("-key").arg(key);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    let deadline = Instant::now() + IO_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "openssl s_client still connected after {IO_TIMEOUT:?}: the handshake was accepted\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A rustls client to `addr` trusting `ca` for the server's certificate
/// (checked for the address), presenting `identity` if given, at TLS
/// `version` only.
fn tls_client(
    addr: SocketAddr,
    ca: &Ca,
    identity: Option<&Leaf>,
    version: &'static SupportedProtocolVersion,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.der.clone()], leaf.key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// The TLS error inside an I/O error, if it is one.
fn tls_error(e: &std::io::Error) -> Option<rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned()
}

/// Runs the handshake as a client and then waits for the server's first
/// word without sending anything: with TLS 1.3 the server checks the
/// client certificate after the client's last handshake message, so its
/// refusal comes as the alert read then; with TLS 1.2 the handshake
/// itself fails. Returns the alert received.
fn refused_with(
    mut tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
) -> AlertDescription {
    let outcome = loop {
        if !tls.conn.is_handshaking() {
            let mut byte = [0u8; 1];
            break tls.read(&mut byte).map(|_| ());
        }
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            break Err(e);
        }
    };
    let error = outcome.expect_err("the server accepted the client");
    match tls_error(&error) {
        Some(rustls::Error::AlertReceived(alert)) => alert,
        _ => panic!("expected a TLS alert from the server, got {error:?}"),
    }
}

/// Reads one SIP message's header section.
fn read_head(stream: &mut impl Read) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = stream
            .read(&mut byte)
            .expect("a message within the timeout");
        assert_eq!(
            n,
            1,
            "connection closed after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

#[test]
fn the_private_listener_refuses_peers_without_the_right_client_certificate() {
    const NET: u8 = 93;
    let pki = Pki::new(NET);
    let home = tempfile::tempdir().unwrap();
    pki.install_private_cert(home.path());
    let outpost = start(home, NET, &mtls_env(&pki));
    let private: SocketAddr = (IpAddr::from([127, 0, NET, 2]), 5064).into();

    let right = pki.trunk.leaf(&[PEER_NAME, "127.0.93.20"]);
    let stranger = pki.other.leaf(&[PEER_NAME]);
    let misnamed = pki.trunk.leaf(&["intruder.mtls.test"]);
    let files = |leaf: &Leaf, name| leaf.files(pki.dir.path(), name);
    let (stranger_files, misnamed_files) =
        (files(&stranger, "stranger"), files(&misnamed, "misnamed"));

    // openssl s_client, as an installer would try it: the alert says why.
    let cases = [
        ("no client certificate", None, "alert certificate required"),
        ("another CA's", Some(&stranger_files), "alert unknown ca"),
        (
            "the right CA's, wrong name",
            Some(&misnamed_files),
            "alert bad certificate",
        ),
    ];
    for (what, identity, alert) in cases {
        for version in ["-tls1_3", "-tls1_2"] {
            let out = s_client(private, identity, version);
            assert!(
                out.contains("Acceptable client certificate CA names")
                    && out.contains("CN = Trunk CA"),
                "{what} {version}: the server asks for a certificate from the trunk CA\n{out}"
            );
            assert!(
                out.contains(alert),
                "{what} {version}: expected {alert:?}\n{out}"
            );
        }
    }

    // A rustls client: the same refusals, as TLS alerts.
    let cases = [
        (
            "no client certificate",
            None,
            AlertDescription::CertificateRequired,
        ),
        ("another CA's", Some(&stranger), AlertDescription::UnknownCA),
        (
            "the right CA's, wrong name",
            Some(&misnamed),
            AlertDescription::BadCertificate,
        ),
    ];
    for (what, identity, alert) in cases {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let tls = tls_client(private, &pki.outpost, identity, version);
            assert_eq!(refused_with(tls), alert, "{what} {version:?}");
        }
    }
    let log = outpost.log_text();
    assert!(
        log.contains("MTLS: client certificate refused")
            && log.contains("issuer=CN=Other CA")
            && log.contains("UnknownIssuer"),
        "refusals are logged with the reason:\n{log}"
    );
    assert!(
        log.contains("does not carry private.mtls_peer_name") && log.contains("intruder.mtls.test"),
        "{log}"
    );

    // The right certificate: SIP over the connection, over both versions.
    // Outpost presents its sip-private certificate (checked by the
    // client against the Outpost LAN CA).
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let mut tls = tls_client(private, &pki.outpost, Some(&right), version);
        let local = tls.sock.local_addr().unwrap();
        let call_id = format!("mtls-{:?}", version.version);
        tls.write_all(options("TLS", local, &call_id).as_bytes())
            .unwrap();
        let answer = read_head(&mut tls);
        assert_eq!(status_of(answer.as_bytes()), Some(200), "{answer}");
        assert!(
            answer.contains(&format!("Call-ID: {call_id}\r\n")),
            "{answer}"
        );
        let presented = tls.conn.peer_certificates().unwrap()[0].clone();
        assert_eq!(
            presented, pki.private_cert.der,
            "the sip-private certificate"
        );
    }
    drop(outpost);
}

/// What the stand-in iPBX saw of the first TLS connection to it.
struct Seen {
    client_certs: Vec<CertificateDer<'static>>,
    first_message: String,
}

/// A TLS server on `listener` requiring a client certificate from `ca`,
/// presenting `identity`: accepts one connection (within the deadline)
/// and reads one message.
fn ipbx_stand_in(
    listener: TcpListener,
    ca: CertificateDer<'static>,
    identity: &Leaf,
) -> std::thread::JoinHandle<Result<Seen, String>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.der.clone()], identity.key())
        .unwrap();
    let config = Arc::new(config);
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let tcp = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err("Outpost never connected to the iPBX".to_owned());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.to_string()),
            }
        };
        tcp.set_nonblocking(false).unwrap();
        tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .map_err(|e| format!("TLS handshake with Outpost: {e}"))?;
        }
        let client_certs = tls
            .conn
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let first_message = read_head(&mut tls);
        Ok(Seen {
            client_certs,
            first_message,
        })
    })
}

/// `outpost --data-dir DATA ARGS` with `env`, which must succeed.
fn cli(data: &Path, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "outpost {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers `user` from a UDP phone at `phone` through Outpost's public
/// side `public`, answering the digest challenge.
fn register(phone: &UdpSocket, public: SocketAddr, user: &str, password: &str) {
    let local = phone.local_addr().unwrap();
    let request = |cseq: u32, authorization: &str| {
        format!(
            "REGISTER sip:{ip} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-mtls-{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@{ip}>;tag=mtls1\r\nTo: <sip:{user}@{ip}>\r\nCall-ID: mtls-register\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\nExpires: 120\r\n{authorization}Content-Length: 0\r\n\r\n",
            ip = public.ip()
        )
    };
    let exchange = |message: String| -> String {
        phone.send_to(message.as_bytes(), public).unwrap();
        let mut buf = vec![0u8; 65_535];
        loop {
            let (len, _) = phone.recv_from(&mut buf).expect("an answer from Outpost");
            let text = String::from_utf8_lossy(&buf[..len]).into_owned();
            // Provisional answers (100 Trying) are skipped.
            if status_of(text.as_bytes()).is_some_and(|s| s >= 200) {
                return text;
            }
        }
    };
    let challenge = exchange(request(1, ""));
    assert_eq!(status_of(challenge.as_bytes()), Some(401), "{challenge}");
    let values = challenge.lines().filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("WWW-Authenticate")
            .then(|| value.trim())
    });
    let challenge = outpost_sip::auth::select_challenge(values).unwrap();
    let mut client = outpost_sip::auth::DigestClient::new(user, password).unwrap();
    let uri = format!("sip:{}", public.ip());
    let credentials = client
        .respond(&challenge, "REGISTER", &uri, [7; 16])
        .unwrap();
    phone
        .send_to(
            request(
                2,
                &format!("Authorization: {}\r\n", credentials.to_header_value()),
            )
            .as_bytes(),
            public,
        )
        .unwrap();
}

#[test]
fn outpost_presents_its_sip_private_certificate_to_the_ipbx() {
    const NET: u8 = 94;
    let pki = Pki::new(NET);
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("outpost-data");
    let ipbx_ip = IpAddr::from([127, 0, NET, 5]);
    let listener = TcpListener::bind((ipbx_ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let ipbx_cert = pki.trunk.leaf(&[PEER_NAME, &ipbx_ip.to_string()]);
    let ipbx = ipbx_stand_in(listener, pki.outpost.der(), &ipbx_cert);

    cli(&data, &["init"], &[]);
    let trunk_ca = pki.trunk_ca_file().display().to_string();
    cli(
        &data,
        &[
            "icps",
            "add",
            "--name",
            "pbx",
            "--host",
            &ipbx_ip.to_string(),
            "--port",
            &port,
            "--transports",
            "tls",
            "--ca-file",
            &trunk_ca,
        ],
        &[],
    );
    cli(
        &data,
        &[
            "devices",
            "add",
            "--username",
            "alice",
            "--icp-username",
            "2001",
            "--icp",
            "pbx",
        ],
        &[("OUTPOST_DEVICE_PASSWORD", "alice-Secret-1")],
    );
    pki.install_private_cert(home.path());
    let outpost = start(home, NET, &mtls_env(&pki));

    let phone = UdpSocket::bind((IpAddr::from([127, 0, NET, 10]), 0)).unwrap();
    phone.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    register(&phone, outpost.addr(5060), "alice", "alice-Secret-1");

    let seen = ipbx
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}\n{}", outpost.log_text()));
    assert_eq!(
        seen.client_certs.first(),
        Some(&pki.private_cert.der),
        "Outpost's client certificate is its sip-private one"
    );
    assert!(
        seen.first_message.starts_with("REGISTER ") && seen.first_message.contains("2001"),
        "the phone's REGISTER, translated: {}",
        seen.first_message
    );
    drop(outpost);
}

#[test]
fn ott_terminals_need_a_certificate_for_the_fqdn_and_exclude_mtls() {
    const NET: u8 = 95;
    // OTT terminals with Outpost's own certificate: it covers the FQDN
    // but is self-signed, which OTT clients refuse; serve says so.
    let env = [
        ("OUTPOST_FQDN", "sbc.ott.test".to_owned()),
        ("OUTPOST_PUBLIC_OTT_TERMINALS", "true".to_owned()),
    ];
    let mut outpost = start(tempfile::tempdir().unwrap(), NET, &env);
    outpost.wait_for_log(
        "public.ott_terminals is on but the certificate covering sbc.ott.test",
        IO_TIMEOUT,
    );
    let log = outpost.log_text();
    assert!(
        log.contains("is self-signed") && log.contains("outpost certs assign sip-public"),
        "{log}"
    );
    drop(outpost);

    // With MTLS too: refused before anything starts, naming both and the fix.
    let pki = Pki::new(NET);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("serve")
        .current_dir(home.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OUTPOST_PUBLIC_INTERFACE", format!("127.0.{NET}.1"))
        .env("OUTPOST_PRIVATE_INTERFACE", format!("127.0.{NET}.2"))
        .env("OUTPOST_ADMIN_LISTEN", format!("127.0.{NET}.3:9464"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .envs(mtls_env(&pki).iter().map(|(k, v)| (*k, v.clone())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + IO_TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("outpost serve started with MTLS and OTT terminals both on");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("MTLS and OTT terminal support are mutually exclusive")
            && text.contains("private.mtls")
            && text.contains("public.ott_terminals = false"),
        "{text}"
    );
}
