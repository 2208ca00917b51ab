//! The human summary logged at startup and printed by `check-config`.

use std::net::IpAddr;

use crate::model::{Config, Side, SideConfig};

impl Config {
    /// One line per topic: mode, FQDN, each side's bind and advertised
    /// addresses, protocols, ports and RTP range, the iPBX, web, admin, log,
    /// then the [`Config::warnings`] prefixed with `warning: `. Nothing in
    /// the configuration is secret yet, so everything is shown.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("mode: {}", self.mode)];
        lines.push(match &self.fqdn {
            Some(fqdn) => format!("fqdn: {fqdn}"),
            None => "fqdn: not set (the host name is used)".to_owned(),
        });
        for side in [Side::Public, Side::Private] {
            lines.push(self.side_line(self.side(side)));
        }
        if self.public.ott_terminals {
            lines.push(format!(
                "OTT terminals: supported, connecting to {} over TLS",
                self.fqdn.as_deref().unwrap_or("the FQDN (not set)")
            ));
        }
        let private = &self.private;
        if private.mtls {
            let ca = private
                .mtls_ca_file
                .as_ref()
                .map_or_else(|| "(not set)".to_owned(), |p| p.display().to_string());
            let name = private
                .mtls_peer_name
                .as_deref()
                .map_or_else(|| "any name".to_owned(), |n| format!("named {n}"));
            lines.push(format!(
                "MTLS on the private side: client certificates required, from the CA(s) of \
                 {ca}, {name}; Outpost presents its sip-private certificate to the iPBX"
            ));
        }
        lines.push(match &self.ipbx.address {
            Some(host) => format!(
                "iPBX: {host} port {} over {}",
                self.ipbx.port, self.ipbx.transport
            ),
            None => "iPBX: not configured".to_owned(),
        });
        lines.push(format!(
            "web services: TCP {} on the public side's bind address",
            self.web.port
        ));
        let scheme = if self.admin.tls { "https" } else { "http" };
        lines.push(format!("admin listener: {scheme}://{}", self.admin.listen));
        lines.push(format!(
            "log: {}, level {:?}",
            self.log.format, self.log.level
        ));
        let sip = &self.sip;
        lines.push(format!(
            "SIP: T1 {} ms, T2 {} ms, T4 {} ms; messages up to {} bytes; connections {} ({} per source), idle {} s; transactions {}",
            sip.t1_ms,
            sip.t2_ms,
            sip.t4_ms,
            sip.max_message_size,
            sip.max_connections,
            sip.max_connections_per_source,
            sip.idle_timeout_secs,
            sip.max_transactions
        ));
        let r = &self.registration;
        lines.push(format!(
            "registrations: phones {} s, iPBX {} s, heartbeat {}, trust registered connections: {}, digest {}, up to {} clients per device, {} clients in all; calls up to {}",
            r.phone_expiry_secs,
            r.icp_expiry_secs,
            if r.heartbeat_secs == 0 { "off".to_owned() } else { format!("{} s", r.heartbeat_secs) },
            if r.trust_registered_connection { "yes" } else { "no" },
            r.digest_algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "),
            r.max_bindings_per_device,
            r.max_registrations,
            r.max_calls
        ));
        let m = &self.media;
        lines.push(format!(
            "media: set side in {} / out {}, ICP side in {} / out {}; timeout {}; DSCP audio {} video {}; {}",
            m.set_side_inbound,
            m.set_side_outbound,
            m.icp_side_inbound,
            m.icp_side_outbound,
            if m.timeout_secs == 0 { "off".to_owned() } else { format!("{} s", m.timeout_secs) },
            m.dscp_audio,
            m.dscp_video,
            if m.strict_source { "strict source" } else { "latching" }
        ));
        if let Some(dir) = &self.data_dir {
            lines.push(format!("data directory: {}", dir.display()));
        }
        lines.extend(self.warnings().into_iter().map(|w| format!("warning: {w}")));
        lines
    }

    fn side_line(&self, s: &SideConfig) -> String {
        let bind = match s.interface {
            Some(ip) => ip.to_string(),
            None => "all interfaces".to_owned(),
        };
        let advertised = match (s.address, s.interface) {
            (Some(a), Some(i)) if a != i => format!("{a} (NAT from {i})"),
            (Some(a), _) | (None, Some(a)) => a.to_string(),
            (None, None) => "the address of the outgoing interface".to_owned(),
        };
        let mut listeners = Vec::new();
        if s.tls_enabled() {
            listeners.push(format!("SIP/TLS {}", s.sip_tls_port));
        }
        if s.plain_enabled() {
            listeners.push(format!("SIP UDP/TCP {}", s.sip_port));
        }
        let media = if s.video { "video" } else { "audio only" };
        let shared = if s.side == Side::Private && self.rtp_pool_shared() {
            ", one pool shared with the public side"
        } else {
            ""
        };
        format!(
            "{} side: bind {bind}, advertised {advertised}, protocols {} ({}), RTP {} ({} ports, {media}{shared})",
            s.side,
            s.protocols,
            listeners.join(", "),
            s.rtp_ports,
            s.rtp_ports.len()
        )
    }

    /// Settings that are valid but probably not what a production
    /// deployment wants; the binary logs them at warn level.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.ipbx.address.is_none() {
            warnings.push(
                "ipbx.address is not set: calls cannot reach an iPBX until it is configured"
                    .to_owned(),
            );
        }
        if self.fqdn.is_none() {
            warnings.push(
                "fqdn is not set: the host name goes into certificates and phone configuration"
                    .to_owned(),
            );
        }
        let admin = self.admin.listen.ip();
        if !admin.is_loopback() {
            warnings.push(format!(
                "admin.listen = {} is not a loopback address: /metrics and the admin API \
                 are reachable from the network unless a firewall blocks it",
                self.admin.listen
            ));
        }
        if self.private.mtls && self.private.plain_enabled() {
            warnings.push(format!(
                "private.mtls is on but private.protocols = \"{}\" also listens for plain \
                 UDP/TCP, where no client certificate is asked; set private.protocols = \"tls\" \
                 so that every trunk peer is authenticated",
                self.private.protocols
            ));
        }
        match self.public.advertised_address() {
            None => warnings.push(
                "the public side has neither address nor interface: SIP and SDP will carry the \
                 outgoing interface's address, which phones cannot reach through NAT; set \
                 public.address (IP1)"
                    .to_owned(),
            ),
            Some(ip) if is_local(ip) => warnings.push(format!(
                "the public side advertises {ip}, a private or loopback address that phones on \
                 the Internet cannot reach; with NAT, set public.address to the public address (IP1)"
            )),
            Some(_) => {}
        }
        warnings
    }
}

/// RFC 1918, loopback, link-local, and IPv6 unique-local addresses.
fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}
