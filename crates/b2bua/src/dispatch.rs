//! The public entry points and the helpers every handler shares: replying
//! on a server transaction, starting a client transaction, the Via and
//! Contact of each side.

use std::net::SocketAddr;
use std::time::Instant;

use outpost_sip::{HeaderName, Message, Method, StatusCode};
use outpost_txn::{Event, TransactionId, TransactionLayer};

use crate::config::uri_host;
use crate::error::Error;
use crate::events::{CallOutcome, CallRef, Failure};
use crate::flow::{Destination, Directory, Side, Transport};
use crate::sipmsg::build_response;
use crate::timers::Timer;
use crate::{B2bua, Client, IncomingRequest, Io, Purpose, compact_map};

impl<D: Destination> B2bua<D> {
    /// Feeds one transaction-layer event (see the crate docs for the
    /// mapping). Returns the event when it is not the B2BUA's: a request it
    /// does not [`want`](Self::wants), [`Event::Refused`], and events it
    /// has no use for, so the core can handle or log them.
    pub fn handle_event(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        event: Event<D>,
        directory: &dyn Directory<D>,
    ) -> Option<Event<D>> {
        match event {
            Event::RequestReceived {
                transaction,
                request,
                source,
                cancels,
            } => {
                if !self.wants(&request) && !cancels.is_some_and(|c| self.servers.contains_key(&c))
                {
                    return Some(Event::RequestReceived {
                        transaction,
                        request,
                        source,
                        cancels,
                    });
                }
                let incoming = IncomingRequest {
                    transaction,
                    request,
                    source,
                    cancels,
                };
                self.handle_request(now, unix_secs, txn, incoming, directory);
                None
            }
            Event::AckReceived {
                request, source, ..
            } => {
                self.handle_ack(now, txn, request, source);
                None
            }
            Event::ResponseReceived {
                transaction,
                response,
                ..
            } => {
                self.handle_response(now, unix_secs, txn, transaction, response, directory);
                None
            }
            Event::Timeout { transaction, .. } => {
                self.handle_failure(now, unix_secs, txn, transaction, Failure::Timeout);
                None
            }
            Event::TransportError { transaction } => {
                let mut io = Io {
                    now,
                    unix: unix_secs,
                    txn,
                };
                self.on_failure(
                    &mut io,
                    transaction,
                    Failure::TransportError,
                    Some(directory),
                );
                None
            }
            Event::Terminated { transaction } => {
                self.handle_terminated(transaction);
                None
            }
            other => Some(other),
        }
    }

