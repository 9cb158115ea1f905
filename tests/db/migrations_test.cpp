// Migrations against a real database: fresh apply, idempotent re-apply, refusal of an edited file,
// rollback of a failing one (also at server start-up), file-name and version checks, pending list.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <pqxx/pqxx>

#include "db/database.hpp"
#include "db/migrations.hpp"
#include "support/db_fixture.hpp"
#include "mercato/agent_spec.hpp"
#include "mercato/event.hpp"

namespace fs = std::filesystem;
using namespace mercato;
using test::fresh_database;

namespace {

// A scratch directory, removed with its contents at scope exit.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    path_ = fs::temp_directory_path() / fmt::format("mercato_migrations_{}_{}", ::getpid(), counter++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream out(path_ / file, std::ios::binary | std::ios::trunc);
    out << text;
  }
  void append(const std::string& file, const std::string& text) const {
    std::ofstream out(path_ / file, std::ios::binary | std::ios::app);
    out << text;
  }
  // Copies the repository's migrations here.
  void copy_repo_migrations() const {
    for (const auto& entry : fs::directory_iterator(test::migrations_dir()))
      if (entry.path().extension() == ".sql") fs::copy_file(entry.path(), path_ / entry.path().filename());
  }

 private:
  fs::path path_;
};

std::vector<int> versions_of(const std::vector<db::migration>& all) {
  std::vector<int> out;
  for (const auto& m : all) out.push_back(m.version);
  return out;
}

std::vector<int> recorded_versions(pqxx::connection& c) {
  pqxx::nontransaction tx{c};
  std::vector<int> out;
  for (const auto& row : tx.exec("SELECT version FROM public.schema_migrations ORDER BY version"))
    out.push_back(row[0].as<int>());
  return out;
}

// The message of the migration_error `f` throws; fails the test when it throws none.
template <class F>
std::string migration_error_of(F&& f) {
  try {
    f();
  } catch (const db::migration_error& e) {
    return e.what();
  }
  FAIL("expected a db::migration_error");
  return {};
}

}  // namespace

TEST_CASE_METHOD(fresh_database, "a fresh apply creates the 26 agent schemas, the platform schema, and records each file",
                 "[db][migrations]") {
  const auto all = db::load_migrations(test::migrations_dir());
  REQUIRE(all.size() >= 2);
  auto c = connect();
  const auto report = db::apply_migrations(*c, all);
  CHECK(report.applied == versions_of(all));
  CHECK(report.already_applied == 0);

  std::set<std::string> expected;
  for (const auto& spec : agent_registry()) expected.emplace(spec.schema);
  REQUIRE(expected.size() == 26);
  std::set<std::string> created;
  pqxx::nontransaction tx{*c};
  for (const auto& row : tx.exec(
           "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('public', 'information_schema')"
           " AND nspname NOT LIKE 'pg\\_%'"))
    created.insert(row[0].as<std::string>());
  // and the platform's own schema of shared SQL helpers (0013: mercato.batch_items)
  CHECK(created.erase("mercato") == 1);
  CHECK(created == expected);

  // 0002: every agent schema has the platform tables.
  for (const auto& schema : expected) {
    INFO("schema " << schema);
    CHECK(tx.exec_params1("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1"
                          " AND table_name IN ('outbox', 'processed_events', 'idempotency_keys')",
                          schema)[0]
              .as<int>() == 3);
  }

  auto rows = tx.exec("SELECT version, name, checksum, applied_at IS NOT NULL"
                      " FROM public.schema_migrations ORDER BY version");
  REQUIRE(rows.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CHECK(rows[i][0].as<int>() == all[i].version);
    CHECK(rows[i][1].as<std::string>() == all[i].name);
    CHECK(rows[i][2].as<std::string>() == all[i].checksum);
    CHECK(rows[i][3].as<bool>());
  }
}

