// Supervision with real actors: restarts by type, intensity, hang detection, operator control,
// ordered start and reverse-order stop. Agents are driven with typed messages, no HTTP.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "supervisor_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace std::chrono_literals;

TEST_CASE("after the start barrier every agent is routed and answers") {
  supervisor_fixture f;
  for (auto name : {"alpha", "beta", "gamma"}) {
    CHECK(f.entry(name).state() == agent_run_state::running);
    CHECK(f.entry(name).incarnation() == 1);
    auto r = f.get(name, "/health");
    CHECK(r.status == 200);
    CHECK(nlohmann::json::parse(r.body)["agent_id"] == std::string(name) + "_agent");
  }
  CHECK(f.event_agents("supervisor.agent_started") ==
        std::vector<std::string>{"alpha", "beta", "gamma"});
}

TEST_CASE("a crashed permanent agent is restarted and the cause is kept") {
  supervisor_fixture f;
  REQUIRE(f.inject("alpha", "throw").ok);
  REQUIRE(eventually([&] { return f.entry("alpha").incarnation() == 2; }));
  CHECK(f.entry("alpha").state() == agent_run_state::running);
  CHECK(f.entry("alpha").restarts(restart_reason::crash) == 1);
  CHECK(f.entry("alpha").last_exit_reason().find("fault injection: crash requested") !=
        std::string::npos);
  auto r = f.get("alpha", "/health");
  CHECK(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["incarnation"] == 2);
  CHECK(f.event_agents("supervisor.agent_crashed") == std::vector<std::string>{"alpha"});
}

TEST_CASE("permanent agents are restarted even after a normal exit") {
  supervisor_fixture f;
  REQUIRE(f.inject("alpha", "exit_normal").ok);
  REQUIRE(eventually([&] { return f.entry("alpha").incarnation() == 2; }));
  CHECK(f.entry("alpha").state() == agent_run_state::running);
}

TEST_CASE("transient agents: restarted after an abnormal exit, not after a normal one") {
  supervisor_fixture f;
  REQUIRE(f.inject("beta", "exit_error").ok);
  REQUIRE(eventually([&] { return f.entry("beta").incarnation() == 2; }));
  REQUIRE(eventually([&] { return f.entry("beta").state() == agent_run_state::running; }));
  REQUIRE(f.inject("beta", "exit_normal").ok);
  REQUIRE(eventually([&] { return f.entry("beta").state() == agent_run_state::stopped; }));
  std::this_thread::sleep_for(50ms);  // give a wrong restart the chance to happen
  CHECK(f.entry("beta").state() == agent_run_state::stopped);
  CHECK(f.entry("beta").incarnation() == 2);
}

TEST_CASE("temporary agents are never restarted") {
  supervisor_fixture f;
  REQUIRE(f.inject("gamma", "throw").ok);
  REQUIRE(eventually([&] { return f.entry("gamma").state() == agent_run_state::stopped; }));
  std::this_thread::sleep_for(50ms);
  CHECK(f.entry("gamma").state() == agent_run_state::stopped);
  CHECK(f.entry("gamma").incarnation() == 1);
  CHECK(f.get("gamma", "/health").status == -1);  // nothing routed
}

TEST_CASE("exceeding the restart intensity marks the agent failed and raises an alert") {
  auto limits = fast_limits();
  limits.restart_intensity = 2;
  supervisor_fixture f{limits};
  for (uint32_t i = 1; i <= 3; ++i) {
    REQUIRE(eventually([&] { return f.entry("alpha").state() == agent_run_state::running; }));
    REQUIRE(f.inject("alpha", "throw").ok);
    REQUIRE(eventually([&] {
      return f.entry("alpha").restarts(restart_reason::crash) == i ||
             f.entry("alpha").state() == agent_run_state::failed;
    }));
  }
  REQUIRE(eventually([&] { return f.entry("alpha").state() == agent_run_state::failed; }));
  CHECK(f.event_agents("supervisor.agent_failed") == std::vector<std::string>{"alpha"});
  // The other agents are untouched.
  CHECK(f.get("beta", "/health").status == 200);
  // An operator restart brings a failed agent back.
  auto reply = f.ask<control_reply>(restart_atom::value, std::string("alpha"), std::string("ops"));
  CHECK(reply.ok);
  REQUIRE(eventually([&] { return f.entry("alpha").state() == agent_run_state::running; }));
  CHECK(f.get("alpha", "/health").status == 200);
}

