//! Sources and prefixes.
//!
//! The guard counts, denies and allow-lists **sources**: an IPv4 address,
//! or an IPv6 /64. Grouping IPv6 by /64 is what makes memory bounded: one
//! host is usually given a whole /64 and can pick any of its 2^64
//! addresses, so counting per IPv6 address would let one attacker look
//! like billions of sources. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`,
//! seen on dual-stack sockets) are the IPv4 source they map.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::Error;

/// A source as one `u128`: an IPv6 /64 is the masked address (low 64 bits
/// zero); an IPv4 address is its IPv4-mapped form (`::ffff:a.b.c.d`, high
/// 64 bits zero), so the two never collide except for `::/64`, which no
/// real peer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(u128);

const V4_MAPPED: u128 = 0xffff << 32;
const V6_SOURCE_MASK: u128 = !0u128 << 64;

impl Key {
    /// The source `ip` belongs to.
    #[inline]
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::v4(v4),
                None => Self(u128::from(v6) & V6_SOURCE_MASK),
            },
        }
    }

    #[inline]
    fn v4(v4: Ipv4Addr) -> Self {
        Self(V4_MAPPED | u128::from(u32::from(v4)))
    }

    pub(crate) fn is_v4(self) -> bool {
        self.0 >> 32 == 0xffff
    }

    /// The raw value, for hashing into other tables.
    pub(crate) fn bits(self) -> u128 {
        self.0
    }

    /// The source as a prefix: `a.b.c.d/32` or `x:x:x:x::/64`.
    pub(crate) fn prefix(self) -> Prefix {
        if self.is_v4() {
            // Truncation keeps exactly the IPv4 bits below the 0xffff marker.
            let v4 = Ipv4Addr::from(self.0 as u32);
            Prefix {
                addr: IpAddr::V4(v4),
                len: 32,
            }
        } else {
            Prefix {
                addr: IpAddr::V6(Ipv6Addr::from(self.0)),
                len: 64,
            }
        }
    }
}

/// An address or prefix on a list: an IPv4 prefix `/0..=/32`, or an IPv6
/// prefix `/0..=/64` (IPv6 sources are /64s, so nothing longer can be
/// told apart). Host bits must be zero. Displayed as `a.b.c.d` for a
/// single IPv4 address, `a.b.c.d/n` or `x::/n` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// A prefix of `len` bits at `addr`.
    ///
    /// # Errors
    /// [`Error::Prefix`] when `len` is too long for the family (IPv6: at
    /// most 64) or `addr` has bits set beyond `len`.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, Error> {
        let addr = canonical(addr);
        let shown = || format!("{addr}/{len}");
        let max = if addr.is_ipv4() { 32 } else { 64 };
        if len > max {
            let why = if addr.is_ipv4() {
                "an IPv4 prefix is at most /32".to_owned()
            } else {
                "IPv6 sources are grouped by /64, so an IPv6 prefix is at most /64".to_owned()
            };
            return Err(Error::Prefix {
                input: shown(),
                reason: why,
            });
        }
        let masked = mask(addr, len);
        if masked != addr {
            return Err(Error::Prefix {
                input: shown(),
                reason: format!("host bits are set; did you mean {masked}/{len}?"),
            });
        }
        Ok(Self { addr, len })
    }

    /// The source `ip` belongs to: `ip/32` for IPv4, its /64 for IPv6.
    pub fn source_of(ip: IpAddr) -> Self {
        Key::of(ip).prefix()
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for `/0`, the prefix that contains every address of its family.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when this prefix is exactly one source (IPv4 /32, IPv6 /64).
    pub fn is_source(&self) -> bool {
        self.len == if self.addr.is_ipv4() { 32 } else { 64 }
    }

    /// Whether `ip` (grouped as a source) is inside this prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.contains_key(Key::of(ip))
    }

    /// Whether `other` lies entirely inside this prefix.
    pub fn covers(&self, other: &Self) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4()
            && other.len >= self.len
            && mask(other.addr, self.len) == self.addr
    }

    pub(crate) fn contains_key(&self, key: Key) -> bool {
        let (bits, len) = self.space();
        key.is_v4() == self.addr.is_ipv4() && key.bits() & mask128(len) == bits
    }

    /// The prefix in the `u128` key space: value and length.
    pub(crate) fn space(&self) -> (u128, u8) {
        match self.addr {
            IpAddr::V4(v4) => (V4_MAPPED | u128::from(u32::from(v4)), 96 + self.len),
            IpAddr::V6(v6) => (u128::from(v6), self.len),
        }
    }
}

