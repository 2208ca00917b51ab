//! Which certificate a TLS listener presents for a client's SNI (issue 17
//! item 3): one whose names contain the server name exactly, else one with
//! a wildcard covering it, else the first (the usage's default; also for
//! clients that send no SNI, as phones dialling an address do).

use crate::name_covered;

/// The index in `candidates` (each the names one certificate covers) to
/// present for `server_name`; 0 when none covers it or `candidates` has
/// one entry.
pub fn pick<S: AsRef<str>>(candidates: &[&[S]], server_name: Option<&str>) -> usize {
    let Some(server_name) = server_name else {
        return 0;
    };
    let exact = candidates.iter().position(|names| {
        names
            .iter()
            .any(|n| !n.as_ref().starts_with("*.") && name_covered(n.as_ref(), server_name))
    });
    exact
        .or_else(|| {
            candidates
                .iter()
                .position(|names| names.iter().any(|n| name_covered(n.as_ref(), server_name)))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn exact_name_beats_wildcard_and_default_is_first() {
        let default = ["sbc.example.com".to_owned()];
        let wildcard = ["*.example.org".to_owned()];
        let exact = ["portal.example.org".to_owned()];
        let all: [&[String]; 3] = [&default, &wildcard, &exact];
        assert_eq!(pick(&all, Some("portal.example.org")), 2);
        assert_eq!(pick(&all, Some("PORTAL.example.org.")), 2);
        assert_eq!(pick(&all, Some("other.example.org")), 1);
        assert_eq!(pick(&all, Some("sbc.example.com")), 0);
        assert_eq!(pick(&all, Some("unknown.test")), 0);
        assert_eq!(pick(&all, None), 0);
        assert_eq!(pick(&all, Some("a.b.example.org")), 0);
    }
}
