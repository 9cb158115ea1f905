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

}  // namespace mercato::product
