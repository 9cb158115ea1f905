// The payment agent against a fresh database: typed messages (the order / returns doors) and REST.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include <pqxx/pqxx>

#include "config/config.hpp"
#include "payment/payment_agent.hpp"
#include "payment/payment_messages.hpp"
#include "payment/test_gateway.hpp"
#include "runtime/uuid.hpp"
#include "support/agent_fixture.hpp"
#include "fake_order.hpp"

using namespace mercato;
using namespace mercato::test;
using json = nlohmann::json;
using payment_reply = reply<payment::payment_view>;

namespace {

fixture_options seeded(std::function<void(config&)> adjust = {}) {
  fixture_options o;
  o.seed = true;
  o.adjust = std::move(adjust);
  return o;
}

struct payment_fixture {
  explicit payment_fixture(std::function<void(config&)> adjust = {})
      : f{{spec_for("payment", &spawn_payment_agent), spec_for("order", &spawn_fake_order)}, seeded(std::move(adjust))} {}
  agent_fixture f;

  payment_reply authorize(const std::string& order, money::cents amount, const std::string& token,
                          const std::string& key = {}, bool capture = false,
                          const std::string& customer = "CUST-001") {
    payment::authorize_payment m;
    m.order_id = order;
    m.customer_id = customer;
    m.amount = amount;
    m.payment_token = token;
    m.idempotency_key = key;
    m.capture = capture;
    return f.ask<payment_actor, payment::payment_view>("payment", m);
  }
  payment_reply capture(const std::string& payment_id, money::cents amount, const std::string& key = {},
                        bool final = false) {
    return f.ask<payment_actor, payment::payment_view>(
        "payment", payment::capture_payment{{}, payment_id, amount, final, key});
  }
  reply<payment::refund_view> refund(const std::string& payment_id, money::cents amount,
                                     const std::string& key = {}) {
    payment::refund_payment m;
    m.payment_id = payment_id;
    m.amount = amount;
    m.reason = "customer_request";
    m.idempotency_key = key;
    return f.ask<payment_actor, payment::refund_view>("payment", m);
  }
  std::string scalar(const std::string& sql) {
    pqxx::connection c{f.database().url()};
    pqxx::read_transaction tx{c};
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string{} : r[0][0].c_str();
  }
  void exec(const std::string& sql) {
    pqxx::connection c{f.database().url()};
    pqxx::work tx{c};
    tx.exec(sql);
    tx.commit();
  }
};

}  // namespace

TEST_CASE("authorize, capture in parts, refund in parts with fees and FSM checks", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-1", 10000, "tok_visa", "auth-1");
  REQUIRE(a.ok());
  CHECK(a->status == "authorized");
  CHECK(a->authorized_amount == 10000);
  CHECK(a->authorization_code.rfind("AUTH-", 0) == 0);
  CHECK_FALSE(a->expires_at.empty());

  auto c1 = t.capture(a->payment_id, 6000, "cap-1");
  REQUIRE(c1.ok());
  CHECK(c1->status == "partially_captured");
  CHECK(c1->fee_amount == 204);
  auto c2 = t.capture(a->payment_id, 4000, "cap-2");
  REQUIRE(c2.ok());
  CHECK(c2->status == "captured");
  CHECK(c2->captured_amount == 10000);
  CHECK(c2->fee_amount == 204 + 146);
  auto c3 = t.capture(a->payment_id, 100, "cap-3");
  REQUIRE_FALSE(c3.ok());
  CHECK(c3.error.kind == failure_kind::conflict);

  auto r1 = t.refund(a->payment_id, 3000, "ref-1");
  REQUIRE(r1.ok());
  CHECK(r1->status == "completed");
  auto r2 = t.refund(a->payment_id, 8000, "ref-2");
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error.code == "amount_exceeds_refundable");
  CHECK(r2.error.message == "Refund amount exceeds refundable amount (70.00)");
  auto r3 = t.refund(a->payment_id, 7000, "ref-3");
  REQUIRE(r3.ok());
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE payment_id = '" + a->payment_id + "'") == "refunded");
  CHECK(t.scalar("SELECT refunded_amount FROM payments.payments WHERE payment_id = '" + a->payment_id + "'") == "100.00");
  // payment_refunded and refund_completed share an outbox row, published one after the other.
  CHECK(t.f.eventually([&] {
    return t.f.events("payment.payment_refunded").size() == 2 && t.f.events("payment.refund_completed").size() == 2;
  }));
  CHECK(t.f.events("payment.payment_captured").size() == 2);
  // Audit: every state change recorded.
  CHECK(std::stoi(t.scalar("SELECT count(*) FROM payments.payment_audit_log WHERE payment_id = '" + a->payment_id + "'")) == 5);
}

TEST_CASE("the same idempotency key replays the stored result, never a second operation", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-2", 5000, "tok_visa", "auth-2");
  REQUIRE(a.ok());
  auto again = t.authorize("ORD-2", 5000, "tok_visa", "auth-2");
  REQUIRE(again.ok());
  CHECK(again->payment_id == a->payment_id);
  auto c1 = t.capture(a->payment_id, 2000, "cap-x");
  auto c2 = t.capture(a->payment_id, 2000, "cap-x");
  REQUIRE(c1.ok());
  REQUIRE(c2.ok());
  CHECK(c1->transaction_id == c2->transaction_id);
  CHECK(c2->captured_amount == 2000);
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions WHERE transaction_type = 'capture'") == "1");
  // Another key while a live payment exists for the order → conflict.
  auto other = t.authorize("ORD-2", 5000, "tok_visa", "auth-other");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error.code == "payment_exists");
}

