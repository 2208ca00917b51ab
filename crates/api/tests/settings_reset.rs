//! `PATCH /api/v1/settings` with `null`: the stored value is removed, the
//! default applies again, audited as `setting.reset` in the same
//! transaction, handed to the running gateway like a change (the guard's
//! reloads itself); refused with the change's message when the file or the
//! environment pins the key; a dry run removes nothing.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{Method, StatusCode};
use common::{Api, Auth, HOME, Reply};
use outpost_api::Service;
use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use outpost_config::{DatabaseLayer, Settings};
use outpost_store::Store;
use serde_json::{Value, json};

/// The environment `outpost serve` was started with in these tests.
const PINNED_VAR: &str = "OUTPOST_REGISTRATION_MAX_CALLS";
/// Its configuration file: `sip.t4_ms` on line 2.
const FILE: &str = "[sip]\nt4_ms = 6000\n";

/// A running gateway that counts the live applies it was asked for.
#[derive(Default)]
struct FakeGateway {
    applied: AtomicUsize,
}

impl Gateway for FakeGateway {
    fn sip_status(&self) -> SipStatus {
        SipStatus {
            state: SipState::Running,
            since: 1,
            listeners: Vec::new(),
            last_error: None,
        }
    }
    fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
        Ok(self.sip_status())
    }
    fn start_sip(&self) -> Result<SipStatus, GatewayError> {
        Ok(self.sip_status())
    }
    fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(LiveApply::Applied)
    }
}

struct Bed {
    api: Api,
    gateway: Arc<FakeGateway>,
    _dir: tempfile::TempDir,
}

async fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outpost.toml");
    std::fs::write(&file, FILE).unwrap();
    let env: HashMap<String, String> = [(PINNED_VAR.to_owned(), "50".to_owned())].into();
    let settings =
        Settings::load(Some(&file), &|v| env.get(v).cloned(), DatabaseLayer::new()).unwrap();
    let gateway = Arc::new(FakeGateway::default());
    let fake = Arc::clone(&gateway);
    let api = Api::set_up_with(move |service: Service| {
        service.with_settings(settings).with_gateway(fake)
    })
    .await;
    Bed {
        api,
        gateway,
        _dir: dir,
    }
}

async fn patch(api: &Api, auth: &Auth, path: &str, body: Value) -> Reply {
    let request = Api::request(Method::PATCH, path, auth, Some(body));
    api.send(request, HOME).await
}

fn store(api: &Api) -> Store {
    Store::open_existing(&api.db_path).unwrap()
}

#[tokio::test]
async fn null_removes_the_stored_value_audited_and_applied_live() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"registration.phone_expiry_secs": 60}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 1);

    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"registration.phone_expiry_secs": null}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "dry_run": false,
            "changes": [{"key": "registration.phone_expiry_secs", "before": 60, "after": 120,
                         "changed": true, "reset": true, "apply": "live",
                         "result": "applied_live"}],
            "restart_needed": false,
        })
    );
    assert_eq!(
        bed.gateway.applied.load(Ordering::SeqCst),
        2,
        "handed to the running gateway like a change"
    );
    assert_eq!(
        store(api)
            .setting("config.registration.phone_expiry_secs")
            .unwrap(),
        None,
        "the row is gone"
    );
    let shown = api
        .get("/api/v1/settings/registration.phone_expiry_secs", &admin)
        .await;
    assert_eq!(
        (&shown.body["value"], &shown.body["source"]),
        (&json!(120), &json!({"kind": "default"}))
    );
    let audit = api.get("/api/v1/audit?action=setting.reset", &admin).await;
    let entries = audit.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit:?}");
    assert_eq!(entries[0]["target"], "registration.phone_expiry_secs");
    assert_eq!(entries[0]["actor"], "account:alice");
    assert_eq!(entries[0]["before"], json!({"value": 60}));
    assert_eq!(entries[0]["after"], json!({"value": 120, "apply": "live"}));

    // Again: nothing stored, nothing to do, nothing recorded.
    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"registration.phone_expiry_secs": null}),
    )
    .await;
    assert_eq!(r.body["changes"][0]["changed"], false, "{r:?}");
    assert_eq!(r.body["changes"][0]["result"], "unchanged");
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 2);
    let actions = api.audit_actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "setting.reset").count(),
        1,
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_guard_setting_reset_is_left_to_the_guard_to_reload() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"guard.dos_threshold": 200, "sip.t1_ms": 600}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let revision = store(api).guard_revision().unwrap();
    let applied = bed.gateway.applied.load(Ordering::SeqCst);

    // Both at once, one of them needing a restart.
    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"guard.dos_threshold": null, "sip.t1_ms": null}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let results: Vec<(&str, &str, &Value)> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap(),
                c["result"].as_str().unwrap(),
                &c["after"],
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("guard.dos_threshold", "pending", &json!(500)),
            ("sip.t1_ms", "restart_needed", &json!(500)),
        ]
    );
    assert_eq!(r.body["restart_needed"], true);
    assert_eq!(
        bed.gateway.applied.load(Ordering::SeqCst),
        applied,
        "nothing live for the gateway itself"
    );
    let store = store(api);
    assert!(store.guard_settings().unwrap().is_empty());
    assert_eq!(
        store.guard_revision().unwrap(),
        revision + 1,
        "the running guard sees a change to reload"
    );
    assert_eq!(store.setting("config.sip.t1_ms").unwrap(), None);
}

#[tokio::test]
async fn a_pinned_key_refuses_a_reset_as_it_refuses_a_change() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    for key in ["registration.max_calls", "sip.t4_ms"] {
        let before = api.state();
        let reset = patch(api, &admin, "/api/v1/settings", json!({key: null})).await;
        let change = patch(api, &admin, "/api/v1/settings", json!({key: 7000})).await;
        assert_eq!(reset.status, StatusCode::CONFLICT, "{reset:?}");
        assert_eq!(reset.message(), change.message(), "the same pinned message");
        assert!(reset.message().contains("is pinned by"), "{reset:?}");
        assert_eq!(api.state(), before, "nothing stored or audited");
    }
}

#[tokio::test]
async fn a_dry_run_of_a_reset_removes_nothing_and_reads_need_no_write_scope() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let r = patch(
        api,
        &admin,
        "/api/v1/settings",
        json!({"registration.heartbeat_secs": 45}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    let (reader, _) = api.token(&admin, "reader", &["settings:read"]).await;
    let reader = Auth::Bearer(reader);
    let r = api
        .post(
            "/api/v1/settings/validate",
            &reader,
            json!({"registration.heartbeat_secs": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["dry_run"], true);
    assert_eq!(r.body["changes"][0]["reset"], true);
    assert_eq!(r.body["changes"][0]["after"], 30);
    let r = patch(
        api,
        &reader,
        "/api/v1/settings",
        json!({"registration.heartbeat_secs": null}),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(!api.audit_actions().contains(&"setting.reset".to_owned()));
    assert_eq!(
        store(api)
            .setting("config.registration.heartbeat_secs")
            .unwrap()
            .as_deref(),
        Some("45"),
        "still stored"
    );
}
