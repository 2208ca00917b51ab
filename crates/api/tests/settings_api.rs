//! `/api/v1/settings` (issue 14 item 2): every setting with its value and
//! source, pinned values refused naming the file and line or the
//! variable, changes validated together and stored with their audit
//! entries, the live ones handed to the running gateway, dry runs that
//! store nothing, and the `settings` scope.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// A gateway that records what it was asked.
#[derive(Default)]
struct FakeGateway {
    applied: AtomicUsize,
    stopped: Mutex<bool>,
}

impl Gateway for FakeGateway {
    fn sip_status(&self) -> SipStatus {
        let stopped = *self.stopped.lock().unwrap();
        SipStatus {
            state: if stopped {
                SipState::Stopped
            } else {
                SipState::Running
            },
            since: 1,
            listeners: Vec::new(),
            last_error: None,
        }
    }
    fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
        *self.stopped.lock().unwrap() = true;
        Ok(self.sip_status())
    }
    fn start_sip(&self) -> Result<SipStatus, GatewayError> {
        *self.stopped.lock().unwrap() = false;
        Ok(self.sip_status())
    }
    fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
        self.applied.fetch_add(1, Ordering::SeqCst);
        if *self.stopped.lock().unwrap() {
            Ok(LiveApply::NotRunning)
        } else {
            Ok(LiveApply::Applied)
        }
    }
}

struct Bed {
    api: Api,
    gateway: Arc<FakeGateway>,
    file: std::path::PathBuf,
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
        file,
        _dir: dir,
    }
}

async fn patch(api: &Api, auth: &Auth, body: Value) -> Reply {
    let request = Api::request(Method::PATCH, "/api/v1/settings", auth, Some(body));
    api.send(request, HOME).await
}

fn stored(api: &Api, key: &str) -> Option<String> {
    Store::open_existing(&api.db_path)
        .unwrap()
        .setting(&format!("config.{key}"))
        .unwrap()
}

fn entry<'a>(list: &'a Reply, key: &str) -> &'a Value {
    list.body["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("{key} not listed"))
}

#[tokio::test]
async fn every_setting_is_listed_with_value_source_range_and_apply() {
    let bed = bed().await;
    let api = &bed.api;
    assert_eq!(
        api.get("/api/v1/settings", &Auth::None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let admin = api.admin().await;
    let list = api.get("/api/v1/settings", &admin).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(
        list.body["settings"].as_array().unwrap().len(),
        outpost_config::Registry::settings().count()
    );
    let expiry = entry(&list, "registration.phone_expiry_secs");
    assert_eq!(
        *expiry,
        json!({
            "key": "registration.phone_expiry_secs",
            "value": 120,
            "source": {"kind": "default"},
            "editable": true,
            "default": 120,
            "type": "integer",
            "min": 20,
            "max": 86400,
            "unit": "s",
            "apply": "live",
            "secret": false,
            "description": expiry["description"],
            "env": "OUTPOST_REGISTRATION_PHONE_EXPIRY_SECS",
        })
    );
    let pinned = entry(&list, "registration.max_calls");
    assert_eq!(pinned["value"], 50);
    assert_eq!(pinned["editable"], false);
    assert_eq!(
        pinned["pinned_by"],
        format!("the environment variable {PINNED_VAR}")
    );
    let t4 = entry(&list, "sip.t4_ms");
    assert_eq!(t4["source"]["line"], 2);
    assert_eq!(t4["apply"], "restart");
    assert!(
        t4["pinned_by"]
            .as_str()
            .unwrap()
            .contains(&bed.file.display().to_string())
    );
    assert_eq!(entry(&list, "admin.tls")["type"], "boolean");
    assert_eq!(entry(&list, "guard.level")["type"], "choice");

    let one = api
        .get("/api/v1/settings/registration.max_calls", &admin)
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, *pinned);
    let unknown = api.get("/api/v1/settings/sip.t1ms", &admin).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.message().contains("did you mean \"sip.t1_ms\""),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn a_change_is_stored_audited_and_applied_live() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let r = patch(api, &admin, json!({"registration.phone_expiry_secs": 60})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "dry_run": false,
            "changes": [{"key": "registration.phone_expiry_secs", "before": 120, "after": 60,
                         "changed": true, "apply": "live", "result": "applied_live"}],
            "restart_needed": false,
        })
    );
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 1);
    assert_eq!(
        stored(api, "registration.phone_expiry_secs").as_deref(),
        Some("60")
    );
    let list = api.get("/api/v1/settings", &admin).await;
    let expiry = entry(&list, "registration.phone_expiry_secs");
    assert_eq!(
        (expiry["value"].clone(), expiry["source"].clone()),
        (json!(60), json!({"kind": "database"}))
    );
    let audit = api.get("/api/v1/audit?action=setting.change", &admin).await;
    let entries = audit.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit:?}");
    assert_eq!(entries[0]["target"], "registration.phone_expiry_secs");
    assert_eq!(entries[0]["actor"], "account:alice");
    assert_eq!(entries[0]["before"], json!({"value": 120}));
    assert_eq!(entries[0]["after"], json!({"value": 60, "apply": "live"}));

    // The same value again changes nothing and records nothing.
    let r = patch(api, &admin, json!({"registration.phone_expiry_secs": 60})).await;
    assert_eq!(r.body["changes"][0]["result"], "unchanged", "{r:?}");
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 1);

    // A setting that needs a restart is stored and says so; the gateway
    // is not bothered.
    let r = patch(
        api,
        &admin,
        json!({"sip.t1_ms": 600, "media.timeout_secs": 30}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["restart_needed"], true);
    let results: Vec<(&str, &str)> = r.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap(), c["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("media.timeout_secs", "applied_live"),
            ("sip.t1_ms", "restart_needed")
        ]
    );
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 2);

    // With the SIP service stopped a live change waits for its start.
    bed.gateway.stop_sip().unwrap();
    let r = patch(api, &admin, json!({"registration.heartbeat_secs": 0})).await;
    assert_eq!(r.body["changes"][0]["result"], "applies_at_start", "{r:?}");
}

