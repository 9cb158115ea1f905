// Order notes (orders.order_notes): create, list (optionally only customer-visible), edit, delete.
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string note_columns =
    "note_id::text, order_id::text, note_type, note_text, is_visible_to_customer, created_by, " +
    iso("created_at") + ", " + iso("updated_at");

json note_json(const pqxx::row& r) {
  return json{{"note_id", r[0].c_str()},
              {"id", r[0].c_str()},
              {"order_id", r[1].c_str()},
              {"note_type", r[2].c_str()},
              {"note_text", r[3].c_str()},
              {"is_visible_to_customer", r[4].as<bool>()},
              {"created_by", r[5].c_str()},
              {"created_at", r[6].c_str()},
              {"updated_at", r[7].c_str()}};
}

void create_note(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto type = in.choice("note_type", input::required, {"internal", "customer", "system", "agent"});
  auto text = in.string("note_text", input::required, 1, 5000);
  auto visible = in.boolean("is_visible_to_customer", input::optional);
  auto by = in.string("created_by", input::required, 1, 200);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::share);
    std::string id = uuid_v4();
    auto r = tx.exec_params1(
        "INSERT INTO orders.order_notes (note_id, order_id, note_type, note_text, "
        "is_visible_to_customer, created_by) VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6) RETURNING " +
            note_columns,
        id, order.order_id, *type, *text, visible.value_or(false), *by);
    append_timeline(tx, order.order_id, "note_added", "Note added (" + *type + ")",
                    json{{"note_id", id}, {"note_type", *type}}.dump(), *by);
    return input::json_response(201, note_json(r));
  });
}

void list_notes(const deps_ptr& deps, http::request_context& ctx) {
  input::query_reader q{ctx.request};
  auto visible = q.boolean("visible_to_customer", input::optional);
  if (!q.ok()) return ctx.respond(q.error_response());
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    auto rows = tx.exec_params(
        "SELECT " + note_columns +
            " FROM orders.order_notes WHERE order_id = $1::uuid "
            "AND ($2::boolean IS NULL OR is_visible_to_customer = $2) ORDER BY created_at, seq",
        order.order_id, visible);
    json list = json::array();
    for (const auto& r : rows) list.push_back(note_json(r));
    return input::json_response(200, list);
  });
}

void update_note(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto text = in.string("note_text", input::optional, 1, 5000);
  auto visible = in.boolean("is_visible_to_customer", input::optional);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string note_id = ctx.params.get("note_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    if (!is_uuid(note_id)) refuse(404, "Note not found");
    auto r = tx.exec_params(
        "UPDATE orders.order_notes SET note_text = coalesce($2, note_text), "
        "is_visible_to_customer = coalesce($3, is_visible_to_customer), updated_at = clock_timestamp() "
        "WHERE note_id = $1::uuid RETURNING " + note_columns,
        note_id, text, visible);
    if (r.empty()) refuse(404, "Note not found");
    std::string order_id = r[0][1].c_str();
    append_timeline(tx, order_id, "note_updated", "Note updated", json{{"note_id", note_id}}.dump());
    return input::json_response(200, note_json(r[0]));
  });
}

void delete_note(const deps_ptr& deps, http::request_context& ctx) {
  std::string note_id = ctx.params.get("note_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    if (!is_uuid(note_id)) refuse(404, "Note not found");
    auto r = tx.exec_params("DELETE FROM orders.order_notes WHERE note_id = $1::uuid RETURNING order_id::text",
                            note_id);
    if (r.empty()) refuse(404, "Note not found");
    append_timeline(tx, r[0][0].c_str(), "note_deleted", "Note deleted", json{{"note_id", note_id}}.dump());
    return input::json_response(200, json{{"note_id", note_id}, {"status", "deleted"}});
  });
}

}  // namespace

void add_note_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/notes", "Add a note to an order",
           [deps](http::request_context& ctx) { create_note(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/notes", "List an order's notes",
           [deps](http::request_context& ctx) { list_notes(deps, ctx); });
  add_both(routes, "PATCH", "/orders/notes/{note_id}", "Edit a note",
           [deps](http::request_context& ctx) { update_note(deps, ctx); });
  add_both(routes, "DELETE", "/orders/notes/{note_id}", "Delete a note",
           [deps](http::request_context& ctx) { delete_note(deps, ctx); });
}

}  // namespace mercato::order::enhanced
