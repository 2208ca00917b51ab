//! The B2BUA's configuration, derived from Outpost's settings.

use outpost_b2bua::{B2bua, Config as B2buaConfig, SideIdentity, Transport};

use super::ServeError;
use crate::config::{Config, SideConfig};
use crate::core::live::LiveRegistration;
use crate::transport::Flow;

/// How Outpost appears on a side: its advertised address (NET-2), else the
/// FQDN/host name, with the side's listening ports.
fn identity(side: &SideConfig, fallback_host: &str) -> Option<SideIdentity> {
    let host = side
        .advertised_address()
        .map_or_else(|| fallback_host.to_owned(), |ip| ip.to_string());
    let mut listeners = Vec::new();
    if side.tls_enabled() {
        listeners.push((Transport::Tls, side.sip_tls_port));
    }
    if side.plain_enabled() {
        listeners.push((Transport::Udp, side.sip_port));
        listeners.push((Transport::Tcp, side.sip_port));
    }
    let (first, rest) = listeners.split_first()?;
    let mut identity = SideIdentity::new(host, first.0, first.1);
    for (transport, port) in rest {
        identity = identity.with_listener(*transport, *port);
    }
    Some(identity)
}

/// The B2BUA for `config`.
pub fn build(
    config: &Config,
    seed: u64,
    digest_secret: [u8; 32],
    media: Option<crate::media::Media>,
) -> Result<B2bua<Flow>, ServeError> {
    let fqdn = config.fqdn_or_hostname();
    let missing = || ServeError::B2bua("a side has no SIP transport".into());
    let public = identity(&config.public, &fqdn).ok_or_else(missing)?;
    let private = identity(&config.private, &fqdn).ok_or_else(missing)?;
    let mut b2bua = B2buaConfig::new(public, private);
    b2bua.realm = fqdn;
    // The same mapping applies the live settings to a running B2BUA.
    LiveRegistration::from_config(config).apply_to(&mut b2bua);
    b2bua.digest_algorithms = config.registration.digest_algorithms.clone();
    let bodies: Box<dyn outpost_b2bua::BodyRewriter> = match media {
        Some(media) => Box::new(media),
        None => Box::new(outpost_b2bua::PassThroughBodies),
    };
    B2bua::with_policy(
        b2bua,
        seed,
        digest_secret,
        Box::new(outpost_b2bua::RemoteWorkerPolicy),
        bodies,
    )
    .map_err(|e| ServeError::B2bua(e.to_string()))
}
