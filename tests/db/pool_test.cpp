// The connection pool against a real server: concurrent units, error mapping, serialization retry,
// a slow unit not blocking others, fail-fast without a connection, reconnect after a restart.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "db/db_pool.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using test::fresh_database;
using namespace std::chrono_literals;

namespace {

db::error failure_of(const db::outcome<bool>& r) {
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.failure);
  return *r.failure;
}

// Runs `sql` as a unit and returns how it failed.
db::error failure_running(db::pool& pool, const std::string& sql) {
  return failure_of(test::run_unit<bool>(pool, [sql](pqxx::work& tx) {
    tx.exec(sql);
    return true;
  }));
}

}  // namespace

TEST_CASE_METHOD(fresh_database, "many concurrent units all complete", "[db][pool]") {
  exec("CREATE TABLE units (thread integer NOT NULL, n integer NOT NULL, PRIMARY KEY (thread, n))");
  constexpr int threads = 8, per_thread = 25;
  std::atomic<int> succeeded{0}, failed{0};  // declared before the pool: its callbacks use them
  db::pool pool{pool_settings(4)};
  test::start_pool(pool);

  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t)
    submitters.emplace_back([&, t] {
      for (int n = 0; n < per_thread; ++n)
        pool.transact<bool>(
            [t, n](pqxx::work& tx) {
              tx.exec_params("INSERT INTO units (thread, n) VALUES ($1, $2)", t, n);
              return true;
            },
            [&](db::outcome<bool> r) { ++(r.ok() ? succeeded : failed); });
    });
  for (auto& s : submitters) s.join();

  REQUIRE(test::eventually([&] { return succeeded + failed == threads * per_thread; }, 20s));
  CHECK(failed == 0);
  CHECK(value<int>("SELECT count(*) FROM units") == threads * per_thread);
}

TEST_CASE_METHOD(fresh_database, "database errors are mapped to typed errors", "[db][pool]") {
  exec("CREATE TABLE items (id integer PRIMARY KEY, qty integer NOT NULL CHECK (qty >= 0));"
       "INSERT INTO items VALUES (1, 1)");
  db::pool pool{pool_settings(2)};
  test::start_pool(pool);

  auto e = failure_running(pool, "INSERT INTO items VALUES (1, 5)");
  CHECK(e.code == db::errc::conflict);
  CHECK(e.sqlstate == "23505");

  e = failure_running(pool, "INSERT INTO items VALUES (2, -1)");
  CHECK(e.code == db::errc::invalid);
  CHECK(e.sqlstate == "23514");

  e = failure_running(pool, "SELEC 1");
  CHECK(e.code == db::errc::internal);
  CHECK(e.sqlstate == "42601");

  // A bind with more parameters than its statement uses is refused as a protocol violation (class
  // 08, which libpqxx throws as broken_connection), but the connection is fine: our bug, not an outage.
  e = failure_of(test::run_unit<bool>(pool, [](pqxx::work& tx) {
    tx.exec_params("UPDATE items SET qty = qty WHERE id = $1", 1, "unused");
    return true;
  }));
  CHECK(e.code == db::errc::internal);
  CHECK_THAT(e.message, Catch::Contains("bind message supplies 2 parameters"));
  CHECK(pool.connected_connections() == 2);

  // Failed units leave the pool usable, and their transactions rolled back.
  auto ok = test::run_unit<int>(pool, [](pqxx::work& tx) {
    return tx.exec1("SELECT count(*) FROM items")[0].as<int>();
  });
  REQUIRE(ok.ok());
  CHECK(*ok.value == 1);
}

TEST_CASE_METHOD(fresh_database, "prepared statements exist on every pool connection", "[db][pool]") {
  std::atomic<int> right{0}, done{0};
  db::pool pool{pool_settings(3)};
  pool.prepare("add_one", "SELECT $1::integer + 1");
  test::start_pool(pool);
  REQUIRE(wait_for_sessions(3));
  for (int i = 0; i < 30; ++i)
    pool.transact<int>([i](pqxx::work& tx) { return tx.exec_prepared1("add_one", i)[0].as<int>(); },
                       [&, i](db::outcome<int> r) {
                         right += r.ok() && *r.value == i + 1;
                         ++done;
                       });
  REQUIRE(test::eventually([&] { return done == 30; }));
  CHECK(right == 30);
}