TEST_CASE("concurrent captures of one payment: exactly one succeeds, the others conflict", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-3", 10000, "tok_visa", "auth-3");
  REQUIRE(a.ok());
  auto handle = caf::actor_cast<payment_actor>(t.f.directory().handle("payment"));
  std::atomic<int> ok{0}, conflict{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      caf::scoped_actor self{t.f.system()};
      self->request(handle, std::chrono::seconds(10),
                    payment::capture_payment{{}, a->payment_id, 10000, true, "concurrent-" + std::to_string(i)})
          .receive([&](payment::payment_view&) { ++ok; },
                   [&](caf::error& e) {
                     if (read_failure(e).kind == failure_kind::conflict) ++conflict;
                   });
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 1);
  CHECK(conflict == 3);
  CHECK(t.scalar("SELECT captured_amount FROM payments.payments WHERE payment_id = '" + a->payment_id + "'") == "100.00");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions WHERE transaction_type = 'capture'"
                 " AND transaction_status = 'completed'") == "1");
  CHECK(t.f.database().orphan_references() == "");
}

TEST_CASE("tok_timeout: pending until the same key is retried, then captured exactly once", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-4", 5000, "tok_timeout", "auth-4");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error.code == "outcome_unknown");
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE order_id = 'ORD-4'") == "pending");
  // Reconciliation re-sends the pending authorization with its PSP key.
  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  auto got = t.f.ask<payment_actor, payment::order_payment>("payment", payment::get_order_payment{"ORD-4"});
  REQUIRE(got.ok());
  REQUIRE(got->found);
  CHECK(got->payment.status == "authorized");
  CHECK(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 1; }));

  auto c1 = t.capture(got->payment.payment_id, 5000, "cap-timeout", true);
  REQUIRE_FALSE(c1.ok());
  CHECK(c1.error.code == "outcome_unknown");
  // While the capture is pending another capture is refused.
  auto other = t.capture(got->payment.payment_id, 5000, "cap-other", true);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error.code == "operation_in_progress");
  auto c2 = t.capture(got->payment.payment_id, 5000, "cap-timeout", true);
  REQUIRE(c2.ok());
  CHECK(c2->status == "captured");
  auto reference = t.scalar("SELECT gateway_reference FROM payments.payments WHERE order_id = 'ORD-4'");
  CHECK(payment::shared_test_gateway().capture_calls(reference) == 1);
  CHECK(payment::shared_test_gateway().captured_total(reference) == 5000);
  CHECK(t.f.events("payment.payment_authorized").size() == 1);
}

TEST_CASE("declined cards fail the payment with their code and publish payment_failed", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-5", 5000, "tok_chargeDeclinedInsufficientFunds", "auth-5");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error.code == "declined");
  CHECK(json::parse(a.error.detail)["error_code"] == "insufficient_funds");
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE order_id = 'ORD-5'") == "failed");
  CHECK(t.f.eventually([&] { return t.f.events("payment.payment_failed").size() == 1; }));
  // The order may try again with a new key after a failure (no live payment left).
  auto b = t.authorize("ORD-5", 5000, "tok_visa", "auth-5b");
  REQUIRE(b.ok());
  // Capture declined for tok_captureDeclined authorizations.
  auto c = t.authorize("ORD-5c", 5000, "tok_captureDeclined", "auth-5c");
  REQUIRE(c.ok());
  auto cap = t.capture(c->payment_id, 5000, "cap-5c");
  REQUIRE_FALSE(cap.ok());
  CHECK(cap.error.code == "declined");
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE payment_id = '" + c->payment_id + "'") == "authorized");
}

TEST_CASE("default method, no method and the seeded customers", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-6", 2500, "", "auth-6", false, "CUST-002");
  REQUIRE(a.ok());
  CHECK(a->method_id == "40000000-0000-4000-8000-000000000002");
  auto none = t.authorize("ORD-7", 2500, "", "auth-7", false, "CUST-004");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error.code == "no_payment_method");
  CHECK(t.scalar("SELECT count(*) FROM payments.payments WHERE order_id = 'ORD-7'") == "0");
}

