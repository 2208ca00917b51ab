//! What a SIP stack must read to route a message (method or status,
//! Call-ID, CSeq, top Via branch, From/To tags), read by Outpost's parser
//! and by two other crates' parsers. Shared by the differential test and
//! the benchmark (`#[path]`-included: benches cannot use `tests/common`).
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use bytes::Bytes;
use outpost_sip::Message;

#[derive(Debug, PartialEq, Eq)]
pub struct Facts {
    pub method: Option<String>,
    pub status: Option<u16>,
    pub call_id: String,
    pub cseq: (u32, String),
    pub branch: Option<String>,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
}

pub fn ours(m: &Message) -> Facts {
    let cseq = m.cseq().unwrap();
    Facts {
        method: m.method().map(|x| x.to_string()),
        status: m.status().map(|s| s.as_u16()),
        call_id: m.call_id().unwrap().to_owned(),
        cseq: (cseq.seq, cseq.method.to_string()),
        branch: m.top_via().unwrap().branch().map(str::to_owned),
        from_tag: m.from().unwrap().tag().map(str::to_owned),
        to_tag: m.to().unwrap().tag().map(str::to_owned),
    }
}

pub fn rsip_facts(buf: &[u8]) -> Option<Facts> {
    use rsip::prelude::*;
    let msg = rsip::SipMessage::try_from(buf).ok()?;
    let (method, status) = match &msg {
        rsip::SipMessage::Request(r) => (Some(r.method.to_string()), None),
        rsip::SipMessage::Response(r) => (None, Some(u16::from(r.status_code.clone()))),
    };
    let cseq = msg.cseq_header().ok()?.typed().ok()?;
    let via = msg.via_header().ok()?.typed().ok()?;
    Some(Facts {
        method,
        status,
        call_id: msg.call_id_header().ok()?.value().trim().to_owned(),
        cseq: (cseq.seq, cseq.method.to_string()),
        branch: via.branch().map(|b| b.to_string()),
        from_tag: msg
            .from_header()
            .ok()?
            .typed()
            .ok()?
            .tag()
            .map(|t| t.value().to_owned()),
        to_tag: msg
            .to_header()
            .ok()?
            .typed()
            .ok()?
            .tag()
            .map(|t| t.value().to_owned()),
    })
}

pub fn ezk_facts(buf: &[u8]) -> Option<Facts> {
    use ezk_sip_types::header::typed::{CSeq, CallID, FromTo, Via};
    use ezk_sip_types::msg::{Line, MessageLine, PullParser};
    use ezk_sip_types::parse::{ParseCtx, Parser};
    use ezk_sip_types::{Headers, Name};
    let src = Bytes::copy_from_slice(buf);
    let mut lines = PullParser::new(&src, 0);
    let first = std::str::from_utf8(lines.next()?.ok()?).ok()?;
    let parser = Parser::default();
    let ctx = ParseCtx::new(&src, parser);
    let (_, start) = MessageLine::parse(ctx)(first).ok()?;
    let mut headers = Headers::new();
    for line in lines {
        let line = std::str::from_utf8(line.ok()?).ok()?;
        let (_, l) = Line::parse(&src, line).ok()?;
        headers.insert(l.name, l.value);
    }
    let (method, status) = match &start {
        MessageLine::Request(r) => (Some(r.method.to_string()), None),
        MessageLine::Response(s) => (None, Some(s.code.into_u16())),
    };
    let cseq: CSeq = headers.get_named().ok()?;
    let call_id: CallID = headers.get_named().ok()?;
    let vias: Vec<Via> = headers.get_named().ok()?;
    let from: FromTo = headers.get(Name::FROM).ok()?;
    let to: FromTo = headers.get(Name::TO).ok()?;
    Some(Facts {
        method,
        status,
        call_id: call_id.0.to_string(),
        cseq: (cseq.cseq, cseq.method.to_string()),
        branch: vias
            .first()?
            .params
            .get_val("branch")
            .map(|b| b.to_string()),
        from_tag: from.tag.map(|t| t.to_string()),
        to_tag: to.tag.map(|t| t.to_string()),
    })
}
