// The enhanced order API's pure rules: tag format, plan transitions, delivery-attempt numbering,
// item-change guards, split proration and analytics windows.
#include <catch2/catch.hpp>

#include "order/enhanced_rules.hpp"
#include "order/enhanced_support.hpp"

using namespace mercato::order::enhanced;

TEST_CASE("tags are trimmed, lower-cased and limited to [a-z0-9_:-]{1,50}", "[order][enhanced][rules]") {
  REQUIRE(normalize_tag("  VIP ") == std::optional<std::string>{"vip"});
  REQUIRE(normalize_tag("Rush:Today-2_x") == std::optional<std::string>{"rush:today-2_x"});
  REQUIRE_FALSE(normalize_tag(""));
  REQUIRE_FALSE(normalize_tag("   "));
  REQUIRE_FALSE(normalize_tag("has space"));
  REQUIRE_FALSE(normalize_tag("émoji"));
  REQUIRE(normalize_tag(std::string(50, 'a')));
  REQUIRE_FALSE(normalize_tag(std::string(51, 'a')));
}

TEST_CASE("fulfilment plan transitions follow the contract table", "[order][enhanced][rules]") {
  REQUIRE(plan_transition_allowed("planned", "in_progress"));
  REQUIRE(plan_transition_allowed("in_progress", "completed"));
  REQUIRE(plan_transition_allowed("planned", "on_hold"));
  REQUIRE(plan_transition_allowed("in_progress", "on_hold"));
  REQUIRE(plan_transition_allowed("on_hold", "planned"));
  REQUIRE(plan_transition_allowed("on_hold", "in_progress"));
  REQUIRE(plan_transition_allowed("on_hold", "cancelled"));
  REQUIRE(plan_transition_allowed("planned", "cancelled"));
  REQUIRE_FALSE(plan_transition_allowed("planned", "completed"));
  REQUIRE_FALSE(plan_transition_allowed("on_hold", "completed"));
  REQUIRE_FALSE(plan_transition_allowed("completed", "cancelled"));
  REQUIRE_FALSE(plan_transition_allowed("cancelled", "planned"));
  REQUIRE_FALSE(plan_transition_allowed("planned", "planned"));
  REQUIRE_FALSE(plan_transition_allowed("planned", "shipped"));
}

TEST_CASE("delivery attempts are numbered 1 to 3 and stop at delivery or failure", "[order][enhanced][rules]") {
  attempt_history h;
  REQUIRE(check_attempt(h, 0) == attempt_verdict::ok);
  REQUIRE(check_attempt(h, 1) == attempt_verdict::ok);
  REQUIRE(check_attempt(h, 2) == attempt_verdict::not_next);
  h.recorded = 2;
  REQUIRE(check_attempt(h, 3) == attempt_verdict::ok);
  REQUIRE(check_attempt(h, 2) == attempt_verdict::not_next);
  h.recorded = 3;
  REQUIRE(check_attempt(h, 4) == attempt_verdict::shipment_failed);
  h.recorded = 1;
  h.delivered = true;
  REQUIRE(check_attempt(h, 2) == attempt_verdict::shipment_delivered);
  REQUIRE(attempt_fails_shipment(3, false));
  REQUIRE_FALSE(attempt_fails_shipment(3, true));
  REQUIRE_FALSE(attempt_fails_shipment(2, false));
}

TEST_CASE("item changes: increases while unpaid, decreases until shipped", "[order][enhanced][rules]") {
  REQUIRE(item_change_refusal("item_added", "pending", 1, 0, 2).empty());
  REQUIRE(item_change_refusal("item_added", "failed", 1, 0, 2).empty());
  REQUIRE_FALSE(item_change_refusal("item_added", "authorized", 1, 0, 2).empty());
  REQUIRE_FALSE(item_change_refusal("quantity_changed", "captured", 2, 0, 3).empty());
  REQUIRE(item_change_refusal("quantity_changed", "captured", 3, 0, 2).empty());
  REQUIRE_FALSE(item_change_refusal("quantity_changed", "captured", 3, 1, 2).empty());
  REQUIRE_FALSE(item_change_refusal("item_removed", "authorized", 3, 3, 0).empty());
  REQUIRE(item_change_refusal("item_removed", "authorized", 3, 0, 0).empty());
}

TEST_CASE("split proration rounds half-up and the parts add up", "[order][enhanced][rules]") {
  REQUIRE(prorate(1000, 1, 4) == 250);
  REQUIRE(prorate(1001, 1, 2) == 501);  // 500.5 → 501
  REQUIRE(prorate(1001, 2, 2) == 1001);
  REQUIRE(prorate(7, 0, 3) == 0);
  {  // parts taken one after another from what is left add up to the whole
    int64_t q = 7, amount = 1234, left_q = q, left = amount, total = 0;
    for (int64_t part : {2, 3, 2}) {
      auto p = prorate(left, part, left_q);
      total += p;
      left -= p;
      left_q -= part;
    }
    REQUIRE(total == amount);
    REQUIRE(left == 0);
  }
}

TEST_CASE("analytics ranges and growth", "[order][enhanced][rules]") {
  REQUIRE(range_seconds("24h") == 86400);
  REQUIRE(range_seconds("7d") == 7 * 86400);
  REQUIRE(range_seconds("1y") == 365 * 86400);
  REQUIRE_FALSE(range_seconds("2w"));
  REQUIRE_FALSE(growth_percent(10, 0));
  REQUIRE(*growth_percent(150, 100) == Approx(50.0));
  REQUIRE(*growth_percent(100, 300) == Approx(-66.67));
}

TEST_CASE("order keys and item references", "[order][enhanced][rules]") {
  REQUIRE(is_uuid("10000000-0000-4000-8000-000000000001"));
  REQUIRE_FALSE(is_uuid("ORD-20240101-000001"));
  REQUIRE_FALSE(is_uuid("10000000-0000-4000-8000-00000000000g"));
  std::vector<item_row> items(2);
  items[0].item_id = "aaaaaaaa-0000-4000-8000-000000000001";
  items[0].line_number = 1;
  items[1].item_id = "aaaaaaaa-0000-4000-8000-000000000002";
  items[1].line_number = 2;
  REQUIRE(find_item(items, json(2)) == &items[1]);
  REQUIRE(find_item(items, json("1")) == &items[0]);
  REQUIRE(find_item(items, json("AAAAAAAA-0000-4000-8000-000000000002")) == &items[1]);
  REQUIRE(find_item(items, json(3)) == nullptr);
  REQUIRE(find_item(items, json("x")) == nullptr);
}
