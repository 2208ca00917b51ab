//! Digest authentication through the public API: published vectors on the
//! client side, server ↔ client round trips on a virtual clock, and the
//! stale, replay, tamper, table-bound and secrecy cases. Header parsing
//! details and property tests live in `src/auth/tests/parse.rs`; the
//! server-side check of the published vectors in `src/auth/tests/mod.rs`.

// Test helpers outside #[test] functions unwrap too; a failure is a test failure.
#![allow(clippy::unwrap_used)]

use outpost_sip::auth::{
    Algorithm, Challenge, Credentials, DigestClient, DigestError, DigestServer, DigestServerConfig,
    MAX_VALUE_LEN, Qop, Secret, ServerReply, ha1, select_challenge,
};

const KEY: [u8; 32] = [0x42; 32];
const NOW: u64 = 1_700_000_000;
const REALM: &str = "outpost.example";
const USER: &str = "2001";
const PASSWORD: &str = "s3cret pa\"ss";
const URI: &str = "sip:outpost.example;transport=tls";

fn config() -> DigestServerConfig {
    DigestServerConfig::new(REALM)
}

fn server_with(config: DigestServerConfig) -> DigestServer {
    DigestServer::new(config, KEY).unwrap()
}

fn server() -> DigestServer {
    server_with(config())
}

fn random(i: u64) -> [u8; 16] {
    let mut r = [0xA5; 16];
    r[..8].copy_from_slice(&i.to_le_bytes());
    r
}

/// The server's challenge for `algorithm`, as the client sees it after the wire.
fn wire_challenge(
    server: &DigestServer,
    algorithm: Algorithm,
    now: u64,
    i: u64,
    stale: bool,
) -> Challenge {
    let challenges = server.challenge(now, random(i), stale);
    let challenge = challenges
        .into_iter()
        .find(|c| c.algorithm == Some(algorithm))
        .unwrap();
    Challenge::parse(&challenge.to_header_value()).unwrap()
}

/// Sends `credentials` over the wire (render, parse).
fn wire(credentials: &Credentials) -> Credentials {
    Credentials::parse(&credentials.to_header_value()).unwrap()
}

fn client(password: &str) -> DigestClient {
    DigestClient::new(USER, password).unwrap()
}

/// A fresh challenge answered with `password`, as received by the server.
fn answered(
    server: &DigestServer,
    algorithm: Algorithm,
    password: &str,
    now: u64,
    i: u64,
) -> Credentials {
    let challenge = wire_challenge(server, algorithm, now, i, false);
    wire(
        &client(password)
            .respond(&challenge, "REGISTER", URI, random(i + 1_000_000))
            .unwrap(),
    )
}

fn verify(
    server: &mut DigestServer,
    credentials: &Credentials,
    now: u64,
) -> Result<(), DigestError> {
    server
        .verify(credentials, "REGISTER", Secret::Password(PASSWORD), now)
        .map(|_| ())
}

// ---------------------------------------------------------------- vectors

fn testdata(file: &str) -> String {
    let path = format!("{}/testdata/digest/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn vectors() -> Vec<Vec<(String, String)>> {
    let mut blocks = vec![Vec::new()];
    for line in testdata("vectors.txt").lines() {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b: &Vec<_>| !b.is_empty()) {
                blocks.push(Vec::new());
            }
        } else if !line.starts_with('#') {
            let (k, v) = line.split_once(" = ").unwrap();
            blocks
                .last_mut()
                .unwrap()
                .push((k.to_owned(), v.to_owned()));
        }
    }
    blocks.retain(|b| !b.is_empty());
    assert_eq!(blocks.len(), 6, "vectors.txt should hold six vectors");
    blocks
}

