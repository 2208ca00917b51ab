//! `/metrics` of a freshly started `outpost serve` (issue 11 item 6): every
//! counter is there at 0 with each label set known at start, before any
//! event, and so are the gauges a dashboard plots. Run in a network
//! namespace of its own so the admin listener's default address is free.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use outpost_testbed::{Lab, require_tools, skip_e2e};

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A series as rendered: its name and its labels, sorted.
type Key = (String, Vec<(String, String)>);

/// The samples of a Prometheus text exposition, and each family's type.
fn parse(text: &str) -> (BTreeMap<Key, f64>, BTreeMap<String, String>) {
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.trim_end_matches('}');
                let mut pairs: Vec<(String, String)> = labels
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').expect("label=value");
                        (k.to_owned(), v.trim_matches('"').to_owned())
                    })
                    .collect();
                pairs.sort();
                (name, pairs)
            }
            None => (series, Vec::new()),
        };
        samples.insert((name.to_owned(), labels), value.parse().expect("number"));
    }
    (samples, types)
}

fn key(name: &str, labels: &[(&str, &str)]) -> Key {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    labels.sort();
    (name.to_owned(), labels)
}

/// Every counter series expected right after start with public TLS + UDP
/// + TCP and private UDP + TCP.
fn expected_counters() -> Vec<Key> {
    let flows = [
        ("public", "tls"),
        ("public", "udp"),
        ("public", "tcp"),
        ("private", "udp"),
        ("private", "tcp"),
    ];
    let mut expected = Vec::new();
    for (side, transport) in flows {
        for kind in ["request", "response"] {
            expected.push(key(
                "outpost_sip_messages_received_total",
                &[("side", side), ("transport", transport), ("kind", kind)],
            ));
        }
        let mut reasons = vec!["malformed", "overload", "transactions"];
        if transport != "udp" {
            reasons.push("framing");
        }
        if side == "public" {
            reasons.push("guard");
        }
        for reason in reasons {
            expected.push(key(
                "outpost_sip_rejected_total",
                &[("side", side), ("transport", transport), ("reason", reason)],
            ));
        }
    }
    for side in ["public", "private"] {
        for reason in ["per_source", "total"] {
            expected.push(key(
                "outpost_connections_refused_total",
                &[("side", side), ("reason", reason)],
            ));
        }
        expected.push(key("outpost_media_packets_total", &[("side", side)]));
        expected.push(key(
            "outpost_connect_failures_total",
            &[("side", side), ("stage", "connect")],
        ));
        expected.push(key("outpost_sip_send_dropped_total", &[("side", side)]));
    }
    // TLS only on the public side.
    expected.push(key(
        "outpost_tls_handshake_failures_total",
        &[("side", "public")],
    ));
    expected.push(key(
        "outpost_connect_failures_total",
        &[("side", "public"), ("stage", "tls")],
    ));
    for reason in [
        "denied_dos",
        "denied_bruteforce",
        "flood",
        "ddos",
        "not_allow_listed",
        "scanner",
        "enumeration",
        "toll_fraud",
        "brute_force",
    ] {
        expected.push(key("outpost_guard_dropped_total", &[("reason", reason)]));
    }
    for outcome in [
        "completed",
        "cancelled",
        "rejected",
        "no_answer",
        "failed",
        "media_timeout",
        "no_ack",
    ] {
        expected.push(key("outpost_calls_total", &[("outcome", outcome)]));
    }
    for reason in ["plain_rtcp", "short_srtcp_tag"] {
        expected.push(key(
            "outpost_media_srtp_nonconformant_total",
            &[("reason", reason)],
        ));
    }
    // ACME orders (issue 17): a dashboard alerts on failed from 0.
    for result in ["issued", "failed"] {
        expected.push(key("outpost_acme_orders_total", &[("result", result)]));
    }
    for name in [
        "outpost_auth_failures_total",
        "outpost_registration_failures_total",
        "outpost_calls_started_total",
        "outpost_media_timeouts_total",
        "outpost_media_srtp_auth_failures_total",
    ] {
        expected.push(key(name, &[]));
    }
    expected
}

