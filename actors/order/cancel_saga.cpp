// The cancel saga (agents/8000-order.md "Cancel saga"): mark the order cancelled first (the point
// of no return, with the outbox event and the saga row), then forward-only compensation — release
// stock, cancel the payment (void, or refund what was captured), restore points and store credit —
// each retried until it succeeds, idempotent at its receiver.
#include <fmt/format.h>

#include "customer/customer_messages.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_view.hpp"
#include "order/timeline.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/db_call.hpp"

namespace mercato::order {
namespace {

struct cancel_job {
  std::string saga_id;
  std::string order_id;
  std::string customer_id;
  int64_t points = 0;
  money::cents credit = 0;
  money::cents refund_amount = -1;
  std::string reason;
  int64_t attempts = 0;
  std::vector<step_log> steps;
  std::vector<json_done> waiters;
  std::string payment_action;
  bool released = false, paid_back = false, points_back = false, credit_back = false;
};
using job_ptr = std::shared_ptr<cancel_job>;

nlohmann::json job_context(const cancel_job& j) {
  return {{"customer_id", j.customer_id}, {"points", j.points},       {"credit", j.credit},
          {"refund_amount", j.refund_amount}, {"reason", j.reason},   {"payment_action", j.payment_action},
          {"released", j.released},       {"paid_back", j.paid_back}, {"points_back", j.points_back},
          {"credit_back", j.credit_back}};
}

nlohmann::json cancel_reply(const cancel_job& j, const nlohmann::json& order_view) {
  return {{"id", j.order_id},
          {"order_id", j.order_id},
          {"status", "cancelled"},
          {"reason", j.reason},
          {"payment_action", j.payment_action.empty() ? "none" : j.payment_action},
          {"order", order_view}};
}

void answer(order_self self, job_ptr job, const failure* f) {
  auto waiters = std::move(job->waiters);
  job->waiters.clear();
  if (waiters.empty()) return;
  if (f) {
    for (auto& w : waiters) w(f, nullptr);
    return;
  }
  db_transact<std::optional<order_record>>(
      self, *self->state.ctx.database, [id = job->order_id](pqxx::work& tx) { return load_order(tx, id); },
      [job, waiters](db::outcome<std::optional<order_record>> r) {
        nlohmann::json view = r.ok() && *r.value ? render_order_view(**r.value) : nlohmann::json();
        for (auto& w : waiters) w(nullptr, cancel_reply(*job, view));
      });
}

void compensate_cancel(order_self self, job_ptr job);

void retry_cancel(order_self self, job_ptr job, const std::string& step, const failure& f) {
  job->attempts += 1;
  step_log s;
  s.step = step;
  s.direction = "undo";
  s.status = "failed";
  s.error = f.message;
  s.attempt = static_cast<int>(job->attempts);
  job->steps.push_back(s);
  const bool give_up = job->attempts >= self->state.saga_max_attempts;
  const int64_t delay_ms = retry_delay_ms(job->attempts, f, self->state.retry_after_agent_stop_ms);
  auto steps = std::move(job->steps);
  job->steps.clear();
  record_saga(
      self, job->saga_id, job->attempts,
      [saga = job->saga_id, order_id = job->order_id, ctx = job_context(*job), attempts = job->attempts, step, f,
       give_up, delay_ms, steps](pqxx::work& tx) {
        saga_update u;
        u.state = give_up ? "failed" : "running";
        u.current_step = step;
        u.attempts = attempts;
        u.delay_ms = delay_ms;
        u.context = ctx;
        u.last_error = f.message;
        update_saga(tx, saga, u);
        append_steps(tx, saga, steps);
        if (give_up) {
          order_record o;
          o.order_id = order_id;
          o.status = "cancelled";
          enqueue_event(tx, "saga_failed", saga_failed_payload(saga, "cancel_order", step, f.message, o), order_id);
        }
      },
      [self, job] { answer(self, job, nullptr); },
      [self, job](bool) {
        self->state.busy_sagas.erase(job->saga_id);
        self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        answer(self, job, nullptr);  // the order is cancelled; the compensation continues in the background
      });
}

void finish_cancel(order_self self, job_ptr job) {
  auto steps = std::move(job->steps);
  job->steps.clear();
  db_transact<bool>(
      self, *self->state.ctx.database,
      [saga = job->saga_id, order_id = job->order_id, ctx = job_context(*job), steps,
       action = job->payment_action](pqxx::work& tx) {
        saga_update u;
        u.state = "completed";
        u.current_step = "completed";
        u.context = ctx;
        u.last_error = "";
        update_saga(tx, saga, u);
        append_steps(tx, saga, steps);
        auto o = load_order(tx, order_id, true);
        if (o) {
          order_update ou;
          if (action == "void") ou.payment_status = "voided";
          if (action == "refund") {
            ou.payment_status = "refunded";
            ou.amount_refunded = o->amount_captured;
          }
          if (o->payment_status == "pending" || o->payment_status == "failed") ou.payment_status = o->payment_status;
          update_order(tx, order_id, ou);
          append_timeline(tx, order_id, "cancellation_completed", "Stock released and payment " +
                                                                       (action.empty() ? std::string{"untouched"} : action),
                          nlohmann::json{{"payment_action", action}}.dump());
        }
        return true;
      },
      [self, job](db::outcome<bool> r) {
        if (!r.ok()) return retry_cancel(self, job, "complete", db_failure(*r.failure));
        self->state.busy_sagas.erase(job->saga_id);
        answer(self, job, nullptr);
      });
}

void compensate_cancel(order_self self, job_ptr job) {
  auto& ctx = self->state.ctx;
  auto ok_step = [job](const std::string& step, nlohmann::json result = nullptr) {
    step_log s;
    s.step = step;
    s.direction = "undo";
    s.key = job->order_id + ":" + step;
    s.result = std::move(result);
    s.attempt = static_cast<int>(job->attempts + 1);
    job->steps.push_back(std::move(s));
  };
  if (!job->released) {
    return ask_agent<inventory_actor>(
        self, ctx, "inventory", inventory::release_reservations{job->order_id, {}, "order_cancelled"},
        [self, job, ok_step](inventory::release_result& r) {
          job->released = true;
          ok_step("release_reservations", nlohmann::json{{"released", r.released}, {"units", r.units}});
          compensate_cancel(self, job);
        },
        [self, job](const failure& f) { retry_cancel(self, job, "release_reservations", f); });
  }
  if (!job->paid_back) {
    return ask_agent<payment_actor>(
        self, ctx, "payment",
        payment::cancel_order_payment{job->order_id, job->refund_amount, job->order_id + ":cancel_payment"},
        [self, job, ok_step](payment::cancel_payment_result& r) {
          job->paid_back = true;
          job->payment_action = r.action;
          ok_step("cancel_order_payment", nlohmann::json{{"action", r.action}});
          compensate_cancel(self, job);
        },
        [self, job](const failure& f) { retry_cancel(self, job, "cancel_order_payment", f); });
  }
  if (!job->points_back && job->points > 0) {
    return ask_agent<customer_actor>(
        self, ctx, "customer",
        customer::restore_points{job->customer_id, job->order_id, job->order_id + ":restore_points"},
        [self, job, ok_step](customer::redemption&) {
          job->points_back = true;
          ok_step("restore_points");
          compensate_cancel(self, job);
        },
        [self, job](const failure& f) { retry_cancel(self, job, "restore_points", f); });
  }
  if (!job->credit_back && job->credit > 0) {
    return ask_agent<customer_actor>(
        self, ctx, "customer",
        customer::restore_store_credit{job->customer_id, job->order_id, job->order_id + ":restore_credit"},
        [self, job, ok_step](customer::credit_result&) {
          job->credit_back = true;
          ok_step("restore_store_credit");
          compensate_cancel(self, job);
        },
        [self, job](const failure& f) { retry_cancel(self, job, "restore_store_credit", f); });
  }
  finish_cancel(self, job);
}

// Starts the compensation, after any place saga step still in flight for the order has landed.
void start_compensation(order_self self, job_ptr job) {
  self->state.busy_sagas.insert(job->saga_id);
  auto it = self->state.runs.find(job->order_id);
  if (it != self->state.runs.end()) {
    it->second->aborted = true;
    it->second->on_abort = [self, job] { compensate_cancel(self, job); };
    return;
  }
  compensate_cancel(self, job);
}

}  // namespace

void cancel_order_saga(order_self self, const std::string& order_ref, const std::string& reason,
                       const std::string& requested_by, money::cents refund_amount, json_done done) {
  struct outcome_t {
    std::optional<failure> error;
    bool already = false;
    std::string saga_id, order_id, customer_id, payment_action;
    int64_t points = 0;
    money::cents credit = 0;
  };
  const saga_lease lease = self->state.lease();
  db_transact<outcome_t>(
      self, *self->state.ctx.database,
      [order_ref, reason, requested_by, refund_amount, lease](pqxx::work& tx) {
        outcome_t out;
        auto o = load_order(tx, order_ref, true);
        if (!o) {
          out.error = not_found_order();
          return out;
        }
        out.order_id = o->order_id;
        if (o->status == "cancelled") {
          out.already = true;
          auto r = tx.exec_params(
              "SELECT context->>'payment_action' FROM orders.sagas WHERE order_id = $1::uuid AND saga_type = "
              "'cancel_order' ORDER BY created_at DESC LIMIT 1",
              o->order_id);
          out.payment_action = r.empty() || r[0][0].is_null() ? "none" : r[0][0].c_str();
          out.customer_id = o->cancellation_reason;  // reused below as the stored reason
          return out;
        }
        bool shipped = false;
        for (const auto& l : o->lines) shipped = shipped || l.quantity_shipped > 0;
        if (!(o->status == "pending" || o->status == "confirmed" || o->status == "processing") || shipped) {
          out.error = failure{failure_kind::conflict, "not_cancellable",
                              "Order cannot be cancelled in status '" + o->status + "'", {}};
          return out;
        }
        auto ship = tx.exec_params(
            "SELECT 1 FROM orders.partial_shipments WHERE order_id = $1::uuid AND status NOT IN ('pending', 'processing') "
            "LIMIT 1",
            o->order_id);
        if (!ship.empty()) {
          out.error = failure{failure_kind::conflict, "too_late", "Order is already being shipped", {}};
          return out;
        }
        // the live place saga (if any) ends here: compensated by this saga
        tx.exec_params(
            "UPDATE orders.sagas SET state = 'compensated', current_step = 'cancelled', updated_at = now(), "
            "lease_owner = NULL, lease_until = NULL WHERE order_id = $1::uuid AND saga_type = 'place_order' AND "
            "state NOT IN ('completed', 'compensated', 'failed')",
            o->order_id);
        order_update u;
        u.status = "cancelled";
        u.cancellation_reason = reason;
        u.cancelled_by = requested_by;
        u.payment_due_in_seconds = -1;
        u.review_due_in_seconds = -1;
        update_order(tx, o->order_id, u);
        nlohmann::json ctx = {{"customer_id", o->customer_id}, {"points", o->points_redeemed},
                              {"credit", o->store_credit_used}, {"refund_amount", refund_amount},
                              {"reason", reason}};
        out.saga_id = insert_saga(tx, o->order_id, "cancel_order", "running", ctx, lease);
        out.customer_id = o->customer_id;
        out.points = o->points_redeemed;
        out.credit = o->store_credit_used;
        out.payment_action = o->amount_captured > 0 ? "refund" : (o->amount_authorized > 0 ? "void" : "none");
        auto p = event_base(*o);
        p["status"] = "cancelled";
        p["reason"] = reason;
        p["payment_action"] = out.payment_action;
        enqueue_event(tx, "order_cancelled", p, o->order_id);
        auto su = event_base(*o);
        su["old_status"] = o->status;
        su["new_status"] = "cancelled";
        su["status"] = "cancelled";
        enqueue_event(tx, "order_status_updated", su, o->order_id);
        append_timeline(tx, o->order_id, "order_cancelled", "Order cancelled: " + reason,
                        nlohmann::json{{"reason", reason}, {"requested_by", requested_by}}.dump(),
                        requested_by.empty() ? "system" : requested_by);
        return out;
      },
      [self, reason, refund_amount, done](db::outcome<outcome_t> r) {
        if (!r.ok()) {
          auto f = db_failure(*r.failure);
          return done(&f, nullptr);
        }
        auto& out = *r.value;
        if (out.error) return done(&*out.error, nullptr);
        auto job = std::make_shared<cancel_job>();
        job->order_id = out.order_id;
        job->payment_action = out.payment_action;
        if (out.already) {
          job->reason = out.customer_id;
          job->waiters.push_back(done);
          return answer(self, job, nullptr);
        }
        self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        job->saga_id = out.saga_id;
        job->customer_id = out.customer_id;
        job->points = out.points;
        job->credit = out.credit;
        job->refund_amount = refund_amount;
        job->reason = reason;
        job->waiters.push_back(done);
        start_compensation(self, job);
      });
}

void resume_cancel_saga(order_self self, const saga_row& saga) {
  if (self->state.busy_sagas.count(saga.saga_id)) return;
  auto job = std::make_shared<cancel_job>();
  const auto& c = saga.context;
  job->saga_id = saga.saga_id;
  job->order_id = saga.order_id;
  job->customer_id = c.value("customer_id", "");
  job->points = c.value("points", int64_t{0});
  job->credit = c.value("credit", int64_t{0});
  job->refund_amount = c.value("refund_amount", int64_t{-1});
  job->reason = c.value("reason", "other");
  job->payment_action = c.value("payment_action", "");
  job->released = c.value("released", false);
  job->paid_back = c.value("paid_back", false);
  job->points_back = c.value("points_back", false);
  job->credit_back = c.value("credit_back", false);
  job->attempts = saga.step_attempts;
  start_compensation(self, job);
}

}  // namespace mercato::order