fn get<'a>(block: &'a [(String, String)], key: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn client_reproduces_published_vectors() {
    for block in vectors() {
        let v = |k| get(&block, k).unwrap();
        let name = v("name");
        let challenge = match get(&block, "challenge") {
            Some(file) => Challenge::parse(&testdata(file)).unwrap(),
            None => Challenge {
                realm: v("realm").to_owned(),
                nonce: v("nonce").to_owned(),
                opaque: Some(v("opaque").to_owned()),
                // RFC 2617's challenge names no algorithm: MD5 by default.
                algorithm: Some(v("algorithm").parse().unwrap()).filter(|a| *a != Algorithm::Md5),
                qop: get(&block, "qop")
                    .map(|_| vec!["auth".to_owned(), "auth-int".to_owned()])
                    .unwrap_or_default(),
                stale: false,
                other: Vec::new(),
            },
        };
        assert_eq!(challenge.realm, v("realm"), "{name}");
        assert_eq!(challenge.nonce, v("nonce"), "{name}");
        assert_eq!(
            challenge.effective_algorithm().as_str(),
            v("algorithm"),
            "{name}"
        );
        let mut client = DigestClient::new(v("username"), v("password")).unwrap();
        let cnonce = get(&block, "cnonce").unwrap_or("unused");
        // Reach the vector's nonce count by answering the same nonce again.
        let nc = get(&block, "nc").map_or(1, |n| u32::from_str_radix(n, 16).unwrap());
        for _ in 1..nc {
            client
                .respond_with_cnonce(&challenge, v("method"), v("uri"), cnonce)
                .unwrap();
        }
        let creds = client
            .respond_with_cnonce(&challenge, v("method"), v("uri"), cnonce)
            .unwrap();
        assert_eq!(creds.response, v("response"), "{name}");
        assert_eq!(creds.opaque.as_deref(), Some(v("opaque")), "{name}");
        assert_eq!(
            creds.nc.map(|n| format!("{n:08x}")).as_deref(),
            get(&block, "nc"),
            "{name}"
        );
        assert_eq!(creds.cnonce.as_deref(), get(&block, "cnonce"), "{name}");
        assert_eq!(creds.qop.map(Qop::as_str), get(&block, "qop"), "{name}");
        assert_eq!(wire(&creds), creds, "{name}");
        if let Some(file) = get(&block, "authorization") {
            assert_eq!(
                Credentials::parse(&testdata(file)).unwrap(),
                creds,
                "{name}: RFC header differs"
            );
        }
    }
}

#[test]
fn rfc7616_challenges_parse_as_printed() {
    let c = Challenge::parse(&testdata("rfc7616-3.9.1-challenge-sha256.txt")).unwrap();
    assert_eq!(c.qop, ["auth", "auth-int"]);
    assert_eq!(c.algorithm, Some(Algorithm::Sha256));
    assert_eq!(
        c.opaque.as_deref(),
        Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    );
    assert!(!c.is_stale());
    let md5 = Challenge::parse(&testdata("rfc7616-3.9.1-challenge-md5.txt")).unwrap();
    let both = [
        testdata("rfc7616-3.9.1-challenge-md5.txt"),
        testdata("rfc7616-3.9.1-challenge-sha256.txt"),
    ];
    assert_eq!(
        select_challenge(both.iter().map(String::as_str)).unwrap(),
        c
    );
    assert_eq!(select_challenge([both[0].as_str()]).unwrap(), md5);
}

#[test]
fn ha1_matches_independent_computation() {
    // python3: hashlib.md5(b"Mufasa:http-auth@example.org:Circle of Life").hexdigest()
    let expected = "3d78807defe7de2157e2b0b6573a855f";
    assert_eq!(
        ha1(
            Algorithm::Md5,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life"
        ),
        expected
    );
    assert_eq!(
        ha1(
            Algorithm::Md5Sess,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life"
        ),
        expected
    );
    assert_eq!(ha1(Algorithm::Sha256, "a", "b", "c").len(), 64);
    assert_ne!(
        ha1(Algorithm::Sha256, "a", "b", "c"),
        ha1(Algorithm::Sha256, "a", "b", "d")
    );
}

