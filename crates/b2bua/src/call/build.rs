//! Building what a leg sends: a request from the leg's own dialog state
//! plus what may cross from the other leg (pass-through headers, body), and
//! the response relayed to a server transaction.

use outpost_sip::{HeaderName, Message, Method, StatusCode};
use outpost_txn::TransactionId;

use super::{CallKey, Leg};
use crate::config::uri_host;
use crate::flow::{Destination, Side};
use crate::headers::{Rewriter, escape_user};
use crate::policy::BodyContext;
use crate::sipmsg::{
    Outgoing, body_of, build_request, build_response, next_max_forwards, with_tag,
};
use crate::{B2bua, Io};

/// A request to build on `leg`.
pub(crate) struct LegRequest<'a, D> {
    pub(crate) leg: &'a Leg<D>,
    pub(crate) method: Method,
    pub(crate) cseq: u32,
    /// The request being relayed, if any (headers and body come from it).
    pub(crate) incoming: Option<&'a Message>,
    pub(crate) call: Option<CallKey>,
    /// The iPBX host (URI domain on the private side).
    pub(crate) icp_host: &'a str,
    /// The device (set-side, ICP-side usernames) for user translation.
    pub(crate) device: Option<(&'a str, &'a str)>,
    /// Where `incoming` came from.
    pub(crate) origin: Option<&'a D>,
    pub(crate) extra: Vec<(HeaderName, String)>,
}

