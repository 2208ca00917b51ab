//! The SIP stack's timers and limits (SIG-3, SIG-4, SIG-10), the remote
//! workers' registrations (SIG-6..SIG-8) and media anchoring (MED-1..MED-7).
//! The bounds are the ones `outpost check-config` has always applied.
//!
//! The registration and media policies marked live are read by the B2BUA
//! and the media manager when they are used (the next REGISTER, the next
//! call or renegotiation), so a running gateway takes a new value without
//! restarting; the SIP stack's own timers and limits, the digest
//! algorithms (the digest server is built once) and port renumbering need
//! a restart.

use super::{Kind, Setting, Unit, choice_of_policy, field};
use crate::values;

/// A whole number within the setting's bounds.
fn integer(setting: &Setting, raw: values::Raw<'_>) -> Result<u32, values::Problem> {
    setting.integer(raw)
}

pub(super) fn settings() -> Vec<Setting> {
    let mut all = sip();
    all.extend(registration());
    all.extend(media());
    all
}

fn sip() -> Vec<Setting> {
    vec![
        Setting::new(
            "sip.t1_ms",
            Kind::Integer {
                min: 50,
                max: 10_000,
            },
            "RFC 3261 T1, the round-trip estimate: the first retransmission interval.",
            field!(sip.t1_ms, integer),
        )
        .unit(Unit::Milliseconds),
        Setting::new(
            "sip.t2_ms",
            Kind::Integer {
                min: 500,
                max: 60_000,
            },
            "RFC 3261 T2, the longest non-INVITE retransmission interval; not below T1.",
            field!(sip.t2_ms, integer),
        )
        .unit(Unit::Milliseconds),
        Setting::new(
            "sip.t4_ms",
            Kind::Integer {
                min: 500,
                max: 60_000,
            },
            "RFC 3261 T4, how long a message may stay in the network.",
            field!(sip.t4_ms, integer),
        )
        .unit(Unit::Milliseconds),
        Setting::new(
            "sip.max_message_size",
            Kind::Integer {
                min: 1_500,
                max: 1_048_576,
            },
            "Largest SIP message accepted (headers and body); larger ones get 513.",
            field!(sip.max_message_size, integer),
        )
        .unit(Unit::Bytes),
        Setting::new(
            "sip.max_connections",
            Kind::Integer {
                min: 1,
                max: 1_000_000,
            },
            "Open TCP/TLS connections in total, both sides together.",
            field!(sip.max_connections, integer),
        )
        .unit(Unit::Connections),
        Setting::new(
            "sip.max_connections_per_source",
            Kind::Integer {
                min: 1,
                max: 100_000,
            },
            "Open TCP/TLS connections from one source address; an office behind one NAT opens \
             one per phone.",
            field!(sip.max_connections_per_source, integer),
        )
        .unit(Unit::Connections),
        Setting::new(
            "sip.idle_timeout_secs",
            Kind::Integer {
                min: 10,
                max: 86_400,
            },
            "A TCP/TLS connection without traffic for this long is closed.",
            field!(sip.idle_timeout_secs, integer),
        )
        .unit(Unit::Seconds),
        Setting::new(
            "sip.max_transactions",
            Kind::Integer {
                min: 100,
                max: 10_000_000,
            },
            "Live SIP transactions; beyond it new requests get 503 with Retry-After.",
            field!(sip.max_transactions, integer),
        )
        .unit(Unit::Transactions),
    ]
}

