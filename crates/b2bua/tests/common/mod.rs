//! An in-memory network for the B2BUA (the quinn `Pair` idea): Outpost
//! (the real `TransactionLayer` + `B2bua`), phones and a fake iPBX, each
//! peer with a transaction layer of its own, a virtual clock that jumps
//! from deadline to deadline, and a record of everything Outpost sent.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod calls;
pub mod flows;
pub mod ua;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use outpost_b2bua::{
    B2bua, B2buaEvent, Config, Destination, DeviceCredentials, Directory, IcpTarget, Side,
    SideIdentity, Transport,
};
use outpost_sip::{Limits, Message, parse};
use outpost_txn::{Event, TransactionLayer};

pub use ua::{Registrar, Ua};

/// The test driver's destination: what the binary's `Flow` is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    pub side: Side,
    pub transport: Transport,
    pub peer: SocketAddr,
    pub conn: Option<u32>,
}

impl Destination for Flow {
    fn side(&self) -> Side {
        self.side
    }
    fn transport(&self) -> Transport {
        self.transport
    }
    fn remote_addr(&self) -> SocketAddr {
        self.peer
    }
}

pub const PUBLIC_IP: &str = "203.0.113.1";
pub const PUBLIC_DOMAIN: &str = "gw.example.com";
pub const PRIVATE_IP: &str = "10.0.0.1";
pub const IPBX_IP: &str = "10.0.0.50";

pub fn ipbx_addr() -> SocketAddr {
    format!("{IPBX_IP}:5060").parse().unwrap()
}

pub fn ipbx_flow() -> Flow {
    Flow {
        side: Side::Private,
        transport: Transport::Udp,
        peer: ipbx_addr(),
        conn: None,
    }
}

/// The devices, and the ICP's targets as the driver's routes would give
/// them: a target the driver could not reach (`down`) is replaced by its
/// `backup`, if any.
#[derive(Default)]
pub struct Dir {
    pub devices: HashMap<String, DeviceCredentials<Flow>>,
    pub backup: HashMap<SocketAddr, Flow>,
    pub down: std::collections::HashSet<SocketAddr>,
}

impl Dir {
    pub fn add(&mut self, set: &str, set_pw: &str, icp: &str, icp_pw: &str) {
        self.devices.insert(
            set.to_owned(),
            DeviceCredentials {
                enabled: true,
                setside_username: set.to_owned(),
                setside_password: set_pw.to_owned(),
                icpside_username: icp.to_owned(),
                icpside_password: icp_pw.to_owned(),
                icp: Some(IcpTarget {
                    name: "ipbx".to_owned(),
                    host: IPBX_IP.to_owned(),
                    port: None,
                    destination: ipbx_flow(),
                }),
            },
        );
    }
}

impl Directory<Flow> for Dir {
    fn device(&self, user: &str) -> Option<DeviceCredentials<Flow>> {
        let mut device = self.devices.get(user).cloned()?;
        if let Some(icp) = device.icp.as_mut() {
            if self.down.contains(&icp.destination.peer) {
                if let Some(backup) = self.backup.get(&icp.destination.peer) {
                    icp.destination = backup.clone();
                }
            }
        }
        Some(device)
    }
}

pub fn config() -> Config {
    let mut c = Config::new(
        SideIdentity::new(PUBLIC_IP, Transport::Udp, 5060).with_listener(Transport::Tls, 5063),
        SideIdentity::new(PRIVATE_IP, Transport::Udp, 5060),
    );
    c.public_domain = PUBLIC_DOMAIN.to_owned();
    c.realm = PUBLIC_DOMAIN.to_owned();
    c
}

/// A message Outpost sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub to: Flow,
    pub message: Message,
    /// When Outpost sent it (virtual clock).
    pub at: Instant,
}

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub txn: TransactionLayer<Flow>,
    pub b2bua: B2bua<Flow>,
    pub dir: Dir,
    pub uas: Vec<Ua>,
    pub events: Vec<B2buaEvent>,
    pub sent: Vec<Sent>,
    /// Requests Outpost's core (not the B2BUA) got.
    pub core_requests: Vec<Message>,
    /// Peers the driver cannot connect to: a send there fails as the
    /// binary's does (the target is marked down, the transaction gets a
    /// transport error).
    pub unreachable: Vec<SocketAddr>,
}

pub const IPBX: usize = 0;

