// The REST `order_view` document (agents/8000-order.md) of a stored order, with the seed's and the
// dashboard's aliases. Plain C++.
#pragma once

#include <nlohmann/json.hpp>

#include "order/order_model.hpp"

namespace mercato::order {

nlohmann::json render_order_view(const order_record& o);
// The /orders/recent row: {id, customer, date, amount, status, marketplace}.
nlohmann::json render_recent_row(const order_record& o);
// Paid per line: total_price − discount + tax.
money::cents line_paid(const order_line& l);

}  // namespace mercato::order
