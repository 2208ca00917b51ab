#!/usr/bin/env bash
# P3, media (issue 7): the project's load generator (examples/relay_bench)
# sends N streams at 50 packets/s from 127.0.10.1 through the SUT to
# 127.0.40.1, SRTP (AES_CM_128_HMAC_SHA1_80) → RTP and RTP → RTP; the SUT
# decrypts and relays plain RTP. Outpost runs its own relay driver in a child
# of the generator; rtpengine (userspace, started here with lib.sh's
# interfaces pub/127.0.20.1 and priv/127.0.30.1) gets one call per stream
# through its ng protocol with the same crypto. Reports the SUT's CPU seconds
# per 1000 packets, loss and added latency (median, p99) for each N, as
# RESULT lines on stdout (lib.sh format); progress and a Markdown row per run
# on stderr. A run whose receivers get nothing, or get anything other than
# the streams relayed as plain RTP from the SUT's ports, fails.
#
#   scripts/bench/p3_media.sh --sut outpost|rtpengine [--quick]
#
# Full: SRTP→RTP at N = 50, 200, 500 and RTP→RTP at N = 500, 6 s each after
# a 0.5 s warm-up that no figure counts (~30 s). --quick: N = 20, 2 s each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

bench_parse_args p3 rtpengine "$@"

# MODE:STREAMS for each run.
if [ "$quick" = 1 ]; then
  seconds=2
  runs=(srtp:20 rtp:20)
else
  seconds=6
  runs=(srtp:50 srtp:200 srtp:500 rtp:500)
fi

work=$(mktemp -d /tmp/bench-p3.XXXXXX)
RTPENGINE_PID=
cleanup() {
  local status=$?
  bench_stop "$RTPENGINE_PID"
  if [ "$status" -ne 0 ] && [ -s "$work/rtpengine.log" ]; then
    echo "p3_media.sh: last lines of rtpengine's log:" >&2
    tail -n 20 "$work/rtpengine.log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two sockets per stream on each side of the SUT, and the generator's own.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "$sut" = rtpengine ]; then bench_install; fi
bench_loopback
echo "p3: building the load generator (cargo build --release --example relay_bench)" >&2
(cd "$BENCH_ROOT" && cargo build --quiet --release -p outpost --example relay_bench >&2)
bin="${CARGO_TARGET_DIR:-$BENCH_ROOT/target}/release/examples/relay_bench"

sut_args=(--sut "$sut")
if [ "$sut" = rtpengine ]; then
  rtpengine_start "$work"
  sut_args+=(--sut-pid "$RTPENGINE_PID" --ng "$BENCH_NG")
  echo "p3: rtpengine $RTPENGINE_PID, ng at $BENCH_NG" >&2
fi

for run in "${runs[@]}"; do
  mode=${run%:*}
  n=${run#*:}
  echo "p3: $sut, $n streams, ${mode^^}→RTP, ${seconds} s" >&2
  mode_args=()
  [ "$mode" = srtp ] && mode_args=(--srtp)
  "$bin" --streams "$n" --seconds "$seconds" "${mode_args[@]}" "${sut_args[@]}" --results
done
