// The running incarnation of another agent, by registry name (null when it is not running).
// Kept in its own translation unit: mercato/agent_directory.hpp declares `enum class agent_state`,
// which collides with runtime/agent_behavior.hpp's `struct agent_state`, so an agent TU cannot
// include runtime/agent_call.hpp (ask_agent) — this is the workaround until the names are fixed.
#pragma once

#include <string_view>

#include <caf/actor.hpp>

#include "mercato/agent_context.hpp"

namespace mercato::inventory {

caf::actor lookup_agent(const agent_context& ctx, std::string_view name);

}  // namespace mercato::inventory
