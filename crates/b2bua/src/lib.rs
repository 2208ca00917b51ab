//! Outpost's back-to-back user agent (SPEC SIG-5 to SIG-8, PRO-2), sans-IO,
//! on top of `outpost-txn`.
//!
//! # What it does
//!
//! - **Two legs for everything** (SIG-5). Every registration and every call
//!   or subscription has a public leg (toward the phone) and a private leg
//!   (toward the iPBX), each with its own Call-ID, tags, CSeq, Via (a fresh
//!   `z9hG4bK` branch per client transaction, Outpost's advertised address
//!   on that side), Contact and route set, mapped to each other.
//! - **Registration with credential translation** (SIG-6). A phone's
//!   REGISTER is challenged (401, digest from `outpost_sip::auth`, realm
//!   from [`Config::realm`]), checked against the device's set-side
//!   password from the [`Directory`] (unknown user, wrong password or
//!   disabled device: 403 and [`B2buaEvent::AuthFailed`]), then registered
//!   toward the device's ICP with the ICP-side username and password
//!   (answering 401/407), with `Contact: <sip:TOKEN@private-address>` where
//!   TOKEN is an unguessable per-binding token, stable across refreshes.
//!   The phone gets 200 with its own Contact and `expires` =
//!   min(asked, [`Config::phone_expiry`], what the iPBX granted). The
//!   upstream registration is refreshed on its own timer; a phone that
//!   stops refreshing is unregistered upstream when its binding expires
//!   (plus [`Config::expiry_grace`]).
//! - **Calls both ways** (SIG-7): INVITE with or without SDP, provisional
//!   responses and early dialogs, 100rel/PRACK (RAck mapped per leg),
//!   UPDATE, re-INVITE, CANCEL (including the CANCEL/200 race: the late
//!   200 is ACKed and the leg hung up), BYE from either side, ACK for 2xx
//!   generated per leg, REFER/NOTIFY (Refer-To and Replaces mapped),
//!   SUBSCRIBE/NOTIFY (NOTIFY may come before the 2xx), MESSAGE, INFO,
//!   OPTIONS in and out of dialog. Out-of-dialog requests from a phone are
//!   challenged with 407 (unless [`Config::trust_registered_connection`]
//!   and they come on the TCP/TLS connection of the phone's authenticated
//!   registration); challenges from the iPBX are answered with the
//!   ICP-side credentials (same Call-ID and tags, CSeq + 1, new branch).
//!   From/To/P-Asserted-Identity user parts are translated set-side ↔
//!   ICP-side. The iPBX reaches a phone through its binding token, over
//!   the flow the phone registered on.
//! - **Topology hiding** (SIG-5, on always): routing and dialog headers
//!   (Via, Route, Record-Route, Contact, From, To, Call-ID, CSeq) are
//!   always the leg's own; reason phrases are the standard ones; only the
//!   headers of [`Config::pass_through_headers`] cross, **every other
//!   header is dropped**; address headers that cross (P-Asserted-Identity,
//!   Referred-By, Refer-To, Diversion...) get the destination side's
//!   domain and translated users; Replaces is mapped to the other leg's
//!   dialog; a crossing header that would still leak the other side's
//!   addresses or Call-ID is dropped; challenges (401/407) never cross. A
//!   phone's P-Asserted-Identity toward the iPBX is replaced by its
//!   authenticated identity (RFC 3325: phones are not trusted). Bodies are
//!   not inspected here (the media layer's [`BodyRewriter`] will rewrite
//!   SDP).
//! - **NAT** (SIG-8, sans-IO part): the observed source of each phone is
//!   kept per binding and per dialog (requests go back over it), `natted`
//!   when the Via sent-by differs from it, RFC 3581 `received`/`rport` in
//!   responses, OPTIONS heartbeats to phones on UDP (no answer:
//!   `connected = false` in [`DeviceStatus`]).
//! - **Bounded memory**: terminated dialogs and bindings are removed, every
//!   waiting state has a timer, [`Config::max_dialogs`] and
//!   [`Config::max_bindings`] give 503 beyond them, and a call older than
//!   [`Config::max_call_duration`] is hung up.
//!
//! # What it does not do
//!
//! - No clock, no sockets, no DNS: time is a parameter, randomness comes
//!   from a ChaCha stream seeded by the caller, messages go out through the
//!   [`TransactionLayer`] the core owns and passes in.
//! - No media: bodies pass through a [`BodyRewriter`] (default: unchanged)
//!   that the media layer will implement for SDP.
//! - No brute-force counting: it reports [`B2buaEvent::AuthFailed`].
//! - Requests addressed to Outpost itself (no user part, no To tag, not
//!   REGISTER) are left to the core's own UAS: see [`B2bua::wants`].
//!
//! # Routing transaction events (for the core)
//!
//! Simplest: hand every [`outpost_txn::Event`] to [`B2bua::handle_event`],
//! which returns the events that are not the B2BUA's (requests it does not
//! [`want`](B2bua::wants), [`Event::Refused`](outpost_txn::Event::Refused)).
//! Equivalently, per event:
//!
//! | transaction event | call |
//! | --- | --- |
//! | `RequestReceived` with `wants(&request)` | [`B2bua::handle_request`] |
//! | `AckReceived` | [`B2bua::handle_ack`] |
//! | `ResponseReceived` | [`B2bua::handle_response`] |
//! | `Timeout` | [`B2bua::handle_failure`] with [`Failure::Timeout`] |
//! | `TransportError` | [`B2bua::handle_failure`] with [`Failure::TransportError`] |
//! | `Terminated` | [`B2bua::handle_terminated`] |
//!
//! Then call [`B2bua::handle_timeout`] when [`B2bua::poll_timeout`] is
//! due, drain [`B2bua::poll_event`], and drain the transaction layer.
//! [`B2bua::handle_flow_closed`] marks phones whose connection closed as
//! disconnected; [`B2bua::handle_device_update`] applies a store change.
//!
//! # Design choices
//!
//! - The B2BUA is the transaction user of one [`TransactionLayer`]; every
//!   message it sends is a client transaction, a response on a server
//!   transaction, or (ACK for 2xx, 2xx retransmissions) stateless.
//! - Flows are the driver's type `D` implementing [`Destination`]: side,
//!   transport and observed address are properties of the flow.
//! - Several bindings per device (set-side username), one per client
//!   (RFC 5626 `+sip.instance`, else the Contact URI): a REGISTER
//!   refreshes or removes only the binding it names (RFC 3261 §10.3), a
//!   new client gets its own token and its own registration toward the
//!   iPBX, which forks calls to them; at most
//!   [`Config::max_bindings_per_device`], beyond which the binding that
//!   expires first makes room. Status is reported per binding and
//!   aggregated per device ([`DeviceStatus`]).
//! - Forking toward the iPBX: the first early dialog is kept; a 2xx from
//!   another fork is ACKed and hung up.
//! - 2xx retransmission toward the side that sent an INVITE is Outpost's
//!   (RFC 3261 §13.3.1.4, on unreliable flows); reliable provisional
//!   responses are retransmitted end to end (the far UAS retransmits, each
//!   copy is relayed).
//! - Trust: out-of-dialog requests from phones are authenticated; requests
//!   inside a dialog are bound to it by Call-ID and both tags (random
//!   values of at least 80 bits on our side) and are not re-challenged, as
//!   proxies do; ACK and CANCEL cannot be challenged (RFC 3261 §22.1). The
//!   private side is the iPBX's LAN and is trusted: a request naming a
//!   binding token reaches that phone. A REGISTER's To is not checked: the
//!   binding always belongs to the authenticated device.
//! - CANCEL: the canceller gets 200 and 487 at once; the other leg is
//!   cancelled as soon as it has sent a provisional response (RFC 3261
//!   §9.1), and given up 64·T1 later if it never answers.

