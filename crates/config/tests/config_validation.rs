//! Configuration loading and validation as an installer meets it: whole
//! TOML documents and environment overrides in, every error out at once
//! (SPEC NET-1..NET-5, SIG-1, MED-1, OPS-1).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use outpost_config::{
    Config, ConfigErrors, DeploymentMode, ErrorKind, FieldError, IpbxHost, IpbxTransport,
    LogFormat, PortRange, Protocols, Side, SideConfig, Source, env_var_names, field_names,
};

const EXAMPLE: &str = include_str!("../../../outpost.example.toml");

fn no_env(_: &str) -> Option<String> {
    None
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("test address {s:?}: {e}"))
}

/// A document whose two sides bind different interfaces, so only the lines
/// under test can fail. `top` goes before the tables, `rest` after.
fn doc(top: &str, public: &str, private: &str, rest: &str) -> String {
    format!(
        "{top}\n[public]\ninterface = \"192.0.2.10\"\n{public}\n\
         [private]\ninterface = \"10.0.0.2\"\n{private}\n{rest}\n"
    )
}

fn ok(text: &str) -> Config {
    match Config::from_toml_str(text, &no_env) {
        Ok(config) => config,
        Err(e) => panic!("expected a valid configuration, got {e}\n--- document:\n{text}"),
    }
}

fn errors(text: &str) -> ConfigErrors {
    match Config::from_toml_str(text, &no_env) {
        Ok(config) => panic!("expected errors, got {config:?}\n--- document:\n{text}"),
        Err(e) => e,
    }
}

fn only_error(text: &str) -> FieldError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "expected exactly one error:\n{e}");
    e.0[0].clone()
}

/// The error names its field and value, both in the struct and in its line.
fn assert_names(e: &FieldError, field: &str, value: &str) {
    assert_eq!(e.field, field, "{e}");
    assert_eq!(e.value, value, "{e}");
    let line = e.to_string();
    assert!(line.contains(field), "line does not name {field}: {line}");
    assert!(line.contains(value), "line does not show {value}: {line}");
    assert!(!line.contains('\n'), "one line per error: {line}");
}

// --- addresses (NET-2, NET-3) -------------------------------------------

#[test]
fn malformed_address_is_a_syntax_error_naming_field_and_value() {
    let e = only_error(&doc("", "address = \"300.1.2.3\"", "", ""));
    assert_names(&e, "public.address", "\"300.1.2.3\"");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
    assert_eq!(
        e.to_string(),
        "public.address = \"300.1.2.3\": syntax error: not an IPv4 or IPv6 address"
    );
    assert!(matches!(e.source, Source::File(_)));
}

#[test]
fn more_malformed_addresses() {
    for (line, value) in [
        ("interface = \"10.0.0\"", "\"10.0.0\""),
        ("interface = \"2001:db8:::1\"", "\"2001:db8:::1\""),
        ("interface = \"eth0\"", "\"eth0\""),
        ("interface = \"10.0.0.2:5060\"", "\"10.0.0.2:5060\""),
    ] {
        let e = only_error(&doc("", "", "", "").replace("interface = \"10.0.0.2\"", line));
        assert_names(&e, "private.interface", value);
        assert_eq!(e.kind, ErrorKind::SyntaxError, "{e}");
    }
}

#[test]
fn wildcard_and_broadcast_addresses_are_refused() {
    for (field, bad) in [
        ("address", "0.0.0.0"),
        ("address", "255.255.255.255"),
        ("address", "::"),
        ("interface", "0.0.0.0"),
        ("interface", "::"),
    ] {
        let text = format!("[public]\n{field} = \"{bad}\"\n");
        let e = only_error(&text);
        assert_names(&e, &format!("public.{field}"), &format!("\"{bad}\""));
        assert_eq!(e.kind, ErrorKind::NotAllowed, "{e}");
        assert!(e.message.contains(bad), "{e}");
    }
    let e = only_error("[private]\naddress = \"0.0.0.0\"\n");
    assert_eq!(
        e.to_string(),
        "private.address = \"0.0.0.0\": not allowed: 0.0.0.0 is not an address a peer can \
         reach; leave the field out to bind all interfaces"
    );
    let e = only_error("[ipbx]\naddress = \"255.255.255.255\"\n");
    assert_names(&e, "ipbx.address", "\"255.255.255.255\"");
    assert_eq!(e.kind, ErrorKind::NotAllowed);
}