TEST_CASE_METHOD(fresh_database, "a statement over statement_timeout fails with timeout", "[db][pool]") {
  auto settings = pool_settings(1);
  settings.statement_timeout = 100ms;
  db::pool pool{settings};
  test::start_pool(pool);

  auto e = failure_running(pool, "SELECT pg_sleep(1)");
  CHECK(e.code == db::errc::timeout);
  CHECK(e.sqlstate == "57014");
  CHECK(test::run_unit<bool>(pool, [](pqxx::work& tx) {
          tx.exec("SELECT 1");
          return true;
        }).ok());
}

TEST_CASE_METHOD(fresh_database, "a serialization failure is retried", "[db][pool]") {
  exec("CREATE TABLE runs (n integer NOT NULL)");
  db::pool pool{pool_settings(1)};
  test::start_pool(pool);

  SECTION("and succeeds on the second run, whose effects alone are kept") {
    auto runs = std::make_shared<std::atomic<int>>(0);
    auto r = test::run_unit<int>(pool, [runs](pqxx::work& tx) {
      const int run = ++*runs;
      tx.exec_params("INSERT INTO runs VALUES ($1)", run);
      if (run == 1) throw pqxx::serialization_failure("could not serialize access (test)");
      return run;
    });
    REQUIRE(r.ok());
    CHECK(*r.value == 2);
    CHECK(*runs == 2);
    CHECK(value<std::string>("SELECT string_agg(n::text, ',') FROM runs") == "2");
  }
  SECTION("up to max_attempts, then fails with retriable") {
    auto runs = std::make_shared<std::atomic<int>>(0);
    auto r = test::run_unit<bool>(pool, [runs](pqxx::work&) -> bool {
      ++*runs;
      throw pqxx::deadlock_detected("deadlock detected (test)");
    });
    REQUIRE_FALSE(r.ok());
    CHECK(r.failure->code == db::errc::retriable);
    CHECK(*runs == static_cast<int>(pool.settings().max_attempts));
  }
  SECTION("a real SERIALIZABLE conflict") {
    // Two units read the same rows and write disjoint ones; the second to commit would not be
    // serializable. A barrier inside the first run makes them overlap; retries run alone.
    exec("CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL);"
         "INSERT INTO doctors VALUES ('alice', true), ('bob', true)");
    std::promise<db::outcome<bool>> a, b;
    db::pool two{pool_settings(2)};
    test::start_pool(two);
    REQUIRE(wait_for_sessions(3));  // both pool connections (and `pool`'s one)
    auto arrived = std::make_shared<std::atomic<int>>(0);
    auto runs = std::make_shared<std::atomic<int>>(0);
    auto go_off_call = [&](std::string name) {
      return [name, arrived, runs](pqxx::work& tx) {
        ++*runs;
        tx.exec("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE");
        const auto on_call = tx.exec1("SELECT count(*) FROM doctors WHERE on_call")[0].as<int>();
        if (++*arrived <= 2)  // first runs: wait (bounded) until both have read
          test::eventually([&] { return arrived->load() >= 2; }, 5s);
        if (on_call < 2) return false;
        tx.exec_params("UPDATE doctors SET on_call = false WHERE name = $1", name);
        return true;
      };
    };
    two.transact<bool>(go_off_call("alice"), [&](db::outcome<bool> r) { a.set_value(std::move(r)); });
    two.transact<bool>(go_off_call("bob"), [&](db::outcome<bool> r) { b.set_value(std::move(r)); });
    auto fa = a.get_future(), fb = b.get_future();
    REQUIRE(fa.wait_for(10s) == std::future_status::ready);
    REQUIRE(fb.wait_for(10s) == std::future_status::ready);
    auto ra = fa.get(), rb = fb.get();
    REQUIRE(ra.ok());
    REQUIRE(rb.ok());
    CHECK(*ra.value != *rb.value);  // one went off call; the retried one saw it and did not
    CHECK(*runs >= 3);  // at least one run was retried
    CHECK(value<int>("SELECT count(*) FROM doctors WHERE on_call") == 1);
  }
}