/// Methods whose requests carry our Contact (RFC 3261 §8.1.1.8, RFC 3311,
/// RFC 6665, RFC 3515).
fn carries_contact(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

impl<D: Destination> B2bua<D> {
    /// What must not appear in a message sent to `to`: the other side's
    /// addresses, host names and Call-IDs.
    pub(crate) fn hidden_for(
        &self,
        to: Side,
        incoming: Option<&Message>,
        origin: Option<&D>,
        call: Option<CallKey>,
    ) -> Vec<String> {
        let mut hidden = Vec::new();
        if let Some(m) = incoming {
            hidden.extend(m.call_id().ok().map(str::to_owned));
            hidden.extend(
                m.vias()
                    .ok()
                    .into_iter()
                    .flatten()
                    .map(|v| v.host().to_owned()),
            );
            hidden.extend(
                m.contacts()
                    .ok()
                    .into_iter()
                    .flatten()
                    .map(|c| c.uri().host().to_owned()),
            );
        }
        if let Some(o) = origin {
            hidden.push(o.remote_addr().ip().to_string());
        }
        if let Some(call) = call.and_then(|k| self.calls.get(k)) {
            let other = call.leg(to.other());
            hidden.push(other.call_id.clone());
            hidden.push(other.remote_target.host().to_owned());
            hidden.push(other.destination.remote_addr().ip().to_string());
            if to == Side::Public {
                hidden.push(call.icp_host.clone());
            }
        }
        if to == Side::Public {
            hidden.push(self.config.private.host.clone());
            hidden.extend(self.regs.icp_hosts());
        }
        hidden.retain(|h| !h.is_empty());
        hidden.sort();
        hidden.dedup();
        hidden
    }

    /// The pass-through headers of `message` adapted for `to`.
    pub(crate) fn crossing_headers(
        &self,
        message: &Message,
        to: Side,
        hidden: &[String],
        icp_host: &str,
        device: Option<(&str, &str)>,
    ) -> Vec<(HeaderName, String)> {
        let regs = &self.regs;
        let calls = &self.calls;
        let users = |u: &str| match (to, device) {
            (Side::Private, Some((set, icp))) if u == set => Some(icp.to_owned()),
            (Side::Public, Some((set, icp))) if u == icp => Some(set.to_owned()),
            (Side::Private, _) => regs.to_icp_user(u),
            (Side::Public, _) => regs.to_set_user(u),
        };
        let replaces = |v: &str| calls.map_replaces(v, to.other());
        let domain = match to {
            Side::Public => self.public_domain(),
            Side::Private => uri_host(icp_host),
        };
        let rw = Rewriter {
            domain: &domain,
            users: &users,
            hidden,
            replaces: &replaces,
        };
        let mut headers = self.pass.copy(message, &rw);
        // RFC 3325: a phone is not a trusted identity source. Toward the
        // iPBX an asserted identity is always the authenticated device's.
        if let (Side::Private, Some((_, icp))) = (to, device) {
            for (name, value) in &mut headers {
                if matches!(
                    name,
                    HeaderName::PAssertedIdentity | HeaderName::PPreferredIdentity
                ) {
                    *value = format!("<sip:{}@{domain}>", escape_user(icp));
                }
            }
        }
        headers
    }

    /// Builds a request on a leg. A body the [`crate::BodyRewriter`]
    /// refuses gives its status.
    pub(crate) fn leg_request(&mut self, r: LegRequest<'_, D>) -> Result<Message, StatusCode> {
        let leg = r.leg;
        let to = leg.side;
        let hidden = self.hidden_for(to, r.incoming, r.origin, r.call);
        let mut headers = match r.incoming {
            Some(m) => self.crossing_headers(m, to, &hidden, r.icp_host, r.device),
            None => Vec::new(),
        };
        headers.extend(r.extra);
        let body = match r.incoming.and_then(body_of) {
            Some((ct, body)) => {
                let ctx = BodyContext {
                    call: r.call.map(CallKey::as_ref),
                    from: to.other(),
                    to,
                    method: r.method.clone(),
                    status: None,
                };
                Some((ct.clone(), self.bodies.rewrite(&ctx, &ct, body)?))
            }
            None => None,
        };
        let max_forwards = match r.incoming {
            Some(m) => next_max_forwards(m).ok_or(StatusCode::TOO_MANY_HOPS)?,
            None => 70,
        };
        let via = self.via(to, leg.destination.transport());
        let contact = carries_contact(&r.method).then_some(leg.contact.as_str());
        build_request(Outgoing {
            method: r.method,
            uri: &leg.remote_target,
            via,
            routes: &leg.route_set,
            from: with_tag(&leg.local_uri, Some(&leg.local_tag)),
            to: with_tag(&leg.remote_uri, leg.remote_tag.as_deref()),
            call_id: &leg.call_id,
            cseq: r.cseq,
            contact,
            max_forwards,
            headers,
            body,
        })
        .map_err(|e| StatusCode::from(&e))
    }

    /// Relays `response` (from the other leg) on server transaction
    /// `server`. Returns the response sent.
    pub(crate) fn relay_to_server(
        &mut self,
        io: &mut Io<'_, D>,
        server: TransactionId,
        response: &Message,
        call: Option<CallKey>,
    ) -> Option<Message> {
        let srv = self.servers.get(&server)?.clone();
        let to = srv.source.side();
        let status = response.status()?;
        let method = srv.request.method().cloned().unwrap_or(Method::Options);
        // Never pass a challenge on: each side authenticates on its own.
        let status = match status.0 {
            401 | 407 => StatusCode::FORBIDDEN,
            _ => status,
        };
        let (icp_host, device) = match call.and_then(|k| self.calls.get(k)) {
            Some(c) => (
                c.icp_host.clone(),
                Some((c.device.clone(), c.device_icp.clone())),
            ),
            None => (String::new(), None),
        };
        let device_ref = device.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        let hidden = self.hidden_for(to, Some(response), None, call);
        let mut headers = self.crossing_headers(response, to, &hidden, &icp_host, device_ref);
        let dialog_response = matches!(
            method,
            Method::Invite | Method::Subscribe | Method::Refer | Method::Update | Method::Notify
        ) && (status.is_success()
            || (status.is_provisional() && status.0 > 100));
        if dialog_response {
            if let Some(c) = &srv.contact {
                headers.push((HeaderName::Contact, c.clone()));
            }
        }
        if status.is_redirection() {
            headers.extend(self.redirect_contacts(response, to, &icp_host, &hidden, device_ref));
        }
        let body = match body_of(response) {
            Some((ct, body)) => {
                let ctx = BodyContext {
                    call: call.map(CallKey::as_ref),
                    from: to.other(),
                    to,
                    method: method.clone(),
                    status: Some(status),
                };
                match self.bodies.rewrite(&ctx, &ct, body) {
                    Ok(b) => Some((ct, b)),
                    Err(refused) => {
                        self.reply(io, server, &srv.request, &srv.source, refused);
                        return None;
                    }
                }
            }
            None => None,
        };
        let observed = self.observed(&srv.source);
        let out = build_response(
            &srv.request,
            status,
            Some(&srv.to_tag),
            observed,
            headers,
            body,
        )
        .ok()?;
        let _ = io.txn.send_response(io.now, server, out.clone());
        if status.is_final() {
            self.servers.remove(&server);
        }
        Some(out)
    }

    /// The Contacts of a 3xx, rewritten for the other side (user kept, host
    /// ours or the iPBX's), so a redirect is followed through Outpost.
    fn redirect_contacts(
        &self,
        response: &Message,
        to: Side,
        icp_host: &str,
        hidden: &[String],
        device: Option<(&str, &str)>,
    ) -> Vec<(HeaderName, String)> {
        let regs = &self.regs;
        let users = |u: &str| match (to, device) {
            (Side::Private, Some((set, icp))) if u == set => Some(icp.to_owned()),
            (Side::Private, _) => regs.to_icp_user(u),
            (Side::Public, _) => regs.to_set_user(u),
        };
        let domain = match to {
            Side::Public => self.public_domain(),
            Side::Private => uri_host(icp_host),
        };
        let rw = Rewriter {
            domain: &domain,
            users: &users,
            hidden,
            replaces: &|_| None,
        };
        response
            .contacts()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| rw.name_addr(c))
                    .map(|v| (HeaderName::Contact, v))
                    .collect()
            })
            .unwrap_or_default()
    }
}
