// The gateway port's own endpoints (DESIGN.md §3): /health (every agent), /ready, /live,
// /metrics (Prometheus), /openapi.json and /. Answered on the Asio thread from the directory.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mercato/http_message.hpp"

namespace mercato {

class agent_directory;
class http_metrics;
struct config;

class gateway_endpoints {
 public:
  // `started`: the start-up sequence completed (agents started, listeners open).
  // `database_ready`: migrations ran and the pool is connected; empty when no database is used.
  gateway_endpoints(const agent_directory& directory, const http_metrics& metrics,
                    const config& settings, std::function<bool()> started,
                    std::function<bool()> database_ready = {},
                    std::function<std::string()> extra_metrics = {});

  // Whether `path` is one of the gateway's own endpoints.
  static bool serves(std::string_view path);
  // The answer when `path` is a gateway endpoint, else nullopt.
  std::optional<http_response> handle(std::string_view method, std::string_view path) const;

  http_response health() const;
  http_response ready() const;

 private:
  const agent_directory& directory_;
  const http_metrics& metrics_;
  const config& settings_;
  std::function<bool()> started_;
  std::function<bool()> database_ready_;
  std::function<std::string()> extra_metrics_;
  std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
};

}  // namespace mercato
