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

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use outpost_certs::CertificateInfo;
use outpost_certs::store::{CertStore, DEFAULT_NAME, LoadedCertificate, Usage};
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

/// Writes `data` to `path` with `mode` by an atomic rename.
///
/// # Errors
/// The I/O error.
pub fn write_file_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    outpost_certs::store::write_atomic(path, data, mode)
}

fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    outpost_certs::store::write_atomic(path, data, mode)
}

/// Logs which default certificate the TLS listeners present and its
/// validity (expiry warnings come from [`ExpiryWarnings`]).
pub fn log_identity(identity: &TlsIdentity, names: &[String]) {
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
    }
}

/// The certificates one usage's TLS listener presents, replaceable while
/// it runs: each handshake takes the current set and picks by the client's
/// SNI ([`outpost_certs::sni::pick`]); connections already up keep theirs.
#[derive(Debug)]
pub struct LiveCertificate {
    current: RwLock<Arc<Vec<Presented>>>,
}

/// One certificate of a usage's set.
#[derive(Debug)]
struct Presented {
    name: String,
    info: CertificateInfo,
    key: Arc<CertifiedKey>,
}

impl LiveCertificate {
    /// Starts with `identity` alone (as `default`).
    pub fn new(identity: &TlsIdentity) -> Result<Self, CertError> {
        Ok(Self {
            current: RwLock::new(Arc::new(vec![presented_identity(identity)?])),
        })
    }

    /// Presents `identity` alone from the next handshake on.
    pub fn replace(&self, identity: &TlsIdentity) -> Result<(), CertError> {
        self.swap(vec![presented_identity(identity)?]);
        Ok(())
    }

    /// Presents `certs` (the first for clients whose SNI matches none) from
    /// the next handshake on, unless they are what is presented already.
    /// Returns whether anything changed.
    pub fn present(&self, certs: &[LoadedCertificate]) -> Result<bool, CertError> {
        let current = self.current();
        let same = current.len() == certs.len()
            && current
                .iter()
                .zip(certs)
                .all(|(p, c)| p.name == c.name && p.key.cert == c.chain);
        if same || certs.is_empty() {
            return Ok(false);
        }
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let mut set = Vec::with_capacity(certs.len());
        for c in certs {
            set.push(Presented {
                name: c.name.clone(),
                info: c.info.clone(),
                key: Arc::new(CertifiedKey::from_der(
                    c.chain.clone(),
                    c.key.clone_key(),
                    &provider,
                )?),
            });
        }
        self.swap(set);
        Ok(true)
    }

    /// The chain presented to clients without SNI (the usage's first).
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current()
            .first()
            .map(|p| p.key.cert.clone())
            .unwrap_or_default()
    }

    /// Name and what it says of each certificate presented, first the
    /// default.
    pub fn presented(&self) -> Vec<(String, CertificateInfo)> {
        self.current()
            .iter()
            .map(|p| (p.name.clone(), p.info.clone()))
            .collect()
    }

    fn swap(&self, set: Vec<Presented>) {
        // A poisoned lock only means a panic elsewhere while swapping an
        // `Arc`: the value inside is whole.
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }

    fn current(&self) -> Arc<Vec<Presented>> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl ResolvesServerCert for LiveCertificate {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let set = self.current();
        let names: Vec<&[String]> = set.iter().map(|p| p.info.names.as_slice()).collect();
        let index = outpost_certs::sni::pick(&names, client_hello.server_name());
        set.get(index).map(|p| Arc::clone(&p.key))
    }
}

fn presented_identity(identity: &TlsIdentity) -> Result<Presented, CertError> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let info = identity
        .chain
        .first()
        .and_then(|leaf| CertificateInfo::from_der(leaf))
        .ok_or_else(|| CertError::BadPem {
            path: identity.cert_path.clone(),
            what: "not a valid X.509 certificate".into(),
        })?;
    Ok(Presented {
        name: DEFAULT_NAME.to_owned(),
        info,
        key: Arc::new(CertifiedKey::from_der(
            identity.chain.clone(),
            identity.key.clone_key(),
            &provider,
        )?),
    })
}

/// The live certificate set of each usage (SEC-8): SIP public, SIP
/// private, web services, admin.
#[derive(Debug, Clone)]
pub struct LiveUsages {
    usages: BTreeMap<Usage, Arc<LiveCertificate>>,
}

