//! Differential test against the parsers of rsipstack (its `rsip` 0.4) and
//! ezk-sip-types 0.4 on a corpus of valid messages: same method/status,
//! Call-ID, CSeq, top Via branch and From/To tags.
//!
//! Both oracles are lax or limited in places, so a message is compared with
//! an oracle only when that oracle parses it, and the skipped ones are
//! printed: rsip rejects folded lines (wsinv, longreq, semiuri), %-escaped
//! users (esc01), dblreq, extension schemes (unksm2) and misreads compact names, so
//! it only sees the messages written with long names; ezk rejects wsinv's
//! folded Via and unksm2's extension schemes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use bytes::Bytes;
use outpost_sip::{Limits, parse};

#[path = "common/oracles.rs"]
mod oracles;
use oracles::{ezk_facts, ours, rsip_facts};

fn corpus() -> Vec<(String, Bytes)> {
    let mut out = Vec::new();
    for name in [
        "wsinv",
        "esc01",
        "escnull",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
        "badbranch",
        "bext01",
        "invut",
        "regaut01",
        "bcast",
        "zeromf",
        "cparam01",
        "cparam02",
        "regescrt",
        "sdp01",
        "unksm2",
        "inv2543",
    ] {
        let path = format!("{}/testdata/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"));
        out.push((name.to_owned(), Bytes::from(std::fs::read(path).unwrap())));
    }
    for seed in 1..=40 {
        out.push((format!("generated-{seed}"), common::message(seed)));
        out.push((format!("plain-{seed}"), common::plain_message(seed)));
    }
    out
}

mod common;

#[test]
fn agrees_with_rsip_and_ezk() {
    let mut compared = (0, 0);
    let mut skipped = (Vec::new(), Vec::new());
    for (name, buf) in corpus() {
        let m = parse(buf.clone(), &Limits::default()).unwrap();
        let mine = ours(&m);
        let exact = m.as_bytes().clone();
        // rsip does not resolve compact names (it takes the first `Via:`
        // line even when a `v:` line is on top), so it is only asked about
        // messages written with long names.
        let rsip = if name.starts_with("generated-") {
            None
        } else {
            rsip_facts(&exact)
        };
        match rsip {
            Some(f) => {
                assert_eq!(f, mine, "rsip disagrees on {name}");
                compared.0 += 1;
            }
            None => skipped.0.push(name.clone()),
        }
        match ezk_facts(&exact) {
            Some(f) => {
                assert_eq!(f, mine, "ezk disagrees on {name}");
                compared.1 += 1;
            }
            None => skipped.1.push(name),
        }
    }
    eprintln!(
        "compared with rsip: {}, skipped: {:?}",
        compared.0, skipped.0
    );
    eprintln!(
        "compared with ezk: {}, skipped: {:?}",
        compared.1, skipped.1
    );
    assert!(
        compared.0 >= 50 && compared.1 >= 80,
        "too few comparisons: {compared:?}"
    );
}
