//! Network namespaces: one [`Lab`] per test, with networks and hosts.
//!
//! Topology: every lab has a *hub* namespace; a [`Network`] is a Linux
//! bridge inside the hub; a [`Host`] is a namespace whose `ethN` interfaces
//! are veth pairs created from the hub side
//! (`ip -n HUB link add vX type veth peer name eth0 netns HOST`), so the
//! 15-byte interface-name limit never meets a long namespace name, and the
//! root namespace's network is never touched. Two labs never share a bridge,
//! so parallel tests may use the same addresses.
//!
//! Names: `opt<pid>-<lab>-<n>` (`-h` for the hub), e.g. `opt4242-3-1`. The
//! embedded pid lets [`Lab::new`] remove namespaces left by a test process
//! that was killed (its `Drop` never ran); the `opt` prefix lets
//! `scripts/testbed-cleanup.sh` remove them all.
//!
//! Use addresses from 198.18.0.0/15 (RFC 2544 benchmarking), e.g.
//! `lab.network("lan", "198.18.1")`.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};

use rustix::process::{Pid, Signal};
use tempfile::TempDir;

use crate::process::{PidRegistry, Process};
use crate::{KEEP_ENV, Result, TestbedError, find_in_path, require_tools, run_checked};

/// Prefix of every namespace the test bed creates.
pub const NETNS_PREFIX: &str = "opt";

static LAB_COUNTER: AtomicU32 = AtomicU32::new(1);
static STALE_CLEANUP: Once = Once::new();

fn ip_program() -> &'static Path {
    static IP: OnceLock<PathBuf> = OnceLock::new();
    IP.get_or_init(|| find_in_path("ip").unwrap_or_else(|| PathBuf::from("ip")))
}

fn ip_cmd(args: &[&str]) -> Command {
    let mut cmd = Command::new(ip_program());
    cmd.args(args);
    cmd
}

fn ip(args: &[&str]) -> Result<Output> {
    run_checked(&mut ip_cmd(args))
}

/// State shared by a lab and its hosts (hosts spawn processes into the lab
/// directory and register their pids with the lab).
#[derive(Debug)]
pub(crate) struct LabShared {
    id: String,
    hub: String,
    dir: PathBuf,
    pids: PidRegistry,
    namespaces: Mutex<Vec<String>>,
    /// (network name, last octet) pairs in use, to refuse duplicates.
    addresses: Mutex<Vec<(String, u8)>>,
    next_host: AtomicU32,
    next_net: AtomicU32,
}

impl LabShared {
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh path `dir/stem.ext`, with `-2`, `-3`... when taken.
    pub(crate) fn unique_path(&self, stem: &str, ext: &str) -> PathBuf {
        let mut candidate = self.dir.join(format!("{stem}{ext}"));
        let mut n = 2;
        while candidate.exists() {
            candidate = self.dir.join(format!("{stem}-{n}{ext}"));
            n += 1;
        }
        candidate
    }
}

/// One test's topology of namespaces, plus a directory for logs and
/// configuration files. Dropping it kills every process it spawned and
/// deletes every namespace it created, also while unwinding from a panic.
#[derive(Debug)]
pub struct Lab {
    shared: Arc<LabShared>,
    tempdir: Option<TempDir>,
    keep: AtomicBool,
}

/// A /24 network: a bridge in the lab's hub namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    name: String,
    prefix: [u8; 3],
    bridge: String,
}

impl Network {
    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address `prefix.octet` on this network.
    pub fn addr(&self, octet: u8) -> Ipv4Addr {
        let [a, b, c] = self.prefix;
        Ipv4Addr::new(a, b, c, octet)
    }

    /// The network in CIDR notation, e.g. `198.18.1.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.addr(0))
    }

    /// The bridge's name inside the hub namespace.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }
}

/// One interface of a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Its name inside the host (`eth0`, `eth1`, ...).
    pub name: String,
    /// The network it is attached to.
    pub network: Network,
    /// Its address (a /24 on `network`).
    pub addr: Ipv4Addr,
}