#![forbid(unsafe_code)]

mod auth;
mod call;
mod config;
mod dispatch;
mod error;
mod events;
mod flow;
mod headers;
mod policy;
mod registration;
mod rng;
mod sipmsg;
mod timers;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use outpost_sip::auth::{DigestServer, DigestServerConfig};
use outpost_sip::{Message, Method};
use outpost_txn::{TransactionId, TransactionLayer};

pub use config::{Config, DEFAULT_PASS_THROUGH, MAX_BINDINGS_PER_DEVICE, SideIdentity};
pub use error::{ConfigError, FailedSide};
pub use events::{
    AuthFailure, B2buaEvent, BindingStatus, CallOutcome, CallRef, DeviceStatus, Direction, Failure,
    Stats,
};
pub use flow::{Destination, DeviceCredentials, Directory, IcpTarget, NoDevices, Side, Transport};
pub use policy::{
    BodyContext, BodyRewriter, CallPolicy, PassThroughBodies, PhoneTarget, RemoteWorkerPolicy,
    Route, RouteRequest,
};

use call::Calls;
use headers::PassList;
use registration::Registry;
use rng::Rng;
use timers::Timers;

/// Maps smaller than this are left as they are.
const COMPACT_ABOVE: usize = 1024;

/// Shrinks `map` to twice its length when it is less than a quarter full:
/// hash maps never shrink by themselves, and a burst of calls would leave
/// them at its peak capacity (amortised: the next shrink needs as many
/// removals again).
pub(crate) fn compact_map<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > COMPACT_ABOVE && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// A request the transaction layer delivered
/// ([`outpost_txn::Event::RequestReceived`]).
#[derive(Debug, Clone)]
pub struct IncomingRequest<D> {
    /// Its server transaction.
    pub transaction: TransactionId,
    /// The request.
    pub request: Message,
    /// The flow it came on.
    pub source: D,
    /// For a CANCEL: the INVITE server transaction it cancels.
    pub cancels: Option<TransactionId>,
}

