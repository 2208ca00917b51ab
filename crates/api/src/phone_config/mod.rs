//! The phone-facing configuration service (SPEC SEC-5, SEC-7, PRO-5,
//! PRO-10; issue 15 items 2, 6 and 9), on the public side at
//! `https://FQDN:<[web] port>/`.
//!
//! # Under the hash key: `/<hash>/<name>`
//!
//! In this order:
//!
//! 1. [`CA_FILE_NAME`] (`outpost-ca.pem`): the CA chain phones must trust
//!    to reach the gateway over TLS (`sips trusted certificates`), made
//!    from the certificate the service presents at the time of the request
//!    (renewals included): the chain's certificates after the leaf, or the
//!    leaf itself when it is alone (Outpost's self-signed default).
//! 2. A stored file: a phone's `<MAC>.cfg` (remote-worker import), the
//!    global `aastra.cfg`, `startup.cfg`, model files (`<model>.cfg`),
//!    firmware images and the extra file. `GET` and `HEAD` with `ETag`
//!    (`If-None-Match`), `Last-Modified` (`If-Modified-Since`, the file's
//!    write time) and single byte ranges (`Range: bytes=a-b`, `a-`, `-n`:
//!    206 with `Content-Range`, 416 when unsatisfiable; several ranges get
//!    the whole file; `If-Range` honoured). A file is read from the
//!    database only when its body is sent (a 304 or a `HEAD` reads none)
//!    and served without further copies; concurrent downloads of a large
//!    file (firmware, 256 KiB and more) share one copy in memory.
//! 3. `<MAC>.cfg` with no stored file, for a device with that MAC:
//!    generated from the device's set-side credentials and the gateway's
//!    public name and hash (`outpost_provision::device_file`). An imported
//!    file wins over generation.
//! 4. `<MAC>.cfg` for a MAC Outpost has no file or device for: 404, and
//!    the name is reported to the guard ([`PhoneGuard::report_unknown_phone`]):
//!    distinct unknown MACs from one source count as enumeration (the
//!    guard's `enumeration_threshold` within `enumeration_window`, SEC-5).
//! 5. Anything else (a deeper path such as `/<hash>/xml/dir.xml`, or a
//!    name that is no stored file): proxied to the XML destination port of
//!    the phone's ICP ([`proxy`]); without a proxy configured, 404.
//!
//! # Redirection: `/redirect/<MAC>.cfg`
//!
//! Outside the hash (PRO-10): for a MAC Outpost knows (a device with it,
//! an imported file, an inventory entry), a minimal configuration file
//! pointing the phone at `https://FQDN:<port>/<hash>/` and, when
//! `[web] firmware_server` is set, that firmware server
//! (`outpost_provision::redirect_file`). An unknown MAC
//! gets 404 and counts as enumeration like item 4; this path is never
//! reported as a wrong hash.
//!
//! # Everything else
//!
//! A request whose first path segment is not the hash key (or that has
//! none) gets a bare 404 and is reported to the guard as malicious
//! ([`PhoneGuard::report_bad_hash`], SEC-5): guessing the key is
//! enumeration. The listener asks the guard before the TLS handshake
//! ([`PhoneGuard::admit`]), so a denied source gets nothing at all, and a
//! request from a source denied meanwhile gets its connection closed.
//! Every file served (stored, generated, CA, redirection) is logged into
//! the inventory (PRO-8) with the MAC from the file name or the phone's
//! User-Agent, and the model and firmware the User-Agent gives.
//!
//! # Not done
//!
//! - Generated device files use no per-model template (issue 15 item 6
//!   mentions one): every model gets the same parameters, and the device
//!   store has no display name to write as `sip line1 display name`.
//! - The proxy's TLS client configuration is built once per CA file path;
//!   a CA file changed in place is read again only after a restart.
//! - HTTP/1.1 only, like the admin listener.

pub mod proxy;
mod resolve;
mod respond;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
pub use outpost_provision::CA_FILE_NAME;
use outpost_store::Store;
use rustls::pki_types::CertificateDer;
use tracing::{debug, warn};

use crate::clock::Clock;
pub use proxy::{XmlProxy, XmlProxyLimits};
use resolve::{Outcome, Site};

/// The path prefix of the redirection service (outside the hash key).
pub const REDIRECT_PREFIX: &str = "/redirect/";

/// What the configuration service needs from the guard.
pub trait PhoneGuard: Send + Sync {
    /// May this source be served at all (not denied, not flooding)?
    fn admit(&self, ip: IpAddr) -> bool;
    /// A request from `ip` without the valid hash key; `first_segment` is
    /// the path's first segment (what was tried as a key). Returns `false`
    /// when the source is denied from now on.
    fn report_bad_hash(&self, ip: IpAddr, first_segment: &str, user_agent: Option<&str>) -> bool;
    /// A request from `ip` for `<MAC>.cfg` (under the right key, or from
    /// the redirection service) of a phone Outpost does not know; `name` is
    /// the file name asked for. Distinct names from one source count as
    /// enumeration (SEC-5). Returns `false` when the source is denied from
    /// now on.
    fn report_unknown_phone(&self, ip: IpAddr, name: &str, user_agent: Option<&str>) -> bool;
}

