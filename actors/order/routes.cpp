// The order agent's REST table (agents/8000-order.md "REST", core part): JSON ⇄ the saga and store
// functions. Every /orders… route is also served under /api/orders….
#include <fmt/format.h>

#include "db/idempotency_store.hpp"
#include "domain/json_input.hpp"
#include "http/problem.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_pricing.hpp"
#include "order/order_status.hpp"
#include "order/order_view.hpp"
#include "order/timeline.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {
namespace {

using http::request_context;
using input::json_response;

std::string header_of(const http_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < k.size() && eq; ++i) eq = std::tolower(static_cast<unsigned char>(k[i])) ==
                                                      std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return v;
  }
  return {};
}

// A failure as FastAPI would answer it; invalid failures carrying an issue list render as the list.
http_response failure_reply(const failure& f) {
  if (f.kind == failure_kind::invalid && !f.detail.empty()) {
    auto d = nlohmann::json::parse(f.detail, nullptr, false);
    if (d.is_array()) {
      std::vector<http::validation_issue> issues;
      for (const auto& i : d) {
        http::validation_issue v;
        for (const auto& l : i.value("loc", nlohmann::json::array()))
          v.loc.push_back(l.is_string() ? l.get<std::string>() : l.dump());
        v.msg = i.value("msg", "");
        v.type = i.value("type", "value_error");
        issues.push_back(std::move(v));
      }
      return http::validation_error(issues);
    }
  }
  return failure_response(f);
}

json_done responder(request_context& ctx, int status = 200) {
  auto shared = std::make_shared<request_context>(std::move(ctx));
  return [shared, status](const failure* f, const nlohmann::json& body) {
    if (f) return shared->respond(failure_reply(*f));
    if (status == 204) return shared->respond(http_response{204, "application/json", "", {}});
    shared->respond(json_response(status, body));
  };
}

std::optional<nlohmann::json> parse_body(request_context& ctx, bool allow_empty = false) {
  if (ctx.request.body.empty() && allow_empty) return nlohmann::json::object();
  auto j = nlohmann::json::parse(ctx.request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ctx.respond(http::validation_error({{{"body"}, "value is not a valid dict", "type_error.dict"}}));
    return std::nullopt;
  }
  return j;
}

