//! The crate's one error type.

use crate::Transport;

/// Why an ICP could not be resolved. Every message names the ICP's host and
/// says what to fix.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The name does not exist (NXDOMAIN).
    #[error(
        "{host}: no such domain name (NXDOMAIN); check the ICP's host name, \
         or use its IP address"
    )]
    NoSuchName {
        /// The ICP's host.
        host: String,
    },
    /// The name exists but has none of the records RFC 3263 uses.
    #[error("{host}: no A/AAAA/SRV/NAPTR records; check the name or use an IP address")]
    NoRecords {
        /// The ICP's host.
        host: String,
    },
    /// SRV records were found but none of their targets has an address.
    #[error(
        "{host}: the SRV records point to {}, which have no A/AAAA records; \
         add address records for them in the DNS, or use an IP address",
        targets.join(", ")
    )]
    NoAddresses {
        /// The ICP's host.
        host: String,
        /// The SRV target names without addresses.
        targets: Vec<String>,
    },
    /// The NAPTR records offer only transports the ICP record does not
    /// enable.
    #[error(
        "{host}: its NAPTR records offer only {} but the ICP is configured for {}; \
         enable one of the offered transports on the ICP, or fix the NAPTR records",
        offered.join(", "),
        list(configured)
    )]
    NoCommonTransport {
        /// The ICP's host.
        host: String,
        /// The SIP services the NAPTR records offer (e.g. `SIP+D2U`).
        offered: Vec<String>,
        /// The transports of the ICP record.
        configured: Vec<Transport>,
    },
    /// The ICP record enables no transport.
    #[error(
        "{host}: no SIP transport is enabled for this ICP; enable at least one of UDP, TCP or TLS"
    )]
    NoTransport {
        /// The ICP's host.
        host: String,
    },
    /// The host is neither an IP address nor a valid DNS name.
    #[error(
        "`{host}` is not a valid host name or IP address ({reason}); use a name \
         like ipbx.example.com or an address like 192.0.2.10"
    )]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A transport name that is not `udp`, `tcp` or `tls`.
    #[error("unknown SIP transport `{value}`; use udp, tcp or tls")]
    UnknownTransport {
        /// The value given.
        value: String,
    },
    /// A DNS query got no answer in time.
    #[error(
        "{host}: the DNS query {query} timed out; check that the DNS servers \
         (`[dns] servers`, or /etc/resolv.conf) are reachable from Outpost"
    )]
    Timeout {
        /// The ICP's host.
        host: String,
        /// The query, e.g. `NAPTR ipbx.example.com`.
        query: String,
    },
    /// A DNS query failed (SERVFAIL, REFUSED, network error).
    #[error(
        "{host}: the DNS query {query} failed ({reason}); check the DNS servers \
         (`[dns] servers`, or /etc/resolv.conf) and that they serve this name"
    )]
    Lookup {
        /// The ICP's host.
        host: String,
        /// The query, e.g. `SRV _sip._udp.ipbx.example.com`.
        query: String,
        /// What the resolver said.
        reason: String,
    },
    /// The resolver could not be set up.
    #[error(
        "cannot set up the DNS resolver: {reason}; fix /etc/resolv.conf, \
         or set `[dns] servers`"
    )]
    Config {
        /// What went wrong.
        reason: String,
    },
}

fn list(transports: &[Transport]) -> String {
    if transports.is_empty() {
        return "no transport".to_owned();
    }
    transports
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
