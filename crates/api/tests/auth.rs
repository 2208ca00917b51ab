//! Authentication and authorisation of the REST API: setup, sessions,
//! roles, tokens, CSRF (issue 14 acceptance, through `oneshot`).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{StatusCode, header};
use common::{ADMIN, ADMIN_PASSWORD, Api, Auth, SETUP_TOKEN, T0};
use outpost_api::Clock;
use serde_json::json;

#[tokio::test]
async fn no_credentials_get_401_with_www_authenticate() {
    let api = Api::set_up().await;
    for path in [
        "/api/v1/admins",
        "/api/v1/tokens",
        "/api/v1/audit",
        "/api/v1/session",
    ] {
        let r = api.get(path, &Auth::None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {r:?}");
        assert_eq!(r.code(), "unauthorized");
        assert!(r.message().contains("Bearer"), "{r:?}");
        assert!(
            r.headers[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
        );
    }
    let r = api
        .post(
            "/api/v1/admins",
            &Auth::None,
            json!({"name": "x", "password": "y"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = api
        .get("/api/v1/admins", &Auth::Bearer("outpost_nope".into()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // /healthz and /metrics stay open on the admin listener.
    assert_eq!(
        api.get("/healthz", &Auth::None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/metrics", &Auth::None).await.status,
        StatusCode::OK
    );
    // Unknown API routes get the JSON 404.
    let r = api.get("/api/v1/nothing", &Auth::None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn setup_creates_the_first_admin_once() {
    let api = Api::new();
    let r = api.get("/api/v1/setup", &Auth::None).await;
    assert_eq!(r.body["setup_required"], true);
    // A wrong token creates nothing.
    let r = api
        .post(
            "/api/v1/setup",
            &Auth::None,
            json!({"setup_token": "wrong-token-0123456789", "name": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert_eq!(r.field(), "", "{r:?}");
    assert!(r.message().contains("setup_token"), "{r:?}");
    let r = api
        .post(
            "/api/v1/setup",
            &Auth::None,
            json!({"setup_token": SETUP_TOKEN, "name": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["name"], ADMIN);
    assert_eq!(r.body["role"], "admin");
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
    // Spent: a second use, even with another name, gets 409.
    let r = api
        .post(
            "/api/v1/setup",
            &Auth::None,
            json!({"setup_token": SETUP_TOKEN, "name": "mallory", "password": "mallory-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    let r = api.get("/api/v1/setup", &Auth::None).await;
    assert_eq!(r.body["setup_required"], false);
    let store = outpost_store::Store::open_existing(&api.db_path).unwrap();
    assert_eq!(
        store.setting(outpost_store::SETUP_TOKEN_SETTING).unwrap(),
        None
    );
    assert_eq!(store.admins().unwrap().len(), 1);
    assert_eq!(api.audit_actions(), ["admin.setup"]);
}

#[tokio::test]
async fn login_session_and_logout() {
    let api = Api::set_up().await;
    let wrong = api
        .post(
            "/api/v1/session",
            &Auth::None,
            json!({"name": ADMIN, "password": "not-the-password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unknown = api
        .post(
            "/api/v1/session",
            &Auth::None,
            json!({"name": "nobody", "password": "not-the-password"}),
        )
        .await;
    assert_eq!(unknown.message(), wrong.message(), "no name enumeration");

    let r = api
        .post(
            "/api/v1/session",
            &Auth::None,
            json!({"name": ADMIN, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let session = api.admin().await;
    let me = api.get("/api/v1/session", &session).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["account"]["name"], ADMIN);
    assert_eq!(me.body["account"]["role"], "admin");
    assert_eq!(me.body["idle_timeout_secs"], 1800);
    assert_eq!(me.body["expires"], T0 + 12 * 3600);
    let Auth::Session { csrf, .. } = &session else {
        unreachable!()
    };
    assert_eq!(me.body["csrf_token"], csrf.as_str());

    let out = api.delete("/api/v1/session", &session).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = api.get("/api/v1/session", &session).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let actions = api.audit_actions();
    assert!(
        actions.ends_with(&[
            "session.login".into(),
            "session.login".into(),
            "session.logout".into()
        ]),
        "{actions:?}"
    );
}

#[tokio::test]
async fn sessions_end_when_idle_and_after_twelve_hours() {
    let api = Api::set_up().await;
    let session = api.admin().await;
    // Idle for 29 minutes: still alive; 30 unused minutes later: gone.
    api.clock.advance(29 * 60);
    assert_eq!(
        api.get("/api/v1/session", &session).await.status,
        StatusCode::OK
    );
    api.clock.advance(30 * 60);
    assert_eq!(
        api.get("/api/v1/session", &session).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Used every 20 minutes, it still ends 12 h after login.
    let session = api.admin().await;
    let login = api.clock.now();
    while api.clock.now() + 20 * 60 < login + 12 * 3600 {
        api.clock.advance(20 * 60);
        assert_eq!(
            api.get("/api/v1/admins", &session).await.status,
            StatusCode::OK
        );
    }
    api.clock.set(login + 12 * 3600);
    let r = api.get("/api/v1/admins", &session).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
}

#[tokio::test]
async fn read_only_accounts_read_and_get_403_on_writes() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "olivia", "password": "olivia-password-1", "role": "read-only"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let olivia = api.login("olivia", "olivia-password-1").await;
    let r = api.get("/api/v1/admins", &olivia).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert_eq!(
        api.get("/api/v1/audit", &olivia).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/api/v1/tokens", &olivia).await.status,
        StatusCode::OK
    );
    let before = api.state();
    for r in [
        api.post(
            "/api/v1/admins",
            &olivia,
            json!({"name": "eve", "password": "eve-password-123"}),
        )
        .await,
        api.post(
            "/api/v1/tokens",
            &olivia,
            json!({"name": "t", "scopes": ["audit:read"]}),
        )
        .await,
        api.delete(&format!("/api/v1/admins/{ADMIN}"), &olivia)
            .await,
        api.post(
            &format!("/api/v1/admins/{ADMIN}/password"),
            &olivia,
            json!({"new_password": "taken-over-password"}),
        )
        .await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
        assert!(r.message().contains("read-only"), "{r:?}");
    }
    assert_eq!(api.state(), before, "a refused write changed something");
    // Its own password it may change, with the current one.
    let r = api
        .post(
            "/api/v1/admins/olivia/password",
            &olivia,
            json!({"old_password": "wrong-password-0", "new_password": "olivia-password-2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    let r = api
        .post(
            "/api/v1/admins/olivia/password",
            &olivia,
            json!({"new_password": "olivia-password-2"}),
        )
        .await;
    assert_eq!(
        (r.status, r.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "old_password")
    );
    let r = api
        .post(
            "/api/v1/admins/olivia/password",
            &olivia,
            json!({"old_password": "olivia-password-1", "new_password": "olivia-password-2"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    // The session that changed it stays; the old password no longer works.
    assert_eq!(
        api.get("/api/v1/session", &olivia).await.status,
        StatusCode::OK
    );
    let r = api
        .post(
            "/api/v1/session",
            &Auth::None,
            json!({"name": "olivia", "password": "olivia-password-1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    api.login("olivia", "olivia-password-2").await;
}

#[tokio::test]
async fn an_admin_reset_ends_the_accounts_other_sessions() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    api.post(
        "/api/v1/admins",
        &admin,
        json!({"name": "bob", "password": "bob-password-1234"}),
    )
    .await;
    let bob = api.login("bob", "bob-password-1234").await;
    let r = api
        .post(
            "/api/v1/admins/bob/password",
            &admin,
            json!({"new_password": "bob-password-5678"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        api.get("/api/v1/session", &bob).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        api.audit_actions()
            .contains(&"admin.password.reset".to_owned())
    );
}

#[tokio::test]
async fn the_last_admin_cannot_be_removed() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api.delete(&format!("/api/v1/admins/{ADMIN}"), &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    api.post(
        "/api/v1/admins",
        &admin,
        json!({"name": "bob", "password": "bob-password-1234"}),
    )
    .await;
    let r = api.delete("/api/v1/admins/bob", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = api.delete("/api/v1/admins/bob", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "ALICE", "password": "another-password"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "names are unique regardless of case: {r:?}"
    );
}

#[tokio::test]
async fn csrf_token_is_required_on_cookie_writes_only() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let Auth::Session { cookie, .. } = &admin else {
        unreachable!()
    };
    let bare = Auth::SessionNoCsrf {
        cookie: cookie.clone(),
    };
    let forged = Auth::Session {
        cookie: cookie.clone(),
        csrf: "0".repeat(64),
    };
    let before = api.state();
    for auth in [&bare, &forged] {
        let r = api
            .post(
                "/api/v1/admins",
                auth,
                json!({"name": "bob", "password": "bob-password-1234"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
        assert!(r.message().contains("X-CSRF-Token"), "{r:?}");
        let r = api.delete("/api/v1/session", auth).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    }
    assert_eq!(api.state(), before);
    // Reads need none.
    assert_eq!(
        api.get("/api/v1/admins", &bare).await.status,
        StatusCode::OK
    );
    // Bearer tokens are exempt.
    let (token, _) = api.token(&admin, "ci", &["admins:write"]).await;
    let r = api
        .post(
            "/api/v1/admins",
            &Auth::Bearer(token),
            json!({"name": "bob", "password": "bob-password-1234"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

#[tokio::test]
async fn tokens_are_shown_once_scoped_and_refused_when_expired_or_revoked() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "monitoring", "scopes": ["audit:read", "admins:read"], "expires_in_days": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let token = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("outpost_"));
    assert_eq!(r.body["expires"], T0 + 86_400);
    let listed = api.get("/api/v1/tokens", &admin).await;
    assert!(
        !listed.body.to_string().contains(&token),
        "a token value was listed"
    );
    assert_eq!(
        listed.body[0]["scopes"],
        json!(["admins:read", "audit:read"])
    );

    let bearer = Auth::Bearer(token.clone());
    let me = api.get("/api/v1/session", &bearer).await;
    assert_eq!(me.body["token"]["name"], "monitoring");
    assert_eq!(
        api.get("/api/v1/audit", &bearer).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.get("/api/v1/tokens", &bearer).await.status,
        StatusCode::FORBIDDEN
    );
    let r = api
        .post(
            "/api/v1/admins",
            &bearer,
            json!({"name": "eve", "password": "eve-password-123"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "read scope writing: {r:?}");
    assert!(r.message().contains("admins:write"), "{r:?}");
    // A token cannot mint tokens, whatever its scope.
    let (writer, _) = api.token(&admin, "writer", &["*:write"]).await;
    let r = api
        .post(
            "/api/v1/tokens",
            &Auth::Bearer(writer),
            json!({"name": "more", "scopes": ["*:write"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");

    // Expired a day later.
    api.clock.advance(86_400);
    let r = api.get("/api/v1/audit", &bearer).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(r.message().contains("expired"), "{r:?}");

    // Revoked.
    let admin = api.admin().await;
    let (token, id2) = api.token(&admin, "deploy", &["*:read"]).await;
    let bearer = Auth::Bearer(token);
    assert_eq!(
        api.get("/api/v1/admins", &bearer).await.status,
        StatusCode::OK
    );
    let r = api.delete(&format!("/api/v1/tokens/{id2}"), &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(r.body["revoked"].is_number());
    let r = api.get("/api/v1/admins", &bearer).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
    assert!(r.message().contains("revoked"), "{r:?}");
    let r = api
        .delete("/api/v1/tokens/00000000000000000000000000000000", &admin)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let _ = id;
}

#[tokio::test]
async fn a_token_with_an_allow_list_works_only_from_it() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/tokens",
            &admin,
            json!({"name": "lan", "scopes": ["audit:read"], "allowed_sources": ["192.0.2.0/24"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let bearer = Auth::Bearer(r.body["token"].as_str().unwrap().to_owned());
    let inside = Api::request(axum::http::Method::GET, "/api/v1/audit", &bearer, None);
    assert_eq!(
        api.send(inside, "192.0.2.99:1234").await.status,
        StatusCode::OK
    );
    let outside = Api::request(axum::http::Method::GET, "/api/v1/audit", &bearer, None);
    let r = api.send(outside, "198.51.100.1:1234").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
}