#[tokio::test]
async fn pinned_and_invalid_values_are_refused_and_nothing_is_stored() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let before = api.state();

    let r = patch(api, &admin, json!({"registration.max_calls": 60})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(
        r.message().starts_with(&format!(
            "registration.max_calls is pinned by the environment variable {PINNED_VAR}"
        )),
        "{r:?}"
    );
    let r = patch(
        api,
        &admin,
        json!({"sip.t4_ms": 7000, "registration.phone_expiry_secs": 60}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    let file = format!(
        "sip.t4_ms is pinned by the configuration file {} (line 2)",
        bed.file.display()
    );
    assert!(r.message().contains(&file), "{r:?}");
    assert_eq!(stored(api, "registration.phone_expiry_secs"), None);

    let r = patch(api, &admin, json!({"sip.t1_ms": 20})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(r.field(), "sip.t1_ms");
    assert!(r.message().contains("allowed 50..10000"), "{r:?}");
    let r = patch(api, &admin, json!({"registration.phone_expiry": 60})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.message().contains("did you mean"), "{r:?}");
    let r = patch(api, &admin, json!({"data_dir": "/srv"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    let r = patch(api, &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    let r = patch(
        api,
        &admin,
        json!({"admin.listen": "192.0.2.1:9464", "admin.tls": false}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert!(r.message().contains("only on a loopback"), "{r:?}");
    // Alone a phone expiry above the iPBX's is refused; together with the
    // iPBX's it is fine.
    let r = patch(api, &admin, json!({"registration.phone_expiry_secs": 5000})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{r:?}");
    assert_eq!(api.state(), before, "nothing stored, nothing audited");
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 0);

    let r = patch(
        api,
        &admin,
        json!({"registration.phone_expiry_secs": 5000, "registration.icp_expiry_secs": 7200}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
}

#[tokio::test]
async fn a_dry_run_validates_and_stores_nothing() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let before = api.state();
    let r = api
        .post(
            "/api/v1/settings/validate",
            &admin,
            json!({"registration.phone_expiry_secs": 90, "web.port": 4446}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["dry_run"], true);
    assert_eq!(
        r.body["changes"][0]["key"],
        "registration.phone_expiry_secs"
    );
    assert_eq!(r.body["changes"][0]["apply"], "live");
    assert!(r.body["changes"][0].get("result").is_none(), "{r:?}");
    assert_eq!(r.body["changes"][1]["apply"], "restart");
    let r = api
        .post(
            "/api/v1/settings/validate",
            &admin,
            json!({"registration.max_calls": 9}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert_eq!(api.state(), before);
    assert_eq!(stored(api, "registration.phone_expiry_secs"), None);
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn read_only_accounts_and_read_scopes_cannot_change_settings() {
    let bed = bed().await;
    let api = &bed.api;
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
    assert_eq!(
        api.get("/api/v1/settings", &olivia).await.status,
        StatusCode::OK
    );
    let r = patch(api, &olivia, json!({"registration.phone_expiry_secs": 60})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    let r = api
        .post(
            "/api/v1/settings/validate",
            &olivia,
            json!({"registration.phone_expiry_secs": 60}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "a dry run changes nothing: {r:?}");

    let (read, _) = api.token(&admin, "reader", &["settings:read"]).await;
    let reader = Auth::Bearer(read);
    assert_eq!(
        api.get("/api/v1/settings", &reader).await.status,
        StatusCode::OK
    );
    let r = patch(api, &reader, json!({"registration.phone_expiry_secs": 60})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(r.message().contains("settings:write"), "{r:?}");
    let (other, _) = api.token(&admin, "devices", &["devices:write"]).await;
    let r = api.get("/api/v1/settings", &Auth::Bearer(other)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");

    let (write, _) = api.token(&admin, "writer", &["settings:write"]).await;
    let r = patch(
        api,
        &Auth::Bearer(write),
        json!({"registration.phone_expiry_secs": 60}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        stored(api, "registration.phone_expiry_secs").as_deref(),
        Some("60")
    );
}

#[tokio::test]
async fn guard_settings_are_left_to_the_guard_which_polls_them() {
    let bed = bed().await;
    let api = &bed.api;
    let admin = api.admin().await;
    let r = patch(api, &admin, json!({"guard.dos_threshold": 300})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["changes"][0]["result"], "pending", "{r:?}");
    assert_eq!(bed.gateway.applied.load(Ordering::SeqCst), 0);
    let store = Store::open_existing(&api.db_path).unwrap();
    assert_eq!(
        store.guard_settings().unwrap(),
        [("dos_threshold".to_owned(), "300".to_owned())]
    );
}