/// Gauges a dashboard plots, present from the start.
fn expected_gauges() -> Vec<Key> {
    let mut expected = vec![
        key(
            "outpost_connections",
            &[("side", "public"), ("transport", "tls")],
        ),
        key(
            "outpost_connections",
            &[("side", "public"), ("transport", "tcp")],
        ),
        key(
            "outpost_connections",
            &[("side", "private"), ("transport", "tcp")],
        ),
        key("outpost_media_ports_in_use", &[("side", "public")]),
        key("outpost_media_ports_in_use", &[("side", "private")]),
        key("outpost_guard_list_size", &[("list", "allow")]),
        key("outpost_guard_list_size", &[("list", "dos")]),
        key("outpost_guard_list_size", &[("list", "bruteforce")]),
    ];
    for name in [
        "outpost_uptime_seconds",
        "outpost_sip_transactions",
        "outpost_registrations",
        "outpost_active_calls",
        "outpost_active_dialogs",
        "outpost_devices_connected",
        "outpost_devices_in_call",
        "outpost_devices_natted",
        "outpost_guard_global_rate",
    ] {
        expected.push(key(name, &[]));
    }
    expected
}

#[test]
fn every_counter_is_exported_at_zero_from_start() {
    if skip_e2e() {
        return;
    }
    require_tools(&["ip", "curl"], "the metrics-at-start test").unwrap();
    let lab = Lab::new("metrics0").unwrap();
    let inet = lab.network("inet", "198.18.8").unwrap();
    let lan = lab.network("lan", "198.18.9").unwrap();
    let host = lab.host_multi("gw", &[(&inet, 10), (&lan, 10)]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = host.command(env!("CARGO_BIN_EXE_outpost"));
    cmd.arg("--data-dir")
        .arg(data.path().join("outpost-data"))
        .arg("serve")
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("OUTPOST_PUBLIC_INTERFACE", "198.18.8.10")
        .env("OUTPOST_PUBLIC_PROTOCOLS", "tls+udp/tcp")
        .env("OUTPOST_PRIVATE_INTERFACE", "198.18.9.10")
        .env("OUTPOST_PRIVATE_PROTOCOLS", "udp/tcp")
        .env("OUTPOST_IPBX_ADDRESS", "198.18.9.20")
        .env("OUTPOST_IPBX_TRANSPORT", "udp")
        // Plain HTTP on loopback, for `metrics` (curl http://...).
        .env("OUTPOST_ADMIN_TLS", "false");
    let mut outpost = host.spawn(cmd, "outpost").unwrap();
    outpost
        .wait_for_log("admin listener up", START_TIMEOUT)
        .unwrap();

    // The gauges of the guard and the core are set by their tasks as they
    // start: wait for them, with a deadline.
    let counters = expected_counters();
    let gauges = expected_gauges();
    let deadline = Instant::now() + START_TIMEOUT;
    let (samples, types, text) = loop {
        let text = outpost_testbed::metrics(&host).unwrap();
        let (samples, types) = parse(&text);
        if gauges.iter().all(|g| samples.contains_key(g)) {
            break (samples, types, text);
        }
        let missing: Vec<&Key> = gauges.iter().filter(|g| !samples.contains_key(g)).collect();
        assert!(
            Instant::now() < deadline,
            "gauges missing after start: {missing:?}\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    for series in &counters {
        assert_eq!(
            samples.get(series),
            Some(&0.0),
            "{series:?} not exported at 0:\n{text}"
        );
        assert_eq!(
            types.get(&series.0).map(String::as_str),
            Some("counter"),
            "{}",
            series.0
        );
    }
    // Nothing else is a counter yet: the list above is the whole set.
    let unexpected: Vec<&Key> = samples
        .keys()
        .filter(|k| types.get(&k.0).map(String::as_str) == Some("counter"))
        .filter(|k| !counters.contains(k))
        .collect();
    assert!(unexpected.is_empty(), "unexpected counters: {unexpected:?}");
    // Every metric has its help text.
    for name in types.keys() {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no help for {name}"
        );
    }

    let status = outpost.stop().expect("reaped");
    assert!(status.success(), "{}", outpost.log_text());
}
