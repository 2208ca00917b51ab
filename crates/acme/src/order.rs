//! One order from start to certificate (RFC 8555 §7.4): place it, answer
//! the challenges with a responder that listens only while the order is
//! pending, finalize with a fresh key and CSR, fetch the chain, check it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, ChallengeStatus, ChallengeType, Identifier, NewOrder, Order,
    OrderStatus,
};
use rcgen::{CertificateParams, DistinguishedName, KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData};
use tokio::time::Instant;

use crate::http01::Http01Responder;
use crate::tls_alpn::{TlsAlpnResponder, challenge_certificate};
use crate::{AcmeClient, AcmeError, Challenge, ChallengeKind, Issued, set_stage};

/// Names in one order, at most (Let's Encrypt's limit).
const MAX_NAMES: usize = 100;
/// Polls of the order's state, at most, in each waiting stage.
const MAX_POLLS: u32 = 120;
/// The first and the longest pause between two polls.
const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(5);

/// Checks and normalizes the names: DNS names, lower case, no wildcard, no
/// duplicates, at least one.
pub(crate) fn check_names(names: &[String]) -> Result<Vec<String>, AcmeError> {
    if names.is_empty() {
        return Err(AcmeError::Config(
            "no name to obtain a certificate for".into(),
        ));
    }
    if names.len() > MAX_NAMES {
        return Err(AcmeError::Config(format!(
            "{} names in one certificate; ACME CAs accept at most {MAX_NAMES}",
            names.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.starts_with("*.") {
            return Err(AcmeError::Config(format!(
                "{name} is a wildcard; wildcards need DNS-01, which Outpost does not answer: \
                 list the names instead"
            )));
        }
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.contains('.')
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && name.parse::<std::net::IpAddr>().is_err();
        if !valid {
            return Err(AcmeError::Config(format!(
                "{name:?} is not a fully qualified DNS name (like sbc.example.com)"
            )));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// What the responder serves for one pending authorization.
struct Pending {
    name: String,
    token: String,
    key_authorization: String,
    digest: Vec<u8>,
}

/// The responder of the order's challenge kind.
enum Responder {
    Http(Http01Responder),
    TlsAlpn(TlsAlpnResponder),
}

impl Responder {
    async fn start(challenge: Challenge, pending: &[Pending]) -> Result<Self, AcmeError> {
        match challenge {
            Challenge::Http01 { bind } => {
                let tokens = pending
                    .iter()
                    .map(|p| (p.token.clone(), p.key_authorization.clone()))
                    .collect();
                Ok(Self::Http(Http01Responder::bind(bind, tokens).await?))
            }
            Challenge::TlsAlpn01 { bind } => {
                let mut certs = HashMap::new();
                for p in pending {
                    certs.insert(p.name.clone(), challenge_certificate(&p.name, &p.digest)?);
                }
                Ok(Self::TlsAlpn(TlsAlpnResponder::bind(bind, certs).await?))
            }
        }
    }

    fn local_addr(&self) -> std::net::SocketAddr {
        match self {
            Self::Http(r) => r.local_addr(),
            Self::TlsAlpn(r) => r.local_addr(),
        }
    }

    async fn shutdown(self) {
        match self {
            Self::Http(r) => r.shutdown().await,
            Self::TlsAlpn(r) => r.shutdown().await,
        }
    }
}

fn challenge_type(kind: ChallengeKind) -> ChallengeType {
    match kind {
        ChallengeKind::Http01 => ChallengeType::Http01,
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
    }
}

/// Places the order for `names` and sees it through.
pub(crate) async fn run(
    client: &AcmeClient,
    account: &Account,
    names: &[String],
    challenge: Challenge,
    stage: &Mutex<&'static str>,
) -> Result<Issued, AcmeError> {
    let url = client.config.directory_url.clone();
    let kind = challenge.kind();
    let deadline = Instant::now() + client.config.order_timeout;

    set_stage(stage, "placing the order");
    let identifiers: Vec<Identifier> = names.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| client.acme_error("placing the order", e))?;

    // First pass: what each pending authorization asks of us.
    set_stage(stage, "reading the authorizations");
    let mut pending = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| client.acme_error("reading the authorizations", e))?;
        let name = authz.identifier().to_string();
        match authz.status {
            AuthorizationStatus::Pending => {}
            // Validated recently for this account: nothing to answer.
            AuthorizationStatus::Valid => continue,
            status => {
                return Err(AcmeError::OrderInvalid {
                    url,
                    names: names.join(", "),
                    detail: format!("the authorization for {name} is {status:?}"),
                });
            }
        }
        let Some(ch) = authz.challenge(challenge_type(kind)) else {
            return Err(AcmeError::NoChallenge { url, kind, name });
        };
        let key_authorization = ch.key_authorization();
        pending.push(Pending {
            name,
            token: ch.token.clone(),
            digest: key_authorization.digest().as_ref().to_vec(),
            key_authorization: key_authorization.as_str().to_owned(),
        });
    }

    if !pending.is_empty() {
        set_stage(stage, "answering the challenges");
        let responder = Responder::start(challenge, &pending).await?;
        tracing::info!(
            %kind,
            listen = %responder.local_addr(),
            names = %names.join(", "),
            "ACME: answering challenges while the order is pending"
        );
        let answered = answer_challenges(client, &mut order, kind, names, deadline, stage).await;
        // Listen only while the order is pending, whatever the outcome.
        responder.shutdown().await;
        answered?;
    } else {
        set_stage(stage, "waiting for the order to be ready");
        match poll(client, &mut order, deadline, stage).await? {
            OrderStatus::Ready | OrderStatus::Valid => {}
            _ => return Err(diagnose(client, &mut order, kind, names).await),
        }
    }

    finalize(client, &mut order, names, deadline, stage).await
}

/// Tells the CA each challenge is ready, then waits until the order is
/// ready (or invalid).
async fn answer_challenges(
    client: &AcmeClient,
    order: &mut Order,
    kind: ChallengeKind,
    names: &[String],
    deadline: Instant,
    stage: &Mutex<&'static str>,
) -> Result<(), AcmeError> {
    // Second pass, from the cached authorizations: no network but set_ready.
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| client.acme_error("reading the authorizations", e))?;
        if authz.status != AuthorizationStatus::Pending {
            continue;
        }
        if let Some(mut ch) = authz.challenge(challenge_type(kind)) {
            ch.set_ready()
                .await
                .map_err(|e| client.acme_error("starting the validation", e))?;
        }
    }
    set_stage(stage, "the validation");
    match poll(client, order, deadline, stage).await {
        Ok(OrderStatus::Ready | OrderStatus::Valid) => Ok(()),
        Ok(_) | Err(AcmeError::Refused { .. }) => Err(diagnose(client, order, kind, names).await),
        Err(e) => Err(e),
    }
}

/// Polls the order until it leaves `pending`/`processing`, at most
/// [`MAX_POLLS`] times and never past `deadline`.
async fn poll(
    client: &AcmeClient,
    order: &mut Order,
    deadline: Instant,
    stage: &Mutex<&'static str>,
) -> Result<OrderStatus, AcmeError> {
    let mut pause = FIRST_POLL;
    for _ in 0..MAX_POLLS {
        let state = order
            .refresh()
            .await
            .map_err(|e| client.acme_error("polling the order", e))?;
        if let Some(problem) = &state.error {
            return Err(AcmeError::Refused {
                url: client.config.directory_url.clone(),
                stage: "the order",
                problem: crate::problem_text(problem),
            });
        }
        match state.status {
            OrderStatus::Pending | OrderStatus::Processing => {}
            done => return Ok(done),
        }
        if Instant::now() + pause > deadline {
            break;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
    Err(AcmeError::Timeout {
        url: client.config.directory_url.clone(),
        stage: *stage.lock().unwrap_or_else(|e| e.into_inner()),
        after: client.config.order_timeout,
    })
}

/// The most precise error for an order that went invalid: the first
/// failed challenge with the CA's problem detail, else the order's error.
async fn diagnose(
    client: &AcmeClient,
    order: &mut Order,
    kind: ChallengeKind,
    names: &[String],
) -> AcmeError {
    let url = client.config.directory_url.clone();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        let Ok(state) = authz.refresh().await else {
            continue;
        };
        let name = state.identifier().to_string();
        let failed = state.challenges.iter().find(|c| {
            c.r#type == challenge_type(kind)
                && (c.status == ChallengeStatus::Invalid || c.error.is_some())
        });
        if let Some(c) = failed {
            let detail = c
                .error
                .as_ref()
                .map(crate::problem_text)
                .unwrap_or_else(|| "the challenge is invalid, no detail given".into());
            return AcmeError::ChallengeFailed {
                url,
                kind,
                name,
                detail,
            };
        }
        if state.status == AuthorizationStatus::Invalid {
            return AcmeError::ChallengeFailed {
                url,
                kind,
                name,
                detail: "the authorization is invalid, no detail given".into(),
            };
        }
    }
    let state = order.state();
    let detail = match &state.error {
        Some(problem) => crate::problem_text(problem),
        None => format!("the order is {:?}", state.status),
    };
    AcmeError::OrderInvalid {
        url,
        names: names.join(", "),
        detail,
    }
}

/// Sends a CSR for a fresh key, waits for the chain, checks it.
async fn finalize(
    client: &AcmeClient,
    order: &mut Order,
    names: &[String],
    deadline: Instant,
    stage: &Mutex<&'static str>,
) -> Result<Issued, AcmeError> {
    let url = client.config.directory_url.clone();
    set_stage(stage, "finalizing the order");
    let crypto = |detail: String| AcmeError::Crypto {
        what: "the certificate key and CSR",
        detail,
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| crypto(e.to_string()))?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| crypto(e.to_string()))?;
    // The CA takes the names from the SANs; an empty subject is what RFC
    // 8555 §7.4 CAs expect.
    params.distinguished_name = DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| crypto(e.to_string()))?;
    if order.state().status == OrderStatus::Ready {
        order
            .finalize_csr(csr.der())
            .await
            .map_err(|e| client.acme_error("finalizing the order", e))?;
    }

    set_stage(stage, "the certificate's issuance");
    let mut pause = FIRST_POLL;
    let mut chain = None;
    for _ in 0..MAX_POLLS {
        // Polls the order while it is processing; the chain once valid.
        if let Some(pem) = order
            .certificate()
            .await
            .map_err(|e| client.acme_error("fetching the certificate", e))?
        {
            chain = Some(pem);
            break;
        }
        if Instant::now() + pause > deadline {
            break;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL);
    }
    let Some(chain_pem) = chain else {
        return Err(AcmeError::Timeout {
            url,
            stage: "the certificate's issuance",
            after: client.config.order_timeout,
        });
    };
    let not_after =
        check_leaf(&chain_pem, &key, names).map_err(|detail| AcmeError::BadCertificate {
            url: url.clone(),
            detail,
        })?;
    Ok(Issued {
        chain_pem,
        key_pem: key.serialize_pem(),
        not_after,
    })
}

