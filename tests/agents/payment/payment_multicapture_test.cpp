// Stripe settings from the config file (environment names as fallbacks), Stripe multicapture
// (several partial captures of one authorization, or a partial capture that closes it where Stripe
// has no multicapture), and reconciliation that looks the intent up before re-sending anything.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "payment/stripe_gateway.hpp"
#include "runtime/uuid.hpp"
#include "stripe_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string> test_env;
const char* from_test_env(const char* name) {
  auto it = test_env.find(name);
  return it == test_env.end() ? nullptr : it->second.c_str();
}

// The contract's names are not in this process's environment (the config alone must do).
void clear_stripe_env() {
  for (const char* v : {"STRIPE_API_KEY", "STRIPE_BASE_URL", "STRIPE_TIMEOUT_MS", "STRIPE_WEBHOOK_SECRET", "STRIPE_CA_FILE"})
    unsetenv(v);
}

json last_event(stripe_fixture& t, const std::string& name) {
  auto all = t.f.events("payment." + name);
  return all.empty() ? json{} : json::parse(all.back().payload);
}

}  // namespace

TEST_CASE("Stripe settings: [payment] keys first, the contract's environment names as fallbacks", "[payment][unit]") {
  test_env = {{"STRIPE_API_KEY", "sk_from_env"},         {"STRIPE_WEBHOOK_SECRET", "whsec_from_env"},
              {"STRIPE_BASE_URL", "http://127.0.0.1:9/"}, {"STRIPE_TIMEOUT_MS", "250"},
              {"STRIPE_CA_FILE", "/env/ca.pem"}};
  payment_config unset;  // every Stripe key at its default
  auto s = payment::resolve_stripe_settings(unset, &from_test_env);
  CHECK(s.api_key == "sk_from_env");
  CHECK(s.api_key_origin == "STRIPE_API_KEY");
  CHECK(s.webhook_secret == "whsec_from_env");
  CHECK(s.webhook_secret_origin == "STRIPE_WEBHOOK_SECRET");
  CHECK(s.base_url == "http://127.0.0.1:9");
  CHECK(s.timeout_ms == 250);
  CHECK(s.ca_file == "/env/ca.pem");
  CHECK(s.warnings.empty());
  CHECK(payment::stripe_gateway{s}.configured());

  payment_config set;
  set.stripe_secret_key = "sk_live_from_config";
  set.stripe_webhook_secret = "whsec_from_config";
  set.stripe_base_url = "https://stripe.example.test";
  set.stripe_timeout = std::chrono::milliseconds(4000);
  set.stripe_ca_file = "/config/ca.pem";
  s = payment::resolve_stripe_settings(set, &from_test_env);
  CHECK(s.api_key == "sk_live_from_config");
  CHECK(s.api_key_origin == "config");
  CHECK(s.webhook_secret == "whsec_from_config");
  CHECK(s.webhook_secret_origin == "config");
  CHECK(s.base_url == "https://stripe.example.test");
  CHECK(s.timeout_ms == 4000);
  CHECK(s.ca_file == "/config/ca.pem");

  test_env.clear();
  s = payment::resolve_stripe_settings(unset, &from_test_env);
  CHECK(s.api_key.empty());
  CHECK(s.api_key_origin.empty());
  CHECK(s.base_url == "https://api.stripe.com");
  CHECK(s.timeout_ms == 10000);
  CHECK(s.ca_file.empty());
  CHECK_FALSE(payment::stripe_gateway{s}.configured());

  test_env = {{"STRIPE_TIMEOUT_MS", "soon"}};
  s = payment::resolve_stripe_settings(unset, &from_test_env);
  CHECK(s.timeout_ms == 10000);
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].find("STRIPE_TIMEOUT_MS") != std::string::npos);

  // The key never travels in clear over a network: plain http only to a loopback test server.
  test_env.clear();
  set.stripe_base_url = "http://api.stripe.com";
  s = payment::resolve_stripe_settings(set, &from_test_env);
  CHECK_FALSE(payment::stripe_gateway{s}.configured());
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].find("https://") != std::string::npos);
  CHECK(s.warnings[0].find("sk_live_from_config") == std::string::npos);
  for (const char* loopback : {"http://localhost:12111", "http://[::1]:12111", "https://api.stripe.com"}) {
    set.stripe_base_url = loopback;
    CHECK(payment::stripe_gateway{payment::resolve_stripe_settings(set, &from_test_env)}.configured());
  }
}

