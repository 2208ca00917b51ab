//! The registration toward the iPBX (SIG-6): REGISTER with the ICP-side
//! identity and `Contact: <sip:TOKEN@private-address>`, digest answers,
//! refresh before expiry, un-REGISTER when the phone goes.

use std::time::Duration;

use outpost_sip::auth::select_challenge;
use outpost_sip::{HeaderName, Message, Method, StatusCode, Uri};
use outpost_txn::TransactionId;

use super::{BindingId, Op};
use crate::config::uri_host;
use crate::error::{Error, FailedSide};
use crate::events::B2buaEvent;
use crate::flow::{Destination, Directory, Side};
use crate::sipmsg::{Outgoing, build_request};
use crate::timers::{Handle, Timer};
use crate::{B2bua, Io, Purpose};

/// Most challenges answered for one REGISTER.
const MAX_AUTH_TRIES: u8 = 2;
/// Further targets of an ICP tried for one REGISTER that could not be sent
/// (RFC 3263 §4.3): enough for a primary and a backup SRV target.
const MAX_FAILOVERS: u8 = 2;

impl<D: Destination> B2bua<D> {
    /// Starts whatever brings the upstream registration to what the
    /// binding wants, or finishes waiting phone REGISTERs.
    pub(crate) fn drive(&mut self, io: &mut Io<'_, D>, bid: BindingId) {
        let now = io.now;
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        if b.op != Op::Idle {
            return;
        }
        let registered = b.until.is_some_and(|u| u > now);
        if b.want {
            if registered {
                let ready: Vec<_> = b.pending.drain(..).collect();
                for p in ready {
                    self.accept(io, bid, p);
                }
            } else {
                self.start_register(io, bid, false);
            }
        } else if b.until.is_some() {
            self.start_unregister(io, bid);
        } else {
            let done: Vec<_> = b.pending.drain(..).collect();
            for p in done {
                self.reply(io, p.txn, &p.request, &p.source, StatusCode::OK);
            }
            self.remove_binding_if_idle(bid);
        }
    }

    fn register_request(
        &mut self,
        bid: BindingId,
        expires: u32,
        auth: Option<(HeaderName, String)>,
    ) -> Result<Message, Error> {
        let (transport, host, port) = match self.regs.get(bid) {
            Some(b) => (
                b.icp.destination.transport(),
                uri_host(&b.icp.host),
                b.icp.port,
            ),
            None => return Err(outpost_sip::ParseError::Missing(HeaderName::To, None).into()),
        };
        let via = self.via(Side::Private, transport);
        let Some(b) = self.regs.get_mut(bid) else {
            return Err(outpost_sip::ParseError::Missing(HeaderName::To, None).into());
        };
        b.cseq += 1;
        let uri = Uri::parse(&match port {
            Some(p) => format!("sip:{host}:{p}"),
            None => format!("sip:{host}"),
        })?;
        let aor = format!(
            "<sip:{}@{host}>",
            crate::headers::escape_user(&b.device.icpside_username)
        );
        let contact_user = b.token.clone();
        let (call_id, from_tag, cseq) = (b.call_id.clone(), b.from_tag.clone(), b.cseq);
        let mut headers = b.headers.clone();
        headers.push((HeaderName::Expires, expires.to_string()));
        headers.extend(auth);
        let mut contact = self.contact(Side::Private, transport, Some(&contact_user));
        if expires == 0 {
            contact.push_str(";expires=0");
        }
        build_request(Outgoing {
            method: Method::Register,
            uri: &uri,
            via,
            routes: &[],
            from: format!("{aor};tag={from_tag}"),
            to: aor,
            call_id: &call_id,
            cseq,
            contact: Some(&contact),
            max_forwards: 70,
            headers,
            body: None,
        })
    }

    /// Pre-emptive credentials for a refresh, from the last challenge.
    fn preemptive(&mut self, bid: BindingId, uri: &str) -> Option<(HeaderName, String)> {
        let random = self.rng.bytes16();
        let b = self.regs.get_mut(bid)?;
        let creds = b.digest.respond_again("REGISTER", uri, random)?.ok()?;
        Some((HeaderName::Authorization, creds.to_header_value()))
    }

