// record_shipment_event: a carrier/transport status for one partial shipment, applied through the
// shipment functions of shipments.cpp (hand-over = ship_shipment: capture + stock commit;
// delivered = deliver_shipment; failed = fail_shipment) and, for the in-between statuses, one
// update here. Transport statuses map onto the shipment's (order_messages.hpp); a status the
// shipment already has or has passed changes nothing, so a repeated event is harmless.
#include <fmt/format.h>

#include "order/order_agent_state.hpp"
#include "log/log.hpp"
#include "order/timeline.hpp"
#include "runtime/db_call.hpp"
#include "runtime/event_subscription.hpp"

namespace mercato::order {
namespace {

// The shipment status a transport status maps to; "" = tracking data only; nullopt = unknown.
std::optional<std::string> mapped_status(const std::string& s) {
  if (s == "label_created" || s == "exception" || s == "cancelled" || s == "pending" || s == "processing")
    return std::string{};
  if (s == "picked_up" || s == "shipped") return std::string{"shipped"};
  if (s == "in_transit" || s == "customs") return std::string{"in_transit"};
  if (s == "out_for_delivery") return s;
  if (s == "delivered") return s;
  if (s == "failed_delivery" || s == "failed") return std::string{"failed"};
  if (s == "returned") return s;
  return std::nullopt;
}

int rank(const std::string& s) {
  if (s == "shipped") return 1;
  if (s == "in_transit") return 2;
  if (s == "out_for_delivery" || s == "failed") return 3;
  if (s == "delivered" || s == "returned") return 4;
  return 0;  // pending, processing
}

bool handed_over(const std::string& s) { return rank(s) > 0; }

struct loaded {
  std::optional<shipment_row> shipment;
  bool found = false;
};

// in_transit / out_for_delivery / returned (and the tracking data): one transaction.
void set_transit_status(order_self self, const record_shipment_event& e, const std::string& target, shipment_event_done done) {
  db_transact<std::optional<std::string>>(
      self, *self->state.ctx.database,
      [e, target](pqxx::work& tx) -> std::optional<std::string> {
        auto s = load_shipment(tx, e.order_shipment_id, true);
        if (!s) return std::nullopt;
        tx.exec_params(
            "UPDATE orders.partial_shipments SET status = $2, tracking_number = coalesce(nullif($3, ''), tracking_number), "
            "carrier = coalesce(nullif($4, ''), carrier), updated_at = now() WHERE shipment_id = $1::uuid",
            s->shipment_id, target, e.tracking_number, e.carrier);
        auto o = load_order(tx, s->order_id, true);
        auto p = event_base(*o);
        p["shipment_id"] = s->shipment_id;
        p["shipment_status"] = target;
        p["occurred_at"] = e.occurred_at.empty() ? p["occurred_at"] : nlohmann::json(e.occurred_at);
        enqueue_event(tx, "order_shipment_updated", p, o->order_id);
        append_timeline(tx, o->order_id, "shipment_" + target,
                        fmt::format("Shipment {} {}", s->shipment_number, target),
                        nlohmann::json{{"shipment_id", s->shipment_id}, {"status", e.status}}.dump(), "transport");
        // shipped → returned once every shipment came back to the sender
        if (target == "returned" && o->status == "shipped" &&
            tx.exec_params("SELECT 1 FROM orders.partial_shipments WHERE order_id = $1::uuid AND status <> 'returned' "
                           "LIMIT 1",
                           o->order_id)
                .empty()) {
          order_update u;
          u.status = "returned";
          update_order(tx, o->order_id, u);
          auto su = event_base(*o);
          su["old_status"] = o->status;
          su["new_status"] = "returned";
          su["status"] = "returned";
          enqueue_event(tx, "order_status_updated", su, o->order_id);
        }
        return target;
      },
      [self, done](db::outcome<std::optional<std::string>> r) {
        if (!r.ok()) {
          auto f = db_failure(*r.failure);
          return done(&f, {});
        }
        if (!*r.value) {
          failure f{failure_kind::not_found, "not_found", "Shipment not found", {}};
          return done(&f, {});
        }
        self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        done(nullptr, shipment_event_result{true, true, **r.value});
      });
}

// Applies `target` to a shipment already handed over.
void apply_after_handover(order_self self, const record_shipment_event& e, const std::string& current,
                          const std::string& target, shipment_event_done done) {
  const std::string id = e.order_shipment_id;
  auto from_json = [done, target](const failure* f, const nlohmann::json& s) {
    if (f) return done(f, {});
    done(nullptr, shipment_event_result{true, true, s.value("status", target)});
  };
  if (target == "delivered") {
    if (current == "failed")  // a new attempt succeeded: back on the road first
      return set_transit_status(self, e, "out_for_delivery", [self, id, e, from_json](const failure* f, shipment_event_result) {
        if (f) return from_json(f, nullptr);
        deliver_shipment(self, id, e.occurred_at, from_json);
      });
    return deliver_shipment(self, id, e.occurred_at, from_json);
  }
  if (target == "failed") return fail_shipment(self, id, "failed_delivery", from_json);
  set_transit_status(self, e, target, done);
}

}  // namespace

void apply_shipment_event(order_self self, record_shipment_event msg, shipment_event_done done) {
  auto target = mapped_status(msg.status);
  if (!target) {
    const std::string text = "Unknown shipment status '" + msg.status + "'";
    nlohmann::json list = nlohmann::json::array({{{"loc", {"status"}}, {"msg", text}, {"type", "value_error"}}});
    failure f{failure_kind::invalid, "invalid", text, list.dump()};
    return done(&f, {});
  }
  db_transact<loaded>(
      self, *self->state.ctx.database,
      [msg](pqxx::work& tx) {
        loaded l;
        auto o = load_order(tx, msg.order_id);
        if (!o) return l;
        l.found = true;
        auto id = tx.exec_params("SELECT 1 FROM orders.partial_shipments WHERE shipment_id::text = $1 AND order_id = $2::uuid",
                                 msg.order_shipment_id, o->order_id);
        if (!id.empty()) l.shipment = load_shipment(tx, msg.order_shipment_id);
        return l;
      },
      [self, msg, done, target = *target](db::outcome<loaded> r) {
        if (!r.ok()) {
          auto f = db_failure(*r.failure);
          return done(&f, {});
        }
        if (!r.value->found || !r.value->shipment) {
          failure f = r.value->found ? failure{failure_kind::not_found, "not_found", "Shipment not found", {}}
                                     : not_found_order();
          return done(&f, {});
        }
        const auto s = *r.value->shipment;
        const bool tracking_news = (!msg.tracking_number.empty() && msg.tracking_number != s.tracking_number) ||
                                   (!msg.carrier.empty() && msg.carrier != s.carrier);
        // repeated (same status) or stale (the shipment is further, or finished): nothing to do,
        // except new tracking data on a shipment already on its way
        const bool nothing = target.empty() || target == s.status || rank(s.status) == 4 ||
                             (handed_over(s.status) && target != "delivered" && target != "failed" &&
                              s.status != "failed" && rank(target) < rank(s.status)) ||
                             (target == "shipped" && handed_over(s.status));
        if (nothing) {
          if (tracking_news && rank(s.status) < 4 && (handed_over(s.status) || target.empty()))
            return set_transit_status(self, msg, s.status, [done](const failure* f, shipment_event_result res) {
              res.applied = false;  // tracking data only
              done(f, res);
            });
          return done(nullptr, shipment_event_result{true, false, s.status});
        }
        if (!handed_over(s.status)) {
          // first sight of the parcel on the road: hand the shipment over (capture + stock commit)
          return ship_shipment(self, s.shipment_id, msg.tracking_number, msg.carrier,
                               [self, msg, target, done](const failure* f, const nlohmann::json&) {
                                 if (f) return done(f, {});
                                 if (target == "shipped") return done(nullptr, shipment_event_result{true, true, "shipped"});
                                 apply_after_handover(self, msg, "shipped", target, done);
                               });
        }
        apply_after_handover(self, msg, s.status, target, done);
      });
}

caf::result<shipment_event_result> answer_shipment_event(order_self self, record_shipment_event msg) {
  auto rp = self->make_response_promise<shipment_event_result>();
  apply_shipment_event(self, std::move(msg), [rp](const failure* f, shipment_event_result res) mutable {
    if (f) { rp.deliver(make_failure(*f)); return; }
    rp.deliver(std::move(res));
  });
  return rp;
}

void on_transport_event(order_self self, const event& e) {
  const agent_context& ctx = self->state.ctx;
  auto p = nlohmann::json::parse(e.payload, nullptr, false);
  auto text = [&p](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string{}; };
  record_shipment_event msg;
  if (p.is_object() && p.value("direction", "outbound") != "return")  // returns follows those
    msg = {text("order_id"), text("order_shipment_id"), text("status"), text("tracking_number"),
           text("carrier_code"), text("occurred_at")};
  if (msg.order_id.empty() || msg.order_shipment_id.empty())  // not one of our partial shipments
    return acknowledge_event(ctx, e.event_id);
  if (e.name == "transport.shipment_delivered") msg.status = "delivered";
  if (!p.value("delivered_at", nlohmann::json()).is_null() && msg.status == "delivered")
    msg.occurred_at = text("delivered_at");
  apply_shipment_event(self, msg, [ctx, name = e.name, id = e.event_id, msg](const failure* f, shipment_event_result) {
    // A database outage leaves the event unacknowledged: the bus delivers it again later.
    if (f && f->kind == failure_kind::unavailable) return;
    if (f)
      log::warn("order", "shipment_event_not_applied",
                {{"event", name}, {"order_shipment_id", msg.order_shipment_id}, {"error", f->message}});
    acknowledge_event(ctx, id);
  });
}

}  // namespace mercato::order
