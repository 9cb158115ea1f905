// Fulfilment without the warehouse/transport agents (BUILT-IN until they exist): partial
// shipments through REST. Creating one checks the remaining quantities; handing it over (tracking
// number) captures its value at the payment agent (key <order_id>:capture:<shipment_id>, `final`
// on the last) and commits the reserved stock (inventory fulfill_reservations); delivering moves
// the order to delivered once every shipment is. Also PATCH status (the transition table).
#include <fmt/format.h>

#include "order/order_agent_state.hpp"
#include "order/order_pricing.hpp"
#include "order/order_status.hpp"
#include "order/order_view.hpp"
#include "order/timeline.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {
namespace {

struct shipment_result {
  std::optional<failure> error;
  nlohmann::json body;
};

template <class Work>
void run_tx(order_self self, Work work, json_done done) {
  db_transact<shipment_result>(self, *self->state.ctx.database, std::move(work),
                               [self, done](db::outcome<shipment_result> r) {
                                 if (!r.ok()) {
                                   auto f = db_failure(*r.failure);
                                   return done(&f, nullptr);
                                 }
                                 if (r.value->error) return done(&*r.value->error, nullptr);
                                 self->state.ctx.relay->wake(self->state.ctx.spec->schema);
                                 done(nullptr, r.value->body);
                               });
}

const order_line* find_line(const order_record& o, const nlohmann::json& ref) {
  for (const auto& l : o.lines) {
    if (ref.is_string() && (ref.get<std::string>() == l.item_id || ref.get<std::string>() == std::to_string(l.line_number)))
      return &l;
    if (ref.is_number_integer() && ref.get<int64_t>() == l.line_number) return &l;
  }
  return nullptr;
}

std::string fulfillment_of(const order_record& o) {
  int64_t q = 0, shipped = 0, delivered = 0;
  for (const auto& l : o.lines) {
    q += l.quantity;
    shipped += l.quantity_shipped;
    delivered += l.quantity_delivered;
  }
  if (q > 0 && delivered == q) return "delivered";
  if (delivered > 0) return "partially_delivered";
  if (q > 0 && shipped == q) return "shipped";
  if (shipped > 0) return "partially_shipped";
  return "unfulfilled";
}

// The shipment's capture: its lines' paid value (per-unit rounding, last units take the rest)
// plus the shipping cost on the first capture; the final one takes whatever remains of the total.
struct capture_plan {
  money::cents amount = 0;
  bool final = false;
  std::vector<inventory::stock_line> stock;
};
capture_plan plan_capture(const order_record& o, const std::vector<shipment_row>& all, const shipment_row& s) {
  capture_plan p;
  std::unordered_map<std::string, int64_t> handed;  // units in shipments already shipped
  bool any_captured = false;
  for (const auto& x : all) {
    if (x.shipment_id == s.shipment_id || x.status == "pending" || x.status == "processing") continue;
    any_captured = true;
    for (const auto& i : x.items) handed[i.item_id] += i.quantity;
  }
  int64_t remaining_after = 0;
  for (const auto& l : o.lines) {
    int64_t k = 0;
    for (const auto& i : s.items)
      if (i.item_id == l.item_id) k += i.quantity;
    const int64_t before = handed[l.item_id];
    p.amount += units_value(line_paid(l), l.quantity, before, k);
    remaining_after += l.quantity - before - k;
    if (k > 0) {
      if (l.bundle_components.is_array() && !l.bundle_components.empty()) {
        for (const auto& c : l.bundle_components)
          p.stock.push_back({c.value("item_id", ""), c.value("quantity", int64_t{1}) * k, {}});
      } else {
        p.stock.push_back({l.product_id, k, {}});
      }
    }
  }
  if (!any_captured) p.amount += o.shipping_cost;
  p.final = remaining_after == 0;
  if (p.final) p.amount = o.total_amount - o.amount_captured;
  return p;
}

}  // namespace

