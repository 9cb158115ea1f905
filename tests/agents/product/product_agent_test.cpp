// The product agent against a fresh seeded database: typed messages (resolve_items, get_product…)
// and REST through its typed door, events, and the single-writer invariants.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include <pqxx/pqxx>

#include "product/product_agent.hpp"
#include "product/product_messages.hpp"
#include "product/product_store.hpp"
#include "runtime/uuid.hpp"
#include "product_fixture.hpp"
#include "support/agent_fixture.hpp"
#include "support/plan_capture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::product_suite;
using mercato::product::record_sales;
using mercato::product::sale;
using nlohmann::json;

namespace {

const std::string prod1 = "10000000-0000-4000-8000-000000000001";
const std::string prod4 = "10000000-0000-4000-8000-000000000004";
const std::string tee = "10000000-0000-4000-8000-000000000101";
const std::string bundle_id = "40000000-0000-4000-8000-000000000001";

product::resolve_items refs(std::vector<std::string> keys) {
  product::resolve_items m;
  for (auto& k : keys) {
    product::item_ref r;
    r.ref = k;
    m.refs.push_back(r);
  }
  return m;
}

}  // namespace

TEST_CASE("resolve_items resolves ids, SKUs, variants and bundles", "[product][agent]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto r = f.ask<product_actor, product::resolved_items>("product", refs({"PROD-001", prod4}));
  REQUIRE(r.ok());
  REQUIRE(r->items.size() == 2);
  CHECK(r->items[0].kind == "product");
  CHECK(r->items[0].item_id == prod1);
  CHECK(r->items[0].list_price == 19999);
  CHECK(r->items[0].cost == 12000);
  CHECK(r->items[0].weight_grams == 250);
  CHECK(r->items[0].category == "Electronics");
  CHECK(r->items[1].sku == "PROD-004");

  // A product with variants is sold only through them.
  auto vr = f.ask<product_actor, product::resolved_items>("product", refs({"PROD-001", "APP-TEE-001"}));
  REQUIRE_FALSE(vr.ok());
  CHECK(vr.error.code == "variant_required");
  CHECK(json::parse(vr.error.detail)["index"] == 1);

  auto v = f.ask<product_actor, product::resolved_items>("product", refs({"APP-TEE-001-L-BLK"}));
  REQUIRE(v.ok());
  CHECK(v->items[0].kind == "variant");
  CHECK(v->items[0].product_id == tee);
  CHECK(v->items[0].list_price == 2199);

  product::resolve_items with_variant = refs({"APP-TEE-001"});
  with_variant.refs[0].variant_id = "30000000-0000-4000-8000-000000000001";
  auto wv = f.ask<product_actor, product::resolved_items>("product", with_variant);
  REQUIRE(wv.ok());
  CHECK(wv->items[0].item_id == "30000000-0000-4000-8000-000000000001");

  auto nf = f.ask<product_actor, product::resolved_items>("product", refs({"PROD-001", "NOPE-1"}));
  REQUIRE_FALSE(nf.ok());
  CHECK(nf.error.code == "not_found");
  CHECK(json::parse(nf.error.detail) == json{{"index", 1}, {"ref", "NOPE-1"}});

  // The seed bundle: headphones 199.99 + speaker 59.99, 10 % off, expanded to components.
  auto b = f.ask<product_actor, product::resolved_items>("product", refs({"BNDL-HOME-OFFICE"}));
  REQUIRE(b.ok());
  CHECK(b->items[0].kind == "bundle");
  CHECK(b->items[0].item_id == bundle_id);
  CHECK(b->items[0].list_price == 23398);  // 259.98 − 26.00 (half-up)
  REQUIRE(b->items[0].components.size() == 2);
  CHECK(b->items[0].components[0].item_id == prod1);

  product::resolve_items too_many = refs({"BNDL-HOME-OFFICE"});
  too_many.refs[0].quantity = 11;
  auto tm = f.ask<product_actor, product::resolved_items>("product", too_many);
  REQUIRE_FALSE(tm.ok());
  CHECK(tm.error.code == "bundle_max_quantity");
}

