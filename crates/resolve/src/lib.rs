//! Outpost server location: turns an ICP's host (IP address or DNS name),
//! optional port and SIP transports into an ordered list of targets to try,
//! following RFC 3263 §4 ("Locating a SIP Server").
//!
//! What it does:
//! - [`Plan`] is the RFC 3263 §4.1/§4.2 logic, sans-IO: it says which DNS
//!   queries to make ([`Plan::poll_queries`]), takes their answers
//!   ([`Plan::handle_answer`]) and builds the [`Resolution`]
//!   ([`Plan::finish`]) with the time (`now`) and the random source of the
//!   RFC 2782 weighted ordering passed in. Its tests need no network.
//!   - an IP literal (`192.0.2.10`, `2001:db8::1`, `[2001:db8::1]`) needs no
//!     lookup: one target per transport, on the given port or the
//!     transport's default (5060 UDP/TCP, 5061 TLS);
//!   - a name with a port: A/AAAA only (RFC 3263 §4.2: no SRV when a port is
//!     given);
//!   - a name without a port: NAPTR (services `SIPS+D2T`, `SIP+D2T`,
//!     `SIP+D2U` of the ICP's transports, by order then preference), then
//!     the SRV records they point to; without NAPTR, SRV `_sips._tcp`,
//!     `_sip._tcp`, `_sip._udp`; without SRV, A/AAAA on the default ports
//!     (RFC 3263 §4.1, §4.2). SRV records are ordered per RFC 2782
//!     (priority, then weighted random order) and each SRV target is
//!     expanded to its addresses, from the additional section when the
//!     server put them there.
//! - [`Resolver`] drives a [`Plan`] with `hickory-resolver` on tokio, from
//!   `/etc/resolv.conf` ([`Resolver::system`]) or given servers
//!   ([`Resolver::with_servers`]); the queries of one step run concurrently.
//!   [`Resolver::resolve_traced`] also returns every lookup with how long
//!   it took, whether or not the resolution succeeded (`outpost icps
//!   test`).
//!   As hickory does by default, `/etc/hosts` answers A/AAAA queries before
//!   the DNS (such entries count as valid for a day).
//!
//! The transport rule. The ICP record lists the transports the iPBX
//! supports; Outpost treats that list as the administrator's statement of
//! what the server supports, i.e. what RFC 3263 §4.1 otherwise learns from
//! NAPTR. Every supported transport is a candidate and the candidates are
//! tried in this order: the `preferred` transport (when it is supported;
//! like a URI's `transport` parameter, which "SHOULD be used"), then TLS,
//! TCP, UDP. RFC 3263 §4.1 says that without a transport parameter, for a
//! numeric IP address or a name with an explicit port, "the client SHOULD
//! use UDP for a SIP URI", because "UDP is the only mandatory transport in
//! RFC 2543, and thus the only one guaranteed to be interoperable for a SIP
//! URI". That reason does not apply once the administrator has said which
//! transports the iPBX speaks, and TLS is what lets Outpost verify the iPBX
//! (RFC 5922), so TLS comes first and UDP last. The same order applies to IP
//! literals and to names with a port (transport-major: every address over
//! the first transport, then every address over the next), and to the SRV
//! queries made without NAPTR ("the client MAY use any transport protocol
//! it desires which is supported by the server", RFC 3263 §4.1). With NAPTR
//! records the DNS order (order, then preference) is kept, except that the
//! `preferred` transport's records move first.
//!
//! TLS identity: every target's [`Target::server_name`] is the host the
//! administrator configured (or the IP literal), never an SRV target or a
//! NAPTR replacement, per RFC 5922 §4: the certificate must cover the
//! domain of the URI that was resolved, because DNS answers are not
//! trusted.
//!
//! Expiry: [`Resolution::valid_until`] is `now` plus the smallest TTL of
//! the records that produced a target and of the negative answers that
//! steered the lookup (their SOA minimum, when the server sent one),
//! clamped to [1 s, 1 day]; a partial failure (one SRV lookup timed out
//! while another answered) caps it at 30 s so the caller retries soon.
//! Nothing is cached here: the caller keeps the targets and resolves again
//! after `valid_until`. hickory's own cache is left on (its default size):
//! it decrements the TTLs of cached records, so the TTLs seen here, and
//! `valid_until`, stay true.
//!
//! What it does not do:
//! - no connects and no failure detection (RFC 3263 §4.3): the caller walks
//!   [`Resolution::targets`] and moves on when one does not answer;
//! - no `sips:` URI rules: the transports come from the ICP record;
//! - no SCTP (`SIP+D2S`) and no WebSocket;
//! - no address-family choice: IPv4 addresses come before IPv6 ones of the
//!   same name, and the caller skips the family its interface cannot reach;
//! - no reading of the clock: `now` is a parameter (clippy enforces it).
//!
//! ```no_run
//! use std::time::Instant;
//! use outpost_resolve::{Resolver, Transport};
//!
//! # async fn example() -> Result<(), outpost_resolve::ResolveError> {
//! let resolver = Resolver::with_servers(&["192.0.2.53:53".parse().unwrap()])?;
//! let now = Instant::now(); // the binary's clock
//! let icp = resolver
//!     .resolve("ipbx.example.com", None, &[Transport::Udp, Transport::Tls], None, now)
//!     .await?;
//! for step in &icp.steps {
//!     println!("{step}"); // NAPTR ipbx.example.com: ipbx.example.com. 300 NAPTR ...
//! }
//! let first = &icp.targets[0]; // then the next one when it does not answer
//! println!("{first}, resolve again at {:?}", icp.valid_until);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Instant;

