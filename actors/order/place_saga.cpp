// The place-order saga (agents/8000-order.md "Place-order saga"): read-only pricing before the
// commit (customer ∥ product, then stock), ONE transaction for order + lines + saga + key + outbox,
// then fraud → reserve → points/credit → (review) → authorize → confirm reservations and ONE
// transaction at the end. Every step is idempotent at its receiver (keyed by the order), so a
// retry or a restarted agent simply re-runs the saga from its last persisted point.
#include <fmt/format.h>

#include "customer/customer_messages.hpp"
#include "db/idempotency_store.hpp"
#include "db/outbox.hpp"
#include "fraud_detection/fraud_messages.hpp"
#include "log/log.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_pricing.hpp"
#include "order/order_request.hpp"
#include "order/order_view.hpp"
#include "order/promotions_builtin.hpp"
#include "order/shipping_rates.hpp"
#include "order/timeline.hpp"
#include "payment/payment_messages.hpp"
#include "product/product_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {

std::vector<inventory::stock_line> stock_lines(const order_record& o) {
  std::vector<inventory::stock_line> out;
  for (const auto& l : o.lines) {
    if (l.bundle_components.is_array() && !l.bundle_components.empty()) {
      for (const auto& c : l.bundle_components)
        out.push_back({c.value("item_id", ""), c.value("quantity", int64_t{1}) * l.quantity, {}});
    } else {
      out.push_back({l.product_id, l.quantity, {}});
    }
  }
  return out;
}

namespace {

using run_ptr = std::shared_ptr<place_run>;

void step_fraud(order_self self, run_ptr run);
void step_reserve(order_self self, run_ptr run);
void step_redeem(order_self self, run_ptr run);
void step_authorize(order_self self, run_ptr run);
void step_confirm(order_self self, run_ptr run, bool retried);
void compensate(order_self self, run_ptr run, std::string reason);

// Answers the run's callers with the state it reached; the run itself goes on.
void answer_waiters(const run_ptr& run) {
  auto waiters = std::move(run->waiters);
  run->waiters.clear();
  for (auto& w : waiters) w();
}

// Called once the run reached a point where an HTTP caller may be answered.
void settle(order_self self, const run_ptr& run) {
  self->state.awaiting_payment.erase(run->order.order_id);
  auto it = self->state.runs.find(run->order.order_id);
  if (it != self->state.runs.end() && it->second == run) self->state.runs.erase(it);
  answer_waiters(run);
  if (run->aborted && run->on_abort) {
    auto k = std::move(run->on_abort);
    run->on_abort = nullptr;
    k();
  }
}

// The run stops at once when the order was cancelled while a step was in flight; the cancel
// saga's compensation (deferred until now) then undoes whatever the step did.
bool stopped(order_self self, const run_ptr& run) {
  if (!run->aborted) return false;
  run->order.status = "cancelled";
  settle(self, run);
  return true;
}

void log_step(const run_ptr& run, std::string step, std::string key, nlohmann::json result = nullptr,
              std::string status = "succeeded", std::string error = {}, std::string direction = "do") {
  step_log s;
  s.step = std::move(step);
  s.key = std::move(key);
  s.result = std::move(result);
  s.status = std::move(status);
  s.error = std::move(error);
  s.direction = std::move(direction);
  s.attempt = static_cast<int>(run->attempts + 1);
  run->steps.push_back(std::move(s));
}

// A transient failure: persist the point reached and let the saga driver retry after a backoff.
void retry_later(order_self self, run_ptr run, const std::string& step, const failure& f) {
  if (stopped(self, run)) return;
  log_step(run, step, run->order.order_id + ":" + step, nullptr, "failed", f.message);
  const int64_t attempts = run->attempts + 1;
  const bool give_up = attempts >= self->state.saga_max_attempts;
  auto steps = std::move(run->steps);
  run->steps.clear();
  const auto ctx = to_json(run->c);
  const std::string state = !run->c.cancel_reason.empty() ? "compensating" : "running";
  const order_record o = run->order;
  record_saga(
      self, run->saga_id, attempts,
      [saga = run->saga_id, step, f, attempts, give_up, steps, ctx, state, o](pqxx::work& tx) {
        saga_update u;
        u.state = give_up ? "failed" : state;
        u.current_step = step;
        u.attempts = attempts;
        u.delay_ms = backoff_ms(attempts);
        u.context = ctx;
        u.last_error = f.message;
        update_saga(tx, saga, u);
        append_steps(tx, saga, steps);
        if (give_up) {
          enqueue_event(tx, "saga_failed", saga_failed_payload(saga, "place_order", step, f.message, o), o.order_id);
          auto failed = event_base(o);
          failed["idempotency_key"] = ctx.value("idempotency_key", "");
          failed["detail"] = f.message;
          enqueue_event(tx, "order_failed", failed, o.order_id);
          append_timeline(tx, o.order_id, "saga_failed", "Order placement failed after retries",
                          nlohmann::json{{"step", step}, {"error", f.message}}.dump());
        }
      },
      [run] { answer_waiters(run); },
      [self, run, give_up](bool) {
        if (give_up) self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        settle(self, run);
      });
}

void send_confirmations(order_self self, std::vector<pending_confirmation> batch);
void send_placements(order_self self, std::vector<pending_placement> batch);

// The final commit of a successful placement. Confirmations that meet while one is being written
// go out together as one statement (commit_confirmations, state.confirmations).
void finish_confirmed(order_self self, run_ptr run) {
  if (stopped(self, run)) return;
  const auto steps = std::move(run->steps);
  run->steps.clear();
  auto& o = run->order;
  const place_context c = run->c;
  o.fraud_decision = c.fraud_decision;
  if (c.fraud_score >= 0) o.fraud_score = c.fraud_score;
  o.fraud_check_id = c.fraud_check_id;
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.lines)
    lines.push_back({{"item_id", l.item_id}, {"product_id", l.product_id}, {"sku", l.sku},
                     {"quantity", l.quantity}, {"unit_price", money::to_json(l.unit_price)}});
  const std::string now = clock::iso8601_now();
  auto p = event_base(o);
  p["status"] = "confirmed";
  p["customer_email"] = o.customer_email;
  p["customer_name"] = o.customer_name;
  p["total_amount"] = money::to_json(o.total_amount);
  p["currency"] = o.currency;
  p["lines"] = lines;
  p["confirmed_at"] = now;
  auto su = event_base(o);
  su["old_status"] = "pending";
  su["new_status"] = "confirmed";
  su["status"] = "confirmed";
  nlohmann::json events = nlohmann::json::array(
      {outbox_row("order_confirmed", p, o.order_id), outbox_row("order_status_updated", su, o.order_id)});
  auto batch = self->state.confirmations.push({run, confirmation_doc(o, run->saga_id, to_json(c), steps, events)});
  if (!batch.empty()) send_confirmations(self, std::move(batch));
}

namespace {

using confirm_outcome = db::outcome<std::vector<std::optional<confirmed_stamp>>>;

// The runs of one confirmation statement, written or failed: confirmed, aborted (cancelled
// meanwhile) or retried later.
void settle_confirmations(order_self self, const std::vector<run_ptr>& runs, const confirm_outcome& r) {
  bool confirmed_any = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    if (!r.ok()) {
      retry_later(self, run, "confirm_order", db_failure(*r.failure));
      continue;
    }
    if (const auto& stamp = (*r.value)[i]) {
      run->order.status = "confirmed";
      run->order.confirmed_at = stamp->confirmed_at;
      run->order.updated_at = stamp->updated_at;
      run->order.payment_due_at.clear();
      run->order.review_due_at.clear();
      confirmed_any = true;
    } else {
      run->aborted = true;
    }
    settle(self, run);
  }
  if (confirmed_any) self->state.ctx.relay->wake(self->state.ctx.spec->schema);
}

