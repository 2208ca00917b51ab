//! The registry: every setting once, with its key, type, allowed values,
//! default, unit, description, whether a change applies live or needs a
//! restart, whether it is secret, and where its value may come from.
//!
//! The TOML loader walks it (so its tables and keys are the file's),
//! the environment overrides are named after it, `outpost settings list`
//! and (later) the REST API and the UI list it, and
//! [`crate::Settings::set_from_api`] validates with it: a rule is written
//! once, here or in the model type it points to.
//!
//! Defaults are not repeated here: a setting's default is what its
//! [`Setting::default_value`] reads from [`Config::default`] (or the
//! guard's `Settings::default`).

mod guard;
mod limits;
mod network;

#[cfg(test)]
mod tests;

pub(crate) use guard::PREFIX as GUARD_PREFIX;

use std::fmt;
use std::sync::LazyLock;

use serde::{Serialize, Serializer};

use crate::model::Config;
use crate::values::{self, Problem, Raw};

/// Every setting, in the file's order: the top-level keys, the tables
/// of `outpost.example.toml`, then the settings that live only in the
/// database (the guard's).
static SETTINGS: LazyLock<Vec<Setting>> = LazyLock::new(|| {
    let mut all = network::settings();
    all.extend(limits::settings());
    all.extend(guard::settings());
    all
});

/// The registry of every setting (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct Registry;

impl Registry {
    /// Every setting, in file order (guard settings last).
    pub fn settings() -> impl Iterator<Item = &'static Setting> {
        SETTINGS.iter()
    }

    /// The setting with this dotted key (`sip.t1_ms`, `guard.dos_threshold`).
    pub fn get(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }

    /// The settings the configuration file may hold, in file order.
    pub fn file_settings() -> impl Iterator<Item = &'static Setting> {
        SETTINGS.iter().filter(|s| s.scope.file())
    }

    /// The file's tables in order, `""` being the top level, each with
    /// its keys.
    pub(crate) fn file_tables() -> Vec<(&'static str, Vec<&'static str>)> {
        let mut tables: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for setting in Self::file_settings() {
            let (table, key) = setting.split();
            match tables.iter_mut().find(|(t, _)| *t == table) {
                Some((_, keys)) => keys.push(key),
                None => tables.push((table, vec![key])),
            }
        }
        tables
    }
}

/// One setting and everything known about it. `Serialize` gives the
/// shape the API and the UI show (with the default value computed).
#[derive(Debug)]
#[non_exhaustive]
pub struct Setting {
    /// Dotted key as in the TOML file: `sip.t1_ms`, `mode`,
    /// `guard.dos_threshold`.
    pub key: &'static str,
    /// Type and allowed values.
    pub kind: Kind,
    /// Unit of a number, if it has one.
    pub unit: Option<Unit>,
    /// What it does, for people (one or two sentences).
    pub description: &'static str,
    /// Whether a change takes effect in a running gateway.
    pub apply: Apply,
    /// A secret's value is never shown nor returned, only whether it is
    /// set.
    pub secret: bool,
    /// Where its value may come from.
    pub scope: Scope,
    pub(crate) access: Access,
}

/// How a setting reads and writes its value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access {
    /// A field of [`Config`].
    Config {
        /// Parses a raw value and stores it in the configuration.
        load: LoadFn,
        /// The field's value in its file form (round-trips through `load`).
        show: ShowFn,
    },
    /// A guard setting, under this key in the guard's settings table.
    Guard {
        /// The guard's own key (`dos_threshold`).
        key: &'static str,
    },
}

/// Parses a raw value into the configuration.
pub(crate) type LoadFn = fn(&Setting, &mut Config, Raw<'_>) -> Result<(), Problem>;
/// Reads a value from the configuration, in its file form.
pub(crate) type ShowFn = fn(&Config) -> toml::Value;

impl Setting {
    /// A setting that applies after a restart, settable everywhere; the
    /// builders below change that.
    pub(crate) fn new(
        key: &'static str,
        kind: Kind,
        description: &'static str,
        access: Access,
    ) -> Self {
        Self {
            key,
            kind,
            unit: None,
            description,
            apply: Apply::Restart,
            secret: false,
            scope: Scope::Everywhere,
            access,
        }
    }

    pub(crate) fn unit(mut self, unit: Unit) -> Self {
        self.unit = Some(unit);
        self
    }

    pub(crate) fn live(mut self) -> Self {
        self.apply = Apply::Live;
        self
    }

    pub(crate) fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The table (`""` at the top level) and the key in it.
    pub fn split(&self) -> (&'static str, &'static str) {
        self.key.split_once('.').unwrap_or(("", self.key))
    }

    /// The environment variable overriding it, e.g.
    /// `OUTPOST_PUBLIC_SIP_TLS_PORT`; `None` when the environment cannot
    /// set it.
    pub fn env_var(&self) -> Option<String> {
        if !self.scope.environment() {
            return None;
        }
        Some(format!("OUTPOST_{}", self.key.replace('.', "_")).to_ascii_uppercase())
    }

    /// The default value, in file form (a string, an integer or a
    /// boolean; an empty string for an optional value that is not set).
    pub fn default_value(&self) -> toml::Value {
        match self.access {
            Access::Config { show, .. } => show(&Config::default()),
            Access::Guard { key } => guard_value(&outpost_guard::Settings::default(), self, key),
        }
    }

    /// An integer within this setting's [`Kind::Integer`] bounds.
    pub(crate) fn integer(&self, raw: Raw<'_>) -> Result<u32, Problem> {
        let (min, max) = match self.kind {
            Kind::Integer { min, max } => (min, max),
            // A registry entry that parses an integer declares its bounds;
            // a test loads every entry.
            _ => (0, u32::MAX),
        };
        values::bounded_integer(raw, min, max)
    }
}

impl Serialize for Setting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            key: &'a str,
            #[serde(flatten)]
            kind: &'a Kind,
            default: serde_json::Value,
            #[serde(skip_serializing_if = "Option::is_none")]
            unit: Option<Unit>,
            description: &'a str,
            apply: Apply,
            secret: bool,
            sources: Vec<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            env: Option<String>,
        }
        let default = if self.secret {
            serde_json::Value::Null
        } else {
            to_json(&self.default_value())
        };
        View {
            key: self.key,
            kind: &self.kind,
            default,
            unit: self.unit,
            description: self.description,
            apply: self.apply,
            secret: self.secret,
            sources: self.scope.sources(),
            env: self.env_var(),
        }
        .serialize(serializer)
    }
}

