//! `/api/v1/service` (OPS-2) over a fake gateway: the state, stop, start
//! and restart with the `service` scope, audited with the state before and
//! after; a start that fails says why and leaves the service stopped. The
//! real gateway (`outpost serve`) is tested end to end in the `outpost`
//! crate (`tests/service_control_e2e.rs`).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use common::{Api, Auth};
use outpost_api::Service;
use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use serde_json::json;

/// A gateway whose state is a flag and a counter of starts (the `since`).
#[derive(Default)]
struct FakeGateway {
    state: Mutex<(bool, i64)>,
    refuse_start: Mutex<Option<String>>,
}

impl Gateway for FakeGateway {
    fn sip_status(&self) -> SipStatus {
        let (stopped, since) = *self.state.lock().unwrap();
        SipStatus {
            state: if stopped {
                SipState::Stopped
            } else {
                SipState::Running
            },
            since,
            listeners: if stopped {
                Vec::new()
            } else {
                vec!["public/udp 127.0.0.1:5060".to_owned()]
            },
            last_error: self.refuse_start.lock().unwrap().clone(),
        }
    }
    fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
        let mut state = self.state.lock().unwrap();
        if !state.0 {
            *state = (true, state.1 + 1);
        }
        drop(state);
        Ok(self.sip_status())
    }
    fn start_sip(&self) -> Result<SipStatus, GatewayError> {
        if let Some(why) = self.refuse_start.lock().unwrap().clone() {
            return Err(GatewayError::StartFailed(why));
        }
        let mut state = self.state.lock().unwrap();
        if state.0 {
            *state = (false, state.1 + 1);
        }
        drop(state);
        Ok(self.sip_status())
    }
    fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
        Ok(LiveApply::Applied)
    }
}

async fn bed() -> (Api, Arc<FakeGateway>) {
    let gateway = Arc::new(FakeGateway::default());
    let fake = Arc::clone(&gateway);
    let api = Api::set_up_with(move |s: Service| s.with_gateway(fake)).await;
    (api, gateway)
}

#[tokio::test]
async fn stop_start_and_restart_are_reported_and_audited() {
    let (api, gateway) = bed().await;
    let admin = api.admin().await;
    let r = api.get("/api/v1/service", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["state"], "running");
    assert_eq!(r.body["listeners"][0], "public/udp 127.0.0.1:5060");

    let r = api.post("/api/v1/service/stop", &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        (r.body["action"].clone(), r.body["changed"].clone()),
        (json!("stop"), json!(true))
    );
    assert_eq!(r.body["before"]["state"], "running");
    assert_eq!(r.body["after"]["state"], "stopped");
    assert!(gateway.state.lock().unwrap().0);
    // Stopping a stopped service changes nothing and records nothing.
    let r = api.post("/api/v1/service/stop", &admin, json!({})).await;
    assert_eq!(r.body["changed"], false, "{r:?}");
    let r = api.post("/api/v1/service/start", &admin, json!({})).await;
    assert_eq!(r.body["after"]["state"], "running", "{r:?}");
    let r = api.post("/api/v1/service/restart", &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["changed"], true);
    assert_eq!(r.body["after"]["since"], 4, "stopped and started again");

    let actions: Vec<String> = api
        .audit_actions()
        .into_iter()
        .filter(|a| a.starts_with("service."))
        .collect();
    assert_eq!(
        actions,
        ["service.stop", "service.start", "service.restart"]
    );
    let audit = api.get("/api/v1/audit?action=service.stop", &admin).await;
    let entry = &audit.body["entries"][0];
    assert_eq!(entry["target"], "sip");
    assert_eq!(entry["before"]["state"], "running");
    assert_eq!(entry["after"]["state"], "stopped");
}

#[tokio::test]
async fn a_start_that_fails_says_why_and_the_service_stays_stopped() {
    let (api, gateway) = bed().await;
    let admin = api.admin().await;
    api.post("/api/v1/service/stop", &admin, json!({})).await;
    *gateway.refuse_start.lock().unwrap() = Some(
        "public SIP tls listener on 0.0.0.0:5063: address in use (another program uses this \
         port)"
            .to_owned(),
    );
    let r = api.post("/api/v1/service/start", &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(
        r.message()
            .starts_with("the SIP service could not start: public SIP tls listener"),
        "{r:?}"
    );
    let r = api.get("/api/v1/service", &admin).await;
    assert_eq!(r.body["state"], "stopped");
    assert!(
        r.body["last_error"]
            .as_str()
            .unwrap()
            .contains("address in use")
    );
}

#[tokio::test]
async fn the_service_scope_is_required() {
    let (api, gateway) = bed().await;
    let admin = api.admin().await;
    assert_eq!(
        api.get("/api/v1/service", &Auth::None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (read, _) = api.token(&admin, "watcher", &["service:read"]).await;
    let reader = Auth::Bearer(read);
    assert_eq!(
        api.get("/api/v1/service", &reader).await.status,
        StatusCode::OK
    );
    let r = api.post("/api/v1/service/stop", &reader, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(r.message().contains("service:write"), "{r:?}");
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "olivia", "password": "olivia-password-1", "role": "read-only"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let olivia = api.login("olivia", "olivia-password-1").await;
    let r = api
        .post("/api/v1/service/restart", &olivia, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(!gateway.state.lock().unwrap().0, "still running");
    assert_eq!(gateway.state.lock().unwrap().1, 0, "never stopped");
}

#[tokio::test]
async fn without_a_gateway_the_service_routes_say_so() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api.get("/api/v1/service", &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
    assert!(r.message().contains("running `outpost serve`"), "{r:?}");
}
