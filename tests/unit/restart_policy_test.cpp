// Supervision arithmetic: restart types, the intensity window and backoff with jitter.
#include <catch2/catch.hpp>

#include "runtime/restart_policy.hpp"

using namespace mercato;
using namespace std::chrono_literals;

TEST_CASE("OTP restart types") {
  CHECK(should_restart(restart_type::permanent, true));
  CHECK(should_restart(restart_type::permanent, false));
  CHECK(should_restart(restart_type::transient, true));
  CHECK_FALSE(should_restart(restart_type::transient, false));
  CHECK_FALSE(should_restart(restart_type::temporary, true));
  CHECK_FALSE(should_restart(restart_type::temporary, false));
}

TEST_CASE("intensity: more than N restarts within T trips the limit") {
  restart_window w;
  auto t = restart_window::clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(w.record_and_check(t + i * 1ms, 3, 1000ms));
  CHECK(w.record_and_check(t + 3ms, 3, 1000ms));
}

TEST_CASE("intensity: restarts older than the period no longer count") {
  restart_window w;
  auto t = restart_window::clock::time_point{} + 1h;
  CHECK_FALSE(w.record_and_check(t, 1, 100ms));
  CHECK_FALSE(w.record_and_check(t + 150ms, 1, 100ms));
  CHECK(w.count(t + 150ms, 100ms) == 1);
  CHECK(w.count(t + 300ms, 100ms) == 0);
}

TEST_CASE("backoff: first restart immediate, then exponential up to the cap") {
  backoff_settings s{10ms, 100ms, 0.0};
  CHECK(backoff_delay(0, s, 0.5) == 0ms);
  CHECK(backoff_delay(1, s, 0.5) == 10ms);
  CHECK(backoff_delay(2, s, 0.5) == 20ms);
  CHECK(backoff_delay(3, s, 0.5) == 40ms);
  CHECK(backoff_delay(5, s, 0.5) == 100ms);
  CHECK(backoff_delay(500, s, 0.5) == 100ms);
}

TEST_CASE("backoff: jitter stays within its band and never exceeds the cap") {
  backoff_settings s{100ms, 1000ms, 0.2};
  CHECK(backoff_delay(1, s, 0.0) == 80ms);
  CHECK(backoff_delay(1, s, 1.0) == 120ms);
  CHECK(backoff_delay(20, s, 1.0) == 1000ms);
}
