// The agent registry: one row per agent (name, legacy port, gateway prefix, schema, restart type,
// factory). The supervisor spawns from it, the gateway routes from it, the console lists it.
// Adding an agent = one row in src/runtime/agent_registry.cpp + its folder under actors/.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <caf/fwd.hpp>

namespace mercato {

// OTP restart types: permanent always restarts, transient only after an abnormal exit,
// temporary never.
enum class restart_type : uint8_t { permanent, transient, temporary };

std::string_view to_string(restart_type t);
std::optional<restart_type> parse_restart_type(std::string_view s);

struct agent_context;

// Spawns one incarnation of an agent, linked to `supervisor` so that its exit reaches it.
using agent_factory = caf::actor (*)(caf::local_actor* supervisor, const agent_context& ctx);

struct agent_spec {
  std::string_view name;       // registry key and console name, e.g. "order"
  uint16_t port_offset;        // legacy port = gateway.legacy_port_base + port_offset
  std::string_view prefix;     // gateway path prefix: /api/<prefix>/...
  std::string_view schema;     // PostgreSQL schema the agent owns
  std::string_view title;      // human name for GET / and /docs
  std::string_view health_id;  // `agent` field of the legacy /health body, e.g. "order_agent"
  restart_type restart;        // default restart type (config may override)
  agent_factory factory;       // nullptr: platform routes only (domain routes not built yet)
};

// The 26 agents of DESIGN.md §2, in start order.
const std::vector<agent_spec>& agent_registry();

}  // namespace mercato
