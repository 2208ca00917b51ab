//! The User-Agent of Mitel and Aastra phones fetching their files, for the
//! inventory (SPEC PRO-5, PRO-8).
//!
//! ```text
//! Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP
//! Aastra6739i MAC:00-08-5D-1A-2B-3C V:3.3.1.4322-SIP
//! ```
//!
//! The first token is the vendor (`Mitel` or `Aastra`, as the phone was
//! branded) glued to the model (`6867i`, the column "Modèle" of the
//! vendor's inventory, seed 000 §6.5); then `MAC:` with the MAC in any of
//! the accepted forms (phones send the dashed one) and `V:` with the
//! firmware version, whose `-SIP` suffix names the protocol and is not part
//! of the version the inventory shows ("Version logicielle 4.2.0.2011",
//! same table). Tokens are separated by white space and `MAC:`/`V:` may
//! come in either order or be followed by other tokens.
//!
//! The header comes from anyone on the Internet, so [`parse_user_agent`]
//! never panics, bounds what it reads ([`MAX_USER_AGENT_LEN`]) and returns
//! `None` for anything that is not a Mitel/Aastra phone with a valid MAC:
//! a browser or scanner is "not a phone", not an error.

use crate::mac::Mac;

/// Longest User-Agent looked at, in bytes; longer ones are not phones.
pub const MAX_USER_AGENT_LEN: usize = 512;
/// Longest model name kept (`6867i`, `6940w`...).
pub const MAX_MODEL_LEN: usize = 16;
/// Longest firmware version kept (`6.3.0.1020`).
pub const MAX_FIRMWARE_LEN: usize = 32;

/// Under which brand the phone announces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// `Mitel...` (6800/6900 series and later firmware).
    Mitel,
    /// `Aastra...` (6700 series and earlier firmware).
    Aastra,
}

impl Vendor {
    /// The prefix as phones write it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mitel => "Mitel",
            Self::Aastra => "Aastra",
        }
    }
}

/// What a phone's User-Agent says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneAgent {
    /// The brand.
    pub vendor: Vendor,
    /// The model, e.g. `6867i` (ASCII letters and digits).
    pub model: String,
    /// The phone's MAC.
    pub mac: Mac,
    /// The firmware version, e.g. `6.3.0.1020` (digits and dots), when the
    /// agent has a well-formed `V:`.
    pub firmware: Option<String>,
}

/// Reads a phone's User-Agent (format in the module docs); `None` for
/// anything else.
#[must_use]
pub fn parse_user_agent(agent: &str) -> Option<PhoneAgent> {
    if agent.len() > MAX_USER_AGENT_LEN {
        return None;
    }
    let mut tokens = agent.split_ascii_whitespace();
    let (vendor, model) = vendor_model(tokens.next()?)?;
    let mut mac = None;
    let mut firmware = None;
    for token in tokens {
        if let Some(value) = strip_prefix_ignore_case(token, "MAC:") {
            // A second MAC: token would make the agent ambiguous.
            if mac.is_some() {
                return None;
            }
            mac = Some(Mac::parse(value).ok()?);
        } else if let Some(value) = strip_prefix_ignore_case(token, "V:") {
            if firmware.is_none() {
                firmware = firmware_version(value);
            }
        }
    }
    Some(PhoneAgent {
        vendor,
        model: model.to_owned(),
        mac: mac?,
        firmware,
    })
}

/// `Mitel6867i` -> (Mitel, "6867i").
fn vendor_model(token: &str) -> Option<(Vendor, &str)> {
    let (vendor, model) = [Vendor::Mitel, Vendor::Aastra]
        .into_iter()
        .find_map(|v| strip_prefix_ignore_case(token, v.as_str()).map(|m| (v, m)))?;
    let valid = !model.is_empty()
        && model.len() <= MAX_MODEL_LEN
        && model.bytes().all(|b| b.is_ascii_alphanumeric())
        // Models are numbers with an optional letter suffix; a leading
        // letter means another product (`MitelConnect/1.0`...).
        && model.bytes().next().is_some_and(|b| b.is_ascii_digit());
    valid.then_some((vendor, model))
}

