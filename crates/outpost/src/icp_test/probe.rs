//! The network half of `outpost icps test`: a TCP connect from the private
//! side's interface (as `transport::connect` dials), a TLS handshake that
//! records the certificate it was shown whatever the verdict, and an
//! OPTIONS round trip over UDP (retransmitted from T1, doubling up to T2,
//! RFC 3261 §17.1.2.2) or over a stream.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use outpost_sip::framing::{Frame, next_frame};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use x509_parser::extensions::GeneralName;

use super::options::{OptionsProbe, Reply};
use crate::transport::TransportKind;

/// Why a TCP connection could not be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// RST: nothing listens there.
    Refused,
    /// No answer within the timeout.
    TimedOut(Duration),
    /// The private interface's address could not be bound.
    Bind(IpAddr, io::Error),
    /// Anything else (no route, network down).
    Other(io::Error),
}

/// A certificate, as `icps test` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// Subject alternative names (DNS names, IP addresses).
    pub(crate) names: Vec<String>,
    /// The subject, e.g. `CN=pbx.example.com`.
    pub(crate) subject: String,
    /// The issuer.
    pub(crate) issuer: String,
    /// End of validity.
    pub(crate) not_after: OffsetDateTime,
}

/// Why the TLS handshake failed.
#[derive(Debug)]
pub(crate) enum TlsError {
    /// The certificate does not cover the name it was checked against.
    NameMismatch(CertInfo),
    /// The certificate's issuer is not trusted (`None`: nothing to trust).
    UnknownIssuer(Option<CertInfo>),
    /// The certificate has expired or is not valid yet.
    Expired(Option<CertInfo>),
    /// The verification failed for another reason.
    BadCertificate(String),
    /// The peer spoke something other than TLS.
    NotTls(String),
    /// The peer sent an alert or closed the connection.
    Refused(String),
    /// No handshake within the timeout.
    TimedOut(Duration),
}

/// Why the OPTIONS round trip failed.
#[derive(Debug)]
pub(crate) enum OptionsError {
    /// No final response within the timeout.
    NoAnswer {
        /// How many times the request was sent.
        sent: u32,
        /// A provisional response came, then nothing.
        provisional: Option<u16>,
    },
    /// ICMP port unreachable (UDP) or a closed connection.
    Refused,
    /// The connection was closed before a response.
    Closed,
    /// A local error sending or receiving.
    Io(io::Error),
}

/// The answer to OPTIONS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answered {
    /// Status code.
    pub(crate) status: u16,
    /// Reason phrase.
    pub(crate) reason: String,
    /// The iPBX's `Server` or `User-Agent`.
    pub(crate) server: Option<String>,
    /// Requests sent (more than 1: UDP retransmissions).
    pub(crate) sent: u32,
}

