// The order agent's factory: spawns it linked to the supervisor (registry row "order").
#pragma once

#include <caf/fwd.hpp>

#include "mercato/agent_context.hpp"

namespace mercato {

caf::actor spawn_order_agent(caf::local_actor* supervisor, const agent_context& ctx);

}  // namespace mercato
