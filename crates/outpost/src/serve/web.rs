//! The phone configuration service's listener (SEC-7, PRO-5): HTTPS with
//! the gateway's certificate on the public side's bind address at
//! `[web] port` (4445), serving `outpost_api::phone_config` behind the
//! guard like SIP: a source the guard denies is closed before its TLS
//! handshake, and a request without the valid hash key is SEC-5 evidence.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use outpost_api::phone_config::{PhoneConfigState, PhoneGuard, router};
use outpost_guard::RequestFacts;
use outpost_store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use super::ServeError;
use crate::config::Config;
use crate::guard_runtime::SharedGuard;
use crate::telemetry::listener_state;

/// The guard as the configuration service sees it.
struct WebGuard(SharedGuard);

impl PhoneGuard for WebGuard {
    fn admit(&self, ip: IpAddr) -> bool {
        self.0.check_source(ip).is_admit()
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

/// Serves the configuration service on `listener` until `stop` turns true.
pub async fn run(
    listener: TcpListener,
    store: Store,
    guard: SharedGuard,
    tls: Arc<rustls::ServerConfig>,
    mut stop: watch::Receiver<bool>,
) {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let admit_guard = guard.clone();
    let state = PhoneConfigState::new(
        store,
        Arc::new(WebGuard(guard)),
        Arc::new(outpost_api::SystemClock),
    );
    listener_state("web", "https", &addr, true);
    info!(address = %addr, "phone configuration service up (https://<fqdn>:<port>/<hash>/<file>)");
    let stopped = async move {
        let _ = stop.changed().await;
    };
    let admit = move |ip: IpAddr| admit_guard.check_source(ip).is_admit();
    if let Err(e) =
        outpost_api::serve::serve_https_admitting(listener, router(state), tls, admit, stopped)
            .await
    {
        warn!(error = %e, "phone configuration service failed");
    }
    listener_state("web", "https", &addr, false);
}