impl Sim {
    // The one clock read: an arbitrary origin for virtual time.
    #[allow(clippy::disallowed_methods)]
    pub fn new(config: Config) -> Self {
        let t0 = Instant::now();
        let mut dir = Dir::default();
        dir.add("alice", "alice-pw", "4001", "icp-secret-1");
        dir.add("bob", "bob-pw", "4002", "icp-secret-2");
        dir.add("carol", "carol-pw", "carol", "carol-pw");
        let mut registrar = Registrar::new();
        registrar
            .passwords
            .insert("4001".into(), "icp-secret-1".into());
        registrar
            .passwords
            .insert("4002".into(), "icp-secret-2".into());
        registrar
            .passwords
            .insert("carol".into(), "carol-pw".into());
        let ipbx = Ua::new(
            "ipbx",
            Side::Private,
            Transport::Udp,
            ipbx_addr(),
            ipbx_addr(),
        )
        .with_registrar(registrar);
        Self {
            t0,
            now: t0,
            txn: TransactionLayer::new(outpost_txn::Config::default()),
            b2bua: B2bua::new(config, 42, [7; 32]).unwrap(),
            dir,
            uas: vec![ipbx],
            events: Vec::new(),
            sent: Vec::new(),
            core_requests: Vec::new(),
            unreachable: Vec::new(),
        }
    }

    pub fn unix(&self) -> u64 {
        1_700_000_000 + self.now.duration_since(self.t0).as_secs()
    }

    /// Adds a phone: `local` is what it writes in Via/Contact (its home
    /// network), `observed` where Outpost sees it (its NAT).
    pub fn add_phone(
        &mut self,
        user: &str,
        transport: Transport,
        local: &str,
        observed: &str,
    ) -> usize {
        let mut ua = Ua::new(
            user,
            Side::Public,
            transport,
            local.parse().unwrap(),
            observed.parse().unwrap(),
        );
        if transport.is_reliable() {
            ua.conn = Some(self.uas.len() as u32 + 100);
        }
        ua.answer_options = true;
        self.uas.push(ua);
        self.uas.len() - 1
    }

    pub fn ipbx(&mut self) -> &mut Ua {
        &mut self.uas[IPBX]
    }

    fn flow_of(ua: &Ua) -> Flow {
        Flow {
            side: ua.side,
            transport: ua.transport,
            peer: ua.observed,
            conn: ua.conn,
        }
    }

