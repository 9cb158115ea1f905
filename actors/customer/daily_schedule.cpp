// Daily slots on the UTC clock (see daily_schedule.hpp).
#include "customer/daily_schedule.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

namespace mercato::customer::schedule {

using namespace std::chrono;

date latest_slot(const daily_schedule& s, time_point now) {
  const date today = floor<days>(now);
  return now >= today + s.time_of_day ? today : today - days{1};
}

bool due(date slot, std::optional<date> last_covered) {
  return !last_covered || *last_covered < slot;
}

bool due(const daily_schedule& s, time_point now, std::optional<date> last_covered) {
  return due(latest_slot(s, now), last_covered);
}

milliseconds until_next_slot(const daily_schedule& s, time_point now) {
  time_point next = floor<days>(now) + s.time_of_day;
  if (next <= now) next += days{1};
  return ceil<milliseconds>(next - now);  // rounded up: a timer never fires just before the slot
}

milliseconds next_check(const daily_schedule& s, time_point now, std::optional<date> last_covered,
                        bool last_attempt_failed) {
  if (due(s, now, last_covered))
    return last_attempt_failed ? duration_cast<milliseconds>(s.retry_after) : milliseconds{0};
  return std::min(until_next_slot(s, now), duration_cast<milliseconds>(s.max_wait));
}

std::string iso_date(date d) {
  const std::time_t t = system_clock::to_time_t(d);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

}  // namespace mercato::customer::schedule
