//! Kamailio as the iPBX of the test bed.
//!
//! The generated `kamailio.cfg` is a registrar and proxy with its own
//! subscriber list and no database:
//! - REGISTER without credentials gets `401` (`www_challenge`, qop=auth);
//!   with good credentials the binding is saved in memory (usrloc
//!   `db_mode` 0) and `200` is sent; bad credentials (wrong password, unknown
//!   user, or an auth user other than the To user) get `403`;
//! - INVITE and every other initial request get `407` (`proxy_challenge`,
//!   qop=auth) until they carry good credentials; then the Request-URI user
//!   is looked up in the location table (`404` when not registered) and the
//!   request is relayed statefully, INVITEs record-routed;
//! - in-dialog requests follow `loose_route`; OPTIONS to the server itself
//!   (no user part) get `200` without a challenge, as a keep-alive target.
//! - a subscriber's password can be changed while Kamailio runs
//!   ([`Ipbx::set_password`]): it goes into an `htable` that the password
//!   lookup consults after the generated list, through `kamcmd`.
//! - optionally ([`IpbxConfig::tls`]) it also listens for SIP over TLS
//!   (port 5061) with a certificate for a host name, issued by a test CA
//!   ([`crate::pki::TestCa`]) whose file a client is given to trust
//!   ([`Ipbx::tls_ca_file`]). Needs Debian's `kamailio-tls-modules`.
//!
//! Every REGISTER, every initial request and every OPTIONS to the server
//! itself is logged by `xlog` as one line starting with `IPBX `, e.g.
//! `IPBX REGISTER from 198.18.1.1:5060 proto=udp aor=sip:1001@198.18.1.10 user=1001 auth=ok -> 200`,
//! so a test can check who arrived from which address over which transport
//! ([`Ipbx::log_lines`], [`Ipbx::wait_log_line_after`]).
//!
//! It deliberately has no NAT helper (`nathelper`): it behaves as a LAN
//! iPBX that trusts the Contact it is given, so a test cannot pass because
//! Kamailio repaired what Outpost should have rewritten.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::netns::Host;
use crate::pki::{IssuedCert, TestCa};
use crate::process::{LogCursor, Process};
use crate::wait::wait_until_or;
use crate::{Result, TestbedError, log_tail, require_tools};

/// Where Debian puts Kamailio's modules.
pub const MODULE_DIR: &str = "/usr/lib/x86_64-linux-gnu/kamailio/modules";

/// How long [`Ipbx::start`] waits for the listeners.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What the iPBX knows: its subscribers, realm and port.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct IpbxConfig {
    /// `(number, password)` of every subscriber.
    pub subscribers: Vec<(String, String)>,
    /// The digest realm of the challenges.
    pub realm: String,
    /// The SIP port (UDP and TCP) on the host's first address.
    pub port: u16,
    /// Extra domains Kamailio treats as its own (`alias=`).
    pub aliases: Vec<String>,
    /// Names (DNS names, or IP addresses) of its TLS certificate; empty =
    /// no TLS listener. See [`IpbxConfig::tls`].
    pub tls_names: Vec<String>,
    /// The SIP over TLS port (on the host's first address), 5061.
    pub tls_port: u16,
    /// The CA that issues its TLS certificate; `None` = a CA of its own,
    /// made at start ([`Ipbx::tls_ca_file`]).
    pub tls_ca: Option<TestCa>,
}

impl IpbxConfig {
    /// A configuration with the realm `ipbx.test`, port 5060 and these
    /// subscribers.
    pub fn new<N: Into<String>, P: Into<String>>(
        subscribers: impl IntoIterator<Item = (N, P)>,
    ) -> Self {
        Self {
            subscribers: subscribers
                .into_iter()
                .map(|(n, p)| (n.into(), p.into()))
                .collect(),
            realm: "ipbx.test".to_owned(),
            port: 5060,
            aliases: Vec::new(),
            tls_names: Vec::new(),
            tls_port: 5061,
            tls_ca: None,
        }
    }

    /// Sets the realm.
    pub fn realm(mut self, realm: &str) -> Self {
        self.realm = realm.to_owned();
        self
    }

