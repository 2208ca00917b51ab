//! RTP security policies per side and direction, named as SPEC MED-3 and
//! the seeds name them ("Set-side RTP security inbound: SRTP only"...).
//!
//! *Inbound* applies to offers received on that side (what Outpost accepts);
//! *outbound* to offers Outpost sends on that side. Config spellings:
//! `srtp-only`, `srtp-or-rtp`, `avp+crypto`, `rtp`.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A policy spelling that is not allowed for that setting.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown RTP security policy {found:?}; expected one of: {expected}")]
pub struct PolicyParseError {
    /// What was read.
    pub found: String,
    /// The allowed spellings, comma separated.
    pub expected: &'static str,
}

/// What an offer received on a side may carry (the general form of the
/// per-side inbound settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboundPolicy {
    /// Every active RTP stream must be SRTP (RTP/SAVP, or RTP/AVP with a
    /// usable `a=crypto`); anything else gets 488.
    SrtpOnly,
    /// SRTP when the offer has a usable `a=crypto`, plain RTP otherwise;
    /// RTP/SAVP without a usable crypto line gets 488.
    SrtpOrRtp,
    /// Plain RTP only: `a=crypto` on RTP/AVP is ignored (answered without
    /// crypto), RTP/SAVP gets 488.
    Rtp,
}

/// What Outpost offers on a side (the general form of the per-side
/// outbound settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboundPolicy {
    /// RTP/SAVP (or RTP/SAVPF) with `a=crypto`: the answer must be SRTP.
    SrtpOnly,
    /// RTP/AVP (or RTP/AVPF) with `a=crypto`, best effort: SRTP when the
    /// answer returns a crypto line, plain RTP when it does not.
    AvpCrypto,
    /// RTP/AVP without `a=crypto`.
    Rtp,
}

macro_rules! side_policy {
    (
        $(#[$meta:meta])* $name:ident => $general:ident, default $default:ident,
        expected $expected:literal,
        { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The config spelling.
            pub fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $text, )+ }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = PolicyParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $( $text => Ok(Self::$variant), )+
                    _ => Err(PolicyParseError { found: s.to_owned(), expected: $expected }),
                }
            }
        }

        impl From<$name> for $general {
            fn from(p: $name) -> Self {
                match p { $( $name::$variant => Self::$variant, )+ }
            }
        }
    };
}

side_policy! {
    /// Set-side (public, phones) inbound policy; default `srtp-only`.
    SetSideInbound => InboundPolicy, default SrtpOnly,
    expected "srtp-only, srtp-or-rtp",
    {
        /// Phones must offer SRTP.
        SrtpOnly = "srtp-only",
        /// Phones may offer SRTP or plain RTP.
        SrtpOrRtp = "srtp-or-rtp",
    }
}

side_policy! {
    /// Set-side (public, phones) outbound policy; default `srtp-only`.
    SetSideOutbound => OutboundPolicy, default SrtpOnly,
    expected "srtp-only, avp+crypto, rtp",
    {
        /// Offer RTP/SAVP with `a=crypto`.
        SrtpOnly = "srtp-only",
        /// Offer RTP/AVP with `a=crypto`, best effort.
        AvpCrypto = "avp+crypto",
        /// Offer plain RTP.
        Rtp = "rtp",
    }
}

side_policy! {
    /// ICP-side (private, iPBX) inbound policy; default `srtp-or-rtp`.
    IcpSideInbound => InboundPolicy, default SrtpOrRtp,
    expected "srtp-or-rtp, srtp-only, rtp",
    {
        /// The iPBX may offer SRTP or plain RTP.
        SrtpOrRtp = "srtp-or-rtp",
        /// The iPBX must offer SRTP.
        SrtpOnly = "srtp-only",
        /// The iPBX must offer plain RTP.
        Rtp = "rtp",
    }
}

side_policy! {
    /// ICP-side (private, iPBX) outbound policy; default `avp+crypto`.
    IcpSideOutbound => OutboundPolicy, default AvpCrypto,
    expected "avp+crypto, srtp-only, rtp",
    {
        /// Offer RTP/AVP with `a=crypto`, best effort.
        AvpCrypto = "avp+crypto",
        /// Offer RTP/SAVP with `a=crypto`.
        SrtpOnly = "srtp-only",
        /// Offer plain RTP.
        Rtp = "rtp",
    }
}
