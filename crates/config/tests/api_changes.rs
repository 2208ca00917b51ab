//! What the REST API's settings routes rely on: several changes validated
//! together, the running gateway's view after a change (the same file and
//! environment over the new database values), which settings apply live,
//! and the admin listener's `tls` setting.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use outpost_config::{Apply, Config, DatabaseLayer, Registry, SettingError, Settings, ValueSource};
use serde_json::json;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn load(path: Option<&Path>, env: &[(&str, &str)], database: DatabaseLayer) -> Settings {
    match Settings::load(path, &env_of(env), database) {
        Ok(settings) => settings,
        Err(e) => panic!("expected valid settings, got {e}"),
    }
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("outpost.toml");
    std::fs::write(&path, text).expect("the test file written");
    (dir, path)
}

#[test]
fn changes_are_validated_together() {
    let settings = load(None, &[], DatabaseLayer::new());
    // Alone, a phone expiry above the iPBX's (3600 s) is refused...
    let alone = settings
        .set_from_api("registration.phone_expiry_secs", &json!(5000))
        .unwrap_err();
    assert!(matches!(alone, SettingError::Invalid(_)), "{alone}");
    assert_eq!(alone.key(), Some("registration.icp_expiry_secs"));
    // ...with the iPBX's raised in the same request it is fine.
    let changes = settings
        .set_many_from_api(&[
            ("registration.phone_expiry_secs", json!(5000)),
            ("registration.icp_expiry_secs", json!(7200)),
            ("guard.dos_threshold", json!(300)),
        ])
        .unwrap();
    let summary: Vec<(&str, serde_json::Value, Apply)> = changes
        .iter()
        .map(|c| (c.key, c.after.clone(), c.apply))
        .collect();
    assert_eq!(
        summary,
        [
            ("registration.phone_expiry_secs", json!(5000), Apply::Live),
            ("registration.icp_expiry_secs", json!(7200), Apply::Live),
            ("guard.dos_threshold", json!(300), Apply::Live),
        ]
    );
}

#[test]
fn every_problem_of_a_request_is_reported() {
    let (_dir, path) = file("[sip]\nt1_ms = 800\n");
    let settings = load(
        Some(&path),
        &[("OUTPOST_REGISTRATION_MAX_CALLS", "50")],
        DatabaseLayer::new(),
    );
    let errors = settings
        .set_many_from_api(&[
            ("sip.t1_ms", json!(700)),
            ("registration.max_calls", json!(60)),
            ("registration.phone_expiry", json!(60)),
            ("media.timeout_secs", json!(-1)),
        ])
        .unwrap_err();
    let keys: Vec<Option<&str>> = errors.iter().map(SettingError::key).collect();
    assert_eq!(
        keys,
        [
            Some("sip.t1_ms"),
            Some("registration.max_calls"),
            Some("registration.phone_expiry"),
            Some("media.timeout_secs"),
        ],
        "{errors:?}"
    );
    assert!(
        errors[1]
            .to_string()
            .contains("the environment variable OUTPOST_REGISTRATION_MAX_CALLS"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].to_string().contains("did you mean"),
        "{}",
        errors[2]
    );

    let twice = settings
        .set_many_from_api(&[
            ("media.timeout_secs", json!(30)),
            ("media.timeout_secs", json!(40)),
        ])
        .unwrap_err();
    assert!(
        matches!(
            twice[..],
            [SettingError::Duplicate {
                key: "media.timeout_secs"
            }]
        ),
        "{twice:?}"
    );
    let none = settings.set_many_from_api(&[]).unwrap_err();
    assert!(matches!(none[..], [SettingError::NothingToChange]));
}