    fn start_op(&mut self, io: &mut Io<'_, D>, bid: BindingId, op: Op, expires: u32) {
        let uri = self.regs.get(bid).map(|b| match b.icp.port {
            Some(p) => format!("sip:{}:{p}", uri_host(&b.icp.host)),
            None => format!("sip:{}", uri_host(&b.icp.host)),
        });
        let auth = uri.and_then(|u| self.preemptive(bid, &u));
        let sent = self.register_request(bid, expires, auth).and_then(|req| {
            let dest = self
                .regs
                .get(bid)
                .map(|b| b.icp.destination.clone())
                .ok_or(outpost_sip::ParseError::Missing(HeaderName::To, None))?;
            self.send(io, req, dest, Purpose::Register(bid))
        });
        match sent {
            Ok(txn) => {
                if let Some(b) = self.regs.get_mut(bid) {
                    b.op = op;
                    b.op_txn = Some(txn);
                    b.auth_tries = 0;
                }
            }
            Err(_) => {
                if let Some(b) = self.regs.get_mut(bid) {
                    b.op = op;
                    b.op_txn = None;
                }
                self.op_failed(
                    io,
                    bid,
                    StatusCode::SERVICE_UNAVAILABLE,
                    FailedSide::Internal,
                );
            }
        }
    }

    pub(crate) fn start_register(&mut self, io: &mut Io<'_, D>, bid: BindingId, refresh: bool) {
        let expires = u32::try_from(self.config.icp_expiry.as_secs()).unwrap_or(u32::MAX);
        self.start_op(io, bid, Op::Register { refresh }, expires);
    }

    fn start_unregister(&mut self, io: &mut Io<'_, D>, bid: BindingId) {
        self.start_op(io, bid, Op::Unregister, 0);
    }

    /// A final response to a REGISTER we sent.
    pub(crate) fn on_register_response(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        bid: BindingId,
        response: &Message,
        directory: &dyn Directory<D>,
    ) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let Some(b) = self.regs.get(bid) else {
            return;
        };
        if b.op_txn != Some(id) {
            return;
        }
        let status = response.status().unwrap_or(StatusCode(500));
        let op = b.op;
        match status.0 {
            401 | 407 => {
                if self.answer_register_challenge(io, bid, &client.sent, response, directory) {
                    return;
                }
                self.op_failed(io, bid, StatusCode::FORBIDDEN, FailedSide::Private);
            }
            423 => {
                let min = response
                    .header(&HeaderName::MinExpires)
                    .and_then(|v| v.trim().parse::<u32>().ok());
                let tries = b.auth_tries;
                match min {
                    Some(m) if op != Op::Unregister && tries < MAX_AUTH_TRIES => {
                        if let Some(b) = self.regs.get_mut(bid) {
                            b.auth_tries += 1;
                        }
                        self.resend_register(io, bid, m, None);
                    }
                    _ => self.op_failed(
                        io,
                        bid,
                        StatusCode::SERVER_INTERNAL_ERROR,
                        FailedSide::Private,
                    ),
                }
            }
            200..=299 => self.op_succeeded(io, bid, response),
            _ => {
                let to_phone = match status.0 {
                    403 | 404 => status,
                    400..=499 => StatusCode::FORBIDDEN,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                self.op_failed(io, bid, to_phone, FailedSide::Private);
            }
        }
    }

