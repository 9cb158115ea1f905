// What every enhanced-order route file shares: running a unit of SQL on a pool thread and answering
// inside the order actor, refusing a request from inside a unit (rolls the transaction back),
// resolving {order_id} (UUID or order number), outbox events, and row → JSON helpers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/db_pool.hpp"
#include "domain/json_input.hpp"
#include "http/router.hpp"
#include "order/enhanced_routes.hpp"

namespace mercato::order::enhanced {

using json = nlohmann::json;
using deps_ptr = std::shared_ptr<const enhanced_dependencies>;

// Thrown inside a unit: the transaction rolls back and the request is answered with `response`.
struct refusal {
  http_response response;
};
[[noreturn]] void refuse(int status, std::string_view detail);
// 422 with one FastAPI issue at `loc` (e.g. {"body", "items", "0", "quantity"}).
[[noreturn]] void refuse_field(std::vector<std::string> loc, std::string msg,
                               std::string type = "value_error");

// Outcome of a unit: the value, or the response to answer instead (refusal or database error).
template <class T>
struct unit_result {
  std::optional<T> value;
  http_response error;
  bool ok() const noexcept { return value.has_value(); }
};

// Runs `work` in a transaction on a pool thread; `done` runs inside the order actor.
// `wakes_relay`: the unit enqueues outbox events, so the relay is woken after the commit.
template <class T>
void run_unit(const deps_ptr& deps, std::function<T(pqxx::work&)> work,
              std::function<void(unit_result<T>&)> done, bool wakes_relay = false);

// The common case: the unit builds the whole response; it is delivered inside the actor.
void respond_from_db(const deps_ptr& deps, http::request_context& ctx,
                     std::function<http_response(pqxx::work&)> work, bool wakes_relay = false);

// Registers `pattern` ("/orders/…") and its "/api" mirror with the same handler.
void add_both(http::router& routes, const std::string& method, const std::string& pattern,
              const std::string& summary, http::route_handler handler);

// ---- orders -------------------------------------------------------------------------------------
bool is_uuid(std::string_view text);

struct order_ref {
  std::string order_id;
  std::string order_number;
  std::string customer_id;
  std::string status;
  std::string payment_status;
  std::string fulfillment_status;
  money::cents amount_captured = 0;
  money::cents amount_refunded = 0;
};
enum class lock_mode { none, share, update };
// The order named by `key` (UUID or order number), locked as asked; refuses 404 "Order not found".
order_ref load_order(pqxx::work& tx, std::string_view key, lock_mode lock);
// Same, but nullopt when absent.
std::optional<order_ref> find_order(pqxx::work& tx, std::string_view key, lock_mode lock);

// An order line as the enhanced routes need it.
struct item_row {
  std::string item_id;
  int line_number = 0;
  int64_t quantity = 0;
  int64_t quantity_shipped = 0;
  money::cents unit_price = 0;
  money::cents discount_amount = 0;
  money::cents tax_amount = 0;
  money::cents total_price = 0;
};
// The order's lines by line number (locked FOR UPDATE when `lock`).
std::vector<item_row> load_items(pqxx::work& tx, const std::string& order_id, bool lock);
// The line a request names: its item_id (UUID) or its line number (integer or digits).
const item_row* find_item(const std::vector<item_row>& items, const json& reference);

// Enqueues `orders.<name>` in the order's outbox; `payload` gets order_id, order_number,
// customer_id, status and occurred_at added.
void emit_event(pqxx::work& tx, const order_ref& order, std::string_view name, json payload);

// ---- SQL / JSON helpers -------------------------------------------------------------------------
// SQL expression rendering timestamptz `column` as ISO 8601 UTC with milliseconds.
std::string iso(std::string_view column);
json text_or_null(const pqxx::field& f);
json json_or_null(const pqxx::field& f);  // a jsonb column
json money_or_null(const pqxx::field& f);  // a numeric column
// A JSON value as text for a `$n::jsonb` parameter (null → SQL NULL via std::optional).
std::optional<std::string> jsonb_param(const json* value);
// A client-supplied ISO 8601 date or date-time, checked and normalised by PostgreSQL; refuses 422
// at `loc` when it does not parse.
std::string timestamp_param(pqxx::work& tx, const std::string& text, std::vector<std::string> loc);

}  // namespace mercato::order::enhanced

#include "order/enhanced_support_inl.hpp"
