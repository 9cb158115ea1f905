// The supervisor actor: Erlang/OTP one_for_one supervision of the agents (DESIGN.md §5).
// Ordered start, reverse-order stop with per-agent timeouts, restart types, per-agent and
// supervisor-wide restart intensity, backoff with jitter, and hang detection by heartbeat.
#pragma once

#include <functional>
#include <string>

#include <caf/fwd.hpp>

#include "config/config.hpp"
#include "mercato/supervisor_actor.hpp"

namespace mercato {

class agent_directory;
class event_bus;
namespace db {
class pool;
class outbox_relay;
}  // namespace db

struct supervisor_setup {
  agent_directory* directory = nullptr;  // rows to supervise, in start order
  event_bus* events = nullptr;           // optional: runtime events are published here
  supervisor_config limits;
  bool fault_injection = false;
  millis call_timeout{5000};             // given to agents for their cross-agent requests
  db::pool* database = nullptr;          // given to agents; null without a database
  db::outbox_relay* relay = nullptr;
  const config* settings = nullptr;      // given to agents (their domain sections)
  // Called once when the supervisor-wide restart intensity is exceeded, just before the
  // supervisor exits (the process should then exit non-zero).
  std::function<void(const std::string& reason)> on_escalation;
};

supervisor_actor spawn_supervisor(caf::actor_system& system, supervisor_setup setup);

}  // namespace mercato
