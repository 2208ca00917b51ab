#!/usr/bin/env bash
# P1, calls (issue 7): SIPp UAC (127.0.10.1) → SUT (public 127.0.20.1:5060,
# UDP) → SIPp UAS (127.0.40.1:5060): INVITE with SDP, 407 digest challenge,
# INVITE with credentials, 200 with SDP, ACK, a 2 s call, BYE (scenarios in
# sipp/). The SUT anchors the media on both sides:
#   outpost   `outpost serve`, plain RTP on both sides ([media]
#             set_side_inbound = "srtp-or-rtp", set_side_outbound = "rtp",
#             icp_side_outbound = "rtp"), [ipbx] = the UAS, the caller a
#             device imported from CSV, the generator on the guard's
#             allow-list (without it the guard's DoS threshold would deny it).
#   kamailio  kamailio/sut-calls.cfg: digest check with the same password
#             (auth module, pv_proxy_authenticate), record-routing,
#             rtpengine_offer/answer/delete with rtpengine (userspace,
#             interfaces pub/priv, lib.sh rtpengine_start); no flood guard.
#
# First a media check: a few calls send RTP (check.pcap, cut from SIPp's
# g711a.pcap) which the UAS echoes (-rtp_echo); packets are counted on lo per
# direction with dumpcap, and the script fails unless nearly all of them
# went UAC → SUT public anchor, SUT private anchor → UAS, and back the other
# way. Then, with the SUT's CPU time read from /proc (Outpost: its process;
# Kamailio: its process tree + rtpengine):
#   cpu_per_1000_calls_<R>cps  CPU seconds per 1000 calls at a fixed rate R
#                              (1000 calls at 100/s, 1500 at 300/s), from
#                              just before the first call until all ended
#   failed_calls_<R>cps        calls that did not complete
#   max_rate                   calls/s of the last step of 300, 500, 700,
#                              1000, 1400, 2000, 2800 (3 s of calls each)
#                              with no failed call, done within its time
#                              bound (the calls, one call's length and 5 s;
#                              no response may take over 5 s). The
#                              generator and the far end share the 2 cores
#                              with the SUT, so this is the rate the whole
#                              machine sustains with that SUT.
# --quick: 100 calls at 50/s with 1 s calls and one max-rate step (100/s).
#
#   scripts/bench/p1_calls.sh --sut outpost|kamailio [--quick] [--outpost-bin PATH]
#
# Result lines on stdout (lib.sh bench_result), progress on stderr. Needs
# root. Debugging: BENCH_KEEP=1 keeps the work directory of a successful run,
# BENCH_TRACE=1 makes SIPp trace messages, BENCH_OUTPOST_LOG sets Outpost's
# log filter (default warn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

bench_parse_args p1 kamailio "$@"

# The caller's credentials: the Outpost device and Kamailio's check.
USER=loadphone
PASSWORD=load-Secret-1
SIP_PORT=5060
MEDIA_PORT=6000
ADMIN=$BENCH_PUBLIC:9464
if [ "$quick" = 1 ]; then
  check_calls=2
  call_ms=1000
  fixed=("50 100")          # "RATE CALLS"
  steps=(100)
  step_secs=1
else
  check_calls=4
  call_ms=2000
  fixed=("100 1000" "300 1500")
  steps=(300 500 700 1000 1400 2000 2800)
  step_secs=3
fi