// ------------------------------------------------------ server ↔ client

#[test]
fn server_offers_sha256_then_md5_with_one_signed_nonce() {
    let server = server();
    let challenges = server.challenge(NOW, random(1), false);
    let algorithms: Vec<_> = challenges.iter().map(|c| c.algorithm).collect();
    assert_eq!(algorithms, [Some(Algorithm::Sha256), Some(Algorithm::Md5)]);
    for c in &challenges {
        assert_eq!(c.realm, REALM);
        assert_eq!(c.nonce, challenges[0].nonce);
        assert_eq!(c.qop, ["auth"]);
        assert!(c.opaque.is_some());
        assert!(!c.stale);
        assert_eq!(c.nonce.len(), 75);
        assert!(
            c.nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    assert_ne!(
        server.challenge(NOW, random(2), false)[0].nonce,
        challenges[0].nonce
    );
    assert_ne!(
        server.challenge(NOW + 1, random(1), false)[0].nonce,
        challenges[0].nonce
    );
    assert!(
        server
            .challenge(NOW, random(1), true)
            .iter()
            .all(Challenge::is_stale)
    );
    let rendered = challenges[0].to_header_value();
    assert!(
        rendered.starts_with("Digest realm=\"outpost.example\", nonce=\""),
        "{rendered}"
    );
    assert!(
        rendered.contains("algorithm=SHA-256") && rendered.contains("qop=\"auth\""),
        "{rendered}"
    );
}

#[test]
fn round_trip_every_algorithm() {
    for algorithm in Algorithm::ALL {
        let mut server = server_with(DigestServerConfig {
            algorithms: vec![algorithm],
            ..config()
        });
        let creds = answered(&server, algorithm, PASSWORD, NOW, 1);
        assert_eq!(creds.algorithm, Some(algorithm));
        assert_eq!(creds.username(), USER);
        let verified = server
            .verify(&creds, "REGISTER", Secret::Password(PASSWORD), NOW + 10)
            .unwrap();
        assert_eq!(verified.username, USER);
        assert_eq!(verified.algorithm, algorithm);
        assert_eq!(verified.nonce_count, Some(1));
        assert_eq!(verified.nonce_issued_at, NOW);
    }
}

#[test]
fn round_trip_with_stored_ha1() {
    let mut server = server();
    let md5 = ha1(Algorithm::Md5, USER, REALM, PASSWORD);
    let sha = ha1(Algorithm::Sha256, USER, REALM, PASSWORD);
    let creds = answered(&server, Algorithm::Md5, PASSWORD, NOW, 1);
    assert_eq!(
        server.verify(&creds, "REGISTER", Secret::Sha256Ha1(&sha), NOW),
        Err(DigestError::SecretAlgorithmMismatch {
            algorithm: Algorithm::Md5
        })
    );
    assert!(
        server
            .verify(&creds, "REGISTER", Secret::Md5Ha1(&md5), NOW)
            .is_ok()
    );
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 2);
    assert!(
        server
            .verify(&creds, "REGISTER", Secret::Sha256Ha1(&sha), NOW)
            .is_ok()
    );
}

#[test]
fn wrong_password_is_forbidden_and_counted() {
    for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
        let mut server = server();
        let creds = answered(&server, algorithm, "guess", NOW, 1);
        let err = verify(&mut server, &creds, NOW).unwrap_err();
        assert_eq!(err, DigestError::WrongResponse);
        assert_eq!(err.server_reply(), ServerReply::Forbidden);
        assert!(err.is_failed_attempt());
        // The same request with the right password is fine: the failure
        // left no nonce-count state behind.
        let good = answered(&server, algorithm, PASSWORD, NOW, 1);
        assert_eq!(verify(&mut server, &good, NOW), Ok(()));
    }
}

