//! A running `outpost serve` managed through its REST API, on loopback
//! addresses of its own (127.0.N.1 public, .2 private, .3 admin), with a
//! fake iPBX on 127.0.N.5 (UDP, grants every REGISTER what it asks and
//! answers OPTIONS), a device `alice` → `1001` provisioned with the CLI, a
//! raw-UDP phone that answers Outpost's digest challenge, and an API
//! client (curl over HTTPS, checking the gateway's certificate for its
//! FQDN) with a bearer token or a login session (cookie + CSRF token),
//! JSON or CSV bodies.
//!
//! No network namespace: everything is on 127/8, so these tests need
//! neither root nor the lab's tools beyond curl.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use outpost_sip::auth::{DigestClient, select_challenge};
use serde_json::Value;

/// The gateway's FQDN: in its certificate, and what curl asks for.
pub const FQDN: &str = "sbc.admin.test";
/// The device: set side (what the phone knows) → ICP side.
pub const ALICE: (&str, &str, &str, &str) = ("alice", "alice-Secret-1", "1001", "alpha-1001");
const START: Duration = Duration::from_secs(30);

/// A line of a SIP message's header whose name is `name` (or its compact
/// form), value trimmed.
pub fn header<'a>(message: &'a str, name: &str, compact: &str) -> Vec<&'a str> {
    message
        .split("\r\n")
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            let n = n.trim();
            (n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(compact)).then(|| v.trim())
        })
        .collect()
}

/// The `expires` parameter of a Contact value, or the Expires header.
fn expires_of(message: &str) -> Option<u32> {
    let from_contact = header(message, "Contact", "m").into_iter().find_map(|c| {
        c.split(';')
            .find_map(|p| p.trim().strip_prefix("expires="))
            .and_then(|v| v.trim().parse().ok())
    });
    from_contact.or_else(|| {
        header(message, "Expires", "Expires")
            .first()
            .and_then(|v| v.parse().ok())
    })
}

/// The status code of a response.
pub fn status_of(message: &str) -> Option<u16> {
    message.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

/// An iPBX that answers every REGISTER 200 with the expiry asked, and
/// records the expiries it was asked for (0: an unregistration); it
/// answers OPTIONS 200 (what `icps test` asks).
pub struct FakeIcp {
    pub addr: SocketAddr,
    pub asked: Arc<Mutex<Vec<u32>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeIcp {
    pub fn start(ip: Ipv4Addr) -> Self {
        let socket = UdpSocket::bind((ip, 5060)).expect("fake iPBX port");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopping) = (Arc::clone(&asked), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            while !stopping.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with("OPTIONS ") {
                    let _ = socket.send_to(options_ok(&text).as_bytes(), from);
                    continue;
                }
                if !text.starts_with("REGISTER ") {
                    continue;
                }
                let expires = expires_of(&text).unwrap_or(3600);
                log.lock().unwrap().push(expires);
                let _ = socket.send_to(register_ok(&text, expires).as_bytes(), from);
            }
        });
        Self {
            addr,
            asked,
            stop,
            thread: Some(thread),
        }
    }

    /// The expiries asked so far.
    pub fn asked(&self) -> Vec<u32> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for FakeIcp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A 200 to OPTIONS: the request's Via, From, To (tagged), Call-ID and
/// CSeq.
fn options_ok(request: &str) -> String {
    let mut out = ok_headers(request);
    out.push_str("Server: fake-ipbx\r\nContent-Length: 0\r\n\r\n");
    out
}

