//! The typed configuration: what the rest of Outpost reads once loading and
//! validation succeeded. Every enum parses from and displays as its TOML
//! spelling, so error messages, the summary and the example file agree.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use thiserror::Error;

/// The whole gateway configuration (SPEC NET-1..NET-5, SIG-1, MED-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Public FQDN of the gateway (NET-5): TLS certificates, phone
    /// configuration, OTT clients. `None` means "use the host name", see
    /// [`Config::fqdn_or_hostname`].
    pub fqdn: Option<String>,
    /// Standard or one element of a daisy chain (NET-4).
    pub mode: DeploymentMode,
    /// Where the database and certificates live. The CLI flag and
    /// `OUTPOST_DATA_DIR` override it; that precedence is the CLI's job.
    pub data_dir: Option<PathBuf>,
    /// The set side, toward phones on the Internet (IP1, IP2).
    pub public: SideConfig,
    /// The ICP side, toward the iPBX on the LAN (IP3, IP4).
    pub private: SideConfig,
    /// The iPBX (IP5).
    pub ipbx: IpbxConfig,
    /// DNS servers for ICP host names (NET-5, RFC 3263).
    pub dns: DnsConfig,
    /// Web services (provisioning, REST).
    pub web: WebConfig,
    /// The admin listener (`/metrics`, `/healthz`, the REST API).
    pub admin: AdminConfig,
    /// Log output.
    pub log: LogConfig,
    /// SIP stack limits and timers (SIG-3, SIG-4, SIG-10).
    pub sip: SipConfig,
    /// Remote-worker registrations and calls through the B2BUA (SIG-6..8).
    pub registration: RegistrationConfig,
    /// Media anchoring, SRTP policies, timeout, QoS (MED-1..MED-7).
    pub media: MediaConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fqdn: None,
            mode: DeploymentMode::Standard,
            data_dir: None,
            public: SideConfig::default_for(Side::Public),
            private: SideConfig::default_for(Side::Private),
            ipbx: IpbxConfig::default(),
            dns: DnsConfig::default(),
            web: WebConfig::default(),
            admin: AdminConfig::default(),
            log: LogConfig::default(),
            sip: SipConfig::default(),
            registration: RegistrationConfig::default(),
            media: MediaConfig::default(),
        }
    }
}

impl Config {
    /// The configured FQDN, else this machine's host name (as the operating
    /// system reports it), else `localhost`. Asked of the system on each
    /// call so that loading stays a pure function of file and environment;
    /// call it once at startup and keep the result.
    pub fn fqdn_or_hostname(&self) -> String {
        if let Some(fqdn) = &self.fqdn {
            return fqdn.clone();
        }
        match hostname::get() {
            Ok(name) if !name.is_empty() => name.to_string_lossy().into_owned(),
            _ => "localhost".to_owned(),
        }
    }

    /// The configuration of one side.
    pub fn side(&self, side: Side) -> &SideConfig {
        match side {
            Side::Public => &self.public,
            Side::Private => &self.private,
        }
    }

    /// True when both sides use the same RTP range on the same bind
    /// address: the media relay must then draw both sides' ports from one
    /// pool (the seeds' single "SBC port range"), since two pools would bind
    /// the same ports twice.
    pub fn rtp_pool_shared(&self) -> bool {
        self.public.rtp_ports == self.private.rtp_ports
            && self.public.bind_address() == self.private.bind_address()
    }
}

/// One of the two sides of the gateway (NET-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The set side, facing phones and trunks on the Internet.
    Public,
    /// The ICP side, facing the iPBX.
    Private,
}

impl Side {
    /// The TOML table name of the side.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Side {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum(
            s,
            "side",
            &[("public", Self::Public), ("private", Self::Private)],
        )
    }
}

