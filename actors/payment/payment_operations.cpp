// Three-phase money operations (see payment_operations.hpp).
#include "payment/payment_operations.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "mercato/event.hpp"
#include "payment/payment_fsm.hpp"
#include "payment/test_gateway.hpp"
#include "runtime/uuid.hpp"

namespace mercato::payment {
namespace {

using json = nlohmann::json;

failure refuse(failure_kind kind, std::string code, std::string message, std::string detail = {}) {
  return failure{kind, std::move(code), std::move(message), std::move(detail)};
}

operation_result refused(failure f) {
  operation_result r;
  r.refusal = std::move(f);
  return r;
}

payment_amounts amounts_of(const payment_row& p) {
  return payment_amounts{p.status, p.authorized, p.captured, p.refunded, p.capture_final, p.expired};
}

bool pending(const transaction_row& t) {
  return t.status == "pending" || t.status == "processing";
}

std::optional<payment_row> resolve_payment(tx_t& tx, const std::string& payment_id,
                                           const std::string& order_id) {
  if (!payment_id.empty()) return get_payment(tx, payment_id, true);
  if (!order_id.empty()) {
    if (auto p = live_payment_for_order(tx, order_id, true)) return p;
    if (auto p = latest_payment_for_order(tx, order_id)) return get_payment(tx, p->payment_id, true);
  }
  return std::nullopt;
}

bool valid_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

json event_payload(const payment_row& p) {
  return json{{"payment_id", p.payment_id},
              {"order_id", p.order_id.empty() ? json(nullptr) : json(p.order_id)},
              {"customer_id", p.customer_id},
              {"amount", money::to_json(p.amount)},
              {"authorized_amount", money::to_json(p.authorized)},
              {"currency", p.currency},
              {"status", p.status},
              {"gateway_id", p.gateway_id}};
}

}  // namespace

payment_settings payment_settings::from_environment() {
  payment_settings s;
  if (const char* v = std::getenv("MERCATO_PAYMENT_DEFAULT_CARD")) s.default_card = v;
  if (const char* v = std::getenv("MERCATO_PAYMENT_TEST_GATEWAY")) s.test_gateway_enabled = std::string(v) != "0";
  if (const char* v = std::getenv("MERCATO_PAYMENT_AUTH_TTL_SECONDS")) {
    long long ttl = std::atoll(v);
    if (ttl > 0) s.authorization_ttl_seconds = ttl;
  }
  if (const char* v = std::getenv("MERCATO_PAYMENT_FINGERPRINT_SECRET"); v && *v) s.fingerprint_secret = v;
  return s;
}

transaction_row pending_transaction(const payment_row& p, const char* type, money::cents amount,
                                    const std::string& key) {
  transaction_row t;
  t.transaction_id = uuid_v4();
  t.payment_id = p.payment_id;
  t.order_id = p.order_id;
  t.customer_id = p.customer_id;
  t.gateway_id = p.gateway_id;
  t.payment_method_id = p.method_id;
  t.type = type;
  t.status = "pending";
  t.amount = amount;
  t.currency = p.currency;
  t.idempotency_key = key.empty() ? t.transaction_id : key;
  return t;
}

refund_row pending_refund(const payment_row& p, const transaction_row& t, const std::string& type,
                          const std::string& reason) {
  refund_row f;
  f.refund_id = uuid_v4();
  f.transaction_id = t.transaction_id;
  f.payment_id = p.payment_id;
  f.order_id = p.order_id;
  f.customer_id = p.customer_id;
  f.refund_type = type;
  f.refund_reason = reason;
  f.amount = t.amount;
  f.currency = p.currency;
  f.status = "pending";
  return f;
}

failure declined_failure(const transaction_row& t) {
  json detail{{"error_code", t.error_code}, {"message", t.error_message}};
  if (t.error_code == "GATEWAY_UNAVAILABLE")
    return refuse(failure_kind::unavailable, "gateway_unavailable", t.error_message, detail.dump());
  if (t.error_code == "FRAUD_BLOCKED")
    return refuse(failure_kind::conflict, "fraud_blocked", t.error_message, detail.dump());
  return refuse(failure_kind::conflict, "declined",
                t.error_message.empty() ? "Payment declined" : t.error_message, detail.dump());
}

// ---------------------------------------------------------------- gateway registry

gateway_registry::gateway_registry(payment_settings settings, stripe_settings stripe)
    : settings_(std::move(settings)), stripe_(std::move(stripe)) {}

std::vector<gateway_row> gateway_registry::rows(tx_t& tx) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (rows_.empty()) rows_ = load_gateways(tx);
  return rows_;
}

std::optional<gateway_row> gateway_registry::row(tx_t& tx, int gateway_id) {
  for (auto& g : rows(tx))
    if (g.gateway_id == gateway_id) return g;
  return std::nullopt;
}

