//! The RFC 3263 §4 logic as a sans-IO state machine.
//!
//! A [`Plan`] hands out the DNS queries of one step at a time
//! ([`Plan::poll_queries`]); the driver answers each
//! ([`Plan::handle_answer`]), in any order; when no query is left,
//! [`Plan::finish`] builds the targets. The steps are:
//! 1. NAPTR of the host;
//! 2. SRV of the NAPTR replacements, or of the host prefixed with
//!    `_sips._tcp`, `_sip._tcp` and `_sip._udp`;
//! 3. A and AAAA of the SRV targets that the additional sections did not
//!    cover, or of the host itself when there is no SRV (or when a port was
//!    given, which skips steps 1 and 2).
//!
//! Choices where the RFCs leave room:
//! - a NAPTR lookup that fails (timeout, SERVFAIL) ends the resolution with
//!   that error: without it the transports the domain wants are unknown, and
//!   a server that does not answer it will not answer the rest;
//! - other failures are skipped as long as some lookup gives targets (the
//!   resolution is then valid for 30 s at most);
//! - NAPTR records with SIP services none of which the ICP enables are an
//!   error ([`ResolveError::NoCommonTransport`]), not a fallback to SRV;
//!   NAPTR records for other services only (ENUM) count as no NAPTR;
//! - NXDOMAIN on the host does not stop the SRV queries below it (some
//!   servers answer NXDOMAIN for a name that only has SRV records under it);
//! - NAPTR replacements without SRV records fall back to the host's A/AAAA,
//!   as when there is no SRV at all.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_core::RngCore;

use crate::records::{Answer, Query, Record, RecordData, RecordKind, Step};
use crate::srv::order_srv;
use crate::{Resolution, ResolveError, Target, Transport, transport_order};

/// Upper bound of a resolution's validity (and of an IP literal's).
pub(crate) const MAX_VALIDITY: Duration = Duration::from_secs(86_400);
/// Lower bound: records with TTL 0 must not make the caller spin.
pub(crate) const MIN_VALIDITY: Duration = Duration::from_secs(1);
/// Validity when some lookup failed but others gave targets.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// DNS names compare case-insensitively, with or without the final dot.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Naptr,
    Srv,
    TargetAddrs,
    HostAddrs,
    Done,
}

/// SRV records of one owner name, for one transport.
#[derive(Debug)]
struct SrvSet {
    transport: Transport,
    name: String,
    /// TTL of the NAPTR record that pointed here.
    naptr_ttl: Option<u32>,
    answered: bool,
    /// `(priority, weight, port, target, ttl)`
    records: Vec<(u16, u16, u16, String, u32)>,
}

/// Addresses known for one name, with their TTLs.
#[derive(Debug, Default)]
struct Addrs {
    v4: Vec<(IpAddr, u32)>,
    v6: Vec<(IpAddr, u32)>,
}

/// The resolution of one ICP host, step by step (see the module docs).
#[derive(Debug)]
pub struct Plan {
    /// The host as configured (brackets and final dot removed).
    host: String,
    /// The host as queried: with its final dot when it was given one (an
    /// absolute name skips the search domains).
    query_host: String,
    literal: Option<IpAddr>,
    port: Option<u16>,
    order: Vec<Transport>,
    preferred: Option<Transport>,
    phase: Phase,
    pending: Vec<Query>,
    /// Queries handed out and not answered yet, with their issue number.
    outstanding: Vec<(u32, Query)>,
    next_seq: u32,
    srv_sets: Vec<SrvSet>,
    addrs: HashMap<String, Addrs>,
    /// Lookups answered, in the order they were handed out (whatever the
    /// order of the answers), with their issue numbers.
    steps: Vec<Step>,
    step_seqs: Vec<u32>,
    /// Smallest negative TTL of the answers that steered the lookup.
    negative_ttl: Option<u32>,
    host_nxdomain: bool,
    /// Failed lookups, in the order they were handed out.
    failures: Vec<(u32, Query, Answer)>,
    fatal: Option<ResolveError>,
}

