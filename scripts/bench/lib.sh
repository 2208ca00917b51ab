# Shared helpers for the side-by-side benchmarks (scripts/bench/*.sh).
# Source it: `. "$(dirname "$0")/lib.sh"`. Everything runs on loopback with
# this address plan, so Outpost and Kamailio+rtpengine see the same network:
#   127.0.10.1  load generator (SIPp UAC, phones, RTP sender)
#   127.0.20.1  SUT public side (Internet)
#   127.0.30.1  SUT private side (LAN)
#   127.0.40.1  far end on the LAN (SIPp UAS, registrar, RTP receiver)
#   127.0.0.1:22230  rtpengine's ng control socket
# shellcheck shell=bash

BENCH_UAC=127.0.10.1
BENCH_PUBLIC=127.0.20.1
BENCH_PRIVATE=127.0.30.1
BENCH_FAR=127.0.40.1
BENCH_NG=127.0.0.1:22230
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export BENCH_UAC BENCH_PUBLIC BENCH_PRIVATE BENCH_FAR BENCH_NG BENCH_ROOT

# Installs the Debian packages the comparison needs, only when missing.
bench_install() {
  local missing=() pkg
  for pkg in kamailio kamailio-tls-modules rtpengine-daemon sip-tester stunnel4 iproute2 procps openssl; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "bench: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # policy-rc.d may refuse to start the packaged services; we start our own.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  # The packaged daemons would hold the ports we use.
  systemctl stop rtpengine-daemon kamailio >/dev/null 2>&1 || true
}

# Prints one machine-readable result line; compare.sh collects them.
#   bench_result MEASURE SUT METRIC VALUE UNIT
bench_result() {
  printf 'RESULT\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5"
}

# PID and all its descendants, one per line.
bench_tree_pids() {
  local root=$1 pid
  echo "$root"
  for pid in $(ps -o pid= --ppid "$root" 2>/dev/null); do
    bench_tree_pids "$pid"
  done
}

# CPU seconds (user + system, all threads) used so far by the given PIDs.
bench_cpu_seconds() {
  local pid total=0 ticks hz
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do
    # Fields after the ")" of the command name: utime is 12th, stime 13th.
    ticks=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || continue
    total=$((total + ${ticks:-0}))
  done
  awk -v t="$total" -v hz="$hz" 'BEGIN { printf "%.3f", t / hz }'
}

# Proportional set size in KiB summed over PIDs: shared pages (Kamailio's
# shared memory, libraries) counted once across its processes, so the sum
# is comparable with a single-process SUT.
bench_pss_kib() {
  local pid total=0 kb
  for pid in "$@"; do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# Waits until something listens on PROTO (udp|tcp) IP:PORT, or fails.
bench_wait_listen() {
  local proto=$1 ip=$2 port=$3 secs=${4:-15} flag i
  [ "$proto" = udp ] && flag=-lun || flag=-ltn
  for ((i = 0; i < secs * 20; i++)); do
    ss -H "$flag" "src $ip:$port" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on $proto $ip:$port after ${secs}s" >&2
  return 1
}

# Adds the benchmark's loopback addresses (Linux answers for all of
# 127/8 already; this only makes them show in `ip addr` for clarity).
bench_loopback() {
  local ip
  for ip in "$BENCH_UAC" "$BENCH_PUBLIC" "$BENCH_PRIVATE" "$BENCH_FAR"; do
    ip addr add "$ip/32" dev lo 2>/dev/null || true
  done
}

# Starts rtpengine in userspace (no kernel forwarding: --table=-1) with a
# public and a private interface like Outpost's. Sets RTPENGINE_PID.
#   rtpengine_start WORKDIR
rtpengine_start() {
  local dir=$1
  mkdir -p "$dir"
  # --config-file=none: the packaged /etc/rtpengine/rtpengine.conf sets its
  # own control ports and TOS, which would clash with ours.
  rtpengine --config-file=none --foreground --log-stderr --log-level=4 --table=-1 \
    --interface="pub/$BENCH_PUBLIC" --interface="priv/$BENCH_PRIVATE" \
    --listen-ng="$BENCH_NG" --port-min=40000 --port-max=49999 \
    --num-threads="$(nproc)" --delete-delay=0 --timeout=60 \
    >"$dir/rtpengine.log" 2>&1 &
  RTPENGINE_PID=$!
  export RTPENGINE_PID
  bench_wait_listen udp "${BENCH_NG%:*}" "${BENCH_NG#*:}" 15 || {
    cat "$dir/rtpengine.log" >&2
    return 1
  }
}

# Stops a process started in the background and waits for it.
bench_stop() {
  local pid
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------
# Helpers of p1_calls.sh and p2_registrations.sh (appended; the functions
# above are unchanged).

# Installs tshark (dumpcap to count relayed RTP packets on lo, editcap to cut
# the RTP capture SIPp plays), only when missing.
bench_install_capture() {
  command -v dumpcap >/dev/null 2>&1 && command -v editcap >/dev/null 2>&1 \
    && command -v tshark >/dev/null 2>&1 && return 0
  echo "bench: installing tshark" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends tshark >&2
}

# Polls COMMAND... every 50 ms until it succeeds; fails after SECS seconds.
#   bench_wait_until SECS WHAT COMMAND...
bench_wait_until() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + secs * 1000000000))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s%N)" -gt "$deadline" ]; then
      echo "bench: timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