/// A network namespace of a lab, with one or more interfaces.
#[derive(Clone, Debug)]
pub struct Host {
    name: String,
    netns: String,
    interfaces: Vec<Interface>,
    lab: Arc<LabShared>,
}

impl Lab {
    /// Makes a lab: a unique hub namespace and a temporary directory named
    /// after `tag`. Fails if not root or `ip` is missing. The first lab of a
    /// process first removes namespaces left by dead test processes.
    pub fn new(tag: &str) -> Result<Self> {
        require_tools(&["ip"], "network namespaces (iproute2)")?;
        STALE_CLEANUP.call_once(remove_stale_namespaces);
        let n = LAB_COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("{NETNS_PREFIX}{}-{n}", std::process::id());
        let safe_tag: String = tag
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let tempdir = tempfile::Builder::new()
            .prefix(&format!("outpost-lab-{safe_tag}-"))
            .tempdir()
            .map_err(|e| {
                TestbedError::io("creating the lab directory", &std::env::temp_dir(), e)
            })?;
        let shared = Arc::new(LabShared {
            hub: format!("{id}-h"),
            id,
            dir: tempdir.path().to_path_buf(),
            pids: PidRegistry::default(),
            namespaces: Mutex::new(Vec::new()),
            addresses: Mutex::new(Vec::new()),
            next_host: AtomicU32::new(1),
            next_net: AtomicU32::new(1),
        });
        let lab = Self {
            shared,
            tempdir: Some(tempdir),
            keep: AtomicBool::new(false),
        };
        lab.add_namespace(&lab.shared.hub.clone())?;
        Ok(lab)
    }

    /// The lab's id (`opt<pid>-<n>`), the prefix of all its namespaces.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The hub namespace holding the bridges.
    pub fn hub(&self) -> &str {
        &self.shared.hub
    }

    /// The lab directory (logs, generated configurations, recordings).
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Every namespace this lab created so far (hub first).
    pub fn namespaces(&self) -> Vec<String> {
        self.shared
            .namespaces
            .lock()
            .map(|n| n.clone())
            .unwrap_or_default()
    }