/// The listeners and media range of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideConfig {
    /// Which side this is.
    pub side: Side,
    /// Local address to bind (IP2 public, IP3 private); `None` binds all
    /// interfaces.
    pub interface: Option<IpAddr>,
    /// Address written into SIP and SDP (IP1 public, IP4 private); `None`
    /// means the interface address (no NAT on this side).
    pub address: Option<IpAddr>,
    /// Which SIP transports listen on this side (SIG-1).
    pub protocols: Protocols,
    /// SIP over TLS port.
    pub sip_tls_port: u16,
    /// Plain SIP (UDP and TCP) port, used only when `protocols` include
    /// udp/tcp.
    pub sip_port: u16,
    /// UDP range for RTP and RTCP (MED-1).
    pub rtp_ports: PortRange,
    /// Whether video calls are planned: the RTP range then needs 8 ports
    /// instead of 4.
    pub video: bool,
    /// Mutual TLS (SIG-2, the seeds' "Mixte (MTLS)"): this side's TLS
    /// listener requires a client certificate signed by a CA of
    /// [`SideConfig::mtls_ca_file`], and Outpost presents its own
    /// (`sip-private`) when it connects to the iPBX over TLS. A setting of
    /// the private side only (`private.mtls`); the public side's stays
    /// false.
    pub mtls: bool,
    /// PEM file of the CA(s) that sign the peers' client certificates;
    /// required when [`SideConfig::mtls`] is on. Private side only.
    pub mtls_ca_file: Option<PathBuf>,
    /// The name (DNS or IP subjectAltName, or CN) a peer's client
    /// certificate must carry; `None`: any certificate from the CA(s).
    /// Private side only.
    pub mtls_peer_name: Option<String>,
    /// OTT terminals (the seeds' "Support terminaux OTT": Mitel Dialer,
    /// Unify Phone) connect straight to the public FQDN over TLS, so the
    /// FQDN must be set and the `sip-public` certificate must cover it.
    /// Mutually exclusive with MTLS. A setting of the public side only
    /// (`public.ott_terminals`); the private side's stays false.
    pub ott_terminals: bool,
}

impl SideConfig {
    /// The defaults of a side: TLS only, SIP/TLS 5063 public or 5064
    /// private, plain SIP 5060, RTP 20000-27999, video on.
    pub fn default_for(side: Side) -> Self {
        Self {
            side,
            interface: None,
            address: None,
            protocols: Protocols::Tls,
            sip_tls_port: match side {
                Side::Public => 5063,
                Side::Private => 5064,
            },
            sip_port: 5060,
            rtp_ports: PortRange::DEFAULT_RTP,
            video: true,
            mtls: false,
            mtls_ca_file: None,
            mtls_peer_name: None,
            ott_terminals: false,
        }
    }

    /// The address peers on this side are told to use (NET-2): `address`,
    /// else `interface`; `None` when neither is set (the binary then has to
    /// pick the outgoing interface's address).
    pub fn advertised_address(&self) -> Option<IpAddr> {
        self.address.or(self.interface)
    }

    /// The address listeners bind: `interface`, else `0.0.0.0`.
    pub fn bind_address(&self) -> IpAddr {
        self.interface.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// True when SIP over TLS listens on this side.
    pub fn tls_enabled(&self) -> bool {
        matches!(self.protocols, Protocols::Tls | Protocols::TlsUdpTcp)
    }

    /// True when plain SIP over UDP and TCP listens on this side.
    pub fn plain_enabled(&self) -> bool {
        matches!(self.protocols, Protocols::TlsUdpTcp | Protocols::UdpTcp)
    }

    /// The smallest RTP range this side accepts (MED-1): 8 ports with
    /// video, 4 audio-only.
    pub fn min_rtp_ports(&self) -> u32 {
        if self.video { 8 } else { 4 }
    }
}

/// SIP transports of a side (SIG-1), spelled as in the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocols {
    /// `tls`: SIP over TLS only.
    Tls,
    /// `tls+udp/tcp`: TLS plus plain UDP and TCP.
    TlsUdpTcp,
    /// `udp/tcp`: plain UDP and TCP only; private side only.
    UdpTcp,
}

impl Protocols {
    const TABLE: &'static [(&'static str, Self)] = &[
        ("tls", Self::Tls),
        ("tls+udp/tcp", Self::TlsUdpTcp),
        ("udp/tcp", Self::UdpTcp),
    ];

    /// The values allowed on a side: the public side must keep TLS.
    pub fn allowed_on(side: Side) -> &'static [&'static str] {
        match side {
            Side::Public => &["tls", "tls+udp/tcp"],
            Side::Private => &["tls", "tls+udp/tcp", "udp/tcp"],
        }
    }

    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        enum_name(Self::TABLE, self)
    }
}

impl fmt::Display for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocols {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum(s, "protocols value", Self::TABLE)
    }
}

