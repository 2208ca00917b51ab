#!/usr/bin/env bash
# P4, phone provisioning (issue 15): the remote-worker CSV to phone files,
# and the phones fetching their files over TLS, Outpost side by side with
# nginx serving the same files, in one run.
#
#   1. A 1500-row remote-worker CSV (MAC_ADDRESS, !sip line1 user name,
#      !sip line1 auth name, sip line1 password, sip line1 display name,
#      sip line1 screen name, sip line1 vmail, sip line1 mode, time zone
#      name, language; MACs in the three forms) is imported into a running
#      `outpost serve` with `outpost provisioning import`, twice (a first
#      import, then a re-import replacing the 1500 files). The time is the
#      CLI's wall time; the same CLI's `provisioning hash show` (process
#      start, database open) is timed too and the difference is the import's
#      own work.
#   2. The phones fetch their `<MAC>.cfg` from Outpost's configuration
#      service (127.0.20.1:4445, the gateway's self-signed ECDSA P-256
#      certificate) with the project's load client
#      (crates/outpost/examples/config_fetch_bench.rs): each phone its own
#      source address (127.10.0.1 + i, allow-listed in the guard like a test
#      host), its own TLS connection with a full handshake (no resumption),
#      a Mitel User-Agent with its MAC, the whole body checked against the
#      file's size. A first pass saves the files as served into a directory
#      that nginx (Debian's, 2 worker processes like Outpost's 2 runtime
#      threads, the same certificate and key, TLS 1.2/1.3, no session
#      cache or tickets, access log on like Outpost's inventory) serves on
#      127.0.20.2:4445; a warm-up pass goes to each. Then each round runs
#      every phone at once against Outpost, then against nginx.
#
# Everything runs in a network namespace of its own (p4bench-PID, only lo),
# so the host's loopback and a CI run on it are not disturbed. Prints RESULT
# lines (lib.sh format; medians over rounds) on stdout, progress and a
# Markdown table with the ratios Outpost / nginx on stderr. Fails if a fetch
# fails, the deadline passes or an import takes 1 s or more of its own work.
#
#   scripts/bench/p4_provisioning.sh [--quick] [--outpost-bin PATH] [--client-bin PATH]
#
# Full: 1500 phones, 3 rounds. --quick (CI): the same import, 300 phones,
# 1 round. Needs root (ip netns, ulimit). BENCH_KEEP=1 keeps the work
# directory of a successful run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

quick=0 outpost_bin='' client_bin=''
args=("$@")
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --outpost-bin) outpost_bin=${2:?--outpost-bin PATH}; shift ;;
    --client-bin) client_bin=${2:?--client-bin PATH}; shift ;;
    -h | --help) sed -n '2,41p' "$0"; exit 0 ;;
    *) echo "p4: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "p4: $*" >&2; }
tls_label() { if [ "$1" = tls12 ]; then echo "TLS 1.2"; else echo "TLS 1.3"; fi; }
die() { log "FAILED: $*"; exit 1; }

ROWS=1500
# TLS versions measured (P4_TLS overrides): tls13, the client offers 1.3
# and 1.2 and both servers pick 1.3; tls12, the client offers 1.2 only, as
# older phone firmware does.
if [ "$quick" = 1 ]; then
  phones=300 rounds=1 tls=tls13
else
  phones=1500 rounds=3 tls="tls13 tls12"
fi
read -ra tls_modes <<<"${P4_TLS:-$tls}"
OUTPOST_WEB=127.0.20.1
NGINX_WEB=127.0.20.2
WEB_PORT=4445
PHONE_BASE=127.10.0.1
FQDN=sbc.bench.test
# The import's own work (CLI wall time less the CLI's start) must stay
# under this (issue 15: a 1500-row CSV to files in under 1 s).
IMPORT_LIMIT_MS=${P4_IMPORT_LIMIT_MS:-1000}

