//! SEC-5 scanner signatures, on the facts of one parsed request.
//!
//! The User-Agent is the cheapest signature and the easiest to change, so
//! the tools' other habits count too. Read from the SIPVicious sources
//! (`svhelper.makeRequest`, `svmap`, `svwar`, `svcrack`):
//!
//! - the From tag is `hex(data + "\x01" + str(random 32 bits))`
//!   (`createTag`), so it decodes to printable text, a 0x01 byte and
//!   decimal digits — the tools use it to recover what they sent. No
//!   phone's random tag decodes like that (chance about 10^-11);
//! - svcrack's first REGISTER carries the constant tag `3206210844`, the
//!   next ones `hex("user:password\x01" + digits)`: these put the source
//!   on the brute-force list rather than the DoS list;
//! - the default From is `"sipvicious"<sip:100@1.1.1.1>` (svmap) and the
//!   default Contact `sip:123@1.1.1.1`;
//! - the Call-ID is `str(random bits)` (decimal digits only, no `@`) and
//!   the Via branch `z9hG4bK-` followed by decimal digits; each alone is
//!   seen in the wild, both together are not, so only the pair counts.
//!
//! Also: the example hosts of RFC 3261 (`pc33.atlanta.com`...) sprayed by
//! misconfigured toll-fraud bots.

use std::fmt;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::Reason;

/// What the ingress learned from one parsed request. Every text field is
/// the raw header value (or URI part) as received; `None` when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestFacts<'a> {
    /// The method, e.g. `INVITE` (case-sensitive, RFC 3261 §7.1).
    pub method: &'a str,
    /// The User-Agent header value.
    pub user_agent: Option<&'a str>,
    /// The whole From header value (display name, URI, parameters).
    pub from: Option<&'a str>,
    /// The From URI's user part.
    pub from_user: Option<&'a str>,
    /// The From tag.
    pub from_tag: Option<&'a str>,
    /// The whole To header value.
    pub to: Option<&'a str>,
    /// The To URI's user part (the AOR's user for REGISTER).
    pub to_user: Option<&'a str>,
    /// The Request-URI's user part.
    pub ruri_user: Option<&'a str>,
    /// The first Contact header value.
    pub contact: Option<&'a str>,
    /// The Call-ID.
    pub call_id: Option<&'a str>,
    /// The topmost Via's branch parameter.
    pub via_branch: Option<&'a str>,
    /// The request carried valid credentials, arrived on the connection or
    /// binding of an authenticated registration, or came from a configured
    /// IP-trusted peer (trunk, ICP).
    pub is_authenticated: bool,
    /// The target user (To user for REGISTER, Request-URI user otherwise)
    /// is a configured device.
    pub target_is_known_user: bool,
    /// The From user is a configured device.
    pub from_is_known_user: bool,
}

impl<'a> RequestFacts<'a> {
    /// The user this request addresses: the To user for REGISTER (the
    /// Request-URI of a REGISTER has no user), else the Request-URI user,
    /// else the To user.
    pub fn target_user(&self) -> Option<&'a str> {
        let user = if self.method == "REGISTER" {
            self.to_user
        } else {
            self.ruri_user.or(self.to_user)
        };
        user.filter(|u| !u.is_empty())
    }
}

/// A matched scanner signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fingerprint {
    /// The User-Agent contains a known scanner's name.
    UserAgent(&'static str),
    /// The From tag is SIPVicious's hex-encoded `data\x01digits`.
    SipviciousTag,
    /// svcrack's From tag: its constant first tag `3206210844`, or the
    /// hex-encoded `user:password\x01digits` of its guesses. A password
    /// cracker: the source goes on the brute-force list.
    SvcrackTag,
    /// SIPVicious's default From or Contact (`...@1.1.1.1`, display name
    /// `sipvicious`).
    SipviciousAddress,
    /// A numeric Call-ID together with a `z9hG4bK-<digits>` branch.
    NumericCallIdAndBranch,
    /// An example host name from RFC 3261 in From, To or Contact.
    Rfc3261ExampleHost(&'static str),
}

impl Fingerprint {
    /// The list reason: [`Reason::BruteForce`] for a password cracker,
    /// [`Reason::Scanner`] otherwise.
    pub fn reason(self) -> Reason {
        match self {
            Self::SvcrackTag => Reason::BruteForce,
            _ => Reason::Scanner,
        }
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UserAgent(name) => write!(f, "scanner User-Agent ({name})"),
            Self::SipviciousTag => f.write_str("SIPVicious From tag (hex text + 0x01 + digits)"),
            Self::SvcrackTag => f.write_str("svcrack From tag (password cracker)"),
            Self::SipviciousAddress => f.write_str("SIPVicious default From/Contact (@1.1.1.1)"),
            Self::NumericCallIdAndBranch => {
                f.write_str("numeric Call-ID with z9hG4bK-<digits> branch (SIPVicious)")
            }
            Self::Rfc3261ExampleHost(host) => write!(f, "RFC 3261 example host {host}"),
        }
    }
}

