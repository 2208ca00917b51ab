//! Where the data directory (database, certificates) is, and opening its
//! database for the management commands (issue 11).
//!
//! The data directory belongs to the installation, not to the shell: it is,
//! in order,
//! 1. `--data-dir DIR` or `OUTPOST_DATA_DIR` (relative to the working
//!    directory, as command-line paths are);
//! 2. `data_dir` from the configuration file, relative to that file's
//!    directory ([`crate::config::Config::load`] resolves it);
//! 3. `outpost-data` next to the configuration file when one is given
//!    (`-c` or `OUTPOST_CONFIG`);
//! 4. `./outpost-data` in the working directory (a bare `outpost serve`).
//!
//! Only `serve` and `init` create the directory and the database. Every
//! other command opens an existing database ([`DataDir::open_existing`])
//! and otherwise fails naming the path it looked at, how that path was
//! chosen and how to fix it: an empty new database would look as if every
//! device had been deleted.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use outpost_store::{Store, StoreError};

use crate::serve::{self, DATABASE_FILE};

/// Name of the default data directory (next to the configuration file, or
/// in the working directory without one).
pub const DEFAULT_DATA_DIR: &str = "outpost-data";

/// How the data directory was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--data-dir` or `OUTPOST_DATA_DIR`.
    CommandLine,
    /// `data_dir` in this configuration file.
    ConfigKey(PathBuf),
    /// The default, next to this configuration file.
    NextToConfig(PathBuf),
    /// The default in the working directory (no configuration file).
    WorkingDirectory,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CommandLine => f.write_str("given by --data-dir or OUTPOST_DATA_DIR"),
            Self::ConfigKey(file) if file.as_os_str().is_empty() => {
                f.write_str("data_dir in the configuration")
            }
            Self::ConfigKey(file) => write!(f, "data_dir in {}", file.display()),
            Self::NextToConfig(file) => write!(
                f,
                "the default `{DEFAULT_DATA_DIR}` next to the configuration file {}",
                file.display()
            ),
            Self::WorkingDirectory => write!(
                f,
                "the default `./{DEFAULT_DATA_DIR}` in the working directory (no \
                 configuration file given)"
            ),
        }
    }
}

/// The data directory of this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    /// The directory, absolute when the working directory is known.
    pub path: PathBuf,
    /// How it was chosen (for messages).
    pub origin: Origin,
}

/// A management command found no database.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// No database file where the data directory says.
    #[error(
        "no Outpost database at {} (data directory: {origin}); start `outpost serve` \
         (or run `outpost init`) once with this configuration to create it, or pass \
         -c FILE / --data-dir DIR pointing at the installation's configuration or data \
         directory",
        database.display()
    )]
    Missing {
        /// The database file looked for.
        database: PathBuf,
        /// How its directory was chosen.
        origin: Origin,
    },
    /// The database exists but cannot be opened.
    #[error(transparent)]
    Store(StoreError),
}

impl DataDir {
    /// Chooses the data directory (see the module docs): `command_line` is
    /// `--data-dir`/`OUTPOST_DATA_DIR`, `config_file` the configuration
    /// file given, `configured` its `data_dir` (already resolved against
    /// the file's directory).
    pub fn resolve(
        command_line: Option<&Path>,
        config_file: Option<&Path>,
        configured: Option<&Path>,
    ) -> Self {
        let (path, origin) = match (command_line, configured, config_file) {
            (Some(dir), _, _) => (dir.to_path_buf(), Origin::CommandLine),
            (None, Some(dir), file) => (
                dir.to_path_buf(),
                Origin::ConfigKey(file.map(real_path).unwrap_or_default()),
            ),
            (None, None, Some(file)) => {
                let file = real_path(file);
                let dir = file
                    .parent()
                    .map_or_else(PathBuf::new, Path::to_path_buf)
                    .join(DEFAULT_DATA_DIR);
                (dir, Origin::NextToConfig(file))
            }
            (None, None, None) => (PathBuf::from(DEFAULT_DATA_DIR), Origin::WorkingDirectory),
        };
        Self {
            path: absolute(&path),
            origin,
        }
    }

    /// The database file in this directory.
    pub fn database(&self) -> PathBuf {
        self.path.join(DATABASE_FILE)
    }

