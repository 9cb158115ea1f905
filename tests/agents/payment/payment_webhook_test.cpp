// The payment agent's Stripe webhooks (signature, store once, applied through the FSM, retry job),
// the order check of REST payments naming an order_id, and GET /.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>

#include <pqxx/pqxx>

#include "domain/sha256.hpp"
#include "fake_order.hpp"
#include "payment/payment_agent.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/uuid.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using json = nlohmann::json;

namespace {

constexpr const char* secret = "whsec_test_secret";

fixture_options seeded() {
  fixture_options o;
  o.seed = true;
  return o;
}

struct webhook_fixture {
  // The agent reads STRIPE_WEBHOOK_SECRET when it starts (no API key: Stripe stays unconfigured
  // for payments, which webhooks do not need).
  bool secret_set = (setenv("STRIPE_WEBHOOK_SECRET", secret, 1), true);
  agent_fixture f{{spec_for("payment", &spawn_payment_agent), spec_for("order", &spawn_fake_order)}, seeded()};
  ~webhook_fixture() { unsetenv("STRIPE_WEBHOOK_SECRET"); }

  static std::string signature(const std::string& body, int64_t t, const std::string& key = secret) {
    std::string ts = std::to_string(t);
    return "t=" + ts + ",v1=" + crypto::to_hex(crypto::hmac_sha256(key, ts + "." + body));
  }
  http_reply send(const json& event, int64_t t = std::time(nullptr), const std::string& key = secret,
                  const std::string& gateway = "stripe") {
    std::string body = event.dump();
    return f.http("payment", "POST", "/api/v1/payment/webhooks/" + gateway, body,
                  {{"stripe-signature", signature(body, t, key)}});
  }
  std::string scalar(const std::string& sql) {
    pqxx::connection c{f.database().url()};
    pqxx::read_transaction tx{c};
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string{} : r[0][0].c_str();
  }
  void exec(const std::string& sql) { f.database().exec(sql); }
  // A Stripe payment as the adapter would have left it (status and amounts in cents).
  std::string stripe_payment(const std::string& order, const std::string& reference, const std::string& status,
                             int64_t authorized, int64_t captured) {
    std::string id = uuid_v4();
    exec("INSERT INTO payments.payments (payment_id, order_id, customer_id, gateway_id, currency, status, amount,"
         " authorized_amount, captured_amount, gateway_reference, expires_at, authorized_at, capture_final)"
         " VALUES ('" + id + "', '" + order + "', 'CUST-001', 2, 'USD', '" + status + "', " +
         std::to_string(authorized) + " / 100.0, " + std::to_string(authorized) + " / 100.0, " +
         std::to_string(captured) + " / 100.0, '" + reference + "', now() + interval '7 days', now(), " +
         (status == "captured" ? "true" : "false") + ")");
    return id;
  }
  // A Stripe payment whose first call (authorize or sale) has no answer yet.
  std::string pending_payment(const std::string& order, const std::string& type, int64_t amount,
                              std::string& transaction_id) {
    std::string id = uuid_v4();
    transaction_id = uuid_v4();
    exec("INSERT INTO payments.payments (payment_id, order_id, customer_id, gateway_id, currency, status, amount)"
         " VALUES ('" + id + "', '" + order + "', 'CUST-001', 2, 'USD', 'pending', " + std::to_string(amount) +
         " / 100.0)");
    exec("INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id, customer_id, gateway_id,"
         " transaction_type, transaction_status, amount, currency, idempotency_key) VALUES ('" + transaction_id +
         "', '" + id + "', '" + order + "', 'CUST-001', 2, '" + type + "', 'pending', " + std::to_string(amount) +
         " / 100.0, 'USD', 'order:" + order + "')");
    return id;
  }
  std::string status(const std::string& payment_id) {
    return scalar("SELECT status FROM payments.payments WHERE payment_id = '" + payment_id + "'");
  }
  std::string column(const std::string& payment_id, const std::string& col) {
    return scalar("SELECT " + col + " FROM payments.payments WHERE payment_id = '" + payment_id + "'");
  }
  size_t events(const std::string& name) { return f.events("payment." + name).size(); }
  bool settled(const std::string& name, size_t n) {
    return f.eventually([&] { return f.events("payment." + name).size() == n; });
  }
};

json intent_event(const std::string& id, const std::string& type, json object) {
  return json{{"id", id}, {"type", type}, {"data", {{"object", std::move(object)}}}};
}

}  // namespace

