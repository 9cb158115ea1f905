// ask_deadlines: an ask expires once its timeout passed unless its answer settled it first; the
// table holds asks weakly; deadlines of different lengths each fire on time.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/agent_call.hpp"
#include "runtime/ask_deadlines.hpp"

using mercato::ask_deadline;
namespace ask_deadlines = mercato::ask_deadlines;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct recording_ask : ask_deadline {
  std::atomic<int> expired{0};
  std::atomic<int64_t> expired_after_ms{-1};
  steady::time_point armed_at = steady::now();
  void expire() override {
    expired_after_ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - armed_at).count();
    ++expired;
  }
};

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 2s) {
  const auto until = steady::now() + limit;
  while (!pred()) {
    if (steady::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace

TEST_CASE("ask_deadlines: an unsettled ask expires once, after its timeout") {
  auto ask = std::make_shared<recording_ask>();
  ask_deadlines::arm(60ms, ask);
  REQUIRE(wait_for([&] { return ask->expired == 1; }));
  CHECK(ask->expired_after_ms >= 60);
  CHECK(ask->expired_after_ms < 60 + 2000);  // a tick late, plus a loaded machine's scheduling stalls
  CHECK_FALSE(ask->settle());               // the deadline settled it: a late answer is dropped
  std::this_thread::sleep_for(50ms);
  CHECK(ask->expired == 1);
}

TEST_CASE("ask_deadlines: an ask settled by its answer never expires") {
  auto ask = std::make_shared<recording_ask>();
  ask_deadlines::arm(40ms, ask);
  REQUIRE(ask->settle());  // the answer came first
  std::this_thread::sleep_for(120ms);
  CHECK(ask->expired == 0);
}

TEST_CASE("ask_deadlines: the table holds asks weakly, a freed ask is skipped and its entry dropped") {
  std::weak_ptr<recording_ask> gone;
  {
    auto ask = std::make_shared<recording_ask>();
    gone = ask;
    ask_deadlines::arm(30ms, ask);
    CHECK(ask_deadlines::waiting() >= 1);
  }
  CHECK(gone.expired());  // the table did not keep it alive
  REQUIRE(wait_for([] { return ask_deadlines::waiting() == 0; }));
}

TEST_CASE("ask_deadlines: arm_held keeps the ask until its deadline and expires it") {
  std::weak_ptr<recording_ask> watch;
  {
    auto ask = std::make_shared<recording_ask>();
    watch = ask;
    ask_deadlines::arm_held(30ms, ask);
  }
  auto held = watch.lock();
  REQUIRE(held);  // the table keeps it
  REQUIRE(wait_for([&] { return held->expired == 1; }));
  held.reset();
  REQUIRE(wait_for([&] { return watch.expired(); }));  // and lets go once due
}

TEST_CASE("ask_deadlines: a short deadline armed after a long one fires first") {
  auto slow = std::make_shared<recording_ask>();
  auto fast = std::make_shared<recording_ask>();
  ask_deadlines::arm(3s, slow);  // far enough apart that no stall of the machine fires both at once
  ask_deadlines::arm(30ms, fast);
  REQUIRE(wait_for([&] { return fast->expired == 1; }));
  CHECK(slow->expired == 0);
  REQUIRE(wait_for([&] { return slow->expired == 1; }, 6s));
  CHECK(slow->expired_after_ms >= 3000);
}

// The ask as ask_agent builds it: whichever of the answer, the error and the deadline settles it
// first is the only one that runs.
TEST_CASE("pending_ask: the first of answer, error and deadline runs, the others are dropped") {
  int replies = 0, failures = 0;
  std::string failed_code;
  auto make = [&] {
    auto on_reply = [&](int& v) { replies += v; };
    auto on_failure = [&](const mercato::failure& f) {
      ++failures;
      failed_code = f.code;
    };
    return std::make_shared<mercato::detail::pending_ask<decltype(on_reply), decltype(on_failure)>>(
        caf::actor_addr{}, on_reply, on_failure);
  };

  auto answered = make();
  int one = 1;
  answered->reply(one);
  answered->reply(one);  // a second answer: dropped
  answered->fail_if_unsettled(caf::make_error(caf::sec::request_receiver_down));
  CHECK(replies == 1);
  CHECK(failures == 0);

  auto errored = make();
  errored->fail_if_unsettled(caf::make_error(caf::sec::request_receiver_down));
  errored->reply(one);  // an answer after the error: dropped
  CHECK(failures == 1);
  CHECK(failed_code == "agent_stopped");
  CHECK(replies == 1);

  auto timed_out = make();
  REQUIRE(timed_out->settle());  // what the deadline thread does before expire()
  timed_out->expire();           // no asking actor here: nothing to send
  timed_out->reply(one);         // the late answer: dropped
  timed_out->fail_if_unsettled(caf::make_error(caf::sec::request_receiver_down));
  CHECK(replies == 1);
  CHECK(failures == 1);
}

namespace {
struct receiver_ask : recording_ask {
  std::atomic<bool> stopped{false};
  std::atomic<int> abandoned{0};
  bool receiver_stopped() const override { return stopped; }
  void abandon() override { ++abandoned; }
};
}  // namespace

TEST_CASE("ask_deadlines: recheck_receivers abandons the asks whose receiver stopped, at once and only those") {
  auto held_by_dead = std::make_shared<receiver_ask>();
  auto held_by_live = std::make_shared<receiver_ask>();
  ask_deadlines::arm(60s, held_by_dead);
  ask_deadlines::arm(60s, held_by_live);
  held_by_dead->stopped = true;
  // Without a recheck nothing looks at the receivers: the ask waits for its deadline.
  std::this_thread::sleep_for(5 * ask_deadlines::tick);
  CHECK(held_by_dead->abandoned == 0);
  ask_deadlines::recheck_receivers();
  REQUIRE(wait_for([&] { return held_by_dead->abandoned == 1; }, 1s));
  CHECK(held_by_live->abandoned == 0);
  CHECK(held_by_dead->expired == 0);
  CHECK_FALSE(held_by_dead->settle());  // settled by the abandon: its deadline will skip it
  // A second recheck does not abandon it again.
  ask_deadlines::recheck_receivers();
  std::this_thread::sleep_for(5 * ask_deadlines::tick);
  CHECK(held_by_dead->abandoned == 1);
  CHECK(held_by_live->abandoned == 0);
  CHECK(held_by_live->settle());  // still waiting
}
