//! Tests of the TLS identity: generation, dates, renewal of Outpost's own
//! certificate only, and the live swap in the listeners.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const DAY: Duration = Duration::from_secs(86_400);

fn names() -> Vec<String> {
    vec!["sbc.example.test".to_string(), "198.18.0.1".to_string()]
}

fn days(n: u64) -> Duration {
    DAY * u32::try_from(n).unwrap()
}

fn assert_close(actual: OffsetDateTime, expected: OffsetDateTime, what: &str) {
    assert!(
        (actual - expected).abs() <= TimeDuration::seconds(2),
        "{what}: {} instead of {}",
        Timestamp(actual),
        Timestamp(expected)
    );
}

fn serial(cert: &CertificateDer<'_>) -> Vec<u8> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).unwrap();
    parsed.raw_serial().to_vec()
}

/// Writes `default.crt` + `default.key` made from `params`, self-signed,
/// as an operator (or an earlier version) would have left them.
fn write_self_signed(dir: &Path, params: &rcgen::CertificateParams) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("default.key"), key.serialize_pem()).unwrap();
    fs::write(dir.join("default.crt"), cert.pem()).unwrap();
}

fn params_with_org(org: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(names()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sbc.example.test");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, org);
    params
}

fn files(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    (
        fs::read(dir.join("default.crt")).unwrap(),
        fs::read(dir.join("default.key")).unwrap(),
    )
}

#[test]
fn generates_once_then_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let names = names();
    let first = load_or_generate(dir.path(), &names).unwrap();
    assert!(first.generated);
    let second = load_or_generate(dir.path(), &names).unwrap();
    assert!(!second.generated);
    assert_eq!(second.renewed, None);
    assert_eq!(first.chain, second.chain);
    server_config(&second).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&first.key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key must not be readable by others");
    }
}

#[test]
fn corrupt_certificate_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    load_or_generate(dir.path(), &["a.test".to_string()]).unwrap();
    fs::write(dir.path().join("default.crt"), "garbage").unwrap();
    let err = load_or_generate(dir.path(), &["a.test".to_string()]).unwrap_err();
    assert!(err.to_string().contains("default.crt"), "{err}");
}

#[test]
fn generated_certificate_is_valid_from_yesterday_for_the_validity_period() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let identity = load_or_generate_at(dir.path(), &names(), now).unwrap();
    assert!(identity.generated && identity.outpost_self_signed);
    let now = OffsetDateTime::from(now);
    let not_before = identity.validity.not_before;
    assert!(
        not_before <= now && not_before >= now - TimeDuration::days(1) - TimeDuration::seconds(2),
        "not before {}",
        Timestamp(not_before)
    );
    assert_close(
        identity.validity.not_after,
        now + TimeDuration::days(SELF_SIGNED_VALIDITY_DAYS),
        "not after",
    );
    assert!(identity.validity.to_string().ends_with('Z'));
}

#[test]
fn outpost_certificate_is_kept_until_the_renewal_margin() {
    let dir = tempfile::tempdir().unwrap();
    let made = SystemTime::now() - days(400);
    let first = load_or_generate_at(dir.path(), &names(), made).unwrap();
    let before = files(dir.path());
    let later = made + days(730 - 31);
    let again = load_or_generate_at(dir.path(), &names(), later).unwrap();
    assert_eq!(again.renewed, None);
    assert_eq!(again.chain, first.chain);
    assert_eq!(files(dir.path()), before);
}