impl Plan {
    /// Starts resolving `host` (an IP literal, bracketed or not, or a DNS
    /// name) with an optional explicit `port`, for an ICP that supports
    /// `transports` (pass the ones Outpost may also use toward it), trying
    /// `preferred` first when it is one of them.
    pub fn new(
        host: &str,
        port: Option<u16>,
        transports: &[Transport],
        preferred: Option<Transport>,
    ) -> Result<Self, ResolveError> {
        let trimmed = host.trim();
        let unbracketed = trimmed
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(trimmed);
        let literal = unbracketed.parse::<IpAddr>().ok();
        let name = if literal.is_some() {
            unbracketed.to_owned()
        } else {
            check_name(trimmed).map_err(|reason| ResolveError::InvalidHost {
                host: host.to_owned(),
                reason,
            })?;
            trimmed.trim_end_matches('.').to_owned()
        };
        let order = transport_order(transports, preferred);
        if order.is_empty() {
            return Err(ResolveError::NoTransport { host: name });
        }
        let mut plan = Self {
            query_host: trimmed.to_owned(),
            host: name,
            literal,
            port,
            order,
            preferred,
            phase: Phase::Done,
            pending: Vec::new(),
            outstanding: Vec::new(),
            next_seq: 0,
            srv_sets: Vec::new(),
            addrs: HashMap::new(),
            steps: Vec::new(),
            step_seqs: Vec::new(),
            negative_ttl: None,
            host_nxdomain: false,
            failures: Vec::new(),
            fatal: None,
        };
        if literal.is_none() {
            if port.is_some() {
                // RFC 3263 §4.2: "If the TARGET was not a numeric IP address,
                // but a port is present in the URI, the client performs an A
                // or AAAA record lookup of the domain name."
                plan.start_host_addrs();
            } else {
                plan.phase = Phase::Naptr;
                plan.pending.push(Query {
                    name: plan.query_host.clone(),
                    kind: RecordKind::Naptr,
                });
            }
        }
        Ok(plan)
    }

    /// The queries to make now (they may run concurrently). Empty when the
    /// plan waits for answers to earlier queries, or is finished
    /// ([`Plan::is_done`]).
    #[must_use]
    pub fn poll_queries(&mut self) -> Vec<Query> {
        let queries = std::mem::take(&mut self.pending);
        for q in &queries {
            self.outstanding.push((self.next_seq, q.clone()));
            self.next_seq += 1;
        }
        queries
    }

    /// True when no query is left to make or to answer: call
    /// [`Plan::finish`].
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Takes the answer to a query handed out by [`Plan::poll_queries`];
    /// answers to unknown or already answered queries are ignored.
    pub fn handle_answer(&mut self, query: &Query, answer: Answer) {
        let Some(index) = self.outstanding.iter().position(|(_, q)| q == query) else {
            return;
        };
        let (seq, _) = self.outstanding.swap_remove(index);
        let at = self.step_seqs.partition_point(|&s| s < seq);
        self.step_seqs.insert(at, seq);
        self.steps.insert(
            at,
            Step {
                query: query.clone(),
                answer: answer.clone(),
            },
        );
        match answer {
            Answer::Found {
                answers,
                additionals,
            } => self.handle_found(query, answers, additionals),
            Answer::NoSuchName { negative_ttl } | Answer::NoRecords { negative_ttl } => {
                if matches!(answer, Answer::NoSuchName { .. })
                    && key(&query.name) == key(&self.host)
                {
                    self.host_nxdomain = true;
                }
                self.negative_ttl = min_opt(self.negative_ttl, negative_ttl);
                self.handle_empty(query);
            }
            Answer::TimedOut | Answer::Failed(_) => {
                let at = self.failures.partition_point(|f| f.0 < seq);
                self.failures.insert(at, (seq, query.clone(), answer));
                if query.kind == RecordKind::Naptr {
                    // Without the NAPTR answer we cannot know which
                    // transports the domain wants; a DNS server that does
                    // not answer this will not answer the rest either.
                    self.fatal = Some(self.failure_error());
                    self.phase = Phase::Done;
                    self.pending.clear();
                    return;
                }
                self.handle_empty(query);
            }
        }
        if self.outstanding.is_empty() && self.pending.is_empty() {
            self.advance();
        }
    }