TEST_CASE("void and refund rules: void after capture, capture after void, cancel_order_payment", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-8", 5000, "tok_visa", "auth-8");
  REQUIRE(a.ok());
  REQUIRE(t.capture(a->payment_id, 5000, "cap-8").ok());
  auto v = t.f.ask<payment_actor, payment::payment_view>("payment", payment::void_payment{{}, a->payment_id, "void-8"});
  REQUIRE_FALSE(v.ok());
  CHECK(v.error.code == "not_voidable");
  CHECK(v.error.message == "Payment already captured; refund instead");

  auto b = t.authorize("ORD-9", 5000, "tok_visa", "auth-9");
  REQUIRE(b.ok());
  auto vb = t.f.ask<payment_actor, payment::payment_view>("payment", payment::void_payment{"ORD-9", {}, "void-9"});
  REQUIRE(vb.ok());
  CHECK(vb->status == "voided");
  auto cb = t.capture(b->payment_id, 100, "cap-9");
  REQUIRE_FALSE(cb.ok());
  CHECK(cb.error.code == "not_capturable");
  auto rb = t.refund(b->payment_id, 100, "ref-9");
  REQUIRE_FALSE(rb.ok());

  // cancel: authorized → void; captured → refund; nothing → none; repeated → same outcome.
  auto c = t.authorize("ORD-10", 4000, "tok_visa", "auth-10");
  REQUIRE(c.ok());
  auto cv = t.f.ask<payment_actor, payment::cancel_payment_result>("payment", payment::cancel_order_payment{"ORD-10", -1, ""});
  REQUIRE(cv.ok());
  CHECK(cv->action == "void");
  CHECK(cv->payment.status == "voided");
  auto cr = t.f.ask<payment_actor, payment::cancel_payment_result>("payment", payment::cancel_order_payment{"ORD-8", -1, ""});
  REQUIRE(cr.ok());
  CHECK(cr->action == "refund");
  CHECK(cr->payment.status == "refunded");
  CHECK(cr->payment.refunded_amount == 5000);
  auto cn = t.f.ask<payment_actor, payment::cancel_payment_result>("payment", payment::cancel_order_payment{"ORD-none", -1, ""});
  REQUIRE(cn.ok());
  CHECK(cn->action == "none");
  CHECK_FALSE(cn->has_payment);
  auto got = t.f.ask<payment_actor, payment::order_payment>("payment", payment::get_order_payment{"ORD-10"});
  REQUIRE(got.ok());
  CHECK_FALSE(got->found);  // voided is not live
}

TEST_CASE("record_external_payment is idempotent by order_id", "[payment]") {
  payment_fixture t;
  payment::record_external_payment m{"MKT-1", "CUST-003", 7999, "USD", "marketplace:conn-1", "amz-123"};
  auto a = t.f.ask<payment_actor, payment::payment_view>("payment", m);
  REQUIRE(a.ok());
  CHECK(a->status == "captured");
  CHECK(a->gateway_id == 3);
  CHECK(a->fee_amount == 0);
  auto b = t.f.ask<payment_actor, payment::payment_view>("payment", m);
  REQUIRE(b.ok());
  CHECK(b->payment_id == a->payment_id);
  CHECK(t.scalar("SELECT count(*) FROM payments.payments WHERE order_id = 'MKT-1'") == "1");
  m.source = "somewhere";
  auto bad = t.f.ask<payment_actor, payment::payment_view>("payment", m);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error.kind == failure_kind::invalid);
  // Refund of an external payment completes without a gateway call.
  auto r = t.refund(a->payment_id, 1000, "ext-ref");
  REQUIRE(r.ok());
  CHECK(r->status == "completed");
}

TEST_CASE("expired authorizations expire and can no longer be captured", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-11", 3000, "tok_visa", "auth-11");
  REQUIRE(a.ok());
  t.exec("UPDATE payments.payments SET expires_at = now() - interval '1 minute' WHERE payment_id = '" +
         a->payment_id + "'");
  auto c = t.capture(a->payment_id, 3000, "cap-11");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error.code == "authorization_expired");
  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::expire_authorizations{});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE payment_id = '" + a->payment_id + "'") == "expired");
  CHECK(t.f.eventually([&] { return t.f.events("payment.payment_expired").size() == 1; }));
}

