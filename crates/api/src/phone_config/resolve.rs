//! What a request path resolves to (see the module docs of
//! [`super`] for the order), looked up on the blocking pool with the
//! service's store connection; downloads are logged into the inventory
//! here.

use std::net::IpAddr;

use outpost_provision::{
    CA_FILE_NAME, DeviceCredentials, Mac, SystemValues, device_file, parse_user_agent,
    redirect_file,
};
use outpost_store::{Download, ProvisioningFileInfo, Store, StoreError};
use subtle::ConstantTimeEq;
use tracing::{info, warn};

use super::REDIRECT_PREFIX;
use super::proxy::Target;

/// What the gateway says about itself in generated files.
#[derive(Debug, Clone, Default)]
pub(super) struct Site {
    /// FQDN or public address.
    pub(super) public_name: Option<String>,
    /// The service's port.
    pub(super) port: u16,
    /// The firmware override of redirection answers.
    pub(super) firmware_server: Option<String>,
}

/// One request, as the resolver needs it.
pub(super) struct Ask<'a> {
    pub(super) path: &'a str,
    pub(super) agent: Option<&'a str>,
    pub(super) ip: IpAddr,
    pub(super) now: i64,
    pub(super) has_chain: bool,
}

/// What a request resolved to.
pub(super) enum Outcome {
    /// Not under the hash key.
    BadHash(String),
    /// `<MAC>.cfg` of a phone Outpost does not know (the name asked for).
    UnknownPhone(String),
    /// Nothing to serve (404, not evidence of anything).
    NoFile,
    /// A stored file (its contents are read when needed).
    Stored(ProvisioningFileInfo),
    /// A file made for this request.
    Generated {
        name: String,
        contents: Vec<u8>,
        modified: i64,
    },
    /// The CA file, made from the certificate chain by the caller.
    Ca { modified: i64 },
    /// For the ICP's XML service: the target (none when Outpost has no
    /// ICP) and the path after the hash prefix (with its leading `/`).
    Proxy {
        target: Option<Target>,
        path: String,
    },
}

/// Resolves `ask.path` (see the module docs of [`super`]).
pub(super) fn resolve(
    store: &mut Store,
    site: &Site,
    ask: &Ask<'_>,
) -> Result<Outcome, StoreError> {
    if let Some(name) = ask.path.strip_prefix(REDIRECT_PREFIX) {
        return redirect(store, site, ask, name);
    }
    let rest = ask.path.strip_prefix('/').unwrap_or(ask.path);
    let (segment, file) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(hash) = store.provisioning_hash()? else {
        return Ok(Outcome::BadHash(segment.to_owned()));
    };
    // Constant time: the key is the phones' only secret.
    if !bool::from(segment.as_bytes().ct_eq(hash.expose().as_bytes())) {
        return Ok(Outcome::BadHash(segment.to_owned()));
    }
    // No empty or dot segments, and none hidden behind percent-encoding
    // or a backslash: nothing climbs out of the ICP's XML root.
    let lower = file.to_ascii_lowercase();
    if file.is_empty()
        || file
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || ["%2e", "%2f", "%5c", "\\"]
            .iter()
            .any(|bad| lower.contains(bad))
    {
        return Ok(Outcome::NoFile);
    }
    if file.contains('/') {
        return proxy_target(store, ask, file);
    }
    if ask.has_chain && file == CA_FILE_NAME {
        log_download(store, ask, None, CA_FILE_NAME)?;
        return Ok(Outcome::Ca { modified: ask.now });
    }
    if let Some(found) = store.provisioning_file_info(file)? {
        log_download(store, ask, Mac::from_file_name(file), &found.name)?;
        return Ok(Outcome::Stored(found));
    }
    let Some(mac) = Mac::from_file_name(file) else {
        return proxy_target(store, ask, file);
    };
    let Some(device) = store.device_by_mac(&mac.to_string())? else {
        return Ok(Outcome::UnknownPhone(file.to_owned()));
    };
    let Some(system) = system_values(site, hash.expose()) else {
        warn!(%mac, "cannot generate the device's file: the gateway has no valid public name (set fqdn)");
        return Ok(Outcome::NoFile);
    };
    let password = device.setside_password.expose().to_owned();
    let credentials = DeviceCredentials {
        username: &device.setside_username,
        password: &password,
        display_name: None,
    };
    let contents = match device_file(credentials, &system) {
        Ok(config) => config.render().into_bytes(),
        Err(e) => {
            warn!(%mac, device = %device.setside_username, error = %e, "cannot generate the device's file");
            return Ok(Outcome::NoFile);
        }
    };
    let name = mac.file_name();
    log_download(store, ask, Some(mac), &name)?;
    Ok(Outcome::Generated {
        name,
        contents,
        modified: ask.now,
    })
}

