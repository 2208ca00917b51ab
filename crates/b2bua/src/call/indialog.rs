//! Inside a call: requests relayed leg to leg with each leg's own CSeq
//! (re-INVITE, UPDATE, PRACK, INFO, MESSAGE, OPTIONS, REFER, NOTIFY,
//! SUBSCRIBE refreshes, BYE), the ACK for a 2xx regenerated per leg,
//! CANCEL, hang-up, and the call timers.

use std::time::Duration;

use outpost_sip::{HeaderName, Message, Method, StatusCode};
use outpost_txn::TransactionId;

use super::{CallKey, InviteTx, Kind, LegRequest, Phase};
use crate::error::FailedSide;
use crate::events::CallOutcome;
use crate::flow::{Destination, Side};
use crate::sipmsg::{cancel_for, contact_uri};
use crate::timers::{Handle, Timer};
use crate::{B2bua, Io, Purpose, Server};

impl<D: Destination> B2bua<D> {
    /// A request with a To tag.
    pub(crate) fn on_in_dialog(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: Message,
        source: D,
    ) {
        let side = source.side();
        let method = request.method().cloned().unwrap_or(Method::Options);
        let call_id = request.call_id().unwrap_or_default().to_owned();
        let to_tag = request
            .to()
            .ok()
            .and_then(|t| t.tag())
            .unwrap_or_default()
            .to_owned();
        let from_tag = request.from().ok().and_then(|t| t.tag()).map(str::to_owned);
        let Some(key) = self.calls.lookup(side, &call_id, &to_tag) else {
            return self.reply(io, id, &request, &source, StatusCode::CALL_DOES_NOT_EXIST);
        };
        let t1 = Self::t1(io);
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        {
            let near = call.leg_mut(side);
            match (&near.remote_tag, &from_tag) {
                // RFC 6665 §4.1.2.4: a NOTIFY may come before the 2xx and
                // establishes the dialog.
                (None, Some(t)) => near.remote_tag = Some(t.clone()),
                (Some(r), Some(t)) if r == t => {}
                _ => return self.reply(io, id, &request, &source, StatusCode::CALL_DOES_NOT_EXIST),
            }
        }
        if method == Method::Invite && call.invite.is_some() {
            // RFC 3261 §14.2: an INVITE is already in progress.
            return self.reply(io, id, &request, &source, StatusCode(491));
        }
        let near = call.leg_mut(side);
        near.destination = source.clone();
        let target_refresh = matches!(
            method,
            Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
        );
        if target_refresh {
            if let Some(target) = contact_uri(&request) {
                near.remote_target = target;
            }
        }
        let (near_tag, near_contact) = (near.local_tag.clone(), near.contact.clone());
        let far = call.leg_mut(side.other());
        far.local_cseq += 1;
        let cseq = far.local_cseq;
        let far_leg = far.clone();
        let mut extra = Vec::new();
        if method == Method::Prack {
            extra.extend(map_rack(&request, call.invite.as_ref()));
        }
        let (icp_host, device, device_icp) = (
            call.icp_host.clone(),
            call.device.clone(),
            call.device_icp.clone(),
        );
        let built = self.leg_request(LegRequest {
            leg: &far_leg,
            method: method.clone(),
            cseq,
            incoming: Some(&request),
            call: Some(key),
            icp_host: &icp_host,
            device: Some((&device, &device_icp)),
            origin: Some(&source),
            extra,
        });
        let out = match built {
            Ok(m) => m,
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        let purpose = Purpose::Relay {
            server: Some(id),
            call: Some(key),
            device: Some(device),
            auth_tries: 0,
        };
        let client = match self.send(io, out, far_leg.destination.clone(), purpose) {
            Ok(c) => c,
            Err(e) => return self.reply(io, id, &request, &source, StatusCode::from(&e)),
        };
        self.servers.insert(
            id,
            Server {
                request: request.clone(),
                source,
                call: Some(key),
                client: Some(client),
                to_tag: near_tag,
                contact: Some(near_contact),
            },
        );
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        match method {
            Method::Invite => {
                call.invite = Some(InviteTx {
                    from: side,
                    server: id,
                    client: Some(client),
                    in_cseq: request.cseq().map_or(0, |c| c.seq),
                    out_cseq: cseq,
                    initial: false,
                    provisional: false,
                    cancelled: false,
                    cancel_sent: false,
                    ok: None,
                    interval: t1,
                });
            }
            Method::Bye => {
                call.phase = Phase::Ending;
                self.policy.on_bye(key.as_ref(), side);
            }
            Method::Notify | Method::Subscribe if call.kind == Kind::Subscription => {
                let terminated = request
                    .header(&HeaderName::SubscriptionState)
                    .is_some_and(|s| {
                        s.trim_start()
                            .to_ascii_lowercase()
                            .starts_with("terminated")
                    });
                if terminated {
                    call.phase = Phase::Ending;
                }
                let at = io.now + subscription_expiry(&request) + t1 * 64;
                self.timers
                    .reschedule(&mut call.t_lifetime, at, Timer::Lifetime(key));
            }
            _ => {}
        }
    }

    /// An ACK for a 2xx: the other leg gets its own ACK (its CSeq, its
    /// dialog), carrying the body if any (the answer to a 2xx offer).
    pub(crate) fn on_ack(&mut self, io: &mut Io<'_, D>, ack: &Message, source: &D) {
        let side = source.side();
        let (Ok(call_id), Some(to_tag)) = (ack.call_id(), ack.to().ok().and_then(|t| t.tag()))
        else {
            return;
        };
        let Some(key) = self.calls.lookup(side, call_id, to_tag) else {
            return;
        };
        let seq = ack.cseq().map_or(0, |c| c.seq);
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        call.leg_mut(side).destination = source.clone();
        let Some(inv) = call
            .invite
            .take_if(|i| i.from == side && i.ok.is_some() && i.in_cseq == seq)
        else {
            return;
        };
        self.timers.cancel(call.t_retransmit.take());
        self.timers.cancel(call.t_ack.take());
        self.ack_leg(io, key, side.other(), inv.out_cseq, Some(ack));
    }

    /// Sends the ACK for a 2xx on the leg of `side` and keeps it for
    /// re-sending.
    pub(crate) fn ack_leg(
        &mut self,
        io: &mut Io<'_, D>,
        key: CallKey,
        side: Side,
        cseq: u32,
        incoming: Option<&Message>,
    ) {
        let Some(call) = self.calls.get(key) else {
            return;
        };
        let leg = call.leg(side).clone();
        let (icp_host, device, device_icp) = (
            call.icp_host.clone(),
            call.device.clone(),
            call.device_icp.clone(),
        );
        let built = self.leg_request(LegRequest {
            leg: &leg,
            method: Method::Ack,
            cseq,
            incoming,
            call: Some(key),
            icp_host: &icp_host,
            device: Some((&device, &device_icp)),
            origin: None,
            extra: Vec::new(),
        });
        if let Ok(ack) = built {
            io.txn.send_stateless(&ack, leg.destination.clone());
            if let Some(c) = self.calls.get_mut(key) {
                c.leg_mut(side).last_ack = Some((cseq, ack));
            }
        }
    }

    /// Sends a BYE of our own on the leg of `side` (its response is not
    /// relayed anywhere).
    pub(crate) fn bye_leg(&mut self, io: &mut Io<'_, D>, key: CallKey, side: Side) {
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        let device = call.device.clone();
        let leg = call.leg_mut(side);
        if leg.remote_tag.is_none() {
            return;
        }
        leg.local_cseq += 1;
        let (leg, cseq) = (leg.clone(), leg.local_cseq);
        let built = self.leg_request(LegRequest {
            leg: &leg,
            method: Method::Bye,
            cseq,
            incoming: None,
            call: Some(key),
            icp_host: "",
            device: None,
            origin: None,
            extra: Vec::new(),
        });
        if let Ok(bye) = built {
            let purpose = Purpose::Relay {
                server: None,
                call: None,
                device: Some(device),
                auth_tries: 0,
            };
            let _ = self.send(io, bye, leg.destination, purpose);
        }
    }

    /// A CANCEL (RFC 3261 §9.2): 200 to it, 487 to the INVITE, and a
    /// CANCEL of our own on the other leg once it had a provisional
    /// response (§9.1).
    pub(crate) fn on_cancel(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        cancels: Option<TransactionId>,
    ) {
        let Some(invite_txn) = cancels else {
            return self.reply(io, id, request, source, StatusCode::CALL_DOES_NOT_EXIST);
        };
        self.reply(io, id, request, source, StatusCode::OK);
        let Some(srv) = self.servers.get(&invite_txn).cloned() else {
            return;
        };
        let Some(key) = srv.call else {
            return;
        };
        let pending = self
            .calls
            .get(key)
            .and_then(|c| c.invite.as_ref())
            .is_some_and(|i| i.server == invite_txn && i.ok.is_none() && !i.cancelled);
        if !pending {
            return;
        }
        self.reply(
            io,
            invite_txn,
            &srv.request,
            &srv.source,
            StatusCode::REQUEST_TERMINATED,
        );
        let t1 = Self::t1(io);
        let now = io.now;
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        let Some(inv) = call.invite.as_mut() else {
            return;
        };
        inv.cancelled = true;
        let provisional = inv.provisional;
        if inv.initial {
            call.phase = Phase::Ending;
        }
        self.timers
            .reschedule(&mut call.t_cancel, now + t1 * 64, Timer::CancelGiveUp(key));
        if provisional {
            self.send_cancel(io, key);
        }
    }

    /// Cancels the call's pending INVITE on the other leg.
    pub(crate) fn send_cancel(&mut self, io: &mut Io<'_, D>, key: CallKey) {
        let Some(client) = self
            .calls
            .get(key)
            .and_then(|c| c.invite.as_ref())
            .and_then(|i| i.client)
        else {
            return;
        };
        let Some((sent, dest)) = self
            .clients
            .get(&client)
            .map(|c| (c.sent.clone(), c.destination.clone()))
        else {
            return;
        };
        if let Ok(cancel) = cancel_for(&sent) {
            let purpose = Purpose::Relay {
                server: None,
                call: None,
                device: None,
                auth_tries: u8::MAX,
            };
            let _ = self.send(io, cancel, dest, purpose);
        }
        if let Some(i) = self.calls.get_mut(key).and_then(|c| c.invite.as_mut()) {
            i.cancel_sent = true;
        }
    }

    /// Ends a call from our side: BYE on confirmed legs, CANCEL or answer
    /// on a pending INVITE.
    pub(crate) fn hangup(&mut self, io: &mut Io<'_, D>, key: CallKey, outcome: CallOutcome) {
        let Some(call) = self.calls.get(key) else {
            return;
        };
        let (kind, phase, invite) = (call.kind, call.phase, call.invite.clone());
        if kind == Kind::Invite {
            if let Some(inv) = invite.filter(|i| i.ok.is_none() && i.initial) {
                // Not answered yet: as if the caller cancelled (RFC 3261
                // §9.1), so the callee's INVITE ends cleanly.
                if !inv.cancelled {
                    if let Some(srv) = self.servers.get(&inv.server).cloned() {
                        self.reply(
                            io,
                            inv.server,
                            &srv.request,
                            &srv.source,
                            StatusCode::REQUEST_TIMEOUT,
                        );
                    }
                }
                let t1 = Self::t1(io);
                let now = io.now;
                if let Some(call) = self.calls.get_mut(key) {
                    call.phase = Phase::Ending;
                    if call.t_cancel.is_none() {
                        call.t_cancel = Some(
                            self.timers
                                .schedule(now + t1 * 64, Timer::CancelGiveUp(key)),
                        );
                    }
                    if let Some(i) = call.invite.as_mut() {
                        i.cancelled = true;
                    }
                }
                if inv.provisional && !inv.cancel_sent {
                    self.send_cancel(io, key);
                }
                return;
            }
            if phase != Phase::Early {
                self.bye_leg(io, key, Side::Public);
                self.bye_leg(io, key, Side::Private);
            }
        }
        self.end_call(io, key, outcome);
    }

    /// RFC 3261 §13.3.1.4: re-send the 2xx until the ACK, T1 doubling to T2.
    pub(crate) fn on_retransmit_2xx(&mut self, io: &mut Io<'_, D>, key: CallKey, h: Handle) {
        let t2 = io.txn.config().timers.t2;
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        if call.t_retransmit != Some(h) {
            return;
        }
        call.t_retransmit = None;
        let Some(from) = call.invite.as_ref().map(|i| i.from) else {
            return;
        };
        let dest = call.leg(from).destination.clone();
        let Some(inv) = call.invite.as_mut() else {
            return;
        };
        let Some(ok) = inv.ok.clone() else {
            return;
        };
        inv.interval = (inv.interval * 2).min(t2);
        let at = io.now + inv.interval;
        io.txn.send_stateless(&ok, dest);
        self.timers
            .reschedule(&mut call.t_retransmit, at, Timer::Retransmit2xx(key));
    }

    /// No ACK for our 2xx within 64·T1: confirm the other leg and hang up
    /// (RFC 3261 §13.3.1.4).
    pub(crate) fn on_ack_timeout(&mut self, io: &mut Io<'_, D>, key: CallKey, h: Handle) {
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        if call.t_ack != Some(h) {
            return;
        }
        call.t_ack = None;
        self.timers.cancel(call.t_retransmit.take());
        let Some(inv) = call.invite.take() else {
            return;
        };
        self.ack_leg(io, key, inv.from.other(), inv.out_cseq, None);
        self.hangup(io, key, CallOutcome::NoAck(FailedSide::from(inv.from)));
    }

    /// RFC 3261 §9.1: a cancelled INVITE still without a final response
    /// 64·T1 later is given up.
    pub(crate) fn on_cancel_give_up(&mut self, io: &mut Io<'_, D>, key: CallKey, h: Handle) {
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        if call.t_cancel != Some(h) {
            return;
        }
        call.t_cancel = None;
        let Some(inv) = call.invite.take() else {
            return;
        };
        if let Some(c) = inv.client {
            io.txn.terminate(c);
            self.clients.remove(&c);
        }
        if inv.initial {
            self.end_call(io, key, CallOutcome::Cancelled);
        }
    }

    /// The call or subscription outlived its lifetime.
    pub(crate) fn on_lifetime(&mut self, io: &mut Io<'_, D>, key: CallKey, h: Handle) {
        let Some(call) = self.calls.get_mut(key) else {
            return;
        };
        if call.t_lifetime != Some(h) {
            return;
        }
        call.t_lifetime = None;
        self.hangup(io, key, CallOutcome::Completed);
    }

    /// Hangs up every call and unregisters every phone (graceful
    /// shutdown).
    pub(crate) fn shutdown_all(&mut self, io: &mut Io<'_, D>) {
        for key in self.calls.keys() {
            self.hangup(io, key, CallOutcome::Completed);
        }
        for bid in self.regs.ids() {
            self.drop_phone(io, bid);
        }
    }
}

/// RAck names the INVITE by its CSeq on the leg it came from; the other
/// leg's INVITE has its own number (RFC 3262 §7.2).
fn map_rack(prack: &Message, invite: Option<&InviteTx>) -> Option<(HeaderName, String)> {
    let rack = prack.header(&HeaderName::RAck)?;
    let mut parts = rack.split_whitespace();
    let rseq = parts.next()?;
    let seq = invite.map_or_else(
        || parts.next().unwrap_or("1").to_owned(),
        |i| i.out_cseq.to_string(),
    );
    Some((HeaderName::RAck, format!("{rseq} {seq} INVITE")))
}

/// A subscription's expiry from a SUBSCRIBE (Expires) or NOTIFY
/// (Subscription-State `expires=`), default one hour.
fn subscription_expiry(request: &Message) -> Duration {
    let from_state = request
        .header(&HeaderName::SubscriptionState)
        .and_then(|s| {
            s.split(';')
                .filter_map(|p| p.split_once('='))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case("expires"))
                .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        });
    let secs = request
        .expires()
        .ok()
        .flatten()
        .map(u64::from)
        .or(from_state)
        .unwrap_or(3600);
    Duration::from_secs(secs)
}
