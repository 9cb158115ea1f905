#!/usr/bin/env bash
# Why mercato batches hot statements across orders (src/db/batch_queue.hpp): PostgreSQL's cost for
# a statement that writes several tables is mostly per statement (executor start-up, relation
# locks, CHECK and index set-up, the commit), not per row. pgbench runs one statement that
# inserts into six tables (each with four CHECKs, a primary key, a secondary index and a jsonb
# column, like mercato's order tables), with 1, 8 and 32 "orders" (rows per table) per statement,
# and prints the orders/s each carries. Scratch database mercato_batch on the private cluster.
#
#   bench/pg_batch.sh            8 s per run, 8 clients (the commerce bench's pool)
#   BENCH_SECONDS=15 bench/pg_batch.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${BENCH_SECONDS:-8}"
pg_bin="${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}"
pgbench="$pg_bin/pgbench"
[[ -x "$pgbench" ]] || { echo "[pg_batch] $pgbench not found (package postgresql-15)" >&2; exit 1; }

scripts/pg.sh status >/dev/null 2>&1 || scripts/pg.sh start >/dev/null
scripts/pg.sh dropdb mercato_batch >/dev/null
scripts/pg.sh createdb mercato_batch >/dev/null
url="$(scripts/pg.sh url mercato_batch)"
as_postgres() { runuser -u postgres -- "$@"; }

work="$(mktemp -d /tmp/mercato-batch.XXXXXX)"
chmod 755 "$work"
trap 'rm -rf "$work"; scripts/pg.sh dropdb mercato_batch >/dev/null 2>&1 || true' EXIT

for t in 1 2 3 4 5 6; do
  echo "CREATE TABLE t$t (id uuid PRIMARY KEY, ref text NOT NULL CHECK (length(ref) BETWEEN 1 AND 100),
          status text NOT NULL CHECK (status IN ('a', 'b', 'c', 'd')),
          amount numeric(12,2) NOT NULL CHECK (amount >= 0), qty int NOT NULL CHECK (qty > 0),
          payload jsonb NOT NULL DEFAULT '{}', created_at timestamptz NOT NULL DEFAULT now());
        CREATE INDEX ON t$t (ref, created_at);"
done | as_postgres "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$url"

# One statement, six data-modifying CTEs, $n rows each.
statement() {
  local n=$1 t sep="WITH "
  for t in 1 2 3 4 5 6; do
    printf '%sc%s AS (INSERT INTO t%s (id, ref, status, amount, qty, payload) SELECT gen_random_uuid(), ' "$sep" "$t" "$t"
    printf "'ref-' || g, 'a', 10.50, 1, '{\"k\": 1}' FROM generate_series(1, %s) g RETURNING 1)" "$n"
    sep=", "
  done
  echo " SELECT (SELECT count(*) FROM c1) + (SELECT count(*) FROM c6);"
}

echo "# pg_batch $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc $(nproc) clients 8 seconds $seconds"
for n in 1 8 32; do
  statement "$n" >"$work/batch_$n.sql"
  tps=$(as_postgres "$pgbench" -n -M prepared -c 8 -j 2 -T "$seconds" -f "$work/batch_$n.sql" "$url" 2>&1 |
        awk '/^tps/ {print $3}')
  awk -v n="$n" -v tps="$tps" 'BEGIN { printf "orders_per_statement %d statements_per_s %.0f orders_per_s %.0f\n", n, tps, n * tps }'
done