#[test]
fn ipv6_works_wherever_ipv4_does() {
    let config = ok(r#"
        [public]
        interface = "2001:db8::10"
        address = "2001:db8:ffff::10"
        [private]
        interface = "fd00::2"
        address = "[fd00::2]"
        [ipbx]
        address = "fd00::5"
        [admin]
        listen = "[::1]:9464"
    "#);
    assert_eq!(config.public.bind_address(), ip("2001:db8::10"));
    assert_eq!(
        config.public.advertised_address(),
        Some(ip("2001:db8:ffff::10"))
    );
    assert_eq!(config.private.advertised_address(), Some(ip("fd00::2")));
    assert_eq!(config.ipbx.address, Some(IpbxHost::Ip(ip("fd00::5"))));
    assert_eq!(config.admin.listen.to_string(), "[::1]:9464");
    let e = only_error("[public]\naddress = \"2001:db8::zz\"\n");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
}

#[test]
fn ipbx_host_name_syntax_is_checked() {
    let config = ok("[ipbx]\naddress = \"pbx-1.corp.example\"\n");
    assert_eq!(
        config.ipbx.address,
        Some(IpbxHost::Name("pbx-1.corp.example".to_owned()))
    );
    for bad in [
        "pbx_1.lan",
        "-pbx.lan",
        "pbx..lan",
        "300.1.2.3",
        "ipbx.lan:5061",
    ] {
        let e = only_error(&format!("[ipbx]\naddress = \"{bad}\"\n"));
        assert_names(&e, "ipbx.address", &format!("\"{bad}\""));
        assert_eq!(e.kind, ErrorKind::SyntaxError, "{e}");
    }
    let e = only_error(&format!("fqdn = \"{}.example\"\n", "a".repeat(64)));
    assert_eq!(e.field, "fqdn");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
}

// --- ports (NET-3, SIG-1) -----------------------------------------------

#[test]
fn ports_outside_1_to_65535_are_out_of_bounds() {
    for (table, key, bad) in [
        ("public", "sip_tls_port", "0"),
        ("public", "sip_tls_port", "70000"),
        ("private", "sip_port", "-1"),
        ("ipbx", "port", "65536"),
        ("web", "port", "0"),
    ] {
        let e = only_error(&format!("[{table}]\n{key} = {bad}\n"));
        assert_names(&e, &format!("{table}.{key}"), bad);
        assert_eq!(e.kind, ErrorKind::OutOfBounds, "{e}");
        assert!(e.message.contains("1..65535"), "{e}");
    }
    let e = only_error("[admin]\nlisten = \"127.0.0.1:0\"\n");
    assert_names(&e, "admin.listen", "\"127.0.0.1:0\"");
    assert_eq!(e.kind, ErrorKind::OutOfBounds);
    assert_eq!(ok("[web]\nport = 65535\n").web.port, 65535);
    assert_eq!(ok("[ipbx]\nport = 1\n").ipbx.port, 1);
}

#[test]
fn a_port_as_a_string_is_a_wrong_type() {
    let e = only_error("[public]\nsip_tls_port = \"abc\"\n");
    assert_names(&e, "public.sip_tls_port", "\"abc\"");
    assert_eq!(e.kind, ErrorKind::WrongType);
    assert_eq!(
        e.to_string(),
        "public.sip_tls_port = \"abc\": wrong type: expected an integer port 1..65535, got a string"
    );
    let e = only_error("[public]\nsip_tls_port = \"5063\"\n");
    assert!(e.message.contains("without quotes"), "{e}");
}

#[test]
fn other_wrong_types() {
    for (text, field, value) in [
        ("[public]\nvideo = \"yes\"\n", "public.video", "\"yes\""),
        ("[public]\naddress = 10\n", "public.address", "10"),
        (
            "[private]\nrtp_ports = [20000, 20010]\n",
            "private.rtp_ports",
            "[20000, 20010]",
        ),
        ("mode = 1\n", "mode", "1"),
        ("public = \"192.0.2.10\"\n", "public", "\"192.0.2.10\""),
        ("[log]\nlevel = true\n", "log.level", "true"),
    ] {
        let e = only_error(text);
        assert_names(&e, field, value);
        assert_eq!(e.kind, ErrorKind::WrongType, "{e}");
    }
}

// --- RTP ranges (MED-1) ---------------------------------------------------

#[test]
fn rtp_range_too_small_gives_the_bounds() {
    let e = only_error(&doc(
        "",
        "",
        "rtp_ports = \"20000-20002\"\nvideo = false",
        "",
    ));
    assert_names(&e, "private.rtp_ports", "\"20000-20002\"");
    assert_eq!(e.kind, ErrorKind::OutOfBounds);
    assert_eq!(
        e.to_string(),
        "private.rtp_ports = \"20000-20002\": out of bounds: an RTP range needs at least 4 ports \
         audio-only (8 with video); got 3 (20000..=20002), allowed 1024..65535"
    );

    let e = only_error(&doc(
        "",
        "rtp_ports = \"30000-30006\"\nvideo = true",
        "",
        "",
    ));
    assert_names(&e, "public.rtp_ports", "\"30000-30006\"");
    assert_eq!(
        e.message,
        "an RTP range needs at least 8 ports with video (4 audio-only); got 7 (30000..=30006), \
         allowed 1024..65535"
    );
}

#[test]
fn rtp_range_minimums_are_exact() {
    ok(&doc(
        "",
        "rtp_ports = \"30000-30003\"\nvideo = false",
        "",
        "",
    ));
    ok(&doc("", "rtp_ports = \"30000-30007\"", "", ""));
    ok(&doc(
        "",
        "rtp_ports = \"30000-30006\"\nvideo = false",
        "",
        "",
    ));
    // video defaults to true: 7 ports are too few without saying anything.
    let e = only_error(&doc("", "rtp_ports = \"30000-30006\"", "", ""));
    assert_eq!(e.kind, ErrorKind::OutOfBounds);
    // The size is judged with the effective video setting, here from the env.
    let env = env_of(&[("OUTPOST_PUBLIC_VIDEO", "false")]);
    let text = doc("", "rtp_ports = \"30000-30006\"", "", "");
    assert!(Config::from_toml_str(&text, &env).is_ok());
}

#[test]
fn reversed_and_malformed_rtp_ranges() {
    let e = only_error("[public]\nrtp_ports = \"27999-20000\"\n");
    assert_names(&e, "public.rtp_ports", "\"27999-20000\"");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
    assert!(e.message.contains("reversed"), "{e}");
    for bad in ["20000", "20000:27999", "low-high", "20000-", ""] {
        let e = only_error(&format!("[public]\nrtp_ports = \"{bad}\"\n"));
        assert_names(&e, "public.rtp_ports", &format!("\"{bad}\""));
        assert_eq!(e.kind, ErrorKind::SyntaxError, "{e}");
        assert!(e.message.contains("FIRST-LAST"), "{e}");
    }
    for bad in ["80-1000", "20000-70000"] {
        let e = only_error(&format!("[public]\nrtp_ports = \"{bad}\"\n"));
        assert_eq!(e.kind, ErrorKind::OutOfBounds, "{e}");
        assert!(e.message.contains("1024..65535"), "{e}");
    }
}

// --- keys and enums -------------------------------------------------------

#[test]
fn unknown_key_is_named_with_the_valid_keys() {
    let e = only_error("[public]\nsip_tls_prot = 5063\n");
    assert_names(&e, "public.sip_tls_prot", "5063");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert!(e.message.contains("did you mean \"sip_tls_port\""), "{e}");
    assert!(
        e.message
            .contains("interface, address, protocols, sip_tls_port, sip_port, rtp_ports, video"),
        "{e}"
    );

    let e = only_error("mdoe = \"standard\"\n");
    assert_names(&e, "mdoe", "\"standard\"");
    assert!(e.message.contains("did you mean \"mode\""), "{e}");

    let e = only_error("[pubic]\naddress = \"203.0.113.10\"\n");
    assert_eq!(e.field, "pubic");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
    assert!(e.message.contains("did you mean \"public\""), "{e}");

    let e = only_error("[public.tls]\ncert = \"x\"\n");
    assert_eq!(e.field, "public.tls");
    assert_eq!(e.kind, ErrorKind::UnknownKey);
}

#[test]
fn bad_enum_values_list_the_allowed_ones() {
    let e = errors(
        "mode = \"chained\"\n[private]\nprotocols = \"ssl\"\n[ipbx]\ntransport = \"sctp\"\n\
         [log]\nformat = \"xml\"\n",
    );
    let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["mode", "private.protocols", "ipbx.transport", "log.format"],
        "{e}"
    );
    for (error, allowed) in e.iter().zip([
        "standard, daisy-chain-wan, daisy-chain-lan",
        "tls, tls+udp/tcp, udp/tcp",
        "tls, tcp, udp",
        "text, json",
    ]) {
        assert_eq!(error.kind, ErrorKind::NotAllowed, "{error}");
        assert!(error.message.contains(allowed), "{error}");
    }
    assert_eq!(
        e.0[0].to_string(),
        "mode = \"chained\": not allowed: expected one of: standard, daisy-chain-wan, \
         daisy-chain-lan"
    );
    // Spellings copied from the vendor UI in capitals are fine.
    assert_eq!(
        ok("[public]\nprotocols = \"TLS\"\n").public.protocols,
        Protocols::Tls
    );
}