void create_shipment(order_self self, const std::string& order_ref, const nlohmann::json& body, json_done done) {
  run_tx(
      self,
      [order_ref, body](pqxx::work& tx) {
        shipment_result r;
        auto o = load_order(tx, order_ref, true);
        if (!o) {
          r.error = not_found_order();
          return r;
        }
        if (o->status != "confirmed" && o->status != "processing") {
          r.error = failure{failure_kind::conflict, "conflict",
                            "Cannot create a shipment for an order in status '" + o->status + "'", {}};
          return r;
        }
        const auto& items = body.at("items");
        auto existing = load_shipments(tx, o->order_id);
        std::unordered_map<std::string, int64_t> planned;
        for (const auto& s : existing)
          for (const auto& i : s.items) planned[i.item_id] += i.quantity;
        std::vector<shipment_item> rows;
        for (size_t n = 0; n < items.size(); ++n) {
          const auto& it = items[n];
          const auto* l = find_line(*o, it.contains("order_item_id") ? it["order_item_id"] : it.value("item_id", nlohmann::json()));
          if (!l) {
            r.error = failure{failure_kind::invalid, "invalid", "Order item not found",
                              nlohmann::json::array({{{"loc", {"body", "items", n, "order_item_id"}},
                                                      {"msg", "Order item not found"},
                                                      {"type", "value_error.not_found"}}})
                                  .dump()};
            return r;
          }
          const int64_t q = it.value("quantity", int64_t{0});
          const int64_t remaining = l->quantity - planned[l->item_id];
          if (q > remaining) {
            r.error = failure{failure_kind::conflict, "conflict",
                              fmt::format("Shipment quantity exceeds remaining quantity for item {} (remaining {})",
                                          l->line_number, remaining),
                              {}};
            return r;
          }
          planned[l->item_id] += q;
          rows.push_back({l->item_id, q});
        }
        const std::string id = uuid_v4();
        tx.exec_params(
            "INSERT INTO orders.partial_shipments (shipment_id, order_id, shipment_number, warehouse_id, carrier, "
            "estimated_delivery, metadata) VALUES ($1::uuid, $2::uuid, (SELECT coalesce(max(shipment_number), 0) + 1 "
            "FROM orders.partial_shipments WHERE order_id = $2::uuid), nullif($3, ''), nullif($4, ''), "
            "nullif($5, '')::timestamptz, $6::jsonb)",
            id, o->order_id, body.value("warehouse_id", ""), body.value("carrier", ""),
            body.value("estimated_delivery", ""), body.value("metadata", nlohmann::json::object()).dump());
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& x : rows) arr.push_back({{"item_id", x.item_id}, {"quantity", x.quantity}});
        tx.exec_params(
            "INSERT INTO orders.partial_shipment_items (shipment_id, item_id, quantity) SELECT $1::uuid, "
            "(e->>'item_id')::uuid, sum((e->>'quantity')::int) FROM jsonb_array_elements($2::jsonb) e GROUP BY 2",
            id, arr.dump());
        if (o->status == "confirmed") {
          order_update u;
          u.status = "processing";
          update_order(tx, o->order_id, u);
          auto su = event_base(*o);
          su["old_status"] = "confirmed";
          su["new_status"] = "processing";
          su["status"] = "processing";
          enqueue_event(tx, "order_status_updated", su, o->order_id);
        }
        append_timeline(tx, o->order_id, "shipment_created", "Shipment created", nlohmann::json{{"shipment_id", id}}.dump());
        r.body = render_shipment(*load_shipment(tx, id));
        return r;
      },
      std::move(done));
}

