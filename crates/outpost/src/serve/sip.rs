//! The SIP service as one unit the API can stop and start inside the
//! running process (OPS-2): the SIP listeners and transports of both
//! sides, the outgoing connector, the media manager and its relay, the
//! B2BUA and the SIP core, the directory and DNS tasks, the device status
//! writer, and the task that applies live settings ([`super::live`]).
//!
//! What stays up across a stop: the process, the database, the
//! certificate (and its renewal), the metrics, the guard and its lists,
//! and the admin listener with the API ([`super::run`] owns them).
//!
//! A stop ends the run's tasks through its own stop signal: the core hangs
//! up calls and unregisters phones from their ICPs, every listener closes,
//! and once the tasks have ended (or were aborted after
//! [`SIP_STOP_GRACE`]) no SIP socket is left open and the device statuses
//! are reset. A start builds everything again from the settings stored
//! then: the B2BUA starts empty and phones register again at their next
//! attempt (a phone on TLS or TCP sees its connection close and retries).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use outpost_config::{DatabaseLayer, Settings};
use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use super::listeners::SipSockets;
use super::live::{ApplyRequest, LiveSettings};
use super::{
    ServeError, b2bua, ca_loader_for, dns_resolver, open_store, random_key, random_u64,
    route_defaults, start_media, transport_limits, txn_config,
};
use crate::certs;
use crate::config::{Config, Side};
use crate::core::directory::routes::IcpRoutes;
use crate::core::directory::{DirectorySnapshot, MemoryDirectory};
use crate::core::{Core, CoreInputs};
use crate::guard_runtime::SharedGuard;
use crate::transport::connect::Connector;
use crate::transport::ingress::Ingress;
use crate::transport::{ConnectionTable, Sender};

/// How long a stopping SIP service gets to hang up calls and close its
/// listeners before its tasks are aborted.
pub const SIP_STOP_GRACE: Duration = Duration::from_secs(5);

/// What every run of the SIP service is built from: the process's own
/// parts, made once at start.
#[derive(Clone)]
pub struct SipContext {
    /// The data directory (the database).
    pub data_dir: PathBuf,
    /// The file and environment `serve` started with, over which the
    /// database's values are read at each start.
    pub settings: Arc<Settings>,
    /// The configuration the process started with: what a SIP start
    /// does not change (see [`SipContext::current_config`]).
    pub started_with: Config,
    /// The TLS listeners' acceptors, one per side (their certificates are
    /// renewed live), and Outpost's client certificate toward MTLS peers.
    pub acceptors: super::listeners::SideAcceptors,
    /// Outpost's certificate chain, trusted by its TLS clients.
    pub chain: Vec<CertificateDer<'static>>,
    /// The guard, which outlives SIP runs.
    pub guard: SharedGuard,
}

