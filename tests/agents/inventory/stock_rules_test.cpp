// inventory's pure rules: aggregation, warehouse choice, idempotency set test, alert transitions,
// move sign rules, ISO 8601 input.
#include <catch2/catch.hpp>

#include "inventory/iso_time.hpp"
#include "inventory/stock_rules.hpp"

using namespace mercato::inventory;

namespace {

warehouse_register three_warehouses(bool second_active = true) {
  return warehouse_register{{{"w3", "WH-003", "Reno", true, 3},
                             {"w1", "WH-001", "Dallas", true, 1},
                             {"w2", "WH-002", "Newark", second_active, 2}}};
}

level_map levels(std::initializer_list<std::tuple<const char*, const char*, int64_t, int64_t>> rows) {
  level_map m;
  for (const auto& [p, w, q, r] : rows) {
    level_row l;
    l.product_id = p;
    l.warehouse_id = w;
    l.quantity = q;
    l.reserved = r;
    m.emplace(level_key{p, w}, l);
  }
  return m;
}

}  // namespace

TEST_CASE("warehouse register finds by id or code and defaults to the first active by code", "[inventory][rules]") {
  auto reg = three_warehouses();
  REQUIRE(reg.find("WH-002")->warehouse_id == "w2");
  REQUIRE(reg.find("w3")->code == "WH-003");
  REQUIRE(reg.find("WH-999") == nullptr);
  REQUIRE(reg.default_warehouse()->code == "WH-001");
  warehouse_register inactive{{{"a", "A", "a", false, 1}, {"b", "B", "b", true, 2}}};
  REQUIRE(inactive.default_warehouse()->code == "B");
}

TEST_CASE("lines for the same item and warehouse are summed", "[inventory][rules]") {
  auto out = aggregate({{"p1", "", 2}, {"p2", "", 1}, {"p1", "", 3}, {"p1", "w1", 4}});
  REQUIRE(out.size() == 3);
  CHECK(out[0].product_id == "p1");
  CHECK(out[0].quantity == 5);
  CHECK(out[2].warehouse_id == "w1");
  CHECK(out[2].quantity == 4);
}

TEST_CASE("reservation prefers one warehouse that serves every line", "[inventory][rules]") {
  auto reg = three_warehouses();
  // w1 has the most of p1 but no p2; w3 serves both.
  auto l = levels({{"p1", "w1", 100, 0}, {"p1", "w3", 5, 0}, {"p2", "w3", 5, 0}, {"p2", "w2", 50, 0}});
  auto plan = plan_reservation({{"p1", "", 5}, {"p2", "", 5}}, l, reg, true);
  REQUIRE_FALSE(plan.missing);
  REQUIRE(plan.allocations.size() == 2);
  for (const auto& a : plan.allocations) CHECK(a.warehouse_id == "w3");
}

TEST_CASE("without a single warehouse each item goes to its largest available, ties by code", "[inventory][rules]") {
  auto reg = three_warehouses();
  auto l = levels({{"p1", "w1", 10, 0}, {"p1", "w3", 30, 0}, {"p2", "w2", 20, 0}, {"p2", "w1", 20, 0}});
  auto plan = plan_reservation({{"p1", "", 25}, {"p2", "", 20}}, l, reg, true);
  REQUIRE_FALSE(plan.missing);
  REQUIRE(plan.allocations.size() == 2);
  CHECK(plan.allocations[0].warehouse_id == "w3");  // p1: only w3 has 25
  CHECK(plan.allocations[1].warehouse_id == "w1");  // p2: tie 20/20 → WH-001 by code
  // The same request with single-warehouse preference off is planned the same way here.
  auto split = plan_reservation({{"p1", "", 25}, {"p2", "", 20}}, l, reg, false);
  REQUIRE(split.allocations.size() == 2);
  CHECK(split.allocations[0].warehouse_id == "w3");
}

TEST_CASE("inactive warehouses and reserved units are not available", "[inventory][rules]") {
  auto reg = three_warehouses(false);
  auto l = levels({{"p1", "w2", 100, 0}, {"p1", "w1", 10, 8}});
  auto plan = plan_reservation({{"p1", "", 3}}, l, reg, true);
  REQUIRE(plan.missing);
  CHECK(plan.missing->requested == 3);
  CHECK(plan.missing->available == 2);
  CHECK(plan.missing->total_available == 2);
  CHECK(plan.allocations.empty());
}

