//! Registrations (SIG-6): the phone side here, the iPBX side in
//! [`upstream`], OPTIONS heartbeats in [`heartbeat`].
//!
//! One binding per device. Its upstream registration moves between "not
//! registered" and "registered until T" through one operation at a time
//! (REGISTER or un-REGISTER); what the binding *wants* (registered or not)
//! is set by the phone, by expiry and by the store, and [`B2bua::drive`]
//! starts whatever operation brings the upstream state to the wanted one.
//! Phone REGISTERs that need the iPBX wait in `pending` and are answered
//! when the operation ends, so nothing is left half-registered.

mod heartbeat;
mod upstream;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use outpost_sip::auth::DigestClient;
use outpost_sip::{HeaderName, Message, NameAddr, StatusCode};
use outpost_txn::TransactionId;

use crate::auth::Challenge;
use crate::flow::{Destination, DeviceCredentials, Directory, IcpTarget, Side, Transport};
use crate::headers::Rewriter;
use crate::timers::Handle;
use crate::{B2bua, Io};

/// Names a binding for as long as it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BindingId(u64);

/// The phone's side of a binding.
#[derive(Debug, Clone)]
pub(crate) struct Phone<D> {
    /// Its Contact as it registered it.
    pub(crate) contact: NameAddr,
    /// The flow it registered over: requests to it go there.
    pub(crate) flow: D,
    pub(crate) natted: bool,
    pub(crate) expires_at: Instant,
    pub(crate) connected: bool,
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
    Register { phone: Phone<D>, requested: u32 },
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

/// All bindings, by id, device and token, and the username maps used to
/// translate identities between sides.
#[derive(Debug)]
pub(crate) struct Registry<D> {
    bindings: HashMap<BindingId, Binding<D>>,
    by_user: HashMap<String, BindingId>,
    by_token: HashMap<String, BindingId>,
    next: u64,
}

impl<D> Default for Registry<D> {
    fn default() -> Self {
        Self {
            bindings: HashMap::new(),
            by_user: HashMap::new(),
            by_token: HashMap::new(),
            next: 0,
        }
    }
}

impl<D> Registry<D> {
    pub(crate) fn len(&self) -> usize {
        self.bindings.len()
    }
    pub(crate) fn registered_count(&self) -> usize {
        self.bindings.values().filter(|b| b.registered()).count()
    }
}

impl<D: Destination> Registry<D> {
    pub(crate) fn ids(&self) -> Vec<BindingId> {
        self.bindings.keys().copied().collect()
    }
    pub(crate) fn get(&self, id: BindingId) -> Option<&Binding<D>> {
        self.bindings.get(&id)
    }
    pub(crate) fn get_mut(&mut self, id: BindingId) -> Option<&mut Binding<D>> {
        self.bindings.get_mut(&id)
    }
    pub(crate) fn by_user(&self, user: &str) -> Option<&Binding<D>> {
        self.by_user.get(user).and_then(|id| self.bindings.get(id))
    }
    pub(crate) fn by_token(&self, token: &str) -> Option<&Binding<D>> {
        self.by_token
            .get(token)
            .and_then(|id| self.bindings.get(id))
    }
    fn next_id(&mut self) -> BindingId {
        self.next += 1;
        BindingId(self.next)
    }
    fn insert(&mut self, b: Binding<D>) {
        self.by_user.insert(b.device.setside_username.clone(), b.id);
        self.by_token.insert(b.token.clone(), b.id);
        self.bindings.insert(b.id, b);
    }
    pub(crate) fn remove(&mut self, id: BindingId) -> Option<Binding<D>> {
        let b = self.bindings.remove(&id)?;
        self.by_user.remove(&b.device.setside_username);
        self.by_token.remove(&b.token);
        Some(b)
    }
    /// The device registered over this reliable flow, if any (SIG-7
    /// trusted connection).
    pub(crate) fn trusted(&self, flow: &D) -> Option<&Binding<D>> {
        if !flow.transport().is_reliable() {
            return None;
        }
        self.bindings
            .values()
            .find(|b| b.registered() && b.phone.as_ref().is_some_and(|p| p.flow == *flow))
    }
    pub(crate) fn mark_flow_closed(&mut self, flow: &D) -> Vec<String> {
        let mut out = Vec::new();
        for b in self.bindings.values_mut() {
            if let Some(p) = b.phone.as_mut().filter(|p| p.flow == *flow) {
                p.connected = false;
                out.push(b.device.setside_username.clone());
            }
        }
        out
    }
    /// Set-side → ICP-side username of a known device.
    pub(crate) fn to_icp_user(&self, user: &str) -> Option<String> {
        self.by_user(user)
            .map(|b| b.device.icpside_username.clone())
    }
    /// ICP-side → set-side username of a known device.
    pub(crate) fn to_set_user(&self, user: &str) -> Option<String> {
        self.bindings
            .values()
            .find(|b| b.device.icpside_username == user)
            .map(|b| b.device.setside_username.clone())
    }
    /// Hosts of the iPBXs in use: never shown on the public side.
    pub(crate) fn icp_hosts(&self) -> Vec<String> {
        let mut v: Vec<String> = self.bindings.values().map(|b| b.icp.host.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// What a phone REGISTER asks for.
enum Ask {
    Query,
    Unregister,
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
        let bid = match self.regs.by_user(&user).map(|b| b.id) {
            Some(bid) => bid,
            None if matches!(ask, Ask::Register(..)) => {
                if self.regs.len() >= self.config.max_bindings {
                    self.stats.overload_rejections += 1;
                    return self.reply(io, id, &request, &source, StatusCode::SERVICE_UNAVAILABLE);
                }
                match self.new_binding(&device, icp) {
                    Some(bid) => bid,
                    None => return self.reply(io, id, &request, &source, StatusCode::FORBIDDEN),
                }
            }
            // Nothing registered: a query or an unregister is trivially done.
            None => return self.reply(io, id, &request, &source, StatusCode::OK),
        };
        self.refresh_device(bid, device);
        let headers = self.register_headers(&request, bid);
        let pending_full = self
            .regs
            .get(bid)
            .is_some_and(|b| b.pending.len() >= MAX_PENDING);
        if pending_full && !matches!(ask, Ask::Query) {
            return self.reply(io, id, &request, &source, StatusCode::SERVICE_UNAVAILABLE);
        }
        match ask {
            Ask::Query => {
                let contact = self.regs.get(bid).and_then(|b| {
                    let p = b.phone.as_ref()?;
                    let left = p.expires_at.saturating_duration_since(io.now).as_secs();
                    Some(phone_contact(&p.contact, left))
                });
                let h = contact
                    .map(|c| vec![(HeaderName::Contact, c)])
                    .unwrap_or_default();
                self.reply_with(io, id, &request, &source, StatusCode::OK, h);
            }
            Ask::Unregister => {
                if let Some(b) = self.regs.get_mut(bid) {
                    b.phone = None;
                    b.want = false;
                    b.headers = headers;
                    self.timers.cancel(b.t_expiry.take());
                    self.timers.cancel(b.t_heartbeat.take());
                    b.pending.push(Pending {
                        txn: id,
                        request,
                        source,
                        kind: PendingKind::Unregister,
                    });
                }
                self.drive(io, bid);
            }
            Ask::Register(contact, requested) => {
                let phone = Phone {
                    natted: natted(&request, &source),
                    contact,
                    flow: source.clone(),
                    expires_at: io.now,
                    connected: true,
                };
                let now = io.now;
                let Some(b) = self.regs.get_mut(bid) else {
                    return;
                };
                b.headers = headers;
                let in_place = b.want && b.op != Op::Unregister && b.until.is_some_and(|u| u > now);
                b.want = true;
                let pending = Pending {
                    txn: id,
                    request,
                    source,
                    kind: PendingKind::Register { phone, requested },
                };
                if in_place {
                    self.accept(io, bid, pending);
                } else {
                    if let Some(b) = self.regs.get_mut(bid) {
                        b.pending.push(pending);
                    }
                    self.drive(io, bid);
                }
            }
        }
        self.publish_status(&user);
    }

    fn classify(&self, request: &Message) -> Result<Ask, StatusCode> {
        let header_expires = request.expires().ok().flatten();
        if request.is_contact_wildcard() {
            // RFC 3261 §10.3 step 6: `*` only with Expires: 0.
            return if header_expires == Some(0) {
                Ok(Ask::Unregister)
            } else {
                Err(StatusCode::BAD_REQUEST)
            };
        }
        let contacts = request.contacts().map_err(|_| StatusCode::BAD_REQUEST)?;
        let Some(contact) = contacts.first() else {
            return Ok(Ask::Query);
        };
        if !contact.uri().is_sip() {
            return Err(StatusCode::UNSUPPORTED_URI_SCHEME);
        }
        let expires = contact.expires().or(header_expires).unwrap_or(3600);
        if expires == 0 {
            Ok(Ask::Unregister)
        } else {
            Ok(Ask::Register(contact.clone(), expires))
        }
    }

    fn new_binding(
        &mut self,
        device: &DeviceCredentials<D>,
        icp: IcpTarget<D>,
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
        let contact = phone_contact(&phone.contact, granted);
        let udp = phone.flow.transport() == Transport::Udp;
        b.phone = Some(phone);
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

    /// Emits [`crate::B2buaEvent::DeviceStatus`] if the device's status changed.
    pub(crate) fn publish_status(&mut self, user: &str) {
        let previous = self.statuses.get(user);
        let (registered, connected, last_address, natted) = match self.regs.by_user(user) {
            Some(b) => match &b.phone {
                Some(p) => (
                    b.registered(),
                    p.connected,
                    Some(p.flow.remote_addr()),
                    p.natted,
                ),
                None => (false, false, previous.and_then(|s| s.last_address), false),
            },
            None => (false, false, previous.and_then(|s| s.last_address), false),
        };
        let status = crate::DeviceStatus {
            setside_username: user.to_owned(),
            registered,
            connected,
            in_call: self.calls.in_call(user),
            last_address,
            natted,
        };
        if previous == Some(&status) {
            return;
        }
        if !status.registered && !status.in_call && self.regs.by_user(user).is_none() {
            self.statuses.remove(user);
        } else {
            self.statuses.insert(user.to_owned(), status.clone());
        }
        self.events
            .push_back(crate::B2buaEvent::DeviceStatus(status));
    }

    /// The store changed `user`.
    pub(crate) fn on_device_update(
        &mut self,
        io: &mut Io<'_, D>,
        user: &str,
        directory: &dyn Directory<D>,
    ) {
        let Some(bid) = self.regs.by_user(user).map(|b| b.id) else {
            return;
        };
        let device = directory.device(user);
        let keep = self.regs.get(bid).is_some_and(|b| {
            device.as_ref().is_some_and(|d| {
                d.enabled
                    && d.icpside_username == b.device.icpside_username
                    && d.icp
                        .as_ref()
                        .is_some_and(|i| i.host == b.icp.host && i.port == b.icp.port)
            })
        });
        match device {
            Some(d) if keep => self.refresh_device(bid, d),
            _ => self.drop_phone(io, bid),
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

    /// The Contact a device's legs use on the private side.
    pub(crate) fn private_contact_for(&mut self, user: &str, transport: Transport) -> String {
        let token = self
            .regs
            .by_user(user)
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