    /// Opens the existing database; never creates the directory or the
    /// file.
    ///
    /// # Errors
    /// [`DataDirError::Missing`] naming the path and how it was chosen;
    /// [`DataDirError::Store`] if the file cannot be opened or migrated.
    pub fn open_existing(&self) -> Result<Store, DataDirError> {
        let database = self.database();
        Store::open_existing(&database).map_err(|e| match e {
            StoreError::NoDatabase { .. } => DataDirError::Missing {
                database,
                origin: self.origin.clone(),
            },
            other => DataDirError::Store(other),
        })
    }

    /// `outpost init`: creates the directory (mode 0700) and the migrated
    /// database unless they exist, and says which it did. What `serve` adds
    /// at its first start (certificate, setup token) is left to it.
    ///
    /// # Errors
    /// The message of what failed.
    pub fn init(&self, out: &mut dyn Write) -> Result<(), String> {
        let database = self.database();
        let existed = database.exists();
        let store = serve::open_store(&self.path).map_err(|e| e.to_string())?;
        let schema = store.schema_version().map_err(|e| e.to_string())?;
        let said = if existed {
            tracing::info!(path = %database.display(), "database already there");
            writeln!(
                out,
                "Outpost database already at {} (schema {schema}); nothing to do",
                database.display()
            )
        } else {
            tracing::info!(path = %database.display(), origin = %self.origin, "database created");
            writeln!(
                out,
                "created the Outpost database {} (schema {schema}; data directory: {})",
                database.display(),
                self.origin
            )
        };
        said.map_err(|e| format!("writing output: {e}"))
    }
}

/// `path` made absolute against the working directory (for messages and so
/// that a later change of directory cannot move it); unchanged if that
/// fails.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// An existing file's canonical path (no `..`, symbolic links resolved),
/// else [`absolute`].
fn real_path(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_defaults() {
        let cli = DataDir::resolve(
            Some(Path::new("/srv/cli")),
            Some(Path::new("/etc/outpost/outpost.toml")),
            Some(Path::new("/etc/outpost/data")),
        );
        assert_eq!(
            (cli.path.as_path(), &cli.origin),
            (Path::new("/srv/cli"), &Origin::CommandLine)
        );

        let keyed = DataDir::resolve(
            None,
            Some(Path::new("/etc/outpost/outpost.toml")),
            Some(Path::new("/etc/outpost/data")),
        );
        assert_eq!(keyed.path, Path::new("/etc/outpost/data"));
        assert_eq!(
            keyed.origin,
            Origin::ConfigKey(PathBuf::from("/etc/outpost/outpost.toml"))
        );

        let next_to = DataDir::resolve(None, Some(Path::new("/etc/outpost/outpost.toml")), None);
        assert_eq!(next_to.path, Path::new("/etc/outpost/outpost-data"));
        assert_eq!(
            next_to.database(),
            Path::new("/etc/outpost/outpost-data/outpost.db")
        );

        let bare = DataDir::resolve(None, None, None);
        assert!(bare.path.is_absolute(), "{}", bare.path.display());
        assert!(bare.path.ends_with(DEFAULT_DATA_DIR));
        assert_eq!(bare.origin, Origin::WorkingDirectory);
    }

    #[test]
    fn a_relative_configuration_file_still_gives_an_absolute_directory() {
        let dir = DataDir::resolve(None, Some(Path::new("conf/outpost.toml")), None);
        assert!(dir.path.is_absolute(), "{}", dir.path.display());
        assert!(
            dir.path.ends_with("conf/outpost-data"),
            "{}",
            dir.path.display()
        );
    }

    #[test]
    fn missing_database_names_path_origin_and_fix_and_creates_nothing() {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let file = tmp.path().join("outpost.toml");
        let dir = DataDir::resolve(None, Some(&file), None);
        let err = dir.open_existing().expect_err("no database yet");
        let text = err.to_string();
        for needle in [
            dir.database().display().to_string(),
            file.display().to_string(),
            "outpost serve".to_owned(),
            "--data-dir".to_owned(),
        ] {
            assert!(text.contains(&needle), "{needle:?} missing: {text}");
        }
        assert!(!dir.path.exists(), "nothing created");

        let mut out = Vec::new();
        dir.init(&mut out).expect("init");
        assert!(String::from_utf8_lossy(&out).contains("created"));
        assert!(dir.open_existing().is_ok());
        let mut out = Vec::new();
        dir.init(&mut out).expect("init again");
        assert!(String::from_utf8_lossy(&out).contains("nothing to do"));
    }
}
