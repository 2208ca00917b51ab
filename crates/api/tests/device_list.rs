//! `GET /api/v1/devices`: filters, sorting, cursor and offset pages, with
//! the live status from the registration status table. A descending sort
//! reverses the whole key (field, then username).

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use common::{Api, Auth};
use outpost_store::{BindingStatusRecord, DeviceStatusRecord};
use resources::{device, stored_icp, with_icp};
use serde_json::{Value, json};

fn users(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["setside_username"].as_str().unwrap().to_owned())
        .collect()
}

/// Twelve devices: 1000..1011; every third on ICP `b`, every fourth
/// disabled; 1001 registered behind NAT with two clients, 1002 in a call.
async fn twelve() -> (Api, Auth) {
    let (api, admin) = with_icp().await;
    stored_icp(&api, "b");
    for n in 0..12 {
        let icp = if n % 3 == 0 { "b" } else { "pbx" };
        let location = if n % 2 == 0 { "Paris" } else { "Nice" };
        device(
            &api,
            &admin,
            &format!("10{n:02}"),
            json!({"icp": icp, "location": location, "enabled": n % 4 != 0,
                   "description": format!("desk {}", 11 - n)}),
        )
        .await;
    }
    let client = |n| BindingStatusRecord {
        binding: n,
        contact: format!("sip:1001@198.51.100.{n}"),
        transport: "tls".into(),
        registered: true,
        connected: true,
        last_address: format!("198.51.100.{n}:5061"),
        expires: 2_000_000_000,
        ..BindingStatusRecord::default()
    };
    resources::store(&api)
        .set_device_statuses(&[
            DeviceStatusRecord {
                setside_username: "1001".into(),
                registered: true,
                connected: true,
                natted: true,
                last_address: Some("198.51.100.1:5061".into()),
                updated: 1_700_000_000,
                bindings: vec![client(1), client(2)],
                ..DeviceStatusRecord::default()
            },
            DeviceStatusRecord {
                setside_username: "1002".into(),
                registered: true,
                connected: true,
                in_call: true,
                ..DeviceStatusRecord::default()
            },
        ])
        .unwrap();
    (api, admin)
}

#[tokio::test]
async fn filters_select_and_status_is_live() {
    let (api, admin) = twelve().await;
    let get = |q: &'static str| {
        let (api, admin) = (&api, &admin);
        async move {
            let r = api.get(&format!("/api/v1/devices?{q}"), admin).await;
            assert_eq!(r.status, 200, "{q}: {r:?}");
            r.body
        }
    };
    let all = get("").await;
    assert_eq!(all["total"], 12);
    assert_eq!(users(&all).len(), 12);
    let one = all["items"][1].clone();
    assert_eq!(one["status"]["state"], "registered");
    assert_eq!(one["status"]["natted"], true);
    assert_eq!(one["status"]["bindings"].as_array().unwrap().len(), 2);
    assert_eq!(
        one["status"]["bindings"][1]["last_address"],
        "198.51.100.2:5061"
    );

    assert_eq!(users(&get("icp=b").await), ["1000", "1003", "1006", "1009"]);
    assert_eq!(users(&get("enabled=false").await), ["1000", "1004", "1008"]);
    assert_eq!(users(&get("status=registered").await), ["1001", "1002"]);
    assert_eq!(users(&get("status=in-call").await), ["1002"]);
    assert_eq!(users(&get("status=natted").await), ["1001"]);
    assert_eq!(get("status=off").await["total"], 10);
    assert_eq!(
        users(&get("q=nice&icp=pbx&enabled=true").await),
        ["1001", "1005", "1007", "1011"]
    );
    assert_eq!(users(&get("q=DESK%201").await), ["1000", "1001", "1010"]);
}

#[tokio::test]
async fn sorting_orders_by_the_field_then_the_username() {
    let (api, admin) = twelve().await;
    let get = |q: &'static str| {
        let (api, admin) = (&api, &admin);
        async move { api.get(&format!("/api/v1/devices?{q}"), admin).await.body }
    };
    let desc = users(&get("sort=-setside_username&limit=3").await);
    assert_eq!(desc, ["1011", "1010", "1009"]);
    let by_status = users(&get("sort=-status&limit=3").await);
    // Descending reverses the whole key: the username too.
    assert_eq!(
        by_status,
        ["1002", "1001", "1011"],
        "in-call, registered, then off"
    );
    let by_description = users(&get("sort=description&limit=2").await);
    assert_eq!(by_description, ["1011", "1010"], "desk 0, desk 1");
    let by_icp = users(&get("sort=icp").await);
    assert_eq!(by_icp[..4], ["1000", "1003", "1006", "1009"]);
}

#[tokio::test]
async fn cursor_and_offset_pages_cover_everything_once() {
    let (api, admin) = twelve().await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/devices?sort=-location&limit=5".to_owned();
    let mut pages = 0;
    loop {
        let r = api.get(&path, &admin).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body["total"], if pages == 0 { 12 } else { 11 });
        seen.extend(users(&r.body));
        pages += 1;
        match r.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/v1/devices?sort=-location&limit=5&cursor={cursor}");
            }
            None => break,
        }
        // A device of a later page removed between two pages shifts nothing.
        if pages == 1 {
            api.delete("/api/v1/devices/1007", &admin).await;
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..12)
        .filter(|n| *n != 7)
        .map(|n| format!("10{n:02}"))
        .collect();
    // Paris (even) first when descending, each group by username descending.
    expected.sort_by_key(|u| {
        let n: u32 = u.parse().unwrap();
        (n % 2 == 1, std::cmp::Reverse(n))
    });
    assert_eq!(seen, expected);

    let r = api.get("/api/v1/devices?offset=9&limit=5", &admin).await;
    assert_eq!(users(&r.body), ["1010", "1011"]);
    assert_eq!(r.body["next_cursor"], json!(null));

    let page = api.get("/api/v1/devices?limit=2", &admin).await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let r = api
        .get(&format!("/api/v1/devices?sort=icp&cursor={cursor}"), &admin)
        .await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "cursor"), "{r:?}");
}
