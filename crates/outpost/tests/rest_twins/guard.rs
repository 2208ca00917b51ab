//! The guard (`guard status`, `set`, `allow ...`, `deny ...`) over the
//! API.

use serde_json::json;

use super::Run;
use crate::admin_bed::{self, Body, Cred, Session};

/// The guard: status, settings, allow-list, deny-lists.
pub(crate) fn guard(run: &mut Run<'_>, admin: &Session) {
    let session = Cred::Session(admin);
    let status = run.call("GET", "/api/v1/guard", &session, &Body::Empty, 200);
    assert!(status.is_object(), "{status}");
    let entry = json!({"address": "198.51.100.0/24", "note": "office"});
    run.call(
        "POST",
        "/api/v1/guard/allow",
        &session,
        &Body::Json(&entry),
        201,
    );
    run.audited("guard.allow.add", "198.51.100.0/24");
    let list = run.call("GET", "/api/v1/guard/allow", &session, &Body::Empty, 200);
    assert_eq!(list[0]["note"], "office", "{list}");
    run.call(
        "DELETE",
        "/api/v1/guard/allow/198.51.100.0%2F24",
        &session,
        &Body::Empty,
        200,
    );
    run.audited("guard.allow.remove", "198.51.100.0/24");

    // Deny entries as the guard writes them when it blocks a source (the
    // guard's own tests flood it; here they are only to be managed).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut store = admin_bed::store(&run.bed.data_dir());
    for (address, list) in [
        ("203.0.113.7", outpost_store::DenyList::Dos),
        ("203.0.113.8", outpost_store::DenyList::Dos),
        ("203.0.113.9", outpost_store::DenyList::BruteForce),
    ] {
        store
            .put_guard_deny(&outpost_store::DenyEntry {
                address: address.to_owned(),
                list,
                reason: "flood".to_owned(),
                detail: "600 requests in 10 s".to_owned(),
                added_unix: now,
                expires_unix: Some(now + 3600),
            })
            .unwrap();
    }
    let denied = run.call("GET", "/api/v1/guard/deny", &session, &Body::Empty, 200);
    assert_eq!(denied["total"], 3, "{denied}");
    let brute = run.call(
        "GET",
        "/api/v1/guard/deny?list=bruteforce",
        &session,
        &Body::Empty,
        200,
    );
    assert_eq!(brute["total"], 1, "{brute}");
    run.call(
        "DELETE",
        "/api/v1/guard/deny/203.0.113.7",
        &session,
        &Body::Empty,
        200,
    );
    run.audited("guard.deny.remove", "203.0.113.7");
    run.call(
        "DELETE",
        "/api/v1/guard/deny?list=dos",
        &session,
        &Body::Empty,
        200,
    );
    run.audited("guard.deny.clear", "dos");
    let denied = run.call("GET", "/api/v1/guard/deny", &session, &Body::Empty, 200);
    assert_eq!(
        denied["total"], 1,
        "only the brute-force entry is left: {denied}"
    );

    run.call("GET", "/api/v1/guard/settings", &session, &Body::Empty, 200);
    let change = json!({"dos_threshold": 250});
    run.call(
        "PATCH",
        "/api/v1/guard/settings",
        &session,
        &Body::Json(&change),
        200,
    );
    run.audited("guard.settings.update", "guard");
    let settings = run.call("GET", "/api/v1/guard/settings", &session, &Body::Empty, 200);
    assert!(settings.to_string().contains("250"), "{settings}");
}
