// Planner statistics that keep up with tables growing from empty (a new shop, a bulk import).
//
// PostgreSQL plans a prepared statement once per connection and keeps the plan until the
// statistics of a table it reads change. Plans made while a table was empty read it with a
// sequential scan, and keep doing so as it grows: autovacuum analyzes a table once 10 % of it
// changed, but looks at each database only once a minute (autovacuum_naptime). On a new database
// under the orders benchmark that minute cost 8.3 million reservation rows read by seq scans in
// 10 s (one per reserve batch) and 1.7 million payment transactions.
//
// The keeper closes that gap: every `interval` it analyzes the tables of `schemas` that hold at
// least `min_rows` live rows and more than twice the rows the planner last counted. A new table is
// analyzed at min_rows, then at each doubling; a table autovacuum already follows (10 %) never
// doubles between two of its passes, so the keeper only acts early in a table's life. ANALYZE
// invalidates the plans that read the table; the next execution plans on the fresh numbers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/periodic_worker.hpp"

namespace mercato::db {

struct statistics_settings {
  std::string url;
  std::vector<std::string> schemas;
  std::chrono::milliseconds interval{2000};
  int64_t min_rows = 1000;
};

class statistics_keeper {
 public:
  explicit statistics_keeper(statistics_settings settings);
  ~statistics_keeper();
  statistics_keeper(const statistics_keeper&) = delete;
  statistics_keeper& operator=(const statistics_keeper&) = delete;

  void start() { worker_.start(); }
  void stop() { worker_.stop(); }

  // One round on the calling thread with connection `c`: analyzes the tables that outgrew their
  // statistics and returns their names (schema.table). A table whose lock is taken (a running
  // autovacuum, DDL) is skipped until the next round.
  std::vector<std::string> refresh_once(pqxx::connection& c);

  // Tables analyzed since start.
  uint64_t analyzed() const noexcept { return analyzed_.load(std::memory_order_relaxed); }

 private:
  statistics_settings settings_;
  std::atomic<uint64_t> analyzed_{0};
  periodic_worker worker_;  // last: its thread uses the members above
};

}  // namespace mercato::db