    /// Sets the SIP port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Also listens for SIP over TLS (on `tls_port`, 5061) with a
    /// certificate issued for `name` (call again to add names; an IP
    /// address becomes an IP address SAN); `name` also becomes an alias
    /// (requests for `sip:...@name` are for this server).
    pub fn tls(mut self, name: &str) -> Self {
        self.tls_names.push(name.to_owned());
        if !self.aliases.iter().any(|a| a == name) {
            self.aliases.push(name.to_owned());
        }
        self
    }

    /// Sets the SIP over TLS port.
    pub fn tls_port(mut self, port: u16) -> Self {
        self.tls_port = port;
        self
    }

    /// Has the TLS certificate issued by `ca` (e.g. one CA for two iPBXs
    /// serving the same name) instead of a CA of the iPBX's own.
    pub fn tls_ca(mut self, ca: &TestCa) -> Self {
        self.tls_ca = Some(ca.clone());
        self
    }
}

/// The TLS side of a running iPBX.
#[derive(Clone, Debug)]
pub struct IpbxTls {
    /// Where it listens for SIP over TLS.
    pub addr: SocketAddrV4,
    /// The CA that issued its certificate.
    pub ca: TestCa,
    /// Its certificate and key.
    pub cert: IssuedCert,
}

/// A running Kamailio iPBX.
#[derive(Debug)]
pub struct Ipbx {
    process: Process,
    addr: SocketAddrV4,
    tls: Option<IpbxTls>,
    config_path: PathBuf,
    config: IpbxConfig,
    /// Kamailio's control socket (kamcmd).
    ctl: PathBuf,
}

/// Values pasted into the script: refuse anything that could break out of a
/// double-quoted string or a comparison.
fn check_token(kind: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+*#!~@:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(TestbedError::Config(format!(
            "iPBX {kind} `{value}` must be non-empty ASCII letters, digits or -_.+*#!~@:"
        )))
    }
}

/// One contact of the location table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The address of record (the registered user).
    pub aor: String,
    /// The registered Contact URI.
    pub contact: String,
    /// The source the REGISTER came from, when Kamailio recorded one.
    pub received: Option<String>,
}

/// Parses `kamcmd ul.dump` text output into bindings.
pub fn parse_ul_dump(text: &str) -> Vec<Binding> {
    let mut out = Vec::new();
    let mut aor = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("AoR:") {
            aor = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("Address:") {
            out.push(Binding {
                aor: aor.clone(),
                contact: v.trim().to_owned(),
                received: None,
            });
        } else if let Some(v) = line.strip_prefix("Received:") {
            let v = v.trim();
            if let Some(last) = out.last_mut() {
                if !v.is_empty() && v != "[not set]" {
                    last.received = Some(v.to_owned());
                }
            }
        }
    }
    out
}

/// The generated `kamailio.cfg` for `config` listening on `addr` (UDP and
/// TCP) and, with `tls` (required when [`IpbxConfig::tls_names`] is not
/// empty), on `addr`'s IP at its `tls_port` with that certificate.
pub fn render_config(
    config: &IpbxConfig,
    addr: SocketAddrV4,
    ctl: &Path,
    tls: Option<&IssuedCert>,
) -> Result<String> {
    check_token("realm", &config.realm)?;
    for alias in &config.aliases {
        check_token("alias", alias)?;
    }
    let mut passwd = String::new();
    for (number, password) in &config.subscribers {
        check_token("subscriber number", number)?;
        check_token("password", password)?;
        let _ = writeln!(
            passwd,
            "    if ($au == \"{number}\") {{ $var(pw) = \"{password}\"; }}"
        );
    }
    let mut aliases = String::new();
    for alias in &config.aliases {
        let _ = writeln!(aliases, "alias=\"{alias}\"");
    }
    let (tls_listen, tls_module) = match (config.tls_names.is_empty(), tls) {
        (true, _) => (String::new(), String::new()),
        (false, None) => {
            return Err(TestbedError::Config(
                "iPBX TLS names given but no certificate to render".into(),
            ));
        }
        (false, Some(cert)) => {
            let path_ok = |p: &Path| !p.to_string_lossy().contains(['"', '\n', '\\']);
            if !path_ok(&cert.cert_file) || !path_ok(&cert.key_file) {
                return Err(TestbedError::Config(format!(
                    "iPBX certificate paths must not hold quotes or backslashes: {cert:?}"
                )));
            }
            (
                format!(
                    "enable_tls=yes\nlisten=tls:{}:{}\n",
                    addr.ip(),
                    config.tls_port
                ),
                TLS_MODULE
                    .replace("@CERT@", &cert.cert_file.display().to_string())
                    .replace("@KEY@", &cert.key_file.display().to_string()),
            )
        }
    };
    Ok(TEMPLATE
        .replace("@TLS_LISTEN@\n", &tls_listen)
        .replace("@TLS_MODULE@\n", &tls_module)
        .replace("@LISTEN_IP@", &addr.ip().to_string())
        .replace("@PORT@", &addr.port().to_string())
        .replace("@ALIASES@\n", &aliases)
        .replace("@MPATH@", MODULE_DIR)
        .replace("@REALM@", &config.realm)
        .replace("@PASSWD@\n", &passwd)
        .replace("@CTL@", &ctl.display().to_string()))
}

