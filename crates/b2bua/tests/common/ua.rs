//! A scripted user agent for the tests: a phone or the iPBX, with its own
//! transaction layer; the iPBX can run a digest-checking registrar.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use outpost_b2bua::{Side, Transport};
use outpost_sip::auth::{
    Credentials, DigestClient, DigestServer, DigestServerConfig, Secret, select_challenge,
};
use outpost_sip::{HeaderName, Message, Method, Request, Response, StatusCode, Uri};
use outpost_txn::{Event, TransactionId, TransactionLayer};

/// The iPBX's registrar: digest-checked, remembers bindings.
pub struct Registrar {
    pub server: DigestServer,
    pub passwords: HashMap<String, String>,
    /// user → (contact URI, expires at unix secs) of its latest contact.
    pub bindings: HashMap<String, (String, u64)>,
    /// user → every contact it has, oldest first (RFC 3261 §10.3: each
    /// Contact URI is a binding of its own).
    pub contacts: HashMap<String, Vec<(String, u64)>>,
    pub challenge: bool,
    pub grant: Option<u32>,
    pub fail_with: Option<u16>,
    pub silent: bool,
    pub log: Vec<Message>,
    nonces: u64,
}

impl Registrar {
    pub fn new() -> Self {
        Self {
            server: DigestServer::new(DigestServerConfig::new("ipbx.local"), [9; 32]).unwrap(),
            passwords: HashMap::new(),
            bindings: HashMap::new(),
            contacts: HashMap::new(),
            challenge: true,
            grant: None,
            fail_with: None,
            silent: false,
            log: Vec::new(),
            nonces: 0,
        }
    }

    fn handle(&mut self, req: &Message, unix: u64) -> Option<Message> {
        self.log.push(req.clone());
        if self.silent {
            return None;
        }
        let r = req.clone().into_request().unwrap();
        let tag = Some("reg");
        if let Some(code) = self.fail_with {
            return Some(Response::for_request(&r, StatusCode(code), "", tag).into_message());
        }
        let user = req.to().unwrap().uri().user().unwrap().into_owned();
        if self.challenge {
            let creds = req
                .header(&HeaderName::Authorization)
                .and_then(|v| Credentials::parse(v).ok());
            let ok = creds.is_some_and(|c| {
                c.username == user
                    && self.passwords.get(&user).is_some_and(|pw| {
                        self.server
                            .verify(&c, "REGISTER", Secret::Password(pw), unix)
                            .is_ok()
                    })
            });
            if !ok {
                self.nonces += 1;
                let mut random = [3; 16];
                random[..8].copy_from_slice(&self.nonces.to_le_bytes());
                let ch = self.server.challenge(unix, random, false);
                let mut e = Response::for_request(&r, StatusCode::UNAUTHORIZED, "", tag)
                    .into_message()
                    .edit();
                for c in ch {
                    e.append(&HeaderName::WwwAuthenticate, &c.to_header_value());
                }
                return Some(e.apply().unwrap());
            }
        }
        let contact = req.contacts().unwrap().first().cloned();
        let expires = contact
            .as_ref()
            .and_then(|c| c.expires())
            .or(req.expires().unwrap())
            .unwrap_or(3600);
        let ok = Response::for_request(&r, StatusCode::OK, "", tag).into_message();
        let uri = contact.unwrap().uri().clone();
        let list = self.contacts.entry(user.clone()).or_default();
        list.retain(|(c, until)| *until > unix && !Uri::parse(c).unwrap().equivalent(&uri));
        if expires > 0 {
            let granted = self.grant.unwrap_or(expires).min(expires);
            list.push((uri.as_str().to_owned(), unix + u64::from(granted)));
        }
        // The 200 lists every binding of the AOR (§10.3 step 8).
        let mut e = ok.edit();
        for (c, until) in list.iter() {
            e.append(
                &HeaderName::Contact,
                &format!("<{c}>;expires={}", until - unix),
            );
        }
        match list.last() {
            Some(last) => {
                self.bindings.insert(user, last.clone());
            }
            None => {
                self.contacts.remove(&user);
                self.bindings.remove(&user);
            }
        }
        Some(e.apply().unwrap())
    }

