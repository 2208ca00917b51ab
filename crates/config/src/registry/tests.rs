//! The registry against the model: every field of [`Config`] has exactly
//! one entry and every entry writes its own field; the guard's entries are
//! the guard's keys; defaults come from the model.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// Every field of a configuration as a dotted path (`sip.t1_ms`) with
/// its `Debug` text, read from `{:#?}` so that a field added to the model
/// shows up here without anyone listing it.
fn model_fields(config: &Config) -> BTreeMap<String, String> {
    let text = format!("{config:#?}");
    let mut fields = BTreeMap::new();
    let mut table = String::new();
    let mut last = None;
    for line in text.lines().skip(1) {
        let depth = (line.len() - line.trim_start().len()) / 4;
        let trimmed = line.trim();
        let named = trimmed.split_once(": ").filter(|(name, _)| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        match (depth, named) {
            (1, Some((name, rest))) if rest.ends_with(" {") => {
                table = name.to_owned();
                last = None;
            }
            (1, Some((name, rest))) => {
                table.clear();
                fields.insert(name.to_owned(), rest.to_owned());
                last = Some(name.to_owned());
            }
            (2, Some((name, rest))) if !table.is_empty() => {
                let path = format!("{table}.{name}");
                fields.insert(path.clone(), rest.to_owned());
                last = Some(path);
            }
            _ => {
                if let Some(value) = last.as_ref().and_then(|l| fields.get_mut(l)) {
                    value.push_str(trimmed);
                }
            }
        }
    }
    fields
}

/// Fields of the model that are not settings: a side's table name, and
/// the side fields that belong to the other side only (MTLS is the
/// private side's, OTT terminals the public side's).
const NOT_SETTINGS: [&str; 6] = [
    "public.side",
    "private.side",
    "public.mtls",
    "public.mtls_ca_file",
    "public.mtls_peer_name",
    "private.ott_terminals",
];

#[test]
fn every_model_field_has_a_registry_entry_and_every_entry_a_field() {
    let model: BTreeSet<String> = model_fields(&Config::default())
        .into_keys()
        .filter(|f| !NOT_SETTINGS.contains(&f.as_str()))
        .collect();
    let registry: BTreeSet<String> = Registry::settings()
        .filter(|s| matches!(s.access, Access::Config { .. }))
        .map(|s| s.key.to_owned())
        .collect();
    let missing: Vec<_> = model.difference(&registry).collect();
    let extra: Vec<_> = registry.difference(&model).collect();
    assert!(
        missing.is_empty(),
        "model fields without a registry entry: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "registry entries without a model field: {extra:?}"
    );
    assert_eq!(model.len(), 59, "{model:?}");
}

#[test]
fn the_guard_entries_are_the_guard_settings() {
    let registry: Vec<&str> = Registry::settings()
        .filter_map(|s| match s.access {
            Access::Guard { key } => Some(key),
            Access::Config { .. } => None,
        })
        .collect();
    assert_eq!(registry, outpost_guard::KEYS);
    for setting in Registry::settings().filter(|s| s.key.starts_with(GUARD_PREFIX)) {
        assert_eq!(setting.scope, Scope::DatabaseOnly, "{}", setting.key);
        assert_eq!(setting.apply, Apply::Live, "{}", setting.key);
        assert!(
            matches!(setting.access, Access::Guard { .. }),
            "{}",
            setting.key
        );
    }
    let defaults = outpost_guard::Settings::default().to_pairs();
    for (key, value) in defaults {
        let setting = Registry::get(&format!("guard.{key}")).unwrap();
        let shown = match setting.default_value() {
            toml::Value::String(s) => s,
            other => other.to_string(),
        };
        assert_eq!(shown, value, "{key}");
    }
}

#[test]
fn keys_are_unique_and_in_file_order() {
    let keys: Vec<&str> = Registry::settings().map(|s| s.key).collect();
    let unique: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len());
    assert_eq!(&keys[..3], ["fqdn", "mode", "data_dir"]);
    let tables: Vec<&str> = Registry::file_tables()
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        tables,
        [
            "",
            "public",
            "private",
            "ipbx",
            "dns",
            "web",
            "admin",
            "log",
            "sip",
            "registration",
            "media"
        ]
    );
}

