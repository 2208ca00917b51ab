//! The guard's lists and settings: migration 2, CRUD, canonical addresses,
//! transactional writes, the revision counter.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use outpost_store::{
    AllowEntry, DenyEntry, DenyList, GUARD_ALLOW_MAX, GuardChange, NewIcp, Store, StoreError,
    migrations,
};
use rusqlite::Connection;

/// Migration 1 exactly as it shipped (a version-1 database file).
const SCHEMA_V1: &str = "
    CREATE TABLE icps (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        guid                 TEXT    NOT NULL UNIQUE,
        name                 TEXT    NOT NULL UNIQUE,
        host                 TEXT    NOT NULL,
        kind                 TEXT    NOT NULL,
        sip_udp              INTEGER NOT NULL CHECK (sip_udp IN (0, 1)),
        sip_tcp              INTEGER NOT NULL CHECK (sip_tcp IN (0, 1)),
        sip_tls              INTEGER NOT NULL CHECK (sip_tls IN (0, 1)),
        is_default           INTEGER NOT NULL CHECK (is_default IN (0, 1)),
        xml_listen_port      INTEGER NOT NULL CHECK (xml_listen_port BETWEEN 1 AND 65535),
        xml_destination_port INTEGER NOT NULL CHECK (xml_destination_port IN (4443, 4445)),
        CHECK (sip_udp + sip_tcp + sip_tls > 0)
    ) STRICT;
    CREATE UNIQUE INDEX icps_single_default ON icps (is_default) WHERE is_default = 1;
    CREATE TABLE devices (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        guid             TEXT    NOT NULL UNIQUE,
        enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        description      TEXT    NOT NULL,
        icp_id           INTEGER NOT NULL REFERENCES icps (id) ON DELETE RESTRICT,
        setside_username TEXT    NOT NULL UNIQUE CHECK (setside_username <> ''),
        setside_password TEXT    NOT NULL CHECK (setside_password <> ''),
        icpside_username TEXT    NOT NULL,
        icpside_password TEXT,
        mac              TEXT    UNIQUE CHECK (mac IS NULL OR length(mac) = 12),
        location         TEXT
    ) STRICT;
    CREATE INDEX devices_icp_id ON devices (icp_id);
    CREATE TABLE settings (
        key   TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    INSERT INTO icps (guid, name, host, kind, sip_udp, sip_tcp, sip_tls, is_default,
                      xml_listen_port, xml_destination_port)
        VALUES ('00112233445566778899aabbccddeeff', 'pbx1', '192.0.2.10', 'generic',
                0, 0, 1, 1, 4445, 4443);
    INSERT INTO settings (key, value) VALUES ('public_fqdn', 'sbc.example.com');
    PRAGMA user_version = 1;
";

const T: i64 = 1_714_521_600;

fn deny(address: &str, list: DenyList, added: i64, expires: Option<i64>) -> DenyEntry {
    DenyEntry {
        address: address.to_owned(),
        list,
        reason: "flood".to_owned(),
        detail: "600 requests in 10 s (limit 500)".to_owned(),
        added_unix: added,
        expires_unix: expires,
    }
}

fn addresses(entries: &[DenyEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.address.as_str()).collect()
}

fn messages(err: &StoreError) -> Vec<String> {
    common::problems(err).into_iter().map(|(_, m)| m).collect()
}

#[test]
fn migration_2_upgrades_a_version_1_database_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(SCHEMA_V1)
        .unwrap();
    let mut store = Store::open(&path).unwrap();
    // Migrated from 1 through every later script, 2 (guard) included.
    assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
    const { assert!(migrations::LATEST >= 2) };
    assert_eq!(store.icps().unwrap()[0].name, "pbx1");
    assert_eq!(
        store.setting("public_fqdn").unwrap().as_deref(),
        Some("sbc.example.com")
    );
    assert_eq!(store.guard_revision().unwrap(), 0);
    assert!(store.guard_allow_list().unwrap().is_empty());
    store.add_guard_allow("192.0.2.0/24", "HQ", T).unwrap();
    drop(store);
    // Reopening migrates nothing more and keeps the new data.
    let store = Store::open(&path).unwrap();
    assert_eq!(store.guard_allow_list().unwrap().len(), 1);
    let tables: Vec<String> = {
        let conn = Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'guard_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        tables,
        [
            "guard_allow",
            "guard_deny",
            "guard_revision",
            "guard_settings"
        ]
    );
}

