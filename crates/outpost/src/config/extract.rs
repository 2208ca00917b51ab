//! Walks the parsed TOML table key by key, applies environment overrides
//! and collects every error instead of stopping at the first. serde's
//! derive would stop at the first bad field and could not say which
//! environment variable a value came from, hence this small extractor.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::error::{ErrorKind, FieldError, Source};
use super::model::{Config, Side, SideConfig};
use super::values::{self, Problem, Raw};

/// Keys of a side table.
const SIDE_KEYS: &[&str] = &[
    "interface",
    "address",
    "protocols",
    "sip_tls_port",
    "sip_port",
    "rtp_ports",
    "video",
];

/// Every table (`""` is the top level) with its keys, in file order.
pub(super) const SCHEMA: &[(&str, &[&str])] = &[
    ("", &["fqdn", "mode", "data_dir"]),
    ("public", SIDE_KEYS),
    ("private", SIDE_KEYS),
    ("ipbx", &["address", "port", "transport", "ca_file"]),
    ("dns", &["servers"]),
    ("web", &["port"]),
    ("admin", &["listen"]),
    ("log", &["format", "level"]),
    (
        "sip",
        &[
            "t1_ms",
            "t2_ms",
            "t4_ms",
            "max_message_size",
            "max_connections",
            "max_connections_per_source",
            "idle_timeout_secs",
            "max_transactions",
        ],
    ),
    (
        "registration",
        &[
            "phone_expiry_secs",
            "icp_expiry_secs",
            "heartbeat_secs",
            "max_calls",
            "max_bindings_per_device",
            "trust_registered_connection",
            "digest_algorithms",
        ],
    ),
    (
        "media",
        &[
            "timeout_secs",
            "dscp_audio",
            "dscp_video",
            "change_port_on_renegotiation",
            "strict_source",
            "set_side_inbound",
            "set_side_outbound",
            "icp_side_inbound",
            "icp_side_outbound",
            "srtp_suites",
        ],
    ),
];

/// Fields without an environment variable: the CLI owns `OUTPOST_DATA_DIR`.
const NO_ENV: &[&str] = &["data_dir"];

/// `public.sip_port`, or `mode` at the top level.
pub(super) fn dotted(table: &str, key: &str) -> String {
    if table.is_empty() {
        key.to_owned()
    } else {
        format!("{table}.{key}")
    }
}

/// `OUTPOST_PUBLIC_SIP_PORT`, `OUTPOST_MODE`; `None` for file-only fields.
pub(super) fn env_var(table: &str, key: &str) -> Option<String> {
    if table.is_empty() && NO_ENV.contains(&key) {
        return None;
    }
    let name = if table.is_empty() {
        format!("OUTPOST_{key}")
    } else {
        format!("OUTPOST_{table}_{key}")
    };
    Some(name.to_ascii_uppercase())
}

/// Where a field's effective value came from and how it was written.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub(super) source: Source,
    pub(super) value: String,
}

/// The result of a walk: the configuration (defaults where a value was
/// missing or invalid), the errors, and what validation needs to blame the
/// right source.
#[derive(Debug)]
pub(super) struct Extraction {
    pub(super) config: Config,
    pub(super) errors: Vec<FieldError>,
    pub(super) origins: HashMap<String, Origin>,
    pub(super) invalid: HashSet<String>,
}

type Env<'e> = &'e dyn Fn(&str) -> Option<String>;

struct Walker<'e> {
    path: PathBuf,
    env: Env<'e>,
    errors: Vec<FieldError>,
    origins: HashMap<String, Origin>,
    invalid: HashSet<String>,
}

/// Parses `text` as TOML, then walks it. A TOML syntax error is the only
/// error reported in that case (nothing else can be trusted).
pub(super) fn from_text(text: &str, path: &Path, env: Env<'_>) -> Extraction {
    match text.parse::<toml::Table>() {
        Ok(root) => walk(&root, path, env),
        Err(e) => {
            let mut extraction = walk(&toml::Table::new(), path, env);
            extraction.errors.insert(0, toml_error(text, path, &e));
            extraction
        }
    }
}

