#!/usr/bin/env bash
# Media relay benchmark (issue "Media anchoring"): N streams at 50 packets/s
# through Outpost's relay, RTP→RTP and SRTP→RTP; prints a Markdown table.
#   scripts/bench/media.sh [SECONDS] [STREAMS...]      default: 10 s, 50 200 500
# Outpost only; the side-by-side comparison with rtpengine (issue 7, P3) is
# scripts/bench/p3_media.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
shift || true
streams=("$@")
[ "${#streams[@]}" -gt 0 ] || streams=(50 200 500)
cargo build --quiet --release -p outpost --example relay_bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/relay_bench
echo "| mode | streams | packets relayed | relay CPU s | packets per CPU-second | loss | latency median | latency p99 |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for n in "${streams[@]}"; do
  "$bin" --streams "$n" --seconds "$seconds"
  "$bin" --streams "$n" --seconds "$seconds" --srtp
done