/// User-Agent signatures (lower case) matched anywhere in the value. Tools
/// only; legitimate softphones some block lists include (eyeBeam, X-Lite,
/// Zoiper, PortSIP, MizuPhone) are left out, and so are `sipsak` and SIPp,
/// which administrators use for monitoring and load tests.
const UA_CONTAINS: &[&str] = &[
    "friendly-scanner",
    "friendly-request",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sipscan",
    "sundayddr",
    "sundayaddr",
    "siparmyknife",
    "vaxsipuseragent",
    "vaxipuseragent",
    "pplsip",
    "sippts",
    "sipptk",
];

/// Short signatures matched only at the start of the value (the product
/// token), where they cannot be part of another word.
const UA_STARTS: &[&str] = &["iwar", "smap", "sivus"];

const RFC3261_HOSTS: &[&str] = &[
    "pc33.atlanta.com",
    "server10.biloxi.com",
    "bigbox3.site3.atlanta.com",
    "bobspc.biloxi.com",
    "erlang.bell-telephone.com",
];

/// Patterns searched in From, To and Contact: SIPVicious's display name
/// and default host (index 0 and 1), then the RFC 3261 example hosts.
const ADDRESS_PATTERNS: [&str; 2 + RFC3261_HOSTS.len()] = [
    "\"sipvicious\"",
    "@1.1.1.1",
    RFC3261_HOSTS[0],
    RFC3261_HOSTS[1],
    RFC3261_HOSTS[2],
    RFC3261_HOSTS[3],
    RFC3261_HOSTS[4],
];

/// Multi-pattern automatons (User-Agent: ASCII case-insensitive; addresses:
/// exact, as the tools write them), built once per process. `None` only if
/// building failed, which these fixed patterns cannot make happen; a plain
/// search is then used.
struct Automatons {
    user_agent: Option<AhoCorasick>,
    address: Option<AhoCorasick>,
}

fn automatons() -> &'static Automatons {
    static AUTOMATONS: OnceLock<Automatons> = OnceLock::new();
    AUTOMATONS.get_or_init(|| {
        let build = |patterns: &[&str], case_insensitive: bool| {
            AhoCorasick::builder()
                .ascii_case_insensitive(case_insensitive)
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(MatchKind::LeftmostFirst)
                .build(patterns)
                .ok()
        };
        Automatons {
            user_agent: build(UA_CONTAINS, true),
            // The tools write these in lower case; a case-sensitive search
            // can use a SIMD prefilter and costs a few nanoseconds.
            address: build(&ADDRESS_PATTERNS, false),
        }
    })
}

/// The first signature `facts` matches, if any.
pub fn scanner_fingerprint(facts: &RequestFacts<'_>) -> Option<Fingerprint> {
    let automatons = automatons();
    // The tag first: it tells svcrack (a password cracker, for the
    // brute-force list) from the other tools, which all send the same
    // default User-Agent.
    let tag = facts.from_tag.map(|tag| {
        if tag == "3206210844" {
            Some(TagData::Credentials)
        } else {
            sipvicious_tag(tag)
        }
    });
    match tag.flatten() {
        Some(TagData::Credentials) => return Some(Fingerprint::SvcrackTag),
        Some(TagData::Probe) => return Some(Fingerprint::SipviciousTag),
        None => {}
    }
    if let Some(ua) = facts.user_agent {
        let ua = ua.trim_start().as_bytes();
        let found = match &automatons.user_agent {
            Some(ac) => ac
                .find(ua)
                .and_then(|m| UA_CONTAINS.get(m.pattern().as_usize()).copied()),
            None => UA_CONTAINS
                .iter()
                .find(|n| contains_ci(ua, n.as_bytes()))
                .copied(),
        };
        if let Some(name) = found {
            return Some(Fingerprint::UserAgent(name));
        }
        if let Some(name) = UA_STARTS.iter().find(|n| starts_with_ci(ua, n.as_bytes())) {
            return Some(Fingerprint::UserAgent(name));
        }
    }
    let addresses = [facts.from, facts.to, facts.contact];
    for value in addresses.into_iter().flatten() {
        if let Some(found) = address_signature(&automatons.address, value.as_bytes()) {
            return Some(found);
        }
    }
    if let (Some(call_id), Some(branch)) = (facts.call_id, facts.via_branch) {
        let digits = |s: &str, max: usize| {
            !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
        };
        // 80 random bits print as at most 25 digits; 32 bits as at most 10.
        if digits(call_id, 25)
            && branch
                .strip_prefix("z9hG4bK-")
                .is_some_and(|d| digits(d, 10))
        {
            return Some(Fingerprint::NumericCallIdAndBranch);
        }
    }
    None
}

