#!/usr/bin/env bash
# P2, registrations over TLS (issue 7): phones register with digest
# authentication through the SUT (public TLS 127.0.20.1:5061) to a registrar
# (a separate Kamailio on 127.0.40.1:5060, kamailio/registrar.cfg, not
# measured), each over its own TLS connection, which stays open afterwards.
#
# Debian's SIPp has no TLS: SIPp runs `-t tn` (one TCP connection per phone)
# into a local stunnel client that carries each over its own TLS connection
# (full handshake every time: sessionResume = no) to the SUT, verifying the
# certificate both SUTs serve (ECDSA P-256 from a CA made for the run).
# Phone phN has the set-side password set-pw-N and the ICP-side identity N
# with password icp-pw-N at the registrar.
#   outpost   `outpost serve`: the phones are devices imported from CSV with
#             their ICP-side credentials (credential translation by the
#             B2BUA), the generator on the guard's allow-list, [sip]
#             max_connections and max_connections_per_source raised.
#   kamailio  kamailio/sut-registrations.cfg: TLS listener, digest check of
#             the phone, From/To translated to the ICP-side user, Path, relay
#             to the registrar and uac_auth() answering its challenge with
#             the ICP-side credentials (mode "uac_auth"). Runs with
#             kamailio/openssl_atfork.c preloaded, which keeps Debian's
#             Kamailio 5.6.3 from crashing under TLS load (see the file).
#
# After 20 warm-up registrations (their connections closed again) the SUT's
# PSS (lib.sh bench_pss_kib over its processes) is the baseline; then 1000
# phones register and stay connected, then 4000 more (5000 connected):
#   cpu_per_1000_regs_<N>  SUT CPU seconds per 1000 registrations, from just
#                          before SIPp starts until every phone of the step
#                          has its 200 (N = 5000: the 4000 added phones)
#   kib_per_phone_<N>      (PSS with N phones connected - baseline) / N
#   failed_regs_<N>        phones of the step without a 200
# The run fails unless the registrar holds a binding for the ICP-side user
# of every phone (kamcmd usrloc statistics, ul.lookup of the first and last
# phone) and the SUT holds one TLS connection per phone.
# --quick: N = 50 only.
#
#   scripts/bench/p2_registrations.sh --sut outpost|kamailio [--quick] [--outpost-bin PATH]
#
# Result lines on stdout (lib.sh bench_result), progress on stderr. Needs
# root. Debugging: BENCH_KEEP=1 keeps the work directory of a successful run,
# BENCH_OUTPOST_LOG sets Outpost's log filter (default warn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/bench/lib.sh
. "$here/lib.sh"

bench_parse_args p2 kamailio "$@"

TLS_PORT=5061
SIP_PORT=5060
TUNNEL=$BENCH_UAC:5070   # stunnel's plain TCP side, where SIPp connects
ADMIN=$BENCH_PUBLIC:9464
FQDN=sbc.bench.test
MAXCONN=20000            # both SUTs' connection limits
WARMUP=20
FIRST=10000              # phones are ph10000, ph10001, ...
WARM_FIRST=90000         # warm-up phones ph90000...
if [ "$quick" = 1 ]; then
  steps=(50)
  rate=50
else
  steps=(1000 5000)
  rate=200
fi
total=${steps[-1]}

log() { echo "p2 [$sut]: $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

bench_install
bench_loopback
bench_raise_nofile $((total * 2 + 1000)) || die "raise the open-file limit"
[ "$sut" = outpost ] && outpost_bin=$(bench_outpost_bin "$outpost_bin")
bench_ports_free "tcp:$BENCH_PUBLIC:$TLS_PORT" "udp:$BENCH_PRIVATE:$SIP_PORT" \
  "udp:$BENCH_FAR:$SIP_PORT" "tcp:$BENCH_FAR:$SIP_PORT" "tcp:$TUNNEL" "tcp:$ADMIN" \
  || die "the addresses of this benchmark are in use"

bench_workdir "p2 [$sut]"
log "work directory $work"

bench_make_certs "$work/certs" "$FQDN" || die "could not make the test certificates"

# --- the registrar (not measured) ----------------------------------------------
bench_render "$here/kamailio/registrar.cfg" "$work/registrar.cfg" \
  FAR="$BENCH_FAR" MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules \
  CTL="$work/registrar/ctl.sock" || die "rendering registrar.cfg"
bench_kamailio_start registrar_pid "$work/registrar" "$work/registrar.cfg" -m 256 \
  || die "the registrar did not start"
started+=("$registrar_pid")
bench_wait_listen udp "$BENCH_FAR" "$SIP_PORT" 15 || die "the registrar does not listen"
regctl() { kamcmd -s "unix:$work/registrar/ctl.sock" "$@"; }
bindings() { regctl stats.get_statistics location_contacts 2>/dev/null | awk '{ print $NF }'; }

# --- the system under test -------------------------------------------------------
sut_pids=()
case $sut in
  outpost)
    mkdir -p "$work/outpost"
    cfg=$work/outpost/outpost.toml
    data=$work/outpost/data
    cat >"$cfg" <<EOF
