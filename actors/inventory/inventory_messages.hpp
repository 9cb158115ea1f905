// inventory's typed interface (agents/8002-inventory.md "Typed messages").
#pragma once

#include <string>
#include <vector>

#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::inventory {

// A quantity of one item, optionally pinned to a warehouse (id or code).
struct stock_line {
  std::string product_id;  // item id (product, variant or bundle component)
  int64_t quantity = 0;
  std::string warehouse_id;  // optional
};

// Per-warehouse numbers of one level (check_availability form 2, stock_snapshot).
struct stock_level_row {
  std::string product_id;
  std::string warehouse_id;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t available = 0;
};

// Form 1 (order lines). Errors: unknown_item (invalid, detail {"product_id"}).
struct check_availability {
  std::vector<stock_line> lines;
};
// Form 2 of check_availability (warehouse agent), a message of its own so that form 1 callers'
// aggregate initialisation stays as it was: every level of `product_ids` (in `warehouse_ids`, ids
// or codes, when given), ordered by (product_id, warehouse_id). Unknown ids are simply absent.
struct check_availability_levels {
  std::vector<std::string> product_ids;
  std::vector<std::string> warehouse_ids;
};
struct warehouse_available {
  std::string warehouse_id;
  std::string warehouse_code;
  int64_t available = 0;
};
struct line_availability {
  std::string product_id;
  int64_t requested = 0;
  int64_t total_available = 0;
  std::vector<warehouse_available> warehouses;
  bool available = false;
};
struct availability_report {
  std::vector<line_availability> lines;
  bool all_available = false;
  std::string single_warehouse_id;  // one warehouse that can serve every line, if any
};

// All-or-nothing, idempotent by order_id (same lines → the existing set; other lines → conflict).
// Errors: insufficient_stock (conflict, detail {product_id, requested, available}), conflict.
struct reserve_stock {
  std::string order_id;
  std::vector<stock_line> lines;
  // 60..604800 by contract; typed callers may go down to 1 s (tests exercise expiry with it).
  int64_t ttl_seconds = 900;
  bool prefer_single_warehouse = true;
};
struct reservation {
  std::string reservation_id;
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity = 0;
  std::string status;      // active | confirmed | released | expired | fulfilled
  std::string expires_at;  // ISO 8601, empty once confirmed
};
struct reservation_set {
  std::string order_id;
  std::vector<reservation> reservations;
  bool replayed = false;  // reserve_stock: the order already held this set (nothing new reserved)
};

struct extend_reservations {  // errors: not_found
  std::string order_id;
  int64_t ttl_seconds = 900;
};
struct confirm_reservations {  // errors: expired (conflict; nothing changed)
  std::string order_id;
};
struct release_reservations {  // releasing nothing is success
  std::string order_id;
  std::vector<stock_line> lines;  // empty = all of the order's live reservations
  std::string reason;
};
struct release_result {
  int64_t released = 0;  // reservations released by this call
  int64_t units = 0;
};
// Ships reserved units: quantity and reserved both drop. Idempotent by reference (shipment id).
// Errors: not_reserved (conflict, detail {product_id}).
struct fulfill_reservations {
  std::string order_id;
  std::vector<stock_line> lines;
  std::string reference;
};
struct fulfillment_result {
  std::vector<std::string> movement_ids;
};

struct get_stock_summary {
  std::vector<std::string> product_ids;
};
struct item_stock {
  std::string product_id;
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t available = 0;
};
struct stock_summary {
  std::vector<item_stock> items;  // one per known requested id
};

// Inbound stock (purchase, transfer, initial_stock, count). Idempotent by reference.
// Errors: unknown_item, unknown_warehouse (invalid).
struct receive_stock {
  std::string product_id;
  std::string warehouse_id;  // id or code; empty = the default warehouse
  int64_t quantity = 0;
  std::string reason = "purchase";
  std::string reference;
};
struct movement_record {
  std::string movement_id;
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity_change = 0;
  int64_t quantity_after = 0;
  int64_t available_after = 0;
};

// The sweeper's function (also the infrastructure agent's reservations_sweep job).
struct release_expired_reservations {};
struct sweep_result {
  int64_t released = 0;
  int64_t units = 0;
};

// Restock of returned units (returns agent; reference `return:<return_id>:<item>`): a ledger row
// of type return. Idempotent by reference. Errors: unknown_item, unknown_warehouse (invalid).
struct receive_returned_stock {
  std::string product_id;
  std::string warehouse_id;  // id or code; empty = the default warehouse
  int64_t quantity = 0;
  std::string reference;
};

