//! Calls and subscriptions (SIG-7): a pair of legs, one per side, each a
//! dialog of its own, mapped to each other.
//!
//! - [`initial`]: out-of-dialog requests (new calls, subscriptions and
//!   standalone requests such as MESSAGE or OPTIONS);
//! - [`relay`]: responses coming back, including the INVITE state
//!   machine (early dialogs, 2xx, challenges, CANCEL/200 race);
//! - [`indialog`]: requests inside a dialog, ACK, CANCEL, BYE and the
//!   call timers;
//! - [`build`]: building a request on a leg.

mod build;
mod indialog;
mod initial;
mod relay;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use outpost_sip::{Message, Uri};
use outpost_txn::TransactionId;

use crate::events::CallRef;
use crate::flow::Side;
use crate::headers::parse_replaces;
use crate::registration::BindingId;
use crate::timers::Handle;

pub(crate) use build::LegRequest;

/// Names a call for as long as it lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CallKey(pub(crate) u64);

impl CallKey {
    pub(crate) fn as_ref(self) -> CallRef {
        CallRef(self.0)
    }
}

/// What the dialog pair is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An INVITE dialog: a call.
    Invite,
    /// A SUBSCRIBE or out-of-dialog REFER dialog.
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before any 2xx.
    Early,
    /// Confirmed.
    Confirmed,
    /// A BYE (or final NOTIFY) is in flight; the call ends with its answer.
    Ending,
}

/// One side's dialog.
#[derive(Debug, Clone)]
pub(crate) struct Leg<D> {
    pub(crate) side: Side,
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
    pub(crate) remote_tag: Option<String>,
    /// Our address on this leg (name-addr, no tag).
    pub(crate) local_uri: String,
    /// The peer's address on this leg (name-addr, no tag).
    pub(crate) remote_uri: String,
    /// The last CSeq we used on this leg.
    pub(crate) local_cseq: u32,
    pub(crate) remote_target: Uri,
    pub(crate) route_set: Vec<String>,
    /// Where this leg's peer is reached (latched to the last request's
    /// source on the public side).
    pub(crate) destination: D,
    /// Our Contact on this leg.
    pub(crate) contact: String,
    /// The last ACK for a 2xx sent on this leg, re-sent when the 2xx is.
    pub(crate) last_ack: Option<(u32, Message)>,
}

/// An INVITE (initial or re-INVITE) being relayed.
#[derive(Debug, Clone)]
pub(crate) struct InviteTx {
    /// The side that sent it (we answer it there).
    pub(crate) from: Side,
    pub(crate) server: TransactionId,
    pub(crate) client: Option<TransactionId>,
    pub(crate) in_cseq: u32,
    pub(crate) out_cseq: u32,
    pub(crate) initial: bool,
    pub(crate) provisional: bool,
    pub(crate) cancelled: bool,
    pub(crate) cancel_sent: bool,
    /// The 2xx we sent, retransmitted until the ACK.
    pub(crate) ok: Option<Message>,
    pub(crate) interval: Duration,
}

#[derive(Debug)]
pub(crate) struct Call<D> {
    pub(crate) key: CallKey,
    pub(crate) kind: Kind,
    /// The remote-worker device (set-side username) and its ICP-side
    /// username.
    pub(crate) device: String,
    pub(crate) device_icp: String,
    /// The device's binding (client) the call is with, when known.
    pub(crate) binding: Option<BindingId>,
    /// The iPBX host, the domain of URIs on the private leg.
    pub(crate) icp_host: String,
    pub(crate) legs: [Leg<D>; 2],
    pub(crate) phase: Phase,
    pub(crate) invite: Option<InviteTx>,
    pub(crate) answered_at: Option<Instant>,
    pub(crate) t_retransmit: Option<Handle>,
    pub(crate) t_ack: Option<Handle>,
    pub(crate) t_cancel: Option<Handle>,
    pub(crate) t_lifetime: Option<Handle>,
}

impl<D> Call<D> {
    pub(crate) fn leg(&self, side: Side) -> &Leg<D> {
        &self.legs[side.index()]
    }
    pub(crate) fn leg_mut(&mut self, side: Side) -> &mut Leg<D> {
        &mut self.legs[side.index()]
    }
}

