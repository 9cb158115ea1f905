// Building blocks of an agent actor: start-up (exception handler that keeps the cause) and the
// platform message handlers every agent's behavior lists before its domain handlers:
//
//   return {on_http_call(self), on_http_request(self), on_heartbeat(self), on_fault(self),
//           on_continuation(self), [=](reserve_stock& r) { ... }};
//
// `Self` is a stateful typed actor whose state derives from agent_state.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "log/log.hpp"
#include "mercato/agent_actor.hpp"
#include "runtime/agent_shell.hpp"

namespace mercato {

struct agent_state {
  std::unique_ptr<agent_shell> shell;
  const char* name = "agent";  // CAF shows this in diagnostics
};

// Turns an exception escaping a handler into the exit reason, keeping what() (TOOLCHAIN P7).
caf::error describe_exception(std::string_view agent, std::exception_ptr& ep);

template <class Self>
void start_agent(Self* self, const agent_context& ctx) {
  self->state.shell = std::make_unique<agent_shell>(ctx);
  self->state.name = ctx.spec->name.data();  // registry names are string literals
  std::string agent{ctx.spec->name};
  self->set_exception_handler([agent](caf::scheduled_actor*, std::exception_ptr& ep) {
    return describe_exception(agent, ep);
  });
}

template <class Self>
auto on_http_call(Self* self) {
  return [self](http_call& call) {
    self->state.shell->dispatch(std::move(call.request), std::move(call.reply));
  };
}

template <class Self>
auto on_http_request(Self* self) {
  return [self](http_request& request) -> caf::result<http_response> {
    auto promise = self->template make_response_promise<http_response>();
    self->state.shell->dispatch(std::move(request),
                                make_reply_channel([promise](http_response&& r) mutable {
                                  promise.deliver(std::move(r));
                                }));
    return promise;
  };
}

template <class Self>
auto on_heartbeat(Self* self) {
  return [self](heartbeat_atom, uint64_t sequence) {
    return heartbeat_reply{sequence, static_cast<uint64_t>(self->mailbox().size())};
  };
}

// Fault injection, refused (logged, ignored) unless the config allowed it.
void apply_fault(caf::scheduled_actor* self, const agent_context& ctx, const fault_injection& f);

template <class Self>
auto on_fault(Self* self) {
  return [self](fault_atom, fault_injection& f) {
    apply_fault(self, self->state.shell->context(), f);
  };
}

template <class Self>
auto on_continuation(Self*) {
  return [](continuation& k) {
    if (k.run) k.run();
  };
}

}  // namespace mercato
