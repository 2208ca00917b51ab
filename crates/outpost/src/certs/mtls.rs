//! Mutual TLS for trunks (SPEC SIG-2, the seeds' "Mixte (MTLS)"), and the
//! OTT terminals' certificate check (NET-5).
//!
//! With `private.mtls` on, the private side's TLS listener requires a
//! client certificate that chains to a CA of `private.mtls_ca_file`
//! (rustls' [`WebPkiClientVerifier`]: signature, validity, key usage), and
//! when `private.mtls_peer_name` is set, one that carries that name (a DNS
//! or IP subjectAltName, a wildcard DNS name covering it, or the CN);
//! anything else is refused at the handshake with the TLS alert that says
//! why (`certificate_required`, `unknown_ca`, `bad_certificate`...). And
//! when Outpost connects to the iPBX over TLS, it presents its own
//! `sip-private` certificate as client certificate ([`ClientIdentity`]),
//! read at each handshake from the usage's live set, so a rotation applies
//! to the next connections as it does to the listener.
//!
//! TLS 1.2 and 1.3 only, with the aws-lc-rs provider, as everywhere else
//! in [`super`]. The public side is not affected.
//!
//! MTLS and OTT terminals are mutually exclusive (the configuration
//! refuses both); [`ott_certificate_warning`] says at start what an OTT
//! client would find wrong with the `sip-public` certificate.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::ResolvesClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error as TlsError, SignatureScheme,
};
use tracing::warn;
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};

use super::{CertError, LiveCertificate, LiveUsages, key_log, trust_roots};
use crate::config::{Config, SideConfig};
use outpost_certs::store::Usage;

/// What mutual TLS on a side asks of its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsPolicy {
    /// PEM file of the CA(s) that sign the peers' client certificates.
    pub ca_file: PathBuf,
    /// The name a peer's certificate must carry; `None`: any.
    pub peer_name: Option<String>,
}

impl MtlsPolicy {
    /// The policy of `side` (`private.mtls*`), `None` when MTLS is off.
    /// Validation guarantees the CA file when it is on; without one, an
    /// empty path fails loudly at [`client_verifier`].
    pub fn of(side: &SideConfig) -> Option<Self> {
        side.mtls.then(|| Self {
            ca_file: side.mtls_ca_file.clone().unwrap_or_default(),
            peer_name: side.mtls_peer_name.clone(),
        })
    }
}

/// The private side's TLS server configuration: the `sip-private`
/// certificates of `live`, and client certificates required per
/// `private.mtls*` when MTLS is on (else none asked, as before).
///
/// # Errors
/// The CA file cannot be read or holds no usable CA certificate.
pub fn private_server_config(
    live: &LiveUsages,
    private: &SideConfig,
) -> Result<Arc<rustls::ServerConfig>, CertError> {
    match MtlsPolicy::of(private) {
        None => live.server_config(Usage::SipPrivate),
        Some(policy) => server_config_requiring(live.get(Usage::SipPrivate), &policy),
    }
}

/// Outpost's client identity toward MTLS peers when `private.mtls` is on:
/// the `sip-private` set of `live`.
pub fn private_client_identity(
    live: &LiveUsages,
    private: &SideConfig,
) -> Option<Arc<ClientIdentity>> {
    private
        .mtls
        .then(|| Arc::new(ClientIdentity::new(live.get(Usage::SipPrivate))))
}

/// A TLS 1.2/1.3 server configuration presenting what `live` holds and
/// requiring a client certificate that `policy` accepts.
///
/// # Errors
/// See [`client_verifier`].
pub fn server_config_requiring(
    live: Arc<LiveCertificate>,
    policy: &MtlsPolicy,
) -> Result<Arc<rustls::ServerConfig>, CertError> {
    let verifier = client_verifier(policy)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(live as Arc<dyn ResolvesServerCert>);
    config.key_log = key_log();
    Ok(Arc::new(config))
}

/// The client certificate check of `policy`: the CA file's certificates
/// as trust anchors (WebPKI path validation), then the peer name if set.
///
/// # Errors
/// The CA file cannot be read, holds no certificate, or one rustls cannot
/// use as a trust anchor.
pub fn client_verifier(policy: &MtlsPolicy) -> Result<Arc<dyn ClientCertVerifier>, CertError> {
    let roots = ca_roots(&policy.ca_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| {
            bad_ca(
                &policy.ca_file,
                format!("no client certificate verifier: {e}"),
            )
        })?;
    Ok(Arc::new(PeerVerifier {
        inner,
        peer_name: policy.peer_name.clone(),
    }))
}