TEST_CASE("Stripe settings from the config file reach the adapter and the webhook check", "[payment][stripe]") {
  clear_stripe_env();
  stripe_fixture t;  // [payment] stripe_* pointing at the fake; no STRIPE_* in the environment
  auto a = t.authorize("ORD-CFG", 2500, "pm_card_visa");
  REQUIRE(a.ok());
  CHECK(a->status == "authorized");
  CHECK(t.stripe.executed("POST /v1/payment_intents") == 1);
  json event{{"id", "evt_cfg"},
             {"type", "charge.dispute.created"},
             {"data", {{"object", {{"id", "dp_1"}, {"charge", "ch_1"}, {"amount", 100}}}}}};
  CHECK(t.webhook(event).status == 200);  // signed with the configured webhook secret
  std::string body = event.dump();
  auto forged = t.f.http("payment", "POST", "/api/v1/payment/webhooks/Stripe", body,
                         {{"stripe-signature", fake_stripe::signature(body, "whsec_other", std::time(nullptr))}});
  CHECK(forged.status == 400);
}

TEST_CASE("Stripe multicapture: partial captures keep the authorization open, the last one closes it", "[payment][stripe]") {
  stripe_fixture t;
  auto a = t.authorize("ORD-MC1", 10000, "pm_card_visa");
  REQUIRE(a.ok());
  std::string sent = t.stripe.last_body("POST /v1/payment_intents");
  CHECK(sent.find("payment_method_options[card][request_multicapture]=if_available") != std::string::npos);
  CHECK(sent.find("expand[]=latest_charge") != std::string::npos);
  CHECK(t.column(a->payment_id, "multicapture") == "t");
  const std::string pi = t.column(a->payment_id, "gateway_reference");

  auto c1 = t.capture(a->payment_id, 3000, false, "mc1-cap1");
  REQUIRE(c1.ok());
  CHECK(c1->status == "partially_captured");
  CHECK(c1->captured_amount == 3000);
  CHECK(t.stripe.last_body("POST /v1/payment_intents/{id}/capture") == "amount_to_capture=3000&final_capture=false");
  CHECK(t.stripe.intent(pi)["status"] == "requires_capture");
  CHECK(t.stripe.intent(pi)["amount_received"] == 3000);
  CHECK(t.stripe.intent(pi)["amount_capturable"] == 7000);

  auto c2 = t.capture(a->payment_id, 2000, false, "mc1-cap2");
  REQUIRE(c2.ok());
  CHECK(c2->status == "partially_captured");
  CHECK(c2->captured_amount == 5000);
  CHECK(c2->fee_amount == 117 + 88);  // 2.90 % + 0.30 on each capture
  CHECK(t.stripe.intent(pi)["amount_received"] == 5000);

  // The shop's last shipment: a final capture below the rest releases it, at Stripe and here.
  auto c3 = t.capture(a->payment_id, 1500, true, "mc1-cap3");
  REQUIRE(c3.ok());
  CHECK(c3->status == "captured");
  CHECK(c3->captured_amount == 6500);
  CHECK(t.stripe.last_body("POST /v1/payment_intents/{id}/capture") == "amount_to_capture=1500");
  CHECK(t.stripe.intent(pi)["status"] == "succeeded");
  CHECK(t.stripe.intent(pi)["amount_received"] == 6500);
  CHECK(t.stripe.intent(pi)["amount_capturable"] == 0);
  CHECK(t.column(a->payment_id, "capture_final") == "t");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_captured").size() == 3; }));
  CHECK(last_event(t, "payment_captured")["final"] == true);
  CHECK(last_event(t, "payment_captured")["released_amount"] == 35.0);

  auto more = t.capture(a->payment_id, 100, false, "mc1-cap4");
  REQUIRE_FALSE(more.ok());
  CHECK(more.error.kind == failure_kind::conflict);
  CHECK(t.stripe.executed("POST /v1/payment_intents/{id}/capture") == 3);

  // Capturing exactly the rest closes it without final being asked (Stripe: nothing capturable left).
  auto b = t.authorize("ORD-MC2", 4000, "pm_card_visa");
  REQUIRE(b.ok());
  REQUIRE(t.capture(b->payment_id, 1000, false, "mc2-cap1").ok());
  auto rest = t.capture(b->payment_id, 3000, false, "mc2-cap2");
  REQUIRE(rest.ok());
  CHECK(rest->status == "captured");
  CHECK(rest->captured_amount == 4000);
  CHECK(t.stripe.intent(t.column(b->payment_id, "gateway_reference"))["status"] == "succeeded");

  // Refunds take from what was captured across the captures.
  auto refund = t.refund(a->payment_id, 6500, "mc1-refund");
  REQUIRE(refund.ok());
  CHECK(refund->status == "completed");
  CHECK(t.column(a->payment_id, "status") == "refunded");
}

