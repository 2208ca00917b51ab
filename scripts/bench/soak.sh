#!/usr/bin/env bash
# Soak (issue 13): Outpost under a steady call load for a long time, with
# registrations refreshing all along, its memory sampled as it goes. The
# acceptance: RSS flat after the first minutes.
#
# The call load is memory.sh's (calls_sut.sh: SIPp UAC -> Outpost -> SIPp
# UAS over UDP, every INVITE digest-authenticated, 1 s calls, SDP both
# ways, media anchored: a port pair per side and call, though
# sipp/uac_call.xml sends no RTP) at SOAK_RATE calls/s for SOAK_SECS, one
# bounded SIPp run. Alongside it, SOAK_PHONES phones (SIPp, sipp/register_refresh.xml,
# 127.0.10.1:5070) register through Outpost with digest and refresh at
# half the expiry granted, each refresh challenged and answered again;
# Outpost grants them 60 s, so every 30 s ([registration]
# phone_expiry_secs = 60, heartbeat_secs = 0 as SIPp does not answer
# OPTIONS), less when its own registration at the ICP has less left. The phones are devices of a second ICP,
# "registrar": a SIPp UAS (sipp/registrar.xml, 127.0.40.1:5070) that
# answers every REGISTER with 200 and grants SOAK_UPSTREAM_EXPIRES seconds,
# so Outpost's own refreshes toward the ICP (at 80% of that) run too.
#
# The phones register first; then the calls start, and every
# SOAK_SAMPLE_SECS (and once more when the calls end) a sample of Outpost:
# RSS (VmRSS), heap allocated and resident (its allocator's count, from
# /metrics), live transactions, calls and registrations. At the end a
# markdown table of the samples on stdout, and result lines:
#   rss_kib_at_<s>s, heap_kib_at_<s>s   RSS and heap allocated at each sample
#   rss_idle_kib                  RSS with the phones registered, no call yet
#   rss_warm_kib                  RSS at the end of the first third
#   rss_max_after_warmup_kib      highest RSS over the last two thirds
#   rss_growth_after_warmup_pct   the latter over the former, in percent:
#                                 the flatness figure
#   heap_growth_after_warmup_pct  the same for the heap allocated
#   calls_ok, calls_failed        of SOAK_RATE * SOAK_SECS calls
#   phones_registered_end         Outpost's registrations gauge when the
#                                 calls end
#   phones_failed                 phones whose refresh loop broke (SIPp)
#   registration_failures         Outpost's outpost_registration_failures_total
#   upstream_registrations        registrations (Call-IDs) the registrar saw:
#                                 one per phone unless bindings lapsed
# The run fails if more than 1% of the calls fail, if fewer than 99% of the
# phones are registered at the end or more than 1% of them failed (or
# Outpost counts failed registrations for more than 1% of them, or the
# registrar sees more than 1% more registrations than phones), if
# Outpost dies, or if SOAK_MAX_GROWTH_PCT is set and the RSS growth after
# warm-up exceeds it.
#
#   scripts/bench/soak.sh [--quick] [--outpost-bin PATH]
#   SOAK_SECS (1800), SOAK_RATE (300), SOAK_PHONES (1000),
#   SOAK_SAMPLE_SECS (60), SOAK_PHONE_RATE (phones registering per second
#   at the start, 50), SOAK_UPSTREAM_EXPIRES (120) override the defaults.
#   --quick: 120 s at 100 calls/s, 100 phones, a sample every 10 s.
#   SOAK_TRACE=1 makes the phones and the registrar trace their messages
#   (BENCH_TRACE=1 the calls too: short runs only);
#   BENCH_OUTPOST_TOML is appended to Outpost's configuration as for
#   memory.sh (not a [registration] section: the soak writes its own).
#
# About 32 minutes with the defaults. Result lines on stdout (lib.sh
# bench_result), progress on stderr. Needs root. Not part of CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

quick=0 outpost_bin=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --outpost-bin) outpost_bin=${2:?--outpost-bin PATH}; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
sut=outpost
if [ "$quick" = 1 ]; then
  secs=${SOAK_SECS:-120} rate=${SOAK_RATE:-100} phones=${SOAK_PHONES:-100} every=${SOAK_SAMPLE_SECS:-10}
else
  secs=${SOAK_SECS:-1800} rate=${SOAK_RATE:-300} phones=${SOAK_PHONES:-1000} every=${SOAK_SAMPLE_SECS:-60}
