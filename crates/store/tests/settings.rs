//! Key/value settings.

use outpost_store::{Store, StoreError};

#[test]
fn set_get_overwrite() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.setting("public_fqdn").unwrap(), None);
    store.set_setting("public_fqdn", "sbc.example.com").unwrap();
    assert_eq!(
        store.setting("public_fqdn").unwrap().as_deref(),
        Some("sbc.example.com")
    );
    store
        .set_setting("public_fqdn", "other.example.com")
        .unwrap();
    assert_eq!(
        store.setting("public_fqdn").unwrap().as_deref(),
        Some("other.example.com")
    );
}

#[test]
fn set_if_absent_writes_once() {
    let mut store = Store::open_in_memory().unwrap();
    assert!(store.set_setting_if_absent("setup_token", "first").unwrap());
    assert!(
        !store
            .set_setting_if_absent("setup_token", "second")
            .unwrap()
    );
    assert_eq!(
        store.setting("setup_token").unwrap().as_deref(),
        Some("first")
    );
}

#[test]
fn empty_key_is_refused() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store.set_setting(" ", "v").unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("key: empty"), "{err}");
}

#[test]
fn settings_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    assert!(store.set_setting_if_absent("setup_token", "tok").unwrap());
    drop(store);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store.setting("setup_token").unwrap().as_deref(),
        Some("tok")
    );
    assert!(!store.set_setting_if_absent("setup_token", "again").unwrap());
}
