//! ICP tests asked through the API (`POST /api/v1/icps/{name}/test`): the
//! same test as `outpost icps test` ([`crate::icp_test::test_icp`]), run on
//! the gateway's runtime with the configuration `outpost serve` started
//! with and its data directory (Outpost's own certificate is trusted, as
//! the SIP service trusts it).
//!
//! The service layer calls the gateway from Tokio's blocking pool, so the
//! test is driven with [`Handle::block_on`] there; it runs apart from the
//! SIP service's controller, so a slow test never delays a stop or a
//! settings change.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use outpost_api::service::gateway::GatewayError;
use outpost_store::Icp;
use tokio::runtime::Handle;

use crate::cli::IcpTestArgs;
use crate::config::Config;
use crate::icp_test::test_icp;

/// Time allowed for the DNS step on top of the per-target steps.
const DNS_ALLOWANCE: Duration = Duration::from_secs(10);
/// Targets an `all` test is budgeted for (an ICP rarely resolves to more).
const ALL_TARGETS_BUDGET: u32 = 4;
/// Upper bound of a whole test, whatever was asked: an HTTP client should
/// not wait longer (curl's and browsers' usual limits are near it).
const MAX_TEST: Duration = Duration::from_secs(120);

/// Runs ICP tests for the API.
#[derive(Debug, Clone)]
pub struct IcpTester {
    runtime: Handle,
    config: Arc<Config>,
    data_dir: PathBuf,
}

impl IcpTester {
    /// A tester on `runtime` with `outpost serve`'s start-time `config`
    /// and `data_dir`.
    pub fn new(runtime: Handle, config: Config, data_dir: PathBuf) -> Self {
        Self {
            runtime,
            config: Arc::new(config),
            data_dir,
        }
    }

    /// Tests `icp` (its first target, or `all`), each step given
    /// `timeout`, the whole within [`bound`]; returns the report as JSON
    /// (`outpost icps test --json`'s object).
    ///
    /// # Errors
    /// [`GatewayError::Timeout`] when the whole test overran its bound;
    /// [`GatewayError::Other`] if the report cannot be serialized.
    pub fn test(
        &self,
        icp: &Icp,
        all: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, GatewayError> {
        let args = IcpTestArgs {
            name: icp.name.clone(),
            all,
            json: true,
            timeout,
            // The ICP's CA file, else `[ipbx] ca_file`: the CLI's choice
            // without `--ca-file`.
            ca_file: None,
        };
        let limit = bound(all, timeout);
        let report = self
            .runtime
            .block_on(async {
                tokio::time::timeout(limit, test_icp(icp, &self.config, &self.data_dir, &args))
                    .await
            })
            .map_err(|_| GatewayError::Timeout {
                secs: limit.as_secs(),
            })?;
        serde_json::to_value(&report)
            .map_err(|e| GatewayError::Other(format!("the ICP test's report: {e}")))
    }
}

/// The whole test's time limit: DNS, then up to three steps (connect,
/// TLS, OPTIONS) of at most `timeout` per target tested, never more than
/// [`MAX_TEST`].
pub fn bound(all: bool, timeout: Duration) -> Duration {
    let targets = if all { ALL_TARGETS_BUDGET } else { 1 };
    (DNS_ALLOWANCE + timeout.saturating_mul(3 * targets)).min(MAX_TEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_the_targets_and_the_timeout_up_to_two_minutes() {
        assert_eq!(
            bound(false, Duration::from_secs(3)),
            Duration::from_secs(19)
        );
        assert_eq!(bound(true, Duration::from_secs(3)), Duration::from_secs(46));
        assert_eq!(bound(true, Duration::from_secs(60)), MAX_TEST);
    }
}