void ship_shipment(order_self self, const std::string& shipment_id, const std::string& tracking_number,
                   const std::string& carrier, json_done done) {
  if (self->state.captures_in_flight.count(shipment_id)) {
    failure f{failure_kind::conflict, "conflict", "Shipment is being handed over", {}};
    return done(&f, nullptr);
  }
  struct loaded {
    std::optional<shipment_row> shipment;
    std::optional<order_record> order;
    std::vector<shipment_row> all;
  };
  db_transact<loaded>(
      self, *self->state.ctx.database,
      [shipment_id](pqxx::work& tx) {
        loaded l;
        l.shipment = load_shipment(tx, shipment_id);
        if (l.shipment) {
          l.order = load_order(tx, l.shipment->order_id);
          l.all = load_shipments(tx, l.shipment->order_id);
        }
        return l;
      },
      [self, shipment_id, tracking_number, carrier, done](db::outcome<loaded> r) {
        if (!r.ok()) {
          auto f = db_failure(*r.failure);
          return done(&f, nullptr);
        }
        if (!r.value->shipment || !r.value->order) {
          failure f{failure_kind::not_found, "not_found", "Shipment not found", {}};
          return done(&f, nullptr);
        }
        auto s = *r.value->shipment;
        auto o = *r.value->order;
        if (s.status != "pending" && s.status != "processing") {
          // already handed over: only the tracking data changes
          return run_tx(
              self,
              [shipment_id, tracking_number, carrier](pqxx::work& tx) {
                tx.exec_params("UPDATE orders.partial_shipments SET tracking_number = $2, carrier = coalesce(nullif($3, ''), "
                               "carrier), updated_at = now() WHERE shipment_id = $1::uuid",
                               shipment_id, tracking_number, carrier);
                return shipment_result{std::nullopt, render_shipment(*load_shipment(tx, shipment_id))};
              },
              done);
        }
        if (o.status != "confirmed" && o.status != "processing") {
          failure f{failure_kind::conflict, "conflict", "Cannot ship an order in status '" + o.status + "'", {}};
          return done(&f, nullptr);
        }
        auto plan = plan_capture(o, r.value->all, s);
        self->state.captures_in_flight.insert(shipment_id);
        auto release = [self, shipment_id, done](const failure* f, const nlohmann::json& body) {
          self->state.captures_in_flight.erase(shipment_id);
          done(f, body);
        };
        auto commit = [self, s, o, plan, tracking_number, carrier, release](const std::string& txn_id,
                                                                             money::cents captured_total,
                                                                             const std::string& payment_status) {
          run_tx(
              self,
              [s, o, plan, tracking_number, carrier, txn_id, captured_total, payment_status](pqxx::work& tx) {
                tx.exec_params(
                    "UPDATE orders.partial_shipments SET status = 'shipped', tracking_number = $2, carrier = "
                    "coalesce(nullif($3, ''), carrier), shipped_at = now(), capture_transaction_id = nullif($4, ''), "
                    "captured_amount = $5::numeric, on_hold = false, updated_at = now() WHERE shipment_id = $1::uuid",
                    s.shipment_id, tracking_number, carrier, txn_id, money::format(plan.amount));
                tx.exec_params(
                    "UPDATE orders.order_items i SET quantity_shipped = quantity_shipped + p.quantity FROM "
                    "orders.partial_shipment_items p WHERE p.shipment_id = $1::uuid AND p.item_id = i.item_id",
                    s.shipment_id);
                auto now = load_order(tx, o.order_id, true);
                order_update u;
                u.amount_captured = std::min(captured_total, now->amount_authorized);
                if (!payment_status.empty()) u.payment_status = payment_status;
                u.fulfillment_status = fulfillment_of(*now);
                const bool all_shipped = *u.fulfillment_status == "shipped";
                if (all_shipped && now->status != "shipped") {
                  u.status = "shipped";
                  u.set_shipped_at = true;
                } else if (now->status == "confirmed") {
                  u.status = "processing";
                }
                update_order(tx, o.order_id, u);
                auto p = event_base(*now);
                p["status"] = u.status.value_or(now->status);
                p["shipment_id"] = s.shipment_id;
                p["shipment_number"] = s.shipment_number;
                p["carrier_code"] = carrier.empty() ? s.carrier : carrier;
                p["tracking_number"] = tracking_number;
                p["shipped_at"] = clock::iso8601_now();
                p["fully_shipped"] = all_shipped;
                enqueue_event(tx, "order_shipped", p, o.order_id);
                if (u.status && *u.status != now->status) {
                  auto su = event_base(*now);
                  su["old_status"] = now->status;
                  su["new_status"] = *u.status;
                  su["status"] = *u.status;
                  enqueue_event(tx, "order_status_updated", su, o.order_id);
                }
                append_timeline(tx, o.order_id, "shipment_shipped",
                                fmt::format("Shipment {} handed over ({} captured)", s.shipment_number,
                                            money::format(plan.amount)),
                                nlohmann::json{{"shipment_id", s.shipment_id}, {"tracking_number", tracking_number}}.dump());
                return shipment_result{std::nullopt, render_shipment(*load_shipment(tx, s.shipment_id))};
              },
              release);
        };
        auto fulfill = [self, o, s, plan, commit, release](const std::string& txn_id, money::cents captured_total,
                                                           const std::string& payment_status) {
          ask_agent<inventory_actor>(
              self, self->state.ctx, "inventory", inventory::fulfill_reservations{o.order_id, plan.stock, s.shipment_id},
              [commit, txn_id, captured_total, payment_status](inventory::fulfillment_result&) {
                commit(txn_id, captured_total, payment_status);
              },
              [release](const failure& f) { release(&f, nullptr); });
        };
        const bool no_capture = o.payment_status == "not_required" || o.payment_status == "captured" || plan.amount <= 0;
        if (no_capture) return fulfill("", o.amount_captured, "");
        payment::capture_payment cap;
        cap.order_id = o.order_id;
        cap.amount = plan.amount;
        cap.final = plan.final;
        cap.idempotency_key = o.order_id + ":capture:" + s.shipment_id;
        // A payment that takes one capture only (Stripe without multicapture) is captured whole at
        // the first shipment: a partial capture would release what the later shipments are owed.
        cap.whole_if_single_capture = true;
        ask_agent<payment_actor>(
            self, self->state.ctx, "payment", cap,
            [fulfill](payment::payment_view& p) {
              fulfill(p.transaction_id, p.captured_amount,
                      p.status == "captured" ? "captured" : "partially_captured");
            },
            [self, s, o, release](const failure& f) {
              if (f.kind == failure_kind::unavailable) return release(&f, nullptr);
              // declined: the shipment is held back, the order flagged
              run_tx(
                  self,
                  [s, o, f](pqxx::work& tx) {
                    tx.exec_params("UPDATE orders.partial_shipments SET on_hold = true, updated_at = now() WHERE "
                                   "shipment_id = $1::uuid",
                                   s.shipment_id);
                    tx.exec_params("UPDATE orders.orders SET tags = CASE WHEN 'payment_hold' = ANY(tags) THEN tags ELSE "
                                   "array_append(tags, 'payment_hold') END, updated_at = now() WHERE order_id = $1::uuid",
                                   o.order_id);
                    auto p = event_base(o);
                    p["shipment_id"] = s.shipment_id;
                    p["reason"] = f.message;
                    enqueue_event(tx, "payment_hold", p, o.order_id);
                    append_timeline(tx, o.order_id, "payment_hold", "Capture declined: " + f.message,
                                    nlohmann::json{{"shipment_id", s.shipment_id}}.dump());
                    return shipment_result{failure{failure_kind::conflict, "declined",
                                                   "Capture declined, shipment on hold: " + f.message, {}},
                                           nullptr};
                  },
                  release);
            });
      });
}

