//! Phone provisioning data (SEC-7, PRO-5..PRO-9): the hash key, files
//! replaced atomically by an import, the inventory, actions and events.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

use outpost_provision::Mac;
use outpost_store::{
    ActionKind, ActionState, AuditFilter, AuditRecord, ChangeBy, Download, FileKind, NewAction,
    Store, StoreError,
};

const BY: ChangeBy<'static> = ChangeBy {
    at: 1_700_000_000,
    operator: "cli:test",
    action: None,
};

fn mac(s: &str) -> Mac {
    Mac::parse(s).unwrap()
}

fn record(action: &str) -> AuditRecord {
    AuditRecord {
        at: BY.at,
        actor: BY.operator.to_owned(),
        actor_name: "test".to_owned(),
        source: "local".to_owned(),
        action: action.to_owned(),
        target: "provisioning".to_owned(),
        before: None,
        after: Some("{}".to_owned()),
    }
}

fn audit_actions(store: &Store) -> Vec<String> {
    let filter = AuditFilter {
        limit: 100,
        ..Default::default()
    };
    let entries = store.audit_entries(&filter).unwrap();
    entries.into_iter().rev().map(|e| e.record.action).collect()
}

fn phone_names(store: &Store) -> Vec<String> {
    let files = store.provisioning_files().unwrap();
    files
        .into_iter()
        .filter(|f| f.kind == FileKind::Phone)
        .map(|f| f.name)
        .collect()
}

#[test]
fn the_hash_key_is_generated_once_and_replaced_only_on_request() {
    let mut store = Store::open_in_memory().unwrap();
    assert!(store.provisioning_hash().unwrap().is_none());
    assert!(store.ensure_provisioning_hash(BY.at).unwrap());
    let first = store.provisioning_hash().unwrap().unwrap();
    assert_eq!(first.expose().len(), 32, "128 bits as hex");
    assert!(first.expose().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(format!("{first:?}"), "********", "never printed");
    assert!(!store.ensure_provisioning_hash(BY.at + 1).unwrap());
    assert_eq!(
        store.provisioning_hash().unwrap().unwrap().expose(),
        first.expose()
    );

    let new = store
        .generate_provisioning_hash_audited(BY, || Some(record("provisioning.hash.generate")))
        .unwrap();
    assert_ne!(new.expose(), first.expose());
    assert_eq!(
        store.provisioning_hash().unwrap().unwrap().expose(),
        new.expose()
    );
    assert_eq!(audit_actions(&store), ["provisioning.hash.generate"]);
    let actions = store.actions().unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].action.kind, ActionKind::HashChange);
    assert_eq!(actions[0].state, ActionState::Done);
    assert!(
        actions[0]
            .result
            .as_deref()
            .unwrap()
            .contains("re-provisioned")
    );
}

#[test]
fn a_refused_audit_entry_keeps_the_old_hash() {
    let mut store = Store::open_in_memory().unwrap();
    store.ensure_provisioning_hash(BY.at).unwrap();
    let before = store.provisioning_hash().unwrap().unwrap();
    let mut bad = record("provisioning.hash.generate");
    bad.target = "t".repeat(300);
    let err = store
        .generate_provisioning_hash_audited(BY, || Some(bad))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert_eq!(
        store.provisioning_hash().unwrap().unwrap().expose(),
        before.expose()
    );
    assert!(store.actions().unwrap().is_empty());
}

#[test]
fn an_import_replaces_every_phone_file_with_new_etags() {
    let mut store = Store::open_in_memory().unwrap();
    let a = mac("00085D000001");
    let b = mac("00085D000002");
    let c = mac("00085D000003");
    store
        .replace_phone_files_audited(
            &[
                (a, b"sip line1 user name: 1\n".to_vec()),
                (b, b"x: 2\n".to_vec()),
            ],
            BY,
            |_| Some(record("provisioning.import")),
        )
        .unwrap();
    let old_etag = store
        .provisioning_file("00085D000001.cfg")
        .unwrap()
        .unwrap()
        .info
        .etag;

    let done = store
        .replace_phone_files_audited(
            &[(a, b"x: 3\n".to_vec()), (c, b"x: 4\n".to_vec())],
            BY,
            |_| None,
        )
        .unwrap();
    assert_eq!((done.removed, done.written), (2, 2));
    assert_eq!(
        phone_names(&store),
        ["00085D000001.cfg", "00085D000003.cfg"]
    );
    let file = store
        .provisioning_file("00085D000001.cfg")
        .unwrap()
        .unwrap();
    assert_eq!(file.contents, b"x: 3\n");
    assert_eq!(file.info.mac, Some(a));
    assert_eq!(file.info.size, 5);
    assert_ne!(file.info.etag, old_etag, "a rewritten file gets a new ETag");
    assert!(
        store
            .provisioning_file("00085D000002.cfg")
            .unwrap()
            .is_none()
    );
    assert_eq!(store.actions().unwrap()[0].action.kind, ActionKind::Import);
}