#[test]
fn wrong_method_or_uri_or_username_fails() {
    let mut server = server();
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    let err = server.verify(&creds, "INVITE", Secret::Password(PASSWORD), NOW);
    assert_eq!(err.map(|_| ()), Err(DigestError::WrongResponse));
    let mut other_uri = creds.clone();
    other_uri.uri = "sip:elsewhere.example".into();
    assert_eq!(
        verify(&mut server, &other_uri, NOW),
        Err(DigestError::WrongResponse)
    );
    let mut other_user = creds.clone();
    other_user.username = "2002".into();
    assert_eq!(
        verify(&mut server, &other_user, NOW),
        Err(DigestError::WrongResponse)
    );
    assert_eq!(verify(&mut server, &creds, NOW), Ok(()));
}

#[test]
fn wrong_realm_is_refused() {
    let mut server = server();
    let mut challenge = wire_challenge(&server, Algorithm::Sha256, NOW, 1, false);
    challenge.realm = "other.example".into();
    let creds = wire(
        &client(PASSWORD)
            .respond(&challenge, "REGISTER", URI, random(9))
            .unwrap(),
    );
    let err = verify(&mut server, &creds, NOW).unwrap_err();
    assert!(
        matches!(&err, DigestError::RealmMismatch { received, .. } if received == "other.example"),
        "{err}"
    );
    assert_eq!(err.server_reply(), ServerReply::Challenge);
    // A nonce signed for another realm with the same key is not ours either.
    // (Same length as REALM, so only the realm bytes differ in the MAC input.)
    let other = server_with(DigestServerConfig::new("outpost.exampla"));
    let mut creds = answered(&other, Algorithm::Sha256, PASSWORD, NOW, 1);
    creds.realm = REALM.into();
    assert_eq!(
        verify(&mut server, &creds, NOW),
        Err(DigestError::InvalidNonce)
    );
}

#[test]
fn tampered_or_foreign_nonce_is_invalid_not_stale() {
    let mut server = server();
    let challenge = wire_challenge(&server, Algorithm::Sha256, NOW, 1, false);
    for i in [0, 10, 11, 40, 74] {
        let mut tampered = challenge.clone();
        let mut bytes = tampered.nonce.into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        tampered.nonce = String::from_utf8(bytes).unwrap();
        let creds = wire(
            &client(PASSWORD)
                .respond(&tampered, "REGISTER", URI, random(5))
                .unwrap(),
        );
        // Even long after expiry: a forged nonce never earns stale=true.
        for now in [NOW, NOW + 10_000] {
            let err = verify(&mut server, &creds, now).unwrap_err();
            assert_eq!(err, DigestError::InvalidNonce, "byte {i}");
            assert_eq!(err.server_reply(), ServerReply::Challenge);
        }
    }
    for nonce in [
        "",
        "abc",
        &"A".repeat(75),
        &"=".repeat(75),
        &challenge.nonce[..74],
    ] {
        let mut forged = challenge.clone();
        forged.nonce = nonce.to_owned();
        let creds = client(PASSWORD)
            .respond(&forged, "REGISTER", URI, random(5))
            .unwrap();
        assert_eq!(
            verify(&mut server, &creds, NOW),
            Err(DigestError::InvalidNonce),
            "{nonce:?}"
        );
    }
    let foreign = DigestServer::new(config(), [0x43; 32]).unwrap();
    let creds = answered(&foreign, Algorithm::Sha256, PASSWORD, NOW, 1);
    assert_eq!(
        verify(&mut server, &creds, NOW),
        Err(DigestError::InvalidNonce)
    );
}