    /// Keeps the lab directory after drop (also done when the thread is
    /// panicking or `OUTPOST_KEEP_LAB=1`); its path is printed then.
    pub fn keep_dir(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    fn add_namespace(&self, name: &str) -> Result<()> {
        // The first `ip netns add` on a machine creates and bind-mounts
        // /run/netns; concurrent first calls can trip over each other.
        static NETNS_ADD: Mutex<()> = Mutex::new(());
        {
            let _guard = NETNS_ADD
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ip(&["netns", "add", name])?;
        }
        if let Ok(mut names) = self.shared.namespaces.lock() {
            names.push(name.to_owned());
        }
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// A /24 network (a bridge in the hub); `prefix` is its first three
    /// octets, e.g. `"198.18.1"`.
    pub fn network(&self, name: &str, prefix: &str) -> Result<Network> {
        let octets: Vec<u8> = prefix
            .split('.')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| TestbedError::Config(format!("network {name}: bad prefix `{prefix}`")))?;
        let prefix: [u8; 3] = octets.try_into().map_err(|_| {
            TestbedError::Config(format!(
                "network {name}: prefix `{prefix}` must be three octets such as 198.18.1"
            ))
        })?;
        let n = self.shared.next_net.fetch_add(1, Ordering::Relaxed);
        let bridge = format!("br{n}");
        let hub = self.hub();
        ip(&["-n", hub, "link", "add", &bridge, "type", "bridge"])?;
        ip(&["-n", hub, "link", "set", &bridge, "up"])?;
        Ok(Network {
            name: name.to_owned(),
            prefix,
            bridge,
        })
    }

    /// A host with one interface (`eth0`) at `network.addr(octet)`.
    pub fn host(&self, name: &str, network: &Network, octet: u8) -> Result<Host> {
        self.host_multi(name, &[(network, octet)])
    }

    /// A host with one interface per entry (`eth0`, `eth1`, ... in order),
    /// e.g. Outpost with a public and a private leg.
    pub fn host_multi(&self, name: &str, legs: &[(&Network, u8)]) -> Result<Host> {
        if legs.is_empty() {
            return Err(TestbedError::Config(format!("host {name}: no interface")));
        }
        self.reserve_addresses(name, legs)?;
        let n = self.shared.next_host.fetch_add(1, Ordering::Relaxed);
        let netns = format!("{}-{n}", self.shared.id);
        self.add_namespace(&netns)?;
        let hub = self.hub();
        let mut interfaces = Vec::with_capacity(legs.len());
        for (i, (network, octet)) in legs.iter().enumerate() {
            let outer = format!("v{n}x{i}");
            let inner = format!("eth{i}");
            let addr = network.addr(*octet);
            let cidr = format!("{addr}/24");
            ip(&[
                "-n", hub, "link", "add", &outer, "type", "veth", "peer", "name", &inner, "netns",
                &netns,
            ])?;
            ip(&["-n", hub, "link", "set", &outer, "master", network.bridge()])?;
            ip(&["-n", hub, "link", "set", &outer, "up"])?;
            ip(&["-n", &netns, "addr", "add", &cidr, "dev", &inner])?;
            ip(&["-n", &netns, "link", "set", &inner, "up"])?;
            interfaces.push(Interface {
                name: inner,
                network: (*network).clone(),
                addr,
            });
        }
        Ok(Host {
            name: name.to_owned(),
            netns,
            interfaces,
            lab: Arc::clone(&self.shared),
        })
    }

    fn reserve_addresses(&self, name: &str, legs: &[(&Network, u8)]) -> Result<()> {
        let mut used = self
            .shared
            .addresses
            .lock()
            .map_err(|_| TestbedError::Config("lab address table poisoned".into()))?;
        for (network, octet) in legs {
            if *octet == 0 || *octet == 255 {
                return Err(TestbedError::Config(format!(
                    "host {name}: octet {octet} is not a host address on {}",
                    network.cidr()
                )));
            }
            let key = (network.name().to_owned(), *octet);
            if used.contains(&key) {
                return Err(TestbedError::Config(format!(
                    "host {name}: {} is already used in this lab",
                    network.addr(*octet)
                )));
            }
            used.push(key);
        }
        Ok(())
    }

    /// A home router: `eth0` on `outside`, `eth1` on `inside`, forwarding
    /// on, and `iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE`.
    pub fn nat_router(
        &self,
        name: &str,
        outside: (&Network, u8),
        inside: (&Network, u8),
    ) -> Result<Host> {
        require_tools(&["iptables"], "the NAT router")?;
        let router = self.host_multi(name, &[outside, inside])?;
        router.run(&["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])?;
        let out_if = router.interfaces[0].name.clone();
        router.run(&[
            "iptables",
            "-t",
            "nat",
            "-A",
            "POSTROUTING",
            "-o",
            &out_if,
            "-j",
            "MASQUERADE",
        ])?;
        Ok(router)
    }

    /// A host on `inside` whose default route goes through `router` (which
    /// must have an interface on `inside`).
    pub fn host_behind(
        &self,
        name: &str,
        inside: &Network,
        octet: u8,
        router: &Host,
    ) -> Result<Host> {
        let gateway = router.ip_on(inside).ok_or_else(|| {
            TestbedError::Config(format!(
                "host {name}: router {} has no interface on {}",
                router.name(),
                inside.cidr()
            ))
        })?;
        let host = self.host(name, inside, octet)?;
        host.ip_route_default(gateway)?;
        Ok(host)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let keep = self.keep.load(Ordering::Relaxed)
            || std::thread::panicking()
            || std::env::var(KEEP_ENV).is_ok_and(|v| v == "1");
        let pids: Vec<u32> = self
            .shared
            .pids
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        for pid in pids {
            kill(pid);
        }
        let mut names = self.namespaces();
        // Hosts first, the hub (holding the bridges) last.
        names.reverse();
        for name in &names {
            remove_namespace(name);
        }
        if let Some(mut dir) = self.tempdir.take() {
            if keep {
                dir.disable_cleanup(true);
                eprintln!(
                    "outpost-testbed: lab {} kept its directory {}",
                    self.shared.id,
                    dir.path().display()
                );
            }
            drop(dir);
        }
    }
}

fn kill(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        // ESRCH only means it is already gone.
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
}

/// Pids of the processes inside namespace `name`.
fn namespace_pids(name: &str) -> Vec<u32> {
    ip_cmd(&["netns", "pids", name])
        .stderr(std::process::Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Kills everything inside `name`, then deletes it; problems are printed,
/// not returned (this runs in `Drop`).
fn remove_namespace(name: &str) {
    for pid in namespace_pids(name) {
        kill(pid);
    }
    if let Err(e) = ip(&["netns", "del", name]) {
        eprintln!("outpost-testbed: could not delete namespace {name}: {e}");
    }
    // Per-namespace /etc files (see `Host::add_hosts_entry`).
    let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(name));
}

/// Names of all namespaces (`ip netns list`).
pub fn list_namespaces() -> Result<Vec<String>> {
    let out = ip(&["netns", "list"])?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// The pid embedded in a test-bed namespace name (`opt<pid>-...`).
pub fn owner_pid(netns: &str) -> Option<u32> {
    let rest = netns.strip_prefix(NETNS_PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !rest[digits.len()..].starts_with('-') {
        return None;
    }
    digits.parse().ok()
}

/// Removes test-bed namespaces whose owner process is gone (a test process
/// killed before its labs' `Drop` ran). Safe to call at any time.
pub fn remove_dead_namespaces() {
    remove_namespaces_where(|pid| !process_alive(pid));
}

/// Whether `pid` is a live process: a zombie (killed, not yet reaped by its
/// parent) counts as dead.
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')', as comm may
    // contain anything.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x"))
}

/// Dead owners, plus namespaces carrying our own pid: a dead process with
/// the same pid left them, as this runs before our first lab exists.
fn remove_stale_namespaces() {
    let me = std::process::id();
    remove_namespaces_where(|pid| pid == me || !process_alive(pid));
}

fn remove_namespaces_where(stale: impl Fn(u32) -> bool) {
    let Ok(names) = list_namespaces() else {
        return;
    };
    for name in names {
        if owner_pid(&name).is_some_and(&stale) {
            remove_namespace(&name);
        }
    }
}

impl Host {
    /// The name given at creation (e.g. `phone-a`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's name (e.g. `opt4242-3-1`).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The address of the first interface.
    pub fn ip(&self) -> Ipv4Addr {
        // A host always has at least one interface (checked at creation).
        self.interfaces
            .first()
            .map_or(Ipv4Addr::UNSPECIFIED, |i| i.addr)
    }

    /// The host's address on `network`, if it has an interface there.
    pub fn ip_on(&self, network: &Network) -> Option<Ipv4Addr> {
        self.interface_on(network).map(|i| i.addr)
    }

    /// The host's interface on `network`.
    pub fn interface_on(&self, network: &Network) -> Option<&Interface> {
        self.interfaces.iter().find(|i| &i.network == network)
    }

    /// All interfaces, in creation order.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The name of the interface holding `addr` (e.g. `eth0`).
    pub fn interface_of(&self, addr: Ipv4Addr) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|i| i.addr == addr)
            .map(|i| i.name.as_str())
    }

    /// The lab directory (shared by all hosts of a lab).
    pub fn lab_dir(&self) -> &Path {
        self.lab.dir()
    }

    pub(crate) fn lab(&self) -> &LabShared {
        &self.lab
    }

    /// `ip netns exec NETNS program`, ready for arguments.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = ip_cmd(&["netns", "exec", &self.netns]);
        cmd.arg(program);
        cmd
    }

    /// Runs `args[0] args[1..]` in the host and waits; a non-zero exit is an
    /// error carrying the command line and stderr.
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        let (program, rest) = args
            .split_first()
            .ok_or_else(|| TestbedError::Config("Host::run with no program".into()))?;
        let mut cmd = self.command(program);
        cmd.args(rest);
        run_checked(&mut cmd)
    }

    /// Starts `cmd` (normally from [`Host::command`]) with its output in
    /// `<lab dir>/<log_name>.log`; the lab kills it on drop if nothing
    /// else has.
    pub fn spawn(&self, cmd: Command, log_name: &str) -> Result<Process> {
        let log_path = self.lab.unique_path(log_name, ".log");
        Process::spawn_inner(log_name, cmd, log_path, Some(Arc::clone(&self.lab.pids)))
    }

    /// Adds `name` → `ip` to this host's own `/etc/hosts` (`ip netns exec`
    /// bind-mounts `/etc/netns/NETNS/hosts` over `/etc/hosts`), so programs
    /// in the host can reach a server by name, as real phones do with an
    /// FQDN. Removed with the namespace.
    pub fn add_hosts_entry(&self, name: &str, ip: Ipv4Addr) -> Result<()> {
        let dir = PathBuf::from("/etc/netns").join(&self.netns);
        std::fs::create_dir_all(&dir)
            .map_err(|e| TestbedError::io("creating the namespace's /etc", &dir, e))?;
        let file = dir.join("hosts");
        let mut text =
            std::fs::read_to_string(&file).unwrap_or_else(|_| "127.0.0.1\tlocalhost\n".to_owned());
        text.push_str(&format!("{ip}\t{name}\n"));
        std::fs::write(&file, text)
            .map_err(|e| TestbedError::io("writing the namespace's hosts file", &file, e))
    }

    fn ip_route_default(&self, gateway: Ipv4Addr) -> Result<()> {
        ip(&[
            "-n",
            &self.netns,
            "route",
            "add",
            "default",
            "via",
            &gateway.to_string(),
        ])?;
        Ok(())
    }

    /// Runs `f` on a thread that entered this host's network namespace and
    /// returns its result: sockets `f` creates (a `TcpStream`, a
    /// `UdpSocket`) stay in that namespace, so the test process can talk to
    /// the lab as the host would.
    pub fn in_netns<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        let path = PathBuf::from("/run/netns").join(&self.netns);
        std::thread::spawn(move || -> std::io::Result<T> {
            let ns = std::fs::File::open(&path)?;
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            // This thread now lives in the host's namespace and ends here.
            f()
        })
        .join()
        .map_err(|_| std::io::Error::other("namespace thread panicked"))?
    }

