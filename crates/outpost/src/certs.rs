//! TLS identity: the self-signed default certificate generated on first start
//! (SEC-8: TLS works out of the box), its renewal, and the rustls
//! configurations.
//!
//! Importing PEM/PKCS#12 and ACME come later; this module only loads what is
//! in the data directory or creates it.
//!
//! Outpost's own certificate is told apart from one an operator put in
//! `tls/default.crt` by its subject: it is self-issued (issuer equal to
//! subject) with the organisation [`SELF_SIGNED_ORGANIZATION`], which every
//! version of Outpost wrote. Only that one is ever replaced. It is valid from
//! a day before it was made (a phone whose clock is a little behind still
//! accepts it) for [`SELF_SIGNED_VALIDITY_DAYS`]; the 1975–4096 dates that
//! rcgen uses by default are refused by embedded phones with 32-bit clocks or
//! strict checks, and such a certificate from an earlier version is replaced.
//! It is renewed at start, and by a daily check while serving
//! ([`renew_daily`], which also takes a changed pair of files within
//! [`FILE_CHECK_INTERVAL`]), once it expires within [`RENEW_BEFORE_DAYS`]; the TLS
//! listeners take the new one for the next handshake through
//! [`LiveCertificate`], so no connection or call is dropped.
//!
//! A renewal keeps the private key: only the certificate file changes, by one
//! atomic rename, so a crash cannot leave a key that does not match the
//! certificate; and a client that kept the old certificate as its trust
//! anchor (same subject, same key) accepts the new one while the old one is
//! still valid. The serial number is random, so two certificates never share
//! issuer and serial.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::{Duration as TimeDuration, OffsetDateTime};
use tokio::sync::watch;
use tracing::{info, warn};

/// Organisation name in the subject of Outpost's own self-signed
/// certificates: how Outpost recognises the certificates it may renew.
pub const SELF_SIGNED_ORGANIZATION: &str = "Outpost self-signed";
/// Days a generated self-signed certificate is valid after it is made.
pub const SELF_SIGNED_VALIDITY_DAYS: i64 = 2 * 365;
/// Days its `notBefore` lies before the moment it is made.
pub const BACKDATE_DAYS: i64 = 1;
/// Outpost's own certificate is renewed when it expires within this many days.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// How often a running `outpost serve` checks its certificate.
pub const RENEWAL_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
/// How often a running `outpost serve` looks whether `tls/default.crt` or
/// `tls/default.key` changed (`outpost certs import`, or files copied in):
/// a change is picked up within this time, not at the next daily check.
pub const FILE_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
/// An Outpost certificate valid for longer than this has the dates of an
/// earlier version (1975–4096) and is replaced.
const MAX_SELF_SIGNED_LIFETIME: TimeDuration =
    TimeDuration::days(SELF_SIGNED_VALIDITY_DAYS + BACKDATE_DAYS + 1);

/// Why the TLS identity could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// Reading or writing a certificate file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A PEM file did not hold what was expected.
    #[error("{path}: {what}; delete the file to have a new self-signed certificate generated")]
    BadPem {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// Certificate generation failed.
    #[error("generating the self-signed certificate for {names:?}: {source}")]
    Generate {
        /// Subject names requested.
        names: Vec<String>,
        /// rcgen's error.
        source: rcgen::Error,
    },
    /// The operating system's random source failed.
    #[error("no random bytes from the operating system for a certificate serial number: {0}")]
    Random(String),
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// When a certificate is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// Start of validity (`notBefore`).
    pub not_before: OffsetDateTime,
    /// End of validity (`notAfter`).
    pub not_after: OffsetDateTime,
}

impl std::fmt::Display for Validity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to {}",
            Timestamp(self.not_before),
            Timestamp(self.not_after)
        )
    }
}

/// A UTC date and time as RFC 3339 (`2026-03-01T12:00:00Z`).
#[derive(Debug, Clone, Copy)]
pub struct Timestamp(pub OffsetDateTime);

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0.to_offset(time::UtcOffset::UTC);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

