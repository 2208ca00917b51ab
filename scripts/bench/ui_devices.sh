#!/usr/bin/env bash
# Admin web UI (issue 18): server-side render time of the devices page with
# 10 000 devices. A release `outpost serve` on loopback (admin listener
# https://127.0.98.13:9464, this script's addresses in the admin UI tests'
# block 127.0.98.x, apart from ui_settings_e2e's .1-.3); the first
# administrator is created with the setup token it printed (`outpost admin
# create`), an ICP is added and the devices are imported from a CSV through
# the service layer (`outpost devices import`, all or nothing), then the
# administrator logs in (POST /api/v1/session) and curl fetches, over one
# kept-alive TLS connection, RENDERS times each:
#   - the devices page, first page (/ui/devices: the layout, the search
#     form, 50 rows with their live status, the page count);
#   - a search that matches a tenth of the devices (/ui/devices?q=d01),
#     page 3;
#   - the list fragment htmx polls every 2 s (/ui/fragments/devices).
# Each figure is curl's time from the request sent to the last byte of the
# answer (time_total - time_pretransfer: the server's work, routing,
# session check, the service's query and the template, plus loopback);
# after 10 warm-up requests. Prints median and p99 per page, in ms, as
# RESULT lines (lib.sh format) on stdout, progress on stderr.
#
#   scripts/bench/ui_devices.sh [--quick] [--outpost-bin PATH] [--devices N] [--renders N]
#
# Full: 10 000 devices, 200 renders of each. --quick (scripts/test.sh):
# 10 000 devices, 50 renders of each (about 10 s once built). Fails when a
# request does not answer 200 or a page does not show the device count.
# Needs a release build (cargo build --release -p outpost), curl and
# python3. BENCH_KEEP=1 keeps the work directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

quick=0 outpost_bin="$root/target/release/outpost" devices=10000 renders=200
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --outpost-bin) outpost_bin=${2:?--outpost-bin PATH}; shift ;;
    --devices) devices=${2:?--devices N}; shift ;;
    --renders) renders=${2:?--renders N}; shift ;;
    -h | --help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "ui_devices: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$quick" -eq 0 ] || renders=50

log() { echo "ui_devices: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }
outpost_bin=$(realpath "$outpost_bin" 2>/dev/null || echo "$outpost_bin")
[ -x "$outpost_bin" ] || die "no $outpost_bin: cargo build --release -p outpost --bin outpost"
command -v curl >/dev/null || die "curl is needed"

admin=127.0.98.13:9464
base="https://$admin"
work=$(mktemp -d /tmp/ui-devices-bench.XXXXXX)
pid=''
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${BENCH_KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

export OUTPOST_DATA_DIR="$work/data"
unset OUTPOST_CONFIG
(
  cd "$work"
  exec env -i PATH="$PATH" OUTPOST_DATA_DIR="$OUTPOST_DATA_DIR" OUTPOST_LOG=warn \
    OUTPOST_PUBLIC_INTERFACE=127.0.98.11 OUTPOST_PUBLIC_PROTOCOLS=tls+udp/tcp \
    OUTPOST_PRIVATE_INTERFACE=127.0.98.12 OUTPOST_PRIVATE_PROTOCOLS=tls+udp/tcp \
    OUTPOST_ADMIN_LISTEN="$admin" "$outpost_bin" serve
) >"$work/outpost.log" 2>&1 &
pid=$!

token=''
for _ in $(seq 1 200); do
  token=$(sed -n 's/^Administrator setup token (shown only this once): //p' "$work/outpost.log" | tr -d '[:space:]')
  if [ -n "$token" ] && curl -ksf -o /dev/null "$base/ui/login"; then break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$work/outpost.log" >&2; die "outpost serve exited"; }
  sleep 0.1
done
[ -n "$token" ] || { cat "$work/outpost.log" >&2; die "no setup token printed"; }

password=bench-password-1234
export OUTPOST_LOG=warn
echo "$password" | OUTPOST_SETUP_TOKEN=$token "$outpost_bin" admin create bench --password-stdin >/dev/null
"$outpost_bin" icps add --name pbx --host 192.0.2.50 >/dev/null
{
  echo "setside_username,setside_password,description"
  for ((i = 0; i < devices; i++)); do printf 'd%05d,secret-%d,Desk %d\n' "$i" "$i" "$i"; done
} >"$work/devices.csv"
started=$(date +%s%N)
"$outpost_bin" devices import "$work/devices.csv" >/dev/null
log "$devices devices imported in $((($(date +%s%N) - started) / 1000000)) ms"

curl -ksf -c "$work/cookies" -H 'content-type: application/json' \
  -d "{\"name\":\"bench\",\"password\":\"$password\"}" "$base/api/v1/session" >/dev/null \
  || die "login refused"

measure() { # NAME PATH EXPECT
  local name=$1 path=$2 expect=$3 urls=() i
  curl -ksf -b "$work/cookies" "$base$path" >"$work/page.html" || die "$path does not answer 200"
  grep -q -- "$expect" "$work/page.html" || die "$path does not show \"$expect\""
  for ((i = 0; i < renders + 10; i++)); do urls+=(-o /dev/null "$base$path"); done
  curl -ks -b "$work/cookies" \
    -w '%{http_code} %{time_pretransfer} %{time_total}\n' "${urls[@]}" >"$work/$name.times"
  python3 - "$work/$name.times" "$name" "$renders" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
bad = [r for r in rows if r[0] != "200"]
if bad:
    sys.exit(f"ui_devices: {sys.argv[2]}: {len(bad)} answers not 200: {bad[:3]}")
ms = sorted((float(t) - float(p)) * 1000 for _, p, t in rows[10:])
p99 = ms[min(len(ms) - 1, int(round(0.99 * len(ms))) - 1)]
med = statistics.median(ms)
print(f"RESULT\tui_devices\toutpost\t{sys.argv[2]}_median\t{med:.2f}\tms")
print(f"RESULT\tui_devices\toutpost\t{sys.argv[2]}_p99\t{p99:.2f}\tms")
print(f"ui_devices: {sys.argv[2]}: median {med:.2f} ms, p99 {p99:.2f} ms over {len(ms)} renders", file=sys.stderr)
PY
}

measure page "/ui/devices" "$devices device(s)"
measure search "/ui/devices?q=d01&page=3" "page 3 of"
measure fragment "/ui/fragments/devices" "$devices device(s)"
log "done: $devices devices, $renders renders each"