    /// Sends one UDP datagram from this host to `target` (a capture probe).
    pub fn send_udp(
        &self,
        target: std::net::SocketAddr,
        payload: &'static [u8],
    ) -> std::io::Result<()> {
        self.in_netns(move || {
            let unspecified: std::net::SocketAddr = if target.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            std::net::UdpSocket::bind(unspecified)?.send_to(payload, target)?;
            Ok(())
        })
    }

    /// A TCP connection to `addr` from this host (its namespace), giving up
    /// after `timeout`.
    pub fn connect_tcp(
        &self,
        addr: std::net::SocketAddr,
        timeout: std::time::Duration,
    ) -> std::io::Result<std::net::TcpStream> {
        self.in_netns(move || std::net::TcpStream::connect_timeout(&addr, timeout))
    }

    /// Black-holes new TCP connections to `port` on this host: an iptables
    /// rule in its namespace drops incoming SYNs, so clients see no answer
    /// at all (not a refusal) until the returned guard is dropped or
    /// [`PortBlock::unblock`]ed. Connections already up keep working; see
    /// [`Host::block_tcp_port`] to stall those too.
    #[must_use = "the port is unblocked when the guard is dropped"]
    pub fn block_tcp_syn(&self, port: u16) -> Result<PortBlock> {
        PortBlock::insert(self, port, true)
    }

