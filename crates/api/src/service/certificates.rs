//! Certificates through the service layer (SEC-8, issue 17 item 6): list
//! the gateway's named certificates with where each is presented, import
//! one (a PEM chain with its key, the key possibly encrypted, or a PKCS#12
//! file with its password), assign certificates to a usage (SIP public,
//! SIP private, web services, admin), delete one that no usage presents.
//! Scope `certificates`: read to list, write for the rest. Shared by
//! `/api/v1/certificates` and `outpost certs`.
//!
//! The certificates are files in the data directory's `tls/`
//! ([`outpost_certs::store::CertStore`]), which a running `outpost serve`
//! watches and presents to new handshakes within seconds; a service needs
//! that directory ([`Service::with_tls_dir`]). Files and the audit table
//! cannot share a transaction, so each change is made on disk first and
//! its audit entry appended right after; if that append fails the error
//! says the change was made. Changes made in this process are serialized
//! (an assignment cannot slip between a delete's in-use check and the
//! removal).
//!
//! Secrets never leave the call: the private key, the passphrase and the
//! PKCS#12 password are in no answer, no error, no log line and no audit
//! entry (the input's `Debug` shows lengths only). ACME requests are in
//! [`requests`]; metrics and expiry events come from `outpost serve`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use outpost_certs::store::{CertStore, DEFAULT_NAME, StoreError, StoredCertificate, Usage};
use outpost_certs::{CertificateBundle, CertificateInfo, ImportError, import_pem, import_pkcs12};
use outpost_store::AuditRecord;
use serde::{Deserialize, Serialize};
use tracing::{error, info};
use utoipa::ToSchema;

use super::password::Password;
use super::tokens::{Access, Resource};
use super::{Caller, NOTHING, Service, ServiceError, lock};

/// Largest certificate material accepted: PEM text, or a PKCS#12 file
/// once decoded (the limit of `outpost-certs`).
pub const MAX_CERTIFICATE_BYTES: usize = 1 << 20;

/// A name the REST API cannot address as a certificate
/// (`/api/v1/certificates/usages` is the assignment list).
const RESERVED_NAME: &str = "usages";

/// The certificate store of a service and the lock its changes take.
#[derive(Debug)]
pub(crate) struct TlsDir {
    store: CertStore,
    changes: Mutex<()>,
}

/// A certificate as shown: never its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CertificateView {
    /// Its name in the store (`default` is the gateway's own).
    pub name: String,
    /// The leaf's subject, e.g. `CN=sbc.example.com`.
    pub subject: String,
    /// The leaf's issuer.
    pub issuer: String,
    /// Host names and addresses it covers (wildcards as `*.example.com`).
    pub names: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Issued by itself.
    pub self_signed: bool,
    /// Certificates in the chain, the leaf included.
    pub chain_len: usize,
    /// Where it is presented: `sip-public`, `sip-private`,
    /// `web-services`, `admin`.
    pub usages: Vec<String>,
    /// Whole days until it expires (negative once expired).
    pub expires_in_days: i64,
}

impl CertificateView {
    fn new(
        name: &str,
        info: &CertificateInfo,
        chain_len: usize,
        usages: &[Usage],
        now: i64,
    ) -> Self {
        Self {
            name: name.to_owned(),
            subject: info.subject.clone(),
            issuer: info.issuer.clone(),
            names: info.names.clone(),
            not_before: info.not_before,
            not_after: info.not_after,
            self_signed: info.self_signed,
            chain_len,
            usages: usages.iter().map(|u| u.as_str().to_owned()).collect(),
            expires_in_days: (info.not_after - now).div_euclid(86_400),
        }
    }

    fn stored(c: &StoredCertificate, now: i64) -> Self {
        Self::new(&c.name, &c.info, c.chain_len, &c.usages, now)
    }
}

/// For each usage (`sip-public`, `sip-private`, `web-services`, `admin`),
/// the certificates it presents: the first to clients whose SNI matches
/// none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct CertificateUsages(pub BTreeMap<String, Vec<String>>);