TEST_CASE("Stripe without multicapture: a partial capture is the final one, the rest released", "[payment][stripe]") {
  stripe_fixture t;
  auto a = t.authorize("ORD-NOMC", 10000, "pm_card_noMulticapture");
  REQUIRE(a.ok());
  CHECK(a->status == "authorized");
  CHECK(t.column(a->payment_id, "multicapture") == "f");
  const std::string pi = t.column(a->payment_id, "gateway_reference");

  auto c1 = t.capture(a->payment_id, 4000, false, "nomc-cap1");  // a first shipment, not meant final
  REQUIRE(c1.ok());
  CHECK(c1->status == "captured");
  CHECK(c1->captured_amount == 4000);
  CHECK(t.column(a->payment_id, "capture_final") == "t");
  CHECK(t.stripe.last_body("POST /v1/payment_intents/{id}/capture") == "amount_to_capture=4000");
  CHECK(t.stripe.intent(pi)["status"] == "succeeded");
  CHECK(t.stripe.intent(pi)["amount_received"] == 4000);
  CHECK(t.stripe.intent(pi)["amount_capturable"] == 0);
  auto view = t.f.get("payment", "/api/v1/payment/payments/" + a->payment_id);
  REQUIRE(view.status == 200);
  CHECK(view.json()["remaining_amount"] == 0.0);
  CHECK(view.json()["capture_final"] == true);
  CHECK(view.json()["multicapture"] == false);
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_captured").size() == 1; }));
  CHECK(last_event(t, "payment_captured")["final"] == true);
  CHECK(last_event(t, "payment_captured")["released_amount"] == 60.0);

  auto later = t.capture(a->payment_id, 1000, false, "nomc-cap2");
  REQUIRE_FALSE(later.ok());
  CHECK(later.error.kind == failure_kind::conflict);
  CHECK(later.error.message == "Payment is not in a capturable state (status: captured)");
  auto rest = t.f.post("payment", "/api/v1/payment/payments/" + a->payment_id + "/capture", json{{"amount", 10}});
  CHECK(rest.status == 409);
  CHECK(t.stripe.executed("POST /v1/payment_intents/{id}/capture") == 1);

  // Multicapture switched off for the account: same, whatever the card.
  t.stripe.set_multicapture(false);
  auto b = t.authorize("ORD-NOMC2", 5000, "pm_card_visa");
  REQUIRE(b.ok());
  auto c = t.capture(b->payment_id, 1000, false, "nomc2-cap1");
  REQUIRE(c.ok());
  CHECK(c->status == "captured");
  CHECK(t.column(b->payment_id, "capture_final") == "t");
}

