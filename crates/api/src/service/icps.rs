//! ICPs (SPEC PRO-1), the iPBX call servers devices are attached to: list,
//! show, create, change, remove and test, for the REST API
//! (`/api/v1/icps`) and `outpost icps` alike.
//!
//! Every change is checked by the store with the rules of a new ICP and
//! written with its audit entry (`icp.create`, `icp.update`, `icp.delete`,
//! with the ICP before and after) in one transaction. An ICP holds no
//! secret. The connectivity test needs the gateway's configuration and
//! network, which this crate does not have: [`Service::test_icp`] asks the
//! running gateway ([`super::gateway::Gateway::test_icp`]); `outpost icps
//! test` runs the same test in its own process. A test changes nothing and
//! is not audited.
//!
//! Each operation exists as a function over a borrowed [`Store`] (the CLI
//! holds its own connection) and as a [`Service`] method (the REST API).

use std::time::Duration;

use outpost_store::{Icp, IcpUpdate, NewIcp, Store};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::gateway::GatewayError;
use super::input::{nullable, store_error};
use super::sip::gateway_error;
use super::{Access, Caller, NOTHING, Resource, Service, ServiceError};

/// An ICP as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IcpView {
    /// Unique name; devices refer to it.
    pub name: String,
    /// Random 32-hex-digit identifier (the vendor API's `guid`).
    pub guid: String,
    /// Host name or IP address.
    pub host: String,
    /// ICP type, e.g. `generic` or `mivoice-5000`.
    pub kind: String,
    /// The ICP accepts SIP over UDP.
    pub sip_udp: bool,
    /// The ICP accepts SIP over TCP.
    pub sip_tcp: bool,
    /// The ICP accepts SIP over TLS.
    pub sip_tls: bool,
    /// Devices added without an ICP go to this one (at most one is).
    pub is_default: bool,
    /// XML (TLS) port Outpost listens on, public side.
    pub xml_listen_port: u16,
    /// XML (TLS) port on the iPBX: 4443 or 4445.
    pub xml_destination_port: u16,
    /// SIP port on the ICP; absent: DNS SRV for a host name, else the
    /// transport's default (5060, 5061 for TLS).
    pub sip_port: Option<u16>,
    /// PEM file of the CA(s) the ICP's certificate is checked with.
    pub ca_file: Option<String>,
}

impl From<&Icp> for IcpView {
    fn from(icp: &Icp) -> Self {
        Self {
            name: icp.name.clone(),
            guid: icp.guid.clone(),
            host: icp.host.clone(),
            kind: icp.kind.clone(),
            sip_udp: icp.sip_udp,
            sip_tcp: icp.sip_tcp,
            sip_tls: icp.sip_tls,
            is_default: icp.is_default,
            xml_listen_port: icp.xml_listen_port,
            xml_destination_port: icp.xml_destination_port,
            sip_port: icp.sip_port,
            ca_file: icp.ca_file.clone(),
        }
    }
}

/// `POST /api/v1/icps`: a new ICP. Absent fields take the defaults shown.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIcpInput {
    /// Unique name, at most 64 characters.
    pub name: String,
    /// Host name or IP address (IPv6 with or without brackets).
    pub host: String,
    /// ICP type: letters, digits, `-`, `_`, `.`.
    #[serde(default = "generic")]
    #[schema(default = "generic")]
    pub kind: String,
    /// SIP over UDP.
    #[serde(default)]
    pub sip_udp: bool,
    /// SIP over TCP.
    #[serde(default)]
    pub sip_tcp: bool,
    /// SIP over TLS.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub sip_tls: bool,
    /// Make it the default ICP (the first ICP always is).
    #[serde(default)]
    pub is_default: bool,
    /// XML listen port, public side.
    #[serde(default = "xml_listen_port")]
    #[schema(default = 4445, minimum = 1)]
    pub xml_listen_port: u16,
    /// XML destination port on the iPBX: 4443 or 4445.
    #[serde(default = "xml_destination_port")]
    #[schema(default = 4443)]
    pub xml_destination_port: u16,
    /// SIP port on the ICP, 1 to 65535.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub sip_port: Option<u16>,
    /// Absolute path of a PEM CA file for the ICP's certificate.
    #[serde(default)]
    pub ca_file: Option<String>,
}