// Counts (outbound/adjustment) and corrections. Only unreserved units may leave; idempotent by
// reference. Errors: insufficient_unreserved (conflict), unknown_item, unknown_warehouse.
struct adjust_stock {
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity_change = 0;          // signed, ≠ 0
  std::string movement_type = "adjustment";  // adjustment | inbound | outbound
  std::string reference;
  std::string notes;
};
struct transfer_stock {
  std::string product_id;
  std::string from_warehouse_id;
  std::string to_warehouse_id;
  int64_t quantity = 0;  // > 0
  std::string reference;
};
struct transfer_result {
  std::vector<movement_record> movements;  // transfer_out, transfer_in
};

// d2c's cart check: available units over all warehouses (items inventory does not know: omitted).
struct get_availability {
  std::vector<std::string> product_ids;
};
struct item_available {
  std::string product_id;
  int64_t available = 0;
};
struct availability_list {
  std::vector<item_available> items;
};

// backoffice: levels ordered by (product_id, warehouse_id), and the open alert counts.
struct stock_snapshot {
  std::string warehouse_id;  // optional, id or code
  int64_t skip = 0;
  int64_t limit = 100;
};
struct stock_levels {
  std::vector<stock_level_row> levels;
};
struct count_low_stock {};
struct low_stock_count {
  int64_t warning = 0;
  int64_t critical = 0;
};

}  // namespace mercato::inventory

MERCATO_MESSAGE(mercato::inventory::check_availability)
MERCATO_MESSAGE(mercato::inventory::availability_report)
MERCATO_MESSAGE(mercato::inventory::reserve_stock)
MERCATO_MESSAGE(mercato::inventory::reservation_set)
MERCATO_MESSAGE(mercato::inventory::extend_reservations)
MERCATO_MESSAGE(mercato::inventory::confirm_reservations)
MERCATO_MESSAGE(mercato::inventory::release_reservations)
MERCATO_MESSAGE(mercato::inventory::release_result)
MERCATO_MESSAGE(mercato::inventory::fulfill_reservations)
MERCATO_MESSAGE(mercato::inventory::fulfillment_result)
MERCATO_MESSAGE(mercato::inventory::get_stock_summary)
MERCATO_MESSAGE(mercato::inventory::stock_summary)
MERCATO_MESSAGE(mercato::inventory::receive_stock)
MERCATO_MESSAGE(mercato::inventory::movement_record)
MERCATO_MESSAGE(mercato::inventory::release_expired_reservations)
MERCATO_MESSAGE(mercato::inventory::sweep_result)
MERCATO_MESSAGE(mercato::inventory::check_availability_levels)
MERCATO_MESSAGE(mercato::inventory::receive_returned_stock)
MERCATO_MESSAGE(mercato::inventory::adjust_stock)
MERCATO_MESSAGE(mercato::inventory::transfer_stock)
MERCATO_MESSAGE(mercato::inventory::transfer_result)
MERCATO_MESSAGE(mercato::inventory::get_availability)
MERCATO_MESSAGE(mercato::inventory::availability_list)
MERCATO_MESSAGE(mercato::inventory::stock_snapshot)
MERCATO_MESSAGE(mercato::inventory::stock_levels)
MERCATO_MESSAGE(mercato::inventory::count_low_stock)
MERCATO_MESSAGE(mercato::inventory::low_stock_count)

namespace mercato {
using inventory_actor = agent_actor::extend<
    caf::replies_to<inventory::check_availability>::with<inventory::availability_report>,
    caf::replies_to<inventory::reserve_stock>::with<inventory::reservation_set>,
    caf::replies_to<inventory::extend_reservations>::with<inventory::reservation_set>,
    caf::replies_to<inventory::confirm_reservations>::with<inventory::reservation_set>,
    caf::replies_to<inventory::release_reservations>::with<inventory::release_result>,
    caf::replies_to<inventory::fulfill_reservations>::with<inventory::fulfillment_result>,
    caf::replies_to<inventory::get_stock_summary>::with<inventory::stock_summary>,
    caf::replies_to<inventory::receive_stock>::with<inventory::movement_record>,
    caf::replies_to<inventory::release_expired_reservations>::with<inventory::sweep_result>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>,
    caf::replies_to<inventory::receive_returned_stock>::with<inventory::movement_record>,
    caf::replies_to<inventory::adjust_stock>::with<inventory::movement_record>,
    caf::replies_to<inventory::transfer_stock>::with<inventory::transfer_result>,
    caf::replies_to<inventory::get_availability>::with<inventory::availability_list>,
    caf::replies_to<inventory::stock_snapshot>::with<inventory::stock_levels>,
    caf::replies_to<inventory::count_low_stock>::with<inventory::low_stock_count>,
    caf::replies_to<inventory::check_availability_levels>::with<inventory::stock_levels>>;
}  // namespace mercato
