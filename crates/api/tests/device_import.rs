//! `POST /api/v1/devices/import` (issue 14 acceptance): a CSV import that
//! fails on one line writes nothing, not even an audit entry, and answers
//! 422 with every bad line; a good one writes every device with its audit
//! entries; modes create, update and upsert.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use axum::http::Method;
use resources::{DEVICE_PASSWORD, audit_text, audited, import, raw, state, with_icp};
use serde_json::json;

#[tokio::test]
async fn one_bad_line_writes_nothing_and_is_reported() {
    let (api, admin) = with_icp().await;
    let before = state(&api);
    let csv = format!(
        "setside_username,setside_password,clientid,location\n\
         4001,{DEVICE_PASSWORD},00085d842061,Paris\n\
         4002,{DEVICE_PASSWORD},not-a-mac,Nice\n\
         4003,{DEVICE_PASSWORD},,\n"
    );
    let r = import(&api, &admin, "create", &csv).await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.code(), "invalid");
    assert_eq!(r.field(), "csv");
    assert!(r.message().contains("nothing was written"), "{r:?}");
    assert!(r.message().contains("1 bad line"), "{r:?}");
    let lines = r.body["error"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{r:?}");
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["column"], "clientid");
    assert!(lines[0]["message"].as_str().unwrap().contains("not-a-mac"));
    assert!(!r.body.to_string().contains(DEVICE_PASSWORD));
    assert_eq!(
        state(&api),
        before,
        "nothing written, not even an audit entry"
    );
    let list = api.get("/api/v1/devices", &admin).await;
    assert_eq!(list.body["total"], 0);

    // The same file without the bad line goes through.
    let good = csv.replace(&format!("4002,{DEVICE_PASSWORD},not-a-mac,Nice\n"), "");
    let r = import(&api, &admin, "create", &good).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.body,
        json!({"mode": "create", "added": 2, "updated": 0,
                              "unchanged": 0, "changes": []})
    );
    assert_eq!(api.get("/api/v1/devices", &admin).await.body["total"], 2);
    assert_eq!(audited(&api, "device.create").len(), 2);
    let summary = &audited(&api, "device.import")[0];
    assert_eq!(summary["after"]["added"], 2);
    assert!(!audit_text(&api).contains(DEVICE_PASSWORD));
}

#[tokio::test]
async fn update_and_upsert_modes() {
    let (api, admin) = with_icp().await;
    let csv = format!("setside_username;setside_password\n4001;{DEVICE_PASSWORD}\n");
    assert_eq!(import(&api, &admin, "create", &csv).await.status, 200);
    // create again: the device exists.
    let r = import(&api, &admin, "create", &csv).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["lines"][0]["column"], "setside_username");

    let before = state(&api);
    let r = import(
        &api,
        &admin,
        "update",
        "setside_username;location\n4001;Nice\nnobody;Paris\n",
    )
    .await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(r.body["error"]["lines"][0]["line"], 3);
    assert_eq!(state(&api), before);

    let r = import(
        &api,
        &admin,
        "upsert",
        &format!(
            "setside_username;setside_password;location\n4001;;Nice\n4002;{DEVICE_PASSWORD};\n"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["added"], 1);
    assert_eq!(r.body["updated"], 1);
    assert_eq!(
        r.body["changes"],
        json!([{"setside_username": "4001", "fields": ["location"]}])
    );
    let update = &audited(&api, "device.update")[0];
    assert_eq!(update["before"]["location"], json!(null));
    assert_eq!(update["after"]["location"], "Nice");
}

#[tokio::test]
async fn the_request_itself_is_checked() {
    let (api, admin) = with_icp().await;
    let before = state(&api);
    let csv = format!("setside_username,setside_password\n4001,{DEVICE_PASSWORD}\n");
    let r = import(&api, &admin, "merge", &csv).await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "mode"), "{r:?}");
    let r = raw(
        &api,
        Method::POST,
        "/api/v1/devices/import",
        &admin,
        Some("application/json"),
        csv.clone(),
    )
    .await;
    assert_eq!(r.status, 415, "{r:?}");
    assert!(r.message().contains("text/csv"), "{r:?}");
    let r = raw(
        &api,
        Method::POST,
        "/api/v1/devices/import?dry_run=1",
        &admin,
        Some("text/csv"),
        csv.clone(),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.field()), (400, "dry_run"), "{r:?}");
    let huge = format!(
        "setside_username,setside_password,description\n4001,{DEVICE_PASSWORD},{}\n",
        "x".repeat(outpost_store::MAX_IMPORT_BYTES)
    );
    let r = import(&api, &admin, "create", &huge).await;
    assert_eq!(r.status, 413, "{r:?}");
    let r = import(&api, &admin, "create", "").await;
    assert_eq!(r.status, 422, "{r:?}");
    assert_eq!(state(&api), before, "nothing written");
    // Larger than the JSON routes' 64 KiB, within the import's limit.
    let mut big = String::from("setside_username,setside_password,description\n");
    for n in 0..400 {
        big.push_str(&format!("{n},{DEVICE_PASSWORD},{}\n", "d".repeat(200)));
    }
    assert!(big.len() > 64 * 1024);
    let r = import(&api, &admin, "create", &big).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["added"]),
        (200, &json!(400)),
        "{r:?}"
    );
}