fqdn = "$FQDN"
[public]
interface = "$BENCH_PUBLIC"
protocols = "tls"
sip_tls_port = $TLS_PORT
rtp_ports = "40000-49999"
video = false
[private]
interface = "$BENCH_PRIVATE"
protocols = "udp/tcp"
sip_port = $SIP_PORT
rtp_ports = "40000-49999"
video = false
[ipbx]
address = "$BENCH_FAR"
port = $SIP_PORT
transport = "udp"
[admin]
listen = "$ADMIN"
# Plain HTTP on loopback: the scripts curl http://$ADMIN/healthz and /metrics.
tls = false
[log]
level = "${BENCH_OUTPOST_LOG:-warn}"
[sip]
# Every phone comes from the generator's one address.
max_connections = $MAXCONN
max_connections_per_source = $MAXCONN
EOF
    ocli() { "$outpost_bin" --config "$cfg" --data-dir "$data" "$@" >>"$work/outpost/cli.log" 2>&1; }
    ocli init || die "outpost init (see $work/outpost/cli.log)"
    ocli icps add --name registrar --host "$BENCH_FAR" --transports udp,tcp \
      || die "outpost icps add (see $work/outpost/cli.log)"
    {
      echo "setside_username;setside_password;icpside_username;icpside_password"
      awk -v a="$FIRST" -v n="$total" -v w="$WARM_FIRST" -v m="$WARMUP" 'BEGIN {
        for (i = a; i < a + n; i++) printf "ph%d;set-pw-%d;%d;icp-pw-%d\n", i, i, i, i
        for (i = w; i < w + m; i++) printf "ph%d;set-pw-%d;%d;icp-pw-%d\n", i, i, i, i }'
    } >"$work/outpost/devices.csv"
    ocli devices import "$work/outpost/devices.csv" || die "outpost devices import (see $work/outpost/cli.log)"
    # One address sends for every phone: allow-listed, as an operator would
    # for a test host (the guard's DoS threshold would deny it).
    ocli guard allow add "$BENCH_UAC" --note "bench load generator" || die "outpost guard allow add"
    # The run's certificate instead of the self-signed one it would make.
    mkdir -p "$data/tls"
    cp "$work/certs/server.crt" "$data/tls/default.crt"
    install -m 600 "$work/certs/server.key" "$data/tls/default.key"
    OUTPOST_SETUP_TOKEN=bench-setup-token-not-secret-0001 \
      "$outpost_bin" --config "$cfg" --data-dir "$data" serve \
      >"$work/outpost/stdout.log" 2>"$work/outpost/outpost.log" &
    started+=($!)
    sut_pids=("$!")
    if ! { bench_wait_listen tcp "$BENCH_PUBLIC" "$TLS_PORT" 30 \
      && bench_wait_listen udp "$BENCH_PRIVATE" "$SIP_PORT" 30 \
      && bench_wait_until 30 "Outpost's /healthz" curl -fsS "http://$ADMIN/healthz"; }; then
      tail -n 30 "$work/outpost/outpost.log" >&2
      die "Outpost did not start"
    fi
    ;;
  kamailio)
    bench_render "$here/kamailio/tls.cfg" "$work/tls.cfg" \
      CERT="$work/certs/server.crt" KEY="$work/certs/server.key" || die "rendering tls.cfg"
    bench_render "$here/kamailio/sut-registrations.cfg" "$work/sut-registrations.cfg" \
      PUBLIC="$BENCH_PUBLIC" PRIVATE="$BENCH_PRIVATE" FAR="$BENCH_FAR" \
      MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules CTL="$work/kamailio/ctl.sock" \
      TLSCFG="$work/tls.cfg" CHILDREN=4 MAXCONN="$MAXCONN" || die "rendering sut-registrations.cfg"
    kamailio -c -f "$work/sut-registrations.cfg" >"$work/check-cfg.log" 2>&1 \
      || { cat "$work/check-cfg.log" >&2; die "kamailio -c refused sut-registrations.cfg"; }
    # Debian's Kamailio 5.6.3 shares OpenSSL 3's per-thread state between
    # its workers and crashes under TLS load; kamailio/openssl_atfork.c
    # does what Kamailio 5.7.5+ does about it (see the file).
    cc -shared -fPIC -O2 -o "$work/openssl_atfork.so" "$here/kamailio/openssl_atfork.c" -ldl -lpthread \
      || die "cannot build kamailio/openssl_atfork.c (needs a C compiler)"
    LD_PRELOAD=$work/openssl_atfork.so \
      bench_kamailio_start kam_pid "$work/kamailio" "$work/sut-registrations.cfg" -m 1024 \
      || die "Kamailio did not start"
    started+=("$kam_pid")
    bench_wait_listen tcp "$BENCH_PUBLIC" "$TLS_PORT" 15 || die "Kamailio does not listen on TLS"
    mapfile -t sut_pids < <(bench_tree_pids "$kam_pid")
    log "mode uac_auth: Kamailio authenticates each phone, translates it to its ICP-side user and answers the registrar's 401 with uac_auth()"
    bench_result P2 kamailio mode uac_auth - >&2
    ;;
