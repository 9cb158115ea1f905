// Unit tests of the daily job schedule rule (customer/daily_schedule.hpp) with fixed UTC instants:
// the slot a moment belongs to, when a run is owed, and how long the timer waits.
#include <ctime>

#include <catch2/catch.hpp>

#include "customer/daily_schedule.hpp"
#include "customer/loyalty_rules.hpp"

using namespace std::chrono;
namespace sc = mercato::customer::schedule;

namespace {

const sc::daily_schedule at_two{hours(2)};  // retry 5 min, re-check at least hourly

sc::date date_of(int y, int m, int d) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  return floor<sc::days>(system_clock::from_time_t(timegm(&tm)));
}
sc::time_point at(sc::date d, hours h, minutes m = minutes{0}, seconds s = seconds{0}) {
  return d + h + m + s;
}

}  // namespace

TEST_CASE("the loyalty jobs run at 02:00 UTC", "[customer][schedule]") {
  CHECK(mercato::customer::loyalty::job_schedule.time_of_day == hours(2));
  CHECK(mercato::customer::loyalty::job_schedule.retry_after == minutes(5));
}

TEST_CASE("a moment belongs to the latest 02:00 slot at or before it", "[customer][schedule]") {
  const auto d = date_of(2024, 3, 10);
  CHECK(sc::latest_slot(at_two, at(d, hours(1), minutes(59), seconds(59))) == date_of(2024, 3, 9));
  CHECK(sc::latest_slot(at_two, at(d, hours(2))) == d);  // exactly at the slot: it has passed
  CHECK(sc::latest_slot(at_two, at(d, hours(2)) - microseconds(1)) == date_of(2024, 3, 9));
  CHECK(sc::latest_slot(at_two, at(d, hours(23), minutes(59))) == d);
  CHECK(sc::latest_slot(at_two, at(d, hours(0))) ==
        date_of(2024, 3, 9));  // midnight is still yesterday's
  // month, leap-day and year boundaries
  CHECK(sc::latest_slot(at_two, at(date_of(2024, 3, 1), hours(1))) == date_of(2024, 2, 29));
  CHECK(sc::latest_slot(at_two, at(date_of(2025, 1, 1), hours(1))) == date_of(2024, 12, 31));
  // a slot at midnight
  const sc::daily_schedule at_midnight{minutes(0)};
  CHECK(sc::latest_slot(at_midnight, at(d, hours(0))) == d);
  CHECK(sc::latest_slot(at_midnight, at(d, hours(0)) - milliseconds(1)) == date_of(2024, 3, 9));
}

TEST_CASE("a run is due when no completed run covers the latest slot", "[customer][schedule]") {
  const auto d = date_of(2024, 3, 10);
  SECTION("never run: due at once, whatever the hour (the first start catches up)") {
    CHECK(sc::due(at_two, at(d, hours(1)), std::nullopt));
    CHECK(sc::due(at_two, at(d, hours(2)), std::nullopt));
    CHECK(sc::due(at_two, at(d, hours(15)), std::nullopt));
  }
  SECTION("today's slot covered: not due again until tomorrow's") {
    CHECK_FALSE(sc::due(at_two, at(d, hours(2)), d));
    CHECK_FALSE(sc::due(at_two, at(d, hours(23), minutes(59)), d));
    CHECK_FALSE(sc::due(at_two, at(date_of(2024, 3, 11), hours(1), minutes(59)), d));
    CHECK(sc::due(at_two, at(date_of(2024, 3, 11), hours(2)), d));
  }
  SECTION("a start before 02:00 owes yesterday's slot if that was missed, then today's at 02:00") {
    CHECK(sc::due(at_two, at(d, hours(1)), date_of(2024, 3, 8)));
    // the catch-up run at 01:00 covers the 9th's slot, not the 10th's
    CHECK(sc::latest_slot(at_two, at(d, hours(1))) == date_of(2024, 3, 9));
    CHECK_FALSE(sc::due(at_two, at(d, hours(1), minutes(30)), date_of(2024, 3, 9)));
    CHECK(sc::due(at_two, at(d, hours(2)), date_of(2024, 3, 9)));
  }
  SECTION("several missed nights owe one run") {
    CHECK(sc::due(at_two, at(d, hours(9)), date_of(2024, 3, 1)));
    CHECK(sc::due(d, date_of(2024, 3, 1)));
    CHECK_FALSE(sc::due(d, d));
  }
  SECTION("a clock set back does not re-run a covered slot") {
    CHECK_FALSE(sc::due(at_two, at(d, hours(9)), date_of(2024, 3, 12)));
  }
}

