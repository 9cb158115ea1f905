// The product agent's typed attributes, attribute filter and facets, stored SEO, and the typed
// messages list_products / bundle_price, against a fresh seeded database.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "product/product_agent.hpp"
#include "product/product_messages.hpp"
#include "product_fixture.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::product_suite;
using nlohmann::json;

namespace {

const std::string electronics = "50000000-0000-4000-8000-000000000001";

}  // namespace

TEST_CASE("attribute definitions: create, conflict, validation, update and delete", "[product][rest][attributes]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto created = f.post("product", "/attributes",
                        json{{"attribute_code", "material"}, {"name", "Material"}, {"type", "select"},
                             {"options", {"cotton", "polyester"}}, {"group_name", "Fabric"}});
  REQUIRE(created.status == 201);
  std::string id = created.json()["attribute_id"];
  CHECK(created.json()["is_filterable"] == true);
  CHECK(created.json()["scope"] == "global");

  auto dup = f.post("product", "/attributes", json{{"attribute_code", "material"}, {"name", "X"}, {"type", "text"}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["detail"] == "Attribute with code material already exists");
  auto no_options = f.post("product", "/attributes", json{{"attribute_code", "fit"}, {"name", "Fit"}, {"type", "select"}});
  CHECK(no_options.status == 422);
  CHECK(locs(no_options) == std::vector<std::string>{"body.options"});
  auto bad = f.post("product", "/attributes",
                    json{{"attribute_code", "Bad-Code"}, {"name", "X"}, {"type", "volume"}, {"scope", "category"}});
  CHECK(bad.status == 422);
  auto no_category = f.post("product", "/attributes",
                            json{{"attribute_code", "screen"}, {"name", "Screen"}, {"type", "number"}, {"scope", "category"}});
  CHECK(no_category.status == 422);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.attribute_definitions") == 1);

  CHECK(f.get("product", "/attributes").json().size() == 1);
  CHECK(f.get("product", "/attributes?filterable=false").json().empty());
  CHECK(f.get("product", "/attributes/" + id).json()["code"] == "material");
  CHECK(f.get("product", "/attributes/material").json()["attribute_id"] == id);
  auto missing = f.get("product", "/attributes/00000000-0000-4000-8000-000000000000");
  CHECK(missing.status == 404);
  CHECK(missing.json()["detail"] == "Attribute not found");

  auto renamed = put(f, "/attributes/" + id, json{{"name", "Fabric material"}});
  REQUIRE(renamed.status == 200);
  CHECK(renamed.json()["name"] == "Fabric material");
  CHECK(renamed.json()["type"] == "select");

  REQUIRE(put(f, "/products/PROD-009/attributes", json{{"material", "cotton"}}).status == 200);
  auto retype = put(f, "/attributes/" + id, json{{"type", "text"}});
  CHECK(retype.status == 409);
  CHECK(f.get("product", "/attributes/" + id).json()["type"] == "select");

  auto del = f.http("product", "DELETE", "/attributes/" + id);
  REQUIRE(del.status == 200);
  CHECK(del.json() == json{{"attribute_id", id}, {"status", "deleted"}});
  CHECK(f.http("product", "DELETE", "/attributes/" + id).status == 404);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_attribute_values") == 0);
  CHECK(f.get("product", "/products/PROD-009/attributes").json().empty());
}