esac
log "SUT processes: ${sut_pids[*]}"

# --- the phones' TLS client --------------------------------------------------------
# Phones name the SUT by its FQDN (SNI and certificate check); every
# connection makes a full handshake. stunnel runs as a daemon: stopped with
# thousands of connections it may crash, and as a child of this shell that
# would be reported as if the run had failed.
cat >"$work/stunnel.conf" <<EOF
foreground = no
pid = $work/stunnel.pid
output = $work/stunnel.log
debug = warning
[sip]
client = yes
accept = $TUNNEL
connect = $BENCH_PUBLIC:$TLS_PORT
local = $BENCH_UAC
sni = $FQDN
CAfile = $work/certs/ca.crt
verifyChain = yes
checkHost = $FQDN
sslVersionMin = TLSv1.2
sessionResume = no
EOF
stunnel "$work/stunnel.conf" >"$work/stunnel.out" 2>&1 \
  || { cat "$work/stunnel.out" >&2; die "stunnel did not start"; }
bench_wait_until 15 "stunnel's pid file" test -s "$work/stunnel.pid" \
  || { cat "$work/stunnel.out" "$work/stunnel.log" >&2 2>/dev/null; die "stunnel did not start"; }
stunnel_pid=$(cat "$work/stunnel.pid")
started+=("$stunnel_pid")
bench_wait_listen tcp "${TUNNEL%:*}" "${TUNNEL#*:}" 15 \
  || { cat "$work/stunnel.out" "$work/stunnel.log" >&2 2>/dev/null; die "stunnel did not start"; }

# SUT-side TLS connections from phones.
sut_connections() { ss -Htn state established "( sport = :$TLS_PORT )" src "$BENCH_PUBLIC" | wc -l; }
# count_is COUNTER OP N: the counter function's value compared with N (a
# predicate for bench_wait_until, which re-runs it at every poll).
count_is() {
  local value
  value=$("$1")
  test "$value" "$2" "$3"
}

