// What an agent incarnation is given when it is spawned: its registry row and the shared runtime
// services (directory of other agents, event bus, timeouts). Everything here outlives the actors.
#pragma once

#include <chrono>
#include <cstdint>

#include "mercato/agent_spec.hpp"

namespace mercato {

struct config;
class agent_directory;
class event_bus;
namespace db {
class pool;
class outbox_relay;
}  // namespace db

struct agent_context {
  const agent_spec* spec = nullptr;
  uint32_t incarnation = 0;
  agent_directory* directory = nullptr;
  event_bus* events = nullptr;
  std::chrono::milliseconds call_timeout{5000};  // default for cross-agent requests
  bool fault_injection = false;                   // accept fault_injection messages
  db::pool* database = nullptr;                   // null when no database is configured
  db::outbox_relay* relay = nullptr;              // wake() it after committing outbox events
  const config* settings = nullptr;               // the server's configuration (never null in
                                                  // a server; agents fall back to defaults)
};

}  // namespace mercato
