//! Per-device runtime status (SIG-8): registered, connected, in call, last
//! address, natted, for the device and for each client registered as it
//! (its bindings: a desk phone and a softphone on one account). `serve`
//! writes it as it changes; readers (the CLI, the API) see the latest
//! state. Not secret, not configuration: it is reset at every start of
//! `serve`.

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
    /// Each client registered as the device, by binding number. Writing a
    /// status replaces the device's bindings with these.
    pub bindings: Vec<BindingStatusRecord>,
}

/// The runtime status of one client of a device (one binding).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindingStatusRecord {
    /// The B2BUA's number for the binding, unique among the device's while
    /// `serve` runs (not the binding's secret token).
    pub binding: u64,
    /// The client's Contact URI.
    pub contact: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Its User-Agent, if it sent one.
    pub user_agent: Option<String>,
    /// Its registration toward the ICP is in place.
    pub registered: bool,
    /// Its flow (connection, or UDP heartbeat) is alive.
    pub connected: bool,
    /// In a call.
    pub in_call: bool,
    /// Behind NAT.
    pub natted: bool,
    /// The address it was last seen from (`IP:port`).
    pub last_address: String,
    /// When its registration expires unless refreshed (seconds since the
    /// Unix epoch).
    pub expires: u64,
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
            // The bindings that ended are the ones not listed any more.
            tx.execute(
                "DELETE FROM binding_status WHERE setside_username = ?1",
                [&status.setside_username],
            )?;
            for b in &status.bindings {
                tx.execute(
                    "INSERT INTO binding_status
                        (setside_username, binding, contact, transport, user_agent, registered,
                         connected, in_call, natted, last_address, expires)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    rusqlite::params![
                        status.setside_username,
                        i64::try_from(b.binding).unwrap_or(i64::MAX),
                        b.contact,
                        b.transport,
                        b.user_agent,
                        b.registered,
                        b.connected,
                        b.in_call,
                        b.natted,
                        b.last_address,
                        i64::try_from(b.expires).unwrap_or(i64::MAX),
                    ],
                )?;
            }
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
                bindings: Vec::new(),
            })
        })?;
        let mut statuses: Vec<DeviceStatusRecord> = rows.collect::<Result<_, _>>()?;
        let mut bindings = self.binding_statuses()?.into_iter().peekable();
        // Both lists are sorted by device.
        for status in &mut statuses {
            while let Some((user, _)) = bindings.peek() {
                match user.as_str().cmp(status.setside_username.as_str()) {
                    std::cmp::Ordering::Less => {
                        bindings.next();
                    }
                    std::cmp::Ordering::Equal => {
                        if let Some((_, b)) = bindings.next() {
                            status.bindings.push(b);
                        }
                    }
                    std::cmp::Ordering::Greater => break,
                }
            }
        }
        Ok(statuses)
    }

    /// Every binding status with its device, by device then binding.
    fn binding_statuses(&self) -> Result<Vec<(String, BindingStatusRecord)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT setside_username, binding, contact, transport, user_agent, registered,
                    connected, in_call, natted, last_address, expires
             FROM binding_status ORDER BY setside_username, binding",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                BindingStatusRecord {
                    binding: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    contact: row.get(2)?,
                    transport: row.get(3)?,
                    user_agent: row.get(4)?,
                    registered: row.get(5)?,
                    connected: row.get(6)?,
                    in_call: row.get(7)?,
                    natted: row.get(8)?,
                    last_address: row.get(9)?,
                    expires: u64::try_from(row.get::<_, i64>(10)?).unwrap_or(0),
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks every device unregistered, disconnected and idle and forgets
    /// its bindings (at start: a new process has no registrations),
    /// keeping the last address.
    pub fn reset_device_statuses(&mut self) -> Result<(), StoreError> {
        let tx = self.write_txn()?;
        tx.execute(
            "UPDATE device_status SET registered = 0, connected = 0, in_call = 0",
            [],
        )?;
        tx.execute("DELETE FROM binding_status", [])?;
        tx.commit()?;
        Ok(())
    }
}
