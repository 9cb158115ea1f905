// Pure attribute and SEO rules: typed value checks, filter operators, SEO merge and slugs.
#include <catch2/catch.hpp>

#include "product/attributes.hpp"
#include "product/seo.hpp"

using namespace mercato;
using namespace mercato::product;
using nlohmann::json;

namespace {

attribute_definition def(std::string type, json options = json(), json rules = json()) {
  attribute_definition d;
  d.code = "a";
  d.type = std::move(type);
  d.options = std::move(options);
  d.validation_rules = std::move(rules);
  return d;
}

}  // namespace

TEST_CASE("attribute values are checked against their type and rules", "[product][rules][attributes]") {
  CHECK(check_attribute_value(def("number"), "12.5").value == 12.5);
  CHECK_FALSE(check_attribute_value(def("number"), "12,5").error.empty());
  CHECK(check_attribute_value(def("number", json(), {{"min", 1}}), 0).error == "Attribute a: must be greater than or equal to 1");
  CHECK(check_attribute_value(def("boolean"), "false").value == false);
  CHECK_FALSE(check_attribute_value(def("boolean"), 1).error.empty());
  CHECK(check_attribute_value(def("date"), "2024-02-29T10:00:00Z").value == "2024-02-29");
  CHECK_FALSE(check_attribute_value(def("date"), "2023-02-29").error.empty());
  CHECK(check_attribute_value(def("select", {"a", {{"value", "b"}, {"label", "B"}}}), "b").error.empty());
  CHECK_FALSE(check_attribute_value(def("select", {"a"}), "A").error.empty());
  CHECK(check_attribute_value(def("multiselect", {"x", "y"}), json{"y", "x", "y"}).value == json{"y", "x"});
  CHECK_FALSE(check_attribute_value(def("multiselect", {"x"}), json{"x", "z"}).error.empty());
  CHECK(check_attribute_value(def("text", json(), {{"max_length", 3}, {"pattern", "^[a-z]+$"}}), "abc").error.empty());
  CHECK_FALSE(check_attribute_value(def("text", json(), {{"max_length", 3}}), "abcd").error.empty());
  CHECK_FALSE(check_attribute_value(def("text", json(), {{"pattern", "^[a-z]+$"}}), "ab1").error.empty());
  CHECK(valid_color("#A0b1C2"));
  CHECK(valid_color("RebeccaPurple"));
  CHECK_FALSE(valid_color("#12345"));
  CHECK_FALSE(valid_color("reddish"));
  auto dim = def("dimension");
  dim.unit = "cm";
  CHECK(check_attribute_value(dim, json{{"value", 3}, {"unit", "cm"}}).value == 3.0);
  CHECK_FALSE(check_attribute_value(dim, "3 in").error.empty());
}

TEST_CASE("filter operators and matching", "[product][rules][attributes]") {
  CHECK(operator_valid_for("number", "between"));
  CHECK(operator_valid_for("text", "contains"));
  CHECK_FALSE(operator_valid_for("color", "gt"));
  CHECK_FALSE(operator_valid_for("boolean", "in"));
  auto num = def("number");
  attribute_filter f{&num, "between", json{"2", 5}};
  REQUIRE(check_filter_value(num, f.op, f.value).empty());
  json v = 3.0;
  CHECK(filter_matches(f, &v));
  json out = 6.0;
  CHECK_FALSE(filter_matches(f, &out));
  CHECK_FALSE(filter_matches(f, nullptr));
  auto multi = def("multiselect", {"S", "M"});
  attribute_filter ne{&multi, "ne", "s"};
  REQUIRE(check_filter_value(multi, ne.op, ne.value).empty());
  json sizes = json{"M"};
  CHECK(filter_matches(ne, &sizes));
  json between_bad = 3;
  CHECK_FALSE(check_filter_value(num, "between", between_bad).empty());
}

TEST_CASE("SEO merge keeps overridden fields unless overwrite", "[product][rules][seo]") {
  seo_record stored;
  stored.product_id = "p";
  stored.meta_title = "Hand title";
  stored.meta_description = "old generated";
  stored.overridden = {"meta_title"};
  seo_record gen;
  gen.product_id = "p";
  gen.meta_title = "Generated";
  gen.meta_description = "new generated";
  auto kept = merge_seo(&stored, gen, false);
  CHECK(kept.meta_title == std::optional<std::string>{"Hand title"});
  CHECK(kept.meta_description == std::optional<std::string>{"new generated"});
  CHECK(kept.overridden == std::vector<std::string>{"meta_title"});
  auto fresh = merge_seo(&stored, gen, true);
  CHECK(fresh.meta_title == std::optional<std::string>{"Generated"});
  CHECK(fresh.overridden.empty());

  seo_catalog seo;
  seo_record other;
  other.product_id = "q";
  other.url_slug = "mug";
  seo.put(other);
  product_record p;
  p.id = "p";
  p.name = "Mug";
  CHECK(product_slug(seo, p) == "mug-2");
  CHECK(product_slug(seo, p, {"mug-2"}) == "mug-3");
}
