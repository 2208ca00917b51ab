//! The crate's one error enum and the problem reports it carries.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in the store.
///
/// Messages are meant for the operator: they name the file, field or line,
/// the offending value (never a password) and what is allowed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file did not exist and could not be created.
    #[error(
        "cannot create database file {}: {source}; check that the directory exists \
         and is writable by the Outpost user",
        path.display()
    )]
    CreateFile {
        /// The database path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// [`crate::Store::open_existing`] found no database file.
    #[error("no Outpost database at {}", path.display())]
    NoDatabase {
        /// The database path looked at.
        path: PathBuf,
    },
    /// The file could not be opened or configured as a SQLite database.
    #[error(
        "cannot open database {}: {source}; check that it is an Outpost (SQLite) \
         database and readable and writable by the Outpost user",
        path.display()
    )]
    Open {
        /// The database path.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// SQLite refused write-ahead logging for the file.
    #[error(
        "database {} stays in journal mode {mode:?} instead of \"wal\"; put it on a \
         local file system (network file systems cannot share WAL memory)",
        path.display()
    )]
    JournalMode {
        /// The database path.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The database was written by a newer Outpost.
    #[error(
        "database schema version {found} is newer than this Outpost supports \
         (up to {supported}); run the newer Outpost or restore a backup made by this version"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: u32,
        /// The latest version this code knows ([`crate::migrations::LATEST`]).
        supported: u32,
    },
    /// A schema migration failed; its transaction was rolled back, so the
    /// database is still at `version - 1`.
    #[error(
        "schema migration to version {version} failed and was rolled back: {source}; \
         the database is unchanged at version {}",
        version - 1
    )]
    Migration {
        /// The version the migration would have produced.
        version: u32,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// Any other SQLite failure (disk full, I/O error, lock timeout...).
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The operating system could not supply random bytes for a GUID.
    #[error("cannot get random bytes from the operating system for a new GUID: {0}")]
    Random(String),
    /// The input was refused; every problem found is listed.
    #[error("{} problem(s) in the input, nothing was written:{}", .0.len(), Bulleted(.0))]
    Invalid(Vec<FieldProblem>),
    /// No item of that kind has that name.
    #[error("no {kind} named {name:?}; list them with `{}`", kind.list_command())]
    NotFound {
        /// What was looked for.
        kind: Item,
        /// The name (ICP name or set-side username) given.
        name: String,
    },
    /// The ICP cannot be removed while devices are configured on it.
    #[error(
        "ICP {name:?} is used by {devices} device(s); move those devices to another \
         ICP (`outpost devices update USERNAME --icp OTHER`, or `outpost devices import \
         --mode update` with an icp column) or remove them first"
    )]
    IcpInUse {
        /// The ICP's name.
        name: String,
        /// How many devices refer to it.
        devices: usize,
    },
    /// An item of that kind already has that name.
    #[error("{kind} {name:?} already exists; choose another name (list them with `{}`)", kind.list_command())]
    Duplicate {
        /// What was being created.
        kind: Item,
        /// The name given.
        name: String,
    },
    /// The last account with the `admin` role cannot be removed or
    /// demoted: nobody could administer the installation any more.
    #[error(
        "{name:?} is the last administrator account with the admin role; create another \
         admin account first"
    )]
    LastAdministrator {
        /// The account's name.
        name: String,
    },
    /// No administrator account exists yet: the first one is created with
    /// the setup token.
    #[error(
        "no administrator account exists yet; create the first one with the setup token \
         (`outpost admin create` or POST /api/v1/setup)"
    )]
    NotSetUp,
    /// A CSV import was refused; every bad line is listed and nothing was
    /// written.
    #[error(
        "CSV import refused, nothing was written; {} bad line(s):{}",
        distinct_lines(.0),
        Bulleted(.0)
    )]
    Import(Vec<LineError>),
    /// The CSV input could not be read.
    #[error("cannot read the CSV input: {0}")]
    ImportRead(#[source] std::io::Error),
    /// The CSV input is larger than [`crate::MAX_IMPORT_BYTES`].
    #[error(
        "the CSV input is larger than {limit_bytes} bytes; split it into files of at \
         most {} devices",
        crate::MAX_IMPORT_ROWS
    )]
    ImportTooLarge {
        /// The size limit in bytes.
        limit_bytes: usize,
    },
    /// No provisioning action has that id.
    #[error("no provisioning action with id {id}; list them with `outpost provisioning actions`")]
    ActionNotFound {
        /// The id given.
        id: i64,
    },
    /// The action is not in the state the change needs.
    #[error(
        "provisioning action {id} is {state}, not {needed}; only a {needed} action can make this move"
    )]
    ActionState {
        /// The action's id.
        id: i64,
        /// Its state.
        state: &'static str,
        /// The state the change needs.
        needed: &'static str,
    },
}

/// The kind of item a [`StoreError::NotFound`] is about.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// An ICP, looked up by name.
    Icp,
    /// A teleworker SIP device, looked up by set-side username.
    Device,
    /// An administrator account, looked up by name.
    Administrator,
    /// An API token, looked up by id.
    ApiToken,
    /// A phone's configuration file, looked up by `<MAC>.cfg`.
    PhoneFile,
    /// A phone in the provisioning inventory, looked up by MAC.
    InventoryPhone,
    /// An uploaded provisioning file (startup, model, firmware, extra or
    /// global), looked up by name.
    ProvisioningFile,
    /// A web services consumer, looked up by consumer ID.
    WsConsumer,
    /// A web services OAuth token, looked up by token.
    WsToken,
}

impl Item {
    fn list_command(self) -> &'static str {
        match self {
            Self::Icp => "outpost icps list",
            Self::Device => "outpost devices list",
            Self::Administrator => "outpost admin list",
            Self::ApiToken => "outpost token list",
            Self::PhoneFile => "outpost provisioning files list",
            Self::InventoryPhone => "outpost provisioning inventory list",
            Self::ProvisioningFile => "outpost provisioning files list",
            Self::WsConsumer => "outpost webservices consumers list",
            Self::WsToken => "outpost webservices tokens list",
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Icp => "ICP",
            Self::Device => "device",
            Self::Administrator => "administrator account",
            Self::ApiToken => "API token",
            Self::PhoneFile => "phone file",
            Self::InventoryPhone => "inventory phone",
            Self::ProvisioningFile => "provisioning file",
            Self::WsConsumer => "web services consumer",
            Self::WsToken => "web services token",
        })
    }
}

/// One problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field, as named in the API (`name`, `setside_username`, `mac`...).
    pub field: &'static str,
    /// The offending value as given, or `None` when it is empty or secret.
    pub value: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl FieldProblem {
    /// A problem quoting the offending value.
    pub(crate) fn with_value(
        field: &'static str,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field,
            value: Some(value.into()),
            message: message.into(),
        }
    }

    /// A problem that does not quote the value (empty or secret).
    pub(crate) fn without_value(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            value: None,
            message: message.into(),
        }
    }

    /// The message with the quoted value in front, without the field name.
    pub(crate) fn detail(&self) -> String {
        match &self.value {
            Some(v) => format!("{v:?}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} {v:?}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// One bad line of a CSV import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file; the header is line 1.
    pub line: usize,
    /// The column, as named in the header, when the problem is in one cell.
    pub column: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// How many different lines the errors are on (a line may have several).
fn distinct_lines(errors: &[LineError]) -> usize {
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.sort_unstable();
    lines.dedup();
    lines.len()
}

/// Displays a list as indented lines, one item per line.
struct Bulleted<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Bulleted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in self.0 {
            write!(f, "\n  - {item}")?;
        }
        Ok(())
    }
}
