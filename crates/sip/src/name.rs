//! Header names: one table with the canonical and compact forms
//! (RFC 3261 §7.3.3, IANA "Header Fields" registry), matched
//! case-insensitively.

use std::fmt;

macro_rules! header_table {
    ($( $(#[$doc:meta])* $var:ident => $canon:literal, $lower:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Known names are variants; anything else is
        /// [`HeaderName::Other`], compared case-insensitively.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum HeaderName {
            $( $(#[$doc])* $var, )*
            /// An extension header, spelled as the caller wrote it.
            Other(Box<str>),
        }

        impl HeaderName {
            /// The canonical (long) spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$var => $canon, )*
                    Self::Other(s) => s,
                }
            }

            /// The compact form, if the header has one.
            pub fn compact(&self) -> Option<char> {
                match self {
                    $( $( Self::$var => Some($compact), )? )*
                    _ => None,
                }
            }

            /// Resolves a name as read from the wire (long or compact form,
            /// any case). `None` for an extension header: no allocation.
            pub fn lookup(name: &[u8]) -> Option<Self> {
                if name.len() == 1 {
                    return match name.first().map(|c| c.to_ascii_lowercase() as char) {
                        $( $( Some($compact) => Some(Self::$var), )? )*
                        _ => None,
                    };
                }
                let mut buf = [0u8; 24];
                let lower = buf.get_mut(..name.len())?;
                for (d, s) in lower.iter_mut().zip(name) {
                    *d = s.to_ascii_lowercase();
                }
                match &*lower {
                    $( $lower => Some(Self::$var), )*
                    _ => None,
                }
            }
        }
    };
}

header_table! {
    /// Accept.
    Accept => "Accept", b"accept";
    /// Accept-Contact (RFC 3841).
    AcceptContact => "Accept-Contact", b"accept-contact", 'a';
    /// Accept-Encoding.
    AcceptEncoding => "Accept-Encoding", b"accept-encoding";
    /// Accept-Language.
    AcceptLanguage => "Accept-Language", b"accept-language";
    /// Alert-Info.
    AlertInfo => "Alert-Info", b"alert-info";
    /// Allow.
    Allow => "Allow", b"allow";
    /// Allow-Events (RFC 6665).
    AllowEvents => "Allow-Events", b"allow-events", 'u';
    /// Authentication-Info.
    AuthenticationInfo => "Authentication-Info", b"authentication-info";
    /// Authorization.
    Authorization => "Authorization", b"authorization";
    /// Call-ID.
    CallId => "Call-ID", b"call-id", 'i';
    /// Call-Info.
    CallInfo => "Call-Info", b"call-info";
    /// Contact.
    Contact => "Contact", b"contact", 'm';
    /// Content-Disposition.
    ContentDisposition => "Content-Disposition", b"content-disposition";
    /// Content-Encoding.
    ContentEncoding => "Content-Encoding", b"content-encoding", 'e';
    /// Content-Language.
    ContentLanguage => "Content-Language", b"content-language";
    /// Content-Length.
    ContentLength => "Content-Length", b"content-length", 'l';
    /// Content-Type.
    ContentType => "Content-Type", b"content-type", 'c';
    /// CSeq.
    CSeq => "CSeq", b"cseq";
    /// Date.
    Date => "Date", b"date";
    /// Error-Info.
    ErrorInfo => "Error-Info", b"error-info";
    /// Event (RFC 6665).
    Event => "Event", b"event", 'o';
    /// Expires.
    Expires => "Expires", b"expires";
    /// From.
    From => "From", b"from", 'f';
    /// Identity (RFC 8224).
    Identity => "Identity", b"identity", 'y';
    /// Identity-Info (RFC 4474).
    IdentityInfo => "Identity-Info", b"identity-info", 'n';
    /// In-Reply-To.
    InReplyTo => "In-Reply-To", b"in-reply-to";
    /// Max-Forwards.
    MaxForwards => "Max-Forwards", b"max-forwards";
    /// MIME-Version.
    MimeVersion => "MIME-Version", b"mime-version";
    /// Min-Expires.
    MinExpires => "Min-Expires", b"min-expires";
    /// Min-SE (RFC 4028).
    MinSe => "Min-SE", b"min-se";
    /// Organization.
    Organization => "Organization", b"organization";
    /// P-Asserted-Identity (RFC 3325).
    PAssertedIdentity => "P-Asserted-Identity", b"p-asserted-identity";
    /// P-Preferred-Identity (RFC 3325).
    PPreferredIdentity => "P-Preferred-Identity", b"p-preferred-identity";
    /// Path (RFC 3327).
    Path => "Path", b"path";
    /// Priority.
    Priority => "Priority", b"priority";
    /// Privacy (RFC 3323).
    Privacy => "Privacy", b"privacy";
    /// Proxy-Authenticate.
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate";
    /// Proxy-Authorization.
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization";
    /// Proxy-Require.
    ProxyRequire => "Proxy-Require", b"proxy-require";
    /// RAck (RFC 3262).
    RAck => "RAck", b"rack";
    /// Reason (RFC 3326).
    Reason => "Reason", b"reason";
    /// Record-Route.
    RecordRoute => "Record-Route", b"record-route";
    /// Refer-To (RFC 3515).
    ReferTo => "Refer-To", b"refer-to", 'r';
    /// Referred-By (RFC 3892).
    ReferredBy => "Referred-By", b"referred-by", 'b';
    /// Reject-Contact (RFC 3841).
    RejectContact => "Reject-Contact", b"reject-contact", 'j';
    /// Replaces (RFC 3891).
    Replaces => "Replaces", b"replaces";
    /// Reply-To.
    ReplyTo => "Reply-To", b"reply-to";
    /// Request-Disposition (RFC 3841).
    RequestDisposition => "Request-Disposition", b"request-disposition", 'd';
    /// Require.
    Require => "Require", b"require";
    /// Retry-After.
    RetryAfter => "Retry-After", b"retry-after";
    /// Route.
    Route => "Route", b"route";
    /// RSeq (RFC 3262).
    RSeq => "RSeq", b"rseq";
    /// Server.
    Server => "Server", b"server";
    /// Service-Route (RFC 3608).
    ServiceRoute => "Service-Route", b"service-route";
    /// Session-Expires (RFC 4028).
    SessionExpires => "Session-Expires", b"session-expires", 'x';
    /// Subject.
    Subject => "Subject", b"subject", 's';
    /// Subscription-State (RFC 6665).
    SubscriptionState => "Subscription-State", b"subscription-state";
    /// Supported.
    Supported => "Supported", b"supported", 'k';
    /// Timestamp.
    Timestamp => "Timestamp", b"timestamp";
    /// To.
    To => "To", b"to", 't';
    /// Unsupported.
    Unsupported => "Unsupported", b"unsupported";
    /// User-Agent.
    UserAgent => "User-Agent", b"user-agent";
    /// Via.
    Via => "Via", b"via", 'v';
    /// Warning.
    Warning => "Warning", b"warning";
    /// WWW-Authenticate.
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate";
}

impl HeaderName {
    /// A name from a string: a known header (any spelling) or an extension.
    pub fn new(name: &str) -> Self {
        Self::lookup(name.as_bytes()).unwrap_or_else(|| Self::Other(name.into()))
    }

    /// Whether `raw` (a name read from the wire) denotes this header.
    pub fn matches(&self, raw: &[u8]) -> bool {
        match self {
            Self::Other(s) => s.as_bytes().eq_ignore_ascii_case(raw),
            known => Self::lookup(raw).as_ref() == Some(known),
        }
    }

    pub(crate) fn same(&self, known: Option<&Self>, raw: &[u8]) -> bool {
        match (self, known) {
            (Self::Other(s), None) => s.as_bytes().eq_ignore_ascii_case(raw),
            (Self::Other(_), Some(_)) => false,
            (a, Some(b)) => a == b,
            (_, None) => false,
        }
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Other(a), Self::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}
impl Eq for HeaderName {}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}
