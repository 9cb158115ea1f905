// Pure rules of product types, attribute search and storefront URLs: type codes, product_type
// scope, the search texts of attribute values and the catalogue search they extend, base URLs.
#include <catch2/catch.hpp>

#include <set>

#include "domain/markup_escape.hpp"
#include "product/attribute_search.hpp"
#include "product/attributes.hpp"
#include "product/seo.hpp"

using namespace mercato;
using namespace mercato::product;
using nlohmann::json;

namespace {

product_record make_product(std::string id, std::string name, std::string type = {}) {
  product_record p;
  p.id = id;
  p.sku = "SKU-" + id;
  p.name = std::move(name);
  p.product_type = std::move(type);
  p.row_version = 1;
  return p;
}

attribute_definition def(std::string id, std::string type, bool searchable, std::string scope = "global",
                         std::vector<std::string> types = {}) {
  attribute_definition d;
  d.id = id;
  d.code = id;
  d.name = id;
  d.type = std::move(type);
  d.is_searchable = searchable;
  d.scope = std::move(scope);
  d.product_types = std::move(types);
  return d;
}

std::set<std::string> search(const catalog& cat, const std::string& q) {
  list_query lq;
  lq.search = q;
  lq.sort = "relevance";
  std::set<std::string> out;
  for (const auto* p : cat.list(lq).page) out.insert(p->id);
  return out;
}

}  // namespace

TEST_CASE("product type codes are trimmed, lower-cased and checked", "[product][rules][product_type]") {
  CHECK(product_type_code("Shoe") == std::optional<std::string>{"shoe"});
  CHECK(product_type_code("  smart_tv-4k ") == std::optional<std::string>{"smart_tv-4k"});
  CHECK(product_type_code("3d-printer") == std::optional<std::string>{"3d-printer"});
  CHECK_FALSE(product_type_code(""));
  CHECK_FALSE(product_type_code("   "));
  CHECK_FALSE(product_type_code("_shoe"));
  CHECK_FALSE(product_type_code("running shoe"));
  CHECK_FALSE(product_type_code("chaussure/été"));
  CHECK_FALSE(product_type_code(std::string(65, 'a')));
  CHECK(product_type_code(std::string(64, 'a')));
}

TEST_CASE("product_type scope applies to products of a listed type only", "[product][rules][product_type]") {
  catalog cat;
  catalog_snapshot s;
  s.products = {make_product("p-shoe", "Runner", "shoe"), make_product("p-boot", "Hiker", "boot"),
                make_product("p-tv", "Screen", "tv"), make_product("p-none", "Plain")};
  cat.load(std::move(s));
  attribute_catalog attrs;
  attrs.load({def("shoe_size", "number", false, "product_type", {"shoe", "boot"}), def("color", "text", false),
              def("required_size", "number", false, "product_type", {"shoe"})},
             {});
  attribute_definition required = *attrs.find("required_size");
  required.is_required = true;
  attrs.put_definition(required);
  const auto& shoe_size = *attrs.find("shoe_size");
  CHECK(attrs.applies(shoe_size, *cat.product("p-shoe"), cat));
  CHECK(attrs.applies(shoe_size, *cat.product("p-boot"), cat));
  CHECK_FALSE(attrs.applies(shoe_size, *cat.product("p-tv"), cat));
  CHECK_FALSE(attrs.applies(shoe_size, *cat.product("p-none"), cat));  // no type: no typed attributes
  CHECK(attrs.applies(*attrs.find("color"), *cat.product("p-none"), cat));

  std::vector<std::string> codes;
  for (const auto* d : attrs.applicable(*cat.product("p-tv"), cat)) codes.push_back(d->code);
  CHECK(codes == std::vector<std::string>{"color"});

  CHECK(attrs.missing_required(*cat.product("p-shoe"), cat, nullptr) == std::vector<std::string>{"required_size"});
  CHECK(attrs.missing_required(*cat.product("p-boot"), cat, nullptr).empty());

  // A stored value stops counting when the product's type no longer matches, and counts again after.
  attrs.put_values("p-shoe", {{"shoe_size", json(42.0)}});
  CHECK(attrs.applicable_value(shoe_size, *cat.product("p-shoe"), cat) != nullptr);
  product_record retyped = *cat.product("p-shoe");
  retyped.product_type = "tv";
  ++retyped.row_version;
  cat.put_product(retyped);
  CHECK(attrs.applicable_value(shoe_size, *cat.product("p-shoe"), cat) == nullptr);
  CHECK(attrs.value("p-shoe", "shoe_size") != nullptr);  // kept
  CHECK(attrs.facets({cat.product("p-shoe")}, cat).empty());
}

