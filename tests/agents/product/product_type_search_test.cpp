// The product agent's product types (attribute scope product_type), search over searchable
// attribute values, and storefront URLs under store.base_url, against a fresh seeded database.
#include <catch2/catch.hpp>

#include <algorithm>
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

const std::string prod5 = "10000000-0000-4000-8000-000000000005";
const std::string prod12 = "10000000-0000-4000-8000-000000000012";

std::set<std::string> codes(const json& list) {
  std::set<std::string> out;
  for (const auto& a : list) out.insert(a["code"].get<std::string>());
  return out;
}

std::set<std::string> found(agent_fixture& f, const std::string& q) {
  auto r = f.get("product", "/products/search?q=" + q);
  REQUIRE(r.status == 200);
  return skus(r.json()["products"]);
}

// Restarts the product agent and waits for the new incarnation to serve.
void restart(agent_fixture& f) {
  auto first = f.directory().handle("product");
  f.inject("product", "throw");
  REQUIRE(f.eventually([&] {
    auto now = f.directory().handle("product");
    return now && now != first && f.get("product", "/attributes").status == 200;
  }));
}

}  // namespace

TEST_CASE("product_type scope: definitions list types, apply to products of those types only",
          "[product][rest][attributes][product_type]") {
  agent_fixture f{{product_spec()}, seeded()};
  // Definitions: the scope needs its types; codes are checked and normalised.
  auto no_types = f.post("product", "/attributes",
                         json{{"attribute_code", "shoe_size"}, {"name", "Size"}, {"type", "number"}, {"scope", "product_type"}});
  REQUIRE(no_types.status == 422);
  CHECK(locs(no_types) == std::vector<std::string>{"body.product_types"});
  auto bad_type = f.post("product", "/attributes",
                         json{{"attribute_code", "shoe_size"}, {"name", "Size"}, {"type", "number"}, {"scope", "product_type"},
                              {"product_types", {"shoe", "running shoe"}}});
  REQUIRE(bad_type.status == 422);
  CHECK(locs(bad_type) == std::vector<std::string>{"body.product_types.1"});
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.attribute_definitions") == 0);
  auto created = f.post("product", "/attributes",
                        json{{"attribute_code", "shoe_size"}, {"name", "Size"}, {"type", "number"}, {"scope", "product_type"},
                             {"product_types", {"Shoe", " boot ", "shoe"}}});
  REQUIRE(created.status == 201);
  CHECK(created.json()["product_types"] == json{"shoe", "boot"});
  std::string shoe_size_id = created.json()["attribute_id"];
  REQUIRE(f.post("product", "/attributes", json{{"attribute_code", "color"}, {"name", "Color"}, {"type", "color"}}).status == 201);
  // `product_type` (one code) is accepted too; other scopes keep no types.
  auto screen = f.post("product", "/attributes",
                       json{{"attribute_code", "panel"}, {"name", "Panel"}, {"type", "text"}, {"scope", "product_type"},
                            {"product_type", "TV"}});
  REQUIRE(screen.status == 201);
  CHECK(screen.json()["product_types"] == json{"tv"});
  auto global = f.post("product", "/attributes",
                       json{{"attribute_code", "origin"}, {"name", "Origin"}, {"type", "text"}, {"product_types", {"shoe"}}});
  REQUIRE(global.status == 201);
  CHECK(global.json()["product_types"] == json::array());
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.attribute_definitions WHERE 'shoe' = ANY(product_types)") == 1);

  // Products carry a type (validated, normalised, null clears).
  auto typed = patch(f, "/products/PROD-005", json{{"product_type", "Shoe"}});
  REQUIRE(typed.status == 200);
  CHECK(typed.json()["product_type"] == "shoe");
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku = 'PROD-005' AND product_type = 'shoe'") == 1);
  auto bad_product_type = patch(f, "/products/PROD-001", json{{"product_type", "not a type!"}});
  REQUIRE(bad_product_type.status == 422);
  CHECK(locs(bad_product_type) == std::vector<std::string>{"body.product_type"});
  REQUIRE(patch(f, "/products/PROD-003", json{{"product_type", "tv"}}).status == 200);
  CHECK(f.get("product", "/products/PROD-001").json()["product_type"].is_null());
  auto by_type = f.get("product", "/products?product_type=shoe").json();
  CHECK(skus(by_type["products"]) == std::set<std::string>{"PROD-005"});
  CHECK(f.get("product", "/products?product_type=a%20b").status == 422);

  // Values: a matching product takes it, another type or no type is refused (422 naming it).
  auto ok = put(f, "/products/PROD-005/attributes", json{{"shoe_size", 42}, {"color", "red"}});
  REQUIRE(ok.status == 200);
  CHECK(codes(ok.json()) == std::set<std::string>{"shoe_size", "color"});
  auto tv = put(f, "/products/PROD-003/attributes", json{{"shoe_size", 42}, {"color", "black"}});
  REQUIRE(tv.status == 422);
  CHECK(locs(tv) == std::vector<std::string>{"body.shoe_size"});
  CHECK(tv.json()["detail"][0]["msg"] == "Attribute shoe_size does not apply to products of type tv");
  auto untyped = put(f, "/products/PROD-001/attributes", json{{"shoe_size", 40}});
  REQUIRE(untyped.status == 422);
  CHECK(locs(untyped) == std::vector<std::string>{"body.shoe_size"});
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_attribute_values WHERE product_id <> '" + prod5 + "'") == 0);
  REQUIRE(put(f, "/products/PROD-003/attributes", json{{"panel", "OLED"}}).status == 200);
  REQUIRE(put(f, "/products/PROD-001/attributes", json{{"color", "blue"}}).status == 200);

  // The type as a list filter: GET /products, POST /products/filter, facets, typed list_products.
  auto typed_filter = f.post("product", "/products/filter", json{{"product_type", "SHOE"}});
  CHECK(skus(typed_filter.json()["products"]) == std::set<std::string>{"PROD-005"});
  CHECK(typed_filter.json()["facets"][0]["values"] == json{{{"value", "red"}, {"count", 1}}});
  CHECK(f.post("product", "/products/filter", json{{"product_type", "a b"}}).status == 422);
  auto tv_facets = f.get("product", "/attributes/facets?product_type=tv").json();
  CHECK(tv_facets.empty());  // PROD-003 has no filterable select/number values
  product::list_products typed_list;
  typed_list.product_type = "Shoe";
  auto tl = f.ask<product_actor, product::product_list>("product", typed_list);
  REQUIRE(tl.ok());
  REQUIRE(tl->total == 1);
  CHECK(tl->products[0].sku == "PROD-005");
  typed_list.product_type = "no good";
  CHECK_FALSE(f.ask<product_actor, product::product_list>("product", typed_list).ok());

  // Listing definitions: by scope, by listed type, and those applying to a product.
  CHECK(codes(f.get("product", "/attributes?scope=product_type").json()) == std::set<std::string>{"shoe_size", "panel"});
  CHECK(codes(f.get("product", "/attributes?product_type=boot").json()) == std::set<std::string>{"shoe_size"});
  CHECK(f.get("product", "/attributes?product_type=mug").json().empty());
  CHECK(codes(f.get("product", "/attributes?product_id=PROD-005").json()) ==
        std::set<std::string>{"shoe_size", "color", "origin"});
  CHECK(codes(f.get("product", "/attributes?product_id=" + prod12).json()) == std::set<std::string>{"color", "origin"});
  CHECK(f.get("product", "/attributes?product_id=NOPE").status == 404);

  // The attribute filter sees the value only while it applies; a type change hides it (kept
  // stored), changing back shows it again.
  json by_size{{"filters", {{{"attribute", "shoe_size"}, {"operator", "eq"}, {"value", 42}}}}};
  CHECK(skus(f.post("product", "/products/filter", by_size).json()["products"]) == std::set<std::string>{"PROD-005"});
  REQUIRE(patch(f, "/products/PROD-005", json{{"product_type", "sandal"}}).status == 200);
  CHECK(codes(f.get("product", "/products/PROD-005/attributes").json()) == std::set<std::string>{"color"});
  CHECK(f.post("product", "/products/filter", by_size).json()["total"] == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_attribute_values WHERE attribute_id = '" + shoe_size_id + "'") == 1);
  REQUIRE(patch(f, "/products/PROD-005", json{{"product_type", "boot"}}).status == 200);
  CHECK(codes(f.get("product", "/products/PROD-005/attributes").json()) == std::set<std::string>{"shoe_size", "color"});

  // Types and scopes come back after a restart.
  restart(f);
  CHECK(f.get("product", "/attributes/shoe_size").json()["product_types"] == json{"shoe", "boot"});
  CHECK(f.get("product", "/products/PROD-005").json()["product_type"] == "boot");
  CHECK(skus(f.post("product", "/products/filter", by_size).json()["products"]) == std::set<std::string>{"PROD-005"});

  // Editing the list and the scope: a narrower list stops applying, global applies everywhere.
  auto narrowed = put(f, "/attributes/shoe_size", json{{"product_types", {"shoe"}}});
  REQUIRE(narrowed.status == 200);
  CHECK(put(f, "/products/PROD-005/attributes", json{{"shoe_size", 43}}).status == 422);
  auto widened = put(f, "/attributes/shoe_size", json{{"scope", "global"}});
  REQUIRE(widened.status == 200);
  CHECK(widened.json()["product_types"] == json::array());
  CHECK(put(f, "/products/PROD-001/attributes", json{{"shoe_size", 40}}).status == 200);
  CHECK(put(f, "/attributes/shoe_size", json{{"scope", "product_type"}}).status == 422);  // needs types again
}

TEST_CASE("required product_type attributes block activation of products of that type",
          "[product][rest][attributes][product_type]") {
  agent_fixture f{{product_spec()}, seeded()};
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "voltage"}, {"name", "Voltage"}, {"type", "number"}, {"unit", "V"},
                      {"scope", "product_type"}, {"product_types", {"appliance"}}, {"is_required", true}})
              .status == 201);

  auto blocked = f.post("product", "/products",
                        json{{"sku", "KETTLE-1"}, {"name", "Kettle"}, {"price", 30}, {"product_type", "appliance"}});
  REQUIRE(blocked.status == 422);
  CHECK(locs(blocked) == std::vector<std::string>{"body.status"});
  CHECK(blocked.json()["detail"][0]["msg"] == "Required attributes missing: voltage");
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku = 'KETTLE-1'") == 0);
  // Other types and untyped products are not concerned.
  REQUIRE(f.post("product", "/products", json{{"sku", "BOOK-1"}, {"name", "Cookbook"}, {"price", 20}, {"product_type", "book"}})
              .status == 200);
  REQUIRE(f.post("product", "/products", json{{"sku", "PLAIN-1"}, {"name", "Plain"}, {"price", 5}}).status == 200);

  REQUIRE(f.post("product", "/products",
                 json{{"sku", "KETTLE-1"}, {"name", "Kettle"}, {"price", 30}, {"product_type", "appliance"}, {"status", "draft"}})
              .status == 200);
  CHECK(patch(f, "/products/KETTLE-1", json{{"status", "active"}}).status == 422);
  CHECK(f.get("product", "/products/KETTLE-1").json()["status"] == "draft");
  REQUIRE(put(f, "/products/KETTLE-1/attributes", json{{"voltage", 230}}).status == 200);
  REQUIRE(patch(f, "/products/KETTLE-1", json{{"status", "active"}}).status == 200);
  // ...cannot be removed from the active product...
  auto drop = put(f, "/products/KETTLE-1/attributes", json{{"voltage", nullptr}});
  CHECK(drop.status == 422);
  CHECK(locs(drop) == std::vector<std::string>{"body.voltage"});
  // ...and an active product cannot become an appliance without it.
  auto retype = patch(f, "/products/BOOK-1", json{{"product_type", "appliance"}});
  REQUIRE(retype.status == 422);
  CHECK(retype.json()["detail"][0]["msg"] == "Required attributes missing: voltage");
  CHECK(f.get("product", "/products/BOOK-1").json()["product_type"] == "book");
  CHECK(patch(f, "/products/BOOK-1", json{{"product_type", "appliance"}, {"status", "draft"}}).status == 200);
}