# phones NAME FIRST COUNT HOLD_MS: starts SIPp in the background for phones
# phFIRST.. (COUNT of them) at $rate/s; sets sipp_pid and sipp_dir.
port=5080
phones() {
  local name=$1 first=$2 count=$3 hold=$4
  sipp_dir=$work/phones-$name
  mkdir -p "$sipp_dir"
  awk -v a="$first" -v n="$count" 'BEGIN { print "SEQUENTIAL"
    for (i = a; i < a + n; i++) printf "ph%d;[authentication username=ph%d password=set-pw-%d]\n", i, i, i }' \
    >"$sipp_dir/users.csv"
  port=$((port + 1))
  (cd "$sipp_dir" && exec sipp -sf "$here/sipp/register_hold.xml" "$TUNNEL" -t tn \
    -i "$BENCH_UAC" -p "$port" -inf users.csv -m "$count" -r "$rate" -l "$count" -d "$hold" \
    -max_socket $((count + 100)) -recv_timeout 20000 \
    -nostdin -trace_err -trace_logs -trace_stat -stf stat.csv -fd 1 \
    >sipp.out 2>&1) &
  sipp_pid=$!
  started+=("$sipp_pid")
}
registered() { cat "$sipp_dir"/*_logs.log 2>/dev/null | grep -c '^registered' || true; }
sipp_failed() { read -r _ f < <(bench_sipp_counts "$sipp_dir/stat.csv"); echo "$f"; }

# Waits until COUNT phones of the current SIPp are registered, one failed,
# SIPp exited or the deadline passed; sets ok.
wait_registered() {
  local count=$1 secs=$2 deadline
  deadline=$(($(date +%s) + secs))
  while :; do
    ok=$(registered)
    [ "$ok" -ge "$count" ] && return 0
    [ "$(sipp_failed)" -gt 0 ] && { log "SIPp reports failed registrations"; return 1; }
    kill -0 "$sipp_pid" 2>/dev/null || { log "SIPp exited early"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out after ${secs}s"; return 1; }
    sleep 0.05
  done
}
show_errors() {
  bench_sipp_errors "$sipp_dir" >&2
  tail -n 5 "$sipp_dir/sipp.out" >&2 || true
}

# --- warm-up: TLS, digest and the registrar path once, connections closed ---------
phones warmup "$WARM_FIRST" "$WARMUP" 0
wait "$sipp_pid" || { show_errors; die "warm-up registrations failed (see $sipp_dir)"; }
ok=$(registered)
[ "$ok" -eq "$WARMUP" ] || { show_errors; die "warm-up: $ok of $WARMUP phones registered"; }
bench_wait_until 15 "the warm-up phones' TLS connections to close" \
  count_is sut_connections -eq 0 || die "the SUT still holds $(sut_connections) connections"
bench_wait_until 15 "the registrar to hold the $WARMUP warm-up bindings" \
  count_is bindings -eq "$WARMUP" || die "the registrar holds $(bindings) bindings, not $WARMUP"
log "warm-up: $WARMUP phones registered through $sut"

# --- measured steps -------------------------------------------------------------------
# Kamailio's workers are all forked by now.
[ "$sut" = kamailio ] && mapfile -t sut_pids < <(bench_tree_pids "$kam_pid")
pss0=$(bench_pss_kib "${sut_pids[@]}")
log "baseline PSS ${pss0} KiB"
connected=0
cpu_prev=$(bench_cpu_seconds "${sut_pids[@]}")
for n in "${steps[@]}"; do
  add=$((n - connected))
  t0=$(date +%s%N)
  phones "$n" $((FIRST + connected)) "$add" 3600000
  status=0
  wait_registered "$add" $((add / rate + 30)) || status=$?
  cpu=$(bench_cpu_seconds "${sut_pids[@]}")
  took=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  failed=$((add - ok))
  if [ "$status" -ne 0 ]; then
    show_errors
    log "step $n: $ok of $add phones registered in ${took}s; see $sipp_dir"
  fi
  connected=$((connected + ok))
  # Every registered phone's connection is open at the SUT.
  bench_wait_until 10 "the SUT to hold $connected TLS connections" \
    count_is sut_connections -ge "$connected" \
    || die "step $n: the SUT holds $(sut_connections) TLS connections for $connected registered phones"
  pss=$(bench_pss_kib "${sut_pids[@]}")
  log "step $n: $ok of $add phones registered at $rate/s in ${took}s, $connected connected;" \
    "SUT CPU $(awk -v a="$cpu_prev" -v b="$cpu" 'BEGIN { printf "%.2f", b - a }') s, PSS ${pss} KiB"
  bench_result P2 "$sut" "cpu_per_1000_regs_$n" \
    "$(awk -v a="$cpu_prev" -v b="$cpu" -v k="$add" 'BEGIN { printf "%.3f", (b - a) * 1000 / k }')" s
  bench_result P2 "$sut" "kib_per_phone_$n" \
    "$(awk -v a="$pss0" -v b="$pss" -v k="$n" 'BEGIN { printf "%.1f", (b - a) / k }')" KiB
  bench_result P2 "$sut" "failed_regs_$n" "$failed" registrations
  [ "$failed" -eq 0 ] || die "step $n: $failed of $add registrations failed"
  cpu_prev=$cpu
done

# --- did they reach the registrar? -------------------------------------------------
want=$((WARMUP + total))
bench_wait_until 10 "the registrar to hold $want bindings" count_is bindings -eq "$want" \
  || die "the registrar holds $(bindings) bindings, not $want: registrations did not all reach it"
for user in "$FIRST" $((FIRST + total - 1)); do
  # s: keeps kamcmd from sending the number as an integer.
  regctl ul.lookup location "s:$user" >"$work/lookup-$user.txt" 2>&1 || true
  if ! { grep -q "AoR: $user\$" "$work/lookup-$user.txt" && grep -q 'Address:' "$work/lookup-$user.txt"; }; then
    cat "$work/lookup-$user.txt" >&2
    die "the registrar has no binding for ICP-side user $user"
  fi
done
log "the registrar holds $want bindings, one per phone, under the ICP-side users (e.g. $(awk '/Address:/ { print $2; exit }' "$work/lookup-$FIRST.txt"))"
for pid in "${sut_pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || die "SUT process $pid died during the run"
done
