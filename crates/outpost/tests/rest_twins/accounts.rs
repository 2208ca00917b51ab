//! Setup, sessions and administrator accounts (`admin create`, `list`,
//! `passwd`) over the API.

use serde_json::json;

use super::{ADMIN, ADMIN_PW, READER, READER_PW, Run, SETUP_TOKEN, text};
use crate::admin_bed::{Body, Cred, Session};

/// Setup, login, administrator accounts (`admin create`, `list`,
/// `passwd`); returns the first administrator's session.
pub(crate) fn accounts(run: &mut Run<'_>) -> Session {
    let status = run.call("GET", "/api/v1/setup", &Cred::None, &Body::Empty, 200);
    assert_eq!(status["setup_required"], true);
    let setup = json!({"setup_token": SETUP_TOKEN, "name": ADMIN, "password": ADMIN_PW});
    run.call(
        "POST",
        "/api/v1/setup",
        &Cred::None,
        &Body::Json(&setup),
        201,
    );
    run.audited("admin.setup", ADMIN);
    run.call(
        "POST",
        "/api/v1/setup",
        &Cred::None,
        &Body::Json(&setup),
        409,
    );

    let admin = run.bed.login(ADMIN, ADMIN_PW);
    run.audited("session.login", ADMIN);
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(admin.set_cookie.contains(attribute), "{}", admin.set_cookie);
    }
    let session = Cred::Session(&admin);
    // A change with the cookie but without its CSRF token is refused.
    let mut no_csrf = admin.clone();
    no_csrf.csrf = "wrong".to_owned();
    let reader = json!({"name": READER, "password": READER_PW[0], "role": "read-only"});
    run.call(
        "POST",
        "/api/v1/admins",
        &Cred::Session(&no_csrf),
        &Body::Json(&reader),
        403,
    );
    run.call(
        "POST",
        "/api/v1/admins",
        &session,
        &Body::Json(&reader),
        201,
    );
    run.audited("admin.create", READER);
    let list = run.call("GET", "/api/v1/admins", &session, &Body::Empty, 200);
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| text(&a["name"]))
        .collect();
    names.sort();
    assert_eq!(names, [READER, ADMIN], "{list}");

    // `admin passwd` from the shell is a reset; over the API an
    // administrator resets another account's, and an account changes its
    // own with the current one.
    let reset = json!({"new_password": READER_PW[1]});
    run.call(
        "POST",
        "/api/v1/admins/reader/password",
        &session,
        &Body::Json(&reset),
        200,
    );
    run.audited("admin.password.reset", READER);
    let failed = json!({"name": READER, "password": READER_PW[0]});
    run.call(
        "POST",
        "/api/v1/session",
        &Cred::None,
        &Body::Json(&failed),
        401,
    );
    let reader = run.bed.login(READER, READER_PW[1]);
    run.audited("session.login", READER);
    let own = json!({"old_password": READER_PW[1], "new_password": READER_PW[2]});
    run.call(
        "POST",
        "/api/v1/admins/reader/password",
        &Cred::Session(&reader),
        &Body::Json(&own),
        200,
    );
    run.audited("admin.password.change", READER);
    // Read-only: reads, and gets 403 on a change.
    run.call(
        "GET",
        "/api/v1/icps",
        &Cred::Session(&reader),
        &Body::Empty,
        200,
    );
    let patch = json!({"kind": "x"});
    run.call(
        "PATCH",
        "/api/v1/icps/ipbx",
        &Cred::Session(&reader),
        &Body::Json(&patch),
        403,
    );
    run.call(
        "DELETE",
        "/api/v1/session",
        &Cred::Session(&reader),
        &Body::Empty,
        204,
    );
    run.audited("session.logout", READER);
    admin
}