TEST_CASE("search matches values of searchable attributes only, and follows their changes",
          "[product][rest][search][attributes]") {
  agent_fixture f{{product_spec()}, seeded()};
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "material"}, {"name", "Material"}, {"type", "text"}, {"is_searchable", true}})
              .status == 201);
  REQUIRE(f.post("product", "/attributes", json{{"attribute_code", "internal_code"}, {"name", "Code"}, {"type", "text"}})
              .status == 201);
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "finish"}, {"name", "Finish"}, {"type", "select"}, {"is_searchable", true},
                      {"options", {{{"value", "glz"}, {"label", "Crackle glaze"}}, "matte"}}})
              .status == 201);
  CHECK(found(f, "xylofiber").empty());
  REQUIRE(put(f, "/products/PROD-012/attributes",
              json{{"material", "Xylofiber stoneware"}, {"internal_code", "zq-secret-77"}, {"finish", "glz"}})
              .status == 200);

  CHECK(found(f, "XyloFiber") == std::set<std::string>{"PROD-012"});
  CHECK(found(f, "crackle%20glaze") == std::set<std::string>{"PROD-012"});  // an option's label
  CHECK(found(f, "zq-secret").empty());                                     // not searchable
  auto listed = f.get("product", "/products?search=xylofiber").json();
  CHECK(listed["total"] == 1);
  product::list_products typed;
  typed.search = "xylofiber";
  auto l = f.ask<product_actor, product::product_list>("product", typed);
  REQUIRE(l.ok());
  REQUIRE(l->total == 1);
  CHECK(l->products[0].sku == "PROD-012");

  // A new value replaces the old one in search at once.
  REQUIRE(put(f, "/products/PROD-012/attributes", json{{"material", "Porcelain"}}).status == 200);
  CHECK(found(f, "xylofiber").empty());
  CHECK(found(f, "porcelain") == std::set<std::string>{"PROD-012"});
  REQUIRE(put(f, "/products/PROD-012/attributes", json{{"material", nullptr}}).status == 200);
  CHECK(found(f, "porcelain").empty());

  // Definition changes: made searchable, then deleted.
  REQUIRE(put(f, "/attributes/internal_code", json{{"is_searchable", true}}).status == 200);
  CHECK(found(f, "zq-secret") == std::set<std::string>{"PROD-012"});
  REQUIRE(put(f, "/attributes/finish", json{{"is_searchable", false}}).status == 200);
  CHECK(found(f, "crackle").empty());

  // The index is rebuilt from the database after a restart.
  restart(f);
  CHECK(found(f, "zq-secret") == std::set<std::string>{"PROD-012"});
  CHECK(found(f, "crackle").empty());
  REQUIRE(f.http("product", "DELETE", "/attributes/internal_code").status == 200);
  CHECK(found(f, "zq-secret").empty());

  // A deleted product is not found by its attribute values either.
  REQUIRE(put(f, "/products/PROD-012/attributes", json{{"material", "Xylofiber"}}).status == 200);
  CHECK(found(f, "xylofiber") == std::set<std::string>{"PROD-012"});
  REQUIRE(f.http("product", "DELETE", "/products/PROD-012").status == 200);
  CHECK(found(f, "xylofiber").empty());
}

