//! Unit tests for header types, compact forms, folding, IPv6, escapes,
//! limits, edits and builders.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use bytes::Bytes;
use outpost_sip::{
    HeaderName, Host, Limit, Limits, Message, Method, NameAddr, ParseError, Request, Response,
    Scheme, StatusCode, Uri, Via, parse,
};

const INVITE: &str = "INVITE sip:bob@[2001:db8::10]:5070;transport=tcp SIP/2.0\r\n\
v: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKabc;received=2001:db8::9;rport=5061\r\n\
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKdef, SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKghi;maddr=224.2.0.1;ttl=16\r\n\
f: \"A \\\"q\\\"\" <sip:alice@example.com>;tag=a1\r\n\
t: Bob <sip:bob@example.com>\r\n\
i: abc@192.0.2.1\r\n\
CSeq: 7 INVITE\r\n\
m: <sip:alice@192.0.2.1>;expires=60;q=0.5, sip:alice@192.0.2.2;expires=30\r\n\
Route: <sip:p1.example.com;lr>,\r\n <sip:p2.example.com;lr>\r\n\
Record-Route: <sip:rr.example.com;lr>\r\n\
k: timer, 100rel\r\n\
Require: 100rel\r\n\
Allow: INVITE, ACK, BYE\r\n\
Expires: 120\r\n\
Max-Forwards: 70\r\n\
c: application/sdp;charset=utf-8\r\n\
X-Custom: keep  this ;;, as is\r\n\
l: 4\r\n\
\r\n\
v=0\n";

fn msg(s: &str) -> Message {
    parse(Bytes::copy_from_slice(s.as_bytes()), &Limits::default()).unwrap()
}

#[test]
fn typed_headers_and_compact_forms() {
    let m = msg(INVITE);
    m.validate().unwrap();
    assert!(m.is_request());
    assert_eq!(m.method(), Some(&Method::Invite));
    let ruri = m.request_uri().unwrap();
    assert_eq!(ruri.host_kind(), Host::V6("2001:db8::10".parse().unwrap()));
    assert_eq!(ruri.host(), "[2001:db8::10]");
    assert_eq!(ruri.port(), Some(5070));
    assert_eq!(ruri.transport(), Some("tcp"));
    let vias = m.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].host(), "[2001:db8::1]");
    assert_eq!(vias[0].port(), Some(5060));
    assert_eq!(vias[0].received(), Some("2001:db8::9"));
    assert_eq!(vias[0].rport(), Some(Some(5061)));
    assert!(vias[0].has_magic_cookie());
    assert_eq!(vias[2].maddr(), Some("224.2.0.1"));
    assert_eq!(vias[2].ttl(), Some(16));
    assert_eq!(m.top_via().unwrap().transport(), "TCP");
    let from = m.from().unwrap();
    assert_eq!(from.display_name().unwrap(), "A \"q\"");
    assert_eq!(from.tag(), Some("a1"));
    assert_eq!(m.to().unwrap().display_name().unwrap(), "Bob");
    assert_eq!(m.to().unwrap().tag(), None);
    assert_eq!(m.call_id().unwrap(), "abc@192.0.2.1");
    assert_eq!(m.cseq().unwrap().seq, 7);
    let c = m.contacts().unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!((c[0].expires(), c[0].q()), (Some(60), Some(0.5)));
    assert!(!c[1].is_name_addr());
    assert_eq!(c[1].expires(), Some(30));
    assert_eq!(m.routes().unwrap().len(), 2, "folded list");
    assert_eq!(m.record_routes().unwrap()[0].uri().host(), "rr.example.com");
    assert_eq!(m.supported().unwrap(), ["timer", "100rel"]);
    assert_eq!(m.require().unwrap(), ["100rel"]);
    assert_eq!(
        m.allow().unwrap(),
        [Method::Invite, Method::Ack, Method::Bye]
    );
    assert_eq!(m.expires().unwrap(), Some(120));
    assert_eq!(m.max_forwards().unwrap(), Some(70));
    let ct = m.content_type().unwrap().unwrap();
    assert_eq!((ct.mtype(), ct.subtype()), ("application", "sdp"));
    assert_eq!(ct.param("charset"), Some(Some("utf-8")));
    assert_eq!(m.header(&"x-custom".into()), Some("keep  this ;;, as is"));
    assert_eq!(m.body(), b"v=0\n");
    assert_eq!(m.header(&HeaderName::CallId), Some("abc@192.0.2.1"));
    assert_eq!(m.header_all(&HeaderName::Via).count(), 2);
    let names: Vec<&str> = m.headers().map(|h| h.raw_name).take(3).collect();
    assert_eq!(names, ["v", "Via", "f"]);
}

