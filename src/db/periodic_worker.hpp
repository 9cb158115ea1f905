// A background thread that runs a round of maintenance SQL every `interval` on a connection of its
// own (never a pool slot, so it cannot starve requests): the statistics keeper and the retention
// keeper. A failed round drops the connection, which the next round opens again; one warning per
// outage, not one per round.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <pqxx/connection>

namespace mercato::db {

class periodic_worker {
 public:
  using round = std::function<void(pqxx::connection&)>;

  // `name` prefixes the warning's event (`<name>_round_failed`); `session_sql` runs on each new
  // connection before its first round (timeouts).
  periodic_worker(std::string name, std::string url, std::chrono::milliseconds interval, std::string session_sql,
                  round work);
  ~periodic_worker();
  periodic_worker(const periodic_worker&) = delete;
  periodic_worker& operator=(const periodic_worker&) = delete;

  // The first round runs one interval after start.
  void start();
  // Returns once a running round ended; promptly between rounds.
  void stop();

 private:
  void run();

  std::string name_;
  std::string url_;
  std::chrono::milliseconds interval_;
  std::string session_sql_;
  round work_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace mercato::db
