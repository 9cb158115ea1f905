// Factory for an agent whose domain routes are not built yet: it serves the platform routes only
// (health, name, OpenAPI, docs), heartbeats and fault injection. Also the model for real agents.
#pragma once

#include <caf/fwd.hpp>

#include "mercato/agent_context.hpp"

namespace mercato {

caf::actor spawn_platform_agent(caf::local_actor* supervisor, const agent_context& ctx);

}  // namespace mercato
