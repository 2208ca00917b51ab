//! Settings changed through the REST API take effect in the running
//! gateway without a restart (issue 14 acceptance), shown by behaviour: a
//! phone's next REGISTER is granted the new expiry. A change another
//! process writes to the database is picked up too (the gateway polls it).
//! A value pinned by the environment is refused, naming the variable.
//!
//! `outpost serve` on 127.0.62.x with a fake iPBX; no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod admin_bed;

use std::time::Duration;

use admin_bed::{Bed, wait_for};
use serde_json::json;

const PINNED: &str = "OUTPOST_REGISTRATION_MAX_CALLS";

#[test]
fn a_new_phone_expiry_applies_to_the_next_register_without_a_restart() {
    let bed = Bed::start(62, &[(PINNED, "50")], &["settings:write", "audit:read"]);

    let (status, granted) = bed.register();
    assert_eq!(status, 200, "{}", bed.log_text());
    assert_eq!(granted, Some(120), "the default phone expiry");

    // Through the API: the answer comes once the running B2BUA has it.
    let (status, body) = bed.api(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"registration.phone_expiry_secs": 60})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changes"][0]["result"], "applied_live", "{body}");
    let (status, granted) = bed.register();
    assert_eq!(status, 200);
    assert_eq!(granted, Some(60), "the next REGISTER gets the new expiry");
    assert!(
        bed.log_text().contains("live settings applied"),
        "{}",
        bed.log_text()
    );

    let (status, body) = bed.api(
        "GET",
        "/api/v1/settings/registration.phone_expiry_secs",
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"], 60);
    assert_eq!(body["source"]["kind"], "database");
    assert_eq!(body["apply"], "live");

    // Pinned by the serve process's environment: refused, naming it, and
    // the running value stays.
    let (status, body) = bed.api(
        "PATCH",
        "/api/v1/settings",
        Some(&json!({"registration.max_calls": 60})),
    );
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("pinned by the environment variable {PINNED}")),
        "{message}"
    );
    let (_, body) = bed.api("GET", "/api/v1/settings/registration.max_calls", None);
    assert_eq!(body["value"], 50);
    assert_eq!(
        body["pinned_by"],
        format!("the environment variable {PINNED}")
    );

    // A value another process stores (no API call into this process) is
    // picked up by the gateway's poll of the database.
    admin_bed::store(&bed.data_dir())
        .set_setting("config.registration.phone_expiry_secs", "45")
        .unwrap();
    wait_for("the polled phone expiry", Duration::from_secs(15), || {
        let (status, granted) = bed.register();
        assert_eq!(status, 200);
        (granted == Some(45)).then_some(())
    });

    // Audited: who changed what, from what to what.
    let (status, body) = bed.api("GET", "/api/v1/audit?action=setting.change", None);
    assert_eq!(status, 200, "{body}");
    let entry = &body["entries"][0];
    assert_eq!(entry["target"], "registration.phone_expiry_secs");
    assert_eq!(entry["before"]["value"], 120);
    assert_eq!(entry["after"]["value"], 60);
    assert!(entry["actor"].as_str().unwrap().starts_with("token:"));
}