// One statement for `docs` (one per run). `queued`: the batch came from state.confirmations,
// which hears when it is done. A failed statement wrote nothing; when it carried several
// confirmations each is written again alone, so one that cannot be written fails only its own
// order (whose retry, queued again later, is split out of its batch the same way).
void write_confirmations(order_self self, std::vector<run_ptr> runs, nlohmann::json docs, bool queued) {
  auto shared = std::make_shared<const nlohmann::json>(std::move(docs));
  db_autocommit<std::vector<std::optional<confirmed_stamp>>>(
      self, *self->state.ctx.database, db::pool::effect::write,
      [shared](pqxx::nontransaction& tx) { return commit_confirmations(tx, *shared); },
      [self, runs, shared, queued](confirm_outcome r) {
        if (queued) {
          // The next batch leaves first: what follows only settles runs already written (or not).
          auto next = self->state.confirmations.finished();
          if (!next.empty()) send_confirmations(self, std::move(next));
        }
        if (!r.ok() && runs.size() > 1) {
          log::warn("order", "confirmation_batch_failed", {{"orders", runs.size()}, {"error", r.failure->message}});
          for (size_t i = 0; i < runs.size(); ++i)
            write_confirmations(self, {runs[i]}, nlohmann::json::array({(*shared)[i]}), false);
          return;
        }
        settle_confirmations(self, runs, r);
      });
}

}  // namespace

void send_confirmations(order_self self, std::vector<pending_confirmation> batch) {
  nlohmann::json docs = nlohmann::json::array();
  std::vector<run_ptr> runs;
  runs.reserve(batch.size());
  for (auto& b : batch) {
    docs.push_back(std::move(b.doc));
    runs.push_back(std::move(b.run));
  }
  write_confirmations(self, std::move(runs), std::move(docs), true);
}

// Parks the saga (waiting_review / waiting_payment) until a REST call or the deadline resumes it.
void park(order_self self, run_ptr run, const std::string& state, const std::string& payment_status) {
  if (stopped(self, run)) return;
  const auto steps = std::move(run->steps);
  run->steps.clear();
  const bool review = state == "waiting_review";
  const int64_t window = review ? self->state.review_window_s : self->state.payment_window_s;
  run->order.payment_status = payment_status;
  const order_record o = run->order;
  const place_context c = run->c;
  db_transact<std::string>(
      self, *self->state.ctx.database,
      [saga = run->saga_id, o, c, steps, state, review, window, payment_status](pqxx::work& tx) {
        auto row = tx.exec_params("SELECT status FROM orders.orders WHERE order_id = $1::uuid FOR UPDATE", o.order_id);
        if (row.empty() || std::string{row[0][0].c_str()} != "pending") return std::string{"-"};  // cancelled meanwhile
        order_update u;
        u.payment_status = payment_status;
        u.fraud_decision = c.fraud_decision;
        if (c.fraud_score >= 0) u.fraud_score = c.fraud_score;
        u.fraud_check_id = c.fraud_check_id;
        if (review) u.review_due_in_seconds = window;
        else u.payment_due_in_seconds = window;
        update_order(tx, o.order_id, u);
        saga_update s;
        s.state = state;
        s.current_step = review ? "fraud_review" : "authorize_payment";
        s.deadline_s = window;
        s.context = to_json(c);
        update_saga(tx, saga, s);
        append_steps(tx, saga, steps);
        append_timeline(tx, o.order_id, review ? "fraud_review_required" : "payment_pending",
                        review ? "Order awaits fraud review" : "Order awaits payment",
                        nlohmann::json{{"payment_status", payment_status}}.dump());
        auto r = tx.exec_params1("SELECT " + iso_sql(review ? "review_due_at" : "payment_due_at") +
                                     " FROM orders.orders WHERE order_id = $1::uuid",
                                 o.order_id);
        return std::string{r[0].c_str()};
      },
      [self, run, review](db::outcome<std::string> r) {
        if (!r.ok()) return retry_later(self, run, review ? "fraud_review" : "authorize_payment", db_failure(*r.failure));
        if (*r.value == "-") {
          run->aborted = true;
          return settle(self, run);
        }
        if (review) run->order.review_due_at = *r.value;
        else run->order.payment_due_at = *r.value;
        settle(self, run);
        if (!review) self->state.awaiting_payment.insert(run->order.order_id);
      });
}

// Commit of a placement that ends cancelled (fraud, stock, pricing, payment window, review).
void finish_cancelled(order_self self, run_ptr run, const std::string& reason) {
  const auto steps = std::move(run->steps);
  run->steps.clear();
  const order_record o = run->order;
  const place_context c = run->c;
  db_transact<bool>(
      self, *self->state.ctx.database,
      [saga = run->saga_id, o, c, steps, reason](pqxx::work& tx) {
        auto row = tx.exec_params("SELECT status FROM orders.orders WHERE order_id = $1::uuid FOR UPDATE", o.order_id);
        const bool pending = !row.empty() && std::string{row[0][0].c_str()} == "pending";
        saga_update s;
        s.state = "compensated";
        s.current_step = "cancelled";
        s.context = to_json(c);
        update_saga(tx, saga, s);
        append_steps(tx, saga, steps);
        if (!pending) return false;
        order_update u;
        u.status = "cancelled";
        u.cancellation_reason = reason;
        u.cancelled_by = "system";
        u.payment_status = c.authorized ? "voided" : o.payment_status;
        u.fraud_decision = c.fraud_decision;
        if (c.fraud_score >= 0) u.fraud_score = c.fraud_score;
        u.fraud_check_id = c.fraud_check_id;
        update_order(tx, o.order_id, u);
        auto p = event_base(o);
        p["status"] = "cancelled";
        p["reason"] = reason;
        p["payment_action"] = c.authorized ? "void" : "none";
        enqueue_event(tx, "order_cancelled", p, o.order_id);
        auto f = event_base(o);
        f["status"] = "cancelled";
        f["idempotency_key"] = c.idempotency_key;
        f["detail"] = reason;
        enqueue_event(tx, "order_failed", f, o.order_id);
        append_timeline(tx, o.order_id, "order_cancelled", "Order cancelled: " + reason,
                        nlohmann::json{{"reason", reason}}.dump());
        return true;
      },
      [self, run, reason](db::outcome<bool> r) {
        if (!r.ok()) return retry_later(self, run, "cancel_order", db_failure(*r.failure));
        if (*r.value) {
          run->order.status = "cancelled";
          run->order.cancellation_reason = reason;
          run->order.cancelled_at = clock::iso8601_now();
          if (run->c.authorized) run->order.payment_status = "voided";
          self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        }
        settle(self, run);
      });
}

// Undo in reverse (void, restore credit/points, release stock), then commit cancelled. Every undo
// is idempotent, so a retry after a failure simply runs them all again.
void compensate(order_self self, run_ptr run, std::string reason) {
  run->c.cancel_reason = reason;
  auto& ctx = self->state.ctx;
  const auto& o = run->order;
  auto fail = [self, run](const failure& f) { retry_later(self, run, "compensate", f); };
  auto release = [self, run, reason, fail] {
    if (!run->c.reserved) return finish_cancelled(self, run, reason);
    ask_agent<inventory_actor>(
        self, self->state.ctx, "inventory",
        inventory::release_reservations{run->order.order_id, {}, reason},
        [self, run, reason](inventory::release_result&) {
          log_step(run, "release_reservations", run->order.order_id + ":release", nullptr, "succeeded", {}, "undo");
          run->c.reserved = false;
          finish_cancelled(self, run, reason);
        },
        fail);
  };
  auto restore = [self, run, release, fail] {
    if (!run->c.redeemed) return release();
    auto& c = run->c;
    auto after_points = [self, run, release, fail] {
      if (run->c.store_credit <= 0) {
        run->c.redeemed = false;
        return release();
      }
      ask_agent<customer_actor>(
          self, self->state.ctx, "customer",
          customer::restore_store_credit{run->c.customer_id, run->order.order_id, run->order.order_id + ":restore_credit"},
          [run, release](customer::credit_result&) {
            log_step(run, "restore_store_credit", run->order.order_id + ":restore_credit", nullptr, "succeeded", {}, "undo");
            run->c.redeemed = false;
            release();
          },
          fail);
    };
    if (c.redeem_points <= 0) return after_points();
    ask_agent<customer_actor>(
        self, self->state.ctx, "customer",
        customer::restore_points{c.customer_id, run->order.order_id, run->order.order_id + ":restore_points"},
        [run, after_points](customer::redemption&) {
          log_step(run, "restore_points", run->order.order_id + ":restore_points", nullptr, "succeeded", {}, "undo");
          after_points();
        },
        fail);
  };
  if (!run->c.authorized) return restore();
  ask_agent<payment_actor>(
      self, ctx, "payment", payment::cancel_order_payment{o.order_id, -1, o.order_id + ":void"},
      [run, restore](payment::cancel_payment_result& r) {
        log_step(run, "void_payment", run->order.order_id + ":void", nlohmann::json{{"action", r.action}}, "succeeded",
                 {}, "undo");
        restore();
      },
      fail);
}