# --- outside the namespace: build, then run this script inside one ----------
# The EXIT trap outside: stops what this run started in its namespace and
# left behind, by PID, and removes the namespace.
# shellcheck disable=SC2317 # invoked by the trap
cleanup_ns() {
  local status=$? pid
  trap - EXIT
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    kill "$pid" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
  exit "$status"
}
if [ -z "${P4_IN_NETNS:-}" ]; then
  [ "$(id -u)" -eq 0 ] || die "needs root (ip netns, ulimit)"
  command -v nginx >/dev/null 2>&1 || {
    log "installing nginx"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends nginx >&2
  }
  if [ -z "$outpost_bin" ] || [ -z "$client_bin" ]; then
    log "building Outpost and the load client (cargo build --release -p outpost --bin outpost --example config_fetch_bench)"
    (cd "$BENCH_ROOT" && cargo build --quiet --release -p outpost --bin outpost --example config_fetch_bench >&2)
    target=${CARGO_TARGET_DIR:-$BENCH_ROOT/target}
    [ -n "$outpost_bin" ] || outpost_bin=$target/release/outpost
    [ -n "$client_bin" ] || client_bin=$target/release/examples/config_fetch_bench
  fi
  [ -x "$outpost_bin" ] || die "$outpost_bin is not an executable"
  [ -x "$client_bin" ] || die "$client_bin is not an executable"
  # The run works in its own directory.
  outpost_bin=$(realpath "$outpost_bin") client_bin=$(realpath "$client_bin")
  ns=p4bench-$$
  trap cleanup_ns EXIT
  trap 'exit 130' INT TERM
  ip netns add "$ns" || die "cannot create network namespace $ns"
  ip -n "$ns" link set lo up
  log "network namespace $ns"
  status=0
  P4_IN_NETNS=$ns ip netns exec "$ns" bash "$0" "${args[@]}" \
    --outpost-bin "$outpost_bin" --client-bin "$client_bin" || status=$?
  exit "$status"
fi

# --- inside the namespace -----------------------------------------------------
bench_raise_nofile 8192
bench_workdir "p4 [outpost, nginx]"
# shellcheck disable=SC2154 # $work and $started come from bench_workdir
log "work directory $work"
cd "$work"

# The remote-worker CSV: Mitel's OUI, the three MAC forms in turn.
awk -v rows="$ROWS" 'BEGIN {
  print "MAC_ADDRESS;!sip line1 user name;!sip line1 auth name;sip line1 password;sip line1 display name;sip line1 screen name;sip line1 vmail;sip line1 mode;time zone name;language"
  for (i = 1; i <= rows; i++) {
    hex = sprintf("%06X", i)
    a = substr(hex, 1, 2); b = substr(hex, 3, 2); c = substr(hex, 5, 2)
    if (i % 3 == 0) mac = "00085D" hex
    else if (i % 3 == 1) mac = "00-08-5D-" a "-" b "-" c
    else mac = "00:08:5D:" a ":" b ":" c
    ext = 20000 + i
    printf "%s;%d;%d;Rw-%04x%04x-pass;Remote Worker %d;%d;*97;0;FR-Paris;French\n", mac, ext, ext, (i * 7919) % 65536, (i * 104729) % 65536, i, ext
  }
}' >phones.csv

# --- Outpost ------------------------------------------------------------------
mkdir -p outpost
cat >outpost/outpost.toml <<EOF
fqdn = "$FQDN"
[public]
interface = "$OUTPOST_WEB"
protocols = "tls+udp/tcp"
[private]
interface = "127.0.30.1"
protocols = "tls+udp/tcp"
[admin]
listen = "$OUTPOST_WEB:9464"
tls = false
[web]
port = $WEB_PORT
[log]
level = "${BENCH_OUTPOST_LOG:-warn}"
EOF
ocli() { "$outpost_bin" --config outpost/outpost.toml --data-dir outpost/data "$@" 2>>outpost/cli.log; }
ocli init >>outpost/cli.log || die "outpost init (see $work/outpost/cli.log)"
# The phones' addresses, as an operator allow-lists a test host: 1500
# fetches per round from new sources would otherwise count towards the
# guard's DDoS threshold (5000 requests per 10 s from unknown sources).
ocli guard allow add 127.10.0.0/16 --note "P4 bench phones" >>outpost/cli.log \
  || die "outpost guard allow add (see $work/outpost/cli.log)"
OUTPOST_SETUP_TOKEN=bench-setup-token-not-secret-0001 \
  "$outpost_bin" --config outpost/outpost.toml --data-dir outpost/data serve \
  >outpost/stdout.log 2>outpost/outpost.log &