impl Ipbx {
    /// Writes the configuration into the lab directory, starts
    /// `kamailio -DD -E` in `host` and waits until it listens on UDP and
    /// TCP at the host's first address.
    pub fn start(host: &Host, config: IpbxConfig) -> Result<Self> {
        require_tools(&["kamailio", "ss"], "the Kamailio iPBX")?;
        let addr = SocketAddrV4::new(host.ip(), config.port);
        let dir = host
            .lab()
            .unique_path(&format!("kamailio-{}", host.name()), "");
        std::fs::create_dir_all(&dir)
            .map_err(|e| TestbedError::io("creating the Kamailio directory", &dir, e))?;
        let config_path = dir.join("kamailio.cfg");
        let ctl = dir.join("ctl.sock");
        let tls = if config.tls_names.is_empty() {
            None
        } else {
            let ca = match &config.tls_ca {
                Some(ca) => ca.clone(),
                None => TestCa::new(&dir, &format!("{} test CA", host.name()))?,
            };
            let names: Vec<&str> = config.tls_names.iter().map(String::as_str).collect();
            let cert = ca.issue(&names, &dir, "ipbx-tls")?;
            Some(IpbxTls {
                addr: SocketAddrV4::new(host.ip(), config.tls_port),
                ca,
                cert,
            })
        };
        let text = render_config(&config, addr, &ctl, tls.as_ref().map(|t| &t.cert))?;
        std::fs::write(&config_path, text)
            .map_err(|e| TestbedError::io("writing kamailio.cfg", &config_path, e))?;

        let mut cmd = host.command("kamailio");
        cmd.arg("-DD")
            .arg("-E")
            .arg("-f")
            .arg(&config_path)
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir)
            // Small memory pools: a test iPBX holds a handful of bindings
            // (OpenSSL takes its share of the shared pool with TLS).
            .args(["-m", if tls.is_some() { "64" } else { "32" }, "-M", "4"]);
        let mut process = host.spawn(cmd, &format!("kamailio-{}", host.name()))?;
        process.set_stop_grace(Duration::from_secs(3));
        let log = process.log_path().to_path_buf();
        let ip = *addr.ip();
        let tls_port = tls.as_ref().map(|t| t.addr.port());
        let listeners = match tls_port {
            Some(port) => format!("udp+tcp {addr} and tls port {port}"),
            None => format!("udp+tcp {addr}"),
        };
        wait_until_or(
            &format!("Kamailio to listen on {listeners} in {}", host.netns()),
            START_TIMEOUT,
            |_| {
                process.ensure_running("starting (check the configuration)")?;
                let tls_up = match tls_port {
                    Some(port) => host.is_listening("tcp", ip, port)?,
                    None => true,
                };
                Ok((host.is_listening("udp", ip, addr.port())?
                    && host.is_listening("tcp", ip, addr.port())?
                    && tls_up)
                    .then_some(()))
            },
            || format!("last lines of {}:\n{}", log.display(), log_tail(&log)),
        )?;
        Ok(Self {
            process,
            addr,
            tls,
            config_path,
            config,
            ctl,
        })
    }

    /// Changes a subscriber's password while Kamailio runs (an
    /// administrator changing it on the iPBX): requests authenticated from
    /// now on need the new one; bindings already saved are kept. Adds the
    /// subscriber if it did not exist.
    pub fn set_password(&mut self, number: &str, password: &str) -> Result<()> {
        check_token("subscriber number", number)?;
        check_token("password", password)?;
        require_tools(&["kamcmd"], "changing an iPBX password")?;
        let mut cmd = std::process::Command::new("kamcmd");
        // `s:` keeps kamcmd from sending a numeric user name as an integer.
        cmd.arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .arg("htable.sets")
            .arg("s:pw")
            .arg(format!("s:{number}"))
            .arg(format!("s:{password}"));
        crate::run_checked(&mut cmd)?;
        match self
            .config
            .subscribers
            .iter_mut()
            .find(|(n, _)| n == number)
        {
            Some((_, p)) => password.clone_into(p),
            None => self
                .config
                .subscribers
                .push((number.to_owned(), password.to_owned())),
        }
        Ok(())
    }

    /// The registrar's location table: (AoR, contact URI) pairs, read over
    /// Kamailio's control socket with `kamcmd ul.dump`.
    pub fn location(&self) -> Result<Vec<Binding>> {
        require_tools(&["kamcmd"], "reading the iPBX location table")?;
        let mut cmd = std::process::Command::new("kamcmd");
        cmd.arg("-s")
            .arg(format!("unix:{}", self.ctl.display()))
            .arg("ul.dump");
        let out = crate::run_checked(&mut cmd)?;
        Ok(parse_ul_dump(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Where it listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(self.addr)
    }

    /// Its IP address.
    pub fn ip(&self) -> Ipv4Addr {
        *self.addr.ip()
    }

    /// Where it listens for SIP over TLS, when started with
    /// [`IpbxConfig::tls`].
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|t| SocketAddr::V4(t.addr))
    }

    /// The CA file a TLS client must trust to verify its certificate, when
    /// started with [`IpbxConfig::tls`].
    pub fn tls_ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca.ca_file())
    }

    /// Its TLS listener, CA and certificate, when started with
    /// [`IpbxConfig::tls`].
    pub fn tls(&self) -> Option<&IpbxTls> {
        self.tls.as_ref()
    }

    /// The digest realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    /// The generated configuration file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The log file (stderr, `-E`).
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        self.process.log_text()
    }

    /// The `IPBX ...` lines logged so far (one per REGISTER or initial
    /// request), without Kamailio's prefix.
    pub fn log_lines(&self) -> Vec<String> {
        self.log_lines_after(LogCursor::START)
    }

    /// The current end of the log, for [`Ipbx::log_lines_after`] and
    /// [`Ipbx::wait_log_line_after`].
    pub fn log_cursor(&self) -> LogCursor {
        self.process.log_cursor()
    }

    /// The `IPBX ...` lines logged after `cursor`.
    pub fn log_lines_after(&self, cursor: LogCursor) -> Vec<String> {
        ipbx_lines(&self.process.log_text_after(cursor))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until an `IPBX` line anywhere in the log contains every one of
    /// `parts`, and returns it; on timeout the error lists the `IPBX` lines
    /// seen. For a line an earlier step may already have logged (a second
    /// REGISTER, a second call), use [`Ipbx::wait_log_line_after`].
    pub fn wait_log_line(&mut self, parts: &[&str], timeout: Duration) -> Result<String> {
        self.wait_log_line_after(LogCursor::START, parts, timeout)
    }

    /// Waits until an `IPBX` line logged after `cursor` contains every one
    /// of `parts`, and returns it; on timeout the error lists the log's
    /// last lines.
    pub fn wait_log_line_after(
        &mut self,
        cursor: LogCursor,
        parts: &[&str],
        timeout: Duration,
    ) -> Result<String> {
        let what = format!(
            "an iPBX log line containing {parts:?} after byte {}",
            cursor.offset()
        );
        let log = self.process.log_path().to_path_buf();
        let process = &mut self.process;
        wait_until_or(
            &what,
            timeout,
            |_| {
                process.ensure_running("waiting for a log line")?;
                let text = process.log_text_after(cursor);
                Ok(ipbx_lines(&text)
                    .find(|l| parts.iter().all(|p| l.contains(p)))
                    .map(str::to_owned))
            },
            || format!("last lines of {}:\n{}", log.display(), log_tail(&log)),
        )
    }

    /// The underlying process.
    pub fn process(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// The `IPBX ...` parts of the lines of `text`.
fn ipbx_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|l| l.find("IPBX ").map(|i| &l[i..]))
}