TEST_CASE_METHOD(fresh_database, "a slow unit does not delay a unit on another connection", "[db][pool]") {
  std::mutex mutex;
  std::vector<std::string> finished;
  auto record = [&](std::string what) {
    std::lock_guard<std::mutex> guard{mutex};
    finished.push_back(std::move(what));
  };
  auto finished_count = [&] {
    std::lock_guard<std::mutex> guard{mutex};
    return finished.size();
  };
  std::atomic<bool> sleeping{false};
  db::pool pool{pool_settings(2)};
  test::start_pool(pool);
  REQUIRE(wait_for_sessions(2));

  pool.transact<bool>(
      [&](pqxx::work& tx) {
        sleeping = true;
        tx.exec("SELECT pg_sleep(2)");
        return true;
      },
      [&](db::outcome<bool> r) { record(r.ok() ? "sleep" : "sleep failed"); });
  REQUIRE(test::eventually([&] { return sleeping.load(); }));
  pool.transact<int>([](pqxx::work& tx) { return tx.exec1("SELECT 1")[0].as<int>(); },
                     [&](db::outcome<int> r) { record(r.ok() ? "select" : "select failed"); });

  REQUIRE(test::eventually([&] { return finished_count() == 2; }, 10s));
  std::lock_guard<std::mutex> guard{mutex};
  CHECK(finished == std::vector<std::string>{"select", "sleep"});
}

TEST_CASE_METHOD(fresh_database, "the pool times how long units wait for a connection and how long they run",
                 "[db][pool][metrics]") {
  // One connection and four 100 ms units submitted at once: the k-th waits for the k before it,
  // so the waits add up to at least 0 + 100 + 200 + 300 ms whatever the machine's speed.
  std::atomic<int> done{0};
  db::pool pool{pool_settings(1)};
  test::start_pool(pool);
  for (int i = 0; i < 4; ++i)
    pool.transact<bool>(
        [](pqxx::work& tx) {
          tx.exec("SELECT pg_sleep(0.1)");
          return true;
        },
        [&](db::outcome<bool> r) { done += r.ok(); });
  REQUIRE(test::eventually([&] { return pool.run_times().count() == 4; }, 20s));
  CHECK(done == 4);
  CHECK(pool.wait_times().count() == 4);
  CHECK(pool.wait_times().sum() >= 590ms);  // less a few µs between the first and last submit
  CHECK(pool.run_times().sum() >= 400ms);
  std::string text;
  pool.run_times().render_samples(text, "run", "");
  CHECK(text.find("run_bucket{le=\"0.05\"} 0\n") != std::string::npos);  // none ran under 100 ms
  CHECK(text.find("run_count 4\n") != std::string::npos);
}

TEST_CASE("submitting without a connection fails fast with unavailable", "[db][pool]") {
  db::pool_settings settings;
  settings.url = "host=/nonexistent/mercato-test-socket port=1 dbname=none user=none";
  settings.connections = 2;
  settings.reconnect_min = 10ms;
  settings.reconnect_max = 50ms;
  db::pool pool{settings};

  auto submit_now = [&] {
    std::optional<db::outcome<bool>> got;  // set synchronously: nothing can run it
    pool.transact<bool>([](pqxx::work&) { return true; }, [&](db::outcome<bool> r) { got = std::move(r); });
    REQUIRE(got);
    return *got;
  };
  SECTION("before start") { CHECK(failure_of(submit_now()).code == db::errc::unavailable); }
  SECTION("while the threads keep failing to connect") {
    pool.start();
    CHECK(failure_of(submit_now()).code == db::errc::unavailable);
    // Still fast after several reconnect attempts, and never connected.
    CHECK_FALSE(test::eventually([&] { return pool.connected(); }, 300ms));
    CHECK(failure_of(submit_now()).code == db::errc::unavailable);
    CHECK(pool.queued() == 0);
  }
}