    /// Black-holes every incoming TCP packet to `port` on this host (new
    /// and established connections: a peer that stopped answering), until
    /// the returned guard is dropped or [`PortBlock::unblock`]ed.
    #[must_use = "the port is unblocked when the guard is dropped"]
    pub fn block_tcp_port(&self, port: u16) -> Result<PortBlock> {
        PortBlock::insert(self, port, false)
    }

    /// Tears down every established TCP connection from or to local `port`
    /// in this host, as a crashed or rebooted server would: `ss -K` has the
    /// kernel abort them, which sends each peer a RST. Returns how many it
    /// killed. Needs a kernel with `CONFIG_INET_DIAG_DESTROY`.
    pub fn kill_tcp_connections(&self, port: u16) -> Result<usize> {
        let filter = format!("( sport = :{port} )");
        let out = self.run(&["ss", "-K", "-H", "-t", "state", "established", &filter])?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count())
    }

    /// True if something in the host listens on `proto` (`"udp"` or
    /// `"tcp"`) at `addr:port` (checked with `ss`).
    pub fn is_listening(&self, proto: &str, addr: Ipv4Addr, port: u16) -> Result<bool> {
        let flag = if proto == "tcp" { "-ltnH" } else { "-lunH" };
        let out = self.run(&["ss", flag])?;
        let want = format!("{addr}:{port}");
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().any(|field| field == want)))
    }
}

