# Shared by the call benchmarks (p1_calls.sh, memory.sh): the far end (a
# SIPp UAS echoing RTP), the system under test between the generator and
# the far end, and a SIPp UAC runner. Source it after lib.sh and
# bench_parse_args; it expects $work, $here, $sut, $outpost_bin, log, die,
# and sets sut_pids (and kam_pid for Kamailio).
#
# For Outpost, BENCH_OUTPOST_TOML is appended to its configuration file
# (e.g. a [sip] section) and BENCH_OUTPOST_WRAP is put before its command
# (e.g. "heaptrack -o /tmp/outpost" for a heap profile).
#
# The caller's credentials: the Outpost device and Kamailio's check.
USER=loadphone
PASSWORD=load-Secret-1
SIP_PORT=5060
MEDIA_PORT=6000
ADMIN=$BENCH_PUBLIC:9464

# calls_check_ports: fails unless this benchmark's addresses are free.
calls_check_ports() {
  local ports=("udp:$BENCH_PUBLIC:$SIP_PORT" "udp:$BENCH_PRIVATE:$SIP_PORT" "udp:$BENCH_FAR:$SIP_PORT"
    "udp:$BENCH_UAC:$SIP_PORT" "udp:$BENCH_UAC:$MEDIA_PORT" "udp:$BENCH_FAR:$MEDIA_PORT")
  if [ "$sut" = kamailio ]; then ports+=("udp:$BENCH_NG"); else ports+=("tcp:$ADMIN"); fi
  bench_ports_free "${ports[@]}"
}

# calls_start: starts the far end and the SUT.
calls_start() {
# --- the far end -----------------------------------------------------------
mkdir -p "$work/uas"
(cd "$work/uas" && exec sipp -sf "$here/sipp/uas.xml" -i "$BENCH_FAR" -p "$SIP_PORT" \
  -mi "$BENCH_FAR" -mp "$MEDIA_PORT" -rtp_echo -nostdin -trace_err \
  >"$work/uas/sipp.out" 2>&1) &
started+=($!)
bench_wait_listen udp "$BENCH_FAR" "$SIP_PORT" 15 || die "the SIPp UAS did not start ($work/uas/sipp.out)"

# --- the system under test -------------------------------------------------
sut_pids=()
case $sut in
  outpost)
    mkdir -p "$work/outpost"
    cfg=$work/outpost/outpost.toml
    cat >"$cfg" <<EOF
