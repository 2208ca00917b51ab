//! The connection table (SIG-4, SIG-8): every open TCP/TLS connection, keyed
//! by flow, with its write queue. Responses and later requests to a phone
//! go back over the connection the phone opened, because a phone behind NAT
//! cannot be reached any other way.
//!
//! Also enforces the connection limits per source address and in total.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{FlowId, TransportKind};
use crate::config::Side;

/// A connection as the table knows it.
#[derive(Debug, Clone)]
pub struct ConnectionEntry {
    /// Side of the listener (or of the outgoing connection).
    pub side: Side,
    /// TCP or TLS.
    pub transport: TransportKind,
    /// The peer's address as seen on the socket.
    pub peer: SocketAddr,
    /// Our local address.
    pub local: SocketAddr,
    /// Bytes queued here are written to the connection in order.
    pub outbox: mpsc::Sender<Bytes>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmitError {
    /// The peer's address already has its maximum of connections.
    #[error("{source_ip} already has {limit} connections (max_connections_per_source)")]
    PerSource {
        /// The peer's address.
        source_ip: IpAddr,
        /// The limit.
        limit: usize,
    },
    /// The table is full.
    #[error("{limit} connections open in total (max_connections)")]
    Total {
        /// The limit.
        limit: usize,
    },
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    connections: HashMap<FlowId, ConnectionEntry>,
    per_source: HashMap<IpAddr, usize>,
}

/// Shared table of open connections.
#[derive(Clone)]
pub struct ConnectionTable {
    inner: Arc<Mutex<Inner>>,
    max_total: usize,
    max_per_source: usize,
}

/// Removes its connection from the table when dropped, so an entry cannot
/// outlive its task whatever way the task ends.
pub struct Admission {
    table: ConnectionTable,
    id: FlowId,
}

impl Admission {
    /// The connection's flow.
    pub fn id(&self) -> FlowId {
        self.id
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

impl ConnectionTable {
    /// An empty table with the given limits.
    pub fn new(max_total: usize, max_per_source: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner::default())),
            max_total,
            max_per_source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the maps half
        // updated (each operation is a few inserts), so poisoning is ignored.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a new connection, or says which limit refuses it.
    pub fn admit(
        &self,
        side: Side,
        transport: TransportKind,
        peer: SocketAddr,
        local: SocketAddr,
        outbox: mpsc::Sender<Bytes>,
    ) -> Result<Admission, AdmitError> {
        let mut inner = self.lock();
        if inner.connections.len() >= self.max_total {
            return Err(AdmitError::Total {
                limit: self.max_total,
            });
        }
        let count = inner.per_source.entry(peer.ip()).or_insert(0);
        if *count >= self.max_per_source {
            return Err(AdmitError::PerSource {
                source_ip: peer.ip(),
                limit: self.max_per_source,
            });
        }
        *count += 1;
        inner.next_id += 1;
        let id = FlowId(inner.next_id);
        inner.connections.insert(
            id,
            ConnectionEntry {
                side,
                transport,
                peer,
                local,
                outbox,
            },
        );
        drop(inner);
        Ok(Admission {
            table: self.clone(),
            id,
        })
    }

    fn remove(&self, id: FlowId) {
        let mut inner = self.lock();
        if let Some(entry) = inner.connections.remove(&id) {
            let ip = entry.peer.ip();
            if let Some(count) = inner.per_source.get_mut(&ip) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    inner.per_source.remove(&ip);
                }
            }
        }
    }

    /// The connection of a flow, if still open.
    pub fn get(&self, id: FlowId) -> Option<ConnectionEntry> {
        self.lock().connections.get(&id).cloned()
    }

    /// The most recent open connection from `peer` on `side` (used when a
    /// request must reach a phone by address, e.g. from a stored binding).
    pub fn find_by_peer(
        &self,
        side: Side,
        transport: TransportKind,
        peer: SocketAddr,
    ) -> Option<FlowId> {
        self.lock()
            .connections
            .iter()
            .filter(|(_, e)| e.side == side && e.transport == transport && e.peer == peer)
            .map(|(id, _)| *id)
            .max()
    }

    /// Number of open connections.
    pub fn len(&self) -> usize {
        self.lock().connections.len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn limits_per_source_and_total_and_release_on_drop() {
        let table = ConnectionTable::new(3, 2);
        let (tx, _rx) = mpsc::channel(1);
        let local = addr("198.18.0.1:5063");
        let admit = |peer: &str| {
            table.admit(
                Side::Public,
                TransportKind::Tls,
                addr(peer),
                local,
                tx.clone(),
            )
        };
        let a1 = admit("198.18.0.2:1000").unwrap();
        let _a2 = admit("198.18.0.2:1001").unwrap();
        assert!(matches!(
            admit("198.18.0.2:1002"),
            Err(AdmitError::PerSource { limit: 2, .. })
        ));
        let _b1 = admit("198.18.0.3:1000").unwrap();
        assert!(matches!(
            admit("198.18.0.4:1000"),
            Err(AdmitError::Total { limit: 3 })
        ));
        assert_eq!(table.len(), 3);
        let id = a1.id();
        assert_eq!(table.get(id).unwrap().peer, addr("198.18.0.2:1000"));
        assert_eq!(
            table.find_by_peer(Side::Public, TransportKind::Tls, addr("198.18.0.2:1000")),
            Some(id)
        );
        drop(a1);
        assert!(table.get(id).is_none());
        admit("198.18.0.2:1003").unwrap();
    }
}
