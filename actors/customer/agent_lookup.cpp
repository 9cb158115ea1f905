// See agent_lookup.hpp.
#include "customer/agent_lookup.hpp"

#include "mercato/agent_directory.hpp"

namespace mercato::customer {

caf::actor lookup_agent(const agent_context& ctx, std::string_view agent) {
  return ctx.directory ? ctx.directory->handle(agent) : caf::actor{};
}

}  // namespace mercato::customer
