//! Responses Outpost builds itself, with the headers a status calls for.

use outpost_sip::{HeaderName, Message, Request, Response, StatusCode};

/// A response to `request` with extra headers; `tag` is the To tag to add
/// when the request has none (RFC 3261 §8.2.6.2).
pub fn reply(
    request: &Request,
    status: StatusCode,
    reason: &str,
    tag: Option<&str>,
    extra: &[(HeaderName, &str)],
) -> Message {
    let response = Response::for_request(request, status, reason, tag);
    if extra.is_empty() {
        return response.into_message();
    }
    let mut edit = response.into_message().edit();
    for (name, value) in extra {
        edit.append(name, value);
    }
    // Our own header values are well formed; should one ever not be, the
    // bare response is still a correct answer.
    edit.apply()
        .unwrap_or_else(|_| Response::for_request(request, status, reason, tag).into_message())
}