payment_gateway* gateway_registry::adapter(const gateway_row& g) {
  if (g.adapter == "test") return &shared_test_gateway();
  if (g.adapter == "stripe") return &stripe_;
  return nullptr;
}

bool gateway_registry::configured(const gateway_row& g) const {
  if (g.adapter == "test") return settings_.test_gateway_enabled;
  if (g.adapter == "stripe") return stripe_.configured();
  return true;
}

int gateway_registry::default_gateway_id() const {
  return settings_.test_gateway_enabled || !stripe_.configured() ? 1 : 2;
}

// ---------------------------------------------------------------- phase 1 of each operation

namespace {

// What a new authorization would stage: the payment, its first transaction and their gateway.
struct authorization_plan {
  payment_row payment;
  transaction_row transaction;
  gateway_row gateway;
};

// The plan for `in` (its method, gateway and limits checked; reads only), or why it is refused.
std::variant<authorization_plan, failure> plan_authorization(tx_t& tx, gateway_registry& gateways,
                                                             const authorize_input& in) {
  if (in.amount <= 0) return refuse(failure_kind::invalid, "invalid", "Cannot process zero amount payment.");
  std::string token = in.token, method_id = in.method_id;
  int gateway_id = in.gateway_id;
  if (!method_id.empty()) {
    auto m = valid_uuid(method_id) ? find_method(tx, method_id) : std::nullopt;
    if (!m || m->customer_id != in.customer_id)
      return refuse(failure_kind::invalid, "payment_method_not_found", "Payment method not found");
    token = m->gateway_token;
    if (gateway_id == 0) gateway_id = m->gateway_id;
    if (gateway_id != m->gateway_id)
      return refuse(failure_kind::invalid, "invalid", "The payment method belongs to another gateway");
  } else if (token.empty()) {
    if (auto m = default_method(tx, in.customer_id)) {
      method_id = m->method_id;
      token = m->gateway_token;
      if (gateway_id == 0) gateway_id = m->gateway_id;
    } else if (!gateways.settings().default_card.empty() && gateways.settings().test_gateway_enabled &&
               (gateway_id == 0 || gateway_id == 1)) {
      token = make_test_token(behaviour_of_card(gateways.settings().default_card));
      gateway_id = 1;
    } else {
      return refuse(failure_kind::invalid, "no_payment_method",
                    "payment_method_id, card details or payment_token required");
    }
  }
  if (gateway_id == 0) gateway_id = gateways.default_gateway_id();
  auto g = gateways.row(tx, gateway_id);
  if (!g) return refuse(failure_kind::invalid, "invalid", "Payment gateway not found");
  if (g->adapter == "external")
    return refuse(failure_kind::invalid, "invalid", "The External gateway only records payments collected elsewhere");
  if (!gateways.configured(*g))
    return refuse(failure_kind::unavailable, "gateway_not_configured",
                  fmt::format("Payment gateway '{}' is not configured", g->gateway_name));
  if (!g->is_active)
    return refuse(failure_kind::invalid, "invalid", fmt::format("Payment gateway '{}' is not active", g->gateway_name));
  if (in.amount < g->min_amount)
    return refuse(failure_kind::invalid, "invalid",
                  fmt::format("Amount is below the gateway minimum ({})", money::format(g->min_amount)));
  if (in.amount > g->max_amount)
    return refuse(failure_kind::invalid, "invalid",
                  fmt::format("Amount exceeds the gateway maximum ({})", money::format(g->max_amount)));
  if (std::find(g->currencies.begin(), g->currencies.end(), in.currency) == g->currencies.end())
    return refuse(failure_kind::invalid, "invalid",
                  fmt::format("Currency {} is not supported by gateway '{}'", in.currency, g->gateway_name));
  authorization_plan plan;
  plan.gateway = *g;
  payment_row& p = plan.payment;
  p.payment_id = uuid_v4();
  p.order_id = in.order_id;
  p.customer_id = in.customer_id;
  p.gateway_id = gateway_id;
  p.method_id = method_id;
  p.instrument_token = token;
  p.currency = in.currency;
  p.status = "pending";
  p.version = new_payment_version;  // as the staging insert writes it (every other column: its default)
  p.amount = in.amount;
  p.risk_score = in.risk_score;
  p.risk_level = in.risk_level;
  transaction_row& t = plan.transaction;
  t = pending_transaction(p, in.capture ? "sale" : "authorize", in.amount, in.key);
  t.risk_score = in.risk_score;
  t.risk_level = in.risk_level;
  return plan;
}

// The answer an authorization gets when fraud screening blocked its order: declined, never sent.
gateway_result fraud_blocked_answer() {
  gateway_result blocked;
  blocked.result = gateway_result::outcome::declined;
  blocked.error_code = "FRAUD_BLOCKED";
  blocked.message = "Payment blocked by fraud screening";
  return blocked;
}

// The result of a phase 3 written in one statement (store::complete_if_unchanged).
operation_result completed_result(optimistic_completion written, const gateway_result& r) {
  operation_result out;
  out.transaction = std::move(written.transaction);
  out.has_transaction = true;
  out.payment = std::move(written.payment);
  out.wrote_events = true;
  if (!r.approved()) out.refusal = declined_failure(out.transaction);
  return out;
}

}  // namespace

