//! The phone-facing configuration service (SPEC SEC-7, PRO-5; issue 15
//! item 2): `https://FQDN:<[web] port>/<hash>/<file>` on the public side,
//! serving the files the store holds: `<MAC>.cfg`, the global
//! `aastra.cfg` and the extra file, with `ETag`/`If-None-Match`.
//!
//! A request whose first path segment is not the hash key (or that has
//! none) gets a bare 404 and is reported to the guard as malicious
//! ([`PhoneGuard::report_bad_hash`], SEC-5): guessing the key is
//! enumeration. The listener asks the guard before the TLS handshake
//! ([`PhoneGuard::admit`]), so a denied source gets nothing at all, and a
//! request from a source denied meanwhile gets its connection closed.
//! Every file served is logged into the inventory (PRO-8) with the MAC
//! from the file name or the phone's User-Agent, and the model and
//! firmware the User-Agent gives.
//!
//! Not done yet (issue 15): `startup.cfg`, model files, the CA chain and
//! firmware files, range requests, `If-Modified-Since`, proxying other
//! paths to the ICP's XML port, enumeration counting of unknown MACs
//! under the right hash.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use outpost_provision::{Mac, parse_user_agent};
use outpost_store::{Download, Store};
use subtle::ConstantTimeEq;
use tracing::{debug, info, warn};

use crate::clock::Clock;

/// What the configuration service needs from the guard.
pub trait PhoneGuard: Send + Sync {
    /// May this source be served at all (not denied, not flooding)?
    fn admit(&self, ip: IpAddr) -> bool;
    /// A request from `ip` without the valid hash key; `first_segment` is
    /// the path's first segment (what was tried as a key). Returns `false`
    /// when the source is denied from now on.
    fn report_bad_hash(&self, ip: IpAddr, first_segment: &str, user_agent: Option<&str>) -> bool;
}

/// The service's state: its own store connection, the guard, the clock.
#[derive(Clone)]
pub struct PhoneConfigState {
    store: Arc<Mutex<Store>>,
    guard: Arc<dyn PhoneGuard>,
    clock: Arc<dyn Clock>,
}

impl PhoneConfigState {
    /// The service over `store` (a connection of its own).
    pub fn new(store: Store, guard: Arc<dyn PhoneGuard>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Arc::new(Mutex::new(store)),
            guard,
            clock,
        }
    }
}

/// The configuration service's router: every path goes to one handler.
pub fn router(state: PhoneConfigState) -> Router {
    Router::new().fallback(serve_file).with_state(state)
}

/// What a request resolved to, computed on the blocking pool.
enum Outcome {
    /// Not under the hash key.
    BadHash(String),
    /// Under the key, but no such file.
    NoFile,
    /// A file.
    File {
        name: String,
        contents: Vec<u8>,
        etag: String,
    },
}

async fn serve_file(
    State(state): State<PhoneConfigState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let ip = peer.ip();
    if !state.guard.admit(ip) {
        return closed(StatusCode::FORBIDDEN);
    }
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().to_owned();
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let now = state.clock.now();
    let store = Arc::clone(&state.store);
    let agent_for_log = agent.clone();
    let looked_up = tokio::task::spawn_blocking(move || {
        let mut store = store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        resolve(&mut store, &path, agent_for_log.as_deref(), ip, now)
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
    match outcome {
        Outcome::BadHash(segment) => {
            let still_admitted = state.guard.report_bad_hash(ip, &segment, agent.as_deref());
            debug!(%ip, still_admitted, "configuration request without the valid hash key");
            if still_admitted {
                StatusCode::NOT_FOUND.into_response()
            } else {
                closed(StatusCode::NOT_FOUND)
            }
        }
        Outcome::NoFile => StatusCode::NOT_FOUND.into_response(),
        Outcome::File {
            name,
            contents,
            etag,
        } => file_response(&method, &headers, &name, contents, &etag),
    }
}

/// A response that ends the connection (a denied source gets no more).
fn closed(status: StatusCode) -> Response {
    (
        status,
        [(header::CONNECTION, HeaderValue::from_static("close"))],
    )
        .into_response()
}

/// Finds the file for `path` (`/<hash>/<file>`) and logs the download.
fn resolve(
    store: &mut Store,
    path: &str,
    agent: Option<&str>,
    ip: IpAddr,
    now: i64,
) -> Result<Outcome, outpost_store::StoreError> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (segment, file) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(hash) = store.provisioning_hash()? else {
        return Ok(Outcome::BadHash(segment.to_owned()));
    };
    // Constant time: the key is the phones' only secret.
    if !bool::from(segment.as_bytes().ct_eq(hash.expose().as_bytes())) {
        return Ok(Outcome::BadHash(segment.to_owned()));
    }
    // One file name, no deeper paths: the store has no directories.
    if file.is_empty() || file.contains('/') {
        return Ok(Outcome::NoFile);
    }
    let Some(found) = store.provisioning_file(file)? else {
        return Ok(Outcome::NoFile);
    };
    let phone = agent.and_then(parse_user_agent);
    let mac = Mac::from_file_name(file).or_else(|| phone.as_ref().map(|p| p.mac));
    if let Some(mac) = mac {
        let download = Download {
            mac,
            model: phone.as_ref().map(|p| p.model.clone()),
            firmware: phone.as_ref().and_then(|p| p.firmware.clone()),
            address: ip.to_string(),
            at: now,
            file: found.info.name.clone(),
        };
        store.record_download(&download)?;
        info!(%mac, %ip, file = %found.info.name, "phone configuration downloaded");
    }
    Ok(Outcome::File {
        name: found.info.name,
        contents: found.contents,
        etag: found.info.etag,
    })
}

fn file_response(
    method: &Method,
    headers: &HeaderMap,
    name: &str,
    contents: Vec<u8>,
    etag: &str,
) -> Response {
    let etag_value =
        HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
        });
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response();
    }
    let content_type = if name.ends_with(".cfg") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    let headers = [
        (header::ETAG, etag_value),
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if *method == Method::HEAD {
        let length = HeaderValue::from(contents.len());
        let mut response = (StatusCode::OK, headers).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, length);
        return response;
    }
    (StatusCode::OK, headers, contents).into_response()
}
