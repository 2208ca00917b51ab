//! Shared generators for the integration tests.
#![allow(dead_code)]

use bytes::Bytes;

/// A deterministic generator (xorshift) so the corpus is stable.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
    pub(crate) fn token(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.";
        (0..n)
            .map(|_| A[(self.next() % A.len() as u64) as usize] as char)
            .collect()
    }
}

/// Builds one valid message from `seed`: requests and responses with a mix
/// of long and compact names, multiple Vias, optional bodies.
pub(crate) fn message(seed: u64) -> Bytes {
    build(seed, false)
}

/// Like [`message`] but with long header names and no IPv6 (what the
/// laxer oracles handle).
pub(crate) fn plain_message(seed: u64) -> Bytes {
    build(seed, true)
}

fn build(seed: u64, plain: bool) -> Bytes {
    let mut r = Rng::new(seed);
    let compact = |r: &mut Rng, long: &'static str, short: &'static str| {
        if !plain && r.next() % 2 == 0 {
            short
        } else {
            long
        }
    };
    let method = r.pick(&[
        "INVITE",
        "REGISTER",
        "OPTIONS",
        "BYE",
        "MESSAGE",
        "SUBSCRIBE",
        "NOTIFY",
        "INFO",
    ]);
    let host = if plain {
        r.pick(&["example.com", "192.0.2.7", "pbx.example.net"])
    } else {
        r.pick(&[
            "example.com",
            "192.0.2.7",
            "[2001:db8::1]",
            "pbx.example.net",
        ])
    };
    let mut s = String::new();
    let response = r.next() % 3 == 0;
    if response {
        let code = r.pick(&[
            "100 Trying",
            "180 Ringing",
            "200 OK",
            "404 Not Found",
            "486 Busy Here",
        ]);
        s.push_str(&format!("SIP/2.0 {code}\r\n"));
    } else {
        s.push_str(&format!(
            "{method} sip:{}@{host};transport=tcp SIP/2.0\r\n",
            r.token(6)
        ));
    }
    let vias = 1 + r.next() % 3;
    for i in 0..vias {
        let name = compact(&mut r, "Via", "v");
        s.push_str(&format!(
            "{name}: SIP/2.0/UDP 10.0.0.{i}:5060;branch=z9hG4bK{};rport\r\n",
            r.token(10)
        ));
    }
    let f = compact(&mut r, "From", "f");
    s.push_str(&format!(
        "{f}: \"User {}\" <sip:{}@{host}>;tag={}\r\n",
        r.token(3),
        r.token(5),
        r.token(8)
    ));
    let t = compact(&mut r, "To", "t");
    if response {
        s.push_str(&format!(
            "{t}: <sip:{}@{host}>;tag={}\r\n",
            r.token(5),
            r.token(8)
        ));
    } else {
        s.push_str(&format!("{t}: <sip:{}@{host}>\r\n", r.token(5)));
    }
    let i = compact(&mut r, "Call-ID", "i");
    s.push_str(&format!("{i}: {}@{}\r\n", r.token(16), r.token(6)));
    s.push_str(&format!("CSeq: {} {method}\r\n", r.next() % 100_000));
    s.push_str("Max-Forwards: 70\r\n");
    s.push_str(&format!(
        "Contact: <sip:{}@{host}:5060>;expires=3600\r\n",
        r.token(4)
    ));
    if r.next() % 2 == 0 {
        s.push_str(&format!("X-{}: {}\r\n", r.token(5), r.token(20)));
    }
    let body = if r.next() % 2 == 0 {
        format!(
            "v=0\r\no=- {} 1 IN IP4 192.0.2.1\r\ns=-\r\n",
            r.next() % 1000
        )
    } else {
        String::new()
    };
    if !body.is_empty() {
        s.push_str("Content-Type: application/sdp\r\n");
    }
    let l = compact(&mut r, "Content-Length", "l");
    s.push_str(&format!("{l}: {}\r\n\r\n{body}", body.len()));
    Bytes::from(s)
}

/// `n` generated messages.
pub(crate) fn generated(n: u64) -> Vec<Bytes> {
    (1..=n).map(message).collect()
}
