//! Device runtime status: written, read back, reset at start, dropped with
//! its device.
#![allow(clippy::unwrap_used)]

use outpost_store::{DeviceStatusRecord, NewDevice, NewIcp, Secret, Store};

fn store_with_device() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    store.add_icp(&NewIcp::new("pbx", "198.18.2.20")).unwrap();
    store
        .add_device(&NewDevice::new(
            "alice",
            Secret::new("alice-Secret-1".into()),
        ))
        .unwrap();
    store
}

#[test]
fn status_round_trip_reset_and_cascade() {
    let mut store = store_with_device();
    let status = DeviceStatusRecord {
        setside_username: "alice".into(),
        registered: true,
        connected: true,
        in_call: false,
        natted: true,
        last_address: Some("198.18.0.1:53228".into()),
        updated: 1_800_000_000,
    };
    store.set_device_status(&status).unwrap();
    assert_eq!(store.device_statuses().unwrap(), vec![status.clone()]);

    // An update without an address keeps the last one.
    let update = DeviceStatusRecord {
        in_call: true,
        last_address: None,
        updated: 1_800_000_010,
        ..status.clone()
    };
    store.set_device_status(&update).unwrap();
    let got = &store.device_statuses().unwrap()[0];
    assert!(got.in_call);
    assert_eq!(got.last_address.as_deref(), Some("198.18.0.1:53228"));

    store.reset_device_statuses().unwrap();
    let got = &store.device_statuses().unwrap()[0];
    assert!(!got.registered && !got.connected && !got.in_call);
    assert_eq!(got.last_address.as_deref(), Some("198.18.0.1:53228"));

    // Unknown devices are ignored; deleting a device drops its status.
    store
        .set_device_status(&DeviceStatusRecord {
            setside_username: "nobody".into(),
            ..DeviceStatusRecord::default()
        })
        .unwrap();
    assert_eq!(store.device_statuses().unwrap().len(), 1);
    store.remove_device("alice").unwrap();
    assert!(store.device_statuses().unwrap().is_empty());
}
