//! The resources under `/mslrest/mbg/v1/` (issue 16 item 4) in the
//! vendor's shape: ICPs and teleworker SIP devices by guid, address or
//! MAC, and the global options. Changes go through the same service calls
//! as the CLI and the native API (so they are checked, live at once and
//! audited, here under the consumer's name).
//!
//! A device's `setside_password` and `icpside_password` are returned to a
//! consumer with read access to devices: the iPBX reads them to deploy
//! the phones (seed 001 §5.4: "obtain the SIP devices set-side username,
//! set-side password and ICP-side username"). This API is the one place
//! Outpost returns a password, for compatibility, and only over TLS to a
//! consumer an administrator approved.

use outpost_provision::Mac;
use outpost_store::{Device, DeviceStatusRecord, Icp, Store};
use serde::{Deserialize, Serialize};

use super::WebServices;
use crate::service::devices::{DevicePatch, NewDeviceInput};
use crate::service::tokens::{Access, Resource};
use crate::service::{Caller, Password, ServiceError};

/// An ICP as the vendor's API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MslIcp {
    /// Its guid.
    pub guid: String,
    /// Its name.
    pub name: String,
    /// Host name or IP address (the iPBX's node address).
    pub address: String,
    /// ICP type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Devices without an ICP go to it.
    pub default: bool,
}

/// A teleworker SIP device as the vendor's API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MslDevice {
    /// Its guid.
    pub guid: String,
    /// MAC address (12 upper-case hex digits) or empty.
    pub clientid: String,
    /// Free text.
    pub description: String,
    /// May register and call.
    pub enabled: bool,
    /// The guid of its ICP.
    pub icp: String,
    /// SIP username of the phone.
    pub setside_username: String,
    /// SIP password of the phone.
    pub setside_password: String,
    /// SIP username toward the ICP as entered (empty: the set side's).
    pub icpside_username: String,
    /// SIP password toward the ICP as entered (empty: the set side's).
    pub icpside_password: String,
    /// Its flow is alive.
    pub connected: bool,
    /// In a call.
    pub in_call: bool,
    /// Where it was last seen from.
    pub last_address: String,
    /// Behind NAT.
    pub natted: bool,
}

/// A device sent by a consumer (POST: `setside_username` and
/// `setside_password` required; PUT: only what is given changes). The
/// read-only fields may be sent back and are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MslDeviceInput {
    /// MAC address in any of the three forms; empty: none.
    pub clientid: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// May register and call.
    pub enabled: Option<bool>,
    /// The ICP: its guid, name or address.
    pub icp: Option<String>,
    /// SIP username of the phone.
    pub setside_username: Option<String>,
    /// SIP password of the phone.
    pub setside_password: Option<String>,
    /// SIP username toward the ICP; empty: the set side's.
    pub icpside_username: Option<String>,
    /// SIP password toward the ICP; empty: the set side's.
    pub icpside_password: Option<String>,
}

/// `globaloptions/`: the RTP port range and the streaming addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MslGlobalOptions {
    /// First RTP port (public side).
    pub rtp_port_start: u16,
    /// Last RTP port (public side).
    pub rtp_port_end: u16,
    /// The address media flows to on the phones' side.
    pub setside_streaming_address: String,
    /// The address media flows to on the iPBX's side.
    pub icpside_streaming_address: String,
}

impl WebServices {
    /// Every ICP.
    ///
    /// # Errors
    /// 403.
    pub fn msl_icps(&self, caller: &Caller) -> Result<Vec<MslIcp>, ServiceError> {
        caller.require(Resource::Icps, Access::Read)?;
        let icps = self.service.with_store(|s| Ok(s.icps()?))?;
        Ok(icps.iter().map(msl_icp).collect())
    }

    /// The ICP with this guid, address or name.
    ///
    /// # Errors
    /// 403, 404.
    pub fn msl_icp(&self, caller: &Caller, key: &str) -> Result<MslIcp, ServiceError> {
        caller.require(Resource::Icps, Access::Read)?;
        self.service
            .with_store(|s| find_icp(s, key).map(|icp| msl_icp(&icp)))
    }