#[test]
fn header_name_table() {
    for (c, long) in [
        ("i", HeaderName::CallId),
        ("m", HeaderName::Contact),
        ("e", HeaderName::ContentEncoding),
        ("l", HeaderName::ContentLength),
        ("c", HeaderName::ContentType),
        ("f", HeaderName::From),
        ("s", HeaderName::Subject),
        ("k", HeaderName::Supported),
        ("t", HeaderName::To),
        ("v", HeaderName::Via),
        ("o", HeaderName::Event),
        ("u", HeaderName::AllowEvents),
        ("r", HeaderName::ReferTo),
        ("x", HeaderName::SessionExpires),
        ("y", HeaderName::Identity),
        ("b", HeaderName::ReferredBy),
        ("j", HeaderName::RejectContact),
        ("a", HeaderName::AcceptContact),
        ("d", HeaderName::RequestDisposition),
    ] {
        assert_eq!(HeaderName::lookup(c.as_bytes()), Some(long.clone()), "{c}");
        assert_eq!(
            HeaderName::lookup(c.to_uppercase().as_bytes()),
            Some(long.clone())
        );
        assert_eq!(long.compact(), c.chars().next());
        assert_eq!(HeaderName::new(&long.as_str().to_uppercase()), long);
    }
    assert_eq!(HeaderName::lookup(b"X-Unknown"), None);
    assert_eq!(HeaderName::new("X-Foo"), HeaderName::new("x-foo"));
    assert!(HeaderName::Via.matches(b"V"));
}

#[test]
fn folding_and_lws() {
    let m = msg(
        "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP\r\n h;branch=z9hG4bK1\r\nFrom:\r\n\t<sip:x@y>\r\n  ;tag=9\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq:\r\n 1\r\n OPTIONS\r\nContent-Length: 0\r\n\r\n",
    );
    m.validate().unwrap();
    assert_eq!(m.top_via().unwrap().host(), "h");
    assert_eq!(m.from().unwrap().tag(), Some("9"));
    assert_eq!(m.cseq().unwrap().method, Method::Options);
}