template <class T, class Work, class Render>
void read_tx(order_self self, request_context& ctx, Work work, Render render) {
  auto shared = std::make_shared<request_context>(std::move(ctx));
  db_transact<T>(self, *self->state.ctx.database, std::move(work), [shared, render](db::outcome<T> r) {
    if (!r.ok()) return shared->respond(failure_response(db_failure(*r.failure)));
    shared->respond(render(*r.value));
  });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_csv(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    auto part = s.substr(start, end - start);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

std::string days_ago(int64_t days) {
  return clock::iso8601(std::chrono::system_clock::now() - std::chrono::hours(24 * days));
}

int64_t range_hours(const std::string& r) {
  if (r == "24h") return 24;
  if (r == "7d") return 24 * 7;
  if (r == "30d") return 24 * 30;
  if (r == "90d") return 24 * 90;
  if (r == "1y") return 24 * 365;
  return -1;
}

}  // namespace

void add_order_routes(order_self self) {
  auto& routes = self->state.shell->routes();
  auto add = [&routes](const std::string& method, const std::string& path, const std::string& summary,
                       http::route_handler h) {
    routes.add(method, path, summary, h);
    routes.add(method, "/api" + path, summary, h);
  };
  const bool has_db = self->state.ctx.database != nullptr;
  if (!has_db) return;

  add("POST", "/orders", "Place an order (runs the place saga)", [self](request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) return;
    place_order msg;
    msg.body = std::move(*body);
    msg.idempotency_key = header_of(ctx.request, "idempotency-key");
    msg.requested_by = "rest";
    auto shared = std::make_shared<request_context>(std::move(ctx));
    place_new_order(self, std::move(msg), [shared](place_outcome out) {
      if (!out.issues.empty()) return shared->respond(http::validation_error(out.issues));
      if (out.error) return shared->respond(failure_reply(*out.error));
      shared->respond(json_response(201, render_order_view(out.order)));
    });
  });

  add("POST", "/orders/quote", "Price a cart without placing it", [self](request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) return;
    price_quote(self, *body, responder(ctx));
  });

  add("GET", "/orders", "List orders", [self](request_context& ctx) {
    input::query_reader q{ctx.request};
    order_filter f;
    const bool paged = q.has("page");
    int64_t page = 1;
    if (paged) {
      page = q.integer("page", input::optional, 1, 1'000'000).value_or(1);
      auto per = q.first_present({"limit", "per_page"});
      f.limit = per.empty() ? 20 : q.integer(per, input::optional, 1, 1000).value_or(20);
      f.skip = (page - 1) * f.limit;
    } else {
      auto w = input::read_window(q);
      f.skip = w.skip;
      f.limit = w.limit;
    }
    if (auto s = q.string("status", input::optional)) {
      f.statuses = split_csv(lower(*s));
      for (const auto& st : f.statuses)
        if (!is_order_status(st)) q.issue("status", "Unknown order status '" + st + "'");
    }
    if (auto s = q.string("customer_id", input::optional)) f.customer_id = *s;
    auto ch = q.first_present({"channel", "marketplace"});
    if (!ch.empty()) f.channel = q.string(ch, input::optional).value_or("");
    if (f.channel == "all") f.channel.clear();
    if (auto s = q.string("payment_status", input::optional)) f.payment_status = *s;
    if (auto s = q.string("fulfillment_status", input::optional)) f.fulfillment_status = *s;
    if (auto s = q.string("tag", input::optional)) f.tag = *s;
    if (auto s = q.string("search", input::optional)) f.search = *s;
    auto from = q.first_present({"date_from", "startDate"});
    if (!from.empty()) f.date_from = q.string(from, input::optional).value_or("");
    auto to = q.first_present({"date_to", "endDate"});
    if (!to.empty()) f.date_to = q.string(to, input::optional).value_or("");
    if (auto r = q.choice("dateRange", input::optional, {"7d", "30d", "90d", "custom"})) {
      if (*r != "custom") f.date_from = days_ago(range_hours(*r) / 24);
    }
    auto sb = q.first_present({"sort_by", "sortBy"});
    if (!sb.empty()) {
      auto v = q.string(sb, input::optional).value_or("created_at");
      if (v == "createdAt") v = "created_at";
      if (v == "total") v = "total_amount";
      if (v != "created_at" && v != "total_amount" && v != "status" && v != "order_number")
        q.issue(sb, "Unknown sort field '" + v + "'");
      f.sort_by = v;
    }
    auto so = q.first_present({"sort_order", "sortDirection"});
    if (!so.empty()) f.ascending = lower(q.string(so, input::optional).value_or("desc")) == "asc";
    if (!q.ok()) return ctx.respond(q.error_response());
    struct page_t {
      std::vector<order_record> orders;
      int64_t total = 0;
    };
    read_tx<page_t>(
        self, ctx,
        [f, paged](pqxx::work& tx) {
          page_t p;
          p.orders = list_orders(tx, f);
          if (paged) p.total = count_orders(tx, f);
          return p;
        },
        [paged, page, f](const page_t& p) {
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& o : p.orders) arr.push_back(render_order_view(o));
          if (!paged) return json_response(200, arr);
          return json_response(200, {{"orders", arr},
                                     {"totalItems", p.total},
                                     {"totalPages", (p.total + f.limit - 1) / f.limit},
                                     {"page", page},
                                     {"limit", f.limit}});
        });
  });

  add("GET", "/orders/recent", "Most recent orders (dashboard)", [self](request_context& ctx) {
    input::query_reader q{ctx.request};
    order_filter f;
    f.limit = q.integer("limit", input::optional, 1, 100).value_or(10);
    if (!q.ok()) return ctx.respond(q.error_response());
    read_tx<std::vector<order_record>>(
        self, ctx, [f](pqxx::work& tx) { return list_orders(tx, f, false); },
        [](const std::vector<order_record>& v) {
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& o : v) arr.push_back(render_recent_row(o));
          return json_response(200, arr);
        });
  });

  add("GET", "/orders/stats", "Order statistics over a range", [self](request_context& ctx) {
    input::query_reader q{ctx.request};
    auto range = q.choice("range", input::optional, {"24h", "7d", "30d", "90d", "1y"}).value_or("30d");
    if (!q.ok()) return ctx.respond(q.error_response());
    const int64_t hours = range_hours(range);
    read_tx<nlohmann::json>(
        self, ctx,
        [hours, range](pqxx::work& tx) {
          auto rows = tx.exec_params(
              "SELECT status, count(*), coalesce(sum(total_amount - amount_refunded), 0)::text FROM orders.orders "
              "WHERE created_at >= now() - make_interval(hours => $1) GROUP BY status",
              static_cast<int>(hours));
          nlohmann::json by = nlohmann::json::object();
          int64_t total = 0, counted = 0;
          money::cents revenue = 0;
          for (const auto& r : rows) {
            const std::string st = r[0].c_str();
            const int64_t n = r[1].as<int64_t>();
            by[st] = n;
            total += n;
            if (st != "pending" && st != "cancelled") {
              revenue += money::parse_decimal(r[2].c_str()).value_or(0);
              counted += n;
            }
          }
          return nlohmann::json{{"range", range},
                                {"total_orders", total},
                                {"by_status", by},
                                {"revenue", money::to_json(revenue)},
                                {"average_order_value", money::to_json(counted ? revenue / counted : 0)}};
        },
        [](const nlohmann::json& j) { return json_response(200, j); });
  });

  add("GET", "/orders/{order_id}", "Get an order (id or order number)", [self](request_context& ctx) {
    const std::string id = ctx.params.get("order_id");
    read_tx<std::optional<order_record>>(
        self, ctx, [id](pqxx::work& tx) { return load_order(tx, id); },
        [](const std::optional<order_record>& o) {
          if (!o) return http::error(404, "Order not found");
          return json_response(200, render_order_view(*o));
        });
  });

  add("PUT", "/orders/{order_id}", "Update an order's editable fields", [self](request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    order_update u;
    if (const auto* a = r.object("shipping_address", input::optional)) u.shipping_address = *a;
    if (const auto* a = r.object("billing_address", input::optional)) u.billing_address = *a;
    if (auto n = r.string("notes", input::optional, 0, 2000)) u.notes = *n;
    if (auto p = r.choice("priority_level", input::optional, {"low", "normal", "high", "urgent"})) u.priority_level = *p;
    if (auto d = r.string("scheduled_delivery_date", input::optional, 10, 40)) u.scheduled_delivery_date = d->substr(0, 10);
    if (auto d = r.string("delivery_instructions", input::optional, 0, 2000)) u.delivery_instructions = *d;
    if (const auto* g = r.object("gift_options", input::optional)) u.gift_options = *g;
    // The editable fields this request sets (null is "not sent"); anything else in the body is
    // ignored, as FastAPI's models do, and is not recorded as a modification.
    nlohmann::json changes = nlohmann::json::object();
    for (const char* key : {"shipping_address", "billing_address", "notes", "priority_level", "scheduled_delivery_date",
                            "delivery_instructions", "gift_options"})
      if (auto it = body->find(key); it != body->end() && !it->is_null()) changes[key] = *it;
    if (changes.empty())
      r.issue(std::vector<std::string>{"body"},
              "At least one of shipping_address, billing_address, notes, priority_level, scheduled_delivery_date, "
              "delivery_instructions, gift_options is required",
              "value_error.missing");
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    const std::string id = ctx.params.get("order_id");
    auto done = responder(ctx);
    db_transact<std::pair<std::optional<failure>, nlohmann::json>>(
        self, *self->state.ctx.database,
        [id, u, changes = std::move(changes)](pqxx::work& tx) -> std::pair<std::optional<failure>, nlohmann::json> {
          auto o = load_order(tx, id, true);
          if (!o) return {not_found_order(), nullptr};
          bool shipped = false;
          for (const auto& l : o->lines) shipped = shipped || l.quantity_shipped > 0;
          if ((u.shipping_address || u.billing_address) && (shipped || o->status == "shipped" ||
                                                            o->status == "delivered" || o->status == "cancelled"))
            return {failure{failure_kind::conflict, "conflict", "Address cannot change after shipping", {}}, nullptr};
          update_order(tx, o->order_id, u);
          for (auto it = changes.begin(); it != changes.end(); ++it)
            append_timeline(tx, o->order_id, "order_modified", "Field " + it.key() + " updated",
                            nlohmann::json{{"field", it.key()}, {"new_value", it.value()}}.dump());
          return {std::nullopt, render_order_view(*load_order(tx, o->order_id))};
        },
        [done](db::outcome<std::pair<std::optional<failure>, nlohmann::json>> r) {
          if (!r.ok()) {
            auto f = db_failure(*r.failure);
            return done(&f, nullptr);
          }
          if (r.value->first) return done(&*r.value->first, nullptr);
          done(nullptr, r.value->second);
        });
  });

  auto status_handler = [self](request_context& ctx) {
    input::query_reader q{ctx.request};
    std::string status, actor, reason;
    if (q.has("status")) {
      status = q.string("status", input::optional).value_or("");
    } else {
      auto body = parse_body(ctx);
      if (!body) return;
      input::issue_list issues;
      input::object_reader r{*body, {"body"}, issues};
      status = r.string("status", input::required, 1, 50).value_or("");
      actor = r.string("actor", input::optional, 0, 200).value_or("");
      reason = r.string("reason", input::optional, 0, 2000).value_or("");
      if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    }
    if (q.has("reason")) reason = q.string("reason", input::optional).value_or("");
    const std::string path_id = ctx.params.get("order_id");
    change_status(self, path_id, lower(status), actor, reason, responder(ctx));
  };
  add("PATCH", "/orders/{order_id}/status", "Change an order's status", status_handler);
  add("PUT", "/orders/{order_id}/status", "Change an order's status", status_handler);

  auto cancel_handler = [self](request_context& ctx, bool from_body) {
    std::string reason, by;
    money::cents refund = -1;
    input::query_reader q{ctx.request};
    if (from_body) {
      auto body = parse_body(ctx, true);
      if (!body) return;
      input::issue_list issues;
      input::object_reader r{*body, {"body"}, issues};
      reason = r.string("reason", input::optional, 0, 200).value_or("customer_request");
      by = r.string("requested_by", input::optional, 0, 200).value_or("");
      refund = r.amount("refund_amount", input::optional).value_or(-1);
      if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    } else {
      auto rs = q.string("reason", input::required, 1, 2000);
      by = q.string("requested_by", input::optional).value_or("");
      if (!q.ok()) return ctx.respond(q.error_response());
      reason = *rs;
    }
    auto shared = std::make_shared<request_context>(std::move(ctx));
    cancel_order_saga(self, shared->params.get("order_id"), reason, by, refund,
                      [shared](const failure* f, const nlohmann::json& r) {
                        if (f) return shared->respond(failure_reply(*f));
                        auto out = r;
                        out.erase("order");
                        shared->respond(json_response(200, out));
                      });
  };
  add("DELETE", "/orders/{order_id}", "Cancel an order", [cancel_handler](request_context& ctx) { cancel_handler(ctx, false); });
  add("POST", "/orders/{order_id}/cancel", "Cancel an order", [cancel_handler](request_context& ctx) { cancel_handler(ctx, true); });

  add("POST", "/orders/{order_id}/pay", "Pay a pending order", [self](request_context& ctx) {
    auto body = parse_body(ctx, true);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    payment_request p;
    p.method_id = r.string("payment_method_id", input::optional, 0, 100).value_or("");
    auto tk = r.first_present({"payment_token", "token"});
    if (!tk.empty()) p.token = r.string(tk, input::optional, 0, 200).value_or("");
    p.gateway_id = static_cast<int>(r.integer("gateway_id", input::optional, 0, 1'000'000).value_or(0));
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    const std::string path_id = ctx.params.get("order_id");
    pay_order(self, path_id, p, responder(ctx));
  });

  add("POST", "/orders/{order_id}/review", "Decide a fraud review", [self](request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    auto approve = r.boolean("approve", input::required);
    auto by = r.string("reviewed_by", input::required, 1, 200);
    auto notes = r.string("notes", input::optional, 0, 2000).value_or("");
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    const std::string path_id = ctx.params.get("order_id");
    review_order(self, path_id, *approve, *by, notes, responder(ctx));
  });

  add("GET", "/orders/{order_id}/tracking", "Order tracking", [self](request_context& ctx) {
    const std::string id = ctx.params.get("order_id");
    using loaded = std::pair<std::optional<order_record>, std::vector<shipment_row>>;
    read_tx<loaded>(
        self, ctx,
        [id](pqxx::work& tx) {
          loaded l;
          l.first = load_order(tx, id);
          if (l.first) l.second = load_shipments(tx, l.first->order_id);
          return l;
        },
        [](const loaded& l) {
          if (!l.first) return http::error(404, "Order not found");
          const auto& o = *l.first;
          const int progress = progress_percentage(o.status);
          auto step = [&](const char* title, int at, const std::string& date) {
            return nlohmann::json{{"title", title},
                                  {"date", date.empty() ? nlohmann::json() : nlohmann::json(date)},
                                  {"completed", o.status != "cancelled" && progress >= at},
                                  {"current", o.status != "cancelled" && progress == at}};
          };
          nlohmann::json steps = nlohmann::json::array({step("Order placed", 0, o.created_at),
                                                        step("Order confirmed", 25, o.confirmed_at),
                                                        step("Processing", 50, ""),
                                                        step("Shipped", 75, o.shipped_at),
                                                        step("Delivered", 100, o.delivered_at)});
          nlohmann::json ships = nlohmann::json::array();
          for (const auto& s : l.second)
            ships.push_back({{"shipment_id", s.shipment_id},
                             {"carrier", s.carrier.empty() ? nlohmann::json() : nlohmann::json(s.carrier)},
                             {"tracking_number", s.tracking_number.empty() ? nlohmann::json() : nlohmann::json(s.tracking_number)},
                             {"status", s.status},
                             {"estimated_delivery", s.estimated_delivery.empty() ? nlohmann::json() : nlohmann::json(s.estimated_delivery)}});
          return json_response(200, {{"order_id", o.order_id},
                                     {"order_number", o.order_number},
                                     {"status", o.status},
                                     {"fulfillment_status", o.fulfillment_status},
                                     {"progress_percentage", progress},
                                     {"tracking_steps", steps},
                                     {"shipments", ships}});
        });
  });

  add("GET", "/orders/{order_id}/saga", "The order's sagas with their steps", [self](request_context& ctx) {
    const std::string id = ctx.params.get("order_id");
    read_tx<std::optional<nlohmann::json>>(
        self, ctx,
        [id](pqxx::work& tx) -> std::optional<nlohmann::json> {
          auto o = load_order(tx, id);
          if (!o) return std::nullopt;
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& s : sagas_of_order(tx, o->order_id)) {
            auto j = render_saga(s);
            j["steps"] = saga_steps_json(tx, s.saga_id);
            arr.push_back(std::move(j));
          }
          return nlohmann::json{{"order_id", o->order_id}, {"sagas", arr}};
        },
        [](const std::optional<nlohmann::json>& j) {
          if (!j) return http::error(404, "Order not found");
          return json_response(200, *j);
        });
  });

  routes.add("GET", "/sagas", "List sagas", [self](request_context& ctx) {
    input::query_reader q{ctx.request};
    auto state = q.choice("state", input::optional,
                          {"running", "waiting_review", "waiting_payment", "compensating", "completed", "compensated",
                           "failed"})
                     .value_or("");
    auto type = q.choice("type", input::optional, {"place_order", "cancel_order", "fulfil_order"}).value_or("");
    auto w = input::read_window(q);
    if (!q.ok()) return ctx.respond(q.error_response());
    read_tx<std::vector<saga_row>>(
        self, ctx, [state, type, w](pqxx::work& tx) { return list_sagas(tx, state, type, w.skip, w.limit); },
        [](const std::vector<saga_row>& v) {
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& s : v) arr.push_back(render_saga(s));
          return json_response(200, arr);
        });
  });

  routes.add("POST", "/sagas/{saga_id}/retry", "Resume a failed saga", [self](request_context& ctx) {
    const std::string id = ctx.params.get("saga_id");
    auto done = responder(ctx);
    db_transact<std::pair<int, nlohmann::json>>(
        self, *self->state.ctx.database,
        [id](pqxx::work& tx) -> std::pair<int, nlohmann::json> {
          auto s = load_saga(tx, id);
          if (!s) return {404, nullptr};
          if (s->state != "failed") return {409, nullptr};
          saga_update u;
          u.state = s->context.value("cancel_reason", "").empty() ? "running" : "compensating";
          u.attempts = 0;
          u.delay_ms = 0;
          update_saga(tx, id, u);
          return {200, render_saga(*load_saga(tx, id))};
        },
        [self, done](db::outcome<std::pair<int, nlohmann::json>> r) {
          if (!r.ok()) {
            auto f = db_failure(*r.failure);
            return done(&f, nullptr);
          }
          if (r.value->first == 404) {
            failure f{failure_kind::not_found, "not_found", "Saga not found", {}};
            return done(&f, nullptr);
          }
          if (r.value->first == 409) {
            failure f{failure_kind::conflict, "conflict", "Only a failed saga can be retried", {}};
            return done(&f, nullptr);
          }
          self->send(self, saga_tick_atom::value);  // drive it now
          done(nullptr, r.value->second);
        });
  });

  // ---- tax rates ----
  routes.add("GET", "/tax-rates", "List tax rates", [self](request_context& ctx) {
    read_tx<std::vector<tax_rate>>(
        self, ctx, [](pqxx::work& tx) { return load_tax_rates(tx); },
        [](const std::vector<tax_rate>& v) {
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& t : v) arr.push_back(render_tax_rate(t));
          return json_response(200, arr);
        });
  });
  auto write_rate = [self](request_context& ctx, const std::string& id) {
    auto body = parse_body(ctx);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    const bool create = id.empty();
    auto country = r.string("country", create ? input::required : input::optional, 2, 2);
    auto region = r.string("region", input::optional, 0, 50);
    std::optional<int64_t> rate;
    if (r.has("rate")) {
      const auto& v = body->at("rate");
      std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      rate = parse_rate_e5(text);
      if (!rate) r.issue("rate", "rate must be a decimal in [0, 1) with at most 5 decimals");
    } else if (create) {
      r.issue("rate", "field required", "value_error.missing");
    }
    auto name = r.string("name", input::optional, 0, 200);
    auto from = r.string("effective_from", input::optional, 10, 40);
    auto to = r.string("effective_to", input::optional, 10, 40);
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    nlohmann::json d = {{"id", create ? uuid_v4() : id},
                        {"country", country ? lower(*country) : ""},
                        {"region", region.value_or("")},
                        {"has_region", r.has("region")},
                        {"rate", rate ? format_rate_e5(*rate) : ""},
                        {"name", name.value_or("")},
                        {"has_name", name.has_value()},
                        {"from", from.value_or("")},
                        {"to", to.value_or("")},
                        {"has_to", r.has("effective_to")}};
    for (auto& c : d["country"].get_ref<std::string&>()) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (auto& c : d["region"].get_ref<std::string&>()) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto shared = std::make_shared<request_context>(std::move(ctx));
    db_transact<std::optional<tax_rate>>(
        self, *self->state.ctx.database,
        [d, create](pqxx::work& tx) -> std::optional<tax_rate> {
          if (create) {
            tx.exec_params(
                "INSERT INTO orders.tax_rates (tax_rate_id, country, region, rate, name, effective_from, effective_to) "
                "VALUES (($1::jsonb->>'id')::uuid, $1::jsonb->>'country', nullif($1::jsonb->>'region', ''), "
                "($1::jsonb->>'rate')::numeric, $1::jsonb->>'name', coalesce(nullif($1::jsonb->>'from', '')::timestamptz, "
                "'2000-01-01T00:00:00Z'), nullif($1::jsonb->>'to', '')::timestamptz)",
                d.dump());
          } else {
            auto r = tx.exec_params(
                "UPDATE orders.tax_rates SET country = coalesce(nullif($1::jsonb->>'country', ''), country), "
                "region = CASE WHEN ($1::jsonb->>'has_region')::boolean THEN nullif($1::jsonb->>'region', '') ELSE region END, "
                "rate = coalesce(nullif($1::jsonb->>'rate', '')::numeric, rate), "
                "name = CASE WHEN ($1::jsonb->>'has_name')::boolean THEN $1::jsonb->>'name' ELSE name END, "
                "effective_from = coalesce(nullif($1::jsonb->>'from', '')::timestamptz, effective_from), "
                "effective_to = CASE WHEN ($1::jsonb->>'has_to')::boolean THEN nullif($1::jsonb->>'to', '')::timestamptz "
                "ELSE effective_to END, updated_at = now() WHERE tax_rate_id::text = $1::jsonb->>'id'",
                d.dump());
            if (r.affected_rows() == 0) return std::nullopt;
          }
          for (auto& t : load_tax_rates(tx))
            if (t.tax_rate_id == d.value("id", "")) return t;
          return std::nullopt;
        },
        [self, shared, create](db::outcome<std::optional<tax_rate>> r) {
          if (!r.ok()) {
            if (r.failure->code == db::errc::conflict)
              return shared->respond(http::error(409, "Tax rate period overlaps an existing rate"));
            if (r.failure->code == db::errc::invalid)
              return shared->respond(http::validation_error({{{"body"}, "invalid tax rate", "value_error"}}));
            return shared->respond(failure_response(db_failure(*r.failure)));
          }
          if (!*r.value) return shared->respond(http::error(404, "Tax rate not found"));
          auto body = render_tax_rate(**r.value);
          // answer once the cache holds the change, so the next order sees it
          reload_tax_rates(self, [shared, body, create] { shared->respond(json_response(create ? 201 : 200, body)); });
        });
  };
  routes.add("POST", "/tax-rates", "Create a tax rate", [write_rate](request_context& ctx) { write_rate(ctx, ""); });
  routes.add("PUT", "/tax-rates/{tax_rate_id}", "Update a tax rate", [write_rate](request_context& ctx) {
    const std::string id = ctx.params.get("tax_rate_id");
    write_rate(ctx, id);
  });
  routes.add("DELETE", "/tax-rates/{tax_rate_id}", "Delete a tax rate", [self](request_context& ctx) {
    const std::string id = ctx.params.get("tax_rate_id");
    auto shared = std::make_shared<request_context>(std::move(ctx));
    db_transact<int64_t>(
        self, *self->state.ctx.database,
        [id](pqxx::work& tx) {
          return static_cast<int64_t>(
              tx.exec_params("DELETE FROM orders.tax_rates WHERE tax_rate_id::text = $1", id).affected_rows());
        },
        [self, shared](db::outcome<int64_t> r) {
          if (!r.ok()) return shared->respond(failure_response(db_failure(*r.failure)));
          if (*r.value == 0) return shared->respond(http::error(404, "Tax rate not found"));
          reload_tax_rates(self, [shared] { shared->respond(http_response{204, "application/json", "", {}}); });
        });
  });

  // ---- partial shipments (built-in fulfilment) ----
  add("POST", "/orders/{order_id}/shipments", "Create a partial shipment", [self](request_context& ctx) {
    auto body = parse_body(ctx);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    if (const auto* items = r.array("items", input::required, 1, 200)) {
      for (size_t i = 0; i < items->size(); ++i) {
        input::object_reader ir{(*items)[i], {"body", "items", std::to_string(i)}, issues};
        if (!ir.has("order_item_id") && !ir.has("item_id"))
          ir.issue("order_item_id", "field required", "value_error.missing");
        ir.integer("quantity", input::required, 1, 10000);
      }
    }
    r.string("carrier", input::optional, 0, 100);
    r.string("warehouse_id", input::optional, 0, 100);
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    const std::string path_id = ctx.params.get("order_id");
    create_shipment(self, path_id, *body, responder(ctx, 201));
  });
  add("GET", "/orders/{order_id}/shipments", "List an order's shipments", [self](request_context& ctx) {
    const std::string id = ctx.params.get("order_id");
    using loaded = std::pair<bool, std::vector<shipment_row>>;
    read_tx<loaded>(
        self, ctx,
        [id](pqxx::work& tx) {
          auto o = load_order(tx, id);
          if (!o) return loaded{false, {}};
          return loaded{true, load_shipments(tx, o->order_id)};
        },
        [](const loaded& l) {
          if (!l.first) return http::error(404, "Order not found");
          nlohmann::json arr = nlohmann::json::array();
          for (const auto& s : l.second) arr.push_back(render_shipment(s));
          return json_response(200, arr);
        });
  });
  add("PATCH", "/orders/shipments/{shipment_id}/tracking", "Hand a shipment over (capture + stock commit)",
      [self](request_context& ctx) {
        auto body = parse_body(ctx);
        if (!body) return;
        input::issue_list issues;
        input::object_reader r{*body, {"body"}, issues};
        auto tn = r.string("tracking_number", input::required, 1, 200);
        auto carrier = r.string("carrier", input::optional, 0, 100).value_or("");
        if (!issues.empty()) return ctx.respond(http::validation_error(issues));
        const std::string path_id = ctx.params.get("shipment_id");
        ship_shipment(self, path_id, *tn, carrier, responder(ctx));
      });
  add("POST", "/orders/shipments/{shipment_id}/delivered", "Mark a shipment delivered", [self](request_context& ctx) {
    auto body = parse_body(ctx, true);
    if (!body) return;
    input::issue_list issues;
    input::object_reader r{*body, {"body"}, issues};
    auto date = r.string("delivery_date", input::optional, 10, 40).value_or("");
    if (!date.empty() && date > clock::iso8601_now())
      r.issue("delivery_date", "delivery_date must not be in the future");
    if (!issues.empty()) return ctx.respond(http::validation_error(issues));
    const std::string path_id = ctx.params.get("shipment_id");
    deliver_shipment(self, path_id, date, responder(ctx));
  });
}

}  // namespace mercato::order
