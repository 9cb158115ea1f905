// The typed doors of the profile REST routes (create_customer, update_customer, list_customers):
// same validation, store units and texts as POST/PUT/GET /customers.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "agents/customer/customer_fixture.hpp"
#include "customer/customer_agent.hpp"
#include "customer/customer_messages.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::customer_suite;
using json = nlohmann::json;
namespace cu = mercato::customer;

namespace {

std::vector<std::string> ids_of(const cu::customer_list& l) {
  std::vector<std::string> out;
  for (const auto& c : l.customers) out.push_back(c.customer_id);
  return out;
}

}  // namespace

TEST_CASE("create_customer is the typed door of POST /customers", "[customer][typed][profile]") {
  agent_fixture f{{customer_spec()}, seeded()};
  cu::create_customer m;
  m.customer_id = "TYPED-1";
  m.email = " Typed.One@Example.com ";
  m.phone = "+1 555 010 2222";
  m.first_name = "Typed";
  m.source = "d2c:main";
  auto created = f.ask<customer_actor, cu::customer_profile>("customer", m);
  REQUIRE(created.ok());
  CHECK(created->customer_id == "TYPED-1");
  CHECK(created->email == "typed.one@example.com");
  CHECK(created->phone == "+15550102222");
  CHECK(created->status == "active");
  CHECK(created->loyalty_tier == "bronze");
  CHECK_FALSE(created->email_verified);
  auto doc = json::parse(created->document);
  CHECK(doc["source"] == "d2c:main");
  CHECK(doc["total_orders"] == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_loyalty WHERE customer_id = 'TYPED-1'") == 1);
  CHECK(f.eventually([&] { return f.events("customer.customer_registered").size() == 1; }));

  // invalid input: the REST 422 list as detail, nothing written
  cu::create_customer bad;
  bad.email = "not-an-email";
  bad.date_of_birth = "2999-01-01";
  auto invalid = f.ask<customer_actor, cu::customer_profile>("customer", bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error.kind == failure_kind::invalid);
  CHECK(invalid.error.code == "invalid_input");
  CHECK(invalid.error.message == "email: value is not a valid email address");
  auto issues = json::parse(invalid.error.detail);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0]["loc"] == json{"body", "email"});
  CHECK(issues[1]["loc"] == json{"body", "date_of_birth"});
  cu::create_customer no_email;
  CHECK(f.ask<customer_actor, cu::customer_profile>("customer", no_email).error.code == "invalid_input");
  cu::create_customer bad_source;
  bad_source.email = "ok@example.com";
  bad_source.source = std::string(101, 'x');
  CHECK(f.ask<customer_actor, cu::customer_profile>("customer", bad_source).error.code == "invalid_input");
  cu::create_customer unknown_code;
  unknown_code.email = "ok@example.com";
  unknown_code.referral_code = "ZZZZZZZZ";
  auto unknown = f.ask<customer_actor, cu::customer_profile>("customer", unknown_code);
  CHECK(unknown.error.kind == failure_kind::invalid);
  CHECK(unknown.error.code == "unknown_referral_code");
  CHECK(count_rows(f, "SELECT count(*) FROM customers.customer_profiles") == 7);  // 6 seed + 1

  // conflicts with the seed texts
  cu::create_customer same_email;
  same_email.email = "TYPED.ONE@example.com";
  auto taken = f.ask<customer_actor, cu::customer_profile>("customer", same_email);
  CHECK(taken.error.kind == failure_kind::conflict);
  CHECK(taken.error.code == "email_taken");
  CHECK(taken.error.message == "Customer with email typed.one@example.com already exists");
  cu::create_customer same_id;
  same_id.customer_id = "TYPED-1";
  same_id.email = "other@example.com";
  auto id_taken = f.ask<customer_actor, cu::customer_profile>("customer", same_id);
  CHECK(id_taken.error.kind == failure_kind::conflict);
  CHECK(id_taken.error.code == "id_taken");
  CHECK(id_taken.error.message == "Customer with ID TYPED-1 already exists");

  // a referral through the typed door; without a customer_id a UUID is drawn
  cu::create_customer referred;
  referred.email = "friend@example.com";
  referred.referral_code = "alice234";
  auto r = f.ask<customer_actor, cu::customer_profile>("customer", referred);
  REQUIRE(r.ok());
  CHECK(r->customer_id.size() == 36);
  CHECK(json::parse(r->document)["referred_by"] == "CUST-001");
  CHECK(json::parse(r->document)["source"] == "api");
  CHECK(f.get("customer", "/customers/CUST-001/loyalty").json()["referrals_count"] == 1);
}

