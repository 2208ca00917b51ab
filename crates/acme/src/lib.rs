//! Outpost's ACME client (RFC 8555): obtains a certificate for the
//! gateway's names from Let's Encrypt or any ACME CA (issue 17, item 2).
//!
//! Why a crate of its own: issuance is the one part of certificate
//! handling that talks to the outside world (the CA over HTTPS, the CA's
//! validation connecting back to us), so it is kept apart from the
//! store/import code (`outpost-certs`, no I/O) and from `outpost serve`,
//! which decides when to call it and where the result goes.
//!
//! What it owns:
//! - the account: created on first use and kept in a credentials file
//!   (mode 0600, written atomically), reused afterwards ([`AcmeConfig`]);
//! - one order from start to certificate ([`AcmeClient::obtain`]): the
//!   challenge responders, HTTP-01 (RFC 8555 §8.3) or TLS-ALPN-01
//!   (RFC 8737), each listening only while the order is pending; a fresh
//!   ECDSA P-256 key and CSR per order; every wait bounded in time and
//!   count;
//! - the renewal policy as pure functions of the time given
//!   ([`renewal_due`], [`retry_delay`], [`next_retry`]).
//!
//! What it does not do: schedule renewals, store or serve the issued
//! certificate, emit events or metrics (the caller does, from
//! [`Issued`] and [`AcmeError`]), DNS-01 or wildcard names.
//!
//! Unlike the sans-IO cores this crate touches sockets and the clock: an
//! ACME exchange is nothing but I/O, and `instant-acme` reads the clock
//! itself. The policy that needs testing against time (renewal, back-off)
//! is kept pure.
//!
//! ```no_run
//! # async fn run() -> Result<(), outpost_acme::AcmeError> {
//! use outpost_acme::{AcmeClient, AcmeConfig, Challenge, LETS_ENCRYPT_STAGING};
//! let mut config = AcmeConfig::new(LETS_ENCRYPT_STAGING, "/var/lib/outpost/acme-account.json");
//! config.contact_email = Some("noc@example.com".into());
//! let client = AcmeClient::new(config)?;
//! let issued = client
//!     .obtain(
//!         &["sbc.example.com".to_owned()],
//!         Challenge::Http01 { bind: "0.0.0.0:80".parse().unwrap() },
//!     )
//!     .await?;
//! println!("valid until {}", issued.not_after);
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod accept;
mod account;
mod error;
mod http01;
mod https;
mod order;
mod renewal;
mod tls_alpn;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use instant_acme::{Account, NewAccount};
use time::OffsetDateTime;

pub use error::{AcmeError, ChallengeKind};
pub use renewal::{DEFAULT_RENEW_BEFORE_DAYS, next_retry, renewal_at, renewal_due, retry_delay};

use crate::https::AcmeHttp;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory (untrusted certificates, higher rate
/// limits): for trying a set-up.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// How to reach the CA and where the account lives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AcmeConfig {
    /// The ACME directory URL (`https://`): [`LETS_ENCRYPT_PRODUCTION`],
    /// [`LETS_ENCRYPT_STAGING`] or any ACME CA's.
    pub directory_url: String,
    /// Contact e-mail registered with the account (expiry notices).
    pub contact_email: Option<String>,
    /// The account credentials file: created on first use (mode 0600),
    /// reused afterwards. One file per directory URL.
    pub account_file: PathBuf,
    /// A PEM file of CA certificates trusted for the ACME server's own
    /// HTTPS in addition to the webpki roots (a test CA such as Pebble's,
    /// or a company's internal CA).
    pub extra_ca_file: Option<PathBuf>,
    /// Bound on one HTTPS request to the CA, body included.
    pub request_timeout: Duration,
    /// Bound on one whole [`AcmeClient::obtain`], from account to
    /// certificate.
    pub order_timeout: Duration,
}

impl AcmeConfig {
    /// A configuration with no contact, no extra CA, 30 s per request and
    /// 5 min per order.
    pub fn new(directory_url: impl Into<String>, account_file: impl Into<PathBuf>) -> Self {
        Self {
            directory_url: directory_url.into(),
            contact_email: None,
            account_file: account_file.into(),
            extra_ca_file: None,
            request_timeout: Duration::from_secs(30),
            order_timeout: Duration::from_secs(300),
        }
    }
}

