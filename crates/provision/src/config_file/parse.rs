//! The strict reader (rules in the parent module's docs).

use super::{
    ConfigError, ConfigFile, Line, MAX_CONFIG_BYTES, Parameter, ParameterError,
    is_forbidden_control,
};

pub(super) fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge { size: text.len() });
    }
    // A byte order mark (Notepad's "UTF-8 with BOM") is not part of the
    // first parameter's name; it is dropped, and the writer never adds one.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut file = ConfigFile::new();
    // `split_terminator` so that the final LF does not add a blank line:
    // what the writer ends every line with reads back as nothing.
    for (index, raw) in text.split_terminator('\n').enumerate() {
        let line = index + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        file.lines.push(parse_line(line, content)?);
    }
    Ok(file)
}

fn parse_line(line: usize, content: &str) -> Result<Line, ConfigError> {
    let at = |problem| ConfigError::Parameter { line, problem };
    let rest = content.trim_start_matches([' ', '\t']);
    if rest.is_empty() {
        return Ok(Line::Blank);
    }
    if let Some(comment) = rest.strip_prefix('#') {
        if let Some(c) = comment.chars().find(|&c| is_forbidden_control(c)) {
            return Err(at(ParameterError::CommentControl { code: u32::from(c) }));
        }
        return Ok(Line::Comment(comment.to_owned()));
    }
    let (locked, rest) = match rest.strip_prefix('!') {
        Some(after) => (true, after),
        None => (false, rest),
    };
    let Some((name, after)) = rest.split_once(':') else {
        return Err(ConfigError::MissingColon { line });
    };
    // `name : value` is accepted; the name itself is checked as written.
    let name = name.trim_end_matches([' ', '\t']);
    let value = read_value(line, after)?;
    let parameter = if locked {
        Parameter::new_locked(name, value)
    } else {
        Parameter::new(name, value)
    };
    parameter.map(Line::Parameter).map_err(at)
}

/// The value after the `:` (module docs: quoted, or unquoted up to `#`).
fn read_value(line: usize, after: &str) -> Result<&str, ConfigError> {
    let rest = after.trim_start_matches([' ', '\t']);
    if rest.starts_with('"') {
        let quoted = rest.trim_end_matches([' ', '\t']);
        return quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .ok_or(ConfigError::UnterminatedQuote { line });
    }
    let value = rest.split_once('#').map_or(rest, |(value, _comment)| value);
    Ok(value.trim_end_matches([' ', '\t']))
}
