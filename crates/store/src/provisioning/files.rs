//! The files phones download (PRO-5..PRO-7): one `<MAC>.cfg` per phone,
//! the global file and one extra file, under the names phones ask for.
//!
//! A remote-worker import replaces the whole set of phone files in one
//! transaction: until it commits, readers (the configuration service, on
//! its own connection) see the previous set, and a failure or a crash
//! anywhere in it leaves that set (SEC-10, issue 15 item 4).
//!
//! Every write bumps one revision counter and stamps the written files
//! with it; the ETag is made from it, so a changed file never keeps an old
//! ETag, even after a delete and a re-import of the same name.

use outpost_provision::{GLOBAL_FILE_NAME, Mac};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{ActionKind, ChangeBy, record_done};
use crate::{AuditRecord, FieldProblem, Item, Store, StoreError, audit};

/// What a stored file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// A phone's own `<MAC>.cfg`.
    Phone,
    /// The global file, `aastra.cfg`.
    Global,
    /// The one extra file (template or certificate).
    Extra,
    /// `startup.cfg`, the global file of newer firmware.
    Startup,
    /// A per-model file, `<model>.cfg`.
    Model,
    /// A firmware image.
    Firmware,
}

impl FileKind {
    /// The name used in the database and in API answers.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Global => "global",
            Self::Extra => "extra",
            Self::Startup => "startup",
            Self::Model => "model",
            Self::Firmware => "firmware",
        }
    }

    fn from_db(s: &str) -> Option<Self> {
        match s {
            "phone" => Some(Self::Phone),
            "global" => Some(Self::Global),
            "extra" => Some(Self::Extra),
            "startup" => Some(Self::Startup),
            "model" => Some(Self::Model),
            "firmware" => Some(Self::Firmware),
            _ => None,
        }
    }
}

/// A stored file without its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningFileInfo {
    /// The name phones ask for.
    pub name: String,
    /// What it is.
    pub kind: FileKind,
    /// The phone's MAC, for a phone file.
    pub mac: Option<Mac>,
    /// Size in bytes.
    pub size: u64,
    /// When it was written, seconds since the Unix epoch.
    pub modified: i64,
    /// The HTTP entity tag, quoted (`"r42"`).
    pub etag: String,
}

/// A stored file with its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningFile {
    /// Name, kind, size, time and ETag.
    pub info: ProvisioningFileInfo,
    /// The bytes served.
    pub contents: Vec<u8>,
}

/// What [`Store::replace_phone_files_audited`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileReplacement {
    /// Phone files that were there before and are gone or replaced.
    pub removed: usize,
    /// Phone files written.
    pub written: usize,
}

const INFO_COLUMNS: &str = "name, kind, mac, length(contents), modified, revision";

