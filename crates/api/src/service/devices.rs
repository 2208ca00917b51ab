//! Teleworker SIP devices (SPEC PRO-2): show, create, change field by
//! field and remove, with the live registration status, for the REST API
//! (`/api/v1/devices`) and `outpost devices` alike. Listing with filters,
//! sorting and pages is in [`super::device_list`], the CSV import in
//! [`super::device_import`].
//!
//! Passwords go in and never come out: a view says only whether one is
//! set (`{"set": true}`), audit entries hold the same views, and logs name
//! the fields changed, never their values. Each change and its audit entry
//! (`device.create`, `device.update`, `device.delete`) are written in one
//! transaction. A running `outpost serve` uses a change from the device's
//! next request on.
//!
//! Each operation exists as a function over a borrowed [`Store`] (the CLI
//! holds its own connection) and as a [`Service`] method (the REST API).

use outpost_store::{
    BindingStatusRecord, Device, DeviceStatusRecord, DeviceUpdate, NewDevice, Secret, Store,
};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::input::{nullable, store_error};
use super::password::Password;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};

/// Whether a secret is set; its value is never shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SecretState {
    /// True when a value is stored.
    pub set: bool,
}

/// One client registered as a device (a desk phone and a softphone on one
/// account are two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BindingView {
    /// The B2BUA's number for the binding.
    pub binding: u64,
    /// The client's Contact URI.
    pub contact: String,
    /// `udp`, `tcp` or `tls`.
    pub transport: String,
    /// Its User-Agent, if it sent one.
    pub user_agent: Option<String>,
    /// Registered toward the ICP.
    pub registered: bool,
    /// Its flow is alive.
    pub connected: bool,
    /// In a call.
    pub in_call: bool,
    /// Behind NAT.
    pub natted: bool,
    /// Where it was last seen from (`IP:port`).
    pub last_address: String,
    /// When its registration expires unless refreshed, Unix seconds.
    pub expires: u64,
}

impl From<&BindingStatusRecord> for BindingView {
    fn from(b: &BindingStatusRecord) -> Self {
        Self {
            binding: b.binding,
            contact: b.contact.clone(),
            transport: b.transport.clone(),
            user_agent: b.user_agent.clone(),
            registered: b.registered,
            connected: b.connected,
            in_call: b.in_call,
            natted: b.natted,
            last_address: b.last_address.clone(),
            expires: b.expires,
        }
    }
}

/// A device's live status, as the running gateway last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviceStatusView {
    /// One word: `in-call`, `registered`, `connected` or `off`.
    pub state: String,
    /// Registered through Outpost to its ICP.
    pub registered: bool,
    /// Its flow (connection or UDP heartbeat) is alive.
    pub connected: bool,
    /// In a call.
    pub in_call: bool,
    /// Behind NAT.
    pub natted: bool,
    /// The address it was last seen from (`IP:port`).
    pub last_address: Option<String>,
    /// When the status was written, Unix seconds; absent if never.
    pub updated: Option<u64>,
    /// Each client registered as the device.
    pub bindings: Vec<BindingView>,
}

impl DeviceStatusView {
    /// The status of a device from its record (`None`: never seen).
    pub fn from_record(record: Option<&DeviceStatusRecord>) -> Self {
        let r = record.cloned().unwrap_or_default();
        Self {
            state: state_word(&r).to_owned(),
            registered: r.registered,
            connected: r.connected,
            in_call: r.in_call,
            natted: r.natted,
            last_address: r.last_address.clone(),
            updated: record.map(|r| r.updated),
            bindings: r.bindings.iter().map(BindingView::from).collect(),
        }
    }
}

/// `in-call` > `registered` > `connected` > `off`.
pub(crate) fn state_word(s: &DeviceStatusRecord) -> &'static str {
    if s.in_call {
        "in-call"
    } else if s.registered {
        "registered"
    } else if s.connected {
        "connected"
    } else {
        "off"
    }
}

/// A device as shown: never its passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviceView {
    /// SIP username the phone registers with (the device's name).
    pub setside_username: String,
    /// Random 32-hex-digit identifier (the vendor API's `guid`).
    pub guid: String,
    /// Whether it may register and call.
    pub enabled: bool,
    /// Free text.
    pub description: String,
    /// The ICP it is attached to.
    pub icp: String,
    /// SIP username toward the ICP as entered; empty: the set-side one.
    pub icpside_username: String,
    /// The username actually used toward the ICP.
    pub effective_icpside_username: String,
    /// The set-side password (always set; never shown).
    pub setside_password: SecretState,
    /// The ICP-side password; not set: the set-side one is used.
    pub icpside_password: SecretState,
    /// MAC address, 12 upper-case hex digits.
    pub mac: Option<String>,
    /// Location (emergency-call group).
    pub location: Option<String>,
    /// Live status; absent in audit entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<DeviceStatusView>,
}

