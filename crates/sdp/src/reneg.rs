//! Renegotiation (SPEC MED-4, RFC 3264 §8): what changed between a peer's
//! previous description on a leg and its new one, and what to do with the
//! ports. Hold and resume are direction changes and pass through the
//! rewriting untouched; they need no port change.

use crate::model::Direction;
use crate::stream::{MediaKind, RemoteStream};

/// How one m-line changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamChange {
    /// Inactive (or absent) before and now.
    Inactive,
    /// Active before and now, same media kind.
    Kept,
    /// Newly active (a new m-line, or a disabled slot reused).
    Added,
    /// Active before, now port 0 (or missing): release its ports.
    Removed,
    /// Active before and now but a different media kind: treat as removed
    /// then added.
    Replaced,
}

/// The difference for one m-line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamDiff {
    /// 0-based m-line index.
    pub index: usize,
    /// The media kind now (or before, when removed).
    pub kind: MediaKind,
    /// The overall change.
    pub change: StreamChange,
    /// RTP or RTCP address changed (update the relay's destination).
    pub address_changed: bool,
    /// The peer's SRTP key, suite or MKI changed, or SRTP was switched on
    /// or off: rebuild the SRTP context that decrypts this peer.
    pub key_changed: bool,
    /// SRTP switched on or off on this leg.
    pub security_changed: bool,
    /// Direction before and after, when it changed (hold, resume).
    pub direction: Option<(Direction, Direction)>,
    /// rtcp-mux switched on or off.
    pub rtcp_mux_changed: bool,
    /// The payload type list changed (codec change).
    pub formats_changed: bool,
}

/// What to do with an m-line's local ports on a leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortAction {
    /// Nothing allocated, nothing to allocate.
    None,
    /// Keep the ports already allocated.
    Keep,
    /// Allocate a new pair.
    Allocate,
    /// Release the pair.
    Release,
    /// Release the pair and allocate a new one ("change RTP port on
    /// renegotiation", or a replaced stream).
    Reallocate,
}

impl StreamDiff {
    /// The port decision for this m-line; `change_port_on_renegotiation`
    /// is the seeds' "Changement du port RTP sur renégociation" setting.
    pub fn port_action(&self, change_port_on_renegotiation: bool) -> PortAction {
        match self.change {
            StreamChange::Inactive => PortAction::None,
            StreamChange::Added => PortAction::Allocate,
            StreamChange::Removed => PortAction::Release,
            StreamChange::Replaced => PortAction::Reallocate,
            StreamChange::Kept if change_port_on_renegotiation => PortAction::Reallocate,
            StreamChange::Kept => PortAction::Keep,
        }
    }

    /// Whether anything at all changed.
    pub fn is_unchanged(&self) -> bool {
        matches!(self.change, StreamChange::Kept | StreamChange::Inactive)
            && !self.address_changed
            && !self.key_changed
            && self.direction.is_none()
            && !self.rtcp_mux_changed
            && !self.formats_changed
    }
}

/// Compares a peer's previous streams on a leg (from the last
/// [`crate::OfferPlan`] or [`crate::AnswerPlan`]) with its new ones, one
/// entry per m-line of the longer list. RFC 3264 §8 forbids removing
/// m-lines; missing ones count as removed.
pub fn diff_streams(previous: &[RemoteStream], next: &[RemoteStream]) -> Vec<StreamDiff> {
    let n = previous.len().max(next.len());
    (0..n)
        .filter_map(|index| {
            let before = previous.get(index);
            let after = next.get(index);
            let was = before.is_some_and(|s| s.active);
            let is = after.is_some_and(|s| s.active);
            let kind = after.or(before)?.kind.clone();
            let change = match (was, is) {
                (false, false) => StreamChange::Inactive,
                (false, true) => StreamChange::Added,
                (true, false) => StreamChange::Removed,
                (true, true) if before.map(|s| &s.kind) != after.map(|s| &s.kind) => {
                    StreamChange::Replaced
                }
                (true, true) => StreamChange::Kept,
            };
            let mut diff = StreamDiff {
                index,
                kind: if change == StreamChange::Removed {
                    before?.kind.clone()
                } else {
                    kind
                },
                change,
                address_changed: false,
                key_changed: false,
                security_changed: false,
                direction: None,
                rtcp_mux_changed: false,
                formats_changed: false,
            };
            if let (StreamChange::Kept, Some(b), Some(a)) = (change, before, after) {
                diff.address_changed =
                    b.rtp != a.rtp || b.rtcp != a.rtcp || b.null_address != a.null_address;
                diff.security_changed = b.srtp.is_some() != a.srtp.is_some();
                diff.key_changed = match (&b.srtp, &a.srtp) {
                    (Some(x), Some(y)) => x.key != y.key || x.suite != y.suite || x.mki != y.mki,
                    (None, None) => false,
                    _ => true,
                };
                diff.direction = (b.direction != a.direction).then_some((b.direction, a.direction));
                diff.rtcp_mux_changed = b.rtcp_mux != a.rtcp_mux;
                diff.formats_changed = b.formats != a.formats;
            }
            Some(diff)
        })
        .collect()
}
