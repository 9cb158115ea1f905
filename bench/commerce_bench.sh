#!/usr/bin/env bash
# Order-to-cash figures (issue 4, "Benchmarks"): confirmed orders/s of POST /orders end to end
# (wrk + bench/lua/place_order.lua: unique Idempotency-Key per request, stock topped up so that
# it never runs out), and GET /products/{id} and GET /products?limit=20 throughput with p99.
# See bench/README.md, section "Order-to-cash".
#
#   bench/commerce_bench.sh [--no-build] [--quick]
#     --no-build  use the binaries already in the build dir
#     --quick     short runs (3 s): a smoke test of the script, NOT figures to report
#
# It uses a fresh database "mercato_bench" on the private cluster (scripts/pg.sh; started if
# needed), migrated and seeded with the demo catalogue, and a server on 127.0.0.1 with the
# gateway on BENCH_GATEWAY_PORT (18080) and legacy ports from BENCH_LEGACY_BASE (18000).
# Environment: MERCATO_BUILD_DIR (build), BENCH_CONNECTIONS (64), BENCH_SECONDS (15), BENCH_POOL (8),
# BENCH_WARMUP (2: seconds of orders before the measured run; with 30 or more the tables hold
# tens of thousands of orders when the measurement starts, so it sees neither the statistics
# keeper's ANALYZEs of a fresh database's doubling tables nor plans made on near-empty ones),
# BENCH_CONFIG_EXTRA (TOML appended to the server's config, for A/B runs: e.g.
# $'[order]\nconfirm_batch_max = 1' turns the order agent's confirmation batching off), BENCH_ANALYZE
# (0; 1 = ANALYZE after the 2 s warm-up: the steady state of a server whose tables autovacuum has
# analyzed once, instead of plans made on the fresh database's empty tables), BENCH_PROFILE (0; 1 =
# PostgreSQL's counts per order for the orders run: bench/pg_profile.sh, which loads
# pg_stat_statements into the private cluster once, restarting it), BENCH_SQL (SQL run on the
# bench database after migrate and seed, for A/B experiments on the schema: e.g.
# 'DROP INDEX orders.orders_name_trgm' asks what that index costs an order), BENCH_CUSTOMERS (4 = the
# demo customers with a card, CUST-001/002/003/006; N > 4 = N bench customers BENCH-00001.. made by
# bench/sql/bench_customers.sql in CUST-001's shape, the orders spread evenly over them: a shop's
# load comes from many accounts, while 4 accounts each placing ~140 orders a second make every
# order count 100 of its customer's last 24 h for fraud's velocity signal and queue on one
# customer-statistics row), BENCH_FAULTS (0; 1 = faults during the orders run: PostgreSQL is
# restarted a third of the way in (scripts/pg.sh stop + start) and the order agent crashed through
# the console two thirds in; "restart" = the restart alone; the script then waits for every saga
# to settle, prints the invariants of bench/sql/order_consistency.sql and skips the GET runs: a
# robustness check, not figures to compare with a run without faults; "crash:<agent>[,<agent>...]"
# = those agents crashed one after the other, spread evenly over the run, with no restart),
# BENCH_READ_CRASHES (0; N = the product agent crashed N times, evenly spread over the
# GET /products/{id} run, which then prints the agent's incarnation, the gateway's resends and
# wrk's errors: the reads a crash catches in the agent's mailbox are sent to the next incarnation),
# BENCH_ANNOUNCED_DIR (a directory: place_order.lua writes there the order id of every 201 of the
# measured run and the status and body of every other answer, and the script then lists the
# run's orders that no 201 named and counts the other answers), BENCH_KEEP_LOG (a file the
# server's log is copied to at the end), BENCH_LOG_LEVEL (warn; info adds saga resumptions, resends
# and the like).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=1
seconds="${BENCH_SECONDS:-15}"
warmup="${BENCH_WARMUP:-2}"
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --quick) seconds=3 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "commerce_bench.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

build_dir="${MERCATO_BUILD_DIR:-build}"
gw_port="${BENCH_GATEWAY_PORT:-18080}"
legacy_base="${BENCH_LEGACY_BASE:-18000}"
connections="${BENCH_CONNECTIONS:-64}"
threads=$(( connections < 2 ? 1 : 2 ))  # wrk needs connections >= threads
pool="${BENCH_POOL:-8}"
customers="${BENCH_CUSTOMERS:-4}"
[[ "$customers" =~ ^[0-9]+$ && "$customers" -ge 4 && "$customers" -le 99999 ]] \
  || { echo "commerce_bench.sh: BENCH_CUSTOMERS must be 4..99999" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ && "$warmup" -ge 1 && "$warmup" -le 600 ]] \
  || { echo "commerce_bench.sh: BENCH_WARMUP must be 1..600 (seconds)" >&2; exit 2; }
