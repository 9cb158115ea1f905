// Pure supervision arithmetic (no actors): OTP restart-type decisions, the restart-intensity
// window and exponential backoff with jitter. Unit-tested directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "mercato/agent_spec.hpp"

namespace mercato {

// Whether a child that exited should be restarted. `abnormal`: exit reason was an error.
bool should_restart(restart_type type, bool abnormal);

// Restarts within a sliding window (OTP's MaxR in MaxT).
class restart_window {
 public:
  using clock = std::chrono::steady_clock;

  // Records a restart at `now` and answers whether the window now holds more than `intensity`.
  bool record_and_check(clock::time_point now, uint32_t intensity, std::chrono::milliseconds period);
  // Restarts within `period` before `now` (without recording).
  size_t count(clock::time_point now, std::chrono::milliseconds period);
  void clear() { times_.clear(); }

 private:
  void expire(clock::time_point now, std::chrono::milliseconds period);
  std::deque<clock::time_point> times_;
};

struct backoff_settings {
  std::chrono::milliseconds min{10};
  std::chrono::milliseconds max{5000};
  double jitter = 0.2;
};

// Delay before the restart that follows `recent_restarts` earlier restarts in the window: the
// first restart is immediate (a lone crash costs nothing), then min, 2·min, 4·min ... capped at
// max, each scaled by a factor drawn from [1 - jitter, 1 + jitter] (`unit_random` in [0, 1)).
std::chrono::milliseconds backoff_delay(size_t recent_restarts, const backoff_settings& s,
                                        double unit_random);

}  // namespace mercato