void step_fraud(order_self self, run_ptr run) {
  if (stopped(self, run)) return;
  if (!run->c.fraud_decision.empty()) return step_reserve(self, run);  // scored before a restart
  const auto& o = run->order;
  const auto& c = run->c;
  nlohmann::json data = {{"amount", static_cast<double>(o.total_amount) / 100.0},
                         {"currency", o.currency},
                         {"email", c.customer_email},
                         {"address_mismatch", c.address_mismatch}};
  if (!c.customer_phone.empty()) data["phone"] = c.customer_phone;
  if (!c.ip_address.empty()) data["ip_address"] = c.ip_address;
  if (c.account_age_days >= 0) data["account_age_days"] = c.account_age_days;
  if (c.order_count_24h >= 0) data["order_count_24h"] = c.order_count_24h;
  ask_agent<fraud_actor>(
      self, self->state.ctx, "fraud_detection", fraud::score_order{o.order_id, o.customer_id, data},
      [self, run](fraud::fraud_result& r) {
        if (stopped(self, run)) return;
        run->c.fraud_decision = r.decision;
        run->c.fraud_score = r.risk_score;
        run->c.fraud_check_id = r.check_id;
        run->order.fraud_decision = r.decision;
        run->order.fraud_score = r.risk_score;
        log_step(run, "fraud_check", run->order.order_id + ":fraud_check",
                 nlohmann::json{{"decision", r.decision}, {"risk_score", r.risk_score}, {"check_id", r.check_id}});
        if (r.decision == "blocked") return finish_cancelled(self, run, "fraud_detected");
        step_reserve(self, run);
      },
      [self, run](const failure& f) { retry_later(self, run, "fraud_check", f); });
}

void step_reserve(order_self self, run_ptr run) {
  if (stopped(self, run)) return;
  const bool review = run->c.fraud_decision == "manual_review" && !run->c.review_approved;
  inventory::reserve_stock msg{run->order.order_id, stock_lines(run->order), review ? 86400 : 1800, true};
  ask_agent<inventory_actor>(
      self, self->state.ctx, "inventory", std::move(msg),
      [self, run](inventory::reservation_set&) {
        run->c.reserved = true;
        log_step(run, "reserve_stock", run->order.order_id + ":reserve_stock");
        step_redeem(self, run);
      },
      [self, run](const failure& f) {
        if (f.kind == failure_kind::unavailable) return retry_later(self, run, "reserve_stock", f);
        log_step(run, "reserve_stock", run->order.order_id + ":reserve_stock", nullptr, "failed", f.message);
        compensate(self, run, "out_of_stock");  // all-or-nothing: nothing was reserved
      });
}

void after_redeem(order_self self, run_ptr run) {
  run->c.redeemed = run->c.redeem_points > 0 || run->c.store_credit > 0;
  if (run->c.fraud_decision == "manual_review" && !run->c.review_approved)
    return park(self, run, "waiting_review", run->order.payment_status);
  step_authorize(self, run);
}

void step_redeem(order_self self, run_ptr run) {
  if (stopped(self, run)) return;
  auto& c = run->c;
  const std::string id = run->order.order_id;
  auto fail = [self, run](const failure& f) {
    if (f.kind == failure_kind::unavailable) return retry_later(self, run, "redeem", f);
    log_step(run, "redeem", run->order.order_id + ":redeem", nullptr, "failed", f.message);
    run->c.redeemed = true;  // undo whatever part was taken (restores are idempotent)
    compensate(self, run, "pricing_error");
  };
  auto credit = [self, run, id, fail] {
    if (run->c.store_credit <= 0) return after_redeem(self, run);
    ask_agent<customer_actor>(
        self, self->state.ctx, "customer",
        customer::redeem_store_credit{run->c.customer_id, id, run->c.store_credit, id + ":redeem_credit"},
        [self, run, id](customer::credit_result&) {
          log_step(run, "redeem_store_credit", id + ":redeem_credit");
          after_redeem(self, run);
        },
        fail);
  };
  if (c.redeem_points <= 0) return credit();
  ask_agent<customer_actor>(
      self, self->state.ctx, "customer",
      customer::redeem_points{c.customer_id, id, c.redeem_points, c.merchandise_amount, id + ":redeem_points"},
      [run, id, credit](customer::redemption&) {
        log_step(run, "redeem_points", id + ":redeem_points");
        credit();
      },
      fail);
}

void step_authorize(order_self self, run_ptr run) {
  if (stopped(self, run)) return;
  auto& o = run->order;
  auto& c = run->c;
  if (o.total_amount == 0) {
    o.payment_status = "not_required";
    return step_confirm(self, run, false);
  }
  if (c.payment.type == "marketplace" || c.payment.type == "external") {
    // the payment agent's source form: marketplace:<connection_id> or d2c:<store_id>
    const std::string origin = o.channel == "d2c" ? "d2c:" : "marketplace:";
    const std::string ref = !c.payment.source.empty() ? c.payment.source
                                                      : (!o.channel_name.empty() ? o.channel_name : o.channel);
    payment::record_external_payment msg{o.order_id, o.customer_id, o.total_amount, o.currency,
                                         ref.rfind(origin, 0) == 0 ? ref : origin + ref, o.channel_order_id};
    return ask_agent<payment_actor>(
        self, self->state.ctx, "payment", std::move(msg),
        [self, run](payment::payment_view& p) {
          run->c.authorized = true;
          run->order.payment_status = "captured";
          run->order.amount_authorized = p.authorized_amount > 0 ? p.authorized_amount : run->order.total_amount;
          run->order.amount_captured = p.captured_amount > 0 ? p.captured_amount : run->order.total_amount;
          log_step(run, "record_external_payment", run->order.order_id + ":external", nlohmann::json{{"payment_id", p.payment_id}});
          step_confirm(self, run, false);
        },
        [self, run](const failure& f) { retry_later(self, run, "record_external_payment", f); });
  }
  payment::authorize_payment msg;
  msg.order_id = o.order_id;
  msg.customer_id = o.customer_id;
  msg.amount = o.total_amount;
  msg.currency = o.currency;
  msg.method_id = c.payment.method_id;
  msg.payment_token = c.payment.token;
  msg.gateway_id = c.payment.gateway_id;
  msg.idempotency_key = fmt::format("{}:authorize:{}", o.order_id, c.payment_attempt);
  msg.risk_score = c.fraud_score >= 0 ? static_cast<int>(c.fraud_score) : -1;
  const std::string key = msg.idempotency_key;
  ask_agent<payment_actor>(
      self, self->state.ctx, "payment", std::move(msg),
      [self, run, key](payment::payment_view& p) {
        if (stopped(self, run)) return;
        run->c.authorized = true;
        run->order.payment_status = p.status == "captured" ? "captured" : "authorized";
        run->order.amount_authorized = p.authorized_amount;
        run->order.amount_captured = p.captured_amount;
        log_step(run, "authorize_payment", key, nlohmann::json{{"payment_id", p.payment_id}, {"status", p.status}});
        step_confirm(self, run, false);
      },
      [self, run, key](const failure& f) {
        if (f.kind == failure_kind::unavailable) return retry_later(self, run, "authorize_payment", f);
        log_step(run, "authorize_payment", key, nullptr, "failed", f.message);
        // declined / no method: wait for the customer to pay (POST /pay) until the deadline
        park(self, run, "waiting_payment", f.code == "no_payment_method" ? "pending" : "failed");
      });
}

