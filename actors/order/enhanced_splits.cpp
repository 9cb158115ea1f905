// Order splits: quantities of a confirmed, unshipped order move to child orders, one per warehouse_id.
// A fully moved line moves as it is (its item_id, which reservations know, is kept); a partly moved
// line keeps the rest on the parent, with discount and tax prorated to the cent. Payment stays with
// the parent (root) order, so children carry no authorized/captured amounts.
#include "order/enhanced_concepts.hpp"

#include <map>

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string split_columns = "split_id::text, parent_order_id::text, child_order_id::text, split_reason, " +
                                  iso("split_date") + ", split_by, metadata::text, warehouse_id";

json split_json(const pqxx::row& r) {
  return json{{"split_id", r[0].c_str()},        {"parent_order_id", r[1].c_str()},
              {"child_order_id", r[2].c_str()},  {"split_reason", r[3].c_str()},
              {"split_date", r[4].c_str()},      {"split_by", text_or_null(r[5])},
              {"metadata", json_or_null(r[6])},  {"warehouse_id", text_or_null(r[7])}};
}

struct requested_move {
  json item;              // the item reference as sent
  int64_t quantity = 0;
  std::string warehouse;  // "" when not given
};

void split_order(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto order_key = in.string("order_id", input::required, 1, 100);
  auto reason = in.string("split_reason", input::required, 1, 50);
  if (reason && !is_split_reason(*reason))
    in.issue("split_reason", "split_reason must be one of: multi_warehouse, partial_availability, delivery_speed, "
                             "carrier_limitations, customer_request, cost_optimization", "type_error.enum");
  const json* splits = in.array("item_splits", input::required, 1, 200);
  std::vector<requested_move> moves;
  if (splits) {
    for (size_t i = 0; i < splits->size(); ++i) {
      const json& s = (*splits)[i];
      if (!s.is_object()) {
        in.issue({"body", "item_splits", std::to_string(i)}, "value is not a valid dict", "type_error.dict");
        continue;
      }
      input::object_reader r{s, {"body", "item_splits", std::to_string(i)}, in.sink()};
      std::string_view ref = r.first_present({"item_id", "order_item_id"});
      if (ref.empty()) r.issue("item_id", "field required", "value_error.missing");
      auto qty = r.integer("quantity", input::required, 1, 10000);
      auto wh = r.string("warehouse_id", input::optional, 0, 100);
      if (!ref.empty() && qty) moves.push_back({s.at(std::string{ref}), *qty, wh.value_or("")});
    }
  }
  const json* metadata = in.object("metadata", input::optional);
  if (!in.ok()) return ctx.respond(in.error_response());
  input::query_reader q{ctx.request};
  auto split_by = q.string("split_by", input::optional, 0, 200);
  if (!q.ok()) return ctx.respond(q.error_response());
  std::optional<std::string> metadata_text;
  if (metadata) metadata_text = metadata->dump();
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto parent = load_order(tx, *order_key, lock_mode::update);
    auto shipped = tx.exec_params1("SELECT EXISTS (SELECT 1 FROM orders.partial_shipments WHERE order_id = $1::uuid)",
                                   parent.order_id)[0].as<bool>();
    if (parent.status != "confirmed" || parent.fulfillment_status != "unfulfilled" || shipped)
      refuse(409, "Order can only be split while confirmed and unshipped (status '" + parent.status + "')");
    if (!tx.exec_params("SELECT 1 FROM orders.fulfillment_plans WHERE order_id = $1::uuid AND status <> 'cancelled'",
                        parent.order_id).empty())
      refuse(409, "Order has active fulfillment plans; cancel them before splitting");
    auto items = load_items(tx, parent.order_id, true);
    // warehouse → item_id → quantity, and the total moved per line
    std::map<std::string, std::map<std::string, int64_t>> by_warehouse;
    std::map<std::string, int64_t> moved;
    std::map<std::string, size_t> first_index;
    for (size_t i = 0; i < moves.size(); ++i) {
      const item_row* item = find_item(items, moves[i].item);
      if (!item)
        refuse_field({"body", "item_splits", std::to_string(i), "item_id"}, "Order item not found", "value_error.not_found");
      by_warehouse[moves[i].warehouse][item->item_id] += moves[i].quantity;
      moved[item->item_id] += moves[i].quantity;
      first_index.emplace(item->item_id, i);
    }
    int64_t units_left = 0;
    for (const auto& item : items) {
      int64_t remaining = item.quantity - item.quantity_shipped;
      int64_t m = moved.count(item.item_id) ? moved[item.item_id] : 0;
      if (m > remaining)
        refuse_field({"body", "item_splits", std::to_string(first_index[item.item_id]), "quantity"},
                     "Split quantity exceeds the remaining quantity for item " + std::to_string(item.line_number) +
                         " (remaining " + std::to_string(remaining) + ")");
      units_left += item.quantity - m;
    }
    if (units_left == 0)
      refuse_field({"body", "item_splits"}, "A split must leave at least one unit on the parent order");

    std::vector<item_row> left = items;  // what remains on the parent's lines as parts move
    json created = json::array();
    money::cents parent_sub = 0, parent_disc = 0, parent_tax = 0;  // amounts moved off the parent
    for (const auto& [warehouse, lines] : by_warehouse) {
      std::string child_id = uuid_v4();
      money::cents sub = 0, disc = 0, tax = 0;
      struct line_move { item_row* item; int64_t qty; money::cents disc, tax; };
      std::vector<line_move> plan;
      for (auto& item : left) {
        auto l = lines.find(item.item_id);
        if (l == lines.end()) continue;
        // Prorated from what is still on the parent line, so every part adds up to the original.
        line_move lm{&item, l->second, prorate(item.discount_amount, l->second, item.quantity),
                     prorate(item.tax_amount, l->second, item.quantity)};
        sub += item.unit_price * lm.qty;
        disc += lm.disc;
        tax += lm.tax;
        plan.push_back(lm);
      }
      tx.exec_params(
          "INSERT INTO orders.orders (order_id, order_number, customer_id, customer_name, customer_email, channel, "
          "channel_name, status, payment_status, fulfillment_status, currency, subtotal, discount_amount, shipping_cost, "
          "tax_amount, total_amount, shipping_service_level, carrier_code, shipping_address, billing_address, notes, "
          "is_gift, gift_message, gift_wrap_type, hide_prices, gift_receipt, scheduled_delivery_date, "
          "delivery_instructions, priority_level, is_split_order, parent_order_id, split_reason, confirmed_at, tags, "
          "metadata) "
          "SELECT $2::uuid, 'ORD-' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' || "
          "lpad(nextval('orders.order_number_seq')::text, 6, '0'), customer_id, customer_name, customer_email, channel, "
          "channel_name, status, payment_status, 'unfulfilled', currency, $3::numeric, $4::numeric, 0, $5::numeric, "
          "$3::numeric - $4::numeric + $5::numeric, shipping_service_level, carrier_code, shipping_address, "
          "billing_address, notes, is_gift, gift_message, gift_wrap_type, hide_prices, gift_receipt, "
          "scheduled_delivery_date, delivery_instructions, priority_level, true, order_id, $6, confirmed_at, tags, "
          "metadata || jsonb_build_object('split_warehouse_id', $7::text) FROM orders.orders WHERE order_id = $1::uuid",
          parent.order_id, child_id, money::format(sub), money::format(disc), money::format(tax), *reason,
          warehouse.empty() ? std::optional<std::string>{} : warehouse);
      int line_number = 0;
      for (const auto& lm : plan) {
        ++line_number;
        item_row& source = *lm.item;
        const bool whole = lm.qty == source.quantity;
        source.quantity -= lm.qty;
        source.discount_amount -= lm.disc;
        source.tax_amount -= lm.tax;
        if (whole) {  // the whole line moves, keeping its id
          tx.exec_params("UPDATE orders.order_items SET order_id = $2::uuid, line_number = $3 WHERE item_id = $1::uuid",
                         lm.item->item_id, child_id, line_number);
        } else {
          tx.exec_params(
              "INSERT INTO orders.order_items (item_id, order_id, line_number, product_id, variant_id, bundle_components, "
              "sku, product_name, category, quantity, unit_price, discount_amount, tax_amount, total_price) "
              "SELECT $2::uuid, $3::uuid, $4, product_id, variant_id, bundle_components, sku, product_name, category, "
              "$5::integer, unit_price, $6::numeric, $7::numeric, unit_price * $5::integer FROM orders.order_items WHERE item_id = $1::uuid",
              lm.item->item_id, uuid_v4(), child_id, line_number, lm.qty, money::format(lm.disc), money::format(lm.tax));
          tx.exec_params("UPDATE orders.order_items SET quantity = quantity - $2::integer, total_price = unit_price * (quantity - $2::integer), "
                         "discount_amount = discount_amount - $3::numeric, tax_amount = tax_amount - $4::numeric "
                         "WHERE item_id = $1::uuid",
                         lm.item->item_id, lm.qty, money::format(lm.disc), money::format(lm.tax));
        }
      }
      parent_sub += sub;
      parent_disc += disc;
      parent_tax += tax;
      std::string split_id = uuid_v4();
      auto row = tx.exec_params1(
          "INSERT INTO orders.order_splits (split_id, parent_order_id, child_order_id, split_reason, warehouse_id, "
          "split_by, metadata) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7::jsonb) RETURNING " + split_columns,
          split_id, parent.order_id, child_id, *reason, warehouse.empty() ? std::optional<std::string>{} : warehouse,
          split_by, metadata_text);
      auto child = load_order(tx, child_id, lock_mode::none);
      append_timeline(tx, child_id, "order_split_created", "Split from order " + parent.order_number,
                      json{{"split_id", split_id}, {"parent_order_id", parent.order_id}}.dump(),
                      split_by.value_or("system"));
      json out = split_json(row);
      out["child_order_number"] = child.order_number;
      created.push_back(out);
    }
    // The parent keeps what was not moved; a discount larger than the remaining lines would break the
    // order's CHECKs and is refused by them (rolled back).
    tx.exec_params("UPDATE orders.orders SET subtotal = subtotal - $2::numeric, discount_amount = discount_amount - $3::numeric, "
                   "tax_amount = tax_amount - $4::numeric, total_amount = total_amount - $2::numeric + $3::numeric - $4::numeric, "
                   "updated_at = now(), version = version + 1 WHERE order_id = $1::uuid",
                   parent.order_id, money::format(parent_sub), money::format(parent_disc), money::format(parent_tax));
    // Line numbers of the parent stay 1..n.
    // (through a shifted range: (order_id, line_number) is UNIQUE and line numbers are ≥ 1)
    tx.exec_params("UPDATE orders.order_items i SET line_number = 1000000 + n.rn FROM (SELECT item_id, row_number() "
                   "OVER (ORDER BY line_number) AS rn FROM orders.order_items WHERE order_id = $1::uuid) n "
                   "WHERE i.item_id = n.item_id", parent.order_id);
    tx.exec_params("UPDATE orders.order_items SET line_number = line_number - 1000000 WHERE order_id = $1::uuid",
                   parent.order_id);
    json children = json::array();
    for (const auto& c : created) children.push_back(c["child_order_id"]);
    append_timeline(tx, parent.order_id, "order_split", "Order split into " + std::to_string(created.size()) + " child order(s)",
                    json{{"child_order_ids", children}, {"split_reason", *reason}}.dump(), split_by.value_or("system"));
    emit_event(tx, parent, "order_split",
               json{{"split_reason", *reason}, {"child_order_ids", children}, {"splits", created}});
    return input::json_response(201, created);
  }, true);
}

void child_orders(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + split_columns +
                                            " FROM orders.order_splits WHERE parent_order_id = $1::uuid "
                                            "ORDER BY split_date, seq",
                                        order.order_id))
      list.push_back(split_json(r));
    return input::json_response(200, list);
  });
}

}  // namespace

void add_split_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/splits", "Split an order into child orders",
           [deps](http::request_context& ctx) { split_order(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/child-orders", "The splits of an order",
           [deps](http::request_context& ctx) { child_orders(deps, ctx); });
}

}  // namespace mercato::order::enhanced