TEST_CASE("update_customer is the typed door of PUT /customers", "[customer][typed][profile]") {
  agent_fixture f{{customer_spec()}, seeded()};
  cu::update_customer verify;
  verify.customer_id = "CUST-004";
  verify.email_verified = true;
  auto verified = f.ask<customer_actor, cu::customer_profile>("customer", verify);
  REQUIRE(verified.ok());
  CHECK(verified->email_verified);
  CHECK(f.get("customer", "/customers/CUST-004").json()["email_verified"] == true);

  cu::update_customer rename;
  rename.customer_id = "CUST-004";
  rename.first_name = "David";
  rename.metadata_json = R"({"vip":true})";
  rename.clear = {"phone"};
  auto renamed = f.ask<customer_actor, cu::customer_profile>("customer", rename);
  REQUIRE(renamed.ok());
  CHECK(renamed->first_name == "David");
  CHECK(renamed->phone.empty());
  auto doc = json::parse(renamed->document);
  CHECK(doc["phone"].is_null());
  CHECK(doc["metadata"]["vip"] == true);
  CHECK(f.eventually([&] { return f.events("customer.customer_updated").size() == 2; }));

  // invalid input: nothing changes
  cu::update_customer bad;
  bad.customer_id = "CUST-004";
  bad.email = "bad";
  bad.first_name = "Nope";
  auto invalid = f.ask<customer_actor, cu::customer_profile>("customer", bad);
  CHECK(invalid.error.kind == failure_kind::invalid);
  CHECK(invalid.error.code == "invalid_input");
  cu::update_customer bad_meta;
  bad_meta.customer_id = "CUST-004";
  bad_meta.metadata_json = "[1]";
  CHECK(f.ask<customer_actor, cu::customer_profile>("customer", bad_meta).error.code == "invalid_input");
  cu::update_customer bad_clear;
  bad_clear.customer_id = "CUST-004";
  bad_clear.clear = {"password"};
  auto extra = f.ask<customer_actor, cu::customer_profile>("customer", bad_clear);
  CHECK(extra.error.code == "invalid_input");
  CHECK(json::parse(extra.error.detail)[0]["type"] == "value_error.extra");
  CHECK(f.database().value<std::string>("SELECT first_name FROM customers.customer_profiles WHERE customer_id = 'CUST-004'") ==
        "David");

  // not found, e-mail taken, illegal account status change
  cu::update_customer missing;
  missing.customer_id = "CUST-999";
  missing.first_name = "X";
  auto nf = f.ask<customer_actor, cu::customer_profile>("customer", missing);
  CHECK(nf.error.kind == failure_kind::not_found);
  CHECK(nf.error.message == "Customer with ID CUST-999 not found or update failed");
  missing.customer_id = "not an id!";
  CHECK(f.ask<customer_actor, cu::customer_profile>("customer", missing).error.kind == failure_kind::not_found);
  cu::update_customer steal;
  steal.customer_id = "CUST-004";
  steal.email = "Alice.Martin@example.com";
  auto taken = f.ask<customer_actor, cu::customer_profile>("customer", steal);
  CHECK(taken.error.kind == failure_kind::conflict);
  CHECK(taken.error.message == "Customer with email alice.martin@example.com already exists");
  cu::update_customer deactivate;
  deactivate.customer_id = "CUST-005";
  deactivate.account_status = "inactive";
  auto illegal = f.ask<customer_actor, cu::customer_profile>("customer", deactivate);
  CHECK(illegal.error.kind == failure_kind::conflict);
  CHECK(illegal.error.code == "illegal_transition");
}

