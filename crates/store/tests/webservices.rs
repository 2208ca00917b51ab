//! Web services consumers and OAuth tokens (issue 16): a temporary token is
//! approved once and exchanged once; renewal and revocation of final
//! tokens; removing a consumer removes its tokens; bad IDs refused.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use outpost_store::{
    AuditRecord, NewWsConsumer, NewWsToken, Store, StoreError, WsConsumerUpdate, WsTokenKind,
};

fn record(action: &str) -> AuditRecord {
    AuditRecord {
        at: 1_700_000_000,
        actor: "cli:test".to_owned(),
        actor_name: "test".to_owned(),
        source: "local".to_owned(),
        action: action.to_owned(),
        target: "MiVOAppSuite".to_owned(),
        before: None,
        after: None,
    }
}

fn consumer(id: &str) -> NewWsConsumer {
    NewWsConsumer {
        consumer_id: id.to_owned(),
        name: "MiVoice Office Application Suite".to_owned(),
        secret_sealed: vec![1, 2, 3],
        active: true,
        permissions: "base/managetoken=rw".to_owned(),
        created: 1_700_000_000,
    }
}

fn token(token: &str, kind: WsTokenKind) -> NewWsToken {
    NewWsToken {
        token: token.to_owned(),
        consumer_id: "MiVOAppSuite".to_owned(),
        kind,
        secret_sealed: vec![9; 28],
        callback: Some("oob".to_owned()),
        created: 1_700_000_000,
        expires: 1_700_003_600,
    }
}

#[test]
fn a_temporary_token_is_approved_once_and_exchanged_once() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .create_ws_consumer(&consumer("MiVOAppSuite"), &record("ws.consumer.create"))
        .unwrap();
    let temp = "t".repeat(32);
    store
        .create_ws_token(
            &token(&temp, WsTokenKind::Temporary),
            &record("ws.initiate"),
        )
        .unwrap();
    let approved = store
        .approve_ws_token(&temp, "verifier-1", "account:alice", &record("ws.approve"))
        .unwrap();
    assert_eq!(approved.verifier.as_deref(), Some("verifier-1"));
    // A second approval keeps the first verifier.
    let again = store
        .approve_ws_token(&temp, "verifier-2", "account:bob", &record("ws.approve"))
        .unwrap();
    assert_eq!(again.verifier.as_deref(), Some("verifier-1"));
    assert_eq!(again.approved_by.as_deref(), Some("account:alice"));

    let fin = "f".repeat(32);
    let mut final_token = token(&fin, WsTokenKind::Final);
    final_token.expires = 1_731_536_000;
    store
        .exchange_ws_token(&temp, &final_token, &record("ws.token"))
        .unwrap();
    assert!(store.ws_token(&temp).unwrap().is_none(), "used once");
    assert!(matches!(
        store.exchange_ws_token(
            &temp,
            &token(&"g".repeat(32), WsTokenKind::Final),
            &record("x")
        ),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.ws_tokens(WsTokenKind::Final).unwrap().len(), 1);

    let (before, after) = store
        .renew_ws_token(&fin, 1_763_072_000, &record("ws.renew"))
        .unwrap();
    assert_eq!(
        (before.expires, after.expires),
        (1_731_536_000, 1_763_072_000)
    );
    let (_, revoked) = store
        .revoke_ws_token(&fin, 1_700_000_100, &record("ws.revoke"))
        .unwrap();
    assert_eq!(revoked.revoked, Some(1_700_000_100));
    // A temporary token cannot be renewed as a final one.
    assert!(store.renew_ws_token(&temp, 1, &record("x")).is_err());
}

#[test]
fn an_unapproved_token_cannot_be_exchanged_and_expired_ones_are_purged() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .create_ws_consumer(&consumer("MiVOAppSuite"), &record("ws.consumer.create"))
        .unwrap();
    let temp = "u".repeat(32);
    store
        .create_ws_token(
            &token(&temp, WsTokenKind::Temporary),
            &record("ws.initiate"),
        )
        .unwrap();
    assert!(
        store
            .exchange_ws_token(
                &temp,
                &token(&"h".repeat(32), WsTokenKind::Final),
                &record("x")
            )
            .is_err()
    );
    assert_eq!(store.purge_expired_ws_tokens(1_700_003_600).unwrap(), 0);
    assert_eq!(store.purge_expired_ws_tokens(1_700_003_601).unwrap(), 1);
}

#[test]
fn consumers_are_checked_changed_and_removed_with_their_tokens() {
    let mut store = Store::open_in_memory().unwrap();
    for bad in ["", &"x".repeat(41), "has space"] {
        let err = store
            .create_ws_consumer(&consumer(bad), &record("ws.consumer.create"))
            .unwrap_err();
        assert_eq!(common::problems(&err)[0].0, "consumer_id", "{bad:?}");
    }
    store
        .create_ws_consumer(&consumer("MiVOAppSuite"), &record("ws.consumer.create"))
        .unwrap();
    assert!(matches!(
        store.create_ws_consumer(&consumer("MiVOAppSuite"), &record("x")),
        Err(StoreError::Duplicate { .. })
    ));
    let (_, after) = store
        .update_ws_consumer(
            "MiVOAppSuite",
            &WsConsumerUpdate {
                active: Some(false),
                ..WsConsumerUpdate::default()
            },
            &record("ws.consumer.update"),
        )
        .unwrap();
    assert!(!after.active);
    store
        .create_ws_token(&token(&"t".repeat(32), WsTokenKind::Final), &record("x"))
        .unwrap();
    store
        .delete_ws_consumer("MiVOAppSuite", &record("ws.consumer.delete"))
        .unwrap();
    assert!(store.ws_tokens(WsTokenKind::Final).unwrap().is_empty());
    assert!(store.ws_consumer("MiVOAppSuite").unwrap().is_none());
}
