//! Administrator accounts, sessions, API tokens and the audit log (SEC-9).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use outpost_store::{
    AdminRole, AuditFilter, AuditRecord, FirstAdmin, NewAdmin, NewApiToken, NewSession,
    SETUP_TOKEN_SETTING, Store, StoreError,
};

const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";

fn audit(action: &str, at: i64) -> AuditRecord {
    AuditRecord {
        at,
        actor: "cli:root".into(),
        actor_name: "root".into(),
        source: "local".into(),
        action: action.into(),
        target: "x".into(),
        before: None,
        after: Some(r#"{"name":"x"}"#.into()),
    }
}

fn admin(name: &str, role: AdminRole) -> NewAdmin {
    NewAdmin {
        name: name.into(),
        role,
        password_hash: HASH.into(),
        created: 100,
    }
}

fn all_audit(store: &Store) -> Vec<String> {
    let mut entries = store
        .audit_entries(&AuditFilter {
            limit: 500,
            ..AuditFilter::default()
        })
        .unwrap();
    entries.reverse();
    entries.into_iter().map(|e| e.record.action).collect()
}

fn set_up(store: &mut Store) {
    store.set_setting(SETUP_TOKEN_SETTING, "digest").unwrap();
    let created = store
        .create_first_admin(
            |d| d == "digest",
            &admin("alice", AdminRole::Admin),
            &audit("admin.setup", 100),
        )
        .unwrap();
    assert!(matches!(created, FirstAdmin::Created(_)));
}

#[test]
fn the_first_admin_needs_the_setup_token_and_spends_it() {
    let mut store = Store::open_in_memory().unwrap();
    let first = admin("alice", AdminRole::Admin);
    assert_eq!(
        store
            .create_first_admin(|_| true, &first, &audit("admin.setup", 1))
            .unwrap(),
        FirstAdmin::NoTokenPending
    );
    assert!(matches!(
        store.create_admin(&first, &audit("admin.create", 1)),
        Err(StoreError::NotSetUp)
    ));
    store.set_setting(SETUP_TOKEN_SETTING, "digest").unwrap();
    assert_eq!(
        store
            .create_first_admin(|d| d == "other", &first, &audit("admin.setup", 1))
            .unwrap(),
        FirstAdmin::TokenRefused
    );
    assert_eq!(store.admin_count().unwrap(), 0);
    assert!(
        all_audit(&store).is_empty(),
        "a refused setup is not a change"
    );
    let FirstAdmin::Created(account) = store
        .create_first_admin(|d| d == "digest", &first, &audit("admin.setup", 1))
        .unwrap()
    else {
        panic!("created");
    };
    assert_eq!(
        (account.name.as_str(), account.role),
        ("alice", AdminRole::Admin)
    );
    assert_eq!(store.setting(SETUP_TOKEN_SETTING).unwrap(), None);
    assert_eq!(
        store
            .create_first_admin(
                |_| true,
                &admin("bob", AdminRole::Admin),
                &audit("admin.setup", 2)
            )
            .unwrap(),
        FirstAdmin::AlreadySetUp
    );
    assert_eq!(all_audit(&store), ["admin.setup"]);
}

#[test]
fn accounts_are_unique_regardless_of_case_and_the_last_admin_stays() {
    let mut store = Store::open_in_memory().unwrap();
    set_up(&mut store);
    let err = store
        .create_admin(
            &admin("ALICE", AdminRole::ReadOnly),
            &audit("admin.create", 2),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("outpost admin list"), "{err}");
    let err = store
        .create_admin(
            &admin("bad name", AdminRole::Admin),
            &audit("admin.create", 2),
        )
        .unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    let mut bad_hash = admin("bob", AdminRole::Admin);
    bad_hash.password_hash = "plain-text-password".into();
    assert!(
        store
            .create_admin(&bad_hash, &audit("admin.create", 2))
            .is_err()
    );
    store
        .create_admin(
            &admin("olivia", AdminRole::ReadOnly),
            &audit("admin.create", 2),
        )
        .unwrap();
    let err = store
        .delete_admin("alice", &audit("admin.delete", 3))
        .unwrap_err();
    assert!(matches!(err, StoreError::LastAdministrator { .. }), "{err}");
    store
        .delete_admin("Olivia", &audit("admin.delete", 3))
        .unwrap();
    assert!(matches!(
        store.delete_admin("olivia", &audit("admin.delete", 3)),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        all_audit(&store),
        ["admin.setup", "admin.create", "admin.delete"]
    );
}

fn session(digest_char: char, account_id: i64, created: i64) -> NewSession {
    NewSession {
        id_sha256: digest_char.to_string().repeat(64),
        account_id,
        source: "192.0.2.1".into(),
        created,
        expires: created + 1000,
    }
}

#[test]
fn sessions_expire_when_idle_or_old_and_end_with_a_password_change() {
    let mut store = Store::open_in_memory().unwrap();
    set_up(&mut store);
    let id = store.admin("alice").unwrap().unwrap().id;
    let a = "a".repeat(64);
    store
        .create_session(&session('a', id, 0), 100, &audit("session.login", 0))
        .unwrap();
    // Used at 90 (touched), alive at 150, idle-expired at 190.
    assert!(store.session(&a, 90, 100, 0).unwrap().is_some());
    assert_eq!(
        store.session(&a, 150, 100, 0).unwrap().unwrap().last_seen,
        150
    );
    assert!(store.session(&a, 250, 100, 0).unwrap().is_none());
    assert!(store.session(&a, 250, 100, 0).unwrap().is_none(), "removed");
    // Absolute expiry however active.
    store
        .create_session(&session('b', id, 0), 100, &audit("session.login", 0))
        .unwrap();
    let b = "b".repeat(64);
    for now in (50..1000).step_by(50) {
        assert!(store.session(&b, now, 100, 0).unwrap().is_some(), "{now}");
    }
    assert!(store.session(&b, 1000, 100, 0).unwrap().is_none());
    // A password change ends the other sessions, keeps the named one.
    store
        .create_session(&session('c', id, 2000), 100, &audit("session.login", 2000))
        .unwrap();
    store
        .create_session(&session('d', id, 2000), 100, &audit("session.login", 2000))
        .unwrap();
    let (c, d) = ("c".repeat(64), "d".repeat(64));
    store
        .set_admin_password(
            "alice",
            HASH,
            2001,
            Some(&c),
            &audit("admin.password.change", 2001),
        )
        .unwrap();
    assert!(store.session(&c, 2002, 100, 0).unwrap().is_some());
    assert!(store.session(&d, 2002, 100, 0).unwrap().is_none());
    assert!(
        store
            .delete_session(&c, &audit("session.logout", 2003))
            .unwrap()
    );
    assert!(
        !store
            .delete_session(&c, &audit("session.logout", 2003))
            .unwrap()
    );
    assert_eq!(
        all_audit(&store)
            .iter()
            .filter(|a| *a == "session.logout")
            .count(),
        1
    );
}

#[test]
fn tokens_are_stored_as_digests_and_revoked_once() {
    let mut store = Store::open_in_memory().unwrap();
    let id = outpost_store::new_token_id().unwrap();
    let new = NewApiToken {
        id: id.clone(),
        name: "backup".into(),
        secret_sha256: "f".repeat(64),
        scopes: "audit:read".into(),
        allowed_sources: String::new(),
        created: 10,
        created_by: "cli:root".into(),
        expires: Some(20),
    };
    let token = store
        .create_api_token(&new, &audit("token.create", 10))
        .unwrap();
    assert_eq!(token.id, id);
    let dup = NewApiToken {
        id: outpost_store::new_token_id().unwrap(),
        name: "BACKUP".into(),
        secret_sha256: "e".repeat(64),
        ..new.clone()
    };
    assert!(matches!(
        store.create_api_token(&dup, &audit("token.create", 10)),
        Err(StoreError::Duplicate { .. })
    ));
    let bad = NewApiToken {
        id: "short".into(),
        name: "x".into(),
        secret_sha256: "clear".into(),
        expires: Some(5),
        ..new.clone()
    };
    let err = store
        .create_api_token(&bad, &audit("token.create", 10))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("id") && text.contains("secret_sha256") && text.contains("expires"),
        "{text}"
    );
    assert_eq!(
        store
            .api_token_by_digest(&"f".repeat(64))
            .unwrap()
            .unwrap()
            .name,
        "backup"
    );
    store.touch_api_token(&id, 12, 60).unwrap();
    store.touch_api_token(&id, 13, 60).unwrap();
    assert_eq!(store.api_token(&id).unwrap().unwrap().last_used, Some(12));
    store
        .revoke_api_token(&id, 15, &audit("token.revoke", 15))
        .unwrap();
    store
        .revoke_api_token(&id, 16, &audit("token.revoke", 16))
        .unwrap();
    assert_eq!(store.api_tokens().unwrap()[0].revoked, Some(15));
    assert_eq!(all_audit(&store), ["token.create", "token.revoke"]);
    assert!(matches!(
        store.revoke_api_token("0".repeat(32).as_str(), 15, &audit("token.revoke", 15)),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn the_audit_log_is_append_only_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    for (i, action) in ["admin.create", "admin.delete", "token.create", "admin_x.y"]
        .iter()
        .enumerate()
    {
        store.append_audit(&audit(action, 100 + i as i64)).unwrap();
    }
    let mut not_json = audit("admin.create", 1);
    not_json.after = Some("{not json".into());
    assert!(store.append_audit(&not_json).is_err());
    let page = |filter: AuditFilter| -> Vec<String> {
        store
            .audit_entries(&filter)
            .unwrap()
            .into_iter()
            .map(|e| e.record.action)
            .collect()
    };
    let f = AuditFilter {
        limit: 500,
        ..AuditFilter::default()
    };
    assert_eq!(
        page(AuditFilter {
            action: Some("admin.".into()),
            ..f.clone()
        }),
        ["admin.delete", "admin.create"]
    );
    assert_eq!(
        page(AuditFilter {
            since: Some(101),
            until: Some(102),
            ..f.clone()
        }),
        ["token.create", "admin.delete"]
    );
    assert_eq!(
        page(AuditFilter {
            actor: Some("root".into()),
            limit: 1,
            ..f.clone()
        }),
        ["admin_x.y"]
    );
    assert_eq!(
        page(AuditFilter {
            actor: Some("cli:nobody".into()),
            ..f.clone()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        page(AuditFilter {
            before_id: Some(2),
            ..f.clone()
        }),
        ["admin.create"]
    );
    assert!(
        store
            .audit_entries(&AuditFilter {
                limit: 501,
                ..f.clone()
            })
            .is_err()
    );
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log WHERE id = 1",
        "DELETE FROM audit_log",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let count: i64 = conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 4);
}
