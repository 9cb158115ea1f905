// When a once-a-day job is due, as plain time arithmetic on the UTC clock (no actors, no SQL):
// the customer agent's loyalty jobs run "daily at 02:00 UTC, and at start if missed".
//
// A job has one slot a day, at `time_of_day` UTC. A completed run is recorded under the date of the
// slot it covers — the latest slot at or before the moment it started — not under the date it ran
// on: a catch-up run at 01:00 covers yesterday's slot, so today's 02:00 slot still runs. A run is
// due when no recorded run covers the latest slot; that includes a job that never ran, so a first
// start runs at once. Missing several nights owes one run, not one per night. A slot exactly at
// `now` has passed. A recorded slot later than the clock's (the clock was set back) is not run
// again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace mercato::customer::schedule {

// A UTC calendar day (C++17: C++20's sys_days spelled out): days since 1970-01-01.
using days = std::chrono::duration<int64_t, std::ratio<86400>>;
using date = std::chrono::time_point<std::chrono::system_clock, days>;
using time_point = std::chrono::system_clock::time_point;

struct daily_schedule {
  std::chrono::minutes time_of_day{0};    // UTC, in [0, 24 h)
  std::chrono::seconds retry_after{300};  // after a failed attempt: bounded, never a tight loop
  // Timers count steady time, so a wall clock that jumps (or a suspended host) is noticed at the
  // next check at the latest.
  std::chrono::seconds max_wait{3600};
};

// The date of the latest slot at or before `now`.
date latest_slot(const daily_schedule& s, time_point now);
// Whether slot `slot` still needs a run, given the slot the last completed run covered (none yet:
// nullopt).
bool due(date slot, std::optional<date> last_covered);
bool due(const daily_schedule& s, time_point now, std::optional<date> last_covered);
// From `now` to the first slot strictly after it, rounded up to whole milliseconds: in (0, 24 h].
std::chrono::milliseconds until_next_slot(const daily_schedule& s, time_point now);
// How long to wait before looking again: 0 when a run is due now, retry_after when it is due and
// the last attempt failed, otherwise until the next slot but at most max_wait. Never negative.
std::chrono::milliseconds next_check(const daily_schedule& s, time_point now,
                                     std::optional<date> last_covered, bool last_attempt_failed);

// YYYY-MM-DD (for logs).
std::string iso_date(date d);

}  // namespace mercato::customer::schedule
