// Finding another agent's live handle by registry name. A TU of its own because
// mercato/agent_directory.hpp (enum agent_state) and runtime/agent_behavior.hpp (struct
// agent_state) cannot be included together; the actor code includes only this header.
#pragma once

#include <string_view>

#include <caf/actor.hpp>

#include "mercato/agent_context.hpp"

namespace mercato::customer {

// The serving incarnation of `agent`, or an invalid handle when it is not running.
caf::actor lookup_agent(const agent_context& ctx, std::string_view agent);

}  // namespace mercato::customer
