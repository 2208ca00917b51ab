//! Out-of-dialog requests: authenticate (phones), route (policy), then
//! either create a call or subscription (INVITE, SUBSCRIBE, REFER) with
//! its two legs, or relay a standalone request (MESSAGE, OPTIONS, INFO,
//! NOTIFY, PUBLISH...) through a one-off pair of leg identities.

use std::time::Duration;

use outpost_sip::{HeaderName, Message, Method, StatusCode, Uri};
use outpost_txn::TransactionId;

use super::{Call, InviteTx, Kind, Leg, LegRequest, Phase};
use crate::auth::Challenge;
use crate::config::uri_host;
use crate::events::{B2buaEvent, Direction};
use crate::flow::{Destination, DeviceCredentials, Directory, Side};
use crate::headers::escape_user;
use crate::policy::{Route, RouteRequest};
use crate::registration::BindingId;
use crate::sipmsg::{contact_uri, display_prefix, next_max_forwards, record_routes, without_tag};
use crate::timers::Timer;
use crate::{B2bua, Io, Purpose, Server};

/// Who is on the far side of a new call.
struct Far<D> {
    leg: Leg<D>,
    /// Set-side and ICP-side usernames of the remote-worker device.
    device: (String, String),
    icp_host: String,
    direction: Direction,
    /// The device's binding (client) the call is with, when known.
    binding: Option<BindingId>,
}

/// Default lifetime of a subscription whose request names none.
const DEFAULT_SUBSCRIPTION: Duration = Duration::from_secs(3600);

