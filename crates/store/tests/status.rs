//! Device runtime status: written, read back, reset at start, dropped with
//! its device.
#![allow(clippy::unwrap_used)]

use outpost_store::{BindingStatusRecord, DeviceStatusRecord, NewDevice, NewIcp, Secret, Store};

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
        bindings: Vec::new(),
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

fn binding(n: u64, contact: &str, transport: &str, address: &str) -> BindingStatusRecord {
    BindingStatusRecord {
        binding: n,
        contact: contact.into(),
        transport: transport.into(),
        user_agent: Some(format!("client {n}")),
        registered: true,
        connected: true,
        in_call: false,
        natted: true,
        last_address: address.into(),
        expires: 1_800_000_120,
    }
}

#[test]
fn bindings_are_stored_per_client_and_those_that_ended_are_removed() {
    let mut store = store_with_device();
    store
        .add_device(&NewDevice::new("bob", Secret::new("bob-Secret-1".into())))
        .unwrap();
    let desk = binding(
        1,
        "sip:alice@192.168.1.20:5060",
        "udp",
        "198.51.100.7:40000",
    );
    let soft = BindingStatusRecord {
        in_call: true,
        user_agent: None,
        ..binding(
            2,
            "sip:alice@192.168.1.31:5061;transport=tls",
            "tls",
            "198.51.100.7:41000",
        )
    };
    let alice = DeviceStatusRecord {
        setside_username: "alice".into(),
        registered: true,
        connected: true,
        in_call: true,
        natted: true,
        last_address: Some(soft.last_address.clone()),
        updated: 1_800_000_000,
        bindings: vec![desk.clone(), soft.clone()],
    };
    let bob = DeviceStatusRecord {
        setside_username: "bob".into(),
        registered: true,
        bindings: vec![binding(3, "sip:bob@10.1.1.1", "udp", "198.51.100.9:5060")],
        ..DeviceStatusRecord::default()
    };
    store
        .set_device_statuses(&[bob.clone(), alice.clone()])
        .unwrap();
    assert_eq!(
        store.device_statuses().unwrap(),
        vec![alice.clone(), bob.clone()]
    );

    // The softphone's binding ended: only the desk phone's row is left,
    // and bob's are untouched.
    let alice_now = DeviceStatusRecord {
        in_call: false,
        bindings: vec![desk.clone()],
        ..alice.clone()
    };
    store.set_device_status(&alice_now).unwrap();
    let got = store.device_statuses().unwrap();
    assert_eq!(got[0].bindings, vec![desk]);
    assert_eq!(got[1], bob);

    // Bindings of a device that does not exist are not written.
    store
        .set_device_status(&DeviceStatusRecord {
            setside_username: "nobody".into(),
            bindings: vec![binding(9, "sip:x@192.0.2.1", "udp", "192.0.2.1:5060")],
            ..DeviceStatusRecord::default()
        })
        .unwrap();
    assert_eq!(store.device_statuses().unwrap().len(), 2);

    // Deleting a device drops its bindings; a restart forgets them all.
    store.remove_device("bob").unwrap();
    assert_eq!(store.device_statuses().unwrap().len(), 1);
    store.reset_device_statuses().unwrap();
    let got = store.device_statuses().unwrap();
    assert!(got[0].bindings.is_empty() && !got[0].registered);
    assert_eq!(got[0].last_address.as_deref(), Some("198.51.100.7:41000"));
}
