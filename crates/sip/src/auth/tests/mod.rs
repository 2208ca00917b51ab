//! Unit tests reaching internals: the server-side response check on
//! published vectors (whose nonces this server did not sign), and the
//! nonce-count table.

use super::replay::{NonceTable, Refused};
use super::server::check_response;
use super::*;

mod parse;

const VECTORS: &str = include_str!("../../../testdata/digest/vectors.txt");

fn testdata(file: &str) -> String {
    let path = format!("{}/testdata/digest/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `key = value` blocks separated by blank lines; `#` lines are comments.
fn vectors() -> Vec<Vec<(String, String)>> {
    let mut blocks = vec![Vec::new()];
    for line in VECTORS.lines() {
        if line.trim().is_empty() {
            if blocks.last().is_some_and(|b| !b.is_empty()) {
                blocks.push(Vec::new());
            }
        } else if !line.starts_with('#') {
            let (k, v) = line
                .split_once(" = ")
                .expect("vector line is `key = value`");
            blocks
                .last_mut()
                .expect("one block")
                .push((k.to_owned(), v.to_owned()));
        }
    }
    blocks.retain(|b| !b.is_empty());
    blocks
}

fn get<'a>(block: &'a [(String, String)], key: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn credentials_of(block: &[(String, String)]) -> Credentials {
    let v = |k| get(block, k).map(str::to_owned);
    Credentials {
        username: v("username").expect("username"),
        realm: v("realm").expect("realm"),
        nonce: v("nonce").expect("nonce"),
        uri: v("uri").expect("uri"),
        response: v("response").expect("response"),
        algorithm: get(block, "algorithm").map(|a| a.parse().expect("known algorithm")),
        cnonce: v("cnonce"),
        opaque: v("opaque"),
        qop: get(block, "qop").map(|q| q.parse().expect("qop auth")),
        nc: get(block, "nc").map(|n| u32::from_str_radix(n, 16).expect("hex nc")),
        other: Vec::new(),
    }
}

#[test]
fn auth_vectors_file_has_every_vector() {
    let names: Vec<_> = vectors()
        .iter()
        .filter_map(|b| get(b, "name").map(str::to_owned))
        .collect();
    assert_eq!(
        names,
        [
            "rfc7616-3.9.1-md5",
            "rfc7616-3.9.1-sha256",
            "rfc2617-3.5",
            "legacy-no-qop-md5",
            "md5-sess-nc-0a",
            "sha256-sess-nc-0a",
        ]
    );
}

#[test]
fn auth_server_check_accepts_published_responses() {
    for block in vectors() {
        let name = get(&block, "name").expect("name");
        let password = get(&block, "password").expect("password");
        let method = get(&block, "method").expect("method");
        let mut creds = credentials_of(&block);
        if let Some(file) = get(&block, "authorization") {
            let parsed = Credentials::parse(&testdata(file)).expect(name);
            assert_eq!(parsed, creds, "{name}: header file and vector disagree");
            creds = parsed;
        }
        let alg = creds.effective_algorithm();
        check_response(&creds, method, Secret::Password(password))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stored = ha1(alg, &creds.username, &creds.realm, password);
        let secret = if alg.is_sha256() {
            Secret::Sha256Ha1(&stored)
        } else {
            Secret::Md5Ha1(&stored)
        };
        check_response(&creds, method, secret).unwrap_or_else(|e| panic!("{name} with HA1: {e}"));
        let upper = stored.to_ascii_uppercase();
        let secret = if alg.is_sha256() {
            Secret::Sha256Ha1(&upper)
        } else {
            Secret::Md5Ha1(&upper)
        };
        check_response(&creds, method, secret)
            .unwrap_or_else(|e| panic!("{name} with uppercase HA1: {e}"));

        let wrong = check_response(&creds, method, Secret::Password("circle of life"));
        assert_eq!(wrong, Err(DigestError::WrongResponse), "{name}");
        let wrong_method = check_response(&creds, "POST", Secret::Password(password));
        assert_eq!(wrong_method, Err(DigestError::WrongResponse), "{name}");
        let mut other_nc = creds.clone();
        other_nc.nc = other_nc.nc.map(|n| n + 1);
        if other_nc.nc.is_some() {
            assert_eq!(
                check_response(&other_nc, method, Secret::Password(password)),
                Err(DigestError::WrongResponse)
            );
        }
        let mismatched = if alg.is_sha256() {
            Secret::Md5Ha1(&stored)
        } else {
            Secret::Sha256Ha1(&stored)
        };
        assert_eq!(
            check_response(&creds, method, mismatched),
            Err(DigestError::SecretAlgorithmMismatch { algorithm: alg }),
            "{name}"
        );
    }
}

#[test]
fn auth_server_check_accepts_uppercase_response_hex() {
    let block = vectors().into_iter().next().expect("first vector");
    let mut creds = credentials_of(&block);
    creds.response = creds.response.to_ascii_uppercase();
    assert_eq!(
        check_response(&creds, "GET", Secret::Password("Circle of Life")),
        Ok(())
    );
}

#[test]
fn auth_server_check_requires_cnonce_and_nc_with_qop() {
    let block = vectors().into_iter().next().expect("first vector");
    let mut creds = credentials_of(&block);
    creds.cnonce = None;
    assert_eq!(
        check_response(&creds, "GET", Secret::Password("Circle of Life")),
        Err(DigestError::MissingParam { name: "cnonce" })
    );
    let mut creds = credentials_of(&block);
    creds.nc = None;
    assert_eq!(
        check_response(&creds, "GET", Secret::Password("Circle of Life")),
        Err(DigestError::MissingParam { name: "nc" })
    );
}

#[test]
fn auth_table_refuses_repeated_and_lower_counts() {
    let mut table = NonceTable::new(4);
    let key = (100, [1; 16]);
    assert_eq!(table.record(key, 1, 0), Ok(()));
    assert_eq!(table.record(key, 1, 0), Err(Refused::Replay));
    assert_eq!(table.record(key, 3, 0), Ok(()));
    assert_eq!(table.record(key, 2, 0), Err(Refused::Replay));
    assert_eq!(table.record(key, 4, 0), Ok(()));
    assert_eq!(table.len(), 1);
}

#[test]
fn auth_table_evicts_oldest_and_forgets_safely() {
    let mut table = NonceTable::new(3);
    for t in 1..=3 {
        assert_eq!(table.record((t, [0; 16]), 1, 0), Ok(()));
    }
    // Full: a fourth live nonce evicts the oldest (t = 1).
    assert_eq!(table.record((4, [0; 16]), 1, 0), Ok(()));
    assert_eq!(table.len(), 3);
    // The evicted nonce is not accepted as new, whatever its count.
    assert_eq!(table.record((1, [0; 16]), 9, 0), Err(Refused::Forgotten));
    // Neither is an unused nonce older than the eviction floor...
    assert_eq!(table.record((0, [7; 16]), 1, 0), Err(Refused::Forgotten));
    // ...but a newer, unused one is, and the survivors keep their counts.
    assert_eq!(table.record((1, [9; 16]), 1, 0), Ok(()));
    assert_eq!(table.record((3, [0; 16]), 1, 0), Err(Refused::Replay));
    assert_eq!(table.record((4, [0; 16]), 2, 0), Ok(()));
}

#[test]
fn auth_table_drops_expired_entries_first() {
    let mut table = NonceTable::new(10);
    for t in 1..=5 {
        assert_eq!(table.record((t, [0; 16]), 1, 0), Ok(()));
    }
    // Everything issued before 4 has expired by the time this one arrives.
    assert_eq!(table.record((8, [0; 16]), 1, 4), Ok(()));
    assert_eq!(table.len(), 3);
}

#[test]
fn auth_table_bound_holds_under_flood() {
    let mut table = NonceTable::new(100);
    for i in 0..10_000u64 {
        let mut random = [0u8; 16];
        random[..8].copy_from_slice(&i.to_le_bytes());
        assert_eq!(table.record((i / 10, random), 1, 0), Ok(()));
        assert!(table.len() <= 100);
    }
    assert_eq!(table.len(), 100);
}
