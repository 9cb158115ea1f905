#!/usr/bin/env bash
# PostgreSQL's side of an orders run, in counts that do not depend on the machine's speed
# (bench/README.md, "Order-to-cash"): statements, execution time, buffer hits and WAL per order
# from pg_stat_statements, the statements that cost most, and per table the sequential scans and
# the share of updates that were HOT, from pg_stat_user_tables.
#
#   bench/pg_profile.sh enable           load pg_stat_statements in the private cluster
#                                         (ALTER SYSTEM + restart, only when it is not loaded yet)
#   bench/pg_profile.sh reset DB_URL     zero the counters (statements and tables) of that database
#   bench/pg_profile.sh report DB_URL N  print the counts since the reset, divided by N orders
#
# commerce_bench.sh runs all three around its orders run when BENCH_PROFILE=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

psql_bin="${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}/psql"
die() { echo "[pg_profile] error: $*" >&2; exit 1; }

psql_as_pg() {  # the private cluster trusts local connections; the OS user must be able to read the socket
  if ((EUID == 0)); then runuser -u postgres -- "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$@"
  else "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$@"; fi
}

enable() {
  local url; url="$(scripts/pg.sh url)"
  local loaded; loaded="$(psql_as_pg -t -A "$url" -c "SHOW shared_preload_libraries")"
  if [[ ",${loaded// /}," != *",pg_stat_statements,"* ]]; then
    echo "[pg_profile] loading pg_stat_statements: ALTER SYSTEM and a restart of the private cluster" >&2
    psql_as_pg "$url" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
    scripts/pg.sh stop >/dev/null
    scripts/pg.sh start >/dev/null
  fi
}

reset() {
  local url="$1"
  psql_as_pg "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "SELECT pg_stat_statements_reset()" -c "SELECT pg_stat_reset()" >/dev/null
}

report() {
  local url="$1" orders="$2"
  [[ "$orders" =~ ^[0-9]+$ ]] && ((orders > 0)) || die "report needs the number of orders (> 0), got '$orders'"
  # The relay, the statistics keeper and the event consumers run in the same database: their
  # statements are part of what an order costs, so nothing is filtered out.
  psql_as_pg -P pager=off "$url" -v n="$orders" <<'SQL'
\echo '## PostgreSQL per order (pg_stat_statements since the reset)'
SELECT round(sum(calls)::numeric / :n, 2)                        AS statements,
       round(sum(total_exec_time)::numeric / :n, 3)              AS exec_ms,
       round(sum(shared_blks_hit + shared_blks_read)::numeric / :n) AS buffers,
       round(sum(wal_records)::numeric / :n)                     AS wal_records,
       round(sum(wal_bytes)::numeric / :n)                       AS wal_bytes
  FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
\echo '## statements by execution time (per order; rows per call)'
SELECT round(calls::numeric / :n, 3)                       AS calls,
       round(total_exec_time::numeric / :n, 3)             AS ms,
       round(rows::numeric / greatest(calls, 1), 1)        AS rows_call,
       round((shared_blks_hit + shared_blks_read)::numeric / :n) AS buffers,
       round(wal_records::numeric / :n)                    AS wal,
       left(regexp_replace(query, '\s+', ' ', 'g'), 90)    AS statement
  FROM pg_stat_statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY total_exec_time DESC LIMIT 15;
\echo '## tables (since the reset): sequential scans, rows they read, HOT share of updates'
SELECT schemaname || '.' || relname AS "table", seq_scan, seq_tup_read, idx_scan,
       n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
  FROM pg_stat_user_tables
 WHERE seq_scan + coalesce(idx_scan, 0) + n_tup_ins + n_tup_upd + n_tup_del > 0
 ORDER BY n_tup_ins + n_tup_upd + n_tup_del + seq_tup_read DESC LIMIT 20;
SQL
}

case "${1:-}" in
  enable) enable ;;
  reset) [[ $# == 2 ]] || die "usage: pg_profile.sh reset DB_URL"; reset "$2" ;;
  report) [[ $# == 3 ]] || die "usage: pg_profile.sh report DB_URL ORDERS"; report "$2" "$3" ;;
  *) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
