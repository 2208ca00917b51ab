//! Layered settings as the API and `outpost settings list` meet them:
//! default < database < file < environment, each value with its source,
//! pinned values refused by name, changes validated with the same rules
//! as the file, and the database round trip through outpost-store.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use outpost_config::{
    Apply, DatabaseLayer, ErrorKind, SettingError, Settings, Source, Stored, ValueSource,
};
use outpost_store::Store;
use serde_json::json;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

/// A file in a temporary directory (kept alive by the returned guard).
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("outpost.toml");
    std::fs::write(&path, text).expect("the test file written");
    (dir, path)
}

fn load(path: Option<&Path>, env: &[(&str, &str)], database: DatabaseLayer) -> Settings {
    match Settings::load(path, &env_of(env), database) {
        Ok(settings) => settings,
        Err(e) => panic!("expected valid settings, got {e}"),
    }
}

const FILE: &str = "\
fqdn = \"sbc.example.com\"

[sip]
# the round trip
t1_ms = 800

[registration]
icp_expiry_secs = 1800
";

#[test]
fn each_value_says_where_it_comes_from() {
    let (_dir, path) = file(FILE);
    let database = DatabaseLayer::new()
        .with_stored("registration.phone_expiry_secs", "90")
        .with_stored("sip.t1_ms", "600")
        .with_guard("dos_threshold", "200");
    let settings = load(Some(&path), &[("OUTPOST_WEB_PORT", "4446")], database);
    let config = settings.config();
    assert_eq!(config.sip.t1_ms, 800, "the file wins over the database");
    assert_eq!(config.registration.phone_expiry_secs, 90);
    assert_eq!(config.web.port, 4446);
    assert_eq!(settings.guard().dos_threshold, 200);

    let source = |key| settings.source(key).cloned().unwrap();
    assert_eq!(
        source("sip.t1_ms"),
        ValueSource::File {
            path: path.clone(),
            line: Some(5)
        }
    );
    assert_eq!(
        source("fqdn"),
        ValueSource::File {
            path: path.clone(),
            line: Some(1)
        }
    );
    assert_eq!(
        source("registration.phone_expiry_secs"),
        ValueSource::Database
    );
    assert_eq!(
        source("web.port"),
        ValueSource::Environment {
            var: "OUTPOST_WEB_PORT".to_owned()
        }
    );
    assert_eq!(source("guard.dos_threshold"), ValueSource::Database);
    assert_eq!(source("guard.dos_window"), ValueSource::Default);
    assert_eq!(source("mode"), ValueSource::Default);

    let effective = settings.effective();
    assert_eq!(effective.len(), 72);
    let entry = |key: &str| effective.iter().find(|e| e.key == key).unwrap();
    assert_eq!(entry("sip.t1_ms").value, json!(800));
    assert_eq!(entry("sip.t1_ms").default, json!(500));
    assert!(!entry("sip.t1_ms").editable);
    assert!(entry("registration.phone_expiry_secs").editable);
    assert!(!entry("data_dir").editable);
    assert_eq!(entry("guard.dos_threshold").apply, Apply::Live);
    assert_eq!(entry("ipbx.address").value, json!(""));
    assert_eq!(
        serde_json::to_value(entry("web.port")).unwrap(),
        json!({
            "key": "web.port",
            "value": 4446,
            "source": {"kind": "environment", "var": "OUTPOST_WEB_PORT"},
            "default": 4445,
            "apply": "restart",
            "secret": false,
            "editable": false,
        })
    );
    assert_eq!(
        serde_json::to_value(&entry("sip.t1_ms").source).unwrap(),
        json!({"kind": "file", "path": path, "line": 5})
    );
}

#[test]
fn a_value_pinned_by_the_file_is_refused_naming_file_and_line() {
    let (_dir, path) = file(FILE);
    let settings = load(Some(&path), &[], DatabaseLayer::new());
    let e = settings.set_from_api("sip.t1_ms", &json!(700)).unwrap_err();
    assert!(
        matches!(
            e,
            SettingError::Pinned {
                key: "sip.t1_ms",
                ..
            }
        ),
        "{e}"
    );
    let message = e.to_string();
    for needle in [
        "sip.t1_ms is pinned by the configuration file".to_owned(),
        path.display().to_string(),
        "(line 5)".to_owned(),
        "remove the line from the file".to_owned(),
        "restart Outpost".to_owned(),
    ] {
        assert!(message.contains(&needle), "{needle:?} missing: {message}");
    }
}

