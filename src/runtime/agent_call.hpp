// Asking another agent from inside an agent: look the receiver up by registry name in the live
// directory, send a typed request with a timeout, and continue with either its typed reply or a
// `failure` (agent_error.hpp). A receiver that is down (restarting, stopped) fails at once with
// `unavailable`, asynchronously like every other outcome, so callers have one code path.
//
//   ask_agent<inventory_actor>(self, ctx, "inventory", reserve_stock{...},
//       [=](reservation_set& r) { ... },
//       [=](const failure& f) { ... });
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "mercato/agent_actor.hpp"
#include "mercato/agent_context.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/agent_error.hpp"

namespace mercato {

template <class Handle, class Self, class Message, class OnReply, class OnFailure>
void ask_agent(Self* self, const agent_context& ctx, std::string_view agent, Message message,
               OnReply on_reply, OnFailure on_failure,
               std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) {
  if (timeout.count() == 0) timeout = ctx.call_timeout;
  caf::actor raw = ctx.directory ? ctx.directory->handle(agent) : caf::actor{};
  if (!raw) {
    failure f{failure_kind::unavailable, "dependency_unavailable",
              fmt::format("The {} agent is not available", agent), {}};
    caf::anon_send(caf::actor_cast<caf::actor>(self),
                   continuation{[on_failure = std::move(on_failure), f]() mutable { on_failure(f); }});
    return;
  }
  self->request(caf::actor_cast<Handle>(raw), timeout, std::move(message))
      .then(std::move(on_reply),
            [on_failure = std::move(on_failure)](caf::error& e) mutable { on_failure(read_failure(e)); });
}

}  // namespace mercato