TEST_CASE("whole_if_single_capture (the order agent's shipments): the whole remainder where Stripe takes one capture",
          "[payment][stripe]") {
  stripe_fixture t;
  // No multicapture: a first shipment's partial capture takes the whole remainder, nothing released.
  auto a = t.authorize("ORD-WHOLE", 10000, "pm_card_noMulticapture");
  REQUIRE(a.ok());
  auto c = t.capture(a->payment_id, 4000, false, "whole-cap1", true);
  REQUIRE(c.ok());
  CHECK(c->status == "captured");
  CHECK(c->captured_amount == 10000);
  CHECK(t.stripe.last_body("POST /v1/payment_intents/{id}/capture") == "amount_to_capture=10000");
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_captured").size() == 1; }));
  CHECK_FALSE(last_event(t, "payment_captured").contains("released_amount"));

  // Multicapture: the flag changes nothing, the partial capture keeps the rest open.
  auto b = t.authorize("ORD-WHOLE-MC", 10000, "pm_card_visa");
  REQUIRE(b.ok());
  auto d = t.capture(b->payment_id, 4000, false, "whole-mc-cap1", true);
  REQUIRE(d.ok());
  CHECK(d->status == "partially_captured");
  CHECK(d->captured_amount == 4000);
}

TEST_CASE("reconciliation looks a known intent up: a timed-out capture resolves with a GET, no re-send", "[payment][stripe]") {
  stripe_fixture t;
  auto a = t.authorize("ORD-REC", 10000, "pm_card_visa");
  REQUIRE(a.ok());
  const std::string pi = t.column(a->payment_id, "gateway_reference");

  // Stripe captures, but its answer is lost (after the adapter's 1 s): the capture stays pending.
  t.stripe.answer_late("POST /v1/payment_intents/{id}/capture");
  auto lost = t.capture(a->payment_id, 2500, false, "rec-cap1");
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error.code == "outcome_unknown");
  CHECK(t.column(a->payment_id, "status") == "authorized");
  REQUIRE(t.f.eventually([&] { return t.stripe.late_answers() == 1; }));  // the lost call's answer
  CHECK(t.stripe.intent(pi)["amount_received"] == 2500);

  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.column(a->payment_id, "status") == "partially_captured");
  CHECK(t.column(a->payment_id, "captured_amount") == "25.00");
  CHECK(t.scalar("SELECT transaction_status || ':' || fee_amount FROM payments.payment_transactions"
                 " WHERE idempotency_key = 'rec-cap1'") == "completed:1.03");
  CHECK(t.stripe.calls("GET /v1/payment_intents/{id}") == 1);
  CHECK(t.stripe.calls("POST /v1/payment_intents/{id}/capture") == 1);  // never sent again
  REQUIRE(t.f.eventually([&] { return t.f.events("payment.payment_captured").size() == 1; }));

  // A capture staged but never sent (the process died before the call): the lookup shows it is
  // not at Stripe, so it is sent now, once, with its key.
  const std::string tid = uuid_v4();
  t.f.database().exec("INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id,"
                      " customer_id, gateway_id, transaction_type, transaction_status, amount, currency,"
                      " idempotency_key) VALUES ('" + tid + "', '" + a->payment_id + "', 'ORD-REC', 'CUST-001', 2,"
                      " 'capture', 'pending', 10.00, 'USD', 'rec-cap2')");
  auto m = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(m.ok());
  CHECK(m->count == 1);
  CHECK(t.stripe.calls("GET /v1/payment_intents/{id}") == 2);
  CHECK(t.stripe.executed("POST /v1/payment_intents/{id}/capture") == 2);
  CHECK(t.column(a->payment_id, "captured_amount") == "35.00");
  CHECK(t.stripe.intent(pi)["amount_received"] == 3500);

  // A lost cancel (void of the rest of a partly captured payment) resolves the same way.
  t.stripe.answer_late("POST /v1/payment_intents/{id}/cancel");
  auto v = t.f.ask<payment_actor, payment::payment_view>("payment", payment::void_payment{{}, a->payment_id, "rec-void"});
  REQUIRE_FALSE(v.ok());
  CHECK(v.error.code == "outcome_unknown");
  REQUIRE(t.f.eventually([&] { return t.stripe.late_answers() == 2; }));
  auto k = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(k.ok());
  CHECK(k->count == 1);
  CHECK(t.column(a->payment_id, "status") == "captured");
  CHECK(t.column(a->payment_id, "capture_final") == "t");
  CHECK(t.stripe.calls("POST /v1/payment_intents/{id}/cancel") == 1);
  CHECK(t.stripe.calls("GET /v1/payment_intents/{id}") == 3);
}

