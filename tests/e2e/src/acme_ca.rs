//! An ACME CA for tests, no root and no lab needed: Pebble (Let's
//! Encrypt's test CA, Debian package `pebble`) on 127.0.0.1 ports of its
//! own, validating through a [`LocalDnsmasq`] (Debian `dnsmasq-base`) that
//! resolves the names the test gives to the addresses it gives; every
//! other name under `.test` is NXDOMAIN.
//!
//! - Pebble's own HTTPS (directory, management) has a certificate from a
//!   [`TestCa`] of the bed's: a client trusts it through
//!   [`AcmeTestCa::https_ca_file`], as an operator would a company CA.
//! - Pebble validates HTTP-01 on [`AcmeTestCa::http_port`] and TLS-ALPN-01
//!   on [`AcmeTestCa::tls_port`] of the address the DNS gives for the name:
//!   the client's responder must listen there (port 80/443 in real life).
//! - `PEBBLE_VA_NOSLEEP=1`: validate at once; `PEBBLE_WFE_NONCEREJECT=0`:
//!   no random bad-nonce rejections; `PEBBLE_AUTHZREUSE=0`: every order gets
//!   fresh authorizations (a second order is really validated again).
//! - What Pebble issues chains to a root and an intermediate generated at
//!   its start; [`AcmeTestCa::root_pem`], [`AcmeTestCa::intermediate_pem`]
//!   and [`AcmeTestCa::issuers_file`] fetch them from its management
//!   interface.
//!
//! Missing `pebble` or `dnsmasq` is an error naming it (never a silent
//! skip); readiness is polled with deadlines. Pebble's log and the
//! certificates are in [`AcmeTestCa::dir`], kept when the test panics or
//! with `OUTPOST_KEEP_LAB=1` (the path is printed).
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use outpost_testbed::acme_ca::AcmeTestCa;
//!
//! # fn main() -> Result<(), outpost_testbed::TestbedError> {
//! let ca = AcmeTestCa::start(&[("sbc.acme.test", IpAddr::V4(Ipv4Addr::new(127, 0, 93, 1)))])?;
//! // An ACME client uses ca.directory_url(), trusts ca.https_ca_file(), and
//! // answers HTTP-01 on 127.0.93.1:ca.http_port().
//! let issuers = ca.issuers_file()?; // openssl verify -CAfile
//! # Ok(())
//! # }
//! ```

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::local_dns::LocalDnsmasq;
use crate::process::Process;
use crate::wait::wait_until_or;
use crate::{KEEP_ENV, Result, TestbedError, find_in_path};

/// How long Pebble gets to listen after its start.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on each request to Pebble's management interface.
const MANAGEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Pebble and its DNS server, stopped (and the directory removed, unless
/// kept) on drop.
pub struct AcmeTestCa {
    // Fields drop in order: Pebble stops before its DNS and its directory.
    pebble: Process,
    dns: LocalDnsmasq,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    directory_url: String,
    management: SocketAddr,
    https_ca: PathBuf,
    http_port: u16,
    tls_port: u16,
}

impl std::fmt::Debug for AcmeTestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeTestCa")
            .field("directory_url", &self.directory_url)
            .field("dns", &self.dns.addr())
            .field("http_port", &self.http_port)
            .field("tls_port", &self.tls_port)
            .field("dir", &self.dir_path)
            .finish_non_exhaustive()
    }
}

