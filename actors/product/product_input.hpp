// Request bodies of the product agent's write endpoints, read the FastAPI way (every problem
// collected as {loc, msg, type}) into plain structs the store writes. Plain C++, no CAF.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/json_input.hpp"
#include "product/catalog.hpp"

namespace mercato::product {

enum class body_mode { create, replace, patch };

// Editable product fields; an empty optional means "not given" (PATCH keeps the stored value).
struct product_input {
  std::optional<std::string> sku, name, description, category, category_id, brand, currency,
      condition, grade, status, weight, dimensions_json, metadata_json;
  std::optional<money::cents> price;
  std::optional<std::optional<money::cents>> cost, compare_at_price;  // inner nullopt = clear
  std::optional<std::vector<std::string>> tags;
  std::optional<std::vector<image>> images;
  std::optional<std::string> product_type;  // a type code; "" = clear (null or empty in the body)
  int64_t stock_quantity = 0;
};

product_input read_product_body(input::body_reader& in, body_mode mode);

// The stored product after applying `in` on top of `base` (create: base is a fresh record).
// Resolves the category text / id against `cat` (422 issues go to `in`).
product_record apply_product_input(const product_input& input, product_record base,
                                   const catalog& cat, input::object_reader& in);

struct category_input {
  std::optional<std::string> name, parent_id, description, image_url, seo_title, seo_description,
      seo_keywords;
  bool parent_given = false;  // "parent_id": null moves to the root on PUT
  std::optional<int64_t> display_order;
};
category_input read_category_body(input::body_reader& in, bool create);

struct variant_input {
  std::optional<std::string> sku, name, weight;
  std::optional<std::vector<std::pair<std::string, std::string>>> attributes;
  std::optional<money::cents> price;
  std::optional<std::optional<money::cents>> compare_at_price, cost;
  std::optional<bool> is_master;
  std::optional<int64_t> sort_order;
};
variant_input read_variant_body(input::body_reader& in, bool create);

struct bundle_input {
  bundle_record bundle;  // id/created_at filled by the caller
};
// Validates a POST/PUT /bundles body against the catalogue (components must exist and be active).
bundle_record read_bundle_body(input::body_reader& in, const catalog& cat);

// "2024-05-01T10:00:00Z" (also with offset / fraction) → micros; nullopt when not ISO 8601.
std::optional<micros> parse_iso(const std::string& text);

}  // namespace mercato::product
