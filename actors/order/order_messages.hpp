// order's typed interface (agents/8000-order.md "Typed messages"), the part this agents use.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::order {

// The POST /orders body (all its forms), plus the caller's idempotency key.
// Errors: invalid (detail: the FastAPI issue list), customer_not_found, customer_inactive,
// product_not_found, insufficient_stock (conflict), price_changed (conflict), dependency_unavailable.
struct place_order {
  nlohmann::json body = nlohmann::json::object();
  std::string idempotency_key;
  std::string requested_by;
};
struct order_view {
  std::string order_id;
  std::string order_number;
  std::string status;
  std::string payment_status;
  std::string fulfillment_status;
  money::cents total_amount = 0;
  nlohmann::json view;  // the REST order_view document
};
struct get_order {  // order id or order number; errors: not_found
  std::string order_id;
};
struct cancel_order {  // errors: not_found, not_cancellable (conflict)
  std::string order_id;
  std::string reason;
  std::string requested_by;
  money::cents refund_amount = -1;
};
struct count_recent_orders {
  std::string customer_id;
  int64_t hours = 24;
  std::string exclude_order_id;
};

}  // namespace mercato::order

MERCATO_MESSAGE(mercato::order::place_order)
MERCATO_MESSAGE(mercato::order::order_view)
MERCATO_MESSAGE(mercato::order::get_order)
MERCATO_MESSAGE(mercato::order::cancel_order)
MERCATO_MESSAGE(mercato::order::count_recent_orders)

namespace mercato {
using order_actor = agent_actor::extend<
    caf::replies_to<order::place_order>::with<order::order_view>,
    caf::replies_to<order::get_order>::with<order::order_view>,
    caf::replies_to<order::cancel_order>::with<order::order_view>,
    caf::replies_to<order::count_recent_orders>::with<count_reply>,
    caf::replies_to<prune_idempotency_keys>::with<count_reply>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>>;
}  // namespace mercato
