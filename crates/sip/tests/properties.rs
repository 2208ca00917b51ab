//! Property tests: parse ∘ serialise is the identity, edits then re-parse
//! give the expected headers, arbitrary and mutated bytes never panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod common;

use bytes::Bytes;
use outpost_sip::{HeaderName, Limits, parse};
use proptest::prelude::*;

fn valid_corpus() -> Vec<Bytes> {
    let mut v = common::generated(64);
    for name in [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
    ] {
        let path = format!("{}/testdata/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"));
        v.push(Bytes::from(std::fs::read(path).unwrap()));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_is_identity(seed in any::<u64>()) {
        let buf = common::message(seed);
        let m = parse(buf.clone(), &Limits::default()).unwrap();
        m.validate().unwrap();
        prop_assert_eq!(m.as_bytes(), &buf);
        let again = m.clone().edit().apply().unwrap();
        prop_assert_eq!(again.as_bytes(), &buf);
    }

    #[test]
    fn edits_are_visible_after_apply(seed in any::<u64>(), which in 0usize..8, value in "[a-z0-9]{1,12}") {
        let m = parse(common::message(seed), &Limits::default()).unwrap();
        let n = m.header_count();
        let before: Vec<(String, String)> = m.headers().map(|h| (h.raw_name.to_owned(), h.value.to_owned())).collect();
        let idx = which % n;
        let removed_is_cl = m.headers().nth(idx).is_some_and(|h| h.is(&HeaderName::ContentLength));
        let mut e = m.edit();
        e.prepend_via(&format!("SIP/2.0/UDP 203.0.113.9;branch=z9hG4bK{value}"));
        e.remove(idx);
        e.append(&HeaderName::new("X-Edit"), &value);
        let out = e.apply().unwrap();
        prop_assert_eq!(out.top_via().unwrap().branch().unwrap(), format!("z9hG4bK{value}"));
        prop_assert_eq!(out.header(&HeaderName::new("x-edit")), Some(value.as_str()));
        let after: Vec<(String, String)> = out.headers().map(|h| (h.raw_name.to_owned(), h.value.to_owned())).collect();
        // One Via more, one header less, one appended, Content-Length
        // re-added at the end if it was the one removed.
        prop_assert_eq!(after.len(), n + 1 + usize::from(removed_is_cl));
        let mut expected = before.clone();
        expected.remove(idx);
        let vias_at = expected.iter().position(|(n, _)| n.eq_ignore_ascii_case("via") || n == "v").unwrap_or(0);
        prop_assert_eq!(&after[vias_at].0, "Via");
        prop_assert_eq!(out.content_length(), Some(out.body().len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = parse(Bytes::from(data), &Limits::default()) {
            let _ = m.validate();
            let _ = m.clone().edit().apply();
        }
    }

    #[test]
    fn mutated_messages_never_panic(pick in any::<usize>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let corpus = valid_corpus();
        let mut data = corpus[pick % corpus.len()].to_vec();
        for (pos, byte) in flips {
            let i = pos % data.len();
            data[i] = byte;
        }
        data.truncate(cut % (data.len() + 1));
        if let Ok(m) = parse(Bytes::from(data), &Limits::default()) {
            let _ = (m.validate(), m.vias(), m.contacts(), m.routes(), m.content_type(), m.require());
            if let Ok(r) = m.clone().into_request() {
                let _ = outpost_sip::Response::for_request(&r, outpost_sip::StatusCode::OK, "", Some("t"));
            }
            let again = m.clone().edit().apply();
            prop_assert!(again.is_ok());
        }
    }
}