TEST_CASE("attribute values give search texts by type", "[product][rules][search]") {
  CHECK(attribute_search_terms(def("m", "text", true), "Merino Wool") == std::vector<std::string>{"merino wool"});
  auto finish = def("f", "select", true);
  finish.options = json::array({json{{"value", "ss"}, {"label", "Brushed Steel"}}, "matte"});
  CHECK(attribute_search_terms(finish, "ss") == std::vector<std::string>{"ss", "brushed steel"});
  CHECK(attribute_search_terms(finish, "matte") == std::vector<std::string>{"matte"});
  auto tags = def("t", "multiselect", true);
  CHECK(attribute_search_terms(tags, json{"Vegan", "Recycled"}) == std::vector<std::string>{"vegan", "recycled"});
  auto screen = def("s", "dimension", true);
  screen.unit = "in";
  CHECK(attribute_search_terms(screen, 55.0) == std::vector<std::string>{"55 in"});
  CHECK(attribute_search_terms(def("n", "number", true), 2.5) == std::vector<std::string>{"2.5"});
  CHECK(attribute_search_terms(def("d", "date", true), "2024-03-01") == std::vector<std::string>{"2024-03-01"});
  CHECK(attribute_search_terms(def("b", "boolean", true), true).empty());

  CHECK(attribute_search_score("wool", {"merino wool"}) > 1.2);
  CHECK(attribute_search_score("merino wool", {"merino wool"}) > attribute_search_score("wool", {"merino wool"}));
  CHECK(attribute_search_score("cotton", {"merino wool"}) == 0.0);
  CHECK(attribute_search_score("", {"merino wool"}) == 0.0);
}

TEST_CASE("catalogue search matches searchable attribute values and follows every update",
          "[product][rules][search]") {
  catalog cat;
  catalog_snapshot s;
  s.products = {make_product("p1", "Trail Jacket", "jacket"), make_product("p2", "City Coat", "jacket"),
                make_product("p3", "Mug")};
  cat.load(std::move(s));
  attribute_catalog attrs;
  attrs.load({def("material", "text", true), def("internal_code", "text", false),
              def("lining", "text", true, "product_type", {"jacket"})},
             {{"p1", "material", "Xylofiber"}, {"p1", "internal_code", "zq-secret"}, {"p3", "lining", "Quiltex"}});
  CHECK(search(cat, "xylofiber").empty());  // no extension yet: own fields only
  cat.set_search_extension(&attrs);

  CHECK(search(cat, "XYLOFIBER") == std::set<std::string>{"p1"});
  CHECK(search(cat, "zq-secret").empty());  // not searchable
  CHECK(search(cat, "quiltex").empty());    // p3 has no type: lining does not apply to it
  CHECK(search(cat, "trail") == std::set<std::string>{"p1"});  // own fields still first

  // A product's new values replace the old ones at once.
  attrs.put_values("p1", {{"material", json("Cotton")}, {"internal_code", json("zq-secret")}});
  CHECK(search(cat, "xylofiber").empty());
  CHECK(search(cat, "cotton") == std::set<std::string>{"p1"});
  attrs.put_values("p2", {{"lining", json("Quiltex")}});
  CHECK(search(cat, "quiltex") == std::set<std::string>{"p2"});

  // A definition turned searchable (or not) and a deleted definition change what is found.
  attribute_definition code = *attrs.find("internal_code");
  code.is_searchable = true;
  attrs.put_definition(code);
  CHECK(search(cat, "zq-secret") == std::set<std::string>{"p1"});
  attribute_definition material = *attrs.find("material");
  material.is_searchable = false;
  attrs.put_definition(material);
  CHECK(search(cat, "cotton").empty());
  attrs.remove_definition("internal_code");
  CHECK(search(cat, "zq-secret").empty());

  // A type change makes the product's typed values stop (and start) matching.
  product_record p2 = *cat.product("p2");
  p2.product_type = "coat";
  ++p2.row_version;
  cat.put_product(p2);
  CHECK(search(cat, "quiltex").empty());
  p2.product_type = "jacket";
  ++p2.row_version;
  cat.put_product(p2);
  CHECK(search(cat, "quiltex") == std::set<std::string>{"p2"});

  // Deleted products are not found, by attribute either.
  p2.deleted_at = 1;
  p2.status = "archived";
  ++p2.row_version;
  cat.put_product(p2);
  CHECK(search(cat, "quiltex").empty());
}

TEST_CASE("storefront URLs under the configured base URL", "[product][rules][seo]") {
  CHECK(product_page_url("https://shop.example.com", "mug") == "https://shop.example.com/products/mug");
  CHECK(product_page_url("https://shop.example.com/", "mug") == "https://shop.example.com/products/mug");
  CHECK(product_page_url(" https://shop.example.com/store// ", "mug") == "https://shop.example.com/store/products/mug");
  CHECK(product_page_url("", "mug") == "/products/mug");
  CHECK(markup_escape("https://x.example/?a=1&b=<2>") == "https://x.example/?a=1&amp;b=&lt;2&gt;");

  catalog cat;
  catalog_snapshot s;
  s.products = {make_product("p1", "Ceramic Mug")};
  cat.load(std::move(s));
  const product_record& p = *cat.product("p1");
  CHECK(generate_seo(cat, p, "ceramic-mug", "https://shop.example.com/").canonical_url ==
        std::optional<std::string>{"https://shop.example.com/products/ceramic-mug"});

  // A stored canonical URL from an earlier base follows the current one unless set by hand.
  seo_catalog seo;
  seo_record stored = generate_seo(cat, p, "ceramic-mug", "http://old.example");
  seo.put(stored);
  CHECK(seo_json(cat, seo, p, "https://new.example")["canonical_url"] == "https://new.example/products/ceramic-mug");
  stored.canonical_url = "https://elsewhere.example/mug";
  stored.overridden = {"canonical_url"};
  seo.put(stored);
  CHECK(seo_json(cat, seo, p, "https://new.example")["canonical_url"] == "https://elsewhere.example/mug");
}