#[test]
fn udp_tcp_only_is_refused_on_the_public_side() {
    let e = only_error("[public]\nprotocols = \"udp/tcp\"\n");
    assert_names(&e, "public.protocols", "\"udp/tcp\"");
    assert_eq!(e.kind, ErrorKind::NotAllowed);
    assert!(e.message.contains("allowed: tls, tls+udp/tcp"), "{e}");
    let config = ok("[private]\nprotocols = \"udp/tcp\"\n[ipbx]\ntransport = \"udp\"\n");
    assert_eq!(config.private.protocols, Protocols::UdpTcp);
}

// --- cross-field checks -----------------------------------------------------

#[test]
fn same_side_tls_and_plain_ports_conflict_only_when_both_are_used() {
    let e = only_error("[public]\nprotocols = \"tls+udp/tcp\"\nsip_tls_port = 5060\n");
    assert_names(&e, "public.sip_port", "5060");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("public.sip_tls_port"), "{e}");
    assert_eq!(
        e.source,
        Source::Default,
        "the default sip_port is the one blamed"
    );
    // With TLS only, sip_port is not bound.
    ok("[public]\nprotocols = \"tls\"\nsip_tls_port = 5060\n");
}

#[test]
fn both_sides_binding_the_same_port_conflict() {
    let e = only_error("[public]\nsip_tls_port = 5070\n[private]\nsip_tls_port = 5070\n");
    assert_names(&e, "private.sip_tls_port", "5070");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("public.sip_tls_port"), "{e}");
    assert!(e.message.contains("TCP port 5070 on all interfaces"), "{e}");
    // Different interfaces: no conflict.
    ok(&doc("", "sip_tls_port = 5070", "sip_tls_port = 5070", ""));
    // One side on a specific address, the other on all: still a conflict.
    let e = only_error(
        "[public]\ninterface = \"192.0.2.10\"\nsip_tls_port = 5070\n\
         [private]\nsip_tls_port = 5070\nrtp_ports = \"30000-30999\"\n",
    );
    assert_eq!(e.field, "private.sip_tls_port");
    // IPv6 and IPv4 specific addresses never collide.
    ok(
        "[public]\ninterface = \"2001:db8::10\"\nsip_tls_port = 5070\n\
        [private]\ninterface = \"10.0.0.2\"\nsip_tls_port = 5070\n",
    );
}

