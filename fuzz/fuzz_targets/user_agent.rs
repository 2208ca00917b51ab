//! The phone User-Agent parser (PRO-8 inventory) never panics on what the
//! Internet sends, and what it recognises is well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_provision::{Mac, parse_user_agent};

fuzz_target!(|data: &[u8]| {
    let Ok(agent) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(phone) = parse_user_agent(agent) {
        assert!(!phone.model.is_empty() && phone.model.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(Mac::parse(&phone.mac.dashed()), Ok(phone.mac));
        if let Some(firmware) = &phone.firmware {
            assert!(firmware.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        }
    }
});