    fn handle_found(&mut self, query: &Query, answers: Vec<Record>, additionals: Vec<Record>) {
        match query.kind {
            RecordKind::Naptr => self.handle_naptr(&answers, &additionals),
            RecordKind::Srv => {
                self.store_srv(&query.name, &answers);
                self.store_addrs(&additionals);
            }
            RecordKind::A | RecordKind::Aaaa => {
                // A CNAME chain may give the addresses another owner name:
                // they are the queried name's all the same.
                let entry = self.addrs.entry(key(&query.name)).or_default();
                for r in answers {
                    match r.data {
                        RecordData::A(ip) => entry.v4.push((IpAddr::V4(ip), r.ttl)),
                        RecordData::Aaaa(ip) => entry.v6.push((IpAddr::V6(ip), r.ttl)),
                        _ => {}
                    }
                }
            }
        }
    }

    fn handle_empty(&mut self, query: &Query) {
        match query.kind {
            // RFC 3263 §4.1: "If no NAPTR records are found, the client
            // constructs SRV queries for those transport protocols it
            // supports, and does a query for each."
            RecordKind::Naptr => self.start_srv_without_naptr(),
            RecordKind::Srv => self.store_srv(&query.name, &[]),
            RecordKind::A | RecordKind::Aaaa => {
                self.addrs.entry(key(&query.name)).or_default();
            }
        }
    }

    fn handle_naptr(&mut self, answers: &[Record], additionals: &[Record]) {
        let mut offered: Vec<String> = Vec::new();
        let mut usable = Vec::new();
        for r in answers {
            let RecordData::Naptr {
                order,
                preference,
                flags,
                services,
                replacement,
            } = &r.data
            else {
                continue;
            };
            let upper = services.to_ascii_uppercase();
            if !(upper.starts_with("SIP+") || upper.starts_with("SIPS+")) {
                continue;
            }
            if !offered.contains(&upper) {
                offered.push(upper);
            }
            // RFC 3263 §4.1: the SIP services use the "S" flag (SRV next).
            let Some(transport) = Transport::from_naptr_service(services) else {
                continue;
            };
            if flags.eq_ignore_ascii_case("s") && self.order.contains(&transport) {
                usable.push((*order, *preference, transport, replacement.clone(), r.ttl));
            }
        }
        if offered.is_empty() {
            // NAPTR records for other services only (ENUM, say): for SIP
            // there are none.
            self.start_srv_without_naptr();
            return;
        }
        if usable.is_empty() {
            self.fatal = Some(ResolveError::NoCommonTransport {
                host: self.host.clone(),
                offered,
                configured: self.order.clone(),
            });
            self.phase = Phase::Done;
            return;
        }
        // Lowest order first, then lowest preference (RFC 3403 §4.1, as RFC
        // 3263 §4.1 uses it); the preferred transport before the others.
        usable.sort_by_key(|u| (Some(u.2) != self.preferred, u.0, u.1));
        self.phase = Phase::Srv;
        for (_, _, transport, replacement, ttl) in usable {
            if self
                .srv_sets
                .iter()
                .any(|s| s.transport == transport && key(&s.name) == key(&replacement))
            {
                continue;
            }
            self.srv_sets.push(SrvSet {
                transport,
                name: replacement.clone(),
                naptr_ttl: Some(ttl),
                answered: false,
                records: Vec::new(),
            });
            let from_additional: Vec<Record> = additionals
                .iter()
                .filter(|r| {
                    key(&r.name) == key(&replacement) && matches!(r.data, RecordData::Srv { .. })
                })
                .cloned()
                .collect();
            if from_additional.is_empty() {
                let query = Query {
                    name: replacement,
                    kind: RecordKind::Srv,
                };
                if !self.pending.contains(&query) {
                    self.pending.push(query);
                }
            } else {
                self.store_srv(&replacement, &from_additional);
            }
        }
        self.store_addrs(additionals);
    }

