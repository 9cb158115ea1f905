// db::statistics_keeper on a migrated database: a table that grows from nearly empty gets
// statistics, and the generic plan a connection made while it was small is replaced by an index
// probe.
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "db/statistics_keeper.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using test::migrated_database;
using namespace std::chrono_literals;

namespace {

// The generic plan of the prepared reservation lookup on connection `c` (the read of the inventory
// confirmation, which seq-scanned reservations 358 times in 4 s of a new database's orders run).
std::string lookup_plan(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN EXECUTE live_reservations('{order-1,order-2}')"))
    plan += row[0].as<std::string>() + "\n";
  return plan;
}

db::statistics_settings keeper_for(const migrated_database& database) {
  db::statistics_settings s;
  s.url = database.url();
  s.schemas = {"inventory", "orders"};
  s.min_rows = 1000;
  return s;
}

// Active reservations of orders order-<first> … order-<last>, in one warehouse.
void add_reservations(const migrated_database& database, int first, int last) {
  database.exec(
      "INSERT INTO inventory.warehouses (warehouse_id, code, name)"
      " VALUES ('00000000-0000-4000-8000-0000000000aa', 'WH-STATS', 'Statistics') ON CONFLICT DO NOTHING;"
      "INSERT INTO inventory.reservations (reservation_id, order_id, product_id, warehouse_id, quantity, status,"
      " expires_at) SELECT gen_random_uuid(), 'order-' || i, 'PROD-' || (i % 7), '00000000-0000-4000-8000-0000000000aa',"
      " 1, 'active', now() + interval '15 minutes' FROM generate_series(" +
      std::to_string(first) + ", " + std::to_string(last) + ") i");
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

}  // namespace

TEST_CASE("statistics keeper: a table that outgrew its statistics is analyzed, and plans made on it small probe its index after",
          "[db][statistics][plans]") {
  migrated_database database;
  db::statistics_keeper keeper{keeper_for(database)};
  auto keeper_conn = database.connect();

  // A connection prepares the lookup while the table holds a few rows (one page: a sequential
  // scan is the cheapest plan) and keeps its generic plan, as a pool connection does after five
  // runs.
  add_reservations(database, 1, 5);
  auto app = database.connect();
  pqxx::nontransaction{*app}.exec(
      "SET plan_cache_mode = force_generic_plan;"
      " PREPARE live_reservations(text[]) AS SELECT reservation_id FROM inventory.reservations"
      " WHERE order_id = ANY($1) AND status IN ('active', 'confirmed', 'expired')");
  const auto empty_plan = lookup_plan(*app);
  INFO(empty_plan);
  REQUIRE(empty_plan.find("Seq Scan on reservations") != std::string::npos);
  CHECK(keeper.refresh_once(*keeper_conn).empty());  // nothing holds min_rows yet

  add_reservations(database, 6, 3005);

  // The statistics system counts the inserted rows within a second or so of the commit.
  std::vector<std::string> analyzed;
  REQUIRE(test::eventually([&] {
    analyzed = keeper.refresh_once(*keeper_conn);
    return contains(analyzed, "inventory.reservations");
  }, 10s));
  CHECK(keeper.analyzed() >= 1);
  CHECK(database.value<int64_t>("SELECT reltuples::bigint FROM pg_class WHERE oid = 'inventory.reservations'::regclass") ==
        3005);

  // The ANALYZE invalidated the cached plan: the same prepared statement now probes an index.
  const auto grown_plan = lookup_plan(*app);
  INFO(grown_plan);
  CHECK(grown_plan.find("Seq Scan") == std::string::npos);
  CHECK(grown_plan.find("reservations_") != std::string::npos);

  // Statistics that match the table are left alone: no ANALYZE until it doubles again.
  CHECK_FALSE(contains(keeper.refresh_once(*keeper_conn), "inventory.reservations"));
}

TEST_CASE("statistics keeper: its thread analyzes a growing table on its own and stops promptly",
          "[db][statistics]") {
  migrated_database database;
  auto settings = keeper_for(database);
  settings.interval = 100ms;
  db::statistics_keeper keeper{settings};
  keeper.start();
  add_reservations(database, 1, 1500);
  CHECK(test::eventually([&] { return keeper.analyzed() >= 1; }, 10s));
  CHECK(database.value<bool>("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables"
                             " WHERE schemaname = 'inventory' AND relname = 'reservations'"));
  const auto t0 = std::chrono::steady_clock::now();
  keeper.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}
