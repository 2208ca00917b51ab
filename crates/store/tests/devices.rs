//! Teleworker SIP devices (PRO-2): CRUD, the ICP-side default rule, MAC
//! forms, validation, secrets kept out of output.

mod common;

use common::{device, problems, store_with_icp};
use outpost_store::{Item, NewDevice, NewIcp, Secret, Store, StoreError};

const PASSWORD: &str = "Tr0ub4dor&3-very-secret";

#[test]
fn add_get_list_remove() {
    let mut store = store_with_icp();
    let mut new = device("alice", PASSWORD);
    new.description = "Alice at home".to_owned();
    new.location = Some("Paris".to_owned());
    new.enabled = false;
    let added = store.add_device(&new).unwrap();
    assert_eq!(added.setside_username, "alice");
    assert_eq!(added.setside_password.expose(), PASSWORD);
    assert_eq!(added.icp, "pbx1");
    assert_eq!(added.description, "Alice at home");
    assert_eq!(added.location.as_deref(), Some("Paris"));
    assert!(!added.enabled);
    assert_eq!(added.guid.len(), 32);

    let bob = store.add_device(&device("bob", "pw-bob")).unwrap();
    assert_ne!(bob.guid, added.guid);
    let all: Vec<String> = store
        .devices()
        .unwrap()
        .into_iter()
        .map(|d| d.setside_username)
        .collect();
    assert_eq!(all, ["alice", "bob"]);

    let got = store.device("alice").unwrap().unwrap();
    assert_eq!(got.id, added.id);
    assert_eq!(got.guid, added.guid);
    assert_eq!(store.device("nobody").unwrap().map(|d| d.id), None);

    store.remove_device("alice").unwrap();
    assert!(store.device("alice").unwrap().is_none());
    let err = store.remove_device("alice").unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { kind: Item::Device, name } if name == "alice"),
        "{err:?}"
    );
    assert_eq!(store.devices().unwrap().len(), 1);
}

#[test]
fn blank_icp_side_values_mean_the_set_side() {
    let mut store = store_with_icp();

    let plain = store.add_device(&device("alice", "set-pw")).unwrap();
    assert_eq!(plain.icpside_username, "", "raw value kept blank");
    assert!(plain.icpside_password.is_none());
    assert_eq!(plain.effective_icpside_username(), "alice");
    assert_eq!(plain.effective_icpside_password().expose(), "set-pw");

    let mut blank = device("bob", "set-pw-b");
    blank.icpside_username = "   ".to_owned();
    blank.icpside_password = Some(Secret::new(String::new()));
    let blank = store.add_device(&blank).unwrap();
    assert_eq!(blank.icpside_username, "   ");
    assert_eq!(
        blank.icpside_password.as_ref().map(Secret::expose),
        Some("")
    );
    assert_eq!(blank.effective_icpside_username(), "bob");
    assert_eq!(blank.effective_icpside_password().expose(), "set-pw-b");

    let mut explicit = device("carol", "set-pw-c");
    explicit.icpside_username = "4001".to_owned();
    explicit.icpside_password = Some(Secret::new("icp-pw-c".to_owned()));
    store.add_device(&explicit).unwrap();
    // Read back from the database, not just the returned value.
    let explicit = store.device("carol").unwrap().unwrap();
    assert_eq!(explicit.effective_icpside_username(), "4001");
    assert_eq!(explicit.effective_icpside_password().expose(), "icp-pw-c");
    assert_eq!(explicit.setside_password.expose(), "set-pw-c");
}

#[test]
fn mac_forms_are_normalized() {
    // The rules are outpost_provision::Mac's; this checks the store stores
    // its canonical form and reports its errors on field `mac`.
    for form in [
        "00-08-5d-84-20-61",
        "00:08:5D:84:20:61",
        "00085d842061",
        " 00085D842061 ",
    ] {
        let mut store = store_with_icp();
        let mut new = device("alice", "pw");
        new.mac = Some(form.to_owned());
        let stored = store.add_device(&new).unwrap();
        assert_eq!(stored.mac.as_deref(), Some("00085D842061"), "{form}");
    }
    for bad in [
        "00-08-5d-84-20",
        "00:08-5d:84:20:61",
        "00085d84206g",
        "0008:5d84:2061",
        "000-85d-842-061",
    ] {
        let mut store = store_with_icp();
        let mut new = device("alice", "pw");
        new.mac = Some(bad.to_owned());
        let err = store.add_device(&new).unwrap_err();
        let found = problems(&err);
        assert_eq!(found.len(), 1, "{bad}");
        assert_eq!(found[0].0, "mac");
        assert!(found[0].1.contains("12 hex digits"), "{}", found[0].1);
    }

    let mut store = store_with_icp();
    let mut new = device("alice", "pw");
    new.mac = Some("00-08-5d-84-20-61".to_owned());
    assert_eq!(
        store.add_device(&new).unwrap().mac.as_deref(),
        Some("00085D842061")
    );

    // The same MAC in another form is a duplicate.
    let mut dup = device("bob", "pw");
    dup.mac = Some("00:08:5D:84:20:61".to_owned());
    let err = store.add_device(&dup).unwrap_err();
    let found = problems(&err);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "mac");
    assert!(
        found[0].1.contains("already used by device \"alice\""),
        "{}",
        found[0].1
    );

    // Blank MAC means none, and several devices may have none.
    let mut blank = device("carol", "pw");
    blank.mac = Some("  ".to_owned());
    assert_eq!(store.add_device(&blank).unwrap().mac, None);
    assert_eq!(store.add_device(&device("dave", "pw")).unwrap().mac, None);
}