TEST_CASE_METHOD(fresh_database, "0017 carries an older database's outbox rows over, one event a row, marks kept",
                 "[db][migrations][outbox]") {
  // A database at 0016 with a pending and a marked event, as the relay left them, then 0017.
  const auto all = db::load_migrations(test::migrations_dir());
  std::vector<db::migration> before, through_0017;
  for (const auto& m : all) {
    if (m.version < 17) before.push_back(m);
    if (m.version <= 17) through_0017.push_back(m);
  }
  REQUIRE(before.size() + 1 == through_0017.size());
  auto c = connect();
  db::apply_migrations(*c, before);
  const auto pending = make_event("order", "order_created", R"({"order_id":"o-1","total":"12.50"})", "o-1");
  {
    pqxx::work tx{*c};
    tx.exec_params("INSERT INTO orders.outbox (event_id, aggregate_id, name, publisher, correlation_id, payload,"
                   " occurred_at) VALUES ($1, 'o-1', $2, $3, $4, $5::jsonb, $6::timestamptz)",
                   pending.event_id, pending.name, pending.publisher, pending.correlation_id, pending.payload,
                   pending.occurred_at);
    tx.exec("INSERT INTO orders.outbox (event_id, aggregate_id, name, publisher, published_at)"
            " VALUES (gen_random_uuid(), 'o-2', 'order.order_confirmed', 'order', now())");
    tx.commit();
  }
  CHECK(db::apply_migrations(*c, through_0017).applied == std::vector<int>{17});

  pqxx::nontransaction tx{*c};
  CHECK(tx.exec1("SELECT count(*) FROM orders.outbox")[0].as<int>() == 2);
  auto row = tx.exec1("SELECT event_id::text, aggregate_id, name, publisher, correlation_id, payload->>'total',"
                      " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), position"
                      " FROM orders.outbox_events WHERE published_at IS NULL");
  CHECK(row[0].as<std::string>() == pending.event_id);
  CHECK(row[1].as<std::string>() == "o-1");
  CHECK(row[2].as<std::string>() == pending.name);
  CHECK(row[3].as<std::string>() == pending.publisher);
  CHECK(row[4].as<std::string>() == "o-1");
  CHECK(row[5].as<std::string>() == "12.50");
  CHECK(row[6].as<std::string>() == pending.occurred_at);
  CHECK(row[7].as<int>() == 1);
  CHECK(tx.exec1("SELECT count(*) FROM orders.outbox_events WHERE published_at IS NOT NULL AND aggregate_id = 'o-2'")[0]
            .as<int>() == 1);
  // Every agent schema has the new table and its view.
  CHECK(tx.exec1("SELECT count(*) FROM information_schema.columns WHERE table_name = 'outbox'"
                 " AND column_name = 'events'")[0].as<int>() == 26);
  CHECK(tx.exec1("SELECT count(*) FROM information_schema.views WHERE table_name = 'outbox_events'")[0].as<int>() == 26);
}

TEST_CASE_METHOD(fresh_database, "re-applying the migrations is a no-op", "[db][migrations]") {
  const auto all = db::load_migrations(test::migrations_dir());
  auto c = connect();
  db::apply_migrations(*c, all);
  const auto before = value<std::string>(
      "SELECT string_agg(version || ' ' || checksum || ' ' || applied_at, ',' ORDER BY version)"
      " FROM public.schema_migrations");

  const auto again = db::apply_migrations(*c, all);
  CHECK(again.applied.empty());
  CHECK(again.already_applied == all.size());
  CHECK(db::pending_migrations(*c, all).empty());
  CHECK(value<std::string>("SELECT string_agg(version || ' ' || checksum || ' ' || applied_at, ','"
                           " ORDER BY version) FROM public.schema_migrations") == before);
}

TEST_CASE_METHOD(fresh_database, "an applied migration whose file changed is refused, naming the file",
                 "[db][migrations]") {
  temp_dir dir;
  dir.copy_repo_migrations();
  auto c = connect();
  db::apply_migrations(*c, db::load_migrations(dir.path()));

  dir.append("0001_agent_schemas.sql", "\n-- edited after it was applied\n");
  const auto edited = db::load_migrations(dir.path());
  const auto message = migration_error_of([&] { db::apply_migrations(*c, edited); });
  CHECK_THAT(message, Catch::Contains("0001_agent_schemas.sql") && Catch::Contains("changed"));
  CHECK_THAT(migration_error_of([&] { db::pending_migrations(*c, edited); }),
             Catch::Contains("0001_agent_schemas.sql"));
  // The advisory lock was released: the unchanged set still applies (as a no-op).
  temp_dir original;
  original.copy_repo_migrations();
  CHECK(db::apply_migrations(*c, db::load_migrations(original.path())).applied.empty());
}