impl DeviceView {
    /// The view of `d` with its status (`None`: without one).
    pub fn new(d: &Device, status: Option<DeviceStatusView>) -> Self {
        Self {
            setside_username: d.setside_username.clone(),
            guid: d.guid.clone(),
            enabled: d.enabled,
            description: d.description.clone(),
            icp: d.icp.clone(),
            icpside_username: d.icpside_username.clone(),
            effective_icpside_username: d.effective_icpside_username().to_owned(),
            setside_password: SecretState {
                set: !d.setside_password.is_blank(),
            },
            icpside_password: SecretState {
                set: d.icpside_password.as_ref().is_some_and(|p| !p.is_blank()),
            },
            mac: d.mac.clone(),
            location: d.location.clone(),
            status,
        }
    }

    /// The view recorded in the audit log: configuration only.
    pub(crate) fn audited(d: &Device) -> Self {
        Self::new(d, None)
    }
}

/// `POST /api/v1/devices`: a new device.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceInput {
    /// SIP username the phone registers with: letters, digits and
    /// `-_.!~*'()&=+$,;?/`, at most 64 characters; unique.
    pub setside_username: String,
    /// SIP password the phone registers with. Never shown again.
    #[schema(value_type = String, format = Password)]
    pub setside_password: Password,
    /// SIP username toward the ICP; empty or absent: the set-side one.
    #[serde(default)]
    pub icpside_username: String,
    /// SIP password toward the ICP; absent: the set-side one.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub icpside_password: Option<Password>,
    /// ICP name; absent: the default ICP.
    #[serde(default)]
    pub icp: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// MAC address: `00-08-5d-84-20-61`, `00:08:5D:84:20:61` or
    /// `00085d842061`; unique.
    #[serde(default)]
    pub mac: Option<String>,
    /// Location (emergency-call group).
    #[serde(default)]
    pub location: Option<String>,
    /// Whether it may register and call; default true.
    #[serde(default = "enabled")]
    #[schema(default = true)]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

impl NewDeviceInput {
    fn to_store(&self) -> NewDevice {
        NewDevice {
            enabled: self.enabled,
            description: self.description.clone(),
            icp: self.icp.clone(),
            setside_username: self.setside_username.clone(),
            setside_password: secret(&self.setside_password),
            icpside_username: self.icpside_username.clone(),
            icpside_password: self.icpside_password.as_ref().map(secret),
            mac: self.mac.clone(),
            location: self.location.clone(),
        }
    }
}

/// `PATCH /api/v1/devices/{username}`: only the fields given change. The
/// set-side username cannot change (remove and add the device).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// Enable or disable the device.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Move the device to this ICP.
    #[serde(default)]
    pub icp: Option<String>,
    /// New set-side password (not empty).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub setside_password: Option<Password>,
    /// New ICP-side username; `""`: the set-side one.
    #[serde(default)]
    pub icpside_username: Option<String>,
    /// New ICP-side password; `null` or `""`: the set-side one again.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Password)]
    pub icpside_password: Option<Option<Password>>,
    /// New MAC address; `null`: none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub mac: Option<Option<String>>,
    /// New location; `null`: none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
}

impl DevicePatch {
    fn is_empty(&self) -> bool {
        self.to_store().is_empty()
    }

    fn to_store(&self) -> DeviceUpdate {
        DeviceUpdate {
            enabled: self.enabled,
            description: self.description.clone(),
            icp: self.icp.clone(),
            setside_password: self.setside_password.as_ref().map(secret),
            icpside_username: self.icpside_username.clone(),
            icpside_password: self
                .icpside_password
                .as_ref()
                .map(|p| p.as_ref().map(secret).unwrap_or_default()),
            mac: self.mac.clone(),
            location: self.location.clone(),
        }
    }
}

/// The outcome of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviceChanged {
    /// The device after the change.
    pub device: DeviceView,
    /// The fields whose value changed (passwords named, never shown);
    /// empty when the values given were the current ones (nothing was
    /// written or audited).
    pub changed: Vec<String>,
}

fn secret(p: &Password) -> Secret {
    Secret::new(p.expose().to_owned())
}

/// The live status of the device named `username` (`None`: never seen).
fn status_of(store: &Store, username: &str) -> Result<Option<DeviceStatusRecord>, ServiceError> {
    Ok(store
        .device_statuses()
        .map_err(store_error)?
        .into_iter()
        .find(|s| s.setside_username == username))
}