    /// A new request for the B2BUA (see [`wants`](Self::wants)).
    pub fn handle_request(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        incoming: IncomingRequest<D>,
        directory: &dyn Directory<D>,
    ) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        let IncomingRequest {
            transaction: id,
            request,
            source,
            cancels,
        } = incoming;
        let Some(method) = request.method().cloned() else {
            return;
        };
        if method == Method::Ack {
            return self.handle_ack(now, io.txn, request, source);
        }
        if request.validate().is_err() {
            return self.reply(&mut io, id, &request, &source, StatusCode::BAD_REQUEST);
        }
        let side = source.side();
        let in_dialog = request.to().is_ok_and(|t| t.tag().is_some());
        match method {
            Method::Cancel => self.on_cancel(&mut io, id, &request, &source, cancels),
            Method::Register if side == Side::Public => {
                self.on_register(&mut io, id, request, source, directory);
            }
            Method::Register => {
                self.reply(&mut io, id, &request, &source, StatusCode(405));
            }
            _ if in_dialog => self.on_in_dialog(&mut io, id, request, source),
            _ => self.on_initial(&mut io, id, request, source, directory),
        }
    }

    /// An ACK for a 2xx (the transaction layer's
    /// [`Event::AckReceived`]): relayed as the other leg's own ACK.
    pub fn handle_ack(
        &mut self,
        now: Instant,
        txn: &mut TransactionLayer<D>,
        ack: Message,
        source: D,
    ) {
        let mut io = Io { now, unix: 0, txn };
        self.on_ack(&mut io, &ack, &source);
    }

    /// A response for one of the B2BUA's client transactions.
    pub fn handle_response(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        id: TransactionId,
        response: Message,
        directory: &dyn Directory<D>,
    ) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        let Some(status) = response.status() else {
            return;
        };
        let purpose = match self.clients.get(&id).map(|c| &c.purpose) {
            Some(Purpose::Register(b)) => Some(Ok(*b)),
            Some(Purpose::Heartbeat(b)) => Some(Err(*b)),
            Some(Purpose::Relay { .. }) => None,
            None => return,
        };
        match purpose {
            Some(Ok(binding)) => {
                if status.is_final() {
                    self.on_register_response(&mut io, id, binding, &response, directory);
                }
            }
            Some(Err(binding)) => {
                if status.is_final() {
                    self.clients.remove(&id);
                    self.on_heartbeat_result(io.now, binding, true);
                }
            }
            None => self.on_relay_response(&mut io, id, response, directory),
        }
    }

    /// A transaction failed without a final response: a client
    /// transaction timed out (acts as 408) or could not be sent (acts as
    /// 503); a server transaction's Timer H fired (nothing to do).
    pub fn handle_failure(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        id: TransactionId,
        failure: Failure,
    ) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        self.on_failure(&mut io, id, failure, None);
    }

    /// A client transaction failed; with `directory`, a REGISTER that could
    /// not be sent is tried at its ICP's next target.
    fn on_failure(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        failure: Failure,
        directory: Option<&dyn Directory<D>>,
    ) {
        let status = match failure {
            Failure::Timeout => StatusCode::REQUEST_TIMEOUT,
            Failure::TransportError => StatusCode::SERVICE_UNAVAILABLE,
        };
        let purpose = match self.clients.get(&id).map(|c| &c.purpose) {
            Some(Purpose::Register(b)) => Some(Ok(*b)),
            Some(Purpose::Heartbeat(b)) => Some(Err(*b)),
            Some(Purpose::Relay { .. }) => None,
            None => return,
        };
        match purpose {
            Some(Ok(binding)) => self.on_register_failure(io, id, binding, status, directory),
            Some(Err(binding)) => {
                self.clients.remove(&id);
                self.on_heartbeat_result(io.now, binding, false);
            }
            None => self.on_relay_failure(io, id, status, failure),
        }
    }

    /// A transaction ended ([`Event::Terminated`]): forget what was kept
    /// for it.
    pub fn handle_terminated(&mut self, id: TransactionId) {
        // Failures were reported through handle_failure before this; an
        // entry still here is one whose transaction simply ended (an
        // INVITE client after its 2xx, a server answered by the layer).
        self.clients.remove(&id);
        self.servers.remove(&id);
    }

    /// Fires every B2BUA timer due at `now`. A call before any deadline is
    /// a no-op.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        directory: &dyn Directory<D>,
    ) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        while let Some((handle, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::PhoneExpiry(b) => self.on_phone_expiry(&mut io, b, handle),
                Timer::UpstreamRefresh(b) => self.on_refresh_due(&mut io, b, handle, directory),
                Timer::Heartbeat(b) => self.on_heartbeat_due(&mut io, b, handle),
                Timer::Retransmit2xx(c) => self.on_retransmit_2xx(&mut io, c, handle),
                Timer::AckTimeout(c) => self.on_ack_timeout(&mut io, c, handle),
                Timer::CancelGiveUp(c) => self.on_cancel_give_up(&mut io, c, handle),
                Timer::Lifetime(c) => self.on_lifetime(&mut io, c, handle),
            }
        }
    }

    /// Gives memory back once the call and transaction tables are mostly
    /// empty (a burst leaves them at its peak capacity otherwise). Cheap
    /// when there is nothing to do; call it when idle, e.g. once a second.
    pub fn compact(&mut self) {
        self.calls.compact();
        compact_map(&mut self.clients);
        compact_map(&mut self.servers);
    }

    /// The driver closed a connection: phones registered over it are
    /// disconnected until they come back.
    pub fn handle_flow_closed(&mut self, _now: Instant, flow: &D) {
        let users = self.regs.mark_flow_closed(flow);
        for u in users {
            self.publish_status(&u);
        }
    }

    /// The store changed a device: a disabled or deleted device is
    /// unregistered toward the iPBX and dropped; new credentials are used
    /// from the next request on.
    pub fn handle_device_update(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        setside_username: &str,
        directory: &dyn Directory<D>,
    ) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        self.on_device_update(&mut io, setside_username, directory);
    }

    /// Graceful shutdown: hangs up every call (BYE on both legs) and
    /// unregisters every phone toward the iPBX. Keep driving the
    /// transaction layer for a few seconds afterwards so they go out.
    pub fn shutdown(&mut self, now: Instant, unix_secs: u64, txn: &mut TransactionLayer<D>) {
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        self.shutdown_all(&mut io);
    }

    /// Ends one call on both legs (BYE, or CANCEL/487 before an answer),
    /// for a reason outside SIP: no media for too long (MED-5). Returns
    /// false when the call is unknown (it already ended).
    pub fn hang_up(
        &mut self,
        now: Instant,
        unix_secs: u64,
        txn: &mut TransactionLayer<D>,
        call: CallRef,
        outcome: CallOutcome,
    ) -> bool {
        let key = crate::call::CallKey(call.0);
        if self.calls.get(key).is_none() {
            return false;
        }
        let mut io = Io {
            now,
            unix: unix_secs,
            txn,
        };
        self.hangup(&mut io, key, outcome);
        true
    }

    // ---- shared helpers ----

    /// Sends a final response with no body on server transaction `id`.
    pub(crate) fn reply(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        status: StatusCode,
    ) {
        self.reply_with(io, id, request, source, status, Vec::new());
    }

    /// Sends a response with extra headers on server transaction `id`.
    pub(crate) fn reply_with(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        status: StatusCode,
        mut headers: Vec<(HeaderName, String)>,
    ) {
        if status == StatusCode::SERVICE_UNAVAILABLE
            && !headers.iter().any(|(n, _)| *n == HeaderName::RetryAfter)
        {
            headers.push((
                HeaderName::RetryAfter,
                self.config.retry_after_secs.to_string(),
            ));
        }
        let tag = self
            .servers
            .get(&id)
            .map(|s| s.to_tag.clone())
            .unwrap_or_else(|| self.rng.tag());
        let observed = self.observed(source);
        if let Ok(response) = build_response(request, status, Some(&tag), observed, headers, None) {
            let _ = io.txn.send_response(io.now, id, response);
        }
        if status.is_final() {
            self.servers.remove(&id);
        }
    }

    /// The observed address to put in `received`/`rport`, for the public
    /// side only (the private side has no NAT to discover).
    pub(crate) fn observed(&self, source: &D) -> Option<SocketAddr> {
        (source.side() == Side::Public).then(|| source.remote_addr())
    }

    /// A Via for a new client transaction on `side` over `transport`.
    pub(crate) fn via(&mut self, side: Side, transport: Transport) -> String {
        let id = match side {
            Side::Public => &self.config.public,
            Side::Private => &self.config.private,
        };
        format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            transport.via_name(),
            id.uri_host(),
            id.port(transport),
            self.rng.branch()
        )
    }

    /// Our Contact on `side` over `transport`, with `user` (the binding
    /// token on the private side).
    pub(crate) fn contact(&self, side: Side, transport: Transport, user: Option<&str>) -> String {
        let id = match side {
            Side::Public => &self.config.public,
            Side::Private => &self.config.private,
        };
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        let t = transport
            .uri_param()
            .map(|t| format!(";transport={t}"))
            .unwrap_or_default();
        format!("<sip:{user}{}:{}{t}>", id.uri_host(), id.port(transport))
    }

    /// The domain of From/To URIs on the public side.
    pub(crate) fn public_domain(&self) -> String {
        uri_host(&self.config.public_domain)
    }

    /// Starts a client transaction and remembers what it is for.
    pub(crate) fn send(
        &mut self,
        io: &mut Io<'_, D>,
        request: Message,
        destination: D,
        purpose: Purpose,
    ) -> Result<TransactionId, Error> {
        let reliable = destination.transport().is_reliable();
        let id = io
            .txn
            .send_request(io.now, request.clone(), destination.clone(), reliable)?;
        self.clients.insert(
            id,
            Client {
                sent: request,
                destination,
                purpose,
            },
        );
        Ok(id)
    }

    /// T1 of the transaction layer (RFC 3261 timer base).
    pub(crate) fn t1(io: &Io<'_, D>) -> std::time::Duration {
        io.txn.config().timers.t1
    }
}