/// Loaded first (the module wants to set up OpenSSL before any other).
const TLS_MODULE: &str = r#"loadmodule "tls.so"
modparam("tls", "certificate", "@CERT@")
modparam("tls", "private_key", "@KEY@")
modparam("tls", "tls_method", "TLSv1.2+")
modparam("tls", "verify_certificate", 0)
modparam("tls", "require_certificate", 0)
"#;

const TEMPLATE: &str = r#"#!KAMAILIO
# Generated by outpost-testbed: Kamailio as the test iPBX.
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
dns_try_ipv6=no
use_dns_cache=no
@TLS_LISTEN@
listen=udp:@LISTEN_IP@:@PORT@
listen=tcp:@LISTEN_IP@:@PORT@
@ALIASES@
mpath="@MPATH@"
@TLS_MODULE@
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "auth.so"
loadmodule "ctl.so"
loadmodule "kex.so"
loadmodule "htable.so"

modparam("ctl", "binrpc", "unix:@CTL@")
# Passwords changed at run time (Ipbx::set_password), by subscriber.
modparam("htable", "htable", "pw=>size=4;")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("rr", "enable_full_lr", 1)

request_route {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check()) {
        xlog("L_NOTICE", "IPBX malformed $rm from $si:$sp proto=$pr\n");
        exit;
    }
    if (has_totag()) {
        if (loose_route()) {
            route(RELAY);
        }
        if (is_method("ACK")) {
            if (t_check_trans()) {
                route(RELAY);
            }
            exit;
        }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    if (is_method("ACK")) {
        exit;
    }
    t_check_trans();
    # A preloaded Route to ourselves (a phone's outbound proxy) is consumed.
    if (is_present_hf("Route")) {
        loose_route();
    }
    if (is_method("REGISTER")) {
        route(REGISTRAR);
        exit;
    }
    if (is_method("OPTIONS") && $rU == $null) {
        xlog("L_NOTICE", "IPBX OPTIONS from $si:$sp proto=$pr -> 200\n");
        sl_send_reply("200", "OK");
        exit;
    }
    route(AUTH);
    if (is_method("INVITE")) {
        record_route();
    }
    if ($rU == $null) {
        sl_send_reply("484", "Address Incomplete");
        exit;
    }
    $var(callee) = $rU;
    if (!lookup("location")) {
        xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $var(callee) not registered -> 404\n");
        sl_send_reply("404", "Not Found");
        exit;
    }
    xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $var(callee) relayed to $ru\n");
    route(RELAY);
}

