// once_or_after (runtime/agent_call.hpp) with a real actor: its function runs once, inside the
// actor, at the trigger or at the deadline, whichever comes first, and also when the trigger was
// dropped unrun.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <caf/all.hpp>

#include "mercato/agent_actor.hpp"
#include "runtime/agent_call.hpp"

using namespace mercato;
using namespace std::chrono_literals;

namespace {

using arm_atom = caf::atom_constant<caf::atom("arm")>;
using fire_atom = caf::atom_constant<caf::atom("fire")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;

struct counters {
  std::atomic<int> runs{0};
  std::atomic<bool> ran_inside{false};  // on the actor's own thread of the moment
};

// Holds one trigger; "fire" calls it, "drop" forgets it unrun.
caf::behavior holder(caf::event_based_actor* self, counters* c, std::chrono::milliseconds timeout) {
  auto trigger = std::make_shared<std::function<void()>>();
  return {
      [](continuation& k) {
        if (k.run) k.run();
      },
      [=](arm_atom) {
        *trigger = once_or_after(self, timeout, [self, c] {
          c->ran_inside = self->current_mailbox_element() != nullptr;
          ++c->runs;
        });
      },
      [=](fire_atom) {
        if (*trigger) (*trigger)();
      },
      [=](drop_atom) { *trigger = nullptr; },
  };
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 3s) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// An actor system with one holder of a once_or_after of `timeout`.
struct holder_fixture {
  explicit holder_fixture(std::chrono::milliseconds timeout) : sys{cfg}, a{sys.spawn(holder, &c, timeout)} {}
  ~holder_fixture() { caf::anon_send_exit(a, caf::exit_reason::user_shutdown); }
  caf::actor_system_config cfg;
  caf::actor_system sys;
  counters c;
  caf::actor a;
};

}  // namespace

TEST_CASE("once_or_after: the trigger runs it once, the deadline then does nothing") {
  holder_fixture f{80ms};
  auto& c = f.c;
  auto& a = f.a;
  caf::anon_send(a, arm_atom::value);
  caf::anon_send(a, fire_atom::value);
  caf::anon_send(a, fire_atom::value);  // a second trigger: nothing
  REQUIRE(eventually([&] { return c.runs == 1; }));
  CHECK(c.ran_inside);
  std::this_thread::sleep_for(200ms);  // past the deadline
  CHECK(c.runs == 1);
}

TEST_CASE("once_or_after: untriggered, it runs at the deadline, inside the actor") {
  holder_fixture f{60ms};
  auto& c = f.c;
  auto& a = f.a;
  const auto start = std::chrono::steady_clock::now();
  caf::anon_send(a, arm_atom::value);
  REQUIRE(eventually([&] { return c.runs == 1; }));
  CHECK(std::chrono::steady_clock::now() - start >= 60ms);
  CHECK(c.ran_inside);
  caf::anon_send(a, fire_atom::value);  // the trigger after the deadline: nothing
  std::this_thread::sleep_for(50ms);
  CHECK(c.runs == 1);
}

TEST_CASE("once_or_after: a trigger dropped unrun still runs at the deadline") {
  holder_fixture f{60ms};
  caf::anon_send(f.a, arm_atom::value);
  caf::anon_send(f.a, drop_atom::value);
  REQUIRE(eventually([&] { return f.c.runs == 1; }));
}
