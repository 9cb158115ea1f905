// The server's PostgreSQL side in one place: connect (waiting up to connect_timeout), migrate,
// the connection pool for agents, the outbox relay, the statistics and retention keepers. Also the
// one-shot `migrate` and `seed`.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "db/db_pool.hpp"
#include "db/migrations.hpp"
#include "db/outbox.hpp"
#include "db/retention_keeper.hpp"
#include "db/statistics_keeper.hpp"

namespace mercato {
class event_bus;
}

namespace mercato::db {

// Opens a connection, retrying with backoff until `cfg.connect_timeout`; throws the last error.
std::unique_ptr<pqxx::connection> connect_with_retry(const database_config& cfg);

// Applies pending migrations from cfg.migrations_dir (`mercato migrate`, and serve on start).
migration_report migrate(const database_config& cfg);

// Loads cfg.seed_dir's NNNN_name.sql files in one transaction when no seed was loaded before;
// returns the number of files loaded (0 when already seeded or nothing to load).
size_t seed(const database_config& cfg);

class database {
 public:
  database(const database_config& cfg, event_bus& bus, std::vector<std::string> agent_schemas);
  ~database();

  // Migrates (when auto_migrate) and starts the pool. Throws on failure.
  void start();
  // Starts publishing outbox events. Called once the agents run, so that the events a crash left
  // behind reach consumers that have declared themselves (event_bus::declare_consumer).
  void start_relay();
  void stop();

  // Migrations ran and the pool has a live connection: what /ready waits for.
  bool ready() const noexcept { return migrated_.load() && pool_.connected(); }

  db::pool& pool() noexcept { return pool_; }
  outbox_relay& relay() noexcept { return relay_; }
  // For /metrics (database_metrics.hpp).
  const db::pool& pool() const noexcept { return pool_; }
  const outbox_relay& relay() const noexcept { return relay_; }
  const statistics_keeper& statistics() const noexcept { return statistics_; }
  const retention_keeper& retention() const noexcept { return retention_; }

 private:
  database_config cfg_;
  db::pool pool_;
  outbox_relay relay_;
  statistics_keeper statistics_;
  retention_keeper retention_;
  std::atomic<bool> migrated_{false};
};

}  // namespace mercato::db
