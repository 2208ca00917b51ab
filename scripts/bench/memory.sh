#!/usr/bin/env bash
# Memory under call load (issue 13): the P1 set-up (calls_sut.sh: SIPp UAC
# → SUT → SIPp UAS over UDP, digest-authenticated INVITEs, SDP both ways,
# media anchored in the SUT) driven in bursts with idle periods between
# them, the SUT's memory read from /proc:
#   rss_idle_kib_0             RSS after start, before any call
#   rss_peak_kib_<k>           peak RSS during burst k (VmHWM, reset at the
#                              start of each burst through clear_refs; for
#                              Kamailio + rtpengine the sum of each
#                              process's peak, an upper bound)
#   pss_end_kib_<k>            PSS at the end of burst k (shared pages
#                              counted once across processes)
#   rss_idle_kib_<k>           RSS after the idle period following burst k
#   failed_calls_<k>           calls of burst k that did not complete
#   idle_growth_pct            rss_idle_<last> over rss_idle_<2>, in percent
#                              (burst 1 warms pools and tables up)
#   heap_idle_kib_<k>          Outpost: heap allocated and not freed at that
#                              idle point (its allocator's own count)
#   heap_growth_pct            heap_idle_<last> over heap_idle_<2>
#   heap_bytes_per_transaction Outpost: heap per live transaction and per
#   heap_bytes_per_call        live call, a least-squares fit of the heap
#                              against the live gauges sampled every 0.5 s
#                              through the last burst and its drain
# Defaults: 4 bursts of 12000 one-second calls at 1200 calls/s, 70 s idle
# after each (the transactions' 32 s timers and the media timeout are over
# by then). --quick: 2 bursts of 200 calls at 100/s, 5 s idle.
#
#   scripts/bench/memory.sh --sut outpost|kamailio [--quick] [--outpost-bin PATH]
#   MEM_BURSTS, MEM_CALLS, MEM_RATE, MEM_IDLE_SECS override the defaults;
#   MEM_MAX_GROWTH_PCT makes the run fail when idle_growth_pct exceeds it,
#   MEM_MAX_HEAP_GROWTH_PCT when heap_growth_pct does (the CI check,
#   scripts/test.sh).
#
# Outpost's idle point is when its gauges show no transaction, call, dialog
# or media port any more (at most MEM_IDLE_SECS + 60 s); Kamailio's is
# MEM_IDLE_SECS after the burst.
#
# Result lines on stdout (lib.sh bench_result), progress on stderr. Needs
# root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

bench_parse_args memory kamailio "$@"
if [ "$quick" = 1 ]; then
  bursts=${MEM_BURSTS:-2} count=${MEM_CALLS:-200} rate=${MEM_RATE:-100} idle=${MEM_IDLE_SECS:-5}
else
  bursts=${MEM_BURSTS:-4} count=${MEM_CALLS:-12000} rate=${MEM_RATE:-1200} idle=${MEM_IDLE_SECS:-70}
fi
call_ms=1000