/// How the CA is to validate the names; Outpost runs the responder on
/// `bind` while the order is pending and closes it afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// HTTP-01: the CA connects to TCP port 80 of each name; `bind` is the
    /// public side's address, port 80 in production.
    Http01 {
        /// Where the HTTP-01 responder listens.
        bind: SocketAddr,
    },
    /// TLS-ALPN-01 (RFC 8737), where port 80 is closed: the CA connects
    /// to TCP port 443 of each name; `bind` is port 443 of the public side
    /// in production.
    TlsAlpn01 {
        /// Where the TLS-ALPN-01 responder listens.
        bind: SocketAddr,
    },
}

impl Challenge {
    /// The challenge kind.
    pub fn kind(&self) -> ChallengeKind {
        match self {
            Self::Http01 { .. } => ChallengeKind::Http01,
            Self::TlsAlpn01 { .. } => ChallengeKind::TlsAlpn01,
        }
    }

    /// Where its responder listens.
    pub fn bind(&self) -> SocketAddr {
        match *self {
            Self::Http01 { bind } | Self::TlsAlpn01 { bind } => bind,
        }
    }
}

/// An issued certificate.
#[derive(Clone)]
pub struct Issued {
    /// The chain as the CA sent it, leaf first (PEM).
    pub chain_pem: String,
    /// The leaf's private key, ECDSA P-256, PKCS#8 (PEM). Generated for
    /// this order only.
    pub key_pem: String,
    /// The leaf's expiry.
    pub not_after: OffsetDateTime,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("chain_pem", &self.chain_pem)
            .field("key_pem", &"<private key>")
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// An ACME client for one directory and account. Cheap to keep; the
/// account is loaded (or registered) on the first order and kept.
pub struct AcmeClient {
    config: AcmeConfig,
    http: AcmeHttp,
    account: tokio::sync::Mutex<Option<Account>>,
}

impl fmt::Debug for AcmeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AcmeClient {
    /// Checks the configuration and reads the extra CA file; contacts no
    /// server yet.
    pub fn new(config: AcmeConfig) -> Result<Self, AcmeError> {
        if !config.directory_url.starts_with("https://") {
            return Err(AcmeError::Config(format!(
                "the ACME directory URL {} is not https:// (RFC 8555 §6.1 requires HTTPS)",
                config.directory_url
            )));
        }
        if let Some(email) = &config.contact_email {
            let ok = email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            }) && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',');
            if !ok {
                return Err(AcmeError::Config(format!(
                    "the contact e-mail {email:?} is not an address like noc@example.com"
                )));
            }
        }
        if config.request_timeout.is_zero() || config.order_timeout.is_zero() {
            return Err(AcmeError::Config("ACME time-outs must not be zero".into()));
        }
        let http = AcmeHttp::new(config.extra_ca_file.as_deref(), config.request_timeout)?;
        Ok(Self {
            config,
            http,
            account: tokio::sync::Mutex::new(None),
        })
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &AcmeConfig {
        &self.config
    }

    /// Obtains a certificate for `names` (DNS names, no wildcards),
    /// answering the CA's challenges of the given kind. Registers the
    /// account first if the account file does not exist yet. Finishes or
    /// fails within [`AcmeConfig::order_timeout`].
    pub async fn obtain(
        &self,
        names: &[String],
        challenge: Challenge,
    ) -> Result<Issued, AcmeError> {
        let names = order::check_names(names)?;
        let stage = std::sync::Mutex::new("loading the account");
        let run = async {
            let account = self.account(&stage).await?;
            order::run(self, &account, &names, challenge, &stage).await
        };
        match tokio::time::timeout(self.config.order_timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(AcmeError::Timeout {
                url: self.config.directory_url.clone(),
                stage: *stage.lock().unwrap_or_else(|e| e.into_inner()),
                after: self.config.order_timeout,
            }),
        }
    }

    /// The account: cached, else loaded from the file, else registered and
    /// written to the file.
    async fn account(&self, stage: &std::sync::Mutex<&'static str>) -> Result<Account, AcmeError> {
        let mut cached = self.account.lock().await;
        if let Some(account) = cached.as_ref() {
            return Ok(account.clone());
        }
        let url = &self.config.directory_url;
        let path = &self.config.account_file;
        let account = match account::load(path, url)? {
            Some(credentials) => {
                tracing::debug!(file = %path.display(), "ACME: account loaded");
                Account::builder_with_http(Box::new(self.http.clone()))
                    .from_credentials(credentials)
                    .await
                    .map_err(|e| self.acme_error("reading the directory", e))?
            }
            None => {
                set_stage(stage, "registering the account");
                let contact = self
                    .config
                    .contact_email
                    .as_ref()
                    .map(|e| format!("mailto:{e}"));
                let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
                let (account, credentials) =
                    Account::builder_with_http(Box::new(self.http.clone()))
                        .create(
                            &NewAccount {
                                contact: &contacts,
                                // Configuring an ACME CA is agreeing to its terms.
                                terms_of_service_agreed: true,
                                only_return_existing: false,
                            },
                            url.clone(),
                            None,
                        )
                        .await
                        .map_err(|e| self.acme_error("registering the account", e))?;
                account::store(
                    path,
                    &account::StoredAccount {
                        directory_url: url.clone(),
                        credentials,
                    },
                )?;
                tracing::info!(file = %path.display(), directory = %url, "ACME: account registered");
                account
            }
        };
        *cached = Some(account.clone());
        Ok(account)
    }

    /// Maps an `instant-acme` error met while doing `stage`.
    fn acme_error(&self, stage: &'static str, e: instant_acme::Error) -> AcmeError {
        let url = self.config.directory_url.clone();
        match e {
            instant_acme::Error::Api(problem) => {
                let text = problem_text(&problem);
                if problem.r#type.as_deref()
                    == Some("urn:ietf:params:acme:error:accountDoesNotExist")
                {
                    AcmeError::AccountUnknown {
                        url,
                        path: self.config.account_file.clone(),
                        problem: text,
                    }
                } else {
                    AcmeError::Refused {
                        url,
                        stage,
                        problem: text,
                    }
                }
            }
            other => AcmeError::Unreachable {
                url,
                stage,
                detail: other.to_string(),
            },
        }
    }
}