fn generic() -> String {
    "generic".to_owned()
}

fn yes() -> bool {
    true
}

fn xml_listen_port() -> u16 {
    4445
}

fn xml_destination_port() -> u16 {
    4443
}

impl NewIcpInput {
    /// An ICP with the defaults (type `generic`, SIP over TLS only).
    pub fn new(name: impl Into<String>, host: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            host: host.into(),
            kind: generic(),
            sip_udp: false,
            sip_tcp: false,
            sip_tls: true,
            is_default: false,
            xml_listen_port: xml_listen_port(),
            xml_destination_port: xml_destination_port(),
            sip_port: None,
            ca_file: None,
        }
    }

    fn to_store(&self) -> NewIcp {
        NewIcp {
            name: self.name.clone(),
            host: self.host.clone(),
            kind: self.kind.clone(),
            sip_udp: self.sip_udp,
            sip_tcp: self.sip_tcp,
            sip_tls: self.sip_tls,
            is_default: self.is_default,
            xml_listen_port: self.xml_listen_port,
            xml_destination_port: self.xml_destination_port,
            sip_port: self.sip_port,
            ca_file: self.ca_file.clone(),
        }
    }
}

/// `PATCH /api/v1/icps/{name}`: only the fields given change; `null`
/// removes `sip_port` or `ca_file`. The name cannot change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IcpPatch {
    /// New host name or IP address.
    #[serde(default)]
    pub host: Option<String>,
    /// New ICP type.
    #[serde(default)]
    pub kind: Option<String>,
    /// SIP over UDP on or off.
    #[serde(default)]
    pub sip_udp: Option<bool>,
    /// SIP over TCP on or off.
    #[serde(default)]
    pub sip_tcp: Option<bool>,
    /// SIP over TLS on or off.
    #[serde(default)]
    pub sip_tls: Option<bool>,
    /// `true` makes it the default ICP; `false` is refused on the default
    /// ICP (make another one the default instead).
    #[serde(default)]
    pub is_default: Option<bool>,
    /// New XML listen port.
    #[serde(default)]
    pub xml_listen_port: Option<u16>,
    /// New XML destination port: 4443 or 4445.
    #[serde(default)]
    pub xml_destination_port: Option<u16>,
    /// New SIP port; `null`: DNS SRV or the transport's default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u16>)]
    pub sip_port: Option<Option<u16>>,
    /// New CA file (absolute path); `null`: none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub ca_file: Option<Option<String>>,
}

impl IcpPatch {
    fn to_store(&self) -> IcpUpdate {
        IcpUpdate {
            host: self.host.clone(),
            kind: self.kind.clone(),
            sip_udp: self.sip_udp,
            sip_tcp: self.sip_tcp,
            sip_tls: self.sip_tls,
            is_default: self.is_default,
            xml_listen_port: self.xml_listen_port,
            xml_destination_port: self.xml_destination_port,
            sip_port: self.sip_port,
            ca_file: self.ca_file.clone(),
        }
    }
}

/// The outcome of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IcpChanged {
    /// The ICP after the change.
    pub icp: IcpView,
    /// The fields whose value changed; empty when the values given were
    /// the current ones (nothing was written or audited).
    pub changed: Vec<String>,
}

/// Every ICP, oldest first.
///
/// # Errors
/// 403 without read access to `icps`; 500 if the database fails.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<IcpView>, ServiceError> {
    caller.require(Resource::Icps, Access::Read)?;
    Ok(store
        .icps()
        .map_err(store_error)?
        .iter()
        .map(IcpView::from)
        .collect())
}

/// The ICP named `name`.
///
/// # Errors
/// 403 without read access to `icps`; 404.
pub fn show(store: &Store, caller: &Caller, name: &str) -> Result<IcpView, ServiceError> {
    caller.require(Resource::Icps, Access::Read)?;
    store
        .icp(name)
        .map_err(store_error)?
        .map(|icp| IcpView::from(&icp))
        .ok_or_else(|| not_found(name))
}

