//! Device passwords go in and never come out: not in a response, not in
//! an audit row, not in the logs (issue 14: "grep the DB and the logs for
//! the test passwords"). The database itself keeps them, by design: the
//! SIP digest needs the clear value (see outpost-store's docs).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use std::io::Write;
use std::sync::{Arc, Mutex};

use resources::{audit_text, import, patch, with_icp};
use serde_json::json;

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

#[tokio::test]
async fn device_passwords_are_in_no_response_audit_row_or_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let (api, admin) = with_icp().await;
    let secrets = [
        "Pw1-created-set-side",
        "Pw2-created-icp-side",
        "Pw3-patched-set-side",
        "Pw4-imported-set-side",
        "Pw5-imported-icp-side",
        "Pw6-refused-import",
        "Pw7-refused-create",
    ];
    let mut bodies = Vec::new();
    let mut keep = |r: common::Reply| {
        bodies.push(format!("{:?} {}", r.headers, r.body));
        r
    };
    let r = keep(
        api.post(
            "/api/v1/devices",
            &admin,
            json!({"setside_username": "4001", "setside_password": secrets[0],
                   "icpside_password": secrets[1]}),
        )
        .await,
    );
    assert_eq!(r.status, 201);
    let r = keep(
        patch(
            &api,
            "/api/v1/devices/4001",
            &admin,
            json!({"setside_password": secrets[2]}),
        )
        .await,
    );
    assert_eq!(r.body["changed"], json!(["setside_password"]));
    let csv = format!(
        "setside_username,setside_password,icpside_password\n4002,{},{}\n",
        secrets[3], secrets[4]
    );
    assert_eq!(keep(import(&api, &admin, "create", &csv).await).status, 200);
    let bad = format!(
        "setside_username,setside_password\nbad user,{}\n",
        secrets[5]
    );
    assert_eq!(keep(import(&api, &admin, "create", &bad).await).status, 422);
    let r = keep(
        api.post(
            "/api/v1/devices",
            &admin,
            json!({"setside_username": "4001", "setside_password": secrets[6]}),
        )
        .await,
    );
    assert_eq!(r.status, 422);
    keep(api.get("/api/v1/devices", &admin).await);
    keep(api.get("/api/v1/devices/4002", &admin).await);
    keep(api.delete("/api/v1/devices/4002", &admin).await);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("device added"),
        "the logs were captured: {logs}"
    );
    let audit = audit_text(&api);
    assert!(audit.contains("device.update"), "{audit}");
    for secret in secrets {
        for (what, text) in [("logs", &logs), ("audit log", &audit)] {
            assert!(!text.contains(secret), "{secret} in the {what}: {text}");
        }
        for body in &bodies {
            assert!(!body.contains(secret), "{secret} in a response: {body}");
        }
    }
}
