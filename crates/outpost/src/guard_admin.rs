//! `outpost guard status | allow add/remove/list | deny list/remove/clear`:
//! the guard's lists and settings as stored (SEC-2, SEC-3, SEC-6, SEC-10).
//!
//! These functions work on the database through the service layer the REST
//! API calls too (`/api/v1/guard`), so each change is audited as
//! `cli:<unix user>`. A running `outpost serve`
//! notices the change through [`Store::guard_revision`] and reloads its
//! lists. `status` shows the stored configuration and list sizes, not the
//! running server's counters (those are metrics).
//!
//! Each entry shows its address, the date and time it was added (UTC), its
//! list, reason and expiry, as the seed's Deny-List tabs do. `deny remove`
//! takes one address, several, prefixes (every entry inside), or `--from
//! ADDRESS`: that entry and every later one in the listing, the seed's
//! "repeat on every following element".

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};
use outpost_api::service::Caller;
use outpost_api::service::guard::{
    self, AllowEntryView, AllowInput, DenyEntryView, DenyQuery, DenyRemoval,
};
use outpost_store::{DenyList, Store};

use crate::cli::ListArgs;
use crate::commands::CommandError;

/// `outpost guard ...`
#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Show the security level, the guard settings and the list sizes.
    Status(ListArgs),
    /// Manage the allow-list (trusted addresses, at most 100).
    #[command(subcommand)]
    Allow(AllowCommand),
    /// Manage the DoS and brute-force deny-lists.
    #[command(subcommand)]
    Deny(DenyCommand),
    /// Change one guard setting, e.g. `level allow-list-only`,
    /// `dos_threshold 200`, `deny_period 30s`. The value is checked against
    /// the allowed range; a running server applies it within seconds.
    Set {
        /// Setting name, as `outpost guard status` lists them.
        key: String,
        /// New value.
        value: String,
    },
}