#[test]
fn a_value_pinned_by_the_environment_is_refused_naming_the_variable() {
    let settings = load(
        None,
        &[("OUTPOST_REGISTRATION_PHONE_EXPIRY_SECS", "60")],
        DatabaseLayer::new(),
    );
    let e = settings
        .set_from_api("registration.phone_expiry_secs", &json!(90))
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with(
            "registration.phone_expiry_secs is pinned by the environment variable \
             OUTPOST_REGISTRATION_PHONE_EXPIRY_SECS: "
        ),
        "{message}"
    );
    assert!(message.contains("unset the variable"), "{message}");
}

#[test]
fn a_valid_change_says_live_or_restart_and_where_it_goes() {
    let settings = load(None, &[], DatabaseLayer::new());
    let change = settings
        .set_from_api("registration.phone_expiry_secs", &json!(90))
        .unwrap();
    assert_eq!(change.key, "registration.phone_expiry_secs");
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (json!(120), json!(90))
    );
    assert!(change.changed);
    assert_eq!(change.apply, Apply::Live, "the B2BUA takes it live");
    assert!(!change.restart_needed());
    assert_eq!(
        change.stored,
        Stored::Settings {
            key: "config.registration.phone_expiry_secs".to_owned(),
            value: "90".to_owned()
        }
    );
    let change = settings.set_from_api("sip.t1_ms", &json!(600)).unwrap();
    assert!(change.restart_needed(), "the transaction layer's timers");

    let change = settings
        .set_from_api("guard.dos_threshold", &json!(200))
        .unwrap();
    assert_eq!(change.apply, Apply::Live);
    assert!(!change.restart_needed());
    assert_eq!(
        change.stored,
        Stored::Guard {
            key: "dos_threshold",
            value: "200".to_owned()
        }
    );
    assert_eq!(
        serde_json::to_value(&change).unwrap(),
        json!({"key": "guard.dos_threshold", "before": 500, "after": 200, "changed": true,
               "apply": "live", "secret": false})
    );

    // Spellings are normalised; the same value is no change.
    let change = settings
        .set_from_api("ipbx.transport", &json!("TLS"))
        .unwrap();
    assert_eq!(change.after, json!("tls"));
    assert!(!change.changed);
    let change = settings
        .set_from_api("guard.level", &json!("allow-list-only"))
        .unwrap();
    assert_eq!(
        change.stored,
        Stored::Guard {
            key: "level",
            value: "allow-list-only".to_owned()
        }
    );
}

/// The one error of an invalid change.
fn invalid(settings: &Settings, key: &str, value: serde_json::Value) -> outpost_config::FieldError {
    match settings.set_from_api(key, &value) {
        Err(SettingError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors}");
            errors.0[0].clone()
        }
        other => panic!("{key} = {value}: expected one validation error, got {other:?}"),
    }
}

#[test]
fn invalid_changes_name_key_value_allowed_values_and_fix() {
    let settings = load(None, &[], DatabaseLayer::new());
    let e = invalid(&settings, "guard.dos_threshold", json!(5));
    assert_eq!(
        e.to_string(),
        "guard.dos_threshold = 5: out of bounds: 5 is out of bounds, allowed 10..5000"
    );
    assert_eq!(e.source, Source::Api);
    let e = invalid(&settings, "sip.t1_ms", json!(20_000));
    assert_eq!(
        e.to_string(),
        "sip.t1_ms = 20000: out of bounds: 20000 is out of bounds, allowed 50..10000"
    );
    let e = invalid(&settings, "public.sip_tls_port", json!("5070"));
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert!(e.message.contains("without quotes"), "{e}");
    let e = invalid(&settings, "guard.level", json!("paranoid"));
    assert_eq!(
        e.to_string(),
        "guard.level = \"paranoid\": not allowed: expected one of: none, auto-protection, allow-list-only"
    );
    let e = invalid(&settings, "public.protocols", json!("udp/tcp"));
    assert!(e.message.contains("must keep TLS"), "{e}");
    let e = invalid(&settings, "media.timeout_secs", json!({"secs": 5}));
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert!(e.message.contains("got an object"), "{e}");
    let e = invalid(
        &settings,
        "media.srtp_suites",
        json!(["AES_CM_128_HMAC_SHA1_80"]),
    );
    assert!(e.message.contains("comma-separated"), "{e}");
    let e = invalid(&settings, "media.dscp_audio", json!(4.5));
    assert_eq!(e.kind, ErrorKind::WrongType);

    // Across fields: T2 below the new T1 is blamed where it is.
    let e = invalid(&settings, "sip.t1_ms", json!(5000));
    assert_eq!(e.field, "sip.t2_ms");
    assert!(
        e.message.contains("must not be shorter than T1 (5000 ms)"),
        "{e}"
    );
    // A port the admin listener already uses.
    let e = invalid(&settings, "web.port", json!(9464));
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert_eq!(e.field, "admin.listen");
}