log() { echo "p1 [$sut]: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

bench_install
bench_install_capture
bench_loopback
bench_raise_nofile 4096
[ "$sut" = outpost ] && outpost_bin=$(bench_outpost_bin "$outpost_bin")

ports=("udp:$BENCH_PUBLIC:$SIP_PORT" "udp:$BENCH_PRIVATE:$SIP_PORT" "udp:$BENCH_FAR:$SIP_PORT"
  "udp:$BENCH_UAC:$SIP_PORT" "udp:$BENCH_UAC:$MEDIA_PORT" "udp:$BENCH_FAR:$MEDIA_PORT")
[ "$sut" = kamailio ] && ports+=("udp:$BENCH_NG") || ports+=("tcp:$ADMIN")
bench_ports_free "${ports[@]}" || die "the addresses of this benchmark are in use"

bench_workdir "p1 [$sut]"
log "work directory $work"

# --- the far end -----------------------------------------------------------
mkdir -p "$work/uas"
(cd "$work/uas" && exec sipp -sf "$here/sipp/uas.xml" -i "$BENCH_FAR" -p "$SIP_PORT" \
  -mi "$BENCH_FAR" -mp "$MEDIA_PORT" -rtp_echo -nostdin -trace_err \
  >"$work/uas/sipp.out" 2>&1) &
started+=($!)
bench_wait_listen udp "$BENCH_FAR" "$SIP_PORT" 15 || die "the SIPp UAS did not start ($work/uas/sipp.out)"

# --- the system under test -------------------------------------------------
sut_pids=()
case $sut in
  outpost)
    mkdir -p "$work/outpost"
    cfg=$work/outpost/outpost.toml
    cat >"$cfg" <<EOF
fqdn = "sbc.bench.test"
[public]
interface = "$BENCH_PUBLIC"
protocols = "tls+udp/tcp"
sip_port = $SIP_PORT
sip_tls_port = 5061
# rtpengine's range (lib.sh rtpengine_start), one pool per side.
rtp_ports = "40000-49999"
video = false
[private]
interface = "$BENCH_PRIVATE"
protocols = "udp/tcp"
sip_port = $SIP_PORT
rtp_ports = "40000-49999"
video = false
[ipbx]
address = "$BENCH_FAR"
port = $SIP_PORT
transport = "udp"
[admin]
listen = "$ADMIN"
[log]
level = "${BENCH_OUTPOST_LOG:-warn}"
[media]
# SIPp sends plain RTP: RTP on both sides, as rtpengine does here.
set_side_inbound = "srtp-or-rtp"
set_side_outbound = "rtp"
icp_side_outbound = "rtp"
EOF
    ocli() { "$outpost_bin" --config "$cfg" --data-dir "$work/outpost/data" "$@" >>"$work/outpost/cli.log" 2>&1; }
    ocli init || die "outpost init (see $work/outpost/cli.log)"
    ocli icps add --name far --host "$BENCH_FAR" --transports udp,tcp || die "outpost icps add (see $work/outpost/cli.log)"
    printf 'setside_username;setside_password\n%s;%s\n' "$USER" "$PASSWORD" >"$work/outpost/devices.csv"
    ocli devices import "$work/outpost/devices.csv" || die "outpost devices import (see $work/outpost/cli.log)"
    # One address sends for every caller: allow-listed, as an operator would
    # for a test host or trunk (the guard's DoS threshold would deny it).
    ocli guard allow add "$BENCH_UAC" --note "bench load generator" || die "outpost guard allow add"
    OUTPOST_SETUP_TOKEN=bench-setup-token-not-secret-0001 \
      "$outpost_bin" --config "$cfg" --data-dir "$work/outpost/data" serve \
      >"$work/outpost/stdout.log" 2>"$work/outpost/outpost.log" &
    started+=($!)
    sut_pids=("$!")
    if ! { bench_wait_listen udp "$BENCH_PUBLIC" "$SIP_PORT" 30 \
      && bench_wait_listen udp "$BENCH_PRIVATE" "$SIP_PORT" 30 \
      && bench_wait_until 30 "Outpost's /healthz" curl -fsS "http://$ADMIN/healthz"; }; then
      tail -n 30 "$work/outpost/outpost.log" >&2
      die "Outpost did not start"
    fi
    ;;
  kamailio)
    rtpengine_start "$work/rtpengine" || die "rtpengine did not start"
    started+=("$RTPENGINE_PID")
    kill -0 "$RTPENGINE_PID" 2>/dev/null \
      || { tail -n 5 "$work/rtpengine/rtpengine.log" >&2; die "rtpengine exited at start"; }
    bench_render "$here/kamailio/sut-calls.cfg" "$work/sut-calls.cfg" \
      PUBLIC="$BENCH_PUBLIC" PRIVATE="$BENCH_PRIVATE" FAR="$BENCH_FAR" NG="$BENCH_NG" \
      MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules CTL="$work/kamailio/ctl.sock" \
      USER="$USER" PASSWORD="$PASSWORD" CHILDREN=4 || die "rendering sut-calls.cfg"
    kamailio -c -f "$work/sut-calls.cfg" >"$work/check-cfg.log" 2>&1 \
      || { cat "$work/check-cfg.log" >&2; die "kamailio -c refused sut-calls.cfg"; }
    bench_kamailio_start kam_pid "$work/kamailio" "$work/sut-calls.cfg" -m 512 \
      || die "Kamailio did not start"
    started+=("$kam_pid")
    bench_wait_listen udp "$BENCH_PUBLIC" "$SIP_PORT" 15 || die "Kamailio does not listen"
    mapfile -t sut_pids < <(bench_tree_pids "$kam_pid")
    sut_pids+=("$RTPENGINE_PID")
    ;;
