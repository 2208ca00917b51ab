//! The SIP core: one task that owns the transaction layer (`outpost-txn`)
//! and the transaction users — the B2BUA (`outpost-b2bua`) for phones and
//! the iPBX, and Outpost's own UAS for requests addressed to itself — fed by
//! the transport drivers through bounded queues and sending through
//! [`Sender`].
//!
//! A request's path: transport driver → ingress (parse, validate) → here:
//! transaction layer → B2BUA or own UAS → transaction layer → [`Sender`] →
//! transport driver. Keeping the protocol state in one task means no locks
//! on it; the drivers do the parallel work (I/O, TLS, parsing).

pub mod directory;
pub mod live;
pub mod status_writer;
pub mod uas;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use outpost_b2bua::{B2bua, B2buaEvent, CallOutcome};
use outpost_sip::{Method, Request};
use outpost_txn::{Event, TransactionId, TransactionLayer};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::guard_runtime::SharedGuard;
use crate::transport::ingress::{Inbound, service_unavailable};
use crate::transport::{ConnectEvent, Delivery, Flow, PeerKey, Sender};
use directory::dns::{self, Resolved};
use directory::routes::ResolveRequest;
use directory::{DirectorySnapshot, MemoryDirectory};
use uas::LocalUas;

/// Longest sleep when no timer is armed, so gauges stay fresh; waking
/// costs nothing measurable.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// What the core reads: parsed messages, and connections that closed.
pub struct CoreInputs {
    /// Messages from every transport.
    pub messages: mpsc::Receiver<Inbound>,
    /// TCP/TLS connections that ended (the B2BUA marks phones disconnected).
    pub closed: mpsc::Receiver<Flow>,
    /// Calls whose media stopped for too long (MED-5): hung up here.
    pub media_timeouts: mpsc::Receiver<outpost_b2bua::CallRef>,
    /// Outgoing connections made or failed: transactions whose messages
    /// waited for a failed one fail at once.
    pub connects: mpsc::Receiver<ConnectEvent>,
    /// Devices and ICPs as changed in the store (CLI, API).
    pub directory: mpsc::Receiver<DirectorySnapshot>,
    /// ICP host names resolved (RFC 3263).
    pub resolutions: mpsc::Receiver<Resolved>,
    /// Settings changed through the API that apply live.
    pub live: mpsc::Receiver<live::LiveUpdate>,
}