/// An import whose write fails partway (here the third row repeats the
/// first MAC, which the table's key refuses after two rows and the removal
/// of the old set were written) leaves the previous set, as seen by another
/// connection reading the committed state.
#[test]
fn an_import_failing_partway_leaves_the_previous_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    let reader = Store::open(&path).unwrap();
    let old = mac("00085D0000AA");
    store
        .replace_phone_files_audited(&[(old, b"old: 1\n".to_vec())], BY, |_| None)
        .unwrap();
    let etag = reader
        .provisioning_file("00085D0000AA.cfg")
        .unwrap()
        .unwrap()
        .info
        .etag;

    let (x, y) = (mac("00085D000001"), mac("00085D000002"));
    let failing = [
        (x, b"new: 1\n".to_vec()),
        (y, b"new: 2\n".to_vec()),
        (x, b"new: 3\n".to_vec()),
    ];
    let err = store
        .replace_phone_files_audited(&failing, BY, |_| Some(record("provisioning.import")))
        .unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");

    for s in [&store, &reader] {
        assert_eq!(phone_names(s), ["00085D0000AA.cfg"]);
        let file = s.provisioning_file("00085D0000AA.cfg").unwrap().unwrap();
        assert_eq!(file.contents, b"old: 1\n");
        assert_eq!(file.info.etag, etag);
    }
    assert!(
        audit_actions(&store).is_empty(),
        "no entry for a failed import"
    );
    assert_eq!(store.actions().unwrap().len(), 1, "only the first import");

    // A reopened database holds the same committed state.
    drop(store);
    let reopened = Store::open(&path).unwrap();
    assert_eq!(phone_names(&reopened), ["00085D0000AA.cfg"]);
}

#[test]
fn global_and_extra_files_are_single_and_do_not_collide() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .set_global_file_audited(b"a: 1\n", BY, |_| Some(record("provisioning.global")))
        .unwrap();
    let g = store
        .set_global_file_audited(b"a: 2\n", BY, |_| None)
        .unwrap();
    assert_eq!(g.name, "aastra.cfg");
    assert_eq!(g.kind, FileKind::Global);
    store
        .set_extra_file_audited("ca.pem", b"PEM", BY, |_| None)
        .unwrap();
    store
        .set_extra_file_audited("template.cfg", b"t: 1\n", BY, |_| None)
        .unwrap();
    let names: Vec<String> = store
        .provisioning_files()
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["aastra.cfg", "template.cfg"]);

    let err = store
        .set_extra_file_audited("aastra.cfg", b"x", BY, |_| None)
        .unwrap_err();
    assert!(
        err.to_string().contains("global file has this name"),
        "{err}"
    );
    assert_eq!(
        store
            .provisioning_file("template.cfg")
            .unwrap()
            .unwrap()
            .contents,
        b"t: 1\n",
        "the refused upload kept the previous extra file"
    );
}

#[test]
fn phone_files_are_removed_all_or_none() {
    let mut store = Store::open_in_memory().unwrap();
    let (a, b) = (mac("00085D000001"), mac("00085D000002"));
    store
        .replace_phone_files_audited(&[(a, b"x: 1\n".to_vec())], BY, |_| None)
        .unwrap();
    let err = store
        .remove_phone_files_audited(&[a, b], BY, |_| None)
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("00085D000002.cfg"), "{err}");
    assert_eq!(phone_names(&store), ["00085D000001.cfg"]);
    let removed = store
        .remove_phone_files_audited(&[a], BY, |_| Some(record("provisioning.file.delete")))
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert!(phone_names(&store).is_empty());
}

