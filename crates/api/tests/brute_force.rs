//! Login brute force (issue 14 acceptance): 20 wrong passwords from one
//! source are locked with 429; the right password from another source
//! still works; locks grow and end (virtual clock, no sleeps).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::{Method, StatusCode, header};
use common::{ADMIN, ADMIN_PASSWORD, Api, Auth};
use serde_json::json;

const ATTACKER: &str = "198.51.100.66:40000";
const OFFICE: &str = "203.0.113.20:50000";

async fn attempt(api: &Api, password: &str, from: &str) -> common::Reply {
    let request = Api::request(
        Method::POST,
        "/api/v1/session",
        &Auth::None,
        Some(json!({"name": ADMIN, "password": password})),
    );
    api.send(request, from).await
}

#[tokio::test]
async fn twenty_wrong_passwords_are_locked_and_the_real_admin_still_gets_in() {
    let api = Api::set_up().await;
    let mut statuses = Vec::new();
    for i in 0..20 {
        let r = attempt(&api, &format!("guess-number-{i:02}"), ATTACKER).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = r.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert_eq!(r.code(), "too_many_requests");
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(&statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(&statuses[5..], [429; 15], "{statuses:?}");
    // Locked: even the right password from the attacker's address waits.
    assert_eq!(
        attempt(&api, ADMIN_PASSWORD, ATTACKER).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The real administrator, from another address, gets in at once.
    let r = attempt(&api, ADMIN_PASSWORD, OFFICE).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");

    // The lock ends after a minute; five more failures lock for two.
    api.clock.advance(60);
    for _ in 0..5 {
        assert_eq!(
            attempt(&api, "still-guessing", ATTACKER).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = attempt(&api, "still-guessing", ATTACKER).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers[header::RETRY_AFTER], "120");
    api.clock.advance(120);
    assert_eq!(
        attempt(&api, ADMIN_PASSWORD, ATTACKER).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_source_spraying_names_is_locked_for_every_name() {
    let api = Api::set_up().await;
    for i in 0..20 {
        let request = Api::request(
            Method::POST,
            "/api/v1/session",
            &Auth::None,
            Some(json!({"name": format!("user{i}"), "password": "some-password-0"})),
        );
        assert_eq!(
            api.send(request, ATTACKER).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&api, ADMIN_PASSWORD, ATTACKER).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt(&api, ADMIN_PASSWORD, OFFICE).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_setup_tokens_are_throttled_too() {
    let api = Api::new();
    let mut last = StatusCode::OK;
    for i in 0..6 {
        let request = Api::request(
            Method::POST,
            "/api/v1/setup",
            &Auth::None,
            Some(
                json!({"setup_token": format!("guess-{i}-0123456789abc"), "name": ADMIN, "password": ADMIN_PASSWORD}),
            ),
        );
        last = api.send(request, ATTACKER).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let request = Api::request(
        Method::POST,
        "/api/v1/setup",
        &Auth::None,
        Some(
            json!({"setup_token": common::SETUP_TOKEN, "name": ADMIN, "password": ADMIN_PASSWORD}),
        ),
    );
    assert_eq!(api.send(request, OFFICE).await.status, StatusCode::CREATED);
}