namespace {

std::string command_output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

int pg_script(const std::string& args) {
  return std::system(("bash '" + test::source_dir() + "/scripts/pg.sh' " + args + " >/dev/null").c_str());
}

// Restarts the private cluster at scope exit if the test stopped it (also when it fails).
struct cluster_guard {
  bool stopped = false;
  void stop() {
    stopped = true;
    REQUIRE(pg_script("stop") == 0);
  }
  void start() {
    REQUIRE(pg_script("start") == 0);
    stopped = false;
  }
  ~cluster_guard() {
    if (stopped) pg_script("start");
  }
};

}  // namespace

TEST_CASE_METHOD(fresh_database, "the pool reconnects after the private cluster restarts",
                 "[db][pool][restart]") {
  const auto private_url = command_output("bash '" + test::source_dir() + "/scripts/pg.sh' url");
  if (test::database_url() != private_url) {
    WARN("skipped: DATABASE_URL is not the private cluster (" << private_url
                                                              << "); this test stops and starts it");
    return;
  }
  std::promise<db::outcome<bool>> in_flight;
  std::atomic<bool> sleeping{false};
  auto settings = pool_settings(2);
  settings.reconnect_max = 100ms;
  db::pool pool{settings};
  pool.prepare("one", "SELECT 1");  // prepared again on the new connections
  test::start_pool(pool);
  auto select_one = [](pqxx::work& tx) { return tx.exec_prepared1("one")[0].as<int>(); };
  REQUIRE(test::run_unit<int>(pool, select_one).ok());

  // A unit in flight when the server goes away fails (unavailable); it does not hang.
  pool.transact<bool>(
      [&](pqxx::work& tx) {
        sleeping = true;
        tx.exec("SELECT pg_sleep(30)");
        return true;
      },
      [&](db::outcome<bool> r) { in_flight.set_value(std::move(r)); });
  REQUIRE(test::eventually([&] { return sleeping.load(); }));

  cluster_guard cluster;
  cluster.stop();
  auto lost = in_flight.get_future();
  REQUIRE(lost.wait_for(5s) == std::future_status::ready);
  CHECK(failure_of(lost.get()).code == db::errc::unavailable);

  // Every unit fails with unavailable within a bound; soon the pool knows it is disconnected.
  REQUIRE(test::eventually(
      [&] {
        auto r = test::run_unit<int>(pool, select_one, 5s);
        REQUIRE_FALSE(r.ok());
        CHECK(r.failure->code == db::errc::unavailable);
        return !pool.connected();
      },
      5s));

  cluster.start();
  CHECK(test::eventually([&] { return pool.connected(); }, 5s));
  CHECK(test::eventually([&] { return test::run_unit<int>(pool, select_one, 5s).ok(); }, 5s));
}

TEST_CASE_METHOD(fresh_database, "a unit on a connection that died while idle runs on a fresh one",
                 "[db][pool]") {
  db::pool pool{pool_settings(1)};
  test::start_pool(pool);
  auto backend_pid = [](pqxx::work& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); };
  auto first = test::run_unit<int>(pool, backend_pid);
  REQUIRE(first.ok());

  // Kill the pool's only backend from outside; the pool has not noticed yet.
  pqxx::connection admin{url()};
  pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", *first.value);
  REQUIRE(test::eventually([&] {
    return pqxx::nontransaction(admin)
        .exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", *first.value)
        .empty();
  }));

  // Nothing of the unit reached the server (its BEGIN failed), so the pool reconnects and runs it.
  auto second = test::run_unit<int>(pool, backend_pid);
  REQUIRE(second.ok());
  CHECK(*second.value != *first.value);
}

