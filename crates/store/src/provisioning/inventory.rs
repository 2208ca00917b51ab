//! The inventory of remote-worker phones (PRO-8): one row per MAC that
//! downloaded a file, with what its User-Agent said and from where.

use outpost_provision::Mac;
use rusqlite::{Row, params};

use super::files::{bad_column, remove_phone_files};
use super::{ActionKind, ChangeBy, ProvisioningFileInfo, record_done};
use crate::{AuditRecord, Item, Store, StoreError, audit};

/// One download, as the configuration service saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The phone (from the file name or its User-Agent).
    pub mac: Mac,
    /// Model from the User-Agent (`6867i`), if it said.
    pub model: Option<String>,
    /// Firmware from the User-Agent (`6.3.0.1020`), if it said.
    pub firmware: Option<String>,
    /// The source address, as text.
    pub address: String,
    /// When, seconds since the Unix epoch.
    pub at: i64,
    /// The file fetched.
    pub file: String,
}

/// One phone in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryEntry {
    /// The last download (model and firmware keep the last known values).
    pub last: Download,
    /// Downloads recorded for this phone.
    pub downloads: u64,
    /// The set-side username of the device with this MAC, if one has it.
    pub user: Option<String>,
    /// That device is registered over SIP now (as `serve` last wrote).
    pub registered: bool,
    /// That device's last SIP address.
    pub sip_address: Option<String>,
}

impl Store {
    /// Records a download: adds the phone or updates its row. Model and
    /// firmware keep their previous values when this download did not say.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn record_download(&mut self, d: &Download) -> Result<(), StoreError> {
        let tx = self.write_txn()?;
        tx.execute(
            "INSERT INTO provisioning_inventory \
             (mac, model, firmware, address, last_download, file, downloads) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) \
             ON CONFLICT (mac) DO UPDATE SET \
               model = coalesce(excluded.model, model), \
               firmware = coalesce(excluded.firmware, firmware), \
               address = excluded.address, last_download = excluded.last_download, \
               file = excluded.file, downloads = downloads + 1",
            params![
                d.mac.to_string(),
                d.model,
                d.firmware,
                d.address,
                d.at,
                d.file
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The inventory, by MAC, joined with the device that has the MAC and
    /// its SIP status (PRO-8: user, registered or not, last address).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn inventory(&self) -> Result<Vec<InventoryEntry>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.mac, i.model, i.firmware, i.address, i.last_download, i.file, \
                    i.downloads, d.setside_username, coalesce(s.registered, 0), s.last_address \
             FROM provisioning_inventory i \
             LEFT JOIN devices d ON d.mac = i.mac \
             LEFT JOIN device_status s ON s.setside_username = d.setside_username \
             ORDER BY i.mac",
        )?;
        let rows = stmt.query_map([], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes these phones from the inventory, and their files with them
    /// (PRO-8), all or none, with a `delete` action and the audit entry
    /// `audit` builds.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] naming the first MAC not in the inventory
    /// (nothing is removed); [`StoreError::Database`].
    pub fn remove_inventory_audited(
        &mut self,
        macs: &[Mac],
        by: ChangeBy<'_>,
        audit: impl FnOnce(&[Mac], &[ProvisioningFileInfo]) -> Option<AuditRecord>,
    ) -> Result<Vec<Mac>, StoreError> {
        let tx = self.write_txn()?;
        for mac in macs {
            let gone = tx.execute(
                "DELETE FROM provisioning_inventory WHERE mac = ?1",
                [mac.to_string()],
            )?;
            if gone == 0 {
                return Err(StoreError::NotFound {
                    kind: Item::InventoryPhone,
                    name: mac.to_string(),
                });
            }
        }
        let files = remove_phone_files(&tx, macs, false)?;
        let result = format!(
            "removed {} phone(s) from the inventory and {} phone file(s)",
            macs.len(),
            files.len()
        );
        record_done(&tx, by, ActionKind::Delete, "inventory", &result)?;
        if let Some(record) = audit(macs, &files) {
            audit::insert(&tx, &record)?;
        }
        tx.commit()?;
        Ok(macs.to_vec())
    }
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<InventoryEntry> {
    let mac: String = row.get(0)?;
    let mac = Mac::parse(&mac).map_err(|_| bad_column(0, "MAC", &mac))?;
    let downloads: i64 = row.get(6)?;
    Ok(InventoryEntry {
        last: Download {
            mac,
            model: row.get(1)?,
            firmware: row.get(2)?,
            address: row.get(3)?,
            at: row.get(4)?,
            file: row.get(5)?,
        },
        downloads: u64::try_from(downloads).unwrap_or(0),
        user: row.get(7)?,
        registered: row.get::<_, i64>(8)? != 0,
        sip_address: row.get(9)?,
    })
}