/// The gateway certificate chain the listener presents now (leaf first).
pub type ChainSource = Arc<dyn Fn() -> Vec<CertificateDer<'static>> + Send + Sync>;

/// The service's state: its own store connection, the guard, the clock,
/// and what the gateway says about itself.
#[derive(Clone)]
pub struct PhoneConfigState {
    store: Arc<Mutex<Store>>,
    guard: Arc<dyn PhoneGuard>,
    clock: Arc<dyn Clock>,
    site: Arc<Site>,
    chain: Option<ChainSource>,
    proxy: Option<Arc<XmlProxy>>,
    shared: Arc<respond::SharedBodies>,
}

impl PhoneConfigState {
    /// The service over `store` (a connection of its own). Without
    /// [`PhoneConfigState::with_public_name`] it cannot generate device
    /// files or redirect; without [`PhoneConfigState::with_chain`] it has
    /// no CA file; without [`PhoneConfigState::with_xml_proxy`] other paths
    /// get 404.
    pub fn new(store: Store, guard: Arc<dyn PhoneGuard>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            guard,
            clock,
            site: Arc::new(Site::default()),
            chain: None,
            proxy: None,
            shared: Arc::default(),
        }
    }

    /// The gateway's public name (FQDN or address) and the service's port,
    /// written into generated and redirection files.
    #[must_use]
    pub fn with_public_name(mut self, name: impl Into<String>, port: u16) -> Self {
        let site = Arc::make_mut(&mut self.site);
        site.public_name = Some(name.into());
        site.port = port;
        self
    }

    /// The firmware server redirection answers carry (`firmware server`);
    /// `None` or empty: none.
    #[must_use]
    pub fn with_firmware_server(mut self, url: Option<String>) -> Self {
        Arc::make_mut(&mut self.site).firmware_server = url.filter(|u| !u.trim().is_empty());
        self
    }

    /// Where the CA file ([`CA_FILE_NAME`]) comes from.
    #[must_use]
    pub fn with_chain(mut self, chain: ChainSource) -> Self {
        self.chain = Some(chain);
        self
    }

    /// Proxies other paths under the key to the ICPs' XML port.
    #[must_use]
    pub fn with_xml_proxy(mut self, proxy: XmlProxy) -> Self {
        self.proxy = Some(Arc::new(proxy));
        self
    }
}

/// The configuration service's router: every path goes to one handler.
pub fn router(state: PhoneConfigState) -> Router {
    Router::new().fallback(handle).with_state(state)
}

async fn handle(
    State(state): State<PhoneConfigState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let ip = peer.ip();
    if !state.guard.admit(ip) {
        return closed(StatusCode::FORBIDDEN);
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let now = state.clock.now();
    let store = Arc::clone(&state.store);
    let site = Arc::clone(&state.site);
    let has_chain = state.chain.is_some();
    let agent_for_lookup = agent.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        let mut store = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ask = resolve::Ask {
            path: &path,
            agent: agent_for_lookup.as_deref(),
            ip,
            now,
            has_chain,
        };
        resolve::resolve(&mut store, &site, &ask)
    })
    .await;
    let outcome = match looked_up {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            warn!(%ip, error = %e, "configuration service: database error");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        Err(e) => {
            warn!(%ip, error = %e, "configuration service: lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let file_method = method == Method::GET || method == Method::HEAD;
    match outcome {
        Outcome::BadHash(segment) => {
            let still_admitted = state.guard.report_bad_hash(ip, &segment, agent.as_deref());
            debug!(%ip, still_admitted, "configuration request without the valid hash key");
            not_found_or_closed(still_admitted)
        }
        Outcome::UnknownPhone(name) => {
            let still_admitted = state
                .guard
                .report_unknown_phone(ip, &name, agent.as_deref());
            debug!(%ip, still_admitted, "configuration request for an unknown phone");
            not_found_or_closed(still_admitted)
        }
        Outcome::NoFile => StatusCode::NOT_FOUND.into_response(),
        _ if !file_method && !matches!(outcome, Outcome::Proxy { .. }) => {
            StatusCode::METHOD_NOT_ALLOWED.into_response()
        }
        Outcome::Stored(info) => {
            respond::stored(
                &state.store,
                &state.shared,
                info,
                &method,
                request.headers(),
            )
            .await
        }
        Outcome::Generated {
            name,
            contents,
            modified,
        } => {
            let file = respond::Entity::generated(&name, contents.into(), modified);
            respond::entity(&file, &method, request.headers())
        }
        Outcome::Ca { modified } => {
            let chain = state.chain.as_ref().map(|c| c()).unwrap_or_default();
            let pem = respond::ca_pem(&chain);
            let file = respond::Entity::generated(CA_FILE_NAME, pem.into(), modified);
            respond::entity(&file, &method, request.headers())
        }
        Outcome::Proxy { target, path } => match &state.proxy {
            Some(proxy) => proxy.forward(target, &path, peer, request).await,
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

fn not_found_or_closed(still_admitted: bool) -> Response {
    if still_admitted {
        StatusCode::NOT_FOUND.into_response()
    } else {
        closed(StatusCode::NOT_FOUND)
    }
}

/// A response that ends the connection (a denied source gets no more).
fn closed(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