operation_result payment_operations::authorize(pqxx::connection& c, const authorize_input& in) {
  std::optional<transaction_row> staged;
  bool fresh = false;  // staged by this call (else: an earlier attempt with the same key)
  std::optional<staged_rows> rows;  // what a fresh staging wrote and read
  {
    // No BEGIN/COMMIT: apart from reads, the only write is the staging statement, atomic on its
    // own, which also finds an earlier attempt with the key (so a fresh order costs one round trip).
    pqxx::nontransaction tx{c};
    std::optional<transaction_row> earlier;  // the order's authorization under the same key
    auto plan = plan_authorization(tx, *gateways_, in);
    if (auto* refusal = std::get_if<failure>(&plan)) {
      // A repeated key answers with its stored result even if the request would be refused now.
      if (!in.order_id.empty()) earlier = authorization_by_key(tx, in.order_id, in.key);
      if (!earlier) return refused(std::move(*refusal));
    } else {
      auto& s = std::get<authorization_plan>(plan);
      auto staging = insert_payment_with_transaction(tx, s.payment, s.transaction, true);
      if (staging.inserted) {
        staged = s.transaction;
        fresh = true;
        rows = staged_rows{s.payment, s.gateway};
      } else if (staging.earlier) {
        earlier = staging.earlier;
      } else {
        // The order's live slot is taken: maybe by a concurrent request with the same key that
        // committed after the statement's snapshot, which a new look-up sees.
        if (!in.order_id.empty()) earlier = authorization_by_key(tx, in.order_id, in.key);
        if (!earlier)
          return refused(refuse(failure_kind::conflict, "payment_exists", "Order already has a live payment"));
      }
    }
    if (earlier) {
      if (!pending(*earlier)) return stored(tx, *earlier);
      staged = earlier;
    }
  }
  if (in.fraud_blocked && fresh)  // an earlier send may have acted: never fail it here
    return apply(c, *staged, fraud_blocked_answer(), &rows->payment);
  return send_and_apply(c, *staged, !fresh, rows ? &*rows : nullptr);
}

std::vector<std::optional<operation_result>> payment_operations::authorize_all(
    pqxx::connection& c, const std::vector<authorize_input>& ins) {
  std::vector<std::optional<operation_result>> out(ins.size());
  struct shared {
    size_t input;
    authorization_plan plan;
    payment_gateway* gateway;
  };
  std::vector<shared> staged;
  {
    pqxx::nontransaction tx{c};  // reads and one autocommit statement, as in authorize()
    std::set<std::string> orders;
    for (size_t i = 0; i < ins.size(); ++i) {
      auto plan = plan_authorization(tx, *gateways_, ins[i]);
      auto* s = std::get_if<authorization_plan>(&plan);
      payment_gateway* gw = s ? gateways_->adapter(s->gateway) : nullptr;
      // A refusal, a PSP over the network, an order met twice, an authorization without an order
      // (no key look-up by order): left to authorize(), which answers each the usual way.
      if (s && gw && gw->in_process() && !ins[i].order_id.empty() && orders.insert(ins[i].order_id).second)
        staged.push_back({i, std::move(*s), gw});
    }
    if (!staged.empty()) {
      std::vector<staged_authorization> items;
      items.reserve(staged.size());
      for (const auto& s : staged) items.push_back({s.plan.payment, s.plan.transaction});
      const auto staging = stage_authorizations(tx, items, true);
      // Not inserted: a repeated key or a live payment of the order, which authorize() answers.
      std::vector<shared> inserted;
      for (size_t k = 0; k < staged.size(); ++k)
        if (staging[k].inserted) inserted.push_back(std::move(staged[k]));
      staged.swap(inserted);
    }
  }

  // Phase 2, in this job: the gateway answers from this process. Phase 3: one statement for every
  // decided answer; an unknown outcome, or a payment changed meanwhile (a retry of the key), is
  // applied alone by apply().
  std::vector<gateway_result> answers(staged.size());
  std::vector<db::outbox_rows> events(staged.size());  // sized up front: completions point into it
  std::vector<completion> completions;
  std::vector<size_t> completion_of;  // the staged index of each completion
  for (size_t k = 0; k < staged.size(); ++k) {
    const auto& s = staged[k];
    const transaction_row& t = s.plan.transaction;
    answers[k] = ins[s.input].fraud_blocked
                     ? fraud_blocked_answer()
                     : s.gateway->authorize(t.amount, t.currency, s.plan.payment.instrument_token,
                                            t.type == "sale", t.transaction_id);
    if (answers[k].result == gateway_result::outcome::outcome_unknown) continue;
    const transaction_row done = completed_transaction(t, answers[k], s.plan.gateway);
    outcome o = plan_outcome(s.plan.payment, done, answers[k], nullptr);
    events[k] = std::move(o.events);
    completions.push_back(
        completion{done, s.plan.payment.version, o.next, o.changed, o.ttl_seconds, o.audit, &events[k]});
    completion_of.push_back(k);
  }
  std::vector<std::optional<optimistic_completion>> written(staged.size());
  if (!completions.empty()) {
    pqxx::nontransaction tx{c};  // one statement, atomic on its own
    auto w = complete_all_if_unchanged(tx, completions, outbox_);
    for (size_t m = 0; m < w.size(); ++m) written[completion_of[m]] = std::move(w[m]);
  }
  for (size_t k = 0; k < staged.size(); ++k)
    out[staged[k].input] = written[k] ? completed_result(std::move(*written[k]), answers[k])
                                      : apply(c, staged[k].plan.transaction, answers[k]);
  return out;
}

