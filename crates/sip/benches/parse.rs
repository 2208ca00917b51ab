//! Parse + read the routing headers + three edits + serialise, for an INVITE
//! with SDP, a REGISTER and a 200 OK; plus parse alone for the INVITE.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use bytes::Bytes;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use outpost_sip::{HeaderName, Limits, Message, parse};

#[path = "../tests/common/oracles.rs"]
mod oracles;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;rport\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.10\r\n\
Max-Forwards: 69\r\n\
Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>\r\n\
From: \"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 31862 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com:5061;transport=tls>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, INFO, UPDATE\r\n\
Supported: replaces, timer, 100rel\r\n\
User-Agent: Aastra 6867i/5.1.0.2048\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 299\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/SAVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";

const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/TLS bobspc.biloxi.example.com:5061;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4:5061;transport=tls>;expires=7200;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1\r\n\
Supported: path, outbound\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"245f23415f11432b3434341c022\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\n\
Expires: 7200\r\n\
Content-Length: 0\r\n\
\r\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.101;rport=5061\r\n\
Record-Route: <sip:proxy1.example.com;lr>\r\n\
From: \"Alice Liddell\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 31862 INVITE\r\n\
Contact: <sip:bob@client.biloxi.example.com:5061;transport=tls>\r\n\
Content-Length: 0\r\n\
\r\n";

fn read_and_edit(buf: &Bytes) -> Bytes {
    let limits = Limits::default();
    let m: Message = parse(buf.clone(), &limits).unwrap();
    let via = m.top_via().unwrap();
    black_box(via.branch());
    black_box(m.from().unwrap().tag());
    black_box(m.to().unwrap().tag());
    black_box(m.call_id().unwrap());
    black_box(m.cseq().unwrap());
    black_box(m.routes().unwrap().len());
    black_box(m.contacts().unwrap().first().map(|c| c.uri().host().len()));
    let ua = m
        .headers()
        .find(|h| h.is(&HeaderName::UserAgent) || h.is(&HeaderName::Supported))
        .map(|h| h.index);
    let contact = m
        .headers()
        .find(|h| h.is(&HeaderName::Contact))
        .map(|h| h.index);
    let mut e = m.edit();
    e.prepend_via("SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bK-outpost-1");
    if let Some(i) = ua {
        e.remove(i);
    }
    if let Some(i) = contact {
        e.replace_value(i, "<sip:203.0.113.1:5060;transport=udp>");
    }
    e.apply().unwrap().as_bytes().clone()
}

fn benches(c: &mut Criterion) {
    let invite = Bytes::from_static(INVITE);
    let limits = Limits::default();
    c.bench_function("parse/invite", |b| {
        b.iter(|| parse(black_box(invite.clone()), &limits).unwrap())
    });
    // Parse and read what routing needs, side by side with two other Rust
    // SIP parsers (ARCHITECTURE.md "Chosen dependencies").
    c.bench_function("routing/outpost/invite", |b| {
        b.iter(|| oracles::ours(&parse(black_box(invite.clone()), &limits).unwrap()))
    });
    c.bench_function("routing/rsip/invite", |b| {
        b.iter(|| oracles::rsip_facts(black_box(INVITE)).unwrap())
    });
    c.bench_function("routing/ezk/invite", |b| {
        b.iter(|| oracles::ezk_facts(black_box(INVITE)).unwrap())
    });
    for (name, msg) in [("invite", INVITE), ("register", REGISTER), ("200ok", OK)] {
        let buf = Bytes::from_static(msg);
        c.bench_function(&format!("route+edit/{name}"), |b| {
            b.iter(|| read_and_edit(black_box(&buf)))
        });
    }
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(parse_benches, benches);
}
use group::parse_benches;
criterion_main!(parse_benches);
