// Sales figures shared by the dashboard analytics (/analytics/sales, enhanced_analytics.cpp) and the
// typed sales_summary: counted orders are those not pending/cancelled, revenue = Σ(total_amount −
// amount_refunded) (agents/8000-order.md Rules), product revenue = Σ(total_price − discount_amount).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "order/order_messages.hpp"

namespace mercato::order {

// The best `limit` products of the orders created in [start, end) (timestamptz texts), by revenue
// then product id.
std::vector<product_sales> top_products(pqxx::work& tx, const std::string& start, const std::string& end,
                                        int64_t limit = 10);
// The whole summary of [from, to) (ISO 8601; empty = unbounded; a bare date as `to` includes that
// day). Throws pqxx::data_exception on an unparsable bound.
sales_summary_reply summarize_sales(pqxx::work& tx, const std::string& from, const std::string& to);

}  // namespace mercato::order
