//! The B2BUA's view of devices and ICPs (issue 12 item 2): an in-memory
//! copy of the store, loaded at start and replaced whenever the store's
//! directory revision moves (any device or ICP change, by the CLI, the API
//! or an import: see [`watch`]), so no request waits for the disk; and the
//! route to each ICP (see [`routes`]). Device statuses go to the store
//! through the status writer's thread.

pub mod dns;
pub mod routes;

use std::collections::HashMap;
use std::time::Duration;

use outpost_b2bua::{DeviceCredentials, Directory, IcpTarget};
use outpost_store::{Device, Icp, Store, StoreError};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::status_writer::StatusWriter;
use crate::transport::Flow;
#[cfg(test)]
use crate::transport::TransportKind;
use routes::IcpRoutes;

/// How often the store's directory revision is checked for changes made
/// by other processes (the CLI) or tasks (the API).
pub const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// Devices and ICPs as the store held them at one revision.
#[derive(Debug, Clone, Default)]
pub struct DirectorySnapshot {
    /// The store's directory revision this was read at.
    pub revision: i64,
    devices: HashMap<String, Device>,
    icps: HashMap<String, Icp>,
}

impl DirectorySnapshot {
    /// Reads every device and ICP (one read transaction's worth of rows).
    ///
    /// # Errors
    /// The store's.
    pub fn load(store: &Store) -> Result<Self, StoreError> {
        let revision = store.directory_revision()?;
        let devices = store
            .devices()?
            .into_iter()
            .map(|d| (d.setside_username.clone(), d))
            .collect();
        let icps = store
            .icps()?
            .into_iter()
            .map(|i| (i.name.clone(), i))
            .collect();
        Ok(Self {
            revision,
            devices,
            icps,
        })
    }

    /// Devices whose record differs between `self` and `newer` (added,
    /// changed, removed, or moved to an ICP that changed).
    pub fn changed_devices(&self, newer: &Self) -> Vec<String> {
        let icp_changed = |name: &str| self.icps.get(name) != newer.icps.get(name);
        let mut changed: Vec<String> = newer
            .devices
            .iter()
            .filter(|(user, d)| {
                !self
                    .devices
                    .get(*user)
                    .is_some_and(|old| same_for_signalling(old, d))
                    || icp_changed(&d.icp)
            })
            .map(|(user, _)| user.clone())
            .collect();
        changed.extend(
            self.devices
                .keys()
                .filter(|u| !newer.devices.contains_key(*u))
                .cloned(),
        );
        changed.sort();
        changed
    }

    /// The ICPs.
    pub fn icps(&self) -> impl Iterator<Item = &Icp> {
        self.icps.values()
    }
}

/// Whether two records of a device mean the same to the B2BUA (what it
/// registers and authenticates with, and where).
fn same_for_signalling(a: &Device, b: &Device) -> bool {
    a.enabled == b.enabled
        && a.icp == b.icp
        && a.effective_icpside_username() == b.effective_icpside_username()
        && a.setside_password.expose() == b.setside_password.expose()
        && a.effective_icpside_password().expose() == b.effective_icpside_password().expose()
}

/// Devices and routes in memory, for the SIP core.
pub struct MemoryDirectory {
    snapshot: DirectorySnapshot,
    routes: IcpRoutes,
    /// Where statuses go, written off the core task; `None` drops them
    /// (tests of the routing alone).
    status_writer: Option<StatusWriter>,
}

impl MemoryDirectory {
    /// A directory over `snapshot`, reaching ICPs through `routes`.
    pub fn new(snapshot: DirectorySnapshot, routes: IcpRoutes) -> Self {
        let mut directory = Self {
            snapshot: DirectorySnapshot::default(),
            routes,
            status_writer: None,
        };
        directory.replace(snapshot);
        directory
    }

    /// Writes device statuses through `writer` (its own thread and
    /// connection).
    #[must_use]
    pub fn with_status_writer(mut self, writer: StatusWriter) -> Self {
        self.status_writer = Some(writer);
        self
    }