// A repeated idempotency key: the stored result, or the still-pending operation re-sent with the
// same gateway key. nullopt when the key is new (or empty).
std::optional<operation_result> payment_operations::replay_by_key(pqxx::connection& c, tx_t& tx,
                                                                  const std::string& payment_id,
                                                                  const std::string& key,
                                                                  std::string_view type) {
  if (key.empty()) return std::nullopt;
  auto e = transaction_by_key(tx, payment_id, key);
  if (!e) return std::nullopt;
  if (e->type != type)
    return refused(refuse(failure_kind::invalid, "invalid", "Idempotency key already used for another operation"));
  if (!pending(*e)) return stored(tx, *e);
  tx.commit();
  return send_and_apply(c, *e, true);
}

template <class Plan, class Finish>
operation_result payment_operations::stage_and_send(pqxx::connection& c, const std::string& payment_id,
                                                    const std::string& order_id, const std::string& key,
                                                    std::string_view type, Plan plan, Finish finish) {
  transaction_row t;
  {
    pqxx::work tx{c};
    if (!payment_id.empty() && !valid_uuid(payment_id))
      return refused(refuse(failure_kind::not_found, "not_found", "Payment not found"));
    auto p = resolve_payment(tx, payment_id, order_id);
    if (!p) return refused(refuse(failure_kind::not_found, "not_found", "Payment not found"));
    if (auto replay = replay_by_key(c, tx, p->payment_id, key, type)) return std::move(*replay);
    std::variant<transaction_row, failure> planned = plan(*p);
    if (auto* refusal = std::get_if<failure>(&planned)) return refused(std::move(*refusal));
    t = std::get<transaction_row>(std::move(planned));
    if (!insert_transaction(tx, t))
      return refused(refuse(failure_kind::conflict, "operation_in_progress",
                            "Another operation is in progress on this payment"));
    std::optional<operation_result> done = finish(tx, *p, t);
    tx.commit();
    if (done) return std::move(*done);
  }
  return send_and_apply(c, t);
}

namespace {
// stage_and_send's `finish` for operations that always go to the gateway.
std::optional<operation_result> to_gateway(pqxx::work&, const payment_row&, const transaction_row&) {
  return std::nullopt;
}
}  // namespace

operation_result payment_operations::capture(pqxx::connection& c, const capture_input& in) {
  auto plan = [&](const payment_row& p) -> std::variant<transaction_row, failure> {
    auto a = amounts_of(p);
    const money::cents remaining = capturable_remaining(a);
    money::cents amount = in.amount > 0 ? in.amount : remaining;
    if (in.whole_if_single_capture && !p.multicapture) amount = remaining;
    if (auto r = check_capture(a, amount)) return refuse(failure_kind::conflict, r->code, r->message);
    transaction_row t = pending_transaction(p, "capture", amount, in.key);
    // A partial capture leaves the rest open only where the PSP takes several captures of the
    // authorization (multicapture); elsewhere it is the last one: the PSP releases the rest, and
    // so does the payment (captured, capture_final) instead of showing a remainder it cannot take.
    t.capture_final = in.final || amount == remaining || !p.multicapture;
    return t;
  };
  return stage_and_send(c, in.payment_id, in.order_id, in.key, "capture", plan, to_gateway);
}

