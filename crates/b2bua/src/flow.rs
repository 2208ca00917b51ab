//! What the B2BUA needs to know about the driver's destinations (flows),
//! and the directory of devices it authenticates against.

use std::fmt;
use std::net::SocketAddr;

/// The two sides of Outpost (SPEC NET-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The set side, facing phones on the Internet.
    Public,
    /// The ICP side, facing the iPBX.
    Private,
}

impl Side {
    /// The opposite side.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Public => Self::Private,
            Self::Private => Self::Public,
        }
    }

    /// Lower-case name, for logs and metrics.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Public => 0,
            Self::Private => 1,
        }
    }
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP (unreliable: transactions retransmit, phones get OPTIONS
    /// heartbeats).
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl Transport {
    /// The name in a Via header (`SIP/2.0/TLS`).
    #[must_use]
    pub fn via_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }

    /// Whether the transport is reliable (RFC 3261 §17: no retransmissions).
    #[must_use]
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }

    /// The `transport=` URI parameter for a Contact, `None` for UDP (the
    /// default, RFC 3261 §19.1.1).
    #[must_use]
    pub fn uri_param(self) -> Option<&'static str> {
        match self {
            Self::Udp => None,
            Self::Tcp => Some("tcp"),
            Self::Tls => Some("tls"),
        }
    }

    /// The port a peer uses when none is written (RFC 3261 §19.1.2).
    #[must_use]
    pub fn default_port(self) -> u16 {
        match self {
            Self::Tls => 5061,
            Self::Udp | Self::Tcp => 5060,
        }
    }
}

/// The driver's destination type (the binary's `Flow`): where a message
/// came from, and where one goes. The B2BUA stores and compares them (a
/// phone's requests go back over the flow it registered on, SIG-4/SIG-8)
/// and asks three things of them.
///
/// These are properties of the flow, so they come from it rather than as
/// extra arguments that could disagree with it.
pub trait Destination: Clone + fmt::Debug + Eq {
    /// Which side the flow is on.
    fn side(&self) -> Side;
    /// Its transport (Via and Contact are written for it; reliable
    /// transports get no retransmissions).
    fn transport(&self) -> Transport;
    /// The peer's address as observed on the socket, after any NAT: the
    /// "last address" of a device, and what the Via sent-by is compared
    /// with to decide whether it is natted.
    fn remote_addr(&self) -> SocketAddr;
}

/// Where a device's iPBX (its ICP) is reached, as resolved by the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IcpTarget<D> {
    /// The ICP's name (for logs and events).
    pub name: String,
    /// The iPBX's host (IP or FQDN) as written in URIs toward it: the
    /// domain of From/To and of the REGISTER Request-URI.
    pub host: String,
    /// The port to write in Request-URIs, if not the transport's default.
    pub port: Option<u16>,
    /// The flow to send to (e.g. UDP from the private socket to
    /// 198.18.2.10:5060).
    pub destination: D,
}

/// What the B2BUA needs of a teleworker SIP device (SPEC PRO-2).
///
/// `Debug` never shows the passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceCredentials<D> {
    /// A disabled device is refused (403) and never registered upstream.
    pub enabled: bool,
    /// The set-side username: what the phone authenticates with.
    pub setside_username: String,
    /// The set-side password.
    pub setside_password: String,
    /// The ICP-side username, already defaulted to the set-side one when
    /// blank (PRO-2).
    pub icpside_username: String,
    /// The ICP-side password, already defaulted likewise.
    pub icpside_password: String,
    /// The device's ICP; `None` when it cannot be reached now (unknown ICP,
    /// unresolved name): the phone then gets 503.
    pub icp: Option<IcpTarget<D>>,
}

impl<D: fmt::Debug> fmt::Debug for DeviceCredentials<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCredentials")
            .field("enabled", &self.enabled)
            .field("setside_username", &self.setside_username)
            .field("setside_password", &"<redacted>")
            .field("icpside_username", &self.icpside_username)
            .field("icpside_password", &"<redacted>")
            .field("icp", &self.icp)
            .finish()
    }
}

/// The device store as the B2BUA sees it (the core implements it over
/// `outpost-store`). Looked up on every authentication, so a password
/// change or a disabled device takes effect at the next request.
pub trait Directory<D> {
    /// The device whose set-side username is `setside_username`.
    fn device(&self, setside_username: &str) -> Option<DeviceCredentials<D>>;
}

/// A directory with no devices (every phone gets 403).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDevices;

impl<D> Directory<D> for NoDevices {
    fn device(&self, _: &str) -> Option<DeviceCredentials<D>> {
        None
    }
}
