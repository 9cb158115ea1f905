// Order tags. The set of an order's tags is orders.orders.tags (what order_view shows and
// GET /orders?tag= filters on; POST /orders may set it); orders.order_tags holds who added each tag
// and when. Both change together here, under the order's row lock, so the limit of 20 holds.
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"

namespace mercato::order::enhanced {
namespace {

// Tags of an order with their metadata, in the order they were added.
const std::string tag_rows_sql =
    "SELECT t.tag, ot.added_by, " + iso("coalesce(ot.added_at, o.created_at)") +
    " FROM orders.orders o CROSS JOIN LATERAL unnest(o.tags) WITH ORDINALITY AS t(tag, pos) "
    "LEFT JOIN orders.order_tags ot ON ot.order_id = o.order_id AND ot.tag = t.tag "
    "WHERE o.order_id = $1::uuid ORDER BY t.pos";

json tag_json(const std::string& order_id, const pqxx::row& r) {
  return json{{"order_id", order_id}, {"tag", r[0].c_str()}, {"added_by", text_or_null(r[1])},
              {"added_at", r[2].c_str()}};
}

void add_tag(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto raw = in.string("tag", input::required, 1, 200);
  auto by = in.string("added_by", input::optional, 0, 200);
  std::optional<std::string> tag;
  if (raw) {
    tag = normalize_tag(*raw);
    if (!tag) in.issue("tag", "tag must match ^[a-z0-9_:-]{1,50}$ (case-insensitive)", "value_error.str.regex");
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::update);
    auto state = tx.exec_params1(
        "SELECT $2 = ANY(tags), coalesce(array_length(tags, 1), 0) FROM orders.orders WHERE order_id = $1::uuid",
        order.order_id, *tag);
    const bool present = state[0].as<bool>();
    int status = 200;
    if (!present) {
      if (state[1].as<size_t>() >= max_tags_per_order) refuse(409, "An order can have at most 20 tags");
      tx.exec_params("UPDATE orders.orders SET tags = array_append(tags, $2) WHERE order_id = $1::uuid",
                     order.order_id, *tag);
      append_timeline(tx, order.order_id, "tag_added", "Tag '" + *tag + "' added",
                      json{{"tag", *tag}}.dump(), by && !by->empty() ? *by : "system");
      status = 201;
    }
    // One metadata row per (order, tag); a duplicate add keeps the first one.
    tx.exec_params("INSERT INTO orders.order_tags (order_id, tag, added_by) VALUES ($1::uuid, $2, $3) "
                   "ON CONFLICT (order_id, tag) DO NOTHING",
                   order.order_id, *tag, present ? std::optional<std::string>{} : by);
    auto r = tx.exec_params1(
        "SELECT tag, added_by, " + iso("added_at") +
            " FROM orders.order_tags WHERE order_id = $1::uuid AND tag = $2",
        order.order_id, *tag);
    return input::json_response(status, tag_json(order.order_id, r));
  });
}

void list_tags(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params(tag_rows_sql, order.order_id)) list.push_back(tag_json(order.order_id, r));
    return input::json_response(200, list);
  });
}

void remove_tag(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  auto tag = normalize_tag(ctx.params.get("tag"));
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::update);
    if (!tag) refuse(404, "Tag not found");
    auto r = tx.exec_params(
        "UPDATE orders.orders SET tags = array_remove(tags, $2) WHERE order_id = $1::uuid AND $2 = ANY(tags) "
        "RETURNING 1",
        order.order_id, *tag);
    auto meta = tx.exec_params("DELETE FROM orders.order_tags WHERE order_id = $1::uuid AND tag = $2 RETURNING 1",
                               order.order_id, *tag);
    if (r.empty() && meta.empty()) refuse(404, "Tag not found");
    append_timeline(tx, order.order_id, "tag_removed", "Tag '" + *tag + "' removed", json{{"tag", *tag}}.dump());
    return input::json_response(200, json{{"order_id", order.order_id}, {"tag", *tag}, {"status", "removed"}});
  });
}

void orders_with_tag(const deps_ptr& deps, http::request_context& ctx) {
  input::query_reader q{ctx.request};
  auto window = input::read_window(q);
  if (!q.ok()) return ctx.respond(q.error_response());
  auto tag = normalize_tag(ctx.params.get("tag"));
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    json ids = json::array();
    if (!tag) return input::json_response(200, ids);
    auto rows = tx.exec_params(
        "SELECT order_id::text FROM orders.orders WHERE tags @> ARRAY[$1]::text[] "
        "ORDER BY created_at DESC, order_id OFFSET $2 LIMIT $3",
        *tag, window.skip, window.limit);
    for (const auto& r : rows) ids.push_back(r[0].c_str());
    return input::json_response(200, ids);
  });
}

}  // namespace

void add_tag_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/tags", "Tag an order",
           [deps](http::request_context& ctx) { add_tag(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/tags", "List an order's tags",
           [deps](http::request_context& ctx) { list_tags(deps, ctx); });
  add_both(routes, "DELETE", "/orders/{order_id}/tags/{tag}", "Remove a tag from an order",
           [deps](http::request_context& ctx) { remove_tag(deps, ctx); });
  add_both(routes, "GET", "/orders/tags/{tag}/orders", "Ids of the orders with a tag (newest first)",
           [deps](http::request_context& ctx) { orders_with_tag(deps, ctx); });
}

}  // namespace mercato::order::enhanced
