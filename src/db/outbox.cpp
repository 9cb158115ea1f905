// Outbox writes, consumer de-duplication and the relay thread (see outbox.hpp).
#include "db/outbox.hpp"

#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "db/sql_names.hpp"
#include "log/log.hpp"

namespace mercato::db {

outbox::outbox(std::string schema)
    : schema_(std::move(schema)), table_(qualified_table(schema_, "outbox")) {}

void outbox::enqueue(pqxx::work& tx, const event& e, std::string_view aggregate_id) const {
  exec_hot(tx, "INSERT INTO " + table_ +
                     " (event_id, aggregate_id, name, publisher, correlation_id, payload, occurred_at)"
                     " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::timestamptz)",
                 e.event_id, std::string(aggregate_id), e.name, e.publisher, e.correlation_id,
                 e.payload, e.occurred_at);
}

bool mark_processed(pqxx::work& tx, std::string_view schema, std::string_view event_id,
                    std::string_view consumer) {
  auto r = exec_hot(tx, "INSERT INTO " + qualified_table(schema, "processed_events") +
                              " (event_id, consumer) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                          std::string(event_id), std::string(consumer));
  return r.affected_rows() == 1;
}

outbox_relay::outbox_relay(relay_settings settings, event_bus& bus)
    : settings_(std::move(settings)), bus_(bus), woken_(settings_.schemas.size(), false) {
  for (const auto& s : settings_.schemas) qualified_table(s, "outbox");  // validates early
}

outbox_relay::~outbox_relay() { stop(); }

void outbox_relay::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void outbox_relay::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void outbox_relay::wake(std::string_view schema) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    bool known = false;
    for (size_t i = 0; i < settings_.schemas.size(); ++i) {
      if (settings_.schemas[i] == schema) {
        woken_[i] = true;
        known = true;
      }
    }
    if (!known) woken_.assign(woken_.size(), true);
    any_woken_ = true;
  }
  wake_.notify_one();
}

void outbox_relay::wake() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    woken_.assign(woken_.size(), true);
    any_woken_ = true;
  }
  wake_.notify_one();
}

size_t outbox_relay::drain_once(pqxx::connection& c) {
  size_t total = 0;
  for (const auto& schema : settings_.schemas) total += drain(c, schema);
  return total;
}

size_t outbox_relay::drain(pqxx::connection& c, const std::string& schema) {
  const auto table = qualified_table(schema, "outbox");
  size_t total = 0;
  for (;;) {
    pqxx::work tx{c};
    // SKIP LOCKED: several relays (processes) never publish the same row concurrently.
    auto rows = exec_hot(tx,
        "SELECT id, event_id, name, publisher, correlation_id, payload::text,"
        " to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
        " FROM " + table + " WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        static_cast<int64_t>(settings_.batch));
    if (rows.empty()) break;
    std::vector<int64_t> ids;
    for (const auto& row : rows) {
      event e;
      e.event_id = row[1].as<std::string>();
      e.name = row[2].as<std::string>();
      e.publisher = row[3].as<std::string>();
      e.correlation_id = row[4].as<std::string>();
      e.payload = row[5].as<std::string>();
      e.occurred_at = row[6].as<std::string>();
      // Published before the commit that deletes it: a crash in between re-publishes (at least
      // once), never loses.
      bus_.publish(e);
      ids.push_back(row[0].as<int64_t>());
    }
    std::string id_list = "{";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) id_list += ',';
      id_list += std::to_string(ids[i]);
    }
    id_list += '}';
    // Deleted, not marked: a published row has served its purpose, a delete writes no new row
    // version or index entries (marking cost the order path a fifth of its statement time), and
    // the outbox stays as small as the backlog.
    exec_hot(tx, "DELETE FROM " + table + " WHERE id = ANY($1::bigint[])", id_list);
    tx.commit();
    total += ids.size();
    published_.fetch_add(ids.size(), std::memory_order_relaxed);
    if (rows.size() < settings_.batch) break;
  }
  return total;
}

void outbox_relay::run() {
  std::unique_ptr<pqxx::connection> conn;
  auto backoff = std::chrono::milliseconds(100);
  bool sweep = true;  // the first pass publishes whatever a crash left behind
  std::vector<bool> due(settings_.schemas.size(), false);
  auto last_redelivery = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mutex_};
      if (stopping_) return;
    }
    try {
      if (!conn) conn = std::make_unique<pqxx::connection>(settings_.url);
      if (sweep) {
        drain_once(*conn);
      } else {
        for (size_t i = 0; i < due.size(); ++i)
          if (due[i]) drain(*conn, settings_.schemas[i]);
      }
      if (std::chrono::steady_clock::now() - last_redelivery >= settings_.poll_interval) {
        last_redelivery = std::chrono::steady_clock::now();
        bus_.redeliver_stale(settings_.redeliver_after);
      }
      backoff = std::chrono::milliseconds(100);
    } catch (const std::exception& e) {
      log::warn("outbox", "relay_pass_failed", {{"reason", e.what()}, {"retry_ms", backoff.count()}});
      conn.reset();
      std::unique_lock<std::mutex> lock{mutex_};
      wake_.wait_for(lock, backoff, [&] { return stopping_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      sweep = true;  // what the failed pass did not publish is still there
      continue;
    }
    std::unique_lock<std::mutex> lock{mutex_};
    sweep = !wake_.wait_for(lock, settings_.poll_interval, [&] { return stopping_ || any_woken_; });
    if (stopping_) return;
    if (!sweep && settings_.coalesce.count() > 0) {
      // Let the rest of a burst commit, so that its events share this pass.
      wake_.wait_for(lock, settings_.coalesce, [&] { return stopping_; });
    }
    due.swap(woken_);
    woken_.assign(due.size(), false);
    any_woken_ = false;
  }
}

}  // namespace mercato::db