impl SipContext {
    /// The configuration a SIP start uses: the file and the environment
    /// as the process read them over the database's values now, except
    /// what belongs to the process and needs `outpost serve` restarted
    /// (the FQDN in the certificate, the admin listener, the logs, the
    /// web port, the data directory). A database that cannot be read
    /// gives the configuration the process started with.
    pub async fn current_config(&self) -> Config {
        let data_dir = self.data_dir.clone();
        let settings = Arc::clone(&self.settings);
        let read = tokio::task::spawn_blocking(move || {
            let store = open_store(&data_dir).map_err(|e| e.to_string())?;
            let database = DatabaseLayer::read(&store).map_err(|e| e.to_string())?;
            settings.reload(database).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let mut config = match read {
            Ok(settings) => {
                for ignored in settings.ignored() {
                    warn!("stored setting ignored: {ignored}");
                }
                settings.into_config()
            }
            Err(e) => {
                warn!(error = %e, "cannot read the stored settings; the SIP service starts with the configuration the process started with");
                return self.started_with.clone();
            }
        };
        let process = &self.started_with;
        config.fqdn.clone_from(&process.fqdn);
        config.admin.clone_from(&process.admin);
        config.log.clone_from(&process.log);
        config.web.clone_from(&process.web);
        config.data_dir.clone_from(&process.data_dir);
        config
    }
}

/// A running SIP service.
pub struct SipRun {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    apply: mpsc::Sender<ApplyRequest>,
    listeners: Vec<String>,
    data_dir: PathBuf,
}

impl SipRun {
    /// Binds the SIP sockets of both sides and starts everything on them
    /// with `config`. Nothing is left running when it fails.
    ///
    /// # Errors
    /// A [`ServeError`]: a port that cannot be bound, the database, the
    /// media relay, the B2BUA's configuration.
    pub async fn start(ctx: &SipContext, config: &Config) -> Result<Self, ServeError> {
        let sockets = SipSockets::bind([&config.public, &config.private]).await?;
        let listeners = sockets.describe();
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        match Self::spawn(ctx, config, sockets, &mut tasks, &stop_rx) {
            Ok(apply) => Ok(Self {
                stop: stop_tx,
                tasks,
                apply,
                listeners,
                data_dir: ctx.data_dir.clone(),
            }),
            Err(e) => {
                let _ = stop_tx.send(true);
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                Err(e)
            }
        }
    }

    /// Starts the run's tasks; returns where to ask for live settings.
    fn spawn(
        ctx: &SipContext,
        config: &Config,
        sockets: SipSockets,
        tasks: &mut JoinSet<()>,
        stop_rx: &watch::Receiver<bool>,
    ) -> Result<mpsc::Sender<ApplyRequest>, ServeError> {
        let limits = transport_limits(config);
        let table = ConnectionTable::new(limits.max_connections, limits.max_connections_per_source);
        let (core_tx, core_rx) = mpsc::channel(limits.core_queue);
        let (closed_tx, closed_rx) = mpsc::channel(limits.core_queue);
        let sip_limits = outpost_sip::Limits {
            max_message_size: limits.max_message_size,
            ..outpost_sip::Limits::default()
        };
        let ingress = Ingress::new(sip_limits, core_tx, limits.retry_after_secs)
            .with_closed(closed_tx)
            .with_guard(ctx.guard.clone());
        let (connects_tx, connects_rx) = mpsc::channel(limits.core_queue);
        // With MTLS (set when `serve` started, as the private listener's
        // client certificate check), Outpost presents its `sip-private`
        // certificate to every ICP that asks for one.
        let identity = ctx.acceptors.client_identity.clone();
        let ca_loader = match &identity {
            Some(identity) => certs::mtls::ca_loader(ctx.chain.clone(), Arc::clone(identity)),
            None => ca_loader_for(ctx.chain.clone()),
        };
        let connector = Connector::new(
            table.clone(),
            ingress.clone(),
            limits.clone(),
            certs::mtls::client_config(&ctx.chain, config.ipbx.ca_file.as_deref(), identity)?,
            [
                (Side::Public, config.public.interface),
                (Side::Private, config.private.interface),
            ],
            stop_rx.clone(),
            connects_tx,
        )
        .with_ca_loader(ca_loader);
        let sender = Sender::new(sockets.udp_sockets(), table.clone(), Some(connector));
        sockets.start(tasks, &ctx.acceptors, &table, &ingress, &limits, stop_rx);
        drop(ingress);
        let media = start_media(config, tasks, random_u64()?)?;
        let (timeouts_tx, timeouts_rx) = mpsc::channel(256);
        if let Some(media) = &media {
            tasks.spawn(media.clone().watch_timeouts(timeouts_tx));
        }
        let b2bua = b2bua::build(config, random_u64()?, random_key()?, media.clone())?;
        let mut core_store = open_store(&ctx.data_dir)?;
        // A new SIP service holds no registration: whatever the last one
        // recorded is stale.
        if let Err(e) = core_store.reset_device_statuses() {
            warn!(error = %e, "could not reset device statuses");
        }
        // Statuses are written by a thread with its own connection, so the
        // core never waits for the disk.
        let status_writer =
            crate::core::status_writer::StatusWriter::start(open_store(&ctx.data_dir)?)
                .map_err(|e| ServeError::B2bua(format!("device status writer: {e}")))?;
        // Devices and ICPs are held in memory and reloaded when the
        // store's directory revision moves (CLI, API), off the core's task.
        let snapshot =
            DirectorySnapshot::load(&core_store).map_err(|source| ServeError::Store {
                path: ctx.data_dir.join(super::DATABASE_FILE),
                source,
            })?;
        let (directory_tx, directory_rx) = mpsc::channel(4);
        let (resolve_tx, resolve_rx) = mpsc::channel(256);
        let (resolved_tx, resolved_rx) = mpsc::channel(256);
        match dns_resolver(config) {
            Ok(resolver) => {
                tasks.spawn(crate::core::directory::dns::run(
                    resolver,
                    resolve_rx,
                    resolved_tx,
                    stop_rx.clone(),
                ));
            }
            Err(e) => {
                warn!(error = %e, "no DNS resolver: ICPs given by host name cannot be reached; set [dns] servers or use IP addresses");
                drop((resolve_rx, resolved_tx));
            }
        }
        tasks.spawn(crate::core::directory::watch(
            core_store,
            snapshot.revision,
            directory_tx,
            stop_rx.clone(),
        ));
        let directory = MemoryDirectory::new(snapshot, IcpRoutes::new(route_defaults(config)))
            .with_status_writer(status_writer);
        let core = Core::new(
            txn_config(config),
            b2bua,
            directory,
            sender,
            random_u64()?,
            limits.retry_after_secs,
        )
        .with_guard(ctx.guard.clone())
        .with_resolver(resolve_tx);
        let (live_tx, live_rx) = mpsc::channel(4);
        let inputs = CoreInputs {
            messages: core_rx,
            closed: closed_rx,
            media_timeouts: timeouts_rx,
            connects: connects_rx,
            directory: directory_rx,
            resolutions: resolved_rx,
            live: live_rx,
        };
        tasks.spawn(core.run(inputs, stop_rx.clone()));
        let live = LiveSettings::new(
            Arc::clone(&ctx.settings),
            open_store(&ctx.data_dir)?,
            live_tx,
            media,
            config,
        );
        let (apply_tx, apply_rx) = mpsc::channel(4);
        tasks.spawn(live.run(apply_rx, stop_rx.clone()));
        Ok(apply_tx)
    }

    /// The SIP sockets of this run, as `side/transport address`.
    pub fn listeners(&self) -> &[String] {
        &self.listeners
    }

    /// Has the running service take the live settings stored now; returns
    /// once the core applied them.
    ///
    /// # Errors
    /// Why it could not (the run is stopping, the B2BUA refused them).
    pub async fn apply_settings(&self) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.apply
            .send(tx)
            .await
            .map_err(|_| "the SIP service is stopping".to_owned())?;
        rx.await
            .map_err(|_| "the SIP service is stopping".to_owned())?
    }

    /// Stops the run: calls hung up, phones unregistered from the iPBX,
    /// every task ended (aborted after [`SIP_STOP_GRACE`]), so every SIP
    /// socket is closed when it returns; device statuses are reset.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(SIP_STOP_GRACE, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!("SIP tasks still running after {SIP_STOP_GRACE:?}; aborting them");
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        let data_dir = self.data_dir.clone();
        let reset = tokio::task::spawn_blocking(move || {
            open_store(&data_dir)
                .map_err(|e| e.to_string())
                .and_then(|mut s| s.reset_device_statuses().map_err(|e| e.to_string()))
        })
        .await;
        if let Ok(Err(e)) | Err(e) = reset.map_err(|e| e.to_string()) {
            warn!(error = %e, "could not reset device statuses after the SIP service stopped");
        }
        info!("SIP service stopped");
    }
}