#[test]
fn allow_list_add_list_remove_in_canonical_form() {
    let mut store = Store::open_in_memory().unwrap();
    let cases = [
        (" 192.0.2.7 ", "192.0.2.7"),
        ("192.0.2.8/32", "192.0.2.8"),
        ("198.51.100.0/24", "198.51.100.0/24"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2::77", "2001:db8:1:2::/64"),
        ("2001:DB8:AA::/48", "2001:db8:aa::/48"),
    ];
    for (i, (input, stored)) in cases.iter().enumerate() {
        let e = store.add_guard_allow(input, "note", T + i as i64).unwrap();
        assert_eq!(e.address, *stored, "{input}");
    }
    let listed: Vec<String> = store
        .guard_allow_list()
        .unwrap()
        .into_iter()
        .map(|e| e.address)
        .collect();
    assert_eq!(listed, cases.map(|(_, s)| s));
    // Removal accepts any spelling of the same entry.
    let gone = store.remove_guard_allow("2001:db8:1:2::1").unwrap();
    assert_eq!(gone.address, "2001:db8:1:2::/64");
    let err = store.remove_guard_allow("2001:db8:1:2::1").unwrap_err();
    assert!(err.to_string().contains("not on the allow-list"), "{err}");
}

#[test]
fn allow_list_refusals_name_the_value_and_the_rule() {
    let mut store = Store::open_in_memory().unwrap();
    for (input, why) in [
        ("sbc.example.com", "not an IP address"),
        ("192.0.2.7/24", "did you mean 192.0.2.0/24?"),
        ("192.0.2.0/33", "at most /32"),
        ("2001:db8::/96", "grouped by /64"),
        ("0.0.0.0/0", "every address"),
    ] {
        let err = store.add_guard_allow(input, "", T).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(why) && text.contains("address"),
            "{input}: {text}"
        );
    }
    store.add_guard_allow("192.0.2.1", "", T).unwrap();
    let err = store.add_guard_allow("192.0.2.1/32", "", T).unwrap_err();
    assert!(
        err.to_string().contains("already on the allow-list"),
        "{err}"
    );
    let err = store
        .add_guard_allow("192.0.2.2", &"n".repeat(501), T)
        .unwrap_err();
    assert!(err.to_string().contains("note"), "{err}");
    for n in 1..GUARD_ALLOW_MAX {
        store
            .add_guard_allow(&format!("10.0.{n}.0/24"), "", T)
            .unwrap();
    }
    let err = store.add_guard_allow("203.0.113.1", "", T).unwrap_err();
    assert!(err.to_string().contains("full (100 entries)"), "{err}");
    assert_eq!(store.guard_allow_list().unwrap().len(), GUARD_ALLOW_MAX);
}