#[test]
fn expired_nonce_is_stale_only_with_the_right_password() {
    let lifetime = DigestServerConfig::DEFAULT_NONCE_LIFETIME_SECS;
    assert_eq!(lifetime, 300);
    let mut server = server();
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    let err = verify(&mut server, &creds, NOW + lifetime + 1).unwrap_err();
    assert_eq!(err, DigestError::Stale);
    assert_eq!(err.server_reply(), ServerReply::ChallengeStale);
    assert!(!err.is_failed_attempt());
    let wrong = answered(&server, Algorithm::Sha256, "guess", NOW, 1);
    assert_eq!(
        verify(&mut server, &wrong, NOW + lifetime + 1),
        Err(DigestError::WrongResponse)
    );
    // At exactly the lifetime the nonce is still good.
    assert_eq!(verify(&mut server, &creds, NOW + lifetime), Ok(()));
}

#[test]
fn nonce_from_the_future_is_stale() {
    let mut server = server();
    let creds = answered(&server, Algorithm::Md5, PASSWORD, NOW, 1);
    assert_eq!(
        verify(&mut server, &creds, NOW - 1),
        Err(DigestError::Stale)
    );
    assert_eq!(verify(&mut server, &creds, NOW), Ok(()));
}

#[test]
fn client_retries_a_stale_challenge_with_the_new_nonce() {
    let mut server = server();
    let mut phone = client(PASSWORD);
    let first = wire_challenge(&server, Algorithm::Sha256, NOW, 1, false);
    let creds = wire(&phone.respond(&first, "REGISTER", URI, random(100)).unwrap());
    assert_eq!(verify(&mut server, &creds, NOW), Ok(()));
    // Refresh 10 minutes later with the cached nonce: stale.
    let later = NOW + 600;
    let reused = wire(
        &phone
            .respond_again("REGISTER", URI, random(101))
            .unwrap()
            .unwrap(),
    );
    assert_eq!(reused.nc, Some(2));
    let err = verify(&mut server, &reused, later).unwrap_err();
    assert_eq!(err.server_reply(), ServerReply::ChallengeStale);
    let values: Vec<String> = server
        .challenge(later, random(2), true)
        .iter()
        .map(Challenge::to_header_value)
        .collect();
    let retry = select_challenge(values.iter().map(String::as_str)).unwrap();
    assert!(retry.is_stale());
    let creds = wire(&phone.respond(&retry, "REGISTER", URI, random(102)).unwrap());
    assert_eq!(creds.nc, Some(1), "a new nonce restarts the count");
    assert_eq!(verify(&mut server, &creds, later), Ok(()));
}

#[test]
fn replayed_nonce_count_is_refused() {
    let mut server = server();
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    assert_eq!(verify(&mut server, &creds, NOW), Ok(()));
    let err = verify(&mut server, &creds, NOW + 1).unwrap_err();
    assert_eq!(err, DigestError::Replay { nc: 1 });
    assert_eq!(err.server_reply(), ServerReply::Challenge);
    assert!(!err.is_failed_attempt());
}

#[test]
fn increasing_nonce_counts_are_accepted_lower_ones_refused() {
    let mut server = server();
    let mut phone = client(PASSWORD);
    let challenge = wire_challenge(&server, Algorithm::Md5, NOW, 1, false);
    let mut sent = Vec::new();
    sent.push(wire(
        &phone
            .respond(&challenge, "REGISTER", URI, random(10))
            .unwrap(),
    ));
    for i in 0..4 {
        sent.push(wire(
            &phone
                .respond_again("REGISTER", URI, random(11 + i))
                .unwrap()
                .unwrap(),
        ));
    }
    let counts: Vec<_> = sent.iter().map(|c| c.nc).collect();
    assert_eq!(counts, [Some(1), Some(2), Some(3), Some(4), Some(5)]);
    // Requests may skip counts (a lost request), but never go back.
    assert_eq!(verify(&mut server, &sent[0], NOW), Ok(()));
    assert_eq!(verify(&mut server, &sent[2], NOW), Ok(()));
    assert_eq!(
        verify(&mut server, &sent[1], NOW),
        Err(DigestError::Replay { nc: 2 })
    );
    assert_eq!(verify(&mut server, &sent[4], NOW), Ok(()));
    assert_eq!(
        verify(&mut server, &sent[3], NOW),
        Err(DigestError::Replay { nc: 4 })
    );
    assert_eq!(server.tracked_nonces(), 1);
}

