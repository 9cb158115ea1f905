// Order modifications: a recorded change of one order field, applied in the same transaction.
// This API applies the field changes that need no other agent (addresses before any shipment,
// scheduled delivery date in the future, priority, gift options, notes); an `old_value` that no
// longer matches the order is stale (409). Status changes go through PATCH /orders/{id}/status and
// item changes need the order core's re-pricing and stock hooks (see enhanced_rules).
#include "order/enhanced_concepts.hpp"

#include <algorithm>

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string modification_columns = "modification_id::text, order_id::text, modification_type, field_name, "
                                         "old_value::text, new_value::text, reason, modified_by, " +
                                         iso("modified_at") + ", metadata::text";

json modification_json(const pqxx::row& r) {
  return json{{"modification_id", r[0].c_str()}, {"id", r[0].c_str()},
              {"order_id", r[1].c_str()},        {"modification_type", r[2].c_str()},
              {"field_name", text_or_null(r[3])}, {"old_value", json_or_null(r[4])},
              {"new_value", json_or_null(r[5])},  {"reason", text_or_null(r[6])},
              {"modified_by", r[7].c_str()},      {"modified_at", r[8].c_str()},
              {"metadata", json_or_null(r[9])}};
}

// A value the seed clients send as a JSON-encoded string ("{\"city\": …}") read as the object.
json decoded(const json& v) {
  if (v.is_string()) {
    auto parsed = json::parse(v.get_ref<const std::string&>(), nullptr, false);
    if (parsed.is_object()) return parsed;
  }
  return v;
}

// The checks of agents/8000-order.md on a shipping address; empty when fine.
std::string address_problem(const json& a) {
  if (!a.is_object()) return "address must be an object";
  auto has = [&](std::initializer_list<const char*> keys) {
    for (const char* k : keys)
      if (a.contains(k) && a[k].is_string() && !a[k].get_ref<const std::string&>().empty()) return true;
    return false;
  };
  if (!has({"country", "country_code"})) return "address must include a country";
  if (!has({"city"})) return "address must include a city";
  if (!has({"postal_code", "zip", "postcode"})) return "address must include a postal code";
  if (!has({"street", "line1", "address1", "street_address_1"})) return "address must include a street";
  return {};
}

// The order's current value of `field` as JSON.
json current_value(pqxx::work& tx, const std::string& order_id, const std::string& field) {
  if (field == "gift_options") {
    auto r = tx.exec_params1("SELECT json_build_object('is_gift', is_gift, 'gift_message', gift_message, "
                             "'gift_wrap_type', gift_wrap_type, 'hide_prices', hide_prices, 'gift_receipt', "
                             "gift_receipt)::text FROM orders.orders WHERE order_id = $1::uuid",
                             order_id);
    return json::parse(r[0].c_str());
  }
  // `field` is one of the fixed names of enhanced_rules::field_modification, never client text.
  auto r = tx.exec_params1("SELECT to_jsonb(" + field + ")::text FROM orders.orders WHERE order_id = $1::uuid", order_id);
  return r[0].is_null() ? json(nullptr) : json::parse(r[0].c_str());
}

bool same_value(const std::string& field, const json& current, const json& claimed) {
  json c = decoded(claimed);
  if (field == "gift_options") {  // the keys the client names must match
    if (!c.is_object()) return false;
    for (auto it = c.begin(); it != c.end(); ++it)
      if (current.value(it.key(), json(nullptr)) != it.value()) return false;
    return true;
  }
  if (field == "scheduled_delivery_date" && c.is_string() && current.is_string())
    return c.get_ref<const std::string&>().substr(0, 10) == current.get_ref<const std::string&>();
  if (c.is_string() && c.get_ref<const std::string&>().empty() && current.is_null()) return true;
  return c == current;
}

