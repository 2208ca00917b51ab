//! Secrets at rest (issue 16 item 3): consumer shared secrets and token
//! secrets are sealed with AES-256-GCM under a key kept in a file of its
//! own (`webservices.key` in the data directory, mode 0600), not in the
//! database, so a copy of the database alone gives no secret away.
//! HMAC-SHA1 needs the secret itself, so a hash would not do.
//!
//! Each sealed value is bound to the row it belongs to (the associated
//! data is a label such as `consumer:MiVOAppSuite`): a sealed secret
//! copied onto another row does not open.

use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::service::ServiceError;

/// Format version of a sealed value (its first byte).
const VERSION: u8 = 1;
const KEY_LEN: usize = 32;

/// The sealing key.
pub struct SealKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(********)")
    }
}

impl SealKey {
    /// Reads the key file at `path`, creating it (random, mode 0600) when
    /// it does not exist.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] naming the file when it cannot be read,
    /// written or holds no key.
    pub fn load_or_create(path: &Path) -> Result<Self, ServiceError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).ok().filter(|b| b.len() == KEY_LEN);
                let Some(bytes) = bytes else {
                    return Err(ServiceError::Internal(format!(
                        "{} does not hold a web services key ({} hex digits); restore it from \
                         the backup made with the database, or remove it to start over (every \
                         consumer secret and token then has to be issued again)",
                        path.display(),
                        KEY_LEN * 2
                    )));
                };
                Self::from_bytes(&bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; KEY_LEN];
                getrandom::fill(&mut bytes).map_err(|e| {
                    ServiceError::Internal(format!("no random bytes from the OS: {e}"))
                })?;
                write_new_key(path, &hex::encode(bytes)).map_err(|e| {
                    ServiceError::Internal(format!("cannot create {}: {e}", path.display()))
                })?;
                Self::from_bytes(&bytes)
            }
            Err(e) => Err(ServiceError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// A key from raw bytes (tests).
    ///
    /// # Errors
    /// [`ServiceError::Internal`] unless `bytes` has 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ServiceError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| ServiceError::Internal("a web services key has 32 bytes".into()))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `secret` for the row named `label`.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the OS gives no random bytes.
    pub fn seal(&self, label: &str, secret: &str) -> Result<Vec<u8>, ServiceError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| ServiceError::Internal(format!("no random bytes from the OS: {e}")))?;
        let mut in_out = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(label.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| ServiceError::Internal("sealing a secret failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens what [`SealKey::seal`] sealed for `label`.
    ///
    /// # Errors
    /// [`ServiceError::Internal`] when the value was sealed with another
    /// key or for another row, or is damaged.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<String, ServiceError> {
        let damaged = || {
            ServiceError::Internal(format!(
                "the stored secret of {label} does not open with this web services key \
                 (webservices.key replaced or the database restored without it); issue it again"
            ))
        };
        let (&version, rest) = sealed.split_first().ok_or_else(damaged)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(damaged());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| damaged())?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(label.as_bytes()), &mut in_out)
            .map_err(|_| damaged())?;
        String::from_utf8(plain.to_vec()).map_err(|_| damaged())
    }
}

/// Writes a new key file readable by its owner only; never replaces one.
fn write_new_key(path: &Path, hex_key: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex_key.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_label() {
        let key = SealKey::from_bytes(&[7; 32]).unwrap();
        let sealed = key.seal("consumer:a", "s3cret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(key.open("consumer:a", &sealed).unwrap(), "s3cret");
        assert!(key.open("consumer:b", &sealed).is_err());
        let other = SealKey::from_bytes(&[8; 32]).unwrap();
        assert!(other.open("consumer:a", &sealed).is_err());
        assert!(key.open("consumer:a", &sealed[..10]).is_err());
    }

    #[test]
    fn the_key_file_is_created_once_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webservices.key");
        let first = SealKey::load_or_create(&path).unwrap();
        let sealed = first.seal("x", "y").unwrap();
        let again = SealKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("x", &sealed).unwrap(), "y");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(SealKey::load_or_create(&path).is_err());
    }
}
