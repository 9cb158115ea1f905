// Start-up, migration and seeding against PostgreSQL (see database.hpp).
#include "db/database.hpp"

#include <thread>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "log/log.hpp"

namespace mercato::db {

std::unique_ptr<pqxx::connection> connect_with_retry(const database_config& cfg) {
  const auto deadline = std::chrono::steady_clock::now() + cfg.connect_timeout;
  auto backoff = cfg.reconnect_min;
  for (;;) {
    try {
      return std::make_unique<pqxx::connection>(cfg.url);
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() + backoff > deadline) throw;
      log::warn("db", "connect_failed", {{"retry_ms", backoff.count()}, {"reason", e.what()}});
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, cfg.reconnect_max);
    }
  }
}

migration_report migrate(const database_config& cfg) {
  auto all = load_migrations(cfg.migrations_dir);
  auto conn = connect_with_retry(cfg);
  auto report = apply_migrations(*conn, all);
  log::info("db", "migrations_done",
            {{"applied", report.applied.size()}, {"already_applied", report.already_applied}});
  return report;
}

size_t seed(const database_config& cfg) {
  std::vector<migration> files;
  try {
    files = load_migrations(cfg.seed_dir);  // same NNNN_name.sql naming
  } catch (const migration_error&) {
    return 0;  // no seed directory: nothing to load
  }
  if (files.empty()) return 0;
  auto conn = connect_with_retry(cfg);
  pqxx::work tx{*conn};
  tx.exec(
      "CREATE TABLE IF NOT EXISTS public.seed_runs (version integer PRIMARY KEY, name text NOT NULL,"
      " loaded_at timestamptz NOT NULL DEFAULT now())");
  tx.exec("LOCK TABLE public.seed_runs IN EXCLUSIVE MODE");
  if (!tx.exec("SELECT 1 FROM public.seed_runs LIMIT 1").empty()) return 0;
  for (const auto& f : files) {
    tx.exec(f.sql);
    tx.exec_params("INSERT INTO public.seed_runs (version, name) VALUES ($1, $2)", f.version, f.name);
  }
  tx.commit();
  log::info("db", "seed_loaded", {{"files", files.size()}});
  return files.size();
}

namespace {

pool_settings pool_settings_from(const database_config& cfg) {
  pool_settings s;
  s.url = cfg.url;
  s.connections = cfg.pool_size;
  s.statement_timeout = cfg.statement_timeout;
  s.reconnect_min = cfg.reconnect_min;
  s.reconnect_max = cfg.reconnect_max;
  return s;
}

retention_settings retention_settings_from(const database_config& cfg, std::vector<std::string> schemas) {
  retention_settings s;
  s.url = cfg.url;
  s.schemas = std::move(schemas);
  s.interval = std::chrono::seconds(cfg.retention_interval_s);
  s.processed_events = std::chrono::hours(24) * cfg.processed_events_retention_days;
  return s;
}

}  // namespace

database::database(const database_config& cfg, event_bus& bus,
                   std::vector<std::string> agent_schemas)
    : cfg_(cfg),
      pool_(pool_settings_from(cfg)),
      relay_(relay_settings{cfg.url, agent_schemas}, bus),
      statistics_(statistics_settings{cfg.url, agent_schemas}),
      retention_(retention_settings_from(cfg, std::move(agent_schemas))) {}

database::~database() { stop(); }

void database::start() {
  if (cfg_.auto_migrate) {
    migrate(cfg_);
  } else {
    auto conn = connect_with_retry(cfg_);
    auto pending = pending_migrations(*conn, load_migrations(cfg_.migrations_dir));
    if (!pending.empty())
      throw migration_error(fmt::format(
          "{} migration(s) pending and database.auto_migrate is off: run `mercato migrate`",
          pending.size()));
  }
  migrated_ = true;
  pool_.start();
  statistics_.start();
  retention_.start();
  // Agents start right after: give the pool a moment to connect so the first calls succeed.
  const auto deadline = std::chrono::steady_clock::now() + cfg_.connect_timeout;
  while (!pool_.connected() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void database::start_relay() { relay_.start(); }

void database::stop() {
  retention_.stop();
  statistics_.stop();
  relay_.stop();
  pool_.stop();
}

}  // namespace mercato::db
