// The Stripe adapter against the fake Stripe server on loopback: authorize / capture / refund /
// void round trip (settings from the environment), declines, idempotent re-sends, timeout →
// pending → reconciliation, connection refused → GATEWAY_UNAVAILABLE, and a webhook for our own
// refund not applied twice. Multicapture, lookup reconciliation and the config-file settings:
// payment_multicapture_test.cpp.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include <pqxx/pqxx>

#include "stripe_fixture.hpp"
#include "payment/payment_agent.hpp"
#include "payment/payment_messages.hpp"
#include "payment/psp_http.hpp"
#include "payment/stripe_gateway.hpp"
#include "runtime/uuid.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using json = nlohmann::json;

TEST_CASE("Stripe round trip: authorize, capture, refund, void and declines over HTTP", "[payment][stripe]") {
  // Settings from the contract's environment names only (the config left at its defaults).
  stripe_fixture t{stripe_fixture::via::environment};
  auto a = t.authorize("ORD-S1", 10000, "pm_card_visa");
  REQUIRE(a.ok());
  CHECK(a->status == "authorized");
  std::string pi = t.column(a->payment_id, "gateway_reference");
  CHECK(pi.rfind("pi_fake_", 0) == 0);
  CHECK(t.stripe.intent(pi)["status"] == "requires_capture");
  std::string sent = t.stripe.last_body("POST /v1/payment_intents");
  CHECK(sent.find("amount=10000") != std::string::npos);
  CHECK(sent.find("currency=usd") != std::string::npos);
  CHECK(sent.find("confirm=true") != std::string::npos);
  CHECK(sent.find("capture_method=manual") != std::string::npos);
  CHECK(sent.find("payment_method=pm_card_visa") != std::string::npos);

  auto cap = t.f.ask<payment_actor, payment::payment_view>(
      "payment", payment::capture_payment{{}, a->payment_id, 6000, true, "cap-s1"});
  REQUIRE(cap.ok());
  CHECK(cap->status == "captured");
  CHECK(cap->captured_amount == 6000);
  CHECK(cap->fee_amount == 204);
  CHECK(t.stripe.intent(pi)["amount_received"] == 6000);
  auto replay = t.f.ask<payment_actor, payment::payment_view>(
      "payment", payment::capture_payment{{}, a->payment_id, 6000, true, "cap-s1"});
  REQUIRE(replay.ok());
  CHECK(replay->transaction_id == cap->transaction_id);
  CHECK(t.stripe.executed("POST /v1/payment_intents/{id}/capture") == 1);

  auto refund = t.refund(a->payment_id, 2500, "ref-s1");
  REQUIRE(refund.ok());
  CHECK(refund->status == "completed");
  CHECK(t.scalar("SELECT gateway_refund_id FROM payments.payment_refunds").rfind("re_fake_", 0) == 0);
  CHECK(t.stripe.charge(t.stripe.intent(pi)["latest_charge"])["amount_refunded"] == 2500);
  CHECK(t.column(a->payment_id, "status") == "partially_refunded");

  // Stripe's charge.refunded for our own refund (sent twice) changes nothing more.
  json event{{"id", "evt_own_refund"},
             {"type", "charge.refunded"},
             {"data", {{"object", {{"id", "ch_x"}, {"payment_intent", pi}, {"amount_refunded", 2500}}}}}};
  REQUIRE(t.webhook(event).status == 200);
  REQUIRE(t.webhook(event).status == 200);
  CHECK(t.column(a->payment_id, "refunded_amount") == "25.00");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_refunds") == "1");

  // Void of an authorization cancels the intent.
  auto b = t.authorize("ORD-S2", 4000, "pm_card_visa");
  REQUIRE(b.ok());
  auto v = t.f.ask<payment_actor, payment::payment_view>("payment", payment::void_payment{{}, b->payment_id, "void-s2"});
  REQUIRE(v.ok());
  CHECK(v->status == "voided");
  CHECK(t.stripe.intent(t.column(b->payment_id, "gateway_reference"))["status"] == "canceled");

  // A sale is one call with automatic capture; a decline carries Stripe's decline code.
  auto sale = t.authorize("ORD-S3", 1500, "pm_card_visa", true);
  REQUIRE(sale.ok());
  CHECK(sale->status == "captured");
  auto declined = t.authorize("ORD-S4", 1500, "pm_card_chargeDeclined");
  REQUIRE_FALSE(declined.ok());
  CHECK(declined.error.code == "declined");
  CHECK(t.scalar("SELECT error_code FROM payments.payment_transactions WHERE order_id = 'ORD-S4'") == "generic_decline");
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE order_id = 'ORD-S4'") == "failed");

  // The adapter's lookup (GET /v1/payment_intents/{id}): the intent's state decides; an HTTP
  // error never does.
  payment::stripe_settings s = adapter_settings(t.stripe);
  payment::stripe_gateway direct{s};
  payment::pending_operation op;
  op.type = "authorize";
  op.reference = pi;
  CHECK(direct.lookup(op).approved());
  CHECK(t.stripe.last_body("GET /v1/payment_intents/{id}") == "expand[]=latest_charge");
  op.type = "capture";
  op.amount = 6000;
  auto captured = direct.lookup(op);
  CHECK(captured.approved());
  CHECK(captured.closed);
  op.amount = 6001;  // more than Stripe holds for the intent: not this capture, and the intent is closed
  CHECK(direct.lookup(op).result == payment::gateway_result::outcome::declined);
  op.reference = "pi_missing";
  CHECK(direct.lookup(op).result == payment::gateway_result::outcome::outcome_unknown);
  op.reference = "";
  CHECK(direct.lookup(op).result == payment::gateway_result::outcome::outcome_unknown);
  s.api_key = "sk_wrong";
  op.reference = pi;
  CHECK(payment::stripe_gateway{s}.lookup(op).result == payment::gateway_result::outcome::outcome_unknown);
}

