//! Checks that involve more than one field: RTP range size against
//! `video`, daisy chain against `ipbx.address`, the iPBX transport against
//! the private side's listeners, sockets that would bind the same port,
//! plain HTTP on an admin listener off loopback, mutual TLS (its CA file,
//! TLS on the private side, not with OTT terminals) and OTT terminals
//! without an FQDN.
//! Fields that already failed to parse are left out, so one mistake is
//! reported once.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::error::{ErrorKind, FieldError, Source};
use crate::extract::{Extraction, Origin};
use crate::model::{Config, DeploymentMode, IpbxTransport, PortRange, Side};
use crate::values::rtp_bounds;

/// Adds the cross-field errors to the extraction's list.
pub(crate) fn validate(extraction: &mut Extraction) {
    let Extraction {
        config,
        errors,
        origins,
        invalid,
    } = extraction;
    let mut checker = Checker {
        config,
        origins,
        invalid,
        errors,
    };
    checker.rtp_sizes();
    checker.daisy_chain();
    checker.ipbx_transport();
    checker.bindings();
    checker.sip_timers();
    checker.expiries();
    checker.admin_tls();
    checker.mtls();
    checker.ott_terminals();
}

struct Checker<'a> {
    config: &'a Config,
    origins: &'a HashMap<String, Origin>,
    invalid: &'a HashSet<String>,
    errors: &'a mut Vec<FieldError>,
}

const SIDES: [Side; 2] = [Side::Public, Side::Private];

