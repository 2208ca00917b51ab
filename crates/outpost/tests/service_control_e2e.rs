//! Stopping and starting the SIP service through the REST API (OPS-2,
//! issue 14 acceptance): the SIP listeners close (UDP answers with ICMP
//! port unreachable, TLS refuses connections) and the phones are
//! unregistered from the iPBX, while the process, `/healthz` and the API
//! stay up; after a start the listeners answer again and a phone registers
//! again. Every change of state is audited; a read-scoped token cannot
//! stop it.
//!
//! `outpost serve` on 127.0.63.x with a fake iPBX; no root needed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod admin_bed;

use std::time::Duration;

use admin_bed::{Bed, wait_for};
use serde_json::Value;

const ANSWER: Duration = Duration::from_secs(2);

#[test]
fn the_sip_service_stops_and_starts_while_the_api_stays_up() {
    let mut bed = Bed::start(63, &[], &["service:write", "audit:read"]);

    // Running: OPTIONS answered, TLS port open, a phone registers.
    assert_eq!(bed.options_udp(ANSWER).unwrap(), Some(200));
    assert!(bed.tls_port_open());
    let (status, _) = bed.register();
    assert_eq!(status, 200, "{}", bed.log_text());
    let registered = bed.icp.asked();
    assert_eq!(registered, [3600], "one REGISTER toward the iPBX");
    let (status, body) = bed.api("GET", "/api/v1/service", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "running");
    let listeners: Vec<&str> = body["listeners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        listeners.contains(&format!("public/udp {}", bed.public(5060)).as_str()),
        "{listeners:?}"
    );

    // Stop: the answer comes once every SIP socket is closed.
    let (status, body) = bed.api("POST", "/api/v1/service/stop", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["after"]["state"], "stopped", "{body}");
    let refused = bed.options_udp(ANSWER);
    assert!(
        matches!(&refused, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "the UDP port still answers: {refused:?}"
    );
    assert!(!bed.tls_port_open(), "the TLS port still accepts");
    // The phone was unregistered from the iPBX.
    wait_for("the unregistration at the iPBX", ANSWER, || {
        bed.icp.asked().contains(&0).then_some(())
    });
    // The process and the admin listener are up.
    let (status, text) = bed.curl("GET", "/healthz", None, None);
    assert_eq!(status, 200, "{text}");
    let (_, body) = bed.api("GET", "/api/v1/service", None);
    assert_eq!(body["state"], "stopped");
    assert_eq!(body["listeners"], Value::Array(Vec::new()));
    // Stopping again changes nothing.
    let (status, body) = bed.api("POST", "/api/v1/service/stop", None);
    assert_eq!((status, body["changed"].clone()), (200, Value::Bool(false)));

    // Start: the listeners answer again, the phone registers again.
    let (status, body) = bed.api("POST", "/api/v1/service/start", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["after"]["state"], "running");
    assert_eq!(bed.options_udp(ANSWER).unwrap(), Some(200));
    assert!(bed.tls_port_open());
    let before = bed.icp.asked().len();
    let (status, _) = bed.register();
    assert_eq!(status, 200, "{}", bed.log_text());
    assert_eq!(
        bed.icp.asked()[before..],
        [3600],
        "registered toward the iPBX again"
    );

    // Restart in one call.
    let (status, body) = bed.api("POST", "/api/v1/service/restart", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["after"]["state"], "running");
    assert_eq!(bed.options_udp(ANSWER).unwrap(), Some(200));

    // Audited.
    let (status, body) = bed.api("GET", "/api/v1/audit?action=service.", None);
    assert_eq!(status, 200, "{body}");
    let actions: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["service.restart", "service.start", "service.stop"],
        "newest first"
    );

    // A token that may only read cannot stop it.
    let created = bed.cli(
        &[
            "token",
            "create",
            "--name",
            "watcher",
            "--scope",
            "service:read",
            "--json",
        ],
        &[],
    );
    let reader: Value = serde_json::from_str(created.trim()).unwrap();
    let reader = reader["token"].as_str().unwrap();
    let (status, body) = bed.api_as(reader, "POST", "/api/v1/service/stop", None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(bed.options_udp(ANSWER).unwrap(), Some(200));

    // The process still stops cleanly.
    let status = bed.stop().expect("outpost ran");
    assert!(status.success(), "{status:?}\n{}", bed.log_text());
}
