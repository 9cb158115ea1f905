// The typed interface every agent answers (the platform part), and the runtime message structs.
// Agents with domain messages extend `agent_actor` (agent_actor::extend<...>) in their own header.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "mercato/event.hpp"
#include "mercato/http_message.hpp"

namespace mercato {

using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using fault_atom = caf::atom_constant<caf::atom("fault")>;

// Reply to the supervisor's heartbeat; the agent measures its own mailbox (only it may).
struct heartbeat_reply {
  uint64_t sequence = 0;
  uint64_t mailbox_size = 0;
};

// Fault injection (console `crash` / `hang`, tests). kind: "throw" (exception), "exit_error"
// (abnormal quit), "exit_normal" (clean quit), "hang" (block the handler `millis`).
struct fault_injection {
  std::string kind;
  uint32_t millis = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_request& x) {
  return f(caf::meta::type_name("mercato.http_request"), x.method, x.path, x.query, x.headers,
           x.body);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_response& x) {
  return f(caf::meta::type_name("mercato.http_response"), x.status, x.content_type, x.body,
           x.headers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, heartbeat_reply& x) {
  return f(caf::meta::type_name("mercato.heartbeat_reply"), x.sequence, x.mailbox_size);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fault_injection& x) {
  return f(caf::meta::type_name("mercato.fault_injection"), x.kind, x.millis);
}

// Work to run inside the agent: how a result computed elsewhere (a database thread, say) comes
// back to the agent as a message, so the agent's state is only ever touched by the agent.
struct continuation {
  std::function<void()> run;
};

// Two doors to one dispatcher: `http_call` (the gateway's fast path: the answer goes straight to
// the connection's reply channel) and `http_request` (request/response, for actors and tests).
using agent_actor = caf::typed_actor<
    caf::reacts_to<http_call>,
    caf::replies_to<http_request>::with<http_response>,
    caf::replies_to<heartbeat_atom, uint64_t>::with<heartbeat_reply>,
    caf::reacts_to<fault_atom, fault_injection>,
    caf::reacts_to<continuation>>;

}  // namespace mercato

// http_call carries a shared reply channel (a callback): in-process only, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::http_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::continuation)

// Domain events delivered to an agent that subscribed (runtime/event_subscription.hpp).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mercato::event)