TEST_CASE("REST process: legacy path with a card, validation errors, nothing written", "[payment][rest]") {
  payment_fixture t;
  auto ok = t.f.post("payment", "/payments/process",
                     json{{"customer_id", "CUST-004"}, {"amount", "19.90"}, {"card_number", "4242424242424242"},
                          {"card_expiry_month", 12}, {"card_expiry_year", 2035}, {"cvc", "123"}});
  REQUIRE(ok.status == 200);
  auto body = ok.json();
  CHECK(body["transaction_type"] == "sale");
  CHECK(body["transaction_status"] == "completed");
  CHECK(body["payment_status"] == "captured");
  CHECK(body["fee_amount"] == 0.88);  // 0.5771 → 0.58 + 0.30
  CHECK(body["net_amount"] == 19.02);
  CHECK(body["test_mode"] == true);

  auto declined = t.f.post("payment", "/payments/process",
                           json{{"customer_id", "CUST-004"}, {"amount", 10}, {"card_number", "4000000000000002"},
                                {"card_expiry_month", 12}, {"card_expiry_year", 2035}, {"cvc", "123"}});
  REQUIRE(declined.status == 200);
  CHECK(declined.json()["transaction_status"] == "failed");
  CHECK(declined.json()["error_code"] == "card_declined");

  auto zero = t.f.post("payment", "/payments/process", json{{"customer_id", "CUST-001"}, {"amount", 0}});
  CHECK(zero.status == 422);
  CHECK(zero.json()["detail"] == "Cannot process zero amount payment.");
  auto none = t.f.post("payment", "/payments/process", json{{"customer_id", "CUST-004"}, {"amount", 5}});
  CHECK(none.status == 422);
  CHECK(none.json()["detail"] == "payment_method_id, card details or payment_token required");
  auto luhn = t.f.post("payment", "/payments/process",
                       json{{"customer_id", "CUST-004"}, {"amount", 5}, {"card_number", "4242424242424241"},
                            {"card_expiry_month", 12}, {"card_expiry_year", 2035}});
  CHECK(luhn.status == 422);
  CHECK(luhn.json()["detail"] == "Invalid card number");
  auto expired = t.f.post("payment", "/payments/process",
                          json{{"customer_id", "CUST-004"}, {"amount", 5}, {"card_number", "4242424242424242"},
                               {"card_expiry_month", 1}, {"card_expiry_year", 2020}});
  CHECK(expired.status == 422);
  auto stripe = t.f.post("payment", "/api/v1/payment/process",
                         json{{"customer_id", "CUST-001"}, {"amount", 5}, {"transaction_type", "authorize"},
                              {"gateway_id", 2}, {"payment_token", "pm_card_visa"}});
  CHECK(stripe.status == 503);
  CHECK(stripe.json()["detail"] == "Payment gateway 'Stripe' is not configured");
  auto missing_type = t.f.post("payment", "/api/v1/payment/process", json{{"customer_id", "CUST-001"}, {"amount", 5}});
  CHECK(missing_type.status == 422);
  CHECK(t.scalar("SELECT count(*) FROM payments.payments") == "2");
  // The raw card number is stored nowhere.
  CHECK(t.scalar("SELECT count(*) FROM payments.payments p WHERE p::text LIKE '%4242424242424242%'"
                 " OR p::text LIKE '%4000000000000002%'") == "0");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions p WHERE p::text LIKE '%424242424242%'") == "0");
}

TEST_CASE("REST Idempotency-Key: replay, different body → 422", "[payment][rest]") {
  payment_fixture t;
  json body{{"customer_id", "CUST-001"}, {"amount", 12.5}, {"transaction_type", "sale"}};
  header_list key{{"idempotency-key", "idem-1"}};
  auto first = t.f.post("payment", "/api/v1/payment/process", body, key);
  REQUIRE(first.status == 200);
  auto second = t.f.post("payment", "/api/v1/payment/process", body, key);
  REQUIRE(second.status == 200);
  CHECK(second.json()["transaction_id"] == first.json()["transaction_id"]);
  body["amount"] = 13;
  auto other = t.f.post("payment", "/api/v1/payment/process", body, key);
  CHECK(other.status == 422);
  CHECK(other.json()["detail"] == "Idempotency-Key reused with a different request");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions") == "1");
}