TEST_CASE("Stripe webhooks: signature and timestamp checked, unknown gateway 404, nothing stored", "[payment][webhook]") {
  webhook_fixture t;
  json event = intent_event("evt_bad", "charge.refunded", {{"id", "ch_1"}, {"payment_intent", "pi_1"}});
  CHECK(t.send(event, std::time(nullptr), "whsec_other").status == 400);
  auto stale = t.send(event, std::time(nullptr) - 400);
  CHECK(stale.status == 400);
  CHECK(stale.json()["detail"] == "Invalid webhook signature or timestamp");
  auto unsigned_call = t.f.http("payment", "POST", "/api/v1/payment/webhooks/stripe", event.dump(), {});
  CHECK(unsigned_call.status == 400);
  auto unknown = t.send(event, std::time(nullptr), secret, "paypal");
  CHECK(unknown.status == 404);
  CHECK(unknown.json()["detail"] == "Payment gateway not found");
  auto no_id = t.send(json{{"type", "charge.refunded"}});
  CHECK(no_id.status == 400);
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_webhooks") == "0");
}

TEST_CASE("charge.refunded is stored once and applied once, duplicates answer 200", "[payment][webhook]") {
  webhook_fixture t;
  auto pid = t.stripe_payment("ORD-W1", "pi_w1", "captured", 10000, 10000);
  json refunded = intent_event("evt_r1", "charge.refunded",
                               {{"id", "ch_w1"}, {"payment_intent", "pi_w1"}, {"amount_refunded", 3000},
                                {"refunds", {{"data", json::array({{{"id", "re_1"}}})}}}});
  auto first = t.send(refunded);
  REQUIRE(first.status == 200);
  CHECK(first.json()["received"] == true);
  CHECK(t.status(pid) == "partially_refunded");
  CHECK(t.column(pid, "refunded_amount") == "30.00");
  auto again = t.send(refunded);
  REQUIRE(again.status == 200);
  CHECK(again.json()["received"] == true);
  CHECK(t.column(pid, "refunded_amount") == "30.00");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_webhooks") == "1");
  CHECK(t.scalar("SELECT processed FROM payments.payment_webhooks WHERE event_id = 'evt_r1'") == "t");
  CHECK(t.scalar("SELECT gateway_refund_id FROM payments.payment_refunds WHERE payment_id = '" + pid + "'") == "re_1");
  CHECK(t.scalar("SELECT refund_type FROM payments.payment_refunds WHERE payment_id = '" + pid + "'") == "partial");
  CHECK(t.settled("payment_refunded", 1));
  CHECK(t.settled("refund_completed", 1));  // the same outbox row's next event

  // A later event carries the charge's refunded total: only the difference is applied.
  refunded["id"] = "evt_r2";
  refunded["data"]["object"]["amount_refunded"] = 10000;
  REQUIRE(t.send(refunded).status == 200);
  CHECK(t.status(pid) == "refunded");
  CHECK(t.column(pid, "refunded_amount") == "100.00");
  refunded["id"] = "evt_r3";  // nothing beyond what is recorded
  REQUIRE(t.send(refunded).status == 200);
  CHECK(t.column(pid, "refunded_amount") == "100.00");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_refunds WHERE payment_id = '" + pid + "'") == "2");
  CHECK(t.settled("payment_refunded", 2));
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_audit_log WHERE payment_id = '" + pid + "'") == "2");
}

