#!/usr/bin/env bash
# Prints the Markdown comparison table from a results file written by
# compare.sh: one line per result, tab-separated
#   MEASURE  SUT  METRIC  VALUE  UNIT  ROUND
# Each cell is the median over rounds; the ratio is Outpost / other SUT
# (Kamailio+rtpengine for P1, P2 and MEM, rtpengine for P3).
#   scripts/bench/report.sh RESULTS.tsv
set -euo pipefail
results=${1:?usage: report.sh RESULTS.tsv}
[ -s "$results" ] || { echo "report.sh: $results has no results" >&2; exit 1; }

awk -F'\t' '
function label(m, unit,   p) {
  if (match(m, /^cpu_per_1000_calls_[0-9]+cps$/)) { p = m; sub(/.*_/, "", p); sub(/cps/, "", p); return "CPU s per 1000 calls at " p " calls/s (lower is better)" }
  if (match(m, /^failed_calls_[0-9]+cps$/)) { p = m; sub(/.*_/, "", p); sub(/cps/, "", p); return "failed calls at " p " calls/s" }
  if (m == "max_rate") return "highest rate with no failed call, calls/s (higher is better)"
  if (match(m, /^cpu_per_1000_regs_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return "CPU s per 1000 TLS registrations, " p " phones (lower is better)" }
  if (match(m, /^kib_per_phone_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return "KiB per connected TLS phone, " p " phones (lower is better)" }
  if (match(m, /^failed_regs_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return "failed registrations, " p " phones" }
  if (match(m, /^(cpu_per_1000_pkts|loss_pct|latency_median_us|latency_p99_us)_(srtp|rtp)_[0-9]+$/)) {
    p = m; sub(/.*_/, "", p)
    mode = (m ~ /_srtp_/) ? "SRTP→RTP" : "RTP→RTP"
    if (m ~ /^cpu/) what = "CPU ms per 1000 packets"
    else if (m ~ /^loss/) what = "loss %"
    else if (m ~ /median/) what = "added latency median µs"
    else what = "added latency p99 µs"
    return what ", " mode ", " p " streams (lower is better)"
  }
  if (match(m, /^rss_idle_kib_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return (p == 0) ? "RSS at start, KiB" : "RSS idle after burst " p ", KiB (lower is better)" }
  if (match(m, /^rss_peak_kib_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return "peak RSS in burst " p ", KiB (lower is better)" }
  if (match(m, /^pss_end_kib_[0-9]+$/)) { p = m; sub(/.*_/, "", p); return "PSS at the end of burst " p ", KiB (lower is better)" }
  if (m == "idle_growth_pct") return "idle RSS growth across bursts, % (lower is better)"
  return m " (" unit ")"
}
function median(k,   i, j, t, c, a) {
  c = n[k]
  if (c == 0) return ""
  for (i = 1; i <= c; i++) a[i] = v[k, i] + 0
  for (i = 2; i <= c; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  if (c % 2) return a[(c + 1) / 2]
  return (a[c / 2] + a[c / 2 + 1]) / 2
}
function fmt(x) {
  if (x == "") return "—"
  if (x == int(x) && x >= 10) return sprintf("%d", x)
  if (x >= 100) return sprintf("%.0f", x)
  if (x >= 0.1) return sprintf("%.2f", x)
  return sprintf("%.3g", x)
}
{
  key = $1 SUBSEP $3
  if (!(key in seen)) { seen[key] = 1; order[++rows] = key; unit[key] = $5 }
  side = ($2 == "outpost") ? "o" : "x"
  if (side == "x") other[$1] = $2
  k = key SUBSEP side
  n[k]++
  v[k, n[k]] = ($1 == "P3" && $3 ~ /^cpu_per_1000_pkts/) ? $4 * 1000 : $4
}
END {
  print "| Measure | Metric | Outpost | Kamailio + rtpengine | Outpost / other |"
  print "| --- | --- | ---: | ---: | ---: |"
  for (r = 1; r <= rows; r++) {
    key = order[r]
    split(key, parts, SUBSEP)
    o = median(key SUBSEP "o"); x = median(key SUBSEP "x")
    ratio = (o != "" && x != "" && x + 0 != 0) ? sprintf("%.2f", o / x) : "—"
    who = (parts[1] == "P3") ? " (rtpengine)" : ""
    print "| " parts[1] " | " label(parts[2], unit[key]) " | " fmt(o) " | " fmt(x) who " | " ratio " |"
  }
}' "$results"
