// Fulfilment plans: which warehouse ships which quantities of an order's lines. A line's quantity can
// be planned once across the order's non-cancelled plans. Status moves by the transition table of
// enhanced_rules (planned → in_progress → completed, on_hold, cancelled).
#include "order/enhanced_concepts.hpp"

#include <map>

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string plan_select =
    "SELECT p.plan_id::text, p.order_id::text, p.warehouse_id, p.fulfillment_strategy, " +
    iso("p.estimated_ship_date") + ", " + iso("p.estimated_delivery_date") +
    ", p.priority, p.status, p.actual_processing_time, " + iso("p.created_at") + ", " + iso("p.updated_at") +
    ", (SELECT coalesce(json_agg(json_build_object('item_id', i.item_id, 'order_item_id', i.item_id, "
    "'line_number', i.line_number, 'product_id', i.product_id, 'sku', i.sku, 'quantity', pi.quantity, "
    "'allocated_quantity', pi.allocated_quantity, 'picked_quantity', pi.picked_quantity, "
    "'packed_quantity', pi.packed_quantity) ORDER BY i.line_number), '[]') "
    "FROM orders.fulfillment_plan_items pi JOIN orders.order_items i ON i.item_id = pi.item_id "
    "WHERE pi.plan_id = p.plan_id)::text FROM orders.fulfillment_plans p ";

json plan_json(const pqxx::row& r) {
  return json{{"plan_id", r[0].c_str()},
              {"id", r[0].c_str()},
              {"order_id", r[1].c_str()},
              {"warehouse_id", r[2].c_str()},
              {"fulfillment_strategy", r[3].c_str()},
              {"estimated_ship_date", text_or_null(r[4])},
              {"estimated_delivery_date", text_or_null(r[5])},
              {"priority", r[6].as<int>()},
              {"status", r[7].c_str()},
              {"actual_processing_time", r[8].is_null() ? json(nullptr) : json(r[8].as<int64_t>())},
              {"created_at", r[9].c_str()},
              {"updated_at", r[10].c_str()},
              {"items", json_or_null(r[11])}};
}

json load_plan(pqxx::work& tx, const std::string& plan_id) {
  return plan_json(tx.exec_params1(plan_select + "WHERE p.plan_id = $1::uuid", plan_id));
}

void create_plan(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto warehouse = in.string("warehouse_id", input::required, 1, 100);
  auto strategy = in.string("fulfillment_strategy", input::required, 1, 50);
  if (strategy && !is_fulfillment_strategy(*strategy))
    in.issue("fulfillment_strategy",
             "fulfillment_strategy must be one of: single_warehouse, split_shipment, dropship, store_pickup, hybrid",
             "type_error.enum");
  const json* items = in.array("items", input::required, 1, 200);
  std::vector<std::pair<json, int64_t>> lines;  // (item reference, quantity)
  if (items) {
    for (size_t i = 0; i < items->size(); ++i) {
      const json& it = (*items)[i];
      if (!it.is_object()) {
        in.issue({"body", "items", std::to_string(i)}, "value is not a valid dict", "type_error.dict");
        continue;
      }
      input::object_reader line{it, {"body", "items", std::to_string(i)}, in.sink()};
      std::string_view ref_key = line.first_present({"order_item_id", "item_id"});
      if (ref_key.empty()) line.issue("order_item_id", "field required", "value_error.missing");
      auto qty = line.integer("quantity", input::required, 1, 10000);
      if (!ref_key.empty() && qty) lines.emplace_back(it.at(std::string{ref_key}), *qty);
    }
  }
  auto ship_date = in.string("estimated_ship_date", input::optional, 1, 64);
  auto delivery_date = in.string("estimated_delivery_date", input::optional, 1, 64);
  auto priority = in.integer("priority", input::optional, 0, 10);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::update);
    if (order.status != "confirmed" && order.status != "processing")
      refuse(409, "Fulfillment can only be planned for confirmed or processing orders (status '" + order.status + "')");
    auto order_items = load_items(tx, order.order_id, false);
    // Already planned per line (non-cancelled plans).
    std::map<std::string, int64_t> planned;
    for (const auto& r : tx.exec_params(
             "SELECT pi.item_id::text, sum(pi.quantity) FROM orders.fulfillment_plan_items pi "
             "JOIN orders.fulfillment_plans p ON p.plan_id = pi.plan_id "
             "WHERE p.order_id = $1::uuid AND p.status <> 'cancelled' GROUP BY pi.item_id",
             order.order_id))
      planned[r[0].c_str()] = r[1].as<int64_t>();
    std::map<std::string, int64_t> wanted;  // item_id → quantity (a line named twice adds up)
    std::map<std::string, size_t> first_index;
    for (size_t i = 0; i < lines.size(); ++i) {
      const item_row* item = find_item(order_items, lines[i].first);
      if (!item)
        refuse_field({"body", "items", std::to_string(i), "order_item_id"}, "Order item not found",
                     "value_error.not_found");
      wanted[item->item_id] += lines[i].second;
      first_index.emplace(item->item_id, i);
    }
    for (const auto& item : order_items) {
      auto w = wanted.find(item.item_id);
      if (w == wanted.end()) continue;
      int64_t unplanned = item.quantity - planned[item.item_id];
      if (w->second > unplanned)
        refuse_field({"body", "items", std::to_string(first_index[item.item_id]), "quantity"},
                     "Quantity exceeds the unplanned quantity for item " + std::to_string(item.line_number) +
                         " (unplanned " + std::to_string(unplanned) + ")");
    }
    std::optional<std::string> ship, delivery;
    if (ship_date) ship = timestamp_param(tx, *ship_date, {"body", "estimated_ship_date"});
    if (delivery_date) delivery = timestamp_param(tx, *delivery_date, {"body", "estimated_delivery_date"});
    std::string id = uuid_v4();
    tx.exec_params("INSERT INTO orders.fulfillment_plans (plan_id, order_id, warehouse_id, fulfillment_strategy, "
                   "estimated_ship_date, estimated_delivery_date, priority) VALUES ($1::uuid, $2::uuid, $3, $4, "
                   "$5::timestamptz, $6::timestamptz, $7)",
                   id, order.order_id, *warehouse, *strategy, ship, delivery, priority.value_or(0));
    for (const auto& [item_id, qty] : wanted)
      tx.exec_params("INSERT INTO orders.fulfillment_plan_items (plan_id, item_id, quantity) "
                     "VALUES ($1::uuid, $2::uuid, $3)",
                     id, item_id, qty);
    append_timeline(tx, order.order_id, "fulfillment_planned", "Fulfillment planned from warehouse " + *warehouse,
                    json{{"plan_id", id}, {"warehouse_id", *warehouse}, {"fulfillment_strategy", *strategy}}.dump());
    return input::json_response(201, load_plan(tx, id));
  });
}

