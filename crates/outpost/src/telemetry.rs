//! Logs (`tracing`, text or JSON) and metrics (Prometheus exposition on the
//! admin listener, OPS-3).
//!
//! Every counter is exported from the start, at 0, with each label set
//! known then ([`register_series`]): a dashboard's `rate()` and alerts see
//! a series before its first event, not a gap. [`COUNTERS`] and [`GAUGES`]
//! list every metric with its help text; a unit test checks that each
//! `counter!` in the source is in the list.

use std::io::IsTerminal;
use std::time::Instant;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat, Side};
use crate::transport::TransportKind;

/// Environment variable whose value, when set, replaces `log.level`.
pub const LOG_FILTER_ENV: &str = "OUTPOST_LOG";

/// Installs the global log subscriber, writing to stderr (stdout is kept for
/// what a person must read once, such as the setup token).
pub fn init_logging(format: LogFormat, level: &str) -> Result<(), String> {
    let directive = std::env::var(LOG_FILTER_ENV).unwrap_or_else(|_| level.to_string());
    let directive = with_peer_noise_quieted(&directive);
    let filter = EnvFilter::try_new(&directive).map_err(|e| {
        format!("log level {directive:?}: {e}; use e.g. \"info\" or \"outpost=debug,info\"")
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| format!("installing the log subscriber: {e}"))
}

/// rustls warns about what a peer did wrong, once per connection (e.g. an
/// IP address as SNI, which many phones send): anyone on the Internet
/// could fill the log that way. Those go at `error` only, unless the
/// filter says otherwise about rustls.
fn with_peer_noise_quieted(directive: &str) -> String {
    if directive.contains("rustls") {
        directive.to_owned()
    } else if directive.trim().is_empty() {
        "rustls=error".to_owned()
    } else {
        format!("{directive},rustls=error")
    }
}

/// The process-wide metrics registry and its Prometheus renderer.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
    started: Instant,
}

impl Metrics {
    /// Installs the global recorder and records build information. Only one
    /// recorder can exist per process. [`register_series`] describes the
    /// metrics.
    pub fn install() -> Result<Self, String> {
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| format!("installing the metrics recorder: {e}"))?;
        metrics::gauge!("outpost_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Ok(Self {
            handle,
            started: Instant::now(),
        })
    }

    /// Renders the Prometheus text exposition, refreshing time-based gauges.
    pub fn render(&self) -> String {
        metrics::gauge!("outpost_uptime_seconds").set(self.started.elapsed().as_secs_f64());
        record_heap();
        self.handle.render()
    }
}

/// The allocator's own figures: what is live on the heap, as opposed to
/// RSS, which also counts what the allocator keeps for reuse (README
/// "Memory"). Zero where jemalloc is not the global allocator (tests).
fn record_heap() {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The statistics are a snapshot refreshed by advancing the epoch.
    if epoch::advance().is_err() {
        return;
    }
    if let Ok(bytes) = stats::allocated::read() {
        metrics::gauge!("outpost_memory_heap_allocated_bytes").set(bytes as f64);
    }
    if let Ok(bytes) = stats::resident::read() {
        metrics::gauge!("outpost_memory_heap_resident_bytes").set(bytes as f64);
    }
}

