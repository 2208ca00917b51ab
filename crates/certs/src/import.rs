//! Reading a PEM chain or a PKCS#12 file into a checked bundle.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use pkcs8::der::Decode;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{CertificateInfo, ImportError};

/// Largest file accepted (a chain of a few certificates is a few KB).
const MAX_INPUT: usize = 1 << 20;

/// A checked certificate chain with its key.
#[derive(Debug)]
pub struct CertificateBundle {
    /// Leaf first, then each issuer.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// What the leaf says.
    pub info: CertificateInfo,
}

/// Reads PEM text holding the chain and the key (one file, or the
/// certificate file and the key file concatenated), checks it at `now`.
///
/// # Errors
/// An [`ImportError`] saying what is wrong and what to do.
pub fn import_pem(
    pem: &[u8],
    passphrase: Option<&str>,
    now: i64,
) -> Result<CertificateBundle, ImportError> {
    if pem.len() > MAX_INPUT {
        return Err(ImportError::BadPem("larger than 1 MiB".into()));
    }
    let text = std::str::from_utf8(pem).map_err(|_| ImportError::BadPem("not text".into()))?;
    let mut chain = Vec::new();
    let mut keys = Vec::new();
    for block in blocks(text)? {
        match block.label {
            "CERTIFICATE" => chain.push(CertificateDer::from(block.der)),
            "PRIVATE KEY" => keys.push(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(block.der))),
            "RSA PRIVATE KEY" if block.legacy_encrypted => {
                return Err(ImportError::LegacyEncryptedKey);
            }
            "EC PRIVATE KEY" if block.legacy_encrypted => {
                return Err(ImportError::LegacyEncryptedKey);
            }
            "RSA PRIVATE KEY" => {
                keys.push(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(block.der)))
            }
            "EC PRIVATE KEY" => keys.push(PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(block.der))),
            "ENCRYPTED PRIVATE KEY" => {
                let passphrase = passphrase.ok_or(ImportError::PassphraseNeeded)?;
                keys.push(decrypt_pkcs8(&block.der, passphrase)?);
            }
            // EC PARAMETERS, TRUSTED CERTIFICATE, ...: not needed.
            _ => {}
        }
    }
    if chain.is_empty() {
        return Err(ImportError::NoCertificate);
    }
    let key = match keys.len() {
        0 => return Err(ImportError::NoKey),
        1 => keys.remove(0),
        _ => return Err(ImportError::SeveralKeys),
    };
    checked(chain, key, now)
}

/// Reads a PKCS#12 file (`openssl pkcs12 -export`) with its password,
/// checks it at `now`.
///
/// # Errors
/// An [`ImportError`]; a wrong password is [`ImportError::WrongPassword`].
pub fn import_pkcs12(
    der: &[u8],
    password: &str,
    now: i64,
) -> Result<CertificateBundle, ImportError> {
    if der.len() > MAX_INPUT {
        return Err(ImportError::BadPkcs12("larger than 1 MiB".into()));
    }
    let store =
        KeyStore::from_pkcs12(der, password, Pkcs12ImportPolicy::Strict).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => ImportError::WrongPassword {
                what: "PKCS#12 password",
            },
            other => ImportError::BadPkcs12(other.to_string()),
        })?;
    let found = store.entries().find_map(|(_, entry)| match entry {
        KeyStoreEntry::PrivateKeyChain(chain) => Some(chain.clone()),
        _ => None,
    });
    let keychain = found.ok_or(ImportError::Pkcs12WithoutKeyChain)?;
    let chain: Vec<CertificateDer<'static>> = keychain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    if chain.is_empty() {
        return Err(ImportError::Pkcs12WithoutKeyChain);
    }
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(keychain.key().as_der().to_vec()));
    checked(chain, key, now)
}

fn decrypt_pkcs8(der: &[u8], passphrase: &str) -> Result<PrivateKeyDer<'static>, ImportError> {
    let info = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der)
        .map_err(|e| ImportError::BadPem(format!("encrypted private key: {e}")))?;
    let plain = info
        .decrypt(passphrase)
        .map_err(|_| ImportError::WrongPassword { what: "passphrase" })?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

/// The checks every import goes through.
fn checked(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    now: i64,
) -> Result<CertificateBundle, ImportError> {
    let mut parsed = Vec::with_capacity(chain.len());
    for (i, der) in chain.iter().enumerate() {
        let (_, cert) =
            X509Certificate::from_der(der.as_ref()).map_err(|e| ImportError::BadCertificate {
                index: i + 1,
                reason: e.to_string(),
            })?;
        parsed.push(cert);
    }
    let leaf = &parsed[0];
    let info = CertificateInfo::of(leaf);
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|_| ImportError::UnsupportedKey)?;
    let matches = signing
        .public_key()
        .is_some_and(|spki| spki.as_ref() == leaf.tbs_certificate.subject_pki.raw);
    if !matches {
        return Err(ImportError::KeyMismatch {
            subject: info.subject.clone(),
        });
    }
    for (i, pair) in parsed.windows(2).enumerate() {
        if pair[0].issuer() != pair[1].subject() {
            return Err(ImportError::ChainOrder {
                index: i + 2,
                subject: pair[1].subject().to_string(),
            });
        }
    }
    if now < info.not_before {
        return Err(ImportError::NotYetValid {
            subject: info.subject.clone(),
            not_before: info.not_before,
        });
    }
    if now > info.not_after {
        return Err(ImportError::Expired {
            subject: info.subject.clone(),
            not_after: info.not_after,
        });
    }
    drop(parsed);
    Ok(CertificateBundle { chain, key, info })
}

struct Block<'a> {
    label: &'a str,
    der: Vec<u8>,
    legacy_encrypted: bool,
}

/// The PEM blocks of `text`, in order.
fn blocks(text: &str) -> Result<Vec<Block<'_>>, ImportError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut legacy_encrypted = false;
        let mut closed = false;
        for (_, line) in lines.by_ref() {
            let line = line.trim();
            if line == end {
                closed = true;
                break;
            }
            if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                legacy_encrypted = true;
            }
            if line.contains(':') {
                continue; // RFC 1421 headers of legacy encrypted keys
            }
            body.push_str(line);
        }
        if !closed {
            return Err(ImportError::BadPem(format!(
                "the {label} block starting on line {} has no END line",
                n + 1
            )));
        }
        let der = STANDARD.decode(body.as_bytes()).map_err(|_| {
            ImportError::BadPem(format!(
                "the {label} block starting on line {} is not base64",
                n + 1
            ))
        })?;
        out.push(Block {
            label,
            der,
            legacy_encrypted,
        });
    }
    Ok(out)
}
