//! Media relay benchmark: a load generator sends N RTP (or SRTP) streams at
//! 50 packets/s each through a system under test (SUT) that relays them to
//! plain RTP, and receives them on the other side to measure loss and added
//! latency, and the SUT's CPU time from /proc.
//!
//! - `--sut outpost` (default): Outpost's relay driver (the same sockets,
//!   tasks and sans-IO sessions `outpost serve` uses) in a child process, so
//!   that its CPU time is the relay's alone.
//! - `--sut rtpengine --sut-pid PID`: a running rtpengine (interfaces `pub`
//!   on [`RELAY`] and `priv` on [`RELAY_PRIVATE`]), one call per stream set
//!   up through its ng control protocol (`rtpengine.rs`); CPU is rtpengine's,
//!   all threads.
//!
//! ```text
//! cargo run --release -p outpost --example relay_bench -- --streams 200 --seconds 10 [--srtp]
//!     [--sut outpost|rtpengine] [--sut-pid PID] [--ng 127.0.0.1:22230] [--warmup-ms 500] [--results]
//! ```
//!
//! SRTP is AES_CM_128_HMAC_SHA1_80 for both SUTs, from the sender to the
//! SUT. Addresses follow `scripts/bench/lib.sh`: sender 127.0.10.1, SUT
//! 127.0.20.1 (and 127.0.30.1 for rtpengine's private side), receiver
//! 127.0.40.1. Each stream first sends a warm-up (default 0.5 s) that is
//! left out of every figure, so latching and first-packet work count for
//! neither SUT; the CPU time is taken over the measured window, from the
//! first measured packet sent to the last one received.
//!
//! Prints one Markdown table row: mode, streams, packets relayed, relay CPU
//! seconds, packets per CPU-second, loss, median and p99 added latency. With
//! `--results` the row goes to stderr and stdout gets the machine-readable
//! lines of `scripts/bench/lib.sh` (`RESULT\tP3\t<sut>\t<metric>\t<value>\t<unit>`).
//!
//! Every measured packet must arrive as plain RTP carrying its stream's SSRC
//! and the payload the sender wrote, from the SUT's relay port for that
//! stream; anything else, or no packet at all, fails the run: the streams
//! really go through the SUT and it really decrypts them.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use outpost_media::{CryptoSuite, MasterKey, Side, SrtpContext, SrtpTransform};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// The load generator's phones (lib.sh `BENCH_UAC`).
const SENDER: Ipv4Addr = Ipv4Addr::new(127, 0, 10, 1);
/// The SUT's public side (lib.sh `BENCH_PUBLIC`); Outpost's child binds both
/// of its sides here.
const RELAY: Ipv4Addr = Ipv4Addr::new(127, 0, 20, 1);
/// The SUT's private side (lib.sh `BENCH_PRIVATE`): rtpengine's `priv`
/// interface. Outpost's child may bind its private side here instead of on
/// [`RELAY`]; the receivers accept either.
const RELAY_PRIVATE: Ipv4Addr = Ipv4Addr::new(127, 0, 30, 1);
/// The far end on the LAN (lib.sh `BENCH_FAR`).
const RECEIVER: Ipv4Addr = Ipv4Addr::new(127, 0, 40, 1);
const PAYLOAD: usize = 160;
/// Payload layout after the 12-byte RTP header: send time (8 bytes), phase
/// (1 byte), then the stream's sequence number's low byte repeated.
const STAMP: std::ops::Range<usize> = 12..20;
const PHASE: usize = 20;
const WARMUP: u8 = 0;
const MEASURED: u8 = 1;

/// Outpost's relay ports on [`RELAY`] (RTCP on the next port). Ports on
/// different addresses don't collide, so rtpengine's 40000–49999 on its own
/// addresses and the generator's below are independent of these.
fn relay_port(stream: u16, side: Side) -> u16 {
    30_000 + stream * 4 + if side == Side::Public { 0 } else { 2 }
}

/// The phone of stream `s`, on [`SENDER`]: the only sockets on that address.
fn sender_port(stream: u16) -> u16 {
    40_000 + stream
}

/// The far end of stream `s`, on [`RECEIVER`]: the only sockets there.
fn receiver_port(stream: u16) -> u16 {
    50_000 + stream
}

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), port)
}

