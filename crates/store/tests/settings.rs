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

fn audit(target: &str, after: Option<&str>) -> outpost_store::AuditRecord {
    outpost_store::AuditRecord {
        at: 1_700_000_000,
        actor: "account:alice".to_owned(),
        actor_name: "alice".to_owned(),
        source: "192.0.2.10".to_owned(),
        action: "setting.change".to_owned(),
        target: target.to_owned(),
        before: Some("{\"value\":120}".to_owned()),
        after: after.map(str::to_owned),
    }
}

fn audit_count(store: &Store) -> usize {
    store
        .audit_entries(&outpost_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .expect("the audit log reads")
        .len()
}

#[test]
fn settings_changes_and_their_audit_are_one_transaction() {
    let mut store = Store::open_in_memory().unwrap();
    let revision = store.guard_revision().unwrap();
    store
        .change_settings(
            &[("config.registration.phone_expiry_secs", "60")],
            &[("dos_threshold", "300")],
            &[
                audit("registration.phone_expiry_secs", Some("{\"value\":60}")),
                audit("guard.dos_threshold", Some("{\"value\":300}")),
            ],
        )
        .unwrap();
    assert_eq!(
        store
            .setting("config.registration.phone_expiry_secs")
            .unwrap()
            .as_deref(),
        Some("60")
    );
    assert_eq!(
        store.guard_settings().unwrap(),
        [("dos_threshold".to_owned(), "300".to_owned())]
    );
    assert_eq!(store.guard_revision().unwrap(), revision + 1);
    assert_eq!(audit_count(&store), 2);

    // An audit entry the log refuses (not JSON) writes nothing at all.
    store
        .change_settings(
            &[("config.registration.phone_expiry_secs", "90")],
            &[("dos_threshold", "400")],
            &[audit("registration.phone_expiry_secs", Some("not json"))],
        )
        .unwrap_err();
    assert_eq!(
        store
            .setting("config.registration.phone_expiry_secs")
            .unwrap()
            .as_deref(),
        Some("60")
    );
    assert_eq!(
        store.guard_settings().unwrap(),
        [("dos_threshold".to_owned(), "300".to_owned())]
    );
    assert_eq!(store.guard_revision().unwrap(), revision + 1);
    assert_eq!(audit_count(&store), 2);
}

#[test]
fn resets_remove_stored_values_with_their_audit_in_one_transaction() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .change_settings(
            &[("config.sip.t1_ms", "600"), ("config.sip.t2_ms", "5000")],
            &[("dos_threshold", "300")],
            &[],
        )
        .unwrap();
    let revision = store.guard_revision().unwrap();
    let write = outpost_store::SettingsWrite {
        remove: &["config.sip.t1_ms"],
        remove_guard: &["dos_threshold"],
        ..Default::default()
    };
    // A refused audit entry: nothing is removed.
    store
        .write_settings(&write, &[audit("sip.t1_ms", Some("not json"))])
        .unwrap_err();
    assert_eq!(
        store.setting("config.sip.t1_ms").unwrap().as_deref(),
        Some("600")
    );
    assert_eq!(store.guard_settings().unwrap().len(), 1);

    store
        .write_settings(
            &write,
            &[audit("sip.t1_ms", None), audit("guard.dos_threshold", None)],
        )
        .unwrap();
    assert_eq!(store.setting("config.sip.t1_ms").unwrap(), None);
    assert_eq!(
        store.setting("config.sip.t2_ms").unwrap().as_deref(),
        Some("5000"),
        "only what was named"
    );
    assert!(store.guard_settings().unwrap().is_empty());
    assert_eq!(
        store.guard_revision().unwrap(),
        revision + 1,
        "a running gateway reloads the guard's settings"
    );
    assert_eq!(audit_count(&store), 2);
    assert!(store.remove_setting("config.sip.t2_ms").unwrap());
    assert!(!store.remove_setting("config.sip.t2_ms").unwrap());
}
