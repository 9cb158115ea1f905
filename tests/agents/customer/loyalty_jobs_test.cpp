// The customer agent's daily loyalty jobs against a fresh seeded database: what a start runs
// (a missed 02:00 UTC slot) and records in customers.job_runs, what it leaves alone (a slot
// already covered), that expiry takes exactly the lots past expires_at once, and that two
// incarnations running one slot do it once.
#include <chrono>
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "agents/customer/customer_fixture.hpp"
#include "customer/customer_agent.hpp"
#include "customer/customer_messages.hpp"
#include "customer/customer_store.hpp"
#include "customer/loyalty_rules.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::customer_suite;
namespace cu = mercato::customer;
namespace sc = mercato::customer::schedule;

namespace {

// The slot a start now owes.
sc::date current_slot() {
  return sc::latest_slot(cu::loyalty::job_schedule, std::chrono::system_clock::now());
}

// A case that spanned 02:00:00 UTC would see two slots (the agent owes the new one, the test
// expects the old). Each case takes a few seconds: one that would start within a minute of the
// slot waits until just after it instead (at most once a day, ~65 s).
void start_clear_of_the_slot() {
  constexpr auto margin = std::chrono::seconds(60);
  const auto until = sc::until_next_slot(cu::loyalty::job_schedule, std::chrono::system_clock::now());
  if (until < margin) {
    WARN("waiting " << until.count() << " ms for the 02:00 UTC slot to pass");
    std::this_thread::sleep_for(until + std::chrono::seconds(5));
  }
}

// The slot job_runs records for `job` ("" while it has none).
std::string recorded_slot(agent_fixture& f, const std::string& job) {
  return f.database().value<std::string>(
      "SELECT coalesce((SELECT last_slot::text FROM customers.job_runs WHERE job = '" + job +
      "'), '')");
}

// Restarts the agent and waits until its start-up tick is over: tier review runs after expiry in
// the same chain, so once a tier_review slot made owed here is recorded, expiry was decided too.
void restart_and_wait_for_tick(agent_fixture& f) {
  const std::string today = sc::iso_date(current_slot());
  const std::string yesterday = sc::iso_date(current_slot() - sc::days{1});
  f.database().exec("UPDATE customers.job_runs SET last_slot = '" + yesterday +
                    "' WHERE job = 'tier_review'");
  REQUIRE(f.inject("customer", "throw").ok);
  REQUIRE(f.wait_running("customer"));
  REQUIRE(f.eventually([&] { return recorded_slot(f, "tier_review") == today; }));
}

// CUST-001 (0 points in the seed) gets two lots: 300 points that expired yesterday and 200 that
// expire in 30 days; balance 500.
void give_two_lots(agent_fixture& f) {
  f.database().exec(
      "INSERT INTO customers.loyalty_transactions (transaction_id, customer_id, transaction_type, "
      "points_amount, points_balance_after, points_remaining, reference_type, reference_id, "
      "description, expires_at, created_at) VALUES "
      "('74000000-0000-4000-8000-000000000001', 'CUST-001', 'earn', 300, 300, 300, 'admin', "
      "'test:old', 'old lot', now() - interval '1 day', now() - interval '366 days'), "
      "('74000000-0000-4000-8000-000000000002', 'CUST-001', 'earn', 200, 500, 200, 'admin', "
      "'test:new', 'new lot', now() + interval '30 days', now() - interval '335 days'); "
      "UPDATE customers.customer_loyalty SET points_balance = 500, points_lifetime = 500 "
      "WHERE customer_id = 'CUST-001'");
}

int64_t remaining(agent_fixture& f, const std::string& lot) {
  return count_rows(
      f, "SELECT points_remaining FROM customers.loyalty_transactions WHERE transaction_id = '" +
             lot + "'");
}
int64_t balance(agent_fixture& f) {
  return count_rows(
      f, "SELECT points_balance FROM customers.customer_loyalty WHERE customer_id = 'CUST-001'");
}
int64_t expire_rows(agent_fixture& f) {
  return count_rows(
      f,
      "SELECT count(*) FROM customers.loyalty_transactions WHERE customer_id = 'CUST-001' "
      "AND transaction_type = 'expire'");
}

const std::string old_lot = "74000000-0000-4000-8000-000000000001";
const std::string new_lot = "74000000-0000-4000-8000-000000000002";

}  // namespace

TEST_CASE("the first start runs the missed daily jobs and records the slot", "[customer][jobs]") {
  start_clear_of_the_slot();
  agent_fixture f{{customer_spec()}, seeded()};
  const std::string today = sc::iso_date(current_slot());
  // a fresh database has never run them: the latest 02:00 UTC slot is owed, so the start runs both
  REQUIRE(f.eventually([&] {
    return recorded_slot(f, "points_expiry") == today && recorded_slot(f, "tier_review") == today;
  }));
  CHECK(count_rows(f,
                   "SELECT count(*) FROM customers.job_runs "
                   "WHERE last_run_at IS NOT NULL AND last_count = 0") == 2);
}