impl LiveUsages {
    /// Every usage presenting `identity` until the first [`refresh`].
    pub fn new(identity: &TlsIdentity) -> Result<Self, CertError> {
        let mut usages = BTreeMap::new();
        for usage in Usage::ALL {
            usages.insert(usage, Arc::new(LiveCertificate::new(identity)?));
        }
        Ok(Self { usages })
    }

    /// The set of `usage`.
    pub fn get(&self, usage: Usage) -> Arc<LiveCertificate> {
        match self.usages.get(&usage) {
            Some(live) => Arc::clone(live),
            // `new` fills every usage; unreachable, but no panic.
            None => Arc::new(LiveCertificate {
                current: RwLock::new(Arc::new(Vec::new())),
            }),
        }
    }

    /// A rustls server configuration presenting `usage`'s set (see
    /// [`live_server_config`]).
    pub fn server_config(&self, usage: Usage) -> Result<Arc<rustls::ServerConfig>, CertError> {
        server_config_resolving(self.get(usage))
    }
}

/// Checks the certificate files at `now` (renewing Outpost's own when due)
/// and gives each usage of `live` the certificates the store assigns it
/// when they changed. Returns the renewal done, if any. A certificate that
/// cannot be loaded is left out with a warning (the usage keeps the
/// others; one with none left keeps `default`).
pub fn refresh(
    dir: &Path,
    names: &[String],
    now: SystemTime,
    live: &LiveUsages,
) -> Result<Option<Renewal>, CertError> {
    let identity = load_or_generate_at(dir, names, now)?;
    let store = CertStore::new(dir);
    let assignments = store.assignments().unwrap_or_else(|e| {
        warn!(error = %e, "certificate assignments unreadable; every usage presents the default certificate");
        BTreeMap::new()
    });
    let default_changed = live.get(Usage::SipPublic).chain() != identity.chain;
    for usage in Usage::ALL {
        let wanted = assignments
            .get(&usage)
            .cloned()
            .unwrap_or_else(|| vec![DEFAULT_NAME.to_owned()]);
        let mut loaded = Vec::new();
        for name in &wanted {
            match store.load(name) {
                Ok(cert) => loaded.push(cert),
                Err(e) => {
                    warn!(usage = usage.as_str(), certificate = %name, error = %e, "certificate left out")
                }
            }
        }
        if loaded.is_empty() {
            loaded.push(store.load(DEFAULT_NAME).map_err(|e| CertError::BadPem {
                path: identity.cert_path.clone(),
                what: e.to_string(),
            })?);
        }
        if live.get(usage).present(&loaded)? {
            let names: Vec<&str> = loaded.iter().map(|c| c.name.as_str()).collect();
            info!(usage = usage.as_str(), certificates = ?names, "TLS listeners now present this certificate; connections already up keep the previous one");
        }
    }
    if default_changed || identity.renewed.is_some() {
        log_identity(&identity, names);
    }
    Ok(identity.renewed)
}

/// Days ahead of a certificate's expiry at which a warning is given (and
/// audited) once each (issue 17 item 6).
pub const EXPIRY_WARNING_DAYS: [i64; 3] = [30, 7, 1];

/// Which warnings were given, by certificate name and end of validity, so
/// each threshold is crossed once per process.
#[derive(Debug, Default)]
pub struct ExpiryWarnings {
    given: BTreeMap<(String, i64), i64>,
}

/// A certificate expiring: what to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryWarning {
    /// The certificate's name in the store.
    pub name: String,
    /// Its subject.
    pub subject: String,
    /// Where it is presented.
    pub usages: Vec<Usage>,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The threshold crossed (days), or 0 when expired.
    pub days: i64,
}

impl ExpiryWarnings {
    /// Sets `outpost_certificate_expiry_seconds{usage,subject}` for every
    /// presented certificate and returns the warnings newly due at `now`
    /// (Unix seconds).
    pub fn check(&mut self, live: &LiveUsages, now: i64) -> Vec<ExpiryWarning> {
        let mut by_name: BTreeMap<String, ExpiryWarning> = BTreeMap::new();
        for usage in Usage::ALL {
            for (name, info) in live.get(usage).presented() {
                let left = info.not_after - now;
                metrics::gauge!(
                    "outpost_certificate_expiry_seconds",
                    "usage" => usage.as_str(),
                    "subject" => info.subject.clone()
                )
                .set(left as f64);
                let Some(days) = warning_threshold(left) else {
                    continue;
                };
                by_name
                    .entry(name.clone())
                    .or_insert_with(|| ExpiryWarning {
                        name,
                        subject: info.subject.clone(),
                        usages: Vec::new(),
                        not_after: info.not_after,
                        days,
                    })
                    .usages
                    .push(usage);
            }
        }
        by_name
            .into_values()
            .filter(|w| {
                let key = (w.name.clone(), w.not_after);
                let newly = self.given.get(&key).is_none_or(|&given| w.days < given);
                if newly {
                    self.given.insert(key, w.days);
                }
                newly
            })
            .collect()
    }
}

