//! A small certificate authority for the test bed, made with `rcgen`: a
//! test CA whose certificate a client is given as its trust anchor (the
//! "CA file" of an ICP record), issuing leaf certificates for host names or
//! IP addresses (e.g. a Kamailio iPBX reached over TLS by name).
//!
//! What it does not do: no revocation, no intermediates, no persistence
//! beyond the PEM files it writes; keys are ECDSA P-256, certificates are
//! valid from 1975 to 4096 (rcgen's defaults), so clock skew never matters.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::{Result, TestbedError};

fn cert_error(what: &str, e: &rcgen::Error) -> TestbedError {
    TestbedError::Config(format!("test certificate: {what}: {e}"))
}

struct Inner {
    issuer: Issuer<'static, KeyPair>,
    ca_file: PathBuf,
    name: String,
}

/// A test certificate authority; cloning shares it (two iPBXs serving one
/// name can hold leaves of the same CA).
#[derive(Clone)]
pub struct TestCa {
    inner: Arc<Inner>,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa")
            .field("name", &self.inner.name)
            .field("ca_file", &self.inner.ca_file)
            .finish_non_exhaustive()
    }
}

/// A leaf certificate and its key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate (PEM), the leaf only.
    pub cert_file: PathBuf,
    /// Its private key (PEM, PKCS#8).
    pub key_file: PathBuf,
    /// The names (DNS names or IP addresses) it was issued for.
    pub names: Vec<String>,
}

impl TestCa {
    /// A new CA named `name` (its subject common name); its certificate is
    /// written to `dir/<name>.crt` (directory created if needed).
    pub fn new(dir: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| TestbedError::io("creating the test CA directory", dir, e))?;
        let mut params = CertificateParams::new(Vec::<String>::new())
            .map_err(|e| cert_error("CA parameters", &e))?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(|e| cert_error("CA key", &e))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| cert_error("self-signing the CA", &e))?;
        let ca_file = dir.join(format!("{}.crt", file_stem(name)));
        std::fs::write(&ca_file, cert.pem())
            .map_err(|e| TestbedError::io("writing the test CA certificate", &ca_file, e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer: Issuer::new(params, key),
                ca_file,
                name: name.to_owned(),
            }),
        })
    }

    /// The CA certificate (PEM): what a client must trust.
    pub fn ca_file(&self) -> &Path {
        &self.inner.ca_file
    }

    /// The CA's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Issues a server (and client) certificate for `names` (DNS names; a
    /// name that parses as an IP address becomes an IP address SAN), the
    /// first one also its common name, written to `dir/<stem>.crt` and
    /// `dir/<stem>.key`.
    pub fn issue(&self, names: &[&str], dir: &Path, stem: &str) -> Result<IssuedCert> {
        let first = names.first().ok_or_else(|| {
            TestbedError::Config("test certificate: no name to issue it for".into())
        })?;
        std::fs::create_dir_all(dir)
            .map_err(|e| TestbedError::io("creating the certificate directory", dir, e))?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone())
            .map_err(|e| cert_error(&format!("names {names:?}"), &e))?;
        params.distinguished_name.push(DnType::CommonName, *first);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().map_err(|e| cert_error("leaf key", &e))?;
        let cert = params
            .signed_by(&key, &self.inner.issuer)
            .map_err(|e| cert_error(&format!("signing {names:?}"), &e))?;
        let stem = file_stem(stem);
        let cert_file = dir.join(format!("{stem}.crt"));
        let key_file = dir.join(format!("{stem}.key"));
        std::fs::write(&cert_file, cert.pem())
            .map_err(|e| TestbedError::io("writing a test certificate", &cert_file, e))?;
        std::fs::write(&key_file, key.serialize_pem())
            .map_err(|e| TestbedError::io("writing a test key", &key_file, e))?;
        Ok(IssuedCert {
            cert_file,
            key_file,
            names,
        })
    }
}

/// `name` with anything but ASCII letters, digits, `-` and `.` replaced.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_blocks(path: &Path) -> usize {
        std::fs::read_to_string(path)
            .unwrap()
            .matches("-----BEGIN ")
            .count()
    }

    #[test]
    fn issues_leaves_that_openssl_verifies_for_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path(), "Outpost test CA").unwrap();
        assert!(ca.ca_file().ends_with("Outpost-test-CA.crt"));
        let leaf = ca
            .issue(&["pbx.example.test", "198.18.2.20"], dir.path(), "pbx")
            .unwrap();
        assert_eq!(pem_blocks(ca.ca_file()), 1);
        assert_eq!(pem_blocks(&leaf.cert_file), 1);
        assert_eq!(pem_blocks(&leaf.key_file), 1);
        let verify = |name_flag: &str, name: &str| {
            let mut cmd = std::process::Command::new("openssl");
            cmd.arg("verify")
                .arg("-CAfile")
                .arg(ca.ca_file())
                .args([name_flag, name])
                .arg(&leaf.cert_file);
            crate::run_checked(&mut cmd)
        };
        verify("-verify_hostname", "pbx.example.test").unwrap();
        verify("-verify_ip", "198.18.2.20").unwrap();
        let err = verify("-verify_hostname", "other.example.test").unwrap_err();
        assert!(err.to_string().contains("mismatch"), "{err}");
        // Another CA's leaf does not verify with this CA file.
        let other = TestCa::new(&dir.path().join("other"), "Other CA").unwrap();
        let stranger = other
            .issue(&["pbx.example.test"], dir.path(), "stranger")
            .unwrap();
        let mut cmd = std::process::Command::new("openssl");
        cmd.arg("verify")
            .arg("-CAfile")
            .arg(ca.ca_file())
            .arg(&stranger.cert_file);
        assert!(crate::run_checked(&mut cmd).is_err());
    }

    #[test]
    fn refuses_an_empty_name_list() {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path(), "ca").unwrap();
        assert!(ca.issue(&[], dir.path(), "x").is_err());
    }
}
