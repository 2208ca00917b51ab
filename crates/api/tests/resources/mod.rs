//! Helpers of the resource tests (ICPs, devices, the guard) on top of
//! `common`: more methods, raw bodies, and a dump of everything these
//! resources store, to show that a refused request changed nothing.

// Helpers are test code, where a panic is the failure report.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, Request, header};
use outpost_store::{AuditFilter, DenyEntry, DenyList, NewIcp, Store};
use serde_json::{Value, json};

use crate::common::{Api, Auth, HOME, Reply};

/// A device password the tests use (searched for in responses and audit
/// rows).
pub const DEVICE_PASSWORD: &str = "Xq7-device-secret";
/// An ICP-side password the tests use.
pub const ICP_PASSWORD: &str = "Zk9-icp-side-secret";

/// Adds credentials to a request builder.
fn authorized(
    mut builder: axum::http::request::Builder,
    auth: &Auth,
) -> axum::http::request::Builder {
    match auth {
        Auth::None => {}
        Auth::Session { cookie, csrf } => {
            builder = builder
                .header(header::COOKIE, format!("outpost_session={cookie}"))
                .header("x-csrf-token", csrf);
        }
        Auth::SessionNoCsrf { cookie } => {
            builder = builder.header(header::COOKIE, format!("outpost_session={cookie}"));
        }
        Auth::Bearer(token) => {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
    }
    builder
}

/// A request with any method, content type and body.
pub async fn raw(
    api: &Api,
    method: Method,
    path: &str,
    auth: &Auth,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Reply {
    let mut builder = authorized(Request::builder().method(method).uri(path), auth);
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    api.send(builder.body(body.into()).unwrap(), HOME).await
}

/// `PATCH` with a JSON body.
pub async fn patch(api: &Api, path: &str, auth: &Auth, body: Value) -> Reply {
    api.send(Api::request(Method::PATCH, path, auth, Some(body)), HOME)
        .await
}

/// `POST /api/v1/devices/import?mode=...` with a CSV body.
pub async fn import(api: &Api, auth: &Auth, mode: &str, csv: &str) -> Reply {
    raw(
        api,
        Method::POST,
        &format!("/api/v1/devices/import?mode={mode}"),
        auth,
        Some("text/csv"),
        csv.to_owned(),
    )
    .await
}

/// An installation with its administrator logged in and one ICP, `pbx`.
pub async fn with_icp() -> (Api, Auth) {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/icps",
            &admin,
            json!({"name": "pbx", "host": "192.0.2.1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    (api, admin)
}

/// Creates device `user` through the API; panics unless it works.
pub async fn device(api: &Api, auth: &Auth, user: &str, extra: Value) -> Value {
    let mut body = json!({"setside_username": user, "setside_password": DEVICE_PASSWORD});
    if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        map.extend(more.clone());
    }
    let r = api.post("/api/v1/devices", auth, body).await;
    assert_eq!(r.status, 201, "{r:?}");
    r.body
}

/// Opens the test installation's database.
pub fn store(api: &Api) -> Store {
    Store::open_existing(&api.db_path).unwrap()
}

/// Adds an ICP directly in the store (no audit entry).
pub fn stored_icp(api: &Api, name: &str) {
    store(api).add_icp(&NewIcp::new(name, "192.0.2.9")).unwrap();
}

/// Puts a deny entry directly in the store, as the guard would.
pub fn denied(api: &Api, address: &str, list: DenyList, added: i64, expires: Option<i64>) {
    store(api)
        .put_guard_deny(&DenyEntry {
            address: address.to_owned(),
            list,
            reason: "flood".to_owned(),
            detail: "600 requests in 10 s".to_owned(),
            added_unix: added,
            expires_unix: expires,
        })
        .unwrap();
}

/// Everything the resources store, passwords included (so that a changed
/// password shows), and the audit log.
pub fn state(api: &Api) -> String {
    let s = store(api);
    let devices: Vec<String> = s
        .devices()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{d:?} {} {:?}",
                d.setside_password.expose(),
                d.icpside_password.as_ref().map(|p| p.expose().to_owned())
            )
        })
        .collect();
    let audit = s
        .audit_entries(&AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    format!(
        "{:?}\n{devices:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{audit:?}",
        s.icps().unwrap(),
        s.guard_settings().unwrap(),
        s.guard_allow_list().unwrap(),
        s.guard_deny_list(None).unwrap(),
        s.guard_revision().unwrap(),
    )
}

/// Every audit entry's text (actor, action, target, before, after).
pub fn audit_text(api: &Api) -> String {
    let entries = store(api)
        .audit_entries(&AuditFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    format!("{entries:?}")
}

/// The audit entries with `action`, newest first, as JSON documents
/// `{"actor", "source", "target", "before", "after"}`.
pub fn audited(api: &Api, action: &str) -> Vec<Value> {
    store(api)
        .audit_entries(&AuditFilter {
            action: Some(action.to_owned()),
            limit: 500,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| {
            let doc =
                |d: Option<String>| d.map_or(Value::Null, |t| serde_json::from_str(&t).unwrap());
            json!({
                "actor": e.record.actor,
                "source": e.record.source,
                "target": e.record.target,
                "at": e.record.at,
                "before": doc(e.record.before),
                "after": doc(e.record.after),
            })
        })
        .collect()
}
