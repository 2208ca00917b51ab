//! Outpost persistence: ICPs (SPEC PRO-1), teleworker SIP devices (PRO-2),
//! key/value settings, the guard's lists and settings (SEC-10, see
//! [`Store::guard_allow_list`]), and the management plane's administrator
//! accounts, login sessions, API tokens and append-only audit log (SEC-9,
//! see [`Store::create_first_admin`] and [`AuditRecord`]), kept in one
//! embedded SQLite database.
//!
//! What it does:
//! - opens the database file (creating it if missing with [`Store::open`],
//!   only an existing one with [`Store::open_existing`]), sets `journal_mode=WAL`,
//!   `synchronous=FULL`, `foreign_keys=ON` and a busy timeout, and applies the
//!   embedded, ordered schema migrations tracked by `PRAGMA user_version`
//!   (see [`migrations`]); a database written by a newer Outpost is refused
//!   with [`StoreError::SchemaTooNew`] rather than guessed at;
//! - validates every ICP and device before writing it and reports *all*
//!   problems of one input together ([`StoreError::Invalid`]), each naming
//!   the field, the value and what is allowed;
//! - changes stored devices and ICPs field by field ([`Store::update_device`],
//!   [`Store::update_icp`]);
//! - offers each management write also as `*_audited` (e.g.
//!   [`Store::add_device_audited`]), which appends the audit entry a closure
//!   builds from the state before and after in the write's own transaction;
//! - imports devices from CSV all-or-nothing with a per-line error report,
//!   creating, updating or both ([`Store::import_devices_csv_with_mode`]);
//! - runs every write in one SQLite transaction, so a crash or a bad line
//!   never leaves half a change (SEC-10); the management plane's writes
//!   append their audit entry in that same transaction;
//! - stores administrator passwords only as argon2id hashes, and sessions
//!   and API tokens only as SHA-256 digests, all computed by the caller
//!   (`outpost-api`); audit rows can be neither changed nor deleted (SQLite
//!   triggers abort it);
//! - keeps phone provisioning's data (SEC-7, PRO-5..PRO-9): the hash key,
//!   the files phones download (a remote-worker import replaces the phone
//!   files in one transaction), the inventory, and the actions and events
//!   log, where `serve` marks a `running` action left by a stop or crash
//!   `interrupted` when it starts ([`Store::interrupt_running_actions`];
//!   see also [`Store::replace_phone_files_audited`]). MAC addresses are
//!   `outpost_provision::Mac`, whose rules this crate uses rather than
//!   repeats.
//!
//! What it does not do:
//! - no network, no clock, no background work; callers own the [`Store`]
//!   (it wraps a single `rusqlite::Connection`, which is `Send` but not
//!   `Sync`: share it behind a mutex or open one per thread);
//! - no password policy yet: PRO-2's "weak set-side passwords are refused
//!   unless the operator allows them" belongs to the caller for now; this
//!   crate only refuses empty passwords;
//! - no PostgreSQL/Redis back ends (ARCHITECTURE: "later"), and no traits
//!   over the store yet, because there is only one implementation.
//!
//! Passwords: device passwords are stored **as given**, not hashed, because
//! both the SIP digest server (set side) and the SIP digest client (ICP side)
//! need the clear value to compute responses (RFC 3261 §22.4). What protects
//! them is the file mode: [`Store::open`] creates the database file with Unix
//! mode `0600` (SQLite gives its `-wal`/`-shm` files the same mode). An
//! existing file's mode is left alone. In memory they travel as [`Secret`],
//! whose `Debug`/`Display` print `********`, and no error message of this
//! crate ever contains a password value.

#![forbid(unsafe_code)]

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

mod admin;
mod api_token;
mod audit;
mod csv_import;
mod device;
mod error;
mod guard;
mod icp;
mod icp_update;
pub mod migrations;
mod provisioning;
mod secret;
mod settings;
mod status;
mod update;
mod webservices;

