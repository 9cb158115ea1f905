// Deletes expired idempotency keys and processed-event marks (see retention_keeper.hpp).
#include "db/retention_keeper.hpp"

#include <pqxx/pqxx>

#include "db/sql_names.hpp"
#include "log/log.hpp"

namespace mercato::db {
namespace {

// Deletes the rows of `table` whose `column` is before `cutoff`, `batch` a statement, until a
// statement deletes fewer.
int64_t prune_table(pqxx::connection& c, const std::string& table, const std::string& column,
                    const std::string& cutoff, int64_t batch) {
  const std::string sql = delete_expired_sql(table, column);
  int64_t total = 0;
  for (;;) {
    pqxx::nontransaction tx{c};
    const auto n = static_cast<int64_t>(tx.exec_params(sql, cutoff, batch).affected_rows());
    total += n;
    if (n < batch) return total;
  }
}

}  // namespace

// The rows are picked by ctid, which lets a LIMIT bound a DELETE.
std::string delete_expired_sql(const std::string& table, const std::string& column) {
  return "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table + " WHERE " + column +
         " < $1::timestamptz LIMIT $2))";
}

// Each outbox's oldest row is a probe of its primary key; least() skips the NULL of an empty one.
std::string retention_cutoffs_sql(const std::vector<std::string>& schemas) {
  std::string oldest = "NULL::timestamptz";
  for (const auto& schema : schemas)
    oldest += ", (SELECT occurred_at FROM " + qualified_table(schema, "outbox") + " ORDER BY id LIMIT 1)";
  return "SELECT (now() - make_interval(secs => $1))::text, c.marks::text, c.marks < c.by_age "
         "FROM (SELECT now() - make_interval(secs => $2) AS by_age, "
         "least(now() - make_interval(secs => $2), least(" + oldest + ") - interval '1 hour') AS marks) c";
}

retention_keeper::retention_keeper(retention_settings settings)
    : settings_(std::move(settings)),
      worker_("retention", settings_.url, settings_.interval, "SET lock_timeout = '1s'; SET statement_timeout = '60s'",
              [this](pqxx::connection& c) { prune_once(c); }) {}

retention_keeper::~retention_keeper() { stop(); }

retention_keeper::pruned retention_keeper::prune_once(pqxx::connection& c) {
  pruned out;
  std::string keys_before, marks_before;
  {
    pqxx::nontransaction tx{c};
    const auto row = tx.exec_params1(retention_cutoffs_sql(settings_.schemas),
                                     static_cast<double>(settings_.idempotency_keys.count()),
                                     static_cast<double>(settings_.processed_events.count()));
    keys_before = row[0].as<std::string>();
    marks_before = row[1].as<std::string>();
    out.marks_held_back = row[2].as<bool>();
  }
  if (out.marks_held_back)
    log::info("db", "retention_marks_held_back", {{"marks_before", marks_before}});
  for (const auto& schema : settings_.schemas) {
    const auto keys = prune_table(c, qualified_table(schema, "idempotency_keys"), "created_at", keys_before,
                                  settings_.batch);
    const auto marks = prune_table(c, qualified_table(schema, "processed_events"), "processed_at", marks_before,
                                   settings_.batch);
    if (keys + marks > 0)
      log::info("db", "retention_pruned",
                {{"schema", schema}, {"idempotency_keys", keys}, {"processed_events", marks}});
    out.idempotency_keys += keys;
    out.processed_events += marks;
  }
  deleted_.fetch_add(static_cast<uint64_t>(out.idempotency_keys + out.processed_events), std::memory_order_relaxed);
  return out;
}

}  // namespace mercato::db
