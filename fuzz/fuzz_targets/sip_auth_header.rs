//! Digest header values (WWW-Authenticate / Authorization): arbitrary input
//! never panics the parsers, and whatever parses renders to a value that
//! parses back to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_sip::auth::{Challenge, Credentials};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenge) = Challenge::parse(text) {
        let rendered = challenge.to_header_value();
        assert!(!rendered.contains(['\r', '\n']));
        assert_eq!(
            Challenge::parse(&rendered).as_ref(),
            Ok(&challenge),
            "{rendered}"
        );
    }
    if let Ok(credentials) = Credentials::parse(text) {
        let rendered = credentials.to_header_value();
        assert!(!rendered.contains(['\r', '\n']));
        assert_eq!(
            Credentials::parse(&rendered).as_ref(),
            Ok(&credentials),
            "{rendered}"
        );
    }
});
