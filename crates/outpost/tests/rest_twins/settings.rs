//! Settings over the API (`settings list`, one setting, a change and its
//! reset with `null`) and their CLI twins (`settings set`, `settings
//! reset`) against the running gateway: each shown by behaviour, the
//! expiry the phone's next REGISTER is granted.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Run, text};
use crate::admin_bed::{Body, Cred, Session, wait_for};

const EXPIRY: &str = "registration.phone_expiry_secs";

/// The list (`settings list`), one setting, a change and a reset over the
/// API and with the CLI.
pub(crate) fn settings(run: &mut Run<'_>, admin: &Session) {
    let session = Cred::Session(admin);
    let list = run.call("GET", "/api/v1/settings", &session, &Body::Empty, 200);
    let cli = run.bed.cli(&["settings", "list", "--json"], &[]);
    let cli_keys: Vec<String> = cli
        .lines()
        .map(|l| text(&serde_json::from_str::<Value>(l).unwrap()["key"]))
        .collect();
    let api_keys: Vec<String> = list["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| text(&s["key"]))
        .collect();
    assert_eq!(
        api_keys, cli_keys,
        "the same settings as outpost settings list"
    );
    let one = run.call(
        "GET",
        "/api/v1/settings/guard.dos_threshold",
        &session,
        &Body::Empty,
        200,
    );
    assert_eq!(
        (&one["value"], &one["source"]["kind"]),
        (&json!(250), &json!("database")),
        "{one}"
    );

    assert_eq!(run.bed.register(), (200, Some(120)), "the default expiry");
    let change = json!({EXPIRY: 60});
    let r = run.call(
        "PATCH",
        "/api/v1/settings",
        &session,
        &Body::Json(&change),
        200,
    );
    assert_eq!(r["changes"][0]["result"], "applied_live", "{r}");
    run.audited("setting.change", EXPIRY);
    assert_eq!(run.bed.register(), (200, Some(60)));
    // `null` resets it: the default again, live.
    let reset = json!({EXPIRY: null});
    let r = run.call(
        "PATCH",
        "/api/v1/settings",
        &session,
        &Body::Json(&reset),
        200,
    );
    let view = &r["changes"][0];
    assert_eq!(
        (&view["reset"], &view["after"], &view["result"]),
        (&json!(true), &json!(120), &json!("applied_live")),
        "{r}"
    );
    run.audited("setting.reset", EXPIRY);
    assert_eq!(run.bed.register(), (200, Some(120)));
    let shown = run.call(
        "GET",
        &format!("/api/v1/settings/{EXPIRY}"),
        &session,
        &Body::Empty,
        200,
    );
    assert_eq!(shown["source"]["kind"], "default", "{shown}");

    // The CLI twins, from another process: the running gateway reads the
    // database every 2 s.
    run.bed.cli(&["settings", "set", EXPIRY, "45"], &[]);
    run.audited("setting.change", EXPIRY);
    registers_with(run, 45);
    run.bed.cli(&["settings", "reset", EXPIRY], &[]);
    run.audited("setting.reset", EXPIRY);
    registers_with(run, 120);
}

/// Waits until a REGISTER is granted `expiry`.
fn registers_with(run: &Run<'_>, expiry: u32) {
    wait_for(
        &format!("a REGISTER granted {expiry} s"),
        Duration::from_secs(15),
        || {
            let (status, granted) = run.bed.register();
            assert_eq!(status, 200);
            (granted == Some(expiry)).then_some(())
        },
    );
}