/// What a client transaction of ours is for.
#[derive(Debug)]
pub(crate) enum Purpose {
    /// A REGISTER toward the iPBX for a binding.
    Register(registration::BindingId),
    /// An OPTIONS heartbeat to a phone.
    Heartbeat(registration::BindingId),
    /// A request relayed for server transaction `server` (`None`: one of
    /// our own, e.g. the BYE after a CANCEL/200 race), in `call`.
    Relay {
        server: Option<TransactionId>,
        call: Option<call::CallKey>,
        /// The device whose ICP-side credentials answer challenges.
        device: Option<String>,
        auth_tries: u8,
    },
}

#[derive(Debug)]
pub(crate) struct Client<D> {
    /// The request as sent (for CANCEL and re-sending after a challenge).
    pub(crate) sent: Message,
    pub(crate) destination: D,
    pub(crate) purpose: Purpose,
}

/// A server transaction waiting for the B2BUA's final answer.
#[derive(Debug, Clone)]
pub(crate) struct Server<D> {
    pub(crate) request: Message,
    pub(crate) source: D,
    pub(crate) call: Option<call::CallKey>,
    /// The client transaction it was relayed to.
    pub(crate) client: Option<TransactionId>,
    /// The To tag our responses carry.
    pub(crate) to_tag: String,
    /// Our Contact for responses that need one.
    pub(crate) contact: Option<String>,
}

/// The per-call inputs every handler needs.
pub(crate) struct Io<'a, D> {
    pub(crate) now: Instant,
    pub(crate) unix: u64,
    pub(crate) txn: &'a mut TransactionLayer<D>,
}

/// The B2BUA. See the crate documentation.
pub struct B2bua<D> {
    pub(crate) config: Config,
    pub(crate) pass: PassList,
    pub(crate) rng: Rng,
    pub(crate) digest: DigestServer,
    pub(crate) policy: Box<dyn CallPolicy<D>>,
    pub(crate) bodies: Box<dyn BodyRewriter>,
    pub(crate) timers: Timers,
    pub(crate) regs: Registry<D>,
    pub(crate) calls: Calls<D>,
    pub(crate) clients: HashMap<TransactionId, Client<D>>,
    pub(crate) servers: HashMap<TransactionId, Server<D>>,
    pub(crate) events: VecDeque<B2buaEvent>,
    pub(crate) stats: Stats,
    /// The last status emitted per device, to emit changes only.
    pub(crate) statuses: HashMap<String, DeviceStatus>,
}

