// Order-line resolution (typed message resolve_items) and the product summaries of get_product /
// get_products, computed from the in-memory catalogue. Plain functions over message structs.
#pragma once

#include <optional>
#include <string>

#include "product/catalog.hpp"
#include "product/product_messages.hpp"

namespace mercato::product {

struct resolve_failure {
  std::string code;  // not_found | inactive | variant_required | bundle_selection_invalid | bundle_max_quantity | invalid
  std::string message;
  int64_t index = 0;
  std::string ref;
};

// Items in ref order, or the first failing ref.
std::optional<resolve_failure> resolve(const catalog& cat, const resolve_items& request, resolved_items& out);

// Summary of a product, variant or bundle by id or SKU; nullopt when unknown.
std::optional<product_summary> summarize(const catalog& cat, const std::string& id_or_sku);

// list_products: the GET /products list as summaries; nullopt + `error` when a filter is invalid.
std::optional<product_list> list_summaries(const catalog& cat, const list_products& m, std::string& error);

// bundle_price (and POST /bundles/{bundle_id}/price): the calculation, or the failure
// (code not_found | selection_invalid | max_quantity | invalid). Selections may name SKUs.
std::optional<resolve_failure> quote_bundle(const catalog& cat, const bundle_price& m, bundle_price_calculation& out);

}  // namespace mercato::product
