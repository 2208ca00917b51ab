//! How each ICP is reached (PRO-1, SIG-9, NET-5): its targets (address,
//! transport, the name its TLS certificate must cover) in the order to
//! try, and which one is in use.
//!
//! - An ICP given by IP address gets its targets at once: one per
//!   transport it supports, in preference order, on the ICP's port, else
//!   `[ipbx] port` when its host is `[ipbx] address`, else the transport's
//!   default (5060, 5061 for TLS).
//! - An ICP given by host name gets them from DNS (RFC 3263, resolved off
//!   the core by the resolver task); until then, and when no target is
//!   left, its devices get no route and the B2BUA answers 503.
//! - Transport preference: `[ipbx] transport` when the ICP supports it,
//!   then TLS, TCP, UDP (the ICP record lists what the ICP supports).
//! - A target whose connection fails is skipped for [`DOWN_FOR`]; the next
//!   one is used (failover), and the first again once it is back.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use outpost_store::Icp;
use tracing::{info, warn};

use crate::config::Side;
use crate::transport::{Flow, TransportKind};

/// How long a target that failed is skipped.
pub const DOWN_FOR: Duration = Duration::from_secs(30);

/// What the `[ipbx]` table contributes to ICPs that leave it open.
#[derive(Debug, Clone, Default)]
pub struct RouteDefaults {
    /// `[ipbx] address`, as written.
    pub ipbx_host: Option<String>,
    /// `[ipbx] port`, for the ICP whose host is `[ipbx] address`.
    pub ipbx_port: Option<u16>,
    /// `[ipbx] transport`: preferred when the ICP supports it.
    pub preferred: Option<TransportKind>,
}

/// One way to reach an ICP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The flow to send on (private side, no connection yet).
    pub destination: Flow,
    /// The name the peer's TLS certificate must cover (RFC 5922 §4).
    pub server_name: String,
    /// The CA file the peer's TLS certificate is checked with (the ICP's).
    pub ca_file: Option<String>,
}

impl Target {
    /// A target at `addr` over `transport`.
    pub fn new(addr: SocketAddr, transport: TransportKind, server_name: String) -> Self {
        let unspecified = match addr.ip() {
            IpAddr::V4(_) => IpAddr::from([0, 0, 0, 0]),
            IpAddr::V6(_) => IpAddr::from([0u16; 8]),
        };
        Self {
            // The sender picks the side's socket of the right family.
            destination: Flow {
                side: Side::Private,
                transport,
                local: SocketAddr::new(unspecified, 0),
                peer: addr,
                connection: None,
            },
            server_name,
            ca_file: None,
        }
    }

    /// The same target, checked with `ca_file`.
    #[must_use]
    pub fn with_ca_file(mut self, ca_file: Option<String>) -> Self {
        self.ca_file = ca_file;
        self
    }
}

/// What the resolver is asked for an ICP given by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRequest {
    /// The ICP's name.
    pub icp: String,
    /// Its host name.
    pub host: String,
    /// Its port, when fixed (no SRV lookup then).
    pub port: Option<u16>,
    /// Transports it supports, in preference order.
    pub transports: Vec<TransportKind>,
}

#[derive(Debug)]
struct IcpRoute {
    /// What the targets were computed from.
    key: (String, Option<u16>, Vec<TransportKind>),
    targets: Vec<Target>,
    down_until: Vec<Option<Instant>>,
    /// For names: when the DNS answer expires (`None`: never resolved).
    valid_until: Option<Instant>,
    by_name: bool,
    /// A resolution was asked for and has not come back.
    resolving: bool,
    ca_file: Option<String>,
}

/// The routes to every ICP.
#[derive(Debug, Default)]
pub struct IcpRoutes {
    defaults: RouteDefaults,
    by_icp: HashMap<String, IcpRoute>,
}

impl IcpRoutes {
    /// No ICP yet; `defaults` from `[ipbx]`.
    pub fn new(defaults: RouteDefaults) -> Self {
        Self {
            defaults,
            by_icp: HashMap::new(),
        }
    }