TEST_CASE("exceeding the supervisor-wide intensity escalates") {
  auto limits = fast_limits();
  limits.total_restart_intensity = 2;
  supervisor_fixture f{limits};
  for (int i = 0; i < 3 && f.escalation().empty(); ++i) {
    REQUIRE(eventually([&] { return f.entry("alpha").state() == agent_run_state::running; }));
    f.inject("alpha", "throw");
    eventually([&] { return f.entry("alpha").incarnation() > static_cast<uint32_t>(i + 1) ||
                            !f.escalation().empty(); });
  }
  REQUIRE(eventually([&] { return !f.escalation().empty(); }));
  CHECK(f.escalation().find("supervisor restart intensity exceeded") != std::string::npos);
}

TEST_CASE("a hung agent is detected, cut loose and replaced") {
  supervisor_fixture f;
  REQUIRE(f.inject("alpha", "hang", 3000).ok);  // three heartbeat deadlines
  REQUIRE(eventually([&] { return f.entry("alpha").restarts(restart_reason::hang) == 1; }, 5s));
  REQUIRE(eventually([&] { return f.entry("alpha").state() == agent_run_state::running; }));
  CHECK(f.entry("alpha").incarnation() == 2);
  // The new incarnation serves while the old one is still blocked in its handler.
  auto r = f.get("alpha", "/health");
  CHECK(r.status == 200);
  CHECK(f.event_agents("supervisor.agent_hang_detected") == std::vector<std::string>{"alpha"});
}

TEST_CASE("operator stop, start and restart") {
  supervisor_fixture f;
  auto stop = f.ask<control_reply>(stop_atom::value, std::string("beta"));
  CHECK(stop.ok);
  CHECK(f.entry("beta").state() == agent_run_state::stopped);
  CHECK(f.get("beta", "/health").status == -1);
  auto again = f.ask<control_reply>(start_atom::value, std::string("beta"));
  CHECK(again.ok);
  CHECK(f.get("beta", "/health").status == 200);
  auto conflict = f.ask<control_reply>(start_atom::value, std::string("beta"));
  CHECK_FALSE(conflict.ok);
  CHECK(conflict.code == "conflict");
  auto restart = f.ask<control_reply>(restart_atom::value, std::string("beta"), std::string("test"));
  CHECK(restart.ok);
  CHECK(f.entry("beta").restarts(restart_reason::manual) == 1);
  CHECK(f.get("beta", "/health").status == 200);
  auto unknown = f.ask<control_reply>(stop_atom::value, std::string("nope"));
  CHECK(unknown.code == "not_found");
}

TEST_CASE("status reports every child") {
  supervisor_fixture f;
  auto all = f.ask<std::vector<child_status>>(child_status_atom::value, std::string());
  REQUIRE(all.size() == 3);
  CHECK(all[0].agent == "alpha");
  CHECK(all[0].state == "running");
  CHECK(all[1].restart_type == "transient");
  auto one = f.ask<std::vector<child_status>>(child_status_atom::value, std::string("gamma"));
  REQUIRE(one.size() == 1);
  CHECK(one[0].restart_type == "temporary");
  // Heartbeats eventually record a round trip.
  REQUIRE(eventually([&] { return f.entry("alpha").last_ping_us.load() >= 0; }));
}

TEST_CASE("shutdown stops the agents in reverse start order") {
  supervisor_fixture f;
  CHECK(f.ask<bool>(shutdown_atom::value));
  CHECK(f.event_agents("supervisor.agent_stopped") ==
        std::vector<std::string>{"gamma", "beta", "alpha"});
  for (auto name : {"alpha", "beta", "gamma"}) CHECK(f.entry(name).state() == agent_run_state::stopped);
}

TEST_CASE("fault injection is refused when the config does not allow it") {
  supervisor_fixture f{fast_limits(), test_registry(), false};
  auto reply = f.inject("alpha", "throw");
  CHECK_FALSE(reply.ok);
  CHECK(reply.code == "forbidden");
  // A fault message that reaches the agent anyway (not through the supervisor) is ignored too.
  caf::anon_send(caf::actor_cast<agent_actor>(f.directory().handle("alpha")), fault_atom::value,
                 fault_injection{"throw", 0});
  CHECK(f.get("alpha", "/health").status == 200);
  CHECK(f.entry("alpha").incarnation() == 1);
  CHECK(f.entry("alpha").restarts_total() == 0);
}