void step_confirm(order_self self, run_ptr run, bool retried) {
  if (stopped(self, run)) return;
  const std::string id = run->order.order_id;
  ask_agent<inventory_actor>(
      self, self->state.ctx, "inventory", inventory::confirm_reservations{id},
      [self, run, id](inventory::reservation_set&) {
        log_step(run, "confirm_reservations", id + ":confirm_reservations");
        finish_confirmed(self, run);
      },
      [self, run, id, retried](const failure& f) {
        if (f.kind == failure_kind::unavailable) return retry_later(self, run, "confirm_reservations", f);
        if (retried) return compensate(self, run, "out_of_stock");
        // expired meanwhile: one fresh reservation, then confirm again
        ask_agent<inventory_actor>(
            self, self->state.ctx, "inventory",
            inventory::reserve_stock{id, stock_lines(run->order), 1800, true},
            [self, run](inventory::reservation_set&) { step_confirm(self, run, true); },
            [self, run](const failure& f2) {
              if (f2.kind == failure_kind::unavailable) return retry_later(self, run, "reserve_stock", f2);
              compensate(self, run, "out_of_stock");
            });
      });
}

// Chooses where a (new or resumed) run continues.
void drive(order_self self, run_ptr run) {
  if (!run->c.cancel_reason.empty()) return compensate(self, run, run->c.cancel_reason);
  step_fraud(self, run);
}

