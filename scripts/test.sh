#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need when it
# is missing, then runs formatting, lints, unit, integration and end-to-end
# tests. Needs root for apt and for the network namespaces of the test bed.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# command -> Debian package providing it
declare -A packages=(
  [kamailio]=kamailio
  [baresip]=baresip
  [sipp]=sip-tester
  [svmap]=sipvicious
  [ip]=iproute2
  [iptables]=iptables
  [tshark]=tshark
  [openssl]=openssl
  [curl]=curl
  [sox]=sox
  [stunnel]=stunnel4
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "the test bed needs these Debian packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "removing test-bed namespaces left by an interrupted run"
bash scripts/testbed-cleanup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "fuzz: a short run of every target (FUZZ_SECONDS=${FUZZ_SECONDS:=10} each)"
bash scripts/fuzz.sh "$FUZZ_SECONDS"

step "cargo test (unit, integration, end-to-end)"
mkdir -p target
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.log
status=${PIPESTATUS[0]}
set -e
# One summary line for CI readers: totals over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' target/test-output.log

# The comparison with Kamailio + rtpengine, briefly, so its scripts keep
# working (their figures mean nothing here and no threshold is asserted;
# each run still checks that media and registrations really go through).
step "benchmark scripts: scripts/bench/compare.sh --quick"
bench_status=0
bash scripts/bench/compare.sh --quick || bench_status=$?
[ "$status" -ne 0 ] || status=$bench_status
exit "$status"
