// Retention of the platform tables that every request or event adds to and nothing else deletes
// from: each agent schema's idempotency_keys (one per keyed write, answered for 24 h) and
// processed_events (one per consumed event, there to skip a re-delivery). Without it both grow
// for ever: three rows per order under the orders bench.
//
// Every `interval` ([database] retention_interval_s) the keeper deletes, per schema, the keys
// older than idempotency_store::retention (a key past it is no longer replayed anyway: `claim`
// treats it as unused) and the processed marks older than `processed_events`
// ([database] processed_events_retention_days, 7 by default). A mark is kept whatever its age
// while its event could still be delivered again: only events of an outbox row are re-delivered
// (by the relay, or at the next start after a crash), and a mark is made after its event
// occurred, so marks older than the oldest outbox row of every schema (less an hour for
// transactions that commit out of id order) belong to no re-deliverable event. A server down for
// longer than the retention therefore never applies an event twice when it comes back.
//
// It deletes at most `batch` rows a statement, until a statement deletes fewer, so no statement
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
// is before $1 (a timestamptz).
std::string delete_expired_sql(const std::string& table, const std::string& column);

// The statement that answers a round's two cutoffs (text timestamps): keys created before the
// first go, marks made before the second. $1 and $2 are the two retentions in seconds; the marks'
// cutoff is held back by the oldest outbox row of `schemas`.
std::string retention_cutoffs_sql(const std::vector<std::string>& schemas);

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
    bool marks_held_back = false;  // an outbox row older than the marks' retention kept some
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