TEST_CASE("sitemap and canonical URLs use store.base_url", "[product][rest][seo]") {
  fixture_options o = seeded();
  o.adjust = [](config& c) { c.store.base_url = "https://shop.example.com/"; };
  agent_fixture f{{product_spec()}, o};
  auto map = f.get("product", "/sitemap.xml");
  REQUIRE(map.status == 200);
  size_t locs_seen = 0;
  for (size_t pos = map.body.find("<loc>"); pos != std::string::npos; pos = map.body.find("<loc>", pos + 1)) {
    ++locs_seen;
    CHECK(map.body.compare(pos + 5, 34, "https://shop.example.com/products/") == 0);
  }
  CHECK(locs_seen == 13);
  CHECK(map.body.find("localhost") == std::string::npos);
  CHECK(map.body.find(".com//") == std::string::npos);
  CHECK(map.body.find("<loc>https://shop.example.com/products/bluetooth-portable-speaker</loc>") != std::string::npos);

  CHECK(f.get("product", "/products/PROD-004/seo").json()["canonical_url"] ==
        "https://shop.example.com/products/bluetooth-portable-speaker");
  auto moved = put(f, "/products/PROD-004/seo", json{{"url_slug", "best-speaker"}});
  REQUIRE(moved.status == 200);
  CHECK(moved.json()["canonical_url"] == "https://shop.example.com/products/best-speaker");
  CHECK(f.get("product", "/sitemap.xml").body.find("<loc>https://shop.example.com/products/best-speaker</loc>") !=
        std::string::npos);
  REQUIRE(f.post("product", "/seo/generate", json::object()).status == 200);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_seo WHERE canonical_url LIKE 'https://shop.example.com/products/%'") ==
        13);

  // A row stored under an earlier base URL is shown under the current one; a hand-set one is kept.
  f.database().exec(
      "UPDATE catalog.product_seo SET canonical_url = 'http://localhost:8080/products/' || url_slug");
  REQUIRE(put(f, "/products/PROD-001/seo", json{{"canonical_url", "https://elsewhere.example/headphones"}}).status == 200);
  restart(f);
  CHECK(f.get("product", "/products/PROD-004/seo").json()["canonical_url"] ==
        "https://shop.example.com/products/best-speaker");
  CHECK(f.get("product", "/products/PROD-001/seo").json()["canonical_url"] == "https://elsewhere.example/headphones");
}
