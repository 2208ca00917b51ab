//! The DNS data the RFC 3263 logic works on: queries, records and
//! answers, as plain values (the driver converts hickory's types into
//! these), with zone-file-like `Display` forms for `outpost icps test`.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types RFC 3263 looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// NAPTR (RFC 3403).
    Naptr,
    /// SRV (RFC 2782).
    Srv,
    /// A (IPv4 address).
    A,
    /// AAAA (IPv6 address).
    Aaaa,
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Naptr => "NAPTR",
            Self::Srv => "SRV",
            Self::A => "A",
            Self::Aaaa => "AAAA",
        })
    }
}

/// One DNS query to make.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    /// The name to look up: as configured for the host and the names built
    /// from it, as received (fully qualified, with the trailing dot) for
    /// NAPTR replacements and SRV targets.
    pub name: String,
    /// The record type.
    pub kind: RecordKind,
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// The data of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service location.
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Share among records of the same priority.
        weight: u16,
        /// Port of the service.
        port: u16,
        /// Host of the service (`.` means "not available here").
        target: String,
    },
    /// A naming authority pointer.
    Naptr {
        /// Lower is processed first.
        order: u16,
        /// Lower is preferred among records of the same order.
        preference: u16,
        /// `S` means "look up SRV for the replacement next".
        flags: String,
        /// E.g. `SIP+D2T`.
        services: String,
        /// The replacement domain.
        replacement: String,
    },
}

/// One DNS record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// Remaining time to live, in seconds.
    pub ttl: u32,
    /// Data.
    pub data: RecordData,
}

impl Record {
    /// A record.
    pub fn new(name: &str, ttl: u32, data: RecordData) -> Self {
        Self {
            name: name.to_owned(),
            ttl,
            data,
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.name, self.ttl)?;
        match &self.data {
            RecordData::A(ip) => write!(f, "A {ip}"),
            RecordData::Aaaa(ip) => write!(f, "AAAA {ip}"),
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => write!(f, "SRV {priority} {weight} {port} {target}"),
            RecordData::Naptr {
                order,
                preference,
                flags,
                services,
                replacement,
            } => write!(
                f,
                "NAPTR {order} {preference} \"{flags}\" \"{services}\" {replacement}"
            ),
        }
    }
}

/// The outcome of one query, as the driver reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Records were found.
    Found {
        /// The answer section.
        answers: Vec<Record>,
        /// The additional section (SRV targets' addresses, SRV records of
        /// NAPTR replacements), used instead of further queries.
        additionals: Vec<Record>,
    },
    /// NXDOMAIN.
    NoSuchName {
        /// The negative TTL (SOA minimum), when the server sent an SOA.
        negative_ttl: Option<u32>,
    },
    /// The name exists but has no record of this type (NODATA).
    NoRecords {
        /// The negative TTL (SOA minimum), when the server sent an SOA.
        negative_ttl: Option<u32>,
    },
    /// No answer in time.
    TimedOut,
    /// Any other failure (SERVFAIL, REFUSED, network error).
    Failed(String),
}

impl Answer {
    /// Records found in the answer section only.
    pub fn found(answers: Vec<Record>) -> Self {
        Self::Found {
            answers,
            additionals: Vec::new(),
        }
    }
}

/// One lookup made and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The query.
    pub query: Query,
    /// Its answer.
    pub answer: Answer,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.query)?;
        match &self.answer {
            Answer::Found {
                answers,
                additionals,
            } => {
                let list = |v: &[Record]| {
                    v.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                f.write_str(&list(answers))?;
                if !additionals.is_empty() {
                    write!(f, " (additional: {})", list(additionals))?;
                }
                Ok(())
            }
            Answer::NoSuchName { .. } => f.write_str("no such name (NXDOMAIN)"),
            Answer::NoRecords { .. } => f.write_str("no records"),
            Answer::TimedOut => f.write_str("timed out"),
            Answer::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}
