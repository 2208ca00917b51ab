//! The network settings (NET-1..NET-5, SIG-1, MED-1): the top-level keys,
//! the two sides, the iPBX, DNS, web services, the admin listener and the
//! logs. The descriptions follow the vendor's names (IP1..IP5, set side,
//! ICP side) that `outpost.example.toml` explains.

use super::{Format, Kind, Scope, Setting, field};
use crate::model::{DeploymentMode, IpbxTransport, LogFormat, Protocols, Side};
use crate::values;

const PORTS: Kind = Kind::Integer { min: 1, max: 65535 };

pub(super) fn settings() -> Vec<Setting> {
    let mut all = vec![
        Setting::new(
            "fqdn",
            Kind::Text {
                format: Format::HostName,
            },
            "Public FQDN of the gateway (NET-5), written into its certificate and the phones' \
             configuration; empty: the machine's host name.",
            field!(fqdn, |_, raw| values::fqdn(raw)),
        ),
        Setting::new(
            "mode",
            Kind::Choice {
                values: DeploymentMode::spellings(),
            },
            "Deployment (NET-4): one Outpost between the Internet and the iPBX, or the WAN or \
             LAN element of a daisy chain.",
            field!(mode, |_, raw| values::enum_value(raw)),
        ),
        Setting::new(
            "data_dir",
            Kind::Text {
                format: Format::Path,
            },
            "Data directory (database, certificates), relative to the configuration file; \
             --data-dir and OUTPOST_DATA_DIR take precedence. Empty: outpost-data next to the \
             file.",
            field!(data_dir, |_, raw| values::optional_path(raw)),
        )
        .scope(Scope::FileOnly),
    ];
    all.extend(side(Side::Public));
    all.push(Setting::new(
        "public.ott_terminals",
        Kind::Boolean,
        "OTT terminal support (Mitel Dialer, Unify Phone connect straight to the public FQDN \
             over TLS): needs fqdn, covered by the sip-public certificate; not with \
             private.mtls.",
        field!(public.ott_terminals, |_, raw| values::boolean(raw)),
    ));
    all.extend(side(Side::Private));
    all.extend(mtls());
    all.extend([
        Setting::new(
            "ipbx.address",
            Kind::Text {
                format: Format::HostOrIp,
            },
            "The iPBX (IP5): an IP address or a host name (RFC 3263); empty: not configured \
             yet. Daisy-chain modes need it.",
            field!(ipbx.address, |_, raw| values::ipbx_host(raw)),
        ),
        Setting::new(
            "ipbx.port",
            PORTS,
            "SIP port of the iPBX.",
            field!(ipbx.port, |_, raw| values::port(raw)),
        ),
        Setting::new(
            "ipbx.transport",
            Kind::Choice {
                values: IpbxTransport::spellings(),
            },
            "Transport from Outpost to the iPBX; the private side must listen with it.",
            field!(ipbx.transport, |_, raw| values::enum_value(raw)),
        ),
        Setting::new(
            "ipbx.ca_file",
            Kind::Text {
                format: Format::Path,
            },
            "PEM file of the CA(s) signing the iPBX's TLS certificate; Outpost's own \
             certificate is trusted too. Empty: only that.",
            field!(ipbx.ca_file, |_, raw| values::optional_path(raw)),
        ),
        Setting::new(
            "dns.servers",
            Kind::Text {
                format: Format::AddressList,
            },
            "DNS servers for ICP host names (RFC 3263), comma-separated, each with an optional \
             :port (53); empty: the system's (/etc/resolv.conf).",
            field!(dns.servers, |_, raw| values::dns_servers(raw)),
        ),
        Setting::new(
            "web.port",
            PORTS,
            "TCP port of the web services (provisioning), on the public side's bind address.",
            field!(web.port, |_, raw| values::port(raw)),
        ),
        Setting::new(
            "web.services",
            Kind::Boolean,
            "The MSL-compatible web services (/mslrest/: OAuth 1.0a, ICPs, SIP devices) answer \
             on the web services port; false: they answer 503. `outpost webservices start|stop`.",
            field!(web.services, |_, raw| values::boolean(raw)),
        )
        .live(),
        Setting::new(
            "web.firmware_server",
            Kind::Text {
                format: Format::Url,
            },
            "Firmware override of the redirection service (/redirect/<MAC>.cfg, PRO-10): the \
             URL written as `firmware server` for phones to fetch firmware from; empty: none.",
            field!(web.firmware_server, |_, raw| values::firmware_url(raw)),
        ),
        Setting::new(
            "admin.listen",
            Kind::Text {
                format: Format::SocketAddress,
            },
            "Address and port of the admin listener (/metrics, the API); loopback unless a \
             firewall protects it.",
            field!(admin.listen, |_, raw| values::listen_addr(raw)),
        ),
        Setting::new(
            "admin.tls",
            Kind::Boolean,
            "HTTPS with the gateway's certificate on the admin listener; false (plain HTTP) is \
             allowed only on a loopback admin.listen.",
            field!(admin.tls, |_, raw| values::boolean(raw)),
        ),
        Setting::new(
            "log.format",
            Kind::Choice {
                values: LogFormat::spellings(),
            },
            "Log lines as text or as one JSON object per line; --log-format overrides it.",
            field!(log.format, |_, raw| values::enum_value(raw)),
        ),
        Setting::new(
            "log.level",
            Kind::Text {
                format: Format::LogFilter,
            },
            "A tracing filter, e.g. info or outpost=debug,info; OUTPOST_LOG overrides it.",
            field!(log.level, |_, raw| values::log_level(raw)),
        ),
    ]);
    all
}

