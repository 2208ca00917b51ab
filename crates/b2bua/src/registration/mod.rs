//! Registrations (SIG-6): the phone side here, the iPBX side in
//! [`upstream`], OPTIONS heartbeats in [`heartbeat`], the indexes in
//! [`registry`], status reports in [`status`].
//!
//! A device (set-side username) has one binding per client: a desk phone
//! and a softphone sharing an account each get theirs, told apart by
//! [`ContactKey`] (RFC 5626 `+sip.instance`, else the Contact URI), each
//! with its own token and its own registration toward the iPBX (own
//! Call-ID and Contact), so the iPBX holds one contact per client and forks
//! calls to them as a registrar would (RFC 3261 §10.3 step 7: a REGISTER
//! adds, refreshes or removes the bindings it names, no others). At most
//! [`crate::Config::max_bindings_per_device`] per device.
//!
//! A binding's upstream registration moves between "not registered" and
//! "registered until T" through one operation at a time (REGISTER or
//! un-REGISTER); what the binding *wants* (registered or not) is set by the
//! phone, by expiry and by the store, and [`B2bua::drive`] starts whatever
//! operation brings the upstream state to the wanted one. Phone REGISTERs
//! that need the iPBX wait in `pending` and are answered when the operation
//! ends, so nothing is left half-registered.

mod heartbeat;
mod registry;
mod status;
mod upstream;

use std::time::{Duration, Instant};

use outpost_sip::auth::DigestClient;
use outpost_sip::{HeaderName, Message, NameAddr, StatusCode};
use outpost_txn::TransactionId;

use crate::auth::Challenge;
use crate::flow::{Destination, DeviceCredentials, Directory, IcpTarget, Side, Transport};
use crate::headers::Rewriter;
use crate::timers::Handle;
use crate::{B2bua, Io};

pub(crate) use registry::{BindingId, ContactKey, Registry};

/// The phone's side of a binding.
#[derive(Debug, Clone)]
pub(crate) struct Phone<D> {
    /// Its Contact as it registered it last.
    pub(crate) contact: NameAddr,
    /// The flow it registered over last: requests to it go there.
    pub(crate) flow: D,
    pub(crate) natted: bool,
    pub(crate) expires_at: Instant,
    /// `expires_at` on the wall clock (seconds since the Unix epoch), for
    /// status reports.
    pub(crate) expires_unix: u64,
    /// When its last REGISTER was accepted: the most recent one gives the
    /// device's last address.
    pub(crate) last_seen: Instant,
    pub(crate) connected: bool,
    /// Its User-Agent, trimmed, to tell clients apart in status reports.
    pub(crate) user_agent: Option<String>,
}

/// The operation in flight toward the iPBX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Idle,
    Register { refresh: bool },
    Unregister,
}

#[derive(Debug)]
pub(crate) enum PendingKind<D> {
    Register {
        phone: Box<Phone<D>>,
        requested: u32,
    },
    Unregister,
}

/// A phone REGISTER waiting for the iPBX.
#[derive(Debug)]
pub(crate) struct Pending<D> {
    pub(crate) txn: TransactionId,
    pub(crate) request: Message,
    pub(crate) source: D,
    pub(crate) kind: PendingKind<D>,
}

#[derive(Debug)]
pub(crate) struct Binding<D> {
    pub(crate) id: BindingId,
    /// Which client of the device this is.
    pub(crate) key: ContactKey,
    /// The user part of the Contact registered at the iPBX.
    pub(crate) token: String,
    pub(crate) device: DeviceCredentials<D>,
    pub(crate) icp: IcpTarget<D>,
    pub(crate) digest: DigestClient,
    pub(crate) call_id: String,
    pub(crate) from_tag: String,
    pub(crate) cseq: u32,
    pub(crate) phone: Option<Phone<D>>,
    /// Whether the upstream registration should be in place.
    pub(crate) want: bool,
    pub(crate) op: Op,
    pub(crate) op_txn: Option<TransactionId>,
    pub(crate) auth_tries: u8,
    /// Targets tried after the first for the operation in flight.
    pub(crate) failovers: u8,
    /// The upstream registration is in place until then.
    pub(crate) until: Option<Instant>,
    pub(crate) pending: Vec<Pending<D>>,
    /// Pass-through headers of the phone's last REGISTER, for the
    /// REGISTERs sent on its behalf.
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) t_expiry: Option<Handle>,
    pub(crate) t_refresh: Option<Handle>,
    pub(crate) t_heartbeat: Option<Handle>,
    pub(crate) heartbeat_txn: Option<TransactionId>,
}

