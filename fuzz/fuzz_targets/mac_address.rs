//! MAC address parsing never panics and its output is canonical: the file
//! name form parses back to the same address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_provision::mac::Mac;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mac) = Mac::parse(text) {
        let canonical = mac.to_string();
        assert_eq!(canonical.len(), 12);
        assert_eq!(Mac::parse(&canonical).ok(), Some(mac));
    }
});
