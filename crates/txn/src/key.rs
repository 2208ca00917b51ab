//! Transaction keys (RFC 3261 §17.1.3, §17.2.3) built from plain data, so
//! the matching rules are testable without a parser.
//!
//! `message.rs` extracts [`RequestFacts`] and [`ResponseFacts`] from parsed
//! messages; everything else in the crate works on those.

/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
pub(crate) const MAGIC_COOKIE: &str = "z9hG4bK";

/// The parts of the top Via that matching uses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ViaFacts {
    /// Transport, upper-cased (`UDP`, `TCP`, `TLS`, ...).
    pub(crate) transport: Box<str>,
    /// sent-by host, lower-cased (host names compare case-insensitively).
    pub(crate) host: Box<str>,
    /// sent-by port as written; an absent port is not the same as 5060.
    pub(crate) port: Option<u16>,
    /// The branch parameter, compared byte for byte.
    pub(crate) branch: Option<Box<str>>,
}

impl ViaFacts {
    /// Whether the branch starts with the RFC 3261 magic cookie.
    pub(crate) fn has_magic_cookie(&self) -> bool {
        self.branch
            .as_deref()
            .is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }
}

/// What server-side matching needs from a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestFacts {
    pub(crate) method: Box<str>,
    pub(crate) via: ViaFacts,
    pub(crate) request_uri: Box<str>,
    pub(crate) call_id: Box<str>,
    pub(crate) cseq: u32,
    pub(crate) from_tag: Option<Box<str>>,
    pub(crate) to_tag: Option<Box<str>>,
}

impl RequestFacts {
    pub(crate) fn is_ack(&self) -> bool {
        &*self.method == "ACK"
    }

    pub(crate) fn is_invite(&self) -> bool {
        &*self.method == "INVITE"
    }

    pub(crate) fn is_cancel(&self) -> bool {
        &*self.method == "CANCEL"
    }
}

/// What client-side matching needs from a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResponseFacts {
    pub(crate) status: u16,
    pub(crate) branch: Box<str>,
    pub(crate) cseq_method: Box<str>,
    pub(crate) to_tag: Option<Box<str>>,
}

/// Server transaction key (RFC 3261 §17.2.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ServerKey {
    /// Magic-cookie branch: branch + sent-by + method, with ACK counted as
    /// INVITE.
    Branch {
        branch: Box<str>,
        host: Box<str>,
        port: Option<u16>,
        method: Box<str>,
    },
    /// RFC 2543 fallback: Request-URI, To tag, From tag, Call-ID, CSeq and
    /// the top Via. For an ACK the To tag is the one of the response the
    /// transaction sent, which the layer checks separately (see
    /// [`ServerKey::untagged`]).
    Legacy {
        request_uri: Box<str>,
        to_tag: Option<Box<str>>,
        from_tag: Option<Box<str>>,
        call_id: Box<str>,
        cseq: u32,
        method: Box<str>,
        via: ViaFacts,
    },
}

impl ServerKey {
    /// The key of the transaction `request` belongs to. ACK maps to the
    /// INVITE it acknowledges; CANCEL is a transaction of its own.
    pub(crate) fn of(request: &RequestFacts) -> Self {
        let method: Box<str> = if request.is_ack() {
            "INVITE".into()
        } else {
            request.method.clone()
        };
        if request.via.has_magic_cookie() {
            Self::Branch {
                branch: request.via.branch.clone().unwrap_or_default(),
                host: request.via.host.clone(),
                port: request.via.port,
                method,
            }
        } else {
            Self::Legacy {
                request_uri: request.request_uri.clone(),
                to_tag: request.to_tag.clone(),
                from_tag: request.from_tag.clone(),
                call_id: request.call_id.clone(),
                cseq: request.cseq,
                method,
                via: request.via.clone(),
            }
        }
    }

    /// The key of the INVITE a CANCEL with this key cancels (RFC 3261 §9.2:
    /// the same rules, except for the method).
    pub(crate) fn as_invite(&self) -> Self {
        let mut key = self.clone();
        match &mut key {
            Self::Branch { method, .. } | Self::Legacy { method, .. } => *method = "INVITE".into(),
        }
        key
    }

    /// For an RFC 2543 ACK: the same key with no To tag, under which an
    /// initial INVITE (sent without a To tag) was stored. The ACK matches it
    /// only if its To tag is the one of the response the transaction sent.
    pub(crate) fn untagged(&self) -> Option<Self> {
        match self {
            Self::Legacy {
                to_tag: Some(_), ..
            } => {
                let mut key = self.clone();
                if let Self::Legacy { to_tag, .. } = &mut key {
                    *to_tag = None;
                }
                Some(key)
            }
            _ => None,
        }
    }
}

