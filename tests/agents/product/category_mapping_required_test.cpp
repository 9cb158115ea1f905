// POST/DELETE /products/{id}/categories and required category-scoped attributes: mapping an active
// product re-checks them like PUT/PATCH, drafts are not checked, unmapping never blocks.
#include <catch2/catch.hpp>

#include <set>

#include "product_fixture.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using namespace mercato::test::product_suite;
using nlohmann::json;

namespace {

std::string create_category(agent_fixture& f, const json& body) {
  auto r = f.post("product", "/categories", body);
  REQUIRE(r.status == 200);
  return r.json()["id"];
}

// Category ids of the product as the model shows it (GET /products/{id}).
std::set<std::string> category_ids(agent_fixture& f, const std::string& product) {
  std::set<std::string> out;
  auto reply = f.get("product", "/products/" + product);
  REQUIRE(reply.status == 200);
  json body = reply.json();  // kept alive for the loop (see product_fixture.hpp `locs`)
  for (const auto& c : body["categories"]) out.insert(c["id"].get<std::string>());
  return out;
}

int64_t mapping_rows(agent_fixture& f, const std::string& sku, const std::string& category_id) {
  return count_rows(f, "SELECT count(*) FROM catalog.product_categories pc JOIN catalog.products p USING (product_id)"
                       " WHERE p.sku = '" + sku + "' AND pc.category_id = '" + category_id + "'");
}

json map_to(const std::string& category_id, bool primary = false) {
  return json{{"category_id", category_id}, {"is_primary", primary}};
}

}  // namespace

TEST_CASE("mapping an active product to a category re-checks required scoped attributes",
          "[product][rest][attributes][category]") {
  agent_fixture f{{product_spec()}, seeded()};
  std::string cameras = create_category(f, json{{"name", "Cameras"}});
  std::string mirrorless = create_category(f, json{{"name", "Mirrorless"}, {"parent_id", cameras}});
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "sensor"}, {"name", "Sensor"}, {"type", "text"}, {"scope", "category"},
                      {"category_id", cameras}, {"is_required", true}})
              .status == 201);
  REQUIRE(f.post("product", "/products", json{{"sku", "CAM-1"}, {"name", "Camera body"}, {"price", 900}}).status == 200);

  // The subcategory brings the parent's required attribute: refused, nothing written.
  auto refused = f.post("product", "/products/CAM-1/categories", map_to(mirrorless, true));
  REQUIRE(refused.status == 422);
  CHECK(locs(refused) == std::vector<std::string>{"body.category_id"});
  CHECK(refused.json()["detail"][0]["msg"] == "Required attributes missing: sensor");
  CHECK(category_ids(f, "CAM-1").empty());
  CHECK(f.get("product", "/products/CAM-1").json()["category"] != "Mirrorless");
  CHECK(f.get("product", "/categories/" + mirrorless + "/products").json()["total"] == 0);
  CHECK(mapping_rows(f, "CAM-1", mirrorless) == 0);
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.products WHERE sku = 'CAM-1' AND category = 'Mirrorless'") == 0);
  CHECK(f.post("product", "/products/CAM-1/categories", map_to(cameras)).status == 422);
  CHECK(mapping_rows(f, "CAM-1", cameras) == 0);

  // With the value stored the same mapping goes through (draft → map → value → active).
  REQUIRE(patch(f, "/products/CAM-1", json{{"status", "draft"}}).status == 200);
  REQUIRE(f.post("product", "/products/CAM-1/categories", map_to(mirrorless, true)).status == 200);
  REQUIRE(put(f, "/products/CAM-1/attributes", json{{"sensor", "APS-C"}}).status == 200);
  REQUIRE(patch(f, "/products/CAM-1", json{{"status", "active"}}).status == 200);
  // An active product that has the value: unmapped (value kept stored) and mapped again.
  REQUIRE(f.http("product", "DELETE", "/products/CAM-1/categories/" + mirrorless).status == 200);
  CHECK(category_ids(f, "CAM-1").empty());
  auto again = f.post("product", "/products/CAM-1/categories", map_to(mirrorless, true));
  REQUIRE(again.status == 200);
  CHECK(again.json()["categories"][0]["id"] == mirrorless);
  CHECK(category_ids(f, "CAM-1") == std::set<std::string>{mirrorless});
  CHECK(f.get("product", "/categories/" + mirrorless + "/products").json()["total"] == 1);
  CHECK(mapping_rows(f, "CAM-1", mirrorless) == 1);
  // Adding the parent too brings nothing new.
  CHECK(f.post("product", "/products/CAM-1/categories", map_to(cameras)).status == 200);
  CHECK(category_ids(f, "CAM-1") == std::set<std::string>{cameras, mirrorless});

  // An unrelated category is not concerned.
  std::string books = create_category(f, json{{"name", "Photo books"}});
  REQUIRE(f.post("product", "/products", json{{"sku", "BOOK-9"}, {"name", "Light"}, {"price", 30}}).status == 200);
  CHECK(f.post("product", "/products/BOOK-9/categories", map_to(books)).status == 200);
  CHECK(mapping_rows(f, "BOOK-9", books) == 1);
}

