// Plain-C++ rules of the order agent: pricing arithmetic, the status table, body parsing, shipping,
// the draft of a placement's order.
#include <catch2/catch.hpp>

#include "order/order_pricing.hpp"
#include "order/order_request.hpp"
#include "order/order_status.hpp"
#include "order/placement_draft.hpp"
#include "order/promotions_builtin.hpp"
#include "order/shipping_rates.hpp"

using namespace mercato;
using namespace mercato::order;

TEST_CASE("order pricing: discount spread by largest remainder sums exactly", "[order][pricing]") {
  auto s = spread(100, {1000, 1000, 1000});
  REQUIRE(s == std::vector<money::cents>{34, 33, 33});
  auto z = spread(500, {0, 0});
  REQUIRE(z == std::vector<money::cents>{0, 0});
  auto w = spread(1, {2999, 1});
  REQUIRE(w[0] + w[1] == 1);
  REQUIRE(w[0] == 1);
}

TEST_CASE("order pricing: tax per line half-up on the discounted line, shipping untaxed", "[order][pricing]") {
  // 2 × 19.99 and 1 × 5.01 at 8.25 % with 1.00 discount and 5.99 shipping
  auto t = price_order({{1999, 2}, {501, 1}}, 100, 599, 8250);
  REQUIRE(t.subtotal == 4499);
  REQUIRE(t.discount == 100);
  REQUIRE(t.lines[0].discount + t.lines[1].discount == 100);
  REQUIRE(t.lines[0].discount == 89);  // 3998/4499 of 1.00 = 0.8886 → 89 (largest remainder)
  REQUIRE(t.lines[0].tax == apply_rate_e5(3998 - 89, 8250));
  REQUIRE(t.lines[1].tax == apply_rate_e5(501 - 11, 8250));
  REQUIRE(t.tax == t.lines[0].tax + t.lines[1].tax);
  REQUIRE(t.total == t.subtotal - t.discount + t.shipping + t.tax);
  REQUIRE(apply_rate_e5(1000, 8250) == 83);   // 82.5 → 83 half-up
  REQUIRE(apply_rate_e5(1000, 8875) == 89);   // 88.75 → 89
  REQUIRE(apply_rate_e5(0, 8250) == 0);
  auto capped = price_order({{500, 1}}, 9999, 0, 0);
  REQUIRE(capped.discount == 500);
  REQUIRE(capped.total == 0);
}

TEST_CASE("order pricing: rates with five decimals", "[order][pricing]") {
  REQUIRE(parse_rate_e5("0.0825") == 8250);
  REQUIRE(parse_rate_e5("0.08875") == 8875);
  REQUIRE(parse_rate_e5("0.088750") == 8875);
  REQUIRE_FALSE(parse_rate_e5("0.088751"));
  REQUIRE_FALSE(parse_rate_e5("1.0"));
  REQUIRE_FALSE(parse_rate_e5("abc"));
  REQUIRE(format_rate_e5(8250) == "0.0825");
  REQUIRE(format_rate_e5(8875) == "0.08875");
}

TEST_CASE("order pricing: expected figures are upper bounds", "[order][pricing]") {
  REQUIRE(check_expected({{"PROD-001", 1999, 1999}}, std::nullopt, 0, std::nullopt, 0).empty());
  REQUIRE(check_expected({{"PROD-001", 2500, 1999}}, std::nullopt, 0, std::nullopt, 0).empty());
  REQUIRE(check_expected({{"PROD-001", 1500, 1999}}, std::nullopt, 0, std::nullopt, 0) ==
          "Price changed for product PROD-001: expected 15.00, current 19.99");
  REQUIRE(check_expected({}, std::nullopt, 0, 1000, 1200) == "Order total changed: expected 10.00, computed 12.00");
  REQUIRE(check_expected({}, 500, 599, std::nullopt, 0).find("Shipping") == 0);
}

TEST_CASE("order pricing: unit values sum exactly to the line", "[order][pricing]") {
  // 1000 over 3 units: 333 + 334 + 333 in any split
  money::cents a = units_value(1000, 3, 0, 1), b = units_value(1000, 3, 1, 1), c = units_value(1000, 3, 2, 1);
  REQUIRE(a + b + c == 1000);
  REQUIRE(units_value(1000, 3, 0, 2) + units_value(1000, 3, 2, 1) == 1000);
  REQUIRE(units_value(1000, 3, 0, 3) == 1000);
  REQUIRE(units_value(1000, 3, 0, 0) == 0);
}

