//! A DNS server for the lab: dnsmasq in a host's namespace, answering on
//! port 53 of the host's address with the A, SRV and NAPTR records a test
//! gives it, so Outpost can reach an iPBX by name (RFC 3263) as it would in
//! a real installation.
//!
//! dnsmasq runs with no upstream server, no `/etc/hosts` and no DHCP; every
//! record has the same TTL ([`DnsRecords::ttl`]); names under the local
//! domain ([`DnsRecords::local_domain`], `test` by default) that have no
//! record get NXDOMAIN, other names REFUSED. Every query is logged
//! (`query[SRV] _sip._udp.ipbx.test from 198.18.1.1`), so a test can check
//! what Outpost asked ([`Dns::log_text`]).
//!
//! Readiness, and [`Dns::query`], use a DNS query built by hand and sent
//! from inside a lab host (no `dig` needed).
//!
//! ```no_run
//! use outpost_testbed::dns::{Dns, DnsRecords};
//! # fn main() -> Result<(), outpost_testbed::TestbedError> {
//! # let lab = outpost_testbed::Lab::new("dns")?;
//! # let lan = lab.network("lan", "198.18.1")?;
//! let records = DnsRecords::new()
//!     .a("pbx1.ipbx.test", "198.18.1.10".parse().unwrap())
//!     .srv("_sips._tcp.ipbx.test", "pbx1.ipbx.test", 5061, 10, 0)
//!     .naptr("ipbx.test", 10, 10, "SIPS+D2T", "_sips._tcp.ipbx.test");
//! let dns = Dns::start(&lab.host("dns", &lan, 53)?, &records)?;
//! println!("[dns] servers = [\"{}\"]", dns.addr());
//! # Ok(())
//! # }
//! ```

use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use crate::netns::Host;
use crate::process::Process;
use crate::wait::wait_until_or;
use crate::{Result, TestbedError, find_in_path, log_tail, require_tools};

/// How long [`Dns::start`] waits for the first answer.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Query types for [`Dns::query`].
pub mod qtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service location (RFC 2782).
    pub const SRV: u16 = 33;
    /// Naming authority pointer (RFC 3403).
    pub const NAPTR: u16 = 35;
}

/// The records the lab's DNS serves.
#[derive(Clone, Debug)]
pub struct DnsRecords {
    ttl: u32,
    local_domain: String,
    lines: Vec<String>,
    /// The first A record's name, queried for readiness.
    probe: Option<String>,
}

impl Default for DnsRecords {
    fn default() -> Self {
        Self::new()
    }
}

impl DnsRecords {
    /// No records, TTL 60 s, local domain `test`.
    pub fn new() -> Self {
        Self {
            ttl: 60,
            local_domain: "test".to_owned(),
            lines: Vec::new(),
            probe: None,
        }
    }

    /// The TTL of every record, in seconds.
    pub fn ttl(mut self, seconds: u32) -> Self {
        self.ttl = seconds;
        self
    }

    /// The domain whose unknown names get NXDOMAIN (default `test`).
    pub fn local_domain(mut self, domain: &str) -> Self {
        self.local_domain = domain.to_owned();
        self
    }

    /// An A record.
    pub fn a(mut self, name: &str, ip: Ipv4Addr) -> Self {
        self.probe.get_or_insert_with(|| name.to_owned());
        self.lines.push(format!("host-record={name},{ip}"));
        self
    }

    /// An SRV record: `name` is the full owner name
    /// (`_sip._udp.ipbx.test`).
    pub fn srv(mut self, name: &str, target: &str, port: u16, priority: u16, weight: u16) -> Self {
        self.lines.push(format!(
            "srv-host={name},{target},{port},{priority},{weight}"
        ));
        self
    }

    /// A NAPTR record with flag `s` and no regexp, as RFC 3263 uses them:
    /// `service` is `SIPS+D2T`, `SIP+D2T` or `SIP+D2U`, `replacement` the
    /// SRV owner name to look up next.
    pub fn naptr(
        mut self,
        name: &str,
        order: u16,
        preference: u16,
        service: &str,
        replacement: &str,
    ) -> Self {
        self.lines.push(format!(
            "naptr-record={name},{order},{preference},s,{service},,{replacement}"
        ));
        self
    }