TEST_CASE("draft products are mapped without the required-attribute check", "[product][rest][attributes][category]") {
  agent_fixture f{{product_spec()}, seeded()};
  std::string cameras = create_category(f, json{{"name", "Cameras"}});
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "sensor"}, {"name", "Sensor"}, {"type", "text"}, {"scope", "category"},
                      {"category_id", cameras}, {"is_required", true}})
              .status == 201);
  REQUIRE(f.post("product", "/products", json{{"sku", "CAM-D"}, {"name", "Draft camera"}, {"price", 500}, {"status", "draft"}})
              .status == 200);

  auto mapped = f.post("product", "/products/CAM-D/categories", map_to(cameras, true));
  REQUIRE(mapped.status == 200);
  CHECK(category_ids(f, "CAM-D") == std::set<std::string>{cameras});
  CHECK(mapping_rows(f, "CAM-D", cameras) == 1);
  // Activation still needs the value (the existing check).
  auto activate = patch(f, "/products/CAM-D", json{{"status", "active"}});
  REQUIRE(activate.status == 422);
  CHECK(activate.json()["detail"][0]["msg"] == "Required attributes missing: sensor");
  REQUIRE(put(f, "/products/CAM-D/attributes", json{{"sensor", "Full frame"}}).status == 200);
  CHECK(patch(f, "/products/CAM-D", json{{"status", "active"}}).status == 200);
}

TEST_CASE("unmapping a category never blocks on required attributes", "[product][rest][attributes][category]") {
  agent_fixture f{{product_spec()}, seeded()};
  std::string cameras = create_category(f, json{{"name", "Cameras"}});
  std::string lenses = create_category(f, json{{"name", "Lenses"}});
  REQUIRE(f.post("product", "/products", json{{"sku", "CAM-U"}, {"name", "Camera kit"}, {"price", 1200}, {"category_id", cameras}})
              .status == 200);
  REQUIRE(f.post("product", "/products/CAM-U/categories", map_to(lenses)).status == 200);
  // Required definitions created after the product went active: it lacks both values.
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "sensor"}, {"name", "Sensor"}, {"type", "text"}, {"scope", "category"},
                      {"category_id", cameras}, {"is_required", true}})
              .status == 201);
  REQUIRE(f.post("product", "/attributes",
                 json{{"attribute_code", "warranty_years"}, {"name", "Warranty"}, {"type", "number"}, {"is_required", true}})
              .status == 201);

  // Changing only the primary flag of an existing mapping is not a scope change.
  CHECK(f.post("product", "/products/CAM-U/categories", map_to(lenses, true)).status == 200);
  CHECK(f.get("product", "/products/CAM-U").json()["category"] == "Lenses");
  // Unmapping the primary category and the other one: both allowed although values are missing.
  auto first = f.http("product", "DELETE", "/products/CAM-U/categories/" + lenses);
  REQUIRE(first.status == 200);
  CHECK(category_ids(f, "CAM-U") == std::set<std::string>{cameras});
  auto second = f.http("product", "DELETE", "/products/CAM-U/categories/" + cameras);
  REQUIRE(second.status == 200);
  CHECK(second.json()["categories"].empty());
  CHECK(category_ids(f, "CAM-U").empty());
  CHECK(count_rows(f, "SELECT count(*) FROM catalog.product_categories pc JOIN catalog.products p USING (product_id)"
                      " WHERE p.sku = 'CAM-U'") == 0);
  CHECK(f.get("product", "/products/CAM-U").json()["status"] == "active");
}
