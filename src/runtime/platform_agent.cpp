// An agent with the platform interface only (see platform_agent.hpp).
#include "runtime/platform_agent.hpp"

#include "runtime/agent_behavior.hpp"

namespace mercato {
namespace {

using platform_actor = agent_actor;

platform_actor::behavior_type platform_agent(platform_actor::stateful_pointer<agent_state> self,
                                             agent_context ctx) {
  start_agent(self, ctx);
  return {on_http_call(self), on_http_request(self), on_heartbeat(self), on_fault(self),
          on_continuation(self)};
}

}  // namespace

caf::actor spawn_platform_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(platform_agent, ctx));
}

}  // namespace mercato
