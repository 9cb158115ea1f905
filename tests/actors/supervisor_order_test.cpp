// The supervisor under CAF's deterministic test scheduler (`scheduler.policy = testing`): the test
// decides which actor runs next and when timers fire, so races that need a millisecond window on
// real threads happen on every run.
#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "supervisor_fixture.hpp"

using namespace mercato;
using namespace mercato::test;

namespace {

std::vector<agent_directory::row> directory_rows() {
  std::vector<agent_directory::row> out;
  for (const auto& spec : test_registry()) out.push_back({&spec, spec.restart, true});
  return out;
}

// Runs queued messages and fires due timers until `done` holds (bounded: a loop that makes no
// progress fails the test instead of spinning).
template <class Predicate>
bool run_until(caf::scheduler::test_coordinator& sched, Predicate done) {
  for (int round = 0; round < 100 && !done(); ++round) {
    sched.run();
    if (!done()) sched.trigger_timeouts();
  }
  sched.run();
  return done();
}

}  // namespace

TEST_CASE("an exit a child sent just before it was abandoned does not stop the supervisor",
          "[supervisor][deterministic]") {
  agent_directory directory{directory_rows()};
  event_bus events;
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  caf::actor_system sys{cfg};
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());

  supervisor_setup setup;
  setup.directory = &directory;
  setup.events = &events;
  setup.limits = fast_limits();
  setup.limits.shutdown_timeout = std::chrono::hours(1);  // only the deadline the test sends fires
  auto supervisor = spawn_supervisor(sys, std::move(setup));
  auto& alpha = *directory.find("alpha");
  auto& beta = *directory.find("beta");
  REQUIRE(run_until(sched, [&] {
    return alpha.state() == agent_run_state::running && beta.state() == agent_run_state::running;
  }));
  const caf::actor first = alpha.handle();
  const uint32_t first_incarnation = alpha.incarnation();

  // The operator restarts alpha: the supervisor asks it to exit and arms its stop deadline.
  caf::scoped_actor self{sys};
  self->send(supervisor, restart_atom::value, std::string("alpha"), std::string("operator"));
  REQUIRE(sched.prioritize(supervisor));
  sched.run_once();
  // The deadline fires (the test sends it: the armed one is an hour away) ...
  caf::anon_send(supervisor, deadline_atom::value, std::string("alpha"), first_incarnation);
  // ... just as alpha finally stops: its exit reaches the supervisor's mailbox behind the deadline.
  REQUIRE(sched.prioritize(first));
  sched.run_once();
  // The supervisor abandons alpha on the deadline, then reads alpha's exit. That exit is from no
  // current child; before the fix it was taken for an exit from outside and the supervisor quit.
  REQUIRE(sched.prioritize(supervisor));
  sched.run_once();
  sched.run_once();

  REQUIRE(run_until(sched, [&] {
    return alpha.state() == agent_run_state::running && alpha.incarnation() > first_incarnation;
  }));
  CHECK(alpha.handle() != first);
  CHECK(beta.state() == agent_run_state::running);
  // The supervisor still answers.
  self->send(supervisor, child_status_atom::value, std::string("beta"));
  sched.run();
  bool answered = false;
  self->receive([&](std::vector<child_status>& rows) {
    answered = rows.size() == 1 && rows[0].state == "running";
  });
  CHECK(answered);

  self->send_exit(supervisor, caf::exit_reason::user_shutdown);
  run_until(sched, [&] { return alpha.state() != agent_run_state::running; });
}