TEST_CASE("a restart leaves a covered slot alone and runs a missed one, expiring each lot once",
          "[customer][jobs][loyalty]") {
  start_clear_of_the_slot();
  agent_fixture f{{customer_spec()}, seeded()};
  const std::string today = sc::iso_date(current_slot());
  const std::string yesterday = sc::iso_date(current_slot() - sc::days{1});
  REQUIRE(f.eventually([&] { return recorded_slot(f, "tier_review") == today; }));
  REQUIRE(recorded_slot(f, "points_expiry") == today);
  give_two_lots(f);
  const std::string first_run = f.database().value<std::string>(
      "SELECT last_run_at::text FROM customers.job_runs WHERE job = 'points_expiry'");

  // today's slot is covered: a new incarnation does not run expiry again
  restart_and_wait_for_tick(f);
  CHECK(remaining(f, old_lot) == 300);
  CHECK(expire_rows(f) == 0);
  CHECK(balance(f) == 500);
  CHECK(f.database().value<std::string>(
            "SELECT last_run_at::text FROM customers.job_runs WHERE job = 'points_expiry'") ==
        first_run);

  // the last completed run covers yesterday's slot (a night missed while the agent was down):
  // the start catches up, expiring only the lot past expires_at, and records today's slot
  f.database().exec("UPDATE customers.job_runs SET last_slot = '" + yesterday +
                    "' WHERE job = 'points_expiry'");
  restart_and_wait_for_tick(f);
  CHECK(recorded_slot(f, "points_expiry") == today);
  CHECK(count_rows(f, "SELECT last_count FROM customers.job_runs WHERE job = 'points_expiry'") ==
        1);
  CHECK(remaining(f, old_lot) == 0);
  CHECK(remaining(f, new_lot) == 200);
  CHECK(balance(f) == 200);
  const std::string expired_old_lot =
      "SELECT count(*) FROM customers.loyalty_transactions WHERE transaction_type = 'expire' "
      "AND reference_id = '" + old_lot + "' AND points_amount = -300 AND points_balance_after = 200";
  CHECK(count_rows(f, expired_old_lot) == 1);
  CHECK(expire_rows(f) == 1);

  // owed again (the record set back): the run finds nothing more to expire
  f.database().exec("UPDATE customers.job_runs SET last_slot = '" + yesterday +
                    "' WHERE job = 'points_expiry'");
  restart_and_wait_for_tick(f);
  CHECK(recorded_slot(f, "points_expiry") == today);
  CHECK(count_rows(f, "SELECT last_count FROM customers.job_runs WHERE job = 'points_expiry'") ==
        0);
  CHECK(expire_rows(f) == 1);
  CHECK(balance(f) == 200);
  // and so does the on-demand door
  auto again = f.ask<customer_actor, count_reply>("customer", cu::expire_points{""});
  REQUIRE(again.ok());
  CHECK(again->count == 0);
}

TEST_CASE("two incarnations running one slot run it once", "[customer][jobs][concurrency]") {
  start_clear_of_the_slot();
  agent_fixture f{{customer_spec()}, seeded()};
  const sc::date slot = current_slot();
  REQUIRE(f.eventually([&] { return recorded_slot(f, "points_expiry") == sc::iso_date(slot); }));
  give_two_lots(f);
  f.database().exec(
      "UPDATE customers.job_runs SET last_slot = NULL, last_run_at = NULL "
      "WHERE job = 'points_expiry'");

  // the first holds the job's row (its work done, not yet committed) while the second asks
  auto first_connection = f.database().connect();
  pqxx::work first{*first_connection};
  auto a = cu::store::run_daily_job(first, "points_expiry", slot, &cu::store::expire_lots);
  REQUIRE(a.ok());
  CHECK(a.value->ran);
  CHECK(a.value->count == 1);
  auto second = std::async(std::launch::async, [&] {
    auto c = f.database().connect();
    pqxx::work tx{*c};
    auto r = cu::store::run_daily_job(tx, "points_expiry", slot, &cu::store::expire_lots);
    tx.commit();
    return r;
  });
  CHECK(second.wait_for(std::chrono::milliseconds(300)) ==
        std::future_status::timeout);  // waits on the row lock
  first.commit();
  auto b = second.get();
  REQUIRE(b.ok());
  CHECK_FALSE(b.value->ran);
  CHECK(b.value->covered == slot);
  CHECK(expire_rows(f) == 1);
  CHECK(balance(f) == 200);
}