TEST_CASE("REST authorize, capture, void and refund routes with their texts", "[payment][rest]") {
  payment_fixture t;
  auto a = t.f.post("payment", "/api/v1/payment/authorize",
                    json{{"order_id", "ORD-R1"}, {"customer_id", "CUST-001"}, {"authorization_amount", 100}});
  REQUIRE(a.status == 200);
  std::string pid = a.json()["authorization_id"];
  CHECK(a.json()["authorization_status"] == "authorized");
  auto dup = t.f.post("payment", "/api/v1/payment/authorize",
                      json{{"order_id", "ORD-R1"}, {"customer_id", "CUST-001"}, {"authorization_amount", 100}});
  CHECK(dup.status == 409);
  CHECK(dup.json()["detail"] == "Order already has a live payment");
  auto refund_early = t.f.post("payment", "/api/v1/payment/payments/" + pid + "/refund", json::object());
  CHECK(refund_early.status == 409);
  CHECK(refund_early.json()["detail"] == "Payment has not been captured; void instead");
  auto cap = t.f.post("payment", "/api/v1/payment/payments/" + pid + "/capture", json{{"amount", 60}, {"final", false}});
  REQUIRE(cap.status == 200);
  CHECK(cap.json()["status"] == "partially_captured");
  CHECK(cap.json()["remaining_amount"] == 40.0);
  auto too_much = t.f.post("payment", "/api/v1/payment/payments/" + pid + "/capture", json{{"amount", 50}});
  CHECK(too_much.status == 409);
  CHECK(too_much.json()["detail"] == "Capture amount exceeds authorized remaining amount (40.00)");
  auto v = t.f.post("payment", "/api/v1/payment/payments/" + pid + "/void", json::object());
  REQUIRE(v.status == 200);
  CHECK(v.json()["status"] == "captured");  // remainder released
  std::string tid = cap.json()["transaction"]["transaction_id"];
  auto full_wrong = t.f.post("payment", "/api/v1/payment/refund",
                             json{{"transaction_id", tid}, {"customer_id", "CUST-001"}, {"refund_type", "full"},
                                  {"refund_amount", 10}});
  CHECK(full_wrong.status == 422);
  auto wrong_customer = t.f.post("payment", "/api/v1/payment/refund",
                                 json{{"transaction_id", tid}, {"customer_id", "CUST-002"}, {"refund_type", "partial"},
                                      {"refund_amount", 10}});
  CHECK(wrong_customer.status == 422);
  auto zero = t.f.post("payment", "/api/v1/payment/refund",
                       json{{"transaction_id", tid}, {"customer_id", "CUST-001"}, {"refund_type", "partial"},
                            {"refund_amount", 0}});
  CHECK(zero.status == 422);
  CHECK(zero.json()["detail"] == "Cannot process zero amount refund.");
  auto r = t.f.post("payment", "/api/v1/payment/refund",
                    json{{"transaction_id", tid}, {"customer_id", "CUST-001"}, {"refund_type", "partial"},
                         {"refund_amount", "25.00"}, {"refund_reason", "return"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["refund_status"] == "completed");
  CHECK(r.json()["refund_reason"] == "item_returned");
  auto view = t.f.get("payment", "/api/v1/payment/payments/" + pid);
  REQUIRE(view.status == 200);
  CHECK(view.json()["refundable_amount"] == 35.0);
  CHECK(view.json()["transactions"].size() == 4);
  CHECK(view.json()["refunds"].size() == 1);
  CHECK(t.f.get("payment", "/api/v1/payment/payments/" + uuid_v4()).status == 404);
  auto list = t.f.get("payment", "/payments?order_id=ORD-R1");
  REQUIRE(list.status == 200);
  CHECK(list.json().size() == 1);
  CHECK(t.f.get("payment", "/api/v1/payment/transactions/" + tid).status == 200);
  auto analytics = t.f.get("payment", "/api/v1/payment/analytics/transactions?days=7");
  REQUIRE(analytics.status == 200);
  CHECK(analytics.json()["total_revenue"] == 35.0);
  CHECK(t.f.get("payment", "/api/v1/payment/analytics/revenue?days=0").status == 422);
  CHECK(t.f.get("payment", "/api/v1/payment/analytics/refunds").json()["total_refund_amount"] == 25.0);
}

TEST_CASE("REST gateways and methods: Luhn, test-only raw numbers, default rules, soft delete", "[payment][rest]") {
  payment_fixture t;
  auto gw = t.f.get("payment", "/api/v1/payment/gateways");
  REQUIRE(gw.status == 200);
  REQUIRE(gw.json().size() == 3);
  CHECK(gw.json()[0]["configured"] == true);
  CHECK(gw.json()[1]["gateway_name"] == "Stripe");
  CHECK(gw.json()[1]["configured"] == false);
  CHECK(gw.json()[1]["is_active"] == false);

  json card{{"customer_id", "CUST-005"}, {"method_type", "credit_card"}, {"card_number", "5555555555554444"},
            {"card_expiry_month", 10}, {"card_expiry_year", 2033}, {"cvc", "321"}, {"card_holder_name", "Eve"}};
  auto m1 = t.f.post("payment", "/api/v1/payment/methods", card);
  REQUIRE(m1.status == 201);
  CHECK(m1.json()["card_brand"] == "mastercard");
  CHECK(m1.json()["card_last_four"] == "4444");
  CHECK(m1.json()["is_default"] == true);  // first method
  CHECK_FALSE(m1.json().contains("gateway_token"));
  card["card_number"] = "4000000000000002";
  card["is_default"] = true;
  auto m2 = t.f.post("payment", "/api/v1/payment/methods", card);
  REQUIRE(m2.status == 201);
  auto list = t.f.get("payment", "/api/v1/payment/methods/CUST-005").json();
  REQUIRE(list.size() == 2);
  CHECK(list[0]["method_id"] == m2.json()["method_id"]);  // default first
  // A payment with the stored declining card is declined by the test gateway.
  auto p = t.f.post("payment", "/payments/process",
                    json{{"customer_id", "CUST-005"}, {"amount", 5}, {"payment_method_id", m2.json()["method_id"]}});
  REQUIRE(p.status == 200);
  CHECK(p.json()["error_code"] == "card_declined");

  card["card_number"] = "4242424242424241";
  CHECK(t.f.post("payment", "/api/v1/payment/methods", card).json()["detail"] == "Invalid card number");
  card["card_number"] = "4242424242424242";
  card["gateway_id"] = 2;
  CHECK(t.f.post("payment", "/api/v1/payment/methods", card).json()["detail"] ==
        "Raw card numbers are only accepted by the test gateway");
  card.erase("gateway_id");
  card["card_expiry_year"] = 2019;
  CHECK(t.f.post("payment", "/api/v1/payment/methods", card).status == 422);
  CHECK(t.f.post("payment", "/api/v1/payment/methods",
                 json{{"customer_id", "CUST-005"}, {"method_type", "paypal"}, {"gateway_token", "tok_visa"}})
            .status == 422);

  std::string id2 = m2.json()["method_id"];
  CHECK(t.f.http("payment", "DELETE", "/api/v1/payment/methods/" + id2).status == 204);
  CHECK(t.f.http("payment", "DELETE", "/api/v1/payment/methods/" + id2).status == 404);
  list = t.f.get("payment", "/api/v1/payment/methods/CUST-005").json();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["is_default"] == true);  // the default moved to the remaining one
  CHECK(t.f.get("payment", "/api/v1/payment/methods/NOBODY").json().empty());
  auto changes = t.f.ask<payment_actor, count_reply>("payment", payment::count_method_changes{"CUST-005", 7});
  REQUIRE(changes.ok());
  CHECK(changes->count == 3);
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_methods m WHERE m::text LIKE '%4000000000000002%'"
                 " OR m::text LIKE '%5555555555554444%'") == "0");
}

