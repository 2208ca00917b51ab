//! MAC address forms accepted from operators and CSV files (PRO-6).

use crate::FieldProblem;

/// Normalizes a MAC address to 12 upper-case hex digits.
///
/// Accepts `00-08-5d-84-20-61`, `00:08:5D:84:20:61` and `00085d842061`
/// (any case; surrounding white space ignored). Separators must be all `-`
/// or all `:` and split the address into six pairs.
///
/// # Errors
/// A [`FieldProblem`] on field `mac` quoting the input and the accepted forms.
pub fn normalize_mac(input: &str) -> Result<String, FieldProblem> {
    let bad = |why: &str| {
        FieldProblem::with_value(
            "mac",
            input,
            format!(
                "{why}; a MAC address is 12 hex digits, written 00085d842061, \
                 00-08-5d-84-20-61 or 00:08:5D:84:20:61"
            ),
        )
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("empty"));
    }
    let digits: String = if s.len() == 12 {
        s.to_owned()
    } else if s.len() == 17 {
        let sep = if s.as_bytes()[2] == b':' { ':' } else { '-' };
        let groups: Vec<&str> = s.split(sep).collect();
        if groups.len() != 6 || groups.iter().any(|g| g.len() != 2) {
            return Err(bad("separators must be all '-' or all ':' between pairs"));
        }
        groups.concat()
    } else {
        return Err(bad(&format!("{} characters", s.chars().count())));
    };
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(bad(&format!("{c:?} is not a hex digit")));
    }
    Ok(digits.to_ascii_uppercase())
}
