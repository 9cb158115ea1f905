// inventory with the real product agent: SKUs in REST paths and bodies resolve to item ids,
// warehouse codes work, and product names reach the listings (the legacy suite's calls).
#include <catch2/catch.hpp>

#include "inventory/inventory_agent.hpp"
#include "product/product_agent.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using mercato::test::agent_fixture;
using mercato::test::fixture_options;
using mercato::test::spec_for;
using nlohmann::json;

TEST_CASE("SKUs and warehouse codes work on the legacy REST calls", "[inventory][rest][product]") {
  fixture_options o;
  o.seed = true;
  agent_fixture f{{spec_for("product", &spawn_product_agent), spec_for("inventory", &spawn_inventory_agent)}, o};
  test::http_reply avail;
  // The catalogue loads asynchronously after start: wait for the first answer that resolves.
  REQUIRE(f.eventually([&] {
    avail = f.get("inventory", "/inventory/PROD-001/availability?quantity=5");
    return avail.status == 200;
  }));
  CHECK(avail.json()["data"]["product_id"] == "10000000-0000-4000-8000-000000000001");
  CHECK(avail.json()["data"]["total_available"] == 1500);
  CHECK(f.get("inventory", "/inventory/PROD-999/availability").status == 404);

  auto r = f.post("inventory", "/inventory/reserve",
                  {{"product_id", "PROD-001"}, {"quantity", 2}, {"order_id", "legacy-1"}, {"warehouse_id", "WH-001"}});
  REQUIRE(r.status == 201);
  CHECK(r.json()["data"]["warehouse_id"] == "20000000-0000-4000-8000-000000000001");
  auto too_many = f.post("inventory", "/inventory/reserve",
                         {{"product_id", "PROD-012"}, {"quantity", 5}, {"order_id", "legacy-2"}, {"warehouse_id", "WH-002"}});
  REQUIRE(too_many.status == 409);
  CHECK(too_many.json()["detail"] == "Insufficient stock for product PROD-012 in warehouse WH-002: requested 5, available 0");

  auto variant = f.get("inventory", "/inventory/APP-TEE-001-L-BLK/availability");
  REQUIRE(variant.status == 200);
  CHECK(variant.json()["data"]["total_available"] == 200);

  auto list = f.get("inventory", "/inventory?product_id=PROD-002");
  REQUIRE(list.status == 200);
  auto items = list.json()["data"]["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[0]["sku"] == "PROD-002");
  CHECK_FALSE(items[0]["name"].get<std::string>().empty());
  // Alert events carry the catalogue's name and SKU: PROD-011 at WH-001 drops below its reorder point.
  auto moved = f.post("inventory", "/inventory/move",
                      {{"product_id", "PROD-011"}, {"warehouse_id", "WH-001"}, {"quantity_change", -890},
                       {"movement_type", "outbound"}});
  REQUIRE(moved.status == 201);
  REQUIRE(moved.json()["data"]["available_after"] == 10);
  json low;
  REQUIRE(f.eventually([&] {
    for (const auto& e : f.events("inventory.stock_low")) {
      auto p = json::parse(e.payload);
      if (p["warehouse_id"] == "20000000-0000-4000-8000-000000000001") low = p;
    }
    return !low.is_null();
  }));
  CHECK(low["sku"] == "PROD-011");
  CHECK_FALSE(low["product_name"].get<std::string>().empty());
  CHECK(low["alert_level"] == "warning");
  auto value = f.get("inventory", "/analytics/inventory-value");
  REQUIRE(value.status == 200);
  CHECK(value.json()["data"]["total_value"].is_number());
  CHECK(value.json()["data"]["total_value"].get<double>() > 0);
}
