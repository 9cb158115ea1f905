#!/usr/bin/env bash
# What PostgreSQL alone can do on this box for an order, with no mercato in the way: the ceiling
# that any order-path design here lives under. pgbench drives two deliberately minimal "orders"
# against a scratch database on the private cluster (scripts/pg.sh), durable commits as mercato
# uses them (synchronous_commit on, fsync on):
#
#   one_txn   one transaction: reserve one unit (UPDATE of a stock row with a CHECK), insert the
#             order (2 secondary indexes), its line and its payment. The leanest model that is
#             still correct.
#   six_txns  six autocommit statements of the same size, one per step (order, reserve, payment,
#             fraud, customer, commit of stock): the shape of a saga that crosses six agents and
#             commits at each, but with one small row per step.
#
# mercato's own order path (bench/commerce_bench.sh) writes ≈ 30 rows with their indexes, its
# events and its saga log across six agents' tables: compare its cpu_ms_per_order with these.
#
#   bench/pg_floor.sh            15 s per run; clients 64 (the commerce bench's wrk) and 8 (its pool)
#   BENCH_SECONDS=5 bench/pg_floor.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${BENCH_SECONDS:-15}"
pg_bin="${MERCATO_PG_BIN:-/usr/lib/postgresql/15/bin}"
pgbench="$pg_bin/pgbench"
[[ -x "$pgbench" ]] || { echo "[pg_floor] $pgbench not found (package postgresql-15)" >&2; exit 1; }

scripts/pg.sh status >/dev/null 2>&1 || scripts/pg.sh start >/dev/null
scripts/pg.sh dropdb mercato_floor >/dev/null
scripts/pg.sh createdb mercato_floor >/dev/null
url="$(scripts/pg.sh url mercato_floor)"
as_postgres() { runuser -u postgres -- "$@"; }

work="$(mktemp -d /tmp/mercato-floor.XXXXXX)"
chmod 755 "$work"
trap 'rm -rf "$work"; scripts/pg.sh dropdb mercato_floor >/dev/null 2>&1 || true' EXIT

as_postgres "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$url" <<'SQL'
CREATE TABLE stock (product_id text PRIMARY KEY, quantity int NOT NULL,
                    reserved int NOT NULL CHECK (reserved <= quantity));
INSERT INTO stock SELECT 'PROD-' || g, 1000000000, 0 FROM generate_series(1, 100) g;
CREATE TABLE orders (order_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), idem text UNIQUE,
                     customer_id text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
                     created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON orders (customer_id, created_at);
CREATE INDEX ON orders (status, created_at);
CREATE TABLE items (order_id uuid NOT NULL REFERENCES orders, product_id text NOT NULL,
                    qty int NOT NULL, price numeric(12,2), PRIMARY KEY (order_id, product_id));
CREATE TABLE payments (payment_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), order_id uuid NOT NULL,
                       amount numeric(12,2), status text);
CREATE INDEX ON payments (order_id);
SQL

cat >"$work/one_txn.sql" <<'SQL'
\set p random(1, 100)
\set c random(1, 1000)
BEGIN;
UPDATE stock SET reserved = reserved + 1 WHERE product_id = 'PROD-' || :p;
WITH o AS (INSERT INTO orders (idem, customer_id, status, total)
           VALUES (md5(random()::text), 'C' || :c, 'confirmed', 10.00) RETURNING order_id),
     i AS (INSERT INTO items SELECT order_id, 'PROD-' || :p, 1, 10.00 FROM o)
INSERT INTO payments (order_id, amount, status) SELECT order_id, 10.00, 'authorized' FROM o;
COMMIT;
SQL
cat >"$work/six_txns.sql" <<'SQL'
\set p random(1, 100)
\set c random(1, 1000)
INSERT INTO orders (idem, customer_id, status, total) VALUES (md5(random()::text), 'C' || :c, 'pending', 10.00);
UPDATE stock SET reserved = reserved + 1 WHERE product_id = 'PROD-' || :p;
INSERT INTO payments (order_id, amount, status) VALUES (gen_random_uuid(), 10.00, 'authorized');
INSERT INTO payments (order_id, amount, status) VALUES (gen_random_uuid(), 10.00, 'fraud_checked');
INSERT INTO payments (order_id, amount, status) VALUES (gen_random_uuid(), 10.00, 'customer_stats');
UPDATE stock SET quantity = quantity + 0 WHERE product_id = 'PROD-' || :p;
SQL

echo "# pg_floor $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc $(nproc) seconds $seconds"
for script in one_txn six_txns; do
  for clients in 64 8; do
    out="$(as_postgres "$pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" -f "$work/$script.sql" "$url" 2>&1)" \
      || { echo "$out" >&2; exit 1; }
    tps=$(awk '/^tps = / {printf "%.0f", $3}' <<<"$out")
    lat=$(awk '/^latency average = / {print $4}' <<<"$out")
    echo "$script clients $clients orders_per_s $tps latency_avg_ms $lat"
  done
done