    /// The transports `icp` supports, preferred first.
    pub fn transports(&self, icp: &Icp) -> Vec<TransportKind> {
        let supports = |t: TransportKind| match t {
            TransportKind::Udp => icp.sip_udp,
            TransportKind::Tcp => icp.sip_tcp,
            TransportKind::Tls => icp.sip_tls,
        };
        let mut order: Vec<TransportKind> = self.defaults.preferred.into_iter().collect();
        for t in [TransportKind::Tls, TransportKind::Tcp, TransportKind::Udp] {
            if !order.contains(&t) {
                order.push(t);
            }
        }
        order.into_iter().filter(|t| supports(*t)).collect()
    }

    /// What `icp`'s route is computed from: its host, its port when fixed
    /// (the ICP's, or `[ipbx] port` at `[ipbx] address`) and its
    /// transports, preferred first; what the resolver is asked for a name.
    pub fn request_for(&self, icp: &Icp) -> ResolveRequest {
        ResolveRequest {
            icp: icp.name.clone(),
            host: icp.host.clone(),
            port: self.port_of(icp),
            transports: self.transports(icp),
        }
    }

    /// The targets of `icp` in the order to try: at once for an ICP given
    /// by IP address, once resolved for a name.
    pub fn targets(&self, icp: &str) -> &[Target] {
        self.by_icp.get(icp).map_or(&[], |r| r.targets.as_slice())
    }

    fn port_of(&self, icp: &Icp) -> Option<u16> {
        icp.sip_port.or_else(|| {
            let same_host = self
                .defaults
                .ipbx_host
                .as_deref()
                .is_some_and(|h| h.eq_ignore_ascii_case(icp.host.trim_matches(['[', ']'])));
            self.defaults.ipbx_port.filter(|_| same_host)
        })
    }

