// Shared plumbing of the enhanced order routes (see enhanced_support.hpp).
#include "order/enhanced_support.hpp"

#include <algorithm>
#include <cctype>

#include <pqxx/except>

#include "http/problem.hpp"
#include "mercato/event.hpp"
#include "runtime/clock.hpp"

namespace mercato::order::enhanced {

void refuse(int status, std::string_view detail) { throw refusal{http::error(status, detail)}; }

void refuse_field(std::vector<std::string> loc, std::string msg, std::string type) {
  throw refusal{http::validation_error({http::validation_issue{std::move(loc), std::move(msg),
                                                               std::move(type)}})};
}

void respond_from_db(const deps_ptr& deps, http::request_context& ctx,
                     std::function<http_response(pqxx::work&)> work, bool wakes_relay) {
  auto reply = ctx.reply;
  run_unit<http_response>(
      deps, std::move(work),
      [reply](unit_result<http_response>& r) { reply->deliver(r.ok() ? std::move(*r.value) : std::move(r.error)); },
      wakes_relay);
}

void add_both(http::router& routes, const std::string& method, const std::string& pattern,
              const std::string& summary, http::route_handler handler) {
  routes.add(method, pattern, summary, handler);
  routes.add(method, "/api" + pattern, summary, std::move(handler));
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::optional<order_ref> find_order(pqxx::work& tx, std::string_view key, lock_mode lock) {
  if (key.empty() || key.size() > 100) return std::nullopt;
  // FOR NO KEY UPDATE serialises the enhanced mutations of one order without blocking the
  // foreign-key checks of inserts into its child tables.
  const char* suffix = lock == lock_mode::update  ? " FOR NO KEY UPDATE"
                       : lock == lock_mode::share ? " FOR SHARE"
                                                  : "";
  const std::string columns =
      "SELECT order_id::text, order_number, customer_id, status, payment_status, "
      "fulfillment_status, amount_captured::text, amount_refunded::text FROM orders.orders ";
  pqxx::result r = is_uuid(key)
                       ? tx.exec_params(columns + "WHERE order_id = $1::uuid" + suffix, std::string{key})
                       : tx.exec_params(columns + "WHERE order_number = $1" + suffix, std::string{key});
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  order_ref o;
  o.order_id = row[0].c_str();
  o.order_number = row[1].c_str();
  o.customer_id = row[2].c_str();
  o.status = row[3].c_str();
  o.payment_status = row[4].c_str();
  o.fulfillment_status = row[5].c_str();
  o.amount_captured = money::parse_decimal(row[6].c_str()).value_or(0);
  o.amount_refunded = money::parse_decimal(row[7].c_str()).value_or(0);
  return o;
}

order_ref load_order(pqxx::work& tx, std::string_view key, lock_mode lock) {
  auto o = find_order(tx, key, lock);
  if (!o) refuse(404, "Order not found");
  return std::move(*o);
}

std::vector<item_row> load_items(pqxx::work& tx, const std::string& order_id, bool lock) {
  auto rows = tx.exec_params(
      std::string{"SELECT item_id::text, line_number, quantity, quantity_shipped, unit_price::text, "
                  "discount_amount::text, tax_amount::text, total_price::text FROM orders.order_items "
                  "WHERE order_id = $1::uuid ORDER BY line_number"} +
          (lock ? " FOR UPDATE" : ""),
      order_id);
  std::vector<item_row> items;
  items.reserve(rows.size());
  for (const auto& r : rows) {
    item_row i;
    i.item_id = r[0].c_str();
    i.line_number = r[1].as<int>();
    i.quantity = r[2].as<int64_t>();
    i.quantity_shipped = r[3].as<int64_t>();
    i.unit_price = money::parse_decimal(r[4].c_str()).value_or(0);
    i.discount_amount = money::parse_decimal(r[5].c_str()).value_or(0);
    i.tax_amount = money::parse_decimal(r[6].c_str()).value_or(0);
    i.total_price = money::parse_decimal(r[7].c_str()).value_or(0);
    items.push_back(std::move(i));
  }
  return items;
}

const item_row* find_item(const std::vector<item_row>& items, const json& reference) {
  int64_t line = -1;
  if (reference.is_number_integer()) {
    line = reference.get<int64_t>();
  } else if (reference.is_string()) {
    const auto& s = reference.get_ref<const std::string&>();
    if (is_uuid(s)) {
      for (const auto& i : items)
        if (i.item_id.size() == s.size() && std::equal(s.begin(), s.end(), i.item_id.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) == b;
            }))
          return &i;
      return nullptr;
    }
    if (!s.empty() && s.size() < 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      line = std::stoll(s);
  }
  for (const auto& i : items)
    if (i.line_number == line) return &i;
  return nullptr;
}

void emit_event(pqxx::work& tx, const order_ref& order, std::string_view name, json payload) {
  payload["order_id"] = order.order_id;
  payload["order_number"] = order.order_number;
  payload["customer_id"] = order.customer_id;
  if (!payload.contains("status")) payload["status"] = order.status;
  payload["occurred_at"] = clock::iso8601_now();
  static const db::outbox box{"orders"};
  box.enqueue(tx, make_event("order", std::string{name}, payload.dump(), order.order_id),
              order.order_id);
}

std::string iso(std::string_view column) {
  return "to_char((" + std::string{column} +
         ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

json text_or_null(const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.c_str()); }

json json_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return json::parse(f.c_str(), nullptr, false);
}

json money_or_null(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  auto c = money::parse_decimal(f.c_str());
  return c ? money::to_json(*c) : json(nullptr);
}

std::optional<std::string> jsonb_param(const json* value) {
  if (value == nullptr || value->is_null()) return std::nullopt;
  return value->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string timestamp_param(pqxx::work& tx, const std::string& text, std::vector<std::string> loc) {
  // A savepoint keeps a parse error from aborting the caller's transaction.
  bool bad = text.empty() || text.size() > 64;
  std::string out;
  if (!bad) {
    try {
      pqxx::subtransaction sub{tx, "parse_ts"};
      out = sub.exec_params1("SELECT " + iso("$1::timestamptz"), text)[0].c_str();
      sub.commit();
    } catch (const pqxx::data_exception&) {
      bad = true;
    }
  }
  if (bad) refuse_field(std::move(loc), "invalid datetime format", "value_error.datetime");
  return out;
}

}  // namespace mercato::order::enhanced