    /// Takes a newer snapshot; returns the devices that changed, for the
    /// B2BUA to re-read (a disabled or deleted device is unregistered).
    pub fn replace(&mut self, snapshot: DirectorySnapshot) -> Vec<String> {
        let changed = self.snapshot.changed_devices(&snapshot);
        self.routes.update_icps(snapshot.icps());
        info!(
            revision = snapshot.revision,
            devices = snapshot.devices.len(),
            icps = snapshot.icps.len(),
            changed = changed.len(),
            "device directory loaded"
        );
        self.snapshot = snapshot;
        changed
    }

    /// The store revision held.
    pub fn revision(&self) -> i64 {
        self.snapshot.revision
    }

    /// The routes to ICPs, to apply resolutions and failures.
    pub fn routes_mut(&mut self) -> &mut IcpRoutes {
        &mut self.routes
    }

    /// Whether `setside_username` is a configured device (for the guard's
    /// enumeration and toll-fraud checks).
    pub fn is_device(&self, setside_username: &str) -> bool {
        self.snapshot.devices.contains_key(setside_username)
    }

    /// Writes a device's runtime status to the store (SIG-8), where
    /// `outpost devices list` and the API read it.
    pub fn record_status(&mut self, status: &outpost_b2bua::DeviceStatus, unix_secs: u64) {
        let record = outpost_store::DeviceStatusRecord {
            setside_username: status.setside_username.clone(),
            registered: status.registered,
            connected: status.connected,
            in_call: status.in_call,
            natted: status.natted,
            last_address: status.last_address.map(|a| a.to_string()),
            updated: unix_secs,
            bindings: status.bindings.iter().map(binding_record).collect(),
        };
        if let Some(writer) = &self.status_writer {
            writer.record(record);
        }
    }
}

/// One client's status as stored.
fn binding_record(b: &outpost_b2bua::BindingStatus) -> outpost_store::BindingStatusRecord {
    outpost_store::BindingStatusRecord {
        binding: b.binding,
        contact: b.contact.clone(),
        transport: b.transport.via_name().to_ascii_lowercase(),
        user_agent: b.user_agent.clone(),
        registered: b.registered,
        connected: b.connected,
        in_call: b.in_call,
        natted: b.natted,
        last_address: b.last_address.to_string(),
        expires: b.expires_unix,
    }
}

impl Directory<Flow> for MemoryDirectory {
    fn device(&self, setside_username: &str) -> Option<DeviceCredentials<Flow>> {
        let device = self.snapshot.devices.get(setside_username)?;
        let icp = self.snapshot.icps.get(&device.icp).and_then(|icp| {
            let target = self.routes.current(&icp.name)?;
            Some(IcpTarget {
                name: icp.name.clone(),
                host: icp.host.clone(),
                port: self.routes.uri_port(&icp.name),
                destination: target.destination,
            })
        });
        Some(DeviceCredentials {
            enabled: device.enabled,
            setside_username: device.setside_username.clone(),
            setside_password: device.setside_password.expose().to_owned(),
            icpside_username: device.effective_icpside_username().to_owned(),
            icpside_password: device.effective_icpside_password().expose().to_owned(),
            icp,
        })
    }
}

/// Polls the store's directory revision every [`RELOAD_EVERY`] and sends
/// a fresh snapshot to the core when it moved. Reads run on a blocking
/// thread, never on the core's task.
pub async fn watch(
    store: Store,
    mut revision: i64,
    snapshots: mpsc::Sender<DirectorySnapshot>,
    mut shutdown: watch::Receiver<bool>,
) {
    let store = std::sync::Arc::new(std::sync::Mutex::new(store));
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(RELOAD_EVERY) => {}
        }
        let reader = std::sync::Arc::clone(&store);
        let loaded = tokio::task::spawn_blocking(move || {
            let store = reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match store.directory_revision() {
                Ok(current) if current == revision => Ok(None),
                Ok(_) => DirectorySnapshot::load(&store).map(Some),
                Err(e) => Err(e),
            }
        })
        .await;
        match loaded {
            Ok(Ok(Some(snapshot))) => {
                debug!(
                    from = revision,
                    to = snapshot.revision,
                    "directory changed in the store"
                );
                revision = snapshot.revision;
                if snapshots.send(snapshot).await.is_err() {
                    return;
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                warn!(error = %e, "could not read the device directory; keeping the loaded one")
            }
            Err(e) => warn!(error = %e, "device directory reader failed"),
        }
    }
}

#[cfg(test)]
mod tests;
