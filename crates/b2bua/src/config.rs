//! Settings of the B2BUA.

use std::time::Duration;

use crate::error::ConfigError;
use crate::flow::Transport;

/// How Outpost appears on one side: the advertised address (NET-2: IP1 on
/// the public side, IP4 on the private side, or an FQDN) and the advertised
/// port of each transport it listens on. Written into Via and Contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SideIdentity {
    /// Advertised host: an IPv4 address, an IPv6 address (with or without
    /// brackets) or a host name.
    pub host: String,
    /// Advertised port per transport.
    pub listeners: Vec<(Transport, u16)>,
}

impl SideIdentity {
    /// One listener.
    #[must_use]
    pub fn new(host: impl Into<String>, transport: Transport, port: u16) -> Self {
        Self {
            host: host.into(),
            listeners: vec![(transport, port)],
        }
    }

    /// Adds a listener.
    #[must_use]
    pub fn with_listener(mut self, transport: Transport, port: u16) -> Self {
        self.listeners.push((transport, port));
        self
    }

    /// The advertised port for `transport`: its listener, or the
    /// transport's default port when there is none.
    #[must_use]
    pub fn port(&self, transport: Transport) -> u16 {
        self.listeners
            .iter()
            .find(|(t, _)| *t == transport)
            .map_or(transport.default_port(), |(_, p)| *p)
    }

    /// The host as written in a URI or Via (IPv6 in brackets).
    #[must_use]
    pub fn uri_host(&self) -> String {
        uri_host(&self.host)
    }
}

