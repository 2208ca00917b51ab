//! The `Authorization: OAuth ...` header (RFC 5849 §3.5.1): the scheme
//! name, then `name="value"` pairs separated by commas, names and values
//! percent-encoded. `realm` is kept apart: it is not signed.

use crate::{OAuthError, percent_decode};

/// Longest header accepted; real ones are under 600 bytes.
pub const MAX_HEADER_LEN: usize = 4096;
/// Most parameters accepted in the header.
const MAX_PARAMS: usize = 32;

/// A parsed header: the protocol parameters (decoded, in order) and the
/// realm if one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// `oauth_*` and any other parameters except `realm`, decoded.
    pub params: Vec<(String, String)>,
    /// The `realm`, not part of the signature.
    pub realm: Option<String>,
}

impl AuthorizationHeader {
    /// Parses the header's value.
    ///
    /// # Errors
    /// [`OAuthError::MissingHeader`] when the scheme is not OAuth,
    /// [`OAuthError::MalformedHeader`], [`OAuthError::BadEncoding`] or
    /// [`OAuthError::DuplicateParameter`] otherwise.
    pub fn parse(value: &str) -> Result<Self, OAuthError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(malformed(format!("longer than {MAX_HEADER_LEN} bytes")));
        }
        let value = value.trim_start();
        let (scheme, rest) = value.split_at(value.find([' ', '\t']).unwrap_or(value.len()));
        if !scheme.eq_ignore_ascii_case("OAuth") {
            return Err(OAuthError::MissingHeader);
        }
        let mut params: Vec<(String, String)> = Vec::new();
        let mut realm = None;
        let mut rest = rest.trim_start_matches([' ', '\t']);
        while !rest.is_empty() {
            let (name, value, after) = pair(rest)?;
            if name == "realm" {
                if realm.replace(value).is_some() {
                    return Err(OAuthError::DuplicateParameter { name });
                }
            } else {
                if params.iter().any(|(n, _)| *n == name) {
                    return Err(OAuthError::DuplicateParameter { name });
                }
                if params.len() == MAX_PARAMS {
                    return Err(malformed(format!("more than {MAX_PARAMS} parameters")));
                }
                params.push((name, value));
            }
            rest = after.trim_start_matches([' ', '\t']);
            match rest.strip_prefix(',') {
                Some(next) => rest = next.trim_start_matches([' ', '\t']),
                None if rest.is_empty() => {}
                None => return Err(malformed("parameters must be separated by commas".into())),
            }
        }
        Ok(Self { params, realm })
    }

    /// The value of parameter `name`, if present.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One `name="value"` at the start of `s`: the decoded name and value and
/// what follows the closing quote.
fn pair(s: &str) -> Result<(String, String, &str), OAuthError> {
    let Some((raw_name, after_eq)) = s.split_once('=') else {
        return Err(malformed("a parameter without '='".into()));
    };
    let raw_name = raw_name.trim_end_matches([' ', '\t']);
    if raw_name.is_empty() || raw_name.contains([',', '"', ' ', '\t']) {
        return Err(malformed("a parameter without a name".into()));
    }
    let Some(quoted) = after_eq.trim_start_matches([' ', '\t']).strip_prefix('"') else {
        return Err(malformed(format!(
            "the value of {raw_name} must be in double quotes"
        )));
    };
    // Values are percent-encoded, so they never contain a quote.
    let Some((raw_value, after)) = quoted.split_once('"') else {
        return Err(malformed(format!("unterminated value of {raw_name}")));
    };
    let name = percent_decode(raw_name, "a header parameter name")?;
    let value = percent_decode(raw_value, &name)?;
    Ok((name, value, after))
}

fn malformed(reason: String) -> OAuthError {
    OAuthError::MalformedHeader { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rfc_example() {
        let h = AuthorizationHeader::parse(
            "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
             oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"",
        )
        .unwrap();
        assert_eq!(h.realm.as_deref(), Some("Example"));
        assert_eq!(h.get("oauth_consumer_key"), Some("9djdj82h48djs9d2"));
        assert_eq!(
            h.get("oauth_signature"),
            Some("bYT5CMsGcbgUdFHObYMEfcx6bsw=")
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            "OAuth a=\"1\" b=\"2\"",
            "OAuth a=1",
            "OAuth a=\"1",
            "OAuth =\"1\"",
            "OAuth a=\"1\", a=\"2\"",
            "OAuth a=\"%G1\"",
        ] {
            assert!(AuthorizationHeader::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            AuthorizationHeader::parse("Basic abc"),
            Err(OAuthError::MissingHeader)
        );
        let long = format!("OAuth a=\"{}\"", "x".repeat(MAX_HEADER_LEN));
        assert!(AuthorizationHeader::parse(&long).is_err());
    }

    #[test]
    fn accepts_a_bare_scheme_and_trailing_comma_free_forms() {
        assert!(
            AuthorizationHeader::parse("OAuth")
                .unwrap()
                .params
                .is_empty()
        );
        let h = AuthorizationHeader::parse("oauth  a = \"1\" ,b=\"x%20y\"").unwrap();
        assert_eq!(
            h.params,
            [("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
    }
}