TEST_CASE("method-change counts asked together share a statement, each for its own customer and window",
          "[payment][typed][concurrency]") {
  payment_fixture t;
  // CUST-001: 2 changes today, 1 ten days ago; CUST-002: 1 today; CUST-003: none.
  t.exec("INSERT INTO payments.payment_method_changes (customer_id, method_id, change, at) VALUES"
         " ('CUST-001', gen_random_uuid(), 'added', now() - interval '1 hour'),"
         " ('CUST-001', gen_random_uuid(), 'removed', now() - interval '2 hours'),"
         " ('CUST-001', gen_random_uuid(), 'added', now() - interval '10 days'),"
         " ('CUST-002', gen_random_uuid(), 'added', now() - interval '3 hours')");
  const std::vector<payment::count_method_changes> asks{
      {"CUST-001", 7}, {"CUST-002", 7}, {"CUST-003", 7}, {"CUST-001", 30}, {"CUST-001", 0}, {"CUST-002", 1}};
  const std::vector<int64_t> expected{2, 1, 0, 3, 2 /* 0 days → the default 7 */, 1};
  auto replies = t.f.ask_all<payment_actor, count_reply>("payment", asks);
  REQUIRE(replies.size() == asks.size());
  for (size_t i = 0; i < asks.size(); ++i) {
    INFO("ask " << i << ": " << asks[i].customer_id << " over " << asks[i].days << " days");
    REQUIRE(replies[i].ok());
    CHECK(replies[i]->count == expected[i]);
  }
  // The first ask went out alone; the five that arrived while it ran shared one statement.
  auto shared = t.f.get("payment", "/health").json()["shared_statements"]["method_changes"];
  CHECK(shared["items"] == 6);
  CHECK(shared["batches"].get<int>() < 6);
}

TEST_CASE("reconciliation gives up after 24 h: GATEWAY_TIMEOUT and a reconciliation_alert", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-GIVEUP", 2500, "tok_timeout", "auth-giveup");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error.code == "outcome_unknown");
  t.exec("UPDATE payments.payment_transactions SET initiated_at = now() - interval '25 hours'"
         " WHERE order_id = 'ORD-GIVEUP'");
  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE order_id = 'ORD-GIVEUP'") == "failed");
  CHECK(t.scalar("SELECT error_code FROM payments.payment_transactions WHERE order_id = 'ORD-GIVEUP'") ==
        "GATEWAY_TIMEOUT");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.reconciliation_alert").size() == 1; }));
  CHECK(json::parse(t.f.events("payment.reconciliation_alert")[0].payload)["operation"] == "authorize");
  CHECK(t.f.events("payment.payment_failed").size() == 1);
}

namespace {

// `n` authorizations of `order` with `key` and `token`, sent at once from their own threads.
std::vector<payment_reply> authorize_concurrently(payment_fixture& t, int n, const std::string& order,
                                                  const std::string& key, const std::string& token) {
  auto handle = caf::actor_cast<payment_actor>(t.f.directory().handle("payment"));
  std::vector<payment_reply> replies(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      payment::authorize_payment m;
      m.order_id = order;
      m.customer_id = "CUST-001";
      m.amount = 5000;
      m.payment_token = token;
      m.idempotency_key = key;
      caf::scoped_actor self{t.f.system()};
      self->request(handle, std::chrono::seconds(20), m)
          .receive([&](payment::payment_view& v) { replies[i].value = v; },
                   [&](caf::error& e) { replies[i].error = read_failure(e); });
    });
  }
  for (auto& th : threads) th.join();
  return replies;
}

// Sessions of the test's database waiting for a lock (the agent's statements queued behind `holder`).
// What another request's staging leaves before it commits: a pending payment of 50.00 for
// `order` with its pending authorization under `key`.
void stage_pending_authorization(pqxx::work& tx, const std::string& payment_id, const std::string& transaction_id,
                                 const std::string& order, const std::string& key) {
  tx.exec_params("INSERT INTO payments.payments (payment_id, order_id, customer_id, gateway_id, instrument_token,"
                 " currency, status, amount) VALUES ($1::uuid, $2, 'CUST-001', 1, 'tok_visa', 'USD', 'pending', 50.00)",
                 payment_id, order);
  tx.exec_params("INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id, customer_id,"
                 " gateway_id, transaction_type, transaction_status, amount, currency, idempotency_key) VALUES"
                 " ($1::uuid, $2::uuid, $3, 'CUST-001', 1, 'authorize', 'pending', 50.00, 'USD', $4)",
                 transaction_id, payment_id, order, key);
}

