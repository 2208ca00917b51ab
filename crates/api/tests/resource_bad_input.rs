//! Bad input to the resource routes, table-driven (issue 14 acceptance):
//! oversized bodies, wrong content types, malformed JSON, unknown fields,
//! out-of-range values and query parameters each get a 4xx naming the
//! field and change nothing.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use axum::http::Method;
use resources::{raw, state, with_icp};
use serde_json::json;

struct Case {
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    /// The field the error must name ("" for none).
    field: &'static str,
    /// Text the message must contain.
    says: &'static str,
}

fn post(
    path: &'static str,
    body: impl Into<String>,
    status: u16,
    field: &'static str,
    says: &'static str,
) -> Case {
    Case {
        method: Method::POST,
        path,
        content_type: Some("application/json"),
        body: body.into(),
        status,
        field,
        says,
    }
}

fn patch(
    path: &'static str,
    body: impl Into<String>,
    status: u16,
    field: &'static str,
    says: &'static str,
) -> Case {
    Case {
        method: Method::PATCH,
        ..post(path, body, status, field, says)
    }
}

fn get(path: &'static str, status: u16, field: &'static str, says: &'static str) -> Case {
    Case {
        method: Method::GET,
        content_type: None,
        ..post(path, "", status, field, says)
    }
}