faults="${BENCH_FAULTS:-0}"
crash_agents=()
if [[ "$faults" == crash:* ]]; then
  IFS=, read -r -a crash_agents <<<"${faults#crash:}"
  for agent in "${crash_agents[@]}"; do
    [[ "$agent" =~ ^[a-z_]+$ ]] || { echo "commerce_bench.sh: BENCH_FAULTS=crash: takes agent names, e.g. crash:payment,inventory" >&2; exit 2; }
  done
  [[ ${#crash_agents[@]} -gt 0 ]] || { echo "commerce_bench.sh: BENCH_FAULTS=crash: names no agent" >&2; exit 2; }
fi
[[ "$faults" == 0 || "$faults" == 1 || "$faults" == restart || ${#crash_agents[@]} -gt 0 ]] ||
  { echo "commerce_bench.sh: BENCH_FAULTS must be 0, 1, restart or crash:<agent>[,<agent>...]" >&2; exit 2; }
read_crashes="${BENCH_READ_CRASHES:-0}"
[[ "$read_crashes" =~ ^[0-9]+$ && "$read_crashes" -le 20 ]] \
  || { echo "commerce_bench.sh: BENCH_READ_CRASHES must be 0..20" >&2; exit 2; }
[[ "$read_crashes" == 0 || "$faults" == 0 ]] \
  || { echo "commerce_bench.sh: BENCH_READ_CRASHES runs with the GET runs, which BENCH_FAULTS skips" >&2; exit 2; }
host=127.0.0.1
order_port=$((legacy_base + 0))
product_port=$((legacy_base + 1))
inventory_port=$((legacy_base + 2))

say() { echo "[commerce_bench] $*" >&2; }
die() { echo "[commerce_bench] error: $*" >&2; exit 1; }

# CPU time (user+system clock ticks) of PostgreSQL's processes, the server and the whole box, so
# the orders run can say where each order's CPU goes: "postgres mercato box".
cpu_ticks() {
  local pg=0 f
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    [[ "$line" == *"(postgres)"* ]] || continue
    local fields=(${line##*) })
    pg=$((pg + fields[11] + fields[12]))
  done
  local srv=0
  if [[ -n "$server_pid" && -r "/proc/$server_pid/stat" ]]; then
    local s; read -r s <"/proc/$server_pid/stat"
    local fields=(${s##*) })
    srv=$((fields[11] + fields[12]))
  fi
  local box; box=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat)
  echo "$pg $srv $box"
}
# "cpu_ms_per_order postgres P mercato M other O" over a run that confirmed $3 orders.
cpu_per_order() {
  local hz; hz=$(getconf CLK_TCK)
  read -r pg0 srv0 box0 <<<"$1"
  read -r pg1 srv1 box1 <<<"$2"
  awk -v n="$3" -v hz="$hz" -v pg=$((pg1 - pg0)) -v srv=$((srv1 - srv0)) -v box=$((box1 - box0)) \
    'BEGIN { if (n > 0) printf "cpu_ms_per_order postgres %.2f mercato %.2f other %.2f\n",
             pg * 1000 / hz / n, srv * 1000 / hz / n, (box - pg - srv) * 1000 / hz / n }'
}

# "wait_sum wait_count run_sum run_count" of the database pool's histograms on /metrics.
pool_times() {
  { curl -fs "http://$host:$gw_port/metrics" || true; } | awk '
    $1 == "mercato_db_pool_wait_seconds_sum" { ws = $2 } $1 == "mercato_db_pool_wait_seconds_count" { wc = $2 }
    $1 == "mercato_db_unit_duration_seconds_sum" { rs = $2 } $1 == "mercato_db_unit_duration_seconds_count" { rc = $2 }
    END { print ws + 0, wc + 0, rs + 0, rc + 0 }'
}
# "db_units_per_order U pool_wait_ms W unit_ms R" over a run that confirmed $3 orders: units of
# database work per order, and the mean time a unit waited for a pool connection, then ran.
pool_per_order() {
  awk -v n="$3" -v before="$1" -v after="$2" 'BEGIN {
    split(before, b, " "); split(after, a, " ")
    wc = a[2] - b[2]; rc = a[4] - b[4]
    if (n > 0 && wc > 0 && rc > 0)
      printf "db_units_per_order %.2f pool_wait_ms %.3f unit_ms %.3f\n",
             rc / n, (a[1] - b[1]) * 1000 / wc, (a[3] - b[3]) * 1000 / rc }'
}

server_pid=""
tmp_dir="$(mktemp -d /tmp/mercato-commerce.XXXXXX)"
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [[ -n "${BENCH_KEEP_LOG:-}" && -f "$tmp_dir/server.log" ]] && cp "$tmp_dir/server.log" "$BENCH_KEEP_LOG"
  rm -rf "$tmp_dir"
}
trap cleanup EXIT

((build)) && scripts/build.sh >/dev/null
mercato="$build_dir/mercato"
[[ -x "$mercato" ]] || die "$mercato not built"
command -v wrk >/dev/null || die "wrk not installed (scripts/deps.sh)"

scripts/pg.sh status >/dev/null 2>&1 || scripts/pg.sh start >/dev/null
profile="${BENCH_PROFILE:-0}"
[[ "$profile" == 1 ]] && bench/pg_profile.sh enable
scripts/pg.sh dropdb mercato_bench >/dev/null
scripts/pg.sh createdb mercato_bench >/dev/null
export DATABASE_URL="$(scripts/pg.sh url mercato_bench)"

cfg="$tmp_dir/bench.toml"
cat >"$cfg" <<CFG
# Generated by bench/commerce_bench.sh
[gateway]
bind_address = "$host"
port = $gw_port
legacy_ports = true
legacy_port_base = $legacy_base

[database]
pool_size = $pool

[admin]
socket_path = "$tmp_dir/admin.sock"
fault_injection = $([[ "$faults" == 1 || ${#crash_agents[@]} -gt 0 || "$read_crashes" -gt 0 ]] && echo true || echo false)

[log]
level = "${BENCH_LOG_LEVEL:-warn}"

[runtime]
worker_threads = 2
io_threads = 1
CFG
[[ -n "${BENCH_CONFIG_EXTRA:-}" ]] && printf '\n%s\n' "$BENCH_CONFIG_EXTRA" >>"$cfg"

"$mercato" migrate --config "$cfg" >/dev/null
"$mercato" seed --config "$cfg" >/dev/null
if ((customers > 4)); then
  runuser -u postgres -- "${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1 \
    -v customers="$customers" "$DATABASE_URL" -f bench/sql/bench_customers.sql >/dev/null \
    || die "creating $customers bench customers failed"
fi
export BENCH_CUSTOMERS="$customers"  # read by bench/lua/place_order.lua
if [[ -n "${BENCH_SQL:-}" ]]; then
  runuser -u postgres -- "${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1 \
    "$DATABASE_URL" -c "$BENCH_SQL" >/dev/null || die "BENCH_SQL failed"
  echo "# schema experiment (BENCH_SQL): $BENCH_SQL"
fi
"$mercato" serve --config "$cfg" >"$tmp_dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fs "http://$host:$gw_port/ready" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fs "http://$host:$gw_port/ready" >/dev/null || die "server not ready; see $tmp_dir/server.log"

# Stock large enough for the whole run: an inbound movement per benchmarked product.
for sku in PROD-001 PROD-002 PROD-003 PROD-004; do
  curl -fs -X POST "http://$host:$inventory_port/inventory/move" -H 'Content-Type: application/json' \
    -d "{\"product_id\":\"$sku\",\"warehouse_id\":\"WH-001\",\"quantity_change\":1000000,\"movement_type\":\"inbound\",\"reference_id\":\"bench-topup-$sku\"}" \
    >/dev/null || die "stock top-up for $sku failed"
done

echo "# commerce_bench $(date -u +%Y-%m-%dT%H:%M:%SZ) git $(git rev-parse --short HEAD 2>/dev/null || echo ?) nproc $(nproc) connections $connections seconds $seconds warmup $warmup pool $pool customers $customers"

# Warm-up (caches, connections), then the measured runs.
BENCH_ANNOUNCED_DIR="" wrk -t"$threads" -c"$connections" -d"${warmup}s" -s bench/lua/place_order.lua \
  "http://$host:$order_port" >/dev/null
psql_bin="${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}/psql"
if [[ "${BENCH_ANALYZE:-0}" == 1 ]]; then
  # Steady state: what autovacuum's first pass does within a minute of a new database filling up.
  # The statistics change invalidates the prepared statements' plans, which were made when the
  # tables were empty (a generic plan made then scans tables that have since grown).
  runuser -u postgres -- "$psql_bin" -X -q "$DATABASE_URL" -c "ANALYZE" >/dev/null
  echo "# statistics: ANALYZE after the warm-up (BENCH_ANALYZE=1)"
fi
echo "## POST /orders (legacy port 8000)"
sleep 1  # the warm-up's last placements (wrk dropped their connections) finish before the count
orders_before="$(runuser -u postgres -- "$psql_bin" -X -q -t -A "$DATABASE_URL" -c "SELECT count(*) FROM orders.orders")"
run_started="$(runuser -u postgres -- "$psql_bin" -X -q -t -A "$DATABASE_URL" -c "SELECT now()")"
if [[ -n "${BENCH_ANNOUNCED_DIR:-}" ]]; then
  mkdir -p "$BENCH_ANNOUNCED_DIR"
  rm -f "$BENCH_ANNOUNCED_DIR"/announced-* "$BENCH_ANNOUNCED_DIR"/refused-*
fi
[[ "$profile" == 1 ]] && bench/pg_profile.sh reset "$DATABASE_URL"
cpu_before="$(cpu_ticks)"
pool_before="$(pool_times)"
faults_pid=""
if [[ ${#crash_agents[@]} -gt 0 ]]; then
  # The named agents crashed one after the other, spread evenly over the run.
  (
    gap=$(( seconds / (${#crash_agents[@]} + 1) ))
    at=0
    for agent in "${crash_agents[@]}"; do
      sleep "$gap"
      at=$((at + gap))
      echo "# fault at $at s: console crash $agent"
      "$mercato" console --socket "$tmp_dir/admin.sock" crash "$agent" >/dev/null 2>&1 || echo "# console crash $agent failed"
    done
  ) >"$tmp_dir/faults.out" &
  faults_pid=$!
elif [[ "$faults" != 0 ]]; then
  (
    sleep $((seconds / 3))
    echo "# fault at $((seconds / 3)) s: PostgreSQL restart (pg.sh stop, start)"
    scripts/pg.sh stop >/dev/null 2>&1
    scripts/pg.sh start >/dev/null 2>&1
    [[ "$faults" == restart ]] && exit 0
    sleep $((seconds / 3))
    echo "# fault at $((2 * seconds / 3)) s: console crash order"
    "$mercato" console --socket "$tmp_dir/admin.sock" crash order >/dev/null 2>&1 || echo "# console crash failed"
  ) >"$tmp_dir/faults.out" &
  faults_pid=$!
fi
wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 5s -s bench/lua/place_order.lua "http://$host:$order_port" \
  >"$tmp_dir/orders.out"
cpu_after="$(cpu_ticks)"
pool_after="$(pool_times)"
[[ -n "$faults_pid" ]] && { wait "$faults_pid" || true; cat "$tmp_dir/faults.out"; }
grep -E '^(confirmed|other|seconds|confirmed_per_s|p50_ms|p90_ms|p99_ms|  Non-2xx|  Socket errors)' "$tmp_dir/orders.out"
confirmed="$(awk '$1 == "confirmed" {print $2}' "$tmp_dir/orders.out")"
cpu_per_order "$cpu_before" "$cpu_after" "$confirmed"
pool_per_order "$pool_before" "$pool_after" "$confirmed"
[[ "$profile" == 1 && "$confirmed" -gt 0 ]] && bench/pg_profile.sh report "$DATABASE_URL" "$confirmed"

if [[ "$faults" == 0 ]]; then
  product_id="10000000-0000-4000-8000-000000000001"
  wrk -t"$threads" -c"$connections" -d2s "http://$host:$product_port/products/$product_id" >/dev/null
  echo "## GET /products/{id} (legacy port 8001)"
  reads_faults_pid=""
  if [[ "$read_crashes" -gt 0 ]]; then
    # The product agent crashed read_crashes times, evenly spread over the run, with reads in its
    # mailbox: the gateway sends each read it held to the next incarnation (resend_policy).
    (
      for _ in $(seq 1 "$read_crashes"); do
        sleep "$(awk -v s="$seconds" -v n="$read_crashes" 'BEGIN { printf "%.3f", s / (n + 1) }')"
        "$mercato" console --socket "$tmp_dir/admin.sock" crash product >/dev/null 2>&1 || echo "# console crash product failed"
      done
    ) &
    reads_faults_pid=$!
  fi
  wrk -t"$threads" -c"$connections" -d"${seconds}s" -s bench/lua/get_latency.lua "http://$host:$product_port/products/$product_id" \
    | grep -E '^(requests_per_s|errors|p50_ms|p90_ms|p99_ms|  Non-2xx)'
  if [[ -n "$reads_faults_pid" ]]; then
    wait "$reads_faults_pid" || true
    "$mercato" console --socket "$tmp_dir/admin.sock" agent product 2>/dev/null \
      | awk '$1 == "incarnation:" || $1 == "restarts_crash:" {sub(":", "", $1); print "product_" $1, $2}'
    curl -fs "http://$host:$gw_port/metrics" | grep '^mercato_http_resent_after_agent_stop_total' || true
  fi
  echo "## GET /products?limit=20 (legacy port 8001)"
  wrk -t"$threads" -c"$connections" -d"${seconds}s" -s bench/lua/get_latency.lua "http://$host:$product_port/products?limit=20" \
    | grep -E '^(requests_per_s|errors|p50_ms|p90_ms|p99_ms|  Non-2xx)'
else
  # A saga whose step failed during the restart resumes about a second after the database is back
  # (actors/order/saga_record.cpp); one interrupted by the crash once the driver sees its lease
  # held by the dead incarnation.
  settle_start=$(date +%s)
  for _ in $(seq 1 240); do
    unsettled="$(runuser -u postgres -- "$psql_bin" -X -q -t -A "$DATABASE_URL" \
      -c "SELECT count(*) FROM orders.sagas WHERE state NOT IN ('completed', 'compensated', 'failed')" 2>/dev/null || echo "?")"
    [[ "$unsettled" == 0 ]] && break
    sleep 0.5
  done
  echo "settled_after_s $(( $(date +%s) - settle_start ))"
  echo "server_alive $(kill -0 "$server_pid" 2>/dev/null && echo yes || echo no)"
  for agent in $([[ ${#crash_agents[@]} -gt 0 ]] && echo "${crash_agents[@]}" || echo order); do
    "$mercato" console --socket "$tmp_dir/admin.sock" agent "$agent" 2>/dev/null \
      | awk -v agent="$agent" '$1 == "incarnation:" || $1 == "restarts_crash:" {sub(":", "", $1); print agent "_" $1, $2}'
  done
fi

# Consistency after the storm (bench/sql/order_consistency.sql): every line but the first is 0
# when the order path kept its invariants. Inventory's CHECKs make negative stock impossible; the
# file prints what the database says.
echo "## consistency"
# Orders of the measured run that no 201 announced: the requests still in flight when wrk stopped
# (at most one per connection). Placements the order agent held when it crashed are not among
# them: the gateway sends them again to its next incarnation (src/gateway/resend_policy.hpp).
orders_after="$(runuser -u postgres -- "$psql_bin" -X -q -t -A "$DATABASE_URL" -c "SELECT count(*) FROM orders.orders")"
announced="$(awk '$1 == "confirmed" {c = $2} $1 == "other_by_class" {split($2, a, ":"); p = a[2]} END {print c + p}' \
  "$tmp_dir/orders.out")"
echo "orders_written_not_announced $((orders_after - orders_before - announced)) (connections $connections)"
if [[ -n "${BENCH_ANNOUNCED_DIR:-}" ]]; then
  # Name them: the orders of the measured run whose id no 201 carried (place_order.lua wrote the
  # ids it got), oldest first, with the Idempotency-Key that placed each (bench-<run>-<thread>-<n>).
  cat "$BENCH_ANNOUNCED_DIR"/announced-* 2>/dev/null | runuser -u postgres -- "$psql_bin" -X -q -v ON_ERROR_STOP=1 \
    "$DATABASE_URL" -c "CREATE TEMP TABLE announced (order_id text)" -c "COPY announced FROM STDIN" \
    -c "SELECT o.order_id, o.created_at, o.status, k.key FROM orders.orders o
        LEFT JOIN orders.idempotency_keys k ON k.response_body::jsonb->>'order_id' = o.order_id::text
        WHERE o.created_at >= '$run_started' AND o.order_id::text NOT IN (SELECT order_id FROM announced)
        ORDER BY o.created_at LIMIT 200" \
    || echo "# listing the unannounced orders failed; the invariants follow"
  # The answers that were not a 201, by status and body (place_order.lua, refused-<thread>).
  echo "## answers other than 201"
  cat "$BENCH_ANNOUNCED_DIR"/refused-* 2>/dev/null | sort | uniq -c | sort -rn | head -20
fi
runuser -u postgres -- "$psql_bin" -X -q -t -A "$DATABASE_URL" -f bench/sql/order_consistency.sql 2>/dev/null || true