pub use admin::{
    ADMIN_NAME_MAX, AdminAccount, AdminRole, AdminSession, FirstAdmin, NewAdmin, NewSession,
    SETUP_TOKEN_SETTING, check_admin_name,
};
pub use api_token::{API_TOKEN_NAME_MAX, ApiToken, NewApiToken};
pub use audit::{AUDIT_PAGE_MAX, AuditEntry, AuditFilter, AuditRecord};
pub use csv_import::{
    DeviceChange, ImportEvent, ImportMode, ImportReport, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS,
};
pub use device::{Device, NewDevice};
pub use error::{FieldProblem, Item, LineError, StoreError};
pub use guard::{
    AllowEntry, DenyEntry, DenyList, GUARD_ALLOW_MAX, GuardChange, canonical_guard_address,
};
pub use icp::{Icp, NewIcp};
pub use icp_update::{IcpUpdate, IcpUpdated};
pub use provisioning::{
    Action, ActionEvent, ActionKind, ActionState, ChangeBy, Download, EventFilter, FileKind,
    FileReplacement, InventoryEntry, NewAction, PhoneRemoval, ProvisioningFile,
    ProvisioningFileInfo,
};
pub use secret::Secret;
pub use settings::SettingsWrite;
pub use status::{BindingStatusRecord, DeviceStatusRecord};
pub use update::{DeviceUpdate, DeviceUpdated};
pub use webservices::{
    NewWsConsumer, NewWsToken, WS_CONSUMER_ID_MAX, WS_CONSUMER_NAME_MAX, WsConsumer,
    WsConsumerUpdate, WsToken, WsTokenKind,
};

/// How long a statement waits for another connection's lock before failing
/// with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The Outpost database: one SQLite connection with the schema migrated to
/// [`migrations::LATEST`].
///
/// Reads take `&self`; writes take `&mut self` and each runs in its own
/// transaction.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens the database at `path`, creating the file (Unix mode `0600`,
    /// because it holds passwords) if it does not exist, then configures the
    /// connection and applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::CreateFile`] if the file cannot be created,
    /// [`StoreError::Open`] if it cannot be opened or is not a SQLite
    /// database, [`StoreError::SchemaTooNew`] if a newer Outpost wrote it,
    /// [`StoreError::Migration`] if a migration fails (nothing of that
    /// migration is kept).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private_file(path)?;
        Self::open_file(path, OpenFlags::SQLITE_OPEN_CREATE)
    }

    /// Opens the existing database at `path`, like [`Store::open`] but
    /// never creating anything: the management commands use it so that a
    /// wrong path is an error rather than a new, empty database.
    ///
    /// # Errors
    /// [`StoreError::NoDatabase`] if there is no file at `path`; otherwise
    /// as [`Store::open`].
    pub fn open_existing(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NoDatabase {
                path: path.to_path_buf(),
            });
        }
        // Without SQLITE_OPEN_CREATE, a file removed meanwhile is an error
        // too, not a new database.
        Self::open_file(path, OpenFlags::empty())
    }

    fn open_file(path: &Path, create: OpenFlags) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | create;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // journal_mode answers with the mode actually in effect.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::JournalMode {
                path: path.to_path_buf(),
                mode,
            });
        }
        Self::configure(conn).map_err(|e| match e {
            StoreError::Database(source) => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Opens a fresh, private in-memory database with the latest schema
    /// (tests, `check-config`, dry runs). Nothing survives the `Store`.
    ///
    /// # Errors
    /// [`StoreError::Database`] or [`StoreError::Migration`] if SQLite fails.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::configure(Connection::open_in_memory()?)
    }

    fn configure(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A replaced or deleted secret (a device's password, a token's
        // hash) is overwritten in the file, not left in a free page for
        // anyone who copies the database later.
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrations::apply(&mut conn)?;
        Ok(Self { conn })
    }

    /// The schema version (`PRAGMA user_version`); equals
    /// [`migrations::LATEST`] once the store is open.
    ///
    /// # Errors
    /// [`StoreError::Database`] if SQLite fails.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        migrations::user_version(&self.conn)
    }

    /// Starts a write transaction. `IMMEDIATE` takes the write lock up front
    /// so that the busy timeout applies; a deferred transaction that later
    /// upgrades can fail with "database is locked" at once in WAL mode.
    fn write_txn(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }
}

/// Creates `path` with mode `0600` if it does not exist; leaves an existing
/// file untouched.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::CreateFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A random 128-bit identifier as 32 lower-case hex characters, for a new
/// API token.
///
/// # Errors
/// [`StoreError::Random`] if the operating system has no random bytes.
pub fn new_token_id() -> Result<String, StoreError> {
    new_guid()
}

/// A random 128-bit identifier as 32 lower-case hex characters (the vendor
/// API's `guid`).
fn new_guid() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(hex::encode(bytes))
}
