// Pure catalogue rules: SKU syntax, slugs, search ranking, bundle pricing and availability.
#include <catch2/catch.hpp>

#include "product/catalog.hpp"
#include "product/catalog_rules.hpp"
#include "product/product_input.hpp"

using namespace mercato;
using namespace mercato::product;

TEST_CASE("sku syntax and slugs", "[product][rules]") {
  CHECK(valid_sku("PROD-001"));
  CHECK(valid_sku("a.b_c/d-1"));
  CHECK_FALSE(valid_sku(""));
  CHECK_FALSE(valid_sku("has space"));
  CHECK_FALSE(valid_sku(std::string(101, 'A')));
  CHECK(slugify("Home & Kitchen") == "home-kitchen");
  CHECK(slugify("  --Hello,  World!! ") == "hello-world");
  CHECK(slugify(std::string(150, 'a')).size() == 100);
}

TEST_CASE("search score ranks name matches above description matches", "[product][rules]") {
  double in_name = search_score("headphones", "Wireless Headphones", "P1", "Sound", "great audio");
  double in_desc = search_score("headphones", "Speaker", "P2", "Sound", "pairs with headphones");
  double none = search_score("headphones", "Yoga Mat", "P3", "Zen", "non-slip");
  CHECK(in_name > in_desc);
  CHECK(in_desc > 0);
  CHECK(none == 0);
  CHECK(search_score("headphnes", "Wireless Headphones", "P1", "", "") > 0);  // trigram typo match
}

namespace {

money::cents price_of(const std::string& id) {
  if (id == "a") return 10000;  // 100.00
  if (id == "b") return 5000;   // 50.00
  return 2500;                  // c: 25.00
}

bundle_terms terms(std::string type, std::string strategy) {
  bundle_terms t;
  t.type = std::move(type);
  t.strategy = std::move(strategy);
  t.components = {{"a", 1, true}, {"b", 2, true}, {"c", 1, false}};
  return t;
}

}  // namespace

TEST_CASE("bundle pricing strategies compute the documented figures", "[product][rules][bundle]") {
  bundle_quote q;
  auto fixed = terms("flexible", "fixed_price");
  fixed.bundle_price = 15000;
  REQUIRE(price_bundle(fixed, {}, 2, price_of, q) == bundle_error::none);
  CHECK(q.original == 2 * (10000 + 2 * 5000 + 2500));  // no selection: all components (seed rule)
  CHECK(q.price == 30000);
  CHECK(q.discount == q.original - 30000);

  auto pct = terms("fixed", "percentage_discount");
  pct.components[2].is_required = true;
  pct.discount_pct_e2 = 1000;  // 10 %
  REQUIRE(price_bundle(pct, {}, 1, price_of, q) == bundle_error::none);
  CHECK(q.original == 22500);
  CHECK(q.price == 20250);
  CHECK(q.discount_pct_e2 == 1000);

  auto sum = terms("flexible", "component_sum");
  REQUIRE(price_bundle(sum, {"a", "b"}, 1, price_of, q) == bundle_error::none);  // optional c not selected
  CHECK(q.components.size() == 2);
  CHECK(q.price == 20000);
  CHECK(q.discount == 0);
}

TEST_CASE("bundle selection, max quantity and quantity rules", "[product][rules][bundle]") {
  bundle_quote q;
  auto custom = terms("custom", "component_sum");
  CHECK(price_bundle(custom, {"a"}, 1, price_of, q) == bundle_error::selection_invalid);  // < 2
  CHECK(price_bundle(custom, {"a", "zzz"}, 1, price_of, q) == bundle_error::selection_invalid);
  REQUIRE(price_bundle(custom, {"a", "c"}, 1, price_of, q) == bundle_error::none);
  CHECK(q.price == 12500);

  auto capped = terms("flexible", "component_sum");
  capped.max_quantity = 3;
  CHECK(price_bundle(capped, {}, 4, price_of, q) == bundle_error::max_quantity);

  auto ruled = terms("flexible", "component_sum");
  ruled.rules = {{2, true, 500, 1}, {5, false, 1000, 2}};  // 5 % from 2 units; 10.00 off per bundle from 5
  REQUIRE(price_bundle(ruled, {}, 1, price_of, q) == bundle_error::none);
  CHECK(q.price == 22500);
  REQUIRE(price_bundle(ruled, {}, 2, price_of, q) == bundle_error::none);
  CHECK(q.price == 45000 - 2250);
  REQUIRE(price_bundle(ruled, {}, 5, price_of, q) == bundle_error::none);
  CHECK(q.price == 112500 - 5000);  // the higher-priority rule wins
}

TEST_CASE("bundle availability follows the scarcest component", "[product][rules][bundle]") {
  std::vector<bundle_component_spec> comps{{"a", 1, true}, {"b", 2, true}};
  auto avail = [](const std::string& id) -> std::optional<int64_t> { return id == "a" ? 10 : 7; };
  CHECK(bundle_availability(comps, avail) == std::optional<int64_t>{3});
  auto unknown = [](const std::string& id) -> std::optional<int64_t> {
    if (id == "a") return 10;
    return std::nullopt;
  };
  CHECK_FALSE(bundle_availability(comps, unknown).has_value());
}

TEST_CASE("iso 8601 parsing", "[product][rules]") {
  auto a = parse_iso("2024-05-01T10:00:00Z");
  auto b = parse_iso("2024-05-01T12:00:00+02:00");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
  CHECK(iso(*a) == "2024-05-01T10:00:00.000Z");
  CHECK_FALSE(parse_iso("yesterday"));
}

TEST_CASE("SEO generation texts", "[product][rules][seo]") {
  CHECK(seo_meta_title("Mug", "Hearth", "Kitchen") == "Mug | Kitchen");  // category wins
  CHECK(seo_meta_title("Mug", "Hearth", "") == "Mug - Hearth");
  std::string long_name(70, 'x');
  auto cut = seo_meta_title(long_name, "", "");
  CHECK(cut.size() == 60);
  CHECK(cut.substr(57) == "...");
  CHECK(seo_meta_description("", "Mug", "9.99", "Hearth") == "Buy Mug for $9.99 from Hearth");
  CHECK(seo_meta_description(std::string(200, 'd'), "Mug", "9.99", "").size() == 160);
  CHECK(seo_keywords("Mug", "Hearth", "Home & Kitchen") == "mug, hearth, home & kitchen");
}