/// The CA certificates of `path` as trust anchors.
fn ca_roots(path: &Path) -> Result<rustls::RootCertStore, CertError> {
    let certs = match CertificateDer::pem_file_iter(path) {
        Ok(iter) => iter
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_ca(path, format!("not PEM certificates: {e}")))?,
        Err(rustls::pki_types::pem::Error::Io(e)) => {
            return Err(CertError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(e.kind(), format!("{e}; {CA_FILE_HINT}")),
            });
        }
        Err(e) => return Err(bad_ca(path, format!("not PEM certificates: {e}"))),
    };
    if certs.is_empty() {
        return Err(bad_ca(path, "no certificate found".to_owned()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| bad_ca(path, format!("a certificate cannot be a trust anchor: {e}")))?;
    }
    Ok(roots)
}

const CA_FILE_HINT: &str = "private.mtls_ca_file must be the PEM file of the CA certificate(s) \
     that sign the trunk peers' client certificates";

fn bad_ca(path: &Path, what: String) -> CertError {
    CertError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{what}; {CA_FILE_HINT}"),
        ),
    }
}

/// WebPKI's check, then the peer name; each refusal is logged with the
/// certificate's subject (the private side faces the LAN, where the
/// administrator needs to see why a trunk cannot connect).
#[derive(Debug)]
struct PeerVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    peer_name: Option<String>,
}

impl ClientCertVerifier for PeerVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        let described = || {
            outpost_certs::CertificateInfo::from_der(end_entity).map_or_else(
                || ("(unreadable)".to_owned(), "(unreadable)".to_owned()),
                |i| (i.subject, i.issuer),
            )
        };
        if let Err(e) = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            let (subject, issuer) = described();
            warn!(%subject, %issuer, error = %e, "MTLS: client certificate refused; is it signed by a CA of private.mtls_ca_file, and valid?");
            return Err(e);
        }
        let Some(wanted) = &self.peer_name else {
            return Ok(ClientCertVerified::assertion());
        };
        let names = PeerNames::of(end_entity);
        if names.carry(wanted) {
            return Ok(ClientCertVerified::assertion());
        }
        let presented = names.all();
        let (subject, issuer) = described();
        warn!(%subject, %issuer, expected = %wanted, ?presented, "MTLS: client certificate refused: it does not carry private.mtls_peer_name");
        Err(TlsError::InvalidCertificate(
            match ServerName::try_from(wanted.clone()) {
                Ok(expected) => CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                },
                Err(_) => CertificateError::NotValidForName,
            },
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The names a certificate carries: subjectAltName DNS names and IP
/// addresses, and the subject's CNs.
#[derive(Debug, Default, PartialEq, Eq)]
struct PeerNames {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    cns: Vec<String>,
}

impl PeerNames {
    /// The names of DER certificate `der` (none when it does not parse).
    fn of(der: &[u8]) -> Self {
        let Ok((_, cert)) = X509Certificate::from_der(der) else {
            return Self::default();
        };
        let mut names = Self::default();
        for ext in cert.extensions() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => names.dns.push((*d).to_owned()),
                        GeneralName::IPAddress(bytes) => {
                            if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                                names.ips.push(IpAddr::from(v4));
                            } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                                names.ips.push(IpAddr::from(v6));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        names.cns = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok())
            .map(str::to_owned)
            .collect();
        names
    }

    /// Whether `wanted` (a host name or an IP address) is one of them: an
    /// IP subjectAltName equal to it, a DNS one covering it (a wildcard
    /// stands for one label, RFC 6125 §6.4.3), or a CN equal to it (case
    /// and a final dot aside; as an address when both are addresses).
    fn carry(&self, wanted: &str) -> bool {
        let wanted = wanted.trim_end_matches('.');
        if let Ok(ip) = wanted.parse::<IpAddr>() {
            return self.ips.contains(&ip)
                || self.cns.iter().any(|cn| cn.parse::<IpAddr>() == Ok(ip));
        }
        self.dns
            .iter()
            .any(|pattern| outpost_certs::name_covered(pattern, wanted))
            || self
                .cns
                .iter()
                .any(|cn| cn.trim_end_matches('.').eq_ignore_ascii_case(wanted))
    }

    /// Every name, for messages: DNS, then addresses, then `CN=...`.
    fn all(&self) -> Vec<String> {
        self.dns
            .iter()
            .cloned()
            .chain(self.ips.iter().map(ToString::to_string))
            .chain(self.cns.iter().map(|cn| format!("CN={cn}")))
            .collect()
    }
}