    /// The dnsmasq configuration file serving these records on `listen`.
    pub fn render_config(&self, listen: SocketAddrV4) -> Result<String> {
        check("local domain", &self.local_domain)?;
        for line in &self.lines {
            let (_, values) = line.split_once('=').unwrap_or(("", line));
            for value in values.split(',') {
                check("record field", value)?;
            }
        }
        let mut text = String::new();
        let _ = writeln!(text, "# Outpost test bed: the lab's DNS server");
        for fixed in [
            "keep-in-foreground",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "bind-interfaces",
            "log-queries",
            "log-facility=-",
            // No pid file: labs run in parallel and /run is shared.
            "pid-file",
        ] {
            let _ = writeln!(text, "{fixed}");
        }
        let _ = writeln!(text, "listen-address={}", listen.ip());
        let _ = writeln!(text, "port={}", listen.port());
        let _ = writeln!(text, "local=/{}/", self.local_domain);
        let _ = writeln!(text, "local-ttl={}", self.ttl);
        for line in &self.lines {
            let _ = writeln!(text, "{line}");
        }
        Ok(text)
    }
}

/// Values pasted into dnsmasq's configuration: names, numbers and NAPTR
/// services only, so no value can add an option.
fn check(kind: &str, value: &str) -> Result<()> {
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.+/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(TestbedError::Config(format!(
            "DNS {kind} `{value}` must be ASCII letters, digits or -_.+/"
        )))
    }
}

/// The lab's running DNS server.
#[derive(Debug)]
pub struct Dns {
    process: Process,
    addr: SocketAddrV4,
    netns: String,
    config_path: PathBuf,
}

/// What a [`Dns::query`] got back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsReply {
    /// The response code: 0 NOERROR, 3 NXDOMAIN, 5 REFUSED.
    pub rcode: u8,
    /// Records in the answer section.
    pub answers: u16,
    /// Records in the additional section.
    pub additionals: u16,
}

impl Dns {
    /// Writes the configuration into the lab directory, starts dnsmasq in
    /// `host` on port 53 of the host's first address, and waits until it
    /// answers a query sent from inside the host.
    pub fn start(host: &Host, records: &DnsRecords) -> Result<Self> {
        require_tools(&["dnsmasq"], "the lab's DNS server")?;
        let program = find_in_path("dnsmasq").unwrap_or_else(|| PathBuf::from("dnsmasq"));
        let addr = SocketAddrV4::new(host.ip(), 53);
        let config_path = host
            .lab()
            .unique_path(&format!("dnsmasq-{}", host.name()), ".conf");
        std::fs::write(&config_path, records.render_config(addr)?)
            .map_err(|e| TestbedError::io("writing the dnsmasq configuration", &config_path, e))?;
        let mut cmd = host.command(program);
        cmd.arg(format!("--conf-file={}", config_path.display()));
        let mut process = host.spawn(cmd, &format!("dnsmasq-{}", host.name()))?;
        process.set_stop_grace(Duration::from_secs(2));
        let probe = records
            .probe
            .clone()
            .unwrap_or_else(|| format!("ready.{}", records.local_domain));
        let log = process.log_path().to_path_buf();
        let mut dns = Self {
            process,
            addr,
            netns: host.netns().to_owned(),
            config_path,
        };
        wait_until_or(
            &format!("dnsmasq to answer on {addr} in {}", host.netns()),
            START_TIMEOUT,
            |note| {
                dns.process
                    .ensure_running("starting (check the configuration)")?;
                match query_in_netns(&dns.netns, dns.addr, &probe, qtype::A) {
                    Ok(_) => Ok(Some(())),
                    Err(e) => {
                        *note = format!("last query: {e}");
                        Ok(None)
                    }
                }
            },
            || format!("last lines of {}:\n{}", log.display(), log_tail(&log)),
        )?;
        Ok(dns)
    }

    /// Where it listens (port 53 of the host's first address): what goes
    /// into Outpost's `[dns] servers`.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// The configuration file it runs with.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// Its log so far: start-up lines, then one `query[TYPE] name from ip`
    /// line per query and one line per answer.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    /// Sends one query from inside `from` (any host of the lab that can
    /// reach the server) and returns the reply's code and counts.
    pub fn query(&self, from: &Host, name: &str, qtype: u16) -> Result<DnsReply> {
        query_in_netns(from.netns(), self.addr, name, qtype).map_err(|e| {
            TestbedError::Config(format!(
                "DNS query {name} type {qtype} to {} from {}: {e}",
                self.addr,
                from.name()
            ))
        })
    }
}