    /// The contacts `user` has now.
    pub fn contacts_of(&self, user: &str) -> Vec<String> {
        self.contacts
            .get(user)
            .map(|l| l.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default()
    }
}

/// A dialog as a UA sees it.
#[derive(Clone, Debug)]
pub struct UaDialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    pub local_uri: String,
    pub remote_uri: String,
    pub cseq: u32,
    pub target: String,
    pub invite_cseq: u32,
}

impl UaDialog {
    /// Takes the remote tag and target from a response or request.
    pub fn learn(&mut self, m: &Message) {
        let tag = if m.is_request() {
            m.from().unwrap().tag().map(str::to_owned)
        } else {
            m.to().unwrap().tag().map(str::to_owned)
        };
        if tag.is_some() {
            self.remote_tag = tag;
        }
        if let Some(c) = m.contacts().ok().and_then(|c| c.first().cloned()) {
            self.target = c.uri().as_str().to_owned();
        }
    }
}

pub struct Ua {
    pub name: String,
    pub side: Side,
    pub transport: Transport,
    pub local: SocketAddr,
    pub observed: SocketAddr,
    pub conn: Option<u32>,
    /// RFC 5626 `+sip.instance` for its Contact, if it sends one.
    pub instance: Option<String>,
    pub txn: TransactionLayer<()>,
    pub deaf: bool,
    pub answer_options: bool,
    pub registrar: Option<Registrar>,
    pub requests: VecDeque<(TransactionId, Message)>,
    pub acks: Vec<Message>,
    pub responses: Vec<(TransactionId, Message)>,
    pub timeouts: Vec<TransactionId>,
    pub received: Vec<Message>,
    stateless: Vec<Bytes>,
    counter: u64,
}

impl Ua {
    pub fn new(
        name: &str,
        side: Side,
        transport: Transport,
        local: SocketAddr,
        observed: SocketAddr,
    ) -> Self {
        Self {
            name: name.to_owned(),
            side,
            transport,
            local,
            observed,
            conn: None,
            instance: None,
            txn: TransactionLayer::new(outpost_txn::Config::default()),
            deaf: false,
            answer_options: false,
            registrar: None,
            requests: VecDeque::new(),
            acks: Vec::new(),
            responses: Vec::new(),
            timeouts: Vec::new(),
            received: Vec::new(),
            stateless: Vec::new(),
            counter: 0,
        }
    }

    pub fn with_registrar(mut self, r: Registrar) -> Self {
        self.registrar = Some(r);
        self
    }