fn key(stream: u16, salt: u8) -> MasterKey {
    let [hi, lo] = stream.to_be_bytes();
    let mut bytes = [salt; 30];
    bytes[0] = hi;
    bytes[1] = lo;
    MasterKey::generate(bytes)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sut {
    Outpost,
    Rtpengine,
}

impl Sut {
    const fn name(self) -> &'static str {
        match self {
            Self::Outpost => "outpost",
            Self::Rtpengine => "rtpengine",
        }
    }
}

struct Args {
    streams: u16,
    seconds: f64,
    srtp: bool,
    child: bool,
    sut: Sut,
    sut_pid: Option<u32>,
    ng: SocketAddr,
    warmup: Duration,
    results: bool,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut out = Args {
        streams: 100,
        seconds: 10.0,
        srtp: false,
        child: false,
        sut: Sut::Outpost,
        sut_pid: None,
        ng: addr(Ipv4Addr::LOCALHOST, 22_230),
        warmup: Duration::from_millis(500),
        results: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--streams" => out.streams = it.next().ok_or("--streams N")?.parse()?,
            "--seconds" => out.seconds = it.next().ok_or("--seconds S")?.parse()?,
            "--srtp" => out.srtp = true,
            "--child" => out.child = true,
            "--sut" => {
                out.sut = match it.next().as_deref() {
                    Some("outpost") => Sut::Outpost,
                    Some("rtpengine") => Sut::Rtpengine,
                    _ => return Err("--sut outpost|rtpengine".into()),
                }
            }
            "--sut-pid" => out.sut_pid = Some(it.next().ok_or("--sut-pid PID")?.parse()?),
            "--ng" => out.ng = it.next().ok_or("--ng IP:PORT")?.parse()?,
            "--warmup-ms" => {
                out.warmup = Duration::from_millis(it.next().ok_or("--warmup-ms MS")?.parse()?);
            }
            "--results" => out.results = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if out.streams == 0 || out.streams > 8000 {
        return Err("--streams must be 1..8000".into());
    }
    if !(out.seconds >= 0.1 && out.seconds <= 3600.0) {
        return Err("--seconds must be 0.1..3600".into());
    }
    if out.sut == Sut::Rtpengine && out.sut_pid.is_none() {
        return Err("--sut rtpengine needs --sut-pid PID (rtpengine's, for its CPU time)".into());
    }
    Ok(out)
}

mod outpost_child;
mod rtpengine;

fn main() -> Result<(), Box<dyn Error>> {
    let args = args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if args.child {
        runtime.block_on(outpost_child::relay_process(args.streams, args.srtp))
    } else {
        runtime.block_on(load(&args))
    }
}

/// CPU seconds (user + system, all threads) of a process: the sum of its
/// threads' on-CPU time in nanoseconds from /proc/PID/task/*/schedstat, the
/// precise figure behind /proc/PID/stat's utime + stime (which counts in
/// 10 ms ticks, too coarse for a few seconds of light load); that one when
/// schedstat is missing. Both SUTs keep their threads for the whole run.
fn cpu_seconds(pid: u32) -> Result<f64, Box<dyn Error>> {
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        let mut nanos = 0u64;
        let mut threads = 0;
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
                continue;
            };
            if let Some(Ok(n)) = stat.split_whitespace().next().map(str::parse::<u64>) {
                nanos += n;
                threads += 1;
            }
        }
        if threads > 0 {
            return Ok(nanos as f64 / 1e9);
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("utime")?.parse::<u64>()?
        + fields.get(12).ok_or("stime")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// Where stream `s` goes through the SUT.
#[derive(Clone)]
struct Path {
    /// The SUT's public port the sender sends to.
    send_to: SocketAddr,
    /// The SUT's private port the receiver hears from (any of `from_ips`
    /// for Outpost, whose child chooses its private address).
    from_port: u16,
    from_ips: Vec<IpAddr>,
}

/// The SUT while the load runs: its process for CPU time, and what to undo.
enum Running {
    Outpost(Child),
    Rtpengine(rtpengine::Ng, Vec<rtpengine::Call>),
}

/// What one receiver saw.
#[derive(Default)]
struct Seen {
    /// Added latency of each measured packet, ns.
    latencies: Vec<u64>,
    warmup: u64,
    /// Packets that were not this stream's plain RTP from the SUT's port.
    bad: u64,
    first_bad: Option<String>,
}

async fn start_outpost(args: &Args) -> Result<(Running, Vec<Path>), Box<dyn Error>> {
    let me = std::env::current_exe()?;
    let mut cmd = Command::new(me);
    cmd.args(["--child", "--streams", &args.streams.to_string()]);
    if args.srtp {
        cmd.arg("--srtp");
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let stdout = child.stdout.take().ok_or("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("relay did not start: {line}").into());
    }
    let paths = (0..args.streams)
        .map(|s| Path {
            send_to: addr(RELAY, relay_port(s, Side::Public)),
            from_port: relay_port(s, Side::Private),
            from_ips: vec![RELAY.into(), RELAY_PRIVATE.into()],
        })
        .collect();
    Ok((Running::Outpost(child), paths))
}

async fn start_rtpengine(args: &Args) -> Result<(Running, Vec<Path>), Box<dyn Error>> {
    let mut ng = rtpengine::Ng::connect(args.ng).await?;
    let ping = ng
        .request(&rtpengine::dict([("command", "ping".into())]))
        .await;
    if let Err(e) = ping {
        return Err(format!("rtpengine at {} did not answer ping: {e}", args.ng).into());
    }
    let mut calls = Vec::new();
    let mut paths = Vec::new();
    for s in 0..args.streams {
        let key = key(s, 1);
        let setup = rtpengine::setup(
            &mut ng,
            s,
            args.srtp.then_some(&key),
            addr(SENDER, sender_port(s)),
            addr(RECEIVER, receiver_port(s)),
        )
        .await;
        match setup {
            Ok(call) => {
                paths.push(Path {
                    send_to: call.send_to,
                    from_port: call.relays_from.port(),
                    from_ips: vec![call.relays_from.ip()],
                });
                calls.push(call);
            }
            Err(e) => {
                stop(Running::Rtpengine(ng, calls)).await;
                return Err(format!("stream {s}: {e}").into());
            }
        }
    }
    Ok((Running::Rtpengine(ng, calls), paths))
}

/// Stops the Outpost child, or deletes every rtpengine call and says what
/// rtpengine counted.
async fn stop(running: Running) -> Option<rtpengine::Totals> {
    match running {
        Running::Outpost(mut child) => {
            drop(child.stdin.take());
            let _ = child.kill();
            let _ = child.wait();
            None
        }
        Running::Rtpengine(mut ng, calls) => {
            let mut totals = rtpengine::Totals::default();
            for call in &calls {
                match rtpengine::delete(&mut ng, call).await {
                    Ok(t) => {
                        totals.packets += t.packets;
                        totals.errors += t.errors;
                    }
                    Err(e) => eprintln!("relay_bench: deleting {}: {e}", call.call_id),
                }
            }
            Some(totals)
        }
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Checks one received packet of stream `s`; returns its phase and send
/// time, or why it is not what the sender sent through the SUT.
fn check(s: u16, path: &Path, from: SocketAddr, packet: &[u8]) -> Result<(u8, u64), String> {
    if from.port() != path.from_port || !path.from_ips.contains(&from.ip()) {
        return Err(format!(
            "from {from}, not the SUT's relay port {}",
            path.from_port
        ));
    }
    if packet.len() != 12 + PAYLOAD {
        return Err(format!(
            "{} bytes, not plain RTP of {}",
            packet.len(),
            12 + PAYLOAD
        ));
    }
    let ssrc = packet
        .get(8..12)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes);
    if packet.first() != Some(&0x80) || ssrc != Some(u32::from(s)) {
        return Err("not this stream's RTP header".into());
    }
    let seq = packet.get(3).copied().unwrap_or_default();
    let phase = packet.get(PHASE).copied().unwrap_or(u8::MAX);
    let filler_ok = packet
        .get(PHASE + 1..)
        .is_some_and(|f| f.iter().all(|&b| b == seq));
    if !filler_ok || phase > MEASURED {
        return Err("payload differs from what was sent (still encrypted?)".into());
    }
    let stamp = packet
        .get(STAMP)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes);
    Ok((phase, stamp.unwrap_or_default()))
}

async fn load(args: &Args) -> Result<(), Box<dyn Error>> {
    let epoch = Instant::now();
    let measured_in = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Sockets first, so that a port clash fails before the SUT is set up.
    let mut receive_sockets = Vec::new();
    for s in 0..args.streams {
        let socket = UdpSocket::bind(addr(RECEIVER, receiver_port(s))).await;
        receive_sockets.push(socket.map_err(|e| format!("bind receiver {s}: {e}"))?);
    }
    let mut senders = Vec::new();
    for s in 0..args.streams {
        let socket = UdpSocket::bind(addr(SENDER, sender_port(s))).await;
        senders.push((
            socket.map_err(|e| format!("bind sender {s}: {e}"))?,
            SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key(s, 1))?,
        ));
    }
    let (running, paths) = match args.sut {
        Sut::Outpost => start_outpost(args).await?,
        Sut::Rtpengine => start_rtpengine(args).await?,
    };
    let sut_pid = match (&running, args.sut_pid) {
        (Running::Outpost(child), _) => child.id(),
        (Running::Rtpengine(..), Some(pid)) => pid,
        (Running::Rtpengine(..), None) => return Err("--sut-pid".into()),
    };
    let mut receivers = Vec::new();
    for ((s, socket), path) in (0..args.streams).zip(receive_sockets).zip(&paths) {
        let path = path.clone();
        let measured_in = Arc::clone(&measured_in);
        let mut stop = stop_rx.clone();
        receivers.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut buf = [0u8; 2048];
            loop {
                let (len, from) = tokio::select! {
                    got = socket.recv_from(&mut buf) => match got {
                        Ok(got) => got,
                        Err(_) => continue,
                    },
                    _ = stop.changed() => break,
                };
                match check(s, &path, from, buf.get(..len).unwrap_or_default()) {
                    Ok((MEASURED, sent)) => {
                        seen.latencies.push(nanos_since(epoch).saturating_sub(sent));
                        measured_in.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => seen.warmup += 1,
                    Err(why) => {
                        seen.bad += 1;
                        seen.first_bad.get_or_insert(format!("stream {s}: {why}"));
                    }
                }
            }
            seen
        }));
    }
    let outcome = run(args, epoch, sut_pid, &measured_in, &mut senders, &paths).await;
    let _ = stop_tx.send(true);
    let mut all = Seen::default();
    for r in receivers {
        let seen = r.await?;
        all.latencies.extend(seen.latencies);
        all.warmup += seen.warmup;
        all.bad += seen.bad;
        all.first_bad = all.first_bad.or(seen.first_bad);
    }
    let totals = stop(running).await;
    report(args, &mut all, totals, &outcome?)
}

