//! RFC 4475 torture messages: each file in `testdata/rfc4475/` is parsed and
//! validated, and the outcome compared with what the RFC prescribes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use bytes::Bytes;
use outpost_sip::{HeaderName, Limits, Message, ParseError, Response, Scheme, StatusCode, parse};

/// What an element does with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Parses and validates.
    Accept,
    /// Parses and validates; the application then answers this status
    /// after checking an accessor (RFC 4475 §3.3: semantics, not syntax).
    Policy(u16),
    /// Rejected; a request that gets this response.
    Reject(u16),
    /// Rejected and dropped: a response (never answered) or garbage.
    Drop,
}
use Expect::*;

const TABLE: &[(&str, Expect, &str)] = &[
    // §3.1.1 Valid messages.
    (
        "wsinv",
        Accept,
        "3.1.1.1 folding, LWS, compact and mixed-case names",
    ),
    (
        "intmeth",
        Accept,
        "3.1.1.2 extension method, wide range of characters",
    ),
    ("esc01", Accept, "3.1.1.3 %-escapes in URIs"),
    ("escnull", Accept, "3.1.1.4 escaped NULs"),
    ("esc02", Accept, "3.1.1.5 % that is not an escape"),
    (
        "lwsdisp",
        Accept,
        "3.1.1.6 no LWS between display name and <",
    ),
    ("longreq", Accept, "3.1.1.7 long values, 34 Vias"),
    (
        "dblreq",
        Accept,
        "3.1.1.8 extra octets after Content-Length are discarded",
    ),
    ("semiuri", Accept, "3.1.1.9 ; in the user part"),
    ("transports", Accept, "3.1.1.10 unknown transports"),
    ("mpart01", Accept, "3.1.1.11 binary multipart body"),
    ("unreason", Accept, "3.1.1.12 UTF-8 reason phrase"),
    ("noreason", Accept, "3.1.1.13 empty reason phrase"),
    // §3.1.2 Invalid messages.
    (
        "badinv01",
        Reject(400),
        "3.1.2.1 empty Via and Contact parameters",
    ),
    (
        "clerr",
        Reject(400),
        "3.1.2.2 Content-Length larger than the datagram (UDP: 400)",
    ),
    ("ncl", Reject(400), "3.1.2.3 negative Content-Length"),
    (
        "scalar02",
        Reject(400),
        "3.1.2.4 CSeq >= 2**31 (Expires/Max-Forwards alone would be ignored)",
    ),
    (
        "scalarlg",
        Drop,
        "3.1.2.5 response with overlarge scalars: dropped",
    ),
    ("quotbal", Reject(400), "3.1.2.6 unterminated quoted string"),
    ("ltgtruri", Reject(400), "3.1.2.7 Request-URI in <>"),
    ("lwsruri", Reject(400), "3.1.2.8 LWS inside the Request-URI"),
    (
        "lwsstart",
        Reject(400),
        "3.1.2.9 several SP in the request line",
    ),
    (
        "trws",
        Reject(400),
        "3.1.2.10 trailing SP in the request line",
    ),
    (
        "escruri",
        Reject(400),
        "3.1.2.11 escaped headers in the Request-URI (RFC allows 400)",
    ),
    (
        "baddate",
        Reject(400),
        "3.1.2.12 Date not in GMT (a proxy may forward; we are a B2BUA)",
    ),
    ("regbadct", Reject(400), "3.1.2.13 addr-spec Contact with ?"),
    ("badaspec", Reject(400), "3.1.2.14 whitespace inside <>"),
    (
        "baddn",
        Reject(400),
        "3.1.2.15 unquoted display name with , ",
    ),
    ("badvers", Reject(505), "3.1.2.16 SIP/7.0"),
    ("mismatch01", Reject(400), "3.1.2.17 CSeq method differs"),
    (
        "mismatch02",
        Reject(400),
        "3.1.2.18 unknown method, CSeq differs (400 rather than 501)",
    ),
    (
        "bigcode",
        Drop,
        "3.1.2.19 response code out of range: dropped",
    ),
    // §3.2 Transaction layer.
    (
        "badbranch",
        Accept,
        "3.2.1 branch is only the cookie: has_magic_cookie() is false",
    ),
    // §3.3 Application layer.
    ("insuf", Reject(400), "3.3.1 missing Call-ID, From, To"),
    (
        "unkscm",
        Policy(416),
        "3.3.2 unknown Request-URI scheme: Request::check_scheme",
    ),
    (
        "novelsc",
        Policy(416),
        "3.3.3 soap.beep Request-URI: Request::check_scheme",
    ),
    (
        "unksm2",
        Accept,
        "3.3.4 unknown schemes in To/From/Contact parse as Scheme::Other",
    ),
    (
        "bext01",
        Policy(420),
        "3.3.5 unknown Require: Message::require",
    ),
    (
        "invut",
        Policy(415),
        "3.3.6 unknown Content-Type: Message::content_type",
    ),
    (
        "regaut01",
        Accept,
        "3.3.7 unknown auth scheme: the registrar challenges (401)",
    ),
    ("multi01", Reject(400), "3.3.8 several Call-ID/CSeq/From/To"),
    ("mcl01", Reject(400), "3.3.9 several Content-Length"),
    (
        "bcast",
        Accept,
        "3.3.10 broadcast second Via in a 200: a transaction-layer matter",
    ),
    (
        "zeromf",
        Accept,
        "3.3.11 Max-Forwards 0: a proxy answers 483, a UAS answers OPTIONS",
    ),
    (
        "cparam01",
        Accept,
        "3.3.12 addr-spec Contact: unknownparam is a header parameter",
    ),
    (
        "cparam02",
        Accept,
        "3.3.13 name-addr Contact: unknownparam is a URI parameter",
    ),
    (
        "regescrt",
        Accept,
        "3.3.14 escaped header in a Contact URI in <>",
    ),
    (
        "sdp01",
        Accept,
        "3.3.15 Accept without application/sdp: a UAS answers 406",
    ),
    // §3.4 Backward compatibility.
    (
        "inv2543",
        Accept,
        "3.4.1 RFC 2543 syntax: no branch, no Max-Forwards, no tags",
    ),
];