/// A valid value other than the default, in file form.
fn sample(setting: &Setting) -> toml::Value {
    let default = setting.default_value();
    let text = |s: &str| toml::Value::String(s.to_owned());
    match &setting.kind {
        Kind::Integer { min, max } => {
            let other = if default.as_integer() == Some(i64::from(*max)) {
                *min
            } else {
                *max
            };
            toml::Value::Integer(other.into())
        }
        Kind::Boolean => toml::Value::Boolean(default.as_bool() != Some(true)),
        Kind::Choice { values } => {
            let other = values.iter().find(|v| Some(**v) != default.as_str());
            text(other.copied().unwrap_or_default())
        }
        Kind::List { values } => {
            let reversed: Vec<&str> = values.iter().rev().copied().collect();
            text(&reversed.join(", "))
        }
        Kind::Text { format } => text(match format {
            Format::IpAddress => "192.0.2.77",
            Format::HostOrIp => "ipbx.example",
            Format::HostName => "sbc.example",
            Format::SocketAddress => "127.0.0.2:9999",
            Format::PortRange => "30000-30099",
            Format::AddressList => "192.0.2.53:53",
            Format::Path => "/srv/outpost",
            Format::LogFilter => "debug",
            Format::Url => "https://fw.example.com/6867i",
        }),
    }
}

#[test]
fn each_entry_reads_and_writes_its_own_field_only() {
    let defaults = model_fields(&Config::default());
    for setting in Registry::settings() {
        let Access::Config { load, show } = setting.access else {
            continue;
        };
        let value = sample(setting);
        assert_ne!(value, setting.default_value(), "{}", setting.key);
        let mut config = Config::default();
        if let Err(problem) = load(setting, &mut config, Raw::Typed(&value)) {
            panic!("{} = {value}: {problem:?}", setting.key);
        }
        let changed: Vec<String> = model_fields(&config)
            .into_iter()
            .filter(|(path, text)| defaults.get(path) != Some(text))
            .map(|(path, _)| path)
            .collect();
        assert_eq!(changed, [setting.key], "{} = {value}", setting.key);
        assert_eq!(show(&config), value, "{} does not round-trip", setting.key);
    }
}

#[test]
fn defaults_round_trip_through_their_parsers() {
    for setting in Registry::settings() {
        let Access::Config { load, .. } = setting.access else {
            continue;
        };
        let mut config = Config::default();
        let default = setting.default_value();
        load(setting, &mut config, Raw::Typed(&default)).unwrap();
        assert_eq!(config, Config::default(), "{} = {default}", setting.key);
    }
}

#[test]
fn the_registry_serializes_for_the_api() {
    let json = |key: &str| serde_json::to_value(Registry::get(key).unwrap()).unwrap();
    assert_eq!(
        json("sip.t1_ms"),
        serde_json::json!({
            "key": "sip.t1_ms",
            "type": "integer",
            "min": 50,
            "max": 10000,
            "default": 500,
            "unit": "ms",
            "description": "RFC 3261 T1, the round-trip estimate: the first retransmission interval.",
            "apply": "restart",
            "secret": false,
            "sources": ["default", "database", "file", "environment"],
            "env": "OUTPOST_SIP_T1_MS",
        })
    );
    let guard = json("guard.dos_threshold");
    assert_eq!(guard["min"], 10);
    assert_eq!(guard["max"], 5000);
    assert_eq!(guard["default"], 500);
    assert_eq!(guard["unit"], "requests");
    assert_eq!(guard["apply"], "live");
    assert_eq!(guard["sources"], serde_json::json!(["default", "database"]));
    assert!(guard.get("env").is_none());
    let protocols = json("public.protocols");
    assert_eq!(protocols["type"], "choice");
    assert_eq!(
        protocols["values"],
        serde_json::json!(["tls", "tls+udp/tcp"])
    );
    assert_eq!(
        json("private.protocols")["values"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        json("media.set_side_inbound")["values"],
        serde_json::json!(["srtp-only", "srtp-or-rtp"])
    );
    assert_eq!(
        json("data_dir")["sources"],
        serde_json::json!(["default", "file"])
    );
    assert_eq!(json("ipbx.address")["format"], "host-or-ip");
    assert_eq!(json("ipbx.address")["default"], "");
    let all = serde_json::to_value(Registry::settings().collect::<Vec<_>>()).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 59 + 13);
}

#[test]
fn every_setting_is_described() {
    for setting in Registry::settings() {
        let d = setting.description;
        assert!(d.len() > 10 && d.ends_with('.'), "{}: {d:?}", setting.key);
        assert!(!setting.secret, "no setting is secret yet: {}", setting.key);
    }
}
