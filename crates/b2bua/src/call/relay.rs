//! Responses from the far leg: relayed to the server transaction they
//! answer, after updating the far leg's dialog (tags, target, route set);
//! challenges from the iPBX answered with the ICP-side credentials; the
//! INVITE state machine (early dialogs, 2xx and its retransmission,
//! CANCEL/200 race, forks); and what a timeout means.

use outpost_sip::auth::{DigestClient, select_challenge};
use outpost_sip::{HeaderName, Message, Method, StatusCode};
use outpost_txn::TransactionId;

use super::{CallKey, Kind, Leg, Phase};
use crate::events::{B2buaEvent, CallOutcome, Failure};
use crate::flow::{Destination, Directory, Side};
use crate::sipmsg::{contact_uri, record_routes, resend_with, without_tag};
use crate::timers::Timer;
use crate::{B2bua, Client, Io, Purpose};

/// Most challenges answered for one request.
const MAX_AUTH_TRIES: u8 = 2;

impl<D: Destination> B2bua<D> {
    /// A response to a request we relayed or originated in a call.
    pub(crate) fn on_relay_response(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        response: Message,
        directory: &dyn Directory<D>,
    ) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let Purpose::Relay { server, call, .. } = &client.purpose else {
            return;
        };
        let (server, call) = (*server, *call);
        let side = client.destination.side();
        let Some(status) = response.status() else {
            return;
        };
        if status == StatusCode::TRYING {
            return;
        }
        let method = response
            .cseq()
            .map(|c| c.method.clone())
            .unwrap_or(Method::Options);
        if method == Method::Invite {
            let current = call
                .and_then(|k| self.calls.get(k))
                .and_then(|c| c.invite.as_ref())
                .is_some_and(|inv| inv.client == Some(id));
            match (current, call) {
                (true, Some(key)) => {
                    return self.invite_response(io, id, key, &response, directory);
                }
                _ if status.is_success() => return self.stray_2xx(io, id, call, &response),
                _ => {
                    if status.is_final() {
                        self.clients.remove(&id);
                    }
                    return;
                }
            }
        }
        if status.is_final() {
            self.clients.remove(&id);
        }
        if matches!(status.0, 401 | 407) && self.resend_with_auth(io, id, &response, directory) {
            return;
        }
        if let Some(key) = call {
            self.update_far_leg(key, side, &response, &method);
        }
        if let Some(srv) = server {
            self.relay_to_server(io, srv, &response, call);
        }
        if let Some(key) = call {
            self.after_response(io, key, side, &method, status);
        }
    }

    /// Dialog state a response establishes on the far leg: the first tag
    /// seen (early or 2xx), the target and, from the dialog-creating
    /// response, the route set (RFC 3261 §12.1.2: Record-Route reversed).
    fn update_far_leg(&mut self, key: CallKey, side: Side, response: &Message, method: &Method) {
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        let status = response.status().unwrap_or(StatusCode(500));
        let creates = matches!(method, Method::Invite | Method::Subscribe | Method::Refer)
            && (status.is_success() || (status.is_provisional() && status.0 > 100));
        let refreshes = matches!(method, Method::Invite | Method::Update | Method::Subscribe)
            && status.is_success();
        let early = call.phase == Phase::Early;
        let leg = call.leg_mut(side);
        let tag = response.to().ok().and_then(|t| t.tag()).map(str::to_owned);
        if creates && tag.is_some() && (leg.remote_tag.is_none() || (early && status.is_success()))
        {
            leg.remote_tag = tag;
            let mut rr = record_routes(response);
            rr.reverse();
            leg.route_set = rr;
        }
        if creates || refreshes {
            if let Some(target) = contact_uri(response) {
                leg.remote_target = target;
            }
        }
    }

    /// The far side's answer to an INVITE of the call's current
    /// transaction.
    fn invite_response(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        key: CallKey,
        response: &Message,
        directory: &dyn Directory<D>,
    ) {
        let Some(inv) = self.calls.get(key).and_then(|c| c.invite.clone()) else {
            return;
        };
        let status = response.status().unwrap_or(StatusCode(500));
        let far = inv.from.other();
        if status.is_provisional() {
            self.update_far_leg(key, far, response, &Method::Invite);
            if let Some(i) = self.calls.get_mut(key).and_then(|c| c.invite.as_mut()) {
                i.provisional = true;
            }
            if inv.cancelled {
                if !inv.cancel_sent {
                    self.send_cancel(io, key);
                }
                return;
            }
            self.relay_to_server(io, inv.server, response, Some(key));
            return;
        }
        if status.is_success() && inv.ok.is_some() {
            // The far UAS re-sends its 2xx until it gets our ACK, which
            // waits for the near side's ACK (RFC 3261 §13.3.1.4; the near
            // side's copy is retransmitted on our own timer). Absorb it, or
            // hang up another fork's 2xx.
            return self.stray_2xx(io, id, Some(key), response);
        }
        if status.is_success() {
            self.update_far_leg(key, far, response, &Method::Invite);
            if inv.cancelled {
                // RFC 3261 §9.1 race: the far side answered before our
                // CANCEL; confirm and hang up that leg.
                self.ack_leg(io, key, far, inv.out_cseq, None);
                self.bye_leg(io, key, far);
                return self.end_call(io, key, CallOutcome::Cancelled);
            }
            let Some(ok) = self.relay_to_server(io, inv.server, response, Some(key)) else {
                self.ack_leg(io, key, far, inv.out_cseq, None);
                self.bye_leg(io, key, far);
                return self.end_call(io, key, CallOutcome::Failed(crate::FailedSide::Internal));
            };
            let now = io.now;
            let t1 = Self::t1(io);
            let near_reliable = self
                .calls
                .get(key)
                .is_some_and(|c| c.leg(inv.from).destination.transport().is_reliable());
            let Some(call) = self.calls.get_mut(key) else {
                return;
            };
            let first_answer = call.answered_at.is_none() && inv.initial;
            call.phase = Phase::Confirmed;
            if first_answer {
                call.answered_at = Some(now);
            }
            if let Some(i) = call.invite.as_mut() {
                i.ok = Some(ok);
                i.interval = t1;
            }
            if !near_reliable {
                self.timers
                    .reschedule(&mut call.t_retransmit, now + t1, Timer::Retransmit2xx(key));
            }
            self.timers
                .reschedule(&mut call.t_ack, now + t1 * 64, Timer::AckTimeout(key));
            if first_answer && call.kind == Kind::Invite {
                self.events
                    .push_back(B2buaEvent::CallAnswered { call: key.as_ref() });
                self.policy.on_answer(key.as_ref());
            }
            return;
        }
        // A final failure.
        if matches!(status.0, 401 | 407)
            && !inv.cancelled
            && self.resend_with_auth(io, id, response, directory)
        {
            return;
        }
        self.clients.remove(&id);
        if let Some(call) = self.calls.get_mut(key) {
            call.invite = None;
            self.timers.cancel(call.t_cancel.take());
        }
        if !inv.cancelled {
            self.relay_to_server(io, inv.server, response, Some(key));
        }
        if inv.initial {
            let outcome = if inv.cancelled {
                CallOutcome::Cancelled
            } else {
                self.policy.on_failure(key.as_ref(), status);
                CallOutcome::Rejected(status)
            };
            self.end_call(io, key, outcome);
        } else if matches!(status.0, 408 | 481) {
            // RFC 3261 §12.2.1.2: the dialog is gone.
            self.hangup(io, key, CallOutcome::Completed);
        }
    }

    /// A 2xx to an INVITE that is not the call's current transaction: a
    /// retransmission (re-send our ACK) or a 2xx from another fork, or for
    /// a call that is gone (ACK it and hang up, RFC 3261 §13.2.2.4).
    fn stray_2xx(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        call: Option<CallKey>,
        response: &Message,
    ) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        let side = client.destination.side();
        let seq = response.cseq().map(|c| c.seq).unwrap_or(0);
        let tag = response.to().ok().and_then(|t| t.tag()).map(str::to_owned);
        if let Some(leg) = call.and_then(|k| self.calls.get(k)).map(|c| c.leg(side)) {
            if leg.remote_tag == tag {
                if let Some((n, ack)) = &leg.last_ack {
                    if *n == seq {
                        let (ack, dest) = (ack.clone(), leg.destination.clone());
                        io.txn.send_stateless(&ack, dest);
                    }
                }
                return;
            }
        }
        if let Some(leg) = stray_leg(client, response) {
            let ack = self.leg_request(super::LegRequest {
                leg: &leg,
                method: Method::Ack,
                cseq: seq,
                incoming: None,
                call: None,
                icp_host: "",
                device: None,
                origin: None,
                extra: Vec::new(),
            });
            if let Ok(ack) = ack {
                io.txn.send_stateless(&ack, leg.destination.clone());
            }
            let bye = self.leg_request(super::LegRequest {
                leg: &leg,
                method: Method::Bye,
                cseq: seq.saturating_add(1),
                incoming: None,
                call: None,
                icp_host: "",
                device: None,
                origin: None,
                extra: Vec::new(),
            });
            if let Ok(bye) = bye {
                let purpose = Purpose::Relay {
                    server: None,
                    call: None,
                    device: None,
                    auth_tries: MAX_AUTH_TRIES,
                };
                let _ = self.send(io, bye, leg.destination, purpose);
            }
        }
    }

    /// Answers a 401/407 from the iPBX with the device's ICP-side
    /// credentials: same Call-ID and tags, the leg's next CSeq, a new
    /// branch (RFC 3261 §22.2). False when it cannot or should not.
    fn resend_with_auth(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        response: &Message,
        directory: &dyn Directory<D>,
    ) -> bool {
        let Some(client) = self.clients.get(&id) else {
            return false;
        };
        let Purpose::Relay {
            server,
            call,
            device: Some(user),
            auth_tries,
        } = &client.purpose
        else {
            return false;
        };
        let side = client.destination.side();
        if side != Side::Private || *auth_tries >= MAX_AUTH_TRIES {
            return false;
        }
        let (server, call, user, tries) = (*server, *call, user.clone(), *auth_tries);
        let (sent, destination) = (client.sent.clone(), client.destination.clone());
        let Some(creds) = directory.device(&user) else {
            return false;
        };
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
        let Ok(mut digest) = DigestClient::new(creds.icpside_username, creds.icpside_password)
        else {
            return false;
        };
        let method = sent.method().cloned().unwrap_or(Method::Options);
        let uri = sent
            .request_uri()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default();
        let Ok(answer) = digest.respond(&challenge, method.as_str(), &uri, self.rng.bytes16())
        else {
            return false;
        };
        let seq = match call.and_then(|k| self.calls.get_mut(k)) {
            Some(c) => {
                let leg = c.leg_mut(side);
                leg.local_cseq = leg.local_cseq.max(sent.cseq().map_or(0, |c| c.seq)) + 1;
                leg.local_cseq
            }
            None => sent.cseq().map_or(1, |c| c.seq + 1),
        };
        let via = self.via(side, destination.transport());
        let Ok(again) = resend_with(&sent, &via, seq, (creds_h, answer.to_header_value())) else {
            return false;
        };
        let purpose = Purpose::Relay {
            server,
            call,
            device: Some(user),
            auth_tries: tries + 1,
        };
        let Ok(new_id) = self.send(io, again, destination, purpose) else {
            return false;
        };
        self.clients.remove(&id);
        if let Some(s) = server.and_then(|s| self.servers.get_mut(&s)) {
            s.client = Some(new_id);
        }
        if method == Method::Invite {
            if let Some(i) = call
                .and_then(|k| self.calls.get_mut(k))
                .and_then(|c| c.invite.as_mut())
                .filter(|i| i.client == Some(id))
            {
                i.client = Some(new_id);
                i.out_cseq = seq;
            }
        }
        true
    }

    /// What a final response to a non-INVITE request means for the call.
    fn after_response(
        &mut self,
        io: &mut Io<'_, D>,
        key: CallKey,
        side: Side,
        method: &Method,
        status: StatusCode,
    ) {
        let Some(call) = self.calls.get(key) else {
            return;
        };
        if !status.is_final() {
            return;
        }
        let (kind, phase, answered) = (call.kind, call.phase, call.answered_at.is_some());
        match (kind, method) {
            (Kind::Invite, Method::Bye) => {
                let outcome = if answered {
                    CallOutcome::Completed
                } else {
                    CallOutcome::Cancelled
                };
                self.end_call(io, key, outcome);
            }
            (Kind::Invite, _) if matches!(status.0, 408 | 481) => {
                self.hangup(io, key, CallOutcome::Completed);
            }
            (Kind::Subscription, Method::Subscribe | Method::Refer) if phase == Phase::Early => {
                if status.is_success() {
                    self.subscription_refreshed(io, key, status, side);
                } else if self
                    .calls
                    .get(key)
                    .is_some_and(|c| c.leg(side).remote_tag.is_none())
                {
                    self.end_call(io, key, CallOutcome::Rejected(status));
                }
            }
            (Kind::Subscription, _) if status.0 == 481 || phase == Phase::Ending => {
                self.end_call(io, key, CallOutcome::Completed);
            }
            _ => {}
        }
    }

    fn subscription_refreshed(
        &mut self,
        _io: &mut Io<'_, D>,
        key: CallKey,
        _status: StatusCode,
        _side: Side,
    ) {
        if let Some(call) = self.calls.get_mut(key) {
            call.phase = Phase::Confirmed;
        }
    }

    /// A relayed or own request got no response (timeout) or could not be
    /// sent: its server transaction gets 408/503 and the call reacts as to
    /// that response.
    pub(crate) fn on_relay_failure(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        status: StatusCode,
        failure: Failure,
    ) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        let Purpose::Relay { server, call, .. } = client.purpose else {
            return;
        };
        let side = client.destination.side();
        let method = client.sent.method().cloned().unwrap_or(Method::Options);
        let reply_server = |this: &mut Self, io: &mut Io<'_, D>| {
            if let Some(s) = server.and_then(|s| this.servers.get(&s).cloned().map(|v| (s, v))) {
                this.reply(io, s.0, &s.1.request, &s.1.source, status);
            }
        };
        let current_invite = call
            .and_then(|k| self.calls.get(k))
            .and_then(|c| c.invite.clone())
            .filter(|i| i.client == Some(id));
        if let (Some(inv), Some(key)) = (current_invite, call) {
            if let Some(c) = self.calls.get_mut(key) {
                c.invite = None;
                self.timers.cancel(c.t_cancel.take());
            }
            if !inv.cancelled {
                reply_server(self, io);
            }
            if inv.initial {
                let outcome = match (inv.cancelled, failure) {
                    (true, _) => CallOutcome::Cancelled,
                    (false, Failure::Timeout) => CallOutcome::NoAnswer,
                    (false, Failure::TransportError) => CallOutcome::Failed(side.into()),
                };
                self.policy.on_failure(key.as_ref(), status);
                self.end_call(io, key, outcome);
            } else {
                self.hangup(io, key, CallOutcome::Completed);
            }
            return;
        }
        reply_server(self, io);
        if let Some(key) = call {
            self.after_response(io, key, side, &method, StatusCode::REQUEST_TIMEOUT);
        }
    }

    /// The call is over: forget it and report.
    pub(crate) fn end_call(&mut self, io: &mut Io<'_, D>, key: CallKey, outcome: CallOutcome) {
        let Some(call) = self.calls.remove(key) else {
            return;
        };
        for t in [
            call.t_retransmit,
            call.t_ack,
            call.t_cancel,
            call.t_lifetime,
        ] {
            self.timers.cancel(t);
        }
        // An INVITE still without a final response dies with the call: its
        // sender gets an answer, its client transaction is given up.
        if let Some(inv) = call.invite.as_ref().filter(|i| i.ok.is_none()) {
            if let Some(c) = inv.client {
                io.txn.terminate(c);
                self.clients.remove(&c);
            }
            if let Some(srv) = self.servers.get(&inv.server).cloned() {
                self.reply(
                    io,
                    inv.server,
                    &srv.request,
                    &srv.source,
                    StatusCode::REQUEST_TERMINATED,
                );
            }
        }
        if call.kind != Kind::Invite {
            return;
        }
        match outcome {
            CallOutcome::Completed => self.stats.calls_completed += 1,
            CallOutcome::Cancelled => self.stats.calls_cancelled += 1,
            CallOutcome::Rejected(_) => self.stats.calls_rejected += 1,
            CallOutcome::NoAnswer => self.stats.calls_no_answer += 1,
            CallOutcome::Failed(_) | CallOutcome::MediaTimeout => self.stats.calls_failed += 1,
            CallOutcome::NoAck(_) => self.stats.calls_no_ack += 1,
        }
        let duration = call
            .answered_at
            .map(|a| io.now.saturating_duration_since(a))
            .unwrap_or_default();
        self.events.push_back(B2buaEvent::CallEnded {
            call: key.as_ref(),
            outcome,
            duration,
        });
        self.bodies.call_ended(key.as_ref());
        self.publish_status(&call.device);
    }
}

/// A leg made from an INVITE we sent and a 2xx to it, for a call we no
/// longer hold (or another fork's dialog).
fn stray_leg<D: Destination>(client: &Client<D>, response: &Message) -> Option<Leg<D>> {
    let sent = &client.sent;
    let from = sent.from().ok()?;
    let to = response.to().ok()?;
    let mut rr = record_routes(response);
    rr.reverse();
    Some(Leg {
        side: client.destination.side(),
        call_id: sent.call_id().ok()?.to_owned(),
        local_tag: from.tag()?.to_owned(),
        remote_tag: to.tag().map(str::to_owned),
        local_uri: without_tag(from),
        remote_uri: without_tag(to),
        local_cseq: sent.cseq().ok()?.seq,
        remote_target: contact_uri(response).or_else(|| sent.request_uri().cloned())?,
        route_set: rr,
        destination: client.destination.clone(),
        contact: String::new(),
        last_ack: None,
    })
}