// Every reply is the staged payment, authorized, and it was applied once: one payment, one
// transaction, one audit row, one event.
void check_applied_once(payment_fixture& t, std::vector<payment_reply> replies, const std::string& payment_id,
                        const std::string& order) {
  for (auto& r : replies) {
    REQUIRE(r.ok());
    CHECK(r->payment_id == payment_id);
    CHECK(r->status == "authorized");
  }
  CHECK(t.scalar("SELECT count(*) FROM payments.payments WHERE order_id = '" + order + "'") == "1");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions WHERE order_id = '" + order + "'") == "1");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_audit_log WHERE payment_id = '" + payment_id + "'") == "1");
  CHECK(t.f.database().orphan_references() == "");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 1; }));
}

int lock_waiters(payment_fixture& t) {
  return std::stoi(t.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock'"));
}

}  // namespace

TEST_CASE("a repeated key after a failed authorization answers the failure, never a second payment",
          "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-RF", 5000, "tok_chargeDeclined", "auth-rf");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error.code == "declined");
  auto count = [&](const std::string& table) {
    return t.scalar("SELECT count(*) FROM payments." + table + " WHERE order_id = 'ORD-RF'");
  };
  // The failed payment is not live, so no unique index stops a second one: the key must.
  auto again = t.authorize("ORD-RF", 5000, "tok_visa", "auth-rf");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error.code == "declined");
  CHECK(json::parse(again.error.detail)["error_code"] == "card_declined");
  // Also when the request would be refused now (a method that does not exist).
  payment::authorize_payment m;
  m.order_id = "ORD-RF";
  m.customer_id = "CUST-001";
  m.amount = 5000;
  m.method_id = "not-a-method";
  m.idempotency_key = "auth-rf";
  auto refused_now = t.f.ask<payment_actor, payment::payment_view>("payment", m);
  REQUIRE_FALSE(refused_now.ok());
  CHECK(refused_now.error.code == "declined");
  CHECK(count("payments") == "1");
  CHECK(count("payment_transactions") == "1");

  // A new key pays; the old key still answers its failure, while a live payment exists too.
  auto b = t.authorize("ORD-RF", 5000, "tok_visa", "auth-rf-2");
  REQUIRE(b.ok());
  auto old = t.authorize("ORD-RF", 5000, "tok_visa", "auth-rf");
  REQUIRE_FALSE(old.ok());
  CHECK(old.error.code == "declined");
  CHECK(count("payments") == "2");
  CHECK(count("payment_transactions") == "2");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 1; }));
  CHECK(t.f.events("payment.payment_failed").size() == 1);
}

TEST_CASE("concurrent first authorizations with one key stage one payment and apply it once", "[payment]") {
  payment_fixture t;
  // Another request with the key has staged the order's payment but not committed yet: the
  // agent's staging statements wait on the order's live-payment index, then find its transaction.
  pqxx::connection holder{t.f.database().url()};
  pqxx::work tx{holder};
  stage_pending_authorization(tx, "a0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000001",
                              "ORD-CK", "auth-ck");
  // The first authorization's job waits on the uncommitted payment; the agent's queue holds the
  // other two until that job ends (a second shared job starts only for a backlog of 16), and they
  // then find the committed payment.
  auto replies = std::async(std::launch::async, [&] { return authorize_concurrently(t, 3, "ORD-CK", "auth-ck", "tok_visa"); });
  REQUIRE(t.f.eventually([&] { return lock_waiters(t) == 1; }));
  REQUIRE(t.f.eventually([&] {
    return t.f.get("payment", "/health").json()["shared_statements"]["authorizations"]["waiting"] == 2;
  }));
  tx.commit();
  check_applied_once(t, replies.get(), "a0000000-0000-4000-8000-000000000001", "ORD-CK");
}

TEST_CASE("concurrent first authorizations with one key, each its own job: the database serializes their stagings",
          "[payment]") {
  // One authorization per job and three jobs at once ([payment] authorize_batch_max = 1,
  // authorize_batches_in_flight = 3): the three staging statements race in the database itself,
  // as two shared jobs do under a backlog.
  payment_fixture t{[](config& c) {
    c.payment.authorize_batch_max = 1;
    c.payment.authorize_batches_in_flight = 3;
  }};
  pqxx::connection holder{t.f.database().url()};
  pqxx::work tx{holder};
  stage_pending_authorization(tx, "a0000000-0000-4000-8000-000000000002", "b0000000-0000-4000-8000-000000000002",
                              "ORD-CJ", "auth-cj");
  auto replies = std::async(std::launch::async, [&] { return authorize_concurrently(t, 3, "ORD-CJ", "auth-cj", "tok_visa"); });
  REQUIRE(t.f.eventually([&] { return lock_waiters(t) == 3; }));
  CHECK(t.f.get("payment", "/health").json()["shared_statements"]["authorizations"]["waiting"] == 0);
  tx.commit();
  check_applied_once(t, replies.get(), "a0000000-0000-4000-8000-000000000002", "ORD-CJ");
}