#[test]
fn a_guesser_cannot_burn_the_nonce_count() {
    let mut server = server();
    let good = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    let mut attack = good.clone();
    attack.nc = Some(u32::MAX);
    attack.response = "0".repeat(64);
    assert_eq!(
        verify(&mut server, &attack, NOW),
        Err(DigestError::WrongResponse)
    );
    assert_eq!(verify(&mut server, &good, NOW), Ok(()));
}

#[test]
fn nonce_table_stays_at_its_cap_under_100k_nonces() {
    let cap = DigestServerConfig::DEFAULT_MAX_TRACKED_NONCES;
    let mut server = server_with(DigestServerConfig {
        algorithms: vec![Algorithm::Md5],
        ..config()
    });
    let password = "p";
    let ha1 = ha1(Algorithm::Md5, USER, REALM, password);
    let mut phone = client(password);
    let mut first = None;
    for i in 0..100_000u64 {
        let now = NOW + i / 1_000;
        let challenge = server.challenge(now, random(i), false).pop().unwrap();
        let creds = phone
            .respond(&challenge, "REGISTER", URI, random(i))
            .unwrap();
        server
            .verify(&creds, "REGISTER", Secret::Md5Ha1(&ha1), now)
            .unwrap();
        assert!(server.tracked_nonces() <= cap);
        first.get_or_insert((challenge, creds));
    }
    assert_eq!(server.tracked_nonces(), cap);
    // The first nonce's state was evicted while it was still live: using it
    // again, even with a higher count, must not be taken as a first use.
    let (challenge, _) = first.unwrap();
    let mut phone = client(password);
    phone
        .respond(&challenge, "REGISTER", URI, random(0))
        .unwrap();
    let again = phone
        .respond_again("REGISTER", URI, random(1))
        .unwrap()
        .unwrap();
    assert_eq!(again.nc, Some(2));
    let result = server.verify(&again, "REGISTER", Secret::Md5Ha1(&ha1), NOW + 100);
    assert_eq!(result.map(|_| ()), Err(DigestError::Stale));
}

#[test]
fn expired_entries_leave_the_table() {
    let mut server = server();
    for i in 0..5 {
        let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, i);
        assert_eq!(verify(&mut server, &creds, NOW), Ok(()));
    }
    assert_eq!(server.tracked_nonces(), 5);
    let later = NOW + 1_000;
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, later, 99);
    assert_eq!(verify(&mut server, &creds, later), Ok(()));
    assert_eq!(server.tracked_nonces(), 1);
}

#[test]
fn qop_is_required_unless_legacy_is_enabled() {
    let mut server = server();
    let mut legacy = wire_challenge(&server, Algorithm::Md5, NOW, 1, false);
    legacy.qop.clear();
    legacy.algorithm = None;
    let creds = wire(
        &client(PASSWORD)
            .respond(&legacy, "REGISTER", URI, random(7))
            .unwrap(),
    );
    assert_eq!(
        (creds.qop, creds.nc, creds.cnonce.as_deref()),
        (None, None, None)
    );
    assert!(!creds.to_header_value().contains("qop"));
    let err = verify(&mut server, &creds, NOW).unwrap_err();
    assert_eq!(err, DigestError::MissingQop);
    assert!(err.to_string().contains("danger_accept_no_qop"), "{err}");

    let mut server = server_with(DigestServerConfig {
        danger_accept_no_qop: true,
        ..config()
    });
    let verified = server
        .verify(&creds, "REGISTER", Secret::Password(PASSWORD), NOW)
        .unwrap();
    assert_eq!(verified.nonce_count, None);
    // Without a nonce count, a legacy nonce is good for one request.
    assert_eq!(
        verify(&mut server, &creds, NOW),
        Err(DigestError::Replay { nc: 0 })
    );
}

