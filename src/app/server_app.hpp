// One running mercato server: actor system, supervisor and agents, HTTP gateway and admin
// socket, wired from a config. Used by `mercato serve` and by the HTTP and console tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace mercato {

class agent_directory;
class http_metrics;
class event_bus;

class server_app {
 public:
  // `registry` defaults to the 26 agents; tests may pass their own rows.
  explicit server_app(config cfg, const std::vector<agent_spec>* registry = nullptr);
  ~server_app();
  server_app(const server_app&) = delete;
  server_app& operator=(const server_app&) = delete;

  // Starts agents (ordered, waits for all), then opens listeners and the admin socket.
  // Throws on a failure to bind or start.
  void start();
  // Blocks until shutdown was requested (signal, console `shutdown`, request_shutdown, or a
  // supervisor escalation), then drains and stops everything. Returns the process exit code.
  int wait();
  // Thread-safe; may be called from any thread or a signal-watching thread.
  void request_shutdown();

  // Bound ports (after start): the gateway port and, per agent index, its legacy port (0 = off).
  uint16_t gateway_port() const;
  uint16_t legacy_port(size_t agent_index) const;

  const config& settings() const;
  agent_directory& directory();
  http_metrics& metrics();
  event_bus& events();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mercato
