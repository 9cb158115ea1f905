// The product agent's factory: spawns it linked to the supervisor (registry row "product").
#pragma once

#include <caf/fwd.hpp>

#include "mercato/agent_context.hpp"

namespace mercato {

caf::actor spawn_product_agent(caf::local_actor* supervisor, const agent_context& ctx);

}  // namespace mercato
