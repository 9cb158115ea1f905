// Supervision arithmetic (see restart_policy.hpp).
#include "runtime/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace mercato {

bool should_restart(restart_type type, bool abnormal) {
  switch (type) {
    case restart_type::permanent: return true;
    case restart_type::transient: return abnormal;
    case restart_type::temporary: return false;
  }
  return false;
}

void restart_window::expire(clock::time_point now, std::chrono::milliseconds period) {
  while (!times_.empty() && now - times_.front() > period) times_.pop_front();
}

bool restart_window::record_and_check(clock::time_point now, uint32_t intensity,
                                      std::chrono::milliseconds period) {
  expire(now, period);
  times_.push_back(now);
  return times_.size() > intensity;
}

size_t restart_window::count(clock::time_point now, std::chrono::milliseconds period) {
  expire(now, period);
  return times_.size();
}

std::chrono::milliseconds backoff_delay(size_t recent_restarts, const backoff_settings& s,
                                        double unit_random) {
  if (recent_restarts == 0) return std::chrono::milliseconds{0};
  const double base = static_cast<double>(s.min.count()) *
                      std::pow(2.0, static_cast<double>(std::min<size_t>(recent_restarts - 1, 30)));
  const double capped = std::min(base, static_cast<double>(s.max.count()));
  const double factor = 1.0 + s.jitter * (2.0 * unit_random - 1.0);
  const double ms = std::clamp(capped * factor, 0.0, static_cast<double>(s.max.count()));
  return std::chrono::milliseconds{static_cast<int64_t>(std::llround(ms))};
}

}  // namespace mercato
