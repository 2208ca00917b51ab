//! [`Gateway`]: what the service layer may ask of the running gateway — the
//! SIP service's state, stopping and starting it (OPS-2), taking settings
//! changed through the API, and testing an ICP as the gateway reaches it
//! (PRO-1) — without depending on the `outpost` binary that implements it
//! (`outpost serve` passes one in with [`crate::Service::with_gateway`]).
//!
//! The methods block until the gateway has done what was asked (stopping
//! waits for calls to be hung up and listeners closed, a few seconds at
//! most): call them from a blocking context, as [`crate::Service::run`]
//! does, never from an async task.

use std::time::Duration;

use outpost_store::Icp;
use serde::Serialize;

/// Whether the SIP service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SipState {
    /// The SIP listeners, transports, core and media run.
    Running,
    /// Stopped through the API: no SIP listener is open; the admin
    /// listener and the API stay up.
    Stopped,
}

impl SipState {
    /// `running` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for SipState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SIP service's state, as `GET /api/v1/service` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SipStatus {
    /// Running or stopped.
    pub state: SipState,
    /// Since when, Unix seconds.
    pub since: i64,
    /// The SIP listeners open, as `side/transport address` (empty when
    /// stopped).
    pub listeners: Vec<String>,
    /// Why the last start failed, when it did (the service then stays
    /// stopped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What [`Gateway::apply_settings`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveApply {
    /// The running SIP service uses the stored values now.
    Applied,
    /// The SIP service is stopped: it starts with the stored values.
    NotRunning,
}

/// Why the gateway could not do what was asked; the message says why and
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The SIP service could not start (a port taken...) and stays
    /// stopped.
    #[error("the SIP service could not start: {0}")]
    StartFailed(String),
    /// The gateway did not answer in time.
    #[error("the gateway did not finish within {secs} s; GET /api/v1/service shows its state")]
    Timeout {
        /// How long it was given.
        secs: u64,
    },
    /// The gateway is shutting down.
    #[error("the gateway is shutting down")]
    ShuttingDown,
    /// This gateway cannot do what was asked (a gateway implementation
    /// without it, e.g. a test's).
    #[error("this gateway cannot {what}; run it through a running `outpost serve`")]
    Unsupported {
        /// What it cannot do, e.g. `test ICPs`.
        what: &'static str,
    },
    /// Anything else, said.
    #[error("{0}")]
    Other(String),
}

/// The running gateway, as the service layer controls it. Implemented by
/// `outpost serve`; tests give a fake.
pub trait Gateway: Send + Sync {
    /// The SIP service's state now.
    fn sip_status(&self) -> SipStatus;

    /// Stops the SIP service (calls hung up, phones unregistered from the
    /// iPBX, listeners closed, media released), keeping the process, the
    /// admin listener and the API up. Stopping a stopped service does
    /// nothing.
    ///
    /// # Errors
    /// A [`GatewayError`].
    fn stop_sip(&self) -> Result<SipStatus, GatewayError>;

    /// Starts the SIP service with the settings stored now. Starting a
    /// running service does nothing.
    ///
    /// # Errors
    /// [`GatewayError::StartFailed`] naming what could not start.
    fn start_sip(&self) -> Result<SipStatus, GatewayError>;

    /// Stops then starts the SIP service.
    ///
    /// # Errors
    /// As [`Gateway::stop_sip`] and [`Gateway::start_sip`].
    fn restart_sip(&self) -> Result<SipStatus, GatewayError> {
        self.stop_sip()?;
        self.start_sip()
    }

    /// Makes the running SIP service take the live settings stored now
    /// (see `outpost_config::Apply::Live`); returns once it has.
    ///
    /// # Errors
    /// A [`GatewayError`] when it did not confirm; it also polls the
    /// database, so the values still apply within seconds.
    fn apply_settings(&self) -> Result<LiveApply, GatewayError>;

    /// Tests `icp` as the running gateway reaches it (DNS, TCP/TLS connect
    /// with the certificate check, SIP OPTIONS), its first target or
    /// `all`, each step given `timeout`; returns the report as `outpost
    /// icps test --json` prints it (whether it passed is its `ok`).
    ///
    /// # Errors
    /// [`GatewayError::Timeout`] when the whole test overran its bound;
    /// [`GatewayError::Unsupported`] from a gateway that cannot test (the
    /// default).
    fn test_icp(
        &self,
        icp: &Icp,
        all: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, GatewayError> {
        let _ = (icp, all, timeout);
        Err(GatewayError::Unsupported { what: "test ICPs" })
    }
}
