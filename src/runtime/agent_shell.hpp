// The platform half of every agent, in plain C++: its REST table with the routes all agents
// answer (GET /health, /, /openapi.json, /docs) and dispatch. The actor owns one shell.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "http/router.hpp"
#include "mercato/agent_context.hpp"

namespace mercato {

class agent_entry;

class agent_shell {
 public:
  explicit agent_shell(const agent_context& ctx);

  const agent_context& context() const noexcept { return ctx_; }
  std::string_view name() const noexcept { return ctx_.spec->name; }

  // Domain routes are added here by the agent at start; platform routes are already present.
  http::router& routes() noexcept { return router_; }

  // Extra fields for GET /health, rendered as `,"key":value...` JSON text (agents add their own).
  void set_health_extras(std::function<std::string()> fn) { health_extras_ = std::move(fn); }
  // The "message" of GET / when a contract names its own text (default "<title> API is running").
  void set_root_message(std::string message) { root_message_ = std::move(message); }
  // "connected", "disconnected" or "not_configured", as /health shows it.
  std::string_view database_state() const;

  void dispatch(http_request request, reply_channel reply) const;

  std::string health_body() const;

 private:
  void add_platform_routes();

  agent_context ctx_;
  const agent_entry* entry_ = nullptr;  // this agent's directory row (restarts, mode), if any
  http::router router_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::function<std::string()> health_extras_;
  std::string root_message_;
  mutable std::string openapi_cache_;
};

}  // namespace mercato
