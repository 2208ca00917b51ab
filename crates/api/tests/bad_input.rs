//! Bad input, table-driven (issue 14 acceptance): oversized bodies, wrong
//! content types, malformed JSON, unknown fields, out-of-range values each
//! get a 4xx with a message naming the field, and change nothing.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Api, Auth};
use serde_json::json;

struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: String,
    status: StatusCode,
    /// The field the error must name ("" for none).
    field: &'static str,
    /// Text the message must contain.
    says: &'static str,
}

fn case(
    what: &'static str,
    path: &'static str,
    body: impl Into<String>,
    status: u16,
    field: &'static str,
    says: &'static str,
) -> Case {
    Case {
        what,
        method: Method::POST,
        path,
        content_type: Some("application/json"),
        body: body.into(),
        status: StatusCode::from_u16(status).unwrap(),
        field,
        says,
    }
}

fn cases() -> Vec<Case> {
    let valid_admin = json!({"name": "bob", "password": "bob-password-1234"}).to_string();
    vec![
        case(
            "oversized body",
            "/api/v1/admins",
            format!(r#"{{"name":"bob","password":"{}"}}"#, "x".repeat(70 * 1024)),
            413,
            "",
            "larger than 65536",
        ),
        Case {
            content_type: Some("text/plain"),
            ..case(
                "text/plain",
                "/api/v1/admins",
                valid_admin.clone(),
                415,
                "",
                "application/json",
            )
        },
        Case {
            content_type: None,
            ..case(
                "no content type",
                "/api/v1/admins",
                valid_admin.clone(),
                415,
                "",
                "application/json",
            )
        },
        Case {
            content_type: Some("application/x-www-form-urlencoded"),
            ..case(
                "form",
                "/api/v1/tokens",
                "name=x&scopes=audit:read",
                415,
                "",
                "Content-Type",
            )
        },
        case(
            "malformed JSON",
            "/api/v1/admins",
            r#"{"name": "bob", "password": "#,
            400,
            "",
            "malformed JSON",
        ),
        case(
            "trailing garbage",
            "/api/v1/admins",
            format!("{valid_admin} {{}}"),
            400,
            "",
            "malformed JSON",
        ),
        case(
            "not an object",
            "/api/v1/admins",
            r#"["bob", "bob-password-1234"]"#,
            400,
            "",
            "one JSON object",
        ),
        case(
            "empty body",
            "/api/v1/admins",
            "",
            400,
            "",
            "one JSON object",
        ),
        case(
            "unknown field",
            "/api/v1/admins",
            r#"{"name": "bob", "password": "bob-password-1234", "is_superuser": true}"#,
            400,
            "is_superuser",
            "unknown field",
        ),
        case(
            "unknown token field",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:read"], "expiry": 3}"#,
            400,
            "expiry",
            "expires_in_days",
        ),
        case(
            "missing field",
            "/api/v1/admins",
            r#"{"name": "bob"}"#,
            422,
            "password",
            "missing field",
        ),
        case(
            "wrong type",
            "/api/v1/admins",
            r#"{"name": 7, "password": "bob-password-1234"}"#,
            422,
            "name",
            "invalid type",
        ),
        case(
            "short password",
            "/api/v1/admins",
            r#"{"name": "bob", "password": "short"}"#,
            422,
            "password",
            "at least 12",
        ),
        case(
            "bad name",
            "/api/v1/admins",
            r#"{"name": "bob smith", "password": "bob-password-1234"}"#,
            422,
            "name",
            "letters, digits",
        ),
        case(
            "unknown role",
            "/api/v1/admins",
            r#"{"name": "bob", "password": "bob-password-1234", "role": "root"}"#,
            422,
            "role",
            "read-only",
        ),
        case(
            "expiry 0 days",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:read"], "expires_in_days": 0}"#,
            422,
            "expires_in_days",
            "1 to 3650",
        ),
        case(
            "expiry too long",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:read"], "expires_in_days": 99999}"#,
            422,
            "expires_in_days",
            "1 to 3650",
        ),
        case(
            "negative expiry",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:read"], "expires_in_days": -1}"#,
            422,
            "expires_in_days",
            "invalid value",
        ),
        case(
            "bad scope",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:delete"]}"#,
            422,
            "scopes",
            "RESOURCE:read",
        ),
        case(
            "no scope",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": []}"#,
            422,
            "scopes",
            "at least one scope",
        ),
        case(
            "bad source",
            "/api/v1/tokens",
            r#"{"name": "t", "scopes": ["audit:read"], "allowed_sources": ["10.0.0.300"]}"#,
            422,
            "allowed_sources",
            "192.0.2.0/24",
        ),
        case(
            "empty token name",
            "/api/v1/tokens",
            r#"{"name": " ", "scopes": ["audit:read"]}"#,
            422,
            "name",
            "empty",
        ),
        case(
            "weak new password",
            "/api/v1/admins/alice/password",
            r#"{"old_password": "alice-password-1234", "new_password": "123"}"#,
            422,
            "new_password",
            "at least 12",
        ),
        Case {
            method: Method::GET,
            content_type: None,
            ..case(
                "limit too high",
                "/api/v1/audit?limit=501",
                "",
                422,
                "limit",
                "1 to 500",
            )
        },
        Case {
            method: Method::GET,
            content_type: None,
            ..case(
                "limit zero",
                "/api/v1/audit?limit=0",
                "",
                422,
                "limit",
                "1 to 500",
            )
        },
        Case {
            method: Method::GET,
            content_type: None,
            ..case(
                "since not a number",
                "/api/v1/audit?since=yesterday",
                "",
                422,
                "since",
                "whole number",
            )
        },
        Case {
            method: Method::GET,
            content_type: None,
            ..case(
                "since after until",
                "/api/v1/audit?since=20&until=10",
                "",
                422,
                "since",
                "swap",
            )
        },
        Case {
            method: Method::GET,
            content_type: None,
            ..case(
                "unknown parameter",
                "/api/v1/audit?order=asc",
                "",
                400,
                "order",
                "allowed: actor",
            )
        },
    ]
}

#[tokio::test]
async fn each_bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let Auth::Session { cookie, csrf } = &admin else {
        unreachable!()
    };
    let before = api.state();
    for c in cases() {
        let mut builder = Request::builder()
            .method(c.method.clone())
            .uri(c.path)
            .header(header::COOKIE, format!("outpost_session={cookie}"))
            .header("x-csrf-token", csrf.as_str());
        if let Some(ct) = c.content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let r = api
            .send(
                builder.body(Body::from(c.body.clone())).unwrap(),
                common::HOME,
            )
            .await;
        assert_eq!(r.status, c.status, "{}: {r:?}", c.what);
        assert_eq!(r.field(), c.field, "{}: {r:?}", c.what);
        assert!(
            r.message().contains(c.says),
            "{}: {:?} lacks {:?}",
            c.what,
            r.message(),
            c.says
        );
        assert!(r.body["error"]["code"].is_string(), "{}: {r:?}", c.what);
        assert_eq!(api.state(), before, "{} changed something", c.what);
    }
    // The same valid request is accepted, so the cases fail for their flaw.
    let r = api
        .post(
            "/api/v1/admins",
            &admin,
            json!({"name": "bob", "password": "bob-password-1234"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_ne!(api.state(), before);
}
