// The place-order saga (agents/8000-order.md "Place-order saga") from the written order on
// (placement.cpp writes it): fraud → reserve → points/credit → (review) → authorize → confirm
// reservations and ONE statement at the end, shared with the confirmations that meet it; or
// compensation in reverse. Every step is idempotent at its receiver (keyed by the order), so a
// retry or a restarted agent simply re-runs the saga from its last persisted point. Also the
// resumptions: the saga driver's, a review decision, a payment for a waiting order.
#include <fmt/format.h>

#include "customer/customer_messages.hpp"
#include "db/outbox.hpp"
#include "fraud_detection/fraud_messages.hpp"
#include "log/log.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_view.hpp"
#include "order/timeline.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"

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

// A run whose retry is due while its callers still wait keeps them: it is parked in
// state.retrying, and the saga driver's resumption (scheduled for when the retry is due) takes it
// back, so that they hear the retried saga's outcome (a confirmed order after an agent's crash,
// say) instead of the pending order of the failed step. Each caller's own place_wait timer still
// answers it, with the order as it is, if the retry is late.
bool park_for_retry(order_self self, const run_ptr& run, std::chrono::milliseconds delay) {
  if (run->aborted || run->waiters.empty() || std::chrono::steady_clock::now() + delay >= run->answer_by) return false;
  auto& st = self->state;
  st.awaiting_payment.erase(run->order.order_id);
  auto it = st.runs.find(run->order.order_id);
  if (it != st.runs.end() && it->second == run) st.runs.erase(it);
  st.retrying[run->order.order_id] = run;
  scan_sagas_after(self, delay);
  return true;
}

// A transient failure: persist the point reached and let the saga driver retry after a backoff.
void retry_later(order_self self, run_ptr run, const std::string& step, const failure& f) {
  if (stopped(self, run)) return;
  log_step(run, step, run->order.order_id + ":" + step, nullptr, "failed", f.message);
  const int64_t attempts = run->attempts + 1;
  const bool give_up = attempts >= self->state.saga_max_attempts;
  const int64_t delay_ms = retry_delay_ms(attempts, f, self->state.retry_after_agent_stop_ms);
  auto steps = std::move(run->steps);
  run->steps.clear();
  const auto ctx = to_json(run->c);
  const std::string state = !run->c.cancel_reason.empty() ? "compensating" : "running";
  const order_record o = run->order;
  record_saga(
      self, run->saga_id, attempts,
      [saga = run->saga_id, step, f, attempts, delay_ms, give_up, steps, ctx, state, o](pqxx::work& tx) {
        saga_update u;
        u.state = give_up ? "failed" : state;
        u.current_step = step;
        u.attempts = attempts;
        u.delay_ms = delay_ms;
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
      [self, run, give_up, delay_ms](bool recorded) {
        if (give_up) self->state.ctx.relay->wake(self->state.ctx.spec->schema);
        if (!give_up && recorded && park_for_retry(self, run, std::chrono::milliseconds(delay_ms))) return;
        settle(self, run);
      });
}

void send_confirmations(order_self self, std::vector<pending_confirmation> batch);

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
          self->state.confirmations.finished([self](auto next) { send_confirmations(self, std::move(next)); });
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

// The run a retry resumes: the one parked with its callers (park_for_retry), or a new one.
run_ptr take_parked_run(order_self self, const std::string& order_id) {
  auto it = self->state.retrying.find(order_id);
  if (it == self->state.retrying.end()) return std::make_shared<place_run>();
  auto run = std::move(it->second);
  self->state.retrying.erase(it);
  run->steps.clear();
  return run;
}

// Chooses where a (new or resumed) run continues.
void drive(order_self self, run_ptr run) {
  if (!run->c.cancel_reason.empty()) return compensate(self, run, run->c.cancel_reason);
  step_fraud(self, run);
}


}  // namespace

void start_place_saga(order_self self, std::shared_ptr<place_run> run) { drive(self, std::move(run)); }

std::shared_ptr<place_run> find_run(order_self self, const std::string& order_id) {
  auto& st = self->state;
  if (auto it = st.runs.find(order_id); it != st.runs.end()) return it->second;
  if (auto it = st.retrying.find(order_id); it != st.retrying.end()) return it->second;
  return nullptr;
}

void resume_place_saga(order_self self, const saga_row& saga) {
  if (self->state.runs.count(saga.order_id)) return;
  db_transact<std::optional<order_record>>(
      self, *self->state.ctx.database, [id = saga.order_id](pqxx::work& tx) { return load_order(tx, id); },
      [self, saga](db::outcome<std::optional<order_record>> r) {
        if (!r.ok() || !*r.value || self->state.runs.count(saga.order_id)) return;
        auto run = take_parked_run(self, saga.order_id);
        run->saga_id = saga.saga_id;
        run->order = std::move(**r.value);
        run->c = place_context_from_json(saga.context);
        run->attempts = saga.step_attempts;
        self->state.runs[run->order.order_id] = run;
        if (run->order.status != "pending") {  // settled elsewhere (cancel saga, PATCH status): close it
          self->state.runs.erase(run->order.order_id);
          answer_waiters(run);
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
          return ask_agent_resending<payment_actor>(
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
              ask_agent_resending<payment_actor>(
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

}  // namespace mercato::order