TEST_CASE("concurrent retries of a pending authorization apply its answer once", "[payment]") {
  payment_fixture t;
  auto a = t.authorize("ORD-PR", 5000, "tok_timeout", "auth-pr");
  REQUIRE_FALSE(a.ok());
  CHECK(a.error.code == "outcome_unknown");
  const auto payment_id = t.scalar("SELECT payment_id FROM payments.payments WHERE order_id = 'ORD-PR'");
  // The retries re-send with the same PSP key and all reach phase 3 while the payment is locked
  // here, so that they apply the same answer at the same moment.
  pqxx::connection holder{t.f.database().url()};
  pqxx::work tx{holder};
  tx.exec("SELECT 1 FROM payments.payments WHERE payment_id = '" + payment_id + "' FOR UPDATE");
  auto replies = std::async(std::launch::async, [&] { return authorize_concurrently(t, 3, "ORD-PR", "auth-pr", "tok_timeout"); });
  REQUIRE(t.f.eventually([&] { return lock_waiters(t) == 3; }));
  tx.commit();
  std::string transaction_id;
  for (auto& r : replies.get()) {
    REQUIRE(r.ok());
    CHECK(r->payment_id == payment_id);
    CHECK(r->status == "authorized");
    if (transaction_id.empty()) transaction_id = r->transaction_id;
    CHECK(r->transaction_id == transaction_id);
  }
  CHECK(t.scalar("SELECT version FROM payments.payments WHERE payment_id = '" + payment_id + "'") == "2");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_audit_log WHERE payment_id = '" + payment_id + "'") == "1");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions WHERE order_id = 'ORD-PR'") == "1");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 1; }));
  // The relay published everything the applies wrote: nothing left behind, nothing twice.
  CHECK(t.f.eventually([&] { return t.scalar("SELECT count(*) FROM payments.outbox") == "0"; }));
  CHECK(t.f.events("payment.payment_authorized").size() == 1);
}

TEST_CASE("a sale writes its audit row and both events, in order, with the payment", "[payment]") {
  payment_fixture t;
  auto s = t.authorize("ORD-SALE", 5000, "tok_visa", "sale-1", true);
  REQUIRE(s.ok());
  CHECK(s->status == "captured");
  CHECK(s->fee_amount == 175);
  CHECK(t.scalar("SELECT version || ':' || (authorized_at IS NOT NULL) FROM payments.payments"
                 " WHERE payment_id = '" + s->payment_id + "'") == "2:true");
  CHECK(t.scalar("SELECT action || ':' || old_status || '>' || new_status || ':' || amount"
                 " FROM payments.payment_audit_log WHERE payment_id = '" + s->payment_id + "'") ==
        "sale:pending>captured:50.00");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_captured").size() == 1; }));
  std::vector<std::string> names;
  for (const auto& e : t.f.events())
    if (e.name.rfind("payment.", 0) == 0) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"payment.payment_authorized", "payment.payment_captured"});
  auto captured = json::parse(t.f.events("payment.payment_captured")[0].payload);
  CHECK(captured["payment_id"] == s->payment_id);
  CHECK(captured["status"] == "captured");
  CHECK(captured["final"] == true);
  CHECK(captured["transaction_id"] == s->transaction_id);
}

TEST_CASE("phase 3 is one statement only while the payment is as planned, a changed one takes the locking path",
          "[payment]") {
  payment_fixture t;
  // Something writes the payment between staging and phase 3 (as a webhook or reconciliation
  // could): a trigger on the staging insert of ORD-BUMP's transaction. It changes a column the
  // plan carries over from the payment it read, so a plan applied to the changed row would show.
  t.exec("CREATE FUNCTION payments.test_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
         " UPDATE payments.payments SET version = version + 1, capture_final = true"
         " WHERE payment_id = NEW.payment_id; RETURN NULL; END $$");
  t.exec("CREATE TRIGGER test_bump AFTER INSERT ON payments.payment_transactions FOR EACH ROW"
         " WHEN (NEW.order_id = 'ORD-BUMP') EXECUTE FUNCTION payments.test_bump()");
  auto plain = t.authorize("ORD-PLAIN", 5000, "tok_visa", "plain-1");
  auto bumped = t.authorize("ORD-BUMP", 5000, "tok_visa", "bump-1");
  REQUIRE(plain.ok());
  REQUIRE(bumped.ok());
  CHECK(plain->status == "authorized");
  CHECK(bumped->status == "authorized");
  auto payment = [&](const std::string& id) {
    return t.scalar("SELECT status || ':' || version || ':' || capture_final || ':' || authorized_amount"
                    " FROM payments.payments WHERE payment_id = '" + id + "'");
  };
  // Staged at version 1; one write. The changed payment: staged, changed by the trigger (2), then
  // planned again from what the lock read (capture_final kept) and written once (3).
  CHECK(payment(plain->payment_id) == "authorized:2:false:50.00");
  CHECK(payment(bumped->payment_id) == "authorized:3:true:50.00");
  for (const std::string& id : {plain->payment_id, bumped->payment_id}) {
    CHECK(t.scalar("SELECT string_agg(transaction_status, ',') FROM payments.payment_transactions"
                   " WHERE payment_id = '" + id + "'") == "completed");
    CHECK(t.scalar("SELECT string_agg(action || ':' || old_status || '>' || new_status, ',')"
                   " FROM payments.payment_audit_log WHERE payment_id = '" + id + "'") ==
          "authorize:pending>authorized");
  }
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 2; }));
  CHECK(t.f.eventually([&] { return t.scalar("SELECT count(*) FROM payments.outbox") == "0"; }));
  CHECK(t.f.events("payment.payment_authorized").size() == 2);
}