#[test]
fn expiring_outpost_certificate_is_renewed_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let made = now - days(730 - 10);
    let old = load_or_generate_at(dir.path(), &names(), made).unwrap();
    let (_, key_before) = files(dir.path());

    let renewed = load_or_generate_at(dir.path(), &names(), now).unwrap();
    assert_eq!(renewed.renewed, Some(Renewal::Expiring));
    assert!(!renewed.generated && renewed.outpost_self_signed);
    assert_ne!(renewed.chain, old.chain);
    assert_ne!(serial(&renewed.chain[0]), serial(&old.chain[0]));
    assert_eq!(files(dir.path()).1, key_before, "the key is kept");
    let now_dt = OffsetDateTime::from(now);
    assert_close(
        renewed.validity.not_after,
        now_dt + TimeDuration::days(SELF_SIGNED_VALIDITY_DAYS),
        "renewed not after",
    );
    assert_close(
        renewed.validity.not_before,
        now_dt - TimeDuration::days(BACKDATE_DAYS),
        "renewed not before",
    );
    server_config(&renewed).unwrap();

    // Once renewed, it stays.
    let again = load_or_generate_at(dir.path(), &names(), now).unwrap();
    assert_eq!(again.renewed, None);
    assert_eq!(again.chain, renewed.chain);
}

#[test]
fn expired_and_not_yet_valid_outpost_certificates_are_renewed() {
    let now = SystemTime::now();
    for (made, reason) in [
        (now - days(800), Renewal::Expired),
        (now + days(10), Renewal::NotYetValid),
    ] {
        let dir = tempfile::tempdir().unwrap();
        load_or_generate_at(dir.path(), &names(), made).unwrap();
        let renewed = load_or_generate_at(dir.path(), &names(), now).unwrap();
        assert_eq!(renewed.renewed, Some(reason));
        assert_eq!(
            renewal_due(&renewed.validity, OffsetDateTime::from(now)),
            None
        );
    }
}

#[test]
fn outpost_certificate_of_1975_to_4096_is_renewed() {
    let dir = tempfile::tempdir().unwrap();
    // What earlier versions wrote: rcgen's default dates.
    let legacy = params_with_org(SELF_SIGNED_ORGANIZATION);
    assert_eq!(legacy.not_before.year(), 1975);
    assert_eq!(legacy.not_after.year(), 4096);
    write_self_signed(dir.path(), &legacy);
    let now = SystemTime::now();
    let identity = load_or_generate_at(dir.path(), &names(), now).unwrap();
    assert!(identity.outpost_self_signed);
    assert_eq!(identity.renewed, Some(Renewal::LegacyDates));
    assert_close(
        identity.validity.not_after,
        OffsetDateTime::from(now) + TimeDuration::days(SELF_SIGNED_VALIDITY_DAYS),
        "not after",
    );
}