failure invalid_failure(const input::issue_list& issues) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& i : issues) list.push_back({{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
  return {failure_kind::invalid, "invalid", issues.empty() ? "Validation error" : issues.front().msg, list.dump()};
}

// ---- pre-commit pricing ----

struct priced {
  order_record order;
  place_context context;
  std::vector<std::string> skus;  // per line, for messages
};

struct pricing_join {
  std::shared_ptr<place_request> req;
  std::optional<customer::customer_profile> customer;
  std::optional<product::resolved_items> items;
  std::optional<failure> error;
  input::issue_list issues;
  int pending = 2;
};

// Maps a product agent refusal to the body issue it names.
void product_issue(const failure& f, pricing_join& j) {
  auto d = nlohmann::json::parse(f.detail.empty() ? "{}" : f.detail, nullptr, false);
  const int64_t index = d.is_object() ? d.value("index", int64_t{0}) : 0;
  std::string msg = f.message.empty() ? "Product not found" : f.message;
  if (f.code == "variant_required") msg = "Product has variants; choose a variant";
  j.issues.push_back({{"body", "items", std::to_string(index), "product_id"}, msg, "value_error.not_found"});
}

// ---- the placement's commit ----

// What committing a placement found: the order placed, the order an earlier request with the same
// Idempotency-Key (or channel reference) placed, or a key reused with another request.
struct commit_result {
  bool mismatch = false;
  std::optional<order_record> existing;
  order_record placed;
  std::string saga_id;
  int64_t order_count_24h = -1;
};
using commit_done = std::function<void(db::outcome<commit_result>)>;

nlohmann::json placement_events(const order_record& o) {
  auto ev = event_base(o);
  ev["channel"] = o.channel;
  ev["total_amount"] = money::to_json(o.total_amount);
  ev["currency"] = o.currency;
  ev["items_count"] = o.lines.size();
  return nlohmann::json::array({outbox_row("order_created", ev, o.order_id)});
}

// The stored answer names the order, known before it is written.
db::stored_response placement_answer(const order_record& o) {
  return {201, nlohmann::json{{"order_id", o.order_id}}.dump()};
}

// The commit in a transaction that first decides what the Idempotency-Key or the channel
// reference already names (replay, mismatch, an expired key, a channel duplicate).
void commit_placement_checked(order_self self, std::shared_ptr<priced> p, std::string key, std::string fingerprint,
                              std::string saga_id, commit_done done) {
  db_transact<commit_result>(
      self, *self->state.ctx.database,
      [p, key, fingerprint, saga_id, lease = self->state.lease()](pqxx::work& tx) {
        commit_result r;
        const auto& o = p->order;
        if (!key.empty()) {
          const auto answer = placement_answer(o);
          auto claim = order_keys().claim(tx, key, "POST /orders", fingerprint, &answer);
          if (claim.state == db::claim_state::mismatch) {
            r.mismatch = true;
            return r;
          }
          if (claim.state == db::claim_state::replay) {
            auto stored = nlohmann::json::parse(claim.stored.body, nullptr, false);
            r.existing = load_order(tx, stored.is_object() ? stored.value("order_id", "") : "");
            return r;
          }
        }
        if (!o.channel_order_id.empty()) {
          auto id = find_channel_order(tx, o.channel, o.channel_name, o.channel_order_id);
          if (!id.empty()) {  // the key then names the order placed before
            if (!key.empty()) order_keys().save(tx, key, {201, nlohmann::json{{"order_id", id}}.dump()});
            r.existing = load_order(tx, id);
            return r;
          }
        }
        r.placed = o;
        r.saga_id = saga_id;
        r.order_count_24h = *insert_placed_order(tx, r.placed, saga_id, to_json(p->context), lease,
                                                 placement_events(o));
        return r;
      },
      std::move(done));
}

using placements_outcome = db::outcome<std::vector<std::optional<placed_stamp>>>;
void settle_unknown_write(order_self self, pending_placement item, db::error failure);

// One statement for `batch`. `queued`: the batch came from state.placements, which hears when it
// is done. A statement refused by the database wrote nothing; when it carried several placements
// each is written again alone, so one that cannot be written fails only its own request. One
// whose outcome is unknown (the database unavailable) is settled by settle_unknown_write.
void write_placements(order_self self, std::vector<pending_placement> batch, bool queued) {
  auto docs = std::make_shared<nlohmann::json>(nlohmann::json::array());
  for (auto& b : batch) docs->push_back(std::move(b.doc));
  auto items = std::make_shared<std::vector<pending_placement>>(std::move(batch));
  db_autocommit<std::vector<std::optional<placed_stamp>>>(
      self, *self->state.ctx.database, db::pool::effect::write,
      [docs](pqxx::nontransaction& tx) { return insert_placed_orders(tx, *docs); },
      [self, docs, items, queued](placements_outcome r) {
        if (queued) {
          auto next = self->state.placements.finished();
          if (!next.empty()) send_placements(self, std::move(next));
        }
        // Unknown outcome; or the re-write of one whose outcome was unknown meeting its own order
        // (committed by a backend that outlived its connection): look it up.
        const bool rewrite_met_itself = r.failure && r.failure->code == db::errc::conflict && items->size() == 1 &&
                                        (*items)[0].unknown_until != std::chrono::steady_clock::time_point{};
        if (!r.ok() && (r.failure->code == db::errc::unavailable || rewrite_met_itself)) {
          for (size_t i = 0; i < items->size(); ++i) {
            auto& item = (*items)[i];
            item.doc = std::move((*docs)[i]);
            settle_unknown_write(self, std::move(item), *r.failure);
          }
          return;
        }
        if (!r.ok() && items->size() > 1) {
          log::warn("order", "placement_batch_failed", {{"orders", items->size()}, {"error", r.failure->message}});
          for (size_t i = 0; i < items->size(); ++i) {
            auto& item = (*items)[i];
            item.doc = std::move((*docs)[i]);
            write_placements(self, {std::move(item)}, false);
          }
          return;
        }
        using one = db::outcome<std::optional<placed_stamp>>;
        for (size_t i = 0; i < items->size(); ++i)
          (*items)[i].written(r.ok() ? one::success((*r.value)[i]) : one::fail(*r.failure));
      });
}

constexpr std::chrono::milliseconds unknown_write_retry{100};

// A placement statement that failed with the database unavailable may have committed before its
// answer was lost (the connection dropped mid-statement). Failing it with 503 would let a client
// without an Idempotency-Key place the order again while the saga driver completes the first:
// two orders, two charges (order_tests: "connections cut during placements"). So it is looked up
// by order and saga id every unknown_write_retry until the database answers, for at most
// place_wait: written → answered as written; not written → written again (a new order id, so
// the order exists once); still unknown at the deadline → the 503 it had.
void settle_unknown_write(order_self self, pending_placement item, db::error failure) {
  const auto now = std::chrono::steady_clock::now();
  if (item.unknown_until == std::chrono::steady_clock::time_point{}) item.unknown_until = now + self->state.place_wait;
  if (now >= item.unknown_until) {
    log::warn("order", "placement_outcome_unknown",
              {{"order_id", item.doc.value("order_id", "")}, {"error", failure.message}});
    return item.written(db::outcome<std::optional<placed_stamp>>::fail(std::move(failure)));
  }
  auto pending = std::make_shared<pending_placement>(std::move(item));
  once_or_after(self, unknown_write_retry, [self, pending] {
    db_autocommit<std::optional<placed_stamp>>(
        self, *self->state.ctx.database, db::pool::effect::read,
        [order_id = pending->doc.value("order_id", ""), saga_id = pending->doc.value("saga_id", "")](
            pqxx::nontransaction& tx) { return find_placed_order(tx, order_id, saga_id); },
        [self, pending](db::outcome<std::optional<placed_stamp>> r) {
          if (!r.ok() && r.failure->code == db::errc::unavailable)
            return settle_unknown_write(self, std::move(*pending), *r.failure);
          if (!r.ok()) return pending->written(db::outcome<std::optional<placed_stamp>>::fail(*r.failure));
          if (*r.value) {
            log::info("order", "placement_found_after_unknown_write", {{"order_id", pending->doc.value("order_id", "")}});
            return pending->written(db::outcome<std::optional<placed_stamp>>::success(*r.value));
          }
          write_placements(self, {std::move(*pending)}, false);
        });
  });
}

// The usual placement (a new Idempotency-Key or none, no channel reference) commits in ONE
// statement without BEGIN/COMMIT: key claim, order, lines, saga, timeline entry and event, shared
// with the placements that meet it (state.placements). When the key turns out to exist, nothing
// of it was written and the checked transaction decides.
void commit_placement(order_self self, std::shared_ptr<priced> p, std::string key, std::string fingerprint,
                      commit_done done) {
  std::string saga_id = uuid_v4();
  if (!p->order.channel_order_id.empty())
    return commit_placement_checked(self, std::move(p), std::move(key), std::move(fingerprint), std::move(saga_id),
                                    std::move(done));
  std::optional<key_claim> claim;
  if (!key.empty()) claim.emplace(key_claim{key, "POST /orders", fingerprint, placement_answer(p->order)});
  pending_placement item;
  item.doc = placement_doc(p->order, saga_id, to_json(p->context), self->state.lease(),
                           placement_events(p->order), claim ? &*claim : nullptr);
  item.key = key;
  item.written = [self, p, key, fingerprint, saga_id, done](db::outcome<std::optional<placed_stamp>> w) {
    if (!w.ok()) return done(db::outcome<commit_result>::fail(std::move(*w.failure)));
    if (!*w.value) return commit_placement_checked(self, p, key, fingerprint, saga_id, done);
    const placed_stamp& stamp = **w.value;
    commit_result r;
    r.placed = p->order;
    r.placed.order_number = stamp.order_number;
    r.placed.created_at = stamp.created_at;
    r.placed.updated_at = stamp.created_at;
    r.saga_id = saga_id;
    r.order_count_24h = stamp.order_count_24h;
    done(db::outcome<commit_result>::success(std::move(r)));
  };
  auto batch = self->state.placements.push(std::move(item));
  if (!batch.empty()) send_placements(self, std::move(batch));
}

void send_placements(order_self self, std::vector<pending_placement> batch) {
  // Keys are distinct within one statement. A key met again (the same request sent twice at
  // once) goes to the checked transaction, whose claim waits for the statement carrying the key
  // (the unique index) and then replays its order, or places it if that statement failed.
  std::unordered_set<std::string> keys;
  std::vector<pending_placement> distinct;
  distinct.reserve(batch.size());
  std::vector<pending_placement> repeated;
  for (auto& b : batch) {
    if (!b.key.empty() && !keys.insert(b.key).second) repeated.push_back(std::move(b));
    else distinct.push_back(std::move(b));
  }
  write_placements(self, std::move(distinct), true);
  for (auto& b : repeated) b.written(db::outcome<std::optional<placed_stamp>>::success(std::nullopt));
}

}  // namespace

void place_new_order(order_self self, place_order msg, place_done done) {
  auto& st = self->state;
  auto j = std::make_shared<pricing_join>();
  j->req = std::make_shared<place_request>(read_place_request(msg.body, j->issues));
  auto& req = *j->req;
  quote_promotions(req.promotion_codes, j->issues);
  if (!flat_rate(self->state.shipping, req.shipping_service_level, 0))
    j->issues.push_back({{"body", "shipping_service_level"},
                         "Unknown shipping service level '" + req.shipping_service_level + "'", "value_error"});
  if (!j->issues.empty()) {
    place_outcome out;
    out.issues = j->issues;
    return done(std::move(out));
  }
  const std::string key = msg.idempotency_key;
  if (!key.empty()) {
    if (!db::idempotency_store::valid_key(key)) {
      place_outcome out;
      out.issues.push_back({{"header", "Idempotency-Key"}, "invalid Idempotency-Key", "value_error"});
      return done(std::move(out));
    }
    if (st.keys_in_flight.count(key)) {
      place_outcome out;
      out.error = failure{failure_kind::conflict, "conflict", "A request with this Idempotency-Key is in progress", {}};
      return done(std::move(out));
    }
    st.keys_in_flight.insert(key);
  }
  // Every exit below releases the key.
  done = [self, key, done = std::move(done)](place_outcome out) {
    if (!key.empty()) self->state.keys_in_flight.erase(key);
    done(std::move(out));
  };
  const std::string fingerprint =
      key.empty() ? std::string{} : db::idempotency_store::fingerprint("POST", "/orders", msg.body.dump());

  // After customer ∥ product: stock check, pricing, commit.
  auto priced_cb = [self, j, done, key, fingerprint, requested_by = msg.requested_by]() {
    if (j->error || !j->issues.empty()) {
      place_outcome out;
      out.error = j->error;
      if (!j->error) out.issues = j->issues;
      return done(std::move(out));
    }
    auto& req = *j->req;
    auto& cust = *j->customer;
    auto& items = j->items->items;
    // ship-to: the body's, else the customer's default
    nlohmann::json ship = req.shipping_address;
    if (ship.is_null() && !cust.default_shipping_address_json.empty()) {
      auto d = nlohmann::json::parse(cust.default_shipping_address_json, nullptr, false);
      input::issue_list ignored;
      if (!d.is_discarded() && check_address(d, {"body", "shipping_address"}, ignored)) ship = d;
    }
    if (ship.is_null()) {
      place_outcome out;
      out.issues.push_back({{"body", "shipping_address"}, "field required", "value_error.missing"});
      return done(std::move(out));
    }
    nlohmann::json bill = req.billing_address.is_null() ? ship : req.billing_address;
    auto p = std::make_shared<priced>();
    auto& o = p->order;
    o.order_id = uuid_v4();
    o.customer_id = req.customer_id;
    o.customer_name = cust.first_name + (cust.last_name.empty() ? "" : " " + cust.last_name);
    o.customer_email = cust.email;
    o.channel = req.channel;
    o.channel_name = req.channel_name;
    o.channel_order_id = req.channel_order_id;
    o.currency = req.currency;
    o.promotion_codes = {};
    o.shipping_service_level = req.shipping_service_level;
    o.shipping_address = ship;
    o.billing_address = bill;
    o.notes = req.notes;
    o.gift_options = req.gift_options.is_null() ? nlohmann::json::object() : req.gift_options;
    o.scheduled_delivery_date = req.scheduled_delivery_date;
    o.delivery_instructions = req.delivery_instructions;
    o.priority_level = req.priority_level;
    o.tags = req.tags;
    o.metadata = req.metadata;
    std::vector<line_price> prices;
    std::vector<expected_line> expected;
    std::vector<inventory::stock_line> stock;
    std::unordered_map<std::string, std::string> sku_of;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& it = items[i];
      const auto& lr = req.lines[i];
      order_line l;
      l.item_id = uuid_v4();
      l.line_number = static_cast<int>(i + 1);
      l.product_id = it.item_id;
      l.variant_id = it.variant_id;
      l.sku = it.sku;
      l.product_name = it.name;
      l.category = it.category;
      l.quantity = lr.quantity;
      l.unit_price = req.channel_prices && lr.expected_unit_price ? *lr.expected_unit_price : it.list_price;
      sku_of[it.item_id] = it.sku;
      if (!it.components.empty()) {
        l.bundle_components = nlohmann::json::array();
        for (const auto& c : it.components) {
          l.bundle_components.push_back({{"item_id", c.item_id}, {"sku", c.sku}, {"quantity", c.quantity}});
          stock.push_back({c.item_id, c.quantity * lr.quantity, {}});
          sku_of[c.item_id] = c.sku;
        }
      } else {
        stock.push_back({it.item_id, lr.quantity, {}});
      }
      prices.push_back({l.unit_price, l.quantity});
      if (!req.channel_prices) expected.push_back({it.sku, lr.expected_unit_price, l.unit_price});
      o.lines.push_back(std::move(l));
    }
    // discounts: loyalty points (valued by the customer agent) + store credit up to the balance
    money::cents subtotal = 0;
    for (const auto& x : prices) subtotal += x.unit_price * x.quantity;
    auto& c = p->context;
    c.customer_id = o.customer_id;
    c.customer_email = cust.email;
    c.customer_phone = cust.phone;
    c.account_age_days = cust.account_age_days;
    c.ip_address = req.ip_address;
    c.address_mismatch = address_country(bill) != address_country(ship) ||
                         address_postal_code(bill) != address_postal_code(ship);
    c.currency = o.currency;
    c.payment = req.payment;
    c.idempotency_key = key;
    c.requested_by = requested_by;
    c.merchandise_amount = subtotal;
    c.store_credit = std::min(req.use_store_credit, cust.store_credit_balance);

    auto finish = [self, j, p, prices, expected, stock, sku_of, done, key, fingerprint](money::cents points_value) {
      auto& req = *j->req;
      auto& o = p->order;
      auto& c = p->context;
      const money::cents discount = points_value + c.store_credit;
      money::cents merchandise = 0;
      for (const auto& x : prices) merchandise += x.unit_price * x.quantity;
      money::cents shipping = 0;
      if (req.channel_prices) {
        shipping = req.expected_shipping.value_or(0);
        o.carrier_code = req.carrier_code;
      } else {
        auto q = flat_rate(self->state.shipping, req.shipping_service_level, std::max<money::cents>(0, merchandise - discount));
        shipping = q->cost;
        o.carrier_code = q->carrier_code;
      }
      const auto rate = pick_tax_rate(self->state.tax_rates, address_country(o.shipping_address),
                                      address_region(o.shipping_address), clock::iso8601_now());
      auto t = price_order(prices, discount, shipping, rate, req.channel_prices ? req.channel_tax : std::nullopt);
      for (size_t i = 0; i < o.lines.size(); ++i) {
        o.lines[i].total_price = t.lines[i].total_price;
        o.lines[i].discount_amount = t.lines[i].discount;
        o.lines[i].tax_amount = t.lines[i].tax;
      }
      o.subtotal = t.subtotal;
      o.discount_amount = t.discount;
      o.shipping_cost = t.shipping;
      o.tax_amount = t.tax;
      o.total_amount = t.total;
      // store credit beyond what the merchandise absorbs is not taken
      if (c.store_credit > 0 && discount > t.discount)
        c.store_credit = std::max<money::cents>(0, t.discount - points_value);
      o.store_credit_used = c.store_credit;
      o.points_redeemed = c.redeem_points;
      c.total = t.total;
      const std::string conflict =
          check_expected(expected, req.channel_prices ? std::nullopt : req.expected_shipping, t.shipping,
                         req.expected_total, t.total);
      if (!conflict.empty()) {
        place_outcome out;
        out.error = failure{failure_kind::conflict, "price_changed", conflict, {}};
        return done(std::move(out));
      }
      // stock pre-check (no order when short)
      ask_agent<inventory_actor>(
          self, self->state.ctx, "inventory", inventory::check_availability{stock},
          [self, p, sku_of, done, key, fingerprint](inventory::availability_report& rep) {
            for (const auto& l : rep.lines) {
              if (l.available) continue;
              auto it = sku_of.find(l.product_id);
              place_outcome out;
              out.error = failure{failure_kind::conflict, "insufficient_stock",
                                  fmt::format("Insufficient stock for product {}: requested {}, available {}",
                                              it == sku_of.end() ? l.product_id : it->second, l.requested,
                                              l.total_available),
                                  {}};
              return done(std::move(out));
            }
            commit_placement(
                self, p, key, fingerprint,
                [self, p, done](db::outcome<commit_result> r) {
                  place_outcome out;
                  if (!r.ok()) {
                    log::warn("order", "place_commit_failed", {{"error", r.failure->message}});
                    out.error = db_failure(*r.failure);
                    return done(std::move(out));
                  }
                  if (r.value->mismatch) {
                    out.issues.push_back({{"header", "Idempotency-Key"},
                                          "Idempotency-Key was already used with a different request",
                                          "value_error.idempotency_mismatch"});
                    return done(std::move(out));
                  }
                  if (r.value->existing) {
                    out.order = *r.value->existing;
                    out.existing = true;
                    return done(std::move(out));
                  }
                  self->state.ctx.relay->wake(self->state.ctx.spec->schema);
                  auto run = std::make_shared<place_run>();
                  run->saga_id = r.value->saga_id;
                  run->order = std::move(r.value->placed);
                  run->c = p->context;
                  run->c.order_count_24h = r.value->order_count_24h;
                  self->state.runs[run->order.order_id] = run;
                  // answer when the saga settles, or with the current state after place_wait
                  run->waiters.push_back(once_or_after(self, self->state.place_wait, [run, done] {
                    place_outcome o;
                    o.order = run->order;
                    done(std::move(o));
                  }));
                  drive(self, run);
                });
          },
          [done](const failure& f) {
            place_outcome out;
            out.error = f;
            if (f.kind == failure_kind::invalid) {
              out.error.reset();
              out.issues.push_back({{"body", "items"}, f.message, "value_error.not_found"});
            }
            done(std::move(out));
          });
    };
    if (req.redeem_points <= 0) return finish(0);
    c.redeem_points = req.redeem_points;
    ask_agent<customer_actor>(
        self, self->state.ctx, "customer",
        customer::quote_redemption{o.customer_id, req.redeem_points, subtotal},
        [finish](customer::redemption& r) { finish(r.value); },
        [done](const failure& f) {
          place_outcome out;
          if (f.kind == failure_kind::unavailable) out.error = f;
          else out.issues.push_back({{"body", "redeem_points"}, f.message, "value_error"});
          done(std::move(out));
        });
  };

  auto joined = [self, j, priced_cb] {
    if (--j->pending > 0) return;
    if (!self->state.tax_loaded) return reload_tax_rates(self, priced_cb);  // first order after start
    priced_cb();
  };
  std::vector<product::item_ref> refs;
  for (const auto& l : req.lines) refs.push_back({l.ref, l.variant_id, l.quantity, l.selected_components});
  ask_agent<customer_actor>(
      self, st.ctx, "customer", customer::validate_customer{req.customer_id},
      [j, joined](customer::customer_profile& p) {
        j->customer = std::move(p);
        joined();
      },
      [j, joined](const failure& f) {
        if (f.kind == failure_kind::unavailable) j->error = f;
        else if (f.kind == failure_kind::not_found)
          j->issues.push_back({{"body", "customer_id"}, "Customer not found", "value_error.not_found"});
        else
          j->issues.push_back({{"body", "customer_id"}, f.message.empty() ? "Customer account is suspended" : f.message,
                               "value_error"});
        joined();
      });
  ask_agent<product_actor>(
      self, st.ctx, "product", product::resolve_items{std::move(refs)},
      [j, joined](product::resolved_items& r) {
        j->items = std::move(r);
        joined();
      },
      [j, joined](const failure& f) {
        if (f.kind == failure_kind::unavailable) j->error = f;
        else product_issue(f, *j);
        joined();
      });
}

