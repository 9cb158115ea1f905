#!/usr/bin/env bash
# Database pool figures (issue 3, "Benchmark"): single-row-insert transactions/s through
# mercato::db::pool against raw libpqxx at the same connection count, and the slow-unit isolation
# figure. See bench/README.md, section "Database pool".
#
#   bench/db_bench.sh [--no-build] [--quick] [--runs N] [--seconds S] [--window W] [--refill N]
#     --no-build  use build/bench/db_bench as it is
#     --quick     1 run of 2 s per point: a smoke test of the script, NOT figures to report
#     --runs N    runs per point (default 3); --seconds S  measured seconds per mode (default 5)
#     --window W, --refill N  passed to db_bench (pool submitter: W units in flight per
#                 connection, wake up when N slots are free; defaults 4 and 1)
#
# With DATABASE_URL unset it uses the private cluster (scripts/pg.sh), starting it if needed and
# stopping it at exit only if it started it. Each run is one `db_bench --mode both` process (raw
# and pool back to back, each on a freshly truncated table, the order alternating between runs),
# so box noise hits both modes of a run alike.
# Before each run it waits (at most BENCH_IDLE_WAIT s, default 120) until less than
# BENCH_BUSY_LIMIT % (default 15) of the CPU is busy, and says so when it had to give up.
# Environment: DATABASE_URL, MERCATO_BUILD_DIR (default build), BENCH_IDLE_WAIT, BENCH_BUSY_LIMIT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
runs=3
seconds=5
warmup=1
connection_counts=(1 4)
isolation_runs=3
window=4
refill=1
while (($#)); do
  case "$1" in
    --no-build) build=0 ;;
    --quick) runs=1; seconds=2; warmup=0.5; isolation_runs=1 ;;
    --runs) runs="${2:?--runs needs a value}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift ;;
    --window) window="${2:?--window needs a value}"; shift ;;
    --refill) refill="${2:?--refill needs a value}"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "db_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ "$runs" =~ ^[1-9][0-9]?$ ]] || { echo "db_bench.sh: --runs must be 1..99" >&2; exit 2; }
[[ "$seconds" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "db_bench.sh: --seconds must be 1..999" >&2; exit 2; }
[[ "$window" =~ ^[1-9][0-9]{0,2}$ && "$refill" =~ ^[1-9][0-9]{0,3}$ ]] \
  || { echo "db_bench.sh: --window must be 1..999 and --refill 1..9999" >&2; exit 2; }

idle_wait="${BENCH_IDLE_WAIT:-120}"   # seconds to wait for an idle box before each run
busy_limit="${BENCH_BUSY_LIMIT:-15}"  # "idle" = fewer than this % of CPU busy over 1 s
[[ "$idle_wait" =~ ^[0-9]+$ && "$busy_limit" =~ ^[0-9]+$ ]] \
  || { echo "db_bench.sh: BENCH_IDLE_WAIT and BENCH_BUSY_LIMIT must be integers" >&2; exit 2; }
skewed=0
build_dir="${MERCATO_BUILD_DIR:-build}"
bin="$build_dir/bench/db_bench"

say() { echo "[db_bench] $*" >&2; }
die() { echo "[db_bench] error: $*" >&2; exit 1; }

# ---- cleanup: a running db_bench, the cluster if we started it, the temp dir -----------------------
started_pg=0
tmp_dir=""
bench_pid=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$bench_pid" ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true  # timeout(1) passes it on to db_bench
    wait "$bench_pid" 2>/dev/null || true
  fi
  if ((started_pg)); then
    say "stopping the private cluster (this script started it)"
    scripts/pg.sh stop >&2 || true
  fi
  [[ -n "$tmp_dir" && -d "$tmp_dir" ]] && rm -rf "$tmp_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp_dir="$(mktemp -d)"

# ---- build ------------------------------------------------------------------------------------
if ((build)); then
  cc="$(pgrep -c cc1plus 2>/dev/null || true)"
  ((${cc:-0} == 0)) || say "warning: $cc compiler process(es) running; building anyway"
  if [[ -f "$build_dir/build.ninja" ]]; then
    say "building: ninja -C $build_dir db_bench"
    ninja -C "$build_dir" db_bench >&2 || die "build failed"
  else
    say "building: scripts/build.sh"
    MERCATO_BUILD_DIR="$build_dir" scripts/build.sh >&2 || die "build failed"
  fi
fi
[[ -x "$bin" ]] || die "$bin not found; build it (scripts/build.sh) or drop --no-build"

# ---- database ---------------------------------------------------------------------------------
if [[ -n "${DATABASE_URL:-}" ]]; then
  url="$DATABASE_URL"
  say "using DATABASE_URL"
else
  if scripts/pg.sh status >/dev/null 2>&1; then
    say "private cluster already running: using it, leaving it running"
  else
    say "starting the private cluster (scripts/pg.sh start)"
    started_pg=1
    scripts/pg.sh start >&2 || die "could not start the private cluster"
  fi
  url="$(scripts/pg.sh url)"
fi

# ---- helpers ----------------------------------------------------------------------------------
median() {  # numbers... -> median (mean of the two middle values for an even count)
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
field() {  # file mode key -> value of key= on the "db_bench <mode> " line
  awk -v m="$2" -v k="$3" '$1 == "db_bench" && $2 == m {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$1"
}
cpu_busy_pct() {  # share of all CPUs busy over the next second (from /proc/stat)
  local a b
  a="$(head -n 1 /proc/stat)"
  sleep 1
  b="$(head -n 1 /proc/stat)"
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 2; i <= n; i++) t += y[i] - x[i]
    idle = (y[5] - x[5]) + (y[6] - x[6])
    printf "%d\n", (t > 0) ? 100 * (t - idle) / t : 0 }'
}
noise() {  # label: wait (bounded) for an idle box, then log the noise indicators
  local cc busy waited=0
  while :; do
    busy="$(cpu_busy_pct)"
    ((busy >= busy_limit && waited < idle_wait)) || break
    ((waited % 10)) || say "$1: box $busy% busy (other work); waiting for it to calm down"
    waited=$((waited + 1))
  done
  cc="$(pgrep -c cc1plus 2>/dev/null || true)"
  say "$1: cpu ${busy}% busy before start, loadavg $(cut -d' ' -f1-3 /proc/loadavg), cc1plus ${cc:-0}"
  ((${cc:-0} == 0)) || say "warning: a compiler is running: figures of this run are skewed"
  if ((busy >= busy_limit)); then
    say "warning: the box was still ${busy}% busy after ${idle_wait} s: figures of this run are skewed"
    skewed=$((skewed + 1))
  fi
}
run_bench() {  # output-file args...
  local out="$1"; shift
  # Bounded: warm-up + measurement per phase, connection set-up, schema work, plus slack.
  local limit=$((2 * (seconds + 2) + 60))
  # In the background + wait, so that INT/TERM run the trap at once (cleanup stops it).
  timeout --kill-after=5 "$limit" "$bin" --url "$url" "$@" >"$out" 2>"$out.err" &
  bench_pid=$!
  local rc=0
  wait "$bench_pid" || rc=$?
  bench_pid=""
  if ((rc != 0)); then
    cat "$out" "$out.err" >&2
    die "db_bench $* failed with exit status $rc (its output above)"
  fi
  cat "$out"
}