/// Why Outpost's own certificate was renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Renewal {
    /// It expires within [`RENEW_BEFORE_DAYS`].
    Expiring,
    /// It has expired.
    Expired,
    /// Its validity starts in the future (the clock went back).
    NotYetValid,
    /// It has the 1975–4096 dates of an earlier version.
    LegacyDates,
}

impl std::fmt::Display for Renewal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Expiring => "expires within the renewal margin",
            Self::Expired => "expired",
            Self::NotYetValid => "not valid yet (the clock went back)",
            Self::LegacyDates => "dated 1975 to 4096 by an earlier version",
        })
    }
}

/// Whether Outpost's own certificate with this validity must be renewed at
/// `now`, and why.
pub fn renewal_due(validity: &Validity, now: OffsetDateTime) -> Option<Renewal> {
    if validity.not_after - validity.not_before > MAX_SELF_SIGNED_LIFETIME {
        Some(Renewal::LegacyDates)
    } else if validity.not_before > now {
        Some(Renewal::NotYetValid)
    } else if validity.not_after <= now {
        Some(Renewal::Expired)
    } else if validity.not_after - now < TimeDuration::days(RENEW_BEFORE_DAYS) {
        Some(Renewal::Expiring)
    } else {
        None
    }
}

/// A certificate chain and its private key, as files and as parsed DER.
#[derive(Debug)]
pub struct TlsIdentity {
    /// PEM certificate chain file.
    pub cert_path: PathBuf,
    /// PEM private key file (mode 0600).
    pub key_path: PathBuf,
    /// Parsed chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// Parsed key.
    pub key: PrivateKeyDer<'static>,
    /// True when this call generated a new key and certificate.
    pub generated: bool,
    /// Set when this call renewed Outpost's own certificate.
    pub renewed: Option<Renewal>,
    /// Validity of the first certificate of the chain.
    pub validity: Validity,
    /// True for Outpost's own self-signed certificate (renewed by Outpost);
    /// false for one the operator installed (never touched).
    pub outpost_self_signed: bool,
}

/// Loads `DIR/default.crt` + `DIR/default.key`, or generates a self-signed
/// pair for `names` (DNS names or IP addresses) when they do not exist, and
/// renews Outpost's own certificate when it is due; at the system clock's
/// time.
pub fn load_or_generate(dir: &Path, names: &[String]) -> Result<TlsIdentity, CertError> {
    load_or_generate_at(dir, names, SystemTime::now())
}

/// [`load_or_generate`] at `now`.
pub fn load_or_generate_at(
    dir: &Path,
    names: &[String],
    now: SystemTime,
) -> Result<TlsIdentity, CertError> {
    let now = OffsetDateTime::from(now);
    let cert_path = dir.join("default.crt");
    let key_path = dir.join("default.key");
    if !(cert_path.exists() && key_path.exists()) {
        generate(dir, &cert_path, &key_path, names, now)?;
        let mut identity = read(cert_path, key_path)?;
        identity.generated = true;
        return Ok(identity);
    }
    let identity = read(cert_path, key_path)?;
    if !identity.outpost_self_signed {
        return Ok(identity);
    }
    let Some(reason) = renewal_due(&identity.validity, now) else {
        return Ok(identity);
    };
    match rcgen::KeyPair::try_from(&identity.key) {
        Ok(key) => {
            let pem = self_signed_pem(names, &key, now)?;
            write_atomic(&identity.cert_path, pem.as_bytes(), 0o644)
                .map_err(io_error(&identity.cert_path))?;
        }
        // A key rcgen cannot sign with: a new pair. The old certificate is
        // removed first, so a crash in between leaves no certificate and
        // the next start generates both again.
        Err(_) => {
            fs::remove_file(&identity.cert_path).map_err(io_error(&identity.cert_path))?;
            generate(dir, &identity.cert_path, &identity.key_path, names, now)?;
        }
    }
    let mut renewed = read(identity.cert_path, identity.key_path)?;
    renewed.renewed = Some(reason);
    Ok(renewed)
}

