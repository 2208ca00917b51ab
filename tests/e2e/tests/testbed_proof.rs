//! Proof that the test bed itself works, before any Outpost is put in it:
//! real Kamailio, real baresip phones, real namespaces and NAT.
//!
//! Needs root (without it they skip themselves, reported as skipped),
//! iproute2, iptables, kamailio and baresip; a missing tool fails
//! the test with its name. `OUTPOST_SKIP_E2E=1` skips these tests.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use outpost_testbed::netns::list_namespaces;
use outpost_testbed::tone::assert_tone;
use outpost_testbed::{
    Direction, EventKind, Ipbx, IpbxConfig, Lab, MediaEnc, Phone, PhoneConfig, Transport, skip_e2e,
};

/// Deadline for SIP exchanges on a local bridge (they take milliseconds).
const SIP: Duration = Duration::from_secs(10);
/// Deadline for two seconds of audio to be recorded.
const AUDIO: Duration = Duration::from_secs(10);

fn ipbx_config() -> IpbxConfig {
    IpbxConfig::new([
        ("1001", "alpha-1001"),
        ("1002", "bravo-1002"),
        ("1003", "charlie-1003"),
    ])
    .realm("ipbx.test")
}

#[test]
fn call_through_kamailio_carries_both_tones() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("call").unwrap();
    let lan = lab.network("lan", "198.18.1").unwrap();
    let pbx_host = lab.host("ipbx", &lan, 10).unwrap();
    let a_host = lab.host("phone-a", &lan, 11).unwrap();
    let b_host = lab.host("phone-b", &lan, 12).unwrap();
    let mut ipbx = Ipbx::start(&pbx_host, ipbx_config()).unwrap();

    let mut b = Phone::start(
        &b_host,
        PhoneConfig::new("1002", "bravo-1002", ipbx.addr()).tone(700),
    )
    .unwrap();
    let mut a = Phone::start(
        &a_host,
        PhoneConfig::new("1001", "alpha-1001", ipbx.addr()).tone(1000),
    )
    .unwrap();
    b.wait_registered(SIP).unwrap();
    a.wait_registered(SIP).unwrap();

    a.dial(&a.config().uri_for("1002")).unwrap();
    let incoming = b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    assert!(
        incoming.peer_uri.contains("1001"),
        "caller seen by B: {incoming:?}"
    );
    b.answer().unwrap();
    a.wait_event(EventKind::CallEstablished, SIP).unwrap();
    b.wait_event(EventKind::CallEstablished, SIP).unwrap();

    let b_heard = b.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    let a_heard = a.wait_recording(Direction::Received, 2.0, AUDIO).unwrap();
    a.hangup().unwrap();
    a.wait_event(EventKind::CallClosed, SIP).unwrap();
    b.wait_event(EventKind::CallClosed, SIP).unwrap();

    // The call went through Kamailio, which challenged A's INVITE.
    ipbx.wait_log_line(&["INVITE from 198.18.1.11:", "auth=none -> 407"], SIP)
        .unwrap();
    ipbx.wait_log_line(&["INVITE from 198.18.1.11:", "user=1001 auth=ok"], SIP)
        .unwrap();
    ipbx.wait_log_line(&["INVITE from 198.18.1.11:", "-> 1002 relayed to"], SIP)
        .unwrap();

    let at_b = assert_tone(&b_heard, 1000.0, 15.0).unwrap();
    let at_a = assert_tone(&a_heard, 700.0, 15.0).unwrap();
    println!("B heard {at_b:?} in {}", b_heard.display());
    println!("A heard {at_a:?} in {}", a_heard.display());
}

#[test]
fn kamailio_rejects_a_wrong_password() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("badpw").unwrap();
    let lan = lab.network("lan", "198.18.1").unwrap();
    let pbx_host = lab.host("ipbx", &lan, 10).unwrap();
    let phone_host = lab.host("phone", &lan, 13).unwrap();
    let mut ipbx = Ipbx::start(&pbx_host, ipbx_config()).unwrap();

    let phone = Phone::start(
        &phone_host,
        PhoneConfig::new("1003", "not-the-password", ipbx.addr()),
    )
    .unwrap();
    let outcome = phone
        .wait_any(&[EventKind::RegisterOk, EventKind::RegisterFail], SIP)
        .unwrap();
    assert_eq!(
        outcome.kind,
        EventKind::RegisterFail,
        "events: {:?}",
        phone.events()
    );
    assert!(
        outcome.param.contains("403"),
        "REGISTER_FAIL param: {}",
        outcome.param
    );

    ipbx.wait_log_line(&["REGISTER from 198.18.1.13:", "auth=none -> 401"], SIP)
        .unwrap();
    ipbx.wait_log_line(
        &[
            "REGISTER from 198.18.1.13:",
            "user=1003 auth=failed",
            "-> 403",
        ],
        SIP,
    )
    .unwrap();
    assert!(
        !ipbx.log_lines().iter().any(|l| l.contains("auth=ok")),
        "nothing may be accepted: {:?}",
        ipbx.log_lines()
    );
}