fn load(name: &str) -> Bytes {
    let path = format!("{}/testdata/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn run(buf: Bytes) -> Result<Message, ParseError> {
    let m = parse(buf, &Limits::default())?;
    m.validate()?;
    Ok(m)
}

/// The status the application would answer after checking accessors.
fn policy(m: &Message) -> Option<u16> {
    let req = m.clone().into_request().ok()?;
    if let Err(e) = req.check_scheme() {
        return Some(StatusCode::from(&e).as_u16());
    }
    let supported = ["100rel", "timer", "replaces"];
    if m.require()
        .ok()?
        .iter()
        .chain(m.proxy_require().ok()?.iter())
        .any(|t| !supported.contains(t))
    {
        return Some(420);
    }
    if let Some(ct) = m.content_type().ok()? {
        if !ct.is("application/sdp") && !ct.mtype().eq_ignore_ascii_case("multipart") {
            return Some(415);
        }
    }
    None
}

#[test]
fn every_file_has_an_expectation() {
    let dir = format!("{}/testdata/rfc4475", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".dat")
                .map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = TABLE.iter().map(|t| t.0.to_owned()).collect();
    names.sort();
    assert_eq!(files, names);
}

#[test]
fn torture_messages_have_the_prescribed_outcome() {
    let mut failures = Vec::new();
    for &(name, expect, note) in TABLE {
        let got = match run(load(name)) {
            Ok(m) => match policy(&m) {
                Some(s) => Policy(s),
                None => Accept,
            },
            Err(e) => {
                eprintln!("{name}: {e}");
                if e.is_request_recognised() {
                    let status = StatusCode::from(&e).as_u16();
                    // The error response must be buildable from the context.
                    let r = Response::for_error(&e, Some("x1")).expect("error response");
                    assert_eq!(r.status().as_u16(), status, "{name}");
                    Reject(status)
                } else {
                    Drop
                }
            }
        };
        if got != expect {
            failures.push(format!("{name}: expected {expect:?}, got {got:?} ({note})"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_messages_round_trip() {
    for &(name, expect, _) in TABLE {
        if matches!(expect, Accept | Policy(_)) {
            let buf = load(name);
            let m = parse(buf.clone(), &Limits::default()).unwrap();
            if name != "dblreq" {
                assert_eq!(m.as_bytes(), &buf, "{name}");
            }
            let again = m.edit().apply().unwrap();
            // Re-serialising without edits changes nothing but a missing
            // Content-Length (inv2543 gets one).
            if name != "inv2543" {
                assert_eq!(again.as_bytes(), m_bytes(name).as_slice(), "{name}");
            }
        }
    }
}

fn m_bytes(name: &str) -> Vec<u8> {
    let buf = load(name);
    parse(buf, &Limits::default()).unwrap().as_bytes().to_vec()
}

#[test]
fn wsinv_details() {
    let m = run(load("wsinv")).unwrap();
    assert_eq!(m.call_id().unwrap(), "wsinv.ndaksdj@192.0.2.1");
    assert_eq!(m.cseq().unwrap().seq, 9);
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    let vias = m.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].transport(), "UDP");
    assert_eq!(vias[0].host(), "192.0.2.2");
    assert_eq!(vias[0].rport(), Some(None));
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert!(!vias[0].has_magic_cookie());
    assert_eq!(vias[1].transport(), "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host(), "192.168.255.111");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(m.to().unwrap().tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(from.display_name().unwrap(), "J Rosenberg \\\"");
    assert_eq!(m.header(&HeaderName::Subject), Some(""));
    assert_eq!(
        m.header(&"NewFangledHeader".into()),
        Some("newfangled value\r\n continued newfangled value")
    );
    assert_eq!(
        m.header(&"UnknownHeaderWithUnusualValue".into()),
        Some(";;,,;;,;")
    );
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.display_name().unwrap(), "Quoted string \"\"");
    assert_eq!(c.param("newparam"), Some(Some("newvalue")));
    assert_eq!(c.param("secondparam"), Some(None));
    assert_eq!(c.q(), Some(0.33));
    let r = &m.routes().unwrap()[0];
    assert!(r.uri().lr());
    assert_eq!(r.uri().param("unknownwith"), Some(Some("value")));
    assert_eq!(m.request_uri().unwrap().param("unknownparam"), Some(None));
    assert_eq!(m.body().len(), 150);
}

#[test]
fn intmeth_and_escapes() {
    let m = run(load("intmeth")).unwrap();
    assert_eq!(
        m.method().unwrap().as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    let uri = m.request_uri().unwrap();
    assert_eq!(
        uri.user_raw(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password().unwrap(),
        "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    );
    assert_eq!(m.from().unwrap().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        m.from().unwrap().display_name().unwrap(),
        "token1~` token2'+_ token3*%!.-"
    );

    let m = run(load("esc01")).unwrap();
    assert_eq!(
        m.request_uri().unwrap().user().unwrap(),
        "sips:user@example.com"
    );
    assert_eq!(m.to().unwrap().uri().user().unwrap(), "user");
    assert_eq!(m.from().unwrap().uri().user().unwrap(), "I have spaces");
    let c = m.contacts().unwrap()[0].uri().clone();
    assert_eq!(c.user().unwrap(), "caller");
    assert!(c.lr());
    assert_eq!(
        c.param("name")
            .flatten()
            .map(outpost_sip::percent_decode)
            .unwrap(),
        "value%41"
    );

    let m = run(load("escnull")).unwrap();
    assert_eq!(m.to().unwrap().uri().user().unwrap(), "null-\0-null");
    assert_eq!(m.contacts().unwrap().len(), 2);

    let m = run(load("esc02")).unwrap();
    assert_eq!(
        m.contacts().unwrap().len(),
        2,
        "C%6Fntact is an unknown header"
    );
}

#[test]
fn application_layer_details() {
    let m = run(load("badbranch")).unwrap();
    assert!(!m.top_via().unwrap().has_magic_cookie());
    let m = run(load("cparam01")).unwrap();
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.param("unknownparam"), Some(None));
    assert_eq!(c.uri().param("unknownparam"), None);
    let m = run(load("cparam02")).unwrap();
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.param("unknownparam"), None);
    assert_eq!(c.uri().param("unknownparam"), Some(None));
    let m = run(load("regescrt")).unwrap();
    assert_eq!(
        m.contacts().unwrap()[0].uri().headers(),
        Some("Route=%3Csip:sip.example.com%3E")
    );
    let m = run(load("unksm2")).unwrap();
    assert_eq!(m.to().unwrap().uri().scheme(), Scheme::Other);
    assert_eq!(m.from().unwrap().uri().scheme_str(), "http");
    let m = run(load("inv2543")).unwrap();
    assert_eq!(
        m.to().unwrap().param("user"),
        Some(Some("phone")),
        "§20.10: a header parameter"
    );
    assert_eq!(m.top_via().unwrap().branch(), None);
    assert_eq!(m.max_forwards().unwrap(), None);
    let m = run(load("zeromf")).unwrap();
    assert_eq!(m.max_forwards().unwrap(), Some(0));
    let m = run(load("longreq")).unwrap();
    assert_eq!(m.vias().unwrap().len(), 34);
    let m = run(load("dblreq")).unwrap();
    assert_eq!(m.body().len(), 0);
    assert!(m.as_bytes().ends_with(b"Content-Length: 0\r\n\r\n"));
    let m = run(load("mpart01")).unwrap();
    assert_eq!(m.body().len(), 553);
    assert_eq!(
        m.content_type().unwrap().unwrap().param("boundary"),
        Some(Some("7a9cbec02ceef655"))
    );
    let m = run(load("unreason")).unwrap();
    assert!(m.reason().unwrap().ends_with("простое"));
    let m = run(load("noreason")).unwrap();
    assert_eq!(m.reason(), Some(""));
    let m = run(load("regaut01")).unwrap();
    let auth = m.header(&HeaderName::Authorization).unwrap();
    assert!(auth.starts_with("NoOneKnowsThisScheme"));
}