/// The smallest warning threshold (days) that `left` seconds is within, 0
/// when expired, `None` when further than the largest.
pub fn warning_threshold(left: i64) -> Option<i64> {
    if left <= 0 {
        return Some(0);
    }
    EXPIRY_WARNING_DAYS
        .iter()
        .rev()
        .copied()
        .find(|days| left <= days * 86_400)
}

/// Runs [`refresh`] once every [`RENEWAL_CHECK_INTERVAL`], and as soon as
/// a file of the store changes (looked at every [`FILE_CHECK_INTERVAL`]),
/// until `stop`; off the async threads (it reads files and may sign a
/// certificate). A failed check leaves the current certificates in use
/// and says so; a pair caught half written (the key already new, the
/// certificate not yet) fails once and is taken at the next look. Expiry
/// warnings go to the log and, through `on_warning`, to the audit log.
pub async fn renew_daily(
    dir: PathBuf,
    names: Vec<String>,
    live: LiveUsages,
    on_warning: Box<dyn Fn(&ExpiryWarning) + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen = None;
    let mut last_full: Option<std::time::Instant> = None;
    let mut warnings = ExpiryWarnings::default();
    loop {
        let stamps = file_stamps(&dir);
        let daily = last_full.is_none_or(|t| t.elapsed() >= RENEWAL_CHECK_INTERVAL);
        if seen.as_ref() != Some(&stamps) || daily {
            if daily {
                last_full = Some(std::time::Instant::now());
            }
            let (d, n, l) = (dir.clone(), names.clone(), live.clone());
            let checked =
                tokio::task::spawn_blocking(move || refresh(&d, &n, SystemTime::now(), &l)).await;
            match checked {
                Ok(Ok(_)) => seen = Some(stamps),
                Ok(Err(e)) => {
                    warn!(error = %e, "certificate check failed; the current certificates stay in use");
                }
                Err(e) => {
                    warn!(error = %e, "certificate check did not finish; the current certificates stay in use");
                }
            }
        }
        for warning in warnings.check(&live, unix_now()) {
            let usages: Vec<&str> = warning.usages.iter().map(|u| u.as_str()).collect();
            let valid_until = unix_timestamp(warning.not_after);
            if warning.days == 0 {
                warn!(certificate = %warning.name, subject = %warning.subject, ?usages, %valid_until, "the certificate has expired and clients will refuse it; install or request a new one");
            } else {
                warn!(certificate = %warning.name, subject = %warning.subject, ?usages, %valid_until, days = warning.days, "the certificate expires within {} day(s); install or request a new one (Outpost renews its own self-signed and ACME certificates)", warning.days);
            }
            on_warning(&warning);
        }
        tokio::select! {
            () = tokio::time::sleep(FILE_CHECK_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn unix_timestamp(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .map_or_else(|_| secs.to_string(), |t| Timestamp(t).to_string())
}

/// Modification time and size of every file of the store's directory,
/// sorted by name.
fn file_stamps(dir: &Path) -> Vec<(std::ffi::OsString, Option<(SystemTime, u64)>)> {
    let mut stamps: Vec<_> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let stamp = e
                        .metadata()
                        .ok()
                        .and_then(|m| m.modified().ok().map(|t| (t, m.len())));
                    (e.file_name(), stamp)
                })
                .collect()
        })
        .unwrap_or_default();
    stamps.sort();
    stamps
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
    Ok((server_config_resolving(Arc::clone(&live))?, live))
}

/// A TLS 1.2/1.3 server configuration presenting what `live` holds.
pub fn server_config_resolving(
    live: Arc<LiveCertificate>,
) -> Result<Arc<rustls::ServerConfig>, CertError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(live as Arc<dyn ResolvesServerCert>);
    config.key_log = key_log();
    Ok(Arc::new(config))
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

pub mod mtls;

#[cfg(test)]
mod tests;