    /// The devices of the ICP with this guid, address or name.
    ///
    /// # Errors
    /// 403, 404.
    pub fn msl_icp_devices(
        &self,
        caller: &Caller,
        key: &str,
    ) -> Result<Vec<MslDevice>, ServiceError> {
        caller.require(Resource::Icps, Access::Read)?;
        caller.require(Resource::Devices, Access::Read)?;
        self.service.with_store(|s| {
            let icp = find_icp(s, key)?;
            let all = all_devices(s)?;
            Ok(all.into_iter().filter(|d| d.icp == icp.guid).collect())
        })
    }

    /// Every device.
    ///
    /// # Errors
    /// 403.
    pub fn msl_devices(&self, caller: &Caller) -> Result<Vec<MslDevice>, ServiceError> {
        caller.require(Resource::Devices, Access::Read)?;
        self.service.with_store(|s| all_devices(s))
    }

    /// The device with this guid or MAC.
    ///
    /// # Errors
    /// 403, 404.
    pub fn msl_device(&self, caller: &Caller, key: &str) -> Result<MslDevice, ServiceError> {
        caller.require(Resource::Devices, Access::Read)?;
        self.service.with_store(|s| {
            let d = find_device(s, key)?;
            device_view(s, &d)
        })
    }

    /// Creates a device; returns its guid.
    ///
    /// # Errors
    /// 400 naming a missing field, 403, 404 for an unknown ICP, 409, 422.
    pub fn msl_create_device(
        &self,
        caller: &Caller,
        input: &MslDeviceInput,
    ) -> Result<String, ServiceError> {
        let required = |field: &str, value: &Option<String>| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ServiceError::BadRequest {
                    field: Some(field.to_owned()),
                    message: format!("{field} is required"),
                })
        };
        let icp = match &input.icp {
            Some(key) if !key.is_empty() => {
                Some(self.service.with_store(|s| find_icp(s, key))?.name)
            }
            _ => None,
        };
        let new = NewDeviceInput {
            setside_username: required("setside_username", &input.setside_username)?,
            setside_password: Password::new(required("setside_password", &input.setside_password)?),
            icpside_username: input.icpside_username.clone().unwrap_or_default(),
            icpside_password: input
                .icpside_password
                .clone()
                .filter(|p| !p.is_empty())
                .map(Password::new),
            icp,
            description: input.description.clone().unwrap_or_default(),
            mac: input.clientid.clone().filter(|m| !m.is_empty()),
            location: None,
            enabled: input.enabled.unwrap_or(true),
        };
        Ok(self.service.create_device(caller, &new)?.guid)
    }

    /// Changes the device with this guid or MAC.
    ///
    /// # Errors
    /// 403, 404, 422; 400 for a set-side username change (remove and add).
    pub fn msl_update_device(
        &self,
        caller: &Caller,
        key: &str,
        input: &MslDeviceInput,
    ) -> Result<MslDevice, ServiceError> {
        caller.require(Resource::Devices, Access::Write)?;
        let current = self.service.with_store(|s| find_device(s, key))?;
        if input
            .setside_username
            .as_ref()
            .is_some_and(|u| *u != current.setside_username)
        {
            return Err(ServiceError::BadRequest {
                field: Some("setside_username".to_owned()),
                message: "setside_username cannot change; delete the device and create it again"
                    .to_owned(),
            });
        }
        let icp = match &input.icp {
            Some(key) if !key.is_empty() => {
                Some(self.service.with_store(|s| find_icp(s, key))?.name)
            }
            _ => None,
        };
        let patch = DevicePatch {
            enabled: input.enabled,
            description: input.description.clone(),
            icp,
            setside_password: input
                .setside_password
                .clone()
                .filter(|p| !p.is_empty())
                .map(Password::new),
            icpside_username: input.icpside_username.clone(),
            icpside_password: input
                .icpside_password
                .clone()
                .map(|p| Some(p).filter(|p| !p.is_empty()).map(Password::new)),
            mac: input
                .clientid
                .clone()
                .map(|m| Some(m).filter(|m| !m.is_empty())),
            location: None,
        };
        self.service
            .update_device(caller, &current.setside_username, &patch)?;
        self.service.with_store(|s| {
            let d = find_device(s, &current.guid)?;
            device_view(s, &d)
        })
    }

    /// Removes the device with this guid or MAC.
    ///
    /// # Errors
    /// 403, 404.
    pub fn msl_delete_device(&self, caller: &Caller, key: &str) -> Result<(), ServiceError> {
        caller.require(Resource::Devices, Access::Write)?;
        let current = self.service.with_store(|s| find_device(s, key))?;
        self.service
            .remove_device(caller, &current.setside_username)?;
        Ok(())
    }

    /// The global options. `public`/`private` are the gateway's
    /// advertised addresses as configured (empty when chosen at start).
    ///
    /// # Errors
    /// 500 when the settings do not load.
    pub fn msl_global_options(&self) -> Result<MslGlobalOptions, ServiceError> {
        let settings = self
            .service
            .with_store(|s| self.service.current_settings(s))?;
        let config = settings.config();
        let address = |a: Option<std::net::IpAddr>| a.map(|a| a.to_string()).unwrap_or_default();
        Ok(MslGlobalOptions {
            rtp_port_start: config.public.rtp_ports.first,
            rtp_port_end: config.public.rtp_ports.last,
            setside_streaming_address: address(config.public.advertised_address()),
            icpside_streaming_address: address(config.private.advertised_address()),
        })
    }
}

