//! The async driver: runs a [`Plan`]'s queries with `hickory-resolver`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, Record as HickoryRecord, RecordType};
use hickory_resolver::{ResolverBuilder, TokioResolver};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::plan::Plan;
use crate::records::{Answer, Query, Record, RecordData, RecordKind, Step};
use crate::{Resolution, ResolveError, Transport};

/// One lookup of [`Resolver::resolve_traced`] and how long it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedStep {
    /// The query and its answer.
    pub step: Step,
    /// From sending the query to its answer (or its timeout).
    pub elapsed: Duration,
}

/// What [`Resolver::resolve_traced`] found.
#[derive(Clone, Debug)]
pub struct Trace {
    /// Every lookup made, in the order they were made, also when the
    /// resolution failed.
    pub steps: Vec<TimedStep>,
    /// The resolution, or why there is none.
    pub outcome: Result<Resolution, ResolveError>,
}

/// Resolver settings.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// How long one attempt of one query waits for an answer (default 2 s).
    pub timeout: Duration,
    /// How many times a query is sent before it counts as timed out
    /// (default 2).
    pub attempts: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            attempts: 2,
        }
    }
}

impl Options {
    /// Sets the per-attempt timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the number of attempts (at least 1).
    #[must_use]
    pub fn attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts.max(1);
        self
    }
}

/// Resolves ICP hosts per RFC 3263 with hickory on tokio. Cheap to clone
/// (clones share hickory's cache and connections).
#[derive(Clone, Debug)]
pub struct Resolver {
    inner: TokioResolver,
    /// RFC 2782 weighted ordering; seeded from the OS.
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl Resolver {
    /// A resolver using the system's configuration (`/etc/resolv.conf`:
    /// servers, search domains, `ndots`), with the default [`Options`].
    pub fn system() -> Result<Self, ResolveError> {
        Self::system_with(Options::default())
    }

    /// [`Resolver::system`] with these options (they replace resolv.conf's
    /// `timeout` and `attempts`).
    pub fn system_with(options: Options) -> Result<Self, ResolveError> {
        let builder = TokioResolver::builder_tokio().map_err(|e| ResolveError::Config {
            reason: format!("reading /etc/resolv.conf: {e}"),
        })?;
        Self::build(builder, &options, None)
    }

    /// A resolver asking only these DNS servers (UDP, and TCP for truncated
    /// answers), first one first, with the default [`Options`]. No search
    /// domains: names are looked up as given.
    pub fn with_servers(servers: &[SocketAddr]) -> Result<Self, ResolveError> {
        Self::with_servers_and(servers, Options::default())
    }

    /// [`Resolver::with_servers`] with these options.
    pub fn with_servers_and(
        servers: &[SocketAddr],
        options: Options,
    ) -> Result<Self, ResolveError> {
        if servers.is_empty() {
            return Err(ResolveError::Config {
                reason: "no DNS server given".to_owned(),
            });
        }
        let name_servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let builder = TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(name_servers),
            TokioRuntimeProvider::default(),
        );
        Self::build(
            builder,
            &options,
            Some(ServerOrderingStrategy::UserProvidedOrder),
        )
    }

    fn build(
        mut builder: ResolverBuilder<TokioRuntimeProvider>,
        options: &Options,
        ordering: Option<ServerOrderingStrategy>,
    ) -> Result<Self, ResolveError> {
        let opts = builder.options_mut();
        opts.timeout = options.timeout;
        opts.attempts = options.attempts.max(1);
        if let Some(ordering) = ordering {
            opts.server_ordering_strategy = ordering;
        }
        let inner = builder.build().map_err(|e| ResolveError::Config {
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner,
            rng: Arc::new(Mutex::new(ChaCha8Rng::from_os_rng())),
        })
    }

    /// Resolves `host` (see [`Plan::new`] for the arguments) and returns
    /// the targets in the order to try, with `valid_until` counted from
    /// `now`. The queries of each step run concurrently, so a server that
    /// does not answer costs about `timeout × attempts` per step.
    pub async fn resolve(
        &self,
        host: &str,
        port: Option<u16>,
        transports: &[Transport],
        preferred: Option<Transport>,
        now: Instant,
    ) -> Result<Resolution, ResolveError> {
        let mut plan = Plan::new(host, port, transports, preferred)?;
        self.drive(&mut plan, now, &|| now).await;
        self.finish(plan, now)
    }

