#!/usr/bin/env bash
# Removes every network namespace the Outpost test bed made (names start
# with "opt", see tests/e2e/src/netns.rs) and kills the processes inside
# them: what a killed `cargo test` leaves behind. Idempotent; safe to run
# when nothing is left. Lab directories in $TMPDIR (outpost-lab-*) are kept
# for reading; pass --dirs to remove them too.
set -uo pipefail

if ! command -v ip >/dev/null 2>&1; then
  echo "testbed-cleanup: ip (iproute2) not found; nothing to clean" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "testbed-cleanup: must run as root to delete network namespaces" >&2
  exit 1
fi

removed=0
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^opt[0-9]+-' || true); do
  pids=$(ip netns pids "$ns" 2>/dev/null || true)
  if [ -n "$pids" ]; then
    kill -KILL $pids 2>/dev/null || true
  fi
  if ip netns del "$ns" 2>/dev/null; then
    removed=$((removed + 1))
  fi
done
echo "testbed-cleanup: removed $removed namespace(s)"

if [ "${1:-}" = "--dirs" ]; then
  rm -rf "${TMPDIR:-/tmp}"/outpost-lab-*
  echo "testbed-cleanup: removed lab directories"
fi
