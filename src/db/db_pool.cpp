// Connection threads of the pool (see db_pool.hpp): connect with backoff, run units, probe an idle
// connection so an outage is noticed without traffic, fail fast while no connection is up.
#include "db/db_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>

#include "log/log.hpp"

namespace mercato::db {
namespace {

constexpr auto idle_probe_interval = std::chrono::milliseconds(500);

error unavailable(std::string why) { return {errc::unavailable, std::move(why), {}}; }

std::chrono::microseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

pool::pool(pool_settings settings) : settings_(std::move(settings)) {}

pool::~pool() { stop(); }

void pool::prepare(std::string name, std::string sql) {
  prepared_.emplace_back(std::move(name), std::move(sql));
}

void pool::start() {
  std::lock_guard<std::mutex> guard{mutex_};
  stopping_ = false;
  for (size_t i = 0; i < settings_.connections; ++i)
    threads_.emplace_back([this, i] { worker_main(i); });
}

void pool::stop() {
  std::deque<unit> orphans;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (threads_.empty()) return;
    stopping_ = true;
    orphans.swap(queue_);
  }
  wake_.notify_all();
  for (auto& u : orphans) u.fail(unavailable("database pool is shutting down"));
  for (auto& t : threads_) t.join();
  threads_.clear();
}

size_t pool::queued() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return queue_.size();
}

void pool::submit(unit u) {
  u.submitted = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (!stopping_ && connected() && queue_.size() < settings_.max_queue) {
      queue_.push_back(std::move(u));
      wake_.notify_one();
      return;
    }
  }
  u.fail(unavailable(connected() ? "database pool saturated" : "database unavailable"));
}

bool pool::take(unit& out) {
  std::unique_lock<std::mutex> lock{mutex_};
  if (!wake_.wait_for(lock, idle_probe_interval, [&] { return stopping_ || !queue_.empty(); }))
    return false;  // idle: the caller probes its connection
  if (stopping_) return false;
  out = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  wait_times_.record(since(out.submitted));
  return true;
}

std::unique_ptr<pqxx::connection> pool::open_connection() const {
  auto c = std::make_unique<pqxx::connection>(settings_.url);
  pqxx::nontransaction setup{*c};
  setup.exec("SET statement_timeout = " + std::to_string(settings_.statement_timeout.count()));
  setup.commit();
  for (const auto& [name, sql] : prepared_) c->prepare(name, sql);
  return c;
}

void pool::worker_main(size_t index) {
  std::unique_ptr<pqxx::connection> conn;
  auto backoff = settings_.reconnect_min;
  auto drop_connection = [&](std::string_view why) {
    conn.reset();
    if (connected_count_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The last connection went away: nothing can serve the queue, so fail it now.
      std::deque<unit> orphans;
      {
        std::lock_guard<std::mutex> guard{mutex_};
        orphans.swap(queue_);
      }
      for (auto& u : orphans) u.fail(unavailable("database connection lost"));
    }
    log::warn("db", "connection_lost", {{"connection", index}, {"reason", why}});
  };

  for (;;) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (stopping_) break;
    }
    if (!conn) {
      try {
        conn = open_connection();
        connected_count_.fetch_add(1, std::memory_order_acq_rel);
        backoff = settings_.reconnect_min;
        log::info("db", "connected", {{"connection", index}});
      } catch (const std::exception& e) {
        // The connection string may hold a password: log the error, never the URL.
        log::warn("db", "connect_failed",
                  {{"connection", index}, {"retry_ms", backoff.count()}, {"reason", e.what()}});
        std::unique_lock<std::mutex> lock{mutex_};
        wake_.wait_for(lock, backoff, [&] { return stopping_; });
        backoff = std::min(backoff * 2, settings_.reconnect_max);
        continue;
      }
    }

    unit u;
    if (!take(u)) {
      try {  // idle probe: notices a dead server without waiting for traffic
        pqxx::nontransaction probe{*conn};
        probe.exec("SELECT 1");
      } catch (const std::exception& e) {
        drop_connection(e.what());
      }
      continue;
    }

    const auto started = std::chrono::steady_clock::now();
    bool reconnected = false;
    for (uint32_t attempt = 1;; ++attempt) {
      try {
        u.run(*conn);
        break;
      } catch (const never_sent& e) {
        // The connection was dead before the unit could have changed anything (its BEGIN failed,
        // or it only reads), so running it on a fresh connection is safe: try that once, now.
        if (!reconnected) {
          reconnected = true;
          try {
            conn = open_connection();
            continue;
          } catch (const std::exception&) {
          }
        }
        drop_connection(e.what());
        u.fail(unavailable(e.what()));
        break;
      } catch (...) {
        auto err = classify_current_exception();
        // libpqxx throws broken_connection for every SQLSTATE of class 08, 08P01 protocol_violation
        // included: an ERROR the server answers on a connection that stays up (a bind whose
        // parameters do not match its statement), our bug rather than an outage. A connection
        // really lost is CONNECTION_BAD by the time libpq returns.
        if (err.code == errc::unavailable && conn->is_open()) err.code = errc::internal;
        if (err.code == errc::retriable && u.retry_serialization &&
            attempt < settings_.max_attempts)
          continue;
        if (err.code == errc::unavailable) drop_connection(err.message);
        u.fail(std::move(err));
        break;
      }
    }
    run_times_.record(since(started));
  }
  if (conn) connected_count_.fetch_sub(1, std::memory_order_acq_rel);
}

bool pool::closed_while_idle(pqxx::connection& c) {
  // An idle connection has nothing to read unless the server sent something on its own: a notice,
  // or the FATAL message that precedes a close. That is consumed (get_notifs() reads without
  // blocking and throws broken_connection at end of stream) and the socket looked at again.
  for (int look = 0; look < 2; ++look) {
    char byte;
    const ssize_t n = ::recv(c.sock(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;  // end of stream: the server closed it
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    try {
      c.get_notifs();
    } catch (const pqxx::broken_connection&) {
      return true;
    }
  }
  return false;
}

}  // namespace mercato::db