/// Reads and inspects a certificate chain and key.
fn read(cert_path: PathBuf, key_path: PathBuf) -> Result<TlsIdentity, CertError> {
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CertError::BadPem {
            path: cert_path.clone(),
            what: e.to_string(),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(CertError::BadPem {
            path: cert_path,
            what: "no certificate found".into(),
        });
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf).map_err(|e| CertError::BadPem {
        path: cert_path.clone(),
        what: format!("not a valid X.509 certificate: {e}"),
    })?;
    let validity = Validity {
        not_before: parsed.validity().not_before.to_datetime(),
        not_after: parsed.validity().not_after.to_datetime(),
    };
    let outpost_self_signed = parsed.issuer().as_raw() == parsed.subject().as_raw()
        && parsed
            .subject()
            .iter_organization()
            .any(|o| o.as_str().is_ok_and(|o| o == SELF_SIGNED_ORGANIZATION));
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| CertError::BadPem {
        path: key_path.clone(),
        what: e.to_string(),
    })?;
    Ok(TlsIdentity {
        cert_path,
        key_path,
        chain,
        key,
        generated: false,
        renewed: None,
        validity,
        outpost_self_signed,
    })
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + use<> {
    let path = path.to_path_buf();
    move |source| CertError::Io { path, source }
}

/// Generates a new key and a self-signed certificate for `names`. The key is
/// written first and only then the certificate, so a crash in between leaves
/// no certificate and the next start regenerates both.
fn generate(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
    names: &[String],
    now: OffsetDateTime,
) -> Result<(), CertError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let key = rcgen::KeyPair::generate().map_err(|source| CertError::Generate {
        names: names.to_vec(),
        source,
    })?;
    let pem = self_signed_pem(names, &key, now)?;
    write_atomic(key_path, key.serialize_pem().as_bytes(), 0o600).map_err(io_error(key_path))?;
    write_atomic(cert_path, pem.as_bytes(), 0o644).map_err(io_error(cert_path))?;
    Ok(())
}

/// Outpost's self-signed certificate for `names`, signed by `key`, valid from
/// a day before `now` for [`SELF_SIGNED_VALIDITY_DAYS`], as PEM.
fn self_signed_pem(
    names: &[String],
    key: &rcgen::KeyPair,
    now: OffsetDateTime,
) -> Result<String, CertError> {
    let failed = |source| CertError::Generate {
        names: names.to_vec(),
        source,
    };
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(failed)?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.clone());
    }
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, SELF_SIGNED_ORGANIZATION);
    params.not_before = now - TimeDuration::days(BACKDATE_DAYS);
    params.not_after = now + TimeDuration::days(SELF_SIGNED_VALIDITY_DAYS);
    params.serial_number = Some(random_serial()?);
    Ok(params.self_signed(key).map_err(failed)?.pem())
}

/// A random positive 128-bit serial number (RFC 5280 §4.1.2.2).
fn random_serial() -> Result<rcgen::SerialNumber, CertError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CertError::Random(e.to_string()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(rcgen::SerialNumber::from(bytes.to_vec()))
}

/// Writes a file with `mode` (unix), replacing it atomically: a reader sees
/// the old content or the new, never half of it.
/// Writes `data` to `path` with `mode` by an atomic rename (for the
/// certificate import command).
///
/// # Errors
/// The I/O error.
pub fn write_file_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic(path, data, mode)
}

fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp)?;
    file.write_all(data)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Logs which certificate the TLS listeners present and its validity; warns