log() { echo "memory [$sut]: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

bench_install
bench_loopback
bench_raise_nofile 8192
[ "$sut" = outpost ] && outpost_bin=$(bench_outpost_bin "$outpost_bin")

# shellcheck source=scripts/bench/calls_sut.sh
. "$here/calls_sut.sh"
calls_check_ports || die "the addresses of this benchmark are in use"
bench_workdir "memory [$sut]"
log "work directory $work"
calls_start
[ "$sut" = kamailio ] && mapfile -t sut_pids < <(bench_tree_pids "$kam_pid"; echo "$RTPENGINE_PID")

# KiB of a /proc/PID/status field (VmRSS, VmHWM) summed over the SUT.
status_kib() {
  local field=$1 pid total=0 kb
  for pid in "${sut_pids[@]}"; do
    kb=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
# Resets each process's peak RSS (Linux: clear_refs 5).
reset_peaks() {
  local pid
  for pid in "${sut_pids[@]}"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}

# Whether Outpost holds no transaction, call, dialog or media port any more.
outpost_drained() {
  curl -fsS "http://$ADMIN/metrics" 2>/dev/null | awk '
    /^outpost_(sip_transactions|active_calls|active_dialogs|media_ports_in_use)[ {]/ { seen++; if ($NF + 0 != 0) busy++ }
    END { exit !(seen >= 4 && busy == 0) }'
}

# Waits until the SUT's RSS stops falling: an allocator gives freed pages
# back over seconds, not at the last free (jemalloc's decay spreads it over
# 10 s), so the RSS counts once it has dropped by no more than 0.5% over
# the last 12 s (samples 3 s apart), for at most 90 s.
rss_settle() {
  local deadline=$((SECONDS + 90)) window=() now
  while [ "$SECONDS" -lt "$deadline" ]; do
    now=$(status_kib VmRSS)
    window+=("$now")
    if [ "${#window[@]}" -ge 5 ]; then
      window=("${window[@]: -5}")
      [ $((window[0] - now)) -gt $((window[0] / 200)) ] || return 0
    fi
    sleep 3
  done
}

# KiB Outpost's allocator counts as allocated and not freed (its metric).
outpost_heap_kib() {
  curl -fsS "http://$ADMIN/metrics" 2>/dev/null \
    | awk '/^outpost_memory_heap_allocated_bytes / { printf "%d", $2 / 1024 }'
}

# sample_live: every 0.5 s until killed, one line per scrape of Outpost's
# metrics: heap bytes allocated, live transactions, live calls.
sample_live() {
  while :; do
    curl -fsS "http://$ADMIN/metrics" 2>/dev/null | awk '
      /^outpost_memory_heap_allocated_bytes / { h = $NF }
      /^outpost_sip_transactions[ {]/ { t += $NF }
      /^outpost_active_calls[ {]/ { c += $NF }
      END { if (h != "") printf "%d %d %d\n", h, t, c }'
    sleep 0.5
  done
}
# fit_bytes FILE: least squares fit of heap = base + per_txn * transactions
# + per_call * calls over the samples; prints "per_txn per_call". Calls
# last 1 s and transactions linger after them (Timer J/K/D), so the drain
# after a burst, with transactions and no call, separates the two.
fit_bytes() {
  awk '
    { n++; y = $1; x1 = $2; x2 = $3
      s1 += x1; s2 += x2; sy += y; s11 += x1 * x1; s22 += x2 * x2; s12 += x1 * x2
      s1y += x1 * y; s2y += x2 * y }
    function det3(a, b, c, d, e, f, g, h, i) { return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g) }
    END {
      if (n < 10) exit 1
      d = det3(n, s1, s2, s1, s11, s12, s2, s12, s22)
      if (d == 0) exit 1
      bt = det3(n, sy, s2, s1, s1y, s12, s2, s2y, s22) / d
      bc = det3(n, s1, sy, s1, s11, s1y, s2, s12, s2y) / d
      printf "%.0f %.0f\n", bt, bc
    }' "$1"
}

rss0=$(status_kib VmRSS)
log "idle after start: RSS ${rss0} KiB"
bench_result MEM "$sut" rss_idle_kib_0 "$rss0" KiB
declare -A idle_rss idle_heap
for k in $(seq 1 "$bursts"); do
  reset_peaks
  sampler=
  if [ "$sut" = outpost ] && [ "$k" = "$bursts" ]; then
    sample_live >"$work/live-samples.txt" &
    sampler=$!
    started+=("$sampler")
  fi
  calls "burst-$k" uac_call.xml "$rate" "$count" "$call_ms"
  peak=$(status_kib VmHWM)
  pss=$(bench_pss_kib "${sut_pids[@]}")
  bench_result MEM "$sut" "rss_peak_kib_$k" "$peak" KiB
  bench_result MEM "$sut" "pss_end_kib_$k" "$pss" KiB
  bench_result MEM "$sut" "failed_calls_$k" "$failed" calls
  # The idle period is what is measured: memory once every call and
  # transaction of the burst is over. Outpost says when that is (its
  # live-state gauges at 0); Kamailio gets the fixed idle period.
  idle_began=$(date +%s)
  if [ "$sut" = outpost ]; then
    bench_wait_until $((idle + 60)) "Outpost's live state to drain after burst $k" outpost_drained \
      || die "Outpost still holds calls or transactions $((idle + 60)) s after burst $k"
  else
    sleep "$idle"
  fi
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    if read -r per_txn per_call < <(fit_bytes "$work/live-samples.txt"); then
      bench_result MEM "$sut" heap_bytes_per_transaction "$per_txn" B
      bench_result MEM "$sut" heap_bytes_per_call "$per_call" B
      log "heap per live transaction ${per_txn} B, per live call ${per_call} B ($(wc -l <"$work/live-samples.txt") samples of burst $k)"
    fi
  fi
  rss_settle
  idle_rss[$k]=$(status_kib VmRSS)
  bench_result MEM "$sut" "rss_idle_kib_$k" "${idle_rss[$k]}" KiB
  if [ "$sut" = outpost ]; then
    idle_heap[$k]=$(outpost_heap_kib)
    bench_result MEM "$sut" "heap_idle_kib_$k" "${idle_heap[$k]}" KiB
  fi
  log "burst $k: $((count - failed)) of $count calls; peak RSS ${peak} KiB, PSS at end ${pss} KiB, RSS after $(($(date +%s) - idle_began)) s idle ${idle_rss[$k]} KiB"
done
# growth_pct FROM TO: TO over FROM in percent.
growth_pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a > 0) ? (b - a) * 100 / a : 0 }'; }
# over LIMIT VALUE: whether VALUE exceeds LIMIT (no limit: never).
over() { [ -n "$1" ] && awk -v g="$2" -v m="$1" 'BEGIN { exit !(g > m) }'; }
if [ "$bursts" -ge 2 ]; then
  # Burst 1 warms pools and tables up: growth is counted from burst 2.
  from=2
  [ "$bursts" -gt 2 ] || from=1
  growth=$(growth_pct "${idle_rss[$from]}" "${idle_rss[$bursts]}")
  bench_result MEM "$sut" idle_growth_pct "$growth" %
  log "idle RSS growth from burst $from to burst $bursts: ${growth}%"
  over "${MEM_MAX_GROWTH_PCT:-}" "$growth" \
    && die "idle RSS grew ${growth}% across bursts, more than MEM_MAX_GROWTH_PCT=${MEM_MAX_GROWTH_PCT}%"
  if [ "$sut" = outpost ]; then
    heap_growth=$(growth_pct "${idle_heap[$from]}" "${idle_heap[$bursts]}")
    bench_result MEM "$sut" heap_growth_pct "$heap_growth" %
    log "idle heap growth from burst $from to burst $bursts: ${heap_growth}% (${idle_heap[$from]} -> ${idle_heap[$bursts]} KiB)"
    over "${MEM_MAX_HEAP_GROWTH_PCT:-}" "$heap_growth" \
      && die "the heap grew ${heap_growth}% across bursts, more than MEM_MAX_HEAP_GROWTH_PCT=${MEM_MAX_HEAP_GROWTH_PCT}%"
  fi
fi
for pid in "${sut_pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || die "SUT process $pid died during the run"
done
