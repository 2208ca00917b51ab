//! Logs (`tracing`, text or JSON) and metrics (Prometheus exposition on the
//! admin listener, OPS-3).

use std::io::IsTerminal;
use std::time::Instant;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

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
    /// recorder can exist per process.
    pub fn install() -> Result<Self, String> {
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| format!("installing the metrics recorder: {e}"))?;
        metrics::describe_gauge!("outpost_build_info", "Build information; value is always 1");
        metrics::describe_gauge!(
            "outpost_uptime_seconds",
            "Seconds since the service started"
        );
        metrics::describe_gauge!(
            "outpost_listener_up",
            "1 while a listener is bound and accepting, 0 once stopped"
        );
        metrics::gauge!("outpost_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Ok(Self {
            handle,
            started: Instant::now(),
        })
    }

    /// Renders the Prometheus text exposition, refreshing time-based gauges.
    pub fn render(&self) -> String {
        metrics::gauge!("outpost_uptime_seconds").set(self.started.elapsed().as_secs_f64());
        self.handle.render()
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
