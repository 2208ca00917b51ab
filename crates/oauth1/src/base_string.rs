//! The signature base string (RFC 5849 §3.4.1): the method, the base
//! string URI and the normalised parameters, each percent-encoded and
//! joined with `&`.

use crate::percent_encode;

/// The base string URI (§3.4.1.2): scheme and host in lower case, the port
/// only when it is not the scheme's default, the path without the query.
#[must_use]
pub fn base_string_uri(scheme: &str, host: &str, port: Option<u16>, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let path = if path.is_empty() { "/" } else { path };
    match port {
        Some(p) if Some(p) != default_port => format!("{scheme}://{host}:{p}{path}"),
        _ => format!("{scheme}://{host}{path}"),
    }
}

/// The normalised parameters (§3.4.1.3.2): every name and value encoded,
/// sorted by name then value (byte order of the encoded forms), joined as
/// `name=value` pairs with `&`. `params` must already exclude
/// `oauth_signature` and `realm`.
#[must_use]
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(n, v)| (percent_encode(n), percent_encode(v)))
        .collect();
    encoded.sort_unstable();
    let mut out = String::new();
    for (i, (n, v)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The signature base string (§3.4.1.1).
#[must_use]
pub fn signature_base_string(method: &str, uri: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(uri),
        percent_encode(&normalized_parameters(params))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_string_uri_drops_default_ports_and_lowers_case() {
        // RFC 5849 §3.4.1.2's examples.
        assert_eq!(
            base_string_uri("HTTP", "EXAMPLE.COM", Some(80), "/r%20v/X"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base_string_uri("https", "www.example.net", Some(8080), "/"),
            "https://www.example.net:8080/"
        );
        assert_eq!(
            base_string_uri("https", "gw.example", Some(443), ""),
            "https://gw.example/"
        );
    }
}