/// What the sender did and what the SUT cost.
struct Window {
    warmup_sent: u64,
    sent: u64,
    /// The SUT's CPU seconds over the measured window.
    cpu: f64,
    /// Datagrams the kernel dropped for full receive buffers over the
    /// window, on the whole machine (/proc/net/snmp `Udp: RcvbufErrors`).
    kernel_drops: Option<u64>,
}

/// `Udp: RcvbufErrors` of /proc/net/snmp.
fn udp_rcvbuf_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (names, values) = (udp.next()?, udp.next()?);
    let at = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// Sends the warm-up and the measured load.
async fn run(
    args: &Args,
    epoch: Instant,
    sut_pid: u32,
    measured_in: &AtomicU64,
    senders: &mut [(UdpSocket, SrtpContext)],
    paths: &[Path],
) -> Result<Window, Box<dyn Error>> {
    // Streams are spread evenly over each 20 ms packet interval, as
    // independent phones are, in slots of 1 ms (tokio's timer resolution),
    // rather than sent all at once: a burst of N packets would measure the
    // generator's and the SUT's queueing behind each other more than the
    // SUT's relaying.
    const SLOTS: usize = 20;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let warmup_rounds = (args.warmup.as_millis() / 20) as u64;
    let rounds = warmup_rounds + (args.seconds * 50.0).round().max(1.0) as u64;
    let (mut warmup_sent, mut sent) = (0u64, 0u64);
    let mut cpu_before = cpu_seconds(sut_pid)?;
    let mut drops_before = udp_rcvbuf_errors();
    let mut buf = vec![0u8; 12 + PAYLOAD + 16];
    let n = senders.len();
    for round in 0..rounds {
        let phase = if round < warmup_rounds {
            WARMUP
        } else {
            MEASURED
        };
        let seq = (round & 0xffff) as u16;
        buf[0] = 0x80;
        buf[1] = 0;
        buf[2..4].copy_from_slice(&seq.to_be_bytes());
        buf[4..8].copy_from_slice(&((round * 160) as u32).to_be_bytes());
        for slot in 0..SLOTS {
            tick.tick().await;
            if slot == 0 && round == warmup_rounds {
                cpu_before = cpu_seconds(sut_pid)?;
                drops_before = udp_rcvbuf_errors();
            }
            let streams = n * slot / SLOTS..n * (slot + 1) / SLOTS;
            let slot_senders = senders.get_mut(streams.clone()).unwrap_or_default();
            for ((s, (socket, ctx)), path) in streams.clone().zip(slot_senders).zip(&paths[streams])
            {
                buf[8..12].copy_from_slice(&(s as u32).to_be_bytes());
                buf[PHASE] = phase;
                buf[PHASE + 1..12 + PAYLOAD].fill(seq as u8);
                buf[STAMP].copy_from_slice(&nanos_since(epoch).to_be_bytes());
                let mut len = 12 + PAYLOAD;
                if args.srtp {
                    len = ctx.protect_rtp(&mut buf, len)?;
                }
                socket.send_to(&buf[..len], path.send_to).await?;
                if phase == MEASURED {
                    sent += 1;
                } else {
                    warmup_sent += 1;
                }
            }
        }
    }
    // Until the last measured packet is in, or nothing more came for 300 ms:
    // the CPU time is read when the last packet arrived.
    let mut cpu_after = cpu_seconds(sut_pid)?;
    let mut last = measured_in.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    while last < sent && last_change.elapsed() < Duration::from_millis(300) {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = measured_in.load(Ordering::Relaxed);
        if now != last {
            last = now;
            last_change = Instant::now();
            cpu_after = cpu_seconds(sut_pid)?;
        }
    }
    let drops_after = udp_rcvbuf_errors();
    Ok(Window {
        warmup_sent,
        sent,
        cpu: cpu_after - cpu_before,
        kernel_drops: drops_after
            .zip(drops_before)
            .map(|(a, b)| a.saturating_sub(b)),
    })
}

