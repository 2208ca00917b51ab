//! Everything that touches `outpost-sip` messages: extracting the facts the
//! matching rules need, building the ACK for a non-2xx final response and the
//! 100 (Trying). The rest of the crate works on [`RequestFacts`],
//! [`ResponseFacts`] and bytes.

use outpost_sip::{HeaderName, Message, Method, ParseError, Request, Response, StatusCode, Via};

use crate::error::Error;
use crate::key::{RequestFacts, ResponseFacts, ViaFacts};

fn via_facts(via: &Via) -> ViaFacts {
    ViaFacts {
        transport: via.transport().to_ascii_uppercase().into(),
        host: via.host().to_ascii_lowercase().into(),
        port: via.port(),
        branch: via.branch().map(Into::into),
    }
}

/// What server-side matching needs (RFC 3261 §17.2.3).
pub(crate) fn request_facts(msg: &Message) -> Result<RequestFacts, Error> {
    let method = msg.method().ok_or(Error::NotARequest)?;
    let via = msg.top_via()?;
    let cseq = msg.cseq()?;
    if cseq.method != *method {
        return Err(Error::CSeqMethodMismatch {
            method: method.as_str().into(),
            cseq: cseq.method.as_str().into(),
        });
    }
    Ok(RequestFacts {
        method: method.as_str().into(),
        via: via_facts(via),
        request_uri: msg
            .request_uri()
            .map(|u| u.as_str())
            .unwrap_or_default()
            .into(),
        call_id: msg.call_id()?.into(),
        cseq: cseq.seq,
        from_tag: msg.from()?.tag().map(Into::into),
        to_tag: msg.to()?.tag().map(Into::into),
    })
}

/// What client-side matching needs (RFC 3261 §17.1.3).
pub(crate) fn response_facts(msg: &Message) -> Result<ResponseFacts, Error> {
    let status = msg.status().ok_or(Error::NotAResponse)?;
    let branch = msg.top_via()?.branch().ok_or(Error::MissingBranch)?;
    let cseq = msg.cseq()?;
    Ok(ResponseFacts {
        status: status.0,
        branch: branch.into(),
        cseq_method: cseq.method.as_str().into(),
        to_tag: msg.to().ok().and_then(|to| to.tag()).map(Into::into),
    })
}

/// Method and top Via branch of a request the TU sends.
pub(crate) fn client_facts(msg: &Message) -> Result<(Box<str>, Box<str>), Error> {
    let method = msg.method().ok_or(Error::NotARequest)?;
    let branch = msg.top_via()?.branch().ok_or(Error::MissingBranch)?;
    Ok((method.as_str().into(), branch.into()))
}

/// The status code of a response (0 for a request, which no machine accepts).
pub(crate) fn status(msg: &Message) -> u16 {
    msg.status().map_or(0, |s| s.0)
}

/// The To tag of a message, if it has a readable one.
pub(crate) fn to_tag(msg: &Message) -> Option<Box<str>> {
    msg.to().ok()?.tag().map(Into::into)
}

/// The ACK for a non-2xx final `response` to `invite` (RFC 3261
/// §17.1.1.3): Request-URI, Call-ID, From and CSeq number of the INVITE with
/// method ACK, only the INVITE's top Via, To from the response, the
/// INVITE's Route headers, no body. Values are copied as written.
pub(crate) fn ack(invite: &Message, response: &Message) -> Result<Message, Error> {
    let uri = invite.request_uri().ok_or(Error::NotARequest)?;
    let via = invite.top_via()?;
    let from = raw(invite, HeaderName::From)?;
    let to = raw(response, HeaderName::To)?;
    let call_id = invite.call_id()?;
    let seq = invite.cseq()?.seq;
    let mut builder = Request::builder(Method::Ack, uri).header(HeaderName::Via, via.as_str());
    for route in invite.header_all(&HeaderName::Route) {
        builder = builder.header(HeaderName::Route, route);
    }
    builder
        .header(HeaderName::MaxForwards, "70")
        .header(HeaderName::From, from)
        .header(HeaderName::To, to)
        .header(HeaderName::CallId, call_id)
        .header(HeaderName::CSeq, format!("{seq} ACK"))
        .build()
        .map(Request::into_message)
        .map_err(Error::AckBuild)
}

/// A 100 (Trying) for `request` (RFC 3261 §8.2.6): its Vias, From, To
/// (no tag added), Call-ID, CSeq, and Timestamp (§8.2.6.1).
pub(crate) fn trying(request: &Message) -> Result<Message, Error> {
    let as_request = request
        .clone()
        .into_request()
        .map_err(|_| Error::NotARequest)?;
    let trying = Response::for_request(&as_request, StatusCode::TRYING, "", None).into_message();
    match request.header(&HeaderName::Timestamp) {
        None => Ok(trying),
        Some(ts) => {
            let mut editor = trying.edit();
            editor.append(&HeaderName::Timestamp, ts);
            Ok(editor.apply()?)
        }
    }
}

/// A header's value as written; an error names the missing header.
fn raw(msg: &Message, name: HeaderName) -> Result<&str, Error> {
    match msg.header(&name) {
        Some(value) => Ok(value),
        None => Err(Error::Malformed(ParseError::Missing(name, None))),
    }
}