/// Every call, and the dialog index: (side, Call-ID, our tag) → call.
#[derive(Debug)]
pub(crate) struct Calls<D> {
    /// Boxed, so the table's empty slots cost a pointer, not a call.
    calls: HashMap<CallKey, Box<Call<D>>>,
    dialogs: HashMap<(Side, String, String), CallKey>,
    per_device: HashMap<String, usize>,
    per_binding: HashMap<BindingId, usize>,
    next: u64,
}

impl<D> Default for Calls<D> {
    fn default() -> Self {
        Self {
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            per_device: HashMap::new(),
            per_binding: HashMap::new(),
            next: 0,
        }
    }
}

impl<D> Calls<D> {
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }

    /// Gives memory back once the tables are mostly empty (after a burst
    /// of calls they keep their peak capacity otherwise).
    pub(crate) fn compact(&mut self) {
        crate::compact_map(&mut self.calls);
        crate::compact_map(&mut self.dialogs);
    }
    pub(crate) fn invite_count(&self) -> usize {
        self.per_device.values().sum()
    }
    pub(crate) fn in_call(&self, user: &str) -> bool {
        self.per_device.get(user).is_some_and(|n| *n > 0)
    }
    pub(crate) fn binding_in_call(&self, binding: BindingId) -> bool {
        self.per_binding.get(&binding).is_some_and(|n| *n > 0)
    }
    pub(crate) fn next_key(&mut self) -> CallKey {
        self.next += 1;
        CallKey(self.next)
    }
    pub(crate) fn get(&self, key: CallKey) -> Option<&Call<D>> {
        self.calls.get(&key).map(|c| &**c)
    }
    pub(crate) fn get_mut(&mut self, key: CallKey) -> Option<&mut Call<D>> {
        self.calls.get_mut(&key).map(|c| &mut **c)
    }
    pub(crate) fn insert(&mut self, call: Call<D>) {
        for leg in &call.legs {
            self.dialogs.insert(
                (leg.side, leg.call_id.clone(), leg.local_tag.clone()),
                call.key,
            );
        }
        if call.kind == Kind::Invite {
            *self.per_device.entry(call.device.clone()).or_default() += 1;
            if let Some(b) = call.binding {
                *self.per_binding.entry(b).or_default() += 1;
            }
        }
        self.calls.insert(call.key, Box::new(call));
    }
    pub(crate) fn remove(&mut self, key: CallKey) -> Option<Box<Call<D>>> {
        let call = self.calls.remove(&key)?;
        for leg in &call.legs {
            self.dialogs
                .remove(&(leg.side, leg.call_id.clone(), leg.local_tag.clone()));
        }
        if call.kind == Kind::Invite {
            if let Some(n) = self.per_device.get_mut(&call.device) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_device.remove(&call.device);
                }
            }
            if let Some(b) = call.binding {
                if let Some(n) = self.per_binding.get_mut(&b) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.per_binding.remove(&b);
                    }
                }
            }
        }
        Some(call)
    }
    /// The call whose leg on `side` has this Call-ID and our tag.
    pub(crate) fn lookup(&self, side: Side, call_id: &str, local_tag: &str) -> Option<CallKey> {
        self.dialogs
            .get(&(side, call_id.to_owned(), local_tag.to_owned()))
            .copied()
    }
    pub(crate) fn keys(&self) -> Vec<CallKey> {
        self.calls.keys().copied().collect()
    }

    /// Maps a Replaces value naming a dialog on `from` to the same call's
    /// dialog on the other side, as its recipient sees it (RFC 3891 §3:
    /// to-tag is the recipient's tag).
    pub(crate) fn map_replaces(&self, value: &str, from: Side) -> Option<String> {
        let (call_id, to_tag, from_tag, rest) = parse_replaces(value)?;
        let key = self
            .lookup(from, &call_id, &to_tag)
            .or_else(|| self.lookup(from, &call_id, &from_tag))?;
        let other = self.calls.get(&key)?.leg(from.other());
        let mut out = format!(
            "{};to-tag={};from-tag={}",
            other.call_id,
            other.remote_tag.as_deref()?,
            other.local_tag
        );
        for p in rest {
            out.push(';');
            out.push_str(&p);
        }
        Some(out)
    }
}
