//! What a certificate says about itself: subject, issuer, the names it
//! covers, its validity.

use x509_parser::prelude::{GeneralName, ParsedExtension, X509Certificate};

/// A certificate as shown to an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The subject, e.g. `CN=sbc.example.com, O=Example`.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// DNS names and IP addresses it covers (subjectAltName; the CN when
    /// there is none).
    pub names: Vec<String>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Issued by itself.
    pub self_signed: bool,
}

impl CertificateInfo {
    /// What the DER certificate `der` says; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        use x509_parser::prelude::FromDer as _;
        X509Certificate::from_der(der)
            .ok()
            .map(|(_, cert)| Self::of(&cert))
    }

    pub(crate) fn of(cert: &X509Certificate<'_>) -> Self {
        let mut names = Vec::new();
        for ext in cert.extensions() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => names.push((*d).to_ascii_lowercase()),
                        GeneralName::IPAddress(bytes) => {
                            if let Some(ip) = ip_of(bytes) {
                                names.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if names.is_empty() {
            names.extend(
                cert.subject()
                    .iter_common_name()
                    .filter_map(|cn| cn.as_str().ok())
                    .map(str::to_ascii_lowercase),
            );
        }
        Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            names,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            self_signed: cert.subject() == cert.issuer(),
        }
    }

    /// Whether the certificate covers `name` (a host name or an address).
    pub fn covers(&self, name: &str) -> bool {
        self.names.iter().any(|n| name_covered(n, name))
    }
}

fn ip_of(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// Whether certificate name `pattern` covers `name` (RFC 6125 §6.4.3): a
/// wildcard only as the whole leftmost label, standing for exactly one
/// label; case-insensitive.
pub fn name_covered(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => name
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest && rest.contains('.')),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(name_covered("*.example.com", "sbc.example.com"));
        assert!(name_covered("*.Example.com", "SBC.example.com."));
        assert!(!name_covered("*.example.com", "a.b.example.com"));
        assert!(!name_covered("*.example.com", "example.com"));
        assert!(!name_covered("*.com", "example.com"));
        assert!(name_covered("sbc.example.com", "sbc.example.com"));
        assert!(!name_covered("sbc.example.com", "sbc2.example.com"));
    }
}
