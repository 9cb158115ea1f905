// The customer agent against a fresh seeded database: typed messages of the order saga, REST
// through the typed door, order events (earning, reversal, stats, open orders) and the jobs.
#include <atomic>
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "agents/customer/customer_fixture.hpp"
#include "customer/customer_agent.hpp"
#include "customer/customer_messages.hpp"
#include "customer/customer_store.hpp"
#include "order/order_agent.hpp"
#include "support/agent_fixture.hpp"
#include "support/plan_capture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::customer_suite;
using json = nlohmann::json;
namespace cu = mercato::customer;

namespace {

void publish_order_event(agent_fixture& f, const std::string& name, const json& payload) {
  f.bus().publish(make_event("order", name, payload.dump(), payload.value("order_id", "")));
}

int64_t points_of(agent_fixture& f, const std::string& customer_id) {
  return f.get("customer", "/customers/" + customer_id + "/loyalty").json()["points_balance"].get<int64_t>();
}

}  // namespace

TEST_CASE("customer registration with the legacy body, duplicates and bad input", "[customer][rest]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto created = f.post("customer", "/customers",
                        json{{"customer_id", "LEGACY-1"}, {"email", "New.Person@Example.com"},
                             {"first_name", "New"}, {"last_name", "Person"}, {"phone", "+1 555 010 9999"}});
  REQUIRE(created.status == 201);
  auto body = created.json();
  CHECK(body["customer_id"] == "LEGACY-1");
  CHECK(body["email"] == "new.person@example.com");
  CHECK(body["phone"] == "+15550109999");
  CHECK(body["account_status"] == "active");
  CHECK(body["email_verified"] == false);
  CHECK(body["loyalty_tier"] == "bronze");
  CHECK(body["total_orders"] == 0);

  auto dup = f.post("customer", "/customers", json{{"email", "NEW.PERSON@example.com"}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["detail"] == "Customer with email new.person@example.com already exists");
  auto dup_id = f.post("customer", "/customers", json{{"customer_id", "LEGACY-1"}, {"email", "other@example.com"}});
  CHECK(dup_id.status == 409);
  CHECK(dup_id.json()["detail"] == "Customer with ID LEGACY-1 already exists");

  auto bad = f.post("customer", "/customers", json{{"email", "not-an-email"}, {"phone", "12"}});
  REQUIRE(bad.status == 422);
  CHECK(bad.json()["detail"][0]["loc"] == json{"body", "email"});
  CHECK(bad.json()["detail"][1]["loc"] == json{"body", "phone"});
  CHECK(f.post("customer", "/customers", json{{"email", "x@example.com"}, {"referral_code", "ZZZZZZZZ"}}).status == 422);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_profiles") == 7);  // 6 seed + 1

  auto list = f.get("customer", "/customers?limit=3");
  REQUIRE(list.status == 200);
  REQUIRE(list.json().is_array());
  CHECK(list.json().size() == 3);
  CHECK(list.json()[0]["customer_id"] == "LEGACY-1");  // newest registration first
  CHECK(f.get("customer", "/customers?account_status=suspended").json().size() == 1);
  CHECK(f.get("customer", "/customers?search=osei").json()[0]["customer_id"] == "CUST-006");
  CHECK(f.get("customer", "/customers?email=nobody@example.com").json() == json::array());
  CHECK(f.get("customer", "/customers?limit=0").status == 422);
  CHECK(f.get("customer", "/customers/NOPE").status == 404);
  CHECK(f.get("customer", "/customers/NOPE").json()["detail"] == "Customer with ID NOPE not found");

  // customer_registered went out through the outbox
  CHECK(f.eventually([&] { return f.events("customer.customer_registered").size() == 1; }));
}