/// Sends a query from a UDP socket made inside namespace `netns` (by a
/// short-lived thread that entered it; the socket keeps the namespace) and
/// waits up to 500 ms for the reply.
fn query_in_netns(
    netns: &str,
    server: SocketAddrV4,
    name: &str,
    qtype: u16,
) -> std::io::Result<DnsReply> {
    let path = PathBuf::from("/run/netns").join(netns);
    let socket = std::thread::spawn(move || -> std::io::Result<UdpSocket> {
        let ns = File::open(&path)?;
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )?;
        UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
    })
    .join()
    .map_err(|_| std::io::Error::other("socket thread panicked"))??;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    // Any id will do: one socket, one query.
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0x4f50);
    socket.send_to(&build_query(id, name, qtype)?, SocketAddr::V4(server))?;
    let mut buf = [0u8; 1500];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        if from == SocketAddr::V4(server) {
            if let Some(reply) = parse_reply(&buf[..n], id) {
                return Ok(reply);
            }
        }
    }
}

/// A standard query (RFC 1035 §4.1) for `name`, class IN, recursion
/// desired.
pub fn build_query(id: u16, name: &str, qtype: u16) -> std::io::Result<Vec<u8>> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))
            .ok_or_else(|| std::io::Error::other(format!("bad DNS label `{label}` in {name}")))?;
        q.push(len);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// The code and counts of a response to query `id`; `None` for anything
/// else.
pub fn parse_reply(msg: &[u8], id: u16) -> Option<DnsReply> {
    let header = msg.get(..12)?;
    let is_response = header[2] & 0x80 != 0;
    if u16::from_be_bytes([header[0], header[1]]) != id || !is_response {
        return None;
    }
    Some(DnsReply {
        rcode: header[3] & 0x0f,
        answers: u16::from_be_bytes([header[6], header[7]]),
        additionals: u16::from_be_bytes([header[10], header[11]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lists_every_record_and_the_ttl() {
        let records = DnsRecords::new()
            .ttl(30)
            .a("pbx1.ipbx.test", Ipv4Addr::new(198, 18, 1, 10))
            .srv("_sip._udp.ipbx.test", "pbx1.ipbx.test", 5060, 10, 5)
            .naptr("ipbx.test", 10, 20, "SIP+D2U", "_sip._udp.ipbx.test");
        let text = records
            .render_config(SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 53), 53))
            .unwrap();
        for line in [
            "listen-address=198.18.1.53",
            "port=53",
            "local=/test/",
            "local-ttl=30",
            "host-record=pbx1.ipbx.test,198.18.1.10",
            "srv-host=_sip._udp.ipbx.test,pbx1.ipbx.test,5060,10,5",
            "naptr-record=ipbx.test,10,20,s,SIP+D2U,,_sip._udp.ipbx.test",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn values_cannot_inject_options() {
        let records = DnsRecords::new().a("x.test\nserver=8.8.8.8", Ipv4Addr::LOCALHOST);
        let err = records
            .render_config(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 53))
            .unwrap_err();
        assert!(err.to_string().contains("must be ASCII"), "{err}");
    }

    #[test]
    fn query_bytes_and_reply_header() {
        let q = build_query(0x1234, "a.test.", qtype::SRV).unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 4, b't', b'e', b's', b't', 0, 0,
                33, 0, 1
            ]
        );
        assert!(build_query(1, "a..test", qtype::A).is_err());
        let mut reply = q.clone();
        reply[2] |= 0x80;
        reply[3] = 3;
        reply[7] = 2;
        assert_eq!(
            parse_reply(&reply, 0x1234),
            Some(DnsReply {
                rcode: 3,
                answers: 2,
                additionals: 0
            })
        );
        assert_eq!(parse_reply(&reply, 0x1235), None, "other id");
        assert_eq!(parse_reply(&q, 0x1234), None, "a query is not a reply");
        assert_eq!(parse_reply(&q[..5], 0x1234), None);
    }
}