TEST_CASE("list_customers filters, pages and totals like GET /customers", "[customer][typed][profile]") {
  agent_fixture f{{customer_spec()}, seeded()};
  using L = cu::customer_list;
  cu::list_customers all;
  all.limit = 2;
  auto page = f.ask<customer_actor, L>("customer", all);
  REQUIRE(page.ok());
  CHECK(page->total == 6);
  CHECK(ids_of(*page) == std::vector<std::string>{"CUST-005", "CUST-004"});  // newest registration first
  all.skip = 5;
  CHECK(ids_of(*f.ask<customer_actor, L>("customer", all)) == std::vector<std::string>{"CUST-001"});

  cu::list_customers silver;
  silver.filter.loyalty_tier = "silver";
  auto s = f.ask<customer_actor, L>("customer", silver);
  REQUIRE(s.ok());
  REQUIRE(s->customers.size() == 1);
  CHECK(s->total == 1);
  CHECK(s->customers[0].points_balance == 2000);
  CHECK(s->customers[0].store_credit_balance == 5000);
  CHECK(json::parse(s->customers[0].default_shipping_address_json)["city"] == "Denver");

  cu::list_customers suspended;
  suspended.filter.account_status = "suspended";
  CHECK(ids_of(*f.ask<customer_actor, L>("customer", suspended)) == std::vector<std::string>{"CUST-005"});
  cu::list_customers business;
  business.filter.customer_type = "business";
  auto none = f.ask<customer_actor, L>("customer", business);
  REQUIRE(none.ok());
  CHECK(none->total == 0);
  CHECK(none->customers.empty());

  // registration window: seed profiles registered 90, 120, 180, 200, 300 and 400 days ago
  auto day = [&](int ago) {
    return f.database().value<std::string>(
        fmt::format("SELECT ((now() AT TIME ZONE 'UTC')::date - {})::text", ago));
  };
  cu::list_customers recent;
  recent.filter.registered_from = day(150);
  CHECK(ids_of(*f.ask<customer_actor, L>("customer", recent)) == std::vector<std::string>{"CUST-005", "CUST-004"});
  cu::list_customers old;
  old.filter.registered_to = day(250);
  CHECK(f.ask<customer_actor, L>("customer", old)->total == 2);
  cu::list_customers window;
  window.filter.registered_from = day(190) + "T00:00:00Z";
  window.filter.registered_to = day(150) + "T23:59:59.999Z";
  CHECK(ids_of(*f.ask<customer_actor, L>("customer", window)) == std::vector<std::string>{"CUST-006"});

  // marketing consent: notifications.marketing_email = true
  REQUIRE(f.http("customer", "PUT", "/customers/CUST-002/preferences",
                 json{{"notifications", {{"marketing_email", true}}}}.dump()).status == 200);
  REQUIRE(f.http("customer", "PUT", "/customers/CUST-003/preferences",
                 json{{"notifications", {{"marketing_email", false}}}}.dump()).status == 200);
  cu::list_customers opted;
  opted.filter.marketing_opt_in = true;
  CHECK(ids_of(*f.ask<customer_actor, L>("customer", opted)) == std::vector<std::string>{"CUST-002"});
  opted.filter.marketing_opt_in = false;
  CHECK(f.ask<customer_actor, L>("customer", opted)->total == 5);

  // invalid filters and windows
  cu::list_customers bad;
  bad.filter.account_status = "zombie";
  CHECK(f.ask<customer_actor, L>("customer", bad).error.code == "invalid_input");
  cu::list_customers bad_date;
  bad_date.filter.registered_from = "2026-02-30";
  CHECK(f.ask<customer_actor, L>("customer", bad_date).error.kind == failure_kind::invalid);
  bad_date.filter.registered_from = "2026-01-01T25:00:00Z";
  CHECK(f.ask<customer_actor, L>("customer", bad_date).error.kind == failure_kind::invalid);
  cu::list_customers bad_limit;
  bad_limit.limit = 0;
  CHECK(f.ask<customer_actor, L>("customer", bad_limit).error.kind == failure_kind::invalid);
  bad_limit.limit = 10;
  bad_limit.skip = -1;
  CHECK(f.ask<customer_actor, L>("customer", bad_limit).error.kind == failure_kind::invalid);

  // the same filters on GET /customers
  CHECK(f.get("customer", "/customers?marketing_opt_in=true").json().size() == 1);
  CHECK(f.get("customer", "/customers?registered_from=" + day(150)).json().size() == 2);
  CHECK(f.get("customer", "/customers?registered_from=yesterday").status == 422);
}
