//! Changing devices (PRO-2, issue 11): field by field, validated like a new
//! device, nothing written when anything is wrong, passwords never shown.

mod common;

use common::{device, problems, store_with_icp};
use outpost_store::{DeviceUpdate, Item, NewIcp, Secret, StoreError};

const PASSWORD: &str = "Tr0ub4dor&3-very-secret";

#[test]
fn only_the_fields_given_change() {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    let mut new = device("alice", PASSWORD);
    new.icpside_username = "1001".to_owned();
    new.icpside_password = Some(Secret::from("icp-old-pw"));
    new.description = "Alice".to_owned();
    new.mac = Some("00-08-5d-84-20-61".to_owned());
    new.location = Some("Paris".to_owned());
    let before = store.add_device(&new).unwrap();

    let change = DeviceUpdate {
        icpside_password: Some(Secret::from("icp-new-pw")),
        ..DeviceUpdate::default()
    };
    let updated = store.update_device("alice", &change).unwrap();
    assert_eq!(updated.changed, ["icpside_password"]);
    let after = store.device("alice").unwrap().unwrap();
    assert_eq!(after.effective_icpside_password().expose(), "icp-new-pw");
    assert_eq!(after.setside_password.expose(), PASSWORD);
    assert_eq!(after.icpside_username, "1001");
    assert_eq!(after.description, "Alice");
    assert_eq!(after.mac.as_deref(), Some("00085D842061"));
    assert_eq!(after.location.as_deref(), Some("Paris"));
    assert_eq!(after.icp, "pbx1");
    assert!(after.enabled);
    assert_eq!((after.id, &after.guid), (before.id, &before.guid));

    // Everything else at once.
    let change = DeviceUpdate {
        enabled: Some(false),
        description: Some("Alice, new office".to_owned()),
        icp: Some("pbx2".to_owned()),
        setside_password: Some(Secret::from("set-new-pw")),
        icpside_username: Some("2001".to_owned()),
        icpside_password: None,
        mac: Some(Some("00:08:5D:84:20:62".to_owned())),
        location: Some(Some(" Lyon ".to_owned())),
    };
    let updated = store.update_device("alice", &change).unwrap();
    assert_eq!(
        updated.changed,
        [
            "enabled",
            "description",
            "icp",
            "setside_password",
            "icpside_username",
            "mac",
            "location"
        ]
    );
    let d = updated.device;
    assert!(!d.enabled);
    assert_eq!(d.description, "Alice, new office");
    assert_eq!(d.icp, "pbx2");
    assert_eq!(d.setside_password.expose(), "set-new-pw");
    assert_eq!(d.effective_icpside_username(), "2001");
    assert_eq!(d.effective_icpside_password().expose(), "icp-new-pw");
    assert_eq!(d.mac.as_deref(), Some("00085D842062"));
    assert_eq!(d.location.as_deref(), Some("Lyon"));

    // The same values again change nothing.
    let updated = store.update_device("alice", &change).unwrap();
    assert!(updated.changed.is_empty(), "{:?}", updated.changed);
    assert!(DeviceUpdate::default().is_empty());
    assert!(!change.is_empty());
}

#[test]
fn clearing_mac_location_and_icp_side_values() {
    let mut store = store_with_icp();
    let mut new = device("bob", PASSWORD);
    new.icpside_username = "1002".to_owned();
    new.icpside_password = Some(Secret::from("icp-pw"));
    new.mac = Some("00085d842063".to_owned());
    new.location = Some("Rome".to_owned());
    store.add_device(&new).unwrap();

    let change = DeviceUpdate {
        mac: Some(None),
        location: Some(Some("  ".to_owned())),
        icpside_username: Some(String::new()),
        icpside_password: Some(Secret::default()),
        ..DeviceUpdate::default()
    };
    let updated = store.update_device("bob", &change).unwrap();
    assert_eq!(
        updated.changed,
        ["icpside_username", "icpside_password", "mac", "location"]
    );
    let d = updated.device;
    assert_eq!(d.mac, None);
    assert_eq!(d.location, None);
    assert_eq!(d.effective_icpside_username(), "bob");
    assert_eq!(d.effective_icpside_password().expose(), PASSWORD);

    // The freed MAC can go to another device.
    let mut carol = device("carol", PASSWORD);
    carol.mac = Some("00-08-5D-84-20-63".to_owned());
    store.add_device(&carol).unwrap();
}