#[test]
fn operator_certificates_are_never_replaced() {
    let now = SystemTime::now();
    let now_dt = OffsetDateTime::from(now);

    // Self-signed by the operator, with absurd dates, or about to expire.
    let absurd = params_with_org("Example Corp");
    let mut expiring = params_with_org("Example Corp");
    expiring.not_before = now_dt - TimeDuration::days(300);
    expiring.not_after = now_dt + TimeDuration::days(2);
    let mut expired = params_with_org("Example Corp");
    expired.not_before = now_dt - TimeDuration::days(300);
    expired.not_after = now_dt - TimeDuration::days(2);
    for params in [absurd, expiring, expired] {
        let dir = tempfile::tempdir().unwrap();
        write_self_signed(dir.path(), &params);
        let before = files(dir.path());
        let identity = load_or_generate_at(dir.path(), &names(), now).unwrap();
        assert!(!identity.outpost_self_signed);
        assert_eq!(identity.renewed, None);
        assert_eq!(files(dir.path()), before);
    }

    // Issued by a CA, even with Outpost's organisation in its subject.
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = params_with_org("Example CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = params_with_org(SELF_SIGNED_ORGANIZATION);
    leaf.not_after = now_dt + TimeDuration::days(1);
    let cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    fs::write(dir.path().join("default.key"), leaf_key.serialize_pem()).unwrap();
    fs::write(dir.path().join("default.crt"), cert.pem()).unwrap();
    let before = files(dir.path());
    let identity = load_or_generate_at(dir.path(), &names(), now).unwrap();
    assert!(!identity.outpost_self_signed);
    assert_eq!(identity.renewed, None);
    assert_eq!(files(dir.path()), before);
}

#[test]
fn renewal_rules() {
    let now = OffsetDateTime::from(SystemTime::now());
    let validity = |from: i64, to: i64| Validity {
        not_before: now + TimeDuration::days(from),
        not_after: now + TimeDuration::days(to),
    };
    assert_eq!(renewal_due(&validity(-1, 729), now), None);
    assert_eq!(
        renewal_due(&validity(-700, RENEW_BEFORE_DAYS + 1), now),
        None
    );
    assert_eq!(
        renewal_due(&validity(-700, RENEW_BEFORE_DAYS - 1), now),
        Some(Renewal::Expiring)
    );
    assert_eq!(renewal_due(&validity(-700, 0), now), Some(Renewal::Expired));
    assert_eq!(
        renewal_due(&validity(1, 700), now),
        Some(Renewal::NotYetValid)
    );
    assert_eq!(
        renewal_due(&validity(-18_000, 700_000), now),
        Some(Renewal::LegacyDates)
    );
}

#[test]
fn timestamps_are_rfc3339_utc() {
    let t = OffsetDateTime::from_unix_timestamp(1_767_225_600 + 3_723).unwrap();
    assert_eq!(Timestamp(t).to_string(), "2026-01-01T01:02:03Z");
}

/// Client config trusting exactly `anchors`.
fn client_trusting(anchors: &[&CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in anchors {
        roots.add((*cert).clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

type Pair = (
    tokio_rustls::client::TlsStream<tokio::io::DuplexStream>,
    tokio_rustls::server::TlsStream<tokio::io::DuplexStream>,
);

async fn handshake(server: &Arc<rustls::ServerConfig>, client: Arc<rustls::ClientConfig>) -> Pair {
    let (c, s) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(server));
    let connector = tokio_rustls::TlsConnector::from(client);
    let name = rustls::pki_types::ServerName::try_from("sbc.example.test").unwrap();
    let (client, server) = tokio::join!(connector.connect(name, c), acceptor.accept(s));
    (client.unwrap(), server.unwrap())
}

fn presented(pair: &Pair) -> CertificateDer<'static> {
    pair.0.get_ref().1.peer_certificates().unwrap()[0].clone()
}

#[tokio::test]
async fn renewal_is_presented_live_and_open_connections_stay_up() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let old = load_or_generate_at(dir.path(), &names(), now - days(730 - 5)).unwrap();
    let usages = LiveUsages::new(&old).unwrap();
    let config = usages.server_config(Usage::SipPublic).unwrap();
    let live = usages.get(Usage::SipPublic);

    let mut first = handshake(&config, client_trusting(&[&old.chain[0]])).await;
    assert_eq!(presented(&first), old.chain[0]);

    // Nothing due: nothing changes.
    assert_eq!(
        refresh(dir.path(), &names(), now - days(730 - 40), &usages).unwrap(),
        None
    );
    assert_eq!(live.chain(), old.chain);

    // Due: renewed on disk and presented from the next handshake on.
    assert_eq!(
        refresh(dir.path(), &names(), now, &usages).unwrap(),
        Some(Renewal::Expiring)
    );
    let new = live.chain();
    assert_ne!(new, old.chain);
    assert_eq!(
        new,
        load_or_generate_at(dir.path(), &names(), now)
            .unwrap()
            .chain
    );
    let second = handshake(&config, client_trusting(&[&new[0]])).await;
    assert_eq!(presented(&second), new[0]);

    // The connection made before the renewal still carries data.
    first.0.write_all(b"OPTIONS").await.unwrap();
    first.0.flush().await.unwrap();
    let mut buf = [0u8; 7];
    first.1.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"OPTIONS");
}

#[test]
fn operator_certificate_replaced_on_disk_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let ours = load_or_generate_at(dir.path(), &names(), now).unwrap();
    let usages = LiveUsages::new(&ours).unwrap();
    let live = usages.get(Usage::Admin);
    write_self_signed(dir.path(), &params_with_org("Example Corp"));
    assert_eq!(refresh(dir.path(), &names(), now, &usages).unwrap(), None);
    assert_ne!(live.chain(), ours.chain);
    assert_eq!(
        live.chain(),
        load_or_generate(dir.path(), &names()).unwrap().chain
    );
}

