//! Settings changed through the API, applied to the running SIP service
//! (issue 14): a task of each SIP run reads the stored values when the API
//! asks it to (in this process, right after a change: the API then
//! answers once they apply) and every [`POLL_EVERY`] (a change made by
//! another process), and hands the live ones to the B2BUA through the
//! core's queue and to the media manager. The settings registry marks
//! which keys apply live (`outpost settings list`, APPLY column); the
//! others wait for a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use outpost_config::{DatabaseLayer, Settings};
use outpost_store::Store;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, warn};

use crate::config::Config;
use crate::core::live::{LiveRegistration, LiveUpdate};
use crate::media::{Media, MediaSettings};

/// How often the stored values are compared with the last ones read.
pub const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long the core gets to confirm an update.
const CORE_ANSWER: Duration = Duration::from_secs(5);

/// A request to apply the stored values now, answered once they apply.
pub type ApplyRequest = oneshot::Sender<Result<(), String>>;

/// The live-settings task of one SIP run.
pub struct LiveSettings {
    base: Arc<Settings>,
    store: Arc<Mutex<Store>>,
    core: mpsc::Sender<LiveUpdate>,
    media: Option<Media>,
    /// The stored values last read (`None`: not read yet).
    last_read: Option<DatabaseLayer>,
    /// What the running B2BUA has.
    registration: LiveRegistration,
}

impl LiveSettings {
    /// The task for a run started with `config`; `store` is a connection
    /// of its own, `base` the file and environment `serve` started with.
    pub fn new(
        base: Arc<Settings>,
        store: Store,
        core: mpsc::Sender<LiveUpdate>,
        media: Option<Media>,
        config: &Config,
    ) -> Self {
        Self {
            base,
            store: Arc::new(Mutex::new(store)),
            core,
            media,
            last_read: None,
            registration: LiveRegistration::from_config(config),
        }
    }

    /// Runs until `stop`: applies on request, and when a poll finds the
    /// stored values changed.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<ApplyRequest>,
        mut stop: watch::Receiver<bool>,
    ) {
        // The first poll only records what is stored: the run started
        // with it.
        if let Ok(database) = self.read().await {
            self.last_read = Some(database);
        }
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                request = requests.recv() => {
                    let Some(reply) = request else { return };
                    let result = self.apply(true).await;
                    let _ = reply.send(result);
                }
                () = tokio::time::sleep(POLL_EVERY) => {
                    if let Err(e) = self.apply(false).await {
                        warn!(error = %e, "stored settings not applied");
                    }
                }
            }
        }
    }

    /// Reads the stored values and, when they changed (or `always`),
    /// applies the live ones.
    async fn apply(&mut self, always: bool) -> Result<(), String> {
        let database = self.read().await?;
        if !always && self.last_read.as_ref() == Some(&database) {
            return Ok(());
        }
        let settings = self
            .base
            .reload(database.clone())
            .map_err(|e| format!("the settings do not load: {e}"))?;
        self.last_read = Some(database);
        let config = settings.config();
        if let (Some(media), Some(policies)) = (&self.media, MediaSettings::from_config(config)) {
            media.update_policies(&policies);
        }
        let registration = LiveRegistration::from_config(config);
        if !always && registration == self.registration {
            return Ok(());
        }
        let (done, answer) = oneshot::channel();
        let update = LiveUpdate {
            registration: registration.clone(),
            done: Some(done),
        };
        self.core
            .send(update)
            .await
            .map_err(|_| "the SIP core is stopping".to_owned())?;
        let applied = tokio::time::timeout(CORE_ANSWER, answer)
            .await
            .map_err(|_| format!("the SIP core did not answer within {CORE_ANSWER:?}"))?
            .map_err(|_| "the SIP core is stopping".to_owned())?;
        applied?;
        debug!(?registration, "live settings applied");
        self.registration = registration;
        Ok(())
    }

    /// The stored values, read off the async workers.
    async fn read(&self) -> Result<DatabaseLayer, String> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || {
            let store = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            DatabaseLayer::read(&store).map_err(|e| format!("reading the stored settings: {e}"))
        })
        .await
        .map_err(|e| format!("the settings reader failed: {e}"))?
    }
}
