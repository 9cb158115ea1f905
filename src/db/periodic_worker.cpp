// The maintenance thread shared by the keepers (see periodic_worker.hpp).
#include "db/periodic_worker.hpp"

#include <memory>

#include <pqxx/pqxx>

#include "log/log.hpp"

namespace mercato::db {

periodic_worker::periodic_worker(std::string name, std::string url, std::chrono::milliseconds interval,
                                 std::string session_sql, round work)
    : name_(std::move(name)),
      url_(std::move(url)),
      interval_(interval),
      session_sql_(std::move(session_sql)),
      work_(std::move(work)) {}

periodic_worker::~periodic_worker() { stop(); }

void periodic_worker::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void periodic_worker::stop() {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void periodic_worker::run() {
  std::unique_ptr<pqxx::connection> conn;
  bool failing = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mutex_};
      if (wake_.wait_for(lock, interval_, [&] { return stopping_; })) return;
    }
    try {
      if (!conn) {
        conn = std::make_unique<pqxx::connection>(url_);
        if (!session_sql_.empty()) pqxx::nontransaction{*conn}.exec(session_sql_);
      }
      work_(*conn);
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) log::warn("db", name_ + "_round_failed", {{"reason", e.what()}});
      failing = true;
      conn.reset();
    }
  }
}

}  // namespace mercato::db
