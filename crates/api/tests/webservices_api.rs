//! `/api/v1/webservices` (issue 16 item 2): an administrator creates a
//! consumer (its shared secret in the answer, never in a listing), reads
//! the secret again (audited), lists and approves tokens; a token with
//! `webservices:read` lists but cannot create or read a secret.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use axum::http::StatusCode;
use common::{Api, Auth};
use outpost_api::http::{ApiState, webservices};
use outpost_api::service::Service;
use outpost_api::service::webservices::{SealKey, WebServices};
use outpost_store::Store;
use serde_json::json;

async fn installed() -> (Api, Auth) {
    let mut api = Api::set_up().await;
    let ws = WebServices::new(
        Service::new(Store::open(&api.db_path).unwrap()),
        SealKey::from_bytes(&[5; 32]).unwrap(),
    );
    let state = ApiState {
        service: Service::new(Store::open(&api.db_path).unwrap()),
        clock: api.clock.clone(),
    };
    api.app = api.app.clone().merge(webservices::router(state, ws));
    let admin = api.admin().await;
    (api, admin)
}

#[tokio::test]
async fn administrators_manage_consumers_and_a_reader_only_reads() {
    let (api, admin) = installed().await;
    let made = api
        .post(
            "/api/v1/webservices/consumers",
            &admin,
            json!({"consumer_id": "MiVOAppSuite", "name": "MiVoice Office Application Suite",
                   "permissions": ["base/managetoken=rw", "mbg/v1/icps=r", "mbg/v1/devices=rw"]}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    let secret = made.body["shared_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 40);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));

    let listed = api.get("/api/v1/webservices/consumers", &admin).await;
    assert_eq!(listed.body[0]["consumer_id"], "MiVOAppSuite");
    assert!(
        !listed.body.to_string().contains(&secret),
        "no secret in a listing"
    );
    let shown = api
        .get("/api/v1/webservices/consumers/MiVOAppSuite/secret", &admin)
        .await;
    assert_eq!(shown.body["shared_secret"], secret.as_str());

    let bad = api
        .post(
            "/api/v1/webservices/consumers",
            &admin,
            json!({"consumer_id": "x", "name": "y", "permissions": ["mbg/v1/icps=rw"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field(), "permissions");

    let (reader, _) = api.token(&admin, "reader", &["webservices:read"]).await;
    let reader = Auth::Bearer(reader);
    assert_eq!(
        api.get("/api/v1/webservices/consumers", &reader)
            .await
            .status,
        StatusCode::OK
    );
    let denied = api
        .post(
            "/api/v1/webservices/consumers",
            &reader,
            json!({"consumer_id": "other", "name": "Other"}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api.get("/api/v1/webservices/consumers/MiVOAppSuite/secret", &reader)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let tokens = api.get("/api/v1/webservices/tokens", &admin).await;
    assert_eq!(tokens.body, json!({"temporary": [], "final_tokens": []}));
    let unknown = api
        .post(
            "/api/v1/webservices/tokens/0123456789abcdef0123456789abcdef/approve",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let actions = api.audit_actions();
    for action in [
        "webservices.consumer.create",
        "webservices.consumer.secret.show",
    ] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }
    assert!(
        !api.state().contains(&secret),
        "the database keeps the secret sealed"
    );
}