#[test]
fn downloads_fill_the_inventory_and_removal_takes_the_files() {
    let mut store = Store::open_in_memory().unwrap();
    let a = mac("00085D237429");
    store
        .replace_phone_files_audited(&[(a, b"x: 1\n".to_vec())], BY, |_| None)
        .unwrap();
    let download = Download {
        mac: a,
        model: Some("6867i".to_owned()),
        firmware: Some("6.3.0.1020".to_owned()),
        address: "198.51.100.7".to_owned(),
        at: BY.at,
        file: "00085D237429.cfg".to_owned(),
    };
    store.record_download(&download).unwrap();
    store
        .record_download(&Download {
            model: None,
            firmware: None,
            address: "198.51.100.8".to_owned(),
            at: BY.at + 5,
            file: "aastra.cfg".to_owned(),
            ..download.clone()
        })
        .unwrap();
    let inventory = store.inventory().unwrap();
    assert_eq!(inventory.len(), 1);
    let entry = &inventory[0];
    assert_eq!(entry.downloads, 2);
    assert_eq!(entry.last.model.as_deref(), Some("6867i"), "kept");
    assert_eq!(entry.last.address, "198.51.100.8");
    assert_eq!(entry.last.at, BY.at + 5);

    let err = store
        .remove_inventory_audited(&[mac("00085D000009")], BY, |_, _| None)
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    store
        .remove_inventory_audited(&[a], BY, |_, _| {
            Some(record("provisioning.inventory.delete"))
        })
        .unwrap();
    assert!(store.inventory().unwrap().is_empty());
    assert!(phone_names(&store).is_empty(), "its file went too");
}

#[test]
fn actions_move_through_their_states_with_events() {
    let mut store = Store::open_in_memory().unwrap();
    let new = NewAction {
        name: "deploy floor 2".to_owned(),
        operator: "account:alice".to_owned(),
        kind: ActionKind::Deploy,
        due: Some(BY.at + 60),
    };
    let action = store
        .add_action_audited(&new, BY.at, |_| Some(record("provisioning.action.create")))
        .unwrap();
    assert_eq!(action.state, ActionState::Pending);
    assert!(store.due_actions(BY.at).unwrap().is_empty(), "not yet");
    assert_eq!(store.due_actions(BY.at + 60).unwrap().len(), 1);

    let err = store
        .finish_action(action.id, true, "x", BY.at)
        .unwrap_err();
    assert!(matches!(err, StoreError::ActionState { .. }), "{err}");
    store.start_action(action.id, BY.at + 60).unwrap();
    store
        .set_action_progress(action.id, 40, BY.at + 61)
        .unwrap();
    let failed = store
        .finish_action(action.id, false, "2 phones unreachable", BY.at + 62)
        .unwrap();
    assert_eq!(failed.state, ActionState::Failed);
    assert_eq!(failed.progress, 40);
    let texts: Vec<String> = store
        .action_events(Some(action.id))
        .unwrap()
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(texts[3].contains("2 phones unreachable"), "{texts:?}");
    assert!(matches!(
        store.start_action(999, BY.at).unwrap_err(),
        StoreError::ActionNotFound { id: 999 }
    ));
}

/// A deferred action survives a reopen as pending; one left running by a
/// process that stopped is marked interrupted at the next start, never
/// left running; a mere open (the CLI's, while serve runs) changes nothing.
#[test]
fn a_restart_marks_running_actions_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let (running, deferred) = {
        let mut store = Store::open(&path).unwrap();
        let mut add = |due| {
            let new = NewAction {
                name: "deploy".to_owned(),
                operator: "cli:root".to_owned(),
                kind: ActionKind::Deploy,
                due,
            };
            store.add_action_audited(&new, BY.at, |_| None).unwrap()
        };
        let running = add(None);
        let deferred = add(Some(BY.at + 3600));
        store.start_action(running.id, BY.at + 1).unwrap();
        store
            .set_action_progress(running.id, 30, BY.at + 2)
            .unwrap();
        (running, deferred)
    };
    let mut store = Store::open(&path).unwrap();
    let still = store.action(running.id).unwrap().unwrap();
    assert_eq!(
        still.state,
        ActionState::Running,
        "an open alone changes nothing"
    );
    assert_eq!(store.interrupt_running_actions().unwrap(), 1);
    assert_eq!(store.interrupt_running_actions().unwrap(), 0);
    let cut = store.action(running.id).unwrap().unwrap();
    assert_eq!(cut.state, ActionState::Interrupted);
    assert_eq!(cut.progress, 30);
    let events = store.action_events(Some(running.id)).unwrap();
    let last = events.last().unwrap();
    assert!(last.text.starts_with("interrupted"), "{}", last.text);
    assert!(last.text.contains("30%"), "{}", last.text);
    assert_eq!(last.at, BY.at + 2, "the last time it was known to run");
    let kept = store.action(deferred.id).unwrap().unwrap();
    assert_eq!(kept.state, ActionState::Pending);
    assert_eq!(kept.action.due, Some(BY.at + 3600));
}