impl Store {
    /// All stored files, without contents, by kind then name.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn provisioning_files(&self) -> Result<Vec<ProvisioningFileInfo>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INFO_COLUMNS} FROM provisioning_files \
             ORDER BY CASE kind WHEN 'global' THEN 0 WHEN 'startup' THEN 1 WHEN 'extra' THEN 2 \
             WHEN 'model' THEN 3 WHEN 'firmware' THEN 4 ELSE 5 END, name"
        ))?;
        let rows = stmt.query_map([], info_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The file with this exact name, with its contents.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn provisioning_file(&self, name: &str) -> Result<Option<ProvisioningFile>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {INFO_COLUMNS}, contents FROM provisioning_files WHERE name = ?1"
        ))?;
        Ok(stmt
            .query_row([name], |row| {
                Ok(ProvisioningFile {
                    info: info_from_row(row)?,
                    contents: row.get(6)?,
                })
            })
            .optional()?)
    }

    /// Replaces every phone file with `files` (a remote-worker import), in
    /// one transaction with its `import` action and the audit entry
    /// `audit` builds. Nothing changes unless all of it is written.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if a MAC appears twice (the CSV reader
    /// refuses that already) or the audit entry is refused;
    /// [`StoreError::Database`]. The previous files stay on any error.
    pub fn replace_phone_files_audited(
        &mut self,
        files: &[(Mac, Vec<u8>)],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&FileReplacement) -> Option<AuditRecord>,
    ) -> Result<FileReplacement, StoreError> {
        let tx = self.write_txn()?;
        let removed = tx.execute("DELETE FROM provisioning_files WHERE kind = 'phone'", [])?;
        let revision = bump_revision(&tx)?;
        for (mac, contents) in files {
            insert(
                &tx,
                &mac.file_name(),
                FileKind::Phone,
                Some(*mac),
                contents,
                revision,
                by.at,
            )
            .map_err(|e| duplicate_as_invalid(e, *mac))?;
        }
        let done = FileReplacement {
            removed,
            written: files.len(),
        };
        let result = format!(
            "imported {} phone file(s), replacing {} previous one(s)",
            done.written, done.removed
        );
        record_done(&tx, by, ActionKind::Import, "remote-worker import", &result)?;
        if let Some(record) = audit(&done) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(done)
    }

    /// Writes the global file (`aastra.cfg`), replacing the previous one,
    /// with an `import` action and the audit entry `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a refused audit entry;
    /// [`StoreError::Database`].
    pub fn set_global_file_audited(
        &mut self,
        contents: &[u8],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
    ) -> Result<ProvisioningFileInfo, StoreError> {
        self.set_single_file(GLOBAL_FILE_NAME, FileKind::Global, contents, by, audit)
    }

    /// Writes the one extra file under `name`, replacing any previous extra
    /// file, with an `import` action and the audit entry `audit` builds.
    /// The caller checks the name's form (`ExtraFileName`); this refuses a
    /// name that another kind of file has.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a name in use by a phone or the global
    /// file, or a refused audit entry; [`StoreError::Database`].
    pub fn set_extra_file_audited(
        &mut self,
        name: &str,
        contents: &[u8],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
    ) -> Result<ProvisioningFileInfo, StoreError> {
        self.set_single_file(name, FileKind::Extra, contents, by, audit)
    }

    fn set_single_file(
        &mut self,
        name: &str,
        kind: FileKind,
        contents: &[u8],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
    ) -> Result<ProvisioningFileInfo, StoreError> {
        let tx = self.write_txn()?;
        tx.execute(
            "DELETE FROM provisioning_files WHERE kind = ?1",
            [kind.as_str()],
        )?;
        if let Some(other) = info_by_name(&tx, name)? {
            return Err(StoreError::Invalid(vec![FieldProblem::with_value(
                "name",
                name,
                format!(
                    "a {} file has this name; choose another name for the extra file",
                    other.kind.as_str()
                ),
            )]));
        }
        write_named_file(tx, name, kind, contents, by, audit)
    }

    /// Removes the files of these phones, all or none, with a `delete`
    /// action and the audit entry `audit` builds; returns what was removed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] naming the first MAC without a file
    /// (nothing is removed); [`StoreError::Database`].
    pub fn remove_phone_files_audited(
        &mut self,
        macs: &[Mac],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&[ProvisioningFileInfo]) -> Option<AuditRecord>,
    ) -> Result<Vec<ProvisioningFileInfo>, StoreError> {
        let tx = self.write_txn()?;
        let removed = remove_phone_files(&tx, macs, true)?;
        let result = format!("removed {} phone file(s)", removed.len());
        record_done(&tx, by, ActionKind::Delete, "phone files", &result)?;
        if let Some(record) = audit(&removed) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(removed)
    }
}