fn set_stage(stage: &std::sync::Mutex<&'static str>, now: &'static str) {
    *stage.lock().unwrap_or_else(|e| e.into_inner()) = now;
}

/// A problem document as one line: detail, then type and sub-problems.
fn problem_text(problem: &instant_acme::Problem) -> String {
    let mut text = problem
        .detail
        .clone()
        .unwrap_or_else(|| "no detail given".into());
    if let Some(kind) = &problem.r#type {
        text.push_str(&format!(" ({kind})"));
    }
    for sub in problem.subproblems.iter().take(8) {
        if let Some(detail) = &sub.detail {
            text.push_str(&format!("; {detail}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_directories_are_accepted() {
        let e = AcmeClient::new(AcmeConfig::new("http://ca.test/dir", "/tmp/a.json")).unwrap_err();
        assert!(e.to_string().contains("not https://"), "{e}");
    }

    #[test]
    fn a_malformed_contact_is_refused() {
        let mut config = AcmeConfig::new(LETS_ENCRYPT_STAGING, "/tmp/a.json");
        config.contact_email = Some("noc example.com".into());
        let e = AcmeClient::new(config).unwrap_err();
        assert!(e.to_string().contains("contact e-mail"), "{e}");
    }

    #[tokio::test]
    async fn an_unreachable_directory_fails_fast_with_the_url() {
        // A port nothing listens on: bind, take the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("https://127.0.0.1:{port}/dir");
        let mut config = AcmeConfig::new(url.clone(), dir.path().join("account.json"));
        config.request_timeout = Duration::from_secs(5);
        config.order_timeout = Duration::from_secs(10);
        let client = AcmeClient::new(config).unwrap();
        let e = client
            .obtain(
                &["sbc.example.com".to_owned()],
                Challenge::Http01 {
                    bind: "127.0.0.1:0".parse().unwrap(),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, AcmeError::Unreachable { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains(&url) && text.contains("registering the account"),
            "{text}"
        );
        assert!(!dir.path().join("account.json").exists());
    }
}
