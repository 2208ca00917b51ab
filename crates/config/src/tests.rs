//! Unit tests of the model and value parsers; whole-file scenarios live in
//! `tests/config_validation.rs`.

use std::net::IpAddr;

use super::values::{self, Raw};
use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn enums_round_trip_their_toml_spelling() {
    for s in ["standard", "daisy-chain-wan", "daisy-chain-lan"] {
        assert_eq!(s.parse::<DeploymentMode>().unwrap().to_string(), s);
    }
    for s in ["tls", "tls+udp/tcp", "udp/tcp"] {
        assert_eq!(s.parse::<Protocols>().unwrap().to_string(), s);
    }
    for s in ["tls", "tcp", "udp"] {
        assert_eq!(s.parse::<IpbxTransport>().unwrap().to_string(), s);
    }
    for s in ["text", "json"] {
        assert_eq!(s.parse::<LogFormat>().unwrap().to_string(), s);
    }
    assert_eq!("public".parse::<Side>().unwrap(), Side::Public);
    assert_eq!(Side::Private.to_string(), "private");
    assert_eq!("TLS".parse::<Protocols>().unwrap(), Protocols::Tls);
}

#[test]
fn bad_enum_lists_allowed_values() {
    let e = "chain".parse::<DeploymentMode>().unwrap_err();
    assert_eq!(
        e.allowed,
        ["standard", "daisy-chain-wan", "daisy-chain-lan"]
    );
    assert_eq!(
        e.to_string(),
        "\"chain\" is not a valid mode; allowed: standard, daisy-chain-wan, daisy-chain-lan"
    );
}

#[test]
fn port_range_parses_and_measures() {
    let r: PortRange = "20000-27999".parse().unwrap();
    assert_eq!((r.first, r.last, r.len()), (20000, 27999, 8000));
    assert_eq!("20000 - 20003".parse::<PortRange>().unwrap().len(), 4);
    assert_eq!(PortRange::single(5).len(), 1);
    assert!(r.contains(20000) && r.contains(27999) && !r.contains(28000));
    assert_eq!("20000".parse::<PortRange>(), Err(PortRangeError::Syntax));
    assert_eq!("a-b".parse::<PortRange>(), Err(PortRangeError::Syntax));
    assert_eq!("-5-6".parse::<PortRange>(), Err(PortRangeError::Syntax));
    assert_eq!(
        "20000-70000".parse::<PortRange>(),
        Err(PortRangeError::PortOutOfBounds(70000))
    );
    assert_eq!(
        "0-10".parse::<PortRange>(),
        Err(PortRangeError::PortOutOfBounds(0))
    );
    assert_eq!(
        "30000-20000".parse::<PortRange>(),
        Err(PortRangeError::Reversed {
            first: 30000,
            last: 20000
        })
    );
}

#[test]
fn port_ranges_overlap_when_sharing_a_port() {
    let r = |a, b| PortRange { first: a, last: b };
    assert!(r(10, 20).overlaps(&r(20, 30)));
    assert!(r(10, 20).overlaps(&r(12, 13)));
    assert!(!r(10, 20).overlaps(&r(21, 30)));
    assert!(!r(20, 10).overlaps(&r(10, 20)));
    assert!(r(20, 10).is_empty());
}

#[test]
fn side_addresses_fall_back_as_net_2_says() {
    let mut s = SideConfig::default_for(Side::Public);
    assert_eq!(s.advertised_address(), None);
    assert_eq!(s.bind_address(), IpAddr::from([0, 0, 0, 0]));
    s.interface = Some(IpAddr::from([192, 0, 2, 10]));
    assert_eq!(s.advertised_address(), s.interface);
    assert_eq!(s.bind_address(), IpAddr::from([192, 0, 2, 10]));
    s.address = Some(IpAddr::from([203, 0, 113, 10]));
    assert_eq!(s.advertised_address(), s.address);
    assert_eq!(s.bind_address(), IpAddr::from([192, 0, 2, 10]));
}

