// The inventory agent's factory: spawns it linked to the supervisor (registry row "inventory").
#pragma once

#include <caf/fwd.hpp>

#include "mercato/agent_context.hpp"

namespace mercato {

caf::actor spawn_inventory_agent(caf::local_actor* supervisor, const agent_context& ctx);

}  // namespace mercato