#[test]
fn unknown_device_is_named() {
    let mut store = store_with_icp();
    let change = DeviceUpdate {
        enabled: Some(false),
        ..DeviceUpdate::default()
    };
    let err = store.update_device("nobody", &change).unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { kind: Item::Device, name } if name == "nobody"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"nobody\""), "{err}");
}

#[test]
fn every_problem_is_reported_and_nothing_is_written() {
    let mut store = store_with_icp();
    let mut other = device("other", PASSWORD);
    other.mac = Some("00085D842061".to_owned());
    store.add_device(&other).unwrap();
    store.add_device(&device("alice", PASSWORD)).unwrap();

    let change = DeviceUpdate {
        enabled: Some(false),
        description: Some("changed".to_owned()),
        icp: Some("nope".to_owned()),
        setside_password: Some(Secret::from("   ")),
        icpside_username: Some("bad user".to_owned()),
        mac: Some(Some("00:08:5d:84:20:61".to_owned())),
        ..DeviceUpdate::default()
    };
    let err = store.update_device("alice", &change).unwrap_err();
    let fields: Vec<&str> = problems(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        ["icp", "setside_password", "icpside_username", "mac"],
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("\"nope\"") && text.contains("outpost icps list"),
        "{text}"
    );
    assert!(text.contains("already used by device \"other\""), "{text}");
    let alice = store.device("alice").unwrap().unwrap();
    assert!(alice.enabled, "nothing written");
    assert_eq!(alice.description, "");
    assert_eq!(alice.setside_password.expose(), PASSWORD);

    for bad_mac in ["00-08-5d", "zz:08:5d:84:20:61"] {
        let change = DeviceUpdate {
            mac: Some(Some(bad_mac.to_owned())),
            ..DeviceUpdate::default()
        };
        let err = store.update_device("alice", &change).unwrap_err();
        assert_eq!(problems(&err)[0].0, "mac", "{err}");
    }
    let change = DeviceUpdate {
        icp: Some(" ".to_owned()),
        ..DeviceUpdate::default()
    };
    let err = store.update_device("alice", &change).unwrap_err();
    assert_eq!(problems(&err)[0].0, "icp", "{err}");
}

#[test]
fn a_device_keeps_its_own_mac() {
    let mut store = store_with_icp();
    let mut new = device("alice", PASSWORD);
    new.mac = Some("00085D842061".to_owned());
    store.add_device(&new).unwrap();
    let change = DeviceUpdate {
        mac: Some(Some("00-08-5d-84-20-61".to_owned())),
        ..DeviceUpdate::default()
    };
    let updated = store.update_device("alice", &change).unwrap();
    assert!(updated.changed.is_empty(), "{:?}", updated.changed);
}

#[test]
fn passwords_never_appear_in_errors_or_results() {
    let mut store = store_with_icp();
    store.add_device(&device("alice", PASSWORD)).unwrap();
    let secret = "N3w-Secret-Value";
    let change = DeviceUpdate {
        setside_password: Some(Secret::from(secret)),
        icpside_password: Some(Secret::from(secret)),
        icp: Some("nope".to_owned()),
        ..DeviceUpdate::default()
    };
    let err = store.update_device("alice", &change).unwrap_err();
    let shown = format!("{err}\n{err:?}");
    assert!(!shown.contains(secret), "{shown}");
    let change = DeviceUpdate {
        icp: None,
        ..change
    };
    let updated = store.update_device("alice", &change).unwrap();
    let shown = format!("{updated:?}");
    assert!(
        !shown.contains(secret) && !shown.contains(PASSWORD),
        "{shown}"
    );
    assert_eq!(updated.changed, ["setside_password", "icpside_password"]);
}