/// The SIP core task.
pub struct Core {
    guard: Option<SharedGuard>,
    /// Devices' registered clients (binding number → the address it
    /// registered from), so the guard's per-source allowance stays
    /// balanced.
    registered_from: HashMap<String, HashMap<u64, IpAddr>>,
    txn: TransactionLayer<Flow>,
    b2bua: B2bua<Flow>,
    directory: MemoryDirectory,
    sender: Sender,
    uas: LocalUas,
    retry_after_secs: u32,
    /// Client transactions whose message waits for a connection being
    /// made to that peer.
    awaiting_connect: HashMap<PeerKey, Vec<TransactionId>>,
    /// Where ICP host names are sent to be resolved.
    resolve_requests: Option<mpsc::Sender<ResolveRequest>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Core {
    /// A core with the given transaction settings and B2BUA.
    pub fn new(
        config: outpost_txn::Config,
        b2bua: B2bua<Flow>,
        directory: MemoryDirectory,
        sender: Sender,
        random: u64,
        retry_after_secs: u32,
    ) -> Self {
        Self {
            guard: None,
            registered_from: HashMap::new(),
            txn: TransactionLayer::new(config),
            b2bua,
            directory,
            sender,
            uas: LocalUas::new(random),
            retry_after_secs,
            awaiting_connect: HashMap::new(),
            resolve_requests: None,
        }
    }

    /// Consults `guard` on new public-side requests (SEC-5), digest
    /// failures (SEC-6) and registrations (SEC-3's shared-NAT allowance).
    #[must_use]
    pub fn with_guard(mut self, guard: SharedGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Sends ICP host names to be resolved (RFC 3263) to `requests`.
    #[must_use]
    pub fn with_resolver(mut self, requests: mpsc::Sender<ResolveRequest>) -> Self {
        self.resolve_requests = Some(requests);
        self
    }

    /// Runs until `shutdown` turns true or every ingress is gone; on
    /// shutdown, calls are hung up and phones unregistered from the iPBX.
    pub async fn run(mut self, mut inputs: CoreInputs, mut shutdown: watch::Receiver<bool>) {
        self.publish_tls_peers();
        // ICPs given by name are resolved from the start, not after the
        // first wake-up (the first message, or IDLE_WAKE): until then
        // their devices get 503.
        self.request_resolutions(Instant::now());
        loop {
            let now = Instant::now();
            let wake = [self.txn.poll_timeout(), self.b2bua.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + IDLE_WAKE);
            tokio::select! {
                _ = shutdown.changed() => {
                    info!("SIP core stopping: hanging up calls and unregistering phones");
                    self.b2bua.shutdown(Instant::now(), unix_now(), &mut self.txn);
                    self.drive();
                    self.release_registrations();
                    return;
                }
                received = inputs.messages.recv() => {
                    let Some(inbound) = received else { return };
                    self.handle_inbound(Instant::now(), inbound);
                }
                Some(flow) = inputs.closed.recv() => {
                    self.b2bua.handle_flow_closed(Instant::now(), &flow);
                }
                Some(event) = inputs.connects.recv() => {
                    self.handle_connect_event(Instant::now(), event);
                }
                Some(snapshot) = inputs.directory.recv() => {
                    self.handle_directory(Instant::now(), snapshot);
                }
                Some(resolved) = inputs.resolutions.recv() => {
                    self.handle_resolved(Instant::now(), resolved);
                }
                Some(update) = inputs.live.recv() => {
                    self.handle_live(update);
                }
                Some(call) = inputs.media_timeouts.recv() => {
                    self.b2bua.hang_up(Instant::now(), unix_now(), &mut self.txn, call, CallOutcome::MediaTimeout);
                }
                () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                    let now = Instant::now();
                    self.txn.handle_timeout(now);
                    self.b2bua.compact();
                    if self.b2bua.poll_timeout().is_some_and(|t| t <= now) {
                        self.b2bua.handle_timeout(now, unix_now(), &mut self.txn, &self.directory);
                    }
                }
            }
            self.drive();
            self.request_resolutions(Instant::now());
            self.record_gauges();
        }
    }

    fn handle_inbound(&mut self, now: Instant, Inbound { flow, message }: Inbound) {
        if message.is_request() && !self.admits_request(&flow, &message) {
            metrics::counter!("outpost_sip_rejected_total", "side" => flow.side.as_str(), "transport" => flow.transport.as_str(), "reason" => "guard").increment(1);
            return;
        }
        if message.is_request() {
            let reliable = flow.transport.is_reliable();
            if let Err(error) = self.txn.handle_request(now, message, flow, reliable) {
                // Validated by ingress, so rare: a request the transaction
                // layer cannot key.
                debug!(peer = %flow.peer, %error, "request not accepted by the transaction layer");
            }
        } else if let Err(error) = self.txn.handle_response(now, message) {
            debug!(peer = %flow.peer, %error, "response not matched");
        }
    }

    /// SEC-5: malicious-call inspection of a new (out-of-dialog) request
    /// from the public side, before any transaction exists for it.
    fn admits_request(&self, flow: &Flow, message: &outpost_sip::Message) -> bool {
        let Some(guard) = &self.guard else {
            return true;
        };
        if flow.side != crate::config::Side::Public {
            return true;
        }
        let to = message.to().ok();
        if to.is_some_and(|t| t.tag().is_some()) {
            return true;
        }
        let from = message.from().ok();
        let method = message
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        let from_user = from.and_then(|f| f.uri().user());
        let to_user = to.and_then(|t| t.uri().user());
        let ruri_user = message.request_uri().and_then(|u| u.user());
        let contact = message.header(&outpost_sip::HeaderName::Contact);
        let branch = message.top_via().ok().and_then(|v| v.branch());
        let known = |user: Option<&str>| user.is_some_and(|u| self.directory.is_device(u));
        let target = if method == "REGISTER" {
            to_user.as_deref()
        } else {
            ruri_user.as_deref().or(to_user.as_deref())
        };
        let facts = outpost_guard::RequestFacts {
            method: &method,
            user_agent: message.header(&outpost_sip::HeaderName::UserAgent),
            from: message.header(&outpost_sip::HeaderName::From),
            from_user: from_user.as_deref(),
            from_tag: from.and_then(|f| f.tag()),
            to: message.header(&outpost_sip::HeaderName::To),
            to_user: to_user.as_deref(),
            ruri_user: ruri_user.as_deref(),
            contact,
            call_id: message.call_id().ok(),
            via_branch: branch,
            // Credentials are verified by the B2BUA, after this check.
            is_authenticated: false,
            target_is_known_user: known(target),
            from_is_known_user: known(from_user.as_deref()),
        };
        guard.inspect_request(flow.peer.ip(), &facts).is_admit()
    }

    /// Keeps the guard's count of live registrations per source in step
    /// with the devices' status.
    fn track_registration(&mut self, status: &outpost_b2bua::DeviceStatus) {
        let Some(guard) = &self.guard else { return };
        // Per client: each registered binding's source is a registered
        // source, not only the device's last one.
        let now: HashMap<u64, IpAddr> = status
            .bindings
            .iter()
            .filter(|b| b.registered)
            .map(|b| (b.binding, b.last_address.ip()))
            .collect();
        let before = self
            .registered_from
            .remove(&status.setside_username)
            .unwrap_or_default();
        for (binding, ip) in &before {
            if now.get(binding) != Some(ip) {
                guard.record_registration(*ip, false);
            }
        }
        for (binding, ip) in &now {
            if before.get(binding) != Some(ip) {
                guard.record_registration(*ip, true);
            }
        }
        if !now.is_empty() {
            self.registered_from
                .insert(status.setside_username.clone(), now);
        }
    }

    /// The SIP service stops: the registrations this core counted in the
    /// guard's per-source allowance end with it (the guard outlives the
    /// core; a restarted core counts the phones again as they register).
    fn release_registrations(&mut self) {
        let Some(guard) = &self.guard else { return };
        for (_, bindings) in self.registered_from.drain() {
            for ip in bindings.into_values() {
                guard.record_registration(ip, false);
            }
        }
    }

    /// Settings changed through the API: the B2BUA takes the live ones
    /// from its next REGISTER, call or heartbeat on.
    fn handle_live(&mut self, update: live::LiveUpdate) {
        let mut config = self.b2bua.config().clone();
        update.registration.apply_to(&mut config);
        let result = if &config == self.b2bua.config() {
            Ok(())
        } else {
            self.b2bua.update_config(config).map_err(|e| e.to_string())
        };
        match &result {
            Ok(()) => info!(registration = ?update.registration, "live settings applied"),
            Err(e) => warn!(error = %e, "live settings refused by the B2BUA"),
        }
        if let Some(done) = update.done {
            let _ = done.send(result);
        }
    }

    /// A connection the core was waiting for is up, or failed: the
    /// transactions whose messages were queued for it fail now (the B2BUA
    /// answers 503 to a relayed request, RFC 3261 §8.1.3.1) instead of at
    /// their timers.
    fn handle_connect_event(&mut self, now: Instant, event: ConnectEvent) {
        match event {
            ConnectEvent::Connected(peer) => {
                self.awaiting_connect.remove(&peer);
            }
            ConnectEvent::Failed { peer, error } => {
                // The next registration or call to that ICP uses its next
                // target, if it has one (RFC 3263 failover).
                self.directory
                    .routes_mut()
                    .mark_down(peer.peer, peer.transport, now);
                let waiting = self.awaiting_connect.remove(&peer).unwrap_or_default();
                debug!(peer = %peer.peer, transactions = waiting.len(), %error, "failing transactions that waited for the connection");
                for id in waiting {
                    self.txn.handle_transport_error(now, id);
                }
            }
        }
    }

    /// Asks for the ICP host names that have no answer, or an expired one.
    fn request_resolutions(&mut self, now: Instant) {
        let Some(requests) = &self.resolve_requests else {
            return;
        };
        for request in self.directory.routes_mut().take_due(now) {
            let icp = request.icp.clone();
            if requests.try_send(request).is_err() {
                self.directory
                    .routes_mut()
                    .resolution_failed(&icp, now + dns::RETRY_AFTER);
            }
        }
    }

    /// An ICP's host name was resolved: its devices use the new targets
    /// from the next request on, TLS checked against the ICP's name.
    fn handle_resolved(&mut self, now: Instant, resolved: Resolved) {
        match resolved.outcome {
            Ok((targets, valid_until)) => {
                let changed = self.directory.routes_mut().apply_resolution(
                    &resolved.icp,
                    targets,
                    valid_until,
                );
                if changed {
                    self.publish_tls_peers();
                }
            }
            Err(_) => self
                .directory
                .routes_mut()
                .resolution_failed(&resolved.icp, now + dns::RETRY_AFTER),
        }
    }

    /// Tells the connector the name and CA file each TLS target of an ICP
    /// is checked with.
    fn publish_tls_peers(&mut self) {
        let Some(connector) = self.sender.connector() else {
            return;
        };
        for target in self.directory.routes_mut().tls_targets() {
            connector.set_peer_tls(
                target.destination.peer,
                &target.server_name,
                target.ca_file.as_deref().map(std::path::Path::new),
            );
        }
    }

    /// The store's devices or ICPs changed: the B2BUA re-reads each
    /// changed device (a disabled or deleted one is unregistered from the
    /// iPBX at once; new credentials apply from the next request).
    fn handle_directory(&mut self, now: Instant, snapshot: DirectorySnapshot) {
        let changed = self.directory.replace(snapshot);
        self.publish_tls_peers();
        for user in changed {
            self.b2bua
                .handle_device_update(now, unix_now(), &mut self.txn, &user, &self.directory);
        }
    }

    /// Sends what the layer queued and hands its events to the users,
    /// until every queue is empty. Never waits: sends are handed to
    /// sockets, writers or connect queues.
    fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(transmit) = self.txn.poll_transmit() {
                progressed = true;
                match self.sender.send(&transmit.destination, transmit.bytes) {
                    Ok(Delivery::Sent) => {}
                    Ok(Delivery::Queued) => {
                        if let Some(id) = transmit.transaction {
                            let peer = PeerKey::of(&transmit.destination);
                            let waiting = self.awaiting_connect.entry(peer).or_default();
                            if !waiting.contains(&id) {
                                waiting.push(id);
                            }
                        }
                    }
                    Err(error) => {
                        debug!(peer = %transmit.destination.peer, %error, "send failed");
                        if let Some(id) = transmit.transaction {
                            self.txn.handle_transport_error(Instant::now(), id);
                        }
                    }
                }
            }
            while let Some(event) = self.txn.poll_event() {
                progressed = true;
                let now = Instant::now();
                let unhandled =
                    self.b2bua
                        .handle_event(now, unix_now(), &mut self.txn, event, &self.directory);
                if let Some(event) = unhandled {
                    self.handle_own_event(now, event);
                }
            }
            while let Some(event) = self.b2bua.poll_event() {
                progressed = true;
                match &event {
                    B2buaEvent::DeviceStatus(status) => {
                        self.directory.record_status(status, unix_now());
                        self.track_registration(status);
                    }
                    B2buaEvent::AuthFailed { address, .. } => {
                        if let Some(guard) = &self.guard {
                            let _ = guard.record_auth_failure(address.ip());
                        }
                    }
                    _ => {}
                }
                report(event);
            }
            if !progressed {
                return;
            }
        }
    }

    /// Events the B2BUA leaves to Outpost itself: requests addressed to
    /// the gateway, and refusals.
    fn handle_own_event(&mut self, now: Instant, event: Event<Flow>) {
        match event {
            Event::RequestReceived {
                transaction,
                request,
                source,
                cancels,
            } => {
                let Ok(request) = request.into_request() else {
                    return;
                };
                let response = self.uas.respond(&request, cancels.is_some());
                if let Err(error) = self.txn.send_response(now, transaction, response) {
                    warn!(peer = %source.peer, %error, "could not answer a request");
                }
            }
            Event::Refused { request, source } => {
                metrics::counter!("outpost_sip_rejected_total", "side" => source.side.as_str(), "transport" => source.transport.as_str(), "reason" => "transactions").increment(1);
                if let Ok(request) = request.into_request() {
                    refuse(&self.sender, &request, &source, self.retry_after_secs);
                }
            }
            Event::AckReceived { source, .. } => {
                debug!(peer = %source.peer, "ACK with no dialog ignored")
            }
            _ => {}
        }
    }

    fn record_gauges(&self) {
        let stats = self.b2bua.stats();
        metrics::gauge!("outpost_sip_transactions").set(self.txn.len() as f64);
        metrics::gauge!("outpost_registrations").set(stats.registrations as f64);
        metrics::gauge!("outpost_active_calls").set(stats.active_calls as f64);
        metrics::gauge!("outpost_active_dialogs").set(stats.active_dialogs as f64);
        let (mut connected, mut in_call, mut natted) = (0usize, 0usize, 0usize);
        for status in self.b2bua.device_statuses() {
            connected += usize::from(status.connected);
            in_call += usize::from(status.in_call);
            natted += usize::from(status.natted);
        }
        metrics::gauge!("outpost_devices_connected").set(connected as f64);
        metrics::gauge!("outpost_devices_in_call").set(in_call as f64);
        metrics::gauge!("outpost_devices_natted").set(natted as f64);
    }
}