#[test]
fn qop_auth_needs_cnonce_and_a_positive_nc() {
    let mut server = server();
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    let mut no_cnonce = creds.clone();
    no_cnonce.cnonce = None;
    assert_eq!(
        verify(&mut server, &no_cnonce, NOW),
        Err(DigestError::MissingParam { name: "cnonce" })
    );
    let mut no_nc = creds.clone();
    no_nc.nc = None;
    let err = verify(&mut server, &no_nc, NOW).unwrap_err();
    assert_eq!(err, DigestError::MissingParam { name: "nc" });
    assert_eq!(err.server_reply(), ServerReply::BadRequest);
    let mut zero = creds;
    zero.nc = Some(0);
    assert!(matches!(
        verify(&mut server, &zero, NOW),
        Err(DigestError::InvalidParam { name: "nc", .. })
    ));
}

#[test]
fn algorithm_not_enabled_is_refused() {
    let mut sha_only = server_with(DigestServerConfig {
        algorithms: vec![Algorithm::Sha256],
        ..config()
    });
    let both = server();
    let creds = answered(&both, Algorithm::Md5, PASSWORD, NOW, 1);
    assert_eq!(
        verify(&mut sha_only, &creds, NOW),
        Err(DigestError::AlgorithmNotOffered {
            algorithm: Algorithm::Md5
        })
    );
    let mut absent = creds;
    absent.algorithm = None;
    assert_eq!(
        verify(&mut sha_only, &absent, NOW),
        Err(DigestError::AlgorithmNotOffered {
            algorithm: Algorithm::Md5
        })
    );
}

#[test]
fn opaque_must_match_when_echoed() {
    let mut server = server();
    let creds = answered(&server, Algorithm::Sha256, PASSWORD, NOW, 1);
    let mut other = creds.clone();
    other.opaque = Some("bogus".into());
    assert_eq!(
        verify(&mut server, &other, NOW),
        Err(DigestError::OpaqueMismatch)
    );
    let mut none = creds;
    none.opaque = None;
    assert_eq!(verify(&mut server, &none, NOW), Ok(()));
}

#[test]
fn server_config_is_validated() {
    let bad = [
        DigestServerConfig::new(""),
        DigestServerConfig::new("a\r\nb"),
        DigestServerConfig::new("x".repeat(MAX_VALUE_LEN + 1)),
        DigestServerConfig {
            nonce_lifetime_secs: 0,
            ..config()
        },
        DigestServerConfig {
            max_tracked_nonces: 0,
            ..config()
        },
        DigestServerConfig {
            algorithms: vec![],
            ..config()
        },
        DigestServerConfig {
            algorithms: vec![Algorithm::Md5, Algorithm::Md5],
            ..config()
        },
    ];
    for config in bad {
        let err = DigestServer::new(config.clone(), KEY).unwrap_err();
        assert!(
            matches!(err, DigestError::InvalidInput { .. }),
            "{config:?}: {err}"
        );
    }
}

// ------------------------------------------------------------ client side

#[test]
fn client_prefers_sha256_whatever_the_order() {
    let server = server();
    let rendered: Vec<String> = server
        .challenge(NOW, random(1), false)
        .iter()
        .map(Challenge::to_header_value)
        .collect();
    let reversed: Vec<&str> = rendered.iter().rev().map(String::as_str).collect();
    for values in [
        rendered.iter().map(String::as_str).collect::<Vec<_>>(),
        reversed,
    ] {
        assert_eq!(
            select_challenge(values).unwrap().algorithm,
            Some(Algorithm::Sha256)
        );
    }
    let mixed = [
        "Basic realm=\"x\"",
        "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512-256, qop=\"auth\"",
        "Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256, qop=\"auth-int\"",
        "Digest realm=\"x\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"",
        "Digest realm=\"x\", nonce=\"n2\", algorithm=MD5-sess, qop=\"auth\"",
        "garbage",
    ];
    assert_eq!(
        select_challenge(mixed).unwrap().nonce,
        "n1",
        "first of equal strength wins"
    );
    let err = select_challenge([
        "Basic realm=\"x\"",
        "Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\"",
    ])
    .unwrap_err();
    assert_eq!(err, DigestError::NoUsableChallenge { offered: 2 });
}