/// Outpost's client certificate toward MTLS peers: a certificate of a
/// usage's live set (`sip-private`), taken at each handshake, so a
/// rotation applies to the next connection. Among several (SNI
/// candidates), the first whose chain names a CA the server hinted at,
/// else the first the server's signature schemes allow.
#[derive(Debug)]
pub struct ClientIdentity {
    live: Arc<LiveCertificate>,
}

impl ClientIdentity {
    /// Presents what `live` holds at each handshake.
    pub fn new(live: Arc<LiveCertificate>) -> Self {
        Self { live }
    }
}

impl ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        let set = self.live.current();
        let usable: Vec<&Arc<CertifiedKey>> = set
            .iter()
            .map(|p| &p.key)
            .filter(|key| key.key.choose_scheme(sigschemes).is_some())
            .collect();
        let hinted = usable
            .iter()
            .find(|key| names_a_hinted_ca(key, root_hint_subjects));
        hinted.or_else(|| usable.first()).map(|key| Arc::clone(key))
    }

    fn has_certs(&self) -> bool {
        !self.live.current().is_empty()
    }
}

/// Whether a certificate of `key`'s chain is issued by (or is) one of the
/// distinguished names the server hinted at.
fn names_a_hinted_ca(key: &CertifiedKey, hints: &[&[u8]]) -> bool {
    if hints.is_empty() {
        return false;
    }
    key.cert.iter().any(|cert| {
        X509Certificate::from_der(cert).is_ok_and(|(_, c)| {
            let (issuer, subject) = (c.issuer().as_raw(), c.subject().as_raw());
            hints.iter().any(|h| *h == issuer || *h == subject)
        })
    })
}

/// A rustls client configuration for outgoing TLS (TLS 1.2 and 1.3):
/// trusting `chain` (Outpost's own certificate) and the CAs of `ca_file`,
/// as [`super::client_config_trusting`] does, and presenting `identity`
/// when a server asks for a client certificate (MTLS); no client
/// certificate without one.
///
/// # Errors
/// The CA file cannot be read or used.
pub fn client_config(
    chain: &[CertificateDer<'static>],
    ca_file: Option<&Path>,
    identity: Option<Arc<ClientIdentity>>,
) -> Result<Arc<rustls::ClientConfig>, CertError> {
    let roots = trust_roots(chain, ca_file)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some(identity) => builder.with_client_cert_resolver(identity),
        None => builder.with_no_client_auth(),
    };
    config.key_log = key_log();
    Ok(Arc::new(config))
}

/// Builds client configurations for ICPs' own CA files (read by the
/// connect task, off the core), trusting `chain` too and presenting
/// `identity`: [`crate::transport::connect::CaLoader`] for MTLS.
pub fn ca_loader(
    chain: Vec<CertificateDer<'static>>,
    identity: Arc<ClientIdentity>,
) -> crate::transport::connect::CaLoader {
    Box::new(move |path: &Path| {
        client_config(&chain, Some(path), Some(Arc::clone(&identity))).map_err(|e| e.to_string())
    })
}