TEST_CASE("payment_intent events settle pending calls and move the FSM", "[payment][webhook]") {
  webhook_fixture t;
  // succeeded: the sale whose answer never came is completed (matched by metadata.transaction_id).
  std::string sale_tx;
  auto sale = t.pending_payment("ORD-W2", "sale", 5000, sale_tx);
  REQUIRE(t.send(intent_event("evt_s1", "payment_intent.succeeded",
                              {{"id", "pi_w2"}, {"amount_received", 5000},
                               {"metadata", {{"transaction_id", sale_tx}}}}))
              .status == 200);
  CHECK(t.status(sale) == "captured");
  CHECK(t.column(sale, "gateway_reference") == "pi_w2");
  CHECK(t.column(sale, "captured_amount") == "50.00");
  CHECK(t.scalar("SELECT transaction_status FROM payments.payment_transactions WHERE transaction_id = '" + sale_tx +
                 "'") == "completed");
  CHECK(t.settled("payment_captured", 1));

  // payment_failed: the pending authorization fails with the PSP's decline code.
  std::string auth_tx;
  auto failing = t.pending_payment("ORD-W3", "authorize", 2000, auth_tx);
  REQUIRE(t.send(intent_event("evt_f1", "payment_intent.payment_failed",
                              {{"id", "pi_w3"},
                               {"metadata", {{"transaction_id", auth_tx}}},
                               {"last_payment_error", {{"code", "card_declined"}, {"decline_code", "insufficient_funds"},
                                                       {"message", "Your card has insufficient funds."}}}}))
              .status == 200);
  CHECK(t.status(failing) == "failed");
  CHECK(t.scalar("SELECT error_code FROM payments.payment_transactions WHERE transaction_id = '" + auth_tx + "'") ==
        "insufficient_funds");
  CHECK(t.settled("payment_failed", 1));

  // succeeded on an authorization: the captured total beyond ours is a final capture.
  auto authorized = t.stripe_payment("ORD-W4", "pi_w4", "authorized", 10000, 0);
  REQUIRE(t.send(intent_event("evt_s2", "payment_intent.succeeded", {{"id", "pi_w4"}, {"amount_received", 6000}}))
              .status == 200);
  CHECK(t.status(authorized) == "captured");
  CHECK(t.column(authorized, "captured_amount") == "60.00");
  CHECK(t.column(authorized, "fee_amount") == "2.04");

  // canceled: an authorization is voided once; on a captured payment the FSM refuses it.
  auto to_void = t.stripe_payment("ORD-W5", "pi_w5", "authorized", 4000, 0);
  REQUIRE(t.send(intent_event("evt_c1", "payment_intent.canceled", {{"id", "pi_w5"}})).status == 200);
  CHECK(t.status(to_void) == "voided");
  REQUIRE(t.send(intent_event("evt_c2", "payment_intent.canceled", {{"id", "pi_w5"}})).status == 200);
  CHECK(t.settled("payment_voided", 1));
  auto captured = t.stripe_payment("ORD-W6", "pi_w6", "captured", 4000, 4000);
  REQUIRE(t.send(intent_event("evt_c3", "payment_intent.canceled", {{"id", "pi_w6"}})).status == 200);
  CHECK(t.status(captured) == "captured");
  CHECK(t.scalar("SELECT processing_error FROM payments.payment_webhooks WHERE event_id = 'evt_c3'") ==
        "Payment already captured; refund instead");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_webhooks WHERE NOT processed") == "0");
}

TEST_CASE("charge.dispute.created publishes dispute_opened, unmatched events are retried", "[payment][webhook]") {
  webhook_fixture t;
  auto pid = t.stripe_payment("ORD-W7", "pi_w7", "captured", 8000, 8000);
  REQUIRE(t.send(intent_event("evt_d1", "charge.dispute.created",
                              {{"id", "dp_1"}, {"charge", "ch_w7"}, {"payment_intent", "pi_w7"}, {"amount", 8000},
                               {"reason", "fraudulent"}}))
              .status == 200);
  REQUIRE(t.settled("dispute_opened", 1));
  auto payload = json::parse(t.f.events("payment.dispute_opened")[0].payload);
  CHECK(payload["payment_id"] == pid);
  CHECK(payload["order_id"] == "ORD-W7");
  CHECK(payload["amount"] == 80.0);
  CHECK(payload["reason"] == "fraudulent");
  CHECK(t.status(pid) == "captured");

  // An event for a payment not known yet stays unprocessed; the retry job applies it later.
  json late = intent_event("evt_late", "charge.refunded",
                           {{"id", "ch_late"}, {"payment_intent", "pi_late"}, {"amount_refunded", 1000}});
  REQUIRE(t.send(late).status == 200);
  CHECK(t.scalar("SELECT processed FROM payments.payment_webhooks WHERE event_id = 'evt_late'") == "f");
  CHECK(t.scalar("SELECT retry_count FROM payments.payment_webhooks WHERE event_id = 'evt_late'") == "1");
  CHECK_FALSE(t.scalar("SELECT processing_error FROM payments.payment_webhooks WHERE event_id = 'evt_late'").empty());
  // One that already failed 10 times is left alone.
  REQUIRE(t.send(intent_event("evt_dead", "charge.refunded",
                              {{"id", "ch_dead"}, {"payment_intent", "pi_dead"}, {"amount_refunded", 1000}}))
              .status == 200);
  t.exec("UPDATE payments.payment_webhooks SET retry_count = 10 WHERE event_id = 'evt_dead'");
  auto later = t.stripe_payment("ORD-W8", "pi_late", "captured", 5000, 5000);
  t.stripe_payment("ORD-W9", "pi_dead", "captured", 5000, 5000);
  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::retry_webhooks{});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.column(later, "refunded_amount") == "10.00");
  CHECK(t.scalar("SELECT processed FROM payments.payment_webhooks WHERE event_id = 'evt_late'") == "t");
  CHECK(t.scalar("SELECT processed FROM payments.payment_webhooks WHERE event_id = 'evt_dead'") == "f");
  // Applying again changes nothing.
  auto again = t.f.ask<payment_actor, count_reply>("payment", payment::retry_webhooks{});
  REQUIRE(again.ok());
  CHECK(again->count == 0);
  CHECK(t.column(later, "refunded_amount") == "10.00");
}

