//! `null` through the API resets a setting: the value stored in the
//! database is removed and the setting falls back to the layer below (the
//! default, since a file or environment value pins it and is refused with
//! the same message as a change); the configuration without it is checked
//! like any change; nothing stored, nothing to change.

use std::collections::HashMap;

use outpost_config::{Apply, DatabaseLayer, SettingError, Settings, Stored, ValueSource};
use outpost_store::Store;
use serde_json::json;

fn load(text: &str, env: &[(&str, &str)], database: DatabaseLayer) -> Settings {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match Settings::from_toml_str(text, &|name| env.get(name).cloned(), database) {
        Ok(settings) => settings,
        Err(e) => panic!("expected valid settings, got {e}"),
    }
}

#[test]
fn a_reset_removes_the_stored_value_and_the_default_applies() {
    let database = DatabaseLayer::new()
        .with_stored("registration.phone_expiry_secs", "90")
        .with_guard("dos_threshold", "200");
    let settings = load("", &[], database);
    let change = settings
        .set_from_api("registration.phone_expiry_secs", &json!(null))
        .unwrap();
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (json!(90), json!(120))
    );
    assert!(change.changed && change.reset);
    assert_eq!(change.apply, Apply::Live);
    assert_eq!(
        change.stored,
        Stored::RemoveSetting {
            key: "config.registration.phone_expiry_secs".to_owned()
        }
    );
    assert_eq!(
        serde_json::to_value(&change).unwrap(),
        json!({"key": "registration.phone_expiry_secs", "before": 90, "after": 120,
               "changed": true, "apply": "live", "secret": false, "reset": true})
    );

    let change = settings
        .set_from_api("guard.dos_threshold", &json!(null))
        .unwrap();
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (json!(200), json!(500))
    );
    assert!(change.changed);
    assert_eq!(
        change.stored,
        Stored::RemoveGuard {
            key: "dos_threshold"
        }
    );
}

#[test]
fn nothing_stored_is_nothing_to_reset() {
    let settings = load("", &[], DatabaseLayer::new());
    for key in ["sip.t1_ms", "guard.level", "ipbx.address"] {
        let change = settings.set_from_api(key, &json!(null)).unwrap();
        assert!(change.reset, "{key}");
        assert!(!change.changed, "{key}: no stored value");
        assert_eq!(change.before, change.after, "{key}");
    }
}

#[test]
fn a_stored_value_left_out_as_invalid_can_be_reset() {
    // 5 ms is below T1's range: left out at load, still a row to remove.
    let settings = load("", &[], DatabaseLayer::new().with_stored("sip.t1_ms", "5"));
    assert_eq!(settings.ignored().len(), 1);
    let change = settings.set_from_api("sip.t1_ms", &json!(null)).unwrap();
    assert!(change.changed, "the invalid row is removed");
    assert_eq!(change.after, json!(500));
}

#[test]
fn a_pinned_value_is_refused_as_a_change_is() {
    let settings = load(
        "[sip]\nt1_ms = 800\n",
        &[("OUTPOST_REGISTRATION_MAX_CALLS", "50")],
        DatabaseLayer::new(),
    );
    for (key, pinned_by) in [
        ("sip.t1_ms", "the configuration text (line 2)"),
        (
            "registration.max_calls",
            "the environment variable OUTPOST_REGISTRATION_MAX_CALLS",
        ),
    ] {
        let reset = settings.set_from_api(key, &json!(null)).unwrap_err();
        let change = settings.set_from_api(key, &json!(900)).unwrap_err();
        assert!(matches!(reset, SettingError::Pinned { .. }), "{reset}");
        assert_eq!(reset.to_string(), change.to_string(), "the same message");
        assert!(
            reset
                .to_string()
                .contains(&format!("pinned by {pinned_by}")),
            "{reset}"
        );
    }
    let e = settings.set_from_api("data_dir", &json!(null)).unwrap_err();
    assert!(matches!(e, SettingError::NotChangeable { .. }), "{e}");
}

#[test]
fn a_reset_is_checked_with_the_other_values() {
    // The stored phone expiry fits the stored ICP expiry; back to its
    // default (120 s) it would exceed it, unless both are reset at once.
    let database = DatabaseLayer::new()
        .with_stored("registration.phone_expiry_secs", "60")
        .with_stored("registration.icp_expiry_secs", "100");
    let settings = load("", &[], database);
    let alone = settings.set_from_api("registration.phone_expiry_secs", &json!(null));
    assert!(matches!(alone, Err(SettingError::Invalid(_))), "{alone:?}");
    let both = settings
        .set_many_from_api(&[
            ("registration.phone_expiry_secs", json!(null)),
            ("registration.icp_expiry_secs", json!(null)),
        ])
        .unwrap();
    assert!(both.iter().all(|c| c.changed && c.reset), "{both:?}");
}

#[test]
fn a_persisted_reset_leaves_the_default_from_the_default_layer() {
    let mut store = Store::open_in_memory().unwrap();
    store
        .set_setting("config.registration.phone_expiry_secs", "90")
        .unwrap();
    store
        .set_guard_settings(&[("dos_threshold", "200")])
        .unwrap();
    let settings = load("", &[], DatabaseLayer::read(&store).unwrap());
    for key in ["registration.phone_expiry_secs", "guard.dos_threshold"] {
        settings
            .set_from_api(key, &json!(null))
            .unwrap()
            .persist(&mut store)
            .unwrap();
    }
    assert_eq!(
        store
            .setting("config.registration.phone_expiry_secs")
            .unwrap(),
        None
    );
    assert!(store.guard_settings().unwrap().is_empty());
    let settings = load("", &[], DatabaseLayer::read(&store).unwrap());
    assert_eq!(settings.config().registration.phone_expiry_secs, 120);
    assert_eq!(settings.guard().dos_threshold, 500);
    for key in ["registration.phone_expiry_secs", "guard.dos_threshold"] {
        assert_eq!(settings.source(key), Some(&ValueSource::Default), "{key}");
    }
}
