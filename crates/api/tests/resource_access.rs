//! Who may do what to ICPs, devices and the guard: no credentials 401; a
//! read-only account reads everything and gets 403 on every change; a
//! token's scope is per resource, read or write; a session change without
//! its CSRF token is 403. Refused calls change nothing.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use axum::http::Method;
use common::{Api, Auth};
use resources::{DEVICE_PASSWORD, raw, state, with_icp};
use serde_json::json;

/// Every write route of the resources, with a body that would succeed.
fn writes() -> Vec<(Method, &'static str, Option<&'static str>, String)> {
    let json = Some("application/json");
    vec![
        (
            Method::POST,
            "/api/v1/icps",
            json,
            json!({"name": "b", "host": "192.0.2.2"}).to_string(),
        ),
        (
            Method::PATCH,
            "/api/v1/icps/pbx",
            json,
            json!({"host": "192.0.2.3"}).to_string(),
        ),
        (Method::DELETE, "/api/v1/icps/spare", None, String::new()),
        (
            Method::POST,
            "/api/v1/devices",
            json,
            json!({"setside_username": "4002", "setside_password": DEVICE_PASSWORD}).to_string(),
        ),
        (
            Method::PATCH,
            "/api/v1/devices/4001",
            json,
            json!({"enabled": false}).to_string(),
        ),
        (Method::DELETE, "/api/v1/devices/4001", None, String::new()),
        (
            Method::POST,
            "/api/v1/devices/import?mode=upsert",
            Some("text/csv"),
            format!("setside_username,setside_password\n4003,{DEVICE_PASSWORD}\n"),
        ),
        (
            Method::PATCH,
            "/api/v1/guard/settings",
            json,
            json!({"dos_threshold": 100}).to_string(),
        ),
        (
            Method::POST,
            "/api/v1/guard/allow",
            json,
            json!({"address": "192.0.2.7"}).to_string(),
        ),
        (
            Method::DELETE,
            "/api/v1/guard/allow/198.51.100.1",
            None,
            String::new(),
        ),
        (
            Method::DELETE,
            "/api/v1/guard/deny/203.0.113.1",
            None,
            String::new(),
        ),
        (Method::DELETE, "/api/v1/guard/deny", None, String::new()),
    ]
}

/// Every read route of the resources.
const READS: [&str; 9] = [
    "/api/v1/icps",
    "/api/v1/icps/pbx",
    "/api/v1/devices",
    "/api/v1/devices/4001",
    "/api/v1/guard",
    "/api/v1/guard/settings",
    "/api/v1/guard/allow",
    "/api/v1/guard/deny",
    "/api/v1/openapi.json",
];

async fn installation() -> (Api, Auth) {
    let (api, admin) = with_icp().await;
    resources::stored_icp(&api, "spare");
    resources::device(&api, &admin, "4001", json!({})).await;
    resources::store(&api)
        .add_guard_allow("198.51.100.1", "", 0)
        .unwrap();
    resources::denied(&api, "203.0.113.1", outpost_store::DenyList::Dos, 0, None);
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "bob", "password": "bob-password-1234", "role": "read-only"}),
        )
        .await;
    assert_eq!(r.status, 201);
    (api, admin)
}

#[tokio::test]
async fn read_only_accounts_read_and_are_refused_every_change() {
    let (api, admin) = installation().await;
    let bob = api.login("bob", "bob-password-1234").await;
    for path in READS {
        let r = api.get(path, &bob).await;
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
    let before = state(&api);
    for (method, path, ct, body) in writes() {
        let r = raw(&api, method.clone(), path, &bob, ct, body.clone()).await;
        assert_eq!(r.status, 403, "{method} {path}: {r:?}");
        assert!(r.message().contains("read-only"), "{r:?}");
        let r = raw(&api, method.clone(), path, &Auth::None, ct, body.clone()).await;
        assert_eq!(r.status, 401, "{method} {path}: {r:?}");
        let Auth::Session { cookie, .. } = &admin else {
            unreachable!()
        };
        let no_csrf = Auth::SessionNoCsrf {
            cookie: cookie.clone(),
        };
        let r = raw(&api, method.clone(), path, &no_csrf, ct, body).await;
        assert_eq!(r.status, 403, "{method} {path}: {r:?}");
        assert!(r.message().contains("X-CSRF-Token"), "{r:?}");
    }
    assert_eq!(state(&api), before, "no refused call changed anything");
    // The administrator's same calls all succeed: the refusals were for
    // the caller, not the request.
    for (method, path, ct, body) in writes() {
        let r = raw(&api, method.clone(), path, &admin, ct, body).await;
        assert!(r.status.is_success(), "{method} {path}: {r:?}");
    }
}

#[tokio::test]
async fn token_scopes_are_per_resource_and_per_access() {
    let (api, admin) = installation().await;
    let (icps_read, _) = api.token(&admin, "icps-read", &["icps:read"]).await;
    let (devices_write, _) = api.token(&admin, "devices-write", &["devices:write"]).await;
    let (guard_read, _) = api.token(&admin, "guard-read", &["guard:read"]).await;
    let (all_write, _) = api.token(&admin, "everything", &["*:write"]).await;
    let before = state(&api);
    let bearer = |t: &str| Auth::Bearer(t.to_owned());
    for (token, path, status) in [
        (&icps_read, "/api/v1/icps", 200),
        (&icps_read, "/api/v1/devices", 403),
        (&icps_read, "/api/v1/guard", 403),
        (&devices_write, "/api/v1/devices/4001", 200),
        (&devices_write, "/api/v1/icps", 403),
        (&guard_read, "/api/v1/guard/deny", 200),
        (&guard_read, "/api/v1/devices", 403),
    ] {
        let r = api.get(path, &bearer(token)).await;
        assert_eq!(r.status, status, "{path}: {r:?}");
    }
    for (method, path, ct, body) in writes() {
        let resource = path.split('/').nth(3).unwrap();
        for (token, allowed) in [
            (&icps_read, false),
            (&guard_read, false),
            (&devices_write, resource == "devices"),
        ] {
            if allowed {
                continue;
            }
            let r = raw(&api, method.clone(), path, &bearer(token), ct, body.clone()).await;
            assert_eq!(r.status, 403, "{method} {path}: {r:?}");
            assert!(
                r.message().contains(&format!("\"{resource}:write\"")),
                "{method} {path}: {r:?}"
            );
        }
    }
    assert_eq!(state(&api), before, "no refused call changed anything");
    let r = raw(
        &api,
        Method::POST,
        "/api/v1/devices/import",
        &bearer(&devices_write),
        Some("text/csv"),
        format!("setside_username,setside_password\n4009,{DEVICE_PASSWORD}\n"),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let r = raw(
        &api,
        Method::DELETE,
        "/api/v1/guard/deny",
        &bearer(&all_write),
        None,
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    let entry = &resources::audited(&api, "guard.deny.clear")[0];
    assert!(
        entry["actor"].as_str().unwrap().starts_with("token:"),
        "{entry}"
    );
}
