//! RFC 5849's own examples as test vectors: the §3.4.1 signature base
//! string, and the signatures of the §1.2 three-legged flow (client
//! credentials dpf43f3p2l4k3l03 / kd94hf93k423kf44), verified through
//! [`verify`] as a server sees them; then each refusal.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use outpost_oauth1::{
    Credentials, NonceMemory, OAuthError, SignedRequest, Verified, base_string_uri,
    signature_base_string, verify,
};

const CLIENT: (&str, &str) = ("dpf43f3p2l4k3l03", "kd94hf93k423kf44");
const TEMPORARY: (&str, &str) = ("hh5s93j4hdidpola", "hdhd0244k9j7ao03");
const TOKEN: (&str, &str) = ("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00");

/// Secrets of the RFC's photo service.
fn lookup(consumer: &str, token: Option<&str>) -> Result<Credentials, OAuthError> {
    if consumer != CLIENT.0 {
        return Err(OAuthError::UnknownConsumer);
    }
    let token_secret = match token {
        None => "",
        Some(t) if t == TEMPORARY.0 => TEMPORARY.1,
        Some(t) if t == TOKEN.0 => TOKEN.1,
        Some(_) => return Err(OAuthError::InvalidToken),
    };
    Ok(Credentials {
        client_secret: CLIENT.1.to_owned(),
        token_secret: token_secret.to_owned(),
    })
}

fn request<'a>(
    method: &'a str,
    scheme: &'a str,
    path: &'a str,
    auth: &'a str,
) -> SignedRequest<'a> {
    SignedRequest {
        method,
        scheme,
        host: "photos.example.net",
        port: None,
        path,
        query: None,
        form_body: None,
        authorization: Some(auth),
    }
}

// The RFC prints this signature as 74KNZJeDHnMBp0EMJ9Zdt/XKycU= : one letter
// off from what HMAC-SHA1 gives for its own request, while its two other
// signatures below match byte for byte, so the printed one is a typo.
const INITIATE: &str = "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
    oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"137131200\", \
    oauth_nonce=\"wIjqoS\", oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\", \
    oauth_signature=\"74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D\"";
const TOKEN_REQUEST: &str = "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
    oauth_token=\"hh5s93j4hdidpola\", oauth_signature_method=\"HMAC-SHA1\", \
    oauth_timestamp=\"137131201\", oauth_nonce=\"walatlh\", \
    oauth_verifier=\"hfdp7dh39dks9884\", oauth_signature=\"gKgrFCywp7rO0OXSjdot%2FIHF7IU%3D\"";
const PHOTOS: &str = "OAuth realm=\"Photos\", oauth_consumer_key=\"dpf43f3p2l4k3l03\", \
    oauth_token=\"nnch734d00sl2jdk\", oauth_signature_method=\"HMAC-SHA1\", \
    oauth_timestamp=\"137131202\", oauth_nonce=\"chapoH\", \
    oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\"";

#[test]
fn the_section_3_4_1_base_string() {
    // POST /request?b5=%3D%253D&a3=a&c%40=&a2=r%20b, body c2&a3=2+q.
    let mut params: Vec<(String, String)> = [
        ("b5", "=%3D"),
        ("a3", "a"),
        ("c@", ""),
        ("a2", "r b"),
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("c2", ""),
        ("a3", "2 q"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    params.reverse(); // order must not matter
    let uri = base_string_uri("http", "example.com", None, "/request");
    assert_eq!(
        signature_base_string("post", &uri, &params),
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
         %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
         key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
         ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
         9d7dh3k39sjv7"
    );
}

#[test]
fn the_section_1_2_flow_verifies() {
    let mut nonces = NonceMemory::new(100);
    let got = verify(
        &request("POST", "https", "/initiate", INITIATE),
        137_131_200,
        300,
        &mut nonces,
        lookup,
    )
    .unwrap();
    assert_eq!(
        got.callback.as_deref(),
        Some("http://printer.example.com/ready")
    );
    let got = verify(
        &request("POST", "https", "/token", TOKEN_REQUEST),
        137_131_201,
        300,
        &mut nonces,
        lookup,
    )
    .unwrap();
    assert_eq!(
        got,
        Verified {
            consumer_key: CLIENT.0.into(),
            token: Some(TEMPORARY.0.into()),
            callback: None,
            verifier: Some("hfdp7dh39dks9884".into()),
        }
    );
    let mut photos = request("GET", "http", "/photos", PHOTOS);
    photos.query = Some("file=vacation.jpg&size=original");
    verify(&photos, 137_131_202, 300, &mut nonces, lookup).unwrap();
}

#[test]
fn each_refusal_has_its_reason_and_nothing_is_remembered() {
    let mut nonces = NonceMemory::new(100);
    let at = 137_131_200;
    let initiate = request("POST", "https", "/initiate", INITIATE);
    // Stale: the clock is 301 s ahead.
    assert_eq!(
        verify(&initiate, at + 301, 300, &mut nonces, lookup),
        Err(OAuthError::StaleTimestamp { window: 300 })
    );
    // Wrong signature: another path is signed differently.
    assert_eq!(
        verify(
            &request("POST", "https", "/initiat", INITIATE),
            at,
            300,
            &mut nonces,
            lookup
        ),
        Err(OAuthError::InvalidSignature)
    );
    // Another scheme's default port changes the base string URI too.
    assert_eq!(
        verify(
            &request("POST", "http", "/initiate", INITIATE),
            at,
            300,
            &mut nonces,
            lookup
        ),
        Err(OAuthError::InvalidSignature)
    );
    assert!(nonces.is_empty(), "refused requests leave no nonce behind");
    // Unknown consumer, unknown token.
    let unknown = INITIATE.replace("dpf43f3p2l4k3l03", "someone-else");
    assert_eq!(
        verify(
            &request("POST", "https", "/initiate", &unknown),
            at,
            300,
            &mut nonces,
            lookup
        ),
        Err(OAuthError::UnknownConsumer)
    );
    let forged = PHOTOS.replace("nnch734d00sl2jdk", "nnch734d00sl2jdX");
    let mut photos = request("GET", "http", "/photos", &forged);
    photos.query = Some("file=vacation.jpg&size=original");
    assert_eq!(
        verify(&photos, at + 2, 300, &mut nonces, lookup),
        Err(OAuthError::InvalidToken)
    );
    // Replay: accepted once, refused the second time.
    verify(&initiate, at, 300, &mut nonces, lookup).unwrap();
    assert_eq!(
        verify(&initiate, at, 300, &mut nonces, lookup),
        Err(OAuthError::ReplayedNonce)
    );
    // Other signature methods, a missing header, a parameter given twice.
    let plaintext = INITIATE.replace("HMAC-SHA1", "PLAINTEXT");
    assert!(matches!(
        verify(
            &request("POST", "https", "/initiate", &plaintext),
            at,
            300,
            &mut nonces,
            lookup
        ),
        Err(OAuthError::UnsupportedSignatureMethod { .. })
    ));
    let mut no_header = initiate;
    no_header.authorization = None;
    assert_eq!(
        verify(&no_header, at, 300, &mut nonces, lookup),
        Err(OAuthError::MissingHeader)
    );
    let mut twice = initiate;
    twice.query = Some("oauth_nonce=again");
    assert!(matches!(
        verify(&twice, at, 300, &mut nonces, lookup),
        Err(OAuthError::DuplicateParameter { .. })
    ));
}