namespace {

// Kills the backend `pid` from outside the pool and waits until it is gone.
void terminate_backend(const std::string& url, int pid) {
  pqxx::connection admin{url};
  pqxx::nontransaction(admin).exec_params("SELECT pg_terminate_backend($1)", pid);
  REQUIRE(test::eventually([&] {
    return pqxx::nontransaction(admin).exec_params("SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid).empty();
  }));
  // The backend leaves pg_stat_activity in its exit hooks, a moment before the process exits and
  // its socket closes; the tests below need the close to have reached the client's socket (a
  // second leaves room for a loaded machine).
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace

TEST_CASE_METHOD(fresh_database, "an autocommit unit runs without BEGIN and its statement commits",
                 "[db][pool]") {
  exec("CREATE TABLE marks (id integer PRIMARY KEY)");
  db::pool pool{pool_settings(1)};
  test::start_pool(pool);
  auto in_transaction = test::run_autocommit<bool>(pool, db::pool::effect::write, [](pqxx::nontransaction& tx) {
    tx.exec("INSERT INTO marks VALUES (1)");
    // Outside a transaction block, now() and statement_timestamp() of two statements differ and
    // txid_current_if_assigned() is empty: nothing holds a transaction open across statements.
    return tx.exec1("SELECT txid_current_if_assigned() IS NULL")[0].as<bool>();
  });
  REQUIRE(in_transaction.ok());
  CHECK(*in_transaction.value);
  CHECK(value<int>("SELECT count(*) FROM marks") == 1);

  // A failing statement fails the unit with a typed error; what ran before it stays committed.
  auto failed = test::run_autocommit<bool>(pool, db::pool::effect::write, [](pqxx::nontransaction& tx) {
    tx.exec("INSERT INTO marks VALUES (2)");
    tx.exec("INSERT INTO marks VALUES (1)");
    return true;
  });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.failure->code == db::errc::conflict);
  CHECK(value<int>("SELECT count(*) FROM marks") == 2);
}

TEST_CASE_METHOD(fresh_database,
                 "autocommit on a connection that died while idle runs on a fresh one, a write that broke it fails",
                 "[db][pool]") {
  exec("CREATE TABLE marks (id integer PRIMARY KEY)");
  db::pool pool{pool_settings(1)};
  test::start_pool(pool);
  auto backend_pid = [](pqxx::nontransaction& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); };
  auto first = test::run_autocommit<int>(pool, db::pool::effect::read, backend_pid);
  REQUIRE(first.ok());

  terminate_backend(url(), *first.value);
  auto second = test::run_autocommit<int>(pool, db::pool::effect::read, backend_pid);
  REQUIRE(second.ok());
  CHECK(*second.value != *first.value);

  // Closed while idle: found before the write sends anything, so the write runs once, on a fresh
  // connection.
  terminate_backend(url(), *second.value);
  std::atomic<int> runs{0};
  auto write = test::run_autocommit<int>(pool, db::pool::effect::write, [&runs](pqxx::nontransaction& tx) {
    ++runs;
    tx.exec("INSERT INTO marks VALUES (1)");
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
  });
  REQUIRE(write.ok());
  CHECK(*write.value != *second.value);
  CHECK(runs == 1);
  CHECK(value<int>("SELECT count(*) FROM marks") == 1);

  // Broken while the write runs: its first statement committed, so it is never run again; the
  // unit fails with unavailable (outcome unknown to the caller).
  runs = 0;
  auto broken = test::run_autocommit<bool>(pool, db::pool::effect::write, [&runs](pqxx::nontransaction& tx) {
    ++runs;
    tx.exec("INSERT INTO marks VALUES (2)");
    tx.exec("SELECT pg_terminate_backend(pg_backend_pid())");
    return true;
  });
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.failure->code == db::errc::unavailable);
  CHECK(runs == 1);
  CHECK(value<int>("SELECT count(*) FROM marks") == 2);
}