/// What one usage presents, after an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageAssignment {
    /// The usage.
    pub usage: String,
    /// Its certificates, the default for unknown SNI first.
    pub certificates: Vec<String>,
}

/// `PUT /api/v1/certificates/usages/{usage}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateAssignInput {
    /// Certificate names, 1 to 16; the first is presented to clients
    /// whose SNI matches none (and to those that send none).
    pub certificates: Vec<String>,
}

/// `POST /api/v1/certificates`: one of `pem` or `pkcs12`.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateImportInput {
    /// The name to install it under (default `default`, the gateway's own
    /// certificate); a certificate of that name is replaced. 1 to 63
    /// lower-case letters, digits, `.`, `-`, `_`.
    #[serde(default)]
    pub name: Option<String>,
    /// PEM text: the chain (leaf first, then each issuer) and the private
    /// key (PKCS#8, PKCS#1 or SEC1; `ENCRYPTED PRIVATE KEY` with
    /// `password`), at most 1 MiB.
    #[serde(default)]
    pub pem: Option<String>,
    /// A PKCS#12 file (`openssl pkcs12 -export`) in base64, at most 1 MiB
    /// decoded.
    #[serde(default)]
    pub pkcs12: Option<String>,
    /// The PKCS#12 password, or the passphrase of an encrypted PEM key
    /// (also accepted as `passphrase`).
    #[serde(default, alias = "passphrase")]
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<Password>,
}

impl std::fmt::Debug for CertificateImportInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateImportInput")
            .field("name", &self.name)
            .field("pem_bytes", &self.pem.as_ref().map(String::len))
            .field("pkcs12_chars", &self.pkcs12.as_ref().map(String::len))
            .field("password", &self.password)
            .finish()
    }
}

impl CertificateImportInput {
    /// The name to install under.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(DEFAULT_NAME)
    }
}

/// Checks `input` at `now` without installing anything (what `outpost
/// certs import --check` shows): the view it would have, with no usage.
///
/// # Errors
/// 422 naming the field (`name`, `pem`, `pkcs12`, `password`) and the fix.
pub fn check_import(
    input: &CertificateImportInput,
    now: i64,
) -> Result<CertificateView, ServiceError> {
    let bundle = checked_bundle(input, now)?;
    Ok(CertificateView::new(
        input.name(),
        &bundle.info,
        bundle.chain.len(),
        &[],
        now,
    ))
}

/// The name checked, then the certificate material read and checked.
fn checked_bundle(
    input: &CertificateImportInput,
    now: i64,
) -> Result<CertificateBundle, ServiceError> {
    let name = input.name();
    if !outpost_certs::store::valid_name(name) {
        return Err(ServiceError::invalid(
            "name",
            StoreError::BadName(name.to_owned()).to_string(),
        ));
    }
    if name == RESERVED_NAME {
        return Err(ServiceError::invalid(
            "name",
            format!(
                "{RESERVED_NAME:?} is reserved (/api/v1/certificates/usages lists the \
                 assignments); choose another name"
            ),
        ));
    }
    let password = input.password.as_ref().map(Password::expose);
    match (&input.pem, &input.pkcs12) {
        (Some(_), Some(_)) => Err(ServiceError::invalid(
            "pkcs12",
            "give either \"pem\" or \"pkcs12\", not both",
        )),
        (None, None) => Err(ServiceError::invalid(
            "pem",
            "no certificate given; send \"pem\" (the chain and the key as PEM text) or \
             \"pkcs12\" (a PKCS#12 file in base64) with its \"password\"",
        )),
        (Some(pem), None) => {
            if pem.len() > MAX_CERTIFICATE_BYTES {
                return Err(ServiceError::invalid(
                    "pem",
                    "larger than 1 MiB; send only the chain and its key",
                ));
            }
            import_pem(pem.as_bytes(), password, now).map_err(|e| refused("pem", &e))
        }
        (None, Some(encoded)) => {
            let compact: String = encoded.split_ascii_whitespace().collect();
            if compact.len() > MAX_CERTIFICATE_BYTES / 3 * 4 + 4 {
                return Err(ServiceError::invalid(
                    "pkcs12",
                    "larger than 1 MiB once decoded; export only the certificate, its chain \
                     and its key",
                ));
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|_| {
                    ServiceError::invalid(
                        "pkcs12",
                        "not base64; send the file's bytes base64-encoded (e.g. `base64 -w0 \
                         cert.p12`)",
                    )
                })?;
            import_pkcs12(&der, password.unwrap_or(""), now).map_err(|e| match e {
                ImportError::WrongPassword { .. } if password.is_none() => ServiceError::invalid(
                    "password",
                    "the PKCS#12 file is protected by a password; give it in \"password\"",
                ),
                other => refused("pkcs12", &other),
            })
        }
    }
}

