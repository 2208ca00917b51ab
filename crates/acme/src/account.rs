//! The ACME account credentials file: created on first use, written
//! atomically (temporary file in the same directory, fsync, rename) with
//! mode 0600 since it holds the account's private key, reused afterwards.
//!
//! The file also records the directory URL it was registered with, so an
//! account of the staging CA is never sent to the production one.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use instant_acme::AccountCredentials;
use serde::{Deserialize, Serialize};

use crate::AcmeError;

/// Credentials files are small; anything bigger is not one.
const MAX_FILE: u64 = 64 * 1024;

/// What the file holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredAccount {
    /// The directory URL the account was registered with.
    pub(crate) directory_url: String,
    /// `instant-acme`'s credentials (account URL and PKCS#8 key).
    pub(crate) credentials: AccountCredentials,
}

fn file_error(path: &Path, action: &'static str, detail: impl ToString) -> AcmeError {
    AcmeError::AccountFile {
        path: path.to_owned(),
        action,
        detail: detail.to_string(),
    }
}

/// Reads the file; `Ok(None)` when it does not exist yet.
pub(crate) fn load(
    path: &Path,
    directory_url: &str,
) -> Result<Option<AccountCredentials>, AcmeError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(path, "read", e)),
    };
    if meta.len() > MAX_FILE {
        return Err(file_error(
            path,
            "read",
            format!("{} bytes, more than an account file has", meta.len()),
        ));
    }
    let text = std::fs::read(path).map_err(|e| file_error(path, "read", e))?;
    let stored: StoredAccount =
        serde_json::from_slice(&text).map_err(|e| file_error(path, "parse", e))?;
    if stored.directory_url != directory_url {
        return Err(AcmeError::AccountServerMismatch {
            path: path.to_owned(),
            stored: stored.directory_url,
            configured: directory_url.to_owned(),
        });
    }
    Ok(Some(stored.credentials))
}

/// Writes the file atomically with mode 0600, creating its directory
/// (mode 0700) when missing.
pub(crate) fn store(path: &Path, stored: &StoredAccount) -> Result<(), AcmeError> {
    let json = serde_json::to_vec_pretty(stored).map_err(|e| file_error(path, "write", e))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| file_error(path, "write", e))?;
    let Some(file_name) = path.file_name() else {
        return Err(file_error(path, "write", "the path names no file"));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename is durable once the directory is synced.
        std::fs::File::open(dir)?.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_error(path, "write", e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn credentials() -> AccountCredentials {
        // The shape instant-acme serializes: an account URL, a PKCS#8 key
        // (base64url) and the directory.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let b64 = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            key.serialize_der(),
        );
        serde_json::from_value(serde_json::json!({
            "id": "https://ca.test/acct/1",
            "key_pkcs8": b64,
            "directory": "https://ca.test/dir",
        }))
        .unwrap()
    }

    #[test]
    fn stored_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/account.json");
        assert!(load(&path, "https://ca.test/dir").unwrap().is_none());
        let stored = StoredAccount {
            directory_url: "https://ca.test/dir".into(),
            credentials: credentials(),
        };
        store(&path, &stored).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(load(&path, "https://ca.test/dir").unwrap().is_some());
        // No temporary file left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn an_account_of_another_server_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("account.json");
        let stored = StoredAccount {
            directory_url: "https://staging.test/dir".into(),
            credentials: credentials(),
        };
        store(&path, &stored).unwrap();
        let Err(e) = load(&path, "https://production.test/dir") else {
            panic!("loaded another server's account");
        };
        assert!(matches!(e, AcmeError::AccountServerMismatch { .. }), "{e}");
    }

    #[test]
    fn a_corrupt_file_is_a_parse_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("account.json");
        std::fs::write(&path, "{ truncated").unwrap();
        let Err(e) = load(&path, "https://ca.test/dir") else {
            panic!("loaded a corrupt file");
        };
        let text = e.to_string();
        assert!(
            text.contains("parse") && text.contains("account.json"),
            "{text}"
        );
    }
}