#[test]
fn uris_and_escapes() {
    let u = Uri::parse("sips:%61lice:pw%21@Example.COM:5061;transport=TLS;lr;x=%41?subject=hi&h=v")
        .unwrap();
    assert_eq!(u.scheme(), Scheme::Sips);
    assert_eq!(u.user().unwrap(), "alice");
    assert_eq!(u.user_raw(), Some("%61lice"));
    assert_eq!(u.password().unwrap(), "pw!");
    assert_eq!(u.port(), Some(5061));
    assert!(u.lr());
    assert_eq!(u.headers(), Some("subject=hi&h=v"));
    assert_eq!(
        u,
        Uri::parse("sips:alice:pw!@example.com:5061;lr;transport=tls;x=A?h=v&subject=hi").unwrap()
    );
    assert_ne!(
        u,
        Uri::parse("sips:alice:pw!@example.com;transport=tls").unwrap(),
        "port absent differs from explicit"
    );
    assert_ne!(
        Uri::parse("sip:a@b").unwrap(),
        Uri::parse("sip:A@b").unwrap(),
        "user is case-sensitive"
    );
    assert_eq!(
        Uri::parse("sip:a@B").unwrap(),
        Uri::parse("sip:a@b").unwrap()
    );
    assert_ne!(
        Uri::parse("sip:a@b;transport=udp").unwrap(),
        Uri::parse("sip:a@b").unwrap()
    );
    let t = Uri::parse("tel:+1-201-555-0123;phone-context=example.com").unwrap();
    assert_eq!(
        (t.scheme(), t.user_raw()),
        (Scheme::Tel, Some("+1-201-555-0123"))
    );
    assert_eq!(t.param("phone-context"), Some(Some("example.com")));
    let v4 = Uri::parse("sip:192.0.2.1").unwrap();
    assert_eq!(v4.ip(), Some("192.0.2.1".parse().unwrap()));
    for bad in [
        "sip:",
        "sip:@host",
        "sip:a@",
        "sip:a@[::1",
        "sip:a@b:99999",
        "sip:a b@c",
        "sip:a@b;",
        "sip:a@b?x",
        "1sip:x",
        "sip:a@[zz]",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(outpost_sip::percent_decode("a%2"), "a%2");
    // Found by fuzzing: duplicate parameter names must not break reflexivity.
    let dup = Uri::parse("siP:asi;P:a.:a.=:asi;P:a.:a.=''&'''aT'').'...").unwrap();
    assert_eq!(dup, dup.clone());
}

#[test]
fn name_addr_forms() {
    let n = NameAddr::parse("sip:a@b;tag=1;user=phone").unwrap();
    assert_eq!(n.tag(), Some("1"));
    assert_eq!(
        n.uri().param("user"),
        None,
        "params belong to the header (§20.10)"
    );
    let n = NameAddr::parse("  Alice Smith   <tel:+123;x=y>;tag=2").unwrap();
    assert_eq!(n.display_name().unwrap(), "Alice Smith");
    assert_eq!(n.uri().param("x"), Some(Some("y")));
    assert!(NameAddr::parse("<sip:a@b").is_err());
    assert!(NameAddr::parse("\"x <sip:a@b>").is_err());
    assert!(NameAddr::parse("sip:a@b?x=y").is_err());
    assert!(NameAddr::parse("<sip:a@b>;;").is_err());
}

#[test]
fn via_parsing() {
    let v =
        Via::parse("SIP / 2.0 / UDP host.example.com : 5060 ; branch = z9hG4bK1 ; rport").unwrap();
    assert_eq!(
        (v.protocol(), v.version(), v.transport(), v.host(), v.port()),
        ("SIP", "2.0", "UDP", "host.example.com", Some(5060))
    );
    assert_eq!(v.rport(), Some(None));
    assert!(Via::parse("SIP/2.0/UDP").is_err());
    assert!(Via::parse("SIP/2.0/UDP h;rport=x").is_err());
    assert!(Via::parse("SIP/2.0/UDP h;branch").is_err());
    assert!(
        !Via::parse("SIP/2.0/UDP h;branch=z9hG4bK")
            .unwrap()
            .has_magic_cookie()
    );
}

#[test]
fn params_tokenizer() {
    let items: Vec<_> = outpost_sip::params(
        r#"Digest realm="a,b", nonce="x\"y" , qop=auth"#.trim_start_matches("Digest "),
        ',',
    )
    .map(Result::unwrap)
    .collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].unquoted().unwrap(), "a,b");
    assert_eq!(items[1].unquoted().unwrap(), "x\"y");
    assert!(
        outpost_sip::params("a=\"open", ',')
            .next()
            .unwrap()
            .is_err()
    );
    assert!(outpost_sip::params("a=1,", ',').nth(1).unwrap().is_err());
}

#[test]
fn limits_are_typed_errors() {
    let big = Limits {
        max_message_size: 10,
        ..Limits::default()
    };
    assert!(matches!(
        parse(Bytes::from_static(INVITE.as_bytes()), &big),
        Err(ParseError::Limit {
            limit: Limit::MessageSize,
            ..
        })
    ));
    let few = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let e = parse(Bytes::from_static(INVITE.as_bytes()), &few).unwrap_err();
    assert!(matches!(
        e,
        ParseError::Limit {
            limit: Limit::HeaderCount,
            ..
        }
    ));
    assert_eq!(StatusCode::from(&e), StatusCode::MESSAGE_TOO_LARGE);
    let short = Limits {
        max_line_length: 40,
        ..Limits::default()
    };
    assert!(matches!(
        parse(Bytes::from_static(INVITE.as_bytes()), &short),
        Err(ParseError::Limit {
            limit: Limit::LineLength,
            ..
        })
    ));
    let uri = Limits {
        max_uri_length: 10,
        ..Limits::default()
    };
    let e = parse(Bytes::from_static(INVITE.as_bytes()), &uri).unwrap_err();
    assert_eq!(StatusCode::from(&e), StatusCode::REQUEST_URI_TOO_LONG);
    assert!(e.is_request_recognised());
    let vias = Limits {
        max_vias: 2,
        ..Limits::default()
    };
    let m = parse(Bytes::from_static(INVITE.as_bytes()), &vias).unwrap();
    assert!(matches!(
        m.vias(),
        Err(ParseError::Limit {
            limit: Limit::ViaCount,
            ..
        })
    ));
}