/// An import refused by `outpost-certs`, on the field to fix. Its
/// messages name what is wrong and the fix; none carries input bytes.
fn refused(source: &str, e: &ImportError) -> ServiceError {
    let field = match e {
        ImportError::PassphraseNeeded | ImportError::WrongPassword { .. } => "password",
        ImportError::BadPkcs12(_) | ImportError::Pkcs12WithoutKeyChain => "pkcs12",
        _ => source,
    };
    let message = match e {
        ImportError::PassphraseNeeded => {
            "the private key is encrypted; give its passphrase in \"password\"".to_owned()
        }
        other => format!("certificate refused: {other}"),
    };
    ServiceError::invalid(field, message)
}

/// A store error as the service reports it.
fn store_error(e: StoreError) -> ServiceError {
    match e {
        e @ StoreError::NotFound(_) => ServiceError::NotFound(e.to_string()),
        e @ (StoreError::InUse { .. } | StoreError::DefaultKept) => {
            ServiceError::Conflict(e.to_string())
        }
        e @ StoreError::UnknownUsage(_) => ServiceError::invalid("usage", e.to_string()),
        e @ StoreError::BadAssignment(_) => ServiceError::invalid("certificates", e.to_string()),
        e @ StoreError::BadName(_) => ServiceError::invalid("name", e.to_string()),
        other => ServiceError::Internal(format!("certificate store: {other}")),
    }
}

/// The usages presenting certificate `name`.
fn usages_of(assignments: &BTreeMap<Usage, Vec<String>>, name: &str) -> Vec<Usage> {
    Usage::ALL
        .into_iter()
        .filter(|u| {
            assignments
                .get(u)
                .is_some_and(|names| names.iter().any(|n| n == name))
        })
        .collect()
}

/// The view of certificate `name`, `None` when not installed.
fn view_of(tls: &TlsDir, name: &str, now: i64) -> Result<Option<CertificateView>, ServiceError> {
    if !outpost_certs::store::valid_name(name) {
        return Ok(None);
    }
    let loaded = match tls.store.load(name) {
        Ok(loaded) => loaded,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(other) => return Err(store_error(other)),
    };
    let assignments = tls.store.assignments().map_err(store_error)?;
    Ok(Some(CertificateView::new(
        name,
        &loaded.info,
        loaded.chain.len(),
        &usages_of(&assignments, name),
        now,
    )))
}

impl Service {
    /// Serves certificates from the store in `dir` (the data directory's
    /// `tls/`, the one `outpost serve` presents).
    #[must_use]
    pub fn with_tls_dir(mut self, dir: PathBuf) -> Self {
        self.tls = Some(Arc::new(TlsDir {
            store: CertStore::new(dir),
            changes: Mutex::new(()),
        }));
        self
    }