#[test]
fn duplicate_username_is_refused_by_name() {
    let mut store = store_with_icp();
    store.add_device(&device("alice", "pw")).unwrap();
    let err = store.add_device(&device("alice", PASSWORD)).unwrap_err();
    let found = problems(&err);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "setside_username");
    assert!(found[0].1.contains("\"alice\""), "{}", found[0].1);
    assert!(found[0].1.contains("already exists"), "{}", found[0].1);
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
    assert_eq!(store.devices().unwrap().len(), 1);
}

#[test]
fn unknown_icp_is_named() {
    let mut store = store_with_icp();
    let mut new = device("alice", "pw");
    new.icp = Some("pbx9".to_owned());
    let err = store.add_device(&new).unwrap_err();
    let found = problems(&err);
    assert_eq!(found[0].0, "icp");
    assert!(found[0].1.contains("\"pbx9\""), "{}", found[0].1);
}

#[test]
fn explicit_icp_is_kept() {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    let mut new = device("alice", "pw");
    new.icp = Some("pbx2".to_owned());
    assert_eq!(store.add_device(&new).unwrap().icp, "pbx2");
    assert_eq!(store.device("alice").unwrap().unwrap().icp, "pbx2");
}

#[test]
fn no_default_icp_says_how_to_add_one() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store.add_device(&device("alice", "pw")).unwrap_err();
    let found = problems(&err);
    assert_eq!(found[0].0, "icp");
    assert!(
        found[0]
            .1
            .contains("no default ICP; add one with `outpost icps add`"),
        "{}",
        found[0].1
    );
}

#[test]
fn several_problems_are_reported_together() {
    let mut store = store_with_icp();
    let mut bad = NewDevice::new("bob smith", Secret::new(String::new()));
    bad.icpside_username = "x<y".to_owned();
    bad.mac = Some("zz".to_owned());
    bad.icp = Some("nope".to_owned());
    let err = store.add_device(&bad).unwrap_err();
    let fields: Vec<&str> = problems(&err).iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        [
            "setside_username",
            "setside_password",
            "icpside_username",
            "icp",
            "mac"
        ]
    );
    let msg = err.to_string();
    assert!(
        msg.contains("setside_username \"bob smith\": character ' ' is not allowed"),
        "{msg}"
    );
    assert!(
        msg.contains("setside_password: empty; every device needs a set-side password"),
        "{msg}"
    );
    assert!(store.devices().unwrap().is_empty());
}

#[test]
fn username_rules() {
    let mut store = store_with_icp();
    let max = "a".repeat(64);
    store.add_device(&device(&max, "pw")).unwrap();
    store
        .add_device(&device("x-_.!~*'()&=+$,;?/9", "pw"))
        .unwrap();
    let too_long = "a".repeat(65);
    let err = store.add_device(&device(&too_long, "pw")).unwrap_err();
    assert!(err.to_string().contains("at most 64 characters"), "{err}");
    for bad in ["", "al@ce", "al:ce", "ålice", "a b"] {
        let err = store.add_device(&device(bad, "pw")).unwrap_err();
        assert_eq!(problems(&err)[0].0, "setside_username", "{bad:?}");
    }
}

#[test]
fn secrets_do_not_print() {
    let secret = Secret::new(PASSWORD.to_owned());
    assert_eq!(format!("{secret}"), "********");
    assert_eq!(format!("{secret:?}"), "********");

    let mut store = store_with_icp();
    let mut new = device("alice", PASSWORD);
    new.icpside_password = Some(Secret::new("icp-side-hidden".to_owned()));
    let d = store.add_device(&new).unwrap();
    let debug = format!("{d:?} {new:?} {:?}", store.devices().unwrap());
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(!debug.contains("icp-side-hidden"), "{debug}");
    assert!(debug.contains("alice"), "{debug}");
}