impl Checker<'_> {
    fn valid(&self, fields: &[&str]) -> bool {
        fields.iter().all(|f| !self.invalid.contains(*f))
    }

    /// Records an error on `field`, blaming where its value came from;
    /// `default_value` is shown when the default was in effect.
    fn blame(&mut self, field: &str, default_value: String, kind: ErrorKind, message: String) {
        let (source, value) = match self.origins.get(field) {
            Some(origin) => (origin.source.clone(), origin.value.clone()),
            None => (Source::Default, default_value),
        };
        self.errors.push(FieldError {
            field: field.to_owned(),
            value,
            source,
            kind,
            message,
        });
    }

    /// MED-1: 4 ports for an audio call, 8 with video.
    fn rtp_sizes(&mut self) {
        for side in SIDES {
            let s = self.config.side(side);
            let field = format!("{side}.rtp_ports");
            if !self.valid(&[&field, &format!("{side}.video")]) {
                continue;
            }
            let (got, need) = (s.rtp_ports.len(), s.min_rtp_ports());
            if got >= need {
                continue;
            }
            let requirement = if s.video {
                "at least 8 ports with video (4 audio-only)"
            } else {
                "at least 4 ports audio-only (8 with video)"
            };
            let PortRange { first, last } = s.rtp_ports;
            let message = format!(
                "an RTP range needs {requirement}; got {got} ({first}..={last}), allowed {}",
                rtp_bounds()
            );
            let shown = format!("\"{}\"", s.rtp_ports);
            self.blame(&field, shown, ErrorKind::OutOfBounds, message);
        }
    }

    /// RFC 3261 §17.1.2.2: T2 caps a doubling that starts at T1.
    fn sip_timers(&mut self) {
        let sip = &self.config.sip;
        if !self.valid(&["sip.t1_ms", "sip.t2_ms"]) || sip.t1_ms <= sip.t2_ms {
            return;
        }
        let message = format!(
            "T2 ({} ms) must not be shorter than T1 ({} ms): retransmissions start at T1 and double up to T2",
            sip.t2_ms, sip.t1_ms
        );
        let shown = sip.t2_ms.to_string();
        self.blame("sip.t2_ms", shown, ErrorKind::Inconsistent, message);
    }

    /// SIG-6: the iPBX binding must outlive the phone's, which refreshes it.
    fn expiries(&mut self) {
        let r = &self.config.registration;
        let fields = [
            "registration.phone_expiry_secs",
            "registration.icp_expiry_secs",
        ];
        if !self.valid(&fields) || r.phone_expiry_secs <= r.icp_expiry_secs {
            return;
        }
        let message = format!(
            "the iPBX-side expiry ({} s) must not be shorter than the phone-side expiry ({} s): Outpost refreshes the iPBX binding while the phone keeps refreshing its own",
            r.icp_expiry_secs, r.phone_expiry_secs
        );
        let shown = r.icp_expiry_secs.to_string();
        self.blame(fields[1], shown, ErrorKind::Inconsistent, message);
    }

    /// Issue 14: plain HTTP on the admin listener (sessions, tokens and
    /// passwords in the clear) only where the network cannot see it.
    fn admin_tls(&mut self) {
        let admin = &self.config.admin;
        if !self.valid(&["admin.listen", "admin.tls"])
            || admin.tls
            || admin.listen.ip().is_loopback()
        {
            return;
        }
        let message = format!(
            "admin.tls = false (plain HTTP) is allowed only on a loopback admin.listen \
             (127.0.0.1, ::1), and admin.listen = \"{}\" is reachable from the network, where \
             passwords, session cookies and API tokens would travel in the clear; set tls = true \
             (HTTPS with the gateway's certificate) or listen on a loopback address",
            admin.listen
        );
        self.blame(
            "admin.tls",
            "true".to_owned(),
            ErrorKind::Inconsistent,
            message,
        );
    }

    /// SIG-2: mutual TLS needs the CA that signs the peers' client
    /// certificates and a TLS listener on the private side, and excludes
    /// OTT terminals (the seeds: "L'utilisation des trunks MTLS empêche
    /// l'utilisation du mode OTT").
    fn mtls(&mut self) {
        let private = &self.config.private;
        if !self.valid(&["private.mtls"]) || !private.mtls {
            return;
        }
        if self.valid(&["public.ott_terminals"]) && self.config.public.ott_terminals {
            let message = "MTLS and OTT terminal support are mutually exclusive: private.mtls = \
                 true and public.ott_terminals = true cannot both be on; set private.mtls = \
                 false to support OTT terminals (Mitel Dialer, Unify Phone), or \
                 public.ott_terminals = false to keep mutual TLS for the trunks on the private \
                 side"
                .to_owned();
            self.blame(
                "private.mtls",
                "false".to_owned(),
                ErrorKind::Inconsistent,
                message,
            );
        }
        if self.valid(&["private.mtls_ca_file"]) && private.mtls_ca_file.is_none() {
            let message = "private.mtls = true requires private.mtls_ca_file, the PEM file of \
                 the CA(s) that sign the peers' client certificates (without it no client \
                 certificate can be checked); set private.mtls_ca_file, or private.mtls = false"
                .to_owned();
            self.blame(
                "private.mtls_ca_file",
                String::new(),
                ErrorKind::Inconsistent,
                message,
            );
        }
        if self.valid(&["private.protocols"]) && !private.tls_enabled() {
            let message = format!(
                "private.mtls = true but private.protocols = \"{}\" has no TLS on the private \
                 side, and mutual TLS needs a TLS listener; set private.protocols to tls or \
                 tls+udp/tcp, or private.mtls = false",
                private.protocols
            );
            self.blame(
                "private.mtls",
                "false".to_owned(),
                ErrorKind::Inconsistent,
                message,
            );
        }
    }

    /// NET-5: OTT clients connect to the public FQDN, which the
    /// `sip-public` certificate must cover.
    fn ott_terminals(&mut self) {
        if !self.valid(&["public.ott_terminals", "fqdn"])
            || !self.config.public.ott_terminals
            || self.config.fqdn.is_some()
        {
            return;
        }
        let message = "public.ott_terminals = true requires fqdn: OTT clients (Mitel Dialer, \
             Unify Phone) connect straight to the gateway's public FQDN over TLS, and the \
             sip-public certificate must cover that name; set fqdn to the name resolved on the \
             Internet to the public address, or public.ott_terminals = false"
            .to_owned();
        self.blame(
            "public.ott_terminals",
            "false".to_owned(),
            ErrorKind::Inconsistent,
            message,
        );
    }

    /// NET-4: a daisy-chain element needs the peer it forwards to.
    fn daisy_chain(&mut self) {
        let c = self.config;
        if !self.valid(&["mode", "ipbx.address"]) || !c.mode.is_daisy_chain() {
            return;
        }
        if c.ipbx.address.is_some() {
            return;
        }
        let role = match c.mode {
            DeploymentMode::DaisyChainWan => {
                "the WAN element sends every call from its private side to the LAN element: \
                 set ipbx.address to the LAN element's address"
            }
            _ => {
                "the LAN element forwards the WAN element's calls to the iPBX: \
                 set ipbx.address to the iPBX"
            }
        };
        let message = format!(
            "mode = \"{}\" requires ipbx.address (the peer element); {role}",
            c.mode
        );
        self.blame(
            "ipbx.address",
            String::new(),
            ErrorKind::Inconsistent,
            message,
        );
    }

    /// SIG-1: the private side must listen with the transport used toward
    /// the iPBX.
    fn ipbx_transport(&mut self) {
        if !self.valid(&["ipbx.transport", "private.protocols"]) {
            return;
        }
        let (transport, private) = (self.config.ipbx.transport, &self.config.private);
        let (ok, need, allowed) = match transport {
            IpbxTransport::Tls => (private.tls_enabled(), "TLS", "tls or tls+udp/tcp"),
            IpbxTransport::Tcp | IpbxTransport::Udp => {
                (private.plain_enabled(), "UDP/TCP", "tls+udp/tcp or udp/tcp")
            }
        };
        if ok {
            return;
        }
        let message = format!(
            "ipbx.transport = \"{transport}\" but private.protocols = \"{}\" has no {need} on the \
             private side; set private.protocols to {allowed}, or change ipbx.transport",
            private.protocols
        );
        self.blame(
            "ipbx.transport",
            format!("\"{transport}\""),
            ErrorKind::Inconsistent,
            message,
        );
    }

    /// Every socket the configuration asks for, from valid fields only.
    fn binding_list(&self) -> Vec<Binding> {
        let mut list = Vec::new();
        for side in SIDES {
            let s = self.config.side(side);
            if !self.valid(&[&format!("{side}.interface"), &format!("{side}.protocols")]) {
                continue;
            }
            let addr = s.bind_address();
            let mut push = |key: &str, udp, tcp, ports: PortRange, shown: String| {
                let field = format!("{side}.{key}");
                if !self.invalid.contains(&field) {
                    let rtp = key == "rtp_ports";
                    list.push(Binding {
                        field,
                        addr,
                        udp,
                        tcp,
                        ports,
                        rtp,
                        shown,
                    });
                }
            };
            if s.tls_enabled() {
                let port = s.sip_tls_port;
                push(
                    "sip_tls_port",
                    false,
                    true,
                    PortRange::single(port),
                    port.to_string(),
                );
            }
            if s.plain_enabled() {
                let port = s.sip_port;
                push(
                    "sip_port",
                    true,
                    true,
                    PortRange::single(port),
                    port.to_string(),
                );
            }
            push(
                "rtp_ports",
                true,
                false,
                s.rtp_ports,
                format!("\"{}\"", s.rtp_ports),
            );
        }
        if self.valid(&["public.interface", "web.port"]) {
            let port = self.config.web.port;
            list.push(Binding {
                field: "web.port".to_owned(),
                addr: self.config.public.bind_address(),
                udp: false,
                tcp: true,
                ports: PortRange::single(port),
                rtp: false,
                shown: port.to_string(),
            });
        }
        if self.valid(&["admin.listen"]) {
            let listen = self.config.admin.listen;
            list.push(Binding {
                field: "admin.listen".to_owned(),
                addr: listen.ip(),
                udp: false,
                tcp: true,
                ports: PortRange::single(listen.port()),
                rtp: false,
                shown: format!("\"{listen}\""),
            });
        }
        list
    }

    /// Two sockets on overlapping addresses, ports and transports cannot
    /// both bind. The one exception: the same RTP range on the same address
    /// on both sides is one shared pool ([`Config::rtp_pool_shared`]).
    fn bindings(&mut self) {
        let list = self.binding_list();
        for (j, b) in list.iter().enumerate() {
            for a in &list[..j] {
                if let Some(message) = conflict(a, b) {
                    self.blame(&b.field, b.shown.clone(), ErrorKind::Conflict, message);
                }
            }
        }
    }
}