#[test]
fn overlapping_rtp_ranges_on_the_same_interface_conflict() {
    let e = only_error("[private]\nrtp_ports = \"27000-29999\"\n");
    assert_names(&e, "private.rtp_ports", "\"27000-29999\"");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("public.rtp_ports"), "{e}");
    assert!(e.message.contains("UDP ports 27000-27999"), "{e}");
    // Disjoint ranges, or different interfaces: fine.
    ok("[private]\nrtp_ports = \"30000-39999\"\n");
    ok(&doc("", "", "rtp_ports = \"27000-29999\"", ""));
    // The very same range on the same address is one shared pool.
    let config =
        ok("[public]\nrtp_ports = \"40000-40999\"\n[private]\nrtp_ports = \"40000-40999\"\n");
    assert!(config.rtp_pool_shared());
    assert!(!ok(&doc("", "", "", "")).rtp_pool_shared());
    // Same range, but one side bound to an address and the other to all.
    let e = only_error("[public]\ninterface = \"192.0.2.10\"\n");
    assert_eq!(e.field, "private.rtp_ports");
    assert_eq!(e.kind, ErrorKind::Conflict);
}

#[test]
fn web_and_admin_ports_conflict_with_sip() {
    let e = only_error("[web]\nport = 5063\n");
    assert_names(&e, "web.port", "5063");
    assert!(e.message.contains("public.sip_tls_port"), "{e}");
    let e = only_error("[admin]\nlisten = \"0.0.0.0:5064\"\n");
    assert_names(&e, "admin.listen", "\"0.0.0.0:5064\"");
    assert!(e.message.contains("private.sip_tls_port"), "{e}");
    // A SIP port inside the same side's RTP range.
    let e = only_error(&doc(
        "",
        "protocols = \"tls+udp/tcp\"\nsip_port = 20000",
        "",
        "",
    ));
    assert_names(&e, "public.rtp_ports", "\"20000-27999\"");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains("public.sip_port"), "{e}");
    assert!(e.message.contains("UDP port 20000 on 192.0.2.10"), "{e}");
}