TEST_CASE_METHOD(fresh_database, "a failing migration is rolled back and stops everything after it",
                 "[db][migrations]") {
  temp_dir dir;
  dir.copy_repo_migrations();
  // The first statement runs (it parses); the second fails when executed.
  // Numbered after every real migration, so the real ones all apply first.
  dir.write("9998_bad.sql",
            "CREATE TABLE orders.made_by_bad_migration (id integer);\n"
            "INSERT INTO orders.no_such_table VALUES (1);\n");
  dir.write("9999_after.sql", "CREATE TABLE orders.made_after_bad_migration (id integer);\n");
  auto c = connect();
  std::vector<int> repo_versions;
  for (const auto& m : db::load_migrations(test::migrations_dir())) repo_versions.push_back(m.version);

  const auto message = migration_error_of([&] { db::apply_migrations(*c, db::load_migrations(dir.path())); });
  CHECK_THAT(message, Catch::Contains("9998_bad.sql") && Catch::Contains("rolled back"));
  CHECK(recorded_versions(*c) == repo_versions);
  CHECK_FALSE(value<bool>("SELECT to_regclass('orders.made_by_bad_migration') IS NOT NULL"));
  CHECK_FALSE(value<bool>("SELECT to_regclass('orders.made_after_bad_migration') IS NOT NULL"));
  CHECK(db::pending_migrations(*c, db::load_migrations(dir.path())) == std::vector<int>{9998, 9999});

  SECTION("and the server refuses to start") {
    database_config cfg;
    cfg.url = url();
    cfg.migrations_dir = dir.path();
    cfg.connect_timeout = std::chrono::seconds(2);
    event_bus bus;
    db::database database{cfg, bus, {"orders"}};
    CHECK_THROWS_AS(database.start(), db::migration_error);
    CHECK_FALSE(database.ready());
    CHECK(recorded_versions(*c) == repo_versions);
  }
}

// Guards the lock order: schema_migrations is created under the advisory lock, or concurrent runs
// on a fresh database race on CREATE TABLE IF NOT EXISTS (23505 on pg_type_typname_nsp_index).
TEST_CASE("concurrent apply_migrations on a fresh database apply each file once",
          "[db][migrations]") {
  fresh_database database;
  const auto all = db::load_migrations(test::migrations_dir());
  constexpr int processes = 4;
  std::vector<std::unique_ptr<pqxx::connection>> connections;
  for (int i = 0; i < processes; ++i) connections.push_back(database.connect());
  std::mutex mutex;
  std::vector<db::migration_report> reports;
  std::vector<std::string> errors;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < processes; ++i)
    threads.emplace_back([&, i] {
      test::arrive_and_wait(ready, processes);
      try {
        auto report = db::apply_migrations(*connections[i], all);
        std::lock_guard<std::mutex> guard{mutex};
        reports.push_back(report);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard{mutex};
        errors.push_back(e.what());
      }
    });
  for (auto& t : threads) t.join();
  INFO("errors: " << Catch::Detail::stringify(errors));
  CHECK(errors.empty());
  CHECK(std::count_if(reports.begin(), reports.end(),
                      [&](const auto& r) { return r.applied == versions_of(all); }) == 1);
  CHECK(database.value<int>("SELECT count(*) FROM public.schema_migrations") == static_cast<int>(all.size()));
}