TEST_CASE("Stripe timeout is pending then reconciled once, refused connection fails", "[payment][stripe]") {
  stripe_fixture t;
  auto slow = t.f.post("payment", "/api/v1/payment/process",
                       json{{"customer_id", "CUST-001"}, {"amount", 20}, {"transaction_type", "authorize"},
                            {"gateway_id", 2}, {"payment_token", "pm_card_timeout"}});
  REQUIRE(slow.status == 202);
  CHECK(slow.json()["transaction_status"] == "pending");
  std::string pid = slow.json()["payment_id"];
  CHECK(t.column(pid, "status") == "pending");
  REQUIRE(t.f.eventually([&] { return t.stripe.late_answers() == 1; }));  // the first call's answer
  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.column(pid, "status") == "authorized");
  CHECK(t.stripe.calls("POST /v1/payment_intents") == 2);
  CHECK(t.stripe.executed("POST /v1/payment_intents") == 1);  // the re-send was a replay
  CHECK(t.stripe.calls("GET /v1/payment_intents/{id}") == 0);  // no intent id came back: nothing to look up
  CHECK(t.f.eventually([&] { return t.f.events("payment.payment_authorized").size() == 1; }));

  // A pending call whose re-send cannot reach Stripe stays pending (the first send may have acted).
  auto slow2 = t.f.post("payment", "/api/v1/payment/process",
                        json{{"customer_id", "CUST-001"}, {"amount", 21}, {"transaction_type", "sale"},
                             {"gateway_id", 2}, {"payment_token", "pm_card_timeout"}});
  REQUIRE(slow2.status == 202);
  std::string pid2 = slow2.json()["payment_id"];
  t.stripe.stop();
  auto none = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(none.ok());
  CHECK(none->count == 0);
  CHECK(t.column(pid2, "status") == "pending");
  CHECK(t.scalar("SELECT transaction_status FROM payments.payment_transactions WHERE payment_id = '" + pid2 + "'") ==
        "pending");

  auto refused = t.authorize("ORD-S5", 1500, "pm_card_visa");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error.code == "gateway_unavailable");
  CHECK(t.scalar("SELECT error_code FROM payments.payment_transactions WHERE order_id = 'ORD-S5'") ==
        "GATEWAY_UNAVAILABLE");
  CHECK(t.scalar("SELECT status FROM payments.payments WHERE order_id = 'ORD-S5'") == "failed");
  CHECK(t.f.events("payment.payment_authorized").size() == 1);
}

TEST_CASE("PSP HTTP client: form encoding, other schemes refused, unreachable is not_sent", "[payment][unit]") {
  CHECK(payment::form_encode({{"amount", "100"}, {"metadata[transaction_id]", "a b&c"}}) ==
        "amount=100&metadata[transaction_id]=a%20b%26c");
  payment::psp_request req;
  req.base_url = "ftp://api.stripe.com";
  req.target = "/v1/payment_intents";
  auto ftp = payment::psp_call(req);
  CHECK(ftp.result == payment::psp_response::stage::not_sent);
  CHECK(ftp.error.find("https://") != std::string::npos);
  fake_stripe gone;
  req.base_url = gone.base_url();
  gone.stop();
  req.timeout = std::chrono::milliseconds(300);
  CHECK(payment::psp_call(req).result == payment::psp_response::stage::not_sent);
}