/// With `public.ott_terminals` on, what an OTT client (Mitel Dialer,
/// Unify Phone) connecting to the FQDN would find wrong with the
/// certificates `public` presents (`sip-public`), with the fix: none
/// covers the FQDN, or the one that does is self-signed. `None` when OTT
/// terminals are off or all is well.
pub fn ott_certificate_warning(config: &Config, public: &LiveCertificate) -> Option<String> {
    if !config.public.ott_terminals {
        return None;
    }
    let Some(fqdn) = config.fqdn.as_deref() else {
        return Some(
            "public.ott_terminals is on but fqdn is not set: OTT clients (Mitel Dialer, Unify \
             Phone) connect to the gateway's public FQDN; set fqdn"
                .to_owned(),
        );
    };
    let presented = public.presented();
    let Some((name, info)) = presented.iter().find(|(_, info)| info.covers(fqdn)) else {
        let names: Vec<String> = presented
            .iter()
            .flat_map(|(_, info)| info.names.iter().cloned())
            .collect();
        return Some(format!(
            "public.ott_terminals is on but no certificate presented on the public side \
             (sip-public) covers the FQDN {fqdn} (they cover: {}); OTT clients (Mitel Dialer, \
             Unify Phone) connect to that name and will refuse the connection: import a \
             certificate for {fqdn} and assign it to sip-public (`outpost certs import`, \
             `outpost certs assign sip-public NAME`), or request one from an ACME CA such as \
             Let's Encrypt",
            names.join(", ")
        ));
    };
    info.self_signed.then(|| {
        format!(
            "public.ott_terminals is on but the certificate covering {fqdn} on the public side \
             (sip-public: {name}, {}) is self-signed: OTT clients (Mitel Dialer, Unify Phone) \
             check it against public CAs and will refuse it; import a certificate for {fqdn} \
             from a public CA and assign it to sip-public (`outpost certs import`, `outpost \
             certs assign sip-public NAME`), or request one from an ACME CA such as Let's Encrypt",
            info.subject
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use outpost_certs::store::LoadedCertificate;

    /// A test CA.
    struct Ca {
        issuer: Issuer<'static, KeyPair>,
        pem: String,
    }

    impl Ca {
        fn new(name: &str) -> Self {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let pem = params.self_signed(&key).unwrap().pem();
            Self {
                issuer: Issuer::new(params, key),
                pem,
            }
        }

        /// A leaf for `sans` (DNS names or IP addresses) with CN `cn`,
        /// valid for client and server authentication.
        fn leaf(&self, sans: &[&str], cn: &str) -> LoadedCertificate {
            let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
            let mut params = CertificateParams::new(sans).unwrap();
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ClientAuth,
                ExtendedKeyUsagePurpose::ServerAuth,
            ];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            let der = cert.der().clone();
            LoadedCertificate {
                name: cn.to_ascii_lowercase().replace(' ', "-"),
                info: outpost_certs::CertificateInfo::from_der(&der).unwrap(),
                chain: vec![der],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            }
        }

        fn file(&self, dir: &Path) -> PathBuf {
            let path = dir.join(format!("ca-{}.pem", self.pem.len()));
            std::fs::write(&path, &self.pem).unwrap();
            path
        }
    }

    fn verify(policy: &MtlsPolicy, cert: &LoadedCertificate) -> Result<(), TlsError> {
        client_verifier(policy)
            .unwrap()
            .verify_client_cert(&cert.chain[0], &cert.chain[1..], UnixTime::now())
            .map(|_| ())
    }

    /// A live set presenting Outpost's own self-signed certificate for
    /// `names`, as `serve` starts.
    fn live_self_signed(dir: &Path, names: &[&str]) -> Arc<LiveCertificate> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let identity = super::super::load_or_generate(dir, &names).unwrap();
        Arc::new(LiveCertificate::new(&identity).unwrap())
    }

    #[test]
    fn peer_names_come_from_the_san_and_the_cn() {
        let ca = Ca::new("Names CA");
        let cert = ca.leaf(&["*.trunks.example.com", "10.1.2.3"], "PBX-1.example.com");
        let names = PeerNames::of(&cert.chain[0]);
        assert!(names.carry("pbx.trunks.example.com"));
        assert!(names.carry("PBX.Trunks.Example.com."));
        assert!(
            !names.carry("a.b.trunks.example.com"),
            "a wildcard is one label"
        );
        assert!(names.carry("10.1.2.3"));
        assert!(!names.carry("10.1.2.4"));
        assert!(names.carry("pbx-1.example.com"), "the CN counts too");
        assert!(!names.carry("pbx-2.example.com"));
        assert_eq!(
            names.all(),
            ["*.trunks.example.com", "10.1.2.3", "CN=PBX-1.example.com"]
        );
        assert_eq!(PeerNames::of(b"garbage"), PeerNames::default());
    }

    #[test]
    fn the_verifier_wants_the_ca_and_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let (ca, other) = (Ca::new("Trunk CA"), Ca::new("Other CA"));
        let any_name = MtlsPolicy {
            ca_file: ca.file(dir.path()),
            peer_name: None,
        };
        let named = MtlsPolicy {
            peer_name: Some("pbx.example.com".to_owned()),
            ..any_name.clone()
        };
        let good = ca.leaf(&["pbx.example.com"], "pbx.example.com");
        let wrong_name = ca.leaf(&["intruder.example.com"], "intruder.example.com");
        let stranger = other.leaf(&["pbx.example.com"], "pbx.example.com");
        verify(&any_name, &good).unwrap();
        verify(&any_name, &wrong_name).unwrap();
        verify(&named, &good).unwrap();
        match verify(&named, &wrong_name) {
            Err(TlsError::InvalidCertificate(CertificateError::NotValidForNameContext {
                presented,
                ..
            })) => assert!(presented.contains(&"intruder.example.com".to_owned())),
            other => panic!("expected a name refusal, got {other:?}"),
        }
        for policy in [&any_name, &named] {
            assert_eq!(
                verify(policy, &stranger),
                Err(TlsError::InvalidCertificate(
                    CertificateError::UnknownIssuer
                ))
            );
        }
        let verifier = client_verifier(&named).unwrap();
        assert!(verifier.offer_client_auth() && verifier.client_auth_mandatory());
        assert_eq!(verifier.root_hint_subjects().len(), 1, "the CA is hinted");
    }

    #[test]
    fn a_bad_ca_file_is_an_error_naming_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let missing = dir.path().join("missing.pem");
        for path in [empty, missing.clone()] {
            let policy = MtlsPolicy {
                ca_file: path.clone(),
                peer_name: None,
            };
            let e = client_verifier(&policy).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains("private.mtls_ca_file"), "{e}");
        }
        let policy = MtlsPolicy {
            ca_file: missing,
            peer_name: None,
        };
        let live = live_self_signed(dir.path(), &["sbc.example.test"]);
        assert!(server_config_requiring(live, &policy).is_err());
    }

    #[test]
    fn the_policy_follows_the_private_side() {
        let mut side = SideConfig::default_for(crate::config::Side::Private);
        assert_eq!(MtlsPolicy::of(&side), None);
        side.mtls_ca_file = Some("ca.pem".into());
        assert_eq!(MtlsPolicy::of(&side), None, "off without private.mtls");
        side.mtls = true;
        side.mtls_peer_name = Some("pbx.lan".into());
        assert_eq!(
            MtlsPolicy::of(&side),
            Some(MtlsPolicy {
                ca_file: "ca.pem".into(),
                peer_name: Some("pbx.lan".into())
            })
        );
    }

    #[test]
    fn the_client_identity_is_the_live_set_and_follows_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let live = live_self_signed(dir.path(), &["sbc.example.test"]);
        let identity = ClientIdentity::new(Arc::clone(&live));
        assert!(identity.has_certs());
        let schemes = [
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::ED25519,
        ];
        let first = identity.resolve(&[], &schemes).unwrap();
        assert_eq!(first.cert, live.chain());
        // A new certificate for the usage: the next handshake presents it.
        let ca = Ca::new("Rotation CA");
        let next = ca.leaf(&["sbc.example.test"], "sbc.example.test");
        assert!(live.present(std::slice::from_ref(&next)).unwrap());
        assert_eq!(identity.resolve(&[], &schemes).unwrap().cert, next.chain);
        // None the server can verify: none presented.
        assert!(identity.resolve(&[], &[]).is_none());
    }

    #[test]
    fn the_client_identity_prefers_a_certificate_from_a_hinted_ca() {
        let dir = tempfile::tempdir().unwrap();
        let live = live_self_signed(dir.path(), &["sbc.example.test"]);
        let (a, b) = (Ca::new("CA A"), Ca::new("CA B"));
        let from_a = a.leaf(&["a.example.test"], "a");
        let from_b = b.leaf(&["b.example.test"], "b");
        live.present(&[from_a, from_b]).unwrap();
        let chain_b = live.current()[1].key.cert.clone();
        // The hint as a server requiring certificates from CA B sends it.
        let policy = MtlsPolicy {
            ca_file: b.file(dir.path()),
            peer_name: None,
        };
        let verifier = client_verifier(&policy).unwrap();
        let hint = verifier.root_hint_subjects()[0].as_ref().to_vec();
        let identity = ClientIdentity::new(Arc::clone(&live));
        let schemes = [SignatureScheme::ECDSA_NISTP256_SHA256];
        assert_eq!(identity.resolve(&[&hint], &schemes).unwrap().cert, chain_b);
        assert_ne!(identity.resolve(&[], &schemes).unwrap().cert, chain_b);
    }

    /// A handshake over an in-memory pipe: the server's client
    /// verifier, the client's identity.
    async fn handshake(
        server: Arc<rustls::ServerConfig>,
        client: Arc<rustls::ClientConfig>,
    ) -> (
        Result<Vec<u8>, String>,
        Option<Vec<CertificateDer<'static>>>,
    ) {
        let (near, far) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        let server_side = tokio::spawn(async move {
            let mut tls = acceptor.accept(far).await.map_err(|e| e.to_string())?;
            let peer = tls.get_ref().1.peer_certificates().map(<[_]>::to_vec);
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            tls.write_all(b"pong!").await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            Ok::<_, String>(peer)
        });
        let connector = tokio_rustls::TlsConnector::from(client);
        let name = ServerName::try_from("sbc.example.test").unwrap();
        let answer = async {
            let mut tls = connector
                .connect(name, near)
                .await
                .map_err(|e| e.to_string())?;
            tls.write_all(b"ping!").await.map_err(|e| e.to_string())?;
            tls.flush().await.map_err(|e| e.to_string())?;
            let mut buf = [0u8; 5];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            Ok(buf.to_vec())
        }
        .await;
        let peer = server_side.await.unwrap().ok().flatten();
        (answer, peer)
    }

    #[tokio::test]
    async fn mutual_tls_between_two_outposts_with_their_own_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("Gateway CA");
        let ca_file = ca.file(dir.path());
        let server_live = live_self_signed(&dir.path().join("server"), &["sbc.example.test"]);
        let server_cert = ca.leaf(&["sbc.example.test"], "sbc.example.test");
        server_live
            .present(std::slice::from_ref(&server_cert))
            .unwrap();
        let policy = MtlsPolicy {
            ca_file: ca_file.clone(),
            peer_name: Some("lan.example.test".to_owned()),
        };
        let server = server_config_requiring(Arc::clone(&server_live), &policy).unwrap();

        // The right identity: the handshake completes, the server sees it.
        let client_live = live_self_signed(&dir.path().join("client"), &["lan.example.test"]);
        let client_cert = ca.leaf(&["lan.example.test"], "lan.example.test");
        client_live
            .present(std::slice::from_ref(&client_cert))
            .unwrap();
        let identity = Arc::new(ClientIdentity::new(client_live));
        let client = client_config(&[], Some(&ca_file), Some(identity)).unwrap();
        let (answer, peer) = handshake(Arc::clone(&server), client).await;
        assert_eq!(answer.unwrap(), b"pong!");
        assert_eq!(peer.unwrap(), client_cert.chain);

        // No identity: refused (TLS 1.3: the alert arrives at the first read).
        let bare = client_config(&[], Some(&ca_file), None).unwrap();
        let (answer, peer) = handshake(Arc::clone(&server), bare).await;
        let error = answer.unwrap_err();
        assert!(error.contains("CertificateRequired"), "{error}");
        assert!(peer.is_none());

        // The wrong name: refused with bad_certificate.
        let wrong_live = live_self_signed(&dir.path().join("wrong"), &["x.example.test"]);
        wrong_live
            .present(&[ca.leaf(&["x.example.test"], "x.example.test")])
            .unwrap();
        let wrong = client_config(
            &[],
            Some(&ca_file),
            Some(Arc::new(ClientIdentity::new(wrong_live))),
        )
        .unwrap();
        let (answer, _) = handshake(server, wrong).await;
        let error = answer.unwrap_err();
        assert!(error.contains("BadCertificate"), "{error}");
    }

    #[test]
    fn ott_terminals_warn_about_a_certificate_that_does_not_cover_the_fqdn() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            fqdn: Some("sbc.example.com".to_owned()),
            ..Config::default()
        };
        let live = live_self_signed(dir.path(), &["other.example.com"]);
        assert_eq!(ott_certificate_warning(&config, &live), None, "off");
        config.public.ott_terminals = true;
        let warning = ott_certificate_warning(&config, &live).unwrap();
        assert!(
            warning.contains("covers the FQDN sbc.example.com (they cover: other.example.com)"),
            "{warning}"
        );
        assert!(
            warning.contains("outpost certs assign sip-public"),
            "{warning}"
        );
        // Outpost's own certificate for the FQDN: covered, but self-signed.
        let own = live_self_signed(&dir.path().join("own"), &["sbc.example.com"]);
        let warning = ott_certificate_warning(&config, &own).unwrap();
        assert!(warning.contains("is self-signed"), "{warning}");
        // A CA's certificate for it, among others: nothing to say.
        let ca = Ca::new("Public CA");
        own.present(&[
            ca.leaf(&["portal.example.com"], "portal"),
            ca.leaf(&["*.example.com"], "wildcard"),
        ])
        .unwrap();
        assert_eq!(ott_certificate_warning(&config, &own), None);
    }
}