void deliver_shipment(order_self self, const std::string& shipment_id, const std::string& delivered_at,
                      json_done done) {
  run_tx(
      self,
      [shipment_id, delivered_at](pqxx::work& tx) {
        shipment_result r;
        auto s = load_shipment(tx, shipment_id, true);
        if (!s) {
          r.error = failure{failure_kind::not_found, "not_found", "Shipment not found", {}};
          return r;
        }
        if (s->status == "delivered") {
          r.body = render_shipment(*s);
          return r;
        }
        if (s->status != "shipped" && s->status != "in_transit" && s->status != "out_for_delivery") {
          r.error = failure{failure_kind::conflict, "conflict",
                            "Cannot deliver a shipment in status '" + s->status + "'", {}};
          return r;
        }
        tx.exec_params(
            "UPDATE orders.partial_shipments SET status = 'delivered', actual_delivery = coalesce(nullif($2, '')::timestamptz, "
            "now()), updated_at = now() WHERE shipment_id = $1::uuid",
            shipment_id, delivered_at);
        tx.exec_params(
            "UPDATE orders.order_items i SET quantity_delivered = quantity_delivered + p.quantity FROM "
            "orders.partial_shipment_items p WHERE p.shipment_id = $1::uuid AND p.item_id = i.item_id",
            shipment_id);
        auto o = load_order(tx, s->order_id, true);
        order_update u;
        u.fulfillment_status = fulfillment_of(*o);
        auto open = tx.exec_params("SELECT 1 FROM orders.partial_shipments WHERE order_id = $1::uuid AND status <> "
                                   "'delivered' LIMIT 1",
                                   s->order_id);
        const bool done_all = *u.fulfillment_status == "delivered" && open.empty();
        if (done_all && o->status == "shipped") {
          u.status = "delivered";
          u.set_delivered_at = true;
        }
        update_order(tx, o->order_id, u);
        auto p = event_base(*o);
        p["shipment_id"] = shipment_id;
        p["status"] = "delivered";
        enqueue_event(tx, "order_shipment_updated", p, o->order_id);
        if (u.status) {
          nlohmann::json lines = nlohmann::json::array();
          for (const auto& l : o->lines)
            lines.push_back({{"item_id", l.item_id}, {"product_id", l.product_id}, {"quantity_delivered", l.quantity}});
          auto d = event_base(*o);
          d["status"] = "delivered";
          d["delivered_at"] = clock::iso8601_now();
          d["lines"] = lines;
          d["eligible_amount"] = money::to_json(o->subtotal - o->discount_amount);
          enqueue_event(tx, "order_delivered", d, o->order_id);
          auto su = event_base(*o);
          su["old_status"] = o->status;
          su["new_status"] = "delivered";
          su["status"] = "delivered";
          enqueue_event(tx, "order_status_updated", su, o->order_id);
        }
        append_timeline(tx, o->order_id, "shipment_delivered", fmt::format("Shipment {} delivered", s->shipment_number),
                        nlohmann::json{{"shipment_id", shipment_id}}.dump());
        r.body = render_shipment(*load_shipment(tx, shipment_id));
        return r;
      },
      std::move(done));
}