/// SIG-10: too many transactions; answer 503 statelessly.
fn refuse(sender: &Sender, request: &Request, source: &Flow, retry_after_secs: u32) {
    if request.method() == &Method::Ack {
        return;
    }
    let bytes = service_unavailable(request, retry_after_secs);
    if let Err(error) = sender.send(source, bytes) {
        debug!(peer = %source.peer, %error, "send of 503 failed");
    }
}

/// Logs and counts what the B2BUA reports.
fn report(event: B2buaEvent) {
    match event {
        B2buaEvent::DeviceStatus(status) if status.refresh_only => {
            debug!(device = %status.setside_username, "device status refreshed");
        }
        B2buaEvent::DeviceStatus(status) => {
            info!(
                device = %status.setside_username,
                registered = status.registered,
                connected = status.connected,
                in_call = status.in_call,
                natted = status.natted,
                last_address = ?status.last_address,
                clients = status.bindings.len(),
                "device status"
            );
            for b in &status.bindings {
                debug!(
                    device = %status.setside_username,
                    binding = b.binding,
                    contact = %b.contact,
                    transport = ?b.transport,
                    registered = b.registered,
                    connected = b.connected,
                    in_call = b.in_call,
                    natted = b.natted,
                    address = %b.last_address,
                    "device binding"
                );
            }
        }
        B2buaEvent::AuthFailed {
            username,
            address,
            reason,
        } => {
            metrics::counter!("outpost_auth_failures_total").increment(1);
            // The username is what the client claimed; no secret is logged.
            warn!(%username, %address, ?reason, "authentication failed");
        }
        B2buaEvent::RegistrationFailed {
            setside_username,
            status,
            side,
        } => {
            metrics::counter!("outpost_registration_failures_total").increment(1);
            warn!(device = %setside_username, %status, ?side, "registration failed");
        }
        B2buaEvent::CallStarted {
            call,
            direction,
            setside_username,
        } => {
            metrics::counter!("outpost_calls_started_total").increment(1);
            info!(?call, ?direction, device = %setside_username, "call started");
        }
        B2buaEvent::CallAnswered { call } => info!(?call, "call answered"),
        B2buaEvent::CallEnded {
            call,
            outcome,
            duration,
        } => {
            metrics::counter!("outpost_calls_total", "outcome" => outcome.as_str()).increment(1);
            // Outcomes that say something went wrong are warnings.
            if matches!(
                outcome,
                CallOutcome::Completed
                    | CallOutcome::Cancelled
                    | CallOutcome::Rejected(_)
                    | CallOutcome::NoAnswer
            ) {
                info!(?call, %outcome, ?duration, "call ended");
            } else {
                warn!(?call, %outcome, reason = outcome.as_str(), ?duration, "call ended");
            }
        }
        other => debug!(?other, "B2BUA event"),
    }
}