/// when an operator's certificate is about to expire (Outpost does not renew
/// those).
pub fn log_identity(identity: &TlsIdentity, names: &[String], now: SystemTime) {
    let cert = identity.cert_path.display();
    let valid_from = Timestamp(identity.validity.not_before);
    let valid_until = Timestamp(identity.validity.not_after);
    if identity.generated {
        info!(%cert, ?names, %valid_from, %valid_until, "generated self-signed certificate");
    } else if let Some(reason) = identity.renewed {
        info!(%cert, ?names, %valid_from, %valid_until, %reason, "renewed Outpost's self-signed certificate");
    } else if identity.outpost_self_signed {
        info!(%cert, %valid_from, %valid_until, renew_days_before = RENEW_BEFORE_DAYS, "using Outpost's self-signed certificate");
    } else {
        info!(%cert, %valid_from, %valid_until, "using the operator's certificate");
        log_expiry_warning(identity, now);
    }
}

/// The certificate the TLS listeners present, replaceable while they run:
/// each handshake takes the current one, connections already up keep theirs.
#[derive(Debug)]
pub struct LiveCertificate {
    current: RwLock<Arc<CertifiedKey>>,
}

impl LiveCertificate {
    /// Starts with `identity`.
    pub fn new(identity: &TlsIdentity) -> Result<Self, CertError> {
        Ok(Self {
            current: RwLock::new(certified_key(identity)?),
        })
    }

    /// Presents `identity` from the next handshake on.
    pub fn replace(&self, identity: &TlsIdentity) -> Result<(), CertError> {
        let key = certified_key(identity)?;
        // A poisoned lock only means a panic elsewhere while swapping an
        // `Arc`: the value inside is whole.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
        Ok(())
    }

    /// The chain presented now.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current().cert.clone()
    }

    fn current(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ResolvesServerCert for LiveCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn certified_key(identity: &TlsIdentity) -> Result<Arc<CertifiedKey>, CertError> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    Ok(Arc::new(CertifiedKey::from_der(
        identity.chain.clone(),
        identity.key.clone_key(),
        &provider,
    )?))
}

/// Checks the certificate files at `now` (renewing Outpost's own when due)
/// and gives `live` the certificate on disk when it changed. Returns the
/// renewal done, if any.
pub fn refresh(
    dir: &Path,
    names: &[String],
    now: SystemTime,
    live: &LiveCertificate,
) -> Result<Option<Renewal>, CertError> {
    let identity = load_or_generate_at(dir, names, now)?;
    if identity.chain != live.chain() {
        live.replace(&identity)?;
        log_identity(&identity, names, now);
        info!(cert = %identity.cert_path.display(), "TLS listeners now present this certificate; connections already up keep the previous one");
    } else if !identity.outpost_self_signed {
        log_expiry_warning(&identity, now);
    }
    Ok(identity.renewed)
}

fn log_expiry_warning(identity: &TlsIdentity, now: SystemTime) {
    let now = OffsetDateTime::from(now);
    let cert = identity.cert_path.display();
    let valid_until = Timestamp(identity.validity.not_after);
    if identity.validity.not_after <= now {
        warn!(%cert, %valid_until, "the certificate has expired and phones will refuse it; install a new one (Outpost renews only its own self-signed certificate)");
    } else if identity.validity.not_after - now < TimeDuration::days(RENEW_BEFORE_DAYS) {
        warn!(%cert, %valid_until, "the certificate expires soon; install a new one (Outpost renews only its own self-signed certificate)");
    }
}