TEST_CASE("product attribute values: typed checks, per-field 422 and required attributes", "[product][rest][attributes]") {
  agent_fixture f{{product_spec()}, seeded()};
  for (const json& d : {json{{"attribute_code", "color"}, {"name", "Color"}, {"type", "color"}},
                        json{{"attribute_code", "weight_kg"}, {"name", "Weight"}, {"type", "number"}, {"unit", "kg"},
                             {"validation_rules", {{"min", 0}, {"max", 100}}}},
                        json{{"attribute_code", "waterproof"}, {"name", "Waterproof"}, {"type", "boolean"}},
                        json{{"attribute_code", "released"}, {"name", "Released"}, {"type", "date"}},
                        json{{"attribute_code", "sizes"}, {"name", "Sizes"}, {"type", "multiselect"},
                             {"options", {"S", "M", "L"}}},
                        json{{"attribute_code", "screen_in"}, {"name", "Screen"}, {"type", "dimension"}, {"unit", "in"},
                             {"scope", "category"}, {"category_id", electronics}}})
    REQUIRE(f.post("product", "/attributes", d).status == 201);

  auto set = put(f, "/products/PROD-008/attributes",
                 json{{"color", "Red"}, {"weight_kg", "2.5"}, {"waterproof", true}, {"released", "2024-03-01"},
                      {"sizes", {"S", "M"}}});
  REQUIRE(set.status == 200);
  auto list = set.json();
  REQUIRE(list.size() == 5);
  std::map<std::string, json> by_code;
  for (const auto& a : list) by_code[a["code"]] = a["value"];
  CHECK(by_code["color"] == "red");
  CHECK(by_code["weight_kg"] == 2.5);
  CHECK(by_code["waterproof"] == true);
  CHECK(by_code["released"] == "2024-03-01");
  CHECK(by_code["sizes"] == json{"S", "M"});
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_attribute_values WHERE numeric_value = 2.5") == 1);
  REQUIRE(f.eventually([&] { return !f.events("product.product_updated").empty(); }));
  auto ev = json::parse(f.events("product.product_updated").back().payload);
  CHECK(ev["changed"]["attributes"].size() == 5);

  // Every bad field is reported at ["body", code]; nothing is written.
  auto bad = put(f, "/products/PROD-008/attributes",
                 json{{"color", "reddish"}, {"weight_kg", 101}, {"waterproof", "maybe"}, {"released", "2024-02-30"},
                      {"sizes", {"XL"}}, {"nope", 1}, {"screen_in", 6.1}});
  REQUIRE(bad.status == 422);
  CHECK(locs(bad) == std::vector<std::string>{"body.color", "body.nope", "body.released", "body.screen_in",
                                              "body.sizes", "body.waterproof", "body.weight_kg"});
  CHECK(f.get("product", "/products/PROD-008/attributes").json() == list);
  // A dimension with the definition's unit, on a product of its category.
  auto tv = put(f, "/products/PROD-003/attributes", json{{"screen_in", "55 in"}});
  REQUIRE(tv.status == 200);
  CHECK(tv.json()[0]["value"] == 55.0);
  CHECK(put(f, "/products/PROD-003/attributes", json{{"screen_in", "140 cm"}}).status == 422);

  auto removed = put(f, "/products/PROD-008/attributes", json{{"waterproof", nullptr}});
  REQUIRE(removed.status == 200);
  CHECK(removed.json().size() == 4);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_attribute_values WHERE product_id = "
                      "'10000000-0000-4000-8000-000000000008'") == 4);
  CHECK(put(f, "/products/NOPE/attributes", json{{"color", "red"}}).status == 404);
  CHECK(f.get("product", "/products/NOPE/attributes").status == 404);

  // Required attributes are enforced when a product becomes active.
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "warranty_years"}, {"name", "Warranty"}, {"type", "number"}, {"is_required", true}})
              .status == 201);
  auto active = f.post("product", "/products", json{{"sku", "REQ-1"}, {"name", "Needs warranty"}, {"price", 5}});
  REQUIRE(active.status == 422);
  CHECK(active.json()["detail"][0]["msg"] == "Required attributes missing: warranty_years");
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku = 'REQ-1'") == 0);
  REQUIRE(f.post("product", "/products", json{{"sku", "REQ-1"}, {"name", "Needs warranty"}, {"price", 5}, {"status", "draft"}})
              .status == 200);
  auto activate = f.http("product", "PATCH", "/products/REQ-1", json{{"status", "active"}}.dump());
  CHECK(activate.status == 422);
  CHECK(f.get("product", "/products/REQ-1").json()["status"] == "draft");
  REQUIRE(put(f, "/products/REQ-1/attributes", json{{"warranty_years", 2}}).status == 200);
  REQUIRE(f.http("product", "PATCH", "/products/REQ-1", json{{"status", "active"}}.dump()).status == 200);
  // ...and cannot be removed from an active product.
  auto drop = put(f, "/products/REQ-1/attributes", json{{"warranty_years", nullptr}});
  CHECK(drop.status == 422);
  CHECK(locs(drop) == std::vector<std::string>{"body.warranty_years"});
  // Products already active are not blocked by an unrelated edit.
  CHECK(f.http("product", "PATCH", "/products/PROD-012", json{{"brand", "Hearth"}}.dump()).status == 200);
}

