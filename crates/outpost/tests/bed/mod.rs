//! The remote-worker test bed shared by the B2BUA and media tests: phone A
//! at home behind a NAT box speaking TLS to Outpost's public side, Outpost
//! between the Internet and the LAN, Kamailio (the iPBX) and phone B on the
//! LAN, both plain UDP.
//!
//!   A (198.19.1.20) ─ home ─ NAT (198.19.1.1 | 198.18.0.1) ─ inet ─
//!     (198.18.0.10) Outpost (198.18.2.10) ─ lan ─ Kamailio (198.18.2.20), B (198.18.2.30)
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use outpost_testbed::{
    DeviceSpec, Host, Ipbx, IpbxConfig, Lab, MediaEnc, Network, OutpostNode, OutpostSpec, Phone,
    PhoneConfig, Transport,
};

pub const SIP: Duration = Duration::from_secs(15);

/// Set side (what the phone knows) → ICP side (what the iPBX knows).
pub const ALICE: (&str, &str, &str, &str) = ("alice", "alice-Secret-1", "1001", "alpha-1001");
pub const BOB_ICP: (&str, &str) = ("1002", "bravo-1002");

pub struct Bed {
    // Field order is drop order: processes before the lab.
    pub a: Option<Phone>,
    pub gw: Host,
    pub b: Phone,
    pub outpost: OutpostNode,
    pub ipbx: Ipbx,
    pub a_host: Host,
    pub nat_router: Host,
    pub inet: Network,
    pub lan: Network,
    pub lab: Lab,
}

pub fn bed(tag: &str, extra_toml: &str) -> Bed {
    let lab = Lab::new(tag).unwrap();
    let home = lab.network("home", "198.19.1").unwrap();
    let inet = lab.network("inet", "198.18.0").unwrap();
    let lan = lab.network("lan", "198.18.2").unwrap();
    let router = lab.nat_router("nat", (&inet, 1), (&home, 1)).unwrap();
    let a_host = lab.host_behind("phone-a", &home, 20, &router).unwrap();
    let gw = lab
        .host_multi("outpost", &[(&inet, 10), (&lan, 10)])
        .unwrap();
    let pbx_host = lab.host("ipbx", &lan, 20).unwrap();
    let b_host = lab.host("phone-b", &lan, 30).unwrap();

    let ipbx = Ipbx::start(
        &pbx_host,
        IpbxConfig::new([(ALICE.2, ALICE.3), BOB_ICP]).realm("ipbx.test"),
    )
    .unwrap();
    let outpost = OutpostNode::start(
        &gw,
        &OutpostSpec {
            binary: env!("CARGO_BIN_EXE_outpost").into(),
            public: inet.clone(),
            private: lan.clone(),
            ipbx: ipbx.addr(),
            devices: vec![DeviceSpec::translated(ALICE.0, ALICE.1, ALICE.2, ALICE.3)],
            allow_list: vec![],
            devices_csv: None,
            extra_toml: format!("fqdn = \"{FQDN}\"\n{extra_toml}"),
            env: vec![(
                "SSLKEYLOGFILE".into(),
                lab.dir().join("outpost-tls-keys.txt").display().to_string(),
            )],
        },
    )
    .unwrap();
    a_host.add_hosts_entry(FQDN, outpost.public_ip()).unwrap();
    let b = Phone::start(
        &b_host,
        PhoneConfig::new(BOB_ICP.0, BOB_ICP.1, ipbx.addr()).tone(700),
    )
    .unwrap();
    b.wait_registered(SIP).unwrap();
    Bed {
        a: None,
        gw,
        b,
        outpost,
        ipbx,
        a_host,
        nat_router: router,
        inet,
        lan,
        lab,
    }
}

/// Outpost's public FQDN, in its certificate and in phone A's hosts file.
pub const FQDN: &str = "sbc.outpost.test";

pub fn phone_a_config(bed: &Bed, password: &str) -> PhoneConfig {
    let mut config =
        PhoneConfig::new(ALICE.0, password, bed.outpost.public_tls()).transport(Transport::Tls);
    config.ca_file = Some(bed.outpost.ca_file());
    config.domain = FQDN.to_owned();
    // The public side requires SRTP by default (MED-3).
    config.mediaenc = Some(MediaEnc::SrtpMandatory);
    config
}

pub fn start_a(bed: &mut Bed) {
    let a = Phone::start(&bed.a_host, phone_a_config(bed, ALICE.1)).unwrap();
    a.wait_registered(SIP).unwrap();
    bed.a = Some(a);
}

pub fn a(bed: &Bed) -> &Phone {
    bed.a.as_ref().expect("phone A started")
}

/// Polls Kamailio's location table until `check` holds for AoR `aor`.
pub fn wait_location(
    ipbx: &Ipbx,
    aor: &str,
    timeout: Duration,
    check: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let contacts: Vec<String> = ipbx
            .location()
            .unwrap()
            .into_iter()
            .filter(|b| b.aor == aor)
            .map(|b| b.contact)
            .collect();
        if check(&contacts) {
            return contacts;
        }
        assert!(
            Instant::now() < deadline,
            "location of {aor} never matched; now {contacts:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until both captures record packets: a TCP connect from the
/// Internet to the public TLS port, a UDP datagram from a LAN host to the
/// private side's `private_port`.
pub fn live_captures(
    bed: &Bed,
    public: &outpost_testbed::capture::Capture,
    private: &outpost_testbed::capture::Capture,
    private_port: u16,
) {
    let tls = std::net::SocketAddr::new(bed.outpost.public_ip().into(), 5063);
    public
        .wait_live(SIP, || {
            bed.nat_router
                .connect_tcp(tls, Duration::from_millis(500))
                .map(drop)
        })
        .unwrap();
    let prober = bed.lab.host("prober", &bed.lan, 99).unwrap();
    let lan = std::net::SocketAddr::new(bed.outpost.private_ip().into(), private_port);
    private
        .wait_live(SIP, || prober.send_udp(lan, b"\r\n\r\n"))
        .unwrap();
}