    /// Answers a 401/407 from the iPBX; false when it should count as a
    /// refusal (too many tries, or a second challenge that is not stale).
    fn answer_register_challenge(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        sent: &Message,
        response: &Message,
        directory: &dyn Directory<D>,
    ) -> bool {
        let proxy = response.status() == Some(StatusCode::PROXY_AUTHENTICATION_REQUIRED);
        let (challenge_h, creds_h) = if proxy {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let Ok(challenge) = select_challenge(response.header_all(&challenge_h)) else {
            return false;
        };
        let had_credentials = sent.has_header(&HeaderName::Authorization)
            || sent.has_header(&HeaderName::ProxyAuthorization);
        let tries = self.regs.get(bid).map_or(MAX_AUTH_TRIES, |b| b.auth_tries);
        if tries >= MAX_AUTH_TRIES || (had_credentials && tries > 0 && !challenge.is_stale()) {
            return false;
        }
        let user = self
            .regs
            .get(bid)
            .map(|b| b.device.setside_username.clone());
        if let Some(d) = user.and_then(|u| directory.device(&u)) {
            self.refresh_device(bid, d);
        }
        let uri = sent
            .request_uri()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default();
        let random = self.rng.bytes16();
        let Some(b) = self.regs.get_mut(bid) else {
            return false;
        };
        let Ok(creds) = b.digest.respond(&challenge, "REGISTER", &uri, random) else {
            return false;
        };
        b.auth_tries += 1;
        let expires = sent.expires().ok().flatten().unwrap_or(0);
        self.resend_register(io, bid, expires, Some((creds_h, creds.to_header_value())));
        true
    }

    fn resend_register(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        expires: u32,
        auth: Option<(HeaderName, String)>,
    ) {
        let Some(sent_op) = self.regs.get(bid).map(|b| b.op) else {
            return;
        };
        let result = self.register_request(bid, expires, auth).and_then(|req| {
            let dest = self
                .regs
                .get(bid)
                .map(|b| b.icp.destination.clone())
                .ok_or(outpost_sip::ParseError::Missing(HeaderName::To, None))?;
            self.send(io, req, dest, Purpose::Register(bid))
        });
        match result {
            Ok(txn) => {
                if let Some(b) = self.regs.get_mut(bid) {
                    b.op_txn = Some(txn);
                    b.op = sent_op;
                }
            }
            Err(_) => self.op_failed(
                io,
                bid,
                StatusCode::SERVICE_UNAVAILABLE,
                FailedSide::Internal,
            ),
        }
    }

    fn op_succeeded(&mut self, io: &mut Io<'_, D>, bid: BindingId, response: &Message) {
        let now = io.now;
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        b.failovers = 0;
        let op = b.op;
        b.op = Op::Idle;
        b.op_txn = None;
        match op {
            Op::Register { .. } => {
                let granted = granted_expiry(response, &b.token).unwrap_or_else(|| {
                    u32::try_from(self.config.icp_expiry.as_secs()).unwrap_or(u32::MAX)
                });
                if granted == 0 {
                    b.until = None;
                    return self.op_failed(
                        io,
                        bid,
                        StatusCode::SERVICE_UNAVAILABLE,
                        FailedSide::Private,
                    );
                }
                let granted = Duration::from_secs(u64::from(granted));
                b.until = Some(now + granted);
                // Refresh at 80% of the granted time, at least 5 s ahead.
                let refresh = (granted * 4 / 5).min(granted.saturating_sub(Duration::from_secs(5)));
                let at = now + refresh.max(Duration::from_secs(1));
                self.timers
                    .reschedule(&mut b.t_refresh, at, Timer::UpstreamRefresh(bid));
            }
            Op::Unregister => {
                b.until = None;
                self.timers.cancel(b.t_refresh.take());
                let done: Vec<_> = super::take_pending(&mut b.pending, true);
                for p in done {
                    self.reply(io, p.txn, &p.request, &p.source, StatusCode::OK);
                }
            }
            Op::Idle => {}
        }
        let user = self
            .regs
            .get(bid)
            .map(|b| b.device.setside_username.clone());
        self.drive(io, bid);
        if let Some(u) = user {
            self.publish_status(&u);
        }
    }

    /// The operation failed: phones waiting get `status`; the binding is
    /// left clean (an initial REGISTER that got no answer may still have
    /// reached the iPBX, so it is followed by an un-REGISTER).
    pub(crate) fn op_failed(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        status: StatusCode,
        side: FailedSide,
    ) {
        let now = io.now;
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        b.failovers = 0;
        let op = b.op;
        b.op = Op::Idle;
        b.op_txn = None;
        let user = b.device.setside_username.clone();
        match op {
            Op::Register { refresh } => {
                let unanswered = matches!(status.0, 408 | 503);
                b.until = None;
                self.timers.cancel(b.t_refresh.take());
                let waiting: Vec<_> = super::take_pending(&mut b.pending, false);
                if b.phone.is_none() {
                    b.want = false;
                    if unanswered && !refresh {
                        // Make sure the iPBX holds nothing for this token.
                        b.until = Some(now);
                    }
                }
                self.stats.registration_failures += 1;
                self.events.push_back(B2buaEvent::RegistrationFailed {
                    setside_username: user.clone(),
                    status,
                    side,
                });
                for p in waiting {
                    self.reply(io, p.txn, &p.request, &p.source, status);
                }
                // A failed refresh waits for the phone's next REGISTER
                // rather than retrying in a loop.
                if !refresh || self.regs.get(bid).is_some_and(|b| b.phone.is_none()) {
                    self.drive(io, bid);
                }
            }
            Op::Unregister => {
                b.until = None;
                self.timers.cancel(b.t_refresh.take());
                let done: Vec<_> = super::take_pending(&mut b.pending, true);
                for p in done {
                    self.reply(io, p.txn, &p.request, &p.source, StatusCode::OK);
                }
                self.drive(io, bid);
            }
            Op::Idle => {}
        }
        self.publish_status(&user);
    }

    /// The REGISTER got no response (timeout) or could not be sent. When
    /// it could not be sent and the ICP now has another target (the driver
    /// marked this one down), the operation is tried there at once, with a
    /// new transaction (RFC 3263 §4.3), at most [`MAX_FAILOVERS`] times.
    pub(crate) fn on_register_failure(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        bid: BindingId,
        status: StatusCode,
        next_target: Option<&dyn Directory<D>>,
    ) {
        self.clients.remove(&id);
        if self.regs.get(bid).is_none_or(|b| b.op_txn != Some(id)) {
            return;
        }
        if let Some(directory) = next_target {
            if self.fail_over(io, bid, directory) {
                return;
            }
        }
        self.op_failed(io, bid, status, FailedSide::Private);
    }

    /// Restarts the binding's operation toward its ICP's next target, if
    /// the directory has one; false when there is none to try.
    fn fail_over(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        directory: &dyn Directory<D>,
    ) -> bool {
        let Some(b) = self.regs.get_mut(bid) else {
            return false;
        };
        if b.failovers >= MAX_FAILOVERS {
            return false;
        }
        let Some(icp) = directory
            .device(&b.device.setside_username)
            .and_then(|d| d.icp)
        else {
            return false;
        };
        let same_icp = icp.host == b.icp.host && icp.port == b.icp.port;
        if !same_icp || icp.destination == b.icp.destination {
            return false;
        }
        b.failovers += 1;
        b.icp.destination = icp.destination;
        let op = std::mem::replace(&mut b.op, Op::Idle);
        b.op_txn = None;
        match op {
            Op::Register { refresh } => self.start_register(io, bid, refresh),
            Op::Unregister => self.start_unregister(io, bid),
            Op::Idle => return false,
        }
        true
    }

    /// The phone did not refresh in time.
    pub(crate) fn on_phone_expiry(&mut self, io: &mut Io<'_, D>, bid: BindingId, h: Handle) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        if b.t_expiry != Some(h) {
            return;
        }
        b.t_expiry = None;
        self.drop_phone(io, bid);
    }

    /// Time to refresh the iPBX registration.
    pub(crate) fn on_refresh_due(
        &mut self,
        io: &mut Io<'_, D>,
        bid: BindingId,
        h: Handle,
        directory: &dyn Directory<D>,
    ) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        if b.t_refresh != Some(h) {
            return;
        }
        b.t_refresh = None;
        if b.op != Op::Idle || !b.want {
            return;
        }
        let user = b.device.setside_username.clone();
        self.on_device_update(io, &user, directory);
        let still_wanted = self
            .regs
            .get(bid)
            .is_some_and(|b| b.want && b.op == Op::Idle);
        if still_wanted {
            self.start_register(io, bid, true);
        }
    }
}

/// The expiry the iPBX granted: our Contact's `expires`, else the Expires
/// header (RFC 3261 §10.2.4).
fn granted_expiry(response: &Message, token: &str) -> Option<u32> {
    let ours = response.contacts().ok().and_then(|cs| {
        cs.iter()
            .find(|c| c.uri().user().is_some_and(|u| u == token))
            .and_then(outpost_sip::NameAddr::expires)
    });
    ours.or_else(|| response.expires().ok().flatten())
}
