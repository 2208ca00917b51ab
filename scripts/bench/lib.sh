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
  rtpengine --foreground --log-stderr --log-level=4 --table=-1 \
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
