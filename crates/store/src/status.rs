//! Per-device runtime status (SIG-8): registered, connected, in call, last
//! address, natted. `serve` writes it as it changes; readers (the CLI, the
//! API) see the latest state. Not secret, not configuration: it is reset
//! at every start of `serve`.

use rusqlite::OptionalExtension;

use crate::{Store, StoreError};

/// The runtime status of one device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceStatusRecord {
    /// The device.
    pub setside_username: String,
    /// Registered through Outpost to its ICP.
    pub registered: bool,
    /// Its flow (connection, or UDP heartbeat) is alive.
    pub connected: bool,
    /// In a call.
    pub in_call: bool,
    /// Behind NAT (its signalled address differs from the observed one).
    pub natted: bool,
    /// The address it was last seen from (`IP:port`).
    pub last_address: Option<String>,
    /// When this was written (seconds since the Unix epoch).
    pub updated: u64,
}

impl Store {
    /// Writes a device's status. A device that no longer exists is ignored
    /// (it was deleted while registered).
    pub fn set_device_status(&mut self, status: &DeviceStatusRecord) -> Result<(), StoreError> {
        self.set_device_statuses(std::slice::from_ref(status))
    }

    /// Writes several devices' statuses in one transaction (one sync to
    /// disk for all of them). Devices that no longer exist are ignored.
    pub fn set_device_statuses(
        &mut self,
        statuses: &[DeviceStatusRecord],
    ) -> Result<(), StoreError> {
        let tx = self.write_txn()?;
        for status in statuses {
            let exists: bool = tx
                .query_row(
                    "SELECT 1 FROM devices WHERE setside_username = ?1",
                    [&status.setside_username],
                    |_| Ok(true),
                )
                .optional()?
                .unwrap_or(false);
            if !exists {
                continue;
            }
            tx.execute(
                "INSERT INTO device_status
                    (setside_username, registered, connected, in_call, natted, last_address, updated)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (setside_username) DO UPDATE SET
                    registered = excluded.registered, connected = excluded.connected,
                    in_call = excluded.in_call, natted = excluded.natted,
                    last_address = COALESCE(excluded.last_address, device_status.last_address),
                    updated = excluded.updated",
                rusqlite::params![
                    status.setside_username,
                    status.registered,
                    status.connected,
                    status.in_call,
                    status.natted,
                    status.last_address,
                    i64::try_from(status.updated).unwrap_or(i64::MAX),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The status of every device that has one.
    pub fn device_statuses(&self) -> Result<Vec<DeviceStatusRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT setside_username, registered, connected, in_call, natted, last_address, updated
             FROM device_status ORDER BY setside_username",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(DeviceStatusRecord {
                setside_username: row.get(0)?,
                registered: row.get(1)?,
                connected: row.get(2)?,
                in_call: row.get(3)?,
                natted: row.get(4)?,
                last_address: row.get(5)?,
                updated: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks every device unregistered, disconnected and idle (at start:
    /// a new process has no registrations), keeping the last address.
    pub fn reset_device_statuses(&mut self) -> Result<(), StoreError> {
        let tx = self.write_txn()?;
        tx.execute(
            "UPDATE device_status SET registered = 0, connected = 0, in_call = 0",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }
}