    /// Every certificate with what it says and where it is presented
    /// (`certificates:read`).
    ///
    /// # Errors
    /// 403 without read access; 409 without a certificate store; 500 when
    /// a stored file does not read back.
    pub fn certificates_list(&self, caller: &Caller) -> Result<Vec<CertificateView>, ServiceError> {
        caller.require(Resource::Certificates, Access::Read)?;
        let tls = self.tls()?;
        let list = tls.store.list().map_err(store_error)?;
        Ok(list
            .iter()
            .map(|c| CertificateView::stored(c, caller.now))
            .collect())
    }

    /// For each usage, the certificates it presents (`certificates:read`).
    ///
    /// # Errors
    /// 403 without read access; 409 without a certificate store; 500 when
    /// `usages.json` does not read back.
    pub fn certificates_usages(&self, caller: &Caller) -> Result<CertificateUsages, ServiceError> {
        caller.require(Resource::Certificates, Access::Read)?;
        let assignments = self.tls()?.store.assignments().map_err(store_error)?;
        Ok(CertificateUsages(
            assignments
                .into_iter()
                .map(|(usage, names)| (usage.as_str().to_owned(), names))
                .collect(),
        ))
    }

    /// Checks a certificate at `caller.now` and installs it under its
    /// name, replacing one of that name (`certificates:write`); audited
    /// as `certificate.import`. Nothing is written when it is refused.
    ///
    /// # Errors
    /// 403 without write access; 409 without a certificate store; 422
    /// naming the field (`name`, `pem`, `pkcs12`, `password`) and the fix;
    /// 500 when the files cannot be written, or when the audit entry
    /// cannot (the certificate is then installed, and the error says so).
    pub fn certificate_import(
        &self,
        caller: &Caller,
        input: &CertificateImportInput,
    ) -> Result<CertificateView, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        let bundle = checked_bundle(input, caller.now)?;
        let name = input.name();
        let _changes = lock(&tls.changes)?;
        // A damaged previous pair is what an import repairs: it only goes
        // without a "before" in the audit entry.
        let before = view_of(tls, name, caller.now).ok().flatten();
        tls.store.install(name, &bundle).map_err(store_error)?;
        let usages = tls
            .store
            .assignments()
            .map(|a| usages_of(&a, name))
            .unwrap_or_default();
        let after =
            CertificateView::new(name, &bundle.info, bundle.chain.len(), &usages, caller.now);
        let audit = caller.audit("certificate.import", name, before.as_ref(), Some(&after));
        self.audit_after_change(&audit, &format!("certificate {name:?} was installed"))?;
        info!(
            actor = %caller.audit_actor().0,
            name,
            subject = %after.subject,
            not_after = after.not_after,
            "certificate imported"
        );
        Ok(after)
    }

    /// Makes `usage` present the certificates `names`, the first for
    /// clients whose SNI matches none (`certificates:write`); audited as
    /// `certificate.assign` with the lists before and after.
    ///
    /// # Errors
    /// 403 without write access; 409 without a certificate store; 422 for
    /// an unknown usage (field `usage`) or an empty or too long list
    /// (`certificates`); 404 for a certificate not installed.
    pub fn certificate_assign(
        &self,
        caller: &Caller,
        usage: &str,
        names: &[String],
    ) -> Result<UsageAssignment, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        let parsed = Usage::parse(usage).map_err(store_error)?;
        let _changes = lock(&tls.changes)?;
        let current = tls.store.assignments().map_err(store_error)?;
        let before = UsageAssignment {
            usage: parsed.as_str().to_owned(),
            certificates: current.get(&parsed).cloned().unwrap_or_default(),
        };
        tls.store.assign(parsed, names).map_err(store_error)?;
        let after = UsageAssignment {
            usage: before.usage.clone(),
            certificates: tls
                .store
                .assignments()
                .map_err(store_error)?
                .remove(&parsed)
                .unwrap_or_default(),
        };
        let audit = caller.audit("certificate.assign", usage, Some(&before), Some(&after));
        self.audit_after_change(&audit, &format!("usage {usage} was assigned"))?;
        info!(
            actor = %caller.audit_actor().0,
            usage,
            certificates = %after.certificates.join(","),
            "certificates assigned"
        );
        Ok(after)
    }

    /// Deletes certificate `name` (`certificates:write`); refused while a
    /// usage presents it, and for `default`. Audited as
    /// `certificate.delete`; the answer is the certificate as it was.
    ///
    /// # Errors
    /// 403 without write access; 409 without a certificate store, while
    /// in use (the message names the usages) or for `default`; 404.
    pub fn certificate_delete(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<CertificateView, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        let _changes = lock(&tls.changes)?;
        // Read for the audit entry and the answer; the store's delete makes
        // the checks (default kept, not found, in use) with its messages.
        let before = view_of(tls, name, caller.now).ok().flatten();
        tls.store.delete(name).map_err(store_error)?;
        let audit = caller.audit("certificate.delete", name, before.as_ref(), NOTHING);
        self.audit_after_change(&audit, &format!("certificate {name:?} was deleted"))?;
        info!(actor = %caller.audit_actor().0, name, "certificate deleted");
        before.ok_or_else(|| {
            ServiceError::Internal(format!(
                "certificate {name:?} was deleted but could not be read before"
            ))
        })
    }

    /// Appends the audit entry of a change already made on disk; a
    /// failure says that the change was made.
    fn audit_after_change(&self, audit: &AuditRecord, done: &str) -> Result<(), ServiceError> {
        match self.with_store(|store| Ok(store.append_audit(audit)?)) {
            Ok(_) => Ok(()),
            Err(e) => {
                error!(action = %audit.action, target = %audit.target, error = %e,
                    "certificate change made but not audited");
                Err(ServiceError::Internal(format!(
                    "{done}, but its audit entry could not be written ({e}); the change is \
                     in effect"
                )))
            }
        }
    }

    fn tls(&self) -> Result<&TlsDir, ServiceError> {
        self.tls.as_deref().ok_or_else(|| {
            ServiceError::Conflict(
                "no certificate store in this process: certificates are managed through a \
                 running `outpost serve` or `outpost certs` on the gateway"
                    .to_owned(),
            )
        })
    }
}