#[test]
fn daisy_chain_modes_require_the_peer() {
    for mode in ["daisy-chain-wan", "daisy-chain-lan"] {
        let e = only_error(&format!("mode = \"{mode}\"\n"));
        assert_eq!(e.field, "ipbx.address");
        assert_eq!(e.kind, ErrorKind::Inconsistent);
        assert_eq!(e.source, Source::Default);
        assert!(e.message.contains(mode), "{e}");
        assert!(
            e.to_string()
                .starts_with("ipbx.address (not set): inconsistent:"),
            "{e}"
        );
        let config = ok(&format!(
            "mode = \"{mode}\"\n[ipbx]\naddress = \"10.1.0.2\"\n"
        ));
        assert!(config.mode.is_daisy_chain());
    }
    ok("mode = \"standard\"\n");
}

#[test]
fn ipbx_transport_must_be_served_by_the_private_side() {
    let e = only_error("[ipbx]\ntransport = \"udp\"\n");
    assert_names(&e, "ipbx.transport", "\"udp\"");
    assert_eq!(e.kind, ErrorKind::Inconsistent);
    assert!(e.message.contains("private.protocols"), "{e}");
    let e = only_error("[private]\nprotocols = \"udp/tcp\"\n");
    assert_eq!(e.field, "ipbx.transport");
    ok("[private]\nprotocols = \"tls+udp/tcp\"\n[ipbx]\ntransport = \"tcp\"\n");
}

// --- all errors at once ------------------------------------------------------

#[test]
fn every_error_is_reported_together() {
    let text = r#"
        mode = "daisy-chain-wan"
        colour = "blue"
        [public]
        address = "300.1.2.3"
        interface = "0.0.0.0"
        sip_tls_port = 70000
        rtp_ports = "20000-20002"
        [private]
        protocols = "ssl"
        video = "yes"
        [web]
        port = 0
    "#;
    let e = errors(text);
    let got: Vec<(&str, ErrorKind)> = e.iter().map(|e| (e.field.as_str(), e.kind)).collect();
    assert_eq!(
        got,
        [
            ("colour", ErrorKind::UnknownKey),
            ("public.interface", ErrorKind::NotAllowed),
            ("public.address", ErrorKind::SyntaxError),
            ("public.sip_tls_port", ErrorKind::OutOfBounds),
            ("private.protocols", ErrorKind::NotAllowed),
            ("private.video", ErrorKind::WrongType),
            ("web.port", ErrorKind::OutOfBounds),
            ("public.rtp_ports", ErrorKind::OutOfBounds),
            ("ipbx.address", ErrorKind::Inconsistent),
        ],
        "{e}"
    );
    assert_eq!(e.len(), 9);
    for error in &e {
        if error.source != Source::Default {
            assert!(error.to_string().contains(&error.value), "{error}");
        }
        assert!(error.to_string().contains(&error.field), "{error}");
    }
    let text = e.to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("invalid configuration (9 errors):"));
    assert_eq!(lines.count(), 9);
    assert!(text.contains("\n  public.sip_tls_port = 70000: out of bounds: 70000 is not a port number, allowed 1..65535"), "{text}");
}

