// The payment REST table (agents/8004-payment.md "REST"): JSON ⇄ the same operations the typed
// messages run. Money POSTs honour Idempotency-Key (same key + body → the stored first response;
// other body → 422; first still running → 409). Handlers parse in the actor and run everything
// touching the database on a pool thread (on_pool), answering from the continuation.
#include <ctime>
#include <functional>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "customer/customer_messages.hpp"
#include "db/idempotency_store.hpp"
#include "domain/json_input.hpp"
#include "fraud_detection/fraud_messages.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"
#include "order/order_messages.hpp"
#include "payment/card_checks.hpp"
#include "payment/payment_json.hpp"
#include "payment/payment_runtime.hpp"
#include "payment/payment_webhooks.hpp"
#include "payment/test_gateway.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/uuid.hpp"

namespace mercato::payment {
namespace {

using json = nlohmann::json;
using http::request_context;
using input::body_reader;
using input::json_response;
using input::query_reader;

const db::idempotency_store idempotency{"payments"};

// Runs `work` on the pool and answers its response (a database failure → 503/409/422 mapping).
void respond_on_pool(payment_self self, request_context& rc,
                     std::function<http_response(pqxx::connection&)> work) {
  on_pool<http_response>(self, std::move(work), [rc = std::move(rc)](db::outcome<http_response> o) {
    if (o.ok()) rc.respond(std::move(*o.value));
    else rc.respond(failure_response(db_failure(*o.failure)));
  });
}

// Idempotency-Key around a money-moving POST; `work` gets the operation key to use.
http_response with_idempotency(pqxx::connection& c, const http_request& req,
                               const std::function<http_response(pqxx::connection&, const std::string&)>& work) {
  std::string key{req.header("idempotency-key")};
  if (key.empty()) return work(c, uuid_v4());
  if (!db::idempotency_store::valid_key(key))
    return http::error(422, "Idempotency-Key must be 1 to 255 printable characters");
  auto fingerprint = db::idempotency_store::fingerprint(req.method, req.path, req.body);
  {
    pqxx::work tx{c};
    auto claim = idempotency.claim(tx, key, req.path, fingerprint);
    if (claim.state == db::claim_state::mismatch)
      return http::error(422, "Idempotency-Key reused with a different request");
    if (claim.state == db::claim_state::replay) {
      if (claim.stored.status == 0)
        return http::error(409, "A request with this Idempotency-Key is still in progress");
      http_response r = http_response::json(claim.stored.status, claim.stored.body);
      r.headers.emplace_back("Idempotent-Replayed", "true");
      return r;
    }
    tx.commit();  // the key is now "in progress" for concurrent duplicates
  }
  http_response response;
  try {
    response = work(c, "http:" + key);
  } catch (...) {
    pqxx::work tx{c};
    tx.exec_params("DELETE FROM payments.idempotency_keys WHERE key = $1 AND status_code = 0", key);
    tx.commit();
    throw;
  }
  pqxx::work tx{c};
  if (response.status >= 500)  // not an answer to keep: let a retry run again
    tx.exec_params("DELETE FROM payments.idempotency_keys WHERE key = $1", key);
  else
    idempotency.save(tx, key, db::stored_response{response.status, response.body});
  tx.commit();
  return response;
}

struct card_input {
  bool given = false;
  std::string token;  // test_pm_… for raw card data
  std::string digits_last_four, brand, fingerprint;
  int month = 0, year = 0;
};

// Raw card fields (test gateway only; never stored): number, expiry, CVC → a test token.
// Returns an error response when they are invalid.
std::optional<http_response> read_card(body_reader& in, int gateway_id, card_input& out,
                                       const std::string& secret) {
  auto number = in.string("card_number", input::optional, 0, 40);
  if (!number || number->empty()) return std::nullopt;
  out.given = true;
  if (gateway_id != 0 && gateway_id != 1)
    return http::error(422, "Raw card numbers are only accepted by the test gateway");
  auto digits = normalize_card_number(*number);
  if (!digits || !card_number_valid(*digits)) return http::error(422, "Invalid card number");
  auto key_month = in.first_present({"card_expiry_month", "exp_month", "expiry_month"});
  auto key_year = in.first_present({"card_expiry_year", "exp_year", "expiry_year"});
  std::optional<int64_t> month, year;
  if (!key_month.empty()) month = in.integer(key_month, input::required, 1, 12);
  if (!key_year.empty()) year = in.integer(key_year, input::required, 0, 2200);
  if (!in.ok()) return in.error_response();
  if (!month || !year) return http::error(422, "Card expiry month and year are required");
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  if (!expiry_valid(static_cast<int>(*month), static_cast<int>(*year), utc.tm_year + 1900, utc.tm_mon + 1))
    return http::error(422, "Card has expired");
  out.brand = card_brand(*digits);
  auto key_cvc = in.first_present({"cvc", "card_cvc", "cvv"});
  if (!key_cvc.empty()) {
    auto cvc = in.string(key_cvc, input::required, 0, 8);
    if (!cvc || !cvc_valid(*cvc, out.brand)) return http::error(422, "Invalid CVC");
  }
  out.month = static_cast<int>(*month);
  out.year = static_cast<int>(*year < 100 ? *year + 2000 : *year);
  out.digits_last_four = digits->substr(digits->size() - 4);
  out.fingerprint = card_fingerprint(*digits, secret);
  out.token = make_test_token(behaviour_of_card(*digits));
  return std::nullopt;
}

// The body of an operation answered by REST: 202 while the outcome is unknown, 200 when the
// gateway answered (a decline is a failed transaction), the failure's status when refused.
http_response transaction_response(const operation_result& r) {
  if (r.has_transaction && (r.outcome_unknown || r.transaction.status == "completed" ||
                            r.transaction.status == "failed"))
    return json_response(r.outcome_unknown ? 202 : 200,
                         transaction_json(r.transaction, r.payment, r.payment.gateway_id == 1));
  if (r.refusal) return failure_response(*r.refusal);
  return json_response(200, transaction_json(r.transaction, r.payment, r.payment.gateway_id == 1));
}

json full_payment(pqxx::connection& c, const payment_row& p) {
  pqxx::read_transaction tx{c};
  std::optional<method_row> m;
  if (!p.method_id.empty()) m = find_method(tx, p.method_id);
  return payment_json(p, m, transactions_of(tx, p.payment_id), refunds_of(tx, p.payment_id));
}

// What /process and /authorize read.
struct payment_request {
  std::string type;  // authorize | capture | sale | refund | void
  std::string customer_id, order_id, method_id, token, payment_id, currency = "USD";
  int gateway_id = 0;
  money::cents amount = 0;
  card_input card;
  std::string reason = "customer_request";
};

http_response run_payment_request(payment_operations& ops, pqxx::connection& c,
                                  const payment_request& p, const std::string& key, int risk_score,
                                  const std::string& risk_level, bool blocked, bool authorization_shape) {
  if (p.type == "authorize" || p.type == "sale") {
    authorize_input in;
    in.order_id = p.order_id;
    in.customer_id = p.customer_id;
    in.amount = p.amount;
    in.currency = p.currency;
    in.method_id = p.method_id;
    in.token = p.card.given ? p.card.token : p.token;
    in.gateway_id = p.gateway_id;
    in.capture = p.type == "sale";
    in.key = key;
    in.risk_score = risk_score;
    in.risk_level = risk_level;
    in.fraud_blocked = blocked;
    auto r = ops.authorize(c, in);
    if (!authorization_shape) return transaction_response(r);
    if (!r.has_transaction) return failure_response(*r.refusal);
    return json_response(r.outcome_unknown ? 202 : 200, authorization_json(r.payment, r.transaction));
  }
  if (p.payment_id.empty() && p.order_id.empty())
    return http::error(422, "payment_id (or order_id) is required for " + p.type);
  if (p.type == "capture") return transaction_response(ops.capture(c, capture_input{p.payment_id, p.order_id, p.amount, false, key}));
  if (p.type == "void") return transaction_response(ops.cancel_authorization(c, void_input{p.payment_id, p.order_id, key}));
  refund_input in;
  in.payment_id = p.payment_id;
  in.order_id = p.order_id;
  in.amount = p.amount;
  in.reason = p.reason;
  in.key = key;
  return transaction_response(ops.refund(c, in));
}

// Reads the /process and /authorize bodies; nullopt + `error` when invalid.
std::optional<payment_request> read_payment_request(const http_request& req, const std::string& default_type,
                                                    bool authorization_shape, const std::string& secret,
                                                    http_response& error) {
  body_reader in{req.body};
  payment_request p;
  if (!in.ok()) {
    error = in.error_response();
    return std::nullopt;
  }
  if (authorization_shape) {
    p.type = "authorize";
    p.order_id = in.string("order_id", input::required, 1, 100).value_or("");
  } else {
    auto type = in.choice("transaction_type", default_type.empty() ? input::required : input::optional,
                          {"authorize", "capture", "sale", "refund", "void"}, true);
    p.type = type ? *type : default_type;
    p.order_id = in.string("order_id", input::optional, 0, 100).value_or("");
  }
  p.customer_id = in.string("customer_id", input::required, 1, 100).value_or("");
  p.gateway_id = static_cast<int>(in.integer("gateway_id", input::optional, 1, 1000000).value_or(0));
  auto amount_key = authorization_shape ? "authorization_amount" : "amount";
  bool amount_required = p.type != "capture" && p.type != "void" && p.type != "refund";
  auto amount = in.amount(amount_key, amount_required ? input::required : input::optional,
                          -money::max_amount);
  p.method_id = in.string("payment_method_id", input::optional, 0, 100).value_or("");
  p.token = in.string("payment_token", input::optional, 0, 255).value_or("");
  auto pid = in.first_present({"payment_id", "authorization_id"});
  if (!pid.empty()) p.payment_id = in.string(pid, input::optional, 0, 100).value_or("");
  p.currency = in.string("currency", input::optional, 3, 3).value_or("USD");
  for (auto& ch : p.currency) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  in.string("payment_method", input::optional);  // legacy label, ignored
  if (!in.ok()) {
    error = in.error_response();
    return std::nullopt;
  }
  p.amount = amount.value_or(0);
  if (amount && *amount <= 0) {
    error = http::error(422, "Cannot process zero amount payment.");
    return std::nullopt;
  }
  if (auto bad = read_card(in, p.gateway_id, p.card, secret)) {
    error = *bad;
    return std::nullopt;
  }
  return p;
}

// The order check of a REST payment naming an order_id; nullopt when the payment may proceed.
std::optional<http_response> check_order_payable(const payment_request& p,
                                                 const std::optional<order::order_payable>& o, const failure& f) {
  if (!o) {
    if (f.kind == failure_kind::not_found) return http::error(422, "Order not found");
    return failure_response(f);
  }
  if (!o->customer_id.empty() && o->customer_id != p.customer_id)
    return http::error(422, "customer_id does not match the order's customer");
  if (o->status != "pending" && o->status != "confirmed")
    return http::error(409, fmt::format("Order is not awaiting payment (status: {})", o->status));
  if (!o->currency.empty() && o->currency != p.currency)
    return http::error(422, fmt::format("Currency does not match the order's currency ({})", o->currency));
  // Already authorized in full: a replay (Idempotency-Key) or a second attempt, which the
  // operation answers with the stored response or 409 "Order already has a live payment".
  bool repeat = o->balance_due == 0 && p.amount == o->amount_authorized;
  if (p.amount != o->balance_due && !repeat)
    return http::error(422, fmt::format("Amount does not match order balance due ({})", money::format(o->balance_due)));
  return std::nullopt;
}

void handle_payment_request(payment_self self, request_context& rc, const std::string& default_type,
                            bool authorization_shape) {
  auto ops = self->state.ops;
  http_response error;
  auto p = read_payment_request(rc.request, default_type, authorization_shape,
                                ops->gateways().settings().fingerprint_secret, error);
  if (!p) return rc.respond(std::move(error));
  auto run = [self, ops, p = *p](request_context& rc, int score, std::string level, bool blocked) {
    auto request = rc.request;
    respond_on_pool(self, rc, [ops, p, request, score, level, blocked](pqxx::connection& c) {
      bool shape = request.path.find("/authorize") != std::string::npos;
      return with_idempotency(c, request, [&](pqxx::connection& c2, const std::string& key) {
        return run_payment_request(*ops, c2, p, key, score, level, blocked, shape);
      });
    });
  };
  if (p->type != "authorize" && p->type != "sale") return run(rc, -1, {}, false);
  // Fraud screening (entity payment); when fraud_detection is down the payment proceeds unscored.
  auto screen = [self, run, p = *p](std::shared_ptr<request_context> shared) {
    fraud::score_entity score{"payment", p.order_id.empty() ? uuid_v4() : p.order_id, p.customer_id,
                              json{{"amount", money::to_json(p.amount)}, {"currency", p.currency}}};
    ask_agent<fraud_actor>(
        self, self->state.shell->context(), "fraud_detection", std::move(score),
        [shared, run](fraud::fraud_result& r) { run(*shared, r.risk_score, r.risk_level, r.decision == "blocked"); },
        [shared, run](const failure& f) {
          log::debug("payment", "fraud_score_unavailable", {{"reason", f.message}});
          run(*shared, -1, {}, false);
        },
        std::chrono::milliseconds(1000));
  };
  auto shared = std::make_shared<request_context>(std::move(rc));
  if (p->order_id.empty()) return screen(shared);
  // A REST payment for an order (never the order saga: it uses the typed messages) must match
  // what the order agent says is payable: the order exists, awaits payment (pending) or is
  // confirmed, and the amount is its balance due. The order agent down → 503, nothing written.
  auto decide = [shared, screen, p = *p](std::optional<order::order_payable> o, const failure& f) {
    if (auto refusal = check_order_payable(p, o, f)) return shared->respond(std::move(*refusal));
    screen(shared);
  };
  ask_agent_resending<order_actor>(
      self, self->state.shell->context(), "order", order::get_order_payable{p->order_id},
      [decide](order::order_payable& o) { decide(o, failure{}); },
      [decide](const failure& f) { decide(std::nullopt, f); }, std::chrono::milliseconds(2000));
}

// ---------------------------------------------------------------- methods

void create_method(payment_self self, request_context& rc) {
  body_reader in{rc.request.body};
  auto customer = in.string("customer_id", input::required, 1, 100);
  auto gateway_id = in.integer("gateway_id", input::optional, 1, 1000000);
  auto type = in.choice("method_type", input::required,
                        {"credit_card", "debit_card", "paypal", "bank_account", "crypto_wallet"});
  auto is_default = in.boolean("is_default", input::optional);
  auto token = in.string("gateway_token", input::optional, 0, 255);
  auto holder = in.string("card_holder_name", input::optional, 0, 200);
  auto gw_customer = in.string("gateway_customer_id", input::optional, 0, 255);
  if (!in.ok()) return rc.respond(in.error_response());
  auto ops = self->state.ops;
  card_input card;
  int gid = static_cast<int>(gateway_id.value_or(0));
  if (auto bad = read_card(in, gid == 0 ? ops->gateways().default_gateway_id() : gid, card,
                           ops->gateways().settings().fingerprint_secret))
    return rc.respond(std::move(*bad));
  if (!card.given && (!token || token->empty()))
    return rc.respond(http::error(422, "card_number with expiry, or gateway_token, is required"));
  method_row m;
  m.method_id = uuid_v4();
  m.customer_id = *customer;
  m.gateway_id = gid;
  m.method_type = *type;
  m.holder_name = holder.value_or("");
  m.gateway_customer_id = gw_customer.value_or("");
  if (card.given) {
    m.card_brand = card.brand;
    m.card_last_four = card.digits_last_four;
    m.expiry_month = card.month;
    m.expiry_year = card.year;
    m.fingerprint = card.fingerprint;
    m.gateway_token = card.token;
    m.is_verified = true;
  } else {
    m.gateway_token = *token;
  }
  bool make_default = is_default.value_or(false);
  auto insert = [self, ops, m, make_default](request_context& rc) mutable {
    respond_on_pool(self, rc, [ops, m, make_default](pqxx::connection& c) mutable {
      pqxx::work tx{c};
      if (m.gateway_id == 0) m.gateway_id = ops->gateways().default_gateway_id();
      auto g = ops->gateways().row(tx, m.gateway_id);
      if (!g || g->adapter == "external") return http::error(422, "Payment gateway not found");
      if (!ops->gateways().configured(*g))
        return http::error(503, fmt::format("Payment gateway '{}' is not configured", g->gateway_name));
      bool card_type = m.method_type == "credit_card" || m.method_type == "debit_card";
      bool supported = card_type || (g->adapter == "stripe" && m.method_type == "bank_account");
      if (!supported)
        return http::error(422, fmt::format("Method type '{}' is not supported by gateway '{}'",
                                            m.method_type, g->gateway_name));
      if (!m.card_last_four.empty() && g->adapter != "test")
        return http::error(422, "Raw card numbers are only accepted by the test gateway");
      if (g->adapter == "test" && m.card_last_four.empty()) {
        // A test token names a documented card: take its brand and last four from the table.
        if (behaviour_of_token(m.gateway_token) == test_behaviour::invalid)
          return http::error(422, "Unknown test gateway token");
      }
      auto row = insert_method(tx, m, make_default);
      json payload{{"method_id", row.method_id}, {"customer_id", row.customer_id},
                   {"method_type", row.method_type}, {"gateway_id", row.gateway_id}};
      db::outbox{"payments"}.enqueue(tx, make_event("payment", "payment_method_added", payload.dump(),
                                                    row.customer_id), row.method_id);
      tx.commit();
      return json_response(201, method_json(row));
    });
  };
  // Unknown customer → 422; when the customer agent cannot answer the method is still saved.
  auto shared = std::make_shared<request_context>(std::move(rc));
  ask_agent_resending<customer_actor>(
      self, self->state.shell->context(), "customer", customer::get_customer{*customer},
      [shared, insert](customer::customer_profile&) mutable { insert(*shared); },
      [shared, insert](const failure& f) mutable {
        if (f.kind == failure_kind::not_found) return shared->respond(http::error(422, "Customer not found"));
        insert(*shared);
      },
      std::chrono::milliseconds(1000));
}

// ---------------------------------------------------------------- analytics

std::optional<int64_t> read_days(request_context& rc) {
  query_reader q{rc.request};
  auto days = q.integer("days", input::optional, 1, 365);
  if (!q.ok()) {
    rc.respond(q.error_response());
    return std::nullopt;
  }
  return days.value_or(30);
}

http_response transaction_analytics(pqxx::connection& c, int64_t days) {
  pqxx::read_transaction tx{c};
  const std::string window = " FROM payments.payment_transactions WHERE created_at >= now() - make_interval(days => $1)";
  auto totals = tx.exec_params1(
      "SELECT count(*), count(*) FILTER (WHERE transaction_status = 'completed'),"
      " coalesce(sum(amount) FILTER (WHERE transaction_status = 'completed' AND transaction_type IN ('capture', 'sale')), 0)"
      " - coalesce(sum(amount) FILTER (WHERE transaction_status = 'completed' AND transaction_type = 'refund'), 0),"
      " to_char((now() - make_interval(days => $1)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" + window,
      static_cast<int>(days));
  int64_t total = totals[0].as<int64_t>(), completed = totals[1].as<int64_t>();
  json by_status = json::object(), by_gateway = json::object();
  for (const auto& r : tx.exec_params("SELECT transaction_status, count(*)" + window + " GROUP BY 1 ORDER BY 1",
                                      static_cast<int>(days)))
    by_status[r[0].c_str()] = r[1].as<int64_t>();
  for (const auto& r : tx.exec_params(
           "SELECT gateway_id, count(*), coalesce(sum(amount) FILTER (WHERE transaction_status = 'completed'"
           " AND transaction_type IN ('capture', 'sale')), 0) - coalesce(sum(amount) FILTER (WHERE"
           " transaction_status = 'completed' AND transaction_type = 'refund'), 0)" + window + " GROUP BY 1 ORDER BY 1",
           static_cast<int>(days)))
    by_gateway[r[0].c_str()] = json{{"count", r[1].as<int64_t>()},
                                    {"revenue", money::to_json(money::parse_decimal(r[2].c_str()).value_or(0))}};
  double rate = total ? static_cast<double>(completed) * 10000 / total : 0;
  return json_response(200, json{{"period_days", days},
                                 {"from_date", totals[3].c_str()},
                                 {"total_transactions", total},
                                 {"total_revenue", money::to_json(money::parse_decimal(totals[2].c_str()).value_or(0))},
                                 {"success_rate", std::round(rate) / 100},
                                 {"transactions_by_status", by_status},
                                 {"transactions_by_gateway", by_gateway},
                                 {"timestamp", clock::iso8601_now()}});
}

http_response refund_analytics(pqxx::connection& c, int64_t days) {
  pqxx::read_transaction tx{c};
  const std::string window = " FROM payments.payment_refunds WHERE requested_at >= now() - make_interval(days => $1)";
  auto totals = tx.exec_params1(
      "SELECT count(*), coalesce(sum(refund_amount) FILTER (WHERE refund_status = 'completed'), 0),"
      " to_char((now() - make_interval(days => $1)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" + window,
      static_cast<int>(days));
  json by_type = json::object(), by_status = json::object();
  for (const auto& r : tx.exec_params("SELECT refund_type, count(*), coalesce(sum(refund_amount), 0)" + window +
                                          " GROUP BY 1 ORDER BY 1",
                                      static_cast<int>(days)))
    by_type[r[0].c_str()] = json{{"count", r[1].as<int64_t>()},
                                 {"amount", money::to_json(money::parse_decimal(r[2].c_str()).value_or(0))}};
  for (const auto& r : tx.exec_params("SELECT refund_status, count(*)" + window + " GROUP BY 1 ORDER BY 1",
                                      static_cast<int>(days)))
    by_status[r[0].c_str()] = r[1].as<int64_t>();
  return json_response(200, json{{"period_days", days},
                                 {"from_date", totals[2].c_str()},
                                 {"total_refunds", totals[0].as<int64_t>()},
                                 {"total_refund_amount", money::to_json(money::parse_decimal(totals[1].c_str()).value_or(0))},
                                 {"refunds_by_type", by_type},
                                 {"refunds_by_status", by_status},
                                 {"timestamp", clock::iso8601_now()}});
}

http_response revenue_analytics(pqxx::connection& c, int64_t days) {
  pqxx::read_transaction tx{c};
  json daily = json::array();
  money::cents total = 0;
  int64_t count = 0;
  for (const auto& r : tx.exec_params(
           "SELECT to_char(date_trunc('day', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),"
           " count(*) FILTER (WHERE transaction_type IN ('capture', 'sale')),"
           " coalesce(sum(amount) FILTER (WHERE transaction_type IN ('capture', 'sale')), 0)"
           " - coalesce(sum(amount) FILTER (WHERE transaction_type = 'refund'), 0)"
           " FROM payments.payment_transactions WHERE transaction_status = 'completed'"
           " AND created_at >= now() - make_interval(days => $1) GROUP BY 1 ORDER BY 1",
           static_cast<int>(days))) {
    money::cents revenue = money::parse_decimal(r[2].c_str()).value_or(0);
    total += revenue;
    count += r[1].as<int64_t>();
    daily.push_back(json{{"date", r[0].c_str()}, {"transactions", r[1].as<int64_t>()},
                         {"revenue", money::to_json(revenue)}});
  }
  auto from = tx.exec_params1("SELECT to_char((now() - make_interval(days => $1)) AT TIME ZONE 'UTC',"
                              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                              static_cast<int>(days));
  return json_response(200, json{{"period_days", days},
                                 {"from_date", from[0].c_str()},
                                 {"total_revenue", money::to_json(total)},
                                 {"total_transactions", count},
                                 {"average_transaction_value", money::to_json(count ? total / count : 0)},
                                 {"daily_revenue", daily},
                                 {"timestamp", clock::iso8601_now()}});
}

}  // namespace

void add_payment_routes(payment_self self) {
  auto& routes = self->state.shell->routes();
  auto ops = self->state.ops;

  // GET / is the platform's route (agent_shell: declared first, so it wins): its message is
  // "Payment Agent Enhanced API is running" — the contract's trailing "!" needs a shared change.

  routes.add("GET", "/api/v1/payment/gateways", "List payment gateways", [self, ops](request_context& rc) {
    respond_on_pool(self, rc, [ops](pqxx::connection& c) {
      pqxx::read_transaction tx{c};
      json out = json::array();
      for (const auto& g : ops->gateways().rows(tx)) out.push_back(gateway_json(g, ops->gateways().configured(g)));
      return json_response(200, out);
    });
  });

  routes.add("POST", "/api/v1/payment/methods", "Add a payment method",
             [self](request_context& rc) { create_method(self, rc); });

  routes.add("GET", "/api/v1/payment/methods/{customer_id}", "List a customer's payment methods",
             [self](request_context& rc) {
               std::string customer = rc.params.get("customer_id");
               respond_on_pool(self, rc, [customer](pqxx::connection& c) {
                 pqxx::read_transaction tx{c};
                 json out = json::array();
                 for (const auto& m : list_methods(tx, customer)) out.push_back(method_json(m));
                 return json_response(200, out);
               });
             });

  routes.add("DELETE", "/api/v1/payment/methods/{method_id}", "Remove a payment method",
             [self](request_context& rc) {
               std::string id = rc.params.get("method_id");
               respond_on_pool(self, rc, [id](pqxx::connection& c) {
                 if (id.size() != 36) return http::error(404, "Payment method not found");
                 pqxx::work tx{c};
                 auto m = find_method(tx, id);
                 if (!m || !delete_method(tx, id)) return http::error(404, "Payment method not found");
                 json payload{{"method_id", id}, {"customer_id", m->customer_id}};
                 db::outbox{"payments"}.enqueue(
                     tx, make_event("payment", "payment_method_removed", payload.dump(), m->customer_id), id);
                 tx.commit();
                 http_response r;
                 r.status = 204;
                 return r;
               });
             });

  routes.add("POST", "/api/v1/payment/methods/{method_id}/default", "Make a payment method the default",
             [self](request_context& rc) {
               std::string id = rc.params.get("method_id");
               respond_on_pool(self, rc, [id](pqxx::connection& c) {
                 if (id.size() != 36) return http::error(404, "Payment method not found");
                 pqxx::work tx{c};
                 auto m = set_default_method(tx, id);
                 if (!m) return http::error(404, "Payment method not found");
                 tx.commit();
                 return json_response(200, method_json(*m));
               });
             });

  routes.add("POST", "/api/v1/payment/process", "Process a payment operation",
             [self](request_context& rc) { handle_payment_request(self, rc, "", false); });
  routes.add("POST", "/payments/process", "Process a payment (legacy path, default sale)",
             [self](request_context& rc) { handle_payment_request(self, rc, "sale", false); });
  routes.add("POST", "/api/v1/payment/authorize", "Authorize a payment for an order",
             [self](request_context& rc) { handle_payment_request(self, rc, "authorize", true); });

  auto list = [self](request_context& rc) {
    query_reader q{rc.request};
    payment_filter f;
    f.order_id = q.string("order_id", input::optional, 0, 100).value_or("");
    f.customer_id = q.string("customer_id", input::optional, 0, 100).value_or("");
    f.status = q.string("status", input::optional, 0, 40).value_or("");
    auto w = input::read_window(q);
    if (!q.ok()) return rc.respond(q.error_response());
    f.skip = w.skip;
    f.limit = w.limit;
    respond_on_pool(self, rc, [f](pqxx::connection& c) {
      std::vector<payment_row> rows;
      {
        pqxx::read_transaction tx{c};
        rows = list_payments(tx, f);
      }
      json out = json::array();
      for (const auto& p : rows) out.push_back(full_payment(c, p));
      return json_response(200, out);
    });
  };
  routes.add("GET", "/payments", "List payments", list);
  routes.add("GET", "/api/v1/payment/payments", "List payments", list);

  routes.add("GET", "/api/v1/payment/payments/{payment_id}", "Get a payment", [self](request_context& rc) {
    std::string id = rc.params.get("payment_id");
    respond_on_pool(self, rc, [id](pqxx::connection& c) {
      if (id.size() != 36) return http::error(404, "Payment not found");
      std::optional<payment_row> p;
      {
        pqxx::read_transaction tx{c};
        p = get_payment(tx, id);
      }
      if (!p) return http::error(404, "Payment not found");
      return json_response(200, full_payment(c, *p));
    });
  });

  routes.add("POST", "/api/v1/payment/payments/{payment_id}/capture", "Capture an authorized payment",
             [self, ops](request_context& rc) {
               body_reader in{rc.request.body, true};
               auto amount = in.amount("amount", input::optional, 1);
               auto final = in.boolean("final", input::optional);
               if (!in.ok()) return rc.respond(in.error_response());
               capture_input ci{rc.params.get("payment_id"), {}, amount.value_or(0), final.value_or(true), {}};
               auto request = rc.request;
               respond_on_pool(self, rc, [ops, ci, request](pqxx::connection& c) {
                 return with_idempotency(c, request, [&](pqxx::connection& c2, const std::string& key) {
                   auto in2 = ci;
                   in2.key = key;
                   auto r = ops->capture(c2, in2);
                   if (!r.has_transaction) return failure_response(*r.refusal);
                   json body = full_payment(c2, r.payment);
                   body["transaction"] = transaction_json(r.transaction, r.payment, r.payment.gateway_id == 1);
                   return json_response(r.outcome_unknown ? 202 : 200, body);
                 });
               });
             });

  routes.add("POST", "/api/v1/payment/payments/{payment_id}/void", "Void an authorization",
             [self, ops](request_context& rc) {
               void_input vi{rc.params.get("payment_id"), {}, {}};
               auto request = rc.request;
               respond_on_pool(self, rc, [ops, vi, request](pqxx::connection& c) {
                 return with_idempotency(c, request, [&](pqxx::connection& c2, const std::string& key) {
                   auto in2 = vi;
                   in2.key = key;
                   auto r = ops->cancel_authorization(c2, in2);
                   if (!r.has_transaction) return failure_response(*r.refusal);
                   json body = full_payment(c2, r.payment);
                   body["transaction"] = transaction_json(r.transaction, r.payment, r.payment.gateway_id == 1);
                   return json_response(r.outcome_unknown ? 202 : 200, body);
                 });
               });
             });

  routes.add("POST", "/api/v1/payment/payments/{payment_id}/refund", "Refund a captured payment",
             [self, ops](request_context& rc) {
               body_reader in{rc.request.body, true};
               auto amount = in.amount("amount", input::optional, 1);
               auto reason = in.choice("reason", input::optional,
                                       {"customer_request", "order_cancelled", "item_returned", "return",
                                        "damaged", "fraud", "other"});
               auto notes = in.string("notes", input::optional, 0, 2000);
               auto by = in.string("requested_by", input::optional, 0, 200);
               if (!in.ok()) return rc.respond(in.error_response());
               refund_input ri;
               ri.payment_id = rc.params.get("payment_id");
               ri.amount = amount.value_or(0);
               ri.reason = reason.value_or("customer_request");
               ri.notes = notes.value_or("");
               ri.requested_by = by.value_or("");
               auto request = rc.request;
               respond_on_pool(self, rc, [ops, ri, request](pqxx::connection& c) {
                 return with_idempotency(c, request, [&](pqxx::connection& c2, const std::string& key) {
                   auto in2 = ri;
                   in2.key = key;
                   auto r = ops->refund(c2, in2);
                   if (!r.refund) return failure_response(*r.refusal);
                   return json_response(r.outcome_unknown ? 202 : 200, refund_json(*r.refund));
                 });
               });
             });

  routes.add("GET", "/api/v1/payment/transactions/{transaction_id}", "Get a transaction",
             [self](request_context& rc) {
               std::string id = rc.params.get("transaction_id");
               respond_on_pool(self, rc, [id](pqxx::connection& c) {
                 if (id.size() != 36) return http::error(404, "Transaction not found");
                 pqxx::read_transaction tx{c};
                 auto t = get_transaction(tx, id);
                 if (!t) return http::error(404, "Transaction not found");
                 auto p = get_payment(tx, t->payment_id);
                 return json_response(200, transaction_json(*t, *p, p->gateway_id == 1));
               });
             });

  routes.add("POST", "/api/v1/payment/refund", "Refund by transaction", [self, ops](request_context& rc) {
    body_reader in{rc.request.body};
    auto tid = in.string("transaction_id", input::required, 1, 100);
    auto customer = in.string("customer_id", input::required, 1, 100);
    auto type = in.choice("refund_type", input::required, {"full", "partial", "chargeback"});
    auto amount = in.amount("refund_amount", input::required, -money::max_amount);
    auto reason = in.choice("refund_reason", input::optional,
                            {"customer_request", "order_cancelled", "item_returned", "return", "damaged",
                             "fraud", "other"});
    auto notes = in.string("notes", input::optional, 0, 2000);
    auto by = in.string("requested_by", input::optional, 0, 200);
    in.string("order_id", input::optional, 0, 100);
    in.string("currency", input::optional, 3, 3);
    if (!in.ok()) return rc.respond(in.error_response());
    if (*amount <= 0) return rc.respond(http::error(422, "Cannot process zero amount refund."));
    refund_input ri;
    ri.amount = *amount;
    ri.refund_type = *type;
    ri.reason = reason.value_or("customer_request");
    ri.notes = notes.value_or("");
    ri.requested_by = by.value_or("");
    std::string transaction_id = *tid, customer_id = *customer;
    auto request = rc.request;
    respond_on_pool(self, rc, [ops, ri, request, transaction_id, customer_id](pqxx::connection& c) {
      if (transaction_id.size() != 36) return http::error(404, "Transaction not found");
      std::optional<transaction_row> t;
      {
        pqxx::read_transaction tx{c};
        t = get_transaction(tx, transaction_id);
      }
      if (!t) return http::error(404, "Transaction not found");
      if (t->customer_id != customer_id)
        return http::error(422, "customer_id does not match the transaction's customer");
      return with_idempotency(c, request, [&](pqxx::connection& c2, const std::string& key) {
        auto in2 = ri;
        in2.payment_id = t->payment_id;
        in2.key = key;
        auto r = ops->refund(c2, in2);
        if (!r.refund) return failure_response(*r.refusal);
        return json_response(r.outcome_unknown ? 202 : 200, refund_json(*r.refund));
      });
    });
  });

  routes.add("POST", "/api/v1/payment/webhooks/{gateway_name}", "Receive a PSP webhook",
             [self, ops](request_context& rc) {
               std::string name = rc.params.get("gateway_name");
               auto request = rc.request;
               respond_on_pool(self, rc, [ops, name, request](pqxx::connection& c) {
                 return receive_webhook(*ops, c, request, name, static_cast<int64_t>(std::time(nullptr)));
               });
             });

  routes.add("GET", "/api/v1/payment/analytics/transactions", "Transaction analytics",
             [self](request_context& rc) {
               if (auto days = read_days(rc))
                 respond_on_pool(self, rc, [d = *days](pqxx::connection& c) { return transaction_analytics(c, d); });
             });
  routes.add("GET", "/api/v1/payment/analytics/refunds", "Refund analytics", [self](request_context& rc) {
    if (auto days = read_days(rc))
      respond_on_pool(self, rc, [d = *days](pqxx::connection& c) { return refund_analytics(c, d); });
  });
  routes.add("GET", "/api/v1/payment/analytics/revenue", "Revenue analytics", [self](request_context& rc) {
    if (auto days = read_days(rc))
      respond_on_pool(self, rc, [d = *days](pqxx::connection& c) { return revenue_analytics(c, d); });
  });
}

}  // namespace mercato::payment