/// A socket (or a range of them) the configuration would bind.
#[derive(Debug)]
struct Binding {
    field: String,
    addr: IpAddr,
    udp: bool,
    tcp: bool,
    ports: PortRange,
    rtp: bool,
    shown: String,
}

fn conflict(a: &Binding, b: &Binding) -> Option<String> {
    let (udp, tcp) = (a.udp && b.udp, a.tcp && b.tcp);
    let overlap_ports = a.ports.overlaps(&b.ports);
    if a.field == b.field || !(udp || tcp) || !overlap_ports || !addrs_overlap(a.addr, b.addr) {
        return None;
    }
    if a.rtp && b.rtp && a.ports == b.ports && a.addr == b.addr {
        return None;
    }
    let proto = match (udp, tcp) {
        (true, true) => "UDP and TCP",
        (true, false) => "UDP",
        _ => "TCP",
    };
    let common = PortRange {
        first: a.ports.first.max(b.ports.first),
        last: a.ports.last.min(b.ports.last),
    };
    let ports = if common.len() == 1 { "port" } else { "ports" };
    let place = if a.addr == b.addr {
        describe(a.addr)
    } else {
        format!("{} and {}", describe(a.addr), describe(b.addr))
    };
    let same_table = a.field.split('.').next() == b.field.split('.').next();
    let hint = if a.rtp && b.rtp {
        "use disjoint ranges or different interfaces (the very same range on the same \
         interface is shared as one pool)"
    } else if same_table {
        "give them different ports"
    } else {
        "give them different ports, or bind them to different interfaces"
    };
    Some(format!(
        "{} and {} would both bind {proto} {ports} {common} on {place}; {hint}",
        a.field, b.field
    ))
}

fn describe(ip: IpAddr) -> String {
    if ip.is_unspecified() {
        format!("all interfaces ({ip})")
    } else {
        ip.to_string()
    }
}

/// Whether two bind addresses can collide: equal, or one is a wildcard of
/// the other's family. `::` also covers IPv4, since Linux binds it
/// dual-stack by default.
fn addrs_overlap(a: IpAddr, b: IpAddr) -> bool {
    let covers =
        |wild: IpAddr, other: IpAddr| wild.is_unspecified() && (wild.is_ipv6() || other.is_ipv4());
    a == b || covers(a, b) || covers(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_their_family() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(addrs_overlap(ip("0.0.0.0"), ip("10.0.0.2")));
        assert!(addrs_overlap(ip("::"), ip("10.0.0.2")));
        assert!(addrs_overlap(ip("::"), ip("2001:db8::1")));
        assert!(!addrs_overlap(ip("0.0.0.0"), ip("2001:db8::1")));
        assert!(!addrs_overlap(ip("10.0.0.1"), ip("10.0.0.2")));
        assert!(addrs_overlap(ip("2001:db8::1"), ip("2001:db8::1")));
    }
}