operation_result payment_operations::cancel_authorization(pqxx::connection& c, const void_input& in) {
  auto plan = [&](const payment_row& p) -> std::variant<transaction_row, failure> {
    if (auto r = check_void(amounts_of(p))) return refuse(failure_kind::conflict, r->code, r->message);
    return pending_transaction(p, "void", p.authorized - p.captured, in.key);
  };
  return stage_and_send(c, in.payment_id, in.order_id, in.key, "void", plan, to_gateway);
}

operation_result payment_operations::refund(pqxx::connection& c, const refund_input& in) {
  std::string type, reason;
  auto plan = [&](const payment_row& p) -> std::variant<transaction_row, failure> {
    auto a = amounts_of(p);
    money::cents refundable = refundable_amount(a);
    money::cents amount = in.amount > 0 ? in.amount : refundable;
    if (auto r = check_refund(a, amount)) return refuse(failure_kind::conflict, r->code, r->message);
    type = in.refund_type;
    if (type.empty()) type = amount == refundable ? "full" : "partial";
    if (type == "full" && amount != refundable)
      return refuse(failure_kind::invalid, "invalid",
                    fmt::format("A full refund must be the refundable amount ({})", money::format(refundable)));
    reason = in.reason == "return" ? "item_returned" : in.reason;
    if (reason.empty()) reason = "other";
    return pending_transaction(p, "refund", amount, in.key);
  };
  auto finish = [&](pqxx::work& tx, const payment_row& p, const transaction_row& t) -> std::optional<operation_result> {
    refund_row f = pending_refund(p, t, type, reason);
    f.notes = in.notes;
    f.requested_by = in.requested_by;
    insert_refund(tx, f);
    // No gateway call: a chargeback was already taken by the bank; an External payment is
    // refunded by the channel that collected it. Both complete in this transaction.
    auto g = gateways_->row(tx, p.gateway_id);
    if (type != "chargeback" && g && g->adapter != "external") return std::nullopt;
    gateway_result done;
    done.result = gateway_result::outcome::approved;
    return apply_in(tx, t, done);
  };
  return stage_and_send(c, in.payment_id, in.order_id, in.key, "refund", plan, finish);
}

cancel_result payment_operations::cancel_order(pqxx::connection& c, const std::string& order_id,
                                               money::cents refund_amount, const std::string& key) {
  cancel_result out;
  std::optional<payment_row> p;
  {
    pqxx::work tx{c};
    p = live_payment_for_order(tx, order_id);
    if (!p) {
      if (auto last = latest_payment_for_order(tx, order_id)) {
        out.has_payment = true;
        out.result.payment = *last;
      }
      return out;
    }
  }
  out.has_payment = true;
  std::string base = key.empty() ? "cancel-" + order_id : key;
  if (p->status == "pending") {
    out.result.refusal = refuse(failure_kind::unavailable, "outcome_unknown",
                                "The payment's outcome is not known yet; retry later");
    out.result.payment = *p;
    return out;
  }
  if (p->status == "authorized" || p->status == "partially_captured") {
    out.action = "void";
    out.result = cancel_authorization(c, void_input{p->payment_id, {}, base + ":void"});
    if (out.result.refusal || p->status == "authorized") return out;
    p = out.result.payment;
  }
  money::cents refundable = p->captured - p->refunded;
  money::cents amount = refund_amount >= 0 ? std::min(refund_amount, refundable) : refundable;
  if (amount <= 0) {
    if (out.action != "void") out.result.payment = *p;
    return out;
  }
  out.action = "refund";
  refund_input r;
  r.payment_id = p->payment_id;
  r.amount = amount;
  r.reason = "order_cancelled";
  r.key = base + ":refund";
  r.requested_by = "order";
  out.result = refund(c, r);
  return out;
}

operation_result payment_operations::record_external(pqxx::connection& c, const external_input& in) {
  pqxx::work tx{c};
  if (auto last = latest_payment_for_order(tx, in.order_id)) {
    auto g = gateways_->row(tx, last->gateway_id);
    if (g && g->adapter == "external") {  // idempotent by order_id
      operation_result r;
      r.payment = *last;
      r.replayed = true;
      auto ts = transactions_of(tx, last->payment_id);
      if (!ts.empty()) {
        r.transaction = ts.front();
        r.has_transaction = true;
      }
      return r;
    }
  }
  payment_row p;
  p.payment_id = uuid_v4();
  p.order_id = in.order_id;
  p.customer_id = in.customer_id;
  p.gateway_id = 3;
  p.instrument_token = in.reference;
  p.currency = in.currency;
  p.status = "pending";
  p.amount = in.amount;
  p.source = in.source;
  transaction_row t = pending_transaction(p, "sale", in.amount, "external:" + in.order_id);
  if (!insert_payment_with_transaction(tx, p, t, false).inserted)
    return refused(refuse(failure_kind::conflict, "payment_exists", "Order already has a live payment"));
  gateway_result done;
  done.result = gateway_result::outcome::approved;
  done.reference = in.reference;
  auto r = apply_in(tx, t, done);
  tx.commit();
  return r;
}