# The outpost binary: PATH when given, else a fresh release build.
#   bench_outpost_bin [PATH]
bench_outpost_bin() {
  if [ -n "${1:-}" ]; then
    [ -x "$1" ] || { echo "bench: $1 is not an executable" >&2; return 1; }
    echo "$1"
    return 0
  fi
  echo "bench: building Outpost (cargo build --release -p outpost)" >&2
  (cd "$BENCH_ROOT" && cargo build --quiet --release -p outpost --bin outpost >&2)
  echo "$BENCH_ROOT/target/release/outpost"
}

# Renders a configuration template: every @KEY@ becomes VALUE; fails if a
# placeholder is left.   bench_render TEMPLATE OUTPUT KEY=VALUE...
bench_render() {
  local template=$1 output=$2 kv key value
  shift 2
  cp "$template" "$output"
  for kv in "$@"; do
    key=${kv%%=*}
    value=${kv#*=}
    value=${value//\\/\\\\}
    value=${value//|/\\|}
    value=${value//&/\\&}
    sed -i "s|@${key}@|${value}|g" "$output"
  done
  if grep -n '@[A-Z_]\+@' "$output" >&2; then
    echo "bench: placeholders left in $output (from $template)" >&2
    return 1
  fi
}

# Starts Kamailio in the foreground (-DD: no daemon, but its worker
# processes) with its log on stderr (-E) in DIR/kamailio.log.
#   bench_kamailio_start VAR DIR CONFIG [kamailio options...]
# Sets VAR to the main process's PID and waits until its control socket
# DIR/ctl.sock answers (the workers are forked by then).
bench_kamailio_start() {
  local var=$1 dir=$2 cfg=$3 pid
  shift 3
  mkdir -p "$dir"
  kamailio -DD -E -f "$cfg" -Y "$dir" -w "$dir" "$@" >"$dir/kamailio.log" 2>&1 &
  pid=$!
  printf -v "$var" '%s' "$pid"
  if ! bench_wait_until 20 "Kamailio ($cfg) to answer on $dir/ctl.sock" \
    kamcmd -s "unix:$dir/ctl.sock" core.uptime; then
    tail -n 30 "$dir/kamailio.log" >&2
    return 1
  fi
  kill -0 "$pid" 2>/dev/null || { tail -n 30 "$dir/kamailio.log" >&2; return 1; }
}

# Successful and failed calls ("OK FAILED") from the last line of a SIPp
# statistics file (-trace_stat -stf FILE, ';'-separated with a header).
bench_sipp_counts() {
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    { ok = $col["SuccessfulCall(C)"]; failed = $col["FailedCall(C)"] }
    END { printf "%d %d\n", ok, failed }' "$1" 2>/dev/null || echo "0 0"
}

# A test CA and a server certificate for NAME signed by it, ECDSA P-256 like
# Outpost's self-signed default, in DIR: ca.crt, server.crt, server.key
# (PKCS#8). Both SUTs serve the same certificate in P2.
#   bench_make_certs DIR NAME
bench_make_certs() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -subj "/CN=Outpost bench CA" -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=$name" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$name" >ext.cnf
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile ext.cnf -out server.crt 2>/dev/null
  )
  [ -s "$dir/server.crt" ] && [ -s "$dir/server.key" ]
}

# Raises the open-file limit of this shell (and what it starts) to 65536, or
# to the hard limit when that is lower; fails below NEEDED.
#   bench_raise_nofile NEEDED
bench_raise_nofile() {
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
    echo "bench: open-file limit $(ulimit -n) is below the $1 this run needs" >&2
    return 1
  fi
  echo "bench: open-file limit $(ulimit -n)" >&2
}

# Fails, naming the holder, when something already listens on one of the
# given PROTO:IP:PORT (udp|tcp) endpoints: a leftover SUT would be measured
# (or answer) instead of the one this run starts.
#   bench_ports_free udp:127.0.20.1:5060 tcp:127.0.20.1:5061 ...
bench_ports_free() {
  local spec proto addr flag holder busy=0
  for spec in "$@"; do
    proto=${spec%%:*}
    addr=${spec#*:}
    [ "$proto" = udp ] && flag=-lunp || flag=-ltnp
    holder=$(ss -H "$flag" "src $addr" 2>/dev/null | grep -o 'users:.*' | head -n 1)
    if [ -n "$holder" ]; then
      echo "bench: $proto $addr is already in use by $holder; stop it first" >&2
      busy=1
    fi
  done
  return "$busy"
}

# Why SIPp calls failed: the non-zero cumulative failure counters (and
# retransmissions) from the last line of a -trace_stat file, e.g.
# "FailedTimeoutOnRecv=2 Retransmissions=31".
bench_sipp_failures() {
  awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; next }
    { for (i in name) v[i] = $i }
    END { for (i in name) if (name[i] ~ /^(Failed.*|Retransmissions|DeadCallMsgs|OutOfCallMsgs)\(C\)$/ && v[i] + 0 > 0)
            printf "%s=%s ", substr(name[i], 1, length(name[i]) - 3), v[i]; print "" }' "$1" 2>/dev/null
}

# The first few errors SIPp traced (-trace_err) in DIR, one line each.
bench_sipp_errors() {
  cat "$1"/*_errors.log 2>/dev/null | tr -d '\r' \
    | grep -E "Aborting|aborted|[Tt]imeout|timed out|[Ff]ailed|rror" | cut -c1-300 | head -n 5 || true
}

# The measure scripts' common arguments, into the variables sut, quick (0|1)
# and outpost_bin:  --sut outpost|OTHER [--quick] [--outpost-bin PATH]
#   bench_parse_args NAME OTHER "$@"
# shellcheck disable=SC2034 # sets the calling script's variables
bench_parse_args() {
  local name=$1 other=$2
  shift 2
  sut='' quick=0 outpost_bin=
  while [ $# -gt 0 ]; do
    case $1 in
      --sut) sut=${2:?--sut outpost|$other}; shift ;;
      --quick) quick=1 ;;
      --outpost-bin) outpost_bin=${2:?--outpost-bin PATH}; shift ;;
      -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
      *) echo "$name: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
  done
  case $sut in
    outpost | "$other") ;;
    *) echo "$name: --sut outpost|$other is required" >&2; exit 2 ;;
  esac
}

# Makes the run's work directory ($work) and an EXIT trap that stops every
# PID in $started (newest first) and removes $work, unless the run failed
# (its logs and configs stay, and the message says where) or BENCH_KEEP=1.
#   bench_workdir LABEL          e.g. bench_workdir "p1 [outpost]"
# shellcheck disable=SC2034 # sets the calling script's variables
bench_workdir() {
  BENCH_LABEL=$1
  work=$(mktemp -d "/tmp/bench-${1%% *}-XXXXXX")
  started=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local status=$? i
  trap - EXIT
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    bench_stop "${started[$i]}"
  done
  if [ "$status" -ne 0 ]; then
    echo "$BENCH_LABEL: exit $status; logs and configs in $work" >&2
  elif [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "$BENCH_LABEL: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