/// An iptables rule in a host's namespace dropping incoming TCP to a port
/// ([`Host::block_tcp_syn`], [`Host::block_tcp_port`]); removed on drop.
#[derive(Debug)]
pub struct PortBlock {
    host: Host,
    port: u16,
    syn_only: bool,
    rule: Vec<String>,
    active: bool,
}

impl PortBlock {
    fn insert(host: &Host, port: u16, syn_only: bool) -> Result<Self> {
        require_tools(&["iptables"], "black-holing a port")?;
        let mut rule: Vec<String> = ["INPUT", "-p", "tcp", "--dport"]
            .map(str::to_owned)
            .to_vec();
        rule.push(port.to_string());
        if syn_only {
            rule.push("--syn".to_owned());
        }
        rule.extend(["-j", "DROP"].map(str::to_owned));
        let mut args = vec!["iptables", "-w", "-I"];
        args.extend(rule.iter().map(String::as_str));
        host.run(&args)?;
        Ok(Self {
            host: host.clone(),
            port,
            syn_only,
            rule,
            active: true,
        })
    }

    /// Packets the rule dropped so far (`iptables -L -v -x`).
    pub fn dropped(&self) -> Result<u64> {
        let out = self
            .host
            .run(&["iptables", "-w", "-L", "INPUT", "-v", "-x", "-n"])?;
        let port = format!("dpt:{}", self.port);
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("DROP") && l.split_whitespace().any(|f| f == port))
            .filter(|l| l.contains("flags:") == self.syn_only)
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum())
    }

    /// Removes the rule now, reporting a failure (dropping the guard
    /// removes it too, silently).
    pub fn unblock(mut self) -> Result<()> {
        self.remove()
    }

    fn remove(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.active) {
            return Ok(());
        }
        let mut args = vec!["iptables", "-w", "-D"];
        args.extend(self.rule.iter().map(String::as_str));
        self.host.run(&args).map(drop)
    }
}

impl Drop for PortBlock {
    fn drop(&mut self) {
        // The namespace may be gone already (lab dropped first): nothing
        // left to unblock then.
        let _ = self.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_parses_only_testbed_names() {
        assert_eq!(owner_pid("opt4242-3-1"), Some(4242));
        assert_eq!(owner_pid("opt4242-3-h"), Some(4242));
        assert_eq!(owner_pid("opt-3"), None);
        assert_eq!(owner_pid("optical"), None);
        assert_eq!(owner_pid("opt12"), None);
        assert_eq!(owner_pid("other42-1"), None);
    }

    #[test]
    fn liveness() {
        assert!(process_alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Exited but not reaped: a zombie, which is dead for our purpose.
        crate::wait_until("true to exit", std::time::Duration::from_secs(5), || {
            Ok((!process_alive(pid)).then_some(()))
        })
        .unwrap();
        child.wait().unwrap();
        assert!(!process_alive(pid));
    }

    #[test]
    fn network_addresses() {
        let n = Network {
            name: "lan".into(),
            prefix: [198, 18, 1],
            bridge: "br1".into(),
        };
        assert_eq!(n.addr(10), Ipv4Addr::new(198, 18, 1, 10));
        assert_eq!(n.cidr(), "198.18.1.0/24");
    }
}
