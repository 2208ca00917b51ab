//! ACME requests in the certificate store (issue 17 items 2 and 6): what
//! an administrator asked for (`outpost certs request`, the REST API) and
//! how its last order went, as files under `tls/acme/` that `outpost serve`
//! carries out and renews.
//!
//! The CLI and the API only write a request; the running gateway obtains
//! the certificate (it owns the public address the CA validates) and keeps
//! it renewed, recording each attempt in the request's status file. So a
//! request survives restarts, and "renew now" is a request stamped again.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::{CertStore, StoreError, Usage, valid_name, write_atomic};

/// The subdirectory of the store holding requests, statuses and accounts.
pub const ACME_DIR: &str = "acme";
/// Let's Encrypt's production directory, the default.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Days before expiry at which a certificate is renewed, by default.
pub const DEFAULT_RENEW_BEFORE_DAYS: u32 = 30;
/// At most this many names per request.
pub const MAX_DOMAINS: usize = 20;

/// The challenge the CA uses to validate the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AcmeChallenge {
    /// HTTP-01 on TCP port 80 of the public side (RFC 8555 §8.3).
    #[serde(rename = "http-01")]
    Http01,
    /// TLS-ALPN-01 on TCP port 443 of the public side (RFC 8737), where
    /// port 80 is closed.
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl AcmeChallenge {
    /// `http-01` or `tls-alpn-01`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http01 => "http-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        }
    }

    /// The port the CA connects to (RFC 8555, RFC 8737).
    pub fn standard_port(self) -> u16 {
        match self {
            Self::Http01 => 80,
            Self::TlsAlpn01 => 443,
        }
    }

    /// The challenge named `s`.
    ///
    /// # Errors
    /// A message naming the valid ones.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "http-01" => Ok(Self::Http01),
            "tls-alpn-01" => Ok(Self::TlsAlpn01),
            other => Err(format!(
                "unknown ACME challenge {other:?}; use http-01 (TCP 80) or tls-alpn-01 (TCP 443)"
            )),
        }
    }
}

/// What an administrator asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeRequest {
    /// The name the certificate gets in the store.
    pub name: String,
    /// The DNS names it must cover (the first is its subject).
    pub domains: Vec<String>,
    /// The CA's ACME directory URL.
    pub directory_url: String,
    /// Contact e-mail for the account (expiry notices from the CA).
    #[serde(default)]
    pub email: Option<String>,
    /// How the CA validates the names.
    pub challenge: AcmeChallenge,
    /// The TCP port the responder listens on, on the public side's bind
    /// address: the challenge's standard port, unless a port forward in
    /// front of the gateway maps it elsewhere.
    pub port: u16,
    /// A PEM file of CAs trusted for the ACME server's own HTTPS besides
    /// the public roots (an internal or test CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Usages to present the certificate on once it is first issued.
    #[serde(default)]
    pub usages: Vec<Usage>,
    /// Renew this many days before expiry.
    pub renew_before_days: u32,
    /// When the request was made or "renew now" asked (Unix seconds): an
    /// order is placed when no attempt was made since.
    pub requested_at: i64,
}

/// How the request's orders went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcmeStatus {
    /// `pending` (not tried yet), `valid` (issued) or `failed`.
    pub state: String,
    /// When the last order started, Unix seconds.
    #[serde(default)]
    pub last_attempt: Option<i64>,
    /// Why the last order failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Failures since the last success (for the back-off).
    #[serde(default)]
    pub failures: u32,
    /// Earliest next order after a failure, Unix seconds.
    #[serde(default)]
    pub next_attempt: Option<i64>,
    /// Expiry of the certificate last issued, Unix seconds.
    #[serde(default)]
    pub not_after: Option<i64>,
}

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcmeRequestError {
    /// A field is not acceptable; the message names it and the fix.
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> AcmeRequestError {
    AcmeRequestError::Invalid {
        field,
        message: message.into(),
    }
}

impl AcmeRequest {
    /// Checks every field.
    ///
    /// # Errors
    /// [`AcmeRequestError::Invalid`] naming the field.
    pub fn check(&self) -> Result<(), AcmeRequestError> {
        if !valid_name(&self.name) {
            return Err(StoreError::BadName(self.name.clone()).into());
        }
        if self.domains.is_empty() || self.domains.len() > MAX_DOMAINS {
            return Err(invalid(
                "domains",
                format!(
                    "give 1 to {MAX_DOMAINS} DNS names (e.g. sbc.example.com), {} given",
                    self.domains.len()
                ),
            ));
        }
        for domain in &self.domains {
            if !dns_name(domain) {
                return Err(invalid(
                    "domains",
                    format!(
                        "{domain:?} is not a DNS name the CA can validate with {}: \
                         give a fully qualified name such as sbc.example.com (no wildcard, \
                         no address)",
                        self.challenge.as_str()
                    ),
                ));
            }
        }
        if !self.directory_url.starts_with("https://") || self.directory_url.len() > 2048 {
            return Err(invalid(
                "directory_url",
                "the ACME directory URL must be https:// (e.g. Let's Encrypt: \
                 https://acme-v02.api.letsencrypt.org/directory)",
            ));
        }
        if self.port == 0 {
            return Err(invalid("port", "give a TCP port 1-65535"));
        }
        if !(1..=60).contains(&self.renew_before_days) {
            return Err(invalid(
                "renew_before_days",
                "give 1 to 60 days (certificates from Let's Encrypt last 90)",
            ));
        }
        if let Some(email) = &self.email {
            let ok = email.len() <= 254
                && email
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !email.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(invalid(
                    "email",
                    format!("{email:?} is not an address like noc@example.com"),
                ));
            }
        }
        Ok(())
    }
}

