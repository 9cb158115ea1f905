// db::retention_keeper on a migrated database: expired idempotency keys and old processed-event
// marks go, in batches; fresh ones and other schemas' rows within their retention stay.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/retention_keeper.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using test::migrated_database;
using namespace std::chrono_literals;

namespace {

db::retention_settings keeper_for(const migrated_database& database) {
  db::retention_settings s;
  s.url = database.url();
  s.schemas = {"orders", "customers"};
  s.batch = 7;  // several statements per table
  return s;
}

// `count` keys in `schema`, created `age` ago.
void add_keys(const migrated_database& database, const std::string& schema, int count, const std::string& age,
              const std::string& prefix) {
  database.exec("INSERT INTO " + schema + ".idempotency_keys (key, endpoint, request_hash, status_code, response_body,"
                " created_at) SELECT '" + prefix + "-' || i, 'POST /orders', 'h', 201, '{}', now() - interval '" + age +
                "' FROM generate_series(1, " + std::to_string(count) + ") i");
}

// `count` processed marks in `schema`, made `age` ago.
void add_marks(const migrated_database& database, const std::string& schema, int count, const std::string& age) {
  database.exec("INSERT INTO " + schema + ".processed_events (event_id, consumer, processed_at)"
                " SELECT gen_random_uuid(), 'test', now() - interval '" + age + "' FROM generate_series(1, " +
                std::to_string(count) + ") i");
}

}  // namespace

TEST_CASE_METHOD(migrated_database, "retention keeper: expired keys and old marks go, the rest stays",
                 "[db][retention]") {
  add_keys(*this, "orders", 20, "25 hours", "old");
  add_keys(*this, "orders", 5, "23 hours", "young");
  add_marks(*this, "customers", 30, "8 days");
  add_marks(*this, "customers", 4, "6 days");
  add_keys(*this, "payments", 3, "30 hours", "other");  // not a schema of this keeper

  db::retention_keeper keeper{keeper_for(*this)};
  auto c = connect();
  const auto pruned = keeper.prune_once(*c);
  CHECK(pruned.idempotency_keys == 20);
  CHECK(pruned.processed_events == 30);
  CHECK_FALSE(pruned.marks_held_back);  // no outbox row at all
  CHECK(keeper.deleted() == 50);
  CHECK(value<int>("SELECT count(*) FROM orders.idempotency_keys WHERE key LIKE 'young-%'") == 5);
  CHECK(value<int>("SELECT count(*) FROM orders.idempotency_keys") == 5);
  CHECK(value<int>("SELECT count(*) FROM customers.processed_events") == 4);
  CHECK(value<int>("SELECT count(*) FROM payments.idempotency_keys") == 3);

  // Nothing left to prune: a second round deletes nothing.
  const auto again = keeper.prune_once(*c);
  CHECK(again.idempotency_keys == 0);
  CHECK(again.processed_events == 0);
}

TEST_CASE_METHOD(migrated_database,
                 "retention keeper: marks newer than an outbox row that may be delivered again are kept, "
                 "however old", "[db][retention]") {
  // The server was down for ten days with an order event left in its outbox, which the relay will
  // publish again; a consumer may have applied it (and marked it) just before the stop.
  add_marks(*this, "customers", 6, "9 days");   // newer than that event: kept
  add_marks(*this, "customers", 2, "12 days");  // older than any outbox row: nothing can re-deliver it
  exec("INSERT INTO orders.outbox (events, occurred_at) VALUES ('[]', now() - interval '10 days')");

  db::retention_keeper keeper{keeper_for(*this)};
  auto c = connect();
  auto pruned = keeper.prune_once(*c);
  CHECK(pruned.marks_held_back);
  CHECK(pruned.processed_events == 2);
  CHECK(value<int>("SELECT count(*) FROM customers.processed_events") == 6);

  // Once the relay's rows are settled and gone, the marks' own week applies again.
  exec("DELETE FROM orders.outbox");
  pruned = keeper.prune_once(*c);
  CHECK_FALSE(pruned.marks_held_back);
  CHECK(pruned.processed_events == 6);
  CHECK(value<int>("SELECT count(*) FROM customers.processed_events") == 0);
}

TEST_CASE_METHOD(migrated_database, "retention keeper: its thread prunes on its own and stops promptly",
                 "[db][retention]") {
  add_keys(*this, "orders", 3, "2 days", "old");
  auto settings = keeper_for(*this);
  settings.interval = 100ms;
  db::retention_keeper keeper{settings};
  keeper.start();
  // The counter moves once the whole round (every schema) ended, after its deletes committed:
  // waiting on the table alone raced with the round's later schemas.
  REQUIRE(test::eventually([&] { return keeper.deleted() >= 3; }, 10s));
  CHECK(keeper.deleted() == 3);
  CHECK(value<int>("SELECT count(*) FROM orders.idempotency_keys") == 0);
  const auto t0 = std::chrono::steady_clock::now();
  keeper.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE_METHOD(migrated_database, "retention keeper: a round with nothing old reads a few pages, not the table",
                 "[db][retention]") {
  // 20,000 fresh marks fill about 150 heap pages. The search for marks past their week must go
  // through processed_at's BRIN index (migration 0018) and touch a handful of pages; a sequential
  // scan, the plan before that index, reads every page to find nothing. Autovacuum summarizes a
  // range of 128 pages once it is full (autosummarize), and the newest, unsummarized range is
  // always read: the test summarizes them all on the spot, for a result that does not depend on
  // when autovacuum comes.
  add_marks(*this, "customers", 20000, "1 hour");
  exec("ANALYZE customers.processed_events");
  exec("SELECT brin_summarize_new_values('customers.processed_events_time')");
  const auto pages = value<int>("SELECT relpages FROM pg_class WHERE oid = 'customers.processed_events'::regclass");
  REQUIRE(pages > 100);

  auto c = connect();
  pqxx::nontransaction tx{*c};
  const auto plan = nlohmann::json::parse(
      tx.exec_params1("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " +
                          db::delete_expired_sql("customers.processed_events", "processed_at"),
                      tx.exec1("SELECT (now() - interval '7 days')::text")[0].as<std::string>(), 5000)[0]
          .as<std::string>());
  const auto& root = plan.at(0).at("Plan");
  INFO(plan.dump(2));
  CHECK(root.at("Actual Rows").get<int>() == 0);
  CHECK(root.at("Shared Hit Blocks").get<int>() + root.at("Shared Read Blocks").get<int>() < 10);
  CHECK(value<int>("SELECT count(*) FROM customers.processed_events") == 20000);
}
