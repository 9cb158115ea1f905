// Retention of the platform tables that every request or event adds to and nothing else deletes
// from: each agent schema's idempotency_keys (one per keyed write, answered for 24 h) and
// processed_events (one per consumed event, there to skip a re-delivery). Without it both grow
// for ever: three rows per order under the orders bench.
//
// Every `interval` the keeper deletes, per schema, the keys older than idempotency_store::retention
// (a key past it is no longer replayed anyway: `claim` treats it as unused) and the processed
// marks older than `processed_events` (7 days: an event is re-delivered within seconds, or after a
// crash at the next start; a consumer that stayed away for a week is the case it gives up). It
// deletes at most `batch` rows a statement, until a statement deletes fewer, so no statement
// holds its locks or its snapshot long. Both time columns are indexed (processed_events by BRIN,
// migration 0018): a round that finds nothing old reads a few pages per table.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/idempotency_store.hpp"
#include "db/periodic_worker.hpp"

namespace mercato::db {

struct retention_settings {
  std::string url;
  std::vector<std::string> schemas;
  std::chrono::milliseconds interval{std::chrono::minutes(15)};
  std::chrono::seconds idempotency_keys{idempotency_store::retention};
  std::chrono::seconds processed_events{std::chrono::hours(24 * 7)};
  int64_t batch = 5000;
};

// The statement that deletes at most $2 rows of `table` (schema-qualified, quoted) whose `column`
// is older than $1 seconds.
std::string delete_expired_sql(const std::string& table, const std::string& column);

class retention_keeper {
 public:
  explicit retention_keeper(retention_settings settings);
  ~retention_keeper();
  retention_keeper(const retention_keeper&) = delete;
  retention_keeper& operator=(const retention_keeper&) = delete;

  void start() { worker_.start(); }
  void stop() { worker_.stop(); }

  struct pruned {
    int64_t idempotency_keys = 0;
    int64_t processed_events = 0;
  };
  // One round on the calling thread with connection `c`.
  pruned prune_once(pqxx::connection& c);

  // Rows deleted since start.
  uint64_t deleted() const noexcept { return deleted_.load(std::memory_order_relaxed); }

 private:
  retention_settings settings_;
  std::atomic<uint64_t> deleted_{0};
  periodic_worker worker_;  // last: its thread uses the members above
};

}  // namespace mercato::db
