//! The certificate store on disk (SEC-8, issue 17 items 1, 3 and 6): named
//! certificates in the gateway's `tls/` directory and which of them each
//! usage presents.
//!
//! This is the one part of the crate that does file I/O: `outpost serve`,
//! the CLI and the REST API all go through it, so a certificate installed
//! by any of them is seen by the others (a running gateway looks at the
//! directory every few seconds and presents the change to new handshakes).
//!
//! Layout, chosen so an installer can still read it with `ls` and
//! `openssl x509`:
//! - `NAME.crt` (the chain, leaf first, PEM) and `NAME.key` (its key,
//!   PEM, mode 0600). `default` is the gateway's own certificate
//!   (self-signed unless an installer replaced it).
//! - `usages.json`: for each [`Usage`], the certificate names it presents;
//!   the first is the one given to a client whose SNI matches none. A
//!   usage missing from the file presents `default`.
//!
//! Each file is replaced by an atomic rename; the key is written before
//! its certificate, so a crash in between leaves a certificate that does
//! not match its key, which the loader refuses (the previous pair stays in
//! use) and the next install repairs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{CertificateBundle, CertificateInfo};

/// The name of the gateway's own certificate.
pub const DEFAULT_NAME: &str = "default";
/// The assignment file in the store's directory.
pub const USAGES_FILE: &str = "usages.json";
/// At most this many certificates per usage (SNI candidates).
pub const MAX_PER_USAGE: usize = 16;

/// Where a certificate is presented (SEC-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Usage {
    /// SIP over TLS on the public side (phones, OTT clients).
    SipPublic,
    /// SIP over TLS on the private side (the iPBX), and Outpost's client
    /// certificate toward it.
    SipPrivate,
    /// The web services port (4445: provisioning, MSL web services).
    WebServices,
    /// The admin listener (UI and REST API).
    Admin,
}

impl Usage {
    /// Every usage, in display order.
    pub const ALL: [Self; 4] = [
        Self::SipPublic,
        Self::SipPrivate,
        Self::WebServices,
        Self::Admin,
    ];

    /// The name used in files, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SipPublic => "sip-public",
            Self::SipPrivate => "sip-private",
            Self::WebServices => "web-services",
            Self::Admin => "admin",
        }
    }

    /// The usage named `name` (as [`Usage::as_str`] spells it).
    ///
    /// # Errors
    /// [`StoreError::UnknownUsage`] naming the valid ones.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|u| u.as_str() == name)
            .ok_or_else(|| StoreError::UnknownUsage(name.to_owned()))
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Usage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Usage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a store operation failed; nothing was changed when one occurs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not a usable certificate name.
    #[error(
        "certificate name {0:?} is not valid: use 1 to 63 lower-case letters, digits, '.', '-' or '_', starting with a letter or digit"
    )]
    BadName(String),
    /// No certificate by that name.
    #[error("no certificate named {0:?}; `outpost certs list` shows the installed ones")]
    NotFound(String),
    /// Unknown usage name.
    #[error("unknown usage {0:?}; the usages are sip-public, sip-private, web-services and admin")]
    UnknownUsage(String),
    /// A certificate still presented somewhere.
    #[error(
        "certificate {name:?} is in use for {usages}; assign other certificates to those usages first"
    )]
    InUse {
        /// The certificate.
        name: String,
        /// Where it is used, comma-separated.
        usages: String,
    },
    /// An assignment with no certificate or too many.
    #[error("a usage presents 1 to {MAX_PER_USAGE} certificates; {0} given")]
    BadAssignment(usize),
    /// The default certificate is the fallback of every usage.
    #[error(
        "the default certificate cannot be deleted (it is the gateway's own); import over it instead"
    )]
    DefaultKept,
    /// A stored file that does not read back.
    #[error("{path}: {what}; install the certificate again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// A certificate of the store, as listed.
#[derive(Debug, Clone)]
pub struct StoredCertificate {
    /// Its name (`default`, `acme-sbc.example.com`, ...).
    pub name: String,
    /// What its leaf says.
    pub info: CertificateInfo,
    /// Certificates in the chain (leaf included).
    pub chain_len: usize,
    /// Where it is presented.
    pub usages: Vec<Usage>,
}