TEST_CASE("get_product, get_products and get_products_by_sku", "[product][agent]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto p = f.ask<product_actor, product::product_summary>("product", product::get_product{"PROD-002"});
  REQUIRE(p.ok());
  CHECK(p->product_id == "10000000-0000-4000-8000-000000000002");
  CHECK(p->price == 69900);
  auto missing = f.ask<product_actor, product::product_summary>("product", product::get_product{"PROD-999"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error.kind == failure_kind::not_found);

  auto many = f.ask<product_actor, product::product_summaries>(
      "product", product::get_products{{prod1, "00000000-0000-4000-8000-000000000000", prod4}});
  REQUIRE(many.ok());
  REQUIRE(many->products.size() == 2);
  CHECK(many->products[1].sku == "PROD-004");

  auto skus = f.ask<product_actor, product::sku_map>(
      "product", product::get_products_by_sku{{"PROD-001", "APP-TEE-001-M-BLK", "BNDL-HOME-OFFICE", "X"}});
  REQUIRE(skus.ok());
  REQUIRE(skus->items.size() == 3);
  CHECK(skus->items[1].second == "30000000-0000-4000-8000-000000000001");

  auto stats = f.ask<product_actor, outbox_stats_reply>("product", outbox_stats{});
  REQUIRE(stats.ok());
  CHECK(stats->failed == 0);
}

TEST_CASE("create, read by id and SKU, duplicate SKU and bad input", "[product][rest]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto created = f.post("product", "/products",
                        json{{"sku", "NEW-001"}, {"name", "Desk Lamp"}, {"price", "19.90"}, {"category", "home & kitchen"},
                             {"brand", "Lumo"}, {"images", {"https://img.example/lamp.jpg"}}});
  REQUIRE(created.status == 200);
  std::string id = created.json()["id"];
  CHECK(created.json()["status"] == "created");
  CHECK_FALSE(created.json().contains("stock_pending"));

  auto by_id = f.get("product", "/products/" + id);
  REQUIRE(by_id.status == 200);
  auto j = by_id.json();
  CHECK(j["price"] == 19.9);
  CHECK(j["category"] == "Home & Kitchen");  // mapped to the existing category as primary
  CHECK(j["category_id"] == "50000000-0000-4000-8000-000000000003");
  CHECK(j["image_url"] == "https://img.example/lamp.jpg");
  CHECK(j["stock_quantity"] == 0);
  CHECK(f.get("product", "/products/NEW-001").json()["id"] == id);

  auto dup = f.post("product", "/products", json{{"sku", "NEW-001"}, {"name", "Other"}, {"price", 1}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["detail"] == "Product with SKU NEW-001 already exists");
  // SKUs are shared with variants and bundles.
  CHECK(f.post("product", "/products", json{{"sku", "APP-TEE-001-M-BLK"}, {"name", "X"}, {"price", 1}}).status == 409);

  auto bad = f.post("product", "/products", json{{"sku", "NEW-002"}, {"price", -1}});
  REQUIRE(bad.status == 422);
  auto detail = bad.json()["detail"];
  CHECK(detail.size() == 2);  // name missing and price negative
  CHECK(f.post("product", "/products", json{{"sku", "bad sku"}, {"name", "X"}, {"price", 1}}).status == 422);
  CHECK(f.http("product", "POST", "/products", "{not json").status == 422);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku LIKE 'NEW-%'") == 1);

  REQUIRE(f.eventually([&] { return !f.events("product.product_created").empty(); }));
  auto ev = json::parse(f.events("product.product_created").back().payload);
  CHECK(ev["sku"] == "NEW-001");
}

TEST_CASE("update, patch and soft delete", "[product][rest]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto put = f.http("product", "PUT", "/products/PROD-012",
                    json{{"name", "Ceramic Mug XL"}, {"price", 12.5}, {"category", "Home & Kitchen"}}.dump());
  REQUIRE(put.status == 200);
  CHECK(put.json()["status"] == "updated");
  auto patched = f.http("product", "PATCH", "/products/PROD-012", json{{"brand", "Hearth"}}.dump());
  REQUIRE(patched.status == 200);
  CHECK(patched.json()["brand"] == "Hearth");
  CHECK(patched.json()["name"] == "Ceramic Mug XL");
  CHECK(patched.json()["price"] == 12.5);
  CHECK(f.http("product", "PATCH", "/products/PROD-012", json{{"sku", "PROD-001"}}.dump()).status == 409);
  CHECK(f.http("product", "PATCH", "/products/NOPE", json{{"name", "x"}}.dump()).status == 404);

  REQUIRE(f.eventually([&] { return !f.events("product.product_price_changed").empty(); }));
  auto pc = json::parse(f.events("product.product_price_changed").back().payload);
  CHECK(pc["old_price"] == 9.99);
  CHECK(pc["new_price"] == 12.5);

  // In the seed bundle: refused.
  CHECK(f.http("product", "DELETE", "/products/PROD-001").status == 409);
  auto del = f.http("product", "DELETE", "/products/PROD-012");
  REQUIRE(del.status == 200);
  CHECK(del.json()["status"] == "deleted");
  CHECK(f.http("product", "DELETE", "/products/PROD-012").status == 404);
  auto list = f.get("product", "/products?limit=1000").json();
  for (const auto& p : list["products"]) CHECK(p["sku"] != "PROD-012");
  // The SKU stays reserved.
  CHECK(f.post("product", "/products", json{{"sku", "PROD-012"}, {"name", "X"}, {"price", 1}}).status == 409);
  auto inactive = f.ask<product_actor, product::resolved_items>("product", refs({"PROD-012"}));
  REQUIRE_FALSE(inactive.ok());
  CHECK(inactive.error.code == "inactive");
}