impl<D> Binding<D> {
    pub(crate) fn registered(&self) -> bool {
        self.phone.is_some() && self.until.is_some()
    }
}

/// Most phone REGISTERs waiting on one binding.
const MAX_PENDING: usize = 8;

/// Longest User-Agent kept for status reports.
const MAX_USER_AGENT: usize = 80;

/// What a phone REGISTER asks for.
enum Ask {
    Query,
    /// Remove this client's binding, or (`None`: `Contact: *`) all of the
    /// device's (RFC 3261 §10.2.2).
    Unregister(Option<ContactKey>),
    Register(NameAddr, u32),
}

/// Whether the phone's Via sent-by differs from where its packets come
/// from (SIG-8 "natted").
pub(crate) fn natted<D: Destination>(request: &Message, source: &D) -> bool {
    let Ok(via) = request.top_via() else {
        return false;
    };
    let observed = source.remote_addr();
    let host = via.host().trim_start_matches('[').trim_end_matches(']');
    let port = via.port().unwrap_or_else(|| match via.transport() {
        t if t.eq_ignore_ascii_case("TLS") => Transport::Tls.default_port(),
        _ => Transport::Udp.default_port(),
    });
    host.parse::<std::net::IpAddr>().ok() != Some(observed.ip()) || port != observed.port()
}