    pub fn registrar(&mut self) -> &mut Registrar {
        self.registrar.as_mut().unwrap()
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}{}", self.name, self.counter)
    }

    pub fn via(&mut self) -> String {
        let branch = self.next("z9hG4bK");
        format!(
            "SIP/2.0/{} {};branch={branch};rport",
            self.transport.via_name(),
            self.local
        )
    }

    pub fn contact(&self) -> String {
        let t = self
            .transport
            .uri_param()
            .map(|t| format!(";transport={t}"))
            .unwrap_or_default();
        let instance = self
            .instance
            .as_ref()
            .map(|i| format!(";+sip.instance=\"<{i}>\""))
            .unwrap_or_default();
        format!("<sip:{}@{}{t}>{instance}", self.name, self.local)
    }

    pub fn dialog(&mut self, local_uri: &str, remote_uri: &str, target: &str) -> UaDialog {
        UaDialog {
            call_id: self.next("cid-"),
            local_tag: self.next("tag-"),
            remote_tag: None,
            local_uri: local_uri.to_owned(),
            remote_uri: remote_uri.to_owned(),
            cseq: 0,
            target: target.to_owned(),
            invite_cseq: 0,
        }
    }

    /// A request in `d` (CSeq incremented except for ACK and CANCEL).
    pub fn request(
        &mut self,
        d: &mut UaDialog,
        method: Method,
        extra: &[(HeaderName, String)],
        body: Option<(&str, &str)>,
    ) -> Message {
        let seq = match method {
            Method::Ack | Method::Cancel => d.invite_cseq,
            _ => {
                d.cseq += 1;
                d.cseq
            }
        };
        if method == Method::Invite {
            d.invite_cseq = seq;
        }
        let uri = Uri::parse(&d.target).unwrap();
        let mut b = Request::builder(method.clone(), &uri)
            .header(HeaderName::Via, self.via())
            .header(HeaderName::MaxForwards, "70")
            .header(
                HeaderName::From,
                format!("{};tag={}", d.local_uri, d.local_tag),
            )
            .header(
                HeaderName::To,
                match &d.remote_tag {
                    Some(t) => format!("{};tag={t}", d.remote_uri),
                    None => d.remote_uri.clone(),
                },
            )
            .header(HeaderName::CallId, d.call_id.clone())
            .header(HeaderName::CSeq, format!("{seq} {method}"));
        if !matches!(method, Method::Ack | Method::Cancel | Method::Bye) {
            b = b.header(HeaderName::Contact, self.contact());
        }
        for (n, v) in extra {
            b = b.header(n.clone(), v.clone());
        }
        if let Some((ct, body)) = body {
            b = b.body(ct, Bytes::copy_from_slice(body.as_bytes()));
        }
        b.build().unwrap().into_message()
    }

    /// A response to `req` with our tag and Contact (for 1xx/2xx).
    pub fn response(
        &mut self,
        req: &Message,
        status: u16,
        tag: &str,
        extra: &[(HeaderName, String)],
        body: Option<(&str, &str)>,
    ) -> Message {
        let r = req.clone().into_request().unwrap();
        let resp = Response::for_request(&r, StatusCode(status), "", Some(tag)).into_message();
        let mut e = resp.edit();
        if status < 300 && status > 100 {
            e.append(&HeaderName::Contact, &self.contact());
        }
        for (n, v) in extra {
            e.append(n, v);
        }
        if let Some((ct, body)) = body {
            e.set_body(Some(ct), Bytes::copy_from_slice(body.as_bytes()));
        }
        e.apply().unwrap()
    }

    /// Answers a 401/407 in `resp` for `req` with `user`/`password`.
    pub fn authorize(
        &mut self,
        resp: &Message,
        req: &Message,
        user: &str,
        password: &str,
    ) -> (HeaderName, String) {
        let proxy = resp.status() == Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        let (ch, cr) = if proxy {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let challenge = select_challenge(resp.header_all(&ch)).unwrap();
        let mut client = DigestClient::new(user, password).unwrap();
        let uri = req.request_uri().unwrap().as_str().to_owned();
        let creds = client
            .respond(&challenge, req.method().unwrap().as_str(), &uri, [5; 16])
            .unwrap();
        (cr, creds.to_header_value())
    }

    pub fn send(&mut self, now: Instant, msg: Message) -> TransactionId {
        self.txn
            .send_request(now, msg, (), self.transport.is_reliable())
            .unwrap()
    }

    pub fn send_stateless(&mut self, msg: Message) {
        self.stateless.push(msg.as_bytes().clone());
    }

    pub fn respond(&mut self, now: Instant, txn: TransactionId, msg: Message) {
        self.txn.send_response(now, txn, msg).unwrap();
    }

    pub fn drain_transmits(&mut self) -> Vec<Bytes> {
        let mut out = std::mem::take(&mut self.stateless);
        while let Some(t) = self.txn.poll_transmit() {
            out.push(t.bytes);
        }
        out
    }

    pub fn receive(&mut self, now: Instant, msg: Message) {
        self.received.push(msg.clone());
        let reliable = self.transport.is_reliable();
        if msg.is_request() {
            let _ = self.txn.handle_request(now, msg, (), reliable);
        } else {
            let _ = self.txn.handle_response(now, msg);
        }
    }

    pub fn process_events(&mut self, now: Instant, unix: u64) -> bool {
        let mut any = false;
        while let Some(ev) = self.txn.poll_event() {
            any = true;
            match ev {
                Event::RequestReceived {
                    transaction,
                    request,
                    ..
                } => {
                    let method = request.method().cloned();
                    if method == Some(Method::Register) {
                        if let Some(reg) = self.registrar.as_mut() {
                            if let Some(resp) = reg.handle(&request, unix) {
                                let _ = self.txn.send_response(now, transaction, resp);
                            }
                            continue;
                        }
                    }
                    let out_of_dialog = request.to().unwrap().tag().is_none();
                    if method == Some(Method::Options) && self.answer_options && out_of_dialog {
                        let resp = self.response(&request, 200, "opt", &[], None);
                        let _ = self.txn.send_response(now, transaction, resp);
                        continue;
                    }
                    self.requests.push_back((transaction, request));
                }
                Event::AckReceived { request, .. } => self.acks.push(request),
                Event::ResponseReceived {
                    transaction,
                    response,
                    ..
                } => self.responses.push((transaction, response)),
                Event::Timeout { transaction, .. } => self.timeouts.push(transaction),
                _ => {}
            }
        }
        any
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.txn.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.txn.handle_timeout(now);
    }

    /// The next request received with this method.
    pub fn take_request(&mut self, method: Method) -> Option<(TransactionId, Message)> {
        let i = self
            .requests
            .iter()
            .position(|(_, m)| m.method() == Some(&method))?;
        self.requests.remove(i)
    }

    /// The last response received for client transaction `txn`.
    pub fn last_response(&self, txn: TransactionId) -> Option<&Message> {
        self.responses
            .iter()
            .rev()
            .find(|(t, _)| *t == txn)
            .map(|(_, m)| m)
    }

    /// Statuses received for `txn`, in order.
    pub fn statuses(&self, txn: TransactionId) -> Vec<u16> {
        self.responses
            .iter()
            .filter(|(t, _)| *t == txn)
            .filter_map(|(_, m)| m.status().map(|s| s.0))
            .collect()
    }

    pub fn seen_call_ids(&self) -> Vec<String> {
        self.received
            .iter()
            .filter_map(|m| m.call_id().ok().map(str::to_owned))
            .collect()
    }
}

