// The inventory agent's operations over its schema. Every operation that changes stock runs in the
// caller's transaction as: lock the stock_levels rows of the items involved (FOR UPDATE, ordered by
// product_id then warehouse_id, lock_timeout 3 s), decide in C++ on the locked values
// (stock_rules.hpp), then write everything with ONE statement (stock_writer.hpp). Domain refusals
// come back as result::error with nothing written.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "inventory/inventory_messages.hpp"
#include "inventory/stock_rules.hpp"
#include "inventory/stock_writer.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::inventory::store {

// A value, or the domain failure that refused the operation (nothing written).
template <class T>
struct result {
  std::optional<failure> error;
  T value{};
  bool ok() const noexcept { return !error; }
};

using register_ptr = std::shared_ptr<const warehouse_register>;



warehouse_register load_warehouses(pqxx::transaction_base& tx);

// --- typed messages -------------------------------------------------------------------------
result<availability_report> check_availability(pqxx::transaction_base& tx, const std::vector<stock_line>& lines,
                                               const warehouse_register& reg);
// The same for several requests with ONE read of the levels of all their items (the agent's shared
// reads): one result per request, in their order.
std::vector<result<availability_report>> check_availability(pqxx::transaction_base& tx,
                                                            const std::vector<std::vector<stock_line>>& requests,
                                                            const warehouse_register& reg);
// per_item: the idempotency check looks only at the order's reservations of the requested items
// (REST reserves one item per call); otherwise at the order's whole live set (the saga's door).
result<reservation_set> reserve(pqxx::work& tx, const reserve_stock& req, const warehouse_register& reg,
                                bool per_item = false);
// Several orders' reserve (the saga's door) in one transaction: one lock statement and ONE write
// for all of them, answers in request order, each as reserve() would give it alone. One order's
// refusal (insufficient stock, conflict, bad input) touches none of the others; orders earlier in
// `reqs` are served first.
std::vector<result<reservation_set>> reserve_batch(pqxx::work& tx, const std::vector<reserve_stock>& reqs,
                                                   const warehouse_register& reg);
result<reservation_set> extend(pqxx::work& tx, const std::string& order_id, int64_t ttl_seconds);
result<reservation_set> confirm(pqxx::work& tx, const std::string& order_id,
                                const std::vector<std::string>& reservation_ids = {});
// confirm(tx, order_id)'s common case as ONE statement for all of `order_ids`, for a unit without
// BEGIN/COMMIT: an order whose reservations (the ones confirm() would look at) are all active and
// unexpired has them all confirmed and gets them back as confirm() would answer; any other order
// gets nullopt and nothing of it is written (run confirm() to decide). Answers follow `order_ids`.
// Like confirm(), it changes no stock level and writes no event.
std::vector<std::optional<reservation_set>> confirm_all_active(pqxx::transaction_base& tx,
                                                               const std::vector<std::string>& order_ids);
// Releases the order's live reservations (of `lines`' items when given), or the ones in
// `reservation_ids` when order_id is empty.
result<release_result> release(pqxx::work& tx, const std::string& order_id,
                               const std::vector<stock_line>& lines,
                               const std::vector<std::string>& reservation_ids, const std::string& reason,
                               const warehouse_register& reg);
result<fulfillment_result> fulfill(pqxx::work& tx, const fulfill_reservations& req,
                                   const warehouse_register& reg);
stock_summary summary(pqxx::work& tx, const std::vector<std::string>& product_ids);
// inbound (receive_stock), and every POST /inventory/move type; idempotent by reference.
struct move_request {
  std::string product_id;
  std::string warehouse_id;     // id or code
  std::string to_warehouse_id;  // transfer only
  int64_t quantity_change = 0;  // signed
  std::string movement_type;    // inbound outbound transfer adjustment return
  std::string reference;
  std::string notes;
  bool create_level = false;    // first inbound creates the level
};
struct move_outcome {
  std::vector<movement_record> movements;
  bool replayed = false;
};
result<move_outcome> move(pqxx::work& tx, const move_request& req, const warehouse_register& reg);
// check_availability form 2.
std::vector<stock_level_row> levels_of(pqxx::transaction_base& tx, const std::vector<std::string>& product_ids,
                                       const std::vector<std::string>& warehouse_ids);
stock_levels snapshot(pqxx::transaction_base& tx, const std::string& warehouse_id, int64_t skip, int64_t limit);
low_stock_count count_low(pqxx::work& tx);
sweep_result release_expired(pqxx::work& tx, int64_t batch = 500);
outbox_stats_reply outbox_statistics(pqxx::work& tx);

// --- REST reads and writes --------------------------------------------------------------------
// PUT /inventory/{p}/{w}: quantity (adjustment movement), reorder_point, max_stock, location.
struct level_update {
  std::string product_id;
  std::string warehouse_id;
  std::optional<int64_t> quantity, reorder_point, max_stock;
  std::optional<std::string> location;
  bool allow_create = false;  // the item has no level anywhere yet, but the product agent knows it
};
result<nlohmann::json> update_level(pqxx::work& tx, const level_update& u, const warehouse_register& reg);

struct level_view {
  std::string inventory_id, product_id, warehouse_id, location, last_updated;
  int64_t quantity = 0, reserved = 0, available = 0, reorder_point = 0, max_stock = 0;
};
struct level_filter {
  std::string product_id;    // exact item id
  std::string warehouse_id;  // exact id
  std::string stock_status;  // low | out | in
};
std::vector<level_view> list_levels(pqxx::work& tx, const level_filter& f);

struct reservation_filter {
  std::string order_id, product_id, status;
  int64_t skip = 0, limit = 100;
};
std::vector<reservation> list_reservations(pqxx::work& tx, const reservation_filter& f);
std::optional<reservation> get_reservation(pqxx::work& tx, const std::string& reservation_id);

nlohmann::json alerts(pqxx::work& tx, const std::string& status, const std::string& level);
nlohmann::json low_stock(pqxx::work& tx);
nlohmann::json value_totals(pqxx::work& tx);  // units per warehouse, plus per-item on hand
nlohmann::json movement_analytics(pqxx::work& tx, int64_t days, const std::string& movement_type);

// Re-evaluates every level's alert state (start-up, and after seed loads); returns transitions.
int64_t reevaluate_alerts(pqxx::work& tx);
// reserved_quantity = Σ live reservations per level; repairs mismatches; returns how many.
int64_t repair_reserved(pqxx::work& tx);
// product_deleted: hide its levels from lists.
void hide_item(pqxx::work& tx, const std::string& product_id);


}  // namespace mercato::inventory::store
