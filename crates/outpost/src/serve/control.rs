//! The SIP service under the API's control (OPS-2): [`GatewayHandle`]
//! implements `outpost_api`'s [`Gateway`] for the service layer, and
//! [`controller`] owns the running [`SipRun`] and does what the handle
//! asks, one thing at a time: stop, start, restart, apply stored settings.
//!
//! The handle's methods block (the service layer runs them on Tokio's
//! blocking pool) until the controller answers, so `POST
//! /api/v1/service/stop` answers once every SIP socket is closed. ICP
//! tests are the exception: they do not go through the controller (see
//! [`IcpTester`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use outpost_api::service::gateway::{Gateway, GatewayError, LiveApply, SipState, SipStatus};
use outpost_store::Icp;
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use super::icp_tester::IcpTester;
use super::sip::{SIP_STOP_GRACE, SipContext, SipRun};

/// How long the API waits for a stop, start or restart.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the API waits for live settings to apply.
const APPLY_TIMEOUT: Duration = Duration::from_secs(10);

type Reply<T> = std::sync::mpsc::Sender<Result<T, GatewayError>>;

/// What the handle asks of the controller.
enum Command {
    Stop(Reply<SipStatus>),
    Start(Reply<SipStatus>),
    Restart(Reply<SipStatus>),
    Apply(Reply<LiveApply>),
}

/// The state both sides see.
type SharedStatus = Arc<Mutex<SipStatus>>;

fn lock(status: &SharedStatus) -> MutexGuard<'_, SipStatus> {
    // Written whole under the lock: a panic cannot leave half a status.
    status
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The service layer's view of the running gateway.
#[derive(Clone)]
pub struct GatewayHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: SharedStatus,
    icp_tester: IcpTester,
}

impl GatewayHandle {
    fn ask<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
        timeout: Duration,
    ) -> Result<T, GatewayError> {
        let (reply, answer) = std::sync::mpsc::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| GatewayError::ShuttingDown)?;
        match answer.recv_timeout(timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(GatewayError::Timeout {
                secs: timeout.as_secs(),
            }),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(GatewayError::ShuttingDown),
        }
    }
}

impl Gateway for GatewayHandle {
    fn sip_status(&self) -> SipStatus {
        lock(&self.status).clone()
    }

    fn stop_sip(&self) -> Result<SipStatus, GatewayError> {
        self.ask(Command::Stop, CONTROL_TIMEOUT)
    }

    fn start_sip(&self) -> Result<SipStatus, GatewayError> {
        self.ask(Command::Start, CONTROL_TIMEOUT)
    }

    fn restart_sip(&self) -> Result<SipStatus, GatewayError> {
        self.ask(Command::Restart, CONTROL_TIMEOUT)
    }

    fn apply_settings(&self) -> Result<LiveApply, GatewayError> {
        self.ask(Command::Apply, APPLY_TIMEOUT)
    }

    fn test_icp(
        &self,
        icp: &Icp,
        all: bool,
        timeout: Duration,
    ) -> Result<serde_json::Value, GatewayError> {
        self.icp_tester.test(icp, all, timeout)
    }
}

/// The controller's half: started by [`channel`], run by [`controller`].
pub struct Controller {
    commands: mpsc::UnboundedReceiver<Command>,
    status: SharedStatus,
}

/// A handle for the API and the controller it talks to, for a SIP
/// service running with `listeners`; ICP tests go to `icp_tester`.
pub fn channel(listeners: Vec<String>, icp_tester: IcpTester) -> (GatewayHandle, Controller) {
    let (tx, rx) = mpsc::unbounded_channel();
    let status = Arc::new(Mutex::new(SipStatus {
        state: SipState::Running,
        since: unix_now(),
        listeners,
        last_error: None,
    }));
    (
        GatewayHandle {
            commands: tx,
            status: Arc::clone(&status),
            icp_tester,
        },
        Controller {
            commands: rx,
            status,
        },
    )
}

/// Owns the running SIP service (`run`) and does what the API asks until
/// the process stops (`shutdown`), then stops the SIP service.
pub async fn controller(
    mut control: Controller,
    ctx: SipContext,
    mut run: Option<SipRun>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let command = tokio::select! {
            _ = shutdown.changed() => break,
            command = control.commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
        };
        match command {
            Command::Stop(reply) => {
                stop(&mut run, &control.status).await;
                let _ = reply.send(Ok(lock(&control.status).clone()));
            }
            Command::Start(reply) => {
                let result = start(&mut run, &ctx, &control.status).await;
                let _ = reply.send(result);
            }
            Command::Restart(reply) => {
                stop(&mut run, &control.status).await;
                let result = start(&mut run, &ctx, &control.status).await;
                let _ = reply.send(result);
            }
            Command::Apply(reply) => {
                let result = match &run {
                    None => Ok(LiveApply::NotRunning),
                    Some(sip) => sip
                        .apply_settings()
                        .await
                        .map(|()| LiveApply::Applied)
                        .map_err(GatewayError::Other),
                };
                let _ = reply.send(result);
            }
        }
    }
    // Commands that arrive from now on find the channel closed.
    drop(control.commands);
    if let Some(sip) = run.take() {
        sip.stop().await;
    }
}

async fn stop(run: &mut Option<SipRun>, status: &SharedStatus) {
    let Some(sip) = run.take() else { return };
    info!("stopping the SIP service (asked through the API)");
    sip.stop().await;
    let mut status = lock(status);
    status.state = SipState::Stopped;
    status.since = unix_now();
    status.listeners.clear();
}

async fn start(
    run: &mut Option<SipRun>,
    ctx: &SipContext,
    status: &SharedStatus,
) -> Result<SipStatus, GatewayError> {
    if run.is_some() {
        return Ok(lock(status).clone());
    }
    info!("starting the SIP service (asked through the API)");
    let config = ctx.current_config().await;
    match SipRun::start(ctx, &config).await {
        Ok(sip) => {
            let mut status = lock(status);
            status.state = SipState::Running;
            status.since = unix_now();
            status.listeners = sip.listeners().to_vec();
            status.last_error = None;
            *run = Some(sip);
            info!("SIP service running");
            Ok(status.clone())
        }
        Err(e) => {
            warn!(error = %e, "the SIP service could not start; it stays stopped");
            lock(status).last_error = Some(e.to_string());
            Err(GatewayError::StartFailed(e.to_string()))
        }
    }
}

/// How long the process gives the controller to stop the SIP service at
/// shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(SIP_STOP_GRACE.as_secs() + 2);