/// A DNS name of at least two labels, letters, digits and hyphens.
fn dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.');
    name.len() <= 253
        && name.contains('.')
        && name.parse::<std::net::IpAddr>().is_err()
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The requests of a store.
#[derive(Debug, Clone)]
pub struct AcmeRequests {
    dir: PathBuf,
}

impl AcmeRequests {
    /// The requests of `store`.
    pub fn of(store: &CertStore) -> Self {
        Self {
            dir: store.dir().join(ACME_DIR),
        }
    }

    /// Their directory (accounts live there too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn request_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.request.json"))
    }

    fn status_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.status.json"))
    }

    /// The account credentials file for `directory_url` (one per CA).
    pub fn account_path(&self, directory_url: &str) -> PathBuf {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(directory_url.as_bytes());
        let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("account-{short}.json"))
    }

    /// Saves `request` (checked first), replacing one of that name.
    ///
    /// # Errors
    /// An invalid field, a write failure.
    pub fn save(&self, request: &AcmeRequest) -> Result<(), AcmeRequestError> {
        request.check()?;
        let text = serde_json::to_string_pretty(request).map_err(|e| StoreError::Corrupt {
            path: self.request_path(&request.name),
            what: e.to_string(),
        })?;
        self.write(&self.request_path(&request.name), text.as_bytes())?;
        Ok(())
    }

    /// Every request, sorted by name; an unreadable one is returned as an
    /// error in its place.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn list(&self) -> Result<Vec<Result<AcmeRequest, StoreError>>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|f| f.strip_suffix(".request.json"))
                    .filter(|n| valid_name(n))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        Ok(names.iter().map(|n| self.get(n)).collect())
    }

    /// The request named `name`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], an unreadable file.
    pub fn get(&self, name: &str) -> Result<AcmeRequest, StoreError> {
        let path = self.request_path(name);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(name.to_owned()));
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
            path,
            what: format!("not an ACME request ({e})"),
        })
    }

    /// The status of request `name` (`pending` when none is recorded).
    pub fn status(&self, name: &str) -> AcmeStatus {
        fs::read_to_string(self.status_path(name))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| AcmeStatus {
                state: "pending".into(),
                ..AcmeStatus::default()
            })
    }

    /// Records the status of request `name`.
    ///
    /// # Errors
    /// A write failure.
    pub fn set_status(&self, name: &str, status: &AcmeStatus) -> Result<(), StoreError> {
        let path = self.status_path(name);
        let text = serde_json::to_string_pretty(status).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            what: e.to_string(),
        })?;
        self.write(&path, text.as_bytes())
    }

    /// Stamps request `name` so that the gateway orders again now.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], a write failure.
    pub fn renew_now(&self, name: &str, now: i64) -> Result<AcmeRequest, AcmeRequestError> {
        let mut request = self.get(name)?;
        let mut status = self.status(name);
        // Later than the last order's start too (whole seconds): asked in
        // the second an order started, it would count as done by it.
        let after_last_order = status
            .last_attempt
            .map_or(i64::MIN, |t| t.saturating_add(1));
        request.requested_at = now.max(request.requested_at + 1).max(after_last_order);
        self.save(&request)?;
        status.next_attempt = None;
        self.set_status(name, &status)?;
        Ok(request)
    }

    /// Removes request `name` and its status (the certificate stays).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], a file that cannot be removed.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let path = self.request_path(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(name.to_owned()));
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        let _ = fs::remove_file(self.status_path(name));
        Ok(())
    }

    fn write(&self, path: &Path, data: &[u8]) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        write_atomic(path, data, 0o600).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report

    use super::*;

    fn request(name: &str) -> AcmeRequest {
        AcmeRequest {
            name: name.into(),
            domains: vec!["sbc.example.com".into()],
            directory_url: LETS_ENCRYPT.into(),
            email: Some("noc@example.com".into()),
            challenge: AcmeChallenge::Http01,
            port: 80,
            ca_file: None,
            usages: vec![Usage::SipPublic, Usage::WebServices],
            renew_before_days: DEFAULT_RENEW_BEFORE_DAYS,
            requested_at: 100,
        }
    }

    #[test]
    fn requests_round_trip_and_renew_now_restamps() {
        let dir = tempfile::tempdir().unwrap();
        let requests = AcmeRequests::of(&CertStore::new(dir.path().join("tls")));
        assert!(requests.list().unwrap().is_empty());
        requests.save(&request("le")).unwrap();
        let listed = requests.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].as_ref().unwrap(), &request("le"));
        assert_eq!(requests.status("le").state, "pending");
        requests
            .set_status(
                "le",
                &AcmeStatus {
                    state: "failed".into(),
                    next_attempt: Some(500),
                    failures: 2,
                    ..AcmeStatus::default()
                },
            )
            .unwrap();
        let renewed = requests.renew_now("le", 50).unwrap();
        assert_eq!(renewed.requested_at, 101, "always later than before");
        assert_eq!(requests.status("le").next_attempt, None);
        assert_eq!(requests.status("le").failures, 2);
        requests.remove("le").unwrap();
        assert!(matches!(requests.get("le"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn each_bad_field_is_named() {
        type Spoil = fn(&mut AcmeRequest);
        let cases: [(&str, Spoil); 6] = [
            ("domains", |r| r.domains.clear()),
            ("domains", |r| r.domains = vec!["*.example.com".into()]),
            ("domains", |r| r.domains = vec!["192.0.2.1".into()]),
            ("directory_url", |r| r.directory_url = "http://ca".into()),
            ("renew_before_days", |r| r.renew_before_days = 0),
            ("email", |r| r.email = Some("nobody".into())),
        ];
        for (field, spoil) in cases {
            let mut r = request("x");
            spoil(&mut r);
            match r.check() {
                Err(AcmeRequestError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(request("x").check().is_ok());
    }
}