void resume_place_saga(order_self self, const saga_row& saga) {
  if (self->state.runs.count(saga.order_id)) return;
  db_transact<std::optional<order_record>>(
      self, *self->state.ctx.database, [id = saga.order_id](pqxx::work& tx) { return load_order(tx, id); },
      [self, saga](db::outcome<std::optional<order_record>> r) {
        if (!r.ok() || !*r.value || self->state.runs.count(saga.order_id)) return;
        auto run = std::make_shared<place_run>();
        run->saga_id = saga.saga_id;
        run->order = std::move(**r.value);
        run->c = place_context_from_json(saga.context);
        run->attempts = saga.step_attempts;
        self->state.runs[run->order.order_id] = run;
        if (run->order.status != "pending") {  // settled elsewhere (cancel saga, PATCH status): close it
          self->state.runs.erase(run->order.order_id);
          const std::string end = run->order.status == "cancelled" ? "compensated" : "completed";
          db_transact<bool>(
              self, *self->state.ctx.database,
              [saga_id = saga.saga_id, end](pqxx::work& tx) {
                saga_update u;
                u.state = end;
                u.current_step = end;
                update_saga(tx, saga_id, u);
                return true;
              },
              [](db::outcome<bool>) {});
          return;
        }
        if (saga.state == "waiting_review") {  // review window over
          run->c.redeemed = run->c.redeem_points > 0 || run->c.store_credit > 0;
          ask_agent<fraud_actor>(self, self->state.ctx, "fraud_detection",
                                 fraud::record_review{run->c.fraud_check_id, "order", run->order.order_id, "rejected",
                                                      "system", "Review window expired"},
                                 [](fraud::fraud_result&) {}, [](const failure&) {});
          return compensate(self, run, "fraud_detected");
        }
        if (saga.state == "waiting_payment") {  // payment window over: unless a payment arrived meanwhile
          run->c.redeemed = run->c.redeem_points > 0 || run->c.store_credit > 0;
          return ask_agent<payment_actor>(
              self, self->state.ctx, "payment", payment::get_order_payment{run->order.order_id},
              [self, run](payment::order_payment& p) {
                if (p.found && (p.payment.status == "authorized" || p.payment.status == "captured")) {
                  run->c.authorized = true;
                  run->order.payment_status = p.payment.status;
                  run->order.amount_authorized = p.payment.authorized_amount;
                  run->order.amount_captured = p.payment.captured_amount;
                  return step_confirm(self, run, false);
                }
                compensate(self, run, "payment_failed");
              },
              [self, run](const failure& f) { retry_later(self, run, "payment_deadline", f); });
        }
        drive(self, run);
      });
}