/// Every counter, with its help text.
pub const COUNTERS: &[(&str, &str)] = &[
    (
        "outpost_sip_messages_received_total",
        "SIP messages parsed and handed to the core, by side, transport and kind (request, response)",
    ),
    (
        "outpost_sip_rejected_total",
        "SIP input refused, by side, transport and reason (malformed, framing, overload, transactions, guard)",
    ),
    (
        "outpost_connections_refused_total",
        "Incoming TCP/TLS connections refused, by side and reason (per_source, total)",
    ),
    (
        "outpost_tls_handshake_failures_total",
        "TLS handshakes that failed, incoming and outgoing, by side",
    ),
    (
        "outpost_connect_failures_total",
        "Outgoing TCP/TLS connections that failed, by side and stage (connect, tls)",
    ),
    (
        "outpost_sip_send_dropped_total",
        "SIP datagrams the kernel had no room for (UDP send buffer full), by side",
    ),
    (
        "outpost_guard_dropped_total",
        "Requests the guard dropped, by reason",
    ),
    (
        "outpost_auth_failures_total",
        "Failed digest authentications of phones",
    ),
    (
        "outpost_registration_failures_total",
        "Registrations that failed (toward the phone or the iPBX)",
    ),
    ("outpost_calls_started_total", "Calls started"),
    ("outpost_calls_total", "Calls ended, by outcome"),
    (
        "outpost_media_timeouts_total",
        "Calls ended because media stopped (MED-5)",
    ),
    (
        "outpost_media_packets_total",
        "RTP packets accepted from each side (authenticated when SRTP), counted while calls last",
    ),
    (
        "outpost_media_srtp_auth_failures_total",
        "SRTP/SRTCP packets dropped because their authentication tag did not verify",
    ),
    (
        "outpost_media_srtp_nonconformant_total",
        "Packets on SRTP legs dropped as a phone's known mistakes, not forgeries: plain_rtcp (RTCP sent in clear), short_srtcp_tag (SRTCP with a 32-bit tag)",
    ),
    (
        "outpost_acme_orders_total",
        "ACME orders finished, by result (issued, failed); a failure is retried with back-off and audited",
    ),
];

/// Every gauge, with its help text.
pub const GAUGES: &[(&str, &str)] = &[
    ("outpost_build_info", "Build information; value is always 1"),
    (
        "outpost_uptime_seconds",
        "Seconds since the service started",
    ),
    (
        "outpost_listener_up",
        "1 while a listener is bound and accepting, 0 once stopped",
    ),
    (
        "outpost_connections",
        "Open TCP/TLS connections, by side and transport",
    ),
    ("outpost_sip_transactions", "SIP transactions in progress"),
    ("outpost_registrations", "Phones registered through Outpost"),
    ("outpost_active_calls", "Calls in progress"),
    ("outpost_active_dialogs", "Dialogs in progress (both legs)"),
    (
        "outpost_memory_heap_allocated_bytes",
        "Bytes the process has allocated and not freed (jemalloc stats.allocated, read at each scrape)",
    ),
    (
        "outpost_memory_heap_resident_bytes",
        "Bytes of heap pages resident in memory, allocator overhead included (jemalloc stats.resident)",
    ),
    (
        "outpost_devices_connected",
        "Devices with a live connection",
    ),
    ("outpost_devices_in_call", "Devices in a call"),
    ("outpost_devices_natted", "Devices seen behind a NAT"),
    (
        "outpost_media_ports_in_use",
        "Media ports allocated, by side",
    ),
    (
        "outpost_guard_list_size",
        "Entries on the guard's lists, by list (allow, dos, bruteforce)",
    ),
    (
        "outpost_guard_global_rate",
        "Requests per second the guard sees from all sources",
    ),
    (
        "outpost_certificate_expiry_seconds",
        "Seconds until the certificate expires, by usage and subject (negative once expired); warnings at 30, 7 and 1 days",
    ),
];