TEST_CASE("order status: the transition table and the legacy paid alias", "[order][status]") {
  REQUIRE(can_transition("pending", "confirmed"));
  REQUIRE(can_transition("confirmed", "processing"));
  REQUIRE(can_transition("shipped", "delivered"));
  REQUIRE(can_transition("returned", "refunded"));
  REQUIRE_FALSE(can_transition("delivered", "cancelled"));
  REQUIRE_FALSE(can_transition("cancelled", "confirmed"));
  REQUIRE_FALSE(can_transition("pending", "shipped"));

  auto d = decide_status_change("delivered", "cancelled", "captured");
  REQUIRE(d.kind == status_decision::reject_conflict);
  REQUIRE(d.message == "Cannot change order status from 'delivered' to 'cancelled'");
  REQUIRE(decide_status_change("pending", "paid", "pending").message == "Order has no successful payment");
  auto paid = decide_status_change("pending", "paid", "authorized");
  REQUIRE(paid.kind == status_decision::apply);
  REQUIRE(paid.target == "confirmed");
  REQUIRE(decide_status_change("confirmed", "paid", "authorized").kind == status_decision::unchanged);
  REQUIRE(decide_status_change("shipped", "shipped", "captured").kind == status_decision::unchanged);
  REQUIRE(decide_status_change("shipped", "bogus", "captured").kind == status_decision::reject_invalid);
  REQUIRE(decide_status_change("delivered", "refunded", "captured").kind == status_decision::reject_conflict);
  REQUIRE(decide_status_change("pending", "confirmed", "failed").kind == status_decision::reject_conflict);
  REQUIRE(progress_percentage("shipped") == 75);
  REQUIRE(is_cancellation_reason("fraud_detected"));
  REQUIRE_FALSE(is_cancellation_reason("bored"));
}

TEST_CASE("order request: items form with aliases and nested shipping and payment", "[order][request]") {
  input::issue_list issues;
  auto body = nlohmann::json::parse(R"({
    "customer_id": "CUST-001",
    "lines": [{"product_id": "PROD-001", "quantity": 2, "price": "19.99"}],
    "shipping": {"service_level": "express", "amount": 14.99,
                 "destination": {"country": "us", "state": "TX", "city": "Austin", "zip": "78701", "line1": "1 Main"}},
    "payment": {"type": "card", "token": "tok_visa"},
    "expected_total": "60.00",
    "promotion_code": "SAVE10"
  })");
  auto r = read_place_request(body, issues);
  REQUIRE(issues.empty());
  REQUIRE(r.lines.size() == 1);
  REQUIRE(r.lines[0].expected_unit_price == 1999);
  REQUIRE(r.shipping_service_level == "express");
  REQUIRE(r.expected_shipping == 1499);
  REQUIRE(r.expected_total == 6000);
  REQUIRE(r.payment.token == "tok_visa");
  REQUIRE(r.promotion_codes == std::vector<std::string>{"SAVE10"});
  REQUIRE(address_country(r.shipping_address) == "US");
  REQUIRE(address_region(r.shipping_address) == "TX");
  quote_promotions(r.promotion_codes, issues);
  REQUIRE(issues.size() == 1);
  REQUIRE(issues[0].msg == "Promotion code 'SAVE10' is not valid");
}

TEST_CASE("order request: bad bodies collect every issue with its loc", "[order][request]") {
  input::issue_list issues;
  auto body = nlohmann::json::parse(R"({"items": [{"product_id": "PROD-001", "quantity": 0}],
    "shipping_address": {"city": "Austin"}, "currency": "EUR"})");
  read_place_request(body, issues);
  auto has = [&](std::vector<std::string> loc) {
    for (const auto& i : issues)
      if (i.loc == loc) return true;
    return false;
  };
  REQUIRE(has({"body", "customer_id"}));
  REQUIRE(has({"body", "items", "0", "quantity"}));
  REQUIRE(has({"body", "shipping_address", "country"}));
  REQUIRE(has({"body", "shipping_address", "postal_code"}));
  REQUIRE(has({"body", "currency"}));
  issues.clear();
  read_place_request(nlohmann::json::parse(R"({"customer_id": "C", "items": []})"), issues);
  REQUIRE(has({"body", "items"}));
  issues.clear();
  read_place_request(nlohmann::json::parse("[1,2]"), issues);
  REQUIRE_FALSE(issues.empty());
}

