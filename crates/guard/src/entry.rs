//! List entries as the operator sees them and as they are persisted.

use std::fmt;
use std::str::FromStr;

use crate::Prefix;

/// Which list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum List {
    /// SEC-2 allow-list: trusted addresses or prefixes entered by the
    /// operator.
    Allow,
    /// SEC-3/SEC-5 DoS deny-list: flooders and malicious-call sources (the
    /// seed's "Deny-List DoS", "flooding ou Malicious call").
    Dos,
    /// SEC-6 brute-force deny-list (the seed's "Deny-List Force Brute").
    BruteForce,
}

impl List {
    /// The persisted and displayed name: `allow`, `dos`, `bruteforce`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Dos => "dos",
            Self::BruteForce => "bruteforce",
        }
    }

    /// True for the two deny-lists.
    pub fn is_deny(self) -> bool {
        !matches!(self, Self::Allow)
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for List {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Allow, Self::Dos, Self::BruteForce]
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                format!("unknown list {s:?}; allowed: \"allow\", \"dos\", \"bruteforce\"")
            })
    }
}

/// Why an entry is on its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Entered by the operator (every allow-list entry; manual denials).
    Operator,
    /// SEC-3: more requests than the threshold within the window.
    Flood,
    /// SEC-5: a scanner signature (User-Agent or other fingerprint).
    Scanner,
    /// SEC-5: requests to too many distinct unknown users.
    Enumeration,
    /// SEC-5: an unauthenticated INVITE to an external number.
    TollFraud,
    /// SEC-6: too many digest failures.
    BruteForce,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Self; 6] = [
        Self::Operator,
        Self::Flood,
        Self::Scanner,
        Self::Enumeration,
        Self::TollFraud,
        Self::BruteForce,
    ];

    /// The persisted and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Flood => "flood",
            Self::Scanner => "scanner",
            Self::Enumeration => "enumeration",
            Self::TollFraud => "toll-fraud",
            Self::BruteForce => "brute-force",
        }
    }

    /// The list an automatic entry for this reason goes on.
    pub fn list(self) -> List {
        match self {
            Self::BruteForce => List::BruteForce,
            _ => List::Dos,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Reason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let all = Self::ALL.map(|r| format!("{:?}", r.as_str())).join(", ");
                format!("unknown reason {s:?}; allowed: {all}")
            })
    }
}

/// One list entry: what the operator lists, and what is persisted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The address or prefix. Deny-list entries are always one source (an
    /// IPv4 address or an IPv6 /64); allow-list entries may be prefixes.
    pub prefix: Prefix,
    /// The list it is on.
    pub list: List,
    /// Why it is there.
    pub reason: Reason,
    /// Details for the operator: the count that tripped, the signature that
    /// matched, or the operator's note.
    pub detail: String,
    /// When it was added, seconds since the Unix epoch.
    pub added_unix: u64,
    /// When it expires, seconds since the Unix epoch; `None` for never
    /// (always `None` on the allow-list).
    pub expires_unix: Option<u64>,
}