#[test]
fn a_toml_syntax_error_gives_line_and_column() {
    let e = only_error("mode = \"standard\"\n\n[public]\naddress = \"192.0.2.1\n");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
    assert_eq!(e.field, "");
    assert!(e.message.contains("line 4"), "{e}");
    assert!(
        e.to_string()
            .starts_with("syntax error: invalid TOML at line 4, column"),
        "{e}"
    );
}

// --- environment (OPS-1) ----------------------------------------------------

#[test]
fn environment_overrides_the_file() {
    let text = doc(
        "mode = \"standard\"",
        "address = \"203.0.113.10\"\nsip_tls_port = 5063",
        "",
        "",
    );
    let env = env_of(&[
        ("OUTPOST_PUBLIC_ADDRESS", "198.51.100.7"),
        ("OUTPOST_PUBLIC_SIP_TLS_PORT", "5071"),
        ("OUTPOST_IPBX_ADDRESS", "ipbx.corp.example"),
        ("OUTPOST_ADMIN_LISTEN", "0.0.0.0:9500"),
        ("OUTPOST_LOG_FORMAT", "json"),
        ("OUTPOST_LOG_LEVEL", "outpost=debug,info"),
        ("OUTPOST_FQDN", "gw.example.com"),
        ("OUTPOST_MODE", "daisy-chain-lan"),
        ("OUTPOST_PRIVATE_VIDEO", "no"),
        ("OUTPOST_DATA_DIR", "/ignored"),
        ("OUTPOST_NOT_A_SETTING", "whatever"),
    ]);
    let config = Config::from_toml_str(&text, &env).unwrap();
    assert_eq!(config.public.address, Some(ip("198.51.100.7")));
    assert_eq!(config.public.sip_tls_port, 5071);
    assert_eq!(
        config.ipbx.address,
        Some(IpbxHost::Name("ipbx.corp.example".to_owned()))
    );
    assert_eq!(config.admin.listen.to_string(), "0.0.0.0:9500");
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.log.level, "outpost=debug,info");
    assert_eq!(config.fqdn.as_deref(), Some("gw.example.com"));
    assert_eq!(config.mode, DeploymentMode::DaisyChainLan);
    assert!(!config.private.video);
    assert_eq!(config.data_dir, None, "OUTPOST_DATA_DIR belongs to the CLI");
    // Untouched keys keep the file's values.
    assert_eq!(config.public.interface, Some(ip("192.0.2.10")));
}

#[test]
fn an_empty_env_value_clears_an_optional_field() {
    let text = doc("", "address = \"203.0.113.10\"", "", "");
    let env = env_of(&[("OUTPOST_PUBLIC_ADDRESS", "")]);
    let config = Config::from_toml_str(&text, &env).unwrap();
    assert_eq!(config.public.address, None);
    assert_eq!(config.public.advertised_address(), Some(ip("192.0.2.10")));
}

#[test]
fn an_invalid_env_value_names_the_variable() {
    let env = env_of(&[("OUTPOST_PUBLIC_SIP_TLS_PORT", "70000")]);
    let e = Config::from_toml_str("[public]\nsip_tls_port = 5063\n", &env).unwrap_err();
    assert_eq!(e.len(), 1, "{e}");
    let e = &e.0[0];
    assert_eq!(
        e.source,
        Source::Env("OUTPOST_PUBLIC_SIP_TLS_PORT".to_owned())
    );
    assert_names(e, "public.sip_tls_port", "70000");
    assert_eq!(
        e.to_string(),
        "OUTPOST_PUBLIC_SIP_TLS_PORT=70000 (environment, public.sip_tls_port): out of bounds: \
         70000 is not a port number, allowed 1..65535"
    );

    let env = env_of(&[
        ("OUTPOST_PUBLIC_ADDRESS", "300.1.2.3"),
        ("OUTPOST_MODE", "chain"),
        ("OUTPOST_PRIVATE_VIDEO", "maybe"),
        ("OUTPOST_WEB_PORT", "http"),
    ]);
    let e = Config::from_toml_str("", &env).unwrap_err();
    let vars: Vec<_> = e
        .iter()
        .map(|e| match &e.source {
            Source::Env(var) => var.as_str(),
            other => panic!("expected an env source, got {other:?}"),
        })
        .collect();
    assert_eq!(
        vars,
        [
            "OUTPOST_MODE",
            "OUTPOST_PUBLIC_ADDRESS",
            "OUTPOST_PRIVATE_VIDEO",
            "OUTPOST_WEB_PORT"
        ],
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "OUTPOST_PUBLIC_ADDRESS=300.1.2.3 (environment, public.address): syntax error"
        ),
        "{e}"
    );
    // Blanks in a value are made visible.
    let env = env_of(&[("OUTPOST_PUBLIC_ADDRESS", "10.0.0.1 ")]);
    let e = Config::from_toml_str("", &env).unwrap_err();
    assert!(
        e.to_string()
            .contains("OUTPOST_PUBLIC_ADDRESS=\"10.0.0.1 \""),
        "{e}"
    );
}

