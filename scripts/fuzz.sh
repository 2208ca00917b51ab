#!/usr/bin/env bash
# Runs every cargo-fuzz target (or those named) for a while each.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 s, all targets
# Uses the stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly
# flags) and installs cargo-fuzz from crates.io when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
# One build of every target first: cargo compiles and links them side by
# side, and each run below finds its binary up to date.
if [ "$#" -eq 0 ]; then cargo fuzz build -O; fi
for target in "${targets[@]}"; do
  echo "==> fuzz $target for ${seconds}s"
  log=$(mktemp)
  status=0
  cargo fuzz run -O "$target" -- -max_total_time="$seconds" >"$log" 2>&1 || status=$?
  grep -E '^(Done|SUMMARY)|panicked' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz target $target failed; the crashing input is in fuzz/artifacts/$target/"
    exit 1
  fi
  rm -f "$log"
done