void resume_if_paid(order_self self, const std::string& order_id) {
  if (order_id.empty() || self->state.runs.count(order_id)) return;  // our own authorize, in flight
  if (!self->state.awaiting_payment.count(order_id)) return;          // not waiting here: nothing to do
  // Claim the waiting saga (lease) so the sweeper and POST /pay leave it alone meanwhile.
  db_transact<std::optional<saga_row>>(
      self, *self->state.ctx.database,
      [order_id, lease = self->state.lease()](pqxx::work& tx) -> std::optional<saga_row> {
        auto s = live_saga(tx, order_id, "place_order", true);
        if (!s || s->state != "waiting_payment") return std::nullopt;
        if (!s->lease_until.empty() && s->lease_owner != lease.owner && !s->deadline_passed) {
          auto r = tx.exec_params1("SELECT lease_until > now() FROM orders.sagas WHERE saga_id = $1::uuid", s->saga_id);
          if (r[0].as<bool>()) return std::nullopt;
        }
        tx.exec_params("UPDATE orders.sagas SET lease_owner = $2, lease_until = now() + make_interval(secs => $3) "
                       "WHERE saga_id = $1::uuid",
                       s->saga_id, lease.owner, static_cast<int>(lease.seconds));
        return s;
      },
      [self, order_id](db::outcome<std::optional<saga_row>> r) {
        if (!r.ok() || !*r.value || self->state.runs.count(order_id)) return;
        auto saga = **r.value;
        db_transact<std::optional<order_record>>(
            self, *self->state.ctx.database, [order_id](pqxx::work& tx) { return load_order(tx, order_id); },
            [self, saga](db::outcome<std::optional<order_record>> o) {
              if (!o.ok() || !*o.value || self->state.runs.count(saga.order_id)) return;
              auto run = std::make_shared<place_run>();
              run->saga_id = saga.saga_id;
              run->order = std::move(**o.value);
              run->c = place_context_from_json(saga.context);
              self->state.runs[run->order.order_id] = run;
              ask_agent<payment_actor>(
                  self, self->state.ctx, "payment", payment::get_order_payment{run->order.order_id},
                  [self, run](payment::order_payment& p) {
                    if (p.found && (p.payment.status == "authorized" || p.payment.status == "captured")) {
                      run->c.authorized = true;
                      run->order.payment_status = p.payment.status;
                      run->order.amount_authorized = p.payment.authorized_amount;
                      run->order.amount_captured = p.payment.captured_amount;
                      log_step(run, "authorize_payment", run->order.order_id + ":external_authorization",
                               nlohmann::json{{"payment_id", p.payment.payment_id}});
                      return step_confirm(self, run, false);
                    }
                    settle(self, run);  // not paid after all: keep waiting
                  },
                  [self, run](const failure&) { settle(self, run); });
            });
      });
}

namespace {

struct order_and_saga {
  order_record order;
  std::optional<saga_row> saga;  // the order's live place_order saga
};

// Loads an order (by id or number) with its live placement saga for a REST resumption; a
// database failure or an unknown order is answered through `done` here.
void load_order_and_saga(order_self self, const std::string& order_ref, json_done done,
                         std::function<void(order_and_saga&)> next) {
  struct loaded {
    std::optional<order_record> order;
    std::optional<saga_row> saga;
  };
  db_transact<loaded>(
      self, *self->state.ctx.database,
      [order_ref](pqxx::work& tx) {
        loaded l;
        l.order = load_order(tx, order_ref);
        if (l.order) l.saga = live_saga(tx, l.order->order_id, "place_order");
        return l;
      },
      [done, next = std::move(next)](db::outcome<loaded> r) {
        if (!r.ok()) {
          auto f = db_failure(*r.failure);
          return done(&f, nullptr);
        }
        if (!r.value->order) {
          auto f = not_found_order();
          return done(&f, nullptr);
        }
        order_and_saga l{std::move(*r.value->order), std::move(r.value->saga)};
        next(l);
      });
}

}  // namespace

