//! `/api/v1/guard`: status, settings (checked with the guard's own
//! ranges), the allow-list and the deny-lists, each change audited.

// Helper fns are test code too (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used)]

mod common;
mod resources;

use common::{Api, T0};
use outpost_store::DenyList;
use resources::{audited, denied, patch, state, store};
use serde_json::json;

#[tokio::test]
async fn status_and_settings() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api.get("/api/v1/guard", &admin).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["level"], "auto-protection");
    assert_eq!(r.body["allow_list_max"], 100);
    let rows = r.body["settings"].as_array().unwrap();
    assert_eq!(rows.len(), outpost_guard::KEYS.len());
    assert!(rows.iter().all(|row| row["source"] == "default"));

    let r = patch(
        &api,
        "/api/v1/guard/settings",
        &admin,
        json!({"dos_threshold": 200, "level": "allow-list-only", "deny_period": "30min"}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["dos_threshold"], 200);
    assert_eq!(r.body["deny_period"], "30min");
    let stored = store(&api).guard_settings().unwrap();
    assert!(
        stored.contains(&("dos_threshold".into(), "200".into())),
        "{stored:?}"
    );
    let r = api.get("/api/v1/guard/settings", &admin).await;
    assert_eq!(
        (r.body["level"].as_str(), r.body["dos_window"].as_u64()),
        (Some("allow-list-only"), Some(10))
    );
    let status = api.get("/api/v1/guard", &admin).await;
    let level = status.body["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == "level")
        .unwrap()
        .clone();
    assert_eq!(
        level,
        json!({"key": "level", "value": "allow-list-only", "source": "set"})
    );
    let entry = &audited(&api, "guard.settings.update")[0];
    assert_eq!(entry["before"]["dos_threshold"], 500);
    assert_eq!(entry["after"]["dos_threshold"], 200);

    // Out of range, unknown names, wrong types: refused, nothing written.
    let before = state(&api);
    for (body, status, field, says) in [
        (
            json!({"dos_threshold": 9}),
            422,
            "dos_threshold",
            "10..=5000",
        ),
        (
            json!({"dos_window": 60, "dos_threshold": 100}),
            422,
            "dos_window",
            "2..=10",
        ),
        (
            json!({"level": "paranoid"}),
            422,
            "level",
            "allow-list-only",
        ),
        (json!({"deny_period": "2h"}), 422, "deny_period", "1h"),
        (
            json!({"dos_threshold": -1}),
            422,
            "dos_threshold",
            "invalid value",
        ),
        (json!({"colour": "blue"}), 400, "colour", "unknown field"),
        (json!({}), 400, "", "nothing to change"),
    ] {
        let r = patch(&api, "/api/v1/guard/settings", &admin, body.clone()).await;
        assert_eq!(
            (r.status.as_u16(), r.field()),
            (status, field),
            "{body}: {r:?}"
        );
        assert!(r.message().contains(says), "{body}: {r:?}");
    }
    assert_eq!(state(&api), before);
}

#[tokio::test]
async fn allow_list_add_list_remove() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    let r = api
        .post(
            "/api/v1/guard/allow",
            &admin,
            json!({"address": "2001:db8:1:2::5", "note": "home"}),
        )
        .await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        r.body,
        json!({"address": "2001:db8:1:2::/64", "note": "home", "added": T0})
    );
    let r = api
        .post(
            "/api/v1/guard/allow",
            &admin,
            json!({"address": "192.0.2.0/24"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .post(
            "/api/v1/guard/allow",
            &admin,
            json!({"address": "192.0.2.1/24"}),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "address"));
    assert!(r.message().contains("did you mean 192.0.2.0/24"), "{r:?}");
    let r = api
        .post(
            "/api/v1/guard/allow",
            &admin,
            json!({"address": "192.0.2.0/24"}),
        )
        .await;
    assert!(r.message().contains("already on the allow-list"), "{r:?}");
    let list = api.get("/api/v1/guard/allow", &admin).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);

    let r = api
        .delete("/api/v1/guard/allow/192.0.2.0%2F24", &admin)
        .await;
    assert_eq!(
        (r.status.as_u16(), &r.body["address"]),
        (200, &json!("192.0.2.0/24"))
    );
    let r = api
        .delete("/api/v1/guard/allow/192.0.2.0%2F24", &admin)
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = api
        .delete("/api/v1/guard/allow/not-an-address", &admin)
        .await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "address"));
    assert_eq!(audited(&api, "guard.allow.add").len(), 2);
    let removed = &audited(&api, "guard.allow.remove")[0];
    assert_eq!(removed["target"], "192.0.2.0/24");
    assert_eq!(removed["before"]["note"], "");
}

