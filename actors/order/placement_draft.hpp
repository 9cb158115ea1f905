// The order a placement would write, built before anything is written: from the request, the
// customer's profile and the items the product agent resolved, the order and its lines, the stock
// to reserve, the line prices and the saga's starting context; then priced with the built-in steps
// (list price, flat-rate shipping, the tax table's rate). Plain C++: no actor, no database.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "customer/customer_messages.hpp"
#include "domain/json_input.hpp"
#include "inventory/inventory_messages.hpp"
#include "order/order_model.hpp"
#include "order/order_pricing.hpp"
#include "order/shipping_rates.hpp"
#include "product/product_messages.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::order {

struct placement_draft {
  order_record order;
  place_context context;
  std::vector<line_price> prices;                      // per line
  std::vector<expected_line> expected;                 // the client's expected unit prices (not for channel prices)
  std::vector<inventory::stock_line> stock;            // a bundle reserves its components
  std::unordered_map<std::string, std::string> sku_of;  // stock item id → SKU, for messages
};

// `items` are the product agent's answer for req.lines, in order. The ship-to is the body's, else
// the customer's default address; without either, an issue and nullopt.
std::optional<placement_draft> draft_placement(const place_request& req, const customer::customer_profile& customer,
                                               const std::vector<product::resolved_item>& items,
                                               const std::string& idempotency_key, const std::string& requested_by,
                                               input::issue_list& issues);

// Prices the draft: a discount of `points_value` (the redeemed points, valued by the customer
// agent) plus the store credit, shipping from `shipping` (or the channel's), tax at `tax_rate_e5`
// (or the channel's). Store credit beyond what the merchandise absorbs is not taken. Returns the
// conflict message when a figure the client expected is exceeded (409 price_changed), else "".
std::string price_draft(placement_draft& draft, const place_request& req, money::cents points_value,
                        const shipping_table& shipping, int64_t tax_rate_e5);

// The body issue a product agent refusal of resolve_items names (detail {"index": line}).
http::validation_issue product_refusal_issue(const failure& refusal);

}  // namespace mercato::order