outpost_pid=$!
started+=("$outpost_pid")
if ! { bench_wait_listen tcp "$OUTPOST_WEB" "$WEB_PORT" 30 \
  && bench_wait_until 30 "Outpost's /healthz" curl -fsS "http://$OUTPOST_WEB:9464/healthz"; }; then
  tail -n 30 outpost/outpost.log >&2
  die "Outpost did not start"
fi

# --- the import -----------------------------------------------------------------
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
t0=$(date +%s%N)
ocli provisioning hash show --json >hash.json || die "outpost provisioning hash show"
cli_ms=$(ms_since "$t0")
hash=$(sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p' hash.json)
[ -n "$hash" ] || die "no hash key in $(cat hash.json)"
import_ms=() own_ms=()
for pass in first re-import; do
  t0=$(date +%s%N)
  ocli provisioning import phones.csv >>outpost/import.log || die "outpost provisioning import ($pass; see $work/outpost/cli.log)"
  ms=$(ms_since "$t0")
  import_ms+=("$ms")
  own_ms+=($((ms > cli_ms ? ms - cli_ms : 0)))
  log "import of $ROWS rows ($pass): $ms ms wall, $((ms > cli_ms ? ms - cli_ms : 0)) ms after the CLI's own start ($cli_ms ms for hash show)"
done
tail -n 1 outpost/import.log >&2

# The phone files as Outpost lists them: the paths the phones ask for.
ocli provisioning files list --json >files.json || die "outpost provisioning files list"
sed -n 's/^{"name":"\([0-9A-F]\{12\}\.cfg\)","kind":"phone".*"size":\([0-9]*\),.*/\1 \2/p' files.json \
  | sort | awk -v h="$hash" -v n="$phones" 'NR <= n { print "/" h "/" $1, $2 }' >paths.txt
[ "$(wc -l <paths.txt)" -eq "$phones" ] || die "$(wc -l <paths.txt) phone files listed, expected $phones (see $work/files.json)"

fetch() { # fetch SUT ADDRESS ROUNDS [client options...]
  local sut=$1 addr=$2 n=$3
  shift 3
  "$client_bin" --base "https://$addr:$WEB_PORT" --paths paths.txt --concurrency "$phones" \
    --rounds "$n" --deadline-secs 120 --timeout-secs 30 --source-base "$PHONE_BASE" \
    --server-name "$FQDN" --pin-cert outpost/data/tls/default.crt --results P4 "$sut" "$@"
}

# --- nginx, on the files Outpost serves -------------------------------------------
log "first pass on Outpost, saving the files for nginx"
fetch outpost "$OUTPOST_WEB" 1 --save www >/dev/null || die "the first pass on Outpost failed"
mkdir -p nginx/tmp
cat >nginx/nginx.conf <<EOF
daemon off;
user root;
worker_processes 2;
worker_rlimit_nofile 8192;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type text/plain;
  sendfile on;
  server {
    # Outpost's listener takes tokio's default backlog, 1024.
    listen $NGINX_WEB:$WEB_PORT ssl backlog=1024;
    server_name $FQDN;
    ssl_certificate $work/outpost/data/tls/default.crt;
    ssl_certificate_key $work/outpost/data/tls/default.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    root $work/www;
    location / { try_files \$uri =404; }
  }
}
EOF
nginx -t -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >nginx/check.log 2>&1 \
  || { cat nginx/check.log >&2; die "nginx -t refused the configuration"; }
nginx -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx/nginx.conf" >nginx/stdout.log 2>&1 &
nginx_pid=$!
started+=("$nginx_pid")
bench_wait_listen tcp "$NGINX_WEB" "$WEB_PORT" 15 || { tail -n 20 nginx/error.log >&2; die "nginx did not start"; }
bench_wait_until 15 "nginx's workers" sh -c "[ \$(ps -o pid= --ppid $nginx_pid | wc -l) -ge 2 ]" \
  || die "nginx's workers did not start"
mapfile -t nginx_pids < <(bench_tree_pids "$nginx_pid")
log "Outpost $outpost_pid, nginx ${nginx_pids[*]}"