esac
log "SUT processes: ${sut_pids[*]}"

# --- calls -------------------------------------------------------------------
printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' "$USER" "$USER" "$PASSWORD" >"$work/users.csv"
run=0
# calls NAME SCENARIO RATE CALLS CALL_MS: runs SIPp, sets ok, failed, took (s).
calls() {
  local name=$1 scenario=$2 rate=$3 count=$4 ms=$5 dir bound t0 status=0
  run=$((run + 1))
  dir="$work/uac-$run-$name"
  mkdir -p "$dir"
  [ -f "$work/check.pcap" ] && cp "$work/check.pcap" "$dir/"
  # Time bound: the calls at RATE, one call's length, and 5 s.
  bound=$(((count + rate - 1) / rate + (ms + 999) / 1000 + 5))
  t0=$(date +%s%N)
  (cd "$dir" && exec sipp -sf "$here/sipp/$scenario" "$BENCH_PUBLIC:$SIP_PORT" \
    -s service -auth_uri "service@$BENCH_PUBLIC:$SIP_PORT" \
    -i "$BENCH_UAC" -p "$SIP_PORT" -mi "$BENCH_UAC" -mp "$MEDIA_PORT" \
    -inf "$work/users.csv" -m "$count" -r "$rate" -d "$ms" -l "$count" \
    -timeout "${bound}s" -timeout_error -recv_timeout 5000 \
    -nostdin -trace_err -trace_stat -stf stat.csv -fd 1 ${BENCH_TRACE:+-trace_msg} \
    >sipp.out 2>&1) || status=$?
  took=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  read -r ok failed < <(bench_sipp_counts "$dir/stat.csv")
  failed=$((count - ok))
  if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
    log "$name: $ok of $count calls at $rate/s completed in ${took}s (SIPp exit $status, bound ${bound}s): $(bench_sipp_failures "$dir/stat.csv")"
    bench_sipp_errors "$dir" >&2
    [ "$failed" -gt 0 ] || failed=$count   # SIPp failed without counting
  else
    log "$name: $count calls at $rate/s completed in ${took}s"
  fi
}

# --- media check ---------------------------------------------------------------
editcap -r /usr/share/sip-tester/g711a.pcap "$work/check.pcap" 1-50 >/dev/null 2>&1 \
  || die "cannot cut /usr/share/sip-tester/g711a.pcap (package sip-tester)"
