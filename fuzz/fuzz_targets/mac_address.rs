//! MAC address normalization never panics and its output is canonical.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mac) = outpost_store::normalize_mac(text) {
        assert_eq!(mac.len(), 12);
        assert_eq!(outpost_store::normalize_mac(&mac).ok().as_deref(), Some(mac.as_str()));
    }
});