fn msl_icp(icp: &Icp) -> MslIcp {
    MslIcp {
        guid: icp.guid.clone(),
        name: icp.name.clone(),
        address: icp.host.clone(),
        kind: icp.kind.clone(),
        default: icp.is_default,
    }
}

fn find_icp(store: &Store, key: &str) -> Result<Icp, ServiceError> {
    store
        .icps()?
        .into_iter()
        .find(|i| {
            i.guid.eq_ignore_ascii_case(key) || i.host.eq_ignore_ascii_case(key) || i.name == key
        })
        .ok_or_else(|| ServiceError::NotFound(format!("no ICP with guid, address or name {key:?}")))
}

fn find_device(store: &Store, key: &str) -> Result<Device, ServiceError> {
    let mac = Mac::parse(key).ok().map(|m| m.to_string());
    store
        .devices()?
        .into_iter()
        .find(|d| d.guid.eq_ignore_ascii_case(key) || (mac.is_some() && d.mac == mac))
        .ok_or_else(|| ServiceError::NotFound(format!("no SIP device with guid or MAC {key:?}")))
}

fn all_devices(store: &Store) -> Result<Vec<MslDevice>, ServiceError> {
    let icps = store.icps()?;
    let statuses = store.device_statuses()?;
    Ok(store
        .devices()?
        .iter()
        .map(|d| {
            let status = statuses
                .iter()
                .find(|s| s.setside_username == d.setside_username);
            msl_device(d, &icps, status)
        })
        .collect())
}

fn device_view(store: &Store, d: &Device) -> Result<MslDevice, ServiceError> {
    let icps = store.icps()?;
    let statuses = store.device_statuses()?;
    let status = statuses
        .iter()
        .find(|s| s.setside_username == d.setside_username);
    Ok(msl_device(d, &icps, status))
}

fn msl_device(d: &Device, icps: &[Icp], status: Option<&DeviceStatusRecord>) -> MslDevice {
    let icp = icps
        .iter()
        .find(|i| i.name == d.icp)
        .map_or_else(String::new, |i| i.guid.clone());
    let s = status.cloned().unwrap_or_default();
    MslDevice {
        guid: d.guid.clone(),
        clientid: d.mac.clone().unwrap_or_default(),
        description: d.description.clone(),
        enabled: d.enabled,
        icp,
        setside_username: d.setside_username.clone(),
        setside_password: d.setside_password.expose().to_owned(),
        icpside_username: d.icpside_username.clone(),
        icpside_password: d
            .icpside_password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default(),
        connected: s.connected,
        in_call: s.in_call,
        last_address: s.last_address.unwrap_or_default(),
        natted: s.natted,
    }
}