impl<D: Destination> B2bua<D> {
    /// An out-of-dialog request (not REGISTER, CANCEL or ACK).
    pub(crate) fn on_initial(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: Message,
        source: D,
        directory: &dyn Directory<D>,
    ) {
        if next_max_forwards(&request).is_none() {
            return self.reply(io, id, &request, &source, StatusCode::TOO_MANY_HOPS);
        }
        if request.from().ok().and_then(|f| f.tag()).is_none() {
            return self.reply(io, id, &request, &source, StatusCode::BAD_REQUEST);
        }
        let side = source.side();
        let method = request.method().cloned().unwrap_or(Method::Options);
        let (route, caller) = match side {
            Side::Public => {
                let trusted = if self.config.trust_registered_connection {
                    self.regs
                        .trusted(&source)
                        .map(|b| b.device.setside_username.clone())
                        .and_then(|u| directory.device(&u))
                        .filter(|d| d.enabled)
                } else {
                    None
                };
                let device = match trusted {
                    Some(d) => d,
                    None => match self.authenticate(
                        io,
                        id,
                        &request,
                        &source,
                        directory,
                        Challenge::Proxy,
                    ) {
                        Some(d) => d,
                        None => return,
                    },
                };
                let route = self.policy.route(&RouteRequest {
                    request: &request,
                    side,
                    caller: Some(&device),
                    callee: None,
                });
                (route, Some(device))
            }
            Side::Private => {
                let target = request
                    .request_uri()
                    .and_then(|u| u.user().map(|u| u.into_owned()))
                    .and_then(|token| self.phone_target(&token));
                let route = self.policy.route(&RouteRequest {
                    request: &request,
                    side,
                    caller: None,
                    callee: target.as_ref(),
                });
                (route, None)
            }
        };
        let far = match route {
            Route::Reject(status) => return self.reply(io, id, &request, &source, status),
            Route::Icp(icp) => {
                let Some(device) = caller else {
                    return self.reply(io, id, &request, &source, StatusCode::FORBIDDEN);
                };
                self.toward_icp(&request, &source, &device, icp, directory)
            }
            Route::Phone(phone) => self.toward_phone(&request, phone),
        };
        let far = match far {
            Ok(f) => f,
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        match method {
            Method::Invite | Method::Subscribe | Method::Refer => {
                self.start_call(io, id, request, source, far, method);
            }
            _ => self.relay_standalone(io, id, request, source, far),
        }
    }

    /// The private leg of a call from a phone (SIG-7): From is the device's
    /// ICP-side identity, URIs in the iPBX's domain, our Contact carries
    /// the device's binding token.
    fn toward_icp(
        &mut self,
        request: &Message,
        source: &D,
        device: &DeviceCredentials<D>,
        icp: crate::IcpTarget<D>,
        directory: &dyn Directory<D>,
    ) -> Result<Far<D>, StatusCode> {
        let host = uri_host(&icp.host);
        let translate = |u: &str| {
            directory
                .device(u)
                .map_or_else(|| u.to_owned(), |d| d.icpside_username)
        };
        let ruri = request.request_uri().ok_or(StatusCode::BAD_REQUEST)?;
        let user = ruri
            .user()
            .map(|u| translate(&u))
            .ok_or(StatusCode::NOT_FOUND)?;
        let port = icp.port.map(|p| format!(":{p}")).unwrap_or_default();
        let user_param = ruri
            .user_param()
            .map(|v| format!(";user={v}"))
            .unwrap_or_default();
        let target = Uri::parse(&format!(
            "sip:{}@{host}{port}{user_param}",
            escape_user(&user)
        ))
        .map_err(|_| StatusCode::BAD_REQUEST)?;
        let from = request.from().map_err(|_| StatusCode::BAD_REQUEST)?;
        let to = request.to().map_err(|_| StatusCode::BAD_REQUEST)?;
        let to_user = to
            .uri()
            .user()
            .map_or_else(|| user.clone(), |u| translate(&u));
        let transport = icp.destination.transport();
        let binding = self.regs.of_source(
            &device.setside_username,
            source,
            contact_uri(request).as_ref(),
        );
        let contact = self.private_contact_for(&device.setside_username, binding, transport);
        let leg = Leg {
            side: Side::Private,
            call_id: self.rng.call_id(),
            local_tag: self.rng.tag(),
            remote_tag: None,
            local_uri: format!(
                "{}<sip:{}@{host}>",
                display_prefix(from),
                escape_user(&device.icpside_username)
            ),
            remote_uri: format!(
                "{}<sip:{}@{host}>",
                display_prefix(to),
                escape_user(&to_user)
            ),
            local_cseq: 0,
            remote_target: target,
            route_set: Vec::new(),
            destination: icp.destination,
            contact,
            last_ack: None,
        };
        Ok(Far {
            leg,
            device: (
                device.setside_username.clone(),
                device.icpside_username.clone(),
            ),
            icp_host: icp.host,
            direction: Direction::FromPhone,
            binding,
        })
    }

    /// The public leg of a request from the iPBX to a registered phone:
    /// Request-URI = its registered Contact, over its flow.
    fn toward_phone(
        &mut self,
        request: &Message,
        phone: crate::PhoneTarget<D>,
    ) -> Result<Far<D>, StatusCode> {
        let domain = self.public_domain();
        let from = request.from().map_err(|_| StatusCode::BAD_REQUEST)?;
        let to = request.to().map_err(|_| StatusCode::BAD_REQUEST)?;
        let binding = self.regs.of_target(&phone);
        let (icp_user, icp_host) = binding
            .and_then(|b| self.regs.get(b))
            .or_else(|| self.regs.any_of(&phone.setside_username))
            .map(|b| (b.device.icpside_username.clone(), b.icp.host.clone()))
            .ok_or(StatusCode::NOT_FOUND)?;
        let from_user = from
            .uri()
            .user()
            .map(|u| self.regs.to_set_user(&u).unwrap_or_else(|| u.into_owned()));
        let from_uri = match from_user {
            Some(u) => format!("<sip:{}@{domain}>", escape_user(&u)),
            None => format!("<sip:{domain}>"),
        };
        let mut display = display_prefix(from);
        if display
            .to_ascii_lowercase()
            .contains(&icp_host.to_ascii_lowercase())
        {
            display.clear();
        }
        let transport = phone.destination.transport();
        let leg = Leg {
            side: Side::Public,
            call_id: self.rng.call_id(),
            local_tag: self.rng.tag(),
            remote_tag: None,
            local_uri: format!("{display}{from_uri}"),
            remote_uri: format!(
                "{}<sip:{}@{domain}>",
                display_prefix(to),
                escape_user(&phone.setside_username)
            ),
            local_cseq: 0,
            remote_target: phone.contact,
            route_set: Vec::new(),
            destination: phone.destination,
            contact: self.contact(Side::Public, transport, None),
            last_ack: None,
        };
        Ok(Far {
            leg,
            device: (phone.setside_username, icp_user),
            icp_host,
            direction: Direction::ToPhone,
            binding,
        })
    }

    /// The leg facing the sender of an initial request.
    fn near_leg(
        &mut self,
        request: &Message,
        source: &D,
        contact: String,
    ) -> Result<Leg<D>, StatusCode> {
        let bad = |_| StatusCode::BAD_REQUEST;
        let from = request.from().map_err(bad)?;
        let to = request.to().map_err(bad)?;
        Ok(Leg {
            side: source.side(),
            call_id: request.call_id().map_err(bad)?.to_owned(),
            local_tag: self.rng.tag(),
            remote_tag: from.tag().map(str::to_owned),
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            local_cseq: 0,
            remote_target: contact_uri(request).unwrap_or_else(|| from.uri().clone()),
            route_set: record_routes(request),
            destination: source.clone(),
            contact,
            last_ack: None,
        })
    }

    fn start_call(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: Message,
        source: D,
        far: Far<D>,
        method: Method,
    ) {
        if self.calls.len() >= self.config.max_dialogs {
            self.stats.overload_rejections += 1;
            return self.reply(io, id, &request, &source, StatusCode::SERVICE_UNAVAILABLE);
        }
        let side = source.side();
        let near_contact = match side {
            Side::Public => self.contact(Side::Public, source.transport(), None),
            Side::Private => {
                self.private_contact_for(&far.device.0, far.binding, source.transport())
            }
        };
        let near = match self.near_leg(&request, &source, near_contact) {
            Ok(l) => l,
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        let key = self.calls.next_key();
        let kind = if method == Method::Invite {
            Kind::Invite
        } else {
            Kind::Subscription
        };
        if kind == Kind::Invite {
            if let Err(status) = self.policy.on_invite(key.as_ref(), &request, side) {
                return self.reply(io, id, &request, &source, status);
            }
        }
        let mut legs = [near.clone(), far.leg.clone()];
        if side == Side::Private {
            legs.swap(0, 1);
        }
        let in_cseq = request.cseq().map(|c| c.seq).unwrap_or(1);
        let mut out_leg = far.leg;
        out_leg.local_cseq = 1;
        let built = self.leg_request(LegRequest {
            leg: &out_leg,
            method: method.clone(),
            cseq: 1,
            incoming: Some(&request),
            // The body hook (media) must know which call an offer opens.
            call: Some(key),
            icp_host: &far.icp_host,
            device: Some((&far.device.0, &far.device.1)),
            origin: Some(&source),
            extra: Vec::new(),
        });
        let out_request = match built {
            Ok(m) => m,
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        let purpose = Purpose::Relay {
            server: Some(id),
            call: Some(key),
            device: Some(far.device.0.clone()),
            auth_tries: 0,
        };
        let client = match self.send(io, out_request, out_leg.destination.clone(), purpose) {
            Ok(c) => c,
            Err(e) => return self.reply(io, id, &request, &source, StatusCode::from(&e)),
        };
        legs[side.other().index()] = out_leg;
        self.servers.insert(
            id,
            Server {
                request: request.clone(),
                source: source.clone(),
                call: Some(key),
                client: Some(client),
                to_tag: near.local_tag.clone(),
                contact: Some(near.contact.clone()),
            },
        );
        let invite = (kind == Kind::Invite).then(|| InviteTx {
            from: side,
            server: id,
            client: Some(client),
            in_cseq,
            out_cseq: 1,
            initial: true,
            provisional: false,
            cancelled: false,
            cancel_sent: false,
            ok: None,
            interval: Self::t1(io),
        });
        let lifetime = match kind {
            Kind::Invite => self.config.max_call_duration,
            Kind::Subscription => subscription_lifetime(&request, io),
        };
        let t_lifetime = Some(
            self.timers
                .schedule(io.now + lifetime, Timer::Lifetime(key)),
        );
        let user = far.device.0.clone();
        self.calls.insert(Call {
            key,
            kind,
            device: far.device.0,
            device_icp: far.device.1,
            binding: far.binding,
            icp_host: far.icp_host,
            legs,
            phase: Phase::Early,
            invite,
            answered_at: None,
            t_retransmit: None,
            t_ack: None,
            t_cancel: None,
            t_lifetime,
        });
        if kind == Kind::Invite {
            self.events.push_back(B2buaEvent::CallStarted {
                call: key.as_ref(),
                direction: far.direction,
                setside_username: user.clone(),
            });
            self.publish_status(&user);
        }
    }

    /// A request outside any dialog that creates none: relayed with fresh
    /// identities on the far side; its response comes back the same way.
    fn relay_standalone(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: Message,
        source: D,
        far: Far<D>,
    ) {
        let method = request.method().cloned().unwrap_or(Method::Options);
        let mut leg = far.leg;
        leg.local_cseq = 1;
        let contact = carries_contact_standalone(&method);
        let built = self.leg_request(LegRequest {
            leg: &leg,
            method,
            cseq: 1,
            incoming: Some(&request),
            call: None,
            icp_host: &far.icp_host,
            device: Some((&far.device.0, &far.device.1)),
            origin: Some(&source),
            extra: Vec::new(),
        });
        let out = match built {
            Ok(m) if contact => m,
            Ok(m) => strip_contact(m),
            Err(status) => return self.reply(io, id, &request, &source, status),
        };
        let purpose = Purpose::Relay {
            server: Some(id),
            call: None,
            device: Some(far.device.0),
            auth_tries: 0,
        };
        let client = match self.send(io, out, leg.destination.clone(), purpose) {
            Ok(c) => c,
            Err(e) => return self.reply(io, id, &request, &source, StatusCode::from(&e)),
        };
        let to_tag = self.rng.tag();
        self.servers.insert(
            id,
            Server {
                request,
                source,
                call: None,
                client: Some(client),
                to_tag,
                contact: None,
            },
        );
    }
}

/// Standalone NOTIFY (unsolicited message-waiting) keeps its Contact.
fn carries_contact_standalone(method: &Method) -> bool {
    matches!(method, Method::Notify)
}

fn strip_contact(m: Message) -> Message {
    if !m.has_header(&HeaderName::Contact) {
        return m;
    }
    let mut e = m.clone().edit();
    e.remove_all(&HeaderName::Contact);
    e.apply().unwrap_or(m)
}

/// How long a new subscription may live without a refresh: its Expires
/// (default one hour) plus 64·T1 for the final NOTIFY.
pub(crate) fn subscription_lifetime<D: Clone>(request: &Message, io: &Io<'_, D>) -> Duration {
    let expires = request
        .expires()
        .ok()
        .flatten()
        .map_or(DEFAULT_SUBSCRIPTION, |s| Duration::from_secs(u64::from(s)));
    expires + io.txn.config().timers.t1 * 64
}

#[cfg(test)]
mod tests {
    #[test]
    fn call_key_maps_to_call_ref() {
        assert_eq!(crate::call::CallKey(3).as_ref(), crate::CallRef(3));
    }
}
