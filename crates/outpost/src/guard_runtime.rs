//! The guard (SEC-1..SEC-6) at run time: loaded from the store at start,
//! shared by the transport drivers (source check before parsing) and the
//! SIP core (malicious-call inspection, brute force, registrations), and
//! kept in step with the store by a small task: list changes the guard
//! makes are persisted (SEC-10), and changes the CLI or API make to the
//! store are picked up through the store's guard revision.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use outpost_guard::{DropReason, Entry, Event, Guard, List, Prefix, Reason, Settings, Verdict};
use outpost_store::{AllowEntry, DenyEntry, DenyList, GuardChange, Store};
use tokio::sync::watch;
use tracing::{info, warn};

/// The guard shared by every task; the lock is never held across `.await`.
#[derive(Clone)]
pub struct SharedGuard(Arc<Mutex<Guard>>);

/// How often the store's guard revision is checked for outside changes.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SharedGuard {
    fn lock(&self) -> MutexGuard<'_, Guard> {
        // Guard methods leave it consistent between calls; a panic in one
        // cannot leave half an update, so poisoning is ignored.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The check before parsing: may this source send anything?
    pub fn check_source(&self, ip: IpAddr) -> Verdict {
        self.lock().check_source(Instant::now(), ip)
    }

    /// Whether `ip` is refused now, counting nothing (a later request on
    /// an admitted connection).
    pub fn is_refused(&self, ip: IpAddr) -> bool {
        self.lock().is_refused(Instant::now(), ip)
    }

    /// SEC-5 on a parsed new request.
    pub fn inspect_request(&self, ip: IpAddr, facts: &outpost_guard::RequestFacts<'_>) -> Verdict {
        self.lock().inspect_request(Instant::now(), ip, facts)
    }

    /// SEC-6: a digest failure from `ip`.
    pub fn record_auth_failure(&self, ip: IpAddr) -> Verdict {
        self.lock().record_auth_failure(Instant::now(), ip)
    }

    /// A live authenticated registration from `ip` started (`true`) or
    /// ended (`false`).
    pub fn record_registration(&self, ip: IpAddr, live: bool) {
        self.lock().record_registration(ip, live);
    }
}

/// Why the guard could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuardLoadError {
    /// The stored settings are invalid.
    #[error("guard settings in the database: {0}; fix them with `outpost guard`")]
    Settings(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] outpost_store::StoreError),
}

fn deny_list(list: DenyList) -> List {
    match list {
        DenyList::Dos => List::Dos,
        DenyList::BruteForce => List::BruteForce,
    }
}

fn stored_list(list: List) -> Option<DenyList> {
    match list {
        List::Dos => Some(DenyList::Dos),
        List::BruteForce => Some(DenyList::BruteForce),
        List::Allow => None,
    }
}

/// The store's lists as guard entries; unreadable rows are logged and skipped.
fn stored_entries(store: &Store) -> Result<Vec<Entry>, outpost_store::StoreError> {
    let mut entries = Vec::new();
    for allow in store.guard_allow_list()? {
        match allow.address.parse::<Prefix>() {
            Ok(prefix) => entries.push(Entry {
                prefix,
                list: List::Allow,
                reason: Reason::Operator,
                detail: allow.note,
                added_unix: u64::try_from(allow.added_unix).unwrap_or(0),
                expires_unix: None,
            }),
            Err(e) => {
                warn!(address = %allow.address, error = %e, "skipping an unreadable allow-list entry")
            }
        }
    }
    for deny in store.guard_deny_list(None)? {
        let parsed = deny
            .address
            .parse::<Prefix>()
            .ok()
            .zip(deny.reason.parse::<Reason>().ok());
        let Some((prefix, reason)) = parsed else {
            warn!(address = %deny.address, reason = %deny.reason, "skipping an unreadable deny-list entry");
            continue;
        };
        entries.push(Entry {
            prefix,
            list: deny_list(deny.list),
            reason,
            detail: deny.detail,
            added_unix: u64::try_from(deny.added_unix).unwrap_or(0),
            expires_unix: deny.expires_unix.and_then(|e| u64::try_from(e).ok()),
        });
    }
    Ok(entries)
}

fn stored_settings(store: &Store) -> Result<Settings, GuardLoadError> {
    let pairs = store.guard_settings()?;
    Settings::from_pairs(&pairs).map_err(|e| GuardLoadError::Settings(e.to_string()))
}

/// Loads the guard from the store (settings, allow- and deny-lists).
pub fn load(store: &Store, seed: u64) -> Result<(SharedGuard, Vec<Event>), GuardLoadError> {
    let settings = stored_settings(store)?;
    let entries = stored_entries(store)?;
    let mut guard = Guard::restore(settings, entries, Instant::now(), unix_now())
        .map_err(|e| GuardLoadError::Settings(e.to_string()))?
        .with_hash_seed(seed);
    let mut events = Vec::new();
    while let Some(event) = guard.poll_event() {
        events.push(event);
    }
    info!(
        level = guard.settings().level.as_str(),
        entries = guard.entries().len(),
        "guard loaded"
    );
    Ok((SharedGuard(Arc::new(Mutex::new(guard))), events))
}

