//! The HTTPS client `instant-acme` talks to the ACME server through.
//!
//! Our own rather than `instant-acme`'s default one, for three reasons: it
//! trusts the webpki roots plus an optional extra CA (Pebble's test CA, a
//! company's internal CA) instead of the platform verifier; it uses rustls
//! with the aws-lc-rs provider explicitly, like the rest of the workspace;
//! and every request, body included, is bounded in time and size, so a
//! stalled server cannot hold an order forever.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::AcmeError;

/// The largest response body accepted (a certificate chain is a few KiB).
const MAX_BODY: usize = 1024 * 1024;
/// The largest extra CA file read.
const MAX_CA_FILE: u64 = 1024 * 1024;

/// A hyper client over rustls with a per-request deadline.
#[derive(Clone)]
pub(crate) struct AcmeHttp {
    client: Client<HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>,
    timeout: Duration,
}

impl AcmeHttp {
    /// Builds the client; reads and checks the extra CA file now, so a bad
    /// path is reported when the client is made, not at the first order.
    pub(crate) fn new(extra_ca: Option<&Path>, timeout: Duration) -> Result<Self, AcmeError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = extra_ca {
            for cert in read_ca_file(path)? {
                roots.add(cert).map_err(|e| AcmeError::ExtraCa {
                    path: path.to_owned(),
                    detail: format!("a certificate is not a usable trust anchor: {e}"),
                })?;
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AcmeError::Config(format!("TLS client configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self { client, timeout })
    }
}

/// The PEM certificates in `path`, at least one.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, AcmeError> {
    let err = |detail: String| AcmeError::ExtraCa {
        path: path.to_owned(),
        detail,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| err(e.to_string()))?
        .len();
    if len > MAX_CA_FILE {
        return Err(err(format!("{len} bytes, more than a CA file has")));
    }
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in it".into()));
    }
    Ok(certs)
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.client.clone();
        let timeout = self.timeout;
        let uri = req.uri().to_string();
        Box::pin(async move {
            // The whole exchange, body included, within one deadline.
            let exchange = async {
                let rsp = client
                    .request(req)
                    .await
                    .map_err(|e| instant_acme::Error::Other(Box::new(ErrorChain(e))))?;
                let (parts, body) = rsp.into_parts();
                let body = Limited::new(body, MAX_BODY)
                    .collect()
                    .await
                    .map_err(instant_acme::Error::Other)?
                    .to_bytes();
                Ok(BytesResponse::from(Response::from_parts(
                    parts,
                    Full::new(body),
                )))
            };
            match tokio::time::timeout(timeout, exchange).await {
                Ok(result) => result,
                Err(_) => Err(instant_acme::Error::Other(
                    format!(
                        "no complete answer from {uri} within {} s",
                        timeout.as_secs()
                    )
                    .into(),
                )),
            }
        })
    }
}

/// hyper's client error says only "client error (Connect)"; the reason
/// (refused, certificate unknown, ...) is in its sources. Shows them all.
#[derive(Debug)]
struct ErrorChain<E>(E);

impl<E: std::error::Error> std::fmt::Display for ErrorChain<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        // Bounded: error chains are short, but a cycle must not hang us.
        for _ in 0..8 {
            let Some(s) = source else { break };
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

impl<E: std::error::Error> std::error::Error for ErrorChain<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let Err(e) = AcmeHttp::new(Some(&path), Duration::from_secs(1)) else {
            panic!("accepted a CA file without certificates");
        };
        assert!(e.to_string().contains("no CERTIFICATE"), "{e}");
    }

    #[test]
    fn missing_extra_ca_file_names_the_path() {
        let Err(e) = AcmeHttp::new(
            Some(Path::new("/nonexistent/pebble.minica.pem")),
            Duration::from_secs(1),
        ) else {
            panic!("accepted a missing CA file");
        };
        assert!(
            e.to_string().contains("/nonexistent/pebble.minica.pem"),
            "{e}"
        );
    }
}
