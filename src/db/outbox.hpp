// Transactional outbox: an event is written in the same transaction as the change it reports, and
// a relay publishes committed events on the in-process bus afterwards — at least once, in commit
// order (so in order per aggregate); a rolled-back change publishes nothing. Consumers de-duplicate
// with mark_processed().
//
// A row holds the events of one writing statement (migration 0017): a statement that serves a
// batch of orders writes their events as one row, not one row per event. The row's `events` is a
// JSON array of objects with the text fields event_id, aggregate_id, name, publisher,
// correlation_id, payload (the payload's JSON text) and occurred_at; <schema>.outbox_events reads
// them one per row.
//
// A row is deleted once its events are settled: published, and held by no durable consumer of the
// bus (event_bus::held). An event a consumer has not acknowledged yet keeps its row, so that a
// crash of the whole process re-publishes it at the next start instead of losing it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <pqxx/connection>
#include <pqxx/transaction>

#include "mercato/event.hpp"

namespace mercato::db {

class outbox {
 public:
  explicit outbox(std::string schema);

  // Inside the change's transaction.
  void enqueue(pqxx::work& tx, const event& e, std::string_view aggregate_id) const;

  // For a unit whose change is one statement: its events written by that same statement, so the
  // unit needs neither a second round trip nor BEGIN/COMMIT. The text of a data-modifying CTE that
  // inserts one row holding the events `select` yields, or no row when it yields none. `select`
  // is a query of two columns: the event (a jsonb object, the fields above) and its position.
  std::string insert_events_sql(std::string_view select) const;
  // insert_events_sql of the events of parameter $<param>, an outbox_rows::json(). `condition`,
  // if any, filters them, e.g. "EXISTS (SELECT 1 FROM <the change's CTE>)" so that the events
  // exist only if the change does; it may read the event as `r.e`.
  std::string insert_rows_sql(int param, std::string_view condition = {}) const;
  // The same for a shared statement: the events `events` (an outbox_rows::array() per document)
  // of each row of `from`, in the order of `from`'s column `n`, e.g. insert_rows_sql("c", "c.j->'events'").
  std::string insert_rows_sql(std::string_view from, std::string_view events) const;

  // The events not published yet, for health and statistics endpoints.
  struct backlog {
    int64_t pending = 0;            // events whose row is unmarked (a marked row is published)
    double oldest_age_seconds = 0;  // since the oldest pending event occurred
    int64_t failed = 0;             // pending events whose row records a failed attempt
  };
  backlog read_backlog(pqxx::transaction_base& tx) const;

  const std::string& schema() const noexcept { return schema_; }

 private:
  std::string schema_;
  std::string table_;
};

// The events of one statement, bound as one jsonb parameter (see outbox::insert_rows_sql).
class outbox_rows {
 public:
  void add(const event& e, std::string_view aggregate_id);
  bool empty() const noexcept { return rows_.empty(); }
  size_t size() const noexcept { return rows_.size(); }
  // [{"event_id":…,"aggregate_id":…,"name":…,"publisher":…,"correlation_id":…,"payload":"<json text>",
  //   "occurred_at":…}, …]
  std::string json() const;
  // The same rows as a JSON array, for a batch document that carries its events.
  nlohmann::json array() const;

 private:
  std::vector<std::pair<event, std::string>> rows_;
};

// Records that `consumer` handled `event_id` (in the consumer's own transaction). Returns false when
// it already had: the delivery is a duplicate and must be skipped.
bool mark_processed(pqxx::work& tx, std::string_view schema, std::string_view event_id,
                    std::string_view consumer);
// mark_processed inside a consumer's one-statement unit: the text of a data-modifying CTE that
// inserts the mark, yielding one row only for the first delivery. Parameters: $<event_param> the
// event id, $<consumer_param> the consumer. Make the effect conditional on its row
// (WHERE EXISTS / a join), so a duplicate delivery changes nothing.
std::string mark_processed_sql(std::string_view schema, int event_param, int consumer_param);

struct relay_settings {
  std::string url;                              // its own connection, not a pool slot
  std::vector<std::string> schemas;             // outboxes to drain
  // Every outbox is swept this often (events a crash or another process left behind); an outbox
  // named in wake(schema) is drained at once.
  std::chrono::milliseconds poll_interval{1000};
  // After a wake the relay waits this long so that the commits of a burst share one pass.
  std::chrono::milliseconds coalesce{2};
  size_t batch = 200;
  // After each pass the relay asks the bus to re-deliver events a durable consumer has held
  // unacknowledged this long (event_bus::redeliver_stale): a consumer that gave up on a database
  // outage gets them again.
  std::chrono::milliseconds redeliver_after{30000};
  // An event still held this long after publication gets its row marked (published_at), which
  // takes it out of the relay's exclusion list; until then the relay skips it by id. Consumers
  // normally acknowledge within milliseconds, so the usual row is deleted without ever being
  // marked (a mark is one more row version and index entry).
  std::chrono::milliseconds mark_after{1000};
  // A pass deletes the rows of earlier publications that are settled by then (in the statement
  // that reads the next batch). Without a wake, a pass runs this long after one that left
  // settled rows behind.
  std::chrono::milliseconds settle_after{50};
};

class outbox_relay {
 public:
  outbox_relay(relay_settings settings, event_bus& bus);
  ~outbox_relay();

  // Starts the relay thread; its first pass publishes whatever a crash left unpublished.
  void start();
  void stop();
  // Asks for a pass over `schema`'s outbox now: call after committing a transaction that
  // enqueued events there. Draining only the woken outboxes keeps an idle outbox from costing a
  // transaction per commit elsewhere. An unknown schema wakes them all.
  void wake(std::string_view schema);
  // Asks for a pass over every outbox now.
  void wake();

  uint64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }
  // The relay's session settings, on its connection before the first pass: only plans that reach
  // rows by id and stop after the batch (see outbox.cpp).
  static void configure_session(pqxx::connection& c);
  // Runs one pass over every outbox on the calling thread with connection `c`; returns events
  // published.
  size_t drain_once(pqxx::connection& c);

 private:
  void run();
  // Published, row kept: one of its events is still held by a durable consumer.
  struct in_flight {
    int64_t id;
    std::vector<std::string> event_ids;
    std::chrono::steady_clock::time_point published_at;
    bool marked;  // published_at set in the row
  };
  size_t drain(pqxx::connection& c, size_t schema_index);
  // Per row of `flight`: whether a durable consumer still holds one of its events.
  std::vector<bool> held(const std::vector<in_flight>& flight) const;
  // Per outbox: whether a row it published is settled now (and so due for deletion).
  std::vector<bool> settleable() const;

  relay_settings settings_;
  event_bus& bus_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<bool> woken_;  // per schema, guarded by mutex_
  bool any_woken_ = false;
  std::atomic<uint64_t> published_{0};
  // Per schema, relay thread only.
  std::vector<std::vector<in_flight>> in_flight_;
  // The first pass after start also re-publishes rows a previous run marked: nobody holds their
  // events any more in this process.
  bool recovering_ = true;
};

}  // namespace mercato::db
