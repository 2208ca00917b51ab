//! The B2BUA's view of the store: devices with their credentials and the
//! flow that reaches their ICP.

use std::net::{IpAddr, SocketAddr};

use outpost_b2bua::{DeviceCredentials, Directory, IcpTarget};
use outpost_store::Store;
use tracing::warn;

use super::status_writer::StatusWriter;
use crate::config::Side;
use crate::transport::{Flow, TransportKind};

/// Where the iPBX is reached: resolved at start from `[ipbx]`.
#[derive(Debug, Clone, Copy)]
pub struct IpbxRoute {
    /// Its address and SIP port.
    pub addr: SocketAddr,
    /// Transport toward it.
    pub transport: TransportKind,
    /// Our private UDP socket's address, when the route is UDP.
    pub local_udp: Option<SocketAddr>,
}

/// Devices from the store, looked up on each request (so devices added
/// with the CLI or API while Outpost runs are seen at once).
pub struct StoreDirectory {
    store: Store,
    ipbx: Option<IpbxRoute>,
    /// Where statuses go when written off the core task; `None` writes
    /// them in place (tests and tools).
    status_writer: Option<StatusWriter>,
}

impl StoreDirectory {
    /// A directory over `store`, routing to `ipbx`.
    pub fn new(store: Store, ipbx: Option<IpbxRoute>) -> Self {
        Self {
            store,
            ipbx,
            status_writer: None,
        }
    }

    /// Writes device statuses through `writer` (its own thread and
    /// connection) instead of on the caller's task.
    #[must_use]
    pub fn with_status_writer(mut self, writer: StatusWriter) -> Self {
        self.status_writer = Some(writer);
        self
    }

    /// Whether `setside_username` is a configured device (for the guard's
    /// enumeration and toll-fraud checks).
    pub fn is_device(&self, setside_username: &str) -> bool {
        matches!(self.store.device(setside_username), Ok(Some(_)))
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
        };
        if let Some(writer) = &self.status_writer {
            writer.record(record);
        } else if let Err(e) = self.store.set_device_status(&record) {
            warn!(error = %e, device = %status.setside_username, "could not record the device status");
        }
    }

    /// The flow toward an ICP host: the ICP's own address when it is an IP
    /// literal (port and transport from `[ipbx]`), else the `[ipbx]` route.
    fn route_to(&self, host: &str) -> Option<Flow> {
        let route = self.ipbx?;
        let ip = host.parse::<IpAddr>().unwrap_or(route.addr.ip());
        let peer = SocketAddr::new(ip, route.addr.port());
        let local = match route.transport {
            TransportKind::Udp => route.local_udp?,
            TransportKind::Tcp | TransportKind::Tls => SocketAddr::new(ip_unspecified(ip), 0),
        };
        Some(Flow {
            side: Side::Private,
            transport: route.transport,
            local,
            peer,
            connection: None,
        })
    }
}

fn ip_unspecified(like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
    }
}

impl Directory<Flow> for StoreDirectory {
    fn device(&self, setside_username: &str) -> Option<DeviceCredentials<Flow>> {
        let device = match self.store.device(setside_username) {
            Ok(found) => found?,
            Err(e) => {
                warn!(error = %e, "device lookup failed");
                return None;
            }
        };
        let icp = match self.store.icp(&device.icp) {
            Ok(icp) => icp,
            Err(e) => {
                warn!(error = %e, icp = %device.icp, "ICP lookup failed");
                None
            }
        };
        let icp = icp.and_then(|icp| {
            let destination = self.route_to(&icp.host)?;
            Some(IcpTarget {
                name: icp.name.clone(),
                host: icp.host.clone(),
                port: Some(destination.peer.port()),
                destination,
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
