//! Helpers shared by the integration tests.

// Not every test file uses every helper; helpers are test code, where a
// panic is the failure report (clippy only exempts `#[test]` fns).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use outpost_store::{NewDevice, NewIcp, Secret, Store};

/// An in-memory store with one (default) ICP named `pbx1`.
pub fn store_with_icp() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    store
        .add_icp(&NewIcp::new("pbx1", "pbx1.example.com"))
        .unwrap();
    store
}

/// A device on the default ICP with the given set-side credentials.
pub fn device(user: &str, password: &str) -> NewDevice {
    NewDevice::new(user, Secret::new(password.to_owned()))
}

/// The problems of a `StoreError::Invalid`, as `(field, message)` pairs.
pub fn problems(err: &outpost_store::StoreError) -> Vec<(&'static str, String)> {
    match err {
        outpost_store::StoreError::Invalid(p) => {
            p.iter().map(|p| (p.field, p.to_string())).collect()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}