/// The dialog a UAS has after receiving `req` and answering with `local_tag`.
pub fn dialog_from_request(req: &Message, local_tag: &str) -> UaDialog {
    let from = req.from().unwrap();
    let to = req.to().unwrap();
    let strip = |na: &outpost_sip::NameAddr| format!("<{}>", na.uri().as_str());
    UaDialog {
        call_id: req.call_id().unwrap().to_owned(),
        local_tag: local_tag.to_owned(),
        remote_tag: from.tag().map(str::to_owned),
        local_uri: strip(to),
        remote_uri: strip(from),
        cseq: 100,
        target: req
            .contacts()
            .unwrap()
            .first()
            .unwrap()
            .uri()
            .as_str()
            .to_owned(),
        invite_cseq: 0,
    }
}

/// The CANCEL for an INVITE we sent (RFC 3261 §9.1).
pub fn cancel_of(invite: &Message) -> Message {
    let mut b = Request::builder(Method::Cancel, invite.request_uri().unwrap())
        .header(HeaderName::Via, invite.top_via().unwrap().as_str())
        .header(HeaderName::MaxForwards, "70")
        .header(HeaderName::From, invite.from().unwrap().as_str())
        .header(HeaderName::To, invite.to().unwrap().as_str())
        .header(HeaderName::CallId, invite.call_id().unwrap())
        .header(
            HeaderName::CSeq,
            format!("{} CANCEL", invite.cseq().unwrap().seq),
        );
    for r in invite.header_all(&HeaderName::Route) {
        b = b.header(HeaderName::Route, r);
    }
    b.build().unwrap().into_message()
}