/// The guard's `key` in `settings`, typed by `setting`'s kind.
pub(crate) fn guard_value(
    settings: &outpost_guard::Settings,
    setting: &Setting,
    key: &str,
) -> toml::Value {
    guard::value_of(settings, key).map_or_else(
        || toml::Value::String(String::new()),
        |v| setting.kind.typed(&v),
    )
}

/// A file-form value as JSON: strings, integers and booleans map one to
/// one.
pub(crate) fn to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(n) => serde_json::Value::from(*n),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        other => serde_json::Value::String(other.to_string()),
    }
}

/// A setting's type and allowed values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// A whole number within `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: u32,
        /// Largest allowed value.
        max: u32,
    },
    /// `true` or `false` (the environment also takes 1/0, yes/no, on/off).
    Boolean,
    /// One of these spellings.
    Choice {
        /// The allowed spellings.
        values: Vec<&'static str>,
    },
    /// A comma-separated list of these names, in order of preference,
    /// each at most once.
    List {
        /// The allowed names.
        values: Vec<&'static str>,
    },
    /// Text of this format; empty means "not set" where the setting is
    /// optional.
    Text {
        /// What the text must be.
        format: Format,
    },
}

impl Kind {
    /// An integer kind from an inclusive range of any integer type.
    pub(crate) fn range<T: Copy + TryInto<u32>>(range: &std::ops::RangeInclusive<T>) -> Self {
        let bound = |v: T| v.try_into().unwrap_or(u32::MAX);
        Self::Integer {
            min: bound(*range.start()),
            max: bound(*range.end()),
        }
    }

    /// A stored text value in its typed form: integers for
    /// [`Kind::Integer`] (when they parse), strings otherwise.
    pub(crate) fn typed(&self, text: &str) -> toml::Value {
        match self {
            Self::Integer { .. } => text.trim().parse::<i64>().map_or_else(
                |_| toml::Value::String(text.to_owned()),
                toml::Value::Integer,
            ),
            Self::Boolean => match text.trim() {
                "true" => toml::Value::Boolean(true),
                "false" => toml::Value::Boolean(false),
                _ => toml::Value::String(text.to_owned()),
            },
            _ => toml::Value::String(text.to_owned()),
        }
    }
}

/// The text formats of [`Kind::Text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Format {
    /// An IPv4 or IPv6 address a peer can reach.
    IpAddress,
    /// An IP address or a host name (RFC 1123).
    HostOrIp,
    /// A host name (RFC 1123).
    HostName,
    /// `IP:PORT`, e.g. `127.0.0.1:9464` or `[::1]:9464`.
    SocketAddress,
    /// `FIRST-LAST`, within 1024..65535.
    PortRange,
    /// Comma-separated IP addresses, each with an optional `:port`.
    AddressList,
    /// A file or directory path.
    Path,
    /// A `tracing` filter directive, e.g. `info` or `outpost=debug,info`.
    LogFilter,
    /// An `http`, `https`, `ftp` or `tftp` URL.
    Url,
}

/// The unit of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum Unit {
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// TCP/TLS connections.
    Connections,
    /// SIP transactions.
    Transactions,
    /// Calls.
    Calls,
    /// Registered clients.
    Clients,
    /// SIP requests.
    Requests,
    /// Failed digest authentications.
    Failures,
    /// Distinct user names.
    Users,
    /// List entries.
    Entries,
    /// Source addresses.
    Sources,
}

impl Unit {
    /// The short name shown after a value (`ms`, `s`, `bytes`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Milliseconds => "ms",
            Self::Seconds => "s",
            Self::Bytes => "bytes",
            Self::Connections => "connections",
            Self::Transactions => "transactions",
            Self::Calls => "calls",
            Self::Clients => "clients",
            Self::Requests => "requests",
            Self::Failures => "failures",
            Self::Users => "users",
            Self::Entries => "entries",
            Self::Sources => "sources",
        }
    }
}