/// `6.3.0.1020-SIP` -> `6.3.0.1020`.
fn firmware_version(value: &str) -> Option<String> {
    let version = value.split_once('-').map_or(value, |(v, _suffix)| v);
    let valid = !version.is_empty()
        && version.len() <= MAX_FIRMWARE_LEN
        && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && version.bytes().next().is_some_and(|b| b.is_ascii_digit());
    valid.then(|| version.to_owned())
}

/// `s` without `prefix`, compared without regard to ASCII case.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(s: &str) -> Mac {
        Mac::parse(s).unwrap()
    }

    #[test]
    fn the_examples() {
        // SPEC PRO-5's example and an Aastra-branded 6739i.
        assert_eq!(
            parse_user_agent("Mitel6867i MAC:00-08-5D-23-74-29 V:6.3.0.1020-SIP"),
            Some(PhoneAgent {
                vendor: Vendor::Mitel,
                model: "6867i".to_owned(),
                mac: mac("00085D237429"),
                firmware: Some("6.3.0.1020".to_owned()),
            })
        );
        assert_eq!(
            parse_user_agent("Aastra6739i MAC:00-08-5D-1A-2B-3C V:3.3.1.4322-SIP"),
            Some(PhoneAgent {
                vendor: Vendor::Aastra,
                model: "6739i".to_owned(),
                mac: mac("00085D1A2B3C"),
                firmware: Some("3.3.1.4322".to_owned()),
            })
        );
    }

    #[test]
    fn the_inventory_models_of_seed_000() {
        // Seed 000 §6.5's inventory: models and firmware as the TMA shows them.
        for (model, version, address) in [
            ("6865i", "4.2.0.2011", "00-08-5D-42-AF-09"),
            ("6737i", "3.3.1.8202", "00-08-5D-30-8E-D1"),
            ("6730i", "3.3.1.4358", "00-08-5D-11-DB-FC"),
            ("6873i", "4.2.0.2011", "08-00-0F-9F-74-04"),
        ] {
            let agent = format!("Mitel{model} MAC:{address} V:{version}-SIP");
            let phone = parse_user_agent(&agent).unwrap();
            assert_eq!(phone.model, model);
            assert_eq!(phone.firmware.as_deref(), Some(version));
            assert_eq!(phone.mac.dashed(), address);
        }
    }

    #[test]
    fn variations_phones_may_send() {
        let phone =
            parse_user_agent("  Mitel6930\tV:5.1.0.2052-SIP   MAC:00085d237429 extra/1 ").unwrap();
        assert_eq!(phone.model, "6930");
        assert_eq!(phone.mac, mac("00085D237429"));
        assert_eq!(phone.firmware.as_deref(), Some("5.1.0.2052"));
        let phone = parse_user_agent("MITEL6940w mac:00:08:5D:23:74:29").unwrap();
        assert_eq!(phone.model, "6940w");
        assert_eq!(phone.firmware, None);
        let phone = parse_user_agent("Aastra57i MAC:00-08-5D-23-74-29 V:beta").unwrap();
        assert_eq!(phone.firmware, None, "a malformed version is left out");
    }

    #[test]
    fn other_agents_are_not_phones() {
        for agent in [
            "",
            "curl/8.5.0",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
            "Mitel6867i V:6.3.0.1020-SIP",
            "Mitel6867i MAC:00-08-5D-23-74-2 V:6.3.0.1020-SIP",
            "Mitel MAC:00-08-5D-23-74-29",
            "MitelConnect MAC:00-08-5D-23-74-29",
            "Mitel6867i/2 MAC:00-08-5D-23-74-29",
            "Mitel6867i MAC:00-08-5D-23-74-29 MAC:00-08-5D-23-74-30",
            "Polycom6867i MAC:00-08-5D-23-74-29",
            "sipvicious MAC:00-08-5D-23-74-29",
            "Mité6867i MAC:00-08-5D-23-74-29",
            "M",
        ] {
            assert_eq!(parse_user_agent(agent), None, "{agent:?}");
        }
        let long = format!(
            "Mitel6867i MAC:00-08-5D-23-74-29 {}",
            "x".repeat(MAX_USER_AGENT_LEN)
        );
        assert_eq!(parse_user_agent(&long), None);
    }

    #[test]
    fn multi_byte_text_does_not_panic() {
        for agent in [
            "é",
            "Mité",
            "Aastrà",
            "Mitel6867i MAC:é V:é",
            "ééééééé MAC:00085D237429",
        ] {
            let _ = parse_user_agent(agent);
        }
    }
}
