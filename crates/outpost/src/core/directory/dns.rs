//! Resolves ICP host names (NET-5, RFC 3263 with `outpost-resolve`) off
//! the SIP core: the core asks when a name has no answer or its TTL ran
//! out, each name is resolved in a task of its own (a slow DNS server for
//! one ICP delays no other), and the answer comes back as [`Resolved`].

use std::time::{Duration, Instant};

use outpost_resolve::{Resolution, ResolveError, Resolver, TimedStep, Transport};
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

/// The transports of `request` for the resolver, and the preferred one.
fn transports_of(request: &ResolveRequest) -> (Vec<Transport>, Option<Transport>) {
    let transports: Vec<Transport> = request.transports.iter().map(|t| to_resolve(*t)).collect();
    let preferred = transports.first().copied();
    (transports, preferred)
}

fn targets_of(resolution: Resolution) -> Vec<Target> {
    resolution
        .targets
        .into_iter()
        .map(|t| Target::new(t.addr, from_resolve(t.transport), t.server_name))
        .collect()
}

/// Resolves `request` now.
pub async fn resolve(resolver: &Resolver, request: &ResolveRequest) -> Resolved {
    let (transports, preferred) = transports_of(request);
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
            let valid_until = resolution.valid_until;
            (targets_of(resolution), valid_until)
        })
        .map_err(|e| e.to_string());
    Resolved {
        icp: request.icp.clone(),
        outcome,
    }
}

/// Resolves `request` as [`resolve`] does, keeping every DNS lookup with
/// how long it took (`outpost icps test`).
pub async fn resolve_traced(
    resolver: &Resolver,
    request: &ResolveRequest,
) -> (Vec<TimedStep>, Result<Vec<Target>, ResolveError>) {
    let (transports, preferred) = transports_of(request);
    let trace = resolver
        .resolve_traced(
            &request.host,
            request.port,
            &transports,
            preferred,
            &Instant::now,
        )
        .await;
    (trace.steps, trace.outcome.map(targets_of))
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
