// ask_agent_resending (runtime/agent_call.hpp) against a real supervisor: a read bounced by its
// receiver's crash is answered by the next incarnation; a receiver an operator stopped, or one
// still running that refuses the message, fails the ask at once rather than at its timeout.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "runtime/agent_call.hpp"
#include "supervisor_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace std::chrono_literals;

namespace {

using read_atom = caf::atom_constant<caf::atom("read")>;
using garble_atom = caf::atom_constant<caf::atom("garble")>;

// What one ask ended with, written by the asking actor and read by the test thread.
struct outcome {
  std::atomic<bool> done{false};
  std::atomic<int> incarnation{0};  // of the agent that answered, from its /health
  std::string failure_code;         // written before `done` is set
};

// Asks alpha, resending, with a call timeout of `timeout`: "read" sends GET /health, "garble"
// sends a message alpha's interface does not have (alpha, still running, refuses it).
caf::behavior asker(caf::event_based_actor* self, agent_context ctx, outcome* out) {
  auto on_failure = [out](const failure& f) {
    out->failure_code = f.code;
    out->done = true;
  };
  return {
      [](continuation& k) {
        if (k.run) k.run();
      },
      [=](read_atom) {
        http_request health;
        health.method = "GET";
        health.path = "/health";
        ask_agent_resending<agent_actor>(
            self, ctx, "alpha", std::move(health),
            [out](http_response& r) {
              out->incarnation = nlohmann::json::parse(r.body).at("incarnation").get<int>();
              out->done = true;
            },
            on_failure);
      },
      [=](garble_atom) {
        ask_agent_resending<caf::actor>(
            self, ctx, "alpha", std::string("not a message alpha knows"),
            [out](http_response&) { out->done = true; }, on_failure);
      },
  };
}

struct resend_fixture {
  explicit resend_fixture(std::chrono::milliseconds timeout = 5s) : resend_fixture(fast_limits(), timeout) {}
  resend_fixture(const supervisor_config& limits, std::chrono::milliseconds timeout) : sup(limits) {
    ctx.directory = &sup.directory();
    ctx.call_timeout = timeout;
    caller = sup.system().spawn(asker, ctx, &out);
  }
  ~resend_fixture() { caf::anon_send_exit(caller, caf::exit_reason::user_shutdown); }

  // Sends `what` to the asker and waits for the ask to end; how long it took.
  template <class Atom>
  std::chrono::milliseconds ask(Atom what) {
    const auto sent = std::chrono::steady_clock::now();
    caf::anon_send(caller, what);
    REQUIRE(eventually([&] { return out.done.load(); }, 10s));
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent);
  }

  // Two crashes of alpha: the first is restarted at once, the second after the backoff, which
  // leaves alpha `restarting` on return.
  void crash_twice() {
    REQUIRE(sup.inject("alpha", "throw").ok);
    REQUIRE(eventually([&] {
      const auto& alpha = sup.entry("alpha");
      return alpha.incarnation() == 2 && alpha.state() == agent_run_state::running;
    }));
    REQUIRE(sup.inject("alpha", "throw").ok);
    REQUIRE(eventually([&] { return sup.entry("alpha").restart_due().has_value(); }));
  }

  supervisor_fixture sup;
  agent_context ctx;
  outcome out;
  caf::actor caller;
};

}  // namespace

TEST_CASE("ask_agent_resending: a read bounced by the receiver's crash is answered by its next incarnation") {
  resend_fixture f;
  // The read queues behind the crash, itself behind a hang: CAF bounces it when alpha dies.
  REQUIRE(f.sup.inject("alpha", "hang", 300).ok);
  REQUIRE(f.sup.inject("alpha", "throw").ok);
  f.ask(read_atom::value);
  CHECK(f.out.failure_code.empty());
  CHECK(f.out.incarnation == 2);
  CHECK(f.sup.entry("alpha").restarts(restart_reason::crash) == 1);
}

TEST_CASE("ask_agent_resending: a receiver an operator stopped fails the ask at once") {
  resend_fixture f;
  REQUIRE(f.sup.ask<control_reply>(stop_atom::value, std::string("alpha")).ok);
  const auto took = f.ask(read_atom::value);
  CHECK(f.out.failure_code == "dependency_unavailable");
  CHECK(took < 2s);  // the call timeout is 5 s
}

TEST_CASE("ask_agent_resending: a refusal from a receiver still running fails at once, without resending") {
  resend_fixture f;
  const auto took = f.ask(garble_atom::value);
  CHECK(f.out.failure_code == "dependency_unavailable");
  CHECK(took < 2s);  // the call timeout is 5 s: a poll for a restart would last until it
  CHECK(f.sup.entry("alpha").incarnation() == 1);
}

// The supervisor's backoff puts a second crash's restart off; the directory says until when, and
// an ask that could not outlast it fails at once instead of holding its caller to the timeout.
TEST_CASE("ask_agent_resending: a receiver restarting after the ask's deadline fails it at once") {
  auto limits = fast_limits();
  limits.backoff_jitter = 0;
  SECTION("the restart is due after the deadline: the ask fails without waiting") {
    limits.backoff_min = limits.backoff_max = 10s;
    resend_fixture f{limits, 5s};
    f.crash_twice();
    const auto due = f.sup.entry("alpha").restart_due();
    REQUIRE(due.has_value());
    CHECK(*due - std::chrono::steady_clock::now() > 8s);
    const auto took = f.ask(read_atom::value);
    CHECK_FALSE(f.out.failure_code.empty());
    CHECK(took < 2s);  // before the directory knew the due time, the ask waited its full 5 s
    CHECK(f.sup.entry("alpha").state() == agent_run_state::restarting);
  }
  SECTION("the restart is due before the deadline: the ask waits and the new incarnation answers") {
    limits.backoff_min = limits.backoff_max = 400ms;
    resend_fixture f{limits, 5s};
    f.crash_twice();
    f.ask(read_atom::value);
    CHECK(f.out.failure_code.empty());
    CHECK(f.out.incarnation == 3);
    CHECK_FALSE(f.sup.entry("alpha").restart_due().has_value());  // cleared once it runs
  }
}