/// Removes these phones' files inside the caller's transaction; with
/// `require`, a phone without a file is [`StoreError::NotFound`].
pub(super) fn remove_phone_files(
    conn: &Connection,
    macs: &[Mac],
    require: bool,
) -> Result<Vec<ProvisioningFileInfo>, StoreError> {
    let mut removed = Vec::with_capacity(macs.len());
    for mac in macs {
        let name = mac.file_name();
        match info_by_name(conn, &name)?.filter(|i| i.kind == FileKind::Phone) {
            Some(info) => {
                conn.execute("DELETE FROM provisioning_files WHERE name = ?1", [&name])?;
                removed.push(info);
            }
            None if require => {
                return Err(StoreError::NotFound {
                    kind: Item::PhoneFile,
                    name,
                });
            }
            None => {}
        }
    }
    Ok(removed)
}

pub(super) fn bump_revision(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "UPDATE provisioning_revision SET revision = revision + 1 WHERE id = 1 \
         RETURNING revision",
        [],
        |r| r.get(0),
    )?)
}

pub(super) fn insert(
    conn: &Connection,
    name: &str,
    kind: FileKind,
    mac: Option<Mac>,
    contents: &[u8],
    revision: i64,
    at: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO provisioning_files (name, kind, mac, contents, revision, modified) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    stmt.execute(params![
        name,
        kind.as_str(),
        mac.map(|m| m.to_string()),
        contents,
        revision,
        at
    ])?;
    Ok(())
}

/// A second file for one MAC is the caller's mistake, named as such; any
/// other failure stays what it is.
fn duplicate_as_invalid(e: StoreError, mac: Mac) -> StoreError {
    match e {
        StoreError::Database(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Invalid(vec![FieldProblem::with_value(
                "mac",
                mac.to_string(),
                "this MAC address appears twice; give each phone one row",
            )])
        }
        other => other,
    }
}

pub(super) fn info_by_name(
    conn: &Connection,
    name: &str,
) -> Result<Option<ProvisioningFileInfo>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {INFO_COLUMNS} FROM provisioning_files WHERE name = ?1"
    ))?;
    Ok(stmt.query_row([name], info_from_row).optional()?)
}

fn info_from_row(row: &Row<'_>) -> rusqlite::Result<ProvisioningFileInfo> {
    let kind: String = row.get(1)?;
    let kind = FileKind::from_db(&kind).ok_or_else(|| bad_column(1, "file kind", &kind))?;
    let mac = row
        .get::<_, Option<String>>(2)?
        .map(|m| Mac::parse(&m).map_err(|_| bad_column(2, "MAC", &m)))
        .transpose()?;
    let size: i64 = row.get(3)?;
    let revision: i64 = row.get(5)?;
    Ok(ProvisioningFileInfo {
        name: row.get(0)?,
        kind,
        mac,
        size: u64::try_from(size).unwrap_or(0),
        modified: row.get(4)?,
        etag: format!("\"r{revision}\""),
    })
}

/// A value the schema's checks should have kept out, reported as a
/// conversion failure rather than a panic.
pub(super) fn bad_column(index: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        rusqlite::types::Type::Text,
        format!("stored {what} {value:?} is not valid").into(),
    )
}

/// Writes a non-phone file `name` of `kind` under a new revision, records
/// the `import` action as done and the audit entry `audit` builds, and
/// commits `tx`: the end of every single-file write (the extra, global,
/// startup, model and firmware files). The caller has cleared the way.
pub(super) fn write_named_file(
    tx: rusqlite::Transaction<'_>,
    name: &str,
    kind: FileKind,
    contents: &[u8],
    by: ChangeBy<'_>,
    audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
) -> Result<ProvisioningFileInfo, StoreError> {
    let revision = bump_revision(&tx)?;
    insert(&tx, name, kind, None, contents, revision, by.at)?;
    let stored = info_by_name(&tx, name)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let result = format!(
        "wrote the {} file {name} ({} bytes)",
        kind.as_str(),
        stored.size
    );
    record_done(
        &tx,
        by,
        ActionKind::Import,
        &format!("{} file", kind.as_str()),
        &result,
    )?;
    if let Some(record) = audit(&stored) {
        audit::insert(&tx, &record)?;
    }
    tx.commit()?;
    Ok(stored)
}
