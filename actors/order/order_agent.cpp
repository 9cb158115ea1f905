// The order agent: its typed interface (order_messages.hpp), the saga driver (claims due sagas on
// start and every 5 s, so a restarted agent resumes or compensates what a crash interrupted), the
// tax-rate cache, and the wiring of the REST table and of the enhanced API's hooks.
#include "order/order_agent.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "db/idempotency_store.hpp"
#include "db/outbox.hpp"
#include "order/enhanced_routes.hpp"
#include "config/config.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_view.hpp"
#include "log/log.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/event_subscription.hpp"
#include "runtime/uuid.hpp"

namespace mercato {
namespace order {

namespace {

// One token per process: leases held by an earlier incarnation of this process are stale at once.
const std::string& process_token() {
  static const std::string token = uuid_v4().substr(0, 8);
  return token;
}

constexpr auto first_scan = std::chrono::seconds(1);
constexpr int64_t saga_claim_page = 50;  // sagas claimed per statement

// Runs parked for a retry (state.retrying) whose callers have all been answered are let go: a
// resumption without callers needs no run from before.
void drop_unawaited_retries(order_self self) {
  const auto now = std::chrono::steady_clock::now();
  auto& parked = self->state.retrying;
  for (auto it = parked.begin(); it != parked.end();) {
    if (it->second->answer_by <= now) it = parked.erase(it);
    else ++it;
  }
}

// Claims the due sagas a page at a time and resumes them. A full page is followed by the next one
// at once: after a crash in the middle of placements, every saga the dead incarnation held is due,
// and the resends of their requests wait for them (placement.cpp, answer_existing). Leaving the
// rest to the next tick (saga_poll_interval) kept them waiting past the gateway's deadline.
void drive_due_sagas(order_self self) {
  if (!self->state.ctx.database) return;
  drop_unawaited_retries(self);
  db_transact<std::vector<saga_row>>(
      self, *self->state.ctx.database,
      [owner = self->state.lease_owner, prefix = self->state.owner_prefix,
       lease = self->state.saga_lease_s](pqxx::work& tx) {
        return claim_due_sagas(tx, owner, prefix, lease, saga_claim_page);
      },
      [self](db::outcome<std::vector<saga_row>> r) {
        if (!r.ok()) return;
        for (const auto& s : *r.value) {
          log::info("order", "saga_resumed", {{"saga_id", s.saga_id}, {"type", s.saga_type}, {"state", s.state},
                                              {"step", s.current_step}});
          if (s.saga_type == "place_order") resume_place_saga(self, s);
          else if (s.saga_type == "cancel_order") resume_cancel_saga(self, s);
        }
        // A claimed saga is leased to this incarnation, so the next page holds none of these.
        if (static_cast<int64_t>(r.value->size()) == saga_claim_page) drive_due_sagas(self);
      });
}

}  // namespace

void scan_sagas_after(order_self self, std::chrono::milliseconds delay) {
  // The retries of one burst (the orders an agent's crash failed together) share a scan; the
  // window also covers the saga row's next_attempt_at, which the database's clock set.
  constexpr std::chrono::milliseconds coalesce{100};
  const auto at = std::chrono::steady_clock::now() + delay;
  auto& scheduled = self->state.retry_scan_at;
  if (scheduled >= at && scheduled <= at + coalesce) return;
  scheduled = at + coalesce;
  // The returned trigger is dropped on purpose: the scan runs once the time has passed.
  once_or_after(self, delay + coalesce, [self] { drive_due_sagas(self); });
}

int64_t backoff_ms(int64_t attempt) {
  int64_t ms = 1000;
  for (int64_t i = 1; i < attempt && ms < 60'000; ++i) ms *= 2;
  return std::min<int64_t>(ms, 60'000);
}

int64_t retry_delay_ms(int64_t attempt, const failure& f, int64_t after_agent_stop_ms) {
  // The supervisor restarts a crashed agent at once (its backoff applies to repeated restarts
  // only), so a full second would only hold the order's caller. A crash loop still meets the
  // doubling from the second attempt on, and the agent's own restart intensity.
  if (attempt == 1 && f.code == "agent_stopped") return after_agent_stop_ms;
  return backoff_ms(attempt);
}

nlohmann::json event_base(const order_record& o) {
  return {{"order_id", o.order_id},
          {"order_number", o.order_number},
          {"customer_id", o.customer_id},
          {"status", o.status},
          {"occurred_at", clock::iso8601_now()}};
}

void enqueue_event(pqxx::work& tx, const std::string& name, const nlohmann::json& payload,
                   const std::string& order_id) {
  static const db::outbox box{"orders"};
  box.enqueue(tx, make_event("order", name, payload.dump(), order_id), order_id);
}

nlohmann::json saga_failed_payload(const std::string& saga_id, const std::string& type, const std::string& step,
                                   const std::string& error, const order_record& o) {
  auto p = event_base(o);
  p["saga_id"] = saga_id;
  p["saga_type"] = type;
  p["step"] = step;
  p["last_error"] = error;
  return p;
}

order_view to_order_view(const order_record& o) {
  order_view v;
  v.order_id = o.order_id;
  v.order_number = o.order_number;
  v.status = o.status;
  v.payment_status = o.payment_status;
  v.fulfillment_status = o.fulfillment_status;
  v.total_amount = o.total_amount;
  v.view = render_order_view(o);
  return v;
}

failure not_found_order() { return {failure_kind::not_found, "not_found", "Order not found", {}}; }

void reload_tax_rates(order_self self, std::function<void()> then) {
  db_transact<std::vector<tax_rate>>(
      self, *self->state.ctx.database, [](pqxx::work& tx) { return load_tax_rates(tx); },
      [self, then](db::outcome<std::vector<tax_rate>> r) {
        if (r.ok()) {
          self->state.tax_rates = std::move(*r.value);
          self->state.tax_loaded = true;
        }
        if (then) then();
      });
}

namespace {

caf::error no_database() {
  return make_failure(failure_kind::unavailable, "database_unavailable", "Database unavailable");
}

order_impl::behavior_type order_agent(order_self self, agent_context ctx) {
  start_agent(self, ctx);
  auto& st = self->state;
  st.ctx = ctx;
  st.owner_prefix = process_token() + ":";
  st.lease_owner = st.owner_prefix + std::to_string(ctx.incarnation);
  // Saga windows (agents/8000-order.md: payment 30 min, review 24 h) and the built-in shipping
  // table come from the [order] and [shipping] config sections.
  if (ctx.settings) {
    const auto& cfg = *ctx.settings;
    auto seconds = [](std::chrono::milliseconds d) {
      return std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
    };
    st.payment_window_s = seconds(cfg.order.payment_window);
    st.review_window_s = seconds(cfg.order.review_window);
    st.place_wait = cfg.order.place_wait;
    st.saga_max_attempts = cfg.order.saga_max_attempts;
    st.retry_after_agent_stop_ms = cfg.order.retry_after_agent_stop.count();
    st.saga_poll_interval = cfg.order.saga_poll_interval;
    st.saga_lease_s = seconds(cfg.order.saga_lease);
    st.confirmations = db::batch_queue<pending_confirmation>{cfg.order.confirm_batch_max,
                                                              cfg.order.confirm_batches_in_flight};
    st.placements = db::batch_queue<pending_placement>{cfg.order.placement_batch_max,
                                                        cfg.order.placement_batches_in_flight};
    st.shipping = shipping_table{cfg.shipping.carrier_code, cfg.shipping.standard_cents,
                                 cfg.shipping.express_cents, cfg.shipping.overnight_cents,
                                 cfg.shipping.free_standard_threshold_cents};
  }
  add_order_routes(self);
  if (ctx.database) {
    enhanced_dependencies deps;
    deps.database = ctx.database;
    deps.relay = ctx.relay;
    caf::actor me = caf::actor_cast<caf::actor>(self);
    deps.in_actor = [me](std::function<void()> fn) { caf::anon_send(me, continuation{std::move(fn)}); };
    // hooks are called from inside the actor (in_actor continuations), so `self` is safe to use
    deps.cancel_order = [self](const std::string& id, const std::string& reason, const std::string& by,
                               money::cents refund, hook_done done) {
      cancel_order_saga(self, id, reason, by, refund, [done](const failure* f, const nlohmann::json& r) {
        done(f, r.is_object() && r.contains("order") ? r["order"] : r);
      });
    };
    deps.deliver_shipment = [self](const std::string& id, const std::string& at, hook_done done) {
      deliver_shipment(self, id, at, [done](const failure* f, const nlohmann::json& r) { done(f, r); });
    };
    deps.fail_shipment = [self](const std::string& id, const std::string& reason, hook_done done) {
      fail_shipment(self, id, reason, [done](const failure* f, const nlohmann::json& r) { done(f, r); });
    };
    add_enhanced_routes(st.shell->routes(), deps);
    reload_tax_rates(self);
    consume_events(self, ctx, {"payment.payment_authorized", "payment.payment_captured",
                               "transport.shipment_status_updated", "transport.shipment_delivered"});
    self->delayed_send(self, first_scan, saga_tick_atom::value);
    // A restarted incarnation (the rest of the process running) resumes the sagas its crashed
    // predecessor held at once: the resends of their placements wait for them. The first tick
    // still comes, for those whose rows the dead incarnation's last statements held locked then.
    if (ctx.incarnation > 1) scan_sagas_after(self, std::chrono::milliseconds{0});
  }
  st.shell->set_health_extras([self] {
    return std::string{",\"database_connected\":"} +
           (self->state.shell->database_state() == "connected" ? "true" : "false") +
           ",\"shared_statements\":{\"placements\":" + self->state.placements.health_json() +
           ",\"confirmations\":" + self->state.confirmations.health_json() + "}";
  });

  return {
      on_http_call(self),
      on_http_request(self),
      on_heartbeat(self),
      on_fault(self),
      on_continuation(self),
      [self](place_order& msg) -> caf::result<order_view> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_view>();
        place_new_order(self, std::move(msg), [rp](place_outcome out) mutable {
          if (!out.issues.empty()) {
            nlohmann::json list = nlohmann::json::array();
            for (const auto& i : out.issues) list.push_back({{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
            { rp.deliver(make_failure(failure_kind::invalid, "invalid", out.issues.front().msg, list.dump())); return; }
          }
          if (out.error) { rp.deliver(make_failure(*out.error)); return; }
          rp.deliver(to_order_view(out.order));
        });
        return rp;
      },
      [self](get_order& msg) -> caf::result<order_view> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_view>();
        db_transact<std::optional<order_record>>(
            self, *self->state.ctx.database, [id = msg.order_id](pqxx::work& tx) { return load_order(tx, id); },
            [rp](db::outcome<std::optional<order_record>> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              if (!*r.value) { rp.deliver(make_failure(not_found_order())); return; }
              rp.deliver(to_order_view(**r.value));
            });
        return rp;
      },
      [self](cancel_order& msg) -> caf::result<order_view> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_view>();
        cancel_order_saga(self, msg.order_id, msg.reason.empty() ? "other" : msg.reason,
                          msg.requested_by, msg.refund_amount,
                          [self, rp, id = msg.order_id](const failure* f, const nlohmann::json&) mutable {
                            if (f) { rp.deliver(make_failure(*f)); return; }
                            db_transact<std::optional<order_record>>(
                                self, *self->state.ctx.database,
                                [id](pqxx::work& tx) { return load_order(tx, id); },
                                [rp](db::outcome<std::optional<order_record>> r) mutable {
                                  if (!r.ok() || !*r.value) { rp.deliver(make_failure(not_found_order())); return; }
                                  rp.deliver(to_order_view(**r.value));
                                });
                          });
        return rp;
      },
      [self](count_recent_orders& msg) -> caf::result<count_reply> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<count_reply>();
        db_transact<int64_t>(
            self, *self->state.ctx.database,
            [msg](pqxx::work& tx) { return count_recent(tx, msg.customer_id, msg.hours, msg.exclude_order_id); },
            [rp](db::outcome<int64_t> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              rp.deliver(count_reply{*r.value});
            });
        return rp;
      },
      [self](prune_idempotency_keys& msg) -> caf::result<count_reply> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<count_reply>();
        db_transact<int64_t>(
            self, *self->state.ctx.database,
            // Keys only, and none younger than the replay window whatever the caller asks. The
            // processed-event marks are the retention keeper's: it keeps those whose event an
            // outbox may still deliver again (db/retention_keeper.hpp), which age alone cannot tell.
            [older = std::max(std::chrono::seconds(msg.older_than_seconds),
                              std::chrono::seconds(db::idempotency_store::retention))](pqxx::work& tx) {
              return static_cast<int64_t>(db::idempotency_store{"orders"}.prune(tx, older));
            },
            [rp](db::outcome<int64_t> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              rp.deliver(count_reply{*r.value});
            });
        return rp;
      },
      [self](outbox_stats&) -> caf::result<outbox_stats_reply> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<outbox_stats_reply>();
        db_transact<outbox_stats_reply>(
            self, *self->state.ctx.database,
            [](pqxx::work& tx) {
              const auto b = db::outbox{"orders"}.read_backlog(tx);
              return outbox_stats_reply{b.pending, b.oldest_age_seconds, b.failed};
            },
            [rp](db::outcome<outbox_stats_reply> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              rp.deliver(*r.value);
            });
        return rp;
      },
      [self](event& e) {
        // Transport's status of an order shipment: the record_shipment_event path (idempotent by
        // the shipment's state, so duplicate deliveries are harmless).
        if (e.name == "transport.shipment_status_updated" || e.name == "transport.shipment_delivered")
          return on_transport_event(self, e);
        // An authorization made at the payment agent for a waiting order resumes its saga (the
        // check is idempotent, so duplicate deliveries are harmless). Acknowledged on receipt:
        // POST /pay and the payment-window sweep resume a waiting saga too.
        acknowledge_event(self->state.ctx, e.event_id);
        if (e.name != "payment.payment_authorized" && e.name != "payment.payment_captured") return;
        auto p = nlohmann::json::parse(e.payload, nullptr, false);
        if (p.is_object() && p.contains("order_id") && p["order_id"].is_string())
          resume_if_paid(self, p["order_id"].get<std::string>());
      },
      [self](get_order_status& msg) -> caf::result<order_status_reply> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_status_reply>();
        db_transact<std::optional<order_status_reply>>(
            self, *self->state.ctx.database,
            [id = msg.order_id](pqxx::work& tx) -> std::optional<order_status_reply> {
              auto o = load_order(tx, id);
              if (!o) return std::nullopt;
              auto s = tx.exec_params("SELECT state FROM orders.sagas WHERE order_id = $1::uuid AND saga_type = "
                                      "'place_order' ORDER BY created_at DESC LIMIT 1",
                                      o->order_id);
              return order_status_reply{o->order_id, o->status, o->payment_status,
                                        s.empty() ? std::string{} : std::string{s[0][0].c_str()}};
            },
            [rp](db::outcome<std::optional<order_status_reply>> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              if (!*r.value) { rp.deliver(make_failure(not_found_order())); return; }
              rp.deliver(**r.value);
            });
        return rp;
      },
      [self](count_open_orders& msg) -> caf::result<count_reply> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<count_reply>();
        db_transact<int64_t>(
            self, *self->state.ctx.database,
            [id = msg.customer_id](pqxx::work& tx) {
              return tx
                  .exec_params1("SELECT count(*) FROM orders.orders WHERE customer_id = $1 AND status NOT IN "
                                "('cancelled', 'delivered', 'returned', 'refunded')",
                                id)[0]
                  .as<int64_t>();
            },
            [rp](db::outcome<int64_t> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              rp.deliver(count_reply{*r.value});
            });
        return rp;
      },
      [self](get_order_payable& msg) -> caf::result<order_payable> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_payable>();
        db_transact<std::optional<order_record>>(
            self, *self->state.ctx.database, [id = msg.order_id](pqxx::work& tx) { return load_order(tx, id); },
            [rp](db::outcome<std::optional<order_record>> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              if (!*r.value) { rp.deliver(make_failure(not_found_order())); return; }
              const auto& o = **r.value;
              rp.deliver(order_payable{o.order_id, o.customer_id, o.currency, o.total_amount, o.amount_authorized,
                                       std::max<money::cents>(0, o.total_amount - o.amount_authorized), o.status,
                                       o.payment_status});
            });
        return rp;
      },
      [self](update_status& msg) -> caf::result<order_view> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_view>();
        change_status(self, msg.order_id, msg.status, msg.actor, msg.reason,
                      [rp](const failure* f, const nlohmann::json& view) mutable {
                        if (f) { rp.deliver(make_failure(*f)); return; }
                        order_view v;
                        v.order_id = view.value("order_id", "");
                        v.order_number = view.value("order_number", "");
                        v.status = view.value("status", "");
                        v.payment_status = view.value("payment_status", "");
                        v.fulfillment_status = view.value("fulfillment_status", "");
                        v.total_amount = view.contains("total_amount") ? money::from_json(view["total_amount"]).value_or(0) : 0;
                        v.view = view;
                        rp.deliver(std::move(v));
                      });
        return rp;
      },
      [self](quote_order& msg) -> caf::result<order_quote> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<order_quote>();
        price_quote(self, msg.body, [rp](const failure* f, const nlohmann::json& q) mutable {
          if (f) { rp.deliver(make_failure(*f)); return; }
          rp.deliver(order_quote{q});
        });
        return rp;
      },
      [self](count_orders_by_status& msg) -> caf::result<status_counts> {
        if (!self->state.ctx.database) return no_database();
        auto rp = self->make_response_promise<status_counts>();
        db_transact<status_counts>(
            self, *self->state.ctx.database,
            [msg](pqxx::work& tx) {
              auto rows = tx.exec_params(
                  "SELECT status, count(*) FROM orders.orders WHERE ($1 = '' OR created_at >= $1::timestamptz) "
                  "AND ($2 = '' OR created_at < $2::timestamptz) GROUP BY status ORDER BY status",
                  msg.from, msg.to);
              status_counts out;
              for (const auto& r : rows) out.counts.emplace_back(r[0].c_str(), r[1].as<int64_t>());
              return out;
            },
            [rp](db::outcome<status_counts> r) mutable {
              if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
              rp.deliver(std::move(*r.value));
            });
        return rp;
      },
      [self](list_orders_query& msg) -> caf::result<order_list> {
        if (!self->state.ctx.database) return no_database();
        return answer_list_orders(self, std::move(msg));
      },
      [self](sales_summary& msg) -> caf::result<sales_summary_reply> {
        if (!self->state.ctx.database) return no_database();
        return answer_sales_summary(self, std::move(msg));
      },
      [self](record_shipment_event& msg) -> caf::result<shipment_event_result> {
        if (!self->state.ctx.database) return no_database();
        return answer_shipment_event(self, std::move(msg));
      },
      [self](place_replacement_order& msg) -> caf::result<order_view> {
        if (!self->state.ctx.database) return no_database();
        return answer_replacement_order(self, std::move(msg));
      },
      [self](saga_tick_atom) {
        drive_due_sagas(self);
        self->delayed_send(self, self->state.saga_poll_interval, saga_tick_atom::value);
      },
  };
}

}  // namespace
}  // namespace order

caf::actor spawn_order_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(order::order_agent, ctx));
}

}  // namespace mercato