impl From<Key> for Prefix {
    fn from(key: Key) -> Self {
        key.prefix()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(v4) if self.len == 32 => write!(f, "{v4}"),
            addr => write!(f, "{addr}/{}", self.len),
        }
    }
}

impl FromStr for Prefix {
    type Err = Error;

    /// Parses `a.b.c.d`, `a.b.c.d/n`, `x::y` (taken as its /64) or `x::/n`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let bad = |reason: &str| Error::Prefix {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => {
                let addr: IpAddr = a
                    .parse()
                    .map_err(|_| bad("not an IP address before the '/'"))?;
                let len: u8 = l
                    .parse()
                    .map_err(|_| bad("the prefix length after '/' is not a number"))?;
                (addr, len)
            }
            None => {
                let addr: IpAddr = s.parse().map_err(|_| {
                    bad("not an IP address or prefix (examples: 192.0.2.7, 192.0.2.0/24, 2001:db8:1:2::/64)")
                })?;
                return Ok(Self::source_of(addr));
            }
        };
        Self::new(addr, len)
    }
}

/// IPv4-mapped IPv6 addresses become IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & m))
        }
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(len))),
    }
}

#[inline]
pub(crate) fn mask128(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_sources_are_slash_64() {
        assert_eq!(
            Key::of(ip("2001:db8:1:2::1")),
            Key::of(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            Key::of(ip("2001:db8:1:2::1")),
            Key::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            Prefix::source_of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn mapped_v4_is_v4() {
        assert_eq!(Key::of(ip("::ffff:192.0.2.1")), Key::of(ip("192.0.2.1")));
        assert_eq!(Key::of(ip("192.0.2.1")).prefix().to_string(), "192.0.2.1");
    }

    #[test]
    fn parse_and_display() {
        for (input, shown) in [
            ("192.0.2.7", "192.0.2.7"),
            ("192.0.2.0/24", "192.0.2.0/24"),
            ("192.0.2.7/32", "192.0.2.7"),
            ("2001:db8::5", "2001:db8::/64"),
            ("2001:db8::/32", "2001:db8::/32"),
            (" 10.0.0.0/8 ", "10.0.0.0/8"),
        ] {
            assert_eq!(
                input.parse::<Prefix>().unwrap().to_string(),
                shown,
                "{input}"
            );
        }
    }

    #[test]
    fn parse_errors_say_why() {
        for (input, why) in [
            ("192.0.2.7/24", "did you mean 192.0.2.0/24"),
            ("192.0.2.0/33", "at most /32"),
            ("2001:db8::/96", "grouped by /64"),
            ("phone.example.com", "not an IP address"),
            ("10.0.0.0/x", "not a number"),
        ] {
            let e = input.parse::<Prefix>().unwrap_err().to_string();
            assert!(e.contains(why), "{input}: {e}");
        }
    }

    #[test]
    fn containment() {
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        assert!(p.contains(ip("192.0.2.200")));
        assert!(p.contains(ip("::ffff:192.0.2.9")));
        assert!(!p.contains(ip("192.0.3.1")));
        assert!(!p.contains(ip("2001:db8::1")));
        let all6: Prefix = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        assert!(!all6.contains(ip("192.0.2.1")), "IPv4 is not inside ::/0");
        let p6: Prefix = "2001:db8::/48".parse().unwrap();
        assert!(p6.contains(ip("2001:db8:0:7::1")));
        assert!(p.covers(&"192.0.2.128/25".parse().unwrap()));
        assert!(!p.covers(&"192.0.0.0/16".parse().unwrap()));
    }
}