fn toml_error(text: &str, path: &Path, e: &toml::de::Error) -> FieldError {
    let location = e.span().map_or_else(String::new, |span| {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" at line {line}, column {column}")
    });
    let file = if path.as_os_str().is_empty() {
        String::new()
    } else {
        format!(" in {}", path.display())
    };
    let detail = e.message().trim().replace('\n', "; ");
    if let Some(bare) = e.span().and_then(|span| unquoted_value(text, span.start)) {
        return FieldError {
            field: dotted(&bare.table, &bare.key),
            value: bare.value.clone(),
            source: Source::File(path.to_owned()),
            kind: ErrorKind::SyntaxError,
            message: format!(
                "not quoted{file} at line {}: addresses, names, ranges and other text are \
                 TOML strings; write {} = \"{}\" (TOML said: {detail})",
                bare.line, bare.key, bare.value
            ),
        };
    }
    FieldError {
        field: String::new(),
        value: String::new(),
        source: Source::File(path.to_owned()),
        kind: ErrorKind::SyntaxError,
        message: format!("invalid TOML{file}{location}: {detail}"),
    }
}

/// A `key = value` line whose value is bare text that TOML cannot read
/// (`address = 10.0.0.5`), the commonest TOML mistake.
struct Unquoted {
    table: String,
    key: String,
    value: String,
    line: usize,
}

/// Finds the unquoted value on the line holding byte `offset` of `text`,
/// with the table it is in, if that line is a `key = value` line whose
/// value is bare text (letters, digits, `.:-+/_*%`) that is not a TOML
/// value on its own (a number, a boolean, a date).
fn unquoted_value(text: &str, offset: usize) -> Option<Unquoted> {
    let before = text.get(..offset)?;
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1)?;
    let (key, value) = line.split_once('=')?;
    let key = key.trim();
    let value = value.split('#').next().unwrap_or_default().trim();
    let bare_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let bare_text = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-+/_*%".contains(c));
    if !bare_key || !bare_text || format!("v = {value}").parse::<toml::Table>().is_ok() {
        return None;
    }
    let table = before
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('[') && !l.starts_with("[["))
        .filter_map(|l| l.split(']').next()?.strip_prefix('['))
        .next_back()
        .map_or_else(String::new, |t| t.trim().to_owned());
    Some(Unquoted {
        table,
        key: key.to_owned(),
        value: value.to_owned(),
        line: line_no,
    })
}