TEST_CASE("list filters, paging totals and search", "[product][rest]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto all = f.get("product", "/products").json();
  CHECK(all["total"] == 13);
  auto ranged = f.get("product", "/products?min_price=10&max_price=60&limit=2").json();
  CHECK(ranged["total"] == 4);  // 59.99, 29.99, 49.99 and 19.99 (tee); 9.99 is below
  CHECK(ranged["products"].size() == 2);
  CHECK(ranged["totalPages"] == 2);
  auto page2 = f.get("product", "/products?min_price=10&max_price=60&limit=2&page=2").json();
  CHECK(page2["currentPage"] == 2);
  CHECK(page2["products"][0]["id"] != ranged["products"][0]["id"]);
  auto by_price = f.get("product", "/products?sortBy=price&sortDirection=desc&limit=1").json();
  CHECK(by_price["products"][0]["sku"] == "PROD-003");
  CHECK(f.get("product", "/products?category=electronics").json()["total"] == 4);
  CHECK(f.get("product", "/products?brand=Culina").json()["total"] == 2);
  CHECK(f.get("product", "/products?min_price=20&max_price=10").status == 422);
  CHECK(f.get("product", "/products?limit=abc").status == 422);

  auto s = f.get("product", "/products/search?q=speaker").json();
  REQUIRE(s["count"] == 1);
  CHECK(s["products"][0]["sku"] == "PROD-004");
  CHECK(s["query"] == "speaker");
  CHECK(f.get("product", "/products/search").status == 422);
}

TEST_CASE("category tree: create, move, delete and subcategory products", "[product][rest][category]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto root = f.post("product", "/categories", json{{"name", "Outdoor"}});
  REQUIRE(root.status == 200);
  std::string root_id = root.json()["id"];
  auto child = f.post("product", "/categories", json{{"name", "Camping"}, {"parent_id", root_id}});
  REQUIRE(child.status == 200);
  std::string child_id = child.json()["id"];
  auto grand = f.post("product", "/categories", json{{"name", "Tents"}, {"parent_id", child_id}});
  REQUIRE(grand.status == 200);
  std::string grand_id = grand.json()["id"];
  CHECK(f.post("product", "/categories", json{{"name", "outdoor"}}).status == 409);
  CHECK(f.post("product", "/categories", json{{"name", "X"}, {"parent_id", "00000000-0000-4000-8000-000000000000"}}).status == 422);

  auto g = f.get("product", "/categories/" + grand_id).json();
  CHECK(g["level"] == 2);
  CHECK(g["slug"] == "tents");
  REQUIRE(g["breadcrumb"].size() == 3);
  CHECK(g["breadcrumb"][0]["name"] == "Outdoor");

  // Moving a category under its own descendant is refused.
  auto cycle = f.http("product", "PUT", "/categories/" + root_id, json{{"parent_id", grand_id}}.dump());
  CHECK(cycle.status == 422);
  CHECK(cycle.json()["detail"] == "Category cannot be its own ancestor");

  // A product in the grandchild shows up with include_subcategories.
  auto p = f.post("product", "/products", json{{"sku", "TENT-1"}, {"name", "Dome Tent"}, {"price", 120}, {"category_id", grand_id}});
  REQUIRE(p.status == 200);
  CHECK(f.get("product", "/categories/" + root_id + "/products").json()["total"] == 0);
  CHECK(f.get("product", "/categories/" + root_id + "/products?include_subcategories=true").json()["total"] == 1);

  CHECK(f.http("product", "DELETE", "/categories/" + root_id).status == 409);

  // Move Camping to the root: the subtree's levels and paths follow.
  auto moved = f.http("product", "PUT", "/categories/" + child_id, json{{"parent_id", nullptr}}.dump());
  REQUIRE(moved.status == 200);
  CHECK(moved.json()["level"] == 0);
  CHECK(f.get("product", "/categories/" + grand_id).json()["level"] == 1);
  CHECK(f.http("product", "DELETE", "/categories/" + root_id).status == 200);
  auto tree = f.get("product", "/categories/tree").json();
  bool camping_root = false;
  for (const auto& n : tree)
    if (n["name"] == "Camping") camping_root = n["children"].size() == 1;
  CHECK(camping_root);
  CHECK(f.get("product", "/categories").json()["count"] == 6);  // 4 seed + Camping + Tents (Outdoor inactive)
  CHECK(f.get("product", "/categories?include_inactive=true").json()["count"] == 7);
}