#[test]
fn protocols_enable_listeners() {
    let mut s = SideConfig::default_for(Side::Private);
    assert!(s.tls_enabled() && !s.plain_enabled());
    s.protocols = Protocols::TlsUdpTcp;
    assert!(s.tls_enabled() && s.plain_enabled());
    s.protocols = Protocols::UdpTcp;
    assert!(!s.tls_enabled() && s.plain_enabled());
}

#[test]
fn defaults_match_the_spec() {
    let c = Config::default();
    assert_eq!(c.public.sip_tls_port, 5063);
    assert_eq!(c.private.sip_tls_port, 5064);
    assert_eq!(c.public.sip_port, 5060);
    assert_eq!(c.ipbx.port, 5061);
    assert_eq!(c.ipbx.transport, IpbxTransport::Tls);
    assert_eq!(c.web.port, 4445);
    assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(c.public.rtp_ports.to_string(), "20000-27999");
    assert_eq!(c.log.level, "info");
    assert!(c.public.video && c.private.video);
    assert!(c.rtp_pool_shared());
}

#[test]
fn fqdn_falls_back_to_a_non_empty_host_name() {
    let mut c = Config::default();
    assert!(!c.fqdn_or_hostname().is_empty());
    c.fqdn = Some("sbc.example.com".to_owned());
    assert_eq!(c.fqdn_or_hostname(), "sbc.example.com");
}

#[test]
fn configured_ip_refuses_unreachable_addresses() {
    for bad in ["0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1"] {
        let p = values::configured_ip(bad).unwrap_err();
        assert_eq!(p.kind, ErrorKind::NotAllowed, "{bad}");
    }
    assert!(
        values::configured_ip("0.0.0.0")
            .unwrap_err()
            .message
            .contains("leave the field out")
    );
    for good in [
        "10.0.0.2",
        "2001:db8::10",
        "[2001:db8::10]",
        "::1",
        "127.0.0.1",
    ] {
        assert!(values::configured_ip(good).is_ok(), "{good}");
    }
    let p = values::configured_ip("10.0.0.2:5060").unwrap_err();
    assert_eq!(p.kind, ErrorKind::SyntaxError);
    assert!(
        p.message.contains("port goes in its own field"),
        "{}",
        p.message
    );
}

#[test]
fn host_names_follow_rfc_1123() {
    for good in ["ipbx", "ipbx.lan", "a-b.example.com.", "x1.example"] {
        assert!(values::host_name(good).is_ok(), "{good}");
    }
    let long = format!("{}.com", "a".repeat(64));
    let too_long = vec!["abcdefghi"; 26].join(".");
    for bad in [
        "",
        "ipbx_1.lan",
        "-ipbx.lan",
        "ipbx-.lan",
        "a..b",
        "300.1.2.3",
        &long,
        &too_long,
    ] {
        assert_eq!(
            values::host_name(bad).unwrap_err().kind,
            ErrorKind::SyntaxError,
            "{bad}"
        );
    }
}

#[test]
fn ipbx_host_is_an_ip_or_a_name() {
    let s = |v: &str| toml::Value::String(v.to_owned());
    let parse = |v: &str| values::ipbx_host(Raw::Typed(&s(v)));
    assert_eq!(
        parse("ipbx.lan").unwrap(),
        Some(IpbxHost::Name("ipbx.lan".to_owned()))
    );
    assert_eq!(
        parse("2001:db8::5").unwrap(),
        Some(IpbxHost::Ip("2001:db8::5".parse().unwrap()))
    );
    assert_eq!(parse("").unwrap(), None);
    let e = parse("ipbx.lan:5061").unwrap_err();
    assert!(e.message.contains("ipbx.port"), "{}", e.message);
    assert_eq!(parse("300.1.2.3").unwrap_err().kind, ErrorKind::SyntaxError);
    assert_eq!(parse("0.0.0.0").unwrap_err().kind, ErrorKind::NotAllowed);
    assert_eq!(
        IpbxHost::Ip("2001:db8::5".parse().unwrap()).to_string(),
        "[2001:db8::5]"
    );
}