TEST_CASE("attribute filter combines with AND and facets count", "[product][rest][attributes]") {
  agent_fixture f{{product_spec()}, seeded()};
  REQUIRE(f.post("product", "/attributes", json{{"attribute_code", "color"}, {"name", "Color"}, {"type", "color"}}).status == 201);
  REQUIRE(f.post("product", "/attributes", json{{"attribute_code", "weight_kg"}, {"name", "Weight"}, {"type", "number"}}).status == 201);
  REQUIRE(f.post("product", "/attributes", json{{"attribute_code", "notes"}, {"name", "Notes"}, {"type", "text"}}).status == 201);
  REQUIRE(put(f, "/products/PROD-001/attributes", json{{"color", "red"}, {"weight_kg", 0.25}, {"notes", "Studio grade"}}).status == 200);
  REQUIRE(put(f, "/products/PROD-003/attributes", json{{"color", "red"}, {"weight_kg", 17.5}}).status == 200);
  REQUIRE(put(f, "/products/PROD-005/attributes", json{{"color", "Red"}, {"weight_kg", 3}}).status == 200);
  REQUIRE(put(f, "/products/PROD-007/attributes", json{{"color", "black"}, {"weight_kg", 20}}).status == 200);

  auto both = f.post("product", "/products/filter",
                     json{{"filters", {{{"attribute", "color"}, {"operator", "eq"}, {"value", "red"}},
                                       {{"attribute", "weight_kg"}, {"operator", "gt"}, {"value", 2}}}}});
  REQUIRE(both.status == 200);
  CHECK(both.json()["total"] == 2);
  CHECK(skus(both.json()["products"]) == std::set<std::string>{"PROD-003", "PROD-005"});
  json facets = both.json()["facets"];
  REQUIRE(facets.size() == 2);
  CHECK(facets[0]["code"] == "color");
  CHECK(facets[0]["values"] == json{{{"value", "red"}, {"count", 2}}});
  CHECK(facets[1]["min"] == 3.0);
  CHECK(facets[1]["max"] == 17.5);

  auto between = f.post("product", "/products/filter",
                        json{{"filters", {{{"attribute", "weight_kg"}, {"operator", "between"}, {"value", {1, 18}}}}},
                             {"limit", 1}});
  REQUIRE(between.status == 200);
  CHECK(between.json()["total"] == 2);
  CHECK(between.json()["products"].size() == 1);
  auto in = f.post("product", "/products/filter",
                   json{{"filters", {{{"attribute", "color"}, {"operator", "in"}, {"value", {"black", "red"}}}}},
                        {"category_id", electronics}});
  CHECK(skus(in.json()["products"]) == std::set<std::string>{"PROD-001", "PROD-003"});
  auto text = f.post("product", "/products/filter",
                     json{{"filters", {{{"attribute", "notes"}, {"operator", "contains"}, {"value", "studio"}}}}});
  CHECK(skus(text.json()["products"]) == std::set<std::string>{"PROD-001"});

  auto unknown = f.post("product", "/products/filter",
                        json{{"filters", {{{"attribute", "fabric"}, {"operator", "eq"}, {"value", "x"}},
                                          {{"attribute", "color"}, {"operator", "gt"}, {"value", "red"}},
                                          {{"attribute", "weight_kg"}, {"operator", "between"}, {"value", 3}}}}});
  REQUIRE(unknown.status == 422);
  CHECK(locs(unknown) == std::vector<std::string>{"body.filters.0.attribute", "body.filters.1.operator",
                                                  "body.filters.2.value"});

  // The attribute model is loaded again after a restart.
  auto first = f.directory().handle("product");
  f.inject("product", "throw");
  REQUIRE(f.eventually([&] {
    auto now = f.directory().handle("product");
    return now && now != first && f.get("product", "/attributes/facets").status == 200;
  }));
  auto all = f.get("product", "/attributes/facets").json();
  REQUIRE(all.size() == 2);
  CHECK(all[0]["values"] == json{{{"value", "red"}, {"count", 3}}, {{"value", "black"}, {"count", 1}}});
  auto in_cat = f.get("product", "/attributes/facets?category_id=" + electronics).json();
  CHECK(in_cat[0]["values"] == json{{{"value", "red"}, {"count", 2}}});
  CHECK(in_cat[1]["max"] == 17.5);
}

