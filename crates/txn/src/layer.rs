//! The transaction layer: every transaction of one endpoint in a map, the
//! RFC 3261 §17.1.3/§17.2.3 matching, and the queues the driver polls.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Instant;

use outpost_sip::Message;

use crate::client::{InviteClient, NonInviteClient};
use crate::error::Error;
use crate::event::{Event, RequestOutcome, ResponseKind, ResponseOutcome, TransactionId, Transmit};
use crate::key::{ClientKey, MAGIC_COOKIE, RequestFacts, ServerKey};
use crate::machine::Machine;
use crate::message;
use crate::server::{InviteServer, NonInviteServer};
use crate::state::{Notify, State, Step, TransactionKind};
use crate::timer::{Timer, TimerConfig};

/// Settings of a [`TransactionLayer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// T1, T2, T4 and Timer D.
    pub timers: TimerConfig,
    /// How many transactions (client and server together) may be alive.
    /// Beyond it, new requests are refused with [`Event::Refused`] (the
    /// driver answers 503) and [`send_request`](TransactionLayer::send_request)
    /// fails with [`Error::TooManyTransactions`]. Default 65 536.
    pub max_transactions: usize,
    /// Whether a new INVITE server transaction answers 100 (Trying) at once
    /// (RFC 3261 §17.2.1 allows skipping it only if the TU answers within
    /// 200 ms, which a B2BUA waiting on the far side cannot promise).
    /// Default `true`.
    pub send_100_trying: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            max_transactions: 65_536,
            send_100_trying: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Server(ServerKey),
    Client(ClientKey),
}

#[derive(Debug)]
struct Transaction<D> {
    machine: Machine,
    /// Server: where the request came from; client: where it goes.
    peer: D,
    /// The request that created the transaction, until a final response:
    /// the 32 s a transaction lingers after it (RFC 3261 Timers D, J, L, M
    /// on UDP) need only its key, tag and the bytes to re-send, so the
    /// parsed request is dropped then (issue 13: it was most of the memory
    /// held under call load).
    request: Option<Box<Message>>,
    key: Key,
    /// INVITE server: the To tag of the last response sent, which an RFC 2543
    /// ACK must carry to match (RFC 3261 §17.2.3).
    response_to_tag: Option<Box<str>>,
    /// The deadline this transaction has an entry for in the heap.
    scheduled: Option<Instant>,
}

/// Tables smaller than this are left as they are.
const COMPACT_ABOVE: usize = 1024;

/// Shrinks `map` to twice its length when it is less than a quarter full
/// (amortised: the next shrink needs as many removals again).
fn compact_map<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > COMPACT_ABOVE && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// All transactions of one SIP endpoint, driven sans-IO.
///
/// Inputs are `handle_*` and `send_*` calls with the current time; outputs
/// are pulled with [`poll_transmit`](Self::poll_transmit),
/// [`poll_event`](Self::poll_event) and [`poll_timeout`](Self::poll_timeout).
/// After every input, drain both queues and re-arm the timer.
///
/// `D` is the driver's destination type (peer address, transport, flow id);
/// the layer only clones it into [`Transmit`]s and events.
#[derive(Debug)]
pub struct TransactionLayer<D> {
    config: Config,
    next_id: u64,
    /// Boxed: a table's slots are sized for its peak (and ~half empty
    /// after growth), so only a pointer per slot, not a whole transaction.
    transactions: HashMap<TransactionId, Box<Transaction<D>>>,
    server_keys: HashMap<ServerKey, TransactionId>,
    client_keys: HashMap<ClientKey, TransactionId>,
    /// Min-heap of (deadline, transaction); entries whose deadline no longer
    /// matches the transaction's `scheduled` are stale and skipped.
    deadlines: BinaryHeap<Reverse<(Instant, TransactionId)>>,
    transmits: VecDeque<Transmit<D>>,
    events: VecDeque<Event<D>>,
}