fi
phone_rate=${SOAK_PHONE_RATE:-50}
upstream_expires=${SOAK_UPSTREAM_EXPIRES:-120}
call_ms=1000
refresh_ms=30000
PHONE_PORT=5070        # the phones' SIPp, on 127.0.10.1
REGISTRAR_PORT=5070    # the registrar ICP's SIPp, on 127.0.40.1
SPARE_MEDIA_PORT=6200  # where these two SIPp put the RTP sockets they open anyway
FIRST_PHONE=10000      # phones are soak10000, soak10001, ...

log() { echo "soak [outpost]: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

bench_install
bench_loopback
bench_raise_nofile 8192
outpost_bin=$(bench_outpost_bin "$outpost_bin")

# Outpost's configuration for the soak: phones refresh every 30 s, no
# OPTIONS heartbeat (SIPp would not answer it).
BENCH_OUTPOST_TOML="${BENCH_OUTPOST_TOML:-}
[registration]
phone_expiry_secs = 60
heartbeat_secs = 0"

# shellcheck source=scripts/bench/calls_sut.sh
. "$here/calls_sut.sh"
calls_check_ports || die "the addresses of this benchmark are in use"
bench_ports_free "udp:$BENCH_UAC:$PHONE_PORT" "udp:$BENCH_FAR:$REGISTRAR_PORT" \
  "udp:$BENCH_UAC:$SPARE_MEDIA_PORT" "udp:$BENCH_FAR:$SPARE_MEDIA_PORT" \
  || die "the addresses of this benchmark are in use"
bench_workdir "soak [outpost]"
log "work directory $work"
log "$secs s at $rate calls/s, $phones phones refreshing (60 s expiry), a sample every $every s"

# --- the registrar ICP -------------------------------------------------------
mkdir -p "$work/registrar"
(cd "$work/registrar" && exec sipp -sf "$here/sipp/registrar.xml" -i "$BENCH_FAR" -p "$REGISTRAR_PORT" \
  -mi "$BENCH_FAR" -mp "$SPARE_MEDIA_PORT" \
  -key upstream_expires "$upstream_expires" -nostdin -trace_err -trace_stat -stf stat.csv -fd 10 \
  ${SOAK_TRACE:+-trace_msg} \
  >"$work/registrar/sipp.out" 2>&1) &
started+=($!)
bench_wait_listen udp "$BENCH_FAR" "$REGISTRAR_PORT" 15 \
  || die "the registrar's SIPp did not start ($work/registrar/sipp.out)"

# The phones as Outpost devices of the registrar ICP (called by calls_start
# before Outpost starts). Phone soakN: set-side password set-pw-N, ICP-side
# user N with icp-pw-N.
calls_outpost_setup() {
  ocli icps add --name registrar --host "$BENCH_FAR" --port "$REGISTRAR_PORT" \
    --transports udp --xml-listen-port 4446 || return 1
  {
    echo "setside_username;setside_password;icpside_username;icpside_password;icp"
    awk -v a="$FIRST_PHONE" -v n="$phones" 'BEGIN {
      for (i = a; i < a + n; i++) printf "soak%d;set-pw-%d;%d;icp-pw-%d;registrar\n", i, i, i, i }'
  } >"$work/outpost/phones.csv"
  ocli devices import "$work/outpost/phones.csv"
}
calls_start
pid=${sut_pids[0]}

