// PSP webhooks (see payment_webhooks.hpp).
#include "payment/payment_webhooks.hpp"

#include <cctype>
#include <optional>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/outbox.hpp"
#include "domain/json_input.hpp"
#include "http/problem.hpp"
#include "mercato/event.hpp"
#include "payment/payment_fsm.hpp"
#include "runtime/clock.hpp"

namespace mercato::payment {
namespace {

using json = nlohmann::json;

constexpr int max_attempts = 10;

// What applying one event did.
struct application {
  enum class kind { applied, deferred, refused } result = kind::applied;
  std::string note;  // processing_error: why deferred / refused
};
application applied() { return {}; }
application deferred(std::string why) { return {application::kind::deferred, std::move(why)}; }
application refused(std::string why) { return {application::kind::refused, std::move(why)}; }

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string str(const json& o, const char* key) {
  if (o.is_object() && o.contains(key) && o[key].is_string()) return o[key].get<std::string>();
  return {};
}
// A Stripe amount (minor units = cents for the gateway's currencies); -1 when absent.
money::cents minor(const json& o, const char* key) {
  if (o.is_object() && o.contains(key) && o[key].is_number_integer()) return o[key].get<int64_t>();
  return -1;
}

gateway_result approved(std::string reference) {
  gateway_result r;
  r.result = gateway_result::outcome::approved;
  r.reference = std::move(reference);
  return r;
}
gateway_result declined(std::string code, std::string message) {
  gateway_result r;
  r.result = gateway_result::outcome::declined;
  r.error_code = std::move(code);
  r.message = std::move(message);
  return r;
}

payment_amounts amounts_of(const payment_row& p) {
  return payment_amounts{p.status, p.authorized, p.captured, p.refunded, p.capture_final, p.expired};
}

bool is_authorization(const transaction_row& t) { return t.type == "authorize" || t.type == "sale"; }

application in_flight_conflict(const transaction_row& t) {
  return deferred("A " + t.type + " operation is in flight on the payment; retried later");
}

// Applies one event to the payment it names (locked here), inside `tx`.
application apply_event(payment_operations& ops, pqxx::work& tx, int gateway_id, const std::string& event_id,
                        const std::string& type, const json& object) {
  static const char* handled[] = {"payment_intent.succeeded", "payment_intent.payment_failed",
                                  "payment_intent.canceled", "charge.refunded", "charge.dispute.created"};
  bool known = false;
  for (const char* h : handled) known = known || type == h;
  if (!known) return applied();  // stored for the record; nothing to do

  std::string intent = type.rfind("payment_intent.", 0) == 0 ? str(object, "id") : str(object, "payment_intent");
  std::optional<payment_row> p;
  if (!intent.empty()) p = payment_by_reference(tx, gateway_id, intent);
  if (!p && object.is_object() && object.contains("metadata")) {
    // Our create call names the transaction: matches a payment whose answer never arrived.
    std::string tid = str(object["metadata"], "transaction_id");
    if (tid.size() == 36) {
      auto t = tx.exec_params("SELECT payment_id::text FROM payments.payment_transactions"
                              " WHERE transaction_id::text = $1 AND gateway_id = $2",
                              tid, gateway_id);
      if (!t.empty()) p = get_payment(tx, t[0][0].c_str(), true);
    }
  }

  if (type == "charge.dispute.created") {
    json payload{{"event_id", event_id},
                 {"dispute_id", str(object, "id")},
                 {"charge_id", str(object, "charge")},
                 {"reason", str(object, "reason")},
                 {"gateway_id", gateway_id},
                 {"occurred_at", clock::iso8601_now()}};
    money::cents amount = minor(object, "amount");
    payload["amount"] = amount >= 0 ? money::to_json(amount) : json(nullptr);
    std::string aggregate = event_id;
    if (p) {
      payload["payment_id"] = p->payment_id;
      payload["order_id"] = p->order_id.empty() ? json(nullptr) : json(p->order_id);
      payload["customer_id"] = p->customer_id;
      payload["currency"] = p->currency;
      payload["status"] = p->status;
      audit(tx, p->payment_id, "dispute_opened", p->status, p->status, amount >= 0 ? amount : 0, "stripe");
      aggregate = p->payment_id;
    }
    // A dispute is announced even for a payment this agent does not know (money is at stake).
    db::outbox{"payments"}.enqueue(
        tx, make_event("payment", "dispute_opened", payload.dump(), p && !p->order_id.empty() ? p->order_id : aggregate),
        aggregate);
    return applied();
  }
  if (!p) return deferred("No payment matches the event (payment intent '" + intent + "'); retried later");

  const std::string key = "webhook:" + event_id;
  auto inflight = in_flight_transaction(tx, p->payment_id);
  auto reload = [&] { p = get_payment(tx, p->payment_id, true); };

  if (type == "payment_intent.succeeded") {
    // Succeeded: the intent takes no further capture (its remainder, if any, is released).
    gateway_result closed = approved(intent);
    closed.closed = true;
    if (inflight) {
      if (!is_authorization(*inflight) && inflight->type != "capture") return in_flight_conflict(*inflight);
      ops.settle(tx, *inflight, closed);
      reload();
    }
    money::cents received = minor(object, "amount_received");
    if (received > p->captured) {  // captured at Stripe beyond what is recorded: the difference
      money::cents delta = received - p->captured;
      if (auto r = check_capture(amounts_of(*p), delta)) return refused(r->message);
      auto t = pending_transaction(*p, "capture", delta, key);
      t.capture_final = true;
      if (!insert_transaction(tx, t)) return deferred("Another operation is in progress on this payment");
      ops.settle(tx, t, closed);
      return applied();
    }
    // Nothing more was captured, but a payment captured in parts still shows a remainder: Stripe
    // closed the intent without it (a final capture elsewhere), so it is released here too.
    if (p->status == "partially_captured" && capturable_remaining(amounts_of(*p)) > 0) {
      auto t = pending_transaction(*p, "void", p->authorized - p->captured, key);
      if (!insert_transaction(tx, t)) return deferred("Another operation is in progress on this payment");
      ops.settle(tx, t, approved(intent));
    }
    return applied();
  }

  if (type == "payment_intent.payment_failed") {
    if (!inflight) return applied();  // already settled: the failure changes nothing now
    if (!is_authorization(*inflight)) return in_flight_conflict(*inflight);
    const json error = object.is_object() && object.contains("last_payment_error") ? object["last_payment_error"]
                                                                                   : json::object();
    std::string code = str(error, "decline_code");
    if (code.empty()) code = str(error, "code");
    if (code.empty()) code = "payment_failed";
    std::string message = str(error, "message");
    ops.settle(tx, *inflight, declined(code, message.empty() ? "Payment failed at the gateway" : message));
    return applied();
  }

  if (type == "payment_intent.canceled") {
    if (inflight) {
      if (is_authorization(*inflight)) {
        ops.settle(tx, *inflight, declined("canceled", "The payment was canceled at the gateway"));
        return applied();
      }
      if (inflight->type != "void") return in_flight_conflict(*inflight);
      ops.settle(tx, *inflight, approved(intent));
      return applied();
    }
    if (p->status == "voided" || p->status == "failed" || p->status == "expired") return applied();
    if (auto r = check_void(amounts_of(*p))) return refused(r->message);
    auto t = pending_transaction(*p, "void", p->authorized - p->captured, key);
    if (!insert_transaction(tx, t)) return deferred("Another operation is in progress on this payment");
    ops.settle(tx, t, approved(intent));
    return applied();
  }

  // charge.refunded: amount_refunded is the charge's refunded total.
  std::string refund_reference = str(object, "id");
  if (object.is_object() && object.contains("refunds") && object["refunds"].is_object() &&
      object["refunds"].contains("data") && object["refunds"]["data"].is_array() &&
      !object["refunds"]["data"].empty())
    refund_reference = str(object["refunds"]["data"][0], "id");
  if (inflight) {
    if (inflight->type != "refund") return in_flight_conflict(*inflight);
    ops.settle(tx, *inflight, approved(refund_reference));
    reload();
  }
  money::cents total = minor(object, "amount_refunded");
  if (total <= p->refunded) return applied();
  money::cents delta = total - p->refunded;
  auto a = amounts_of(*p);
  if (auto r = check_refund(a, delta)) return refused(r->message);
  auto t = pending_transaction(*p, "refund", delta, key);
  if (!insert_transaction(tx, t)) return deferred("Another operation is in progress on this payment");
  refund_row f = pending_refund(*p, t, delta == refundable_amount(a) ? "full" : "partial", "other");
  f.notes = "Refunded at the gateway (event " + event_id + ")";
  f.requested_by = "stripe";
  insert_refund(tx, f);
  ops.settle(tx, t, approved(refund_reference));
  return applied();
}

void record_failure(pqxx::connection& c, int64_t webhook_id, const std::string& why) {
  pqxx::work tx{c};
  tx.exec_params("UPDATE payments.payment_webhooks SET retry_count = retry_count + 1, processing_error = $2"
                 " WHERE webhook_id = $1",
                 webhook_id, why);
  tx.commit();
}

}  // namespace

bool apply_webhook(payment_operations& ops, pqxx::connection& c, int64_t webhook_id) {
  application a;
  try {
    pqxx::work tx{c};
    auto row = tx.exec_params("SELECT gateway_id, event_id, event_type, payload::text, processed"
                              " FROM payments.payment_webhooks WHERE webhook_id = $1 FOR UPDATE",
                              webhook_id);
    if (row.empty() || row[0][4].as<bool>()) return false;
    auto doc = json::parse(row[0][3].c_str(), nullptr, false);
    json object = json::object();
    if (doc.is_object() && doc.contains("data") && doc["data"].is_object() && doc["data"].contains("object"))
      object = doc["data"]["object"];
    a = apply_event(ops, tx, row[0][0].as<int>(), row[0][1].c_str(), row[0][2].c_str(), object);
    if (a.result != application::kind::deferred) {
      tx.exec_params("UPDATE payments.payment_webhooks SET processed = true, processed_at = now(),"
                     " processing_error = NULLIF($2, '') WHERE webhook_id = $1",
                     webhook_id, a.note);
      tx.commit();
      return true;
    }
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    a = deferred(e.what());
  }
  record_failure(c, webhook_id, a.note);  // the failed attempt rolled back; counted here
  return false;
}

http_response receive_webhook(payment_operations& ops, pqxx::connection& c, const http_request& req,
                              const std::string& gateway_name, int64_t now_unix) {
  std::optional<gateway_row> g;
  {
    pqxx::read_transaction tx{c};
    for (auto& row : ops.gateways().rows(tx))
      if (lower(row.gateway_name) == lower(gateway_name) || row.adapter == lower(gateway_name)) g = row;
  }
  if (!g || g->adapter != "stripe") return http::error(404, "Payment gateway not found");
  if (!ops.gateways().stripe().verify_signature(req.header("stripe-signature"), req.body, now_unix))
    return http::error(400, "Invalid webhook signature or timestamp");
  auto doc = json::parse(req.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || str(doc, "id").empty())
    return http::error(400, "Malformed webhook event");
  pqxx::result inserted;
  {
    pqxx::work tx{c};
    inserted = tx.exec_params(
        "INSERT INTO payments.payment_webhooks (gateway_id, event_id, event_type, payload, signature_verified)"
        " VALUES ($1, $2, $3, $4::jsonb, true) ON CONFLICT (gateway_id, event_id) DO NOTHING RETURNING webhook_id",
        g->gateway_id, str(doc, "id"), str(doc, "type"), req.body);
    tx.commit();
  }
  if (inserted.empty()) return input::json_response(200, json{{"received", true}, {"duplicate", true}});
  apply_webhook(ops, c, inserted[0][0].as<int64_t>());
  return input::json_response(200, json{{"received", true}});
}

int64_t reapply_webhooks(payment_operations& ops, pqxx::connection& c, int64_t limit) {
  std::vector<int64_t> ids;
  {
    pqxx::read_transaction tx{c};
    for (const auto& r : tx.exec_params("SELECT webhook_id FROM payments.payment_webhooks WHERE NOT processed"
                                        " AND retry_count < $1 ORDER BY received_at, webhook_id LIMIT $2",
                                        max_attempts, limit))
      ids.push_back(r[0].as<int64_t>());
  }
  int64_t processed = 0;
  for (auto id : ids)
    if (apply_webhook(ops, c, id)) ++processed;
  return processed;
}

}  // namespace mercato::payment