    /// Moves messages and events until nothing is left to do.
    pub fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(t) = self.txn.poll_transmit() {
                progressed = true;
                if self.unreachable.contains(&t.destination.peer) {
                    self.dir.down.insert(t.destination.peer);
                    if let Some(id) = t.transaction {
                        self.txn.handle_transport_error(self.now, id);
                    }
                    continue;
                }
                self.deliver_to_peer(&t.destination, t.bytes);
            }
            while let Some(ev) = self.txn.poll_event() {
                progressed = true;
                let unix = self.unix();
                if let Some(ev) =
                    self.b2bua
                        .handle_event(self.now, unix, &mut self.txn, ev, &self.dir)
                {
                    self.core_event(ev);
                }
            }
            while let Some(e) = self.b2bua.poll_event() {
                progressed = true;
                self.events.push(e);
            }
            let (now, unix) = (self.now, self.unix());
            for i in 0..self.uas.len() {
                let flow = Self::flow_of(&self.uas[i]);
                let out: Vec<Bytes> = self.uas[i].drain_transmits();
                for bytes in out {
                    progressed = true;
                    if self.uas[i].deaf {
                        continue;
                    }
                    let msg = parse(bytes, &Limits::default()).expect("peers send valid SIP");
                    let reliable = flow.transport.is_reliable();
                    if msg.is_request() {
                        let _ = self.txn.handle_request(now, msg, flow.clone(), reliable);
                    } else {
                        let _ = self.txn.handle_response(now, msg);
                    }
                }
                if self.uas[i].process_events(now, unix) {
                    progressed = true;
                }
            }
            if !progressed {
                return;
            }
        }
        panic!("the network did not settle");
    }

    fn core_event(&mut self, ev: Event<Flow>) {
        if let Event::RequestReceived {
            transaction,
            request,
            ..
        } = ev
        {
            // What the core's own UAS would do: answer 200.
            let req = request.clone().into_request().unwrap();
            let resp = outpost_sip::Response::for_request(
                &req,
                outpost_sip::StatusCode::OK,
                "",
                Some("core"),
            );
            let _ = self
                .txn
                .send_response(self.now, transaction, resp.into_message());
            self.core_requests.push(request);
        }
    }

    fn deliver_to_peer(&mut self, to: &Flow, bytes: Bytes) {
        let msg = parse(bytes, &Limits::default()).expect("Outpost sends valid SIP");
        self.sent.push(Sent {
            to: to.clone(),
            message: msg.clone(),
            at: self.now,
        });
        let now = self.now;
        let Some(ua) = self
            .uas
            .iter_mut()
            .find(|u| u.observed == to.peer && u.side == to.side)
        else {
            return;
        };
        if ua.deaf || (ua.conn.is_some() && ua.conn != to.conn) {
            return;
        }
        ua.receive(now, msg);
    }

    /// Jumps the clock by `d`, firing every timer on the way.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        loop {
            self.pump();
            let mut next = [self.txn.poll_timeout(), self.b2bua.poll_timeout()]
                .into_iter()
                .flatten()
                .chain(self.uas.iter_mut().filter_map(|u| u.poll_timeout()))
                .min();
            if next.is_some_and(|n| n < self.now) {
                next = Some(self.now);
            }
            match next {
                Some(at) if at <= target => {
                    self.now = at;
                    let unix = self.unix();
                    self.txn.handle_timeout(at);
                    self.b2bua
                        .handle_timeout(at, unix, &mut self.txn, &self.dir);
                    for u in &mut self.uas {
                        u.handle_timeout(at);
                    }
                }
                _ => break,
            }
        }
        self.now = target;
        self.pump();
    }

    /// A request from UA `i` (a new client transaction there).
    pub fn send(&mut self, i: usize, msg: Message) -> outpost_txn::TransactionId {
        let now = self.now;
        let id = self.uas[i].send(now, msg);
        self.pump();
        id
    }

    pub fn send_stateless(&mut self, i: usize, msg: Message) {
        self.uas[i].send_stateless(msg);
        self.pump();
    }

    pub fn respond(&mut self, i: usize, txn: outpost_txn::TransactionId, msg: Message) {
        let now = self.now;
        self.uas[i].respond(now, txn, msg);
        self.pump();
    }

    /// Messages Outpost sent on one side (header sections as text).
    pub fn sent_on(&self, side: Side) -> Vec<&Message> {
        self.sent
            .iter()
            .filter(|s| s.to.side == side)
            .map(|s| &s.message)
            .collect()
    }

    /// SIG-5: nothing of the private side on the public side and nothing of
    /// the phones' networks on the private side (start lines and headers;
    /// bodies are the media issue's).
    pub fn assert_topology_hidden(&self) {
        let private_ids: Vec<String> = self
            .sent_on(Side::Private)
            .iter()
            .filter_map(|m| m.call_id().ok().map(str::to_owned))
            .chain(self.uas[IPBX].seen_call_ids())
            .collect();
        let public_ids: Vec<String> = self
            .sent_on(Side::Public)
            .iter()
            .filter_map(|m| m.call_id().ok().map(str::to_owned))
            .chain(self.uas.iter().skip(1).flat_map(Ua::seen_call_ids))
            .collect();
        for m in self.sent_on(Side::Public) {
            let head = header_section(m);
            for bad in [PRIVATE_IP, IPBX_IP, "10.0.0."] {
                assert!(
                    !head.contains(bad),
                    "private address {bad} on the public side:\n{head}"
                );
            }
            for id in &private_ids {
                if !public_ids.contains(id) {
                    assert!(
                        !head.contains(id.as_str()),
                        "private Call-ID {id} on the public side:\n{head}"
                    );
                }
            }
        }
        for m in self.sent_on(Side::Private) {
            let head = header_section(m);
            for ua in self.uas.iter().skip(1) {
                for bad in [ua.local.ip().to_string(), ua.observed.ip().to_string()] {
                    assert!(
                        !head.contains(&bad),
                        "phone address {bad} on the private side:\n{head}"
                    );
                }
            }
            for id in &public_ids {
                if !private_ids.contains(id) {
                    assert!(
                        !head.contains(id.as_str()),
                        "public Call-ID {id} on the private side:\n{head}"
                    );
                }
            }
        }
    }

    pub fn take_events(&mut self) -> Vec<B2buaEvent> {
        std::mem::take(&mut self.events)
    }
}

/// Start line and headers of a message.
pub fn header_section(m: &Message) -> String {
    let text = String::from_utf8_lossy(m.as_bytes()).into_owned();
    match text.find("\r\n\r\n") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A small SDP offer (no private addresses: bodies are not checked yet).
pub const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

pub type Queue<T> = VecDeque<T>;
