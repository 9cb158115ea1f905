// Idempotency-Key replays of a placement: the key's order is the answer, whatever changed since the
// first send (stock sold out), and a replay that arrives while the order's saga still runs (the
// gateway's resend after the order agent crashed) waits for the saga as the first send would have.
// Those waits end only if the saga driver resumes every saga the crashed incarnation held.
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "order/order_agent.hpp"
#include "order/order_messages.hpp"
#include "order_suite.hpp"
#include "support/agent_fixture.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;

namespace {

const std::string prod1 = "10000000-0000-4000-8000-000000000001";  // PROD-001 in the seed
const std::string prod3 = "10000000-0000-4000-8000-000000000003";  // PROD-003 in the seed

json body_for(const std::string& product, int quantity) {
  return {{"customer_id", "CUST-001"},
          {"payment_token", "tok_visa"},
          {"items", {{{"product_id", product}, {"quantity", quantity}}}}};
}

// The typed place_order with an Idempotency-Key: the order's status, or "error …".
std::string place_typed(agent_fixture& f, const json& body, const std::string& key,
                        std::chrono::seconds timeout = std::chrono::seconds(30)) {
  caf::scoped_actor s{f.system()};
  order::place_order msg;
  msg.body = body;
  msg.idempotency_key = key;
  std::string out;
  s->request(caf::actor_cast<order_actor>(f.directory().handle("order")), timeout, msg)
      .receive([&](order::order_view& v) { out = v.status; },
               [&](caf::error& e) { out = "error " + caf::to_string(e); });
  return out;
}

}  // namespace

TEST_CASE("order replay: the key's order is answered after its stock sold out", "[order][replay]") {
  auto f = make_order_fixture();
  // One unit of PROD-003 in all, so that the first order takes the last one.
  f->database().exec("UPDATE inventory.stock_levels SET quantity = CASE WHEN warehouse_id = "
                     "'20000000-0000-4000-8000-000000000001' THEN 1 ELSE 0 END WHERE product_id = '" +
                     prod3 + "'");
  const json body = body_for("PROD-003", 1);
  auto first = f->post("order", "/orders", body, {{"Idempotency-Key", "sold-out-1"}});
  REQUIRE(first.status == 201);
  REQUIRE(first.json()["status"] == "confirmed");

  // A new request for the same unit is refused: nothing is left.
  auto other = f->post("order", "/orders", body, {{"Idempotency-Key", "sold-out-2"}});
  CHECK(other.status == 409);

  // The first request sent again is a replay: its order, not the refusal a new request gets.
  auto again = f->post("order", "/orders", body, {{"Idempotency-Key", "sold-out-1"}});
  REQUIRE(again.status == 201);
  CHECK(again.json()["order_id"] == first.json()["order_id"]);
  CHECK(again.json()["status"] == "confirmed");

  // The key with another body is a mismatch (422), as it is when stock is plentiful.
  auto mismatch = f->post("order", "/orders", body_for("PROD-003", 2), {{"Idempotency-Key", "sold-out-1"}});
  CHECK(mismatch.status == 422);
  CHECK(mismatch.body.find("idempotency_mismatch") != std::string::npos);

  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 1);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

TEST_CASE("order replay: a resend after the order agent crashed waits for the resumed saga", "[order][replay][crash]") {
  auto f = make_order_fixture();
  // Fraud's scoring insert waits behind this lock, so the saga stands at its fraud step.
  auto holder = f->database().connect();
  auto hold = std::make_unique<pqxx::work>(*holder);
  hold->exec("LOCK TABLE fraud.fraud_checks IN SHARE MODE");

  const json body = body_for("PROD-001", 1);
  // The first send's incarnation dies holding it: it hears nothing until its own timeout.
  auto first = std::async(std::launch::async, [&] { return place_typed(*f, body, "resend-1", std::chrono::seconds(3)); });
  REQUIRE(f->eventually([&] { return count(*f, "SELECT count(*) FROM orders.orders") == 1; }));
  const auto crashed = f->directory().handle("order");
  f->inject("order", "throw");
  REQUIRE(f->eventually([&] { return f->directory().handle("order") && f->directory().handle("order") != crashed; }));
  // The new incarnation claims the saga its predecessor held at once (100 ms), not at its first
  // tick a second after its start.
  CHECK(f->eventually([&] { return count(*f, "SELECT count(*) FROM orders.sagas WHERE lease_owner LIKE '%:2'") == 1; },
                      std::chrono::milliseconds(700)));

  // What the gateway does with a POST /orders whose agent stopped: the same request, the same key,
  // to the next incarnation. The saga is still held, so an answer now could only be "pending".
  auto resent = std::async(std::launch::async, [&] { return place_typed(*f, body, "resend-1"); });
  CHECK(resent.wait_for(std::chrono::milliseconds(500)) == std::future_status::timeout);
  hold->commit();
  hold.reset();

  // The resumed saga's fraud step now passes; the resend is answered when the saga settles.
  CHECK(resent.get() == "confirmed");
  CHECK(first.get().rfind("error", 0) == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == 1);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// Found by `BENCH_FAULTS=1` (session 28): the scan at start claimed 50 sagas, one statement's
// worth, and left the rest to the next tick 5 s later. The gateway's resends of those orders gave
// up first (504) although every order was then confirmed.
TEST_CASE("order replay: the first scan after a crash resumes every saga the dead incarnation held",
          "[order][replay][crash]") {
  // The driver's next tick is far beyond the test, so only the scan at start can resume them.
  auto f = make_order_fixture([](config& c) { c.order.saga_poll_interval = std::chrono::minutes(10); });
  f->database().exec("UPDATE inventory.stock_levels SET quantity = 1000 WHERE product_id = '" + prod1 + "'");
  // Fraud's scoring insert waits behind this lock, so every saga stands at its fraud step.
  auto holder = f->database().connect();
  auto hold = std::make_unique<pqxx::work>(*holder);
  hold->exec("LOCK TABLE fraud.fraud_checks IN SHARE MODE");

  constexpr int orders = 60;  // more than one claim statement takes (saga_claim_page, 50)
  std::vector<std::future<std::string>> first;
  for (int i = 0; i < orders; ++i)
    first.push_back(std::async(std::launch::async, [&f, i] {
      return place_typed(*f, body_for("PROD-001", 1), "page-" + std::to_string(i), std::chrono::seconds(3));
    }));
  REQUIRE(f->eventually([&] { return count(*f, "SELECT count(*) FROM orders.orders") == orders; },
                        std::chrono::seconds(30)));
  const auto crashed = f->directory().handle("order");
  f->inject("order", "throw");
  REQUIRE(f->eventually([&] { return f->directory().handle("order") && f->directory().handle("order") != crashed; }));
  hold->commit();
  hold.reset();
  for (auto& r : first) CHECK(r.get().rfind("error", 0) == 0);  // their incarnation died holding them

  CHECK(f->eventually(
      [&] { return count(*f, "SELECT count(*) FROM orders.sagas WHERE state NOT IN ('completed', 'compensated')") == 0; },
      std::chrono::seconds(60)));
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == orders);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}
