//! Media relay benchmark: a load generator sends N RTP (or SRTP) streams at
//! 50 packets/s each through Outpost's relay driver (the same sockets,
//! tasks and sans-IO sessions `outpost serve` uses), running in a child
//! process so that its CPU time is the relay's alone, and receives them on
//! the other side to measure loss and added latency.
//!
//! ```text
//! cargo run --release -p outpost --example relay_bench -- --streams 200 --seconds 10 [--srtp]
//! ```
//!
//! Prints one Markdown table row: mode, streams, packets relayed, relay CPU
//! seconds, packets per CPU-second, loss, median and p99 added latency.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use outpost_media::{CryptoSuite, MasterKey, Side, SrtpContext, SrtpTransform};
use tokio::net::UdpSocket;

const RELAY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const SENDER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const RECEIVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const PAYLOAD: usize = 160;

fn relay_port(stream: u16, side: Side) -> u16 {
    30_000 + stream * 4 + if side == Side::Public { 0 } else { 2 }
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

struct Args {
    streams: u16,
    seconds: u64,
    srtp: bool,
    child: bool,
}

fn args() -> Result<Args, Box<dyn Error>> {
    let mut out = Args {
        streams: 100,
        seconds: 10,
        srtp: false,
        child: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--streams" => out.streams = it.next().ok_or("--streams N")?.parse()?,
            "--seconds" => out.seconds = it.next().ok_or("--seconds S")?.parse()?,
            "--srtp" => out.srtp = true,
            "--child" => out.child = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if out.streams == 0 || out.streams > 8000 {
        return Err("--streams must be 1..8000".into());
    }
    Ok(out)
}

mod outpost_child;

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

/// CPU seconds (user + system) of a process, from /proc (USER_HZ = 100).
fn cpu_seconds(pid: u32) -> Result<f64, Box<dyn Error>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').ok_or("bad /proc stat")?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("utime")?.parse::<u64>()?
        + fields.get(12).ok_or("stime")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

async fn load(args: &Args) -> Result<(), Box<dyn Error>> {
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
        return Err(format!("relay did not start: {line}").into());
    }
    let epoch = Instant::now();
    let mut receivers = Vec::new();
    for s in 0..args.streams {
        let socket = UdpSocket::bind(addr(RECEIVER, 50_000 + s)).await?;
        receivers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut buf = [0u8; 2048];
            while let Ok(Ok((len, _))) =
                tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await
            {
                if let Some(stamp) = buf.get(12..20).filter(|_| len >= 20) {
                    let sent = u64::from_be_bytes(stamp.try_into().unwrap_or_default());
                    let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    latencies.push(now.saturating_sub(sent));
                }
            }
            latencies
        }));
    }
    let mut senders = Vec::new();
    for s in 0..args.streams {
        senders.push((
            UdpSocket::bind(addr(SENDER, 40_000 + s)).await?,
            SrtpContext::new(CryptoSuite::AesCm128HmacSha1_80, &key(s, 1))?,
        ));
    }
    let cpu_before = cpu_seconds(child.id())?;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let rounds = args.seconds * 50;
    let mut sent = 0u64;
    let mut buf = vec![0u8; 12 + PAYLOAD + 16];
    for round in 0..rounds {
        tick.tick().await;
        for (s, (socket, ctx)) in senders.iter_mut().enumerate() {
            let seq = (round & 0xffff) as u16;
            buf[0] = 0x80;
            buf[1] = 0;
            buf[2..4].copy_from_slice(&seq.to_be_bytes());
            buf[4..8].copy_from_slice(&((round * 160) as u32).to_be_bytes());
            buf[8..12].copy_from_slice(&(s as u32).to_be_bytes());
            let stamp = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            buf[12..20].copy_from_slice(&stamp.to_be_bytes());
            let mut len = 12 + PAYLOAD;
            if args.srtp {
                len = ctx.protect_rtp(&mut buf, len)?;
            }
            socket
                .send_to(&buf[..len], addr(RELAY, relay_port(s as u16, Side::Public)))
                .await?;
            sent += 1;
        }
    }
    let mut latencies = Vec::new();
    for r in receivers {
        latencies.extend(r.await?);
    }
    let cpu = cpu_seconds(child.id())? - cpu_before;
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    let received = latencies.len() as u64;
    println!(
        "| {} | {} | {} | {:.2} | {:.0} | {:.2}% | {:.0} µs | {:.0} µs |",
        if args.srtp { "SRTP→RTP" } else { "RTP→RTP" },
        args.streams,
        received,
        cpu,
        received as f64 / cpu.max(0.01),
        100.0 * (sent - received.min(sent)) as f64 / sent.max(1) as f64,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
