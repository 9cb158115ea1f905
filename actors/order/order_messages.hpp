// order's typed interface (agents/8000-order.md "Typed messages"), the part this agents use.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"
#include "order/order_model.hpp"

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

// The filters of GET /orders (the contract's `list_orders`; named so it does not collide with the
// store function) → that page of orders and the filter's total. Errors: invalid (unknown status or
// sort field, skip < 0, limit outside 1..1000, unparsable date).
struct list_orders_query {
  order_filter filter;
};
struct order_list {
  std::vector<order_view> orders;
  int64_t total = 0;
};

// Sales of orders created in [from, to) (ISO 8601 date or time; empty = unbounded), grouped by
// day (UTC). Counted orders and revenue as the analytics Rules: not pending/cancelled, revenue =
// Σ(total_amount − amount_refunded); top_products: the 10 best by line revenue (total_price −
// discount_amount). Errors: invalid (group_by other than "day", unparsable bound).
struct sales_summary {
  std::string from;
  std::string to;
  std::string group_by = "day";
};
struct sales_bucket {  // one day (date = YYYY-MM-DD) or one channel (date = the channel)
  std::string key;
  int64_t orders = 0;
  money::cents revenue = 0;
};
struct product_sales {
  std::string product_id;
  std::string name;
  int64_t units = 0;
  money::cents revenue = 0;
};
struct sales_summary_reply {
  int64_t orders = 0;
  money::cents revenue = 0;
  std::string currency;
  std::vector<sales_bucket> by_day;      // key = date, oldest first
  std::vector<sales_bucket> by_channel;  // key = channel, best first
  std::vector<product_sales> top_products;
};

// A carrier/transport status for a partial shipment of the order (the same handler the transport
// events would use). Transport statuses map onto the shipment's: label_created → tracking data only;
// picked_up → shipped (hand-over: capture + stock commit); in_transit, customs → in_transit;
// out_for_delivery; delivered (the order delivered once every shipment is); failed_delivery,
// failed → failed; returned; exception, cancelled → tracking data only. A repeated or stale event
// (the shipment is already there or further) changes nothing. Errors: not_found (order or
// shipment, or the shipment is not the order's), invalid (unknown status), conflict (capture
// declined on hand-over).
struct record_shipment_event {
  std::string order_id;
  std::string order_shipment_id;
  std::string status;
  std::string tracking_number;
  std::string carrier;
  std::string occurred_at;  // ISO 8601; empty = now (the delivery time for `delivered`)
};
struct shipment_event_result {  // the contract's "ok"
  bool ok = true;
  bool applied = false;      // false: repeated / stale event, nothing changed
  std::string status;        // the shipment's status after the event
};

// A replacement (exchange) order: same customer, addresses and lines of the original, at 0.00,
// no fraud or payment step (payment_status not_required), confirmed once its stock is reserved and
// confirmed at inventory. Idempotent by `reference` (the same reference → the same order).
// Errors: not_found (original order), invalid (detail: the issue list: empty items, unknown line
// or product of the original, quantity < 1 or above the line's), insufficient_stock (conflict),
// dependency_unavailable.
struct replacement_item {
  std::string order_item_id;  // item UUID or line number of the original order, or
  std::string product_id;     // a product id / SKU of one of its lines
  int64_t quantity = 0;
};
struct place_replacement_order {
  std::string original_order_id;  // UUID or order number
  std::vector<replacement_item> items;
  std::string reason;
  std::string reference;
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
MERCATO_MESSAGE(mercato::order::list_orders_query)
MERCATO_MESSAGE(mercato::order::order_list)
MERCATO_MESSAGE(mercato::order::sales_summary)
MERCATO_MESSAGE(mercato::order::sales_summary_reply)
MERCATO_MESSAGE(mercato::order::record_shipment_event)
MERCATO_MESSAGE(mercato::order::shipment_event_result)
MERCATO_MESSAGE(mercato::order::place_replacement_order)

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
    caf::replies_to<order::count_orders_by_status>::with<order::status_counts>,
    caf::replies_to<order::list_orders_query>::with<order::order_list>,
    caf::replies_to<order::sales_summary>::with<order::sales_summary_reply>,
    caf::replies_to<order::record_shipment_event>::with<order::shipment_event_result>,
    caf::replies_to<order::place_replacement_order>::with<order::order_view>>;
}  // namespace mercato