/// `/redirect/<MAC>.cfg` (PRO-10).
fn redirect(
    store: &mut Store,
    site: &Site,
    ask: &Ask<'_>,
    name: &str,
) -> Result<Outcome, StoreError> {
    let Some(mac) = Mac::from_file_name(name) else {
        return Ok(Outcome::UnknownPhone(name.chars().take(64).collect()));
    };
    if !store.knows_phone(mac)? {
        return Ok(Outcome::UnknownPhone(name.to_owned()));
    }
    let Some(hash) = store.provisioning_hash()? else {
        return Ok(Outcome::NoFile);
    };
    let Some(system) = system_values(site, hash.expose()) else {
        warn!(%mac, "cannot answer the redirection: the gateway has no valid public name (set fqdn)");
        return Ok(Outcome::NoFile);
    };
    let file = match redirect_file(&system, site.port, site.firmware_server.as_deref()) {
        Ok(file) => file,
        Err(e) => {
            warn!(%mac, error = %e, "cannot answer the redirection; fix the firmware server URL");
            return Ok(Outcome::NoFile);
        }
    };
    log_download(store, ask, Some(mac), &format!("redirect/{name}"))?;
    Ok(Outcome::Generated {
        name: mac.file_name(),
        contents: file.render().into_bytes(),
        modified: ask.now,
    })
}

fn system_values(site: &Site, hash: &str) -> Option<SystemValues> {
    SystemValues::new(site.public_name.as_deref()?, hash).ok()
}

/// The ICP of the phone named by the User-Agent's MAC (its device's ICP),
/// else the default ICP.
fn proxy_target(store: &Store, ask: &Ask<'_>, file: &str) -> Result<Outcome, StoreError> {
    let path = format!("/{file}");
    let device_icp = match ask.agent.and_then(parse_user_agent) {
        Some(phone) => store.device_by_mac(&phone.mac.to_string())?.map(|d| d.icp),
        None => None,
    };
    let icp = match device_icp {
        Some(name) => store.icp(&name)?,
        None => None,
    };
    let icp = match icp {
        Some(icp) => Some(icp),
        None => store.icps()?.into_iter().find(|i| i.is_default),
    };
    Ok(Outcome::Proxy {
        target: icp.map(|i| Target {
            name: i.name,
            host: i.host,
            port: i.xml_destination_port,
            ca_file: i.ca_file,
        }),
        path,
    })
}

/// Logs a download into the inventory when the phone is known by the
/// file name or the User-Agent.
fn log_download(
    store: &mut Store,
    ask: &Ask<'_>,
    from_name: Option<Mac>,
    file: &str,
) -> Result<(), StoreError> {
    let phone = ask.agent.and_then(parse_user_agent);
    let Some(mac) = from_name.or_else(|| phone.as_ref().map(|p| p.mac)) else {
        return Ok(());
    };
    let download = Download {
        mac,
        model: phone.as_ref().map(|p| p.model.clone()),
        firmware: phone.as_ref().and_then(|p| p.firmware.clone()),
        address: ask.ip.to_string(),
        at: ask.now,
        file: file.to_owned(),
    };
    store.record_download(&download)?;
    info!(%mac, ip = %ask.ip, %file, "phone configuration downloaded");
    Ok(())
}