fn registration() -> Vec<Setting> {
    let max_bindings = u32::try_from(outpost_b2bua::MAX_BINDINGS_PER_DEVICE).unwrap_or(u32::MAX);
    vec![
        Setting::new(
            "registration.phone_expiry_secs",
            Kind::Integer {
                min: 20,
                max: 86_400,
            },
            "Expiry granted to phones: short, so that phones behind NAT refresh (and keep \
             their NAT binding open) often.",
            field!(registration.phone_expiry_secs, integer),
        )
        .unit(Unit::Seconds)
        .live(),
        Setting::new(
            "registration.icp_expiry_secs",
            Kind::Integer {
                min: 60,
                max: 86_400,
            },
            "Expiry Outpost asks of the iPBX; not shorter than the phones' expiry.",
            field!(registration.icp_expiry_secs, integer),
        )
        .unit(Unit::Seconds)
        .live(),
        Setting::new(
            "registration.heartbeat_secs",
            Kind::Integer { min: 0, max: 3_600 },
            "Interval of OPTIONS heartbeats to phones registered over UDP; 0 turns them off.",
            field!(registration.heartbeat_secs, integer),
        )
        .unit(Unit::Seconds)
        .live(),
        Setting::new(
            "registration.max_calls",
            Kind::Integer {
                min: 1,
                max: 1_000_000,
            },
            "Concurrent calls through the B2BUA; beyond it new calls get 503.",
            field!(registration.max_calls, integer),
        )
        .unit(Unit::Calls)
        .live(),
        Setting::new(
            "registration.max_registrations",
            Kind::Integer {
                min: 1,
                max: 10_000_000,
            },
            "Registered clients in all (each phone or softphone binding); beyond it a new \
             client's REGISTER gets 503 with Retry-After. About 1 KB each (README \"Memory\").",
            field!(registration.max_registrations, integer),
        )
        .unit(Unit::Clients)
        .live(),
        Setting::new(
            "registration.max_bindings_per_device",
            Kind::Integer {
                min: 1,
                max: max_bindings,
            },
            "Clients registered as one device at once (desk phone, softphone...); a new one \
             beyond it replaces the binding that expires first.",
            field!(registration.max_bindings_per_device, integer),
        )
        .unit(Unit::Clients)
        .live(),
        Setting::new(
            "registration.trust_registered_connection",
            Kind::Boolean,
            "Accept requests on the TLS/TCP connection of an authenticated registration \
             without challenging them again.",
            field!(registration.trust_registered_connection, |_, raw| {
                values::boolean(raw)
            }),
        )
        .live(),
        Setting::new(
            "registration.digest_algorithms",
            Kind::List {
                values: values::DIGEST_ALGORITHMS.to_vec(),
            },
            "Digest algorithms offered to phones (RFC 7616), comma-separated, in order.",
            field!(registration.digest_algorithms, |_, raw| {
                values::digest_algorithms(raw)
            }),
        ),
    ]
}

fn media() -> Vec<Setting> {
    use outpost_sdp::{IcpSideInbound, IcpSideOutbound, SetSideInbound, SetSideOutbound};
    let dscp = Kind::Integer { min: 0, max: 63 };
    vec![
        Setting::new(
            "media.timeout_secs",
            Kind::Integer {
                min: 0,
                max: 86_400,
            },
            "A call without media in either direction for this long is ended; 0 turns the \
             check off.",
            field!(media.timeout_secs, integer),
        )
        .unit(Unit::Seconds)
        .live(),
        Setting::new(
            "media.dscp_audio",
            dscp.clone(),
            "DSCP of relayed audio packets (EF = 46).",
            field!(media.dscp_audio, integer),
        )
        .live(),
        Setting::new(
            "media.dscp_video",
            dscp,
            "DSCP of relayed video packets (AF41 = 34).",
            field!(media.dscp_video, integer),
        )
        .live(),
        Setting::new(
            "media.change_port_on_renegotiation",
            Kind::Boolean,
            "Allocate new ports on every renegotiation.",
            field!(media.change_port_on_renegotiation, |_, raw| {
                values::boolean(raw)
            }),
        ),
        Setting::new(
            "media.strict_source",
            Kind::Boolean,
            "Accept media only from the address signalled in SDP (symmetric RTP); off: learn \
             it from the first valid packet.",
            field!(media.strict_source, |_, raw| values::boolean(raw)),
        )
        .live(),
        Setting::new(
            "media.set_side_inbound",
            choice_of_policy::<SetSideInbound>(),
            "What phones may offer (MED-3).",
            field!(media.set_side_inbound, |_, raw| values::media_policy(raw)),
        )
        .live(),
        Setting::new(
            "media.set_side_outbound",
            choice_of_policy::<SetSideOutbound>(),
            "What Outpost offers phones (MED-3).",
            field!(media.set_side_outbound, |_, raw| values::media_policy(raw)),
        )
        .live(),
        Setting::new(
            "media.icp_side_inbound",
            choice_of_policy::<IcpSideInbound>(),
            "What the iPBX may offer (MED-3).",
            field!(media.icp_side_inbound, |_, raw| values::media_policy(raw)),
        )
        .live(),
        Setting::new(
            "media.icp_side_outbound",
            choice_of_policy::<IcpSideOutbound>(),
            "What Outpost offers the iPBX (MED-3).",
            field!(media.icp_side_outbound, |_, raw| values::media_policy(raw)),
        )
        .live(),
        Setting::new(
            "media.srtp_suites",
            Kind::List {
                values: values::SRTP_SUITES.to_vec(),
            },
            "SRTP suites Outpost offers, comma-separated, in order of preference.",
            field!(media.srtp_suites, |_, raw| values::srtp_suites(raw)),
        )
        .live(),
    ]
}
