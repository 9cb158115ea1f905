// The order timeline over HTTP: GET oldest first, POST a custom event (orders.order_timeline is the
// core's table; every mutation appends to it through append_timeline).
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string event_columns = "event_id::text, order_id::text, event_type, event_description, event_data::text, "
                                  "triggered_by, " + iso("occurred_at");

json event_json(const pqxx::row& r) {
  return json{{"event_id", r[0].c_str()},        {"order_id", r[1].c_str()},
              {"event_type", r[2].c_str()},      {"event_description", r[3].c_str()},
              {"event_data", json_or_null(r[4])}, {"triggered_by", text_or_null(r[5])},
              {"occurred_at", r[6].c_str()}};
}

void list_timeline(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + event_columns +
                                            " FROM orders.order_timeline WHERE order_id = $1::uuid "
                                            "ORDER BY occurred_at, seq",
                                        order.order_id))
      list.push_back(event_json(r));
    return input::json_response(200, list);
  });
}

void add_event(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto type = in.string("event_type", input::required, 1, 100);
  if (type && !is_timeline_event_type(*type))
    in.issue("event_type", "event_type must match ^[a-z_]{1,100}$", "value_error.str.regex");
  auto description = in.string("event_description", input::required, 1, 2000);
  const json* data = in.object("event_data", input::optional);
  auto by = in.string("triggered_by", input::optional, 0, 200);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  std::string data_text = data ? data->dump() : std::string{"{}"};
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::share);
    std::string id = append_timeline(tx, order.order_id, *type, *description, data_text,
                                     by && !by->empty() ? *by : "system");
    auto r = tx.exec_params1("SELECT " + event_columns + " FROM orders.order_timeline WHERE event_id = $1::uuid", id);
    return input::json_response(201, event_json(r));
  });
}

}  // namespace

void add_timeline_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "GET", "/orders/{order_id}/timeline", "An order's timeline, oldest first",
           [deps](http::request_context& ctx) { list_timeline(deps, ctx); });
  add_both(routes, "POST", "/orders/{order_id}/timeline", "Add a custom timeline event",
           [deps](http::request_context& ctx) { add_event(deps, ctx); });
}

}  // namespace mercato::order::enhanced