TEST_CASE("the next slot is strictly ahead and at most a day away", "[customer][schedule]") {
  const auto d = date_of(2024, 3, 10);
  CHECK(sc::until_next_slot(at_two, at(d, hours(1))) == hours(1));
  CHECK(sc::until_next_slot(at_two, at(d, hours(2))) ==
        hours(24));  // exactly at a slot: the next one
  CHECK(sc::until_next_slot(at_two, at(d, hours(23))) == hours(3));  // across midnight
  CHECK(sc::until_next_slot(at_two, at(d, hours(0))) == hours(2));
  CHECK(sc::until_next_slot(at_two, at(date_of(2024, 12, 31), hours(22))) ==
        hours(4));  // across the year
  // rounded up: a timer never fires before the slot, and the wait is never zero
  CHECK(sc::until_next_slot(at_two, at(d, hours(2)) - microseconds(500)) == milliseconds(1));
  CHECK(sc::until_next_slot(at_two, at(d, hours(2)) + microseconds(1)) == hours(24));
}

TEST_CASE(
    "the timer waits for the next slot, at most an hour, and retries a failure after 5 minutes",
    "[customer][schedule]") {
  const auto d = date_of(2024, 3, 10);
  SECTION("due: at once, or after the retry interval when the attempt failed") {
    CHECK(sc::next_check(at_two, at(d, hours(3)), std::nullopt, false) == milliseconds(0));
    CHECK(sc::next_check(at_two, at(d, hours(3)), date_of(2024, 3, 9), false) == milliseconds(0));
    CHECK(sc::next_check(at_two, at(d, hours(3)), std::nullopt, true) == minutes(5));
    CHECK(sc::next_check(at_two, at(d, hours(3)), date_of(2024, 3, 9), true) == minutes(5));
    // a failure just before the next slot still waits the retry interval, no faster
    CHECK(sc::next_check(at_two, at(date_of(2024, 3, 11), hours(1), minutes(59)),
                         date_of(2024, 3, 9), true) == minutes(5));
  }
  SECTION("covered: until the next slot, re-checking the wall clock at least hourly") {
    CHECK(sc::next_check(at_two, at(d, hours(3)), d, false) == hours(1));
    CHECK(sc::next_check(at_two, at(date_of(2024, 3, 11), hours(1), minutes(30)), d, false) ==
          minutes(30));
    CHECK(sc::next_check(at_two, at(date_of(2024, 3, 11), hours(1), minutes(30)), d, true) ==
          minutes(30));
  }
  SECTION("clock jumps: never a negative wait") {
    // forward past several slots: due at once
    CHECK(sc::next_check(at_two, at(date_of(2024, 3, 15), hours(3)), d, false) == milliseconds(0));
    // backward before the covered slot: wait, positively, for the clock to catch up
    const auto back = sc::next_check(at_two, at(date_of(2024, 3, 8), hours(2)), d, false);
    CHECK(back > milliseconds(0));
    CHECK(back <= hours(1));
  }
}

TEST_CASE("slot dates print as ISO dates", "[customer][schedule]") {
  CHECK(sc::iso_date(date_of(2024, 2, 29)) == "2024-02-29");
  CHECK(sc::iso_date(date_of(1999, 12, 31)) == "1999-12-31");
}