fn report(
    args: &Args,
    all: &mut Seen,
    totals: Option<rtpengine::Totals>,
    window: &Window,
) -> Result<(), Box<dyn Error>> {
    let &Window {
        warmup_sent,
        sent,
        cpu,
        kernel_drops,
    } = window;
    let sut = args.sut.name();
    let received = all.latencies.len() as u64;
    eprintln!(
        "relay_bench: {sut}, {} streams{}: warm-up {}/{warmup_sent} packets arrived, measured {received}/{sent}{}",
        args.streams,
        if args.srtp {
            ", SRTP→RTP"
        } else {
            ", RTP→RTP"
        },
        all.warmup,
        totals
            .map(|t| format!(
                "; rtpengine counted {} RTP packets in, {} errors",
                t.packets, t.errors
            ))
            .unwrap_or_default(),
    );
    if let Some(drops @ 1..) = kernel_drops {
        eprintln!(
            "relay_bench: the kernel dropped {drops} UDP datagrams for full receive buffers during the run \
             (whole machine: the SUT's, the receivers' or another program's sockets)"
        );
    }
    if all.bad > 0 {
        return Err(format!(
            "{} packets reached the receivers that were not the sender's streams relayed as plain RTP by {sut} \
             (first: {})",
            all.bad,
            all.first_bad.as_deref().unwrap_or("?")
        )
        .into());
    }
    if received == 0 {
        return Err(format!(
            "the receivers got nothing through {sut}: the streams do not go through it \
             (sent {sent} packets; check its addresses, ports and crypto)"
        )
        .into());
    }
    if let Some(t) = totals {
        if t.packets < received {
            return Err(format!(
                "rtpengine counted {} RTP packets but the receivers got {received}: not through rtpengine?",
                t.packets
            )
            .into());
        }
    }
    all.latencies.sort_unstable();
    let pct = |p: f64| {
        all.latencies
            .get(((all.latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let (mode, label) = if args.srtp {
        ("srtp", "SRTP→RTP")
    } else {
        ("rtp", "RTP→RTP")
    };
    let loss = 100.0 * (sent - received.min(sent)) as f64 / sent.max(1) as f64;
    let row = format!(
        "| {label} | {} | {received} | {cpu:.3} | {:.0} | {loss:.2}% | {:.0} µs | {:.0} µs |",
        args.streams,
        received as f64 / cpu.max(0.01),
        pct(0.5),
        pct(0.99)
    );
    if !args.results {
        println!("{row}");
        return Ok(());
    }
    eprintln!("{row}");
    let n = args.streams;
    let result = |metric: &str, value: String, unit: &str| {
        println!("RESULT\tP3\t{sut}\t{metric}_{mode}_{n}\t{value}\t{unit}");
    };
    result(
        "cpu_per_1000_pkts",
        format!("{:.6}", 1000.0 * cpu / received as f64),
        "s",
    );
    result("loss_pct", format!("{loss:.3}"), "%");
    result("latency_median_us", format!("{:.0}", pct(0.5)), "us");
    result("latency_p99_us", format!("{:.0}", pct(0.99)), "us");
    Ok(())
}
