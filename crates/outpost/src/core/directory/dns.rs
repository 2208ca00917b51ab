//! Resolves ICP host names (NET-5, RFC 3263 with `outpost-resolve`) off
//! the SIP core: the core asks when a name has no answer or its TTL ran
//! out, each name is resolved in a task of its own (a slow DNS server for
//! one ICP delays no other), and the answer comes back as [`Resolved`].

use std::time::{Duration, Instant};

use outpost_resolve::{Resolver, Transport};
use tokio::sync::{mpsc, watch};
use tracing::{debug, warn};

use super::routes::{ResolveRequest, Target};
use crate::transport::TransportKind;

/// After a failed resolution, how long until the next try.
pub const RETRY_AFTER: Duration = Duration::from_secs(10);

/// A resolution's outcome, for the core.
#[derive(Debug)]
pub struct Resolved {
    /// The ICP.
    pub icp: String,
    /// Its targets in the order to try and until when they hold, or why
    /// there are none.
    pub outcome: Result<(Vec<Target>, Instant), String>,
}

fn to_resolve(t: TransportKind) -> Transport {
    match t {
        TransportKind::Udp => Transport::Udp,
        TransportKind::Tcp => Transport::Tcp,
        TransportKind::Tls => Transport::Tls,
    }
}

fn from_resolve(t: Transport) -> TransportKind {
    match t {
        Transport::Udp => TransportKind::Udp,
        Transport::Tcp => TransportKind::Tcp,
        Transport::Tls => TransportKind::Tls,
    }
}

/// Resolves `request` now.
pub async fn resolve(resolver: &Resolver, request: &ResolveRequest) -> Resolved {
    let transports: Vec<Transport> = request.transports.iter().map(|t| to_resolve(*t)).collect();
    let preferred = transports.first().copied();
    let outcome = resolver
        .resolve(
            &request.host,
            request.port,
            &transports,
            preferred,
            Instant::now(),
        )
        .await
        .map(|resolution| {
            let targets = resolution
                .targets
                .into_iter()
                .map(|t| Target::new(t.addr, from_resolve(t.transport), t.server_name))
                .collect();
            (targets, resolution.valid_until)
        })
        .map_err(|e| e.to_string());
    Resolved {
        icp: request.icp.clone(),
        outcome,
    }
}

/// Serves the core's requests until `shutdown` or the core goes.
pub async fn run(
    resolver: Resolver,
    mut requests: mpsc::Receiver<ResolveRequest>,
    results: mpsc::Sender<Resolved>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let request = tokio::select! {
            _ = shutdown.changed() => return,
            request = requests.recv() => match request {
                Some(request) => request,
                None => return,
            },
        };
        let (resolver, results) = (resolver.clone(), results.clone());
        tokio::spawn(async move {
            let resolved = resolve(&resolver, &request).await;
            match &resolved.outcome {
                Ok((targets, _)) => {
                    debug!(icp = %request.icp, host = %request.host, targets = targets.len(), "ICP host resolved")
                }
                Err(error) => {
                    warn!(icp = %request.icp, host = %request.host, %error, "cannot resolve the ICP's host; its devices get 503 until it resolves")
                }
            }
            let _ = results.send(resolved).await;
        });
    }
}