/// Walks a parsed table (use an empty one when there is no file).
pub(super) fn walk(root: &toml::Table, path: &Path, env: Env<'_>) -> Extraction {
    let mut w = Walker {
        path: path.to_owned(),
        env,
        errors: Vec::new(),
        origins: HashMap::new(),
        invalid: HashSet::new(),
    };
    let mut config = Config::default();
    w.check_top_level(root);

    let top = Some(root);
    set(&mut config.fqdn, w.take(top, "", "fqdn", values::fqdn));
    set(
        &mut config.mode,
        w.take(top, "", "mode", values::enum_value),
    );
    set(
        &mut config.data_dir,
        w.take(top, "", "data_dir", values::optional_path),
    );

    config.public = w.side(root, Side::Public);
    config.private = w.side(root, Side::Private);

    let ipbx = w.table(root, "ipbx");
    set(
        &mut config.ipbx.address,
        w.take(ipbx, "ipbx", "address", values::ipbx_host),
    );
    set(
        &mut config.ipbx.port,
        w.take(ipbx, "ipbx", "port", values::port),
    );
    set(
        &mut config.ipbx.transport,
        w.take(ipbx, "ipbx", "transport", values::enum_value),
    );
    set(
        &mut config.ipbx.ca_file,
        w.take(ipbx, "ipbx", "ca_file", values::optional_path),
    );

    let dns = w.table(root, "dns");
    set(
        &mut config.dns.servers,
        w.take(dns, "dns", "servers", values::dns_servers),
    );

    let web = w.table(root, "web");
    set(
        &mut config.web.port,
        w.take(web, "web", "port", values::port),
    );

    let admin = w.table(root, "admin");
    set(
        &mut config.admin.listen,
        w.take(admin, "admin", "listen", values::listen_addr),
    );

    let log = w.table(root, "log");
    set(
        &mut config.log.format,
        w.take(log, "log", "format", values::enum_value),
    );
    set(
        &mut config.log.level,
        w.take(log, "log", "level", values::log_level),
    );

    let sip = w.table(root, "sip");
    let c = &mut config.sip;
    for (key, slot, min, max) in [
        ("t1_ms", &mut c.t1_ms, 50, 10_000),
        ("t2_ms", &mut c.t2_ms, 500, 60_000),
        ("t4_ms", &mut c.t4_ms, 500, 60_000),
        (
            "max_message_size",
            &mut c.max_message_size,
            1_500,
            1_048_576,
        ),
        ("max_connections", &mut c.max_connections, 1, 1_000_000),
        (
            "max_connections_per_source",
            &mut c.max_connections_per_source,
            1,
            100_000,
        ),
        ("idle_timeout_secs", &mut c.idle_timeout_secs, 10, 86_400),
        ("max_transactions", &mut c.max_transactions, 100, 10_000_000),
    ] {
        set(
            slot,
            w.take(sip, "sip", key, |raw| {
                values::bounded_integer(raw, min, max)
            }),
        );
    }

    let reg = w.table(root, "registration");
    let r = &mut config.registration;
    for (key, slot, min, max) in [
        ("phone_expiry_secs", &mut r.phone_expiry_secs, 20, 86_400),
        ("icp_expiry_secs", &mut r.icp_expiry_secs, 60, 86_400),
        ("heartbeat_secs", &mut r.heartbeat_secs, 0, 3_600),
        ("max_calls", &mut r.max_calls, 1, 1_000_000),
        (
            "max_bindings_per_device",
            &mut r.max_bindings_per_device,
            1,
            outpost_b2bua::MAX_BINDINGS_PER_DEVICE as u32,
        ),
    ] {
        set(
            slot,
            w.take(reg, "registration", key, |raw| {
                values::bounded_integer(raw, min, max)
            }),
        );
    }
    set(
        &mut r.trust_registered_connection,
        w.take(
            reg,
            "registration",
            "trust_registered_connection",
            values::boolean,
        ),
    );
    set(
        &mut r.digest_algorithms,
        w.take(
            reg,
            "registration",
            "digest_algorithms",
            values::digest_algorithms,
        ),
    );

    let media = w.table(root, "media");
    let m = &mut config.media;
    for (key, slot, min, max) in [
        ("timeout_secs", &mut m.timeout_secs, 0, 86_400),
        ("dscp_audio", &mut m.dscp_audio, 0, 63),
        ("dscp_video", &mut m.dscp_video, 0, 63),
    ] {
        set(
            slot,
            w.take(media, "media", key, |raw| {
                values::bounded_integer(raw, min, max)
            }),
        );
    }
    set(
        &mut m.change_port_on_renegotiation,
        w.take(
            media,
            "media",
            "change_port_on_renegotiation",
            values::boolean,
        ),
    );
    set(
        &mut m.strict_source,
        w.take(media, "media", "strict_source", values::boolean),
    );
    set(
        &mut m.set_side_inbound,
        w.take(media, "media", "set_side_inbound", values::media_policy),
    );
    set(
        &mut m.set_side_outbound,
        w.take(media, "media", "set_side_outbound", values::media_policy),
    );
    set(
        &mut m.icp_side_inbound,
        w.take(media, "media", "icp_side_inbound", values::media_policy),
    );
    set(
        &mut m.icp_side_outbound,
        w.take(media, "media", "icp_side_outbound", values::media_policy),
    );
    set(
        &mut m.srtp_suites,
        w.take(media, "media", "srtp_suites", values::srtp_suites),
    );

    Extraction {
        config,
        errors: w.errors,
        origins: w.origins,
        invalid: w.invalid,
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

impl Walker<'_> {
    fn side(&mut self, root: &toml::Table, side: Side) -> SideConfig {
        let name = side.as_str();
        let t = self.table(root, name);
        let mut c = SideConfig::default_for(side);
        set(
            &mut c.interface,
            self.take(t, name, "interface", values::optional_ip),
        );
        set(
            &mut c.address,
            self.take(t, name, "address", values::optional_ip),
        );
        let protocols = self.take(t, name, "protocols", |raw| values::protocols(raw, side));
        set(&mut c.protocols, protocols);
        set(
            &mut c.sip_tls_port,
            self.take(t, name, "sip_tls_port", values::port),
        );
        set(
            &mut c.sip_port,
            self.take(t, name, "sip_port", values::port),
        );
        set(
            &mut c.rtp_ports,
            self.take(t, name, "rtp_ports", values::rtp_range),
        );
        set(&mut c.video, self.take(t, name, "video", values::boolean));
        c
    }

    /// The sub-table `name`, after reporting its unknown keys. A value of
    /// another type was already reported by `check_top_level`.
    fn table<'t>(&mut self, root: &'t toml::Table, name: &str) -> Option<&'t toml::Table> {
        let table = root.get(name).and_then(toml::Value::as_table)?;
        let known = keys_of(name);
        for (key, value) in table {
            if !known.contains(&key.as_str()) {
                let valid = known.join(", ");
                let message = format!(
                    "[{name}] has no key {key:?}{}; valid keys: {valid}",
                    did_you_mean(key, known)
                );
                self.file_error(&dotted(name, key), value, ErrorKind::UnknownKey, message);
            }
        }
        Some(table)
    }

    fn check_top_level(&mut self, root: &toml::Table) {
        let top_keys = keys_of("");
        let tables: Vec<&str> = SCHEMA
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| !t.is_empty())
            .collect();
        for (key, value) in root {
            if top_keys.contains(&key.as_str()) {
                continue;
            }
            if tables.contains(&key.as_str()) {
                if !value.is_table() {
                    let message = format!("expected a table, written [{key}] on its own line");
                    self.file_error(key, value, ErrorKind::WrongType, message);
                }
                continue;
            }
            let mut candidates = top_keys.to_vec();
            candidates.extend(&tables);
            let message = format!(
                "the configuration has no key {key:?}{}; valid top-level keys: {}; tables: [{}]",
                did_you_mean(key, &candidates),
                top_keys.join(", "),
                tables.join("], [")
            );
            self.file_error(key, value, ErrorKind::UnknownKey, message);
        }
    }

    /// The effective value of `table.key`: the environment variable when
    /// set (a file value it overrides is not checked), else the file.
    /// `None` when absent or invalid (the error is recorded).
    fn take<T>(
        &mut self,
        file: Option<&toml::Table>,
        table: &str,
        key: &str,
        parse: impl FnOnce(Raw<'_>) -> Result<T, Problem>,
    ) -> Option<T> {
        let field = dotted(table, key);
        let var = env_var(table, key);
        let env_value = var.as_deref().and_then(|v| (self.env)(v));
        let (result, origin) = match (env_value, file.and_then(|t| t.get(key))) {
            (Some(text), _) => {
                let result = parse(Raw::Env(&text));
                let source = Source::Env(var.unwrap_or_default());
                (
                    result,
                    Origin {
                        source,
                        value: text,
                    },
                )
            }
            (None, Some(value)) => {
                let result = parse(Raw::File(value));
                let source = Source::File(self.path.clone());
                (
                    result,
                    Origin {
                        source,
                        value: render(value),
                    },
                )
            }
            (None, None) => return None,
        };
        match result {
            Ok(value) => {
                self.origins.insert(field, origin);
                Some(value)
            }
            Err(problem) => {
                self.errors.push(FieldError {
                    field: field.clone(),
                    value: origin.value,
                    source: origin.source,
                    kind: problem.kind,
                    message: problem.message,
                });
                self.invalid.insert(field);
                None
            }
        }
    }

    fn file_error(&mut self, field: &str, value: &toml::Value, kind: ErrorKind, message: String) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            value: render(value),
            source: Source::File(self.path.clone()),
            kind,
            message,
        });
        self.invalid.insert(field.to_owned());
    }
}

