//! The MSL-compatible web services over HTTP (SPEC PRO-3, issue 16):
//! `https://FQDN:<[web] port>/mslrest/` on the public side, next to the
//! phone configuration service, so existing application servers and
//! iPBXs provision teleworkers through Outpost unchanged (seed 003).
//!
//! `POST /mslrest/initiate` and `POST /mslrest/token` run the OAuth 1.0a
//! flow; everything under `/mslrest/mbg/v1/` needs a request signed with
//! a final token and the consumer's permission. Refusals are 401 with
//! `WWW-Authenticate: OAuth` and a reason, and each counts for the guard
//! (SEC-5), which may deny the source; a denied source gets nothing.

mod dispatch;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use outpost_oauth1::SignedRequest;
use serde::Serialize;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::service::webservices::{MslError, WebServices};

pub use dispatch::Answer;

/// Largest request body accepted (a device is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the web services need from the guard.
pub trait WebServicesGuard: Send + Sync {
    /// May this source be served at all?
    fn admit(&self, ip: IpAddr) -> bool;
    /// A refused OAuth request from `ip`; returns `false` when the source
    /// is denied from now on.
    fn report_failure(&self, ip: IpAddr, reason: &str) -> bool;
}

/// Whether the web services run (the seeds' Start/Stop), asked per
/// request so that a change applies at once.
pub type Enabled = Arc<dyn Fn() -> bool + Send + Sync>;

/// The front end's state.
#[derive(Clone)]
pub struct MslState {
    ws: WebServices,
    clock: Arc<dyn Clock>,
    guard: Arc<dyn WebServicesGuard>,
    enabled: Enabled,
}

impl MslState {
    /// The front end over `ws`.
    pub fn new(
        ws: WebServices,
        clock: Arc<dyn Clock>,
        guard: Arc<dyn WebServicesGuard>,
        enabled: Enabled,
    ) -> Self {
        Self {
            ws,
            clock,
            guard,
            enabled,
        }
    }
}

/// The `/mslrest` routes, to merge into the web services listener.
pub fn router(state: MslState) -> Router {
    Router::new()
        .route("/mslrest", any(handle))
        .route("/mslrest/{*rest}", any(handle))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The parts of a request the dispatcher needs, owned (it runs on the
/// blocking pool).
#[derive(Debug, Clone)]
pub struct OwnedRequest {
    /// The method.
    pub method: Method,
    /// The host the client addressed, without port.
    pub host: String,
    /// The port it addressed, if any.
    pub port: Option<u16>,
    /// The path.
    pub path: String,
    /// The raw query.
    pub query: Option<String>,
    /// A form body (for the OAuth parameters it may carry).
    pub form_body: Option<String>,
    /// A JSON body.
    pub json_body: Option<Bytes>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

impl OwnedRequest {
    /// The signed parts, borrowed.
    pub fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method.as_str(),
            scheme: "https",
            host: &self.host,
            port: self.port,
            path: &self.path,
            query: self.query.as_deref(),
            form_body: self.form_body.as_deref(),
            authorization: self.authorization.as_deref(),
        }
    }
}

async fn handle(
    State(state): State<MslState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = peer.ip();
    if !state.guard.admit(ip) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONNECTION, HeaderValue::from_static("close"))],
        )
            .into_response();
    }
    if !(state.enabled)() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the web services are stopped; the gateway's administrator starts them with \
             `outpost webservices start`",
        );
    }
    let request = match owned_request(method, &uri, &headers, body) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let now = state.clock.now();
    let ws = state.ws.clone();
    let path = request.path.clone();
    let method = request.method.clone();
    let answered =
        tokio::task::spawn_blocking(move || dispatch::dispatch(&ws, &request, ip, now)).await;
    match answered {
        Ok(Ok(answer)) => {
            debug!(%ip, %method, %path, "web services request served");
            answer.into_response()
        }
        Ok(Err(e)) => refused(&state, ip, &method, &path, &e),
        Err(e) => {
            warn!(%ip, error = %e, "web services request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn refused(state: &MslState, ip: IpAddr, method: &Method, path: &str, e: &MslError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match e {
        MslError::Service(s) => s.public_message(),
        other => other.to_string(),
    };
    if let MslError::Service(crate::service::ServiceError::Internal(detail)) = e {
        warn!(%ip, %method, path, %detail, "web services internal error");
    }
    if let MslError::OAuth(reason) = e {
        let still_admitted = state.guard.report_failure(ip, &reason.to_string());
        info!(%ip, %method, path, %reason, still_admitted, "web services request refused");
        let mut response = error(status, &message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("OAuth realm=\"mslrest\""),
        );
        if !still_admitted {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return response;
    }
    error(status, &message)
}

fn owned_request(
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<OwnedRequest, String> {
    let host_header = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(axum::http::uri::Authority::as_str))
        .ok_or("the request has no Host header")?;
    let (host, port) = split_host(host_header)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| "the Authorization header is not ASCII".to_owned())?;
    let (form_body, json_body) = if body.is_empty() {
        (None, None)
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8(body.to_vec())
            .map_err(|_| "the form body is not UTF-8".to_owned())?;
        (Some(text), None)
    } else {
        (None, Some(body))
    };
    Ok(OwnedRequest {
        method,
        host,
        port,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        form_body,
        json_body,
        authorization,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host(value: &str) -> Result<(String, Option<u16>), String> {
    let bad = || format!("the Host header {value:?} is not host[:port]");
    if let Some(rest) = value.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad())?),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        return Ok((format!("[{v6}]"), port));
    }
    match value.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_owned(), Some(port.parse().map_err(|_| bad())?))),
        None => Ok((value.to_owned(), None)),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::to_vec(&ErrorBody { error: message }).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn host_headers_split_into_host_and_port() {
        assert_eq!(
            split_host("gw.example:4445").unwrap(),
            ("gw.example".into(), Some(4445))
        );
        assert_eq!(
            split_host("gw.example").unwrap(),
            ("gw.example".into(), None)
        );
        assert_eq!(
            split_host("[2001:db8::1]:4445").unwrap(),
            ("[2001:db8::1]".into(), Some(4445))
        );
        assert!(split_host("gw:x").is_err());
        assert!(split_host("[::1").is_err());
    }
}