#[test]
fn phone_behind_nat_arrives_from_the_router_address() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("nat").unwrap();
    let wan = lab.network("wan", "198.18.0").unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let pbx_host = lab.host("ipbx", &wan, 10).unwrap();
    let router = lab
        .nat_router("home-router", (&wan, 1), (&home, 1))
        .unwrap();
    let phone_host = lab.host_behind("phone", &home, 20, &router).unwrap();
    assert_eq!(router.ip_on(&wan).unwrap().to_string(), "198.18.0.1");
    let mut ipbx = Ipbx::start(&pbx_host, ipbx_config()).unwrap();

    let phone = Phone::start(
        &phone_host,
        PhoneConfig::new("1001", "alpha-1001", ipbx.addr()),
    )
    .unwrap();
    phone.wait_registered(SIP).unwrap();

    let line = ipbx
        .wait_log_line(&["REGISTER from 198.18.0.1:", "user=1001 auth=ok"], SIP)
        .unwrap();
    // The Contact still names the private address (no NAT fix-up in the
    // iPBX), but the packets came from the router.
    assert!(line.contains("198.19.1.20"), "{line}");
    let location = ipbx.location().unwrap();
    assert!(
        location
            .iter()
            .any(|b| b.aor == "1001" && b.contact.contains("198.19.1.20")),
        "location table: {location:?}"
    );
    assert!(
        !ipbx
            .log_lines()
            .iter()
            .any(|l| l.contains("from 198.19.1.20")),
        "a REGISTER arrived unNATed: {:?}",
        ipbx.log_lines()
    );
}

fn assert_gone(namespaces: &[String]) {
    let listed = list_namespaces().unwrap_or_else(|e| panic!("{e}"));
    for ns in namespaces {
        assert!(
            !listed.contains(ns),
            "namespace {ns} still exists: {listed:?}"
        );
    }
}

#[test]
fn lab_is_removed_after_drop_also_on_panic() {
    if skip_e2e() {
        return;
    }
    // Normal drop, with a process still running at the lab's end.
    let (names, dir, mut sleeper) = {
        let lab = Lab::new("drop").unwrap();
        let lan = lab.network("lan", "198.18.1").unwrap();
        let host = lab.host("h", &lan, 2).unwrap();
        lab.host("h2", &lan, 3).unwrap();
        let mut cmd = host.command("sleep");
        cmd.arg("300");
        let sleeper = host.spawn(cmd, "sleeper").unwrap();
        let names = lab.namespaces();
        assert_eq!(names.len(), 3, "hub + 2 hosts: {names:?}");
        let listed = list_namespaces().unwrap();
        assert!(
            names.iter().all(|n| listed.contains(n)),
            "{names:?} vs {listed:?}"
        );
        (names, lab.dir().to_path_buf(), sleeper)
    };
    assert_gone(&names);
    assert!(!dir.exists() || std::env::var("OUTPOST_KEEP_LAB").is_ok_and(|v| v == "1"));
    let status = outpost_testbed::wait_until("the sleeper to be killed by the lab", SIP, || {
        sleeper.try_wait_exit()
    })
    .unwrap();
    assert!(!status.success());

    // Drop while unwinding from a panic: namespaces gone, directory kept.
    let seen: Mutex<Option<(Vec<String>, PathBuf)>> = Mutex::new(None);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let lab = Lab::new("panic").unwrap();
        let lan = lab.network("lan", "198.18.1").unwrap();
        lab.host("h", &lan, 2).unwrap();
        *seen.lock().unwrap() = Some((lab.namespaces(), lab.dir().to_path_buf()));
        panic!("deliberate panic: the lab must still be removed");
    }));
    assert!(result.is_err());
    let (names, dir) = seen.lock().unwrap().take().unwrap();
    assert_eq!(names.len(), 2);
    assert_gone(&names);
    assert!(
        dir.exists(),
        "a panicking test keeps its lab directory for reading"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn namespaces_of_dead_test_processes_are_removed() {
    if skip_e2e() {
        return;
    }
    // A pid above pid_max cannot be alive.
    let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stale = format!("opt{}-{}-1", pid_max + 1, std::process::id());
    let status = std::process::Command::new("ip")
        .args(["netns", "add", &stale])
        .status()
        .unwrap();
    assert!(status.success());
    outpost_testbed::netns::remove_dead_namespaces();
    assert_gone(&[stale]);
}

#[test]
fn srtp_call_over_tcp_through_kamailio() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("srtp").unwrap();
    let lan = lab.network("lan", "198.18.1").unwrap();
    let pbx_host = lab.host("ipbx", &lan, 10).unwrap();
    let a_host = lab.host("phone-a", &lan, 11).unwrap();
    let b_host = lab.host("phone-b", &lan, 12).unwrap();
    let mut ipbx = Ipbx::start(&pbx_host, ipbx_config()).unwrap();
    let config = |user: &str, password: &str, hz: u32| {
        let mut c = PhoneConfig::new(user, password, ipbx.addr())
            .tone(hz)
            .transport(Transport::Tcp);
        c.mediaenc = Some(MediaEnc::SrtpMandatory);
        c
    };
    let mut b = Phone::start(&b_host, config("1002", "bravo-1002", 700)).unwrap();
    let mut a = Phone::start(&a_host, config("1001", "alpha-1001", 1000)).unwrap();
    b.wait_registered(SIP).unwrap();
    a.wait_registered(SIP).unwrap();
    a.dial(&a.config().uri_for("1002")).unwrap();
    b.wait_event(EventKind::CallIncoming, SIP).unwrap();
    b.answer().unwrap();
    a.wait_event(EventKind::CallEstablished, SIP).unwrap();
    let b_heard = b.wait_recording(Direction::Received, 1.0, AUDIO).unwrap();
    let a_heard = a.wait_recording(Direction::Received, 1.0, AUDIO).unwrap();
    b.hangup().unwrap();
    a.wait_event(EventKind::CallClosed, SIP).unwrap();
    ipbx.wait_log_line(
        &["INVITE from 198.18.1.11:", "relayed to", "transport=tcp"],
        SIP,
    )
    .unwrap();
    assert!(a.log_text().contains("SRTP is Enabled"), "{}", a.log_text());
    assert_tone(&b_heard, 1000.0, 15.0).unwrap();
    assert_tone(&a_heard, 700.0, 15.0).unwrap();
}