#[test]
fn client_refuses_auth_int_only_and_sess_without_qop() {
    let mut phone = client(PASSWORD);
    let auth_int = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"").unwrap();
    assert!(matches!(
        phone.respond(&auth_int, "INVITE", URI, random(1)),
        Err(DigestError::UnsupportedQop { .. })
    ));
    let sess = Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess").unwrap();
    assert!(!sess.is_answerable());
    assert!(matches!(
        phone.respond(&sess, "INVITE", URI, random(1)),
        Err(DigestError::InvalidParam { .. })
    ));
}

#[test]
fn client_counts_per_nonce() {
    let mut phone = client(PASSWORD);
    assert!(phone.respond_again("REGISTER", URI, random(0)).is_none());
    let a = Challenge::parse("Digest realm=\"r\", nonce=\"a\", qop=\"auth\"").unwrap();
    let b = Challenge::parse("Digest realm=\"r\", nonce=\"b\", qop=\"auth\"").unwrap();
    let nc = |c: Result<Credentials, DigestError>| c.unwrap().nc;
    assert_eq!(nc(phone.respond(&a, "REGISTER", URI, random(1))), Some(1));
    assert_eq!(nc(phone.respond(&a, "REGISTER", URI, random(2))), Some(2));
    assert_eq!(
        nc(phone.respond_again("INVITE", URI, random(3)).unwrap()),
        Some(3)
    );
    assert_eq!(nc(phone.respond(&b, "REGISTER", URI, random(4))), Some(1));
    phone.forget_nonce();
    assert_eq!(nc(phone.respond(&b, "REGISTER", URI, random(5))), Some(1));
    let creds = phone.respond(&b, "REGISTER", URI, random(6)).unwrap();
    assert_eq!(creds.cnonce.as_deref(), Some(hex_of(random(6)).as_str()));
}

fn hex_of(bytes: [u8; 16]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn client_refuses_text_that_would_break_the_header() {
    assert!(DigestClient::new("a\r\nVia: x", "p").is_err());
    assert!(DigestClient::new("x".repeat(MAX_VALUE_LEN + 1), "p").is_err());
    let mut phone = client(PASSWORD);
    let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=auth").unwrap();
    assert!(
        phone
            .respond(&c, "REGISTER", "sip:a\r\nb", random(1))
            .is_err()
    );
    assert!(phone.respond(&c, "REG ISTER", URI, random(1)).is_err());
}

// ------------------------------------------------------------ secrecy

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let password = "Tr0ub4dor&3";
    let phone = client(password);
    assert!(!format!("{phone:?}").contains(password));
    assert!(!format!("{:?}", Secret::Password(password)).contains(password));
    let stored = ha1(Algorithm::Md5, USER, REALM, password);
    assert!(!format!("{:?}", Secret::Md5Ha1(&stored)).contains(&stored));
    let server = server();
    let debug = format!("{server:?}");
    assert!(
        !debug.contains("42, 42") && !debug.contains("424242"),
        "{debug}"
    );

    let mut server = server_with(config());
    let right = answered(&server, Algorithm::Sha256, password, NOW, 1);
    let wrong = answered(&server, Algorithm::Sha256, "nope", NOW, 1);
    let err = server
        .verify(&wrong, "REGISTER", Secret::Password(password), NOW)
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(password) && !shown.contains(&right.response) && !shown.contains(&stored),
        "{shown}"
    );
}
