#!/usr/bin/env bash
# Outpost side by side with Kamailio + rtpengine (issue 7), on this machine,
# in one run: every measure runs each system under test (SUT) in turn,
# alternating A B A B for --rounds rounds, then prints a Markdown table of
# medians and ratios (Outpost / Kamailio+rtpengine).
#
#   scripts/bench/compare.sh [--quick] [--rounds N] [--only P1,P2,P3]
#
#   P1  calls: SIPp UAC → SUT → SIPp UAS over UDP, media anchored on both sides
#   P2  registrations over TLS, one connection per phone, digest, to a registrar
#   P3  media: N streams at 50 packets/s relayed SRTP→RTP (and RTP→RTP)
#   MEM memory over bursts of P1 calls with idle periods (memory.sh); not in
#       the default set (about 15 minutes): --only MEM
#
# --quick runs each measure briefly (CI uses it so the scripts keep working;
# its figures mean nothing). Needs root (apt, ulimit); installs what it needs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

quick=()
rounds=3
only=P1,P2,P3
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=(--quick); rounds=1 ;;
    --rounds) rounds=${2:?--rounds N}; shift ;;
    --only) only=${2:?--only P1,P2,P3,MEM}; shift ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case $rounds in '' | *[!0-9]* | 0) echo "compare.sh: --rounds must be a positive number" >&2; exit 2 ;; esac

began=$(date +%s)
bench_install
bench_loopback
echo "bench: building Outpost (release)" >&2
(cd "$BENCH_ROOT" && cargo build --quiet --release -p outpost --bin outpost --example relay_bench)
outpost_bin="$BENCH_ROOT/target/release/outpost"

out_dir="$BENCH_ROOT/target/bench"
mkdir -p "$out_dir"
results="$out_dir/results-$(date -u +%Y%m%dT%H%M%SZ).tsv"
: >"$results"
failures=0

# run MEASURE ROUND SUT COMMAND...: keeps the RESULT lines, tagged with the round.
run() {
  local measure=$1 round=$2 sut=$3 status=0
  shift 3
  echo "bench: $measure round $round: $sut" >&2
  "$@" >"$out_dir/last.out" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "bench: $measure $sut failed (exit $status)" >&2
    failures=$((failures + 1))
  fi
  awk -F'\t' -v r="$round" 'BEGIN { OFS = "\t" } $1 == "RESULT" { print $2, $3, $4, $5, $6, r }' \
    "$out_dir/last.out" >>"$results"
}

for measure in P1 P2 P3 MEM; do
  case ",$only," in *",$measure,"*) ;; *) continue ;; esac
  for ((round = 1; round <= rounds; round++)); do
    case $measure in
      P1)
        run P1 "$round" outpost "$here/p1_calls.sh" --sut outpost --outpost-bin "$outpost_bin" "${quick[@]}"
        run P1 "$round" kamailio "$here/p1_calls.sh" --sut kamailio "${quick[@]}" ;;
      P2)
        run P2 "$round" outpost "$here/p2_registrations.sh" --sut outpost --outpost-bin "$outpost_bin" "${quick[@]}"
        run P2 "$round" kamailio "$here/p2_registrations.sh" --sut kamailio "${quick[@]}" ;;
      P3)
        run P3 "$round" outpost "$here/p3_media.sh" --sut outpost "${quick[@]}"
        run P3 "$round" rtpengine "$here/p3_media.sh" --sut rtpengine "${quick[@]}" ;;
      MEM)
        run MEM "$round" outpost "$here/memory.sh" --sut outpost --outpost-bin "$outpost_bin" "${quick[@]}"
        run MEM "$round" kamailio "$here/memory.sh" --sut kamailio "${quick[@]}" ;;
    esac
  done
done

elapsed=$(($(date +%s) - began))
cpu=$(awk -F: '/model name/ { sub(/^ +/, "", $2); print $2; exit }' /proc/cpuinfo)
echo
echo "Machine: $(nproc) CPUs ($cpu), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)."
echo "Versions: Outpost $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo unknown)," \
  "Kamailio $(kamailio -v 2>/dev/null | awk 'NR == 1 { print $3 }')," \
  "rtpengine $(dpkg-query -W -f '${Version}' rtpengine-daemon 2>/dev/null), SIPp $(dpkg-query -W -f '${Version}' sip-tester 2>/dev/null)."
echo "Run: $rounds round(s) per measure, SUTs alternated; medians over rounds; $elapsed s in all${quick:+ (quick mode: figures are not meaningful)}."
echo
"$here/report.sh" "$results"
echo
echo "Raw results: $results" >&2
if [ "$failures" -gt 0 ]; then
  echo "bench: $failures run(s) failed; see the messages above" >&2
  exit 1
fi
