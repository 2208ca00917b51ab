//! Devices survive dropping the store and reopening the file (SEC-10).

use outpost_store::{NewDevice, NewIcp, Secret, Store};

#[test]
fn device_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    let mut new = NewDevice::new("alice", Secret::new("pw-alice".to_owned()));
    new.icpside_username = "4001".to_owned();
    new.icpside_password = Some(Secret::new("pw-icp".to_owned()));
    new.mac = Some("00:08:5d:84:20:61".to_owned());
    new.location = Some("Lyon".to_owned());
    new.description = "home office".to_owned();
    let added = store.add_device(&new).unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    let got = store.device("alice").unwrap().unwrap();
    assert_eq!(got.id, added.id);
    assert_eq!(got.guid, added.guid);
    assert_eq!(got.icp, "pbx1");
    assert_eq!(got.setside_password.expose(), "pw-alice");
    assert_eq!(got.icpside_username, "4001");
    assert_eq!(got.effective_icpside_password().expose(), "pw-icp");
    assert_eq!(got.mac.as_deref(), Some("00085D842061"));
    assert_eq!(got.location.as_deref(), Some("Lyon"));
    assert_eq!(got.description, "home office");
    assert!(got.enabled);
    assert_eq!(store.devices().unwrap().len(), 1);
}

#[test]
fn open_existing_never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let err = Store::open_existing(&path).unwrap_err();
    assert!(
        matches!(&err, outpost_store::StoreError::NoDatabase { path: p } if *p == path),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(!path.exists(), "nothing created");
    let missing_dir = dir.path().join("nowhere").join("outpost.db");
    assert!(Store::open_existing(&missing_dir).is_err());
    assert!(!dir.path().join("nowhere").exists());

    let mut store = Store::open(&path).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    drop(store);
    let store = Store::open_existing(&path).unwrap();
    assert_eq!(store.icps().unwrap().len(), 1);
    assert_eq!(
        store.schema_version().unwrap(),
        outpost_store::migrations::LATEST
    );
}