/// The device named `username`, with its live status.
///
/// # Errors
/// 403 without read access to `devices`; 404.
pub fn show(store: &Store, caller: &Caller, username: &str) -> Result<DeviceView, ServiceError> {
    caller.require(Resource::Devices, Access::Read)?;
    let device = store
        .device(username)
        .map_err(store_error)?
        .ok_or_else(|| not_found(username))?;
    let status = status_of(store, username)?;
    Ok(DeviceView::new(
        &device,
        Some(DeviceStatusView::from_record(status.as_ref())),
    ))
}

/// Adds a device.
///
/// # Errors
/// 403 without write access to `devices`; 422 naming the first bad field
/// (the message lists every problem).
pub fn create(
    store: &mut Store,
    caller: &Caller,
    input: &NewDeviceInput,
) -> Result<DeviceView, ServiceError> {
    caller.require(Resource::Devices, Access::Write)?;
    let stored = store
        .add_device_audited(&input.to_store(), |d| {
            let view = DeviceView::audited(d);
            Some(caller.audit("device.create", &d.setside_username, NOTHING, Some(&view)))
        })
        .map_err(store_error)?;
    info!(username = %stored.setside_username, "device added");
    Ok(DeviceView::new(
        &stored,
        Some(DeviceStatusView::from_record(None)),
    ))
}

/// Changes the fields `patch` gives of the device named `username`.
///
/// # Errors
/// 403 without write access to `devices`; 400 for an empty change; 404;
/// 422 naming the first bad field.
pub fn update(
    store: &mut Store,
    caller: &Caller,
    username: &str,
    patch: &DevicePatch,
) -> Result<DeviceChanged, ServiceError> {
    caller.require(Resource::Devices, Access::Write)?;
    if patch.is_empty() {
        return Err(ServiceError::BadRequest {
            field: None,
            message: "nothing to change; give at least one of enabled, description, icp, \
                      setside_password, icpside_username, icpside_password, mac, location"
                .to_owned(),
        });
    }
    let updated = store
        .update_device_audited(username, &patch.to_store(), |before, updated| {
            (!updated.changed.is_empty()).then(|| {
                caller.audit(
                    "device.update",
                    &before.setside_username,
                    Some(&DeviceView::audited(before)),
                    Some(&DeviceView::audited(&updated.device)),
                )
            })
        })
        .map_err(store_error)?;
    if updated.changed.is_empty() {
        info!(%username, "device unchanged (the values given are the current ones)");
    } else {
        info!(%username, changed = %updated.changed.join(","), "device updated");
    }
    let status = status_of(store, username)?;
    Ok(DeviceChanged {
        device: DeviceView::new(
            &updated.device,
            Some(DeviceStatusView::from_record(status.as_ref())),
        ),
        changed: updated.changed.iter().map(|f| (*f).to_owned()).collect(),
    })
}

/// Removes the device named `username`; returns it as it was.
///
/// # Errors
/// 403 without write access to `devices`; 404.
pub fn remove(
    store: &mut Store,
    caller: &Caller,
    username: &str,
) -> Result<DeviceView, ServiceError> {
    caller.require(Resource::Devices, Access::Write)?;
    let removed = store
        .remove_device_audited(username, |d| {
            let view = DeviceView::audited(d);
            Some(caller.audit("device.delete", &d.setside_username, Some(&view), NOTHING))
        })
        .map_err(store_error)?;
    info!(%username, "device removed");
    Ok(DeviceView::audited(&removed))
}

fn not_found(username: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no device with set-side username {username:?}; list them with GET /api/v1/devices \
         or `outpost devices list`"
    ))
}

impl Service {
    /// [`show`] over the service's store.
    ///
    /// # Errors
    /// As [`show`].
    pub fn device(&self, caller: &Caller, username: &str) -> Result<DeviceView, ServiceError> {
        self.with_store(|s| show(s, caller, username))
    }

    /// [`create`] over the service's store.
    ///
    /// # Errors
    /// As [`create`].
    pub fn create_device(
        &self,
        caller: &Caller,
        input: &NewDeviceInput,
    ) -> Result<DeviceView, ServiceError> {
        self.with_store(|s| create(s, caller, input))
    }

    /// [`update`] over the service's store.
    ///
    /// # Errors
    /// As [`update`].
    pub fn update_device(
        &self,
        caller: &Caller,
        username: &str,
        patch: &DevicePatch,
    ) -> Result<DeviceChanged, ServiceError> {
        self.with_store(|s| update(s, caller, username, patch))
    }

    /// [`remove`] over the service's store.
    ///
    /// # Errors
    /// As [`remove`].
    pub fn remove_device(
        &self,
        caller: &Caller,
        username: &str,
    ) -> Result<DeviceView, ServiceError> {
        self.with_store(|s| remove(s, caller, username))
    }
}
