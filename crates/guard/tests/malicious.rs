//! SEC-5 (scanners, enumeration, toll fraud) and SEC-6 (brute force).

mod common;

use std::time::Duration;

use common::{Sim, ip};
use outpost_guard::{
    DropReason, Event, Fingerprint, List, Reason, RequestFacts, Settings, Verdict,
    scanner_fingerprint,
};

/// SIPVicious's `createTag`: hex of `data + "\x01" + str(random)`.
fn sv_tag(data: &str, random: u32) -> String {
    let mut bytes = data.as_bytes().to_vec();
    bytes.push(1);
    bytes.extend(random.to_string().bytes());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A legitimate phone's REGISTER (shapes taken from common desk phones).
fn phone_register<'a>() -> RequestFacts<'a> {
    RequestFacts {
        method: "REGISTER",
        user_agent: Some("Yealink SIP-T54W 96.86.0.70"),
        from: Some("\"Alice\" <sip:1001@sbc.example.com>;tag=1529418113"),
        from_user: Some("1001"),
        from_tag: Some("1529418113"),
        to: Some("\"Alice\" <sip:1001@sbc.example.com>"),
        to_user: Some("1001"),
        contact: Some("<sip:1001@192.168.1.23:5062;transport=TLS>"),
        call_id: Some("0_2823648416@192.168.1.23"),
        via_branch: Some("z9hG4bK2059398476"),
        target_is_known_user: true,
        from_is_known_user: true,
        ..RequestFacts::default()
    }
}

#[test]
fn legitimate_phones_and_test_tools_match_no_signature() {
    assert_eq!(scanner_fingerprint(&phone_register()), None);
    let others = [
        (
            "Polycom/5.9.5.0614 PolycomVVX-VVX_450-UA/5.9.5.0614",
            "3f4c2a1b-6d7e",
            "a1b2c3d4e5f60718@10.0.0.5",
            "z9hG4bKc7a5e1f0",
        ),
        (
            "Aastra 6867i/5.1.0.2016",
            "5f6d7e8a9b",
            "d3c2b1a0-1234@10.0.0.6",
            "z9hG4bK-1234-5678-abcd",
        ),
        (
            "MiVoice 6940 IP Phone/6.3.0.1020",
            "8be8b58a",
            "8be8b58a-1f2e@192.168.2.9",
            "z9hG4bK1f2e3d",
        ),
        // SIPp's defaults: the acceptance tests flood with it; the flood
        // must be caught by the rate limits, not by a signature.
        (
            "",
            "12345SIPpTag001",
            "1-12345@192.0.2.50",
            "z9hG4bK-12345-1-0",
        ),
        (
            "sipsak 0.9.8",
            "42cd1937",
            "13af91de@192.0.2.51",
            "z9hG4bK.1ab2c3d4",
        ),
        (
            "baresip v3.10.0 (x86_64/linux)",
            "fd3f8b2a6a5c5e3f",
            "f1d3aa4e1b3c5d7f",
            "z9hG4bKa3b5c7d9",
        ),
    ];
    for (ua, tag, call_id, branch) in others {
        let facts = RequestFacts {
            user_agent: (!ua.is_empty()).then_some(ua),
            from_tag: Some(tag),
            call_id: Some(call_id),
            via_branch: Some(branch),
            ..phone_register()
        };
        assert_eq!(scanner_fingerprint(&facts), None, "{ua}");
    }
    // Numeric Call-IDs alone, or z9hG4bK-<digits> branches alone, occur.
    let numeric_call_id = RequestFacts {
        call_id: Some("1234567890"),
        ..phone_register()
    };
    assert_eq!(scanner_fingerprint(&numeric_call_id), None);
}

#[test]
fn scanner_user_agents_are_recognised() {
    for ua in [
        "friendly-scanner",
        "sipvicious",
        "SIPVicious 0.3.4",
        "sipcli/v1.8",
        "VaxSIPUserAgent/3.1",
        "pplsip",
        "sundayddr",
        "iWar",
        "SIPScan",
        "smap 0.6.0",
        "sip-scan",
        "siparmyknife",
        "sippts",
    ] {
        let facts = RequestFacts {
            user_agent: Some(ua),
            ..phone_register()
        };
        assert!(
            matches!(scanner_fingerprint(&facts), Some(Fingerprint::UserAgent(_))),
            "{ua}"
        );
    }
}

#[test]
fn sipvicious_is_recognised_without_its_user_agent() {
    // svmap -m OPTIONS with a forged User-Agent: the tag gives it away.
    let svmap_tag = sv_tag("c000020113c4", 2_914_361_721);
    let svmap = RequestFacts {
        method: "OPTIONS",
        user_agent: Some("Yealink SIP-T46S 66.86.0.15"),
        from: Some("\"sipvicious\"<sip:100@1.1.1.1>"),
        from_tag: Some(&svmap_tag),
        to: Some("\"sipvicious\"<sip:100@1.1.1.1>"),
        call_id: Some("685946733719148730519117"),
        via_branch: Some("z9hG4bK-1924467211"),
        ..RequestFacts::default()
    };
    assert_eq!(
        scanner_fingerprint(&svmap),
        Some(Fingerprint::SipviciousTag)
    );
    // Tag rewritten too: the default From still gives it away.
    let renamed = RequestFacts {
        from_tag: Some("as8f7d6s"),
        ..svmap
    };
    assert_eq!(
        scanner_fingerprint(&renamed),
        Some(Fingerprint::SipviciousAddress)
    );
    // From rewritten as well: Call-ID and branch shapes together.
    let rewritten = RequestFacts {
        from: Some("<sip:100@example.net>"),
        to: Some("<sip:100@example.net>"),
        contact: None,
        ..renamed
    };
    assert_eq!(
        scanner_fingerprint(&rewritten),
        Some(Fingerprint::NumericCallIdAndBranch)
    );

    // svwar: tag = hex(extension \x01 random).
    let svwar_tag = sv_tag("2001", 1_107_552_904);
    let svwar = RequestFacts {
        method: "REGISTER",
        user_agent: None,
        from_tag: Some(&svwar_tag),
        ..phone_register()
    };
    assert_eq!(
        scanner_fingerprint(&svwar),
        Some(Fingerprint::SipviciousTag)
    );
    // svcrack's first REGISTER has a constant tag; the next ones
    // hex("user:password\x01random").
    let first = RequestFacts {
        from_tag: Some("3206210844"),
        ..phone_register()
    };
    assert_eq!(scanner_fingerprint(&first), Some(Fingerprint::SvcrackTag));
    let crack_tag = sv_tag("1001:123456", 3_996_107_412);
    let crack = RequestFacts {
        from_tag: Some(&crack_tag),
        user_agent: Some("friendly-scanner"),
        ..phone_register()
    };
    assert_eq!(scanner_fingerprint(&crack), Some(Fingerprint::SvcrackTag));
    assert_eq!(Fingerprint::SvcrackTag.reason(), Reason::BruteForce);
    assert_eq!(Fingerprint::SipviciousTag.reason(), Reason::Scanner);
    // makeRequest's default Contact.
    let contact = RequestFacts {
        contact: Some("sip:123@1.1.1.1"),
        ..phone_register()
    };
    assert_eq!(
        scanner_fingerprint(&contact),
        Some(Fingerprint::SipviciousAddress)
    );
    let not_it = RequestFacts {
        contact: Some("<sip:123@1.1.1.10:5060>"),
        ..phone_register()
    };
    assert_eq!(scanner_fingerprint(&not_it), None);
    let rfc = RequestFacts {
        from: Some("Alice <sip:alice@pc33.atlanta.com>;tag=1928301774"),
        ..phone_register()
    };
    assert!(matches!(
        scanner_fingerprint(&rfc),
        Some(Fingerprint::Rfc3261ExampleHost(_))
    ));
}

#[test]
fn svcrack_goes_on_the_brute_force_list_at_its_first_request() {
    let mut sim = Sim::defaults();
    let now = sim.now;
    // svcrack's first REGISTER: default User-Agent, constant tag.
    let first = RequestFacts {
        user_agent: Some("friendly-scanner"),
        from_tag: Some("3206210844"),
        call_id: Some("1820398711"),
        via_branch: Some("z9hG4bK-2709122851"),
        ..phone_register()
    };
    assert_eq!(
        sim.guard.inspect_request(now, ip("203.0.113.70"), &first),
        Verdict::Drop(DropReason::BruteForce)
    );
    assert_eq!(
        sim.check("203.0.113.70"),
        Verdict::Drop(DropReason::DeniedBruteForce)
    );
    let entry = &sim.guard.deny_list(Some(List::BruteForce))[0];
    assert_eq!(entry.reason, Reason::BruteForce);
    assert!(entry.detail.contains("svcrack"), "{}", entry.detail);
}

#[test]
fn a_scanner_is_denied_even_from_an_allow_listed_source() {
    let mut sim = Sim::defaults();
    let now = sim.now;
    sim.guard
        .allow(now, "192.0.2.0/24".parse().unwrap(), String::new())
        .unwrap();
    let facts = RequestFacts {
        user_agent: Some("friendly-scanner"),
        ..phone_register()
    };
    assert_eq!(
        sim.guard.inspect_request(now, ip("192.0.2.5"), &facts),
        Verdict::Drop(DropReason::Scanner)
    );
    assert_eq!(sim.check("192.0.2.5"), Verdict::Drop(DropReason::DeniedDos));
    assert_eq!(sim.check("192.0.2.6"), Verdict::Admit);
    let events = sim.events();
    let denied = events
        .iter()
        .find_map(|e| match e {
            Event::Denied(e) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!((denied.list, denied.reason), (List::Dos, Reason::Scanner));
    assert!(
        denied.detail.contains("friendly-scanner"),
        "{}",
        denied.detail
    );
}

fn probe<'a>(method: &'a str, user: &'a str) -> RequestFacts<'a> {
    RequestFacts {
        method,
        user_agent: Some("Z 5.6.4"),
        from: Some("<sip:anonymous@anonymous.invalid>"),
        from_tag: Some("a9b8c7"),
        to_user: Some(user),
        ruri_user: (method != "REGISTER").then_some(user),
        call_id: Some("x1y2z3@host"),
        via_branch: Some("z9hG4bKabc"),
        ..RequestFacts::default()
    }
}

#[test]
fn enumeration_is_cut_after_the_threshold_of_distinct_unknown_users() {
    let mut sim = Sim::defaults(); // 10 users per 60 s
    let src = ip("203.0.113.30");
    // The same unknown user many times is a misconfigured phone, not a scan.
    for _ in 0..50 {
        let now = sim.now;
        let v = sim
            .guard
            .inspect_request(now, src, &probe("REGISTER", "1999"));
        assert_eq!(v, Verdict::Admit);
    }
    // Distinct users: 9 more are fine (10 in all), the 11th is not.
    let users: Vec<String> = (100..=110).map(|n| n.to_string()).collect();
    for user in &users[..9] {
        let now = sim.now;
        assert!(
            sim.guard
                .inspect_request(now, src, &probe("OPTIONS", user))
                .is_admit()
        );
    }
    let now = sim.now;
    assert_eq!(
        sim.guard
            .inspect_request(now, src, &probe("INVITE", &users[9])),
        Verdict::Drop(DropReason::Enumeration)
    );
    assert_eq!(
        sim.check("203.0.113.30"),
        Verdict::Drop(DropReason::DeniedDos)
    );

    // A slow scan, one user every 7 s, stays under 10 per 60 s.
    let mut sim = Sim::defaults();
    for n in 0..100 {
        let now = sim.now;
        let user = format!("{}", 200 + n);
        assert!(
            sim.guard
                .inspect_request(now, src, &probe("REGISTER", &user))
                .is_admit()
        );
        sim.advance(Duration::from_secs(7));
    }
    // Known users, authenticated requests and registered sources don't count.
    let mut sim = Sim::defaults();
    for n in 0..100 {
        let now = sim.now;
        let user = format!("{}", 300 + n);
        let known = RequestFacts {
            target_is_known_user: true,
            ..probe("INVITE", &user)
        };
        let authenticated = RequestFacts {
            is_authenticated: true,
            ..probe("INVITE", &user)
        };
        assert!(sim.guard.inspect_request(now, src, &known).is_admit());
        assert!(
            sim.guard
                .inspect_request(now, src, &authenticated)
                .is_admit()
        );
    }
    let office = ip("198.51.100.1");
    sim.guard.record_registration(office, true);
    for n in 0..100 {
        let now = sim.now;
        let user = format!("{}", 400 + n);
        assert!(
            sim.guard
                .inspect_request(now, office, &probe("INVITE", &user))
                .is_admit()
        );
    }
}

#[test]
fn unauthenticated_invites_to_external_numbers_are_toll_fraud() {
    let mut sim = Sim::defaults();
    let src = ip("203.0.113.40");
    let now = sim.now;
    let fraud = probe("INVITE", "0046812345678");
    assert_eq!(
        sim.guard.inspect_request(now, src, &fraud),
        Verdict::Drop(DropReason::TollFraud)
    );
    let denied = sim.guard.deny_list(None);
    assert_eq!(denied[0].reason, Reason::TollFraud);
    assert!(
        denied[0].detail.contains("0046812345678"),
        "{}",
        denied[0].detail
    );

    // Not toll fraud: an extension, a non-INVITE, an authenticated INVITE,
    // one from a known user (it will be challenged), one from a source with
    // a live registration (the phone's first, unauthenticated try).
    let src = ip("203.0.113.41");
    let cases = [
        probe("INVITE", "2001"),
        probe("OPTIONS", "+4681234567"),
        RequestFacts {
            is_authenticated: true,
            ..probe("INVITE", "+4681234567")
        },
        RequestFacts {
            from_is_known_user: true,
            ..probe("INVITE", "+4681234567")
        },
    ];
    for facts in cases {
        assert!(
            sim.guard.inspect_request(now, src, &facts).is_admit(),
            "{facts:?}"
        );
    }
    let phone = ip("198.51.100.2");
    sim.guard.record_registration(phone, true);
    let first_try = probe("INVITE", "+4681234567");
    assert!(sim.guard.inspect_request(now, phone, &first_try).is_admit());
}

#[test]
fn brute_force_puts_the_source_on_its_own_list() {
    let mut sim = Sim::defaults(); // 10 failures per 60 s
    let cracker = ip("203.0.113.50");
    for _ in 0..10 {
        let now = sim.now;
        assert!(sim.guard.record_auth_failure(now, cracker).is_admit());
        sim.advance_ms(100);
    }
    let now = sim.now;
    assert_eq!(
        sim.guard.record_auth_failure(now, cracker),
        Verdict::Drop(DropReason::BruteForce)
    );
    assert_eq!(
        sim.check("203.0.113.50"),
        Verdict::Drop(DropReason::DeniedBruteForce)
    );
    let s = sim.guard.stats();
    assert_eq!((s.bruteforce_list_size, s.dos_list_size), (1, 0));
    assert_eq!(
        sim.guard.deny_list(Some(List::BruteForce))[0].reason,
        Reason::BruteForce
    );

    // A phone with a wrong password retrying every 10 s stays under.
    let mut sim = Sim::defaults();
    let phone = ip("198.51.100.3");
    for _ in 0..360 {
        let now = sim.now;
        assert!(sim.guard.record_auth_failure(now, phone).is_admit());
        sim.advance(Duration::from_secs(10));
    }
    // Behind a NAT with 49 registered phones, one misconfigured phone
    // hammering once a second is tolerated: 10 × 50 failures per minute.
    let mut sim = Sim::defaults();
    let office = ip("198.51.100.4");
    for _ in 0..49 {
        sim.guard.record_registration(office, true);
    }
    for _ in 0..600 {
        let now = sim.now;
        assert!(sim.guard.record_auth_failure(now, office).is_admit());
        sim.advance(Duration::from_secs(1));
    }
}

#[test]
fn settings_change_the_malicious_thresholds() {
    let mut sim = Sim::new(Settings {
        enumeration_threshold: 3,
        bruteforce_threshold: 3,
        ..Settings::default()
    });
    let src = ip("203.0.113.60");
    for user in ["1", "2", "3"] {
        let now = sim.now;
        assert!(
            sim.guard
                .inspect_request(now, src, &probe("REGISTER", user))
                .is_admit()
        );
    }
    let now = sim.now;
    assert!(
        !sim.guard
            .inspect_request(now, src, &probe("REGISTER", "4"))
            .is_admit()
    );
    let other = ip("203.0.113.61");
    let verdicts: Vec<bool> = (0..4)
        .map(|_| sim.guard.record_auth_failure(now, other).is_admit())
        .collect();
    assert_eq!(verdicts, [true, true, true, false]);
}