void fail_shipment(order_self self, const std::string& shipment_id, const std::string& reason, json_done done) {
  run_tx(
      self,
      [shipment_id, reason](pqxx::work& tx) {
        shipment_result r;
        auto s = load_shipment(tx, shipment_id, true);
        if (!s) {
          r.error = failure{failure_kind::not_found, "not_found", "Shipment not found", {}};
          return r;
        }
        if (s->status == "delivered") {
          r.error = failure{failure_kind::conflict, "conflict", "Shipment already delivered", {}};
          return r;
        }
        tx.exec_params("UPDATE orders.partial_shipments SET status = 'failed', updated_at = now() WHERE shipment_id = $1::uuid",
                       shipment_id);
        order_record o;
        o.order_id = s->order_id;
        auto p = event_base(o);
        p["shipment_id"] = shipment_id;
        p["reason"] = reason;
        p["failure_reason"] = reason;
        p["attempts"] = tx.exec_params1("SELECT count(*) FROM orders.delivery_attempts WHERE shipment_id = $1::uuid",
                                        shipment_id)[0].as<int64_t>();
        enqueue_event(tx, "delivery_failed", p, s->order_id);
        append_timeline(tx, s->order_id, "delivery_failed", "Delivery failed: " + reason,
                        nlohmann::json{{"shipment_id", shipment_id}}.dump());
        r.body = render_shipment(*load_shipment(tx, shipment_id));
        return r;
      },
      std::move(done));
}