TEST_CASE("variants: duplicate combination, price history and resolve", "[product][rest][variant]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto dup = f.post("product", "/products/APP-TEE-001/variants",
                    json{{"variant_sku", "APP-TEE-001-M-BLK2"}, {"attributes", {{"Size", "m"}, {"Color", "black"}}}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["detail"] == "A variant with these attribute values already exists");
  auto missing = f.post("product", "/products/APP-TEE-001/variants",
                        json{{"variant_sku", "APP-TEE-001-X"}, {"attributes", {{"Color", "red"}}}});
  CHECK(missing.status == 422);  // Size is required
  auto unknown = f.post("product", "/products/APP-TEE-001/variants",
                        json{{"variant_sku", "APP-TEE-001-Y"}, {"attributes", {{"Size", "S"}, {"Fabric", "silk"}}}});
  CHECK(unknown.status == 422);

  auto created = f.post("product", "/products/APP-TEE-001/variants",
                        json{{"variant_sku", "APP-TEE-001-S-RED"}, {"variant_name", "S / Red"},
                             {"attributes", {{"Size", "S"}, {"Color", "Red"}}}});
  REQUIRE(created.status == 201);
  std::string vid = created.json()["variant_id"];
  CHECK(created.json()["price"] == 19.99);  // the parent's price by default
  CHECK(f.get("product", "/products/APP-TEE-001").json()["variant_count"] == 3);

  auto repriced = f.http("product", "PUT", "/variants/" + vid + "/price", json{{"price", "24.50"}}.dump());
  REQUIRE(repriced.status == 200);
  CHECK(repriced.json()["price"] == 24.5);
  CHECK(repriced.json()["price_history"].size() == 2);
  CHECK(f.http("product", "PUT", "/variants/" + vid + "/price", json{{"price", -1}}.dump()).status == 422);

  auto r = f.ask<product_actor, product::resolved_items>("product", refs({"APP-TEE-001-S-RED"}));
  REQUIRE(r.ok());
  CHECK(r->items[0].list_price == 2450);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.variant_pricing WHERE variant_id = '" + vid + "'") == 2);
}

