//! The lab's DNS server (dnsmasq in a namespace) answers A, SRV and NAPTR
//! queries from another host of the lab, with NXDOMAIN for unknown names.
//!
//! Needs root, iproute2 and dnsmasq; `OUTPOST_SKIP_E2E=1` skips it.

use std::net::Ipv4Addr;

use outpost_testbed::dns::{Dns, DnsRecords, qtype};
use outpost_testbed::{Lab, skip_e2e};

#[test]
fn lab_dns_serves_naptr_srv_and_a_records() {
    if skip_e2e() {
        return;
    }
    let lab = Lab::new("dns").unwrap();
    let lan = lab.network("lan", "198.18.1").unwrap();
    let records = DnsRecords::new()
        .ttl(30)
        .a("pbx1.ipbx.test", Ipv4Addr::new(198, 18, 1, 10))
        .a("pbx2.ipbx.test", Ipv4Addr::new(198, 18, 1, 11))
        .srv("_sip._udp.ipbx.test", "pbx1.ipbx.test", 5060, 10, 0)
        .srv("_sip._udp.ipbx.test", "pbx2.ipbx.test", 5060, 20, 0)
        .naptr("ipbx.test", 10, 10, "SIP+D2U", "_sip._udp.ipbx.test");
    let dns = Dns::start(&lab.host("dns", &lan, 53).unwrap(), &records).unwrap();
    assert_eq!(dns.addr().to_string(), "198.18.1.53:53");
    let client = lab.host("client", &lan, 1).unwrap();

    let naptr = dns.query(&client, "ipbx.test", qtype::NAPTR).unwrap();
    assert_eq!((naptr.rcode, naptr.answers), (0, 1), "{naptr:?}");
    let srv = dns
        .query(&client, "_sip._udp.ipbx.test", qtype::SRV)
        .unwrap();
    assert_eq!((srv.rcode, srv.answers), (0, 2), "{srv:?}");
    assert_eq!(srv.additionals, 2, "SRV targets' addresses as additionals");
    let a = dns.query(&client, "pbx2.ipbx.test", qtype::A).unwrap();
    assert_eq!((a.rcode, a.answers), (0, 1), "{a:?}");
    let missing = dns.query(&client, "nosuch.ipbx.test", qtype::A).unwrap();
    assert_eq!(missing.rcode, 3, "NXDOMAIN: {missing:?}");

    let log = dns.log_text();
    assert!(
        log.contains("query[SRV] _sip._udp.ipbx.test from 198.18.1.1"),
        "{log}"
    );
}