log "warm-up pass on each"
fetch outpost "$OUTPOST_WEB" 1 >/dev/null || die "the warm-up pass on Outpost failed"
fetch nginx "$NGINX_WEB" 1 >/dev/null || die "the warm-up pass on nginx failed"

# --- the measured rounds -------------------------------------------------------------
: >rounds.tsv
for ((round = 1; round <= rounds; round++)); do
  for mode in "${tls_modes[@]}"; do
    opts=() suffix=''
    [ "$mode" = tls12 ] && opts=(--tls12) suffix=_tls12
    for sut in outpost nginx; do
      if [ "$sut" = outpost ]; then addr=$OUTPOST_WEB pids=("$outpost_pid"); else addr=$NGINX_WEB pids=("${nginx_pids[@]}"); fi
      log "round $round: $phones phones on $sut, $(tls_label "$mode")"
      c0=$(bench_cpu_seconds "${pids[@]}")
      fetch "$sut" "$addr" 1 "${opts[@]}" >round.out || die "round $round on $sut ($mode): fetches failed"
      c1=$(bench_cpu_seconds "${pids[@]}")
      bench_result P4 "$sut" "cpu_ms_per_fetch_$phones" \
        "$(awk -v a="$c0" -v b="$c1" -v n="$phones" 'BEGIN { printf "%.3f", (b - a) * 1000 / n }')" ms >>round.out
      awk -F'\t' -v s="$suffix" 'BEGIN { OFS = "\t" } $1 == "RESULT" { $4 = $4 s; print }' round.out >>rounds.tsv
    done
  done
done
kill -0 "$outpost_pid" 2>/dev/null || die "Outpost died during the run"
kill -0 "$nginx_pid" 2>/dev/null || die "nginx died during the run"

# --- results: medians over rounds ------------------------------------------------------
for i in "${!import_ms[@]}"; do
  name=import_ms_$ROWS; [ "$i" -eq 0 ] || name=reimport_ms_$ROWS
  bench_result P4 outpost "$name" "${import_ms[$i]}" ms
  bench_result P4 outpost "${name/import/import_own}" "${own_ms[$i]}" ms
done
awk -F'\t' 'BEGIN { OFS = "\t" }
  $1 == "RESULT" { k = $3 SUBSEP $4; if (!(k in n)) order[++rows] = k; n[k]++; v[k, n[k]] = $5; unit[k] = $6 }
  END {
    for (r = 1; r <= rows; r++) {
      k = order[r]; c = n[k]
      for (i = 1; i <= c; i++) a[i] = v[k, i] + 0
      for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      m = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
      split(k, p, SUBSEP)
      print "RESULT", "P4", p[1], p[2], m, unit[k]
    }
  }' rounds.tsv >medians.tsv
cat medians.tsv

value() { awk -F'\t' -v s="$1" -v m="$2" '$3 == s && $4 == m { print $5 }' medians.tsv; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "—"; else printf "%.2f", a / b }'; }
{
  echo
  echo "P4, $phones phones fetching their files at once over TLS (one handshake per file), $rounds round(s), medians over rounds:"
  echo
  echo "| Metric | Outpost | nginx | Outpost / nginx |"
  echo "| --- | ---: | ---: | ---: |"
  for mode in "${tls_modes[@]}"; do
    suffix=''
    [ "$mode" = tls12 ] && suffix=_tls12
    for metric in fetch_p50_ms fetch_p90_ms fetch_p99_ms fetch_max_ms files_per_s cpu_ms_per_fetch failed_fetches; do
      o=$(value outpost "${metric}_$phones$suffix") x=$(value nginx "${metric}_$phones$suffix")
      echo "| $metric, $(tls_label "$mode") | $o | $x | $(ratio "$o" "$x") |"
    done
  done
  echo
  echo "Import of $ROWS rows: ${import_ms[0]} ms wall (${own_ms[0]} ms after the CLI's start), re-import ${import_ms[1]} ms (${own_ms[1]} ms)."
} >&2

for i in "${!own_ms[@]}"; do
  [ "${own_ms[$i]}" -lt "$IMPORT_LIMIT_MS" ] \
    || die "importing $ROWS rows took ${own_ms[$i]} ms of its own work, over the ${IMPORT_LIMIT_MS} ms target"
done