TEST_CASE("bundles: create, price and validation", "[product][rest][bundle]") {
  agent_fixture f{{product_spec()}, seeded()};
  json body{{"bundle_sku", "BNDL-FIT"}, {"bundle_name", "Fitness Starter"}, {"bundle_type", "flexible"},
            {"pricing_strategy", "fixed_price"}, {"bundle_price", 150}, {"max_quantity", 5},
            {"components", {{{"product_id", "PROD-006"}, {"quantity", 1}},
                            {{"product_id", "PROD-007"}, {"quantity", 1}},
                            {{"product_id", "PROD-005"}, {"quantity", 1}, {"is_required", false}}}}};
  auto created = f.post("product", "/bundles", body);
  REQUIRE(created.status == 201);
  std::string bid = created.json()["bundle_id"];
  CHECK(created.json()["is_currently_active"] == true);
  CHECK(f.post("product", "/bundles", body).status == 409);

  auto without = f.post("product", "/bundles/" + bid + "/price",
                        json{{"selected_components", {"10000000-0000-4000-8000-000000000006"}}, {"quantity", 2}});
  REQUIRE(without.status == 200);
  CHECK(without.json()["original_price"] == 2 * (29.99 + 149.00));
  CHECK(without.json()["bundle_price"] == 300.0);
  auto all = f.post("product", "/bundles/" + bid + "/price", json::object());
  REQUIRE(all.status == 200);
  CHECK(all.json()["components_breakdown"].size() == 3);
  CHECK(f.post("product", "/bundles/" + bid + "/price", json{{"quantity", 6}}).status == 422);

  json bad = body;
  bad["bundle_sku"] = "BNDL-BAD";
  bad["pricing_strategy"] = "percentage_discount";
  CHECK(f.post("product", "/bundles", bad).status == 422);  // no discount_percentage
  bad["pricing_strategy"] = "component_sum";
  bad["components"] = {{{"product_id", "PROD-006"}}, {{"product_id", "NOPE"}}};
  CHECK(f.post("product", "/bundles", bad).status == 422);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.bundles") == 2);
}

TEST_CASE("initial stock is pending while inventory is absent", "[product][rest][stock]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto created = f.post("product", "/products", json{{"sku", "STOCK-1"}, {"name", "Stocked"}, {"price", 5}, {"stock_quantity", 5}});
  REQUIRE(created.status == 200);
  CHECK(created.json()["stock_pending"] == true);
  auto j = f.get("product", "/products/STOCK-1").json();
  CHECK(j["stock_quantity"].is_null());  // unknown, never an invented 0
  CHECK(j["inventory"]["total"].is_null());
  CHECK(j["stock_pending"] == true);
  CHECK(count_rows(f, "SELECT pending_initial_stock FROM catalog.products WHERE sku = 'STOCK-1'") == 5);
  CHECK(f.post("product", "/products", json{{"sku", "STOCK-2"}, {"name", "X"}, {"price", 5}, {"stock_quantity", -1}}).status == 422);
}

TEST_CASE("order_confirmed counts units once per event for the popular sort", "[product][events]") {
  agent_fixture f{{product_spec()}, seeded()};
  event e = make_event("order", "order_confirmed",
                       json{{"order_id", "o1"},
                            {"lines", {{{"item_id", uuid_v4()}, {"product_id", "10000000-0000-4000-8000-000000000012"}, {"quantity", 7}},
                                       {{"item_id", uuid_v4()}, {"product_id", prod4}, {"quantity", 2}}}}}
                           .dump());
  e.name = "order.order_confirmed";
  f.bus().publish(e);
  f.bus().publish(e);  // redelivery: de-duplicated by event id
  REQUIRE(f.eventually([&] {
    return count_rows(f, "SELECT coalesce(sum(units), 0) FROM catalog.item_sales_daily") == 9;
  }));
  REQUIRE(f.eventually([&] {
    auto top = f.get("product", "/products?sort=popular&limit=2").json();
    return top["products"][0]["sku"] == "PROD-012" && top["products"][1]["sku"] == "PROD-004";
  }));
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.processed_events") == 1);
}

TEST_CASE("record_sales: one statement for several events, each counted once", "[product][events][batch]") {
  agent_fixture f{{product_spec()}, seeded()};
  const std::string a = uuid_v4(), b = uuid_v4(), c = uuid_v4();
  auto conn = f.database().connect();
  plan_capture plans{*conn};
  pqxx::nontransaction tx{*conn};
  CHECK(record_sales(tx, {{c, {{"item-x", 4}}}}) == std::vector<bool>{true});
  // Every shared statement's generic plan probes by key (tests/support/plan_capture.hpp).
  check_key_probes(plans, "mercato.batch_items");
  const std::vector<sale> batch{{a, {{"item-x", 2}, {"item-y", 1}}},
                                {b, {{"item-x", 3}}},
                                {a, {{"item-x", 2}, {"item-y", 1}}},  // a copy later in the batch
                                {c, {{"item-x", 4}}}};                // delivered before
  CHECK(record_sales(tx, batch) == std::vector<bool>{true, true, false, false});
  CHECK(count_rows(f, "SELECT units FROM catalog.item_sales_daily WHERE item_id = 'item-x'") == 4 + 2 + 3);
  CHECK(count_rows(f, "SELECT units FROM catalog.item_sales_daily WHERE item_id = 'item-y'") == 1);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.processed_events") == 3);
  CHECK(record_sales(tx, batch) == std::vector<bool>{false, false, false, false});
  CHECK(count_rows(f, "SELECT sum(units) FROM catalog.item_sales_daily") == 10);
  CHECK(record_sales(tx, {}).empty());
}