/// Deployment mode (NET-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeploymentMode {
    /// `standard`: one Outpost between the Internet and the iPBX.
    #[default]
    Standard,
    /// `daisy-chain-wan`: the DMZ element; its private side talks only to
    /// the LAN element.
    DaisyChainWan,
    /// `daisy-chain-lan`: the LAN element; its public side talks only to
    /// the WAN element, its private side to the iPBX.
    DaisyChainLan,
}

impl DeploymentMode {
    const TABLE: &'static [(&'static str, Self)] = &[
        ("standard", Self::Standard),
        ("daisy-chain-wan", Self::DaisyChainWan),
        ("daisy-chain-lan", Self::DaisyChainLan),
    ];

    /// Every TOML spelling, in the order of the documentation.
    pub fn spellings() -> Vec<&'static str> {
        Self::TABLE.iter().map(|(name, _)| *name).collect()
    }

    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        enum_name(Self::TABLE, self)
    }

    /// True for both daisy-chain elements.
    pub fn is_daisy_chain(self) -> bool {
        !matches!(self, Self::Standard)
    }
}

impl fmt::Display for DeploymentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeploymentMode {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum(s, "mode", Self::TABLE)
    }
}

/// An inclusive UDP port range written `FIRST-LAST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl PortRange {
    /// The default RTP range of both sides (MED-1).
    pub const DEFAULT_RTP: Self = Self {
        first: 20000,
        last: 27999,
    };
    /// Lowest port an RTP range may start at: below are the well-known and
    /// system ports.
    pub const RTP_MIN_PORT: u16 = 1024;

    /// A range of one port.
    pub fn single(port: u16) -> Self {
        Self {
            first: port,
            last: port,
        }
    }

    /// Number of ports in the range; 0 when `first > last`.
    pub fn len(&self) -> u32 {
        if self.first > self.last {
            0
        } else {
            u32::from(self.last) - u32::from(self.first) + 1
        }
    }

    /// True when the range holds no port (only for a reversed range, which
    /// parsing refuses).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }

    /// True when the two ranges share at least one port.
    pub fn overlaps(&self, other: &Self) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && self.first <= other.last
            && other.first <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Why a `FIRST-LAST` port range did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PortRangeError {
    /// Not two integers separated by `-`.
    #[error("expected FIRST-LAST with two port numbers, e.g. 20000-27999")]
    Syntax,
    /// A port is not in 1..65535.
    #[error("port {0} outside 1..65535")]
    PortOutOfBounds(i64),
    /// FIRST is above LAST.
    #[error(
        "reversed range: first port {first} is above last port {last}; write FIRST-LAST with FIRST <= LAST"
    )]
    Reversed {
        /// The first port as written.
        first: u16,
        /// The last port as written.
        last: u16,
    },
}

impl FromStr for PortRange {
    type Err = PortRangeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (first, last) = s.split_once('-').ok_or(PortRangeError::Syntax)?;
        let port = |text: &str| -> Result<u16, PortRangeError> {
            let text = text.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PortRangeError::Syntax);
            }
            // All digits: only overflow can fail, and that is out of bounds.
            let value: i64 = text.parse().unwrap_or(i64::MAX);
            u16::try_from(value)
                .ok()
                .filter(|p| *p != 0)
                .ok_or(PortRangeError::PortOutOfBounds(value))
        };
        let (first, last) = (port(first)?, port(last)?);
        if first > last {
            return Err(PortRangeError::Reversed { first, last });
        }
        Ok(Self { first, last })
    }
}

/// The iPBX (IP5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpbxConfig {
    /// IP address or FQDN; `None` while not configured yet (the summary
    /// warns). Daisy-chain modes require it.
    pub address: Option<IpbxHost>,
    /// SIP port of the iPBX (default 5061).
    pub port: u16,
    /// Transport toward the iPBX (default TLS).
    pub transport: IpbxTransport,
    /// PEM file of the CA(s) that sign the iPBX's TLS certificate. Outpost's
    /// own certificate is trusted too (daisy chain). `None`: only that.
    pub ca_file: Option<PathBuf>,
}

impl Default for IpbxConfig {
    fn default() -> Self {
        Self {
            address: None,
            port: 5061,
            transport: IpbxTransport::Tls,
            ca_file: None,
        }
    }
}

/// Where ICP host names are resolved (NAPTR, SRV, A/AAAA; RFC 3263).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsConfig {
    /// DNS servers to ask, in order; empty: the system's
    /// (`/etc/resolv.conf`).
    pub servers: Vec<SocketAddr>,
}

