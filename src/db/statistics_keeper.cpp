// Analyzes tables that outgrew their planner statistics (see statistics_keeper.hpp).
#include "db/statistics_keeper.hpp"

#include <pqxx/pqxx>

#include "db/sql_array.hpp"
#include "log/log.hpp"

namespace mercato::db {

statistics_keeper::statistics_keeper(statistics_settings settings)
    : settings_(std::move(settings)),
      // Waiting for a table's lock longer than deadlock_timeout (1 s) would cancel an autovacuum
      // working on it: give up well before, the table is retried next round.
      worker_("statistics", settings_.url, settings_.interval,
              "SET lock_timeout = '200ms'; SET statement_timeout = '60s'",
              [this](pqxx::connection& c) { refresh_once(c); }) {}

statistics_keeper::~statistics_keeper() { stop(); }

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

}  // namespace mercato::db