/// A certificate and its key read from the store, for a TLS listener.
#[derive(Debug)]
pub struct LoadedCertificate {
    /// Its name.
    pub name: String,
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's key.
    pub key: PrivateKeyDer<'static>,
    /// What the leaf says.
    pub info: CertificateInfo,
}

/// The store in one directory (the data directory's `tls/`).
#[derive(Debug, Clone)]
pub struct CertStore {
    dir: PathBuf,
}

impl CertStore {
    /// The store in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The certificate file of `name`.
    pub fn cert_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.crt"))
    }

    /// The key file of `name`.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.key"))
    }

    /// Names of the installed certificates (those with both files), sorted.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
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
        let mut names = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".crt")) else {
                continue;
            };
            if valid_name(name) && self.key_path(name).exists() {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Every certificate with what it says and where it is used.
    ///
    /// # Errors
    /// A file cannot be read or does not parse.
    pub fn list(&self) -> Result<Vec<StoredCertificate>, StoreError> {
        let assignments = self.assignments()?;
        self.names()?
            .into_iter()
            .map(|name| {
                let chain = self.read_chain(&name)?;
                let info = leaf_info(&self.cert_path(&name), &chain)?;
                let usages = Usage::ALL
                    .into_iter()
                    .filter(|u| assignments.get(u).is_some_and(|n| n.contains(&name)))
                    .collect();
                Ok(StoredCertificate {
                    name,
                    info,
                    chain_len: chain.len(),
                    usages,
                })
            })
            .collect()
    }

    /// Reads certificate `name` with its key.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], or a file that does not read back.
    pub fn load(&self, name: &str) -> Result<LoadedCertificate, StoreError> {
        if !valid_name(name) {
            return Err(StoreError::BadName(name.to_owned()));
        }
        let key_path = self.key_path(name);
        if !self.cert_path(name).exists() || !key_path.exists() {
            return Err(StoreError::NotFound(name.to_owned()));
        }
        let chain = self.read_chain(name)?;
        let info = leaf_info(&self.cert_path(name), &chain)?;
        let key_pem = fs::read(&key_path).map_err(|source| StoreError::Io {
            path: key_path.clone(),
            source,
        })?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| StoreError::Corrupt {
            path: key_path,
            what: e.to_string(),
        })?;
        Ok(LoadedCertificate {
            name: name.to_owned(),
            chain,
            key,
            info,
        })
    }

    /// For each usage, the certificate names it presents (first: the one
    /// for clients whose SNI matches none).
    ///
    /// # Errors
    /// `usages.json` cannot be read or parsed.
    pub fn assignments(&self) -> Result<BTreeMap<Usage, Vec<String>>, StoreError> {
        let path = self.dir.join(USAGES_FILE);
        let mut out: BTreeMap<Usage, Vec<String>> = Usage::ALL
            .into_iter()
            .map(|u| (u, vec![DEFAULT_NAME.to_owned()]))
            .collect();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let parsed: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                what: format!("not the expected JSON ({e})"),
            })?;
        for (usage, names) in parsed {
            let usage = Usage::parse(&usage)?;
            if !names.is_empty() {
                out.insert(usage, names);
            }
        }
        Ok(out)
    }

    /// Makes `usage` present `names` (the first for clients whose SNI
    /// matches none of them).
    ///
    /// # Errors
    /// A name not installed, an empty or too long list, a write failure.
    pub fn assign(&self, usage: Usage, names: &[String]) -> Result<(), StoreError> {
        if names.is_empty() || names.len() > MAX_PER_USAGE {
            return Err(StoreError::BadAssignment(names.len()));
        }
        for name in names {
            self.load(name)?;
        }
        let mut all = self.assignments()?;
        let mut unique = Vec::new();
        for name in names {
            if !unique.contains(name) {
                unique.push(name.clone());
            }
        }
        all.insert(usage, unique);
        let as_strings: BTreeMap<&str, &Vec<String>> =
            all.iter().map(|(u, n)| (u.as_str(), n)).collect();
        let text = serde_json::to_string_pretty(&as_strings).map_err(|e| StoreError::Corrupt {
            path: self.dir.join(USAGES_FILE),
            what: e.to_string(),
        })?;
        self.write(USAGES_FILE, text.as_bytes(), 0o644)
    }

    /// Installs a checked bundle as `name`, replacing one of that name
    /// (the key first, owner-only).
    ///
    /// # Errors
    /// A bad name, a key encoding that cannot be written, a write failure.
    pub fn install(&self, name: &str, bundle: &CertificateBundle) -> Result<(), StoreError> {
        if !valid_name(name) {
            return Err(StoreError::BadName(name.to_owned()));
        }
        let key_pem = key_pem(&bundle.key).ok_or_else(|| StoreError::Corrupt {
            path: self.key_path(name),
            what: "unsupported key encoding".into(),
        })?;
        let chain_pem: String = bundle
            .chain
            .iter()
            .map(|c| pem_block("CERTIFICATE", c.as_ref()))
            .collect();
        // Round trip: what is written must read back as what was checked.
        let back = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt {
                path: self.cert_path(name),
                what: e.to_string(),
            })?;
        if back != bundle.chain {
            return Err(StoreError::Corrupt {
                path: self.cert_path(name),
                what: "the chain does not read back as written".into(),
            });
        }
        self.write(&format!("{name}.key"), key_pem.as_bytes(), 0o600)?;
        self.write(&format!("{name}.crt"), chain_pem.as_bytes(), 0o644)
    }

    /// Removes certificate `name`; refused while a usage presents it and
    /// for `default`.
    ///
    /// # Errors
    /// [`StoreError::InUse`], [`StoreError::DefaultKept`],
    /// [`StoreError::NotFound`], a file that cannot be removed.
    pub fn delete(&self, name: &str) -> Result<(), StoreError> {
        if name == DEFAULT_NAME {
            return Err(StoreError::DefaultKept);
        }
        self.load(name)?;
        let in_use: Vec<&str> = self
            .assignments()?
            .iter()
            .filter(|(_, names)| names.iter().any(|n| n == name))
            .map(|(u, _)| u.as_str())
            .collect();
        if !in_use.is_empty() {
            return Err(StoreError::InUse {
                name: name.to_owned(),
                usages: in_use.join(", "),
            });
        }
        // The certificate first: without it the name is gone from the list.
        for path in [self.cert_path(name), self.key_path(name)] {
            fs::remove_file(&path).map_err(|source| StoreError::Io { path, source })?;
        }
        Ok(())
    }

    fn read_chain(&self, name: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
        let path = self.cert_path(name);
        let pem = fs::read(&path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                what: e.to_string(),
            })?;
        if chain.is_empty() {
            return Err(StoreError::Corrupt {
                path,
                what: "no certificate".into(),
            });
        }
        Ok(chain)
    }

    fn write(&self, file: &str, data: &[u8], mode: u32) -> Result<(), StoreError> {
        let path = self.dir.join(file);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(io)?;
        write_atomic(&path, data, mode).map_err(io)
    }
}

