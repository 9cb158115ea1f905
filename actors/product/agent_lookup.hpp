// The running incarnation of another agent, by registry name (invalid handle when not running).
// Its own translation unit because mercato/agent_directory.hpp's `enum class agent_state` collides
// with runtime/agent_behavior.hpp's `struct agent_state` (so runtime/agent_call.hpp cannot be
// included next to the actor); same workaround as the inventory agent.
#pragma once

#include <string_view>

#include <caf/actor.hpp>

#include "mercato/agent_context.hpp"

namespace mercato::product {

caf::actor lookup_agent(const agent_context& ctx, std::string_view name);

}  // namespace mercato::product