fqdn = "sbc.bench.test"
[public]
interface = "$BENCH_PUBLIC"
protocols = "tls+udp/tcp"
sip_port = $SIP_PORT
sip_tls_port = 5061
# rtpengine's range (lib.sh rtpengine_start), one pool per side.
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
[media]
# SIPp sends plain RTP: RTP on both sides, as rtpengine does here.
set_side_inbound = "srtp-or-rtp"
set_side_outbound = "rtp"
icp_side_outbound = "rtp"
${BENCH_OUTPOST_TOML:-}
EOF
    ocli() { "$outpost_bin" --config "$cfg" --data-dir "$work/outpost/data" "$@" >>"$work/outpost/cli.log" 2>&1; }
    ocli init || die "outpost init (see $work/outpost/cli.log)"
    ocli icps add --name far --host "$BENCH_FAR" --transports udp,tcp || die "outpost icps add (see $work/outpost/cli.log)"
    printf 'setside_username;setside_password\n%s;%s\n' "$USER" "$PASSWORD" >"$work/outpost/devices.csv"
    ocli devices import "$work/outpost/devices.csv" || die "outpost devices import (see $work/outpost/cli.log)"
    # One address sends for every caller: allow-listed, as an operator would
    # for a test host or trunk (the guard's DoS threshold would deny it).
    ocli guard allow add "$BENCH_UAC" --note "bench load generator" || die "outpost guard allow add"
    # A script's own additions to the store before Outpost starts (soak.sh:
    # a registrar ICP and its phones), when it defines calls_outpost_setup.
    if declare -F calls_outpost_setup >/dev/null; then
      calls_outpost_setup || die "the bench's store set-up (see $work/outpost/cli.log)"
    fi
    OUTPOST_SETUP_TOKEN=bench-setup-token-not-secret-0001 \
      ${BENCH_OUTPOST_WRAP:-} "$outpost_bin" --config "$cfg" --data-dir "$work/outpost/data" serve \
      >"$work/outpost/stdout.log" 2>"$work/outpost/outpost.log" &
    started+=($!)
    sut_pids=("$!")
    if ! { bench_wait_listen udp "$BENCH_PUBLIC" "$SIP_PORT" 30 \
      && bench_wait_listen udp "$BENCH_PRIVATE" "$SIP_PORT" 30 \
      && bench_wait_until 30 "Outpost's /healthz" curl -fsS "http://$ADMIN/healthz"; }; then
      tail -n 30 "$work/outpost/outpost.log" >&2
      die "Outpost did not start"
    fi
    ;;
  kamailio)
    rtpengine_start "$work/rtpengine" || die "rtpengine did not start"
    started+=("$RTPENGINE_PID")
    kill -0 "$RTPENGINE_PID" 2>/dev/null \
      || { tail -n 5 "$work/rtpengine/rtpengine.log" >&2; die "rtpengine exited at start"; }
    bench_render "$here/kamailio/sut-calls.cfg" "$work/sut-calls.cfg" \
      PUBLIC="$BENCH_PUBLIC" PRIVATE="$BENCH_PRIVATE" FAR="$BENCH_FAR" NG="$BENCH_NG" \
      MPATH=/usr/lib/x86_64-linux-gnu/kamailio/modules CTL="$work/kamailio/ctl.sock" \
      USER="$USER" PASSWORD="$PASSWORD" CHILDREN=4 || die "rendering sut-calls.cfg"
    kamailio -c -f "$work/sut-calls.cfg" >"$work/check-cfg.log" 2>&1 \
      || { cat "$work/check-cfg.log" >&2; die "kamailio -c refused sut-calls.cfg"; }
    bench_kamailio_start kam_pid "$work/kamailio" "$work/sut-calls.cfg" -m 512 \
      || die "Kamailio did not start"
    started+=("$kam_pid")
    bench_wait_listen udp "$BENCH_PUBLIC" "$SIP_PORT" 15 || die "Kamailio does not listen"
    mapfile -t sut_pids < <(bench_tree_pids "$kam_pid")
    sut_pids+=("$RTPENGINE_PID")
    ;;
esac
log "SUT processes: ${sut_pids[*]}"

  printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' "$USER" "$USER" "$PASSWORD" >"$work/users.csv"
  run=0
}

# --- calls -------------------------------------------------------------------
# calls NAME SCENARIO RATE CALLS CALL_MS: runs SIPp, sets ok, failed, took (s).
calls() {
  local name=$1 scenario=$2 rate=$3 count=$4 ms=$5 dir bound t0 status=0
  run=$((run + 1))
  dir="$work/uac-$run-$name"
  mkdir -p "$dir"
  [ -f "$work/check.pcap" ] && cp "$work/check.pcap" "$dir/"
  # Time bound: the calls at RATE, one call's length, and 5 s (or
  # CALLS_SLACK_SECS: a long run lets SIPp fall behind its rate a little).
  bound=$(((count + rate - 1) / rate + (ms + 999) / 1000 + ${CALLS_SLACK_SECS:-5}))
  t0=$(date +%s%N)
  (cd "$dir" && exec sipp -sf "$here/sipp/$scenario" "$BENCH_PUBLIC:$SIP_PORT" \
    -s service -auth_uri "service@$BENCH_PUBLIC:$SIP_PORT" \
    -i "$BENCH_UAC" -p "$SIP_PORT" -mi "$BENCH_UAC" -mp "$MEDIA_PORT" \
    -inf "$work/users.csv" -m "$count" -r "$rate" -d "$ms" -l "$count" \
    -timeout "${bound}s" -timeout_error -recv_timeout 5000 \
    -nostdin -trace_err -trace_stat -stf stat.csv -fd 1 ${BENCH_TRACE:+-trace_msg} \
    >sipp.out 2>&1) || status=$?
  took=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  read -r ok failed < <(bench_sipp_counts "$dir/stat.csv")
  failed=$((count - ok))
  if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
    log "$name: $ok of $count calls at $rate/s completed in ${took}s (SIPp exit $status, bound ${bound}s): $(bench_sipp_failures "$dir/stat.csv")"
    bench_sipp_errors "$dir" >&2
    [ "$failed" -gt 0 ] || failed=$count   # SIPp failed without counting
  else
    log "$name: $count calls at $rate/s completed in ${took}s"
  fi
}

