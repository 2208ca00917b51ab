//! The OpenAPI document lists every route of the API and nothing else
//! (issue 14 acceptance), and is served without credentials.
//!
//! The routes are read from the router itself: its `Debug` output names
//! every path it was built with (merged routers included), and each
//! method of each path is then called: a method the path does not route
//! answers 405. The routed (path, method) pairs must be exactly the
//! document's operations. A route added without `#[utoipa::path]` and an
//! entry in `http::resources::openapi` fails here.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use axum::http::Method;
use common::{Api, Auth};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Every quoted `/api/v1/...` path in the router's `Debug` output, except
/// the catch-alls that answer unknown routes.
fn router_paths(api: &Api) -> BTreeSet<String> {
    let text = format!("{:?}", api.app);
    text.split('"')
        .filter(|s| s.starts_with("/api/v1/") && !s.contains("{*"))
        .map(str::to_owned)
        .collect()
}

/// The path with each `{param}` replaced by a value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn document_operations() -> BTreeSet<(String, String)> {
    let doc = outpost_api::http::resources::openapi::document();
    let value = serde_json::to_value(&doc).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in value["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS
                .iter()
                .any(|m| m.as_str().eq_ignore_ascii_case(method))
            {
                ops.insert((path.clone(), method.to_uppercase()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_route_is_documented_and_every_operation_routed() {
    let mut api = Api::new();
    // `serve` mounts the web services' administration next to the API.
    let service = || outpost_api::Service::new(outpost_store::Store::open(&api.db_path).unwrap());
    let ws = outpost_api::service::webservices::WebServices::new(
        service(),
        outpost_api::service::webservices::SealKey::from_bytes(&[1; 32]).unwrap(),
    );
    let state = outpost_api::http::ApiState {
        service: service(),
        clock: api.clock.clone(),
    };
    api.app = api
        .app
        .clone()
        .merge(outpost_api::http::webservices::router(state, ws));
    let paths = router_paths(&api);
    assert!(
        paths.len() >= 20,
        "the router's Debug output no longer lists its paths? found {paths:?}"
    );
    let mut routed = BTreeSet::new();
    for path in &paths {
        for method in METHODS {
            let request = Api::request(method.clone(), &concrete(path), &Auth::None, None);
            let r = api.send(request, common::HOME).await;
            assert!(
                !r.message().starts_with("no such API route"),
                "{method} {path} fell through to the unknown-route handler: {r:?}"
            );
            if r.status != 405 {
                routed.insert((path.clone(), method.to_string()));
            }
        }
    }
    let documented = document_operations();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document (add #[utoipa::path] and list them in \
         http::resources::openapi): {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
}

#[tokio::test]
async fn the_document_is_served_without_credentials_and_is_openapi_3_1() {
    let api = Api::new();
    let r = api.get("/api/v1/openapi.json", &Auth::None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.body["openapi"], "3.1.0");
    let served: BTreeSet<String> = r.body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let built: BTreeSet<String> = document_operations().into_iter().map(|(p, _)| p).collect();
    assert_eq!(served, built);
    let schemas = r.body["components"]["schemas"].as_object().unwrap();
    for name in [
        "DeviceView",
        "NewDeviceInput",
        "IcpView",
        "GuardStatus",
        "ErrorBody",
        "AuditPage",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
    // Secrets are documented as write-only input, never as output.
    let device = schemas["DeviceView"].to_string();
    assert!(
        device.contains("\"set\"") || device.contains("SecretState"),
        "{device}"
    );
    let security = r.body["components"]["securitySchemes"].as_object().unwrap();
    assert!(security.contains_key("bearer") && security.contains_key("session"));
}