impl<D> std::fmt::Debug for B2bua<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("B2bua")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<D: Destination + Send + 'static> B2bua<D> {
    /// A B2BUA with the remote-worker policy and bodies passed unchanged.
    ///
    /// `seed` and `digest_secret` key the random stream (tags, Call-IDs,
    /// branches, tokens, nonces); `digest_secret` also signs the digest
    /// nonces. Give both from the OS RNG in production; fixed values make
    /// tests deterministic.
    pub fn new(config: Config, seed: u64, digest_secret: [u8; 32]) -> Result<Self, ConfigError> {
        Self::with_policy(
            config,
            seed,
            digest_secret,
            Box::new(RemoteWorkerPolicy),
            Box::new(PassThroughBodies),
        )
    }

    /// A B2BUA with a given routing policy and body rewriter.
    pub fn with_policy(
        config: Config,
        seed: u64,
        digest_secret: [u8; 32],
        policy: Box<dyn CallPolicy<D>>,
        bodies: Box<dyn BodyRewriter>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut digest_config = DigestServerConfig::new(config.realm.clone());
        digest_config.algorithms = config.digest_algorithms.clone();
        let digest = DigestServer::new(digest_config, digest_secret)?;
        Ok(Self {
            pass: PassList::new(&config.pass_through_headers),
            rng: Rng::new(seed, &digest_secret),
            digest,
            policy,
            bodies,
            timers: Timers::default(),
            regs: Registry::default(),
            calls: Calls::default(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            statuses: HashMap::new(),
            config,
        })
    }
}

impl<D> B2bua<D> {
    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the configuration of a running B2BUA (settings changed
    /// through the management API). The B2BUA reads its expiries,
    /// heartbeat interval, limits, trust of registered connections and
    /// pass-through headers when it uses them, so the next REGISTER, call
    /// or heartbeat follows the new values; bindings, calls and timers
    /// already armed keep theirs.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an invalid `config`, or one that
    /// changes what the B2BUA is built with: the sides' identities, the
    /// public domain, the realm or the digest algorithms (they are in
    /// every binding and nonce; build a new B2BUA for them). Nothing
    /// changes then.
    pub fn update_config(&mut self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        let fixed = [
            ("public", config.public == self.config.public),
            ("private", config.private == self.config.private),
            (
                "public_domain",
                config.public_domain == self.config.public_domain,
            ),
            ("realm", config.realm == self.config.realm),
            (
                "digest_algorithms",
                config.digest_algorithms == self.config.digest_algorithms,
            ),
        ];
        if let Some((field, _)) = fixed.into_iter().find(|(_, same)| !same) {
            return Err(ConfigError::Invalid {
                field,
                reason: "fixed when the B2BUA is built; build a new one to change it",
            });
        }
        self.pass = PassList::new(&config.pass_through_headers);
        self.config = config;
        Ok(())
    }

    /// Whether a request belongs to the B2BUA rather than to the core's own
    /// UAS: REGISTER, anything in a dialog (To tag), and anything addressed
    /// to a user (Request-URI with a user part, which includes the CANCEL
    /// of such an INVITE). Requests to Outpost itself (`OPTIONS
    /// sip:gateway`) stay with the core. ACKs go to
    /// [`handle_ack`](Self::handle_ack) anyway.
    #[must_use]
    pub fn wants(&self, request: &Message) -> bool {
        let Some(method) = request.method() else {
            return false;
        };
        *method == Method::Register
            || *method == Method::Ack
            || request.to().is_ok_and(|t| t.tag().is_some())
            || request.request_uri().is_some_and(|u| u.user().is_some())
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// The next event for the core.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<B2buaEvent> {
        self.events.pop_front()
    }

    /// Counters and gauges.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.registrations = self.regs.registered_count();
        s.bindings = self.regs.len();
        s.active_calls = self.calls.invite_count();
        s.active_dialogs = self.calls.len();
        s.tracked_transactions = self.clients.len() + self.servers.len();
        s.timers = self.timers.len();
        s
    }

    /// The current status of every device the B2BUA knows about
    /// (registered, or in a call).
    pub fn device_statuses(&self) -> impl Iterator<Item = &DeviceStatus> {
        self.statuses.values()
    }
}