void latest_plan(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    auto r = tx.exec_params(plan_select + "WHERE p.order_id = $1::uuid AND p.status <> 'cancelled' "
                                          "ORDER BY p.created_at DESC, p.seq DESC LIMIT 1",
                            order.order_id);
    return input::json_response(200, r.empty() ? json(nullptr) : plan_json(r[0]));
  });
}

void list_plans(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params(plan_select + "WHERE p.order_id = $1::uuid ORDER BY p.created_at, p.seq",
                                        order.order_id))
      list.push_back(plan_json(r));
    return input::json_response(200, list);
  });
}

void change_plan_status(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto status = in.string("status", input::required, 1, 50);
  if (status && !is_plan_status(*status))
    in.issue("status", "status must be one of: planned, in_progress, completed, cancelled, on_hold", "type_error.enum");
  auto minutes = in.integer("actual_processing_time", input::optional, 0, 1'000'000);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string plan_id = ctx.params.get("plan_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    if (!is_uuid(plan_id)) refuse(404, "Fulfillment plan not found");
    auto found = tx.exec_params("SELECT order_id::text FROM orders.fulfillment_plans WHERE plan_id = $1::uuid", plan_id);
    if (found.empty()) refuse(404, "Fulfillment plan not found");
    auto order = load_order(tx, found[0][0].c_str(), lock_mode::update);
    std::string from =
        tx.exec_params1("SELECT status FROM orders.fulfillment_plans WHERE plan_id = $1::uuid FOR UPDATE", plan_id)[0]
            .c_str();
    if (from == *status) {  // the same status again: unchanged (processing time may still be recorded)
      if (minutes)
        tx.exec_params("UPDATE orders.fulfillment_plans SET actual_processing_time = $2, updated_at = clock_timestamp() "
                       "WHERE plan_id = $1::uuid",
                       plan_id, *minutes);
      return input::json_response(200, load_plan(tx, plan_id));
    }
    if (!plan_transition_allowed(from, *status))
      refuse(409, "Cannot change fulfillment plan status from '" + from + "' to '" + *status + "'");
    tx.exec_params("UPDATE orders.fulfillment_plans SET status = $2, actual_processing_time = "
                   "coalesce($3, actual_processing_time), updated_at = clock_timestamp() WHERE plan_id = $1::uuid",
                   plan_id, *status, minutes);
    append_timeline(tx, order.order_id, "fulfillment_plan_" + *status,
                    "Fulfillment plan " + from + " -> " + *status,
                    json{{"plan_id", plan_id}, {"old_status", from}, {"new_status", *status}}.dump());
    return input::json_response(200, load_plan(tx, plan_id));
  });
}

}  // namespace

void add_plan_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/fulfillment-plan", "Plan an order's fulfillment",
           [deps](http::request_context& ctx) { create_plan(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/fulfillment-plan", "The latest non-cancelled fulfillment plan",
           [deps](http::request_context& ctx) { latest_plan(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/fulfillment-plans", "All fulfillment plans of an order",
           [deps](http::request_context& ctx) { list_plans(deps, ctx); });
  add_both(routes, "PATCH", "/orders/fulfillment-plans/{plan_id}/status", "Change a fulfillment plan's status",
           [deps](http::request_context& ctx) { change_plan_status(deps, ctx); });
}

}  // namespace mercato::order::enhanced