    /// Takes the ICPs of a new directory snapshot: routes of unchanged
    /// ICPs are kept (with their DNS answers), others recomputed.
    pub fn update_icps<'a>(&mut self, icps: impl Iterator<Item = &'a Icp>) {
        let mut next = HashMap::new();
        for icp in icps {
            let request = self.request_for(icp);
            let key = (request.host, request.port, request.transports);
            let ca_file = icp.ca_file.clone();
            if let Some(route) = self
                .by_icp
                .remove(&icp.name)
                .filter(|r| r.key == key && r.ca_file == ca_file)
            {
                next.insert(icp.name.clone(), route);
                continue;
            }
            let host = icp.host.trim_matches(['[', ']']);
            let route = match host.parse::<IpAddr>() {
                Ok(ip) => {
                    let targets: Vec<Target> = key
                        .2
                        .iter()
                        .map(|t| {
                            let port = key.1.unwrap_or_else(|| default_port(*t));
                            Target::new(SocketAddr::new(ip, port), *t, ip.to_string())
                                .with_ca_file(ca_file.clone())
                        })
                        .collect();
                    if targets.is_empty() {
                        warn!(icp = %icp.name, "ICP supports no SIP transport: its devices cannot be reached");
                    }
                    IcpRoute {
                        down_until: vec![None; targets.len()],
                        targets,
                        key,
                        valid_until: None,
                        by_name: false,
                        resolving: false,
                        ca_file,
                    }
                }
                Err(_) => IcpRoute {
                    key,
                    targets: Vec::new(),
                    down_until: Vec::new(),
                    valid_until: None,
                    by_name: true,
                    resolving: false,
                    ca_file,
                },
            };
            next.insert(icp.name.clone(), route);
        }
        self.by_icp = next;
    }

    /// ICPs given by name whose DNS answer is missing or expired at `now`
    /// and not being resolved; they are marked as being resolved.
    pub fn take_due(&mut self, now: Instant) -> Vec<ResolveRequest> {
        let mut due: Vec<ResolveRequest> = self
            .by_icp
            .iter_mut()
            .filter(|(_, r)| r.by_name && !r.resolving && r.valid_until.is_none_or(|t| t <= now))
            .map(|(name, r)| {
                r.resolving = true;
                ResolveRequest {
                    icp: name.clone(),
                    host: r.key.0.clone(),
                    port: r.key.1,
                    transports: r.key.2.clone(),
                }
            })
            .collect();
        due.sort_by(|a, b| a.icp.cmp(&b.icp));
        due
    }

    /// A DNS answer for `icp`, valid until `valid_until`. Returns whether
    /// the targets changed.
    pub fn apply_resolution(
        &mut self,
        icp: &str,
        targets: Vec<Target>,
        valid_until: Instant,
    ) -> bool {
        let Some(route) = self.by_icp.get_mut(icp) else {
            return false;
        };
        route.resolving = false;
        route.valid_until = Some(valid_until);
        let targets: Vec<Target> = targets
            .into_iter()
            .map(|t| t.with_ca_file(route.ca_file.clone()))
            .collect();
        if route.targets == targets {
            return false;
        }
        info!(icp, targets = ?targets.iter().map(|t| (t.destination.peer, t.destination.transport.as_str())).collect::<Vec<_>>(), "ICP resolved");
        route.down_until = vec![None; targets.len()];
        route.targets = targets;
        true
    }

    /// The resolution of `icp` failed: the targets it had (if any) stay
    /// in use, and it is tried again at `retry_at`.
    pub fn resolution_failed(&mut self, icp: &str, retry_at: Instant) {
        if let Some(route) = self.by_icp.get_mut(icp) {
            route.resolving = false;
            route.valid_until = Some(retry_at);
        }
    }

    /// Every TLS target with the name and CA file its certificate is
    /// checked with.
    pub fn tls_targets(&self) -> impl Iterator<Item = &Target> {
        self.by_icp
            .values()
            .flat_map(|r| r.targets.iter())
            .filter(|t| t.destination.transport == TransportKind::Tls)
    }

    /// The target in use for `icp` at `now`: the first one not down; when
    /// all are down, the first (a failing ICP is still tried, so it is
    /// noticed when it comes back).
    pub fn current_at(&self, icp: &str, now: Instant) -> Option<Target> {
        let route = self.by_icp.get(icp)?;
        route
            .targets
            .iter()
            .zip(&route.down_until)
            .find(|(_, down)| down.is_none_or(|t| t <= now))
            .or_else(|| route.targets.iter().zip(&route.down_until).next())
            .map(|(t, _)| t.clone())
    }

    /// The port to write in URIs toward `icp`: the one configured (its
    /// own, or `[ipbx] port`), never a resolved target's, so that a
    /// failover or a new DNS answer does not change the device's ICP
    /// (RFC 3263: a URI without a port lets the next hop use SRV).
    pub fn uri_port(&self, icp: &str) -> Option<u16> {
        self.by_icp.get(icp).and_then(|r| r.key.1)
    }

    /// [`current_at`](Self::current_at) now.
    #[allow(clippy::disallowed_methods)] // the binary's clock; tests use current_at
    pub fn current(&self, icp: &str) -> Option<Target> {
        self.current_at(icp, Instant::now())
    }

    /// Connecting to `peer` over `transport` failed at `now`: every ICP
    /// target there is skipped for [`DOWN_FOR`]. Returns the ICPs that now
    /// use another target.
    pub fn mark_down(
        &mut self,
        peer: SocketAddr,
        transport: TransportKind,
        now: Instant,
    ) -> Vec<String> {
        let mut moved = Vec::new();
        for (name, route) in &mut self.by_icp {
            let mut hit = false;
            for (target, down) in route.targets.iter().zip(route.down_until.iter_mut()) {
                if target.destination.peer == peer && target.destination.transport == transport {
                    *down = Some(now + DOWN_FOR);
                    hit = true;
                }
            }
            if hit && route.targets.len() > 1 {
                moved.push(name.clone());
            }
        }
        for name in &moved {
            if let Some(next) = self.current_at(name, now) {
                warn!(icp = %name, failed = %peer, next = %next.destination.peer, "ICP target failed; using the next one");
            }
        }
        moved
    }
}

/// RFC 3261 §19.1.2 default ports.
pub fn default_port(transport: TransportKind) -> u16 {
    match transport {
        TransportKind::Tls => 5061,
        TransportKind::Udp | TransportKind::Tcp => 5060,
    }
}

#[cfg(test)]
mod tests;
