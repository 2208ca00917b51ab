//! OPTIONS heartbeats to phones registered over UDP (SIG-8): they keep the
//! NAT mapping open and tell whether the phone is reachable. Any response,
//! even an error, proves it is; a timeout marks it disconnected.

use std::time::Instant;

use outpost_sip::{HeaderName, Method};

use super::BindingId;
use crate::flow::{Destination, Side};
use crate::headers::escape_user;
use crate::sipmsg::{Outgoing, build_request};
use crate::timers::{Handle, Timer};
use crate::{B2bua, Io, Purpose};

impl<D: Destination> B2bua<D> {
    pub(crate) fn on_heartbeat_due(&mut self, io: &mut Io<'_, D>, bid: BindingId, h: Handle) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        if b.t_heartbeat != Some(h) {
            return;
        }
        b.t_heartbeat = None;
        let Some(phone) = b.phone.clone() else {
            return;
        };
        if phone.flow.transport() != crate::flow::Transport::Udp {
            return;
        }
        if b.heartbeat_txn.is_some() {
            return;
        }
        let user = escape_user(&b.device.setside_username);
        let domain = self.public_domain();
        let via = self.via(Side::Public, phone.flow.transport());
        let tag = self.rng.tag();
        let call_id = self.rng.call_id();
        let built = build_request(Outgoing {
            method: Method::Options,
            uri: phone.contact.uri(),
            via,
            routes: &[],
            from: format!("<sip:{domain}>;tag={tag}"),
            to: format!("<sip:{user}@{domain}>"),
            call_id: &call_id,
            cseq: 1,
            contact: None,
            max_forwards: 70,
            headers: vec![(HeaderName::Accept, "application/sdp".to_owned())],
            body: None,
        });
        let sent =
            built.and_then(|req| self.send(io, req, phone.flow.clone(), Purpose::Heartbeat(bid)));
        match sent {
            Ok(id) => {
                if let Some(b) = self.regs.get_mut(bid) {
                    b.heartbeat_txn = Some(id);
                }
            }
            Err(_) => self.on_heartbeat_result(io.now, bid, false),
        }
    }

    pub(crate) fn on_heartbeat_result(&mut self, now: Instant, bid: BindingId, answered: bool) {
        let Some(b) = self.regs.get_mut(bid) else {
            return;
        };
        b.heartbeat_txn = None;
        let Some(p) = b.phone.as_mut() else {
            return;
        };
        p.connected = answered;
        let user = b.device.setside_username.clone();
        if let Some(every) = self.config.heartbeat_interval {
            self.timers
                .reschedule(&mut b.t_heartbeat, now + every, Timer::Heartbeat(bid));
        }
        self.publish_status(&user);
    }
}
