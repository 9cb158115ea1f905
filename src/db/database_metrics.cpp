// Prometheus text of the database's figures (see database_metrics.hpp).
#include "db/database_metrics.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "db/database.hpp"

namespace mercato::db {

std::string render_database_metrics(const database& db) {
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  const auto& pool = db.pool();
  family("mercato_db_pool_connections", "gauge", "Connections the pool keeps (database.pool_size).",
         pool.settings().connections);
  family("mercato_db_pool_connected", "gauge", "Pool connections up right now; 0 while PostgreSQL is unreachable.",
         pool.connected_connections());
  family("mercato_db_pool_queued", "gauge", "Units of database work waiting for a pool connection.", pool.queued());
  auto histogram = [&out](const char* name, const char* help, const latency_histogram& h) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    h.render_samples(out, name, "");
  };
  histogram("mercato_db_pool_wait_seconds",
            "Time a unit of database work waited in the queue for a pool connection.", pool.wait_times());
  histogram("mercato_db_unit_duration_seconds",
            "Time a pool connection spent on a unit of work: its statements, commit and retries.",
            pool.run_times());
  family("mercato_outbox_published_total", "counter", "Outbox events the relay published on the event bus.",
         db.relay().published());
  family("mercato_db_statistics_analyzed_total", "counter",
         "Tables the statistics keeper analyzed after they grew past their statistics.", db.statistics().analyzed());
  family("mercato_db_retention_deleted_total", "counter",
         "Expired idempotency keys and processed-event marks the retention keeper deleted.",
         db.retention().deleted());
  return out;
}

}  // namespace mercato::db