fn cases() -> Vec<Case> {
    let icp = json!({"name": "b", "host": "192.0.2.2"});
    let with = |extra: serde_json::Value| {
        let mut body = icp.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    vec![
        post(
            "/api/v1/icps",
            format!(r#"{{"name":"b","host":"{}"}}"#, "x".repeat(70 * 1024)),
            413,
            "",
            "larger than 65536",
        ),
        post(
            "/api/v1/devices",
            format!(
                r#"{{"setside_username":"4002","setside_password":"{}"}}"#,
                "x".repeat(70 * 1024)
            ),
            413,
            "",
            "larger than 65536",
        ),
        Case {
            content_type: Some("text/plain"),
            ..post("/api/v1/icps", icp.to_string(), 415, "", "application/json")
        },
        Case {
            content_type: None,
            ..patch(
                "/api/v1/devices/4001",
                r#"{"enabled": false}"#,
                415,
                "",
                "application/json",
            )
        },
        Case {
            content_type: Some("text/csv"),
            ..post(
                "/api/v1/guard/allow",
                r#"{"address": "192.0.2.7"}"#,
                415,
                "",
                "application/json",
            )
        },
        post(
            "/api/v1/icps",
            r#"{"name": "b", "host": "#,
            400,
            "",
            "malformed JSON",
        ),
        patch(
            "/api/v1/guard/settings",
            r#"{"dos_threshold": 100} {}"#,
            400,
            "",
            "malformed JSON",
        ),
        post(
            "/api/v1/devices",
            r#"["4002", "secret"]"#,
            400,
            "",
            "one JSON object",
        ),
        post(
            "/api/v1/icps",
            with(json!({"password": "x"})),
            400,
            "password",
            "unknown field",
        ),
        patch(
            "/api/v1/icps/pbx",
            r#"{"name": "renamed"}"#,
            400,
            "name",
            "unknown field",
        ),
        patch(
            "/api/v1/devices/4001",
            r#"{"setside_username": "4009"}"#,
            400,
            "setside_username",
            "unknown field",
        ),
        post(
            "/api/v1/guard/allow",
            r#"{"address": "192.0.2.7", "expires": 5}"#,
            400,
            "expires",
            "unknown field",
        ),
        post(
            "/api/v1/icps",
            r#"{"name": "b"}"#,
            422,
            "host",
            "missing field",
        ),
        post(
            "/api/v1/icps",
            with(json!({"sip_port": 70000})),
            422,
            "sip_port",
            "invalid value",
        ),
        post(
            "/api/v1/icps",
            with(json!({"sip_port": 0})),
            422,
            "sip_port",
            "1 to 65535",
        ),
        post(
            "/api/v1/icps",
            with(json!({"xml_destination_port": 4444})),
            422,
            "xml_destination_port",
            "4443 or 4445",
        ),
        post(
            "/api/v1/icps",
            with(json!({"sip_tls": false})),
            422,
            "sip_udp/sip_tcp/sip_tls",
            "at least one",
        ),
        post(
            "/api/v1/icps",
            with(json!({"host": "pbx_1.example"})),
            422,
            "host",
            "not allowed",
        ),
        post(
            "/api/v1/icps",
            with(json!({"ca_file": "relative.pem"})),
            422,
            "ca_file",
            "absolute path",
        ),
        post(
            "/api/v1/icps",
            json!({"name": "pbx", "host": "192.0.2.2"}).to_string(),
            422,
            "name",
            "already exists",
        ),
        patch(
            "/api/v1/icps/pbx",
            r#"{"kind": "bad kind!"}"#,
            422,
            "kind",
            "not a valid ICP type",
        ),
        patch(
            "/api/v1/devices/4001",
            r#"{"enabled": "yes"}"#,
            422,
            "enabled",
            "invalid type",
        ),
        patch(
            "/api/v1/devices/4001",
            r#"{"mac": "00-08"}"#,
            422,
            "mac",
            "00-08",
        ),
        post(
            "/api/v1/guard/allow",
            r#"{"address": "0.0.0.0/0"}"#,
            422,
            "address",
            "/0",
        ),
        post(
            "/api/v1/guard/allow",
            format!(
                r#"{{"address": "192.0.2.7", "note": "{}"}}"#,
                "n".repeat(600)
            ),
            422,
            "note",
            "500",
        ),
        patch(
            "/api/v1/guard/settings",
            r#"{"max_tracked_sources": 5}"#,
            422,
            "max_tracked_sources",
            "1000..=10000000",
        ),
        get("/api/v1/devices?limit=0", 422, "limit", "1 to 500"),
        get("/api/v1/devices?limit=501", 422, "limit", "1 to 500"),
        get("/api/v1/devices?offset=-1", 422, "offset", "0 or more"),
        get(
            "/api/v1/devices?sort=password",
            422,
            "sort",
            "not a sort field",
        ),
        get("/api/v1/devices?status=asleep", 422, "status", "in-call"),
        get(
            "/api/v1/devices?enabled=maybe",
            422,
            "enabled",
            "true or false",
        ),
        get("/api/v1/devices?cursor=zz", 422, "cursor", "next_cursor"),
        get(
            "/api/v1/devices?cursor=00&offset=2",
            422,
            "offset",
            "not both",
        ),
        get("/api/v1/devices?search=x", 400, "search", "allowed: q"),
        get("/api/v1/guard/deny?limit=1001", 422, "limit", "1 to 1000"),
        get(
            "/api/v1/guard/deny?list=spam",
            422,
            "list",
            "dos or bruteforce",
        ),
        Case {
            method: Method::DELETE,
            content_type: None,
            ..post(
                "/api/v1/guard/deny/not-an-ip",
                "",
                422,
                "address",
                "not-an-ip",
            )
        },
        Case {
            method: Method::DELETE,
            content_type: None,
            ..post(
                "/api/v1/guard/deny/203.0.113.1?following=perhaps",
                "",
                422,
                "following",
                "true or false",
            )
        },
    ]
}

#[tokio::test]
async fn each_bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let (api, admin) = with_icp().await;
    resources::device(&api, &admin, "4001", json!({})).await;
    resources::denied(&api, "203.0.113.1", outpost_store::DenyList::Dos, 0, None);
    let before = state(&api);
    for c in cases() {
        let what = format!(
            "{} {} {}",
            c.method,
            c.path,
            c.body.chars().take(80).collect::<String>()
        );
        let r = raw(
            &api,
            c.method.clone(),
            c.path,
            &admin,
            c.content_type,
            c.body.clone(),
        )
        .await;
        assert_eq!(r.status.as_u16(), c.status, "{what}: {r:?}");
        assert_eq!(r.field(), c.field, "{what}: {r:?}");
        assert!(
            r.message().contains(c.says),
            "{what}: {:?} lacks {:?}",
            r.message(),
            c.says
        );
        assert!(r.body["error"]["code"].is_string(), "{what}: {r:?}");
        assert_eq!(state(&api), before, "{what} changed something");
    }
    // Valid versions of the same requests are accepted, so the cases fail
    // for their flaw.
    let r = api
        .post(
            "/api/v1/icps",
            &admin,
            json!({"name": "b", "host": "192.0.2.2", "sip_port": 5070}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    let r = resources::patch(
        &api,
        "/api/v1/devices/4001",
        &admin,
        json!({"mac": "00-08-5d-84-20-61"}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_ne!(state(&api), before);
}