/// A 200's status line and the headers copied from `request`.
fn ok_headers(request: &str) -> String {
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    for via in header(request, "Via", "v") {
        out.push_str(&format!("Via: {via}\r\n"));
    }
    for (name, compact) in [("From", "f"), ("Call-ID", "i"), ("CSeq", "CSeq")] {
        if let Some(v) = header(request, name, compact).first() {
            out.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    if let Some(to) = header(request, "To", "t").first() {
        out.push_str(&format!("To: {to};tag=icp1\r\n"));
    }
    out
}

fn register_ok(request: &str, expires: u32) -> String {
    let mut out = ok_headers(request);
    if let Some(contact) = header(request, "Contact", "m").first() {
        let uri = contact.split(';').next().unwrap_or(contact);
        out.push_str(&format!("Contact: {uri};expires={expires}\r\n"));
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// Credentials of a request.
pub enum Cred<'a> {
    /// None.
    None,
    /// `Authorization: Bearer`.
    Token(&'a str),
    /// The session cookie with its CSRF token.
    Session(&'a Session),
}

/// A login session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The `outpost_session` cookie's value.
    pub cookie: String,
    /// The CSRF token sent as `X-CSRF-Token`.
    pub csrf: String,
    /// The whole `Set-Cookie` value (its attributes).
    pub set_cookie: String,
}

/// A request body.
pub enum Body<'a> {
    /// None (no `Content-Type`).
    Empty,
    /// `application/json`.
    Json(&'a Value),
    /// `text/csv`.
    Csv(&'a str),
}

/// An answer of the API.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The status line and headers, as received.
    pub headers: String,
    /// The body as JSON (a string when it is not JSON).
    pub body: Value,
    /// The body as received.
    pub text: String,
}

impl Reply {
    /// The value of header `name` (case-insensitive), the first one.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The error message of an error body.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// A running `outpost serve` with its iPBX.
pub struct Bed {
    child: Option<Child>,
    pub net: u8,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    pub icp: FakeIcp,
    pub token: String,
}

impl Bed {
    /// Provisions and starts Outpost on 127.0.`net`.x with `env` added to
    /// `serve`'s environment, and creates an API token with `scopes`.
    pub fn start(net: u8, env: &[(&str, &str)], scopes: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let icp = FakeIcp::start(Ipv4Addr::new(127, 0, net, 5));
        let log = dir.path().join("outpost.log");
        let mut bed = Self {
            child: None,
            net,
            log: log.clone(),
            icp,
            token: String::new(),
            dir,
        };
        bed.cli(&["init"], &[]);
        let icp_host = bed.icp.addr.ip().to_string();
        bed.cli(
            &[
                "icps",
                "add",
                "--name",
                "ipbx",
                "--host",
                &icp_host,
                "--port",
                "5060",
                "--transports",
                "udp",
            ],
            &[],
        );
        bed.cli(
            &[
                "devices",
                "add",
                "--username",
                ALICE.0,
                "--icp-username",
                ALICE.2,
            ],
            &[
                ("OUTPOST_DEVICE_PASSWORD", ALICE.1),
                ("OUTPOST_DEVICE_ICP_PASSWORD", ALICE.3),
            ],
        );
        let mut args = vec!["token", "create", "--name", "e2e", "--json"];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        let created: Value = serde_json::from_str(bed.cli(&args, &[]).trim()).unwrap();
        bed.token = created["token"].as_str().unwrap().to_owned();

        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = bed.command();
        cmd.arg("serve")
            .env("OUTPOST_LOG", "outpost=debug,info")
            .env("OUTPOST_FQDN", FQDN)
            .env("OUTPOST_PUBLIC_INTERFACE", bed.ip(1).to_string())
            .env("OUTPOST_PUBLIC_PROTOCOLS", "tls+udp/tcp")
            .env("OUTPOST_PRIVATE_INTERFACE", bed.ip(2).to_string())
            .env("OUTPOST_PRIVATE_PROTOCOLS", "tls+udp/tcp")
            .env("OUTPOST_ADMIN_LISTEN", format!("{}:9464", bed.ip(3)))
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        bed.child = Some(cmd.spawn().unwrap());
        bed.wait_for_log(0, "outpost running", START);
        bed
    }

    /// 127.0.`net`.`host`.
    pub fn ip(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, self.net, host)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI on this installation; panics unless it succeeds.
    pub fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let mut cmd = self.command();
        cmd.args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "outpost {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_cursor(&self) -> usize {
        self.log_text().len()
    }

    /// Polls the log written after `cursor` for `needle`.
    pub fn wait_for_log(&mut self, cursor: usize, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.log_text();
            if text.get(cursor..).is_some_and(|t| t.contains(needle)) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("outpost exited ({status}) before logging {needle:?}:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An API request over HTTPS with the token (or `auth`), checking the
    /// certificate; returns the status and the JSON body.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let token = self.token.clone();
        self.api_as(&token, method, path, body)
    }

    pub fn api_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (status, text) = self.curl(method, path, Some(token), body);
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// curl over HTTPS to the admin listener; (status, body text).
    pub fn curl(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, String) {
        let ca = self.data_dir().join("tls/default.crt");
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "60", "-X", method])
            .arg("--cacert")
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("{FQDN}:9464:{}", self.ip(3)))
            .args(["-w", "\n%{http_code}"]);
        if let Some(token) = token {
            cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
        }
        if let Some(body) = body {
            cmd.args(["-H", "Content-Type: application/json", "--data"])
                .arg(body.to_string());
        }
        cmd.arg(format!("https://{FQDN}:9464{path}"));
        let out = cmd.output().expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        assert!(
            out.status.success(),
            "curl {method} {path}: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        (status.trim().parse().unwrap_or(0), body.to_owned())
    }

    /// A request with any credentials and body, over HTTPS with curl
    /// (checking the certificate); the status, the response headers and
    /// the body (JSON, else the text as a string).
    pub fn request(&self, method: &str, path: &str, cred: &Cred<'_>, body: &Body<'_>) -> Reply {
        let ca = self.data_dir().join("tls/default.crt");
        let mut cmd = Command::new("curl");
        // `-D -`: the headers before the body; `Expect:` keeps a 100
        // Continue out of them.
        cmd.args(["-sS", "--max-time", "150", "-X", method, "-D", "-"])
            .args(["-H", "Expect:"])
            .arg("--cacert")
            .arg(&ca)
            .arg("--resolve")
            .arg(format!("{FQDN}:9464:{}", self.ip(3)))
            .args(["-w", "\n%{http_code}"]);
        match cred {
            Cred::None => {}
            Cred::Token(token) => {
                cmd.arg("-H").arg(format!("Authorization: Bearer {token}"));
            }
            Cred::Session(session) => {
                cmd.arg("-H")
                    .arg(format!("Cookie: outpost_session={}", session.cookie))
                    .arg("-H")
                    .arg(format!("X-CSRF-Token: {}", session.csrf));
            }
        }
        let input = match body {
            Body::Empty => None,
            Body::Json(value) => {
                cmd.args([
                    "-H",
                    "Content-Type: application/json",
                    "--data-binary",
                    "@-",
                ]);
                Some(value.to_string())
            }
            Body::Csv(text) => {
                cmd.args(["-H", "Content-Type: text/csv", "--data-binary", "@-"]);
                Some((*text).to_owned())
            }
        };
        cmd.arg(format!("https://{FQDN}:9464{path}"))
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run curl");
        if let Some(input) = input {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "curl {method} {path}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (headers, rest) = text.split_once("\r\n\r\n").unwrap_or(("", &text));
        let (body, status) = rest.rsplit_once('\n').unwrap_or(("", rest));
        Reply {
            status: status.trim().parse().unwrap_or(0),
            headers: headers.to_owned(),
            body: serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned())),
            text: body.to_owned(),
        }
    }

    /// Logs `name` in over the API (`POST /api/v1/session`); panics unless
    /// it works. The session's cookie and CSRF token.
    pub fn login(&self, name: &str, password: &str) -> Session {
        let body = serde_json::json!({"name": name, "password": password});
        let r = self.request("POST", "/api/v1/session", &Cred::None, &Body::Json(&body));
        assert_eq!(r.status, 200, "login {name}: {}", r.text);
        let set_cookie = r
            .header("set-cookie")
            .unwrap_or_else(|| panic!("no Set-Cookie: {}", r.headers));
        let cookie = set_cookie
            .strip_prefix("outpost_session=")
            .and_then(|rest| rest.split(';').next())
            .unwrap()
            .to_owned();
        Session {
            cookie,
            csrf: r.body["csrf_token"].as_str().unwrap().to_owned(),
            set_cookie,
        }
    }

    /// The public side's address for `port`.
    pub fn public(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip(1)), port)
    }

    /// Sends OPTIONS over UDP from a connected socket; `Ok(Some(status))`
    /// when answered within `wait`, `Ok(None)` when not, `Err` when the
    /// port is closed (ICMP port unreachable: connection refused).
    pub fn options_udp(&self, wait: Duration) -> std::io::Result<Option<u16>> {
        let socket = UdpSocket::bind((self.ip(9), 0))?;
        socket.connect(self.public(5060))?;
        let local = socket.local_addr()?;
        let call_id = format!("opt-{}-{}", local.port(), std::process::id());
        let request = format!(
            "OPTIONS sip:{host} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id};rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@{local}>;tag=p1\r\nTo: <sip:{host}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            host = self.ip(1)
        );
        socket.send(request.as_bytes())?;
        socket.set_read_timeout(Some(wait))?;
        let mut buf = vec![0u8; 65_536];
        match socket.recv(&mut buf) {
            Ok(n) => Ok(status_of(&String::from_utf8_lossy(&buf[..n]))),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the public SIP/TLS port accepts a TCP connection.
    pub fn tls_port_open(&self) -> bool {
        TcpStream::connect_timeout(&self.public(5063), Duration::from_secs(2)).is_ok()
    }

    /// Registers `alice` over UDP (answering the digest challenge) asking
    /// for 3600 s; returns the final status and the expiry granted.
    pub fn register(&self) -> (u16, Option<u32>) {
        let socket = UdpSocket::bind((self.ip(9), 0)).unwrap();
        socket.connect(self.public(5060)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let local = socket.local_addr().unwrap();
        let host = self.ip(1);
        let uri = format!("sip:{host}");
        let call_id = format!("reg-{}-{}", local.port(), std::process::id());
        let mut client = DigestClient::new(ALICE.0, ALICE.1).unwrap();
        let mut authorization = None::<String>;
        for cseq in 1..=3u32 {
            let auth = authorization
                .as_ref()
                .map(|a| format!("Authorization: {a}\r\n"))
                .unwrap_or_default();
            let request = format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{call_id}{cseq};rport\r\nMax-Forwards: 70\r\nFrom: <sip:{user}@{host}>;tag=ph{cseq}\r\nTo: <sip:{user}@{host}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{user}@{local}>\r\nExpires: 3600\r\n{auth}Content-Length: 0\r\n\r\n",
                user = ALICE.0
            );
            socket.send(request.as_bytes()).unwrap();
            let response = loop {
                let mut buf = vec![0u8; 65_536];
                let n = socket.recv(&mut buf).expect("a response to REGISTER");
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                match status_of(&text) {
                    Some(s) if s >= 200 => break text,
                    _ => continue,
                }
            };
            let status = status_of(&response).unwrap_or(0);
            if status != 401 {
                return (status, expires_of(&response));
            }
            let challenge =
                select_challenge(header(&response, "WWW-Authenticate", "WWW-Authenticate"))
                    .expect("a digest challenge");
            let credentials = client
                .respond(&challenge, "REGISTER", &uri, [7u8; 16])
                .unwrap();
            authorization = Some(credentials.to_header_value());
        }
        panic!("REGISTER still challenged after two answers");
    }

    /// Stops `outpost serve` (SIGTERM) and waits for it.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `check` every 100 ms until it returns `Some`, failing at the
/// deadline with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The data directory's database, opened by the test (another process).
pub fn store(dir: &Path) -> outpost_store::Store {
    outpost_store::Store::open_existing(&dir.join("outpost.db")).unwrap()
}