#[test]
fn env_booleans_and_ports_parse_from_text() {
    assert_eq!(values::boolean(Raw::Env("Yes")), Ok(true));
    assert_eq!(values::boolean(Raw::Env("0")), Ok(false));
    assert_eq!(
        values::boolean(Raw::Env("maybe")).unwrap_err().kind,
        ErrorKind::SyntaxError
    );
    assert_eq!(values::port(Raw::Env("5070")), Ok(5070));
    assert_eq!(
        values::port(Raw::Env("-1")).unwrap_err().kind,
        ErrorKind::OutOfBounds
    );
    assert_eq!(
        values::port(Raw::Env("x")).unwrap_err().kind,
        ErrorKind::SyntaxError
    );
    let quoted = toml::Value::String("5063".to_owned());
    let e = values::port(Raw::Typed(&quoted)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert!(e.message.contains("without quotes"), "{}", e.message);
}

#[test]
fn admin_listen_accepts_wildcard_but_not_port_0() {
    let s = |v: &str| toml::Value::String(v.to_owned());
    assert!(values::listen_addr(Raw::Typed(&s("0.0.0.0:9464"))).is_ok());
    assert!(values::listen_addr(Raw::Typed(&s("[::1]:9464"))).is_ok());
    let e = values::listen_addr(Raw::Typed(&s("127.0.0.1:0"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OutOfBounds);
    let e = values::listen_addr(Raw::Typed(&s("127.0.0.1"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SyntaxError);
}

#[test]
fn env_var_listing_covers_every_field_but_data_dir() {
    let fields = field_names();
    let vars = env_var_names();
    // top, public, private, ipbx, dns, web, admin, log, sip, registration, media
    assert_eq!(fields.len(), 3 + 8 + 10 + 4 + 1 + 3 + 2 + 2 + 8 + 8 + 10);
    assert_eq!(vars.len(), fields.len() - 1);
    assert!(vars.contains(&"OUTPOST_IPBX_ADDRESS".to_owned()));
    assert_eq!(
        env_var_name("log.format").as_deref(),
        Some("OUTPOST_LOG_FORMAT")
    );
    assert_eq!(env_var_name("data_dir"), None);
    assert_eq!(env_var_name("public.nope"), None);
}

#[test]
fn load_without_file_uses_defaults() {
    assert_eq!(Config::load(None, &no_env).unwrap(), Config::default());
}

#[test]
fn a_relative_data_dir_is_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let file = base.join("outpost.toml");
    for (value, expected) in [
        ("data", base.join("data")),
        ("./var/../db", base.join("./var/../db")),
        ("/srv/outpost", PathBuf::from("/srv/outpost")),
    ] {
        std::fs::write(&file, format!("data_dir = \"{value}\"\n")).unwrap();
        let config = Config::load(Some(&file), &no_env).unwrap();
        assert_eq!(config.data_dir, Some(expected), "{value}");
    }
    std::fs::write(&file, "fqdn = \"a.example\"\n").unwrap();
    assert_eq!(Config::load(Some(&file), &no_env).unwrap().data_dir, None);
    // Text without a file keeps the value as written.
    let config = Config::from_toml_str("data_dir = \"data\"\n", &no_env).unwrap();
    assert_eq!(config.data_dir, Some(PathBuf::from("data")));
}

#[test]
fn summary_mentions_sides_and_warnings() {
    let lines = Config::default().summary_lines();
    let text = lines.join("\n");
    assert!(lines[0] == "mode: standard", "{text}");
    assert!(text.contains("public side: bind all interfaces"), "{text}");
    assert!(text.contains("SIP/TLS 5064"), "{text}");
    assert!(text.contains("iPBX: not configured"), "{text}");
    assert!(text.contains("warning: ipbx.address is not set"), "{text}");
    assert!(text.contains("one pool shared"), "{text}");
    let mut c = Config::default();
    c.admin.listen = "0.0.0.0:9464".parse().unwrap();
    assert!(c.warnings().iter().any(|w| w.contains("not a loopback")));
}

/// A document with MTLS / OTT lines: `top` before the tables, then the
/// public and the private table's extra lines.
fn mtls_doc(top: &str, public: &str, private: &str) -> String {
    format!("{top}\n[public]\n{public}\n[private]\n{private}\n")
}

fn only_error(text: &str) -> FieldError {
    let errors = match Config::from_toml_str(text, &no_env) {
        Ok(config) => panic!("expected an error, got {config:?}\n--- document:\n{text}"),
        Err(e) => e,
    };
    assert_eq!(errors.len(), 1, "{errors}\n--- document:\n{text}");
    errors.0[0].clone()
}

#[test]
fn mtls_and_ott_terminals_default_off_and_load() {
    let c = Config::default();
    assert!(!c.private.mtls && !c.public.ott_terminals);
    assert_eq!(
        (
            c.private.mtls_ca_file.as_ref(),
            c.private.mtls_peer_name.as_ref()
        ),
        (None, None)
    );
    let text = mtls_doc(
        "",
        "",
        "mtls = true\nmtls_ca_file = \"/etc/outpost/trunk-ca.pem\"\nmtls_peer_name = \"PBX.example.com\"",
    );
    let c = Config::from_toml_str(&text, &no_env).unwrap();
    assert!(c.private.mtls);
    assert_eq!(
        c.private.mtls_ca_file,
        Some(PathBuf::from("/etc/outpost/trunk-ca.pem"))
    );
    assert_eq!(c.private.mtls_peer_name.as_deref(), Some("PBX.example.com"));
    let summary = c.summary_lines().join("\n");
    assert!(
        summary.contains("MTLS on the private side: client certificates required, from the CA(s) of /etc/outpost/trunk-ca.pem, named PBX.example.com"),
        "{summary}"
    );
    // An IP address as the peer name, brackets tolerated.
    let c = Config::from_toml_str(
        &mtls_doc(
            "",
            "",
            "mtls = true\nmtls_ca_file = \"ca.pem\"\nmtls_peer_name = \"[2001:db8::5]\"",
        ),
        &no_env,
    )
    .unwrap();
    assert_eq!(c.private.mtls_peer_name.as_deref(), Some("2001:db8::5"));
    // The environment, as for every setting.
    let env = |name: &str| match name {
        "OUTPOST_PRIVATE_MTLS" => Some("yes".to_owned()),
        "OUTPOST_PRIVATE_MTLS_CA_FILE" => Some("/ca.pem".to_owned()),
        _ => None,
    };
    let c = Config::from_toml_str("", &env).unwrap();
    assert!(c.private.mtls);
    let c = Config::from_toml_str(
        &mtls_doc("fqdn = \"sbc.example.com\"", "ott_terminals = true", ""),
        &no_env,
    )
    .unwrap();
    assert!(c.public.ott_terminals);
    let summary = c.summary_lines().join("\n");
    assert!(
        summary.contains("OTT terminals: supported, connecting to sbc.example.com over TLS"),
        "{summary}"
    );
}

#[test]
fn mtls_and_ott_terminals_are_keys_of_their_side_only() {
    for text in [
        mtls_doc("", "mtls = true", ""),
        mtls_doc("", "mtls_ca_file = \"ca.pem\"", ""),
        mtls_doc("", "", "ott_terminals = true"),
    ] {
        let e = only_error(&text);
        assert_eq!(e.kind, ErrorKind::UnknownKey, "{e}");
    }
    let e = only_error(&mtls_doc("", "", "mtls_peer_name = \"bad name!\""));
    assert_eq!(e.field, "private.mtls_peer_name");
    assert_eq!(e.kind, ErrorKind::SyntaxError, "{e}");
}

#[test]
fn mtls_with_ott_terminals_is_refused_naming_both_and_the_fix() {
    let text = mtls_doc(
        "fqdn = \"sbc.example.com\"",
        "ott_terminals = true",
        "mtls = true\nmtls_ca_file = \"/etc/outpost/trunk-ca.pem\"",
    );
    let e = only_error(&text);
    assert_eq!(e.field, "private.mtls");
    assert_eq!(e.kind, ErrorKind::Inconsistent);
    assert!(
        e.message
            .starts_with("MTLS and OTT terminal support are mutually exclusive: "),
        "{e}"
    );
    for needle in [
        "private.mtls = true",
        "public.ott_terminals = true",
        "set private.mtls = false to support OTT terminals",
        "or public.ott_terminals = false",
    ] {
        assert!(e.message.contains(needle), "{needle:?} missing: {e}");
    }
    // Either one alone is fine.
    assert!(Config::from_toml_str(&text.replace("ott_terminals = true", ""), &no_env).is_ok());
    assert!(Config::from_toml_str(&text.replace("mtls = true", ""), &no_env).is_ok());
}

#[test]
fn mtls_without_a_ca_file_is_refused() {
    let e = only_error(&mtls_doc("", "", "mtls = true"));
    assert_eq!(e.field, "private.mtls_ca_file");
    assert_eq!(e.kind, ErrorKind::Inconsistent);
    assert!(
        e.message
            .contains("private.mtls = true requires private.mtls_ca_file"),
        "{e}"
    );
    assert!(
        e.message
            .contains("set private.mtls_ca_file, or private.mtls = false"),
        "{e}"
    );
    // An empty value is "not set" too.
    let e = only_error(&mtls_doc("", "", "mtls = true\nmtls_ca_file = \"\""));
    assert_eq!(e.field, "private.mtls_ca_file");
    // A CA file without MTLS is simply unused.
    assert!(Config::from_toml_str(&mtls_doc("", "", "mtls_ca_file = \"ca.pem\""), &no_env).is_ok());
}

#[test]
fn mtls_without_tls_on_the_private_side_is_refused() {
    let text = mtls_doc(
        "",
        "",
        "mtls = true\nmtls_ca_file = \"ca.pem\"\nprotocols = \"udp/tcp\"\n[ipbx]\ntransport = \"udp\"",
    );
    let e = only_error(&text);
    assert_eq!(e.field, "private.mtls");
    assert_eq!(e.kind, ErrorKind::Inconsistent);
    assert!(
        e.message
            .contains("private.protocols = \"udp/tcp\" has no TLS"),
        "{e}"
    );
    assert!(
        e.message
            .contains("set private.protocols to tls or tls+udp/tcp, or private.mtls = false"),
        "{e}"
    );
    // TLS plus plain listeners: allowed, with a warning about the plain one.
    let c = Config::from_toml_str(&text.replace("udp/tcp\"", "tls+udp/tcp\""), &no_env).unwrap();
    assert!(
        c.warnings()
            .iter()
            .any(|w| w
                .contains("also listens for plain UDP/TCP, where no client certificate is asked")),
        "{:?}",
        c.warnings()
    );
}

#[test]
fn ott_terminals_without_an_fqdn_is_refused() {
    let e = only_error(&mtls_doc("", "ott_terminals = true", ""));
    assert_eq!(e.field, "public.ott_terminals");
    assert_eq!(e.kind, ErrorKind::Inconsistent);
    assert!(
        e.message
            .contains("public.ott_terminals = true requires fqdn"),
        "{e}"
    );
    assert!(e.message.contains("set fqdn"), "{e}");
    assert!(e.message.contains("or public.ott_terminals = false"), "{e}");
}

#[test]
fn the_api_refuses_mtls_with_ott_terminals_too() {
    let settings = Settings::load(None, &no_env, DatabaseLayer::new()).unwrap();
    let json = |v: &str| serde_json::from_str::<serde_json::Value>(v).unwrap();
    let changes = settings
        .set_many_from_api(&[
            ("fqdn", json("\"sbc.example.com\"")),
            ("public.ott_terminals", json("true")),
            ("private.mtls", json("true")),
            (
                "private.mtls_ca_file",
                json("\"/etc/outpost/trunk-ca.pem\""),
            ),
        ])
        .unwrap_err();
    let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|e| e.contains("MTLS and OTT terminal support are mutually exclusive")),
        "{text:?}"
    );
    // Without OTT terminals the same MTLS change passes, to apply at the
    // next start.
    let changes = settings
        .set_many_from_api(&[
            ("private.mtls", json("true")),
            (
                "private.mtls_ca_file",
                json("\"/etc/outpost/trunk-ca.pem\""),
            ),
            ("private.mtls_peer_name", json("\"pbx.example.com\"")),
        ])
        .unwrap();
    assert!(changes.iter().all(|c| c.restart_needed()), "{changes:?}");
}