#[tokio::test]
async fn deny_lists_page_remove_and_clear() {
    let api = Api::set_up().await;
    let admin = api.admin().await;
    for n in 1..=8 {
        denied(
            &api,
            &format!("203.0.113.{n}"),
            DenyList::Dos,
            T0 - 100 + n,
            Some(T0 + 3600),
        );
    }
    denied(
        &api,
        "198.51.100.9",
        DenyList::BruteForce,
        T0 - 10,
        Some(T0 - 1),
    );

    let r = api.get("/api/v1/guard/deny?limit=5", &admin).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["total"], 9);
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 5);
    assert_eq!(r.body["next_offset"], 5);
    let r = api.get("/api/v1/guard/deny?offset=5&limit=5", &admin).await;
    assert_eq!(r.body["entries"].as_array().unwrap().len(), 4);
    assert_eq!(r.body["next_offset"], json!(null));
    let brute = api.get("/api/v1/guard/deny?list=bruteforce", &admin).await;
    assert_eq!(brute.body["total"], 1);
    assert_eq!(brute.body["entries"][0]["expired"], true);
    let status = api.get("/api/v1/guard", &admin).await;
    assert_eq!(
        status.body["deny_list"],
        json!({"dos": 8, "bruteforce": 1, "expired": 1})
    );

    let r = api.delete("/api/v1/guard/deny/203.0.113.1", &admin).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["count"]),
        (200, &json!(1)),
        "{r:?}"
    );
    let r = api.delete("/api/v1/guard/deny/192.0.2.1", &admin).await;
    assert_eq!(r.status, 404, "{r:?}");
    let r = api
        .delete(
            "/api/v1/guard/deny/203.0.113.6?following=true&list=dos",
            &admin,
        )
        .await;
    assert_eq!(r.body["count"], 3, "{r:?}: .6, .7 and .8");
    let r = api
        .delete("/api/v1/guard/deny/203.0.113.0%2F24", &admin)
        .await;
    assert_eq!(r.body["count"], 4, "{r:?}: .2 to .5");
    let r = api.delete("/api/v1/guard/deny?list=dos", &admin).await;
    assert_eq!(r.body, json!({"removed": 0}));
    let r = api
        .delete("/api/v1/guard/deny?list=everything", &admin)
        .await;
    assert_eq!((r.status.as_u16(), r.field()), (422, "list"));
    let r = api.delete("/api/v1/guard/deny", &admin).await;
    assert_eq!(r.body, json!({"removed": 1}));
    assert_eq!(api.get("/api/v1/guard/deny", &admin).await.body["total"], 0);

    let removals = audited(&api, "guard.deny.remove");
    assert_eq!(
        removals.len(),
        3,
        "none for the removal that matched nothing"
    );
    assert_eq!(removals[1]["target"], "203.0.113.6 and following");
    assert_eq!(removals[1]["before"]["count"], 3);
    let clears = audited(&api, "guard.deny.clear");
    assert_eq!(clears.len(), 2);
    assert_eq!(
        (clears[0]["target"].as_str(), &clears[0]["before"]["count"]),
        (Some("all"), &json!(1))
    );
}
