//! TLS identity: the self-signed default certificate generated on first start
//! (SEC-8: TLS works out of the box) and the rustls server configuration.
//!
//! Importing PEM/PKCS#12 and ACME come later; this module only loads what is
//! in the data directory or creates it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
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
    /// True when this start generated it.
    pub generated: bool,
}

/// Loads `DIR/default.crt` + `DIR/default.key`, or generates a self-signed
/// pair for `names` (DNS names or IP addresses) when they do not exist.
pub fn load_or_generate(dir: &Path, names: &[String]) -> Result<TlsIdentity, CertError> {
    let cert_path = dir.join("default.crt");
    let key_path = dir.join("default.key");
    let generated = if cert_path.exists() && key_path.exists() {
        false
    } else {
        generate(dir, &cert_path, &key_path, names)?;
        true
    };
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CertError::BadPem {
            path: cert_path.clone(),
            what: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::BadPem {
            path: cert_path,
            what: "no certificate found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| CertError::BadPem {
        path: key_path.clone(),
        what: e.to_string(),
    })?;
    Ok(TlsIdentity {
        cert_path,
        key_path,
        chain,
        key,
        generated,
    })
}

fn generate(
    dir: &Path,
    cert_path: &Path,
    key_path: &Path,
    names: &[String],
) -> Result<(), CertError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CertError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut params =
        rcgen::CertificateParams::new(names.to_vec()).map_err(|source| CertError::Generate {
            names: names.to_vec(),
            source,
        })?;
    if let Some(first) = names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, first.clone());
    }
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Outpost self-signed");
    let key = rcgen::KeyPair::generate().map_err(|source| CertError::Generate {
        names: names.to_vec(),
        source,
    })?;
    let cert = params
        .self_signed(&key)
        .map_err(|source| CertError::Generate {
            names: names.to_vec(),
            source,
        })?;
    // The key is written first and only then the certificate, so a crash in
    // between leaves no certificate and the next start regenerates both.
    write_private(key_path, key.serialize_pem().as_bytes()).map_err(io(key_path))?;
    fs::write(cert_path, cert.pem()).map_err(io(cert_path))?;
    Ok(())
}

/// Writes a file readable by its owner only (unix), replacing it atomically.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(data)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// A rustls server configuration limited to TLS 1.2 and 1.3 (SIG-1), with the
/// aws-lc-rs provider installed explicitly.
pub fn server_config(identity: &TlsIdentity) -> Result<Arc<rustls::ServerConfig>, CertError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
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
    let mut roots = rustls::RootCertStore::empty();
    for cert in &identity.chain {
        roots.add(cert.clone())?;
    }
    if let Some(path) = ca_file {
        let bad = |what: String| CertError::BadPem {
            path: path.to_path_buf(),
            what: format!("{what}; fix ipbx.ca_file"),
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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.key_log = key_log();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["sbc.example.test".to_string(), "198.18.0.1".to_string()];
        let first = load_or_generate(dir.path(), &names).unwrap();
        assert!(first.generated);
        let second = load_or_generate(dir.path(), &names).unwrap();
        assert!(!second.generated);
        assert_eq!(first.chain, second.chain);
        server_config(&second).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&first.key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key must not be readable by others");
        }
    }

    #[test]
    fn corrupt_certificate_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        load_or_generate(dir.path(), &["a.test".to_string()]).unwrap();
        fs::write(dir.path().join("default.crt"), "garbage").unwrap();
        let err = load_or_generate(dir.path(), &["a.test".to_string()]).unwrap_err();
        assert!(err.to_string().contains("default.crt"), "{err}");
    }
}