TEST_CASE("order shipping: built-in flat rates", "[order][shipping]") {
  const shipping_table table;  // the config defaults
  REQUIRE(flat_rate(table, "standard", 7499)->cost == 599);
  REQUIRE(flat_rate(table, "standard", 7500)->cost == 0);
  REQUIRE(flat_rate(table, "express", 100000)->cost == 1499);
  REQUIRE(flat_rate(table, "overnight", 0)->cost == 2999);
  REQUIRE(flat_rate(table, "overnight", 0)->carrier_code == "FLATRATE");
  REQUIRE_FALSE(flat_rate(table, "teleport", 0));
  shipping_table never_free;
  never_free.free_standard_threshold = 0;
  REQUIRE(flat_rate(never_free, "standard", 1000000)->cost == 599);
  REQUIRE(flat_rate_options(table, 0).size() == 3);
}

#include "order/order_store.hpp"

TEST_CASE("order tax: region rate, else country default, else zero, within its period", "[order][pricing]") {
  std::vector<tax_rate> rates{
      {"a", "US", "TX", "", "2000-01-01T00:00:00.000000Z", "", 8250},
      {"b", "DE", "", "", "2000-01-01T00:00:00.000000Z", "", 19000},
      {"c", "US", "CA", "", "2000-01-01T00:00:00.000000Z", "2020-01-01T00:00:00.000000Z", 7000},
      {"d", "US", "CA", "", "2020-01-01T00:00:00.000000Z", "", 7250},
  };
  const std::string now = "2026-06-01T00:00:00.000000Z";
  REQUIRE(pick_tax_rate(rates, "US", "TX", now) == 8250);
  REQUIRE(pick_tax_rate(rates, "US", "CA", now) == 7250);
  REQUIRE(pick_tax_rate(rates, "US", "CA", "2010-01-01T00:00:00.000000Z") == 7000);
  REQUIRE(pick_tax_rate(rates, "US", "OR", now) == 0);
  REQUIRE(pick_tax_rate(rates, "DE", "BY", now) == 19000);
  REQUIRE(pick_tax_rate(rates, "FR", "", now) == 0);
}

namespace {

customer::customer_profile draft_customer() {
  customer::customer_profile c;
  c.customer_id = "CUST-9";
  c.email = "ada@example.com";
  c.first_name = "Ada";
  c.last_name = "Lovelace";
  c.account_age_days = 400;
  c.store_credit_balance = 1500;
  c.default_shipping_address_json =
      R"({"street":"1 Main St","city":"Austin","state":"TX","postal_code":"78701","country":"US"})";
  return c;
}

product::resolved_item draft_item(std::string id, std::string sku, money::cents price) {
  product::resolved_item it;
  it.kind = "product";
  it.item_id = it.product_id = std::move(id);
  it.sku = std::move(sku);
  it.name = "Item " + it.sku;
  it.list_price = price;
  return it;
}

place_request draft_request(const std::string& body) {
  input::issue_list issues;
  auto req = read_place_request(nlohmann::json::parse(body), issues);
  REQUIRE(issues.empty());
  return req;
}

}  // namespace