TEST_CASE("SEO overrides, regeneration, bulk generation and audit", "[product][rest][seo]") {
  agent_fixture f{{product_spec()}, seeded()};
  auto before = f.get("product", "/seo/audit").json();
  CHECK(before["total_products"] == 13);
  CHECK(before["products_with_seo"] == 0);
  CHECK(before["recommendations"].size() == 3);

  auto set = put(f, "/products/PROD-004/seo", json{{"meta_title", "Speaker deal"}, {"url_slug", "best-speaker"}});
  REQUIRE(set.status == 200);
  auto s = set.json();
  CHECK(s["meta_title"] == "Speaker deal");
  CHECK(s["url_slug"] == "best-speaker");
  CHECK(s["canonical_url"] == "http://localhost:8080/products/best-speaker");
  CHECK(s["overridden"] == json{"meta_title", "url_slug"});
  CHECK(s["meta_description"] == "Waterproof portable speaker with 12-hour playtime. for $59.99 from SoundWave");
  CHECK(f.get("product", "/products/PROD-004/seo").json()["meta_title"] == "Speaker deal");
  CHECK(f.get("product", "/products/PROD-004").json()["slug"] == "best-speaker");
  CHECK(f.get("product", "/sitemap.xml").body.find("/products/best-speaker</loc>") != std::string::npos);

  auto taken = put(f, "/products/PROD-001/seo", json{{"url_slug", "best-speaker"}});
  CHECK(taken.status == 409);
  CHECK(taken.json()["detail"] == "URL slug best-speaker is already in use");
  auto bad = put(f, "/products/PROD-001/seo",
                 json{{"meta_title", std::string(61, 'x')}, {"meta_description", std::string(161, 'y')},
                      {"url_slug", "Bad Slug"}});
  REQUIRE(bad.status == 422);
  CHECK(locs(bad) == std::vector<std::string>{"body.meta_description", "body.meta_title", "body.url_slug"});
  CHECK(put(f, "/products/NOPE/seo", json{{"meta_title", "x"}}).status == 404);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_seo") == 1);

  // Regenerating keeps the overrides unless overwrite.
  auto kept = f.post("product", "/products/PROD-004/seo/generate", json::object());
  REQUIRE(kept.status == 200);
  CHECK(kept.json()["meta_title"] == "Speaker deal");
  CHECK(kept.json()["url_slug"] == "best-speaker");
  auto fresh = f.post("product", "/products/PROD-004/seo/generate?overwrite=true", json::object());
  REQUIRE(fresh.status == 200);
  CHECK(fresh.json()["meta_title"] == "Bluetooth Portable Speaker | Electronics");
  CHECK(fresh.json()["url_slug"] == "bluetooth-portable-speaker");
  CHECK(fresh.json()["overridden"].empty());
  CHECK(f.post("product", "/products/NOPE/seo/generate", json::object()).status == 404);

  auto bulk = f.post("product", "/seo/generate", json::object());
  REQUIRE(bulk.status == 200);
  CHECK(bulk.json() == json{{"generated", 12}, {"skipped", 1}});
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_seo WHERE url_slug IS NOT NULL") == 13);
  CHECK(f.post("product", "/seo/generate", json::object()).json() == json{{"generated", 0}, {"skipped", 13}});
  auto after = f.get("product", "/seo/audit").json();
  CHECK(after["seo_coverage_percentage"] == 100.0);
  CHECK(after["url_slug_coverage"] == 100.0);
  CHECK(after["recommendations"].empty());

  // Stored rows are loaded again after a restart.
  auto first = f.directory().handle("product");
  f.inject("product", "throw");
  REQUIRE(f.eventually([&] {
    auto now = f.directory().handle("product");
    return now && now != first && f.get("product", "/seo/audit").status == 200;
  }));
  CHECK(f.get("product", "/seo/audit").json()["products_with_seo"] == 13);
  CHECK(f.get("product", "/products/PROD-004/seo").json()["generated"] == false);
}

TEST_CASE("typed list_products and bundle_price", "[product][agent]") {
  agent_fixture f{{product_spec()}, seeded()};
  product::list_products q;
  q.brand = "Culina";
  q.sort = "price_asc";
  q.limit = 1;
  auto l = f.ask<product_actor, product::product_list>("product", q);
  REQUIRE(l.ok());
  CHECK(l->total == 2);
  REQUIRE(l->products.size() == 1);
  CHECK(l->products[0].sku == "PROD-010");
  product::list_products ranged;
  ranged.min_price = 1000;
  ranged.max_price = 6000;
  auto r = f.ask<product_actor, product::product_list>("product", ranged);
  REQUIRE(r.ok());
  CHECK(r->total == 4);
  product::list_products invalid;
  invalid.status = "gone";
  auto bad = f.ask<product_actor, product::product_list>("product", invalid);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error.kind == failure_kind::invalid);

  product::bundle_price m;
  m.bundle_id = "BNDL-HOME-OFFICE";
  m.quantity = 2;
  auto p = f.ask<product_actor, product::bundle_price_calculation>("product", m);
  REQUIRE(p.ok());
  CHECK(p->original_price == 2 * 25998);
  CHECK(p->bundle_price == 46796);
  CHECK(p->discount_percentage_e2 == 1000);
  REQUIRE(p->components_breakdown.size() == 2);
  CHECK(p->components_breakdown[0].product_name == "Wireless Noise-Cancelling Headphones");
  CHECK(p->available_quantity == -1);  // inventory not running: unknown
  m.quantity = 11;
  auto too_many = f.ask<product_actor, product::bundle_price_calculation>("product", m);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error.code == "max_quantity");
  m.bundle_id = "NOPE";
  auto missing = f.ask<product_actor, product::bundle_price_calculation>("product", m);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error.code == "not_found");
}
