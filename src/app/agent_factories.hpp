// The server's registry: the 26 rows of agent_registry() with each built agent's factory.
#pragma once

#include <vector>

#include "mercato/agent_spec.hpp"

namespace mercato {

const std::vector<agent_spec>& server_registry();

}  // namespace mercato