# ---- throughput: runs x {1, 4} connections x {raw, pool} -----------------------------------------
declare -A raw_tx pool_tx run_ratio
for ((run = 1; run <= runs; run++)); do
  for c in "${connection_counts[@]}"; do
    noise "run $run, $c connection(s)"
    out="$tmp_dir/tx_${run}_${c}.txt"
    run_bench "$out" --mode both --connections "$c" --seconds "$seconds" --warmup "$warmup" \
      --window "$window" --refill "$refill"
    r="$(field "$out" raw tx_per_s)"
    p="$(field "$out" pool tx_per_s)"
    [[ -n "$r" && -n "$p" ]] || die "could not parse the output of run $run ($c connections)"
    raw_tx[$c]+="$r "
    pool_tx[$c]+="$p "
    run_ratio[$c]+="$(field "$out" ratio pool_over_raw) "
  done
done

# ---- slow unit isolation ------------------------------------------------------------------------
iso_quick=()
iso_sleep=()
for ((run = 1; run <= isolation_runs; run++)); do
  noise "isolation run $run"
  out="$tmp_dir/iso_${run}.txt"
  run_bench "$out" --mode isolation
  [[ "$(field "$out" isolation quick_before_sleep)" == 1 ]] \
    || say "warning: isolation run $run: the quick units did not all finish before the sleep"
  iso_quick+=("$(field "$out" isolation quick_all_done_ms)")
  iso_sleep+=("$(field "$out" isolation sleep_done_ms)")
done

# ---- summary ----------------------------------------------------------------------------------
echo
echo "## db_bench summary ($runs run(s) x ${seconds} s per point, median; pool window ${window}/connection," \
  "refill $refill; $(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "| connections | raw tx/s (runs) | pool tx/s (runs) | pool / raw (medians) | per-run ratios | target |"
echo "|---|---|---|---|---|---|"
for c in "${connection_counts[@]}"; do
  # shellcheck disable=SC2086  # space-separated lists
  mr="$(median ${raw_tx[$c]})"
  # shellcheck disable=SC2086
  mp="$(median ${pool_tx[$c]})"
  ratio="$(awk -v p="$mp" -v r="$mr" 'BEGIN { if (r > 0) printf "%.3f", p / r; else print "n/a" }')"
  verdict="$(awk -v x="$ratio" 'BEGIN { print (x + 0 >= 0.85) ? "PASS (>= 0.85)" : "FAIL (>= 0.85)" }')"
  echo "| $c | $mr (${raw_tx[$c]% }) | $mp (${pool_tx[$c]% }) | **$ratio** | ${run_ratio[$c]% } | $verdict |"
done
echo
q="$(median "${iso_quick[@]}")"
s="$(median "${iso_sleep[@]}")"
verdict="$(awk -v q="$q" 'BEGIN { print (q + 0 < 2000) ? "PASS (not delayed by the sleep)" : "FAIL" }')"
echo "| isolation (pool of 2: SELECT pg_sleep(2), then 100 x SELECT 1) | median |"
echo "|---|---|"
echo "| 100 quick units all done after (ms) | **$q** (${iso_quick[*]}) |"
echo "| sleep unit done after (ms) | $s (${iso_sleep[*]}) |"
echo "| verdict | $verdict |"
if ((skewed)); then
  echo
  echo "WARNING: $skewed run(s) started on a busy box (see stderr): do not report these figures."
fi