mod error;
mod plan;
mod records;
mod resolver;
mod srv;

pub use error::ResolveError;
pub use plan::Plan;
pub use records::{Answer, Query, Record, RecordData, RecordKind, Step};
pub use resolver::{Options, Resolver, TimedStep, Trace};
pub use srv::order_srv;

/// A SIP transport toward an ICP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS over TCP.
    Tls,
}

impl Transport {
    /// Outpost's default preference among transports: TLS, TCP, UDP (see
    /// the crate documentation for why).
    pub const PREFERENCE: [Self; 3] = [Self::Tls, Self::Tcp, Self::Udp];

    /// The port used when none is given and no SRV record names one
    /// (RFC 3261 §19.1.2: 5060, and 5061 for TLS).
    pub fn default_port(self) -> u16 {
        match self {
            Self::Udp | Self::Tcp => 5060,
            Self::Tls => 5061,
        }
    }

    /// Lower-case name, as in configuration files: `udp`, `tcp`, `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }

    /// The SRV owner-name prefix (RFC 3263 §4.1): `_sips._tcp`, `_sip._tcp`
    /// or `_sip._udp`.
    pub fn srv_prefix(self) -> &'static str {
        match self {
            Self::Udp => "_sip._udp",
            Self::Tcp => "_sip._tcp",
            Self::Tls => "_sips._tcp",
        }
    }

    /// The NAPTR service field (RFC 3263 §4.1): `SIP+D2U`, `SIP+D2T` or
    /// `SIPS+D2T`.
    pub fn naptr_service(self) -> &'static str {
        match self {
            Self::Udp => "SIP+D2U",
            Self::Tcp => "SIP+D2T",
            Self::Tls => "SIPS+D2T",
        }
    }

    /// The transport of a NAPTR service field (case-insensitive), if it is
    /// one we speak.
    pub fn from_naptr_service(service: &str) -> Option<Self> {
        Self::PREFERENCE
            .into_iter()
            .find(|t| t.naptr_service().eq_ignore_ascii_case(service))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = ResolveError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::PREFERENCE
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ResolveError::UnknownTransport {
                value: s.to_owned(),
            })
    }
}

/// The order in which transports are tried: `preferred` first when it is
/// in `supported`, then the rest of `supported` in [`Transport::PREFERENCE`]
/// order. Duplicates are ignored; a `preferred` transport that is not
/// supported is ignored.
pub fn transport_order(supported: &[Transport], preferred: Option<Transport>) -> Vec<Transport> {
    let first = preferred.filter(|p| supported.contains(p));
    first
        .into_iter()
        .chain(
            Transport::PREFERENCE
                .into_iter()
                .filter(|t| supported.contains(t) && Some(*t) != first),
        )
        .collect()
}

/// One place to send SIP to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Address and port.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// The name a TLS certificate must cover (RFC 5922 §4): the host the
    /// administrator configured, without a trailing dot, or the IP literal
    /// (without brackets) when the ICP is given by address.
    pub server_name: String,
    /// The SRV priority this target came from (0 without SRV).
    pub priority: u16,
    /// The SRV weight this target came from (0 without SRV).
    pub weight: u16,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (certificate name {})",
            self.transport, self.addr, self.server_name
        )
    }
}

/// The result of resolving one ICP.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// Where to send, in the order to try (RFC 3263 §4.3: on failure, the
    /// next one).
    pub targets: Vec<Target>,
    /// When to resolve again: `now` plus the smallest TTL of the records
    /// used (see the crate documentation for the bounds).
    pub valid_until: Instant,
    /// Every lookup made and what it found, in order, for
    /// `outpost icps test` and the logs. Empty for an IP literal.
    pub steps: Vec<Step>,
}