#[test]
fn unknown_and_file_only_keys_are_refused() {
    let settings = load(None, &[], DatabaseLayer::new());
    let e = settings.set_from_api("sip.t1ms", &json!(1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown setting \"sip.t1ms\" (did you mean \"sip.t1_ms\"?); `outpost settings list` (or \
         GET /api/v1/settings) lists every setting"
    );
    let e = settings
        .set_from_api("data_dir", &json!("/srv"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            SettingError::NotChangeable {
                key: "data_dir",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("--data-dir"), "{e}");
}

#[test]
fn a_change_persists_and_comes_back_from_the_database() {
    let mut store = Store::open_in_memory().unwrap();
    let settings = load(None, &[], DatabaseLayer::read(&store).unwrap());
    for (key, value) in [
        ("registration.phone_expiry_secs", json!(90)),
        ("media.strict_source", json!(true)),
        ("ipbx.address", json!("ipbx.lan")),
        ("public.rtp_ports", json!("30000-30999")),
        ("guard.dos_threshold", json!(250)),
        ("guard.deny_period", json!("1d")),
    ] {
        settings
            .set_from_api(key, &value)
            .unwrap()
            .persist(&mut store)
            .unwrap();
    }
    assert_eq!(
        store.setting("config.ipbx.address").unwrap().as_deref(),
        Some("\"ipbx.lan\"")
    );
    let settings = load(None, &[], DatabaseLayer::read(&store).unwrap());
    let c = settings.config();
    assert_eq!(c.registration.phone_expiry_secs, 90);
    assert!(c.media.strict_source);
    assert_eq!(c.ipbx.address.as_ref().unwrap().to_string(), "ipbx.lan");
    assert_eq!(c.public.rtp_ports.to_string(), "30000-30999");
    assert_eq!(settings.guard().dos_threshold, 250);
    assert_eq!(settings.guard().deny_period.as_str(), "1d");
    assert_eq!(
        settings.source("media.strict_source"),
        Some(&ValueSource::Database)
    );
    assert!(settings.ignored().is_empty(), "{:?}", settings.ignored());
    // The guard's own command sees the same row.
    assert!(
        store
            .guard_settings()
            .unwrap()
            .contains(&("dos_threshold".to_owned(), "250".to_owned()))
    );
}

#[test]
fn invalid_stored_values_are_left_out_and_reported() {
    let (_dir, path) = file("[web]\nport = 5070\n");
    let database = DatabaseLayer::new()
        .with_stored("sip.t1_ms", "5")
        .with_stored("media.timeout_secs", "not json")
        .with_stored("public.sip_tls_port", "5070")
        .with_stored("no.such_key", "1")
        .with_guard("dos_threshold", "1")
        .with_guard("mystery", "2")
        .with_guard("ddos_window", "5");
    let settings = load(Some(&path), &[], database);
    let c = settings.config();
    assert_eq!(c.sip.t1_ms, 500);
    assert_eq!(
        c.public.sip_tls_port, 5063,
        "conflicts with the file's web.port"
    );
    assert_eq!(settings.guard().dos_threshold, 500);
    assert_eq!(settings.guard().ddos_window.as_secs(), 5, "valid ones stay");
    let ignored: Vec<&str> = settings
        .ignored()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    for key in [
        "sip.t1_ms",
        "media.timeout_secs",
        "public.sip_tls_port",
        "no.such_key",
        "guard.dos_threshold",
        "guard.mystery",
    ] {
        assert!(ignored.contains(&key), "{key} not reported: {ignored:?}");
    }
    let t1 = settings
        .ignored()
        .iter()
        .find(|e| e.field == "sip.t1_ms")
        .unwrap();
    assert_eq!(
        t1.to_string(),
        "sip.t1_ms = 5 (stored in the database): out of bounds: 5 is out of bounds, allowed 50..10000"
    );
    assert_eq!(settings.source("sip.t1_ms"), Some(&ValueSource::Default));
}

#[test]
fn file_errors_are_reported_whatever_the_database_holds() {
    let (_dir, path) = file("[sip]\nt1_ms = 1\n");
    let database = DatabaseLayer::new().with_stored("sip.t2_ms", "700");
    let e = Settings::load(Some(&path), &no_env, database).unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
    assert_eq!(e.0[0].field, "sip.t1_ms");
    assert_eq!(e.0[0].source, Source::File(path));
}

#[test]
fn the_guard_table_in_the_file_points_to_where_guard_settings_live() {
    let e = Settings::from_toml_str(
        "[guard]\ndos_threshold = 200\n",
        &no_env,
        DatabaseLayer::new(),
    )
    .unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
    let message = e.0[0].to_string();
    assert!(message.contains("kept in the database"), "{message}");
    assert!(message.contains("outpost guard set"), "{message}");
}