/// `outpost guard allow ...`
#[derive(Debug, Subcommand)]
pub enum AllowCommand {
    /// Add an address or prefix: 192.0.2.7, 192.0.2.0/24, or an IPv6
    /// prefix of at most /64 (a bare IPv6 address means its /64).
    Add {
        /// Address or prefix.
        address: String,
        /// Free note shown in the listing.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Remove an address or prefix.
    Remove {
        /// Address or prefix, as listed (any spelling of it).
        address: String,
    },
    /// List the allow-list.
    List(ListArgs),
}

/// `outpost guard deny ...`
#[derive(Debug, Subcommand)]
pub enum DenyCommand {
    /// List deny entries, oldest first.
    List(DenyListArgs),
    /// Remove deny entries: one address, several, prefixes (every entry
    /// inside them), or `--from ADDRESS` (it and every later entry).
    Remove {
        /// Addresses or prefixes.
        #[arg(required_unless_present = "from", conflicts_with = "from")]
        addresses: Vec<String>,
        /// Remove this entry and every entry listed after it.
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
        /// Only on this list.
        #[arg(long, value_enum)]
        list: Option<DenyListArg>,
    },
    /// Remove every entry (of one list, or both). Asks for `--yes`.
    Clear {
        /// Only this list.
        #[arg(long, value_enum)]
        list: Option<DenyListArg>,
        /// Confirm.
        #[arg(long)]
        yes: bool,
    },
}

/// Options of `outpost guard deny list`.
#[derive(Debug, Args)]
pub struct DenyListArgs {
    /// Only this list.
    #[arg(long, value_enum)]
    pub list: Option<DenyListArg>,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A deny-list named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DenyListArg {
    /// Flooding and malicious-call sources (SEC-3, SEC-5).
    Dos,
    /// Digest brute force (SEC-6).
    Bruteforce,
}

impl From<DenyListArg> for DenyList {
    fn from(arg: DenyListArg) -> Self {
        match arg {
            DenyListArg::Dos => Self::Dos,
            DenyListArg::Bruteforce => Self::BruteForce,
        }
    }
}

/// Runs `outpost guard ...`. `now_unix` is the wall-clock time (dates of new
/// entries, "expired" marks); `defaults` are the guard's default settings
/// as `(key, value)` pairs in display order
/// (`outpost_guard::Settings::default().to_pairs()`), so `status` can show
/// the value in force for keys that were never set.
///
/// Every command goes through the service layer
/// (`outpost_api::service::guard`) as the actor `cli:<unix user>`, so each
/// change is checked by the API's rules and audited in its transaction.
///
/// # Errors
/// A [`CommandError`] with the message for the operator.
pub fn run(
    store: &mut Store,
    command: GuardCommand,
    now_unix: i64,
    defaults: &[(&str, String)],
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let caller = Caller {
        now: now_unix,
        ..crate::commands::caller()
    };
    match command {
        GuardCommand::Status(ListArgs { json }) => status(store, &caller, defaults, json, out),
        GuardCommand::Set { key, value } => set(store, &caller, &key, &value, out),
        GuardCommand::Allow(AllowCommand::Add { address, note }) => {
            allow_add(store, &caller, &address, &note, out)
        }
        GuardCommand::Allow(AllowCommand::Remove { address }) => {
            allow_remove(store, &caller, &address, out)
        }
        GuardCommand::Allow(AllowCommand::List(ListArgs { json })) => {
            allow_list(store, &caller, json, out)
        }
        GuardCommand::Deny(DenyCommand::List(DenyListArgs { list, json })) => {
            deny_list(store, &caller, list.map(Into::into), json, out)
        }
        GuardCommand::Deny(DenyCommand::Remove {
            addresses,
            from,
            list,
        }) => {
            let removal = match from {
                Some(from) => DenyRemoval {
                    addresses: vec![from],
                    list: list.map(Into::into),
                    following: true,
                },
                None => DenyRemoval {
                    addresses,
                    list: list.map(Into::into),
                    following: false,
                },
            };
            deny_remove(store, &caller, &removal, out)
        }
        GuardCommand::Deny(DenyCommand::Clear { list, yes }) => {
            deny_clear(store, &caller, list.map(Into::into), yes, out)
        }
    }
}

/// Checks and stores one setting: the stored settings with the change must
/// still form a valid whole (e.g. thresholds within their ranges).
///
/// # Errors
/// A [`CommandError`] naming the setting, the value and the allowed range.
pub fn set(
    store: &mut Store,
    caller: &Caller,
    key: &str,
    value: &str,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    guard::set_settings(store, caller, &[(key.to_owned(), value.to_owned())])?;
    writeln!(out, "guard setting {key} = {value}").map_err(io)?;
    Ok(())
}

/// `outpost guard status`.
///
/// # Errors
/// A [`CommandError`] when the store or the output fails.
pub fn status(
    store: &Store,
    caller: &Caller,
    defaults: &[(&str, String)],
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let status = guard::status(store, caller, defaults)?;
    let (dos, brute, expired) = (
        status.deny_list.dos,
        status.deny_list.bruteforce,
        status.deny_list.expired,
    );
    if json {
        let settings: serde_json::Map<String, serde_json::Value> = status
            .settings
            .iter()
            .map(|r| (r.key.clone(), serde_json::Value::from(r.value.as_str())))
            .collect();
        let value = serde_json::json!({
            "settings": settings,
            "allow_list": status.allow_list,
            "allow_list_max": status.allow_list_max,
            "deny_list": { "dos": dos, "bruteforce": brute, "expired": expired },
            "revision": status.revision,
        });
        writeln!(out, "{value}").map_err(io)?;
        return Ok(());
    }
    writeln!(out, "security level: {}", status.level).map_err(io)?;
    writeln!(
        out,
        "allow-list: {} of {} entries",
        status.allow_list, status.allow_list_max
    )
    .map_err(io)?;
    writeln!(out, "deny-list dos: {dos} entries").map_err(io)?;
    writeln!(out, "deny-list bruteforce: {brute} entries").map_err(io)?;
    if expired > 0 {
        writeln!(
            out,
            "  ({expired} expired, removed by the server at its next expiry check)"
        )
        .map_err(io)?;
    }
    writeln!(out, "\n{:<24} {:<20} SOURCE", "SETTING", "VALUE").map_err(io)?;
    for r in &status.settings {
        writeln!(out, "{:<24} {:<20} {}", r.key, r.value, r.source).map_err(io)?;
    }
    Ok(())
}

/// `outpost guard allow add`.
///
/// # Errors
/// A [`CommandError`] naming the address and the rule it breaks.
pub fn allow_add(
    store: &mut Store,
    caller: &Caller,
    address: &str,
    note: &str,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let input = AllowInput {
        address: address.to_owned(),
        note: note.to_owned(),
    };
    let entry = guard::allow_add(store, caller, &input)?;
    let spelled = if entry.address == address.trim() {
        String::new()
    } else {
        format!(" (stored as {})", entry.address)
    };
    writeln!(out, "allowed {address}{spelled}").map_err(io)
}

/// `outpost guard allow remove`.
///
/// # Errors
/// A [`CommandError`] when the address is malformed or not listed.
pub fn allow_remove(
    store: &mut Store,
    caller: &Caller,
    address: &str,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let entry = guard::allow_remove(store, caller, address)?;
    writeln!(out, "removed {} from the allow-list", entry.address).map_err(io)
}

/// `outpost guard allow list`.
///
/// # Errors
/// A [`CommandError`] when the store or the output fails.
pub fn allow_list(
    store: &Store,
    caller: &Caller,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let entries = guard::allow_list(store, caller)?;
    if json {
        for e in &entries {
            writeln!(out, "{}", allow_json(e)).map_err(io)?;
        }
        return Ok(());
    }
    writeln!(out, "{:<28} {:<20} NOTE", "ADDRESS", "ADDED (UTC)").map_err(io)?;
    for e in &entries {
        writeln!(
            out,
            "{:<28} {:<20} {}",
            e.address,
            datetime(e.added, ' '),
            e.note
        )
        .map_err(io)?;
    }
    Ok(())
}

/// `outpost guard deny list`.
///
/// # Errors
/// A [`CommandError`] when the store or the output fails.
pub fn deny_list(
    store: &Store,
    caller: &Caller,
    list: Option<DenyList>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let query = DenyQuery {
        list,
        ..DenyQuery::default()
    };
    let entries = guard::deny_list(store, caller, &query)?.entries;
    if json {
        for e in &entries {
            writeln!(out, "{}", deny_json(e)).map_err(io)?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "{:<24} {:<11} {:<20} {:<12} {:<20} DETAIL",
        "ADDRESS", "LIST", "ADDED (UTC)", "REASON", "EXPIRES (UTC)"
    )
    .map_err(io)?;
    for e in &entries {
        writeln!(
            out,
            "{:<24} {:<11} {:<20} {:<12} {:<20} {}",
            e.address,
            e.list,
            datetime(e.added, ' '),
            e.reason,
            expiry(e),
            e.detail
        )
        .map_err(io)?;
    }
    Ok(())
}

/// `outpost guard deny remove ADDRESS...` and `--from ADDRESS` (that entry
/// and every later one in the listing).
///
/// # Errors
/// A [`CommandError`] for a malformed address, or when nothing matched.
pub fn deny_remove(
    store: &mut Store,
    caller: &Caller,
    removal: &DenyRemoval,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let removed = guard::deny_remove(store, caller, removal)?;
    for e in &removed.removed {
        writeln!(out, "removed {} from the {} deny-list", e.address, e.list).map_err(io)?;
    }
    Ok(())
}

/// `outpost guard deny clear`.
///
/// # Errors
/// A [`CommandError`] without `--yes`, or when the store fails.
pub fn deny_clear(
    store: &mut Store,
    caller: &Caller,
    list: Option<DenyList>,
    yes: bool,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let which = list.map_or("both deny-lists".to_owned(), |l| {
        format!("the {l} deny-list")
    });
    if !yes {
        return Err(CommandError(format!(
            "this removes every entry of {which}; run again with --yes to confirm"
        )));
    }
    let n = guard::deny_clear(store, caller, list)?;
    writeln!(out, "removed {n} entries from {which}").map_err(io)
}

fn expiry(e: &DenyEntryView) -> String {
    match e.expires {
        None => "never".to_owned(),
        Some(_) if e.expired => "expired".to_owned(),
        Some(at) => datetime(at, ' '),
    }
}

fn allow_json(e: &AllowEntryView) -> serde_json::Value {
    serde_json::json!({
        "address": e.address,
        "note": e.note,
        "added": datetime(e.added, 'T'),
        "added_unix": e.added,
    })
}

fn deny_json(e: &DenyEntryView) -> serde_json::Value {
    serde_json::json!({
        "address": e.address,
        "list": e.list,
        "reason": e.reason,
        "detail": e.detail,
        "added": datetime(e.added, 'T'),
        "added_unix": e.added,
        "expires": e.expires.map(|at| datetime(at, 'T')),
        "expires_unix": e.expires,
        "expired": e.expired,
    })
}

/// `2024-05-01 12:34:56` (UTC; `T` as separator gives RFC 3339 with `Z`).
fn datetime(unix: i64, separator: char) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let zone = if separator == 'T' { "Z" } else { "" };
    format!("{y:04}-{m:02}-{d:02}{separator}{hh:02}:{mm:02}:{ss:02}{zone}")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn io(e: std::io::Error) -> CommandError {
    CommandError(format!("writing output: {e}"))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use outpost_store::DenyEntry;

    use super::*;

    const T: i64 = 1_714_521_600; // 2024-05-01T00:00:00Z

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: GuardCommand,
    }

    fn parse(args: &[&str]) -> GuardCommand {
        let mut argv = vec!["guard"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().command
    }

    fn exec(store: &mut Store, args: &[&str]) -> Result<String, CommandError> {
        let defaults = [
            ("level", "auto-protection".to_owned()),
            ("dos_threshold", "500".to_owned()),
        ];
        let mut out = Vec::new();
        run(store, parse(args), T + 100, &defaults, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn denied(store: &mut Store, address: &str, list: DenyList, added: i64, expires: Option<i64>) {
        store
            .put_guard_deny(&DenyEntry {
                address: address.to_owned(),
                list,
                reason: "flood".to_owned(),
                detail: "600 requests in 10 s (limit 500)".to_owned(),
                added_unix: added,
                expires_unix: expires,
            })
            .unwrap();
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        assert!(
            Cli::try_parse_from(["guard", "deny", "remove"]).is_err(),
            "needs addresses"
        );
        assert!(
            Cli::try_parse_from(["guard", "deny", "remove", "1.2.3.4", "--from", "1.2.3.4"])
                .is_err()
        );
    }

    #[test]
    fn dates_are_utc() {
        assert_eq!(datetime(0, 'T'), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(T, ' '), "2024-05-01 00:00:00");
        assert_eq!(datetime(951_825_599, ' '), "2000-02-29 11:59:59");
        assert_eq!(datetime(4_102_444_800, 'T'), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn allow_add_list_remove() {
        let mut store = Store::open_in_memory().unwrap();
        let out = exec(
            &mut store,
            &["allow", "add", "2001:db8:1:2::5", "--note", "home"],
        )
        .unwrap();
        assert_eq!(
            out,
            "allowed 2001:db8:1:2::5 (stored as 2001:db8:1:2::/64)\n"
        );
        exec(&mut store, &["allow", "add", "192.0.2.0/24"]).unwrap();
        let out = exec(&mut store, &["allow", "list"]).unwrap();
        assert!(
            out.contains("2001:db8:1:2::/64            2024-05-01 00:01:40  home"),
            "{out}"
        );
        let out = exec(&mut store, &["allow", "list", "--json"]).unwrap();
        assert!(out.contains("\"added\":\"2024-05-01T00:01:40Z\""), "{out}");
        let err = exec(&mut store, &["allow", "add", "192.0.2.1/24"]).unwrap_err();
        assert!(err.0.contains("did you mean 192.0.2.0/24"), "{}", err.0);
        exec(&mut store, &["allow", "remove", "192.0.2.0/24"]).unwrap();
        let err = exec(&mut store, &["allow", "remove", "192.0.2.0/24"]).unwrap_err();
        assert!(err.0.contains("not on the allow-list"), "{}", err.0);
    }

    #[test]
    fn deny_list_shows_address_date_list_reason_expiry() {
        let mut store = Store::open_in_memory().unwrap();
        denied(&mut store, "203.0.113.1", DenyList::Dos, T, Some(T + 3600));
        denied(&mut store, "203.0.113.2", DenyList::Dos, T, Some(T + 30));
        denied(
            &mut store,
            "198.51.100.9",
            DenyList::BruteForce,
            T + 5,
            None,
        );
        let out = exec(&mut store, &["deny", "list"]).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ADDRESS"), "{out}");
        assert!(
            lines[1].contains("203.0.113.1") && lines[1].contains("2024-05-01 01:00:00"),
            "{out}"
        );
        assert!(lines[2].contains("expired"), "{out}");
        assert!(
            lines[3].contains("bruteforce") && lines[3].contains("never"),
            "{out}"
        );
        let out = exec(
            &mut store,
            &["deny", "list", "--list", "bruteforce", "--json"],
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["address"], "198.51.100.9");
        assert_eq!(v["expires"], serde_json::Value::Null);
        assert_eq!(v["reason"], "flood");
    }

    #[test]
    fn deny_remove_one_several_prefix_from_and_clear() {
        let mut store = Store::open_in_memory().unwrap();
        for n in 1..=8 {
            denied(
                &mut store,
                &format!("203.0.113.{n}"),
                DenyList::Dos,
                T + n,
                None,
            );
        }
        denied(
            &mut store,
            "198.51.100.9",
            DenyList::BruteForce,
            T + 20,
            None,
        );
        let out = exec(&mut store, &["deny", "remove", "203.0.113.1"]).unwrap();
        assert_eq!(out, "removed 203.0.113.1 from the dos deny-list\n");
        let out = exec(
            &mut store,
            &["deny", "remove", "203.0.113.2", "203.0.113.3"],
        )
        .unwrap();
        assert_eq!(out.lines().count(), 2);
        let err = exec(&mut store, &["deny", "remove", "192.0.2.1"]).unwrap_err();
        assert!(
            err.0.contains("no deny entry matches 192.0.2.1"),
            "{}",
            err.0
        );
        // --from: 203.0.113.6 and everything after it on the DoS list.
        let out = exec(
            &mut store,
            &["deny", "remove", "--from", "203.0.113.6", "--list", "dos"],
        )
        .unwrap();
        assert_eq!(out.lines().count(), 3, "{out}");
        let out = exec(&mut store, &["deny", "remove", "203.0.113.0/24"]).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        let err = exec(&mut store, &["deny", "clear"]).unwrap_err();
        assert!(err.0.contains("--yes"), "{}", err.0);
        let out = exec(&mut store, &["deny", "clear", "--yes"]).unwrap();
        assert_eq!(out, "removed 1 entries from both deny-lists\n");
    }

    #[test]
    fn status_shows_level_settings_and_sizes() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .set_guard_settings(&[("level", "allow-list-only"), ("colour", "blue")])
            .unwrap();
        store.add_guard_allow("192.0.2.1", "", T).unwrap();
        denied(&mut store, "203.0.113.1", DenyList::Dos, T, Some(T + 1));
        let out = exec(&mut store, &["status"]).unwrap();
        assert!(
            out.starts_with("security level: allow-list-only\n"),
            "{out}"
        );
        assert!(out.contains("allow-list: 1 of 100 entries"), "{out}");
        assert!(out.contains("deny-list dos: 1 entries"), "{out}");
        assert!(out.contains("1 expired"), "{out}");
        assert!(
            out.contains("dos_threshold            500                  default"),
            "{out}"
        );
        assert!(
            out.contains("colour                   blue                 unknown key"),
            "{out}"
        );
        let out = exec(&mut store, &["status", "--json"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["settings"]["level"], "allow-list-only");
        assert_eq!(v["deny_list"]["dos"], 1);
    }
}
