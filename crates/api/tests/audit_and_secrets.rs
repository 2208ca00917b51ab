//! Every change leaves an audit entry (who, when, from where, what, before
//! and after), and no password, token value or session id ever reaches the
//! database file, an audit entry or the logs (issue 14 acceptance).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::{ADMIN, ADMIN_PASSWORD, Api, Auth, HOME, SETUP_TOKEN, T0};
use serde_json::json;

/// Everything logged by this test binary, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    captured
}

#[tokio::test]
async fn changes_are_audited_and_secrets_appear_nowhere() {
    let logs = capture_logs();
    let api = Api::set_up().await;
    api.clock.advance(10);
    let admin = api.admin().await;
    let bob_passwords = [
        "bob-first-password",
        "bob-second-password",
        "bob-third-password",
    ];
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "bob", "password": bob_passwords[0], "role": "read-only"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let bob = api.login("bob", bob_passwords[0]).await;
    let r = api
        .post(
            "/api/v1/admins/bob/password",
            &bob,
            json!({"old_password": bob_passwords[0], "new_password": bob_passwords[1]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = api
        .post(
            "/api/v1/admins/bob/password",
            &admin,
            json!({"new_password": bob_passwords[2]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // Failed logins are logged (without the password tried).
    let wrong = "a-wrong-password-tried";
    let r = api
        .post(
            "/api/v1/session",
            &Auth::None,
            json!({"name": "bob", "password": wrong}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let (token, token_id) = api.token(&admin, "backup", &["audit:read"]).await;
    let r = api
        .get("/api/v1/audit?limit=1", &Auth::Bearer(token.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api
        .delete(&format!("/api/v1/tokens/{token_id}"), &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api.delete("/api/v1/admins/bob", &admin).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = api.delete("/api/v1/session", &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    assert_eq!(
        api.audit_actions(),
        [
            "admin.setup",
            "session.login",
            "admin.create",
            "session.login",
            "admin.password.change",
            "admin.password.reset",
            "token.create",
            "token.revoke",
            "admin.delete",
            "session.logout",
        ]
    );

    // Read back through the API with filters.
    let admin = api.admin().await;
    let r = api
        .get("/api/v1/audit?action=admin.&limit=500", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let entries = r.body["entries"].as_array().unwrap();
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "admin.delete",
            "admin.password.reset",
            "admin.password.change",
            "admin.create",
            "admin.setup"
        ]
    );
    let create = &entries[3];
    assert_eq!(create["actor"], format!("account:{ADMIN}"));
    assert_eq!(create["source"], HOME.split(':').next().unwrap());
    assert_eq!(create["target"], "bob");
    assert_eq!(create["at"], T0 + 10);
    assert_eq!(create["after"]["role"], "read-only");
    assert!(create["before"].is_null());
    let delete = &entries[0];
    assert_eq!(delete["before"]["name"], "bob");
    assert!(delete["after"].is_null());
    let setup = &entries[4];
    assert_eq!(setup["actor"], "setup-token");
    let r = api.get("/api/v1/audit?actor=bob", &admin).await;
    let bob_actions: Vec<_> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bob_actions, ["admin.password.change", "session.login"]);
    let r = api
        .get(&format!("/api/v1/audit?until={}&limit=2", T0 + 10), &admin)
        .await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 2);
    let cursor = r.body["next_cursor"].as_i64().unwrap();
    let r = api
        .get(&format!("/api/v1/audit?cursor={cursor}&limit=500"), &admin)
        .await;
    assert!(r.body["next_cursor"].is_null());
    assert!(
        r.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_i64().unwrap() < cursor)
    );

    // No secret anywhere.
    let Auth::Session { cookie, .. } = &admin else {
        unreachable!()
    };
    let mut secrets: Vec<&str> = vec![ADMIN_PASSWORD, SETUP_TOKEN, wrong, &token, cookie];
    secrets.extend(bob_passwords);
    let db = api.db_bytes();
    let audit_text = api
        .get("/api/v1/audit?limit=500", &admin)
        .await
        .body
        .to_string();
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("failed administrator login"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("API token created"), "{logs}");
    for secret in secrets {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} is in the database file"
        );
        assert!(
            !audit_text.contains(secret),
            "{secret:?} is in the audit log"
        );
        assert!(!logs.contains(secret), "{secret:?} is in the logs");
    }
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_deleted() {
    let api = Api::set_up().await;
    let conn = rusqlite_conn(&api);
    let update = conn.execute("UPDATE audit_log SET actor = 'someone else'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_log", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(api.audit_actions(), ["admin.setup"]);
    let _ = Method::GET;
}

fn rusqlite_conn(api: &Api) -> rusqlite::Connection {
    rusqlite::Connection::open(&api.db_path).unwrap()
}
