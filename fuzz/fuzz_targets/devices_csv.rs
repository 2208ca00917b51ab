//! A device CSV import either succeeds or reports line errors; never panics,
//! and a failed import leaves the database unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_store::{NewIcp, Store};

fuzz_target!(|data: &[u8]| {
    let Ok(mut store) = Store::open_in_memory() else {
        return;
    };
    if store.add_icp(&NewIcp::new("pbx", "198.18.0.1")).is_err() {
        return;
    }
    let before = store.devices().map(|d| d.len()).unwrap_or(0);
    if store.import_devices_csv(data).is_err() {
        assert_eq!(store.devices().map(|d| d.len()).unwrap_or(0), before);
    }
});
