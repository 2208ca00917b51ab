//! The phone configuration service's listener (SEC-7, PRO-5): HTTPS with
//! the gateway's certificate on the public side's bind address at
//! `[web] port` (4445), serving `outpost_api::phone_config` behind the
//! guard like SIP: a source the guard denies is closed before its TLS
//! handshake, and a request without the valid hash key, or for the
//! `<MAC>.cfg` of a phone Outpost does not know, is SEC-5 evidence. The
//! service presents the live certificate and serves its CA as
//! `outpost-ca.pem`, generates files from `fqdn` and `[web] port`, and
//! proxies XML requests to ICPs trusting what SIP TLS toward ICPs trusts
//! (the ICP's CA file, else `[ipbx] ca_file`, and Outpost's certificate).
//!
//! The same listener carries the MSL-compatible web services under
//! `/mslrest/` (issue 16), answering while `web.services` is on; their
//! refused OAuth requests count as failed authentications for the guard.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use outpost_api::mslrest::{self, MslState, WebServicesGuard};
use outpost_api::phone_config::{PhoneConfigState, PhoneGuard, XmlProxy, XmlProxyLimits, router};
use outpost_api::service::webservices::WebServices;
use outpost_guard::RequestFacts;
use outpost_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use super::ServeError;
use crate::certs::{self, LiveCertificate};
use crate::config::Config;
use crate::guard_runtime::SharedGuard;
use crate::telemetry::listener_state;

/// The guard as the configuration service sees it.
struct WebGuard(SharedGuard);

impl PhoneGuard for WebGuard {
    /// The connection was counted when it was accepted
    /// (`serve_https_admitting`); a request on it only asks whether the
    /// source was denied since.
    fn admit(&self, ip: IpAddr) -> bool {
        !self.0.is_refused(ip)
    }

    /// A wrong key counts as a request to an unknown user named by the
    /// key tried: distinct guesses from one unauthenticated, unregistered
    /// source reach SEC-5's enumeration threshold and deny it (also for
    /// SIP); a scanner's User-Agent denies it at once. A source with a
    /// live SIP registration (phones behind its NAT) is not counted, as
    /// for SIP.
    fn report_bad_hash(&self, ip: IpAddr, first_segment: &str, user_agent: Option<&str>) -> bool {
        let tried = if first_segment.is_empty() {
            "/"
        } else {
            first_segment
        };
        let facts = RequestFacts {
            method: "GET",
            user_agent,
            ruri_user: Some(tried),
            ..RequestFacts::default()
        };
        self.0.inspect_request(ip, &facts).is_admit()
    }

    /// An unknown phone's `<MAC>.cfg` counts like a request to an unknown
    /// user named after the file: SEC-5's `enumeration_threshold` distinct
    /// names within `enumeration_window` deny the source. A phone asking
    /// again and again for its own missing file is one name, not a scan.
    fn report_unknown_phone(&self, ip: IpAddr, name: &str, user_agent: Option<&str>) -> bool {
        let tried = format!("phone file {name}");
        let facts = RequestFacts {
            method: "GET",
            user_agent,
            ruri_user: Some(&tried),
            ..RequestFacts::default()
        };
        self.0.inspect_request(ip, &facts).is_admit()
    }
}

impl WebServicesGuard for WebGuard {
    /// The connection was counted when it was accepted
    /// (`serve_https_admitting`); a request on it only asks whether the
    /// source was denied since.
    fn admit(&self, ip: IpAddr) -> bool {
        !self.0.is_refused(ip)
    }

    /// A refused OAuth request counts like a failed authentication: the
    /// guard's brute-force rule (SEC-5) denies a source that keeps
    /// failing, for the web services and SIP alike.
    fn report_failure(&self, ip: IpAddr, _reason: &str) -> bool {
        self.0.record_auth_failure(ip).is_admit()
    }
}

/// Binds `[web] port` on the public side's bind address.
///
/// # Errors
/// [`ServeError::WebBind`] naming the address and the setting to change.
pub async fn bind(config: &Config) -> Result<TcpListener, ServeError> {
    let addr = SocketAddr::new(config.public.bind_address(), config.web.port);
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::WebBind { addr, source })
}

/// What the service says about the gateway and whom it trusts.
pub struct WebSite {
    /// The FQDN (or host name) written into generated files.
    pub public_name: String,
    /// `[web] port`.
    pub port: u16,
    /// The certificate the listener presents (its CA is served).
    pub live: Arc<LiveCertificate>,
    /// `[ipbx] ca_file`: trusted for ICPs without their own CA file.
    pub ipbx_ca_file: Option<std::path::PathBuf>,
    /// `[web] firmware_server`: the redirection's firmware override.
    pub firmware_server: Option<String>,
}

impl WebSite {
    /// From the configuration and the live certificate.
    pub fn new(config: &Config, live: &Arc<LiveCertificate>) -> Self {
        Self {
            public_name: config.fqdn_or_hostname(),
            port: config.web.port,
            live: Arc::clone(live),
            ipbx_ca_file: config.ipbx.ca_file.clone(),
            firmware_server: config.web.firmware_server.clone(),
        }
    }
}

/// Serves the configuration service on `listener` until `stop` turns true.
pub async fn run(
    listener: TcpListener,
    store: Store,
    guard: SharedGuard,
    tls: Arc<rustls::ServerConfig>,
    site: WebSite,
    web_services: WebServices,
    mut stop: watch::Receiver<bool>,
) {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let admit_guard = guard.clone();
    let live = Arc::clone(&site.live);
    let chain = site.live.chain();
    let ipbx_ca = site.ipbx_ca_file.clone();
    let client_tls = move |ca_file: Option<&str>| {
        let path = ca_file
            .map(std::path::PathBuf::from)
            .or_else(|| ipbx_ca.clone());
        certs::client_config_trusting(&chain, path.as_deref()).map_err(|e| e.to_string())
    };
    let running = web_services.clone();
    let msl = mslrest::router(MslState::new(
        web_services,
        Arc::new(outpost_api::SystemClock),
        Arc::new(WebGuard(guard.clone())),
        Arc::new(move || running.running()),
    ));
    let state = PhoneConfigState::new(
        store,
        Arc::new(WebGuard(guard)),
        Arc::new(outpost_api::SystemClock),
    )
    .with_public_name(site.public_name, site.port)
    .with_firmware_server(site.firmware_server)
    .with_chain(Arc::new(move || live.chain()))
    .with_xml_proxy(XmlProxy::new(
        XmlProxyLimits::default(),
        Arc::new(client_tls),
    ));
    listener_state("web", "https", &addr, true);
    info!(address = %addr, "phone configuration service up (https://<fqdn>:<port>/<hash>/<file>)");
    let stopped = async move {
        let _ = stop.changed().await;
    };
    let admit = move |ip: IpAddr| admit_guard.check_source(ip).is_admit();
    if let Err(e) = outpost_api::serve::serve_https_admitting(
        listener,
        msl.merge(router(state)),
        tls,
        admit,
        stopped,
    )
    .await
    {
        warn!(error = %e, "phone configuration service failed");
    }
    listener_state("web", "https", &addr, false);
}