impl AcmeTestCa {
    /// Starts dnsmasq answering `names` (each DNS name with its IPv4 or
    /// IPv6 address; other names under `.test` are NXDOMAIN), then Pebble
    /// validating through it, and waits until both answer.
    ///
    /// # Errors
    /// [`TestbedError::MissingTool`] when `pebble` or `dnsmasq` is not
    /// installed; Pebble exiting or not listening within 30 s (with its
    /// log); a file that cannot be written.
    ///
    /// # Panics
    /// When dnsmasq starts but does not answer within 10 s
    /// ([`LocalDnsmasq::start`]): the test's failure report.
    pub fn start(names: &[(&str, IpAddr)]) -> Result<Self> {
        let needed_for = "the ACME test CA (Debian packages pebble and dnsmasq-base; \
                          scripts/test.sh installs them)";
        let missing = |tool: &str| TestbedError::MissingTool {
            tool: tool.to_owned(),
            needed_for: needed_for.to_owned(),
        };
        let pebble_bin = find_in_path("pebble").ok_or_else(|| missing("pebble"))?;
        if find_in_path("dnsmasq").is_none() {
            return Err(missing("dnsmasq"));
        }
        let dir = tempfile::Builder::new()
            .prefix("outpost-acme-ca-")
            .tempdir()
            .map_err(|e| {
                TestbedError::io("creating the ACME CA directory", Path::new("/tmp"), e)
            })?;
        let dir_path = dir.path().to_path_buf();

        let dns_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), free_udp_port()?);
        let records: Vec<String> = names
            .iter()
            .map(|(name, ip)| format!("--host-record={name},{ip}"))
            .collect();
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        let dns = LocalDnsmasq::start(dns_addr, 0, &records).ok_or_else(|| missing("dnsmasq"))?;

        // Pebble's HTTPS certificate, from a test CA of our own.
        let https = crate::pki::TestCa::new(&dir_path, "Pebble HTTPS test CA")?;
        let leaf = https.issue(&["localhost", "127.0.0.1"], &dir_path, "pebble-https")?;
        let https_ca = https.ca_file().to_path_buf();

        let ports = free_tcp_ports(4)?;
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (listen, management, http_port, tls_port) = (
            SocketAddr::new(localhost, ports[0]),
            SocketAddr::new(localhost, ports[1]),
            ports[2],
            ports[3],
        );
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": listen.to_string(),
                "managementListenAddress": management.to_string(),
                "certificate": leaf.cert_file,
                "privateKey": leaf.key_file,
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false
            }
        });
        let config_path = dir_path.join("pebble-config.json");
        std::fs::write(&config_path, config.to_string())
            .map_err(|e| TestbedError::io("writing Pebble's configuration", &config_path, e))?;
        let mut command = Command::new(pebble_bin);
        command
            .arg("-config")
            .arg(&config_path)
            .arg("-dnsserver")
            .arg(dns_addr.to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0");
        let pebble = Process::spawn("pebble", command, dir_path.join("pebble.log"))?;
        let mut ca = Self {
            pebble,
            dns,
            dir: Some(dir),
            dir_path,
            directory_url: format!("https://{listen}/dir"),
            management,
            https_ca,
            http_port,
            tls_port,
        };
        for addr in [listen, management] {
            ca.wait_listening(addr)?;
        }
        Ok(ca)
    }

    /// Waits until Pebble accepts TCP on `addr`, failing early if it exits.
    fn wait_listening(&mut self, addr: SocketAddr) -> Result<()> {
        let log = self.pebble.log_path().to_path_buf();
        let pebble = &mut self.pebble;
        wait_until_or(
            &format!("Pebble listening on {addr}"),
            START_TIMEOUT,
            |_| {
                pebble.ensure_running(&format!("starting (listening on {addr})"))?;
                Ok(
                    TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                        .ok()
                        .map(drop),
                )
            },
            || format!("Pebble's log {}:\n{}", log.display(), crate::log_tail(&log)),
        )
    }

    /// The ACME directory URL (`https://127.0.0.1:PORT/dir`).
    pub fn directory_url(&self) -> &str {
        &self.directory_url
    }

    /// The CA certificate (PEM) of Pebble's own HTTPS: what an ACME client
    /// must trust besides the public roots.
    pub fn https_ca_file(&self) -> &Path {
        &self.https_ca
    }

    /// The port Pebble connects to for HTTP-01 (port 80 in real life).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The port Pebble connects to for TLS-ALPN-01 (port 443 in real life).
    pub fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The DNS server Pebble asks (UDP and TCP on 127.0.0.1).
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }

    /// The directory holding Pebble's configuration, certificates and log.
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }

    /// Pebble's log file (stdout and stderr).
    pub fn pebble_log(&self) -> &Path {
        self.pebble.log_path()
    }

    /// Pebble's log so far.
    pub fn pebble_log_text(&self) -> String {
        self.pebble.log_text()
    }

    /// dnsmasq's log so far (every query).
    pub fn dns_log_text(&self) -> String {
        self.dns.log_text()
    }

    /// The last lines of Pebble's log and of the DNS server's, for failure
    /// messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "Pebble's log {}:\n{}\ndnsmasq's log:\n{}",
            self.pebble.log_path().display(),
            self.pebble.log_tail(),
            crate::last_lines(&self.dns.log_text(), 40)
        )
    }

    /// An [`TestbedError::Exited`] error (with Pebble's log) if Pebble is no
    /// longer running.
    pub fn ensure_running(&mut self) -> Result<()> {
        self.pebble.ensure_running("serving as the ACME test CA")
    }

    /// Pebble's root certificate (PEM, `GET /roots/0`).
    ///
    /// # Errors
    /// The management interface cannot be reached or does not answer 200.
    pub fn root_pem(&self) -> Result<String> {
        self.management_get("/roots/0")
    }

    /// Pebble's intermediate certificate (PEM, `GET /intermediates/0`),
    /// the issuer of every leaf.
    ///
    /// # Errors
    /// As [`AcmeTestCa::root_pem`].
    pub fn intermediate_pem(&self) -> Result<String> {
        self.management_get("/intermediates/0")
    }

    /// Writes Pebble's root and intermediate to `dir/pebble-issuers.pem`
    /// and returns its path: a CA file for `openssl s_client -CAfile` or
    /// `openssl verify -CAfile` that verifies Pebble's leaves.
    ///
    /// # Errors
    /// As [`AcmeTestCa::root_pem`]; the file cannot be written.
    pub fn issuers_file(&self) -> Result<PathBuf> {
        let pem = format!("{}{}", self.root_pem()?, self.intermediate_pem()?);
        let path = self.dir_path.join("pebble-issuers.pem");
        std::fs::write(&path, pem)
            .map_err(|e| TestbedError::io("writing Pebble's issuers", &path, e))?;
        Ok(path)
    }

    /// The body of `GET path` on Pebble's management interface (HTTPS
    /// verified with [`AcmeTestCa::https_ca_file`]; HTTP/1.0 so the body is
    /// not chunked).
    ///
    /// # Errors
    /// It cannot be reached, or answers other than 200.
    pub fn management_get(&self, path: &str) -> Result<String> {
        let url = format!("https://{}{path}", self.management);
        let log = self.pebble.log_path();
        let failed = |e: std::io::Error| {
            TestbedError::io(format!("GET {url} (Pebble's management; its log)"), log, e)
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.https_ca)
            .map_err(|e| TestbedError::io("reading", &self.https_ca, std::io::Error::other(e)))?
        {
            let cert = cert.map_err(|e| {
                TestbedError::io("reading", &self.https_ca, std::io::Error::other(e))
            })?;
            roots.add(cert).map_err(|e| {
                TestbedError::io("trusting", &self.https_ca, std::io::Error::other(e))
            })?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| failed(std::io::Error::other(e)))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let server = ServerName::from(self.management.ip());
        let connection = rustls::ClientConnection::new(Arc::new(config), server)
            .map_err(|e| failed(std::io::Error::other(e)))?;
        let tcp =
            TcpStream::connect_timeout(&self.management, MANAGEMENT_TIMEOUT).map_err(failed)?;
        tcp.set_read_timeout(Some(MANAGEMENT_TIMEOUT))
            .map_err(failed)?;
        tcp.set_write_timeout(Some(MANAGEMENT_TIMEOUT))
            .map_err(failed)?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        tls.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .map_err(failed)?;
        let mut answer = Vec::new();
        match tls.read_to_end(&mut answer) {
            Ok(_) => {}
            // Go closes without close_notify after an HTTP/1.0 answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(failed(e)),
        }
        let text = String::from_utf8_lossy(&answer);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return Err(failed(std::io::Error::other(format!(
                "not an HTTP answer: {text:?}"
            ))));
        };
        let status = head.lines().next().unwrap_or_default();
        if !(status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200")) {
            return Err(failed(std::io::Error::other(format!(
                "answered {status:?}: {body}"
            ))));
        }
        Ok(body.to_owned())
    }
}

impl Drop for AcmeTestCa {
    fn drop(&mut self) {
        self.pebble.stop();
        let keep = std::thread::panicking() || std::env::var(KEEP_ENV).is_ok_and(|v| v == "1");
        if keep && let Some(dir) = self.dir.take() {
            let path = dir.keep();
            eprintln!("ACME test CA directory kept: {}", path.display());
        }
    }
}

/// A UDP port free on 127.0.0.1 just now (dnsmasq binds it next).
fn free_udp_port() -> Result<u16> {
    let path = Path::new("127.0.0.1");
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .map_err(|e| TestbedError::io("picking a free UDP port", path, e))
}

/// `n` distinct TCP ports free on 127.0.0.1 just now (held together while
/// picked, so they differ).
fn free_tcp_ports(n: usize) -> Result<Vec<u16>> {
    let path = Path::new("127.0.0.1");
    let held = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| TestbedError::io("picking free TCP ports", path, e))?;
    held.iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| TestbedError::io("picking free TCP ports", path, e))
}