/// Adds an ICP.
///
/// # Errors
/// 403 without write access to `icps`; 422 naming the first bad field
/// (the message lists every problem), a name in use included.
pub fn create(
    store: &mut Store,
    caller: &Caller,
    input: &NewIcpInput,
) -> Result<IcpView, ServiceError> {
    caller.require(Resource::Icps, Access::Write)?;
    let stored = store
        .add_icp_audited(&input.to_store(), |icp| {
            let view = IcpView::from(icp);
            Some(caller.audit("icp.create", &icp.name, NOTHING, Some(&view)))
        })
        .map_err(store_error)?;
    info!(name = %stored.name, host = %stored.host, "ICP added");
    Ok(IcpView::from(&stored))
}

/// Changes the fields `patch` gives of the ICP named `name`.
///
/// # Errors
/// 403 without write access to `icps`; 400 for an empty change; 404; 422
/// naming the first bad field.
pub fn update(
    store: &mut Store,
    caller: &Caller,
    name: &str,
    patch: &IcpPatch,
) -> Result<IcpChanged, ServiceError> {
    caller.require(Resource::Icps, Access::Write)?;
    if *patch == IcpPatch::default() {
        return Err(ServiceError::BadRequest {
            field: None,
            message: "nothing to change; give at least one of host, kind, sip_udp, sip_tcp, \
                      sip_tls, is_default, xml_listen_port, xml_destination_port, sip_port, \
                      ca_file"
                .to_owned(),
        });
    }
    let updated = store
        .update_icp_audited(name, &patch.to_store(), |before, updated| {
            (!updated.changed.is_empty()).then(|| {
                caller.audit(
                    "icp.update",
                    &before.name,
                    Some(&IcpView::from(before)),
                    Some(&IcpView::from(&updated.icp)),
                )
            })
        })
        .map_err(store_error)?;
    if !updated.changed.is_empty() {
        info!(%name, changed = %updated.changed.join(","), "ICP updated");
    }
    Ok(IcpChanged {
        icp: IcpView::from(&updated.icp),
        changed: updated.changed.iter().map(|f| (*f).to_owned()).collect(),
    })
}

/// Removes the ICP named `name`; returns it as it was.
///
/// # Errors
/// 403 without write access to `icps`; 404; 409 while devices use it.
pub fn remove(store: &mut Store, caller: &Caller, name: &str) -> Result<IcpView, ServiceError> {
    caller.require(Resource::Icps, Access::Write)?;
    let removed = store
        .remove_icp_audited(name, |icp| {
            let view = IcpView::from(icp);
            Some(caller.audit("icp.delete", &icp.name, Some(&view), NOTHING))
        })
        .map_err(store_error)?;
    info!(%name, "ICP removed");
    Ok(IcpView::from(&removed))
}

/// Each step's time limit when none is given, as `outpost icps test`
/// (its `--timeout 3`).
pub const DEFAULT_TEST_TIMEOUT_MS: u64 = 3000;
/// The shortest per-step time limit a test may ask for (the CLI's 0.1 s).
pub const MIN_TEST_TIMEOUT_MS: u64 = 100;
/// The longest per-step time limit a test may ask for (the CLI's 60 s).
pub const MAX_TEST_TIMEOUT_MS: u64 = 60_000;

/// `POST /api/v1/icps/{name}/test`: what `outpost icps test NAME [--all]
/// [--timeout]` takes. The body is optional: no body tests the first
/// target with a 3 s limit per step. The CA file is the ICP's (else
/// `[ipbx] ca_file`), as the CLI's without `--ca-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IcpTestInput {
    /// Test every target DNS gives, not only the first (the one the
    /// gateway uses while it answers).
    #[serde(default)]
    pub all: bool,
    /// Milliseconds each connect, TLS handshake and OPTIONS may take: 100
    /// to 60000, default 3000.
    #[serde(default)]
    #[schema(minimum = 100, maximum = 60000, default = 3000)]
    pub timeout_ms: Option<u64>,
}

