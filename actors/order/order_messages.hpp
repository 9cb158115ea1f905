// order's typed interface (agents/8000-order.md "Typed messages"), the part this agents use.
#pragma once

#include <string>
#include <utility>
#include <vector>

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
// Orders of a customer in the last `hours` (fraud velocity), counted up to 100: the signal
// saturates long before, and a busy account must not make each placement scan its whole day.
struct count_recent_orders {
  std::string customer_id;
  int64_t hours = 24;
  std::string exclude_order_id;
};

// {order_id, status, payment_status, saga_state} of an order (promotion). Errors: not_found.
struct get_order_status {
  std::string order_id;
};
struct order_status_reply {
  std::string order_id;
  std::string status;
  std::string payment_status;
  std::string saga_state;  // the latest place saga's state, "" when none
};
// Orders of a customer not cancelled/delivered/returned/refunded (customer).
struct count_open_orders {
  std::string customer_id;
};
// What payment may collect for an order. Errors: not_found.
struct get_order_payable {
  std::string order_id;
};
struct order_payable {
  std::string order_id;
  std::string customer_id;
  std::string currency;
  money::cents total_amount = 0;
  money::cents amount_authorized = 0;
  money::cents balance_due = 0;
  std::string status;
  std::string payment_status;
};
// A status change through the transition table. Errors: not_found, invalid, illegal_transition.
struct update_status {
  std::string order_id;
  std::string status;
  std::string actor;
  std::string reason;
};

// The pricing step without side effects (d2c carts): the POST /orders/quote body → its document.
// Errors: invalid (detail: the issue list), product_not_found, dependency_unavailable.
struct quote_order {
  nlohmann::json body = nlohmann::json::object();
};
struct order_quote {
  nlohmann::json quote;
};
// Orders per status, created in [from, to) (ISO 8601; empty = unbounded) (backoffice).
struct count_orders_by_status {
  std::string from;
  std::string to;
};
struct status_counts {
  std::vector<std::pair<std::string, int64_t>> counts;
};

}  // namespace mercato::order

MERCATO_MESSAGE(mercato::order::quote_order)
MERCATO_MESSAGE(mercato::order::order_quote)
MERCATO_MESSAGE(mercato::order::count_orders_by_status)
MERCATO_MESSAGE(mercato::order::status_counts)
MERCATO_MESSAGE(mercato::order::get_order_status)
MERCATO_MESSAGE(mercato::order::order_status_reply)
MERCATO_MESSAGE(mercato::order::count_open_orders)
MERCATO_MESSAGE(mercato::order::get_order_payable)
MERCATO_MESSAGE(mercato::order::order_payable)
MERCATO_MESSAGE(mercato::order::update_status)
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
    caf::reacts_to<event>,
    caf::replies_to<order::get_order_status>::with<order::order_status_reply>,
    caf::replies_to<order::count_open_orders>::with<count_reply>,
    caf::replies_to<order::get_order_payable>::with<order::order_payable>,
    caf::replies_to<order::update_status>::with<order::order_view>,
    caf::replies_to<order::quote_order>::with<order::order_quote>,
    caf::replies_to<order::count_orders_by_status>::with<order::status_counts>>;
}  // namespace mercato