/// Whether `name` may name a certificate.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && !bytes[0].is_ascii_uppercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b))
        && !name.ends_with(".tmp")
}

/// What the first certificate of a stored chain says.
fn leaf_info(path: &Path, chain: &[CertificateDer<'_>]) -> Result<CertificateInfo, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        what,
    };
    let leaf = chain
        .first()
        .ok_or_else(|| corrupt("no certificate".into()))?;
    let (_, parsed) = X509Certificate::from_der(leaf)
        .map_err(|e| corrupt(format!("not a valid X.509 certificate: {e}")))?;
    Ok(CertificateInfo::of(&parsed))
}

/// PEM text of a key as it was read.
pub fn key_pem(key: &PrivateKeyDer<'_>) -> Option<String> {
    Some(match key {
        PrivateKeyDer::Pkcs8(k) => pem_block("PRIVATE KEY", k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => pem_block("RSA PRIVATE KEY", k.secret_pkcs1_der()),
        PrivateKeyDer::Sec1(k) => pem_block("EC PRIVATE KEY", k.secret_sec1_der()),
        _ => return None,
    })
}

/// One PEM block with 64-character lines.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes `data` to `path` with `mode` (unix) by an atomic rename: a
/// reader sees the old content or the new, never half of it.
///
/// # Errors
/// The I/O error.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    // A stale temporary file would keep its old mode (`mode` applies only
    // to a file being created).
    let _ = fs::remove_file(&tmp);
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

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