/// Checks the leaf is ours (our key, our names) and returns its expiry.
pub(crate) fn check_leaf(
    chain_pem: &str,
    key: &KeyPair,
    names: &[String],
) -> Result<time::OffsetDateTime, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(chain_pem.as_bytes())
        .map_err(|e| format!("the chain is not PEM: {e}"))?;
    let leaf = pem
        .parse_x509()
        .map_err(|e| format!("the leaf is not an X.509 certificate: {e}"))?;
    if leaf.public_key().raw != key.subject_public_key_info().as_slice() {
        return Err("the leaf's public key is not the one in our CSR".into());
    }
    let sans: Vec<String> = match leaf.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if let Some(missing) = names.iter().find(|n| !sans.contains(n)) {
        return Err(format!(
            "the leaf does not cover {missing} (it covers {sans:?})"
        ));
    }
    Ok(leaf.validity().not_after.to_datetime())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_and_checked() {
        let names = check_names(&["SBC.Example.com.".into(), "sbc.example.com".into()]).unwrap();
        assert_eq!(names, ["sbc.example.com"]);
        for bad in [
            "",
            "*.example.com",
            "localhost",
            "a..b",
            "-a.b",
            "192.0.2.1",
            "a b.c",
        ] {
            let e = check_names(&[bad.into()]).unwrap_err();
            assert!(matches!(e, AcmeError::Config(_)), "{bad}: {e}");
        }
        assert!(check_names(&[]).is_err());
        let many: Vec<String> = (0..=MAX_NAMES)
            .map(|i| format!("n{i}.example.com"))
            .collect();
        assert!(check_names(&many).is_err());
    }

    #[test]
    fn the_leaf_must_carry_our_key_and_names() {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = CertificateParams::new(vec!["sbc.example.com".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let names = ["sbc.example.com".to_owned()];
        check_leaf(&cert.pem(), &key, &names).unwrap();
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        assert!(
            check_leaf(&cert.pem(), &other, &names)
                .unwrap_err()
                .contains("public key")
        );
        let more = ["sbc.example.com".to_owned(), "b.example.com".to_owned()];
        assert!(
            check_leaf(&cert.pem(), &key, &more)
                .unwrap_err()
                .contains("b.example.com")
        );
        assert!(check_leaf("garbage", &key, &names).is_err());
    }
}