/// Connects to `peer` from `bind` (the private side's `interface`, when it
/// is of the peer's family), within `timeout`.
pub(crate) async fn connect(
    peer: SocketAddr,
    bind: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, ConnectError> {
    let socket = match peer {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(ConnectError::Other)?;
    if let Some(ip) = bind.filter(|ip| ip.is_ipv4() == peer.is_ipv4()) {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| ConnectError::Bind(ip, e))?;
    }
    match tokio::time::timeout(timeout, socket.connect(peer)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Err(ConnectError::Refused),
        Ok(Err(e)) => Err(ConnectError::Other(e)),
        Err(_) => Err(ConnectError::TimedOut(timeout)),
    }
}

/// What the verifier saw: the server's certificate and the verdict.
type Seen = Mutex<Option<(CertificateDer<'static>, Option<rustls::Error>)>>;

/// rustls' own WebPKI verifier, recording the certificate it checks so a
/// failure can say which names the certificate does cover.
#[derive(Debug)]
struct Recording {
    /// `None` when there is nothing to trust (no CA file, no certificate
    /// of Outpost's): every certificate is then of an unknown issuer.
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    seen: Arc<Seen>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some((
            end_entity.clone().into_owned(),
            verdict.as_ref().err().cloned(),
        ));
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The TLS handshake over `stream`, checking the certificate against
/// `server_name` with `roots`, within `timeout`.
pub(crate) async fn handshake(
    stream: TcpStream,
    server_name: &str,
    roots: RootCertStore,
    timeout: Duration,
) -> Result<(TlsStream<TcpStream>, CertInfo), TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let inner = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(|e| TlsError::BadCertificate(e.to_string()))?,
        )
    };
    let seen: Arc<Seen> = Arc::default();
    let verifier = Arc::new(Recording {
        inner,
        provider: Arc::clone(&provider),
        seen: Arc::clone(&seen),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::BadCertificate(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(server_name.to_owned())
        .map_err(|e| TlsError::BadCertificate(format!("`{server_name}`: {e}")))?;
    let connector = TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).take();
    let cert = seen.as_ref().and_then(|(der, _)| cert_info(der));
    match result {
        Err(_) => Err(TlsError::TimedOut(timeout)),
        Ok(Ok(tls)) => match cert {
            Some(cert) => Ok((tls, cert)),
            None => Err(TlsError::BadCertificate(
                "the certificate could not be read".to_owned(),
            )),
        },
        Ok(Err(e)) => {
            let verdict = seen.and_then(|(_, verdict)| verdict);
            let rustls_error = verdict.or_else(|| {
                e.get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .cloned()
            });
            Err(classify_tls(rustls_error, cert, &e))
        }
    }
}

fn classify_tls(error: Option<rustls::Error>, cert: Option<CertInfo>, io: &io::Error) -> TlsError {
    use rustls::Error as E;
    match error {
        Some(E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => match cert {
            Some(cert) => TlsError::NameMismatch(cert),
            None => TlsError::BadCertificate("not valid for the name".to_owned()),
        },
        Some(E::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            TlsError::UnknownIssuer(cert)
        }
        Some(E::InvalidCertificate(
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. },
        )) => TlsError::Expired(cert),
        Some(E::InvalidCertificate(other)) => TlsError::BadCertificate(format!("{other:?}")),
        Some(E::InvalidMessage(_) | E::InappropriateMessage { .. }) => {
            TlsError::NotTls(io.to_string())
        }
        Some(E::AlertReceived(alert)) => TlsError::Refused(format!("alert {alert:?}")),
        Some(other) => TlsError::Refused(other.to_string()),
        None if io.kind() == io::ErrorKind::UnexpectedEof => {
            TlsError::Refused("the connection was closed".to_owned())
        }
        None => TlsError::Refused(io.to_string()),
    }
}

/// Reads what `icps test` shows of a DER certificate.
pub(crate) fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                        _ => None,
                    };
                    names.extend(ip.map(|ip| ip.to_string()));
                }
                _ => {}
            }
        }
    }
    Some(CertInfo {
        names,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

impl CertInfo {
    /// Days from `now` to the end of validity (negative once expired).
    pub(crate) fn days_left(&self, now: SystemTime) -> i64 {
        (self.not_after - OffsetDateTime::from(now)).whole_days()
    }
}

/// RFC 3261 §17.1.2.2 timers for UDP retransmissions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timers {
    /// T1: first retransmission interval.
    pub(crate) t1: Duration,
    /// T2: the longest interval.
    pub(crate) t2: Duration,
}

/// OPTIONS over UDP from `bind` (or any address) to `peer`: sent, then
/// re-sent at T1, 2·T1, ... (at most T2 apart) until a final response or
/// `timeout`.
pub(crate) async fn options_udp(
    probe: &OptionsProbe,
    peer: SocketAddr,
    bind: Option<IpAddr>,
    timers: Timers,
    timeout: Duration,
) -> Result<Answered, OptionsError> {
    let local_ip = bind
        .filter(|ip| ip.is_ipv4() == peer.is_ipv4())
        .unwrap_or(if peer.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from([0u16; 8])
        });
    let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0))
        .await
        .map_err(OptionsError::Io)?;
    // Connected: the kernel picks the source address (for the Via) and
    // reports ICMP port unreachable as ECONNREFUSED.
    socket.connect(peer).await.map_err(OptionsError::Io)?;
    let local = socket.local_addr().map_err(OptionsError::Io)?;
    let request = probe
        .request(TransportKind::Udp, local)
        .map_err(|e| OptionsError::Io(io::Error::other(e.to_string())))?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut next_send = tokio::time::Instant::now();
    let mut interval = timers.t1;
    let mut sent = 0u32;
    let mut provisional = None;
    let mut buf = vec![0u8; 65_536];
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(OptionsError::NoAnswer { sent, provisional });
        }
        if now >= next_send {
            match socket.send(&request).await {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    return Err(OptionsError::Refused);
                }
                Err(e) => return Err(OptionsError::Io(e)),
            }
            next_send = now + interval;
            interval = (interval * 2).min(timers.t2);
        }
        let received =
            tokio::time::timeout_at(next_send.min(deadline), socket.recv(&mut buf)).await;
        let n = match received {
            Err(_) => continue,
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(OptionsError::Refused);
            }
            Ok(Err(e)) => return Err(OptionsError::Io(e)),
            Ok(Ok(n)) => n,
        };
        match probe.classify(bytes::Bytes::copy_from_slice(&buf[..n])) {
            Reply::Final {
                status,
                reason,
                server,
            } => {
                return Ok(Answered {
                    status,
                    reason,
                    server,
                    sent,
                });
            }
            // RFC 3261 §17.1.2.2: in Proceeding, retransmit every T2.
            Reply::Provisional(code) => {
                if provisional.is_none() {
                    next_send = tokio::time::Instant::now() + timers.t2;
                }
                provisional = Some(code);
                interval = timers.t2;
            }
            Reply::Unrelated => {}
        }
    }
}

/// OPTIONS over a TCP or TLS stream whose local address is `local`.
pub(crate) async fn options_stream<S>(
    probe: &OptionsProbe,
    stream: &mut S,
    transport: TransportKind,
    local: SocketAddr,
    timeout: Duration,
) -> Result<Answered, OptionsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = probe
        .request(transport, local)
        .map_err(|e| OptionsError::Io(io::Error::other(e.to_string())))?;
    let mut provisional = None;
    let exchange = async {
        stream.write_all(&request).await.map_err(stream_error)?;
        stream.flush().await.map_err(stream_error)?;
        let mut buf = BytesMut::with_capacity(4096);
        loop {
            while let Some(frame) = next_frame(&mut buf, 65_536)
                .map_err(|e| OptionsError::Io(io::Error::other(e.to_string())))?
            {
                let Frame::Message(bytes) = frame else {
                    continue;
                };
                match probe.classify(bytes) {
                    Reply::Final {
                        status,
                        reason,
                        server,
                    } => {
                        return Ok(Answered {
                            status,
                            reason,
                            server,
                            sent: 1,
                        });
                    }
                    Reply::Provisional(code) => provisional = Some(code),
                    Reply::Unrelated => {}
                }
            }
            if stream.read_buf(&mut buf).await.map_err(stream_error)? == 0 {
                return Err(OptionsError::Closed);
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(OptionsError::NoAnswer {
            sent: 1,
            provisional,
        }),
    }
}

fn stream_error(e: io::Error) -> OptionsError {
    match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused => OptionsError::Refused,
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => OptionsError::Closed,
        _ => OptionsError::Io(e),
    }
}
