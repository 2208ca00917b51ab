//! The SIP service's state and its control (OPS-2): stop, start and
//! restart the SIP listeners, transports, core and media inside the
//! running `outpost serve`, which keeps the admin listener and the API up.
//! Scope `service`; every change of state is audited (`service.stop`,
//! `service.start`, `service.restart`) with the state before and after,
//! right after the gateway did it (the change is the process's, not the
//! database's, so there is no transaction to share).

use std::sync::Arc;

use serde::Serialize;
use tracing::info;

use super::gateway::{Gateway, GatewayError, SipStatus};
use super::tokens::{Access, Resource};
use super::{Caller, Service, ServiceError};

/// What to do with the SIP service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipAction {
    /// Stop it.
    Stop,
    /// Start it.
    Start,
    /// Stop it, then start it.
    Restart,
}

impl SipAction {
    /// `stop`, `start` or `restart` (as in `POST /api/v1/service/stop`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Restart => "restart",
        }
    }
}

/// The answer to a control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SipControlled {
    /// The action asked for.
    pub action: &'static str,
    /// False when the service was in the asked state already.
    pub changed: bool,
    /// The state before.
    pub before: SipStatus,
    /// The state now.
    pub after: SipStatus,
}

impl Service {
    /// Lets the service layer control the running gateway (`outpost
    /// serve` passes itself).
    #[must_use]
    pub fn with_gateway(mut self, gateway: Arc<dyn Gateway>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// The SIP service's state (`service:read`).
    ///
    /// # Errors
    /// 403 without read access; 409 in a process without a SIP service.
    pub fn sip_status(&self, caller: &Caller) -> Result<SipStatus, ServiceError> {
        caller.require(Resource::Service, Access::Read)?;
        Ok(self.gateway()?.sip_status())
    }

    /// Stops, starts or restarts the SIP service (`service:write`); blocks
    /// until done (stopping hangs up calls and closes every SIP listener,
    /// a few seconds at most).
    ///
    /// # Errors
    /// 403 without write access; 409 in a process without a SIP service,
    /// when the service could not start (the message names what: a port
    /// taken...; the service is then stopped) or did not finish in time.
    pub fn control_sip(
        &self,
        caller: &Caller,
        action: SipAction,
    ) -> Result<SipControlled, ServiceError> {
        caller.require(Resource::Service, Access::Write)?;
        let gateway = self.gateway()?;
        let before = gateway.sip_status();
        let outcome = match action {
            SipAction::Stop => gateway.stop_sip(),
            SipAction::Start => gateway.start_sip(),
            SipAction::Restart => gateway.restart_sip(),
        };
        let after = match &outcome {
            Ok(status) => status.clone(),
            Err(_) => gateway.sip_status(),
        };
        let changed = action == SipAction::Restart
            || before.state != after.state
            || before.since != after.since;
        if changed {
            let target = "sip";
            let audit = caller.audit(
                &format!("service.{}", action.as_str()),
                target,
                Some(&before),
                Some(&after),
            );
            self.with_store(|store| Ok(store.append_audit(&audit)?))?;
            info!(
                actor = %caller.audit_actor().0,
                action = action.as_str(),
                state = %after.state,
                "SIP service controlled through the API"
            );
        }
        outcome.map_err(|e| gateway_error(&e))?;
        Ok(SipControlled {
            action: action.as_str(),
            changed,
            before,
            after,
        })
    }

    fn gateway(&self) -> Result<&Arc<dyn Gateway>, ServiceError> {
        self.gateway.as_ref().ok_or_else(|| {
            ServiceError::Conflict(
                "no SIP service in this process: the SIP service is controlled through the API \
                 of a running `outpost serve`"
                    .to_owned(),
            )
        })
    }
}

pub(crate) fn gateway_error(e: &GatewayError) -> ServiceError {
    match e {
        GatewayError::StartFailed(_)
        | GatewayError::ShuttingDown
        | GatewayError::Timeout { .. }
        | GatewayError::Unsupported { .. } => ServiceError::Conflict(e.to_string()),
        GatewayError::Other(_) => ServiceError::Internal(e.to_string()),
    }
}
