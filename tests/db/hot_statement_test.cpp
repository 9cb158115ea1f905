// db::exec_hot's prepared statements and MERCATO_OPAQUE_PARAM against a real PostgreSQL: which
// plan a prepared statement keeps (pg_prepared_statements counts the generic and custom plans of
// the session's statements).
#include <string>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using test::migrated_database;

namespace {

struct plan_counts {
  int64_t generic = 0;
  int64_t custom = 0;
};

// Runs the statement `sql` (one text[] parameter) `calls` times through db::exec_hot on one
// connection, then reads how PostgreSQL planned it there.
plan_counts run_hot(pqxx::connection& c, const std::string& sql, int calls) {
  for (int i = 0; i < calls; ++i) {
    pqxx::work tx{c};
    db::exec_hot(tx, sql, "{key-7}");
    tx.commit();
  }
  pqxx::nontransaction tx{c};
  auto row = tx.exec_params1("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1",
                             db::hot_statement_name(sql));
  return {row[0].as<int64_t>(), row[1].as<int64_t>()};
}

}  // namespace

TEST_CASE("hot statements: an array parameter hidden from the planner keeps the cached generic plan",
          "[db][plans]") {
  migrated_database database;
  // 20,000 rows, 10 per key: a custom plan for the one key each call passes reads 10 rows, the
  // generic plan is costed for 10 keys (PostgreSQL's default array length), 100 rows.
  database.exec("CREATE TABLE plan_probe (k text NOT NULL, v int NOT NULL);"
                "INSERT INTO plan_probe SELECT 'key-' || (i % 2000), i FROM generate_series(1, 20000) i;"
                "CREATE INDEX plan_probe_k ON plan_probe (k); ANALYZE plan_probe");
  auto c = database.connect();

  SECTION("a bound array: every call is planned again") {
    const auto counts = run_hot(*c, "SELECT count(v) FROM plan_probe WHERE k = ANY($1::text[])", 8);
    CHECK(counts.custom == 8);
    CHECK(counts.generic == 0);
  }
  SECTION("the same array through MERCATO_OPAQUE_PARAM: planned five times, then the generic plan") {
    const auto counts = run_hot(
        *c, "SELECT count(v) FROM plan_probe WHERE k = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")", 8);
    CHECK(counts.custom == 5);
    CHECK(counts.generic == 3);
    pqxx::nontransaction tx{*c};
    CHECK(tx.exec_params1("SELECT count(v) FROM plan_probe WHERE k = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")",
                          "{key-7,key-8}")[0]
              .as<int64_t>() == 20);
  }
}