TEST_CASE("payment_intent.succeeded closes a payment captured in parts: the rest is released", "[payment][stripe]") {
  stripe_fixture t;
  auto a = t.authorize("ORD-WHMC", 10000, "pm_card_visa");
  REQUIRE(a.ok());
  REQUIRE(t.capture(a->payment_id, 4000, false, "whmc-cap1").ok());
  CHECK(t.column(a->payment_id, "status") == "partially_captured");
  const std::string pi = t.column(a->payment_id, "gateway_reference");
  // Closed at Stripe without a further capture (a final capture from the Dashboard, say).
  json event{{"id", "evt_whmc"},
             {"type", "payment_intent.succeeded"},
             {"data", {{"object", {{"id", pi}, {"status", "succeeded"}, {"amount_received", 4000}}}}}};
  REQUIRE(t.webhook(event).status == 200);
  CHECK(t.column(a->payment_id, "status") == "captured");
  CHECK(t.column(a->payment_id, "captured_amount") == "40.00");
  CHECK(t.column(a->payment_id, "capture_final") == "t");
  CHECK(t.scalar("SELECT count(*) FROM payments.payment_transactions WHERE payment_id = '" + a->payment_id +
                 "' AND transaction_type = 'void' AND transaction_status = 'completed'") == "1");
  auto late = t.capture(a->payment_id, 1000, false, "whmc-cap2");
  REQUIRE_FALSE(late.ok());
  CHECK(late.error.kind == failure_kind::conflict);
}

TEST_CASE("Stripe adapter: multicapture answers, and a key reused with other parameters is never a decline",
          "[payment][stripe]") {
  fake_stripe stripe{stripe_api_key};
  payment::stripe_gateway g{adapter_settings(stripe)};
  auto a = g.authorize(5000, "USD", "pm_card_visa", false, "key-auth");
  REQUIRE(a.approved());
  CHECK(a.multicapture == std::optional<bool>{true});
  CHECK(g.authorize(5000, "USD", "pm_card_noMulticapture", false, "key-auth-2").multicapture == std::optional<bool>{false});
  CHECK_FALSE(g.authorize(5000, "USD", "pm_card_visa", true, "key-sale").multicapture.has_value());

  auto first = g.capture(a.reference, 1000, false, "key-cap");
  REQUIRE(first.approved());
  CHECK_FALSE(first.closed);
  // The same key with another amount: Stripe refuses the request, but the key may have acted.
  auto other = g.capture(a.reference, 2000, false, "key-cap");
  CHECK(other.result == payment::gateway_result::outcome::outcome_unknown);
  auto again = g.capture(a.reference, 1000, false, "key-cap");  // identical: Stripe's first answer
  CHECK(again.approved());
  CHECK(stripe.executed("POST /v1/payment_intents/{id}/capture") == 1);
  auto last = g.capture(a.reference, 4000, true, "key-cap-2");
  REQUIRE(last.approved());
  CHECK(last.closed);
  CHECK(stripe.intent(a.reference)["amount_received"] == 5000);
}