/// Runs [`refresh`] once every [`RENEWAL_CHECK_INTERVAL`], and as soon as
/// the certificate or key file changes (looked at every
/// [`FILE_CHECK_INTERVAL`]), until `stop`; off the async threads (it reads
/// files and may sign a certificate). A failed check leaves the current
/// certificate in use and says so; a pair caught half written (the key
/// already new, the certificate not yet) fails once and is taken at the
/// next look.
pub async fn renew_daily(
    dir: PathBuf,
    names: Vec<String>,
    live: Arc<LiveCertificate>,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen = file_stamps(&dir);
    let mut last_full = std::time::Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep(FILE_CHECK_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        let stamps = file_stamps(&dir);
        let daily = last_full.elapsed() >= RENEWAL_CHECK_INTERVAL;
        if stamps == seen && !daily {
            continue;
        }
        if daily {
            last_full = std::time::Instant::now();
        }
        let (d, n, l) = (dir.clone(), names.clone(), Arc::clone(&live));
        let checked =
            tokio::task::spawn_blocking(move || refresh(&d, &n, SystemTime::now(), &l)).await;
        match checked {
            Ok(Ok(_)) => seen = stamps,
            Ok(Err(e)) => {
                warn!(error = %e, "certificate check failed; the current certificate stays in use");
            }
            Err(e) => {
                warn!(error = %e, "certificate check did not finish; the current certificate stays in use");
            }
        }
    }
}

/// Modification time and size of the certificate and key files (`None`
/// for a file that cannot be read).
fn file_stamps(dir: &Path) -> [Option<(SystemTime, u64)>; 2] {
    ["default.crt", "default.key"].map(|name| {
        fs::metadata(dir.join(name))
            .ok()
            .and_then(|m| m.modified().ok().map(|t| (t, m.len())))
    })
}

/// A rustls server configuration limited to TLS 1.2 and 1.3 (SIG-1), with the
/// aws-lc-rs provider installed explicitly, presenting `identity`.
pub fn server_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, CertError> {
    Ok(live_server_config(identity)?.0)
}

/// [`server_config`] whose certificate can be replaced while it is in use,
/// through the returned [`LiveCertificate`].
pub fn live_server_config(
    identity: &TlsIdentity,
) -> Result<(Arc<rustls::ServerConfig>, Arc<LiveCertificate>), CertError> {
    let live = Arc::new(LiveCertificate::new(identity)?);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&live) as Arc<dyn ResolvesServerCert>);
    config.key_log = key_log();
    Ok((Arc::new(config), live))
}

/// TLS session keys go to the file named by `SSLKEYLOGFILE` when that
/// variable is set (as in curl and browsers), so a capture can be decrypted
/// for troubleshooting; otherwise nothing is written. Startup warns when it
/// is set, because whoever reads that file can read the traffic.
fn key_log() -> Arc<dyn rustls::KeyLog> {
    if std::env::var_os("SSLKEYLOGFILE").is_some() {
        Arc::new(rustls::KeyLogFile::new())
    } else {
        Arc::new(rustls::NoKeyLog)
    }
}

/// A rustls client configuration for outgoing TLS (TLS 1.2 and 1.3 only):
/// it trusts Outpost's own certificate (a daisy-chain peer uses the same
/// kind) and the CAs in `ca_file` (`ipbx.ca_file`).
pub fn client_config(
    identity: &TlsIdentity,
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, CertError> {
    client_config_trusting(&identity.chain, ca_file)
}

/// [`client_config`] from Outpost's certificate chain alone.
pub fn client_config_trusting(
    chain: &[CertificateDer<'static>],
    ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, CertError> {
    let roots = trust_roots(chain, ca_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.key_log = key_log();
    Ok(Arc::new(config))
}

/// What outgoing TLS trusts: Outpost's own certificate chain and the CAs
/// in `ca_file` (see [`client_config`]).
pub fn trust_roots(
    chain: &[CertificateDer<'static>],
    ca_file: Option<&Path>,
) -> Result<rustls::RootCertStore, CertError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in chain {
        roots.add(cert.clone())?;
    }
    if let Some(path) = ca_file {
        let bad = |what: String| CertError::BadPem {
            path: path.to_path_buf(),
            what: format!(
                "{what}; fix ipbx.ca_file or the ICP's CA file (outpost icps add --ca-file)"
            ),
        };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate found".into()));
        }
        for cert in certs {
            roots.add(cert)?;
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests;
