//! The runner of scheduled provisioning actions (PRO-9), a task of
//! `outpost serve`: it runs the pending actions whose time has come,
//! oldest first, one at a time, then sleeps until the next one is due,
//! until an action is scheduled through the service (a
//! [`tokio::sync::Notify`]), or for at most its re-check interval (an
//! action scheduled by a CLI process, which cannot notify it, is seen
//! then). No busy polling.
//!
//! It never runs on the SIP core: each store access and each action runs
//! on Tokio's blocking pool ([`Service::run`]) over the API's own
//! connection. Time comes from a [`Clock`], so tests move it by hand.
//! Pending actions are rows in the store: they survive a restart and run
//! after it. An action cut by a stop or crash is marked `interrupted` by
//! `serve` at start, before this runs (`Store::interrupt_running_actions`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::clock::Clock;
use crate::service::Service;

/// How long the runner sleeps at most before it looks at the store again.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(10);

/// The runner: a service (with the gateway's public name, for imports'
/// system values), a clock and its re-check interval.
pub struct ActionRunner {
    service: Service,
    clock: Arc<dyn Clock>,
    recheck: Duration,
}

impl ActionRunner {
    /// A runner over `service` with [`DEFAULT_RECHECK`].
    pub fn new(service: Service, clock: Arc<dyn Clock>) -> Self {
        Self {
            service,
            clock,
            recheck: DEFAULT_RECHECK,
        }
    }

    /// Another re-check interval (at least one second).
    #[must_use]
    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck.max(Duration::from_secs(1));
        self
    }

    /// Runs actions until `stop` completes. An action running then
    /// finishes on the blocking pool unless the process ends first (it is
    /// then marked interrupted at the next start).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let wake = self.service.action_wakeup();
        tokio::pin!(stop);
        info!("provisioning action runner up");
        loop {
            self.run_due().await;
            let wait = self.wait().await;
            tokio::select! {
                () = &mut stop => break,
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        info!("provisioning action runner stopped");
    }

    /// Runs every action due now, oldest first.
    async fn run_due(&self) {
        let now = self.clock.now();
        let ids = match self.service.run(move |s| s.due_action_ids(now)).await {
            Ok(ids) => ids,
            Err(e) => {
                warn!(error = %e, "provisioning actions: cannot read the due actions");
                return;
            }
        };
        for id in ids {
            let now = self.clock.now();
            match self.service.run(move |s| s.run_action(id, now)).await {
                Ok(Some(view)) => info!(
                    action = id,
                    state = %view.state,
                    result = view.result.as_deref().unwrap_or(""),
                    "provisioning action ended"
                ),
                Ok(None) => {}
                Err(e) => warn!(action = id, error = %e, "provisioning action could not run"),
            }
        }
    }

    /// How long to sleep: until the next due time, at most the re-check
    /// interval, at least a second when something due is still pending
    /// (it failed to start: no spinning on it).
    async fn wait(&self) -> Duration {
        let next = match self.service.run(|s| s.next_action_due()).await {
            Ok(next) => next,
            Err(e) => {
                warn!(error = %e, "provisioning actions: cannot read the next due time");
                None
            }
        };
        let Some(due) = next else {
            return self.recheck;
        };
        let ahead = due.saturating_sub(self.clock.now());
        let secs = u64::try_from(ahead).unwrap_or(0).max(1);
        Duration::from_secs(secs).min(self.recheck)
    }
}