std::string describe(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void create_modification(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto type = in.string("modification_type", input::required, 1, 50);
  if (type && !is_modification_type(*type))
    in.issue("modification_type",
             "modification_type must be one of: status_change, item_added, item_removed, quantity_changed, "
             "address_change, delivery_date_change, priority_change, gift_options_change, notes_change",
             "type_error.enum");
  auto field = in.string("field_name", input::optional, 0, 100);
  auto reason = in.string("reason", input::optional, 0, 2000);
  auto by = in.string("modified_by", input::required, 1, 200);
  const json* metadata = in.object("metadata", input::optional);
  auto body_order = in.string("order_id", input::optional, 0, 100);
  const json& body = in.json();
  const bool claims_old = body.is_object() && body.contains("old_value");
  json old_claim = claims_old ? body["old_value"] : json(nullptr);
  json new_raw = body.is_object() && body.contains("new_value") ? body["new_value"] : json(nullptr);
  std::optional<modification_target> target;
  if (type && is_modification_type(*type)) {
    if (*type == "status_change") {
      in.issue("modification_type", "status changes are made with PATCH /orders/{order_id}/status");
    } else if (*type == "item_added" || *type == "item_removed" || *type == "quantity_changed") {
      // checked against the order below (409), as they depend on its state
    } else {
      target = field_modification(*type);
      std::string f = field && !field->empty() ? *field : target->field;
      if (std::find(target->allowed.begin(), target->allowed.end(), f) == target->allowed.end())
        in.issue("field_name", "field_name must be " + target->allowed.front() +
                                   (target->allowed.size() > 1 ? " or " + target->allowed.back() : std::string{}));
      target->field = f;
    }
  }
  // The new value, checked per kind.
  json new_value = decoded(new_raw);
  if (target) {
    const std::string& f = target->field;
    if (f == "shipping_address" || f == "billing_address") {
      auto problem = address_problem(new_value);
      if (!problem.empty()) in.issue("new_value", problem);
    } else if (f == "scheduled_delivery_date") {
      if (!new_value.is_string() || new_value.get_ref<const std::string&>().size() < 10)
        in.issue("new_value", "new_value must be a date (YYYY-MM-DD)", "value_error.date");
    } else if (f == "priority_level") {
      static const std::vector<std::string> levels{"low", "normal", "high", "urgent"};
      if (!new_value.is_string() ||
          std::find(levels.begin(), levels.end(), new_value.get<std::string>()) == levels.end())
        in.issue("new_value", "new_value must be one of: low, normal, high, urgent", "type_error.enum");
    } else if (f == "gift_options") {
      if (!new_value.is_object()) {
        in.issue("new_value", "new_value must be an object of gift options", "type_error.dict");
      } else {
        for (const char* b : {"is_gift", "hide_prices", "gift_receipt"})
          if (new_value.contains(b) && !new_value[b].is_boolean()) in.issue({"body", "new_value", b}, "value could not be parsed to a boolean", "type_error.bool");
        for (const char* s : {"gift_message", "gift_wrap_type"})
          if (new_value.contains(s) && !new_value[s].is_null() && !new_value[s].is_string())
            in.issue({"body", "new_value", s}, "str type expected", "type_error.str");
        if (new_value.contains("gift_message") && new_value["gift_message"].is_string() &&
            new_value["gift_message"].get_ref<const std::string&>().size() > 500)
          in.issue({"body", "new_value", "gift_message"}, "ensure this value has at most 500 characters",
                   "value_error.any_str.max_length");
      }
    } else if (f == "notes") {
      if (!new_value.is_null() && (!new_value.is_string() || new_value.get_ref<const std::string&>().size() > 2000))
        in.issue("new_value", "new_value must be a text of at most 2000 characters");
    }
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  std::string metadata_text = metadata ? metadata->dump() : std::string{};
  std::string kind = *type;
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::update);
    if (body_order && !body_order->empty() && *body_order != order.order_id && *body_order != order.order_number)
      refuse_field({"body", "order_id"}, "order_id does not match the order in the path");
    if (!target) {  // item changes: the rule decides the answer; applying them needs the core
      std::string refusal = item_change_refusal(kind, order.payment_status, 1, 0, 1);
      if (kind == "item_removed" || kind == "quantity_changed") {
        auto shipped = tx.exec_params1("SELECT coalesce(sum(quantity_shipped), 0) FROM orders.order_items "
                                       "WHERE order_id = $1::uuid", order.order_id);
        if (shipped[0].as<int64_t>() > 0 && refusal.empty())
          refusal = item_change_refusal(kind, order.payment_status, 1, 1, 1);
      }
      refuse(409, refusal.empty() ? "Item changes need re-pricing and stock from the order core; "
                                    "they are not available through modifications yet"
                                  : refusal);
    }
    const std::string& f = target->field;
    if (order.status == "cancelled" || order.status == "delivered" || order.status == "returned" ||
        order.status == "refunded")
      refuse(409, "Order cannot be modified in status '" + order.status + "'");
    json value = new_value;
    if (f == "shipping_address" || f == "billing_address") {
      auto shipped = tx.exec_params1(
          "SELECT EXISTS (SELECT 1 FROM orders.partial_shipments WHERE order_id = $1::uuid) "
          "OR EXISTS (SELECT 1 FROM orders.order_items WHERE order_id = $1::uuid AND quantity_shipped > 0)",
          order.order_id);
      if (shipped[0].as<bool>() || order.status == "shipped")
        refuse(409, "The address can only be changed before any shipment");
    } else if (f == "scheduled_delivery_date") {
      std::string day = value.get<std::string>().substr(0, 10);
      timestamp_param(tx, day, {"body", "new_value"});  // 422 unless a real date
      if (!tx.exec_params1("SELECT $1::date > (now() AT TIME ZONE 'UTC')::date", day)[0].as<bool>())
        refuse_field({"body", "new_value"}, "the scheduled delivery date must be in the future");
    }
    json current = current_value(tx, order.order_id, f);
    if (claims_old && !same_value(f, current, old_claim))
      refuse(409, "Stale modification: " + f + " is currently " + describe(current));
    std::string id = uuid_v4();
    if (f == "shipping_address" || f == "billing_address") {
      tx.exec_params("UPDATE orders.orders SET " + f + " = $2::jsonb, updated_at = now(), version = version + 1 "
                     "WHERE order_id = $1::uuid", order.order_id, value.dump());
    } else if (f == "scheduled_delivery_date") {
      tx.exec_params("UPDATE orders.orders SET scheduled_delivery_date = $2::date, updated_at = now(), "
                     "version = version + 1 WHERE order_id = $1::uuid", order.order_id, value.get<std::string>().substr(0, 10));
      value = value.get<std::string>().substr(0, 10);
    } else if (f == "priority_level") {
      tx.exec_params("UPDATE orders.orders SET priority_level = $2, updated_at = now(), version = version + 1 "
                     "WHERE order_id = $1::uuid", order.order_id, value.get<std::string>());
    } else if (f == "notes") {
      tx.exec_params("UPDATE orders.orders SET notes = $2, updated_at = now(), version = version + 1 "
                     "WHERE order_id = $1::uuid", order.order_id,
                     value.is_null() ? std::optional<std::string>{} : value.get<std::string>());
    } else if (f == "gift_options") {
      // Keys not sent keep their value.
      json merged = current;
      for (auto it = value.begin(); it != value.end(); ++it)
        if (merged.contains(it.key())) merged[it.key()] = it.value();
      tx.exec_params("UPDATE orders.orders SET is_gift = $2, gift_message = $3, gift_wrap_type = $4, hide_prices = $5, "
                     "gift_receipt = $6, updated_at = now(), version = version + 1 WHERE order_id = $1::uuid",
                     order.order_id, merged["is_gift"].get<bool>(),
                     merged["gift_message"].is_string() ? std::optional<std::string>{merged["gift_message"].get<std::string>()} : std::nullopt,
                     merged["gift_wrap_type"].is_string() ? std::optional<std::string>{merged["gift_wrap_type"].get<std::string>()} : std::nullopt,
                     merged["hide_prices"].get<bool>(), merged["gift_receipt"].get<bool>());
      value = merged;
    }
    auto row = tx.exec_params1(
        "INSERT INTO orders.order_modifications (modification_id, order_id, modification_type, field_name, old_value, "
        "new_value, reason, modified_by, metadata) VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, $6::jsonb, $7, $8, "
        "$9::jsonb) RETURNING " + modification_columns,
        id, order.order_id, kind, f, current.dump(), value.dump(), reason, *by,
        metadata_text.empty() ? std::optional<std::string>{} : metadata_text);
    append_timeline(tx, order.order_id, "order_modified", "Order " + f + " changed (" + kind + ")",
                    json{{"modification_id", id}, {"field_name", f}}.dump(), *by);
    emit_event(tx, order, "order_modified",
               json{{"modification_id", id}, {"modification_type", kind}, {"field_name", f},
                    {"old_value", current}, {"new_value", value}, {"modified_by", *by}});
    return input::json_response(201, modification_json(row));
  }, true);
}

void list_modifications(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + modification_columns +
                                            " FROM orders.order_modifications WHERE order_id = $1::uuid "
                                            "ORDER BY modified_at, seq",
                                        order.order_id))
      list.push_back(modification_json(r));
    return input::json_response(200, list);
  });
}

}  // namespace

void add_modification_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/modifications", "Modify an order field (recorded)",
           [deps](http::request_context& ctx) { create_modification(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/modifications", "An order's modifications, oldest first",
           [deps](http::request_context& ctx) { list_modifications(deps, ctx); });
}

}  // namespace mercato::order::enhanced