TEST_CASE("REST payments naming an order are checked with the order agent's get_order_payable", "[payment][rest]") {
  webhook_fixture t;
  json card{{"customer_id", "CUST-001"}, {"card_number", "4242424242424242"}, {"card_expiry_month", 12},
            {"card_expiry_year", 2035}, {"cvc", "123"}};
  auto pay = [&](const std::string& order, json amount, const std::string& customer = "CUST-001") {
    json body = card;
    body["order_id"] = order;
    body["amount"] = std::move(amount);
    body["customer_id"] = customer;
    return t.f.post("payment", "/payments/process", body);
  };
  auto wrong = pay("ORD-PAY", 10);
  CHECK(wrong.status == 422);
  CHECK(wrong.json()["detail"] == "Amount does not match order balance due (49.99)");
  auto unknown = pay("ORD-NOPE", 10);
  CHECK(unknown.status == 422);
  CHECK(unknown.json()["detail"] == "Order not found");
  auto shipped = pay("ORD-SHIP", 10);
  CHECK(shipped.status == 409);
  CHECK(shipped.json()["detail"] == "Order is not awaiting payment (status: shipped)");
  auto stranger = pay("ORD-PAY", "49.99", "CUST-002");
  CHECK(stranger.status == 422);
  CHECK(t.scalar("SELECT count(*) FROM payments.payments") == "0");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions") == "0");

  auto ok = pay("ORD-PAY", "49.99");
  REQUIRE(ok.status == 200);
  CHECK(ok.json()["payment_status"] == "captured");
  auto confirmed = t.f.post("payment", "/api/v1/payment/authorize",
                            json{{"order_id", "ORD-CONF"}, {"customer_id", "CUST-001"}, {"authorization_amount", 20},
                                 {"payment_token", "tok_visa"}});
  REQUIRE(confirmed.status == 200);
  CHECK(confirmed.json()["authorization_status"] == "authorized");
  CHECK(t.settled("payment_authorized", 2));
  CHECK(t.events("payment_captured") == 1);

  // GET / answers the contract's text.
  auto root = t.f.get("payment", "/");
  REQUIRE(root.status == 200);
  CHECK(root.json()["message"] == "Payment Agent Enhanced API is running!");
}

TEST_CASE("REST payments for an order answer 503 when the order agent is down, nothing written", "[payment][rest]") {
  agent_fixture f{{spec_for("payment", &spawn_payment_agent)}, seeded()};
  auto r = f.post("payment", "/api/v1/payment/authorize",
                  json{{"order_id", "ORD-PAY"}, {"customer_id", "CUST-001"}, {"authorization_amount", "49.99"},
                       {"payment_token", "tok_visa"}});
  CHECK(r.status == 503);
  CHECK(f.database().value<int64_t>("SELECT count(*) FROM payments.payments") == 0);
}