TEST_CASE("load_migrations rejects malformed names and duplicate versions", "[db][migrations]") {
  SECTION("a valid directory is read in version order, other files ignored") {
    temp_dir dir;
    dir.write("0002_second.sql", "SELECT 2;");
    dir.write("0001_first.sql", "SELECT 1;");
    dir.write("README.md", "not a migration");
    const auto all = db::load_migrations(dir.path());
    REQUIRE(all.size() == 2);
    CHECK(all[0].version == 1);
    CHECK(all[0].name == "first");
    CHECK(all[0].sql == "SELECT 1;");
    CHECK(all[0].checksum == db::checksum_of("SELECT 1;"));
    CHECK(all[1].version == 2);
    CHECK(all[1].name == "second");
  }
  SECTION("malformed file names") {
    for (const std::string bad : {"1_init.sql", "001_init.sql", "0001-init.sql", "0001_.sql",
                                  "0001_Init.sql", "0001_with space.sql", "abcd_init.sql"}) {
      INFO("file " << bad);
      temp_dir dir;
      dir.write(bad, "SELECT 1;");
      CHECK_THAT(migration_error_of([&] { db::load_migrations(dir.path()); }), Catch::Contains(bad));
    }
  }
  SECTION("a version used twice") {
    temp_dir dir;
    dir.write("0001_first.sql", "SELECT 1;");
    dir.write("0001_again.sql", "SELECT 1;");
    CHECK_THAT(migration_error_of([&] { db::load_migrations(dir.path()); }),
               Catch::Contains("0001") && Catch::Contains("first") && Catch::Contains("again"));
  }
  SECTION("a missing directory") {
    CHECK_THAT(migration_error_of([] { db::load_migrations("/nonexistent/mercato/migrations"); }),
               Catch::Contains("/nonexistent/mercato/migrations"));
  }
}

TEST_CASE_METHOD(fresh_database, "pending_migrations lists what is not applied yet", "[db][migrations]") {
  const auto all = db::load_migrations(test::migrations_dir());
  REQUIRE(all.size() >= 2);
  auto c = connect();
  CHECK(db::pending_migrations(*c, all) == versions_of(all));  // no schema_migrations table yet

  db::apply_migrations(*c, {all.front()});
  auto rest = versions_of(all);
  rest.erase(rest.begin());
  CHECK(db::pending_migrations(*c, all) == rest);
  CHECK(recorded_versions(*c) == std::vector<int>{all.front().version});

  CHECK(db::apply_migrations(*c, all).applied == rest);
  CHECK(db::pending_migrations(*c, all).empty());
}

TEST_CASE("orphan_references (0016) names each row whose parent is missing", "[db][migrations]") {
  test::migrated_database db;
  CHECK(db.orphan_references() == "");  // a newly migrated database
  // Rows that the dropped foreign keys would have refused, one agent's table each: a timeline
  // entry of an order that does not exist, two steps of a saga that does not exist, a transaction
  // of a payment that does not exist on a gateway that does not exist, a reservation in a
  // warehouse that does not exist.
  db.exec("INSERT INTO orders.order_timeline (event_id, order_id, event_type)"
          " VALUES ('c0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-0000000000ff', 'order_created');"
          "INSERT INTO orders.saga_steps (saga_id, seq, step, status)"
          " VALUES ('c0000000-0000-4000-8000-0000000000fe', 1, 'fraud_check', 'succeeded'),"
          "        ('c0000000-0000-4000-8000-0000000000fe', 2, 'reserve', 'started');"
          "INSERT INTO payments.payment_transactions (transaction_id, payment_id, customer_id, gateway_id,"
          "  transaction_type, transaction_status, amount, currency, idempotency_key)"
          " VALUES ('c0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-0000000000fd', 'CUST-X', 99,"
          "         'authorize', 'pending', 1, 'USD', 'k-orphan');"
          "INSERT INTO inventory.reservations (reservation_id, order_id, product_id, warehouse_id, quantity, status,"
          "  expires_at)"
          " VALUES ('c0000000-0000-4000-8000-000000000004', 'ORD-X', 'PROD-X', 'c0000000-0000-4000-8000-0000000000fc',"
          "         1, 'active', now() + interval '1 hour')");
  CHECK(db.orphan_references() ==
        "orders.order_timeline.order_id: 1 orphan(s) [c0000000-0000-4000-8000-000000000001]; "
        "orders.saga_steps.saga_id: 2 orphan(s) [c0000000-0000-4000-8000-0000000000fe#1, "
        "c0000000-0000-4000-8000-0000000000fe#2]; "
        "payments.payment_transactions.payment_id: 1 orphan(s) [c0000000-0000-4000-8000-000000000003]; "
        "payments.payment_transactions.gateway_id: 1 orphan(s) [c0000000-0000-4000-8000-000000000003]; "
        "inventory.reservations.warehouse_id: 1 orphan(s) [c0000000-0000-4000-8000-000000000004]; ");
}