operation_result payment_operations::resume(pqxx::connection& c, const std::string& transaction_id,
                                            bool give_up) {
  std::optional<transaction_row> t;
  {
    pqxx::read_transaction tx{c};
    t = get_transaction(tx, transaction_id);
  }
  if (!t) return refused(refuse(failure_kind::not_found, "not_found", "Transaction not found"));
  if (!pending(*t)) {
    pqxx::read_transaction tx{c};
    return stored(tx, *t);
  }
  if (give_up) {
    gateway_result r;
    r.result = gateway_result::outcome::declined;
    r.error_code = "GATEWAY_TIMEOUT";
    r.message = "No answer from the payment gateway within 24 hours";
    return apply(c, *t, r);
  }
  std::optional<staged_rows> rows;
  {
    pqxx::nontransaction tx{c};  // reads only
    auto p = get_payment(tx, t->payment_id);
    auto g = gateways_->row(tx, t->gateway_id);
    if (p && g) rows = staged_rows{*p, *g};
  }
  if (payment_gateway* gw = rows ? gateways_->adapter(rows->gateway) : nullptr) {
    pending_operation op;
    op.type = t->type;
    // An authorization's PSP id is on its transaction when an undecided answer brought one
    // (remember_pending_reference); every later operation acts on the payment's.
    const bool authorization = t->type == "authorize" || t->type == "sale";
    op.reference = authorization ? t->gateway_transaction_id : rows->payment.gateway_reference;
    op.idempotency_key = t->transaction_id;
    op.amount = t->amount;
    op.captured_before = rows->payment.captured;
    gateway_result found = gw->lookup(op);
    if (found.decided()) return apply(c, *t, found);
    if (found.result == gateway_result::outcome::unavailable) {  // a re-send could not get through either
      found.result = gateway_result::outcome::outcome_unknown;
      return apply(c, *t, found);
    }
  }
  return send_and_apply(c, *t, true, rows ? &*rows : nullptr);
}

int64_t payment_operations::expire_authorizations(pqxx::connection& c, int64_t limit) {
  pqxx::work tx{c};
  auto ids = expired_authorizations(tx, limit);
  for (const auto& id : ids) {
    auto p = get_payment(tx, id, true);
    if (!p) continue;
    payment_row next = *p;
    // A partly captured authorization keeps what was captured; the rest is released.
    next.status = p->captured > 0 ? "captured" : "expired";
    next.capture_final = true;
    const money::cents released = p->authorized - p->captured;
    json payload = event_payload(next);
    payload["released_amount"] = money::to_json(released);
    db::outbox_rows events;
    events.add(make_event("payment", "payment_expired", payload.dump(),
                          next.order_id.empty() ? id : next.order_id),
               id);
    record_outcome(tx, next, true, 0, audit_entry{"expire", p->status, released, "sweeper"}, outbox_, events);
  }
  tx.commit();
  return static_cast<int64_t>(ids.size());
}

// ---------------------------------------------------------------- phases 2 and 3

operation_result payment_operations::send_and_apply(pqxx::connection& c, const transaction_row& t,
                                                    bool resend, const staged_rows* staged) {
  std::optional<payment_row> p;
  std::optional<gateway_row> g;
  if (staged) {
    p = staged->payment;
    g = staged->gateway;
  } else {
    pqxx::nontransaction tx{c};  // reads only: BEGIN/COMMIT would add nothing at read committed
    p = get_payment(tx, t.payment_id);
    g = gateways_->row(tx, t.gateway_id);
  }
  gateway_result r;
  payment_gateway* gw = g ? gateways_->adapter(*g) : nullptr;
  if (!gw) {
    r.result = gateway_result::outcome::approved;  // external: nothing to send
  } else if (t.type == "authorize" || t.type == "sale") {
    r = gw->authorize(t.amount, t.currency, p->instrument_token, t.type == "sale", t.transaction_id);
  } else if (t.type == "capture") {
    r = gw->capture(p->gateway_reference, t.amount, t.capture_final, t.transaction_id);
  } else if (t.type == "void") {
    r = gw->cancel(p->gateway_reference, t.transaction_id);
  } else {
    r = gw->refund(p->gateway_reference, t.amount, t.transaction_id);
  }
  // A re-send that could not reach the PSP says nothing about the first send, which may have
  // acted: the outcome stays unknown (never a definite failure of money that may have moved).
  if (resend && r.result == gateway_result::outcome::unavailable) r.result = gateway_result::outcome::outcome_unknown;
  return apply(c, t, r, p ? &*p : nullptr);
}

