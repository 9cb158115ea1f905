// inventory's REST table (agents/8002-inventory.md "REST"): JSON ⇄ the same store operations the
// typed messages use. Every answer but /health and /alerts carries the seed's envelope
// {success, status_code, message, data, errors, metadata, timestamp}; errors are FastAPI's
// {"detail": …}. Paths and bodies accept a SKU for product_id and a code for warehouse_id.
#include <algorithm>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "domain/json_input.hpp"
#include "domain/money.hpp"
#include "http/problem.hpp"
#include "inventory/inventory_state.hpp"
#include "inventory/iso_time.hpp"
#include "runtime/clock.hpp"

namespace mercato::inventory {

namespace {

using nlohmann::json;
using http::request_context;

http_response envelope(int status, const std::string& message, json data, json extra = json::object()) {
  json body = {{"success", status < 400}, {"status_code", status}, {"message", message},
               {"data", std::move(data)}, {"errors", json::array()}, {"metadata", json::object()},
               {"timestamp", clock::iso8601_now()}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  return input::json_response(status, body);
}

http_response body_issue(const std::string& field, const std::string& msg) {
  return http::validation_error({{{"body", field}, msg, "value_error"}});
}

bool is_uuid(const std::string& s) {
  static const std::regex re{"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"};
  return std::regex_match(s, re);
}

json reservation_json(const reservation& r) {
  return {{"reservation_id", r.reservation_id}, {"product_id", r.product_id},
          {"warehouse_id", r.warehouse_id},     {"quantity", r.quantity},
          {"status", r.status},
          {"expires_at", r.expires_at.empty() ? json(nullptr) : json(r.expires_at)}};
}

std::string sku_of(inventory_self self, const std::string& ref, const std::string& item) {
  if (ref != item) return ref;  // the caller named it by SKU
  if (auto* p = cached_product(self, item); p && !p->sku.empty()) return p->sku;
  return item;
}

// --- GET /inventory --------------------------------------------------------------------------
struct listing {
  std::vector<store::level_view> levels;
  std::vector<warehouse_info> warehouses;
};

void list_inventory(inventory_self self, request_context& c) {
  input::query_reader q{c.request};
  int64_t page = q.integer("page", input::optional, 1, 1'000'000).value_or(1);
  int64_t per_page = 20;
  if (auto v = q.integer("per_page", input::optional, 1, 1000)) per_page = *v;
  else if (auto l = q.integer("limit", input::optional, 1, 1000)) per_page = *l;
  auto sort_by = q.choice("sortBy", input::optional, {"sku", "name", "totalStock", "available"}).value_or("sku");
  auto direction = q.choice("sortDirection", input::optional, {"asc", "desc"}, true).value_or("asc");
  auto status = q.choice("stockStatus", input::optional, {"low", "out", "in"}).value_or("");
  auto search = q.string("search", input::optional, 0, 200).value_or("");
  auto category = q.string("category", input::optional, 0, 200).value_or("");
  auto product_ref = q.string("product_id", input::optional, 1, 100).value_or("");
  auto warehouse = q.string("warehouse_id", input::optional, 1, 100).value_or(q.string("warehouse", input::optional, 1, 100).value_or(""));
  if (!q.ok()) return c.respond(q.error_response());

  auto after_item = [=, c = std::move(c)](std::string item, bool) mutable {
    with_store<listing>(
        self, false,
        [=](pqxx::work& tx, const warehouse_register& reg) {
          store::result<listing> r;
          r.value.warehouses = reg.all();
          store::level_filter f{item, "", status};
          if (!warehouse.empty()) {
            auto* w = reg.find(warehouse);
            if (!w) return r;  // unknown warehouse: nothing stocked there
            f.warehouse_id = w->warehouse_id;
          }
          r.value.levels = store::list_levels(tx, f);
          return r;
        },
        [=, c = std::move(c)](std::optional<failure> f, listing l) mutable {
          if (f) return c.respond(failure_response(*f));
          std::vector<std::string> ids;
          for (const auto& v : l.levels)
            if (ids.empty() || ids.back() != v.product_id) ids.push_back(v.product_id);
          load_products(self, ids, [=, c = std::move(c), l = std::move(l)](bool) mutable {
            std::map<std::string, const warehouse_info*> wh;
            for (const auto& w : l.warehouses) wh[w.warehouse_id] = &w;
            auto info = [&](const std::string& id) { return cached_product(self, id); };
            auto lower = [](std::string s) {
              std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
              return s;
            };
            std::string needle = lower(search);
            // Group per item (dashboard view) and keep the per-level rows (seed view).
            struct item_view {
              std::string id, sku, name, category, image;
              int64_t price = 0, total = 0, available = 0, threshold = 0;
              std::vector<const store::level_view*> levels;
            };
            std::map<std::string, item_view> items;
            for (const auto& v : l.levels) {
              auto* p = info(v.product_id);
              std::string sku = p ? p->sku : v.product_id, name = p ? p->name : v.product_id;
              if (!needle.empty() && lower(sku).find(needle) == std::string::npos &&
                  lower(name).find(needle) == std::string::npos)
                continue;
              if (!category.empty() && (!p || lower(p->category) != lower(category))) continue;
              auto& it = items[v.product_id];
              it.id = v.product_id;
              it.sku = sku;
              it.name = name;
              if (p) {
                it.category = p->category;
                it.image = p->image_url;
                it.price = p->price_cents;
              }
              it.total += v.quantity;
              it.available += v.available;
              it.threshold = std::max(it.threshold, v.reorder_point);
              it.levels.push_back(&v);
            }
            std::vector<item_view*> order;
            for (auto& [k, v] : items) order.push_back(&v);
            std::stable_sort(order.begin(), order.end(), [&](const item_view* a, const item_view* b) {
              if (sort_by == "name") return a->name < b->name;
              if (sort_by == "totalStock") return a->total < b->total;
              if (sort_by == "available") return a->available < b->available;
              return a->sku < b->sku;
            });
            if (direction == "desc") std::reverse(order.begin(), order.end());
            json rows = json::array(), dashboard = json::array();
            for (const auto* it : order) {
              json whs = json::array();
              for (const auto* v : it->levels) {
                auto w = wh.find(v->warehouse_id);
                std::string code = w != wh.end() ? w->second->code : "";
                rows.push_back({{"id", v->inventory_id},
                                {"product_id", v->product_id},
                                {"sku", it->sku},
                                {"name", it->name},
                                {"warehouse_id", v->warehouse_id},
                                {"warehouse_code", code},
                                {"quantity", v->quantity},
                                {"reserved_quantity", v->reserved},
                                {"available_quantity", v->available},
                                {"reorder_point", v->reorder_point},
                                {"max_stock", v->max_stock},
                                {"location", v->location},
                                {"last_updated", v->last_updated}});
                whs.push_back({{"id", v->warehouse_id},
                               {"name", w != wh.end() ? w->second->name : ""},
                               {"quantity", v->quantity}});
              }
              dashboard.push_back({{"id", it->id}, {"productId", it->id}, {"name", it->name}, {"sku", it->sku},
                                   {"image", it->image}, {"category", it->category},
                                   {"price", money::to_json(it->price)}, {"totalStock", it->total},
                                   {"lowStockThreshold", it->threshold}, {"warehouses", whs}});
            }
            auto page_of = [&](const json& all) {
              json out = json::array();
              size_t from = static_cast<size_t>((page - 1) * per_page);
              for (size_t i = from; i < all.size() && i < from + static_cast<size_t>(per_page); ++i)
                out.push_back(all[i]);
              return out;
            };
            auto pages = [&](size_t n) { return static_cast<int64_t>((n + per_page - 1) / per_page); };
            json data = {{"items", page_of(rows)}, {"total", rows.size()}, {"page", page},
                         {"per_page", per_page}, {"total_pages", pages(rows.size())}};
            c.respond(envelope(200, "Inventory retrieved successfully", data,
                               {{"inventory", page_of(dashboard)}, {"totalItems", dashboard.size()},
                                {"totalPages", pages(dashboard.size())}}));
          });
        });
  };
  if (product_ref.empty())
    after_item("", false);
  else
    resolve_item(self, product_ref, std::move(after_item));
}

// --- GET /inventory/{product_id}/availability --------------------------------------------------
void availability(inventory_self self, request_context& c) {
  input::query_reader q{c.request};
  int64_t quantity = q.integer("quantity", input::optional, 1, 1'000'000).value_or(1);
  if (!q.ok()) return c.respond(q.error_response());
  std::string ref = c.params.get("product_id");
  resolve_item(self, ref, [=, c = std::move(c)](std::string item, bool) mutable {
    with_store<availability_report>(
        self, false,
        [=](pqxx::work& tx, const warehouse_register& reg) {
          return store::check_availability(tx, {stock_line{item, quantity, ""}}, reg);
        },
        [=, c = std::move(c)](std::optional<failure> f, availability_report r) mutable {
          if (f && f->code == "unknown_item") return c.respond(http::not_found("Product not found"));
          if (f) return c.respond(failure_response(*f));
          const auto& line = r.lines.front();
          json whs = json::array();
          for (const auto& w : line.warehouses)
            whs.push_back({{"warehouse_id", w.warehouse_id}, {"warehouse_code", w.warehouse_code},
                           {"available_quantity", w.available}});
          c.respond(envelope(200, "Product availability checked",
                             {{"product_id", item}, {"requested_quantity", quantity},
                              {"available", line.total_available >= quantity},
                              {"total_available", line.total_available}, {"warehouses", whs},
                              {"can_fulfill_from_single_warehouse", line.available}}));
        });
  });
}

// --- POST /inventory/reserve ---------------------------------------------------------------------
void reserve_one(inventory_self self, request_context& c) {
  input::body_reader in{c.request.body};
  auto ref = in.string("product_id", input::required, 1, 100);
  auto quantity = in.integer("quantity", input::required, 1, 1'000'000);
  auto order_id = in.string("order_id", input::required, 1, 100);
  auto warehouse = in.string("warehouse_id", input::optional, 1, 100);
  auto expires = in.string("expires_at", input::optional, 1, 64);
  int64_t ttl = self->state.rest_reservation_ttl_s;  // [inventory] reservation_ttl_ms
  if (expires) {
    auto t = parse_iso8601(*expires);
    if (!t) {
      in.issue("expires_at", "invalid datetime format", "value_error.datetime");
    } else {
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(*t - std::chrono::system_clock::now()).count();
      if (secs < 1)
        in.issue("expires_at", "expires_at must be in the future");
      else if (secs > 604800)
        in.issue("expires_at", "expires_at must be at most 7 days ahead");
      else
        ttl = secs;
    }
  }
  if (!in.ok()) return c.respond(in.error_response());
  reserve_stock req;
  req.order_id = *order_id;
  req.ttl_seconds = ttl;
  std::string product_ref = *ref, wh = warehouse.value_or("");
  int64_t qty = *quantity;
  resolve_item(self, product_ref, [=, c = std::move(c)](std::string item, bool) mutable {
    req.lines = {stock_line{item, qty, wh}};
    with_store<reservation_set>(
        self, true,
        [req](pqxx::work& tx, const warehouse_register& reg) { return store::reserve(tx, req, reg, true); },
        [=, c = std::move(c)](std::optional<failure> f, reservation_set set) mutable {
          if (f) {
            if (f->code == "unknown_item") return c.respond(body_issue("product_id", "Product not found"));
            if (f->code == "unknown_warehouse") return c.respond(body_issue("warehouse_id", "Warehouse not found"));
            if (f->code == "insufficient_stock") {
              auto d = json::parse(f->detail, nullptr, false);
              return c.respond(http::error(
                  409, fmt::format("Insufficient stock for product {} in warehouse {}: requested {}, available {}",
                                   sku_of(self, product_ref, item), d.value("warehouse_code", ""),
                                   d.value("requested", 0), d.value("available", 0))));
            }
            if (f->code == "conflict")
              return c.respond(http::error(409, "Active reservation already exists for this order and product"));
            return c.respond(failure_response(*f));
          }
          if (set.reservations.empty()) return c.respond(http::error(409, "Nothing reserved"));
          c.respond(envelope(set.replayed ? 200 : 201, "Stock reserved successfully",
                             reservation_json(set.reservations.front())));
        });
  });
}

// --- POST /inventory/release-reservation/{id}, /inventory/reservations/{id}/confirm -------------
void release_one(inventory_self self, request_context& c) {
  std::string id = c.params.get("reservation_id");
  if (!is_uuid(id)) return c.respond(http::not_found("Reservation not found"));
  with_store<reservation>(
      self, true,
      [id](pqxx::work& tx, const warehouse_register& reg) {
        store::result<reservation> r;
        auto current = store::get_reservation(tx, id);
        if (!current) {
          r.error = failure{failure_kind::not_found, "not_found", "Reservation not found", {}};
          return r;
        }
        if (current->status == "fulfilled") {
          r.error = failure{failure_kind::conflict, "conflict", "Reservation already fulfilled", {}};
          return r;
        }
        if (current->status == "active" || current->status == "confirmed") {
          auto rel = store::release(tx, "", {}, {id}, "released via API", reg);
          if (rel.error) {
            r.error = rel.error;
            return r;
          }
          current = store::get_reservation(tx, id);
        }
        r.value = *current;
        return r;
      },
      [c = std::move(c)](std::optional<failure> f, reservation r) mutable {
        if (f) return c.respond(failure_response(*f));
        c.respond(envelope(200, "Stock reservation released successfully",
                           {{"reservation_id", r.reservation_id}, {"status", r.status}}));
      });
}

void confirm_one(inventory_self self, request_context& c) {
  std::string id = c.params.get("reservation_id");
  if (!is_uuid(id)) return c.respond(http::not_found("Reservation not found"));
  with_store<reservation>(
      self, false,
      [id](pqxx::work& tx, const warehouse_register&) {
        store::result<reservation> r;
        auto current = store::get_reservation(tx, id);
        if (!current) {
          r.error = failure{failure_kind::not_found, "not_found", "Reservation not found", {}};
          return r;
        }
        auto done = store::confirm(tx, "", {id});
        if (done.error) {
          r.error = done.error;
          if (done.error->code == "expired") r.error->message = "Reservation expired";
          return r;
        }
        r.value = done.value.reservations.front();
        return r;
      },
      [c = std::move(c)](std::optional<failure> f, reservation r) mutable {
        if (f) return c.respond(failure_response(*f));
        c.respond(envelope(200, "Stock reservation confirmed successfully", reservation_json(r)));
      });
}

void list_reservations(inventory_self self, request_context& c) {
  input::query_reader q{c.request};
  auto w = input::read_window(q);
  store::reservation_filter f;
  f.order_id = q.string("order_id", input::optional, 1, 100).value_or("");
  f.status = q.choice("status", input::optional, {"active", "confirmed", "released", "expired", "fulfilled"})
                 .value_or("");
  auto product_ref = q.string("product_id", input::optional, 1, 100).value_or("");
  if (!q.ok()) return c.respond(q.error_response());
  f.skip = w.skip;
  f.limit = w.limit;
  auto go = [self, f, c = std::move(c)](std::string item, bool) mutable {
    f.product_id = item;
    with_store<std::vector<reservation>>(
        self, false,
        [f](pqxx::work& tx, const warehouse_register&) {
          return store::result<std::vector<reservation>>{std::nullopt, store::list_reservations(tx, f)};
        },
        [c = std::move(c)](std::optional<failure> fl, std::vector<reservation> rs) mutable {
          if (fl) return c.respond(failure_response(*fl));
          json data = json::array();
          for (const auto& r : rs) data.push_back(reservation_json(r));
          c.respond(envelope(200, "Reservations retrieved successfully", data));
        });
  };
  if (product_ref.empty())
    go("", false);
  else
    resolve_item(self, product_ref, std::move(go));
}

// --- POST /inventory/move ------------------------------------------------------------------------
void move_stock(inventory_self self, request_context& c) {
  input::body_reader in{c.request.body};
  auto ref = in.string("product_id", input::required, 1, 100);
  auto warehouse = in.string("warehouse_id", input::required, 1, 100);
  auto change = in.integer("quantity_change", input::required, -10'000'000, 10'000'000);
  auto type = in.choice("movement_type", input::required, {"inbound", "outbound", "transfer", "adjustment", "return"});
  auto to = in.string("to_warehouse_id", input::optional, 1, 100);
  auto reference = in.string("reference_id", input::optional, 1, 200);
  auto notes = in.string("notes", input::optional, 0, 1000);
  if (change && type) {
    auto problem = check_move(*type, *change);
    if (!problem.empty()) in.issue("quantity_change", problem);
  }
  if (type && *type == "transfer") {
    if (!to)
      in.issue("to_warehouse_id", "to_warehouse_id is required for transfers", "value_error.missing");
    else if (warehouse && *to == *warehouse)
      in.issue("to_warehouse_id", "source and target warehouse must differ");
  }
  if (!in.ok()) return c.respond(in.error_response());
  store::move_request req;
  req.warehouse_id = *warehouse;
  req.to_warehouse_id = to.value_or("");
  req.quantity_change = *change;
  req.movement_type = *type;
  req.reference = reference.value_or("");
  req.notes = notes.value_or("");
  std::string product_ref = *ref;
  resolve_item(self, product_ref, [=, c = std::move(c)](std::string item, bool known) mutable {
    req.product_id = item;
    req.create_level = known;  // a first inbound creates the level of an item the catalogue has
    with_store<store::move_outcome>(
        self, true, [req](pqxx::work& tx, const warehouse_register& reg) { return store::move(tx, req, reg); },
        [c = std::move(c)](std::optional<failure> f, store::move_outcome out) mutable {
          if (f) {
            if (f->code == "unknown_item") return c.respond(body_issue("product_id", "Product not found"));
            if (f->code == "unknown_warehouse") return c.respond(body_issue("warehouse_id", f->message));
            if (f->kind == failure_kind::invalid) return c.respond(body_issue("to_warehouse_id", f->message));
            return c.respond(failure_response(*f));
          }
          const auto& first = out.movements.front();
          json data = {{"movement_id", first.movement_id}, {"quantity_after", first.quantity_after},
                       {"available_after", first.available_after}};
          if (out.movements.size() > 1) {
            json ids = json::array();
            for (const auto& m : out.movements) ids.push_back(m.movement_id);
            data["movement_ids"] = ids;
            data["to_movement_id"] = out.movements[1].movement_id;
            data["to_quantity_after"] = out.movements[1].quantity_after;
            data["to_available_after"] = out.movements[1].available_after;
          }
          c.respond(envelope(out.replayed ? 200 : 201, "Stock movement recorded successfully", data));
        });
  });
}

// --- PUT /inventory/{product_id}/{warehouse_id} ---------------------------------------------------
void update_level(inventory_self self, request_context& c) {
  input::body_reader in{c.request.body};
  if (in.has("reserved_quantity")) in.issue("reserved_quantity", "reserved_quantity is managed by reservations");
  store::level_update u;
  u.quantity = in.integer("quantity", input::optional, 0, 100'000'000);
  u.reorder_point = in.integer("reorder_point", input::optional, 0, 100'000'000);
  u.max_stock = in.integer("max_stock", input::optional, 0, 100'000'000);
  u.location = in.string("location", input::optional, 0, 100);
  if (!in.ok()) return c.respond(in.error_response());
  u.warehouse_id = c.params.get("warehouse_id");
  std::string ref = c.params.get("product_id");
  resolve_item(self, ref, [=, c = std::move(c)](std::string item, bool known) mutable {
    u.product_id = item;
    u.allow_create = known;
    with_store<json>(
        self, true, [u](pqxx::work& tx, const warehouse_register& reg) { return store::update_level(tx, u, reg); },
        [=, c = std::move(c)](std::optional<failure> f, json item_json) mutable {
          if (f) {
            if (f->code == "unknown_item") return c.respond(http::not_found("Product not found"));
            if (f->code == "unknown_warehouse") return c.respond(http::not_found("Warehouse not found"));
            return c.respond(failure_response(*f));
          }
          c.respond(envelope(200, "Inventory item updated successfully", item_json));
        });
  });
}

// --- alerts and analytics ------------------------------------------------------------------------
void list_alerts(inventory_self self, request_context& c) {
  input::query_reader q{c.request};
  auto status = q.choice("status", input::optional, {"open", "resolved", "all"}).value_or("open");
  auto level = q.choice("level", input::optional, {"warning", "critical"}).value_or("");
  if (!q.ok()) return c.respond(q.error_response());
  with_store<json>(
      self, false,
      [=](pqxx::work& tx, const warehouse_register&) {
        return store::result<json>{std::nullopt, store::alerts(tx, status, level)};
      },
      [self, c = std::move(c)](std::optional<failure> f, json rows) mutable {
        if (f) return c.respond(failure_response(*f));
        std::vector<std::string> ids;
        for (const auto& r : rows) ids.push_back(r["productId"].get<std::string>());
        load_products(self, ids, [self, rows = std::move(rows), c = std::move(c)](bool) mutable {
          for (auto& r : rows)
            if (auto* p = cached_product(self, r["productId"].get<std::string>())) {
              r["product"] = p->name;
              r["sku"] = p->sku;
            }
          c.respond(input::json_response(200, rows));
        });
      });
}

void low_stock(inventory_self self, request_context& c) {
  with_store<json>(
      self, false,
      [](pqxx::work& tx, const warehouse_register&) {
        return store::result<json>{std::nullopt, store::low_stock(tx)};
      },
      [c = std::move(c)](std::optional<failure> f, json alerts) mutable {
        if (f) return c.respond(failure_response(*f));
        auto n = alerts.size();
        c.respond(envelope(200, fmt::format("Found {} low stock alerts", n), {{"alerts", alerts}, {"count", n}}));
      });
}

void inventory_value(inventory_self self, request_context& c) {
  with_store<json>(
      self, false,
      [](pqxx::work& tx, const warehouse_register&) {
        return store::result<json>{std::nullopt, store::value_totals(tx)};
      },
      [self, c = std::move(c)](std::optional<failure> f, json totals) mutable {
        if (f) return c.respond(failure_response(*f));
        std::vector<std::string> ids;
        for (auto& [id, q] : totals["on_hand_by_item"].items()) ids.push_back(id);
        load_products(self, ids, [self, totals = std::move(totals), c = std::move(c)](bool ok) mutable {
          json value = nullptr;
          if (ok) {
            money::cents sum = 0;
            for (auto& [id, q] : totals["on_hand_by_item"].items())
              if (auto* p = cached_product(self, id)) sum += p->price_cents * q.get<int64_t>();
            value = money::to_json(sum);
          }
          totals.erase("on_hand_by_item");
          totals["total_value"] = value;
          totals["timestamp"] = clock::iso8601_now();
          c.respond(envelope(200, "Inventory value calculated successfully", totals));
        });
      });
}

void movement_stats(inventory_self self, request_context& c) {
  input::query_reader q{c.request};
  int64_t days = q.integer("days", input::optional, 1, 365).value_or(30);
  auto type = q.choice("movement_type", input::optional,
                       {"inbound", "outbound", "transfer_out", "transfer_in", "adjustment", "return",
                        "reservation", "release", "fulfillment"})
                  .value_or("");
  if (!q.ok()) return c.respond(q.error_response());
  with_store<json>(
      self, false,
      [=](pqxx::work& tx, const warehouse_register&) {
        return store::result<json>{std::nullopt, store::movement_analytics(tx, days, type)};
      },
      [c = std::move(c)](std::optional<failure> f, json data) mutable {
        if (f) return c.respond(failure_response(*f));
        c.respond(envelope(200, "Stock movement analytics retrieved successfully", data));
      });
}

}  // namespace

void add_inventory_routes(inventory_self self) {
  auto& r = self->state.shell->routes();
  auto bind = [self](void (*fn)(inventory_self, request_context&)) {
    return [self, fn](request_context& c) { fn(self, c); };
  };
  r.add("GET", "/inventory", "List stock levels (seed and dashboard views)", bind(list_inventory));
  r.add("GET", "/inventory/reservations", "List reservations", bind(list_reservations));
  r.add("GET", "/inventory/{product_id}/availability", "Availability of an item", bind(availability));
  r.add("POST", "/inventory/reserve", "Reserve stock for an order line", bind(reserve_one));
  r.add("POST", "/inventory/release-reservation/{reservation_id}", "Release a reservation", bind(release_one));
  r.add("POST", "/inventory/reservations/{reservation_id}/confirm", "Confirm a reservation", bind(confirm_one));
  r.add("POST", "/inventory/move", "Record a stock movement", bind(move_stock));
  r.add("PUT", "/inventory/{product_id}/{warehouse_id}", "Update a stock level", bind(update_level));
  r.add("GET", "/alerts", "Low-stock alerts", bind(list_alerts));
  r.add("GET", "/analytics/low-stock", "Open low-stock alerts with reorder suggestions", bind(low_stock));
  r.add("GET", "/analytics/inventory-value", "Units and value on hand", bind(inventory_value));
  r.add("GET", "/analytics/stock-movements", "Movement ledger analytics", bind(movement_stats));
}

}  // namespace mercato::inventory