TEST_CASE("pinned lines use their warehouse and count against unpinned lines", "[inventory][rules]") {
  auto reg = three_warehouses();
  auto l = levels({{"p1", "w1", 10, 0}, {"p1", "w2", 6, 0}});
  auto plan = plan_reservation({{"p1", "w1", 8}, {"p1", "", 5}}, l, reg, true);
  REQUIRE_FALSE(plan.missing);
  REQUIRE(plan.allocations.size() == 2);
  CHECK(plan.allocations[0].warehouse_id == "w1");
  CHECK(plan.allocations[1].warehouse_id == "w2");  // w1 has only 2 left
  auto short_plan = plan_reservation({{"p1", "w2", 7}}, l, reg, true);
  REQUIRE(short_plan.missing);
  CHECK(short_plan.missing->warehouse_id == "w2");
  CHECK(short_plan.missing->available == 6);
}

TEST_CASE("same reservation set compares per item totals and pinned warehouses", "[inventory][rules]") {
  std::vector<allocation> held{{"p1", "w1", 3}, {"p2", "w2", 1}};
  CHECK(same_reservation_set({{"p1", "", 3}, {"p2", "", 1}}, held));
  CHECK(same_reservation_set({{"p1", "w1", 3}, {"p2", "", 1}}, held));
  CHECK_FALSE(same_reservation_set({{"p1", "w2", 3}, {"p2", "", 1}}, held));
  CHECK_FALSE(same_reservation_set({{"p1", "", 4}, {"p2", "", 1}}, held));
  CHECK_FALSE(same_reservation_set({{"p1", "", 3}}, held));
}

TEST_CASE("alert transitions open, change level and resolve", "[inventory][rules]") {
  CHECK(alert_state_for(11, 10) == "none");
  CHECK(alert_state_for(10, 10) == "warning");
  CHECK(alert_state_for(0, 10) == "critical");
  CHECK(alert_state_for(0, 0) == "critical");
  CHECK(evaluate_alert("none", 5, 10).transition == alert_transition::opened);
  CHECK(evaluate_alert("warning", 4, 10).transition == alert_transition::none);
  CHECK(evaluate_alert("warning", 0, 10).transition == alert_transition::level_changed);
  auto r = evaluate_alert("critical", 50, 10);
  CHECK(r.transition == alert_transition::resolved);
  CHECK(r.new_state == "none");
  CHECK(suggested_reorder_quantity(1000, 1200) == 0);
  CHECK(suggested_reorder_quantity(1000, 200) == 800);
}

TEST_CASE("move sign rules", "[inventory][rules]") {
  CHECK(check_move("inbound", 5).empty());
  CHECK_FALSE(check_move("inbound", -5).empty());
  CHECK_FALSE(check_move("return", -1).empty());
  CHECK(check_move("outbound", -5).empty());
  CHECK_FALSE(check_move("outbound", 5).empty());
  CHECK_FALSE(check_move("transfer", 5).empty());
  CHECK(check_move("adjustment", -5).empty());
  CHECK(check_move("adjustment", 5).empty());
  CHECK_FALSE(check_move("adjustment", 0).empty());
}

TEST_CASE("ISO 8601 input parsing", "[inventory][rules]") {
  auto t = parse_iso8601("2026-01-02T03:04:05Z");
  REQUIRE(t);
  CHECK(std::chrono::system_clock::to_time_t(*t) == 1767323045);
  auto offset = parse_iso8601("2026-01-02T05:04:05.250+02:00");
  REQUIRE(offset);
  CHECK(std::chrono::system_clock::to_time_t(*offset) == 1767323045);
  CHECK(parse_iso8601("2026-01-02T03:04:05"));
  CHECK_FALSE(parse_iso8601("2026-13-02T03:04:05Z"));
  CHECK_FALSE(parse_iso8601("tomorrow"));
  CHECK_FALSE(parse_iso8601("2026-01-02T03:04:05Zjunk"));
}
