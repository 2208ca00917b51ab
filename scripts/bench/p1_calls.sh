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

# shellcheck source=scripts/bench/calls_sut.sh
. "$here/calls_sut.sh"
calls_check_ports || die "the addresses of this benchmark are in use"

bench_workdir "p1 [$sut]"
log "work directory $work"

calls_start
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