/// Installs a self-signed certificate for `names` as `name` in the store.
fn install_named(dir: &Path, name: &str, names: &[&str], not_after_days: i64) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .unwrap();
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(not_after_days);
    let cert = params.self_signed(&key).unwrap();
    let pem = format!("{}{}", cert.pem(), key.serialize_pem());
    let unix_now = now.unix_timestamp();
    let bundle = outpost_certs::import_pem(pem.as_bytes(), None, unix_now).unwrap();
    CertStore::new(dir).install(name, &bundle).unwrap();
    cert.der().to_vec()
}

async fn handshake_sni(server: &Arc<rustls::ServerConfig>, sni: &str) -> CertificateDer<'static> {
    let (c, s) = tokio::io::duplex(64 * 1024);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(server));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let name = rustls::pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    let (client, server) = tokio::join!(connector.connect(name, c), acceptor.accept(s));
    server.unwrap();
    client.unwrap().get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// Takes any server certificate: these tests look at which one is sent.
#[derive(Debug)]
struct AcceptAnything;

impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::aws_lc_rs::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[tokio::test]
async fn each_usage_presents_its_own_certificates_and_sni_picks_among_them() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let ours = load_or_generate_at(dir.path(), &names(), now).unwrap();
    let usages = LiveUsages::new(&ours).unwrap();
    let web = usages.server_config(Usage::WebServices).unwrap();
    let public = usages.server_config(Usage::SipPublic).unwrap();
    let portal = install_named(dir.path(), "portal", &["portal.example.org"], 90);
    let wildcard = install_named(dir.path(), "wild", &["*.example.net"], 90);
    let store = CertStore::new(dir.path());
    store
        .assign(
            Usage::WebServices,
            &["wild".to_owned(), "portal".to_owned()],
        )
        .unwrap();
    refresh(dir.path(), &names(), now, &usages).unwrap();

    assert_eq!(
        handshake_sni(&web, "portal.example.org").await.as_ref(),
        portal
    );
    assert_eq!(
        handshake_sni(&web, "sbc.example.net").await.as_ref(),
        wildcard
    );
    // No name matches: the usage's first.
    assert_eq!(handshake_sni(&web, "other.test").await.as_ref(), wildcard);
    // The other usages still present the default.
    assert_eq!(
        handshake_sni(&public, "portal.example.org").await,
        ours.chain[0]
    );
}

#[test]
fn expiry_warnings_are_given_once_per_threshold_with_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let ours = load_or_generate_at(dir.path(), &names(), now).unwrap();
    let usages = LiveUsages::new(&ours).unwrap();
    install_named(dir.path(), "soon", &["sbc.example.test"], 20);
    let store = CertStore::new(dir.path());
    store
        .assign(Usage::SipPublic, &["soon".to_owned()])
        .unwrap();
    refresh(dir.path(), &names(), now, &usages).unwrap();
    let unix = OffsetDateTime::now_utc().unix_timestamp();
    let mut warnings = ExpiryWarnings::default();
    let first = warnings.check(&usages, unix);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].name, "soon");
    assert_eq!(first[0].days, 30);
    assert_eq!(first[0].usages, [Usage::SipPublic]);
    assert!(
        warnings.check(&usages, unix + 3600).is_empty(),
        "given once"
    );
    let week = warnings.check(&usages, unix + 14 * 86_400);
    assert_eq!(week.iter().map(|w| w.days).collect::<Vec<_>>(), [7]);
    let expired = warnings.check(&usages, unix + 21 * 86_400);
    assert_eq!(expired.iter().map(|w| w.days).collect::<Vec<_>>(), [0]);
    assert_eq!(warning_threshold(31 * 86_400), None);
    assert_eq!(warning_threshold(86_400), Some(1));
}