route[RELAY] {
    if (!t_relay()) {
        sl_reply_error();
    }
    exit;
}

# $var(pw) = the password of auth user $au ("" when unknown).
route[PASSWD] {
    $var(pw) = "";
@PASSWD@
    if ($sht(pw=>$au) != $null) {
        $var(pw) = $sht(pw=>$au);
    }
}

route[REGISTRAR] {
    if (!is_present_hf("Authorization")) {
        xlog("L_NOTICE", "IPBX REGISTER from $si:$sp proto=$pr aor=$tu auth=none -> 401\n");
        www_challenge("@REALM@", "1");
        exit;
    }
    route(PASSWD);
    pv_www_authenticate("@REALM@", "$var(pw)", "0");
    $var(rc) = $rc;
    # -4 stale nonce, -5 no credentials for this realm, -6 nonce reused
    if ($var(rc) == -4 || $var(rc) == -5 || $var(rc) == -6) {
        xlog("L_NOTICE", "IPBX REGISTER from $si:$sp proto=$pr aor=$tu user=$au auth=stale($var(rc)) -> 401\n");
        www_challenge("@REALM@", "1");
        exit;
    }
    if ($var(rc) < 0 || $au != $tU) {
        xlog("L_NOTICE", "IPBX REGISTER from $si:$sp proto=$pr aor=$tu user=$au auth=failed($var(rc)) -> 403\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    consume_credentials();
    if (!save("location")) {
        xlog("L_NOTICE", "IPBX REGISTER from $si:$sp proto=$pr aor=$tu user=$au auth=ok save failed -> 500\n");
        sl_reply_error();
        exit;
    }
    xlog("L_NOTICE", "IPBX REGISTER from $si:$sp proto=$pr aor=$tu user=$au auth=ok contact=$ct -> 200\n");
}

route[AUTH] {
    if (!is_present_hf("Proxy-Authorization")) {
        xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $rU auth=none -> 407\n");
        proxy_challenge("@REALM@", "1");
        exit;
    }
    route(PASSWD);
    pv_proxy_authenticate("@REALM@", "$var(pw)", "0");
    $var(rc) = $rc;
    if ($var(rc) == -4 || $var(rc) == -5 || $var(rc) == -6) {
        xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $rU user=$au auth=stale($var(rc)) -> 407\n");
        proxy_challenge("@REALM@", "1");
        exit;
    }
    if ($var(rc) < 0) {
        xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $rU user=$au auth=failed($var(rc)) -> 403\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    xlog("L_NOTICE", "IPBX $rm from $si:$sp proto=$pr $fU -> $rU user=$au auth=ok\n");
    consume_credentials();
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_subscribers_and_listeners() {
        let cfg = IpbxConfig::new([("1001", "s3cret"), ("1002", "pw2")]).realm("pbx.test");
        let text = render_config(
            &cfg,
            SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 10), 5060),
            Path::new("/tmp/ctl"),
            None,
        )
        .unwrap();
        assert!(text.contains("listen=udp:198.18.1.10:5060"));
        assert!(text.contains("listen=tcp:198.18.1.10:5060"));
        assert!(!text.contains("tls"), "no TLS unless asked:\n{text}");
        assert!(text.contains(r#"if ($au == "1001") { $var(pw) = "s3cret"; }"#));
        assert!(text.contains(r#"www_challenge("pbx.test", "1")"#));
        for placeholder in [
            "@LISTEN_IP@",
            "@PORT@",
            "@ALIASES@",
            "@MPATH@",
            "@REALM@",
            "@PASSWD@",
            "@TLS_LISTEN@",
            "@TLS_MODULE@",
        ] {
            assert!(
                !text.contains(placeholder),
                "{placeholder} left in:\n{text}"
            );
        }
    }

    #[test]
    fn refuses_script_injection() {
        let cfg = IpbxConfig::new([("1001", "a\"; exit; \"")]);
        let err = render_config(
            &cfg,
            SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 10), 5060),
            Path::new("/tmp/ctl"),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn renders_a_tls_listener_with_the_certificate() {
        let cfg = IpbxConfig::new([("1001", "pw1")]).tls("pbx.example.test");
        assert_eq!(cfg.aliases, ["pbx.example.test"]);
        let addr = SocketAddrV4::new(Ipv4Addr::new(198, 18, 2, 20), 5060);
        let cert = IssuedCert {
            cert_file: "/lab/ipbx-tls.crt".into(),
            key_file: "/lab/ipbx-tls.key".into(),
            names: vec!["pbx.example.test".into()],
        };
        let text = render_config(&cfg, addr, Path::new("/tmp/ctl"), Some(&cert)).unwrap();
        assert!(text.contains("enable_tls=yes\nlisten=tls:198.18.2.20:5061\n"));
        assert!(text.contains("alias=\"pbx.example.test\""));
        assert!(text.contains(r#"modparam("tls", "certificate", "/lab/ipbx-tls.crt")"#));
        assert!(text.contains(r#"modparam("tls", "private_key", "/lab/ipbx-tls.key")"#));
        // tls.so is the first module loaded.
        let first_module = text.find("loadmodule").unwrap();
        assert_eq!(text.find(r#"loadmodule "tls.so""#), Some(first_module));
        let err = render_config(&cfg, addr, Path::new("/tmp/ctl"), None).unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }
}