#[test]
fn env_override_hides_the_file_value_it_replaces() {
    // The file's bad value is not in effect, so it is not reported.
    let env = env_of(&[("OUTPOST_PUBLIC_ADDRESS", "203.0.113.10")]);
    let config = Config::from_toml_str("[public]\naddress = \"bad\"\n", &env).unwrap();
    assert_eq!(config.public.address, Some(ip("203.0.113.10")));
}

#[test]
fn only_known_variables_are_read() {
    let asked = RefCell::new(Vec::new());
    let env = |name: &str| {
        asked.borrow_mut().push(name.to_owned());
        None
    };
    Config::from_toml_str("", &env).unwrap();
    let asked = asked.into_inner();
    assert_eq!(asked, env_var_names());
    assert!(!asked.contains(&"OUTPOST_DATA_DIR".to_owned()));
    // The names installers are told about (OPS-1), spot-checked by hand.
    let names = [
        "OUTPOST_PUBLIC_SIP_TLS_PORT",
        "OUTPOST_IPBX_ADDRESS",
        "OUTPOST_ADMIN_LISTEN",
        "OUTPOST_SIP_T1_MS",
    ];
    for var in names
        .into_iter()
        .chain(["OUTPOST_FQDN", "OUTPOST_MODE", "OUTPOST_LOG_FORMAT"])
    {
        assert!(asked.iter().any(|a| a == var), "{var} not read");
    }
    assert_eq!(
        asked.len(),
        58,
        "31 network/web/admin/log variables (MTLS and OTT terminals included), 1 [dns], 8 [sip], 8 [registration], 10 [media]"
    );
}

// --- defaults, files, the example --------------------------------------------

#[test]
fn an_empty_file_gives_the_defaults() {
    assert_eq!(ok(""), Config::default());
    assert_eq!(ok("# only a comment\n\n"), Config::default());
    let c = Config::default();
    assert_eq!(c.mode, DeploymentMode::Standard);
    assert_eq!(
        (c.public.sip_tls_port, c.private.sip_tls_port),
        (5063, 5064)
    );
    assert_eq!(c.public.protocols, Protocols::Tls);
    assert_eq!(c.ipbx.address, None);
    assert_eq!(Config::load(None, &no_env).unwrap(), Config::default());
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.toml");
    std::fs::write(&path, "[public]\nsip_tls_port = 0\n").unwrap();
    let e = Config::load(Some(&path), &no_env).unwrap_err();
    assert_eq!(e.0[0].source, Source::File(path.clone()));

    std::fs::write(&path, "[web]\nport = 8443\n").unwrap();
    assert_eq!(Config::load(Some(&path), &no_env).unwrap().web.port, 8443);

    let missing = dir.path().join("missing.toml");
    let e = Config::load(Some(&missing), &no_env).unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e.0[0].kind, ErrorKind::Unreadable);
    let line = e.0[0].to_string();
    assert!(line.contains(&missing.display().to_string()), "{line}");
    assert!(line.contains("os error"), "{line}");
}

