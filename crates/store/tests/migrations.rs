//! Opening files, schema migrations and persistence across reopen.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use outpost_store::{NewIcp, Store, StoreError, migrations};
use rusqlite::Connection;

fn raw_user_version(path: &std::path::Path) -> u32 {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn table_names(path: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn fresh_file_is_migrated_to_latest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    assert!(!path.exists());
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
    drop(store);
    assert_eq!(raw_user_version(&path), migrations::LATEST);
    assert_eq!(
        table_names(&path),
        [
            "admin_accounts",
            "admin_sessions",
            "api_tokens",
            "audit_log",
            "binding_status",
            "device_status",
            "devices",
            "directory_revision",
            "guard_allow",
            "guard_deny",
            "guard_revision",
            "guard_settings",
            "icps",
            "provisioning_actions",
            "provisioning_events",
            "provisioning_files",
            "provisioning_hash",
            "provisioning_inventory",
            "provisioning_revision",
            "settings",
            "ws_consumers",
            "ws_tokens"
        ]
    );
}

#[test]
fn reopen_is_idempotent_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    drop(store);
    for _ in 0..2 {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
        let icps = store.icps().unwrap();
        assert_eq!(icps.len(), 1);
        assert_eq!(icps[0].name, "pbx1");
    }
}

#[test]
fn in_memory_store_is_at_latest() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    drop(Store::open(&path).unwrap());
    let newer = migrations::LATEST + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    match &err {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!(*found, newer);
            assert_eq!(*supported, migrations::LATEST);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&newer.to_string()), "{msg}");
    assert!(
        msg.contains(&format!("up to {}", migrations::LATEST)),
        "{msg}"
    );
    // Refusing must not touch the file.
    assert_eq!(raw_user_version(&path), newer);
}

#[test]
fn failed_migration_is_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    // A stray table with a name migration 1 wants makes it fail half way
    // (after `icps` was created).
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE settings (x INTEGER)")
        .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::Migration { version: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("unchanged at version 0"), "{err}");
    assert_eq!(raw_user_version(&path), 0);
    assert_eq!(table_names(&path), ["settings"], "icps must be rolled back");
}

#[test]
fn file_that_is_not_a_database_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    std::fs::write(
        &path,
        b"this is not a SQLite database, just some text........",
    )
    .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("outpost.db"), "{err}");
}

#[test]
fn missing_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("outpost.db");
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::CreateFile { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-dir"), "{err}");
}

#[test]
fn file_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    drop(Store::open(&path).unwrap());
    let mode: String = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[cfg(unix)]
#[test]
fn new_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let _store = Store::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}
