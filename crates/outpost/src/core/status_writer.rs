//! Device statuses (SIG-8) written by a thread of their own, so the SIP
//! core never waits for SQLite or the disk: the core hands over each status
//! and goes on; the thread writes whatever accumulated, the latest status
//! per device, in one transaction. Under load many changes share one sync
//! to disk; a status superseded before it was written is never written.
//! A device's status carries each of its clients (bindings): writing it
//! replaces the device's binding rows, so a client that went is removed
//! with the next status of its device.
//!
//! Statuses are runtime state reset at every start, so a crash loses
//! nothing that matters; on shutdown the thread writes what is pending
//! before it ends.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use outpost_store::{DeviceStatusRecord, Store};
use tracing::warn;

#[derive(Default)]
struct Pending {
    latest: HashMap<String, DeviceStatusRecord>,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The writer; dropping it writes what is pending and stops the thread.
pub struct StatusWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl StatusWriter {
    /// Starts the thread, which owns `store` (its own connection).
    pub fn start(store: Store) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("outpost-status".into())
            .spawn(move || run(&worker, store))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Queues `status`, replacing any not yet written for the same device.
    pub fn record(&self, status: DeviceStatusRecord) {
        self.shared
            .lock()
            .latest
            .insert(status.setside_username.clone(), status);
        self.shared.wake.notify_one();
    }
}

impl Drop for StatusWriter {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, mut store: Store) {
    loop {
        let (batch, stop) = {
            let mut pending = shared.lock();
            while pending.latest.is_empty() && !pending.stop {
                pending = shared
                    .wake
                    .wait(pending)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            (std::mem::take(&mut pending.latest), pending.stop)
        };
        if !batch.is_empty() {
            let records: Vec<DeviceStatusRecord> = batch.into_values().collect();
            if let Err(e) = store.set_device_statuses(&records) {
                warn!(error = %e, devices = records.len(), "could not record device statuses");
            }
        }
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_store::{NewDevice, NewIcp, Secret};

    #[test]
    fn latest_status_per_device_is_written_and_pending_ones_survive_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outpost.db");
        let mut setup = Store::open(&path).unwrap();
        setup.add_icp(&NewIcp::new("pbx", "192.0.2.10")).unwrap();
        for name in ["alice", "bob"] {
            setup
                .add_device(&NewDevice::new(name, Secret::new("Secret-pass-1".into())))
                .unwrap();
        }
        let writer = StatusWriter::start(Store::open(&path).unwrap()).unwrap();
        for (user, in_call) in [("alice", true), ("bob", true), ("alice", false)] {
            writer.record(DeviceStatusRecord {
                setside_username: user.into(),
                registered: true,
                in_call,
                ..DeviceStatusRecord::default()
            });
        }
        // A device that does not exist is ignored, not an error.
        writer.record(DeviceStatusRecord {
            setside_username: "nobody".into(),
            ..DeviceStatusRecord::default()
        });
        drop(writer);
        let statuses = setup.device_statuses().unwrap();
        let by_name: HashMap<_, _> = statuses
            .iter()
            .map(|s| (s.setside_username.as_str(), s.in_call))
            .collect();
        assert_eq!(by_name.len(), 2, "{statuses:?}");
        assert!(!by_name["alice"], "the latest status wins");
        assert!(by_name["bob"]);
    }

    #[test]
    fn bindings_follow_the_latest_status_and_ended_ones_are_removed() {
        use outpost_store::BindingStatusRecord;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outpost.db");
        let mut setup = Store::open(&path).unwrap();
        setup.add_icp(&NewIcp::new("pbx", "192.0.2.10")).unwrap();
        setup
            .add_device(&NewDevice::new(
                "alice",
                Secret::new("Secret-pass-1".into()),
            ))
            .unwrap();
        let client = |binding: u64, address: &str| BindingStatusRecord {
            binding,
            contact: format!("sip:alice@{address}"),
            transport: "udp".into(),
            registered: true,
            last_address: address.into(),
            ..BindingStatusRecord::default()
        };
        let status = |bindings: Vec<BindingStatusRecord>| DeviceStatusRecord {
            setside_username: "alice".into(),
            registered: !bindings.is_empty(),
            bindings,
            ..DeviceStatusRecord::default()
        };
        let both = vec![client(1, "192.0.2.1:5060"), client(2, "192.0.2.2:5060")];
        let writer = StatusWriter::start(Store::open(&path).unwrap()).unwrap();
        writer.record(status(both.clone()));
        drop(writer);
        assert_eq!(setup.device_statuses().unwrap()[0].bindings, both);
        // The first client went: a later status lists only the second.
        let writer = StatusWriter::start(Store::open(&path).unwrap()).unwrap();
        writer.record(status(both.clone()));
        writer.record(status(vec![client(2, "192.0.2.2:5060")]));
        drop(writer);
        let got = &setup.device_statuses().unwrap()[0];
        assert_eq!(got.bindings, vec![client(2, "192.0.2.2:5060")]);
    }
}