impl IcpTestInput {
    /// The per-step time limit, checked.
    ///
    /// # Errors
    /// 422 naming `timeout_ms` when out of range.
    pub fn timeout(&self) -> Result<Duration, ServiceError> {
        let ms = self.timeout_ms.unwrap_or(DEFAULT_TEST_TIMEOUT_MS);
        if !(MIN_TEST_TIMEOUT_MS..=MAX_TEST_TIMEOUT_MS).contains(&ms) {
            return Err(ServiceError::invalid(
                "timeout_ms",
                format!(
                    "{ms} ms is out of range: give {MIN_TEST_TIMEOUT_MS} to \
                     {MAX_TEST_TIMEOUT_MS} milliseconds per step"
                ),
            ));
        }
        Ok(Duration::from_millis(ms))
    }
}

/// 404 for a test of an unknown ICP, naming the ICPs there are.
fn unknown_for_test(store: &Store, name: &str) -> ServiceError {
    let names: Vec<String> = store
        .icps()
        .map(|icps| icps.into_iter().map(|i| i.name).collect())
        .unwrap_or_default();
    ServiceError::NotFound(if names.is_empty() {
        format!("no ICP named {name:?}: there is no ICP yet; add one with POST /api/v1/icps")
    } else {
        format!("no ICP named {name:?}; the ICPs are: {}", names.join(", "))
    })
}

fn not_found(name: &str) -> ServiceError {
    ServiceError::NotFound(format!(
        "no ICP named {name:?}; list them with GET /api/v1/icps or `outpost icps list`"
    ))
}

impl Service {
    /// [`list`] over the service's store.
    ///
    /// # Errors
    /// As [`list`].
    pub fn list_icps(&self, caller: &Caller) -> Result<Vec<IcpView>, ServiceError> {
        self.with_store(|s| list(s, caller))
    }

    /// [`show`] over the service's store.
    ///
    /// # Errors
    /// As [`show`].
    pub fn icp(&self, caller: &Caller, name: &str) -> Result<IcpView, ServiceError> {
        self.with_store(|s| show(s, caller, name))
    }

    /// [`create`] over the service's store.
    ///
    /// # Errors
    /// As [`create`].
    pub fn create_icp(
        &self,
        caller: &Caller,
        input: &NewIcpInput,
    ) -> Result<IcpView, ServiceError> {
        self.with_store(|s| create(s, caller, input))
    }

    /// [`update`] over the service's store.
    ///
    /// # Errors
    /// As [`update`].
    pub fn update_icp(
        &self,
        caller: &Caller,
        name: &str,
        patch: &IcpPatch,
    ) -> Result<IcpChanged, ServiceError> {
        self.with_store(|s| update(s, caller, name, patch))
    }

    /// [`remove`] over the service's store.
    ///
    /// # Errors
    /// As [`remove`].
    pub fn remove_icp(&self, caller: &Caller, name: &str) -> Result<IcpView, ServiceError> {
        self.with_store(|s| remove(s, caller, name))
    }

    /// Tests the ICP named `name` as the running gateway reaches it
    /// (`icps:read`: it changes nothing); blocks for the test's time (at
    /// most the gateway's bound). The report says whether it passed
    /// (`ok`); a failed test is not an error.
    ///
    /// # Errors
    /// 403 without read access to `icps`; 404 naming the ICPs there are;
    /// 422 for a `timeout_ms` out of range; 409 in a process without a
    /// gateway, or when the test overran its bound.
    pub fn test_icp(
        &self,
        caller: &Caller,
        name: &str,
        input: &IcpTestInput,
    ) -> Result<serde_json::Value, ServiceError> {
        caller.require(Resource::Icps, Access::Read)?;
        let timeout = input.timeout()?;
        // The store is not held during the test, which takes seconds.
        let icp: Icp = self.with_store(|s| {
            s.icp(name)
                .map_err(store_error)?
                .ok_or_else(|| unknown_for_test(s, name))
        })?;
        let gateway = self
            .gateway
            .as_ref()
            .ok_or_else(|| gateway_error(&GatewayError::Unsupported { what: "test ICPs" }))?;
        let report = gateway
            .test_icp(&icp, input.all, timeout)
            .map_err(|e| gateway_error(&e))?;
        info!(
            actor = %caller.audit_actor().0,
            %name,
            ok = report.get("ok").and_then(serde_json::Value::as_bool).unwrap_or(false),
            "ICP tested through the API"
        );
        Ok(report)
    }
}