/// An iPBX address: an IP literal or a host name resolved later (NET-5,
/// RFC 3263).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IpbxHost {
    /// An IP address.
    Ip(IpAddr),
    /// A host name (letters, digits and hyphens in dot-separated labels).
    Name(String),
}

impl fmt::Display for IpbxHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// Transport from Outpost to the iPBX.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpbxTransport {
    /// `tls`
    #[default]
    Tls,
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
}

impl IpbxTransport {
    const TABLE: &'static [(&'static str, Self)] =
        &[("tls", Self::Tls), ("tcp", Self::Tcp), ("udp", Self::Udp)];

    /// Every TOML spelling, in the order of the documentation.
    pub fn spellings() -> Vec<&'static str> {
        Self::TABLE.iter().map(|(name, _)| *name).collect()
    }

    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        enum_name(Self::TABLE, self)
    }
}

impl fmt::Display for IpbxTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IpbxTransport {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum(s, "transport", Self::TABLE)
    }
}

/// Web services (provisioning, REST). They listen on the public side's bind
/// address, since phones fetch their files from the Internet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    /// TCP port (default 4445).
    pub port: u16,
    /// The MSL-compatible web services under `/mslrest/` answer (the
    /// seeds' "Start"); off by default: nothing to attack until an
    /// administrator starts them.
    pub services: bool,
    /// The firmware server the redirection answers name (`firmware
    /// server`, PRO-10's firmware override); `None`: none.
    pub firmware_server: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            port: 4445,
            services: false,
            firmware_server: None,
        }
    }
}

/// The admin listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Socket address to bind; loopback by default. `0.0.0.0` is accepted
    /// here (a bind address, unlike the sides' advertised addresses) but the
    /// summary warns about it.
    pub listen: SocketAddr,
    /// HTTPS with the gateway's certificate (default); plain HTTP only when
    /// false, which validation allows on a loopback `listen` only.
    pub tls: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            tls: true,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// A `tracing` `EnvFilter` directive, e.g. `info` or
    /// `outpost=debug,info`; checked by the logger, not here.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// `text`: human-readable lines.
    #[default]
    Text,
    /// `json`: one JSON object per line.
    Json,
}

impl LogFormat {
    const TABLE: &'static [(&'static str, Self)] = &[("text", Self::Text), ("json", Self::Json)];

    /// Every TOML spelling, in the order of the documentation.
    pub fn spellings() -> Vec<&'static str> {
        Self::TABLE.iter().map(|(name, _)| *name).collect()
    }

    /// The TOML spelling.
    pub fn as_str(self) -> &'static str {
        enum_name(Self::TABLE, self)
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = ParseEnumError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum(s, "log format", Self::TABLE)
    }
}

/// A value that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{value:?} is not a valid {what}; allowed: {}", .allowed.join(", "))]
pub struct ParseEnumError {
    /// The value as given.
    pub value: String,
    /// What was being parsed, e.g. `mode`.
    pub what: &'static str,
    /// The accepted spellings.
    pub allowed: Vec<&'static str>,
}

/// Case-insensitive lookup: installers copy `TLS` from the vendor UI.
fn parse_enum<T: Copy>(
    s: &str,
    what: &'static str,
    table: &[(&'static str, T)],
) -> Result<T, ParseEnumError> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, value)| *value)
        .ok_or_else(|| ParseEnumError {
            value: s.to_owned(),
            what,
            allowed: table.iter().map(|(name, _)| *name).collect(),
        })
}

fn enum_name<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("?", |(name, _)| *name)
}

/// SIP stack limits and timers: RFC 3261 §17 timers and the bounds that keep
/// a flood or a broken peer from exhausting memory (SIG-10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipConfig {
    /// RFC 3261 T1, the round-trip estimate, in milliseconds.
    pub t1_ms: u32,
    /// RFC 3261 T2, the longest non-INVITE retransmit interval, in ms.
    pub t2_ms: u32,
    /// RFC 3261 T4, how long a message may stay in the network, in ms.
    pub t4_ms: u32,
    /// Largest SIP message accepted (header section + body), in bytes.
    pub max_message_size: u32,
    /// Open TCP/TLS connections in total, both sides together.
    pub max_connections: u32,
    /// Open TCP/TLS connections from one source address. Shared NAT: an
    /// office of phones behind one address opens one connection each.
    pub max_connections_per_source: u32,
    /// A TCP/TLS connection with no traffic for this long is closed, in s.
    pub idle_timeout_secs: u32,
    /// Live transactions; beyond it new requests get 503 with Retry-After.
    pub max_transactions: u32,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            t1_ms: 500,
            t2_ms: 4_000,
            t4_ms: 5_000,
            max_message_size: 65_535,
            max_connections: 20_000,
            max_connections_per_source: 256,
            idle_timeout_secs: 600,
            max_transactions: 100_000,
        }
    }
}

