//! Parses arbitrary bytes as a SIP message; when it parses, serialising
//! (an empty edit) and re-parsing must give the same header list, and every
//! typed accessor must return without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_sip::{HeaderName, Limits, Message, ParseError, Response, StatusCode, parse};

fn touch(m: &Message) {
    let _ = (
        m.method(),
        m.status(),
        m.reason(),
        m.request_uri(),
        m.body().len(),
    );
    let _ = (
        m.call_id(),
        m.cseq(),
        m.from()
            .map(|f| (f.tag(), f.display_name(), f.uri().user())),
    );
    let _ = m
        .to()
        .map(|t| (t.tag(), t.uri().host_kind(), t.uri().port()));
    if let Ok(vias) = m.vias() {
        for v in vias {
            let _ = (
                v.transport(),
                v.host(),
                v.port(),
                v.branch(),
                v.received(),
                v.rport(),
                v.has_magic_cookie(),
                v.ttl(),
            );
        }
    }
    if let Ok(cs) = m.contacts() {
        for c in cs {
            let _ = (
                c.expires(),
                c.q(),
                c.uri().params().count(),
                c.uri().headers(),
                c.uri().password(),
            );
        }
    }
    let _ = (
        m.routes(),
        m.record_routes(),
        m.is_contact_wildcard(),
        m.content_length(),
    );
    let _ = m
        .content_type()
        .map(|c| c.map(|c| (c.mtype().len(), c.subtype().len(), c.params().count())));
    let _ = (
        m.max_forwards(),
        m.expires(),
        m.require(),
        m.supported(),
        m.allow(),
    );
    for h in m.headers() {
        let _ = outpost_sip::params(h.value, ',').count();
    }
    let _ = m.name_addrs(&HeaderName::PAssertedIdentity);
    if let Err(e) = m.validate() {
        let _ = StatusCode::from(&e);
        let _ = Response::for_error(&e, Some("t"));
    }
    if let Ok(req) = m.clone().into_request() {
        let r = Response::for_request(&req, StatusCode::OK, "OK", Some("tag1"));
        assert_eq!(r.status(), StatusCode::OK);
        let _ = req.check_scheme();
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    match parse(bytes::Bytes::copy_from_slice(data), &limits) {
        Ok(m) => {
            touch(&m);
            let names: Vec<(String, String)> = m
                .headers()
                .map(|h| (h.raw_name.to_owned(), h.value.to_owned()))
                .collect();
            let had_cl = m.content_length().is_some();
            let again = match m.clone().edit().apply() {
                Ok(a) => a,
                // Adding the missing Content-Length can cross a limit.
                Err(ParseError::Limit { .. }) if !had_cl => return,
                Err(e) => panic!("an unedited message must re-parse: {e}"),
            };
            let names2: Vec<(String, String)> = again
                .headers()
                .map(|h| (h.raw_name.to_owned(), h.value.to_owned()))
                .collect();
            if had_cl {
                assert_eq!(names, names2);
                assert_eq!(again.as_bytes(), m.as_bytes());
            } else {
                assert_eq!(names[..], names2[..names.len()]);
            }
            assert_eq!(again.body(), m.body());
            touch(&again);
        }
        Err(e) => {
            let _ = StatusCode::from(&e);
            let _ = (e.is_request_recognised(), e.to_string());
            let _ = Response::for_error(&e, None);
        }
    }
});
