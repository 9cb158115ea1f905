// A pool of PostgreSQL connections, each on its own thread, so that blocking libpq calls never run
// on a CAF scheduler or Asio thread (DESIGN.md §6). Work is submitted as a unit — a function over
// a transaction — and its outcome (a value or a typed db::error) is handed to a callback on the pool
// thread; db_call.hpp turns that into a message to the submitting actor.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "db/db_error.hpp"
#include "runtime/latency_histogram.hpp"

namespace mercato::db {

// A value or an error.
template <class T>
struct outcome {
  std::optional<T> value;
  std::optional<db::error> failure;

  bool ok() const noexcept { return value.has_value(); }
  static outcome success(T v) { return outcome{std::move(v), std::nullopt}; }
  static outcome fail(db::error e) { return outcome{std::nullopt, std::move(e)}; }
};

struct pool_settings {
  std::string url;                            // libpq connection string or URI
  size_t connections = 4;                     // one thread per connection
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  size_t max_queue = 10000;                   // units waiting; above → unavailable at once
  uint32_t max_attempts = 3;                  // runs of a unit that failed with `retriable`
};

class pool {
 public:
  // Low-level unit: `run` gets a live connection on a pool thread and reports its own result;
  // if it throws, the exception is classified and handed to `fail` (also used when the unit
  // cannot run: no connection, queue full, shutdown). Exactly one of the two completes a unit.
  struct unit {
    std::function<void(pqxx::connection&)> run;
    std::function<void(db::error)> fail;
    bool retry_serialization = true;  // run again (up to max_attempts) on `retriable`
    std::chrono::steady_clock::time_point submitted{};  // set by submit()
  };

  explicit pool(pool_settings settings);
  ~pool();  // stops the threads; queued units fail with `unavailable`
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Statements prepared on every connection (now and after each reconnect). Call before start().
  void prepare(std::string name, std::string sql);
  // Starts the threads; each connects (and reconnects) with exponential backoff.
  void start();
  void stop();

  void submit(unit u);

  // Runs `work(pqxx::work&) -> T` in a transaction and calls `done(outcome<T>)` on the pool thread,
  // exactly once: an exception from `done` itself is logged, never mistaken for the unit's.
  template <class T, class Work, class Done>
  void transact(Work work, Done done) {
    auto shared_done = std::make_shared<Done>(std::move(done));
    submit(unit{[work = std::move(work), shared_done](pqxx::connection& c) {
                  auto result = outcome<T>::success(run_in_transaction<T>(c, work));
                  complete(*shared_done, std::move(result));
                },
                [shared_done](db::error e) { complete(*shared_done, outcome<T>::fail(std::move(e))); }});
  }

  // What an autocommit unit does, which decides whether running it again is harmless.
  enum class effect { read, write };

  // Runs `work(pqxx::nontransaction&) -> T` without BEGIN/COMMIT: each statement commits on its
  // own. Meant for a unit of one statement, or of reads only (at read committed a transaction
  // gives each statement its own snapshot anyway), where it saves the two round trips of a
  // transaction. A `read` unit whose connection turns out dead is re-run once on a fresh one,
  // like a transaction whose BEGIN failed; a `write` unit then fails with `unavailable`, as its
  // statement may have committed. `done` is called as for transact().
  template <class T, class Work, class Done>
  void autocommit(effect kind, Work work, Done done) {
    auto shared_done = std::make_shared<Done>(std::move(done));
    submit(unit{[kind, work = std::move(work), shared_done](pqxx::connection& c) {
                  auto result = outcome<T>::success(run_in_autocommit<T>(c, kind, work));
                  complete(*shared_done, std::move(result));
                },
                [shared_done](db::error e) { complete(*shared_done, outcome<T>::fail(std::move(e))); }});
  }

  // Thrown by run_in_transaction when the connection was dead before anything was sent.
  struct never_sent : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  // True while at least one connection is up.
  bool connected() const noexcept { return connected_count_.load(std::memory_order_acquire) > 0; }
  // Connections up right now (of settings().connections).
  size_t connected_connections() const noexcept { return connected_count_.load(std::memory_order_acquire); }
  size_t queued() const;
  const pool_settings& settings() const noexcept { return settings_; }
  // How long units waited in the queue for a connection thread (pool_size too small, or the
  // database slow), and how long a connection then spent on each (its statements, commit and
  // retries). Units that failed without running (no connection, queue full) are in neither.
  const latency_histogram& wait_times() const noexcept { return wait_times_; }
  const latency_histogram& run_times() const noexcept { return run_times_; }

  // Runs `work` in a pqxx::work on `c` and commits; exceptions propagate (to the pool).
  template <class T, class Work>
  static T run_in_transaction(pqxx::connection& c, Work& work);
  // Runs `work` in a pqxx::nontransaction on `c` (see autocommit()).
  template <class T, class Work>
  static T run_in_autocommit(pqxx::connection& c, effect kind, Work& work);
  // True when the server has closed idle connection `c` (a restart, an administrator's
  // pg_terminate_backend): found without a round trip, by peeking at its socket. A unit that
  // finds it so before sending anything may throw never_sent to run on a fresh connection.
  static bool closed_while_idle(pqxx::connection& c);

 private:
  template <class Done, class Outcome>
  static void complete(Done& done, Outcome&& result);
  std::unique_ptr<pqxx::connection> open_connection() const;

  void worker_main(size_t index);
  bool take(unit& out);

  pool_settings settings_;
  std::vector<std::pair<std::string, std::string>> prepared_;
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<unit> queue_;
  bool stopping_ = false;
  std::atomic<size_t> connected_count_{0};
  latency_histogram wait_times_;
  latency_histogram run_times_;
};

}  // namespace mercato::db

#include "db/db_pool_inl.hpp"
