// Analyzes tables that outgrew their planner statistics (see statistics_keeper.hpp).
#include "db/statistics_keeper.hpp"

#include <memory>

#include <pqxx/pqxx>

#include "db/sql_array.hpp"
#include "log/log.hpp"

namespace mercato::db {

statistics_keeper::statistics_keeper(statistics_settings settings) : settings_(std::move(settings)) {}

statistics_keeper::~statistics_keeper() { stop(); }

void statistics_keeper::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void statistics_keeper::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> statistics_keeper::refresh_once(pqxx::connection& c) {
  // reltuples is what the planner believes (-1: never analyzed); n_live_tup is what the table
  // holds now, as the statistics system counts it. Only tables this role may analyze (it owns
  // them or the database, or is a superuser): for another, ANALYZE only warns and changes nothing.
  pqxx::result due;
  {
    pqxx::nontransaction tx{c};
    due = tx.exec_params(
        "SELECT format('%I.%I', s.schemaname, s.relname), s.n_live_tup, greatest(c.reltuples, 0)::bigint"
        " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
        " WHERE s.schemaname = ANY($1::text[]) AND s.n_live_tup >= $2"
        "   AND s.n_live_tup > 2 * greatest(c.reltuples, 0)"
        "   AND (pg_has_role(c.relowner, 'USAGE') OR pg_has_role("
        "     (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE'))"
        " ORDER BY s.n_live_tup DESC",
        text_array(settings_.schemas), settings_.min_rows);
  }
  std::vector<std::string> done;
  for (const auto& row : due) {
    const auto table = row[0].as<std::string>();
    try {
      // The name comes from format('%I.%I'): quoted by PostgreSQL itself.
      pqxx::nontransaction{c}.exec("ANALYZE " + table);
    } catch (const pqxx::sql_error& e) {
      // lock_timeout: autovacuum or DDL holds the table; the next round tries again.
      log::debug("db", "statistics_skipped", {{"table", table}, {"reason", e.what()}});
      continue;
    }
    log::info("db", "statistics_refreshed",
              {{"table", table}, {"live_rows", row[1].as<int64_t>()}, {"planner_rows", row[2].as<int64_t>()}});
    analyzed_.fetch_add(1, std::memory_order_relaxed);
    done.push_back(table);
  }
  return done;
}

void statistics_keeper::run() {
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;  // one warning per outage, not one per round
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mutex_};
      if (wake_.wait_for(lock, settings_.interval, [&] { return stopping_; })) return;
    }
    try {
      if (!conn) {
        conn = std::make_unique<pqxx::connection>(settings_.url);
        // Waiting for a table's lock longer than deadlock_timeout (1 s) would cancel an
        // autovacuum working on it: give up well before, the table is retried next round.
        pqxx::nontransaction{*conn}.exec("SET lock_timeout = '200ms'; SET statement_timeout = '60s'");
      }
      refresh_once(*conn);
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) log::warn("db", "statistics_round_failed", {{"reason", e.what()}});
      failing = true;
      conn.reset();  // reconnects next round
    }
  }
}

}  // namespace mercato::db
