// The db suite's one fixture: a fresh PostgreSQL database per test case, created through
// DATABASE_URL and dropped afterwards (optionally migrated), plus small helpers the tests share.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <pqxx/connection>
#include <pqxx/nontransaction>

#include "db/db_pool.hpp"

namespace mercato::test {

// DATABASE_URL; fails the test (never skips) when it is unset.
std::string database_url();
// `base` (libpq key=value string or postgresql:// URI) pointed at database `name`.
std::string url_with_dbname(const std::string& base, const std::string& name);
// The repository root (MERCATO_SOURCE_DIR) and its db/migrations directory.
std::string source_dir();
std::string migrations_dir();

// Polls `pred` until it holds or `timeout` passes; returns its last value.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A start line for `n` threads: each calls it once and returns when all have (or after `timeout`).
bool arrive_and_wait(std::atomic<int>& arrived, int n,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

// CREATE DATABASE mercato_test_<pid>_<n> on construction, DROP … WITH (FORCE) on destruction.
class fresh_database {
 public:
  fresh_database();
  // A copy of the database `template_name` (empty: a new, empty database).
  explicit fresh_database(const std::string& template_name);
  ~fresh_database();
  fresh_database(const fresh_database&) = delete;
  fresh_database& operator=(const fresh_database&) = delete;

  const std::string& url() const noexcept { return url_; }
  const std::string& name() const noexcept { return name_; }

  // A new connection to this test's database.
  std::unique_ptr<pqxx::connection> connect() const;
  // Runs `sql` (one or more statements) in its own committed transaction.
  void exec(const std::string& sql) const;
  // The first field of the first row of `sql`.
  template <class T>
  T value(const std::string& sql) const {
    auto c = connect();
    pqxx::nontransaction tx{*c};
    return tx.exec1(sql)[0].as<T>();
  }
  // Pool settings for this database with short reconnect backoff.
  db::pool_settings pool_settings(size_t connections = 4) const;
  // Waits until exactly `n` sessions other than the caller's are connected to this database.
  bool wait_for_sessions(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // mercato.orphan_references() (migration 0016) as text: "" when every reference it checks
  // holds, else "reference: n orphan(s) [examples]" per broken one, for CHECK(... == "").
  std::string orphan_references() const;

 private:
  std::string admin_url_;  // DATABASE_URL: where CREATE/DROP DATABASE run
  std::string name_;
  std::string url_;
};

// A fresh database with the repository's migrations applied (a copy of a per-process template).
class migrated_database : public fresh_database {
 public:
  migrated_database();
};

// Runs `work` through `pool` and waits (bounded) for its outcome; fails the test on timeout.
template <class T, class Work>
db::outcome<T> run_unit(db::pool& pool, Work work,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto promise = std::make_shared<std::promise<db::outcome<T>>>();
  auto future = promise->get_future();
  pool.transact<T>(std::move(work), [promise](db::outcome<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready)
    FAIL("the unit of work did not complete within " << timeout.count() << " ms");
  return future.get();
}

// run_unit for an autocommit unit (db::pool::autocommit): `work` takes a pqxx::nontransaction&.
template <class T, class Work>
db::outcome<T> run_autocommit(db::pool& pool, db::pool::effect kind, Work work,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto promise = std::make_shared<std::promise<db::outcome<T>>>();
  auto future = promise->get_future();
  pool.autocommit<T>(kind, std::move(work), [promise](db::outcome<T> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready)
    FAIL("the autocommit unit did not complete within " << timeout.count() << " ms");
  return future.get();
}

// Starts `pool` and waits until it has a connection.
void start_pool(db::pool& pool);

}  // namespace mercato::test
