// product's typed interface (agents/8001-product.md "Typed messages"): what other agents send it.
#pragma once

#include <string>
#include <vector>

#include "domain/money.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::product {

// One order line to resolve: `ref` is a product id, variant id, bundle id or SKU.
struct item_ref {
  std::string ref;
  std::string variant_id;                         // optional
  int64_t quantity = 1;
  std::vector<std::string> selected_components;   // bundles
};
struct resolve_items {
  std::vector<item_ref> refs;
};

struct resolved_component {
  std::string item_id;  // the sellable id inventory keys on
  std::string sku;
  int64_t quantity = 1;  // per bundle unit
  money::cents unit_price = 0;
};

struct resolved_item {
  std::string kind;        // product | variant | bundle
  std::string item_id;     // what inventory keys on (product id, variant id, bundle id)
  std::string product_id;  // the parent product (= item_id for plain products)
  std::string variant_id;
  std::string sku;
  std::string name;
  std::string currency;
  std::string status;      // draft | active | archived
  std::string category;
  std::string image_url;
  money::cents list_price = 0;  // bundles: the bundle unit price
  money::cents cost = 0;
  int64_t weight_grams = 0;
  std::string dimensions_json;  // {"length":..,"width":..,"height":..,"unit":"cm"} or empty
  std::vector<resolved_component> components;  // bundles: expanded for stock
};

// Same order as the refs. Errors: not_found / inactive / variant_required /
// bundle_selection_invalid / bundle_max_quantity, each with detail {"index": i, "ref": "..."}.
struct resolved_items {
  std::vector<resolved_item> items;
};

// get_product (id or SKU) and get_products (ids ≤ 500; missing ids omitted).
struct get_product {
  std::string id_or_sku;
};
struct get_products {
  std::vector<std::string> ids;
};
using get_products_batch = get_products;  // the contract's alias: the same message
struct product_summary {
  std::string product_id;
  std::string sku;
  std::string name;
  std::string category;
  std::string currency;
  std::string status;
  std::string image_url;
  money::cents price = 0;
  money::cents cost = 0;
  int64_t weight_grams = 0;
};
struct product_summaries {
  std::vector<product_summary> products;
};

// get_products_by_sku: {sku → item id} for SKUs that exist.
struct get_products_by_sku {
  std::vector<std::string> skus;
};
struct sku_map {
  std::vector<std::pair<std::string, std::string>> items;  // (sku, item_id)
};

// list_products: the filters of GET /products → products (summaries) and the total over all pages.
struct list_products {
  std::string status = "active";  // draft | active | archived | all
  std::string category;           // free text / category name (case-insensitive)
  std::string category_id;
  bool include_subcategories = false;
  std::string brand;
  money::cents min_price = -1;  // < 0: no bound
  money::cents max_price = -1;
  std::string search;
  std::string sort;  // popular | newest | price_asc | price_desc | name (empty: newest, relevance with search)
  int64_t skip = 0;
  int64_t limit = 100;  // 1..1000
  std::string product_type;  // type code (exact, case-insensitive); empty: any
};
struct product_list {
  std::vector<product_summary> products;
  int64_t total = 0;
};

// bundle_price: BundlePriceCalculation of POST /bundles/{bundle_id}/price. Errors: not_found,
// selection_invalid, max_quantity (quantity above the bundle's max_quantity), invalid (quantity < 1).
struct bundle_price {
  std::string bundle_id;  // id or SKU
  std::vector<std::string> selected_components;
  int64_t quantity = 1;
};
struct bundle_price_line {
  std::string product_id;  // component item id
  std::string product_name;
  int64_t quantity = 0;  // component quantity × bundle quantity
  money::cents unit_price = 0;
  money::cents total = 0;
};
struct bundle_price_calculation {
  std::string bundle_id;
  int64_t quantity = 1;
  money::cents original_price = 0;
  money::cents bundle_price = 0;
  money::cents discount_amount = 0;
  int64_t discount_percentage_e2 = 0;  // 10 % = 1000
  std::vector<bundle_price_line> components_breakdown;
  int64_t available_quantity = -1;  // -1: unknown (inventory unavailable)
};

}  // namespace mercato::product

MERCATO_MESSAGE(mercato::product::list_products)
MERCATO_MESSAGE(mercato::product::product_list)
MERCATO_MESSAGE(mercato::product::bundle_price)
MERCATO_MESSAGE(mercato::product::bundle_price_calculation)
MERCATO_MESSAGE(mercato::product::resolve_items)
MERCATO_MESSAGE(mercato::product::resolved_items)
MERCATO_MESSAGE(mercato::product::get_product)
MERCATO_MESSAGE(mercato::product::get_products)
MERCATO_MESSAGE(mercato::product::product_summary)
MERCATO_MESSAGE(mercato::product::product_summaries)
MERCATO_MESSAGE(mercato::product::get_products_by_sku)
MERCATO_MESSAGE(mercato::product::sku_map)

namespace mercato {
using product_actor = agent_actor::extend<
    caf::replies_to<product::resolve_items>::with<product::resolved_items>,
    caf::replies_to<product::get_product>::with<product::product_summary>,
    caf::replies_to<product::get_products>::with<product::product_summaries>,
    caf::replies_to<product::get_products_by_sku>::with<product::sku_map>,
    caf::replies_to<product::list_products>::with<product::product_list>,
    caf::replies_to<product::bundle_price>::with<product::bundle_price_calculation>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>>;
}  // namespace mercato