impl From<Unit> for &'static str {
    fn from(unit: Unit) -> Self {
        unit.as_str()
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Apply {
    /// A running gateway applies it within seconds.
    Live,
    /// It takes effect at the next start of `outpost serve`.
    Restart,
}

impl Apply {
    /// `live` or `restart`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Restart => "restart",
        }
    }
}

impl fmt::Display for Apply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a setting's value may come from. Whatever the scope, the layers
/// rank default < database < file < environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Default, database (the API), file, environment.
    Everywhere,
    /// Default and file only: `data_dir` says where the database is, so
    /// the database cannot hold it, and the command line owns
    /// `OUTPOST_DATA_DIR`.
    FileOnly,
    /// Default and database only: the guard's settings, changed with
    /// `outpost guard set` or the API and applied live.
    DatabaseOnly,
}

impl Scope {
    /// True when the configuration file may set it.
    pub fn file(self) -> bool {
        matches!(self, Self::Everywhere | Self::FileOnly)
    }

    /// True when an `OUTPOST_*` variable may set it.
    pub fn environment(self) -> bool {
        matches!(self, Self::Everywhere)
    }

    /// True when the database (the API, the CLI) may set it.
    pub fn database(self) -> bool {
        matches!(self, Self::Everywhere | Self::DatabaseOnly)
    }

    /// The layers, lowest first, as the API shows them.
    pub fn sources(self) -> Vec<&'static str> {
        let mut sources = vec!["default"];
        if self.database() {
            sources.push("database");
        }
        if self.file() {
            sources.push("file");
        }
        if self.environment() {
            sources.push("environment");
        }
        sources
    }
}

/// Makes an [`Access::Config`] for a field path of [`Config`]: `parse`
/// is called as `parse(setting, raw)` and its result stored in the
/// field; the field is shown with [`Shown`].
macro_rules! field {
    ($($path:ident).+, $parse:expr) => {
        $crate::registry::Access::Config {
            load: |setting, config, raw| {
                config.$($path).+ = ($parse)(setting, raw)?;
                Ok(())
            },
            show: |config| $crate::registry::Shown::shown(&config.$($path).+),
        }
    };
}
pub(crate) use field;

/// A field's value in its file form, such that parsing it back gives the
/// same value: optional values not set are empty strings, lists are
/// comma-separated strings.
pub(crate) trait Shown {
    fn shown(&self) -> toml::Value;
}

impl Shown for u16 {
    fn shown(&self) -> toml::Value {
        toml::Value::Integer(i64::from(*self))
    }
}

impl Shown for u32 {
    fn shown(&self) -> toml::Value {
        toml::Value::Integer(i64::from(*self))
    }
}

impl Shown for bool {
    fn shown(&self) -> toml::Value {
        toml::Value::Boolean(*self)
    }
}

impl Shown for String {
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.clone())
    }
}

impl Shown for std::path::PathBuf {
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.display().to_string())
    }
}

impl<T: Shown> Shown for Option<T> {
    fn shown(&self) -> toml::Value {
        self.as_ref()
            .map_or_else(|| toml::Value::String(String::new()), Shown::shown)
    }
}

impl<T: Shown> Shown for Vec<T> {
    fn shown(&self) -> toml::Value {
        let items: Vec<String> = self
            .iter()
            .map(|item| match item.shown() {
                toml::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
        toml::Value::String(items.join(", "))
    }
}

/// Types shown by their `Display` spelling, which their parser reads.
macro_rules! shown_by_display {
    ($($ty:ty),+ $(,)?) => {
        $(impl Shown for $ty {
            fn shown(&self) -> toml::Value {
                toml::Value::String(self.to_string())
            }
        })+
    };
}

shown_by_display!(
    std::net::IpAddr,
    std::net::SocketAddr,
    crate::model::DeploymentMode,
    crate::model::Protocols,
    crate::model::PortRange,
    crate::model::IpbxHost,
    crate::model::IpbxTransport,
    crate::model::LogFormat,
    outpost_sdp::SetSideInbound,
    outpost_sdp::SetSideOutbound,
    outpost_sdp::IcpSideInbound,
    outpost_sdp::IcpSideOutbound,
    outpost_sdp::CryptoSuite,
);

impl Shown for outpost_sip::auth::Algorithm {
    fn shown(&self) -> toml::Value {
        toml::Value::String(self.as_str().to_owned())
    }
}

/// The choice of an SRTP policy setting: the spellings the policy type
/// lists when it refuses `""`, so the registry does not repeat the sdp
/// crate's list.
pub(crate) fn choice_of_policy<T>() -> Kind
where
    T: std::str::FromStr<Err = outpost_sdp::PolicyParseError>,
{
    let values = match "".parse::<T>() {
        Err(e) => e.expected.split(", ").collect(),
        Ok(_) => Vec::new(),
    };
    Kind::Choice { values }
}
