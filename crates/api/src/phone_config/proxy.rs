//! The XML proxy (issue 15 item 2; SPEC PRO-5): a request under the hash
//! key that is no file is forwarded over TLS to the XML destination port
//! (`xml_destination_port`, 4443 by default) of the phone's ICP — the ICP
//! of the device whose MAC the User-Agent gives, else the default ICP —
//! for the phones' XML features, directories and `omm.mghc` URLs of DECT
//! systems (seed 001 §9).
//!
//! - **Path:** the hash prefix is stripped: `/<hash>/xml/dir.xml?q=1`
//!   reaches the ICP as `/xml/dir.xml?q=1`. The key is Outpost's secret
//!   and the ICP serves its XML applications from its own root.
//! - **Method, query, body** forwarded (`GET`, `HEAD`, `POST`, `PUT`,
//!   `DELETE`, `OPTIONS`; others 405). Bodies are read whole, up to
//!   [`XmlProxyLimits::max_request`] (413 beyond) and
//!   [`XmlProxyLimits::max_response`] (502 beyond).
//! - **Headers:** hop-by-hop ones (`Connection` and those it names,
//!   `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`, `Transfer-Encoding`,
//!   `Upgrade`) are dropped both ways; `Host` names the ICP;
//!   `X-Forwarded-For` is set to the phone's address (any value the client
//!   sent is dropped: Outpost is the edge, nothing before it is trusted).
//! - **Timeouts:** connect plus TLS handshake within
//!   [`XmlProxyLimits::connect_timeout`] (502 after), the whole exchange
//!   within [`XmlProxyLimits::total_timeout`] (504 after); every failure is
//!   logged with the ICP's name and the reason.
//! - **Trust:** the ICP's certificate is verified like SIP TLS toward ICPs:
//!   against the ICP's own CA file, else `[ipbx] ca_file`, plus Outpost's
//!   own certificate; the caller builds those client configurations
//!   ([`ClientTls`]). The name checked is the ICP's host.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tracing::{debug, warn};

/// Where a request goes: one ICP's XML service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The ICP's name (for logs).
    pub name: String,
    /// Its host name or address.
    pub host: String,
    /// Its XML destination port.
    pub port: u16,
    /// Its own CA file, if set.
    pub ca_file: Option<String>,
}

/// Bounds of one proxied exchange.
#[derive(Debug, Clone, Copy)]
pub struct XmlProxyLimits {
    /// TCP connect and TLS handshake.
    pub connect_timeout: Duration,
    /// The whole exchange, connect included.
    pub total_timeout: Duration,
    /// Largest request body, bytes.
    pub max_request: usize,
    /// Largest response body, bytes.
    pub max_response: usize,
}

impl Default for XmlProxyLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(20),
            max_request: 1024 * 1024,
            max_response: 8 * 1024 * 1024,
        }
    }
}

/// Builds the TLS client configuration for an ICP with this CA file
/// (`None`: the default trust), or says why it cannot.
pub type ClientTls =
    Arc<dyn Fn(Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> + Send + Sync>;

/// The proxy: limits, and TLS client configurations per CA file (built
/// once each).
pub struct XmlProxy {
    limits: XmlProxyLimits,
    tls: ClientTls,
    configs: Mutex<HashMap<Option<String>, Arc<rustls::ClientConfig>>>,
}

/// Why an exchange failed, with the status it gets.
#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error("no ICP to send it to (no device with the phone's MAC and no default ICP)")]
    NoIcp,
    #[error("TLS client configuration: {0}")]
    Tls(String),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("no TCP connection and TLS handshake within {0:?}")]
    ConnectTimeout(Duration),
    #[error("TLS handshake: {0}")]
    Handshake(std::io::Error),
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    #[error("HTTP: {0}")]
    Http(hyper::Error),
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the answer: {0}")]
    Body(String),
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
}

impl ProxyError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Drops hop-by-hop headers (those `Connection` names too).
fn drop_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove(HeaderName::from_static("proxy-connection"));
}

impl XmlProxy {
    /// A proxy with these limits, building TLS client configurations with
    /// `tls`.
    pub fn new(limits: XmlProxyLimits, tls: ClientTls) -> Self {
        Self {
            limits,
            tls,
            configs: Mutex::new(HashMap::new()),
        }
    }