#[path = "certificate_requests.rs"]
mod requests;
pub use requests::{AcmeRequestInput, AcmeRequestView};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field_to_fix() {
        let input =
            |name: Option<&str>, pem: Option<&str>, pkcs12: Option<&str>| CertificateImportInput {
                name: name.map(str::to_owned),
                pem: pem.map(str::to_owned),
                pkcs12: pkcs12.map(str::to_owned),
                password: Some(Password::new("Sekret-Pass")),
            };
        let field = |i: &CertificateImportInput| {
            check_import(i, 0)
                .unwrap_err()
                .field()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        assert_eq!(field(&input(Some("Bad/Name"), Some("x"), None)), "name");
        assert_eq!(field(&input(Some("usages"), Some("x"), None)), "name");
        assert_eq!(field(&input(None, None, None)), "pem");
        assert_eq!(field(&input(None, Some("x"), Some("y"))), "pkcs12");
        assert_eq!(field(&input(None, Some("no pem here"), None)), "pem");
        assert_eq!(field(&input(None, None, Some("***"))), "pkcs12");
        let debug = format!(
            "{:?}",
            input(None, Some("-----BEGIN PRIVATE KEY-----"), None)
        );
        assert!(
            !debug.contains("Sekret") && !debug.contains("BEGIN"),
            "{debug}"
        );
    }

    #[test]
    fn store_errors_keep_their_status() {
        assert_eq!(store_error(StoreError::NotFound("x".into())).status(), 404);
        assert_eq!(store_error(StoreError::DefaultKept).status(), 409);
        let in_use = store_error(StoreError::InUse {
            name: "x".into(),
            usages: "admin".into(),
        });
        assert_eq!(in_use.status(), 409);
        assert!(in_use.to_string().contains("admin"), "{in_use}");
        let usage = store_error(StoreError::UnknownUsage("sip".into()));
        assert_eq!(usage.field(), Some("usage"));
    }
}
