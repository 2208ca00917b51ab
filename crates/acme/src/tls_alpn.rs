//! The TLS-ALPN-01 responder (RFC 8737): a TLS listener that completes a
//! handshake only for a ClientHello offering ALPN `acme-tls/1` with an SNI
//! of a pending name, presenting a self-signed certificate for that name
//! with the critical acmeIdentifier extension (RFC 8737 §3) holding the
//! SHA-256 digest of the key authorization. Every other handshake is
//! refused. TLS 1.2 and 1.3 only (rustls speaks nothing older).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{CertificateParams, CustomExtension, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::{AcmeError, ChallengeKind};

/// The ALPN protocol of RFC 8737 §6.2.
pub(crate) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// Time for a client to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The validation certificate for `name`: self-signed, exactly one
/// dNSName SAN, acmeIdentifier = `digest` (SHA-256 of the key
/// authorization).
pub(crate) fn challenge_certificate(name: &str, digest: &[u8]) -> Result<CertifiedKey, AcmeError> {
    let crypto = |detail: String| AcmeError::Crypto {
        what: "the tls-alpn-01 validation certificate",
        detail,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| crypto(e.to_string()))?;
    let mut params =
        CertificateParams::new(vec![name.to_owned()]).map_err(|e| crypto(e.to_string()))?;
    params.custom_extensions = vec![CustomExtension::new_acme_identifier(digest)];
    let cert = params
        .self_signed(&key)
        .map_err(|e| crypto(e.to_string()))?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der)
        .map_err(|e| crypto(e.to_string()))?;
    Ok(CertifiedKey::new(vec![cert.der().clone()], signing_key))
}

/// Picks the validation certificate by SNI, only for `acme-tls/1`.
#[derive(Debug)]
struct ChallengeResolver {
    /// Lower-case name → its validation certificate.
    certs: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ChallengeResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // RFC 8737 §3: only a ClientHello with acme-tls/1 gets the
        // validation certificate; anything else is refused.
        let offers_acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if !offers_acme {
            return None;
        }
        let name = hello.server_name()?.to_ascii_lowercase();
        self.certs.get(&name).cloned()
    }
}

/// A listening TLS-ALPN-01 responder; stops when shut down or dropped.
pub(crate) struct TlsAlpnResponder {
    task: JoinHandle<()>,
    local_addr: SocketAddr,
}

impl TlsAlpnResponder {
    /// Binds `addr` and answers for `certs` (name → validation certificate).
    pub(crate) async fn bind(
        addr: SocketAddr,
        certs: HashMap<String, CertifiedKey>,
    ) -> Result<Self, AcmeError> {
        let resolver = ChallengeResolver {
            certs: certs
                .into_iter()
                .map(|(name, key)| (name.to_ascii_lowercase(), Arc::new(key)))
                .collect(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| AcmeError::Config(format!("TLS server configuration: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let bind_err = |source| AcmeError::Bind {
            kind: ChallengeKind::TlsAlpn01,
            addr,
            source,
        };
        let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let task = tokio::spawn(accept_loop(listener, acceptor));
        Ok(Self { task, local_addr })
    }

    /// Where it listens.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening; returns once the socket is closed.
    pub(crate) async fn shutdown(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for TlsAlpnResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor) {
    crate::accept::accept_loop(listener, "tls-alpn-01", HANDSHAKE_TIMEOUT, move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let mut tls = acceptor.accept(stream).await?;
            // The handshake is the whole answer (RFC 8737 §3).
            tls.shutdown().await
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use tokio::net::TcpStream;
    use tokio_rustls::TlsConnector;

    /// Accepts any certificate: the test inspects it itself, as a CA's
    /// validation does (RFC 8737 §3 checks the extension, not a chain).
    #[derive(Debug)]
    struct AnyCertificate;

    impl ServerCertVerifier for AnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    const DIGEST: [u8; 32] = [7; 32];

    async fn responder() -> TlsAlpnResponder {
        let cert = challenge_certificate("sbc.acme.test", &DIGEST).unwrap();
        TlsAlpnResponder::bind(
            "127.0.0.1:0".parse().unwrap(),
            HashMap::from([("sbc.acme.test".to_owned(), cert)]),
        )
        .await
        .unwrap()
    }

    /// Handshakes as a CA would; returns the presented leaf, or the error.
    async fn handshake(
        addr: SocketAddr,
        sni: &str,
        alpn: &[&[u8]],
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Result<CertificateDer<'static>, std::io::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let tcp = TcpStream::connect(addr).await?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from(sni.to_owned()).unwrap(), tcp)
            .await?;
        let (_, conn) = tls.get_ref();
        assert_eq!(conn.alpn_protocol(), Some(ACME_TLS_ALPN));
        Ok(conn.peer_certificates().unwrap()[0].clone())
    }

    #[tokio::test]
    async fn presents_the_acme_identifier_for_a_pending_name() {
        let r = responder().await;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let leaf = handshake(r.local_addr(), "sbc.acme.test", &[ACME_TLS_ALPN], version)
                .await
                .unwrap();
            let (_, cert) = x509_parser::parse_x509_certificate(&leaf).unwrap();
            let sans: Vec<String> = cert
                .subject_alternative_name()
                .unwrap()
                .unwrap()
                .value
                .general_names
                .iter()
                .map(|n| n.to_string())
                .collect();
            assert_eq!(sans, ["DNSName(sbc.acme.test)"]);
            // id-pe-acmeIdentifier, critical, OCTET STRING of the digest.
            let ext = cert
                .extensions()
                .iter()
                .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
                .expect("acmeIdentifier extension");
            assert!(ext.critical);
            let mut expected = vec![0x04, 32];
            expected.extend_from_slice(&DIGEST);
            assert_eq!(ext.value, expected.as_slice());
        }
    }

    #[tokio::test]
    async fn the_name_is_matched_without_regard_to_case() {
        let r = responder().await;
        handshake(
            r.local_addr(),
            "SBC.Acme.Test",
            &[ACME_TLS_ALPN],
            &rustls::version::TLS13,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn refuses_without_acme_alpn_or_for_another_name() {
        let r = responder().await;
        let v = &rustls::version::TLS13;
        assert!(
            handshake(r.local_addr(), "sbc.acme.test", &[], v)
                .await
                .is_err()
        );
        assert!(
            handshake(r.local_addr(), "sbc.acme.test", &[b"h2"], v)
                .await
                .is_err()
        );
        assert!(
            handshake(r.local_addr(), "other.acme.test", &[ACME_TLS_ALPN], v)
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn after_shutdown_nothing_listens() {
        let r = responder().await;
        let addr = r.local_addr();
        r.shutdown().await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
