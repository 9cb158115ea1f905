// The HTTP front door (Boost.Beast): one listener on the gateway port (/api/<prefix>/...) and,
// when enabled, one per legacy port (80NN → agent NN). Never blocks an Asio thread on CAF: calls
// go to agents as http_call messages and answers come back through a reply channel.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace mercato {

class agent_directory;
class http_metrics;
struct config;

struct gateway_dependencies {
  agent_directory* directory = nullptr;
  http_metrics* metrics = nullptr;
  const config* settings = nullptr;
  std::function<bool()> started;         // the start-up sequence completed, for /ready
  std::function<bool()> database_ready;  // migrated and connected; empty = no database
  std::function<std::string()> extra_metrics;  // appended to /metrics (Prometheus text); may be empty
};

class http_gateway {
 public:
  http_gateway(boost::asio::io_context& io, gateway_dependencies deps);
  ~http_gateway();

  // Binds every listener and starts accepting. Throws std::runtime_error naming the address and
  // port that could not be bound.
  void start();
  // Closes the listeners (draining: answers already in progress are still written, with
  // Connection: close).
  void stop_accepting();
  // Calls waiting for an agent's answer, across all connections.
  uint64_t in_flight() const;

  uint16_t gateway_port() const;
  // Bound legacy port of the agent at `index`, 0 when legacy ports are off.
  uint16_t legacy_port(size_t agent_index) const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace mercato
