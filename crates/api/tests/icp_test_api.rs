//! `POST /api/v1/icps/{name}/test`, the REST twin of `outpost icps test`:
//! the service looks the ICP up, checks the options and the scope, and
//! hands the test to the gateway (a fake here, recording what it was
//! asked); the report comes back as the gateway wrote it, 200 whether the
//! test passed or failed. A test changes nothing and is not audited.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Api, Auth, HOME};
use outpost_api::Service;
use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use outpost_store::Icp;
use serde_json::{Value, json};

/// A gateway whose ICP test records its arguments and reports a failure
/// (the iPBX does not answer), as `icps test --json` would print it.
#[derive(Default)]
struct FakeGateway {
    asked: Mutex<Vec<(String, bool, Duration)>>,
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
        Ok(LiveApply::Applied)
    }
    fn test_icp(&self, icp: &Icp, all: bool, timeout: Duration) -> Result<Value, GatewayError> {
        self.asked
            .lock()
            .unwrap()
            .push((icp.name.clone(), all, timeout));
        Ok(json!({
            "icp": icp.name, "host": icp.host, "dns_servers": ["system (/etc/resolv.conf)"],
            "ok": false,
            "targets": [{"transport": "udp", "address": "192.0.2.5:5060", "server_name": "192.0.2.5"}],
            "steps": [{"step": "options", "status": "fail", "target": "udp 192.0.2.5:5060",
                       "ms": 500.0, "summary": "no answer", "details": [], "fix": "check the iPBX"}],
        }))
    }
}

async fn bed() -> (Api, Arc<FakeGateway>, Auth) {
    let gateway = Arc::new(FakeGateway::default());
    let fake = Arc::clone(&gateway);
    let api = Api::set_up_with(move |s: Service| s.with_gateway(fake)).await;
    let admin = api.admin().await;
    for (name, host) in [("pbx", "192.0.2.5"), ("backup", "192.0.2.6")] {
        let r = api
            .post(
                "/api/v1/icps",
                &admin,
                json!({"name": name, "host": host, "sip_udp": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    }
    (api, gateway, admin)
}

/// A POST with no body at all (a bare `curl -X POST`).
async fn post_empty(api: &Api, path: &str, auth: &Auth) -> common::Reply {
    api.send(Api::request(Method::POST, path, auth, None), HOME)
        .await
}

#[tokio::test]
async fn a_test_returns_the_gateways_report_with_the_options_asked() {
    let (api, gateway, admin) = bed().await;
    let before = api.audit_actions();

    // No body: the first target, 3 s per step, as the CLI's defaults.
    let r = post_empty(&api, "/api/v1/icps/pbx/test", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["icp"], "pbx");
    assert_eq!(
        r.body["ok"], false,
        "a failed test is a 200 whose ok says so"
    );
    assert_eq!(r.body["steps"][0]["fix"], "check the iPBX");

    let r = api
        .post(
            "/api/v1/icps/backup/test",
            &admin,
            json!({"all": true, "timeout_ms": 500}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        *gateway.asked.lock().unwrap(),
        [
            ("pbx".to_owned(), false, Duration::from_secs(3)),
            ("backup".to_owned(), true, Duration::from_millis(500)),
        ]
    );
    assert_eq!(api.audit_actions(), before, "a test changes nothing");
}

#[tokio::test]
async fn an_unknown_icp_is_404_naming_the_icps_there_are() {
    let (api, gateway, admin) = bed().await;
    let r = post_empty(&api, "/api/v1/icps/nope/test", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{r:?}");
    assert!(
        r.message().contains("\"nope\"") && r.message().contains("pbx, backup"),
        "{}",
        r.message()
    );
    assert!(gateway.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn bad_options_are_refused_by_name_and_nothing_is_tested() {
    let (api, gateway, admin) = bed().await;
    for (body, status, field) in [
        (json!({"timeout_ms": 50}), 422, "timeout_ms"),
        (json!({"timeout_ms": 60_001}), 422, "timeout_ms"),
        (json!({"timeout_ms": "3s"}), 422, "timeout_ms"),
        (json!({"all": true, "ca_file": "/x.pem"}), 400, "ca_file"),
    ] {
        let r = api
            .post("/api/v1/icps/pbx/test", &admin, body.clone())
            .await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (status, field),
            "{body}: {r:?}"
        );
    }
    let plain = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/icps/pbx/test")
        .header(
            header::AUTHORIZATION,
            bearer(&api, &admin, &["icps:read"]).await,
        )
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("all"))
        .unwrap();
    let r = api.send(plain, HOME).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{r:?}");
    assert!(gateway.asked.lock().unwrap().is_empty());
}

async fn bearer(api: &Api, admin: &Auth, scopes: &[&str]) -> String {
    let name = format!("t{}", scopes.join("-").replace(':', "_"));
    format!("Bearer {}", api.token(admin, &name, scopes).await.0)
}

#[tokio::test]
async fn icps_read_is_enough_and_other_scopes_are_refused() {
    let (api, _gateway, admin) = bed().await;
    let (reader, _) = api.token(&admin, "reader", &["icps:read"]).await;
    let r = post_empty(&api, "/api/v1/icps/pbx/test", &Auth::Bearer(reader)).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let (other, _) = api.token(&admin, "other", &["devices:write"]).await;
    let r = post_empty(&api, "/api/v1/icps/pbx/test", &Auth::Bearer(other)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{r:?}");
    assert!(r.message().contains("icps:read"), "{}", r.message());
    let r = post_empty(&api, "/api/v1/icps/pbx/test", &Auth::None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{r:?}");
}

#[tokio::test]
async fn without_a_gateway_that_can_test_the_answer_says_so() {
    // A service with no gateway at all, and one whose gateway keeps the
    // trait's default: both 409 with a message, never a 500.
    struct Minimal;
    impl Gateway for Minimal {
        fn sip_status(&self) -> SipStatus {
            FakeGateway::default().sip_status()
        }
        fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
            Ok(self.sip_status())
        }
        fn start_sip(&self) -> Result<SipStatus, GatewayError> {
            Ok(self.sip_status())
        }
        fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
            Ok(LiveApply::Applied)
        }
    }
    for api in [
        Api::set_up().await,
        Api::set_up_with(|s: Service| s.with_gateway(Arc::new(Minimal))).await,
    ] {
        let admin = api.admin().await;
        let r = api
            .post(
                "/api/v1/icps",
                &admin,
                json!({"name": "pbx", "host": "192.0.2.5"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        let r = post_empty(&api, "/api/v1/icps/pbx/test", &admin).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{r:?}");
        assert!(r.message().contains("cannot test ICPs"), "{}", r.message());
    }
}