# --- measures ---------------------------------------------------------------
# One scrape of Outpost's metrics: "heap_allocated heap_resident
# transactions calls registrations" (bytes, then counts summed over labels).
outpost_gauges() {
  curl -fsS --max-time 5 "http://$ADMIN/metrics" 2>/dev/null | awk '
    /^outpost_memory_heap_allocated_bytes[ {]/ { h = $NF }
    /^outpost_memory_heap_resident_bytes[ {]/ { r = $NF }
    /^outpost_sip_transactions[ {]/ { t += $NF }
    /^outpost_active_calls[ {]/ { c += $NF }
    /^outpost_registrations[ {]/ { g += $NF }
    END { if (h == "") exit 1; printf "%d %d %d %d %d\n", h, r, t, c, g }'
}
rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0; }
registrations() { outpost_gauges | awk '{ print $5 }'; }
# at_least N: whether Outpost counts at least N registrations.
at_least() { [ "$(registrations)" -ge "$1" ]; }

# sample ELAPSED: one line "elapsed rss_kib heap_alloc heap_resident txns
# calls registrations".
sample() {
  local g
  g=$(outpost_gauges) || g="0 0 0 0 0"
  echo "$1 $(rss_kib) $g"
}
# sampler T0: a sample every $every s from T0 (date +%s) until killed.
sampler() {
  local t0=$1 next=0 now
  while :; do
    now=$(($(date +%s) - t0))
    if [ "$now" -ge "$next" ]; then
      sample "$next" >>"$work/samples.txt"
      next=$((next + every))
    fi
    sleep 0.5
  done
}

# --- the phones ----------------------------------------------------------------
# The phones refresh until 30 s after the calls should have ended (they
# then stay registered for up to 60 s more), each stopping at its first
# refresh after that.
ramp=$(((phones + phone_rate - 1) / phone_rate))
end_ms=$(((ramp + secs + 30) * 1000))
phones_bound=$((end_ms / 1000 + refresh_ms / 1000 + 60))
mkdir -p "$work/phones"
bench_render "$here/sipp/register_refresh.xml" "$work/phones/register_refresh.xml" \
  END_MS="$end_ms" REFRESH_MS="$refresh_ms" || die "rendering register_refresh.xml"
awk -v a="$FIRST_PHONE" -v n="$phones" 'BEGIN { print "SEQUENTIAL"
  for (i = a; i < a + n; i++) printf "soak%d;[authentication username=soak%d password=set-pw-%d]\n", i, i, i }' \
  >"$work/phones/users.csv"
(cd "$work/phones" && exec sipp -sf register_refresh.xml "$BENCH_PUBLIC:$SIP_PORT" \
  -i "$BENCH_UAC" -p "$PHONE_PORT" -mi "$BENCH_UAC" -mp "$SPARE_MEDIA_PORT" -inf users.csv -m "$phones" -r "$phone_rate" -l "$phones" \
  -recv_timeout 10000 -timeout "${phones_bound}s" -timeout_error \
  -nostdin -trace_err -trace_logs -trace_stat -stf stat.csv -fd 5 ${SOAK_TRACE:+-trace_msg} \
  >sipp.out 2>&1) &
phones_pid=$!
started+=("$phones_pid")
log "$phones phones registering at $phone_rate/s and refreshing for $((end_ms / 1000)) s (SIPp bound ${phones_bound}s)"
bench_wait_until $((ramp + 30)) "$phones registrations in Outpost" at_least "$phones" \
  || die "only $(registrations) of $phones phones registered ($(bench_sipp_failures "$work/phones/stat.csv"))"
rss_idle=$(rss_kib)
log "$phones phones registered; RSS ${rss_idle} KiB"
bench_result MEM_SOAK outpost rss_idle_kib "$rss_idle" KiB

# --- the soak ------------------------------------------------------------------
t0=$(date +%s)
sampler "$t0" &
sampler_pid=$!
started+=("$sampler_pid")
CALLS_SLACK_SECS=$((secs / 50 + 10))
calls soak uac_call.xml "$rate" $((rate * secs)) "$call_ms"
end=$(($(date +%s) - t0))
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sample "$end" >>"$work/samples.txt"
kill -0 "$pid" 2>/dev/null || die "Outpost died during the soak (see $work/outpost/outpost.log)"
regs_end=$(awk 'END { print $7 }' "$work/samples.txt")
calls_total=$((rate * secs))

# The phones end by themselves shortly after the calls (their last refresh).
log "calls done after ${end} s; waiting for the phones' last refresh"
for ((i = 0; i < phones_bound && i < refresh_ms * 3 / 1000; i++)); do
  kill -0 "$phones_pid" 2>/dev/null || break
  sleep 1
done
bench_stop "$phones_pid"
read -r phones_ok phones_failed < <(bench_sipp_counts "$work/phones/stat.csv")
phones_failed=$((phones - phones_ok))
refreshed=$(cat "$work/phones"/*_logs.log 2>/dev/null | grep -c '^refreshed' || true)
# Registrations Outpost saw fail (phone side or toward the registrar), and
# what the registrar's SIPp counted as unexpected (a refresh it did not
# match to its binding's call would show as a dead or out-of-call message).
reg_failures=$(curl -fsS --max-time 5 "http://$ADMIN/metrics" 2>/dev/null \
  | awk '/^outpost_registration_failures_total[ {]/ { n += $NF } END { printf "%d", n }')
registrar_odd=$(bench_sipp_failures "$work/registrar/stat.csv")
# Registrations Outpost opened at the registrar (one Call-ID, so one SIPp
# call, each): one per phone unless bindings lapsed and were made again.
upstream=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  { n = $col["IncomingCall(C)"] } END { printf "%d", n }' "$work/registrar/stat.csv" 2>/dev/null || echo 0)

# --- report ---------------------------------------------------------------------
{
  echo
  echo "Soak: $calls_total calls at $rate/s over $secs s, $phones phones refreshing (60 s expiry)"
  echo
  echo "| elapsed | RSS MiB | heap allocated MiB | heap resident MiB | transactions | calls | registrations |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  awk '{ printf "| %d:%02d | %.1f | %.1f | %.1f | %d | %d | %d |\n", $1 / 60, $1 % 60, $2 / 1024, $3 / 1048576, $4 / 1048576, $5, $6, $7 }' \
    "$work/samples.txt"
  echo
}
while read -r at rss heap _; do
  bench_result MEM_SOAK outpost "rss_kib_at_${at}s" "$rss" KiB
  bench_result MEM_SOAK outpost "heap_kib_at_${at}s" $((heap / 1024)) KiB
done <"$work/samples.txt"

# Flatness: the first third warms pools, tables and the allocator up; the
# highest RSS after it against the RSS at its end.
third=$((secs / 3))
read -r warm_rss warm_heap max_rss max_heap < <(awk -v t="$third" '
  $1 <= t { wr = $2; wh = $3 }
  $1 > t { if ($2 > mr) mr = $2; if ($3 > mh) mh = $3 }
  END { printf "%d %d %d %d\n", wr, wh, mr, mh }' "$work/samples.txt")
growth_pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a > 0) ? (b - a) * 100 / a : 0 }'; }
growth=$(growth_pct "$warm_rss" "$max_rss")
heap_growth=$(growth_pct "$warm_heap" "$max_heap")
bench_result MEM_SOAK outpost rss_warm_kib "$warm_rss" KiB
bench_result MEM_SOAK outpost rss_max_after_warmup_kib "$max_rss" KiB
bench_result MEM_SOAK outpost rss_growth_after_warmup_pct "$growth" %
bench_result MEM_SOAK outpost heap_growth_after_warmup_pct "$heap_growth" %
bench_result MEM_SOAK outpost calls_ok "$ok" calls
bench_result MEM_SOAK outpost calls_failed "$failed" calls
bench_result MEM_SOAK outpost phones_registered_end "$regs_end" phones
bench_result MEM_SOAK outpost phones_failed "$phones_failed" phones
bench_result MEM_SOAK outpost registration_failures "$reg_failures" registrations
bench_result MEM_SOAK outpost upstream_registrations "$upstream" registrations
log "RSS ${warm_rss} KiB after the first third (${third} s), at most ${max_rss} KiB after it: ${growth}%; heap $((warm_heap / 1024)) -> at most $((max_heap / 1024)) KiB: ${heap_growth}%"
log "calls: $ok of $calls_total completed; phones: $regs_end of $phones registered when the calls ended, $phones_ok refreshed until the end ($refreshed logged), $phones_failed failed; Outpost counted $reg_failures registration failures; the registrar saw $upstream registrations (Call-IDs), ${registrar_odd:-no failed or unexpected message}"

# --- verdict ---------------------------------------------------------------------
[ $((failed * 100)) -le "$calls_total" ] \
  || die "$failed of $calls_total calls failed (more than 1%)"
[ $((regs_end * 100)) -ge $((phones * 99)) ] \
  || die "only $regs_end of $phones phones were registered when the calls ended (fewer than 99%)"
[ $((phones_failed * 100)) -le "$phones" ] \
  || die "$phones_failed of $phones phones failed to refresh (more than 1%): $(bench_sipp_failures "$work/phones/stat.csv")"
[ $((reg_failures * 100)) -le "$phones" ] \
  || die "Outpost counted $reg_failures failed registrations (more than 1% of the phones)"
[ $(((upstream - phones) * 100)) -le "$phones" ] \
  || die "the registrar saw $upstream registrations for $phones phones: bindings lapsed and were made again"
if [ -n "${SOAK_MAX_GROWTH_PCT:-}" ] && awk -v g="$growth" -v m="$SOAK_MAX_GROWTH_PCT" 'BEGIN { exit !(g > m) }'; then
  die "RSS grew ${growth}% after the first third, more than SOAK_MAX_GROWTH_PCT=${SOAK_MAX_GROWTH_PCT}%"
fi
log "passed"