/// Remote-worker registrations (SIG-6) and the B2BUA's trust rules (SIG-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// Expiry granted to phones, in seconds: short, so phones behind NAT
    /// refresh (and keep their NAT binding open) often.
    pub phone_expiry_secs: u32,
    /// Expiry requested from the iPBX, in seconds; not shorter than the
    /// phone-side expiry.
    pub icp_expiry_secs: u32,
    /// Accept requests on the TLS/TCP connection of an authenticated
    /// registration without challenging them again.
    pub trust_registered_connection: bool,
    /// Interval of OPTIONS heartbeats to phones registered over UDP, in
    /// seconds; 0 turns them off.
    pub heartbeat_secs: u32,
    /// Concurrent calls through the B2BUA; beyond it new calls get 503.
    pub max_calls: u32,
    /// Registered clients (bindings) in all; beyond it a new client's
    /// REGISTER gets 503 with Retry-After (the memory budget, issue 13).
    pub max_registrations: u32,
    /// Clients registered as one device at once (desk phone, softphone...);
    /// a new one beyond it replaces the binding that expires first.
    pub max_bindings_per_device: u32,
    /// Digest algorithms offered to phones, in order (RFC 7616 names).
    pub digest_algorithms: Vec<outpost_sip::auth::Algorithm>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            phone_expiry_secs: 120,
            icp_expiry_secs: 3600,
            trust_registered_connection: false,
            heartbeat_secs: 30,
            max_calls: 10_000,
            max_registrations: 20_000,
            max_bindings_per_device: 4,
            digest_algorithms: vec![outpost_sip::auth::Algorithm::Md5],
        }
    }
}

/// Media anchoring (MED-1..MED-7): SRTP policies per side as the seeds name
/// them, media timeout, renegotiation, source policy, DSCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// What phones may offer: `srtp-only` (default) or `srtp-or-rtp`.
    pub set_side_inbound: outpost_sdp::SetSideInbound,
    /// What Outpost offers phones: `srtp-only` (default), `avp+crypto`, `rtp`.
    pub set_side_outbound: outpost_sdp::SetSideOutbound,
    /// What the iPBX may offer: `srtp-or-rtp` (default), `srtp-only`, `rtp`.
    pub icp_side_inbound: outpost_sdp::IcpSideInbound,
    /// What Outpost offers the iPBX: `avp+crypto` (default), `srtp-only`, `rtp`.
    pub icp_side_outbound: outpost_sdp::IcpSideOutbound,
    /// A call with no media in either direction for this long is ended, in
    /// seconds; 0 turns the check off.
    pub timeout_secs: u32,
    /// Allocate new ports on every renegotiation.
    pub change_port_on_renegotiation: bool,
    /// Accept media only from the address signalled in SDP (the seeds'
    /// "symmetric RTP support"); off: learn it from the first valid packet.
    pub strict_source: bool,
    /// DSCP of relayed audio packets (EF = 46).
    pub dscp_audio: u32,
    /// DSCP of relayed video packets (AF41 = 34).
    pub dscp_video: u32,
    /// SRTP suites Outpost offers, in order of preference.
    pub srtp_suites: Vec<outpost_sdp::CryptoSuite>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            set_side_inbound: outpost_sdp::SetSideInbound::default(),
            set_side_outbound: outpost_sdp::SetSideOutbound::default(),
            icp_side_inbound: outpost_sdp::IcpSideInbound::default(),
            icp_side_outbound: outpost_sdp::IcpSideOutbound::default(),
            timeout_secs: 60,
            change_port_on_renegotiation: false,
            strict_source: false,
            dscp_audio: 46,
            dscp_video: 34,
            srtp_suites: vec![
                outpost_sdp::CryptoSuite::AesCm128HmacSha1_80,
                outpost_sdp::CryptoSuite::AesCm128HmacSha1_32,
            ],
        }
    }
}
