// See agent_lookup.hpp.
#include "inventory/agent_lookup.hpp"

#include "mercato/agent_directory.hpp"

namespace mercato::inventory {

caf::actor lookup_agent(const agent_context& ctx, std::string_view name) {
  return ctx.directory ? ctx.directory->handle(name) : caf::actor{};
}

}  // namespace mercato::inventory