/// `host` as written in a URI: an IPv6 address gets brackets.
pub(crate) fn uri_host(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The headers passed between legs by default (see
/// [`Config::pass_through_headers`]).
///
/// Chosen for what phones, DECT systems and the iPBX depend on:
/// identity and features (X-Aastra-Id, P-Asserted-Identity,
/// P-Preferred-Identity, Privacy, Diversion, Alert-Info, Call-Info,
/// User-Agent, Server, Subject, Organization, Priority), transfer
/// (Replaces, Referred-By, Refer-To, Refer-Sub), events (Event,
/// Subscription-State, Allow-Events), extensions and capabilities
/// (Supported, Require, Allow, Accept, Accept-Language, Unsupported),
/// session timers (Session-Expires, Min-SE), 100rel (RSeq, RAck), Expires,
/// Retry-After, Reason, and the body description (Content-Type,
/// Content-Disposition, Content-Encoding, Content-Language, MIME-Version).
///
/// Not passed: Warning (carries host names), Record-Route/Route/Via/Contact
/// and the dialog headers (always the leg's own), authentication headers
/// (each side authenticates on its own), Path, Service-Route, History-Info
/// and anything unknown.
pub const DEFAULT_PASS_THROUGH: &[&str] = &[
    "X-Aastra-Id",
    "Alert-Info",
    "Call-Info",
    "Diversion",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Privacy",
    "Replaces",
    "Referred-By",
    "Refer-To",
    "Refer-Sub",
    "Event",
    "Subscription-State",
    "Allow-Events",
    "Supported",
    "Require",
    "Unsupported",
    "Allow",
    "Accept",
    "Accept-Language",
    "User-Agent",
    "Server",
    "Subject",
    "Organization",
    "Priority",
    "Expires",
    "Session-Expires",
    "Min-SE",
    "RSeq",
    "RAck",
    "Retry-After",
    "Reason",
    "Content-Type",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "MIME-Version",
];

/// Highest [`Config::max_bindings_per_device`]: each binding is an
/// upstream registration and a fork of every call to the device.
pub const MAX_BINDINGS_PER_DEVICE: usize = 100;

/// Settings of a [`crate::B2bua`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// How Outpost appears on the public (set) side.
    pub public: SideIdentity,
    /// How Outpost appears on the private (ICP) side.
    pub private: SideIdentity,
    /// The domain in From/To URIs on the public side (the public FQDN).
    /// Default: `public.host`.
    pub public_domain: String,
    /// Digest realm toward phones. Default: `public_domain`.
    pub realm: String,
    /// Registration expiry granted to phones (default 120 s: short, so
    /// NAT bindings stay open and dead phones are noticed).
    pub phone_expiry: Duration,
    /// Below this a phone's REGISTER gets 423 Interval Too Brief with
    /// Min-Expires (RFC 3261 §10.3 step 7). Default 20 s.
    pub min_phone_expiry: Duration,
    /// Registration expiry requested from the iPBX (default 3600 s); at
    /// least `phone_expiry`.
    pub icp_expiry: Duration,
    /// A phone binding is dropped (and unregistered toward the iPBX) this
    /// long after its expiry, to absorb a refresh in flight. Default 5 s.
    pub expiry_grace: Duration,
    /// SIG-7: accept requests from a phone without a new challenge when
    /// they arrive on the reliable (TCP/TLS) connection its authenticated
    /// registration came on. Default `false`.
    pub trust_registered_connection: bool,
    /// Headers copied between legs (case-insensitive, compact forms
    /// resolved); every other header is dropped. Routing and dialog
    /// headers (Via, Route, Record-Route, Contact, From, To, Call-ID, CSeq,
    /// Max-Forwards, Content-Length) and credentials are never copied, even
    /// if listed. Default [`DEFAULT_PASS_THROUGH`].
    pub pass_through_headers: Vec<String>,
    /// Interval of OPTIONS heartbeats to phones registered over UDP
    /// (SIG-8); `None` disables them. Default 30 s.
    pub heartbeat_interval: Option<Duration>,
    /// Most calls and subscriptions (dialog pairs) alive at once; beyond
    /// it new ones get 503. Default 10 000.
    pub max_dialogs: usize,
    /// Most bindings (registered clients) in all. Default 20 000.
    pub max_bindings: usize,
    /// Most clients registered as one device at once (a desk phone, a
    /// softphone...), each with its own binding and its own contact at
    /// the iPBX. A new client beyond it replaces the device's binding that
    /// expires first. Default 4.
    pub max_bindings_per_device: usize,
    /// A call still up after this long is hung up on both legs: the
    /// backstop that keeps memory bounded when a BYE is lost. Default 12 h.
    pub max_call_duration: Duration,
    /// Retry-After seconds on 503 responses. Default 5.
    pub retry_after_secs: u32,
    /// Digest algorithms offered to phones, one challenge each, in order.
    /// Default: MD5 only. Offering SHA-256 too is RFC 7616's advice, but
    /// widespread stacks (libre/baresip, many desk phones) fail the whole
    /// challenge when any offered algorithm is unknown to them.
    pub digest_algorithms: Vec<outpost_sip::auth::Algorithm>,
}

impl Config {
    /// Defaults for the given sides.
    #[must_use]
    pub fn new(public: SideIdentity, private: SideIdentity) -> Self {
        let domain = public.host.clone();
        Self {
            public,
            private,
            realm: domain.clone(),
            public_domain: domain,
            phone_expiry: Duration::from_secs(120),
            min_phone_expiry: Duration::from_secs(20),
            icp_expiry: Duration::from_secs(3600),
            expiry_grace: Duration::from_secs(5),
            trust_registered_connection: false,
            pass_through_headers: DEFAULT_PASS_THROUGH
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            heartbeat_interval: Some(Duration::from_secs(30)),
            max_dialogs: 10_000,
            max_bindings: 20_000,
            max_bindings_per_device: 4,
            max_call_duration: Duration::from_secs(12 * 3600),
            retry_after_secs: 5,
            digest_algorithms: vec![outpost_sip::auth::Algorithm::Md5],
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for (name, host) in [
            ("public.host", &self.public.host),
            ("private.host", &self.private.host),
            ("public_domain", &self.public_domain),
        ] {
            let ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
            if !ok {
                return Err(ConfigError::Invalid {
                    field: name,
                    reason: "must be an IP address or host name",
                });
            }
        }
        if self.phone_expiry < self.min_phone_expiry || self.phone_expiry.as_secs() == 0 {
            return Err(ConfigError::Invalid {
                field: "phone_expiry",
                reason: "must be at least min_phone_expiry and 1 s",
            });
        }
        if self.icp_expiry < self.phone_expiry {
            return Err(ConfigError::Invalid {
                field: "icp_expiry",
                reason: "must be at least phone_expiry",
            });
        }
        if self.heartbeat_interval.is_some_and(|d| d.as_secs() == 0) {
            return Err(ConfigError::Invalid {
                field: "heartbeat_interval",
                reason: "must be at least 1 s",
            });
        }
        if self.max_dialogs == 0 || self.max_bindings == 0 {
            return Err(ConfigError::Invalid {
                field: "max_dialogs",
                reason: "limits must be at least 1",
            });
        }
        if self.max_bindings_per_device == 0
            || self.max_bindings_per_device > MAX_BINDINGS_PER_DEVICE
        {
            return Err(ConfigError::Invalid {
                field: "max_bindings_per_device",
                reason: "must be 1 to 100",
            });
        }
        Ok(())
    }
}