impl<D: Destination> B2bua<D> {
    /// A REGISTER from a phone.
    pub(crate) fn on_register(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: Message,
        source: D,
        directory: &dyn Directory<D>,
    ) {
        let Some(device) =
            self.authenticate(io, id, &request, &source, directory, Challenge::Registrar)
        else {
            return;
        };
        if let Err(status) = self.policy.on_register(&device) {
            return self.reply(io, id, &request, &source, status);
        }
        let Some(icp) = device.icp.clone() else {
            return self.reply(io, id, &request, &source, StatusCode::SERVICE_UNAVAILABLE);
        };
        let ask = match self.classify(&request) {
            Ok(a) => a,
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        if let Ask::Register(_, requested) = &ask {
            let min = self.config.min_phone_expiry.as_secs();
            if u64::from(*requested) < min {
                let h = vec![(HeaderName::MinExpires, min.to_string())];
                return self.reply_with(io, id, &request, &source, StatusCode(423), h);
            }
        }
        let user = device.setside_username.clone();
        for bid in self.regs.of_user(&user) {
            self.refresh_device(bid, device.clone());
        }
        let pending = Pending {
            txn: id,
            request,
            source,
            kind: PendingKind::Unregister,
        };
        match ask {
            Ask::Query => self.answer_query(io, &user, &pending),
            Ask::Unregister(key) => {
                let bids = match key {
                    Some(key) => self.regs.find(&user, &key).into_iter().collect(),
                    None => self.regs.of_user(&user),
                };
                self.unregister_bindings(io, &bids, pending);
            }
            Ask::Register(contact, requested) => {
                let key = ContactKey::of(&contact);
                let bid = match self.regs.find(&user, &key) {
                    Some(bid) => bid,
                    None => match self.admit_binding(io, &device, icp, key) {
                        Ok(bid) => bid,
                        Err(status) => {
                            let Pending {
                                txn,
                                request,
                                source,
                                ..
                            } = pending;
                            return self.reply(io, txn, &request, &source, status);
                        }
                    },
                };
                self.register_binding(io, bid, contact, requested, pending);
            }
        }
        self.publish_status(&user);
    }

    /// RFC 3261 §10.3 step 8: a REGISTER without Contact lists the
    /// device's current bindings.
    fn answer_query(&mut self, io: &mut Io<'_, D>, user: &str, q: &Pending<D>) {
        let now = io.now;
        let contacts: Vec<(HeaderName, String)> = self
            .regs
            .bindings_of(user)
            .filter_map(|b| {
                let p = b.phone.as_ref()?;
                let left = p.expires_at.saturating_duration_since(now).as_secs();
                Some((HeaderName::Contact, phone_contact(&p.contact, left)))
            })
            .collect();
        self.reply_with(io, q.txn, &q.request, &q.source, StatusCode::OK, contacts);
    }

    /// Removes `bids` (all but the last without waiting; the phone is
    /// answered when the last one's un-REGISTER is done). Removing a
    /// binding that does not exist is no error (§10.3 step 6 only refuses
    /// a malformed `*`).
    fn unregister_bindings(&mut self, io: &mut Io<'_, D>, bids: &[BindingId], q: Pending<D>) {
        let Some((&last, others)) = bids.split_last() else {
            return self.reply(io, q.txn, &q.request, &q.source, StatusCode::OK);
        };
        let full = self
            .regs
            .get(last)
            .is_some_and(|b| b.pending.len() >= MAX_PENDING);
        if full {
            return self.reply(
                io,
                q.txn,
                &q.request,
                &q.source,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
        for &bid in others {
            let headers = self.register_headers(&q.request, bid);
            self.forget_phone(bid, headers);
            self.drive(io, bid);
        }
        let headers = self.register_headers(&q.request, last);
        self.forget_phone(last, headers);
        if let Some(b) = self.regs.get_mut(last) {
            b.pending.push(q);
        }
        self.drive(io, last);
    }

    /// The binding no longer wants its phone nor its upstream registration.
    fn forget_phone(&mut self, bid: BindingId, headers: Vec<(HeaderName, String)>) {
        if let Some(b) = self.regs.get_mut(bid) {
            b.phone = None;
            b.want = false;
            b.headers = headers;
            self.timers.cancel(b.t_expiry.take());
            self.timers.cancel(b.t_heartbeat.take());
        }
    }

    /// Registers or refreshes one client's binding.
    fn register_binding(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        contact: NameAddr,
        requested: u32,
        q: Pending<D>,
    ) {
        let headers = self.register_headers(&q.request, bid);
        let now = io.now;
        let Some(b) = self.regs.get_mut(bid) else {
            return self.reply(
                io,
                q.txn,
                &q.request,
                &q.source,
                StatusCode::SERVER_INTERNAL_ERROR,
            );
        };
        if b.pending.len() >= MAX_PENDING {
            return self.reply(
                io,
                q.txn,
                &q.request,
                &q.source,
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
        let user_agent = q.request.header(&HeaderName::UserAgent).map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(MAX_USER_AGENT)
                .collect::<String>()
        });
        let phone = Phone {
            natted: natted(&q.request, &q.source),
            contact,
            flow: q.source.clone(),
            expires_at: now,
            expires_unix: 0,
            last_seen: now,
            connected: true,
            user_agent,
        };
        b.headers = headers;
        let in_place = b.want && b.op != Op::Unregister && b.until.is_some_and(|u| u > now);
        b.want = true;
        let pending = Pending {
            kind: PendingKind::Register {
                phone: Box::new(phone),
                requested,
            },
            ..q
        };
        if in_place {
            self.accept(io, bid, pending);
        } else {
            b.pending.push(pending);
            self.drive(io, bid);
        }
    }

    /// A binding for a new client of `device`: beyond
    /// [`crate::Config::max_bindings_per_device`], the device's binding
    /// that expires first makes room. The alternative, 503 until one
    /// expires, would lock a phone out for up to `phone_expiry` after each
    /// reboot that changes its Contact (stale bindings linger), and only a
    /// holder of the device's password can register at all: that holder is
    /// trusted with the device's bindings, so replacing one costs nothing
    /// that it could not do with `Contact: *`. Asterisk's `remove_existing`
    /// makes the same choice.
    fn admit_binding(
        &mut self,
        io: &mut Io<'_, D>,
        device: &DeviceCredentials<D>,
        icp: IcpTarget<D>,
        key: ContactKey,
    ) -> Result<BindingId, StatusCode> {
        if self.regs.len() >= self.config.max_bindings {
            self.stats.overload_rejections += 1;
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        let user = &device.setside_username;
        let live = self.regs.bindings_of(user).filter(|b| b.want).count();
        if live >= self.config.max_bindings_per_device {
            // Only bindings whose phone is registered can make room: ones
            // still being set up have nothing to lose yet, and a burst of
            // new clients then gets 503 rather than evicting each other.
            let victim = self
                .regs
                .bindings_of(user)
                .filter(|b| b.want)
                .filter_map(|b| b.phone.as_ref().map(|p| (p.expires_at, b.id)))
                .min();
            let Some((_, victim)) = victim else {
                self.stats.overload_rejections += 1;
                return Err(StatusCode::SERVICE_UNAVAILABLE);
            };
            self.drop_phone(io, victim);
        }
        self.new_binding(device, icp, key)
            .ok_or(StatusCode::FORBIDDEN)
    }

    fn classify(&self, request: &Message) -> Result<Ask, StatusCode> {
        let header_expires = request.expires().ok().flatten();
        if request.is_contact_wildcard() {
            // RFC 3261 §10.3 step 6: `*` only with Expires: 0.
            return if header_expires == Some(0) {
                Ok(Ask::Unregister(None))
            } else {
                Err(StatusCode::BAD_REQUEST)
            };
        }
        let contacts = request.contacts().map_err(|_| StatusCode::BAD_REQUEST)?;
        // Phones register one Contact; further ones are not bound.
        let Some(contact) = contacts.first() else {
            return Ok(Ask::Query);
        };
        if !contact.uri().is_sip() {
            return Err(StatusCode::UNSUPPORTED_URI_SCHEME);
        }
        let expires = contact.expires().or(header_expires).unwrap_or(3600);
        if expires == 0 {
            Ok(Ask::Unregister(Some(ContactKey::of(contact))))
        } else {
            Ok(Ask::Register(contact.clone(), expires))
        }
    }

    fn new_binding(
        &mut self,
        device: &DeviceCredentials<D>,
        icp: IcpTarget<D>,
        key: ContactKey,
    ) -> Option<BindingId> {
        let digest = DigestClient::new(
            device.icpside_username.clone(),
            device.icpside_password.clone(),
        )
        .ok()?;
        let id = self.regs.next_id();
        let mut token = self.rng.token();
        while self.regs.by_token(&token).is_some() {
            token = self.rng.token();
        }
        let binding = Binding {
            id,
            key,
            token,
            device: device.clone(),
            icp,
            digest,
            call_id: self.rng.call_id(),
            from_tag: self.rng.tag(),
            cseq: 0,
            phone: None,
            want: false,
            op: Op::Idle,
            op_txn: None,
            auth_tries: 0,
            failovers: 0,
            until: None,
            pending: Vec::new(),
            headers: Vec::new(),
            t_expiry: None,
            t_refresh: None,
            t_heartbeat: None,
            heartbeat_txn: None,
        };
        self.regs.insert(binding);
        Some(id)
    }

    /// Takes fresh credentials from the store (a changed password is used
    /// from the next challenge on).
    pub(crate) fn refresh_device(&mut self, bid: BindingId, device: DeviceCredentials<D>) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        if b.device.icpside_password != device.icpside_password
            || b.device.icpside_username != device.icpside_username
        {
            if let Ok(d) = DigestClient::new(
                device.icpside_username.clone(),
                device.icpside_password.clone(),
            ) {
                b.digest = d;
            }
        }
        // The same ICP may now be reached at another target (DNS answer,
        // failover); later operations go there.
        if let Some(icp) = &device.icp {
            if icp.host == b.icp.host && icp.port == b.icp.port {
                b.icp.destination = icp.destination.clone();
            }
        }
        b.device = device;
    }

    /// The phone's pass-through headers, adapted for the iPBX.
    fn register_headers(&self, request: &Message, bid: BindingId) -> Vec<(HeaderName, String)> {
        let Some(b) = self.regs.get(bid) else {
            return Vec::new();
        };
        let mut hidden = vec![request.call_id().unwrap_or_default().to_owned()];
        hidden.extend(request.top_via().ok().map(|v| v.host().to_owned()));
        hidden.extend(
            request
                .contacts()
                .ok()
                .and_then(|c| c.first().map(|c| c.uri().host().to_owned())),
        );
        let set = b.device.setside_username.clone();
        let icp = b.device.icpside_username.clone();
        let users = move |u: &str| (u == set).then(|| icp.clone());
        let rw = Rewriter {
            domain: &b.icp.host,
            users: &users,
            hidden: &hidden,
            replaces: &|_| None,
        };
        let mut h = self.pass.copy(request, &rw);
        h.retain(|(n, _)| *n != HeaderName::Expires);
        h
    }

    /// Answers a phone REGISTER with 200 now that the iPBX registration is
    /// in place.
    pub(crate) fn accept(&mut self, io: &mut Io<'_, D>, bid: BindingId, pending: Pending<D>) {
        let now = io.now;
        let PendingKind::Register {
            mut phone,
            requested,
        } = pending.kind
        else {
            return self.reply(
                io,
                pending.txn,
                &pending.request,
                &pending.source,
                StatusCode::OK,
            );
        };
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        let upstream_left = b
            .until
            .map_or(0, |u| u.saturating_duration_since(now).as_secs())
            .max(1);
        let granted = u64::from(requested)
            .min(self.config.phone_expiry.as_secs())
            .min(upstream_left);
        phone.expires_at = now + Duration::from_secs(granted);
        phone.expires_unix = io.unix.saturating_add(granted);
        phone.last_seen = now;
        let contact = phone_contact(&phone.contact, granted);
        let udp = phone.flow.transport() == Transport::Udp;
        b.phone = Some(*phone);
        let at = now + Duration::from_secs(granted) + self.config.expiry_grace;
        let bid_copy = b.id;
        self.timers.reschedule(
            &mut b.t_expiry,
            at,
            crate::timers::Timer::PhoneExpiry(bid_copy),
        );
        if let (true, Some(every), None) = (udp, self.config.heartbeat_interval, b.t_heartbeat) {
            b.t_heartbeat = Some(
                self.timers
                    .schedule(now + every, crate::timers::Timer::Heartbeat(bid_copy)),
            );
        }
        let user = b.device.setside_username.clone();
        // §10.3 step 8 lists every binding of the AOR in the 200; Outpost
        // answers each client with its own only, as the B2BUA it is: some
        // phones take the first Contact's expires as theirs, and one
        // client has no use for another's address. A query gets them all.
        self.reply_with(
            io,
            pending.txn,
            &pending.request,
            &pending.source,
            StatusCode::OK,
            vec![(HeaderName::Contact, contact)],
        );
        self.publish_status(&user);
    }

    /// Removes a binding that wants nothing and has nothing in flight.
    pub(crate) fn remove_binding_if_idle(&mut self, bid: BindingId) {
        let idle = self.regs.get(bid).is_some_and(|b| {
            !b.want
                && b.phone.is_none()
                && b.op == Op::Idle
                && b.until.is_none()
                && b.pending.is_empty()
        });
        if !idle {
            return;
        }
        if let Some(b) = self.regs.remove(bid) {
            self.timers.cancel(b.t_expiry);
            self.timers.cancel(b.t_refresh);
            self.timers.cancel(b.t_heartbeat);
            if let Some(h) = b.heartbeat_txn {
                self.clients.remove(&h);
            }
            self.publish_status(&b.device.setside_username);
        }
    }

    /// The store changed `user`: each of its bindings keeps going with the
    /// new credentials, or is unregistered when the device is gone,
    /// disabled, or moved to another ICP or ICP-side identity.
    pub(crate) fn on_device_update(
        &mut self,
        io: &mut Io<'_, D>,
        user: &str,
        directory: &dyn Directory<D>,
    ) {
        let bids = self.regs.of_user(user);
        if bids.is_empty() {
            return;
        }
        let device = directory.device(user);
        for bid in bids {
            let keep = self.regs.get(bid).is_some_and(|b| {
                device.as_ref().is_some_and(|d| {
                    d.enabled
                        && d.icpside_username == b.device.icpside_username
                        && d.icp
                            .as_ref()
                            .is_some_and(|i| i.host == b.icp.host && i.port == b.icp.port)
                })
            });
            match &device {
                Some(d) if keep => self.refresh_device(bid, d.clone()),
                _ => self.drop_phone(io, bid),
            }
        }
    }

    /// Forgets the phone and unregisters upstream.
    pub(crate) fn drop_phone(&mut self, io: &mut Io<'_, D>, bid: BindingId) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        b.phone = None;
        b.want = false;
        self.timers.cancel(b.t_expiry.take());
        self.timers.cancel(b.t_heartbeat.take());
        let user = b.device.setside_username.clone();
        self.drive(io, bid);
        self.publish_status(&user);
    }

    /// The phone's Contact and flow, for routing a request to it.
    pub(crate) fn phone_target(&self, token: &str) -> Option<crate::PhoneTarget<D>> {
        let b = self.regs.by_token(token)?;
        let p = b.phone.as_ref()?;
        Some(crate::PhoneTarget {
            setside_username: b.device.setside_username.clone(),
            contact: p.contact.uri().clone(),
            destination: p.flow.clone(),
        })
    }

    /// The Contact a device's legs use on the private side: the token of
    /// the binding the call belongs to, so the iPBX sees the call come from
    /// the contact it forks to; else one of the device's; else a fresh one.
    pub(crate) fn private_contact_for(
        &mut self,
        user: &str,
        binding: Option<BindingId>,
        transport: Transport,
    ) -> String {
        let token = binding
            .and_then(|bid| self.regs.get(bid))
            .or_else(|| self.regs.any_of(user))
            .map(|b| b.token.clone())
            .unwrap_or_else(|| self.rng.token());
        self.contact(Side::Private, transport, Some(&token))
    }
}

/// The phone's Contact as returned in a 200 (RFC 3261 §10.3 step 8): its
/// URI and parameters, with our `expires`.
fn phone_contact(contact: &NameAddr, expires: u64) -> String {
    let mut out = format!("<{}>", contact.uri().as_str());
    for p in contact.params() {
        let Ok(p) = p else { break };
        if p.name.eq_ignore_ascii_case("expires") {
            continue;
        }
        out.push(';');
        out.push_str(p.name);
        if let Some(v) = p.value {
            out.push('=');
            out.push_str(v);
        }
    }
    out.push_str(&format!(";expires={expires}"));
    out
}

/// Takes the waiting un-REGISTERs (`unregister`) or REGISTERs out of
/// `pending`, keeping the others in order.
pub(crate) fn take_pending<D>(pending: &mut Vec<Pending<D>>, unregister: bool) -> Vec<Pending<D>> {
    let (take, keep) = std::mem::take(pending)
        .into_iter()
        .partition(|p| matches!(p.kind, PendingKind::Unregister) == unregister);
    *pending = keep;
    take
}