TEST_CASE("customer update, referral and erasure", "[customer][rest]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto put = f.http("customer", "PUT", "/customers/CUST-002",
                    json{{"email", "Bob.New@Example.com"}, {"first_name", "Robert"}}.dump());
  REQUIRE(put.status == 200);
  CHECK(put.json()["email"] == "bob.new@example.com");
  CHECK(put.json()["email_verified"] == false);  // a new address is unverified
  CHECK(put.json()["first_name"] == "Robert");
  CHECK(f.http("customer", "PUT", "/customers/CUST-002", json{{"email", "alice.martin@example.com"}}.dump()).status == 409);
  CHECK(f.http("customer", "PUT", "/customers/CUST-002", json{{"password", "x"}}.dump()).status == 422);
  CHECK(f.http("customer", "PUT", "/customers/CUST-005", json{{"account_status", "inactive"}}.dump()).status == 409);
  auto missing = f.http("customer", "PUT", "/customers/NOPE", json{{"first_name", "X"}}.dump());
  CHECK(missing.status == 404);
  CHECK(missing.json()["detail"] == "Customer with ID NOPE not found or update failed");

  // referral: the referrer's count goes up
  auto code = f.get("customer", "/customers/CUST-001/loyalty").json()["referral_code"].get<std::string>();
  auto referred = f.post("customer", "/customers", json{{"email", "friend@example.com"}, {"referral_code", code}});
  REQUIRE(referred.status == 201);
  CHECK(f.get("customer", "/customers/CUST-001/loyalty").json()["referrals_count"] == 1);

  // an open order (seen through order events) blocks erasure
  publish_order_event(f, "order_created", json{{"order_id", "ord-open-1"}, {"customer_id", "CUST-003"}, {"total_amount", 10}});
  REQUIRE(f.eventually([&] { return count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE open") == 1; }));
  auto blocked = f.http("customer", "DELETE", "/customers/CUST-003");
  CHECK(blocked.status == 409);
  CHECK(blocked.json()["detail"] == "Customer has open orders");
  publish_order_event(f, "order_cancelled", json{{"order_id", "ord-open-1"}, {"customer_id", "CUST-003"}});
  REQUIRE(f.eventually([&] { return count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE open") == 0; }));
  CHECK(f.http("customer", "DELETE", "/customers/CUST-003").status == 204);
  CHECK(f.get("customer", "/customers/CUST-003").status == 404);
  CHECK(f.http("customer", "DELETE", "/customers/CUST-003").status == 404);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_addresses WHERE customer_id = 'CUST-003'") == 0);
  CHECK(f.database().value<std::string>("SELECT email FROM customers.customer_profiles WHERE customer_id = 'CUST-003'") ==
        "deleted+cust-003@invalid");
  // the e-mail is free again
  CHECK(f.post("customer", "/customers", json{{"email", "carol.diaz@example.com"}}).status == 201);
}

TEST_CASE("erasure asks the order agent for open orders", "[customer][rest]") {
  agent_fixture f{{customer_spec(), spec_for("order", &spawn_order_agent)}, seeded()};
  // an open order the customer agent never heard of (no event): the order agent's table decides
  f.database().exec(
      "INSERT INTO orders.orders (order_id, order_number, customer_id, status) "
      "VALUES ('9a000000-0000-4000-8000-000000000001', 'ORD-ERASE-1', 'CUST-002', 'processing')");
  auto blocked = f.http("customer", "DELETE", "/customers/CUST-002");
  CHECK(blocked.status == 409);
  CHECK(blocked.json()["detail"] == "Customer has open orders");
  CHECK(f.get("customer", "/customers/CUST-002").status == 200);
  f.database().exec("UPDATE orders.orders SET status = 'delivered' WHERE order_number = 'ORD-ERASE-1'");
  CHECK(f.http("customer", "DELETE", "/customers/CUST-002").status == 204);
  CHECK(f.get("customer", "/customers/CUST-002").status == 404);

  // a stale projection row (a missed closing event) does not block erasure while the order agent answers
  publish_order_event(f, "order_created", json{{"order_id", "ord-stale-1"}, {"customer_id", "CUST-004"}, {"total_amount", 10}});
  REQUIRE(f.eventually([&] { return count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE open") == 1; }));
  CHECK(f.http("customer", "DELETE", "/customers/CUST-004").status == 204);
  CHECK(f.http("customer", "DELETE", "/customers/CUST-999").status == 404);
}

TEST_CASE("customer addresses keep one default per purpose", "[customer][rest]") {
  agent_fixture f{{customer_spec()}, seeded()};
  json a{{"address_type", "shipping"}, {"street_address_1", "1 Main St"}, {"city", "Austin"},
         {"postal_code", "78701"}, {"country_code", "us"}, {"is_default", true}, {"customer_id", "IGNORED"}};
  auto first = f.post("customer", "/customers/CUST-004/addresses", a);
  REQUIRE(first.status == 201);
  CHECK(first.json()["country_code"] == "US");
  CHECK(first.json()["customer_id"] == "CUST-004");
  a["street_address_1"] = "2 Main St";
  auto second = f.post("customer", "/customers/CUST-004/addresses", a);
  REQUIRE(second.status == 201);
  auto list = f.get("customer", "/customers/CUST-004/addresses").json();
  REQUIRE(list.size() == 2);
  CHECK(list[0]["street_address_1"] == "2 Main St");  // defaults first
  CHECK(list[0]["is_default"] == true);
  CHECK(list[1]["is_default"] == false);

  // a default "both" address serves billing too (and replaces the shipping default)
  a["address_type"] = "both";
  a["street_address_1"] = "3 Main St";
  auto both = f.post("customer", "/customers/CUST-004/addresses", a);
  REQUIRE(both.status == 201);
  auto v = f.ask<customer_actor, cu::customer_profile>("customer", cu::validate_customer{"CUST-004"});
  REQUIRE(v.ok());
  CHECK(json::parse(v->default_billing_address_json)["street_address_1"] == "3 Main St");
  CHECK(json::parse(v->default_shipping_address_json)["street_address_1"] == "3 Main St");

  // make the first one default again through the endpoint
  auto id1 = first.json()["address_id"].get<std::string>();
  auto d = f.post("customer", "/customers/CUST-004/addresses/" + id1 + "/default", json::object());
  REQUIRE(d.status == 200);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_addresses WHERE customer_id = 'CUST-004' AND is_default") == 1);

  auto bad = f.post("customer", "/customers/CUST-004/addresses", json{{"address_type", "home"}, {"country_code", "USA"}});
  REQUIRE(bad.status == 422);
  CHECK(bad.json()["detail"].size() >= 4);
  CHECK(f.post("customer", "/customers/NOPE/addresses", a).status == 404);
  CHECK(f.http("customer", "DELETE", "/customers/CUST-004/addresses/" + id1).status == 204);
  CHECK(f.http("customer", "DELETE", "/customers/CUST-004/addresses/" + id1).status == 404);
  CHECK(f.http("customer", "PUT", "/customers/CUST-004/addresses/not-a-uuid", json{{"city", "X"}}.dump()).status == 404);
  CHECK(f.eventually([&] { return f.events("customer.customer_address_added").size() == 3; }));

  // preferences
  auto prefs = f.http("customer", "PUT", "/customers/CUST-004/preferences",
                      json{{"communication", {{"email", true}, {"sms", false}}}}.dump());
  REQUIRE(prefs.status == 200);
  CHECK(prefs.json()["communication"]["sms"] == false);
  CHECK(f.http("customer", "PUT", "/customers/CUST-004/preferences", json{{"colour", {{"a", 1}}}}.dump()).status == 422);
}

TEST_CASE("validate_customer and get_customer for the order saga", "[customer][typed]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto ok = f.ask<customer_actor, cu::customer_profile>("customer", cu::validate_customer{"CUST-006"});
  REQUIRE(ok.ok());
  CHECK(ok->email == "frank.osei@example.com");
  CHECK(ok->loyalty_tier == "silver");
  CHECK(ok->points_balance == 2000);
  CHECK(ok->store_credit_balance == 5000);
  CHECK(ok->account_age_days >= 30);
  CHECK(json::parse(ok->default_shipping_address_json)["city"] == "Denver");
  // the one-statement summary carries the same documents as the REST reads
  auto addresses = f.get("customer", "/customers/CUST-006/addresses").json();
  REQUIRE(addresses.size() == 1);
  CHECK(json::parse(ok->default_shipping_address_json) == addresses[0]);
  CHECK(json::parse(ok->default_billing_address_json) == addresses[0]);  // a "both" address
  CHECK(json::parse(ok->document) == f.get("customer", "/customers/CUST-006").json());
  // and so does the summary of a profile found another way (summary_of)
  auto by_email = f.ask<customer_actor, cu::customer_profile>("customer", cu::find_customer{"frank.osei@example.com"});
  REQUIRE(by_email.ok());
  CHECK(by_email->points_balance == ok->points_balance);
  CHECK(by_email->store_credit_balance == ok->store_credit_balance);
  CHECK(by_email->default_shipping_address_json == ok->default_shipping_address_json);
  CHECK(by_email->default_billing_address_json == ok->default_billing_address_json);
  CHECK(by_email->document == ok->document);
  // a profile without loyalty or credit rows: zero balances
  f.database().exec("DELETE FROM customers.customer_loyalty WHERE customer_id = 'CUST-006'; "
                    "DELETE FROM customers.store_credit_transactions WHERE customer_id = 'CUST-006'; "
                    "DELETE FROM customers.store_credit WHERE customer_id = 'CUST-006'");
  auto bare = f.ask<customer_actor, cu::customer_profile>("customer", cu::get_customer{"CUST-006"});
  REQUIRE(bare.ok());
  CHECK(bare->points_balance == 0);
  CHECK(bare->store_credit_balance == 0);
  CHECK(bare->loyalty_tier == "bronze");
  CHECK(bare->default_shipping_address_json == ok->default_shipping_address_json);

  auto suspended = f.ask<customer_actor, cu::customer_profile>("customer", cu::validate_customer{"CUST-005"});
  REQUIRE_FALSE(suspended.ok());
  CHECK(suspended.error.kind == failure_kind::invalid);
  CHECK(suspended.error.code == "customer_inactive");
  CHECK(suspended.error.message == "Customer account is suspended");

  auto missing = f.ask<customer_actor, cu::customer_profile>("customer", cu::validate_customer{"CUST-999"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error.kind == failure_kind::not_found);
  CHECK(missing.error.code == "customer_not_found");

  auto got = f.ask<customer_actor, cu::customer_profile>("customer", cu::get_customer{"CUST-005"});
  REQUIRE(got.ok());
  CHECK(got->status == "suspended");
  auto no_address = f.ask<customer_actor, cu::customer_profile>("customer", cu::validate_customer{"CUST-004"});
  REQUIRE(no_address.ok());
  CHECK(no_address->default_shipping_address_json.empty());

  auto ensured = f.ask<customer_actor, cu::ensured_customer>(
      "customer", cu::ensure_customer{"ALICE.MARTIN@example.com", "A", "M", "", "marketplace:amazon"});
  REQUIRE(ensured.ok());
  CHECK(ensured->customer_id == "CUST-001");
  CHECK_FALSE(ensured->created);
  auto fresh = f.ask<customer_actor, cu::ensured_customer>(
      "customer", cu::ensure_customer{"buyer@example.com", "Buy", "Er", "+15550001111", "d2c:main"});
  REQUIRE(fresh.ok());
  CHECK(fresh->created);
  CHECK(f.database().value<std::string>(
            "SELECT source FROM customers.customer_profiles WHERE email = 'buyer@example.com'") == "d2c:main");
  auto again = f.ask<customer_actor, cu::ensured_customer>("customer", cu::ensure_customer{"Buyer@Example.com", "", "", "", ""});
  REQUIRE(again.ok());
  CHECK(again->customer_id == fresh->customer_id);
  CHECK_FALSE(again->created);
  auto bad = f.ask<customer_actor, cu::ensured_customer>("customer", cu::ensure_customer{"nope", "", "", "", ""});
  CHECK(bad.error.kind == failure_kind::invalid);
  auto found = f.ask<customer_actor, cu::customer_profile>("customer", cu::find_customer{"BOB.CHEN@example.com"});
  REQUIRE(found.ok());
  CHECK(found->customer_id == "CUST-002");
}

TEST_CASE("summaries asked together share a statement, each answered for its own customer", "[customer][typed][concurrency]") {
  agent_fixture f{{customer_spec()}, seeded()};
  const std::vector<std::string> ids{"CUST-006", "CUST-999", "CUST-001", "CUST-005", "CUST-006", "CUST-002"};
  std::vector<cu::validate_customer> asks;
  for (const auto& id : ids) asks.push_back(cu::validate_customer{id});
  auto replies = f.ask_all<customer_actor, cu::customer_profile>("customer", asks);
  REQUIRE(replies.size() == ids.size());
  for (size_t i : {0, 2, 4, 5}) {
    REQUIRE(replies[i].ok());
    CHECK(replies[i]->customer_id == ids[i]);
    // the same document the single read gives
    CHECK(json::parse(replies[i]->document) == f.get("customer", "/customers/" + ids[i]).json());
  }
  CHECK(replies[0]->points_balance == 2000);
  CHECK(replies[2]->email == "alice.martin@example.com");
  CHECK(replies[5]->email == "bob.chen@example.com");
  REQUIRE_FALSE(replies[1].ok());
  CHECK(replies[1].error.code == "customer_not_found");
  CHECK(replies[1].error.message == "Customer with ID CUST-999 not found");
  REQUIRE_FALSE(replies[3].ok());
  CHECK(replies[3].error.code == "customer_inactive");

  // The first ask went out alone; the five that arrived while it ran shared one statement.
  auto shared = f.get("customer", "/health").json()["shared_statements"]["summaries"];
  CHECK(shared["items"] == 6);  // GET /customers/{id} reads the profile on its own
  CHECK(shared["batches"].get<int>() < 6);
}

TEST_CASE("points redemption rules, idempotency and restore", "[customer][typed][loyalty]") {
  agent_fixture f{{customer_spec()}, seeded()};
  using R = cu::redemption;
  auto below = f.ask<customer_actor, R>("customer", cu::quote_redemption{"CUST-006", 400, 100000});
  CHECK(below.error.code == "below_minimum");
  CHECK(below.error.kind == failure_kind::invalid);
  auto cap = f.ask<customer_actor, R>("customer", cu::redeem_points{"CUST-006", "ord-cap", 1000, 1999, ""});
  CHECK(cap.error.code == "exceeds_cap");
  auto too_many = f.ask<customer_actor, R>("customer", cu::redeem_points{"CUST-006", "ord-x", 2500, 1000000, ""});
  CHECK(too_many.error.code == "insufficient_points");
  CHECK(points_of(f, "CUST-006") == 2000);  // refusals took nothing

  auto quote = f.ask<customer_actor, R>("customer", cu::quote_redemption{"CUST-006", 1000, 5000});
  REQUIRE(quote.ok());
  CHECK(quote->value == 1000);
  CHECK(points_of(f, "CUST-006") == 2000);  // a quote has no side effect

  auto redeemed = f.ask<customer_actor, R>("customer", cu::redeem_points{"CUST-006", "ord-1", 1000, 5000, ""});
  REQUIRE(redeemed.ok());
  CHECK(redeemed->points == 1000);
  CHECK(redeemed->value == 1000);  // 10.00
  auto retry = f.ask<customer_actor, R>("customer", cu::redeem_points{"CUST-006", "ord-1", 1000, 5000, ""});
  REQUIRE(retry.ok());
  CHECK(retry->points == 1000);
  CHECK(points_of(f, "CUST-006") == 1000);  // taken once

  auto restored = f.ask<customer_actor, R>("customer", cu::restore_points{"CUST-006", "ord-1", ""});
  REQUIRE(restored.ok());
  CHECK(restored->points == 1000);
  auto twice = f.ask<customer_actor, R>("customer", cu::restore_points{"CUST-006", "ord-1", ""});
  REQUIRE(twice.ok());
  CHECK(twice->points == 0);
  CHECK(points_of(f, "CUST-006") == 2000);
  // restored points keep the consumed lot's expiry date
  CHECK(count_rows(f, "SELECT count(*) FROM customers.loyalty_transactions r JOIN customers.loyalty_transactions s "
                      "ON s.transaction_id = r.source_transaction_id WHERE r.transaction_type = 'restore' "
                      "AND r.expires_at = s.expires_at AND r.points_remaining = 1000") == 1);
  auto nothing = f.ask<customer_actor, R>("customer", cu::restore_points{"CUST-006", "never-redeemed", ""});
  REQUIRE(nothing.ok());
  CHECK(nothing->points == 0);
  CHECK(count_rows(f, "SELECT sum(points_remaining) FROM customers.loyalty_transactions WHERE customer_id = 'CUST-006'") == 2000);
  CHECK(f.eventually([&] { return f.events("customer.loyalty_points_changed").size() == 2; }));
}

TEST_CASE("concurrent redemptions never overdraw the points balance", "[customer][typed][concurrency]") {
  agent_fixture f{{customer_spec()}, seeded()};
  constexpr int n = 6;  // 6 × 500 points against a balance of 2,000
  std::atomic<int> arrived{0};
  std::vector<std::future<bool>> results;
  for (int i = 0; i < n; ++i)
    results.push_back(std::async(std::launch::async, [&f, &arrived, i] {
      caf::scoped_actor s{f.system()};
      auto handle = caf::actor_cast<customer_actor>(f.directory().handle("customer"));
      arrive_and_wait(arrived, n);
      bool ok = false;
      // every order is sent twice: the retry must not take points again
      for (int attempt = 0; attempt < 2; ++attempt)
        s->request(handle, std::chrono::seconds(10), cu::redeem_points{"CUST-006", fmt::format("ord-{}", i), 500, 100000, ""})
            .receive([&](cu::redemption& r) { ok = r.points == 500; }, [&](caf::error&) { ok = false; });
      return ok;
    }));
  int succeeded = 0;
  for (auto& r : results) succeeded += r.get() ? 1 : 0;
  CHECK(succeeded == 4);
  CHECK(points_of(f, "CUST-006") == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.loyalty_transactions WHERE transaction_type = 'redeem'") == 4);
  CHECK(count_rows(f, "SELECT sum(points_remaining) FROM customers.loyalty_transactions WHERE customer_id = 'CUST-006'") == 0);
}

TEST_CASE("store credit: idempotent credit, redeem and restore", "[customer][typed][credit]") {
  agent_fixture f{{customer_spec()}, seeded()};
  using C = cu::credit_result;
  auto c1 = f.ask<customer_actor, C>("customer", cu::add_store_credit{"CUST-002", 5000, "USD", "return:r1"});
  REQUIRE(c1.ok());
  CHECK(c1->balance == 5000);
  auto c2 = f.ask<customer_actor, C>("customer", cu::add_store_credit{"CUST-002", 5000, "USD", "return:r1"});
  REQUIRE(c2.ok());
  CHECK(c2->balance == 5000);  // one credit
  CHECK(f.ask<customer_actor, C>("customer", cu::add_store_credit{"CUST-999", 100, "USD", "return:r2"}).error.kind ==
        failure_kind::not_found);
  CHECK(f.ask<customer_actor, C>("customer", cu::add_store_credit{"CUST-002", 0, "USD", "return:r3"}).error.kind ==
        failure_kind::invalid);

  auto used = f.ask<customer_actor, C>("customer", cu::redeem_store_credit{"CUST-002", "ord-9", 3000, ""});
  REQUIRE(used.ok());
  CHECK(used->amount == 3000);
  CHECK(used->balance == 2000);
  auto used_again = f.ask<customer_actor, C>("customer", cu::redeem_store_credit{"CUST-002", "ord-9", 3000, ""});
  REQUIRE(used_again.ok());
  CHECK(used_again->balance == 2000);
  auto short_credit = f.ask<customer_actor, C>("customer", cu::redeem_store_credit{"CUST-002", "ord-10", 2001, ""});
  CHECK(short_credit.error.code == "insufficient_credit");

  auto back = f.ask<customer_actor, C>("customer", cu::restore_store_credit{"CUST-002", "ord-9", ""});
  REQUIRE(back.ok());
  CHECK(back->amount == 3000);
  CHECK(back->balance == 5000);
  auto back_again = f.ask<customer_actor, C>("customer", cu::restore_store_credit{"CUST-002", "ord-9", ""});
  REQUIRE(back_again.ok());
  CHECK(back_again->amount == 0);
  auto rest = f.get("customer", "/customers/CUST-002/store-credit").json();
  CHECK(rest["balance"] == 50.0);
  CHECK(rest["transactions"].size() == 3);

  // admin adjustment never makes the balance negative
  auto neg = f.post("customer", "/customers/CUST-002/store-credit/adjust",
                    json{{"amount", -60}, {"reason", "typo"}, {"adjusted_by", "admin"}});
  CHECK(neg.status == 409);
  CHECK(neg.json()["detail"] == "Adjustment would make the balance negative");
  auto adj = f.post("customer", "/customers/CUST-002/store-credit/adjust",
                    json{{"amount", "-10.50"}, {"reason", "fix"}, {"adjusted_by", "admin"}});
  REQUIRE(adj.status == 200);
  CHECK(adj.json()["balance"] == 39.5);
  CHECK(f.post("customer", "/customers/CUST-002/store-credit/adjust", json{{"amount", 0}}).status == 422);
}

TEST_CASE("order events earn, reverse and count", "[customer][events][loyalty]") {
  agent_fixture f{{customer_spec()}, seeded()};
  // CUST-006 is silver: 200.00 eligible → 220 points; a 50.00 refund reverses 55
  publish_order_event(f, "order_confirmed", json{{"order_id", "ord-d1"}, {"customer_id", "CUST-006"}, {"total_amount", 216.5}});
  auto delivered = make_event("order", "order_delivered",
                              json{{"order_id", "ord-d1"}, {"customer_id", "CUST-006"}, {"eligible_amount", "200.00"}}.dump());
  f.bus().publish(delivered);
  f.bus().publish(delivered);  // a duplicate delivery earns nothing more
  REQUIRE(f.eventually([&] { return points_of(f, "CUST-006") == 2220; }));
  publish_order_event(f, "order_refunded", json{{"order_id", "ord-d1"}, {"customer_id", "CUST-006"},
                                                {"refunded_amount", 50}, {"eligible_refunded_amount", 50}});
  REQUIRE(f.eventually([&] { return points_of(f, "CUST-006") == 2165; }));
  auto profile = f.get("customer", "/customers/CUST-006").json();
  CHECK(profile["total_orders"] == 1);
  CHECK(profile["total_spent"] == 166.5);
  auto ledger = f.get("customer", "/customers/CUST-006/loyalty/transactions").json();
  REQUIRE(ledger.size() == 3);
  CHECK(ledger[0]["transaction_type"] == "reverse");
  CHECK(ledger[0]["points_amount"] == -55);
  CHECK(ledger[1]["transaction_type"] == "earn");
  CHECK(ledger[1]["points_amount"] == 220);
  CHECK(f.get("customer", "/customers/CUST-006/loyalty/transactions?transaction_type=earn").json().size() == 2);

  // 1,000 qualifying points → silver at once, one tier event
  publish_order_event(f, "order_delivered", json{{"order_id", "ord-a1"}, {"customer_id", "CUST-001"}, {"eligible_amount", 1000}});
  REQUIRE(f.eventually([&] { return points_of(f, "CUST-001") == 1000; }));
  auto loyalty = f.get("customer", "/customers/CUST-001/loyalty").json();
  CHECK(loyalty["loyalty_tier"] == "silver");
  CHECK(loyalty["next_tier"] == "gold");
  CHECK(loyalty["points_to_next_tier"] == 4000);
  CHECK(loyalty["points_value"] == 10.0);
  REQUIRE(f.eventually([&] { return f.events("customer.loyalty_tier_changed").size() == 1; }));
  auto tier_event = json::parse(f.events("customer.loyalty_tier_changed")[0].payload);
  CHECK(tier_event["old_tier"] == "bronze");
  CHECK(tier_event["new_tier"] == "silver");

  // points expire 365 days after earning (the job's clock is injected through as_of)
  auto none = f.ask<customer_actor, count_reply>("customer", cu::expire_points{""});
  REQUIRE(none.ok());
  CHECK(none->count == 0);
  std::string later = f.database().value<std::string>("SELECT (now() + interval '366 days')::text");
  auto expired = f.ask<customer_actor, count_reply>("customer", cu::expire_points{later});
  REQUIRE(expired.ok());
  CHECK(expired->count >= 2);
  CHECK(points_of(f, "CUST-001") == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.loyalty_transactions WHERE customer_id = 'CUST-001' "
                      "AND transaction_type = 'expire' AND points_amount = -1000") == 1);
  auto rerun = f.ask<customer_actor, count_reply>("customer", cu::expire_points{later});
  CHECK(rerun->count == 0);
  // the yearly review drops at most one level
  auto reviewed = f.ask<customer_actor, count_reply>("customer", cu::review_tiers{later});
  REQUIRE(reviewed.ok());
  CHECK(reviewed->count == 6);
  CHECK(f.get("customer", "/customers/CUST-001/loyalty").json()["loyalty_tier"] == "bronze");
}

TEST_CASE("placement events apply in one statement, once", "[customer][events]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto conn = f.database().connect();
  // applied alone, without a transaction (as the agent runs a lone order_created / order_confirmed)
  auto alone = [&](const event& e) {
    REQUIRE(cu::store::applies_in_one_statement(e));
    pqxx::nontransaction tx{*conn};
    return cu::store::apply_order_event(tx, e);
  };
  auto orders = [&] { return count_rows(f, "SELECT total_orders FROM customers.customer_profiles WHERE customer_id = 'CUST-002'"); };
  auto spent = [&] {
    return f.database().value<std::string>("SELECT total_spent::text FROM customers.customer_profiles WHERE customer_id = 'CUST-002'");
  };
  auto order = [&](const std::string& id) {
    return f.database().value<std::string>("SELECT concat_ws('/', customer_id, open, confirmed, cancelled, total_amount) "
                                           "FROM customers.customer_orders WHERE order_id = '" + id + "'");
  };
  REQUIRE(orders() == 0);
  REQUIRE(spent() == "0.00");
  auto order_event = [](const std::string& name, const json& payload) {
    return make_event("order", name, payload.dump(), payload.value("order_id", ""));
  };

  auto created = order_event("order_created", {{"order_id", "ord-s1"}, {"customer_id", "CUST-002"}, {"total_amount", 30}});
  CHECK(alone(created));
  CHECK_FALSE(alone(created));  // a duplicate delivery
  CHECK(order("ord-s1") == "CUST-002/t/f/f/30.00");
  CHECK(orders() == 0);

  // no total in the event: the row's counts
  auto confirmed = order_event("order_confirmed", {{"order_id", "ord-s1"}, {"customer_id", "CUST-002"}});
  CHECK(alone(confirmed));
  CHECK(order("ord-s1") == "CUST-002/t/t/f/30.00");
  CHECK(orders() == 1);
  CHECK(spent() == "30.00");
  CHECK_FALSE(alone(confirmed));  // a duplicate (e.g. applied again after a lost connection) counts nothing
  CHECK(orders() == 1);
  // another confirmation of a confirmed order is processed, but counts nothing either
  CHECK(alone(order_event("order_confirmed", {{"order_id", "ord-s1"}, {"customer_id", "CUST-002"}, {"total_amount", 99}})));
  CHECK(order("ord-s1") == "CUST-002/t/t/f/30.00");
  CHECK(orders() == 1);
  CHECK(spent() == "30.00");

  // a confirmation without a creation before it inserts the row
  CHECK(alone(order_event("order_confirmed", {{"order_id", "ord-s2"}, {"customer_id", "CUST-002"}, {"total_amount", "12.50"}})));
  CHECK(order("ord-s2") == "CUST-002/t/t/f/12.50");
  CHECK(orders() == 2);
  CHECK(spent() == "42.50");

  // in a batch's transaction, with a multi-statement event among them: a cancelled order is not counted
  auto created3 = order_event("order_created", {{"order_id", "ord-s3"}, {"customer_id", "CUST-002"}, {"total_amount", 7}});
  auto cancelled3 = order_event("order_cancelled", {{"order_id", "ord-s3"}, {"customer_id", "CUST-002"}});
  auto confirmed3 = order_event("order_confirmed", {{"order_id", "ord-s3"}, {"customer_id", "CUST-002"}, {"total_amount", 7}});
  CHECK_FALSE(cu::store::applies_in_one_statement(cancelled3));
  auto together = [&](const std::vector<event>& events) {
    std::vector<bool> first;
    pqxx::work tx{*conn};
    for (const auto& e : events) first.push_back(cu::store::apply_order_event(tx, e));
    tx.commit();
    return first;
  };
  CHECK(together({created3, cancelled3, confirmed3}) == std::vector<bool>{true, true, true});
  CHECK(order("ord-s3") == "CUST-002/f/f/t/7.00");
  CHECK(together({created3, cancelled3, confirmed3}) == std::vector<bool>{false, false, false});
  CHECK(orders() == 2);
  CHECK(spent() == "42.50");

  // the statement is atomic: when counting the order fails, the event is not marked processed
  // either, so that it is neither lost nor half applied
  f.database().exec("UPDATE customers.customer_profiles SET total_spent = 9999999999.00 WHERE customer_id = 'CUST-002'");
  auto overflow = order_event("order_confirmed", {{"order_id", "ord-s4"}, {"customer_id", "CUST-002"}, {"total_amount", 10}});
  CHECK_THROWS(alone(overflow));
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE order_id = 'ord-s4'") == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.processed_events WHERE event_id = '" + overflow.event_id + "'") == 0);
  CHECK(orders() == 2);

  // through the agent: a lone event, its duplicate delivery skipped
  f.database().exec("UPDATE customers.customer_profiles SET total_spent = 42.50 WHERE customer_id = 'CUST-002'");
  auto confirmed5 = order_event("order_confirmed", {{"order_id", "ord-s5"}, {"customer_id", "CUST-002"}, {"total_amount", 5}});
  f.bus().publish(confirmed5);
  REQUIRE(f.eventually([&] { return orders() == 3; }));
  f.bus().publish(confirmed5);
  REQUIRE(f.eventually([&] {
    for (const auto& s : f.bus().consumers())
      if (s.consumer == "customer") return s.held == 0;
    return false;
  }));
  CHECK(orders() == 3);
  CHECK(spent() == "47.50");
}

TEST_CASE("a run of placement events applies in one statement, folded per order and per customer", "[customer][events]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto conn = f.database().connect();
  plan_capture plans{*conn};
  // as the agent runs a batch of only order_created / order_confirmed: one statement, no transaction
  auto apply = [&](const std::vector<event>& events) {
    pqxx::nontransaction tx{*conn};
    return cu::store::apply_in_one_statement(tx, events);
  };
  auto order_event = [](const std::string& name, const json& payload) {
    return make_event("order", name, payload.dump(), payload.value("order_id", ""));
  };
  // customer/open/confirmed/cancelled/total of every projected order
  auto orders = [&] {
    return f.database().value<std::string>(
        "SELECT coalesce(string_agg(concat_ws('/', order_id, customer_id, open, confirmed, cancelled, total_amount), ' ' "
        "ORDER BY order_id), '') FROM customers.customer_orders");
  };
  // total_orders/total_spent/last_order_at set
  auto stats = [&](const std::string& id) {
    return f.database().value<std::string>(
        "SELECT concat_ws('/', total_orders, total_spent, last_order_at IS NOT NULL) FROM customers.customer_profiles "
        "WHERE customer_id = '" + id + "'");
  };
  auto processed = [&](const std::vector<event>& events) {
    std::string ids;
    for (const auto& e : events) ids += (ids.empty() ? "'" : ", '") + e.event_id + "'";
    return count_rows(f, "SELECT count(*) FROM customers.processed_events WHERE consumer = 'customer' AND event_id IN (" +
                             ids + ")");
  };
  // X = CUST-002 (with earlier stats), Y = CUST-003, Z = CUST-004
  f.database().exec("UPDATE customers.customer_profiles SET total_orders = 3, total_spent = 100.00 WHERE customer_id = 'CUST-002'");
  REQUIRE(orders().empty());

  // processed earlier: order D's confirmation, counted once
  auto confirmed_d = order_event("order_confirmed", {{"order_id", "ord-b-d"}, {"customer_id", "CUST-002"}, {"total_amount", "4.00"}});
  REQUIRE(apply({confirmed_d}) == 1);
  REQUIRE(stats("CUST-002") == "4/104.00/t");
  // its row put back to unconfirmed: only its processed mark keeps a redelivery from counting it again
  f.database().exec("UPDATE customers.customer_orders SET confirmed = false WHERE order_id = 'ord-b-d'");

  auto created_a = order_event("order_created", {{"order_id", "ord-b-a"}, {"customer_id", "CUST-002"}, {"total_amount", "20.00"}});
  auto confirmed_a = order_event("order_confirmed", {{"order_id", "ord-b-a"}, {"customer_id", "CUST-002"}, {"total_amount", "21.50"}});
  // B: confirmed without a row before it
  auto confirmed_b = order_event("order_confirmed", {{"order_id", "ord-b-b"}, {"customer_id", "CUST-002"}, {"total_amount", "12.50"}});
  auto created_c = order_event("order_created", {{"order_id", "ord-b-c"}, {"customer_id", "CUST-003"}, {"total_amount", 7}});
  // E: a confirmation without a total counts the total of the creation before it in the run
  auto created_e = order_event("order_created", {{"order_id", "ord-b-e"}, {"customer_id", "CUST-004"}, {"total_amount", "9.99"}});
  auto confirmed_e = order_event("order_confirmed", {{"order_id", "ord-b-e"}, {"customer_id", "CUST-004"}});
  // no order id: only marked processed
  auto no_order = order_event("order_confirmed", {{"customer_id", "CUST-002"}, {"total_amount", 50}});
  const std::vector<event> run{created_a,  confirmed_b, created_c,
                               created_e,  confirmed_a, confirmed_d /* processed earlier */,
                               no_order,   confirmed_e, confirmed_b /* delivered twice in the run */};

  CHECK(apply(run) == 7);  // the first deliveries
  const std::string after =
      "ord-b-a/CUST-002/t/t/f/21.50 ord-b-b/CUST-002/t/t/f/12.50 ord-b-c/CUST-003/t/f/f/7.00 "
      "ord-b-d/CUST-002/t/f/f/4.00 ord-b-e/CUST-004/t/t/f/9.99";
  CHECK(orders() == after);
  CHECK(stats("CUST-002") == "6/138.00/t");  // A and B: +2 orders, +21.50 +12.50
  CHECK(stats("CUST-003") == "0/0.00/f");    // C only created
  CHECK(stats("CUST-004") == "1/9.99/t");
  CHECK(processed(run) == 8);  // every distinct event id, once
  CHECK(count_rows(f, "SELECT count(*) FROM customers.processed_events WHERE consumer = 'customer'") == 8);

  // the same run delivered again: all duplicates, nothing changes
  CHECK(apply(run) == 0);
  CHECK(orders() == after);
  CHECK(stats("CUST-002") == "6/138.00/t");
  CHECK(stats("CUST-003") == "0/0.00/f");
  CHECK(stats("CUST-004") == "1/9.99/t");
  CHECK(processed(run) == 8);

  // a later confirmation of C (created in the run) counts it with its own total; an empty run runs nothing
  CHECK(apply({order_event("order_confirmed", {{"order_id", "ord-b-c"}, {"customer_id", "CUST-003"}, {"total_amount", "7.25"}})}) == 1);
  CHECK(stats("CUST-003") == "1/7.25/t");
  CHECK(apply({}) == 0);
  // only placement events belong in a run
  CHECK_THROWS_AS(apply({created_a, order_event("order_cancelled", {{"order_id", "ord-b-a"}})}), std::logic_error);
  CHECK(stats("CUST-002") == "6/138.00/t");
  // The statement's generic plan probes orders and profiles by key (tests/support/plan_capture.hpp).
  check_key_probes(plans, "mercato.batch_items");
}

TEST_CASE("concurrent order events through the agent end in exact stats", "[customer][events][concurrency]") {
  agent_fixture f{{customer_spec()}, seeded()};
  const std::vector<std::string> customers{"CUST-001", "CUST-002", "CUST-003", "CUST-004"};
  const int n = static_cast<int>(customers.size());
  std::vector<int64_t> orders(customers.size(), 0), cents(customers.size(), 0);
  int64_t distinct_events = 0;
  auto idle = [&] {
    for (const auto& s : f.bus().consumers())
      if (s.consumer == "customer") return s.held == 0;
    return false;
  };
  // One thread per customer publishes its orders' order_created then order_confirmed (the first
  // confirmation delivered twice), all threads at once; with `cancel`, CUST-004 also places and
  // cancels ord-cc (created → confirmed → cancelled) among its orders.
  auto publish_round = [&](int round, int per_customer, bool cancel) {
    std::atomic<int> arrived{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < n; ++c)
      threads.emplace_back([&, c] {
        arrive_and_wait(arrived, n);
        for (int k = 1; k <= per_customer; ++k) {
          json p{{"order_id", fmt::format("ord-r{}-{}-{}", round, c, k)},
                 {"customer_id", customers[c]},
                 {"total_amount", fmt::format("{}.{:02}", 10 * (c + 1) + k, 5 * k)}};
          publish_order_event(f, "order_created", p);
          auto confirmed = make_event("order", "order_confirmed", p.dump(), p["order_id"].get<std::string>());
          f.bus().publish(confirmed);
          if (k == 1) f.bus().publish(confirmed);
          if (cancel && c == 3 && k == 2) {
            json cc{{"order_id", "ord-cc"}, {"customer_id", customers[c]}, {"total_amount", "55.00"}};
            publish_order_event(f, "order_created", cc);
            publish_order_event(f, "order_confirmed", cc);
            publish_order_event(f, "order_cancelled", json{{"order_id", "ord-cc"}, {"customer_id", customers[c]}});
          }
        }
      });
    for (auto& t : threads) t.join();
    for (int c = 0; c < n; ++c)
      for (int k = 1; k <= per_customer; ++k) {
        ++orders[c];
        cents[c] += (10 * (c + 1) + k) * 100 + 5 * k;
      }
    distinct_events += 2 * n * per_customer + (cancel ? 3 : 0);
  };
  auto stats = [&](const std::string& id) {
    return f.database().value<std::string>("SELECT concat_ws('/', total_orders, total_spent) FROM customers.customer_profiles "
                                           "WHERE customer_id = '" + id + "'");
  };

  // While the agent is busy its mailbox fills up, so that the events then share batches: mixed
  // ones (the cancellation among placement events) in one transaction.
  REQUIRE(f.inject("customer", "hang", 1000).ok);
  publish_round(1, 5, true);
  REQUIRE(f.eventually([&] { return idle(); }));
  // then free running: batches of placement events only, one statement each
  publish_round(2, 8, false);
  REQUIRE(f.eventually([&] { return idle(); }));

  for (int c = 0; c < n; ++c) {
    INFO(customers[c]);
    CHECK(stats(customers[c]) == fmt::format("{}/{}.{:02}", orders[c], cents[c] / 100, cents[c] % 100));
  }
  CHECK(stats("CUST-004") == "13/573.55");  // ord-cc counted, then undone
  CHECK(f.database().value<std::string>("SELECT concat_ws('/', customer_id, open, confirmed, cancelled, total_amount) "
                                        "FROM customers.customer_orders WHERE order_id = 'ord-cc'") == "CUST-004/f/t/t/55.00");
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE order_id LIKE 'ord-r%' AND confirmed "
                      "AND NOT cancelled") == 4 * (5 + 8));
  CHECK(count_rows(f, "SELECT count(*) FROM customers.processed_events WHERE consumer = 'customer'") == distinct_events);
  CHECK(distinct_events == 107);
}

TEST_CASE("upgrades count only points earned in the last 365 days", "[customer][events][loyalty]") {
  agent_fixture f{{customer_spec()}, seeded()};
  // CUST-002 earned 900 points 380 days ago (spent since); the review 35 days ago counted them
  // (they were 345 days old then), so its stored qualifying_points still say 900.
  f.database().exec(
      "INSERT INTO customers.loyalty_transactions (transaction_id, customer_id, transaction_type, points_amount, "
      "points_balance_after, points_remaining, reference_type, reference_id, description, expires_at, created_at) "
      "VALUES ('72000000-0000-4000-8000-0000000000a2', 'CUST-002', 'earn', 900, 900, 0, 'order', 'old-order', "
      "'old', now() - interval '15 days', now() - interval '380 days')");
  f.database().exec("UPDATE customers.customer_loyalty SET qualifying_points = 900 WHERE customer_id = 'CUST-002'");
  // 200 points now: 1,100 over the stored counter, but only 200 in the last 365 days → still bronze
  publish_order_event(f, "order_delivered", json{{"order_id", "ord-q1"}, {"customer_id", "CUST-002"}, {"eligible_amount", 200}});
  REQUIRE(f.eventually([&] { return points_of(f, "CUST-002") == 200; }));
  auto loyalty = f.get("customer", "/customers/CUST-002/loyalty").json();
  CHECK(loyalty["loyalty_tier"] == "bronze");
  CHECK(loyalty["qualifying_points"] == 200);
  CHECK(f.events("customer.loyalty_tier_changed").empty());
  // 800 more within the window → 1,000 → silver at once
  publish_order_event(f, "order_delivered", json{{"order_id", "ord-q2"}, {"customer_id", "CUST-002"}, {"eligible_amount", 800}});
  REQUIRE(f.eventually([&] { return points_of(f, "CUST-002") == 1000; }));
  loyalty = f.get("customer", "/customers/CUST-002/loyalty").json();
  CHECK(loyalty["loyalty_tier"] == "silver");
  CHECK(loyalty["qualifying_points"] == 1000);
}

TEST_CASE("loyalty adjustments and interactions", "[customer][rest]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto neg = f.post("customer", "/customers/CUST-006/loyalty/adjust",
                    json{{"points", -2001}, {"reason", "fix"}, {"adjusted_by", "admin"}});
  CHECK(neg.status == 409);
  auto adj = f.post("customer", "/customers/CUST-006/loyalty/adjust",
                    json{{"points", -500}, {"reason", "fix"}, {"adjusted_by", "admin"}});
  REQUIRE(adj.status == 200);
  CHECK(adj.json()["loyalty"]["points_balance"] == 1500);
  CHECK(adj.json()["transaction"]["points_amount"] == -500);
  CHECK(f.post("customer", "/customers/CUST-006/loyalty/adjust", json{{"points", 0}}).status == 422);
  CHECK(f.get("customer", "/customers/NOPE/loyalty").json()["detail"] == "Loyalty information for customer ID NOPE not found");

  auto created = f.post("customer", "/customers/CUST-002/interactions",
                        json{{"interaction_type", "email"}, {"subject", "Where is my order?"}, {"customer_id", "X"}});
  REQUIRE(created.status == 201);
  auto it = created.json();
  CHECK(it["status"] == "open");
  CHECK(it["priority"] == "medium");
  CHECK(it["assigned_to"].is_null());
  std::string path = "/customers/CUST-002/interactions/" + it["interaction_id"].get<std::string>();
  CHECK(f.http("customer", "PATCH", path, json{{"status", "in_progress"}, {"assigned_to", "agent-7"}}.dump()).status == 200);
  CHECK(f.http("customer", "PATCH", path, json{{"status", "resolved"}}.dump()).status == 422);  // resolution missing
  CHECK(f.http("customer", "PATCH", path, json{{"status", "resolved"}, {"resolution", "Shipped"}}.dump()).status == 200);
  CHECK(f.http("customer", "PATCH", path, json{{"status", "closed"}}.dump()).status == 200);
  auto reopen = f.http("customer", "PATCH", path, json{{"status", "in_progress"}}.dump());
  CHECK(reopen.status == 409);
  CHECK(f.http("customer", "PATCH", "/customers/CUST-002/interactions/00000000-0000-4000-8000-000000000000",
               json{{"status", "closed"}}.dump())
            .json()["detail"] == "Interaction not found");
  CHECK(f.post("customer", "/customers/CUST-002/interactions", json{{"interaction_type", "pigeon"}}).status == 422);
  auto list = f.get("customer", "/customers/CUST-002/interactions?status=closed").json();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["resolution"] == "Shipped");
  CHECK(f.eventually([&] { return f.events("customer.customer_interaction_created").size() == 1; }));
}

TEST_CASE("concurrent registrations of one e-mail create one customer", "[customer][rest][concurrency]") {
  agent_fixture f{{customer_spec()}, seeded()};
  constexpr int n = 6;
  std::atomic<int> arrived{0};
  std::vector<std::future<int>> statuses;
  for (int i = 0; i < n; ++i)
    statuses.push_back(std::async(std::launch::async, [&f, &arrived, i] {
      caf::scoped_actor s{f.system()};
      auto handle = caf::actor_cast<customer_actor>(f.directory().handle("customer"));
      http_request req;
      req.method = "POST";
      req.path = "/customers";
      req.body = json{{"email", i % 2 ? "Same@Example.com" : "same@example.com"}}.dump();
      arrive_and_wait(arrived, n);
      int status = 0;
      s->request(handle, std::chrono::seconds(10), req)
          .receive([&](http_response& r) { status = r.status; }, [&](caf::error&) { status = -1; });
      return status;
    }));
  int created = 0, conflicts = 0;
  for (auto& s : statuses) {
    int st = s.get();
    created += st == 201;
    conflicts += st == 409;
  }
  CHECK(created == 1);
  CHECK(conflicts == n - 1);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_profiles WHERE email = 'same@example.com'") == 1);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_loyalty l JOIN customers.customer_profiles p "
                      "USING (customer_id) WHERE p.email = 'same@example.com'") == 1);
}

TEST_CASE("outbox_stats and a restart keep the agent serving", "[customer][typed]") {
  agent_fixture f{{customer_spec()}, seeded()};
  auto stats = f.ask<customer_actor, outbox_stats_reply>("customer", outbox_stats{});
  REQUIRE(stats.ok());
  CHECK(stats->failed == 0);
  f.inject("customer", "throw");
  REQUIRE(f.wait_running("customer"));
  CHECK(f.eventually([&] { return f.get("customer", "/customers/CUST-001").status == 200; }));
}

TEST_CASE("record_interaction, get_preferences and count_active_customers", "[customer][typed]") {
  agent_fixture f{{customer_spec()}, seeded()};
  cu::record_interaction m;
  m.customer_id = "CUST-001";
  m.interaction_type = "support_ticket";
  m.subject = "Broken lamp";
  m.reference = "ticket:42";
  auto rec = f.ask<customer_actor, cu::interaction_recorded>("customer", m);
  REQUIRE(rec.ok());
  CHECK(json::parse(rec->json)["reference"] == "ticket:42");
  CHECK(f.get("customer", "/customers/CUST-001/interactions").json().size() == 1);
  m.interaction_type = "telegram";
  CHECK(f.ask<customer_actor, cu::interaction_recorded>("customer", m).error.kind == failure_kind::invalid);
  m.interaction_type = "chat";
  m.subject = std::string(201, 'x');  // the REST length rules apply to the typed door too
  auto too_long = f.ask<customer_actor, cu::interaction_recorded>("customer", m);
  CHECK(too_long.error.code == "invalid_input");
  CHECK(json::parse(too_long.error.detail)[0]["loc"] == json{"body", "subject"});
  CHECK(f.get("customer", "/customers/CUST-001/interactions").json().size() == 1);
  m.subject = "Broken lamp";
  m.interaction_type = "chat";
  m.customer_id = "CUST-999";
  CHECK(f.ask<customer_actor, cu::interaction_recorded>("customer", m).error.kind == failure_kind::not_found);

  REQUIRE(f.http("customer", "PUT", "/customers/CUST-001/preferences",
                 json{{"communication", {{"email", false}}}}.dump()).status == 200);
  auto prefs = f.ask<customer_actor, cu::preferences>("customer", cu::get_preferences{"CUST-001"});
  REQUIRE(prefs.ok());
  CHECK(json::parse(prefs->json)["communication"]["email"] == false);
  CHECK(f.ask<customer_actor, cu::preferences>("customer", cu::get_preferences{"CUST-999"}).error.kind ==
        failure_kind::not_found);

  auto none = f.ask<customer_actor, count_reply>("customer", cu::count_active_customers{30});
  REQUIRE(none.ok());
  CHECK(none->count == 0);
  publish_order_event(f, "order_confirmed", json{{"order_id", "ord-c1"}, {"customer_id", "CUST-002"}, {"total_amount", 12}});
  REQUIRE(f.eventually([&] { return f.get("customer", "/customers/CUST-002").json()["total_orders"] == 1; }));
  CHECK(f.ask<customer_actor, count_reply>("customer", cu::count_active_customers{30})->count == 1);
}

TEST_CASE("customer orders need the order agent", "[customer][rest]") {
  agent_fixture f{{customer_spec()}, seeded()};
  CHECK(f.get("customer", "/customers/NOPE/orders").status == 404);
  // only the customer agent runs here: the order agent is down → 503 with Retry-After
  auto down = f.get("customer", "/customers/CUST-001/orders?status=pending");
  CHECK(down.status == 503);
  CHECK_FALSE(down.header("Retry-After").empty());
  CHECK(f.get("customer", "/customers/CUST-001/orders?limit=5000").status == 422);
}

TEST_CASE("order events stuck in a hung incarnation's mailbox reach its replacement", "[customer][events]") {
  agent_fixture f{{customer_spec()}, seeded()};
  // The incarnation hangs longer than the heartbeat deadline (3 s in tests), so the supervisor
  // cuts it loose and starts another. The events published meanwhile sit in the hung one's
  // mailbox and die with it: only the durable consumer (held until acknowledged) brings them to
  // the replacement.
  REQUIRE(f.inject("customer", "hang", 4000).ok);
  for (int i = 1; i <= 5; ++i)
    publish_order_event(f, "order_confirmed",
                        json{{"order_id", fmt::format("ord-hang-{}", i)}, {"customer_id", "CUST-002"}, {"total_amount", 10}});
  REQUIRE(f.eventually([&] { return f.directory().find("customer")->incarnation() == 2; }));
  REQUIRE(f.wait_running("customer"));
  REQUIRE(f.eventually([&] { return f.get("customer", "/customers/CUST-002").json()["total_orders"] == 5; }));
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_orders WHERE order_id LIKE 'ord-hang-%'") == 5);
  // Every event acknowledged once applied: nothing left held for the customer consumer.
  REQUIRE(f.eventually([&] {
    for (const auto& s : f.bus().consumers())
      if (s.consumer == "customer") return s.held == 0 && s.attached;
    return false;
  }));
}