#[test]
fn deny_entries_put_list_replace_remove_clear() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .put_guard_deny(&deny("203.0.113.1", DenyList::Dos, T, Some(T + 3600)))
        .unwrap();
    store
        .put_guard_deny(&deny("203.0.113.2", DenyList::Dos, T + 1, None))
        .unwrap();
    store
        .put_guard_deny(&deny("2001:db8:5:6::9", DenyList::Dos, T + 2, None))
        .unwrap();
    store
        .put_guard_deny(&deny("198.51.100.4", DenyList::BruteForce, T + 3, None))
        .unwrap();
    let all = store.guard_deny_list(None).unwrap();
    assert_eq!(
        addresses(&all),
        [
            "203.0.113.1",
            "203.0.113.2",
            "2001:db8:5:6::/64",
            "198.51.100.4"
        ]
    );
    assert_eq!(all[0].expires_unix, Some(T + 3600));
    assert_eq!(all[3].list, DenyList::BruteForce);
    assert_eq!(
        addresses(&store.guard_deny_list(Some(DenyList::BruteForce)).unwrap()),
        ["198.51.100.4"]
    );
    // Putting the same source again replaces the entry.
    let mut again = deny("203.0.113.1", DenyList::Dos, T + 10, None);
    again.reason = "scanner".into();
    store.put_guard_deny(&again).unwrap();
    let dos = store.guard_deny_list(Some(DenyList::Dos)).unwrap();
    assert_eq!(dos.len(), 3);
    assert_eq!(dos.last().unwrap(), &again);

    // One, a series, a prefix.
    let removed = store.remove_guard_deny(&["203.0.113.2"], None).unwrap();
    assert_eq!(addresses(&removed), ["203.0.113.2"]);
    let removed = store
        .remove_guard_deny(&["192.0.2.1", "2001:db8:5:6::1"], None)
        .unwrap();
    assert_eq!(addresses(&removed), ["2001:db8:5:6::/64"]);
    let removed = store
        .remove_guard_deny(&["0.0.0.0/0"], Some(DenyList::BruteForce))
        .unwrap();
    assert_eq!(addresses(&removed), ["198.51.100.4"]);
    let err = store.remove_guard_deny(&["203.0.113.0/24", "nonsense", "10.0.0.1/8"], None);
    assert_eq!(
        messages(&err.unwrap_err()).len(),
        2,
        "every bad address reported"
    );
    assert_eq!(
        store.guard_deny_list(None).unwrap().len(),
        1,
        "nothing removed"
    );

    store
        .put_guard_deny(&deny("198.51.100.5", DenyList::BruteForce, T, None))
        .unwrap();
    assert_eq!(store.clear_guard_deny(Some(DenyList::Dos)).unwrap(), 1);
    assert_eq!(store.clear_guard_deny(None).unwrap(), 1);
    assert!(store.guard_deny_list(None).unwrap().is_empty());
}

#[test]
fn expired_entries_are_removed_and_never_ones_kept() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .put_guard_deny(&deny("203.0.113.1", DenyList::Dos, T, Some(T + 30)))
        .unwrap();
    store
        .put_guard_deny(&deny("203.0.113.2", DenyList::Dos, T, Some(T + 300)))
        .unwrap();
    store
        .put_guard_deny(&deny("203.0.113.3", DenyList::Dos, T, None))
        .unwrap();
    assert_eq!(store.remove_expired_guard_deny(T + 29).unwrap(), 0);
    assert_eq!(store.remove_expired_guard_deny(T + 30).unwrap(), 1);
    assert_eq!(store.remove_expired_guard_deny(T + 10_000_000).unwrap(), 1);
    assert_eq!(
        addresses(&store.guard_deny_list(None).unwrap()),
        ["203.0.113.3"]
    );
}

#[test]
fn bad_deny_entries_are_refused() {
    let mut store = Store::open_in_memory().unwrap();
    let mut bad = deny("203.0.113.0/24", DenyList::Dos, -1, Some(-5));
    bad.reason = String::new();
    let err = store.put_guard_deny(&bad).unwrap_err();
    let fields: Vec<&str> = common::problems(&err).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["address", "reason", "added", "expires"], "{err}");
    assert!(err.to_string().contains("one source"), "{err}");
}