fn keys_of(table: &str) -> &'static [&'static str] {
    SCHEMA
        .iter()
        .find(|(name, _)| *name == table)
        .map_or(&[], |(_, keys)| *keys)
}

/// A value as written in TOML, shortened: a whole table would drown the
/// message.
fn render(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(_) => "{...}".to_owned(),
        other => {
            let text = other.to_string();
            if text.chars().count() > 80 {
                let short: String = text.chars().take(77).collect();
                format!("{short}...")
            } else {
                text
            }
        }
    }
}

/// " (did you mean \"sip_tls_port\"?)" when a valid key is a typo away.
fn did_you_mean(key: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (edit_distance(key, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map_or_else(String::new, |(_, c)| format!(" (did you mean {c:?}?)"))
}

/// Levenshtein distance on characters, case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_typos() {
        assert_eq!(edit_distance("sip_tls_prot", "sip_tls_port"), 2);
        assert_eq!(edit_distance("adress", "address"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("video", "video"), 0);
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            did_you_mean("adress", SIDE_KEYS),
            " (did you mean \"address\"?)"
        );
        assert_eq!(did_you_mean("colour", SIDE_KEYS), "");
    }

    #[test]
    fn env_var_names_follow_table_and_key() {
        assert_eq!(
            env_var("public", "sip_tls_port").as_deref(),
            Some("OUTPOST_PUBLIC_SIP_TLS_PORT")
        );
        assert_eq!(env_var("", "mode").as_deref(), Some("OUTPOST_MODE"));
        assert_eq!(env_var("", "data_dir"), None);
    }

    #[test]
    fn an_unquoted_value_names_its_key_and_asks_for_quotes() {
        for (text, field, value, line) in [
            (
                "[ipbx]\naddress = 10.0.0.5\nport = 5060\n",
                "ipbx.address",
                "10.0.0.5",
                2,
            ),
            (
                "fqdn = \"a.example\"\n\n[public]\n# IP2\ninterface = 203.0.113.10 # the NIC\n",
                "public.interface",
                "203.0.113.10",
                5,
            ),
            (
                "[private]\naddress = fd00::2\n",
                "private.address",
                "fd00::2",
                2,
            ),
            (
                "fqdn = sbc.example.com\n[public]\n",
                "fqdn",
                "sbc.example.com",
                1,
            ),
            (
                "[public]\nrtp_ports = 20000-20999\n",
                "public.rtp_ports",
                "20000-20999",
                2,
            ),
        ] {
            let e = from_text(text, Path::new("/etc/outpost.toml"), &|_| None);
            assert_eq!(e.errors.len(), 1, "{text}: {:?}", e.errors);
            let error = &e.errors[0];
            assert_eq!(error.field, field, "{error}");
            assert_eq!(error.value, value, "{error}");
            assert_eq!(error.kind, ErrorKind::SyntaxError);
            let shown = error.to_string();
            let key = field.rsplit('.').next().unwrap_or(field);
            for needle in [
                format!("{field} = {value}: syntax error: not quoted in /etc/outpost.toml"),
                format!("line {line}"),
                format!("write {key} = \"{value}\""),
            ] {
                assert!(shown.contains(&needle), "{needle:?} missing: {shown}");
            }
        }
    }

    #[test]
    fn toml_error_has_line_and_column() {
        let text = "mode = \"standard\"\n[public]\naddress = = 1\n";
        let e = from_text(text, Path::new(""), &|_| None);
        assert_eq!(e.errors.len(), 1);
        let message = &e.errors[0].message;
        assert!(message.contains("line 3, column"), "{message}");
        assert_eq!(e.errors[0].kind, ErrorKind::SyntaxError);
    }
}