/// The store change an event calls for.
fn change_for(event: &Event) -> Option<GuardChange> {
    let to_deny = |e: &Entry| {
        stored_list(e.list).map(|list| DenyEntry {
            address: e.prefix.to_string(),
            list,
            reason: e.reason.as_str().to_owned(),
            detail: e.detail.clone(),
            added_unix: i64::try_from(e.added_unix).unwrap_or(i64::MAX),
            expires_unix: e.expires_unix.and_then(|x| i64::try_from(x).ok()),
        })
    };
    match event {
        Event::Denied(e) => to_deny(e).map(GuardChange::PutDeny),
        Event::Expired(e)
        | Event::Evicted(e)
        | Event::Removed(e)
        | Event::Skipped { entry: e, .. } => match stored_list(e.list) {
            Some(list) => Some(GuardChange::RemoveDeny {
                address: e.prefix.to_string(),
                list,
            }),
            None => Some(GuardChange::RemoveAllow {
                address: e.prefix.to_string(),
            }),
        },
        Event::Allowed(e) => Some(GuardChange::PutAllow(AllowEntry {
            address: e.prefix.to_string(),
            note: e.detail.clone(),
            added_unix: i64::try_from(e.added_unix).unwrap_or(i64::MAX),
        })),
        Event::DdosStarted { .. } | Event::DdosEnded => None,
    }
}

fn log_event(event: &Event) {
    match event {
        Event::Denied(e) => {
            warn!(address = %e.prefix, list = e.list.as_str(), reason = e.reason.as_str(), detail = %e.detail, expires = ?e.expires_unix, "source denied")
        }
        Event::Expired(e) => {
            info!(address = %e.prefix, list = e.list.as_str(), "deny entry expired")
        }
        Event::Evicted(e) => {
            info!(address = %e.prefix, list = e.list.as_str(), "deny entry evicted (list full)")
        }
        Event::DdosStarted { count } => warn!(
            count,
            "DDoS filter on: only allow-listed and registered sources are served"
        ),
        Event::DdosEnded => info!("DDoS filter off"),
        _ => {}
    }
}

/// Persists the events' changes (SEC-10).
fn persist(store: &mut Store, events: &[Event]) {
    let changes: Vec<GuardChange> = events.iter().filter_map(change_for).collect();
    if changes.is_empty() {
        return;
    }
    if let Err(e) = store.apply_guard_changes(&changes) {
        warn!(error = %e, "could not persist guard list changes");
    }
}

fn export_metrics(guard: &Guard) {
    let stats = guard.stats();
    for reason in DropReason::ALL {
        metrics::counter!("outpost_guard_dropped_total", "reason" => reason.as_str())
            .absolute(stats.dropped(reason));
    }
    metrics::gauge!("outpost_guard_list_size", "list" => "allow")
        .set(guard.allow_list().len() as f64);
    metrics::gauge!("outpost_guard_list_size", "list" => "dos")
        .set(guard.deny_list(Some(List::Dos)).len() as f64);
    metrics::gauge!("outpost_guard_list_size", "list" => "bruteforce")
        .set(guard.deny_list(Some(List::BruteForce)).len() as f64);
    metrics::gauge!("outpost_guard_global_rate").set(stats.global_rate);
}

/// Runs the guard's timers, persists its changes, exports its metrics and
/// reloads what others changed in the store, until `shutdown`.
pub async fn run(
    guard: SharedGuard,
    mut store: Store,
    initial: Vec<Event>,
    mut shutdown: watch::Receiver<bool>,
) {
    initial.iter().for_each(log_event);
    persist(&mut store, &initial);
    // The lists' sizes and the drop counters from the start, not only
    // after the first timer.
    export_metrics(&guard.lock());
    let mut revision = store.guard_revision().unwrap_or(0);
    let mut next_reload = Instant::now() + RELOAD_EVERY;
    loop {
        let wake = guard
            .lock()
            .poll_timeout()
            .map_or(next_reload, |t| t.min(next_reload));
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
        }
        let events = {
            let mut g = guard.lock();
            g.set_unix_time(Instant::now(), unix_now());
            g.handle_timeout(Instant::now());
            let mut events = Vec::new();
            while let Some(event) = g.poll_event() {
                events.push(event);
            }
            export_metrics(&g);
            events
        };
        events.iter().for_each(log_event);
        persist(&mut store, &events);
        if Instant::now() >= next_reload {
            next_reload = Instant::now() + RELOAD_EVERY;
            let current = store.guard_revision().unwrap_or(revision);
            if current != revision {
                revision = current;
                reload(&guard, &store);
            }
        }
    }
}

/// Takes the store's lists and settings (changed by the CLI or API).
fn reload(guard: &SharedGuard, store: &Store) {
    let (settings, entries) = match (stored_settings(store), stored_entries(store)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) => {
            warn!(error = %e, "guard settings changed in the store are invalid; keeping the running ones");
            return;
        }
        (_, Err(e)) => {
            warn!(error = %e, "could not read the guard lists");
            return;
        }
    };
    let mut g = guard.lock();
    if let Err(e) = g.set_settings(settings) {
        warn!(error = %e, "guard settings refused");
    }
    g.replace_entries(entries, Instant::now(), unix_now());
    info!(
        entries = g.entries().len(),
        "guard lists reloaded from the store"
    );
}
