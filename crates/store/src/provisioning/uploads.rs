//! Uploaded phone files next to the generated ones (issue 15 item 2):
//! `startup.cfg`, per-model `<model>.cfg` files and firmware images, put
//! and removed by name with their PRO-9 action and audit entry in one
//! transaction; and the look-ups the configuration service needs to serve
//! a file without reading its contents first, and to know a MAC (a device,
//! an imported file or an inventory entry) for redirection.
//!
//! The caller checks the name's form (`outpost_provision::UploadName`);
//! this refuses a name that a file of another kind already has.

use outpost_provision::Mac;
use rusqlite::OptionalExtension;

use super::files::{info_by_name, write_named_file};
use super::{ActionKind, ChangeBy, FileKind, ProvisioningFileInfo, record_done};
use crate::{AuditRecord, FieldProblem, Item, Store, StoreError, audit};

impl Store {
    /// A stored file's name, kind, size, time and ETag, without reading
    /// its contents.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn provisioning_file_info(
        &self,
        name: &str,
    ) -> Result<Option<ProvisioningFileInfo>, StoreError> {
        info_by_name(&self.conn, name)
    }

    /// Writes an uploaded file of `kind` (startup, model or firmware)
    /// under `name`, replacing a file of the same kind and name (for
    /// startup: the one startup file), with an `import` action and the
    /// audit entry `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] on `kind` for a kind that is not uploaded
    /// this way, on `name` when a file of another kind has the name, or a
    /// refused audit entry; [`StoreError::Database`].
    pub fn put_uploaded_file_audited(
        &mut self,
        kind: FileKind,
        name: &str,
        contents: &[u8],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
    ) -> Result<ProvisioningFileInfo, StoreError> {
        if !matches!(
            kind,
            FileKind::Startup | FileKind::Model | FileKind::Firmware
        ) {
            return Err(StoreError::Invalid(vec![FieldProblem::with_value(
                "kind",
                kind.as_str(),
                "upload startup, model or firmware files this way; phone, global and extra \
                 files have their own imports",
            )]));
        }
        let tx = self.write_txn()?;
        if kind == FileKind::Startup {
            tx.execute("DELETE FROM provisioning_files WHERE kind = 'startup'", [])?;
        }
        match info_by_name(&tx, name)? {
            Some(other) if other.kind != kind => {
                return Err(StoreError::Invalid(vec![FieldProblem::with_value(
                    "name",
                    name,
                    format!(
                        "a {} file has this name; remove it first or choose another name",
                        other.kind.as_str()
                    ),
                )]));
            }
            Some(_) => {
                tx.execute("DELETE FROM provisioning_files WHERE name = ?1", [name])?;
            }
            None => {}
        }
        write_named_file(tx, name, kind, contents, by, audit)
    }

    /// Removes the uploaded or imported file `name` (startup, model,
    /// firmware, extra or global; phone files go with
    /// [`Store::remove_phone_files_audited`]), with a `delete` action and
    /// the audit entry `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no such file exists or it is a phone
    /// file; [`StoreError::Database`].
    pub fn remove_uploaded_file_audited(
        &mut self,
        name: &str,
        by: ChangeBy<'_>,
        audit: impl FnOnce(&ProvisioningFileInfo) -> Option<AuditRecord>,
    ) -> Result<ProvisioningFileInfo, StoreError> {
        let tx = self.write_txn()?;
        let Some(info) = info_by_name(&tx, name)?.filter(|i| i.kind != FileKind::Phone) else {
            return Err(StoreError::NotFound {
                kind: Item::ProvisioningFile,
                name: name.to_owned(),
            });
        };
        tx.execute("DELETE FROM provisioning_files WHERE name = ?1", [name])?;
        let result = format!("removed the {} file {name}", info.kind.as_str());
        record_done(
            &tx,
            by,
            ActionKind::Delete,
            &format!("{} file", info.kind.as_str()),
            &result,
        )?;
        if let Some(record) = audit(&info) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(info)
    }

    /// Whether Outpost knows this phone: a device has its MAC, it has an
    /// imported file, or it is in the inventory (the redirection service
    /// answers only for these, PRO-10).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn knows_phone(&self, mac: Mac) -> Result<bool, StoreError> {
        let text = mac.to_string();
        let found: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT 1 WHERE EXISTS (SELECT 1 FROM devices WHERE mac = ?1) \
                 OR EXISTS (SELECT 1 FROM provisioning_files WHERE mac = ?1) \
                 OR EXISTS (SELECT 1 FROM provisioning_inventory WHERE mac = ?1)",
            )?
            .query_row([&text], |r| r.get(0))
            .optional()?;
        Ok(found.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by() -> ChangeBy<'static> {
        ChangeBy {
            at: 5,
            operator: "cli:test",
            action: None,
        }
    }

    #[test]
    fn uploads_replace_their_own_kind_and_refuse_others_names() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db")).unwrap();
        let a = store
            .put_uploaded_file_audited(FileKind::Model, "6867i.cfg", b"a", by(), |_| None)
            .unwrap();
        let b = store
            .put_uploaded_file_audited(FileKind::Model, "6867i.cfg", b"bb", by(), |_| None)
            .unwrap();
        assert_ne!(a.etag, b.etag);
        assert_eq!(b.size, 2);
        let e = store
            .put_uploaded_file_audited(FileKind::Firmware, "6867i.cfg", b"x", by(), |_| None)
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        store
            .put_uploaded_file_audited(FileKind::Startup, "startup.cfg", b"s", by(), |_| None)
            .unwrap();
        assert!(
            store
                .put_uploaded_file_audited(FileKind::Phone, "x.cfg", b"s", by(), |_| None)
                .is_err()
        );
        let removed = store
            .remove_uploaded_file_audited("6867i.cfg", by(), |_| None)
            .unwrap();
        assert_eq!(removed.kind, FileKind::Model);
        assert!(store.provisioning_file_info("6867i.cfg").unwrap().is_none());
        assert!(matches!(
            store.remove_uploaded_file_audited("6867i.cfg", by(), |_| None),
            Err(StoreError::NotFound { .. })
        ));
        let mac = Mac::parse("00085D237429").unwrap();
        assert!(!store.knows_phone(mac).unwrap());
        store
            .replace_phone_files_audited(&[(mac, b"x".to_vec())], by(), |_| None)
            .unwrap();
        assert!(store.knows_phone(mac).unwrap());
    }
}
