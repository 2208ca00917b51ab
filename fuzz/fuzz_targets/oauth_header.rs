//! The OAuth `Authorization` header parser (issue 16, RFC 5849 §3.5.1)
//! and the whole verification never panic on what the Internet sends;
//! a header that parses is read back the same after writing it out again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_oauth1::{
    AuthorizationHeader, Credentials, NonceMemory, SignedRequest, percent_encode, verify,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = AuthorizationHeader::parse(text) {
        let mut written = String::from("OAuth ");
        let realm = header.realm.iter().map(|r| ("realm".to_owned(), r.clone()));
        for (i, (name, value)) in realm.chain(header.params.iter().cloned()).enumerate() {
            if i > 0 {
                written.push_str(", ");
            }
            written.push_str(&format!(
                "{}=\"{}\"",
                percent_encode(&name),
                percent_encode(&value)
            ));
        }
        if written.len() <= outpost_oauth1::MAX_HEADER_LEN {
            assert_eq!(AuthorizationHeader::parse(&written), Ok(header));
        }
    }
    // The query doubles as a form body: both are read the same way.
    let (auth, query) = text.split_once('\n').unwrap_or((text, ""));
    let request = SignedRequest {
        method: "POST",
        scheme: "https",
        host: "gw.example",
        port: Some(4445),
        path: "/mslrest/initiate",
        query: Some(query),
        form_body: Some(query),
        authorization: Some(auth),
    };
    let mut nonces = NonceMemory::new(4);
    let _ = verify(&request, 1_700_000_000, 300, &mut nonces, |_, _| {
        Ok(Credentials {
            client_secret: "s".into(),
            token_secret: String::new(),
        })
    });
});