    /// [`Resolver::resolve`] for `outpost icps test`: also returns every
    /// lookup made with how long it took (measured with `clock`, the
    /// caller's clock), whether or not the resolution succeeded.
    pub async fn resolve_traced<C>(
        &self,
        host: &str,
        port: Option<u16>,
        transports: &[Transport],
        preferred: Option<Transport>,
        clock: &C,
    ) -> Trace
    where
        C: Fn() -> Instant,
    {
        let now = clock();
        let mut plan = match Plan::new(host, port, transports, preferred) {
            Ok(plan) => plan,
            Err(error) => {
                return Trace {
                    steps: Vec::new(),
                    outcome: Err(error),
                };
            }
        };
        let mut timings = self.drive(&mut plan, now, clock).await;
        let steps = plan
            .steps()
            .iter()
            .map(|step| {
                let elapsed = timings
                    .iter()
                    .position(|(query, _)| *query == step.query)
                    .map_or(Duration::ZERO, |i| timings.swap_remove(i).1);
                TimedStep {
                    step: step.clone(),
                    elapsed,
                }
            })
            .collect();
        Trace {
            steps,
            outcome: self.finish(plan, now),
        }
    }

    /// Makes the plan's queries until it is done; returns how long each
    /// query took by `clock`.
    async fn drive<C>(&self, plan: &mut Plan, now: Instant, clock: &C) -> Vec<(Query, Duration)>
    where
        C: Fn() -> Instant,
    {
        let mut timings = Vec::new();
        while !plan.is_done() {
            let queries = plan.poll_queries();
            if queries.is_empty() {
                // Every query handed out is answered below, so an empty
                // batch before the end would be a bug in the plan; end
                // with what it has rather than loop.
                break;
            }
            let answers = join_all(queries.iter().map(|q| async move {
                let start = clock();
                let answer = self.lookup(q, now).await;
                (answer, clock().saturating_duration_since(start))
            }))
            .await;
            for (query, (answer, elapsed)) in queries.iter().zip(answers) {
                timings.push((query.clone(), elapsed));
                plan.handle_answer(query, answer);
            }
        }
        timings
    }

    fn finish(&self, plan: Plan, now: Instant) -> Result<Resolution, ResolveError> {
        // A poisoned lock only means another resolution panicked while
        // shuffling; the generator's state is still usable.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        plan.finish(now, &mut *rng)
    }

    async fn lookup(&self, query: &Query, now: Instant) -> Answer {
        let record_type = match query.kind {
            RecordKind::Naptr => RecordType::NAPTR,
            RecordKind::Srv => RecordType::SRV,
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
        };
        match self.inner.lookup(query.name.as_str(), record_type).await {
            Ok(lookup) => {
                // hickory's cache lowers the TTLs of what it serves; the
                // lookup's own deadline also bounds them.
                let left = lookup.valid_until().saturating_duration_since(now);
                let cap = u32::try_from(left.as_secs()).unwrap_or(u32::MAX);
                let convert = |records: &[HickoryRecord]| {
                    records
                        .iter()
                        .filter_map(|r| convert(r, cap))
                        .collect::<Vec<_>>()
                };
                let answers = convert(lookup.answers());
                if answers.is_empty() {
                    // Only a CNAME, or records of another type.
                    return Answer::NoRecords { negative_ttl: None };
                }
                Answer::Found {
                    answers,
                    additionals: convert(lookup.additionals()),
                }
            }
            Err(e) => answer_for_error(e),
        }
    }
}

fn convert(r: &HickoryRecord, ttl_cap: u32) -> Option<Record> {
    let data = match &r.data {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::SRV(srv) => RecordData::Srv {
            priority: srv.priority,
            weight: srv.weight,
            port: srv.port,
            target: srv.target.to_string(),
        },
        RData::NAPTR(n) => RecordData::Naptr {
            order: n.order,
            preference: n.preference,
            flags: String::from_utf8_lossy(&n.flags).into_owned(),
            services: String::from_utf8_lossy(&n.services).into_owned(),
            replacement: n.replacement.to_string(),
        },
        _ => return None,
    };
    Some(Record {
        name: r.name.to_string(),
        ttl: r.ttl.min(ttl_cap),
        data,
    })
}

fn answer_for_error(e: NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no)) => {
            if no.response_code == ResponseCode::NXDomain {
                Answer::NoSuchName {
                    negative_ttl: no.negative_ttl,
                }
            } else {
                Answer::NoRecords {
                    negative_ttl: no.negative_ttl,
                }
            }
        }
        NetError::Timeout => Answer::TimedOut,
        NetError::Dns(DnsError::ResponseCode(code)) => {
            Answer::Failed(format!("the server answered {code}"))
        }
        other => Answer::Failed(other.to_string()),
    }
}