impl<D: Clone> TransactionLayer<D> {
    /// An empty layer.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            next_id: 0,
            transactions: HashMap::new(),
            server_keys: HashMap::new(),
            client_keys: HashMap::new(),
            deadlines: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A request arrived from `source` over a `reliable` (TCP, TLS, SCTP) or
    /// unreliable (UDP) transport.
    ///
    /// A new request creates a server transaction and queues
    /// [`Event::RequestReceived`]; a retransmission is absorbed and the last
    /// response re-sent; an ACK goes where RFC 3261 §17.2.1 and RFC 6026
    /// §7.1 say. An error means the request lacks what matching needs; the
    /// driver answers 400 (never to an ACK) or drops it.
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: Message,
        source: D,
        reliable: bool,
    ) -> Result<RequestOutcome, Error> {
        let facts = message::request_facts(&request)?;
        let key = ServerKey::of(&facts);
        if facts.is_ack() {
            return Ok(self.handle_ack(now, &key, &facts, request, source));
        }
        if let Some(&id) = self.server_keys.get(&key) {
            let step = match self.transactions.get_mut(&id).map(|t| &mut t.machine) {
                Some(Machine::InviteServer(m)) => m.handle_retransmission(),
                Some(Machine::NonInviteServer(m)) => m.handle_retransmission(),
                _ => Step::default(),
            };
            self.apply(id, step, None);
            return Ok(RequestOutcome::Absorbed(id));
        }
        if self.transactions.len() >= self.config.max_transactions {
            self.events.push_back(Event::Refused { request, source });
            return Ok(RequestOutcome::Refused);
        }
        let id = self.allocate_id();
        let timers = self.config.timers;
        let machine = if facts.is_invite() {
            Machine::InviteServer(InviteServer::new(timers, reliable))
        } else {
            Machine::NonInviteServer(NonInviteServer::new(timers, reliable))
        };
        let cancels = if facts.is_cancel() {
            self.server_keys.get(&key.as_invite()).copied()
        } else {
            None
        };
        self.server_keys.insert(key.clone(), id);
        self.transactions.insert(
            id,
            Box::new(Transaction {
                machine,
                peer: source.clone(),
                request: Some(Box::new(request.clone())),
                key: Key::Server(key),
                response_to_tag: None,
                scheduled: None,
            }),
        );
        self.events.push_back(Event::RequestReceived {
            transaction: id,
            request: request.clone(),
            source,
            cancels,
        });
        if facts.is_invite() && self.config.send_100_trying {
            // The request was good enough to match, so building the 100 only
            // fails on a parser limit; the TU's own answer then covers it.
            if let Ok(trying) = message::trying(&request) {
                let _ = self.send_response(now, id, trying);
            }
        }
        Ok(RequestOutcome::New(id))
    }

    fn handle_ack(
        &mut self,
        now: Instant,
        key: &ServerKey,
        facts: &RequestFacts,
        request: Message,
        source: D,
    ) -> RequestOutcome {
        let Some(id) = self.match_ack(key, facts) else {
            self.events.push_back(Event::AckReceived {
                transaction: None,
                request,
                source,
            });
            return RequestOutcome::Ack(None);
        };
        let step = match self.transactions.get_mut(&id).map(|t| &mut t.machine) {
            Some(Machine::InviteServer(m)) => m.handle_ack(now),
            _ => Step::default(),
        };
        let delivered = step.notify == Some(Notify::Deliver);
        let deliver = Event::AckReceived {
            transaction: Some(id),
            request,
            source,
        };
        self.apply(id, step, Some(deliver));
        if delivered {
            RequestOutcome::Ack(Some(id))
        } else {
            RequestOutcome::Absorbed(id)
        }
    }

    /// RFC 3261 §17.2.3 for ACK: the INVITE's key; for RFC 2543 peers also
    /// the untagged INVITE key when the ACK's To tag is the one this
    /// transaction put in its response.
    fn match_ack(&self, key: &ServerKey, facts: &RequestFacts) -> Option<TransactionId> {
        if let Some(&id) = self.server_keys.get(key) {
            return Some(id);
        }
        let id = *self.server_keys.get(&key.untagged()?)?;
        let txn = self.transactions.get(&id)?;
        (txn.response_to_tag.is_some() && txn.response_to_tag == facts.to_tag).then_some(id)
    }

    /// The live server transaction `request` belongs to, by the RFC 3261
    /// §17.2.3 rules; for a CANCEL, the INVITE transaction it cancels
    /// (§9.2). `None` if there is none or the request is malformed.
    pub fn find_server_transaction(&self, request: &Message) -> Option<TransactionId> {
        let facts = message::request_facts(request).ok()?;
        let key = ServerKey::of(&facts);
        if facts.is_ack() {
            return self.match_ack(&key, &facts);
        }
        let key = if facts.is_cancel() {
            key.as_invite()
        } else {
            key
        };
        self.server_keys.get(&key).copied()
    }

    /// A response arrived. It goes to the client transaction with the same
    /// top Via branch and CSeq method (RFC 3261 §17.1.3), which passes it
    /// to the TU or absorbs it; the INVITE client transaction ACKs a non-2xx
    /// final response itself.
    pub fn handle_response(
        &mut self,
        now: Instant,
        response: Message,
    ) -> Result<ResponseOutcome, Error> {
        let facts = message::response_facts(&response)?;
        let Some(&id) = self.client_keys.get(&ClientKey::of_response(&facts)) else {
            return Ok(ResponseOutcome::Stray);
        };
        let Some(txn) = self.transactions.get_mut(&id) else {
            return Ok(ResponseOutcome::Stray);
        };
        let status = facts.status;
        let step = match &mut txn.machine {
            Machine::InviteClient(m) => {
                let ack = match (&txn.request, m.wants_ack(status)) {
                    (Some(request), true) => {
                        Some(message::ack(request, &response)?.as_bytes().clone())
                    }
                    _ => None,
                };
                m.handle_response(now, status, ack)
            }
            Machine::NonInviteClient(m) => m.handle_response(now, status),
            _ => Step::default(),
        };
        let delivered = step.notify == Some(Notify::Deliver);
        let kind = if status < 200 {
            ResponseKind::Provisional
        } else {
            ResponseKind::Final
        };
        let deliver = Event::ResponseReceived {
            transaction: id,
            response,
            kind,
        };
        self.apply(id, step, Some(deliver));
        Ok(if delivered {
            ResponseOutcome::Delivered(id)
        } else {
            ResponseOutcome::Absorbed(id)
        })
    }

    /// Starts a client transaction: sends `request` to `destination` and
    /// retransmits it on an unreliable transport.
    ///
    /// The TU builds the request complete with its top Via, whose branch
    /// must carry the magic cookie and be unique (RFC 3261 §8.1.1.7). ACK is
    /// refused: see [`Error::AckIsNotATransaction`].
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Message,
        destination: D,
        reliable: bool,
    ) -> Result<TransactionId, Error> {
        let (method, branch) = message::client_facts(&request)?;
        if &*method == "ACK" {
            return Err(Error::AckIsNotATransaction);
        }
        if !branch.starts_with(MAGIC_COOKIE) {
            return Err(Error::BranchWithoutMagicCookie {
                branch: branch.into(),
            });
        }
        let key = ClientKey { branch, method };
        if let Some(&id) = self.client_keys.get(&key) {
            return Err(Error::DuplicateTransaction(id));
        }
        if self.transactions.len() >= self.config.max_transactions {
            return Err(Error::TooManyTransactions {
                limit: self.config.max_transactions,
            });
        }
        let id = self.allocate_id();
        let timers = self.config.timers;
        let bytes = request.as_bytes().clone();
        let (machine, step) = if &*key.method == "INVITE" {
            let (m, step) = InviteClient::new(now, timers, reliable, bytes);
            (Machine::InviteClient(m), step)
        } else {
            let (m, step) = NonInviteClient::new(now, timers, reliable, bytes);
            (Machine::NonInviteClient(m), step)
        };
        self.client_keys.insert(key.clone(), id);
        self.transactions.insert(
            id,
            Box::new(Transaction {
                machine,
                peer: destination,
                request: Some(Box::new(request)),
                key: Key::Client(key),
                response_to_tag: None,
                scheduled: None,
            }),
        );
        self.apply(id, step, None);
        Ok(id)
    }

    /// The TU answers the request of server transaction `id`. The response
    /// goes to the request's source; provisional and non-2xx final responses
    /// are re-sent on retransmissions of the request (and, for INVITE over
    /// UDP, on Timer G).
    ///
    /// For INVITE, 2xx retransmission is the TU's job (RFC 6026 §7.1, RFC
    /// 3261 §13.3.1.4): call this again with the same 2xx while the
    /// transaction is Accepted.
    pub fn send_response(
        &mut self,
        now: Instant,
        id: TransactionId,
        response: Message,
    ) -> Result<(), Error> {
        let txn = self
            .transactions
            .get_mut(&id)
            .ok_or(Error::UnknownTransaction(id))?;
        if response.is_request() {
            return Err(Error::NotAResponse);
        }
        let status = message::status(&response);
        let bytes = response.as_bytes().clone();
        let result = match &mut txn.machine {
            Machine::InviteServer(m) => m.send_response(now, status, bytes),
            Machine::NonInviteServer(m) => m.send_response(now, status, bytes),
            _ => return Err(Error::NotAServerTransaction(id)),
        };
        let step = result.map_err(|refusal| Error::ResponseNotAllowed {
            transaction: id,
            state: refusal.state,
            status: refusal.status,
        })?;
        if txn.machine.kind() == TransactionKind::InviteServer {
            txn.response_to_tag = message::to_tag(&response);
        }
        self.apply(id, step, None);
        Ok(())
    }

    /// Queues `message` for `destination` outside any transaction: the ACK
    /// for a 2xx (RFC 3261 §13.2.2.4), a stateless 503 for
    /// [`Event::Refused`], a 400 for a malformed request.
    pub fn send_stateless(&mut self, message: &Message, destination: D) {
        self.transmits.push_back(Transmit {
            destination,
            bytes: message.as_bytes().clone(),
            transaction: None,
        });
    }

    /// The driver failed to send a [`Transmit`] of transaction `id` (ICMP
    /// error, connection refused or reset). The transaction terminates and
    /// the TU gets [`Event::TransportError`]. Unknown ids are ignored: the
    /// transaction may have ended since.
    pub fn handle_transport_error(&mut self, _now: Instant, id: TransactionId) {
        if let Some(txn) = self.transactions.get_mut(&id) {
            let step = txn.machine.handle_transport_error();
            self.apply(id, step, None);
        }
    }

    /// Fires every timer due at `now`. A call before any deadline is a no-op.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, id))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(txn) = self.transactions.get_mut(&id) else {
                continue;
            };
            if txn.scheduled != Some(at) {
                continue;
            }
            txn.scheduled = None;
            let step = txn.machine.handle_timeout(now);
            self.apply(id, step, None);
        }
        self.compact();
    }

    /// Gives memory back once the tables are mostly empty: a burst of
    /// calls leaves them at its peak capacity otherwise (hash maps never
    /// shrink by themselves), long after its transactions ended.
    fn compact(&mut self) {
        compact_map(&mut self.transactions);
        compact_map(&mut self.server_keys);
        compact_map(&mut self.client_keys);
        if self.deadlines.capacity() > COMPACT_ABOVE
            && self.deadlines.len() * 4 < self.deadlines.capacity()
        {
            self.deadlines.shrink_to(self.deadlines.len() * 2);
        }
    }

    /// Removes transaction `id` at once, whatever its state, and queues
    /// [`Event::Terminated`]. For the TU's own timers, e.g. RFC 3261 §9.1:
    /// an INVITE with no final response 64·T1 after its CANCEL is given up.
    /// Returns whether it existed.
    pub fn terminate(&mut self, id: TransactionId) -> bool {
        self.remove(id)
    }

    /// The next deadline at which to call [`handle_timeout`](Self::handle_timeout).
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(&Reverse((at, id))) = self.deadlines.peek() {
            if self
                .transactions
                .get(&id)
                .is_some_and(|t| t.scheduled == Some(at))
            {
                return Some(at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// The next message to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit<D>> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event<D>> {
        self.events.pop_front()
    }

    /// The state of a live transaction.
    pub fn state(&self, id: TransactionId) -> Option<State> {
        self.transactions.get(&id).map(|t| t.machine.state())
    }

    /// The kind of a live transaction.
    pub fn kind(&self, id: TransactionId) -> Option<TransactionKind> {
        self.transactions.get(&id).map(|t| t.machine.kind())
    }

    /// The timers armed for a live transaction, with their deadlines.
    pub fn timers(&self, id: TransactionId) -> Vec<(Timer, Instant)> {
        let Some(txn) = self.transactions.get(&id) else {
            return Vec::new();
        };
        let table = txn.machine.timers();
        table
            .armed()
            .filter_map(|t| Some((t, table.get(t)?)))
            .collect()
    }

    /// The request that created a live transaction (for the TU to build a
    /// response with `Response::for_request`, or a CANCEL), until its final
    /// response: `None` afterwards, when the transaction keeps only what
    /// its remaining timers need.
    pub fn request(&self, id: TransactionId) -> Option<&Message> {
        self.transactions
            .get(&id)
            .and_then(|t| t.request.as_deref())
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    fn allocate_id(&mut self) -> TransactionId {
        self.next_id += 1;
        TransactionId(self.next_id)
    }

    /// Turns a machine's step into transmits and events, removes the
    /// transaction if it terminated, and keeps the deadline heap in sync.
    fn apply(&mut self, id: TransactionId, step: Step, deliver: Option<Event<D>>) {
        let Some(txn) = self.transactions.get_mut(&id) else {
            return;
        };
        if let Some(bytes) = step.send {
            self.transmits.push_back(Transmit {
                destination: txn.peer.clone(),
                bytes,
                transaction: Some(id),
            });
        }
        let event = match step.notify {
            None => None,
            Some(Notify::Deliver) => deliver,
            Some(Notify::Timeout(timer)) => Some(Event::Timeout {
                transaction: id,
                timer,
            }),
            Some(Notify::TransportError) => Some(Event::TransportError { transaction: id }),
            Some(Notify::AckAbsorbed) => Some(Event::AckForNon2xxAbsorbed { transaction: id }),
        };
        self.events.extend(event);
        match txn.machine.state() {
            State::Terminated => {
                self.remove(id);
                return;
            }
            State::Completed | State::Accepted | State::Confirmed => txn.request = None,
            _ => {}
        }
        let next = txn.machine.next_deadline();
        if next != txn.scheduled {
            txn.scheduled = next;
            if let Some(at) = next {
                self.deadlines.push(Reverse((at, id)));
            }
        }
    }

    fn remove(&mut self, id: TransactionId) -> bool {
        let Some(txn) = self.transactions.remove(&id) else {
            return false;
        };
        // Only drop the key if it still points at this transaction.
        match txn.key {
            Key::Server(key) => {
                if let Entry::Occupied(e) = self.server_keys.entry(key)
                    && *e.get() == id
                {
                    e.remove();
                }
            }
            Key::Client(key) => {
                if let Entry::Occupied(e) = self.client_keys.entry(key)
                    && *e.get() == id
                {
                    e.remove();
                }
            }
        }
        self.events.push_back(Event::Terminated { transaction: id });
        true
    }
}