    fn client_config(
        &self,
        ca_file: Option<&str>,
    ) -> Result<Arc<rustls::ClientConfig>, ProxyError> {
        let key = ca_file.map(str::to_owned);
        let mut configs = self
            .configs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(config) = configs.get(&key) {
            return Ok(Arc::clone(config));
        }
        let config = (self.tls)(ca_file).map_err(ProxyError::Tls)?;
        configs.insert(key, Arc::clone(&config));
        Ok(config)
    }

    /// Forwards `request` (whose path after the hash is `path`) to
    /// `target` and answers with the ICP's answer, or 502/504.
    pub(super) async fn forward(
        &self,
        target: Option<Target>,
        path: &str,
        peer: SocketAddr,
        request: Request,
    ) -> Response {
        if !matches!(
            *request.method(),
            Method::GET
                | Method::HEAD
                | Method::POST
                | Method::PUT
                | Method::DELETE
                | Method::OPTIONS
        ) {
            return StatusCode::METHOD_NOT_ALLOWED.into_response();
        }
        let Some(target) = target else {
            warn!(ip = %peer.ip(), path, reason = %ProxyError::NoIcp, "XML proxy: not forwarded");
            return StatusCode::BAD_GATEWAY.into_response();
        };
        let (parts, body) = request.into_parts();
        let total = self.limits.total_timeout;
        let read = Limited::new(body, self.limits.max_request).collect();
        let body = match tokio::time::timeout(total, read).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return StatusCode::PAYLOAD_TOO_LARGE.into_response();
            }
            Ok(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
            Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
        };
        let path_and_query = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        let mut headers = parts.headers;
        drop_hop_by_hop(&mut headers);
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(HeaderName::from_static("x-forwarded-for"));
        if let Ok(ip) = HeaderValue::from_str(&peer.ip().to_string()) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), ip);
        }
        let host = if target.port == 443 {
            target.host.clone()
        } else {
            format!("{}:{}", bracketed(&target.host), target.port)
        };
        if let Ok(v) = HeaderValue::from_str(&host) {
            headers.insert(header::HOST, v);
        }
        let mut outgoing = hyper::Request::new(Full::new(body));
        *outgoing.method_mut() = parts.method.clone();
        match path_and_query.parse() {
            Ok(uri) => *outgoing.uri_mut() = uri,
            Err(_) => return StatusCode::BAD_REQUEST.into_response(),
        }
        *outgoing.headers_mut() = headers;
        let exchange = tokio::time::timeout(total, self.exchange(&target, outgoing)).await;
        let result = exchange.unwrap_or(Err(ProxyError::Timeout(total)));
        match result {
            Ok(response) => {
                debug!(icp = %target.name, path, status = %response.status(), "XML request proxied");
                response
            }
            Err(e) => {
                warn!(
                    icp = %target.name,
                    host = %target.host,
                    port = target.port,
                    path,
                    reason = %e,
                    "XML proxy: the ICP's XML service did not answer"
                );
                e.status().into_response()
            }
        }
    }

    async fn exchange(
        &self,
        target: &Target,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<Response, ProxyError> {
        let config = self.client_config(target.ca_file.as_deref())?;
        let server_name = ServerName::try_from(target.host.clone())
            .map_err(|_| ProxyError::ServerName(target.host.clone()))?;
        let connect_within = self.limits.connect_timeout;
        let connect = async {
            let tcp = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(ProxyError::Connect)?;
            let _ = tcp.set_nodelay(true);
            TlsConnector::from(config)
                .connect(server_name, tcp)
                .await
                .map_err(ProxyError::Handshake)
        };
        let tls = tokio::time::timeout(connect_within, connect)
            .await
            .map_err(|_| ProxyError::ConnectTimeout(connect_within))??;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(ProxyError::Http)?;
        let driver = tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(error = %e, "XML proxy: connection to the ICP ended with an error");
            }
        });
        let answer = sender.send_request(request).await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                driver.abort();
                return Err(ProxyError::Http(e));
            }
        };
        let (mut parts, body) = answer.into_parts();
        let max = self.limits.max_response;
        let body = Limited::new(body, max).collect().await;
        driver.abort();
        let body = match body {
            Ok(collected) => collected.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return Err(ProxyError::TooLarge(max));
            }
            Err(e) => return Err(ProxyError::Body(e.to_string())),
        };
        drop_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::CONTENT_LENGTH);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = parts.status;
        *response.headers_mut() = parts.headers;
        Ok(response)
    }
}

/// An IPv6 address in brackets for a `Host` header.
fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        drop_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::ACCEPT));
        assert_eq!(bracketed("2001:db8::1"), "[2001:db8::1]");
        assert_eq!(bracketed("icp.example.com"), "icp.example.com");
    }
}