    fn start_srv_without_naptr(&mut self) {
        self.phase = Phase::Srv;
        for transport in self.order.clone() {
            let name = format!("{}.{}", transport.srv_prefix(), self.query_host);
            self.srv_sets.push(SrvSet {
                transport,
                name: name.clone(),
                naptr_ttl: None,
                answered: false,
                records: Vec::new(),
            });
            self.pending.push(Query {
                name,
                kind: RecordKind::Srv,
            });
        }
    }

    fn store_srv(&mut self, owner: &str, records: &[Record]) {
        for set in self
            .srv_sets
            .iter_mut()
            .filter(|s| !s.answered && key(&s.name) == key(owner))
        {
            set.answered = true;
            for r in records {
                if let RecordData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } = &r.data
                {
                    set.records
                        .push((*priority, *weight, *port, target.clone(), r.ttl));
                }
            }
        }
    }

    fn store_addrs(&mut self, records: &[Record]) {
        for r in records {
            let (ip, v6) = match r.data {
                RecordData::A(ip) => (IpAddr::V4(ip), false),
                RecordData::Aaaa(ip) => (IpAddr::V6(ip), true),
                _ => continue,
            };
            let entry = self.addrs.entry(key(&r.name)).or_default();
            let list = if v6 { &mut entry.v6 } else { &mut entry.v4 };
            if !list.iter().any(|(known, _)| *known == ip) {
                list.push((ip, r.ttl));
            }
        }
    }

    fn start_host_addrs(&mut self) {
        self.phase = Phase::HostAddrs;
        for kind in [RecordKind::A, RecordKind::Aaaa] {
            self.pending.push(Query {
                name: self.query_host.clone(),
                kind,
            });
        }
    }

    /// Called when every query of a step is answered.
    fn advance(&mut self) {
        match self.phase {
            Phase::Srv => {
                let any_srv = self.srv_sets.iter().any(|s| !s.records.is_empty());
                if !any_srv {
                    // RFC 3263 §4.2: "If no SRV records were found, the
                    // client performs an A or AAAA record lookup of the
                    // domain name", on the transport's default port. Also
                    // when NAPTR pointed at names without SRV records: a
                    // broken delegation should not hide a working host.
                    self.start_host_addrs();
                    return;
                }
                self.phase = Phase::TargetAddrs;
                let mut targets: Vec<String> = Vec::new();
                for set in &self.srv_sets {
                    for (_, _, _, target, _) in &set.records {
                        if target != "." && !self.addrs.contains_key(&key(target)) {
                            let name = target.clone();
                            if !targets.iter().any(|t| key(t) == key(&name)) {
                                targets.push(name);
                            }
                        }
                    }
                }
                for name in targets {
                    for kind in [RecordKind::A, RecordKind::Aaaa] {
                        self.pending.push(Query {
                            name: name.clone(),
                            kind,
                        });
                    }
                }
                if self.pending.is_empty() {
                    self.phase = Phase::Done;
                }
            }
            Phase::TargetAddrs | Phase::HostAddrs | Phase::Naptr => self.phase = Phase::Done,
            Phase::Done => {}
        }
    }

    /// Builds the resolution once [`Plan::is_done`]: the targets in the
    /// order to try, SRV records of one priority shuffled by weight with
    /// `rng` (RFC 2782), `valid_until` counted from `now`.
    pub fn finish<R>(self, now: Instant, rng: &mut R) -> Result<Resolution, ResolveError>
    where
        R: RngCore + ?Sized,
    {
        if let Some(error) = self.fatal {
            return Err(error);
        }
        if let Some(ip) = self.literal {
            let targets = self
                .order
                .iter()
                .map(|&transport| Target {
                    addr: SocketAddr::new(ip, self.port.unwrap_or(transport.default_port())),
                    transport,
                    server_name: self.host.clone(),
                    priority: 0,
                    weight: 0,
                })
                .collect();
            return Ok(Resolution {
                targets,
                valid_until: now + MAX_VALIDITY,
                steps: Vec::new(),
            });
        }
        let mut targets: Vec<Target> = Vec::new();
        let mut min_ttl = self.negative_ttl;
        let mut push = |target: Target, ttl: u32, targets: &mut Vec<Target>| {
            if !targets
                .iter()
                .any(|t| t.addr == target.addr && t.transport == target.transport)
            {
                min_ttl = min_opt(min_ttl, Some(ttl));
                targets.push(target);
            }
        };
        let any_srv = self.srv_sets.iter().any(|s| !s.records.is_empty());
        let mut unresolved: Vec<String> = Vec::new();
        if any_srv {
            for set in &self.srv_sets {
                let ordered = order_srv(set.records.clone(), |r| (r.0, r.1), rng);
                for (priority, weight, port, target, srv_ttl) in ordered {
                    if target == "." {
                        // RFC 2782: "the service is decidedly not available
                        // at this domain".
                        continue;
                    }
                    let addrs = self.addrs.get(&key(&target));
                    let list = addrs.map(|a| a.v4.iter().chain(&a.v6));
                    let mut found = false;
                    for &(ip, addr_ttl) in list.into_iter().flatten() {
                        found = true;
                        let ttl = srv_ttl.min(addr_ttl).min(set.naptr_ttl.unwrap_or(u32::MAX));
                        let t = Target {
                            addr: SocketAddr::new(ip, port),
                            transport: set.transport,
                            server_name: self.host.clone(),
                            priority,
                            weight,
                        };
                        push(t, ttl, &mut targets);
                    }
                    if !found && !unresolved.iter().any(|u| key(u) == key(&target)) {
                        unresolved.push(target.trim_end_matches('.').to_owned());
                    }
                }
            }
        } else if let Some(addrs) = self.addrs.get(&key(&self.host)) {
            for &transport in &self.order {
                for &(ip, ttl) in addrs.v4.iter().chain(&addrs.v6) {
                    let port = self.port.unwrap_or(transport.default_port());
                    let t = Target {
                        addr: SocketAddr::new(ip, port),
                        transport,
                        server_name: self.host.clone(),
                        priority: 0,
                        weight: 0,
                    };
                    push(t, ttl, &mut targets);
                }
            }
        }
        if targets.is_empty() {
            return Err(if !self.failures.is_empty() {
                self.failure_error()
            } else if !unresolved.is_empty() {
                ResolveError::NoAddresses {
                    host: self.host,
                    targets: unresolved,
                }
            } else if self.host_nxdomain && !any_srv {
                ResolveError::NoSuchName { host: self.host }
            } else {
                ResolveError::NoRecords { host: self.host }
            });
        }
        let mut validity = min_ttl
            .map_or(MAX_VALIDITY, |s| Duration::from_secs(u64::from(s)))
            .clamp(MIN_VALIDITY, MAX_VALIDITY);
        if !self.failures.is_empty() {
            validity = validity.min(RETRY_AFTER_FAILURE);
        }
        Ok(Resolution {
            targets,
            valid_until: now + validity,
            steps: self.steps,
        })
    }

    /// The error for the first failed lookup.
    fn failure_error(&self) -> ResolveError {
        let host = self.host.clone();
        match self.failures.first() {
            Some((_, query, Answer::TimedOut)) => ResolveError::Timeout {
                host,
                query: query.to_string(),
            },
            Some((_, query, Answer::Failed(reason))) => ResolveError::Lookup {
                host,
                query: query.to_string(),
                reason: reason.clone(),
            },
            _ => ResolveError::NoRecords { host },
        }
    }

    /// The lookups made so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A DNS host name: labels of letters, digits, `-` and `_`, 1 to 63
/// characters each, 253 in all; not a mistyped IPv4 address.
fn check_name(name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > 253 {
        return Err("longer than 253 characters".to_owned());
    }
    if name.contains(':') {
        return Err("it has a `:` but is not an IPv6 address; give the port separately".to_owned());
    }
    let mut all_numeric = true;
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("label `{label}` must have 1 to 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("character `{c}` is not allowed in a host name"));
        }
        all_numeric &= label.chars().all(|c| c.is_ascii_digit());
    }
    if all_numeric {
        return Err("it looks like an IPv4 address but is not one".to_owned());
    }
    Ok(())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
