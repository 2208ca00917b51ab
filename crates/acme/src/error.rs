//! The one error type of the crate. Each message says what failed, against
//! which server, file or name, and what the operator can do about it: these
//! texts end up in the event log and the CLI as they are.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The two challenge kinds Outpost answers itself (RFC 8555 §8.3, RFC 8737).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// `http-01`: the CA fetches a token over HTTP on TCP port 80.
    Http01,
    /// `tls-alpn-01`: the CA opens TLS on TCP port 443 with ALPN `acme-tls/1`.
    TlsAlpn01,
}

impl ChallengeKind {
    /// What the operator should check when the CA could not validate.
    fn hint(self, name: &str) -> String {
        match self {
            Self::Http01 => format!(
                "check that {name} resolves to this gateway's public address and that TCP port 80 \
                 from the CA reaches this gateway's http-01 listener"
            ),
            Self::TlsAlpn01 => format!(
                "check that {name} resolves to this gateway's public address and that TCP port 443 \
                 from the CA reaches this gateway's tls-alpn-01 listener"
            ),
        }
    }
}

impl fmt::Display for ChallengeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http01 => "http-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        })
    }
}

/// Why obtaining a certificate failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcmeError {
    /// The configuration or the request cannot work as given.
    #[error("invalid ACME request: {0}")]
    Config(String),

    /// The extra CA file (trusted for the ACME server's own HTTPS) is unusable.
    #[error(
        "could not use the extra CA file {}: {detail}; give a PEM file with the CA certificate \
         of the ACME server's HTTPS, or remove the setting",
        path.display()
    )]
    ExtraCa {
        /// The configured file.
        path: PathBuf,
        /// What was wrong with it.
        detail: String,
    },

    /// No answer (or no usable one) from the ACME server: connect, TLS,
    /// time-out or a malformed reply.
    #[error(
        "could not talk to the ACME server at {url} while {stage}: {detail}; check the directory \
         URL, DNS, that this gateway may open HTTPS connections to it, and its certificate \
         (for a test CA, set the extra CA file)"
    )]
    Unreachable {
        /// The directory URL.
        url: String,
        /// What Outpost was doing.
        stage: &'static str,
        /// The underlying error.
        detail: String,
    },

    /// The ACME server answered with a problem document (RFC 8555 §6.7).
    #[error(
        "the ACME server at {url} refused {stage}: {problem}{}",
        refusal_hint(problem)
    )]
    Refused {
        /// The directory URL.
        url: String,
        /// What Outpost asked for.
        stage: &'static str,
        /// The problem type and detail as the server gave them.
        problem: String,
    },

    /// The account credentials file could not be read or written.
    #[error(
        "could not {action} the ACME account file {}: {detail}; check the path, that its \
         directory exists or can be created, and that Outpost may write there",
        path.display()
    )]
    AccountFile {
        /// The configured file.
        path: PathBuf,
        /// `read`, `parse` or `write`.
        action: &'static str,
        /// The underlying error.
        detail: String,
    },

    /// The account file was registered with another ACME server.
    #[error(
        "the ACME account file {} belongs to the ACME server at {stored}, not {configured}; give \
         each directory URL its own account file, or delete this one to register a new account",
        path.display()
    )]
    AccountServerMismatch {
        /// The configured file.
        path: PathBuf,
        /// The directory URL stored in the file.
        stored: String,
        /// The configured directory URL.
        configured: String,
    },

    /// The ACME server does not know the account stored in the file (a test
    /// CA restarted, or the account was deactivated).
    #[error(
        "the ACME server at {url} does not know the account in {}: {problem}; delete the file \
         to register a new account",
        path.display()
    )]
    AccountUnknown {
        /// The directory URL.
        url: String,
        /// The account file.
        path: PathBuf,
        /// The server's problem document.
        problem: String,
    },

    /// The challenge responder could not listen.
    #[error(
        "could not listen on {addr} for {kind} challenges: {source}; another program may hold \
         the port, the address may not be this host's, or a port below 1024 needs root or \
         CAP_NET_BIND_SERVICE"
    )]
    Bind {
        /// The challenge kind.
        kind: ChallengeKind,
        /// The requested address.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// The CA offers no challenge of the requested kind for a name.
    #[error(
        "the ACME server at {url} offers no {kind} challenge for {name}; use the other challenge \
         kind"
    )]
    NoChallenge {
        /// The directory URL.
        url: String,
        /// The challenge kind asked for.
        kind: ChallengeKind,
        /// The name.
        name: String,
    },

    /// The CA tried the challenge for a name and it failed.
    #[error("the ACME server at {url} could not validate {kind} for {name}: {detail}; {}", kind.hint(name))]
    ChallengeFailed {
        /// The directory URL.
        url: String,
        /// The challenge kind.
        kind: ChallengeKind,
        /// The name that failed.
        name: String,
        /// The CA's problem detail.
        detail: String,
    },

    /// The order became invalid for a reason not tied to one challenge.
    #[error("the ACME server at {url} marked the order for {names} invalid: {detail}")]
    OrderInvalid {
        /// The directory URL.
        url: String,
        /// The names, comma separated.
        names: String,
        /// The CA's problem detail, or the last known state.
        detail: String,
    },

    /// A bounded wait ran out.
    #[error(
        "the ACME server at {url} did not finish {stage} within {} s; it may be busy or \
         rate-limiting: try again later",
        after.as_secs()
    )]
    Timeout {
        /// The directory URL.
        url: String,
        /// What Outpost was waiting for.
        stage: &'static str,
        /// How long it waited.
        after: Duration,
    },

    /// The CA returned a certificate Outpost cannot use.
    #[error("the certificate issued by the ACME server at {url} is unusable: {detail}")]
    BadCertificate {
        /// The directory URL.
        url: String,
        /// What is wrong with it.
        detail: String,
    },

    /// Generating a key, CSR or challenge certificate failed locally.
    #[error("could not generate {what}: {detail}")]
    Crypto {
        /// What was being generated.
        what: &'static str,
        /// The underlying error.
        detail: String,
    },
}

/// A hint for well-known problem types (RFC 8555 §6.7).
fn refusal_hint(problem: &str) -> &'static str {
    if problem.contains("rateLimited") {
        "; the CA's rate limit was reached: wait before trying again (Let's Encrypt staging has \
         higher limits for tests)"
    } else if problem.contains("rejectedIdentifier") {
        "; the CA will not issue for this name: use a name the CA accepts"
    } else if problem.contains("invalidContact") || problem.contains("unsupportedContact") {
        "; fix the contact e-mail address"
    } else if problem.contains("userActionRequired") {
        "; the CA asks for an action by the account holder (for example new terms of service)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_failure_names_what_and_what_to_do() {
        let e = AcmeError::ChallengeFailed {
            url: "https://ca.example/dir".into(),
            kind: ChallengeKind::Http01,
            name: "sbc.example.com".into(),
            detail: "connection refused".into(),
        };
        let text = e.to_string();
        assert!(text.contains("https://ca.example/dir"), "{text}");
        assert!(text.contains("http-01 for sbc.example.com"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
        assert!(text.contains("TCP port 80"), "{text}");
    }

    #[test]
    fn rate_limit_refusal_says_to_wait() {
        let e = AcmeError::Refused {
            url: "u".into(),
            stage: "the new order",
            problem: "too many (urn:ietf:params:acme:error:rateLimited)".into(),
        };
        assert!(e.to_string().contains("wait before trying again"));
    }
}