operation_result payment_operations::apply(pqxx::connection& c, const transaction_row& t,
                                           const gateway_result& r, const payment_row* known) {
  if (r.result == gateway_result::outcome::outcome_unknown) {
    pqxx::nontransaction tx{c};  // reads, and at most one autocommit write
    // The PSP's id that came with an undecided answer (Stripe: an intent still processing) is
    // where reconciliation looks the operation up.
    const bool authorization = t.type == "authorize" || t.type == "sale";
    if (authorization && !r.reference.empty() && r.reference != t.gateway_transaction_id)
      remember_pending_reference(tx, t.transaction_id, r.reference);
    operation_result out = stored(tx, t);
    out.outcome_unknown = true;
    out.refusal = refuse(failure_kind::unavailable, "outcome_unknown",
                         "The payment gateway did not answer; the outcome is unknown. Retry with "
                         "the same idempotency key.");
    return out;
  }
  if (known && t.type != "refund")
    if (auto done = apply_if_unchanged(c, t, r, *known)) return std::move(*done);
  pqxx::work tx{c};
  auto out = apply_in(tx, t, r);
  tx.commit();
  return out;
}

std::optional<operation_result> payment_operations::apply_if_unchanged(pqxx::connection& c,
                                                                       const transaction_row& t,
                                                                       const gateway_result& r,
                                                                       const payment_row& known) {
  pqxx::nontransaction tx{c};  // one statement, atomic on its own
  const transaction_row done = completed_transaction(t, r, gateways_->row(tx, t.gateway_id));
  outcome o = plan_outcome(known, done, r, nullptr);
  auto written = complete_if_unchanged(tx, done, known.version, o.next, o.changed, o.ttl_seconds, o.audit,
                                       outbox_, o.events);
  if (!written) return std::nullopt;
  return completed_result(std::move(*written), r);
}

// Two statements (plus the refund row's two for a refund): lock the payment and complete `t`,
// then write the payment, its audit row and the events.
operation_result payment_operations::apply_in(pqxx::work& tx, transaction_row t, const gateway_result& r) {
  const auto g = gateways_->row(tx, t.gateway_id);  // the payment's (its transactions are staged on it)
  t = completed_transaction(std::move(t), r, g);
  auto locked = lock_and_complete(tx, t);
  if (!locked.payment) return refused(refuse(failure_kind::not_found, "not_found", "Payment not found"));
  if (!locked.completed) {  // applied meanwhile by a concurrent retry of the same key
    auto now = get_transaction(tx, t.transaction_id);
    return stored(tx, *now);
  }
  const payment_row& p = *locked.payment;
  t = *locked.completed;

  operation_result out;
  out.transaction = t;
  out.has_transaction = true;
  if (t.type == "refund") {
    if (auto f = refund_by_transaction(tx, t.transaction_id)) {
      f->status = r.approved() ? "completed" : "failed";
      f->gateway_refund_id = r.approved() ? r.reference : "";
      f->error_code = t.error_code;
      f->error_message = t.error_message;
      out.refund = update_refund(tx, *f);
    }
  }
  outcome o = plan_outcome(p, t, r, out.refund ? &*out.refund : nullptr);
  out.payment = record_outcome(tx, o.next, o.changed, o.ttl_seconds, o.audit, outbox_, o.events);
  out.wrote_events = true;
  if (!r.approved()) out.refusal = declined_failure(t);
  return out;
}

transaction_row payment_operations::completed_transaction(transaction_row t, const gateway_result& r,
                                                          const std::optional<gateway_row>& g) const {
  const bool ok = r.approved();
  t.status = ok ? "completed" : "failed";
  if (ok) {
    t.gateway_transaction_id = r.reference;
    t.authorization_code = r.auth_code;
    if ((t.type == "capture" || t.type == "sale") && g)
      t.fee = transaction_fee(t.amount, g->fee_percent_e2, g->fee_fixed);
    t.net = t.amount - t.fee;
    // The PSP closed the authorization with this capture (asked or not): it is the last one.
    if (t.type == "capture" && r.closed) t.capture_final = true;
  } else {
    t.error_code = r.result == gateway_result::outcome::unavailable ? "GATEWAY_UNAVAILABLE" : r.error_code;
    t.error_message = r.message;
  }
  return t;
}

