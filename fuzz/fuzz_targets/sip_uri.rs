//! Parses arbitrary bytes as a URI and reads every part.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_sip::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = Uri::parse(s) {
        let _ = (
            u.scheme(),
            u.scheme_str(),
            u.user(),
            u.user_raw(),
            u.password(),
            u.host(),
            u.host_kind(),
            u.ip(),
            u.port(),
        );
        let _ = (
            u.params().count(),
            u.transport(),
            u.user_param(),
            u.maddr(),
            u.ttl(),
            u.lr(),
            u.headers(),
        );
        assert!(u.equivalent(&u.clone()));
        assert_eq!(u.as_str(), s);
    }
});
