// The supervisor's typed interface (agents/README.md §3): status, operator control, start barrier
// and ordered shutdown. Used by the console, the gateway start-up, other agents and tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace mercato {

using child_status_atom = caf::atom_constant<caf::atom("childstat")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using started_atom = caf::atom_constant<caf::atom("started")>;
using shutdown_atom = caf::atom_constant<caf::atom("shutdown")>;
using inject_atom = caf::atom_constant<caf::atom("inject")>;
// Internal: periodic heartbeat round, a delayed (backoff) restart, a stop deadline.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;

// One agent as the supervisor sees it. Times in milliseconds.
struct child_status {
  std::string agent;
  std::string state;         // starting|running|restarting|stopped|failed|disabled
  std::string restart_type;  // permanent|transient|temporary
  std::string mode;          // normal|degraded
  uint32_t incarnation = 0;
  uint32_t restarts = 0;
  uint32_t restarts_crash = 0;
  uint32_t restarts_hang = 0;
  uint32_t restarts_manual = 0;
  int64_t uptime_ms = 0;
  int64_t last_ping_us = -1;  // -1: never answered
  uint64_t mailbox_size = 0;
  std::string last_exit_reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("mercato.child_status"), x.agent, x.state, x.restart_type, x.mode,
           x.incarnation, x.restarts, x.restarts_crash, x.restarts_hang, x.restarts_manual,
           x.uptime_ms, x.last_ping_us, x.mailbox_size, x.last_exit_reason);
}

// Outcome of an operator action. code: "" on success, else not_found|conflict|forbidden.
struct control_reply {
  bool ok = true;
  std::string code;
  std::string message;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_reply& x) {
  return f(caf::meta::type_name("mercato.control_reply"), x.ok, x.code, x.message);
}

using supervisor_actor = caf::typed_actor<
    // Answers once every enabled agent has started (or at once if they have): the start barrier.
    caf::replies_to<started_atom>::with<bool>,
    // All agents ("" = all) or one.
    caf::replies_to<child_status_atom, std::string>::with<std::vector<child_status>>,
    caf::replies_to<restart_atom, std::string, std::string>::with<control_reply>,  // agent, reason
    caf::replies_to<stop_atom, std::string>::with<control_reply>,
    caf::replies_to<start_atom, std::string>::with<control_reply>,
    // agent, fault kind, millis: forwards a fault_injection (only when config allows it).
    caf::replies_to<inject_atom, std::string, std::string, uint32_t>::with<control_reply>,
    // Stops every agent in reverse start order, then answers; the supervisor then exits.
    caf::replies_to<shutdown_atom>::with<bool>,
    caf::reacts_to<tick_atom>,
    caf::reacts_to<respawn_atom, std::string, uint32_t>,    // agent, generation
    caf::reacts_to<deadline_atom, std::string, uint32_t>>;  // agent, incarnation

}  // namespace mercato