/// Client transaction key (RFC 3261 §17.1.3): the branch of the top Via and
/// the CSeq method. The request's branch is ours, so it always carries the
/// magic cookie.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub(crate) branch: Box<str>,
    pub(crate) method: Box<str>,
}

impl ClientKey {
    pub(crate) fn of_response(response: &ResponseFacts) -> Self {
        Self {
            branch: response.branch.clone(),
            method: response.cseq_method.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn invite(branch: Option<&str>) -> RequestFacts {
        RequestFacts {
            method: "INVITE".into(),
            via: ViaFacts {
                transport: "UDP".into(),
                host: "pc33.atlanta.com".into(),
                port: Some(5060),
                branch: branch.map(Into::into),
            },
            request_uri: "sip:bob@biloxi.com".into(),
            call_id: "a84b4c76e66710".into(),
            cseq: 314_159,
            from_tag: Some("1928301774".into()),
            to_tag: None,
        }
    }

    fn with_method(mut r: RequestFacts, method: &str) -> RequestFacts {
        r.method = method.into();
        r
    }

    #[test]
    fn branch_key_maps_ack_to_invite_and_keeps_cancel_apart() {
        let inv = invite(Some("z9hG4bK776asdhds"));
        let key = ServerKey::of(&inv);
        assert!(matches!(key, ServerKey::Branch { .. }));
        assert_eq!(ServerKey::of(&with_method(inv.clone(), "ACK")), key);
        let cancel = ServerKey::of(&with_method(inv.clone(), "CANCEL"));
        assert_ne!(cancel, key);
        assert_eq!(cancel.as_invite(), key);
    }

    #[test]
    fn branch_key_ignores_everything_but_branch_sent_by_and_method() {
        let inv = invite(Some("z9hG4bK776asdhds"));
        let mut other = inv.clone();
        other.call_id = "different".into();
        other.request_uri = "sip:someone@else".into();
        other.to_tag = Some("x".into());
        other.via.transport = "TCP".into();
        assert_eq!(ServerKey::of(&other), ServerKey::of(&inv));
        let mut moved = inv.clone();
        moved.via.port = Some(5070);
        assert_ne!(ServerKey::of(&moved), ServerKey::of(&inv));
        let mut host = inv.clone();
        host.via.host = "pc34.atlanta.com".into();
        assert_ne!(ServerKey::of(&host), ServerKey::of(&inv));
        let mut branch = inv.clone();
        branch.via.branch = Some("z9hG4bK776asdhdS".into());
        assert_ne!(
            ServerKey::of(&branch),
            ServerKey::of(&inv),
            "branches compare byte for byte"
        );
    }

    #[test]
    fn no_magic_cookie_falls_back_to_rfc_2543_rules() {
        for branch in [None, Some("776asdhds")] {
            let inv = invite(branch);
            let key = ServerKey::of(&inv);
            assert!(matches!(key, ServerKey::Legacy { .. }));
            for change in 0..6 {
                let mut other = inv.clone();
                match change {
                    0 => other.request_uri = "sip:carol@chicago.com".into(),
                    1 => other.from_tag = Some("other".into()),
                    2 => other.call_id = "other".into(),
                    3 => other.cseq += 1,
                    4 => other.via.host = "other.example".into(),
                    _ => other.to_tag = Some("tag".into()),
                }
                assert_ne!(ServerKey::of(&other), key, "change {change}");
            }
            // An ACK to a response that carried To tag "t" matches the
            // untagged INVITE through `untagged`.
            let mut ack = with_method(inv.clone(), "ACK");
            ack.to_tag = Some("t".into());
            assert_ne!(ServerKey::of(&ack), key);
            assert_eq!(ServerKey::of(&ack).untagged(), Some(key.clone()));
            assert_eq!(
                ServerKey::of(&with_method(inv.clone(), "CANCEL")).as_invite(),
                key
            );
        }
    }

    #[test]
    fn client_key_is_branch_and_cseq_method() {
        let r = ResponseFacts {
            status: 200,
            branch: "z9hG4bKnashds8".into(),
            cseq_method: "INVITE".into(),
            to_tag: None,
        };
        let cancel = ResponseFacts {
            cseq_method: "CANCEL".into(),
            ..r.clone()
        };
        assert_ne!(ClientKey::of_response(&r), ClientKey::of_response(&cancel));
    }
}