void change_status(order_self self, const std::string& order_ref, const std::string& status,
                   const std::string& actor, const std::string& reason, json_done done) {
  if (status == "cancelled")
    return cancel_order_saga(self, order_ref, reason.empty() ? "other" : reason, actor, -1,
                             [done](const failure* f, const nlohmann::json& r) {
                               done(f, f ? nlohmann::json() : r.value("order", nlohmann::json()));
                             });
  if (status == "shipped") {
    // ships every remaining item in one shipment (created, then handed over with a capture)
    db_transact<std::optional<order_record>>(
        self, *self->state.ctx.database, [order_ref](pqxx::work& tx) { return load_order(tx, order_ref); },
        [self, done](db::outcome<std::optional<order_record>> r) {
          if (!r.ok() || !*r.value) {
            auto f = r.ok() ? not_found_order() : db_failure(*r.failure);
            return done(&f, nullptr);
          }
          auto o = **r.value;
          auto d = decide_status_change(o.status, "shipped", o.payment_status);
          if (d.kind == status_decision::unchanged) return done(nullptr, render_order_view(o));
          if (d.kind != status_decision::apply) {
            failure f{d.kind == status_decision::reject_invalid ? failure_kind::invalid : failure_kind::conflict,
                      "illegal_transition", d.message, {}};
            return done(&f, nullptr);
          }
          // remaining = quantity − units already in shipments (pending ones are handed over too)
          db_transact<std::vector<shipment_row>>(
              self, *self->state.ctx.database, [id = o.order_id](pqxx::work& tx) { return load_shipments(tx, id); },
              [self, o, done](db::outcome<std::vector<shipment_row>> sr) {
                if (!sr.ok()) {
                  auto f = db_failure(*sr.failure);
                  return done(&f, nullptr);
                }
                std::unordered_map<std::string, int64_t> planned;
                std::vector<std::string> pending;
                for (const auto& s : *sr.value) {
                  for (const auto& i : s.items) planned[i.item_id] += i.quantity;
                  if (s.status == "pending" || s.status == "processing") pending.push_back(s.shipment_id);
                }
                nlohmann::json items = nlohmann::json::array();
                for (const auto& l : o.lines)
                  if (l.quantity - planned[l.item_id] > 0)
                    items.push_back({{"order_item_id", l.item_id}, {"quantity", l.quantity - planned[l.item_id]}});
                auto ship_all = std::make_shared<std::function<void(size_t)>>();
                *ship_all = [self, pending, o, done, ship_all](size_t i) {
                  if (i >= pending.size()) {
                    return db_transact<std::optional<order_record>>(
                        self, *self->state.ctx.database,
                        [id = o.order_id](pqxx::work& tx) { return load_order(tx, id); },
                        [done](db::outcome<std::optional<order_record>> r) {
                          done(nullptr, r.ok() && *r.value ? render_order_view(**r.value) : nlohmann::json());
                        });
                  }
                  ship_shipment(self, pending[i], "", "", [ship_all, i, done](const failure* f, const nlohmann::json&) {
                    if (f) return done(f, nullptr);
                    (*ship_all)(i + 1);
                  });
                };
                if (items.empty()) return (*ship_all)(0);
                create_shipment(self, o.order_id, nlohmann::json{{"items", items}},
                                [self, pending, ship_all, done](const failure* f, const nlohmann::json& s) mutable {
                                  if (f) return done(f, nullptr);
                                  ship_shipment(self, s.value("shipment_id", ""), "", "",
                                                [ship_all, done](const failure* f2, const nlohmann::json&) {
                                                  if (f2) return done(f2, nullptr);
                                                  (*ship_all)(0);
                                                });
                                });
              });
        });
    return;
  }
  run_tx(
      self,
      [order_ref, status, actor, reason](pqxx::work& tx) {
        shipment_result r;
        auto o = load_order(tx, order_ref, true);
        if (!o) {
          r.error = not_found_order();
          return r;
        }
        auto d = decide_status_change(o->status, status, o->payment_status);
        if (d.kind == status_decision::reject_invalid) {
          r.error = failure{failure_kind::invalid, "invalid", d.message,
                            nlohmann::json::array({{{"loc", {"body", "status"}}, {"msg", d.message}, {"type", "value_error"}}})
                                .dump()};
          return r;
        }
        if (d.kind == status_decision::reject_conflict) {
          r.error = failure{failure_kind::conflict, "illegal_transition", d.message, {}};
          return r;
        }
        if (d.kind == status_decision::apply && d.target == "confirmed") {
          auto saga = live_saga(tx, o->order_id, "place_order");
          if (saga && saga->state == "waiting_review") {
            r.error = failure{failure_kind::conflict, "illegal_transition", "Order is awaiting fraud review", {}};
            return r;
          }
        }
        if (d.kind == status_decision::apply) {
          order_update u;
          u.status = d.target;
          if (d.target == "confirmed") u.set_confirmed_at = true;
          if (d.target == "delivered") {
            u.set_delivered_at = true;
            u.fulfillment_status = "delivered";
          }
          update_order(tx, o->order_id, u);
          tx.exec_params(
              "UPDATE orders.sagas SET state = 'completed', current_step = 'completed', updated_at = now() WHERE "
              "order_id = $1::uuid AND saga_type = 'place_order' AND $2 = 'confirmed' AND state NOT IN ('completed', "
              "'compensated', 'failed')",
              o->order_id, d.target);
          auto su = event_base(*o);
          su["old_status"] = o->status;
          su["new_status"] = d.target;
          su["status"] = d.target;
          su["reason"] = reason;
          enqueue_event(tx, "order_status_updated", su, o->order_id);
          append_timeline(tx, o->order_id, "status_changed",
                          "Status changed from " + o->status + " to " + d.target,
                          nlohmann::json{{"old_status", o->status}, {"new_status", d.target}, {"reason", reason}}.dump(),
                          actor.empty() ? "system" : actor);
          o = load_order(tx, o->order_id);
        }
        r.body = render_order_view(*o);
        return r;
      },
      [self, status, done](const failure* f, const nlohmann::json& view) {
        // A manual confirmation makes the order's reservations permanent, as the saga would.
        if (!f && (status == "confirmed" || status == "paid") && view.is_object() && view.contains("order_id"))
          ask_agent<inventory_actor>(self, self->state.ctx, "inventory",
                                     inventory::confirm_reservations{view["order_id"].get<std::string>()},
                                     [](inventory::reservation_set&) {}, [](const failure&) {});
        done(f, view);
      });
}

}  // namespace mercato::order