/// What the example file must mean: the defaults plus the IP1..IP5 of a
/// NAT'ed deployment, a data directory and an FQDN.
fn example_config() -> Config {
    let mut expected = Config {
        fqdn: Some("sbc.example.com".to_owned()),
        data_dir: Some(PathBuf::from("outpost-data")),
        ..Config::default()
    };
    expected.public = SideConfig {
        interface: Some(ip("192.0.2.10")),
        address: Some(ip("203.0.113.10")),
        ..SideConfig::default_for(Side::Public)
    };
    expected.private = SideConfig {
        interface: Some(ip("10.0.0.2")),
        address: Some(ip("10.0.0.2")),
        ..SideConfig::default_for(Side::Private)
    };
    expected.ipbx.address = Some(IpbxHost::Name("ipbx.lan".to_owned()));
    expected.ipbx.ca_file = Some(PathBuf::from("/etc/outpost/ipbx-ca.pem"));
    expected.dns.servers = vec![std::net::SocketAddr::new(ip("10.0.0.53"), 53)];
    expected
}

#[test]
fn the_example_file_is_valid_and_says_what_we_mean() {
    let config = ok(EXAMPLE);
    assert_eq!(config, example_config());
    // The example spells out the defaults; make sure they are the ones meant.
    let (public, private) = (&config.public, &config.private);
    assert_eq!((public.sip_tls_port, private.sip_tls_port), (5063, 5064));
    assert_eq!(
        (public.protocols, private.protocols),
        (Protocols::Tls, Protocols::Tls)
    );
    assert_eq!(
        public.rtp_ports,
        PortRange {
            first: 20000,
            last: 27999
        }
    );
    assert_eq!(
        (config.ipbx.port, config.ipbx.transport),
        (5061, IpbxTransport::Tls)
    );
    assert_eq!((config.web.port, config.admin.listen.port()), (4445, 9464));
    assert_eq!(
        (config.log.format, config.log.level.as_str()),
        (LogFormat::Text, "info")
    );
    assert!(config.warnings().is_empty(), "{:?}", config.warnings());
}

#[test]
fn the_example_file_shows_every_key_and_env_var() {
    let table: toml::Table = EXAMPLE.parse().unwrap();
    for field in field_names() {
        let (t, key) = field.split_once('.').unwrap_or(("", &field));
        let scope = if t.is_empty() {
            Some(&table)
        } else {
            table.get(t).and_then(|v| v.as_table())
        };
        assert!(
            scope.is_some_and(|s| s.contains_key(key)),
            "{field} missing from the example"
        );
    }
    for var in env_var_names() {
        assert!(
            EXAMPLE.contains(&var),
            "{var} not documented in the example"
        );
    }
    for name in ["IP1", "IP2", "IP3", "IP4", "IP5"] {
        assert!(
            EXAMPLE.contains(name),
            "{name} not explained in the example"
        );
    }
}

#[test]
fn summary_describes_the_example() {
    let lines = example_config().summary_lines();
    let text = lines.join("\n");
    assert_eq!(lines[0], "mode: standard");
    assert!(text.contains("fqdn: sbc.example.com"), "{text}");
    assert!(
        text.contains("public side: bind 192.0.2.10, advertised 203.0.113.10 (NAT from 192.0.2.10), protocols tls (SIP/TLS 5063), RTP 20000-27999 (8000 ports, video)"),
        "{text}"
    );
    assert!(
        text.contains("private side: bind 10.0.0.2, advertised 10.0.0.2"),
        "{text}"
    );
    assert!(text.contains("iPBX: ipbx.lan port 5061 over tls"), "{text}");
    assert!(!text.contains("warning"), "{text}");
}

#[test]
fn the_firmware_server_is_an_optional_url() {
    assert_eq!(ok("").web.firmware_server, None);
    assert_eq!(
        ok("[web]\nfirmware_server = \"\"\n").web.firmware_server,
        None
    );
    for url in [
        "https://fw.example.com/6867i",
        "tftp://10.0.0.1/fw",
        "HTTP://fw",
    ] {
        let text = format!("[web]\nfirmware_server = \"{url}\"\n");
        assert_eq!(ok(&text).web.firmware_server.as_deref(), Some(url));
    }
    for bad in [
        "file:///etc/passwd",
        "fw.example.com",
        "https://a b",
        "https://",
    ] {
        let text = format!("[web]\nfirmware_server = \"{bad}\"\n");
        let e = errors(&text);
        assert!(e.to_string().contains("web.firmware_server"), "{e}");
    }
}
