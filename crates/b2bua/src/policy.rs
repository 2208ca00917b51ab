//! Routing as a trait (ARCHITECTURE.md rule 4, pingora's phases): one
//! required "where does this go" method and default hooks. The remote
//! worker rules are [`RemoteWorkerPolicy`]; trunks and emergency rewrites
//! will be other implementations, not `if`s in the B2BUA.
//!
//! Bodies go through a [`BodyRewriter`], the hook the media layer plugs
//! into (SDP rewriting and port allocation); the default passes them
//! unchanged.

use bytes::Bytes;
use outpost_sip::{Message, Method, StatusCode, Uri};

use crate::events::CallRef;
use crate::flow::{DeviceCredentials, IcpTarget, Side};

/// A registered phone to send to.
#[derive(Clone, Debug, PartialEq)]
pub struct PhoneTarget<D> {
    /// Its device.
    pub setside_username: String,
    /// Its registered Contact: the Request-URI of requests to it.
    pub contact: Uri,
    /// The flow it registered over (its connection, or its NAT mapping).
    pub destination: D,
}

/// An initial (out-of-dialog) request to route.
#[derive(Debug)]
pub struct RouteRequest<'a, D> {
    /// The request.
    pub request: &'a Message,
    /// The side it came from.
    pub side: Side,
    /// Public side: the authenticated device sending it.
    pub caller: Option<&'a DeviceCredentials<D>>,
    /// Private side: the registered phone whose binding token is the
    /// Request-URI's user part, if any.
    pub callee: Option<&'a PhoneTarget<D>>,
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Route<D> {
    /// To an iPBX, on the private side, as the caller's ICP-side user.
    Icp(IcpTarget<D>),
    /// To a registered phone, on the public side.
    Phone(PhoneTarget<D>),
    /// Refused with this status.
    Reject(StatusCode),
}

/// Call routing and hooks. Hooks return `Err(status)` to refuse.
pub trait CallPolicy<D>: Send {
    /// Where an initial request goes.
    fn route(&mut self, request: &RouteRequest<'_, D>) -> Route<D>;

    /// An authenticated phone registers (before anything is sent to the
    /// iPBX).
    fn on_register(&mut self, _device: &DeviceCredentials<D>) -> Result<(), StatusCode> {
        Ok(())
    }
    /// A call is about to be placed (after routing).
    fn on_invite(
        &mut self,
        _call: CallRef,
        _invite: &Message,
        _from: Side,
    ) -> Result<(), StatusCode> {
        Ok(())
    }
    /// The call was answered.
    fn on_answer(&mut self, _call: CallRef) {}
    /// The call failed before an answer with this status.
    fn on_failure(&mut self, _call: CallRef, _status: StatusCode) {}
    /// A side hung up.
    fn on_bye(&mut self, _call: CallRef, _from: Side) {}
}

/// The remote-worker rules (SIG-6, SIG-7): a phone's requests go to its
/// device's ICP; the iPBX's requests go to the phone whose binding token
/// they name.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoteWorkerPolicy;

impl<D: Clone> CallPolicy<D> for RemoteWorkerPolicy {
    fn route(&mut self, request: &RouteRequest<'_, D>) -> Route<D> {
        match request.side {
            Side::Public => match request.caller.map(|d| d.icp.clone()) {
                Some(Some(icp)) => Route::Icp(icp),
                Some(None) => Route::Reject(StatusCode::SERVICE_UNAVAILABLE),
                None => Route::Reject(StatusCode::FORBIDDEN),
            },
            Side::Private => match request.callee {
                Some(phone) => Route::Phone(phone.clone()),
                // RFC 3261 §21.4.18: no such user here.
                None => Route::Reject(StatusCode::NOT_FOUND),
            },
        }
    }
}

/// Where a body is going, for a [`BodyRewriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyContext {
    /// The call (or subscription) it belongs to; `None` outside dialogs.
    pub call: Option<CallRef>,
    /// The side it came from.
    pub from: Side,
    /// The side it goes to.
    pub to: Side,
    /// The method of the request (or of the request answered).
    pub method: Method,
    /// The status, for a response.
    pub status: Option<StatusCode>,
}

/// Rewrites bodies between legs (the media layer's SDP hook).
pub trait BodyRewriter: Send {
    /// The body to send on the other leg. `Err(status)` refuses a request
    /// with that status (e.g. 488, or 503 when no media port is free); for
    /// a response it fails the transaction with that status.
    fn rewrite(
        &mut self,
        context: &BodyContext,
        content_type: &str,
        body: Bytes,
    ) -> Result<Bytes, StatusCode>;

    /// A call ended: release what was allocated for it.
    fn call_ended(&mut self, _call: CallRef) {}
}

/// Passes bodies unchanged (this issue: media comes next).
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThroughBodies;

impl BodyRewriter for PassThroughBodies {
    fn rewrite(&mut self, _: &BodyContext, _: &str, body: Bytes) -> Result<Bytes, StatusCode> {
        Ok(body)
    }
}