void review_order(order_self self, const std::string& order_ref, bool approve, const std::string& reviewer,
                  const std::string& notes, json_done done) {
  load_order_and_saga(self, order_ref, done,
      [self, approve, reviewer, notes, done](order_and_saga& l) {
        auto& saga = l.saga;
        if (!saga || saga->state != "waiting_review" || self->state.runs.count(saga->order_id)) {
          failure f{failure_kind::conflict, "conflict", "Order is not awaiting fraud review", {}};
          return done(&f, nullptr);
        }
        auto run = std::make_shared<place_run>();
        run->saga_id = saga->saga_id;
        run->order = std::move(l.order);
        run->c = place_context_from_json(saga->context);
        self->state.runs[run->order.order_id] = run;
        run->waiters.push_back([run, done] { done(nullptr, render_order_view(run->order)); });
        ask_agent<fraud_actor>(self, self->state.ctx, "fraud_detection",
                               fraud::record_review{run->c.fraud_check_id, "order", run->order.order_id,
                                                    approve ? "approved" : "rejected", reviewer, notes},
                               [](fraud::fraud_result&) {}, [](const failure&) {});
        log_step(run, "fraud_review", run->order.order_id + ":review",
                 nlohmann::json{{"approved", approve}, {"reviewed_by", reviewer}});
        if (!approve) {
          run->c.redeemed = run->c.redeem_points > 0 || run->c.store_credit > 0;
          return compensate(self, run, "fraud_detected");
        }
        run->c.review_approved = true;
        // the reservation was taken with the review TTL: make it a normal one before paying
        ask_agent<inventory_actor>(self, self->state.ctx, "inventory",
                                   inventory::extend_reservations{run->order.order_id, 1800},
                                   [self, run](inventory::reservation_set&) { step_authorize(self, run); },
                                   [self, run](const failure&) { step_authorize(self, run); });
      });
}

void pay_order(order_self self, const std::string& order_ref, payment_request payment, json_done done) {
  load_order_and_saga(self, order_ref, done,
      [self, payment, done](order_and_saga& l) {
        auto& o = l.order;
        auto& saga = l.saga;
        if (o.status != "pending" || (o.payment_status != "pending" && o.payment_status != "failed") || !saga ||
            saga->state != "waiting_payment" || self->state.runs.count(o.order_id)) {
          failure f{failure_kind::conflict, "conflict",
                    "Order is not awaiting payment (status '" + o.status + "', payment status '" + o.payment_status + "')",
                    {}};
          return done(&f, nullptr);
        }
        auto run = std::make_shared<place_run>();
        run->saga_id = saga->saga_id;
        run->order = std::move(o);
        run->c = place_context_from_json(saga->context);
        run->c.payment.type = "card";
        run->c.payment.method_id = payment.method_id;
        run->c.payment.token = payment.token;
        run->c.payment.gateway_id = payment.gateway_id;
        run->c.payment_attempt += 1;
        self->state.runs[run->order.order_id] = run;
        run->waiters.push_back([run, done] { done(nullptr, render_order_view(run->order)); });
        step_authorize(self, run);
      });
}

namespace {

// The pricing step without side effects: resolve, price with the built-in steps, stock per line.
void quote_with_rates(order_self self, const nlohmann::json& body, json_done done) {
  auto issues = std::make_shared<input::issue_list>();
  auto req = std::make_shared<place_request>(read_place_request(body, *issues, true));
  quote_promotions(req->promotion_codes, *issues);
  if (!flat_rate(self->state.shipping, req->shipping_service_level, 0))
    issues->push_back({{"body", "shipping_service_level"},
                       "Unknown shipping service level '" + req->shipping_service_level + "'", "value_error"});
  if (!issues->empty()) {
    auto f = invalid_failure(*issues);
    return done(&f, nullptr);
  }
  std::vector<product::item_ref> refs;
  for (const auto& l : req->lines) refs.push_back({l.ref, l.variant_id, l.quantity, l.selected_components});
  ask_agent<product_actor>(
      self, self->state.ctx, "product", product::resolve_items{std::move(refs)},
      [self, req, done](product::resolved_items& r) {
        auto items = std::make_shared<product::resolved_items>(std::move(r));
        std::vector<inventory::stock_line> stock;
        for (size_t i = 0; i < items->items.size(); ++i) stock.push_back({items->items[i].item_id, req->lines[i].quantity, {}});
        ask_agent<inventory_actor>(
            self, self->state.ctx, "inventory", inventory::check_availability{stock},
            [self, req, items, done](inventory::availability_report& rep) {
              std::vector<line_price> prices;
              for (size_t i = 0; i < items->items.size(); ++i)
                prices.push_back({items->items[i].list_price, req->lines[i].quantity});
              money::cents merchandise = 0;
              for (const auto& p : prices) merchandise += p.unit_price * p.quantity;
              auto ship = flat_rate(self->state.shipping, req->shipping_service_level, merchandise);
              const auto& addr = req->shipping_address;
              const auto rate = addr.is_null() ? 0
                                               : pick_tax_rate(self->state.tax_rates, address_country(addr),
                                                               address_region(addr), clock::iso8601_now());
              auto t = price_order(prices, 0, ship->cost, rate);
              nlohmann::json lines = nlohmann::json::array();
              for (size_t i = 0; i < items->items.size(); ++i) {
                const auto& it = items->items[i];
                lines.push_back({{"product_id", it.item_id},
                                 {"sku", it.sku},
                                 {"name", it.name},
                                 {"image_url", it.image_url},
                                 {"unit_price", money::to_json(it.list_price)},
                                 {"quantity", req->lines[i].quantity},
                                 {"line_total", money::to_json(t.lines[i].total_price)},
                                 {"discount", money::to_json(t.lines[i].discount)},
                                 {"tax", money::to_json(t.lines[i].tax)},
                                 {"available", i < rep.lines.size() ? rep.lines[i].available : false}});
              }
              nlohmann::json options = nlohmann::json::array();
              for (const auto& q : flat_rate_options(self->state.shipping, merchandise))
                options.push_back({{"carrier_code", q.carrier_code},
                                   {"service_level", q.service_level},
                                   {"final_cost", money::to_json(q.cost)},
                                   {"estimated_delivery_date",
                                    clock::iso8601(std::chrono::system_clock::now() + std::chrono::hours(24 * q.transit_days))
                                        .substr(0, 10)}});
              nlohmann::json out = {{"lines", lines},
                                    {"subtotal", money::to_json(t.subtotal)},
                                    {"discount", money::to_json(t.discount)},
                                    {"shipping", money::to_json(t.shipping)},
                                    {"shipping_options", options},
                                    {"tax", money::to_json(t.tax)},
                                    {"total", money::to_json(t.total)},
                                    {"currency", store_currency},
                                    {"applied_promotions", nlohmann::json::array()},
                                    {"rejected_codes", nlohmann::json::array()},
                                    {"points_value", 0},
                                    {"store_credit_value", 0}};
              done(nullptr, out);
            },
            [done](const failure& f) { done(&f, nullptr); });
      },
      [done](const failure& f) {
        if (f.kind == failure_kind::unavailable) return done(&f, nullptr);
        auto d = nlohmann::json::parse(f.detail.empty() ? "{}" : f.detail, nullptr, false);
        const int64_t index = d.is_object() ? d.value("index", int64_t{0}) : 0;
        input::issue_list issues{{{"body", "items", std::to_string(index), "product_id"},
                                  f.code == "variant_required" ? "Product has variants; choose a variant" : f.message,
                                  "value_error.not_found"}};
        auto inv = invalid_failure(issues);
        done(&inv, nullptr);
      });
}

}  // namespace

void price_quote(order_self self, const nlohmann::json& body, json_done done) {
  // The tax table is loaded at start: a quote that arrives before it waits for it, as the first
  // order does, so that quote and order price alike.
  if (!self->state.tax_loaded)
    return reload_tax_rates(self, [self, body, done] { quote_with_rates(self, body, done); });
  quote_with_rates(self, body, done);
}

}  // namespace mercato::order