TEST_CASE("order_confirmed events that queue share statements, an unusable one fails alone", "[product][events][batch]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto confirmed = [](int units) {
    event e = make_event("order", "order_confirmed",
                         json{{"order_id", uuid_v4()},
                              {"lines", {{{"item_id", uuid_v4()}, {"product_id", prod4}, {"quantity", units}}}}}.dump());
    e.name = "order.order_confirmed";
    return e;
  };
  // Published back to back: the first goes out alone, the others wait for its statement and leave
  // together, the unusable one (an event id the table cannot take) among them.
  std::vector<event> events;
  for (int i = 1; i <= 20; ++i) events.push_back(confirmed(i));
  event bad = confirmed(1000);
  bad.event_id = "not-a-uuid";
  events.insert(events.begin() + 2, bad);
  for (const auto& e : events) f.bus().publish(e);
  f.bus().publish(events[5]);  // a redelivery: counted once
  REQUIRE(f.eventually([&] {
    return count_rows(f, "SELECT count(*) FROM catalog.processed_events") == 20;
  }));
  CHECK(count_rows(f, "SELECT coalesce(sum(units), 0) FROM catalog.item_sales_daily") == 20 * 21 / 2);
  REQUIRE(f.eventually([&] {
    auto top = f.get("product", "/products?sort=popular&limit=1").json();
    return top["products"][0]["sku"] == "PROD-004";
  }));
}

TEST_CASE("concurrent creates with one SKU: exactly one wins", "[product][concurrency]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto handle = caf::actor_cast<agent_actor>(f.directory().handle("product"));
  std::vector<std::future<int>> results;
  for (int i = 0; i < 6; ++i) {
    results.push_back(std::async(std::launch::async, [&f, handle, i] {
      caf::scoped_actor s{f.system()};
      http_request req;
      req.method = "POST";
      req.path = "/products";
      req.body = json{{"sku", "RACE-1"}, {"name", "Racer " + std::to_string(i)}, {"price", 1}}.dump();
      int status = 0;
      s->request(handle, std::chrono::seconds(10), req)
          .receive([&](http_response& r) { status = r.status; }, [&](caf::error&) { status = -1; });
      return status;
    }));
  }
  int ok = 0, conflict = 0;
  for (auto& r : results) {
    int s = r.get();
    ok += s == 200;
    conflict += s == 409;
  }
  CHECK(ok == 1);
  CHECK(conflict == 5);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku = 'RACE-1'") == 1);
}

TEST_CASE("the model survives a restart", "[product][agent]") {
  agent_fixture f{{product_spec()}, seeded()};
  REQUIRE(f.post("product", "/products", json{{"sku", "KEEP-1"}, {"name", "Kept"}, {"price", 3}}).status == 200);
  f.inject("product", "throw");
  REQUIRE(f.eventually([&] { return f.get("product", "/products/KEEP-1").status == 200; }));
  CHECK(f.get("product", "/products/KEEP-1").json()["name"] == "Kept");
}

TEST_CASE("generated SEO and sitemap list active products only", "[product][rest][seo]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto seo = f.get("product", "/products/PROD-004/seo");
  REQUIRE(seo.status == 200);
  CHECK(seo.json()["meta_title"] == "Bluetooth Portable Speaker | Electronics");
  CHECK(seo.json()["schema_markup"]["offers"]["priceCurrency"] == "USD");
  CHECK(seo.json()["schema_markup"]["offers"].count("availability") == 0);  // stock unknown: not claimed
  CHECK(f.get("product", "/products/NOPE/seo").status == 404);
  REQUIRE(f.http("product", "PATCH", "/products/PROD-009", json{{"status", "draft"}}.dump()).status == 200);
  auto map = f.get("product", "/sitemap.xml");
  REQUIRE(map.status == 200);
  CHECK(map.body.find("/products/bluetooth-portable-speaker</loc>") != std::string::npos);
  CHECK(map.body.find("organic-cotton-hoodie") == std::string::npos);
}