#[test]
fn garbage_and_truncation() {
    for g in [
        &b""[..],
        b"\r\n\r\n",
        b"hello",
        b"GET / HTTP/1.1\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n",
        b"\xff\xfe",
    ] {
        let e = parse(Bytes::copy_from_slice(g), &Limits::default()).unwrap_err();
        assert!(!e.is_request_recognised(), "{g:?}: {e}");
        assert!(Response::for_error(&e, None).is_none());
    }
    let e = parse(
        Bytes::from_static(b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFoo\r\n\r\n"),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(e.is_request_recognised());
}

#[test]
fn editor_operations() {
    let m = msg(INVITE);
    let x = m
        .headers()
        .find(|h| h.is(&HeaderName::new("X-Custom")))
        .unwrap()
        .index;
    let contact = m
        .headers()
        .find(|h| h.is(&HeaderName::Contact))
        .unwrap()
        .index;
    let mut e = m.edit();
    e.prepend_via("SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKnew")
        .remove(x)
        .replace_value(contact, "<sip:b2bua@203.0.113.1>")
        .insert_before(0, &HeaderName::new("X-First"), "1")
        .insert_after(contact, &HeaderName::Subject, "hello")
        .set_request_uri(&Uri::parse("sip:bob@10.0.0.5").unwrap())
        .set_body(Some("text/plain"), Bytes::from_static(b"hello world"));
    let out = e.apply().unwrap();
    out.validate().unwrap();
    assert_eq!(out.request_uri().unwrap().as_str(), "sip:bob@10.0.0.5");
    assert_eq!(out.vias().unwrap().len(), 4);
    assert_eq!(out.top_via().unwrap().branch(), Some("z9hG4bKnew"));
    assert_eq!(out.header(&HeaderName::new("X-Custom")), None);
    assert_eq!(out.contacts().unwrap()[0].uri().host(), "203.0.113.1");
    assert_eq!(out.header(&HeaderName::Subject), Some("hello"));
    // Insertions at one place keep call order: the new Via, then X-First.
    assert_eq!(out.headers().nth(1).unwrap().raw_name, "X-First");
    assert_eq!(out.body(), b"hello world");
    assert_eq!(out.content_length(), Some(11));
    assert!(out.content_type().unwrap().unwrap().is("text/plain"));

    // Removing Content-Length re-adds it; CR/LF in values is refused.
    let m = msg(INVITE);
    let mut e = m.edit();
    e.remove_all(&HeaderName::ContentLength);
    let out = e.apply().unwrap();
    assert_eq!(out.content_length(), Some(4));
    let mut e = out.edit();
    e.append(&HeaderName::Subject, "a\r\nVia: evil");
    assert!(e.apply().is_err());
}

#[test]
fn builders_and_responses() {
    let uri = Uri::parse("sip:pbx.example.com").unwrap();
    let req = Request::builder(Method::Options, &uri)
        .header(
            HeaderName::Via,
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1",
        )
        .header(HeaderName::From, "<sip:outpost@example.com>;tag=f1")
        .header(HeaderName::To, "<sip:pbx.example.com>")
        .header(HeaderName::CallId, "c1@example.com")
        .header(HeaderName::CSeq, "1 OPTIONS")
        .header(HeaderName::MaxForwards, "70")
        .build()
        .unwrap();
    req.validate().unwrap();
    assert_eq!(req.content_length(), Some(0));
    let r = Response::for_request(&req, StatusCode::OK, "", Some("t9"));
    r.validate().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.reason(), Some("OK"));
    assert_eq!(r.to().unwrap().tag(), Some("t9"));
    assert_eq!(r.call_id().unwrap(), "c1@example.com");
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bKb1"));
    assert_eq!(r.cseq().unwrap().method, Method::Options);
    let trying = Response::for_request(&req, StatusCode::TRYING, "", Some("t9"));
    assert_eq!(trying.to().unwrap().tag(), None, "no tag on 100");
    let built = Response::builder(StatusCode(486))
        .header(HeaderName::CallId, "x")
        .body("text/plain", "busy")
        .build()
        .unwrap();
    assert_eq!(built.reason(), Some("Busy Here"));
    assert_eq!(built.body(), b"busy");
    assert!(
        Request::builder(Method::Options, &uri)
            .header(HeaderName::Subject, "a\nb")
            .build()
            .is_err()
    );
}

#[test]
fn error_responses() {
    let bad = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n";
    let m = msg(bad);
    let e = m.validate().unwrap_err();
    assert!(matches!(e, ParseError::MethodMismatch { .. }));
    let r = Response::for_error(&e, Some("zz")).unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.to().unwrap().tag(), Some("zz"));
    assert!(
        r.header(&HeaderName::Warning)
            .unwrap()
            .starts_with("399 - \"CSeq method")
    );
}