per_call=$(capinfos -c -M "$work/check.pcap" | awk '/Number of packets/ { print $NF }')
# Only the generator's and the far end's media port: nothing else on lo
# (another benchmark, say) can be counted.
dumpcap -i lo -f "udp port $MEDIA_PORT" -w "$work/check.pcapng" \
  >"$work/dumpcap.log" 2>&1 &
cap_pid=$!
started+=("$cap_pid")
bench_wait_until 15 "dumpcap to capture on lo" grep -q "Capturing on" "$work/dumpcap.log" \
  || { cat "$work/dumpcap.log" >&2; die "dumpcap did not start"; }
calls media-check uac_call_media.xml 10 "$check_calls" 2500
# The calls last 1 s longer than the RTP they send: every echo is back.
bench_stop "$cap_pid"
[ "$failed" -eq 0 ] || die "media check: $failed of $check_calls calls failed"
tshark -r "$work/check.pcapng" -T fields -e ip.src -e ip.dst 2>/dev/null \
  | sort | uniq -c >"$work/check-flows.txt"
flow() { awk -v s="$1" -v d="$2" '$2 == s && $3 == d { n += $1 } END { print n + 0 }' "$work/check-flows.txt"; }
sent=$(flow "$BENCH_UAC" "$BENCH_PUBLIC")
to_far=$(flow "$BENCH_PRIVATE" "$BENCH_FAR")
echoed=$(flow "$BENCH_FAR" "$BENCH_PRIVATE")
back=$(flow "$BENCH_PUBLIC" "$BENCH_UAC")
direct=$(($(flow "$BENCH_UAC" "$BENCH_FAR") + $(flow "$BENCH_FAR" "$BENCH_UAC")))
expected=$((check_calls * per_call))
log "media check: RTP packets UAC→SUT public $sent, SUT private→UAS $to_far, UAS→SUT private $echoed, SUT public→UAC $back (expected $expected each way, $direct bypassing the SUT)"
enough() { [ $(($1 * 100)) -ge $((expected * 95)) ]; }
[ "$direct" -eq 0 ] || die "media check: $direct RTP packets went between UAC and UAS without the SUT: its SDP does not anchor the media"
enough "$sent" || die "media check: SIPp sent $sent of $expected RTP packets to the SUT's public anchor (see $work/check-flows.txt)"
enough "$to_far" || die "media check: only $to_far of $expected RTP packets reached the UAS through the SUT's private side: media is not relayed"
enough "$back" || die "media check: only $back of $expected echoed RTP packets came back through the SUT's public side: media is not relayed back"
log "media check passed: calls through $sut carry RTP both ways through its anchored ports"

# --- measures ------------------------------------------------------------------
# Kamailio's workers are all forked by now.
[ "$sut" = kamailio ] && mapfile -t sut_pids < <(bench_tree_pids "$kam_pid"; echo "$RTPENGINE_PID")
for spec in "${fixed[@]}"; do
  read -r rate count <<<"$spec"
  c0=$(bench_cpu_seconds "${sut_pids[@]}")
  calls "fixed-${rate}cps" uac_call.xml "$rate" "$count" "$call_ms"
  c1=$(bench_cpu_seconds "${sut_pids[@]}")
  cpu=$(awk -v a="$c0" -v b="$c1" -v n="$count" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')
  log "${rate} calls/s: SUT CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') s for $count calls"
  bench_result P1 "$sut" "cpu_per_1000_calls_${rate}cps" "$cpu" s
  bench_result P1 "$sut" "failed_calls_${rate}cps" "$failed" calls
done

max_rate=0
for rate in "${steps[@]}"; do
  calls "step-${rate}cps" uac_call.xml "$rate" $((rate * step_secs)) "$call_ms"
  [ "$failed" -eq 0 ] || break
  max_rate=$rate
done
log "max rate with no failed call: $max_rate calls/s"
bench_result P1 "$sut" max_rate "$max_rate" calls/s

# The SUT must have survived the load.
for pid in "${sut_pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || die "SUT process $pid died during the run"
done