TEST_CASE("order draft: lines at list price, a bundle reserves its components, the default address ships",
          "[order][draft]") {
  auto req = draft_request(R"({"customer_id": "CUST-9", "payment_token": "tok_visa", "use_store_credit": "20.00",
    "items": [{"product_id": "P-1", "quantity": 2, "unit_price": "1.00"}, {"product_id": "B-1", "quantity": 3}]})");
  auto bundle = draft_item("B-1", "SKU-B", 2500);
  bundle.kind = "bundle";
  bundle.components = {{"C-1", "SKU-C1", 2, 900}, {"C-2", "SKU-C2", 1, 700}};
  input::issue_list issues;
  auto d = draft_placement(req, draft_customer(), {draft_item("P-1", "SKU-P", 1999), bundle}, "key-1", "api", issues);
  REQUIRE(d);
  CHECK(issues.empty());
  REQUIRE(d->order.lines.size() == 2);
  CHECK(d->order.lines[0].unit_price == 1999);  // the client's 1.00 is an expectation, not a price
  CHECK(d->order.lines[1].unit_price == 2500);
  CHECK(d->order.lines[1].bundle_components.size() == 2);
  REQUIRE(d->stock.size() == 3);
  CHECK((d->stock[0].product_id == "P-1" && d->stock[0].quantity == 2));
  CHECK((d->stock[1].product_id == "C-1" && d->stock[1].quantity == 6));
  CHECK((d->stock[2].product_id == "C-2" && d->stock[2].quantity == 3));
  CHECK(d->sku_of.at("C-2") == "SKU-C2");
  CHECK(address_region(d->order.shipping_address) == "TX");
  CHECK(d->order.billing_address == d->order.shipping_address);
  CHECK(d->order.customer_name == "Ada Lovelace");
  CHECK(d->context.merchandise_amount == 2 * 1999 + 3 * 2500);
  CHECK(d->context.store_credit == 1500);  // asked 20.00, the balance is 15.00
  CHECK(d->context.idempotency_key == "key-1");
  CHECK_FALSE(d->context.address_mismatch);
}

TEST_CASE("order draft: without a ship-to there is no order", "[order][draft]") {
  auto req = draft_request(R"({"customer_id": "CUST-9", "payment_token": "tok_visa",
    "items": [{"product_id": "P-1", "quantity": 1}]})");
  auto customer = draft_customer();
  customer.default_shipping_address_json.clear();
  input::issue_list issues;
  CHECK_FALSE(draft_placement(req, customer, {draft_item("P-1", "SKU-P", 1999)}, "", "api", issues));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].loc == std::vector<std::string>{"body", "shipping_address"});
}

TEST_CASE("order draft: priced with store credit, flat-rate shipping and tax, a lower expected total is a conflict",
          "[order][draft]") {
  auto req = draft_request(R"({"customer_id": "CUST-9", "payment_token": "tok_visa", "use_store_credit": "5.00",
    "items": [{"product_id": "P-1", "quantity": 2}]})");
  input::issue_list issues;
  auto d = draft_placement(req, draft_customer(), {draft_item("P-1", "SKU-P", 1999)}, "", "api", issues);
  REQUIRE(d);
  shipping_table shipping;
  CHECK(price_draft(*d, req, 0, shipping, 8250) == "");
  const auto expected = price_order({{1999, 2}}, 500, shipping.standard, 8250);
  CHECK(d->order.subtotal == 3998);
  CHECK(d->order.discount_amount == 500);
  CHECK(d->order.shipping_cost == shipping.standard);
  CHECK(d->order.tax_amount == expected.tax);
  CHECK(d->order.total_amount == expected.total);
  CHECK(d->order.store_credit_used == 500);
  CHECK(d->context.total == expected.total);
  CHECK(d->order.lines[0].total_price == expected.lines[0].total_price);

  auto lower = draft_request(R"({"customer_id": "CUST-9", "payment_token": "tok_visa", "expected_total": "10.00",
    "items": [{"product_id": "P-1", "quantity": 2}]})");
  auto d2 = draft_placement(lower, draft_customer(), {draft_item("P-1", "SKU-P", 1999)}, "", "api", issues);
  REQUIRE(d2);
  CHECK_FALSE(price_draft(*d2, lower, 0, shipping, 8250).empty());
}

TEST_CASE("order draft: store credit beyond what the merchandise absorbs is not taken", "[order][draft]") {
  auto req = draft_request(R"({"customer_id": "CUST-9", "payment_token": "tok_visa", "use_store_credit": "15.00",
    "items": [{"product_id": "P-1", "quantity": 1}]})");
  input::issue_list issues;
  auto d = draft_placement(req, draft_customer(), {draft_item("P-1", "SKU-P", 1000)}, "", "api", issues);
  REQUIRE(d);
  CHECK(price_draft(*d, req, 0, shipping_table{}, 0) == "");
  CHECK(d->order.discount_amount == 1000);
  CHECK(d->order.store_credit_used == 1000);
  CHECK(d->context.store_credit == 1000);
}
