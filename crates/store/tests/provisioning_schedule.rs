//! Scheduled provisioning actions in the store (PRO-9): the payload is
//! kept until the action ends and never in an `Action`; the next due time;
//! a cancel ends a pending action `failed` "cancelled by ..."; a change
//! made for a running action ends it in the change's own transaction
//! (one action, not two); removing phones by MAC list names the MACs it
//! did not find; a deploy gives files a new ETag; the event log's
//! filters.

#![allow(clippy::unwrap_used)]

use outpost_provision::Mac;
use outpost_store::{ActionKind, ActionState, ChangeBy, EventFilter, NewAction, Store, StoreError};

const T: i64 = 1_700_000_000;

fn new(kind: ActionKind, due: Option<i64>) -> NewAction {
    NewAction {
        name: "night".to_owned(),
        operator: "account:alice".to_owned(),
        kind,
        due,
    }
}

fn mac(s: &str) -> Mac {
    Mac::parse(s).unwrap()
}

#[test]
fn payload_next_due_and_cancel() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.next_due_action().unwrap(), None);
    let later = store
        .schedule_action_audited(
            &new(ActionKind::Import, Some(T + 60)),
            Some(r#"{"type":"import-phones","csv":"x"}"#),
            T,
            |_| None,
        )
        .unwrap();
    assert_eq!(store.next_due_action().unwrap(), Some(T + 60));
    let err = store
        .schedule_action_audited(&new(ActionKind::Deploy, None), Some("{not json"), T, |_| {
            None
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    let now = store
        .schedule_action_audited(&new(ActionKind::Deploy, None), Some("{}"), T, |_| None)
        .unwrap();
    assert_eq!(
        store.next_due_action().unwrap(),
        Some(i64::MIN),
        "one runs at once"
    );
    assert!(store.action_payload(later.id).unwrap().is_some());

    let by = ChangeBy {
        at: T + 1,
        operator: "account:bob",
        action: None,
    };
    let cancelled = store.cancel_action_audited(later.id, by, |_| None).unwrap();
    assert_eq!(cancelled.state, ActionState::Failed);
    assert_eq!(
        cancelled.result.as_deref(),
        Some("cancelled by account:bob")
    );
    assert_eq!(store.action_payload(later.id).unwrap(), None, "cleared");
    let again = store
        .cancel_action_audited(later.id, by, |_| None)
        .unwrap_err();
    assert!(matches!(again, StoreError::ActionState { .. }), "{again}");

    store.start_action(now.id, T + 2).unwrap();
    store.finish_action(now.id, true, "ok", T + 3).unwrap();
    assert_eq!(store.action_payload(now.id).unwrap(), None);
    assert_eq!(store.next_due_action().unwrap(), None);

    let mine = store
        .events(&EventFilter {
            action_id: Some(now.id),
            since: None,
            limit: 100,
        })
        .unwrap();
    assert_eq!(mine.len(), 3, "{mine:?}");
    let newest = store
        .events(&EventFilter {
            action_id: None,
            since: Some(T + 2),
            limit: 1,
        })
        .unwrap();
    assert_eq!(newest.len(), 1);
    assert!(newest[0].text.starts_with("done"), "{newest:?}");
}

#[test]
fn a_change_for_a_running_action_ends_it_and_deploy_and_delete_report() {
    let mut store = Store::open_in_memory().unwrap();
    let files = vec![
        (mac("00085D000001"), b"a".to_vec()),
        (mac("00085D000002"), b"b".to_vec()),
    ];
    let import = store
        .schedule_action_audited(&new(ActionKind::Import, None), Some("{}"), T, |_| None)
        .unwrap();
    store.start_action(import.id, T).unwrap();
    let by = |action| ChangeBy {
        at: T + 5,
        operator: "account:alice",
        action,
    };
    store
        .replace_phone_files_audited(&files, by(Some(import.id)), |_| None)
        .unwrap();
    let done = store.action(import.id).unwrap().unwrap();
    assert_eq!(done.state, ActionState::Done);
    assert!(done.result.unwrap().contains("imported 2 phone file(s)"));
    assert_eq!(
        store.actions().unwrap().len(),
        1,
        "no second action recorded"
    );

    // A change for an action that is not running is refused, and undone.
    let err = store
        .replace_phone_files_audited(&files[..1], by(Some(import.id)), |_| None)
        .unwrap_err();
    assert!(matches!(err, StoreError::ActionState { .. }), "{err}");
    assert_eq!(store.provisioning_files().unwrap().len(), 2, "rolled back");

    let before = store
        .provisioning_file("00085D000001.cfg")
        .unwrap()
        .unwrap();
    let (touched, missing) = store
        .deploy_files_audited(
            Some(&[mac("00085D000001"), mac("00085D000009")]),
            by(None),
            |_, _| None,
        )
        .unwrap();
    assert_eq!(touched, 1);
    assert_eq!(missing, vec![mac("00085D000009")]);
    let after = store
        .provisioning_file("00085D000001.cfg")
        .unwrap()
        .unwrap();
    assert_ne!(before.info.etag, after.info.etag, "a new ETag");
    let untouched = store
        .provisioning_file("00085D000002.cfg")
        .unwrap()
        .unwrap();
    assert_eq!(untouched.info.etag, before.info.etag);

    let removed = store
        .remove_phones_audited(
            &[mac("00085D000002"), mac("00085D000009")],
            by(None),
            |_| None,
        )
        .unwrap();
    assert_eq!(removed.files.len(), 1);
    assert_eq!(removed.missing, vec![mac("00085D000009")]);
    let last = store.actions().unwrap().remove(0);
    assert_eq!(last.action.kind, ActionKind::Delete);
    assert!(last.result.unwrap().contains("00085D000009"));
}