fn address_signature(ac: &Option<AhoCorasick>, v: &[u8]) -> Option<Fingerprint> {
    let classify = |pattern: usize, end: usize| match pattern {
        0 => Some(Fingerprint::SipviciousAddress),
        // `@1.1.1.1` not followed by another digit or dot (so `@1.1.1.10`
        // and `@1.1.1.1.example` do not match).
        1 => v
            .get(end)
            .is_none_or(|b| !b.is_ascii_digit() && *b != b'.')
            .then_some(Fingerprint::SipviciousAddress),
        n => RFC3261_HOSTS
            .get(n - 2)
            .map(|h| Fingerprint::Rfc3261ExampleHost(h)),
    };
    match ac {
        Some(ac) => ac
            .find_iter(v)
            .find_map(|m| classify(m.pattern().as_usize(), m.end())),
        None => ADDRESS_PATTERNS.iter().enumerate().find_map(|(n, p)| {
            let p = p.as_bytes();
            (0..v.len()).find_map(|i| {
                let w = v.get(i..i + p.len())?;
                if w == p {
                    classify(n, i + p.len())
                } else {
                    None
                }
            })
        }),
    }
}

/// What a SIPVicious `createTag` tag carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagData {
    /// An address or an extension (svmap, svwar).
    Probe,
    /// `user:password` (svcrack).
    Credentials,
}

/// `hex(printable text + 0x01 + at least 6 decimal digits)`; the text
/// holds a `:` when svcrack put credentials in it.
fn sipvicious_tag(tag: &str) -> Option<TagData> {
    let hex = tag.as_bytes();
    if hex.len() < 16 || hex.len() % 2 != 0 || hex.len() > 512 {
        return None;
    }
    let byte = |i: usize| -> Option<u8> {
        let pair = hex.get(i * 2..i * 2 + 2)?;
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        u8::try_from(hi * 16 + lo).ok()
    };
    let n = hex.len() / 2;
    let mut separator = None;
    let mut colon = false;
    for i in 0..n {
        let b = byte(i)?;
        match separator {
            None if b == 0x01 && i > 0 => separator = Some(i),
            None if (0x20..0x7f).contains(&b) => colon |= b == b':',
            None => return None,
            Some(_) if b.is_ascii_digit() => {}
            Some(_) => return None,
        }
    }
    let digits = n - separator? - 1;
    (digits >= 6).then_some(if colon {
        TagData::Credentials
    } else {
        TagData::Probe
    })
}

/// Case-insensitive ASCII substring search; `needle` is lower case. The
/// first byte is compared alone before the rest: most positions fail there.
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = haystack.len().checked_sub(needle.len()) else {
        return false;
    };
    (0..=last_start).any(|i| {
        haystack
            .get(i)
            .is_some_and(|b| b.to_ascii_lowercase() == first)
            && haystack
                .get(i + 1..i + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(rest))
    })
}

fn starts_with_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

/// True when `user` looks like a number on the public network: an optional
/// `+`, then only digits, at least [`EXTERNAL_NUMBER_MIN_DIGITS`] of them.
/// Internal extensions are shorter; what toll fraud dials (`00` or `+`
/// then a country code, or a national number) is longer.
pub fn looks_like_external_number(user: &str) -> bool {
    let digits = user.strip_prefix('+').unwrap_or(user);
    digits.len() >= EXTERNAL_NUMBER_MIN_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())
}

/// See [`looks_like_external_number`].
pub const EXTERNAL_NUMBER_MIN_DIGITS: usize = 6;