payment_operations::outcome payment_operations::plan_outcome(const payment_row& p, const transaction_row& t,
                                                             const gateway_result& r,
                                                             const refund_row* refund) const {
  const bool ok = r.approved();
  outcome o;
  payment_row& next = o.next;
  next = p;
  auto a = amounts_of(p);
  if (t.type == "authorize" || t.type == "sale") {
    if (ok) {
      next.authorized = t.amount;
      next.authorization_code = r.auth_code;
      next.gateway_reference = r.reference;
      if (r.multicapture) next.multicapture = *r.multicapture;
      if (t.type == "sale") {
        next.status = "captured";
        next.captured = t.amount;
        next.fee = t.fee;
        next.capture_final = true;
      } else {
        next.status = "authorized";
        o.ttl_seconds = static_cast<int>(gateways_->settings().authorization_ttl_seconds);
      }
    } else {
      next.status = "failed";
    }
  } else if (t.type == "capture" && ok) {
    next.status = status_after_capture(a, t.amount, t.capture_final);
    next.captured += t.amount;
    next.fee += t.fee;
    next.capture_final = next.status == "captured";
  } else if (t.type == "void" && ok) {
    next.status = status_after_void(a);
    next.capture_final = true;
  } else if (t.type == "refund" && ok) {
    next.status = status_after_refund(a, t.amount);
    next.refunded += t.amount;
  }
  o.changed = next.status != p.status || next.captured != p.captured ||
              next.refunded != p.refunded || next.capture_final != p.capture_final ||
              next.authorized != p.authorized || next.multicapture != p.multicapture;
  o.audit = audit_entry{t.type + (ok ? "" : "_failed"), p.status, t.amount};

  // The events are written with the payment; their payloads carry only what `next` already holds.
  json base = event_payload(next);
  base["transaction_id"] = t.transaction_id;
  auto emit = [&](const char* name, const json& payload) {
    o.events.add(make_event("payment", name, payload.dump(),
                            next.order_id.empty() ? next.payment_id : next.order_id),
                 next.payment_id);
  };
  if (t.type == "refund") {
    if (refund) {
      json rp = base;
      rp["refund_id"] = refund->refund_id;
      rp["refund_amount"] = money::to_json(t.amount);
      rp["refunded_amount"] = money::to_json(next.refunded);
      rp["reason"] = refund->refund_reason;
      rp["refund_type"] = refund->refund_type;
      json done{{"refund_id", refund->refund_id},  {"payment_id", next.payment_id},
                {"order_id", next.order_id},       {"idempotency_key", t.idempotency_key},
                {"status", refund->status},        {"amount", money::to_json(t.amount)},
                {"error_code", ok ? json(nullptr) : json(t.error_code)}};
      if (ok) emit("payment_refunded", rp);
      else {
        rp["error_code"] = t.error_code;
        rp["error_message"] = t.error_message;
        emit("refund_failed", rp);
      }
      emit("refund_completed", done);
    }
  } else if (ok) {
    json e = base;
    if (t.type == "authorize") emit("payment_authorized", e);
    if (t.type == "sale") {
      emit("payment_authorized", e);
      e["captured_amount"] = money::to_json(next.captured);
      e["final"] = true;
      emit("payment_captured", e);
    }
    if (t.type == "capture") {
      e["captured_amount"] = money::to_json(next.captured);
      e["capture_amount"] = money::to_json(t.amount);
      e["final"] = next.capture_final;
      // A final capture below the authorization released the rest (asked, or the PSP takes
      // only one capture): nothing more can be captured on this payment.
      if (next.capture_final && next.authorized > next.captured)
        e["released_amount"] = money::to_json(next.authorized - next.captured);
      emit("payment_captured", e);
    }
    if (t.type == "void") {
      e["released_amount"] = money::to_json(t.amount);
      emit("payment_voided", e);
    }
  } else {
    json e = base;
    e["operation"] = t.type;
    e["error_code"] = t.error_code;
    e["error_message"] = t.error_message;
    emit("payment_failed", e);
  }
  if (!ok && t.error_code == "GATEWAY_TIMEOUT") {  // reconciliation gave up after 24 h: alert
    json alert = base;
    alert["operation"] = t.type;
    alert["pending_since"] = t.initiated_at;
    alert["reason"] = "No answer from the payment gateway within 24 hours; check the PSP by hand";
    emit("reconciliation_alert", alert);
  }
  return o;
}

operation_result payment_operations::stored(tx_t& tx, const transaction_row& t) {
  operation_result out;
  out.replayed = true;
  out.has_transaction = true;
  out.transaction = t;
  if (auto p = get_payment(tx, t.payment_id)) out.payment = *p;
  if (t.type == "refund") out.refund = refund_by_transaction(tx, t.transaction_id);
  if (t.status == "failed") out.refusal = declined_failure(t);
  if (pending(t)) {
    out.outcome_unknown = true;
    out.refusal = refuse(failure_kind::unavailable, "outcome_unknown",
                         "The payment's outcome is not known yet; retry with the same key");
  }
  return out;
}

}  // namespace mercato::payment