/// One series: a metric name and its labels.
pub type Series = (&'static str, Vec<(&'static str, &'static str)>);

/// The (side, transport) pairs SIP can flow on with this configuration:
/// each side's listeners (the transport Outpost dials the iPBX with is
/// one of the private side's, `check-config` makes sure).
fn sip_flows(config: &Config) -> Vec<(Side, TransportKind)> {
    let mut flows = Vec::new();
    for side in [&config.public, &config.private] {
        if side.tls_enabled() {
            flows.push((side.side, TransportKind::Tls));
        }
        if side.plain_enabled() {
            flows.push((side.side, TransportKind::Udp));
            flows.push((side.side, TransportKind::Tcp));
        }
    }
    flows
}

/// Every counter series known at start: each counter of [`COUNTERS`] with
/// every label set the configuration allows.
pub fn counter_series(config: &Config) -> Vec<Series> {
    let flows = sip_flows(config);
    let mut series: Vec<Series> = Vec::new();
    for &(side, transport) in &flows {
        let (side, transport) = (side.as_str(), transport.as_str());
        for kind in ["request", "response"] {
            series.push((
                "outpost_sip_messages_received_total",
                vec![("side", side), ("transport", transport), ("kind", kind)],
            ));
        }
        let mut reasons = vec!["malformed", "overload", "transactions"];
        if transport != "udp" {
            reasons.push("framing");
        }
        if side == "public" {
            reasons.push("guard");
        }
        for reason in reasons {
            series.push((
                "outpost_sip_rejected_total",
                vec![("side", side), ("transport", transport), ("reason", reason)],
            ));
        }
    }
    for side in [&config.public, &config.private] {
        let name = side.side.as_str();
        if side.tls_enabled() || side.plain_enabled() {
            for reason in ["per_source", "total"] {
                series.push((
                    "outpost_connections_refused_total",
                    vec![("side", name), ("reason", reason)],
                ));
            }
        }
        let mut stages = vec!["connect"];
        if flows.contains(&(side.side, TransportKind::Tls)) {
            series.push(("outpost_tls_handshake_failures_total", vec![("side", name)]));
            stages.push("tls");
        }
        for stage in stages {
            series.push((
                "outpost_connect_failures_total",
                vec![("side", name), ("stage", stage)],
            ));
        }
        if flows.contains(&(side.side, TransportKind::Udp)) {
            series.push(("outpost_sip_send_dropped_total", vec![("side", name)]));
        }
    }
    for reason in outpost_guard::DropReason::ALL {
        series.push((
            "outpost_guard_dropped_total",
            vec![("reason", reason.as_str())],
        ));
    }
    for name in [
        "outpost_auth_failures_total",
        "outpost_registration_failures_total",
        "outpost_calls_started_total",
        "outpost_media_timeouts_total",
        "outpost_media_srtp_auth_failures_total",
    ] {
        series.push((name, Vec::new()));
    }
    for &outcome in outpost_b2bua::CallOutcome::LABELS {
        series.push(("outpost_calls_total", vec![("outcome", outcome)]));
    }
    for side in ["public", "private"] {
        series.push(("outpost_media_packets_total", vec![("side", side)]));
    }
    for result in ["issued", "failed"] {
        series.push(("outpost_acme_orders_total", vec![("result", result)]));
    }
    for reason in ["plain_rtcp", "short_srtcp_tag"] {
        series.push((
            "outpost_media_srtp_nonconformant_total",
            vec![("reason", reason)],
        ));
    }
    series
}

/// Gauge series that would otherwise appear only at their first change
/// (the others are set at start by their owners: build information,
/// listeners, the guard's, and the core's within a second).
fn gauge_series(config: &Config) -> Vec<Series> {
    let mut series: Vec<Series> = sip_flows(config)
        .into_iter()
        .filter(|(_, t)| *t != TransportKind::Udp)
        .map(|(side, transport)| {
            (
                "outpost_connections",
                vec![("side", side.as_str()), ("transport", transport.as_str())],
            )
        })
        .collect();
    for name in [
        "outpost_sip_transactions",
        "outpost_registrations",
        "outpost_active_calls",
        "outpost_active_dialogs",
        "outpost_memory_heap_allocated_bytes",
        "outpost_memory_heap_resident_bytes",
        "outpost_devices_connected",
        "outpost_devices_in_call",
        "outpost_devices_natted",
    ] {
        series.push((name, Vec::new()));
    }
    for side in ["public", "private"] {
        series.push(("outpost_media_ports_in_use", vec![("side", side)]));
    }
    series
}

/// Describes every metric and exports every series known at start at 0
/// (counters) or at its current value (gauges: adding 0 never overwrites
/// what a task already set). Call once, after [`Metrics::install`] and
/// before the listeners start.
pub fn register_series(config: &Config) {
    for &(name, help) in COUNTERS {
        metrics::describe_counter!(name, help);
    }
    for &(name, help) in GAUGES {
        metrics::describe_gauge!(name, help);
    }
    for (name, labels) in counter_series(config) {
        metrics::counter!(name, &labels).increment(0);
    }
    for (name, labels) in gauge_series(config) {
        metrics::gauge!(name, &labels).increment(0.0);
    }
}

/// Records that a listener is up (`true`) or stopped.
pub fn listener_state(side: &str, transport: &str, address: &str, up: bool) {
    metrics::gauge!(
        "outpost_listener_up",
        "side" => side.to_string(),
        "transport" => transport.to_string(),
        "address" => address.to_string()
    )
    .set(if up { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocols;

    /// The names `macro!("name"` (or with the name on the next line)
    /// names in the crate's sources.
    fn names_in_source(macro_name: &str) -> std::collections::BTreeSet<String> {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("source directory") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let needle = format!("{macro_name}!(");
        let mut names = std::collections::BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source file");
            for (at, _) in text.match_indices(&needle) {
                let rest = text[at + needle.len()..].trim_start();
                if let Some(quoted) = rest.strip_prefix('"') {
                    let name = quoted.split('"').next().unwrap_or_default();
                    names.insert(name.to_owned());
                }
            }
        }
        names
    }

    fn everything_on() -> Config {
        let mut config = Config::default();
        config.public.protocols = Protocols::TlsUdpTcp;
        config.private.protocols = Protocols::UdpTcp;
        config
    }

    #[test]
    fn every_metric_in_the_source_is_listed_and_exported_at_start() {
        let listed: Vec<&str> = COUNTERS.iter().map(|(n, _)| *n).collect();
        let at_start: Vec<&str> = counter_series(&everything_on())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let counters = names_in_source("counter");
        assert!(counters.len() >= 10, "{counters:?}");
        for name in &counters {
            assert!(listed.contains(&name.as_str()), "{name} not in COUNTERS");
        }
        for name in &listed {
            assert!(at_start.contains(name), "{name} not exported at start");
        }
        let gauges: Vec<&str> = GAUGES.iter().map(|(n, _)| *n).collect();
        for name in names_in_source("gauge") {
            assert!(gauges.contains(&name.as_str()), "{name} not in GAUGES");
        }
    }

    #[test]
    fn series_follow_the_configured_transports() {
        let has = |series: &[Series], name: &str, labels: &[(&str, &str)]| {
            series.iter().any(|(n, l)| *n == name && l == labels)
        };
        let series = counter_series(&everything_on());
        let received = "outpost_sip_messages_received_total";
        for (side, transport) in [
            ("public", "tls"),
            ("public", "udp"),
            ("public", "tcp"),
            ("private", "udp"),
            ("private", "tcp"),
        ] {
            for kind in ["request", "response"] {
                let labels = [("side", side), ("transport", transport), ("kind", kind)];
                assert!(has(&series, received, &labels), "{labels:?}");
            }
        }
        let rejected = "outpost_sip_rejected_total";
        let labels = |side, transport, reason| {
            [("side", side), ("transport", transport), ("reason", reason)]
        };
        assert!(has(&series, rejected, &labels("public", "tcp", "framing")));
        assert!(!has(&series, rejected, &labels("public", "udp", "framing")));
        assert!(has(&series, rejected, &labels("public", "udp", "guard")));
        assert!(!has(&series, rejected, &labels("private", "udp", "guard")));
        for &outcome in outpost_b2bua::CallOutcome::LABELS {
            assert!(has(&series, "outpost_calls_total", &[("outcome", outcome)]));
        }
        assert!(!has(
            &series,
            received,
            &[
                ("side", "private"),
                ("transport", "tls"),
                ("kind", "request")
            ]
        ));
        // The defaults: TLS only on both sides.
        let series = counter_series(&Config::default());
        assert!(
            !series
                .iter()
                .any(|(_, l)| l.contains(&("transport", "udp")))
        );
        let tls = |side| [("side", side), ("transport", "tls"), ("kind", "request")];
        assert!(has(&series, received, &tls("public")));
        assert!(has(&series, received, &tls("private")));
    }

    #[test]
    fn rustls_peer_warnings_are_quieted_unless_asked_for() {
        assert_eq!(with_peer_noise_quieted("info"), "info,rustls=error");
        assert_eq!(
            with_peer_noise_quieted("outpost=debug,info"),
            "outpost=debug,info,rustls=error"
        );
        assert_eq!(
            with_peer_noise_quieted("rustls=debug,info"),
            "rustls=debug,info"
        );
        assert_eq!(with_peer_noise_quieted(""), "rustls=error");
        for directive in ["info", "outpost=debug,info", "warn"] {
            assert!(EnvFilter::try_new(with_peer_noise_quieted(directive)).is_ok());
        }
    }
}
