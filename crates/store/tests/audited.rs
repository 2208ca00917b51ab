//! The `*_audited` writes: the audit entry is written in the change's own
//! transaction, so a change and its entry are kept or lost together; and
//! changing a stored ICP field by field.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

use outpost_store::{
    AuditFilter, AuditRecord, DenyEntry, DenyList, IcpUpdate, ImportEvent, ImportMode, NewDevice,
    NewIcp, Secret, Store, StoreError,
};

fn record(action: &str, target: &str) -> AuditRecord {
    AuditRecord {
        at: 1_700_000_000,
        actor: "cli:test".to_owned(),
        actor_name: "test".to_owned(),
        source: "local".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        before: None,
        after: Some("{}".to_owned()),
    }
}

/// An entry the store refuses (a target over 200 characters).
fn refused() -> AuditRecord {
    record("x.refused", &"t".repeat(300))
}

fn actions(store: &Store) -> Vec<String> {
    store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| e.record.action)
        .collect()
}

#[test]
fn a_refused_audit_entry_undoes_its_change() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store
        .add_icp_audited(&NewIcp::new("pbx", "192.0.2.1"), |_| Some(refused()))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(store.icps().unwrap().is_empty(), "no ICP without its entry");

    store
        .add_icp_audited(&NewIcp::new("pbx", "192.0.2.1"), |icp| {
            Some(record("icp.create", &icp.name))
        })
        .unwrap();
    let device = NewDevice::new("4001", Secret::from("Xq7-secret"));
    assert!(
        store
            .add_device_audited(&device, |_| Some(refused()))
            .is_err()
    );
    assert!(store.devices().unwrap().is_empty());
    store
        .add_device_audited(&device, |d| {
            Some(record("device.create", &d.setside_username))
        })
        .unwrap();
    assert!(
        store
            .remove_device_audited("4001", |_| Some(refused()))
            .is_err()
    );
    assert!(store.device("4001").unwrap().is_some(), "still there");
    let removed = store
        .remove_device_audited("4001", |d| {
            Some(record("device.delete", &d.setside_username))
        })
        .unwrap();
    assert_eq!(removed.setside_username, "4001");
    assert!(
        store
            .add_guard_allow_audited("192.0.2.7", "", 0, |_| Some(refused()))
            .is_err()
    );
    assert!(store.guard_allow_list().unwrap().is_empty());
    assert!(
        store
            .set_guard_settings_audited(&[("dos_threshold", "100")], |_| Some(refused()))
            .is_err()
    );
    assert!(store.guard_settings().unwrap().is_empty());
    assert_eq!(
        actions(&store),
        ["icp.create", "device.create", "device.delete"]
    );
}

#[test]
fn guard_writes_hand_the_previous_state_to_the_audit() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .set_guard_settings(&[("dos_threshold", "300")])
        .unwrap();
    let mut seen = Vec::new();
    store
        .set_guard_settings_audited(&[("dos_threshold", "200")], |before| {
            seen = before.to_vec();
            Some(record("guard.settings.update", "guard"))
        })
        .unwrap();
    assert_eq!(seen, [("dos_threshold".to_owned(), "300".to_owned())]);
    for n in 1..=3 {
        store
            .put_guard_deny(&DenyEntry {
                address: format!("203.0.113.{n}"),
                list: DenyList::Dos,
                reason: "flood".into(),
                detail: String::new(),
                added_unix: n,
                expires_unix: None,
            })
            .unwrap();
    }
    let mut count = 0;
    store
        .remove_guard_deny_audited(&["203.0.113.0/30"], None, |removed| {
            count = removed.len();
            Some(record("guard.deny.remove", "203.0.113.0/30"))
        })
        .unwrap();
    assert_eq!(count, 3);
    let n = store
        .clear_guard_deny_audited(Some(DenyList::BruteForce), |n| {
            Some(record("guard.deny.clear", &n.to_string()))
        })
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(
        actions(&store),
        [
            "guard.settings.update",
            "guard.deny.remove",
            "guard.deny.clear"
        ]
    );
}

#[test]
fn an_import_audits_each_device_then_itself_or_nothing() {
    let mut store = Store::open_in_memory().unwrap();
    store.add_icp(&NewIcp::new("pbx", "192.0.2.1")).unwrap();
    store
        .add_device(&NewDevice::new("4001", Secret::from("Xq7-secret")))
        .unwrap();
    let mut audit = |event: ImportEvent<'_>| {
        Some(match event {
            ImportEvent::Created(d) => record("device.create", &d.setside_username),
            ImportEvent::Updated {
                before,
                after,
                fields,
            } => {
                assert_eq!(before.location, None);
                assert_eq!(after.location.as_deref(), Some("Nice"));
                assert_eq!(fields, ["location"]);
                record("device.update", &before.setside_username)
            }
            ImportEvent::Finished(report) => record(
                "device.import",
                &format!("{}+{}", report.added, report.updated),
            ),
        })
    };
    let bad = "setside_username,setside_password,location\n4002,pw,\nbad user,pw,\n";
    let err = store
        .import_devices_csv_audited(bad.as_bytes(), ImportMode::Upsert, &mut audit)
        .unwrap_err();
    assert!(matches!(err, StoreError::Import(_)), "{err}");
    assert!(
        actions(&store).is_empty(),
        "a refused import writes no entry"
    );
    let good = "setside_username,setside_password,location\n4001,,Nice\n4002,pw,\n";
    let report = store
        .import_devices_csv_audited(good.as_bytes(), ImportMode::Upsert, &mut audit)
        .unwrap();
    assert_eq!((report.added, report.updated), (1, 1));
    assert_eq!(
        actions(&store),
        ["device.update", "device.create", "device.import"]
    );
}

#[test]
fn an_icp_changes_field_by_field() {
    let mut store = Store::open_in_memory().unwrap();
    store.add_icp(&NewIcp::new("a", "192.0.2.1")).unwrap();
    store.add_icp(&NewIcp::new("b", "192.0.2.2")).unwrap();
    let change = IcpUpdate {
        host: Some("[2001:db8::1]".into()),
        sip_port: Some(Some(5070)),
        ..IcpUpdate::default()
    };
    let updated = store.update_icp("b", &change).unwrap();
    assert_eq!(updated.changed, ["host", "sip_port"]);
    assert_eq!(updated.icp.host, "2001:db8::1");
    assert!(store.update_icp("b", &change).unwrap().changed.is_empty());

    let take_default = IcpUpdate {
        is_default: Some(true),
        ..IcpUpdate::default()
    };
    store.update_icp("b", &take_default).unwrap();
    let defaults: Vec<bool> = store.icps().unwrap().iter().map(|i| i.is_default).collect();
    assert_eq!(defaults, [false, true], "one default at a time");
    let drop_default = IcpUpdate {
        is_default: Some(false),
        ..IcpUpdate::default()
    };
    let err = store.update_icp("b", &drop_default).unwrap_err();
    assert!(
        err.to_string().contains("make another ICP the default"),
        "{err}"
    );

    let bad = IcpUpdate {
        sip_tls: Some(false),
        xml_destination_port: Some(1),
        ..IcpUpdate::default()
    };
    let StoreError::Invalid(problems) = store.update_icp("a", &bad).unwrap_err() else {
        panic!("not Invalid")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field).collect();
    assert_eq!(fields, ["sip_udp/sip_tcp/sip_tls", "xml_destination_port"]);
    assert!(store.icp("a").unwrap().unwrap().sip_tls, "nothing written");
    assert!(matches!(
        store.update_icp("zz", &IcpUpdate::default()),
        Err(StoreError::NotFound { .. })
    ));
}
