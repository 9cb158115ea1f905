// Non-template parts of agent_behavior.hpp: exception description and fault injection.
#include "runtime/agent_behavior.hpp"

namespace mercato {

caf::error describe_exception(std::string_view agent, std::exception_ptr& ep) {
  std::string what = "unknown exception";
  try {
    if (ep) std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  log::error(agent, "agent_exception", {{"agent", agent}, {"what", what}});
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

void apply_fault(caf::scheduled_actor* self, const agent_context& ctx, const fault_injection& f) {
  if (!ctx.fault_injection) {
    log::warn(ctx.spec->name, "fault_injection_refused", {{"kind", f.kind}});
    return;
  }
  log::warn(ctx.spec->name, "fault_injected", {{"kind", f.kind}, {"millis", f.millis}});
  if (f.kind == "throw") {
    throw std::runtime_error("fault injection: crash requested");
  } else if (f.kind == "exit_error") {
    self->quit(caf::make_error(caf::sec::runtime_error, "fault injection: abnormal exit"));
  } else if (f.kind == "exit_normal") {
    self->quit();
  } else if (f.kind == "hang") {
    // A real hang: this handler blocks its scheduler thread, exactly like a stuck call would.
    std::this_thread::sleep_for(std::chrono::milliseconds(f.millis));
  }
}

}  // namespace mercato