#[test]
fn a_batch_of_changes_is_all_or_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    let good = GuardChange::PutDeny(deny("203.0.113.1", DenyList::Dos, T, None));
    let bad = GuardChange::PutDeny(deny("not-an-ip", DenyList::Dos, T, None));
    let err = store.apply_guard_changes(&[good.clone(), bad]).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert!(store.guard_deny_list(None).unwrap().is_empty());
    assert_eq!(store.guard_revision().unwrap(), 0);

    // A batch that would overfill the allow-list is rolled back whole,
    // including the deny entry before it.
    for n in 0..GUARD_ALLOW_MAX {
        store
            .add_guard_allow(&format!("10.0.{n}.0/24"), "", T)
            .unwrap();
    }
    let overfill = GuardChange::PutAllow(AllowEntry {
        address: "192.0.2.1".into(),
        note: String::new(),
        added_unix: T,
    });
    let err = store
        .apply_guard_changes(&[good.clone(), overfill])
        .unwrap_err();
    assert!(err.to_string().contains("at most 100"), "{err}");
    assert!(store.guard_deny_list(None).unwrap().is_empty());

    // Events from a running guard: denied, expired, evicted, removed.
    store
        .apply_guard_changes(&[
            good,
            GuardChange::PutDeny(deny("203.0.113.2", DenyList::Dos, T, None)),
            GuardChange::RemoveDeny {
                address: "203.0.113.1".into(),
                list: DenyList::Dos,
            },
            GuardChange::RemoveAllow {
                address: "10.0.0.0/24".into(),
            },
            GuardChange::RemoveDeny {
                address: "192.0.2.99".into(),
                list: DenyList::BruteForce,
            },
        ])
        .unwrap();
    assert_eq!(
        addresses(&store.guard_deny_list(None).unwrap()),
        ["203.0.113.2"]
    );
    assert_eq!(store.guard_allow_list().unwrap().len(), GUARD_ALLOW_MAX - 1);
}

#[test]
fn settings_are_stored_as_given_and_unset_to_defaults() {
    let mut store = Store::open_in_memory().unwrap();
    assert!(store.guard_settings().unwrap().is_empty());
    store
        .set_guard_settings(&[("level", "allow-list-only"), ("dos_threshold", "200")])
        .unwrap();
    store
        .set_guard_settings(&[("dos_threshold", "300")])
        .unwrap();
    assert_eq!(
        store.guard_settings().unwrap(),
        [
            ("dos_threshold".to_owned(), "300".to_owned()),
            ("level".to_owned(), "allow-list-only".to_owned())
        ]
    );
    let err = store
        .set_guard_settings(&[("deny_period", "1d"), ("", "x")])
        .unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
    assert_eq!(store.guard_settings().unwrap().len(), 2, "nothing written");
    assert!(store.unset_guard_setting("level").unwrap());
    assert!(!store.unset_guard_setting("level").unwrap());
    assert_eq!(store.guard_settings().unwrap().len(), 1);
}

#[test]
fn the_revision_counts_changes_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    store.add_icp(&NewIcp::new("pbx1", "192.0.2.10")).unwrap();
    assert_eq!(
        store.guard_revision().unwrap(),
        0,
        "other writes don't count"
    );
    store.add_guard_allow("192.0.2.1", "", T).unwrap();
    store
        .put_guard_deny(&deny("203.0.113.1", DenyList::Dos, T, None))
        .unwrap();
    store.set_guard_settings(&[("level", "none")]).unwrap();
    assert_eq!(store.guard_revision().unwrap(), 3);
    // Writes that change nothing leave it alone.
    assert_eq!(
        store.clear_guard_deny(Some(DenyList::BruteForce)).unwrap(),
        0
    );
    assert!(
        store
            .remove_guard_deny(&["198.51.100.1"], None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.remove_expired_guard_deny(T).unwrap(), 0);
    assert_eq!(store.guard_revision().unwrap(), 3);
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.guard_revision().unwrap(), 3);
    assert_eq!(store.guard_deny_list(None).unwrap().len(), 1);
    assert_eq!(store.guard_settings().unwrap().len(), 1);
}