/// The settings of one side; the side's table name is in every key.
fn side(side: Side) -> [Setting; 7] {
    /// One side's setting; the two descriptions are the public and the
    /// private side's.
    macro_rules! on_side {
        ($key:literal, $kind:expr, $public:literal, $private:literal, $field:ident, $parse:expr) => {
            match side {
                Side::Public => Setting::new(
                    concat!("public.", $key),
                    $kind,
                    $public,
                    field!(public.$field, $parse),
                ),
                Side::Private => Setting::new(
                    concat!("private.", $key),
                    $kind,
                    $private,
                    field!(private.$field, $parse),
                ),
            }
        };
    }
    let address = Kind::Text {
        format: Format::IpAddress,
    };
    [
        on_side!(
            "interface",
            address.clone(),
            "Local address the public (set) side binds (IP2); empty: all interfaces.",
            "Local address the private (ICP) side binds (IP3); empty: all interfaces.",
            interface,
            |_, raw| values::optional_ip(raw)
        ),
        on_side!(
            "address",
            address,
            "Address phones are told to use (IP1): the public address behind NAT; empty: the \
             interface's.",
            "Address the iPBX is told to use (IP4); empty: the interface's.",
            address,
            |_, raw| values::optional_ip(raw)
        ),
        on_side!(
            "protocols",
            Kind::Choice {
                values: Protocols::allowed_on(side).to_vec(),
            },
            "SIP transports listening on the public side (SIG-1): TLS, with or without plain \
             UDP/TCP.",
            "SIP transports listening on the private side (SIG-1).",
            protocols,
            |setting: &Setting, raw| values::protocols(raw, side_of(setting))
        ),
        on_side!(
            "sip_tls_port",
            PORTS,
            "SIP over TLS port of the public side.",
            "SIP over TLS port of the private side.",
            sip_tls_port,
            |_, raw| values::port(raw)
        ),
        on_side!(
            "sip_port",
            PORTS,
            "Plain SIP port (UDP and TCP) of the public side, used when protocols include \
             udp/tcp.",
            "Plain SIP port (UDP and TCP) of the private side, used when protocols include \
             udp/tcp.",
            sip_port,
            |_, raw| values::port(raw)
        ),
        on_side!(
            "rtp_ports",
            Kind::Text {
                format: Format::PortRange,
            },
            "UDP range for RTP and RTCP toward phones (MED-1), FIRST-LAST within 1024..65535: \
             at least 8 ports with video, 4 audio-only.",
            "UDP range for RTP and RTCP toward the iPBX (MED-1), FIRST-LAST within \
             1024..65535; the same range on the same address as the public side is one shared \
             pool.",
            rtp_ports,
            |_, raw| values::rtp_range(raw)
        ),
        on_side!(
            "video",
            Kind::Boolean,
            "Video calls are planned on the public side: its RTP range then needs 8 ports \
             instead of 4.",
            "Video calls are planned on the private side: its RTP range then needs 8 ports \
             instead of 4.",
            video,
            |_, raw| values::boolean(raw)
        ),
    ]
}

/// Mutual TLS on the private side (SIG-2, the seeds' "Mixte (MTLS)").
fn mtls() -> [Setting; 3] {
    [
        Setting::new(
            "private.mtls",
            Kind::Boolean,
            "Mutual TLS for trunks (MTLS): the private side's TLS listener requires a client \
             certificate from private.mtls_ca_file, and Outpost presents its sip-private \
             certificate to the iPBX; not with public.ott_terminals.",
            field!(private.mtls, |_, raw| values::boolean(raw)),
        ),
        Setting::new(
            "private.mtls_ca_file",
            Kind::Text {
                format: Format::Path,
            },
            "PEM file of the CA(s) that sign the peers' client certificates; required when \
             private.mtls is on.",
            field!(private.mtls_ca_file, |_, raw| values::optional_path(raw)),
        ),
        Setting::new(
            "private.mtls_peer_name",
            Kind::Text {
                format: Format::HostOrIp,
            },
            "With private.mtls, the name a peer's client certificate must carry (DNS or IP \
             subjectAltName, or CN); empty: any certificate from private.mtls_ca_file.",
            field!(private.mtls_peer_name, |_, raw| values::peer_name(raw)),
        ),
    ]
}

/// The side a `public.*` or `private.*` setting belongs to.
fn side_of(setting: &Setting) -> Side {
    match setting.split().0 {
        "private" => Side::Private,
        _ => Side::Public,
    }
}
