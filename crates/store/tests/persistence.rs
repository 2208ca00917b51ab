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

#[test]
fn a_removed_device_leaves_no_password_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    let mut new = NewDevice::new("alice", Secret::new("pw-gone-7Kq2".to_owned()));
    new.icpside_password = Some(Secret::new("icp-gone-3Zx8".to_owned()));
    store.add_device(&new).unwrap();
    store
        .add_device(&NewDevice::new("bob", Secret::new("pw-bob".to_owned())))
        .unwrap();
    store.remove_device("alice").unwrap();
    // Closing the last connection checkpoints the WAL into the file.
    drop(store);

    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("outpost.db-wal")) {
        bytes.extend(wal);
    }
    for secret in ["pw-gone-7Kq2", "icp-gone-3Zx8"] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is still in the database file"
        );
    }
    assert!(
        bytes.windows(6).any(|w| w == b"pw-bob"),
        "the search finds what is there"
    );
}