#[test]
fn reload_keeps_file_and_environment_over_new_database_values() {
    let (_dir, path) = file("[registration]\nicp_expiry_secs = 1800\n");
    let base = load(
        Some(&path),
        &[("OUTPOST_REGISTRATION_MAX_CALLS", "50")],
        DatabaseLayer::new(),
    );
    // The file changes after the start: the running gateway keeps what it
    // loaded (the file applies at the next start).
    std::fs::write(&path, "[registration]\nicp_expiry_secs = 900\n").unwrap();
    let database = DatabaseLayer::new()
        .with_stored("registration.phone_expiry_secs", "45")
        .with_stored("registration.max_calls", "70")
        .with_stored("registration.icp_expiry_secs", "600");
    let now = base.reload(database).unwrap();
    let r = &now.config().registration;
    assert_eq!(r.phone_expiry_secs, 45, "the new stored value");
    assert_eq!(r.max_calls, 50, "the environment still wins");
    assert_eq!(r.icp_expiry_secs, 1800, "the file as loaded still wins");
    assert_eq!(
        now.source("registration.max_calls"),
        Some(&ValueSource::Environment {
            var: "OUTPOST_REGISTRATION_MAX_CALLS".to_owned()
        })
    );
    assert_eq!(
        now.source("registration.phone_expiry_secs"),
        Some(&ValueSource::Database)
    );
    // An empty layer is the base again.
    let back = base.reload(DatabaseLayer::new()).unwrap();
    assert_eq!(back.config(), base.config());
}

#[test]
fn live_settings_are_the_web_services_switch_and_the_registration_and_media_policies() {
    let live: Vec<&str> = Registry::settings()
        .filter(|s| s.apply == Apply::Live && !s.key.starts_with("guard."))
        .map(|s| s.key)
        .collect();
    assert_eq!(
        live,
        [
            "web.services",
            "registration.phone_expiry_secs",
            "registration.icp_expiry_secs",
            "registration.heartbeat_secs",
            "registration.max_calls",
            "registration.max_registrations",
            "registration.max_bindings_per_device",
            "registration.trust_registered_connection",
            "media.timeout_secs",
            "media.dscp_audio",
            "media.dscp_video",
            "media.strict_source",
            "media.set_side_inbound",
            "media.set_side_outbound",
            "media.icp_side_inbound",
            "media.icp_side_outbound",
            "media.srtp_suites",
        ]
    );
    for key in [
        "sip.t1_ms",
        "registration.digest_algorithms",
        "admin.tls",
        "web.port",
    ] {
        assert_eq!(Registry::get(key).unwrap().apply, Apply::Restart, "{key}");
    }
}

#[test]
fn the_admin_listener_speaks_https_unless_told_otherwise_on_loopback() {
    let none = |_: &str| None;
    let config = Config::from_toml_str("", &none).unwrap();
    assert!(config.admin.tls, "HTTPS by default");
    let config = Config::from_toml_str("[admin]\ntls = false\n", &none).unwrap();
    assert!(!config.admin.tls);
    let config =
        Config::from_toml_str("[admin]\nlisten = \"[::1]:9464\"\ntls = false\n", &none).unwrap();
    assert!(!config.admin.tls);

    let refused = Config::from_toml_str("[admin]\nlisten = \"0.0.0.0:9464\"\ntls = false\n", &none)
        .unwrap_err();
    assert_eq!(refused.len(), 1, "{refused}");
    let e = &refused.0[0];
    assert_eq!(e.field, "admin.tls");
    for needle in [
        "only on a loopback admin.listen",
        "\"0.0.0.0:9464\"",
        "set tls = true",
    ] {
        assert!(e.message.contains(needle), "{needle:?} missing: {e}");
    }

    // The environment turns it off too, and the API cannot move a plain
    // HTTP listener off loopback.
    let settings = load(
        None,
        &[("OUTPOST_ADMIN_TLS", "false")],
        DatabaseLayer::new(),
    );
    assert!(!settings.config().admin.tls);
    let e = settings
        .set_from_api("admin.listen", &json!("192.0.2.1:9464"))
        .unwrap_err();
    assert_eq!(e.key(), Some("admin.tls"), "{e}");
    let change = load(None, &[], DatabaseLayer::new())
        .set_from_api("admin.tls", &json!(false))
        .unwrap();
    assert!(change.restart_needed());
}
