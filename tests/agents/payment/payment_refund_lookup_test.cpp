// Reconciliation of Stripe refunds by lookup: a refund carries metadata[mercato_transaction_id]
// (our transaction id, also its Idempotency-Key), and a refund whose answer never came is found in
// GET /v1/refunds?payment_intent=… (pages followed) instead of being re-sent, since Stripe forgets
// idempotency keys after 24 h. A refund not at Stripe is re-sent once.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "payment/stripe_gateway.hpp"
#include "stripe_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using outcome = payment::gateway_result::outcome;

namespace {

// A payment of `amount` authorized and captured in full at the fake Stripe.
std::string captured_payment(stripe_fixture& t, const std::string& order, money::cents amount) {
  auto a = t.authorize(order, amount, "pm_card_visa");
  REQUIRE(a.ok());
  REQUIRE(t.capture(a->payment_id, amount, true, order + "-cap").ok());
  return a->payment_id;
}

std::string transaction_of(stripe_fixture& t, const std::string& key) {
  return t.scalar("SELECT transaction_id FROM payments.payment_transactions WHERE idempotency_key = '" + key + "'");
}

}  // namespace

TEST_CASE("a refund whose answer was lost is found by GET /v1/refunds, never sent twice", "[payment][stripe]") {
  stripe_fixture t;
  const std::string pid = captured_payment(t, "ORD-RL1", 10000);
  const std::string pi = t.column(pid, "gateway_reference");

  // An earlier refund of the same intent: the lookup must tell them apart by the metadata.
  auto first = t.refund(pid, 2000, "rl1-ref1");
  REQUIRE(first.ok());
  CHECK(first->status == "completed");
  const std::string first_tid = transaction_of(t, "rl1-ref1");
  CHECK(t.stripe.last_body("POST /v1/refunds") ==
        "payment_intent=" + pi + "&amount=2000&metadata[mercato_transaction_id]=" + first_tid);
  const std::string first_re = t.scalar("SELECT gateway_refund_id FROM payments.payment_refunds");
  CHECK(t.stripe.refund(first_re)["metadata"]["mercato_transaction_id"] == first_tid);

  // Stripe refunds, but its answer is lost (after the adapter's 1 s): the refund stays pending.
  t.stripe.answer_late("POST /v1/refunds");
  auto lost = t.refund(pid, 3000, "rl1-ref2");
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error.code == "outcome_unknown");
  CHECK(t.column(pid, "refunded_amount") == "20.00");
  REQUIRE(t.f.eventually([&] { return t.stripe.late_answers() == 1; }));  // the lost call's answer
  CHECK(t.stripe.executed("POST /v1/refunds") == 2);

  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.stripe.calls("GET /v1/refunds") == 1);
  CHECK(t.stripe.last_body("GET /v1/refunds") == "payment_intent=" + pi + "&limit=100");
  CHECK(t.stripe.calls("POST /v1/refunds") == 2);  // never sent again
  CHECK(t.column(pid, "refunded_amount") == "50.00");
  CHECK(t.column(pid, "status") == "partially_refunded");
  const std::string tid = transaction_of(t, "rl1-ref2");
  const std::string re = t.scalar("SELECT gateway_refund_id FROM payments.payment_refunds WHERE transaction_id = '" +
                                  tid + "' AND refund_status = 'completed'");
  CHECK(re.rfind("re_fake_", 0) == 0);
  CHECK(re != first_re);
  CHECK(t.stripe.refund(re)["metadata"]["mercato_transaction_id"] == tid);
  CHECK(t.stripe.charge(t.stripe.intent(pi)["latest_charge"])["amount_refunded"] == 5000);
  CHECK(t.f.eventually([&] { return t.f.events("payment.payment_refunded").size() == 2; }));
}

TEST_CASE("a refund that never reached Stripe is not in its list and is re-sent once", "[payment][stripe]") {
  stripe_fixture t;
  const std::string pid = captured_payment(t, "ORD-RL2", 6000);
  const std::string pi = t.column(pid, "gateway_reference");

  t.stripe.drop("POST /v1/refunds");  // the connection closes before Stripe acts
  auto lost = t.refund(pid, 4000, "rl2-ref");
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error.code == "outcome_unknown");
  CHECK(t.stripe.executed("POST /v1/refunds") == 0);

  auto n = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(n.ok());
  CHECK(n->count == 1);
  CHECK(t.stripe.calls("GET /v1/refunds") == 1);
  CHECK(t.stripe.calls("POST /v1/refunds") == 2);
  CHECK(t.stripe.executed("POST /v1/refunds") == 1);
  CHECK(t.column(pid, "refunded_amount") == "40.00");
  CHECK(t.stripe.charge(t.stripe.intent(pi)["latest_charge"])["amount_refunded"] == 4000);
  CHECK(t.scalar("SELECT refund_status FROM payments.payment_refunds") == "completed");

  auto again = t.f.ask<payment_actor, count_reply>("payment", payment::reconcile_payments{0});
  REQUIRE(again.ok());
  CHECK(again->count == 0);
  CHECK(t.stripe.calls("GET /v1/refunds") == 1);
  CHECK(t.stripe.calls("POST /v1/refunds") == 2);
}

TEST_CASE("Stripe refund lookup: pages followed, failed refunds declined, bounded, errors undecided",
          "[payment][stripe]") {
  fake_stripe stripe{stripe_api_key};
  payment::stripe_gateway g{adapter_settings(stripe)};
  auto sale = g.authorize(200000, "USD", "pm_card_visa", true, "key-sale");
  REQUIRE(sale.approved());
  payment::pending_operation op;
  op.type = "refund";
  op.reference = sale.reference;
  op.amount = 1;

  // Our refund, then 100 newer ones: it is on the second page of 100.
  auto ours = g.refund(sale.reference, 1, "key-ours");
  REQUIRE(ours.approved());
  CHECK(stripe.last_body("POST /v1/refunds") ==
        "payment_intent=" + sale.reference + "&amount=1&metadata[mercato_transaction_id]=key-ours");
  // `count` more refunds of 1 cent, keys numbered from `from`; how many Stripe made.
  auto other_refunds = [&](int from, int count) {
    int made = 0;
    for (int i = from; i < from + count; ++i)
      made += g.refund(sale.reference, 1, "key-other-" + std::to_string(i)).approved();
    return made;
  };
  const std::string oldest_of_page_one = g.refund(sale.reference, 1, "key-other-0").reference;
  REQUIRE(other_refunds(1, 99) == 99);
  op.idempotency_key = "key-ours";
  auto found = g.lookup(op);
  CHECK(found.approved());
  CHECK(found.reference == ours.reference);
  CHECK(stripe.calls("GET /v1/refunds") == 2);
  CHECK(stripe.last_body("GET /v1/refunds") ==
        "payment_intent=" + sale.reference + "&limit=100&starting_after=" + oldest_of_page_one);

  // Not in the whole list: never reached Stripe, re-sent with its key.
  op.idempotency_key = "key-never-sent";
  auto missing = g.lookup(op);
  CHECK(missing.result == outcome::outcome_unknown);
  CHECK(missing.message.find("not at Stripe") != std::string::npos);
  CHECK(stripe.calls("GET /v1/refunds") == 4);

  // A refund Stripe failed after answering: the lookup reports its state now.
  auto failing = g.authorize(1000, "USD", "pm_card_refundFail", true, "key-sale-fail");
  REQUIRE(failing.approved());
  REQUIRE(g.refund(failing.reference, 1000, "key-ref-fail").approved());
  payment::pending_operation fail_op = op;
  fail_op.reference = failing.reference;
  fail_op.idempotency_key = "key-ref-fail";
  auto failed = g.lookup(fail_op);
  CHECK(failed.result == outcome::declined);
  CHECK(failed.error_code == "refund_failed");
  CHECK(failed.message.find("expired_or_canceled_card") != std::string::npos);
  CHECK(failed.reference.rfind("re_fake_", 0) == 0);

  // At most 10 pages: older refunds are not searched (undecided, re-sent with its key).
  REQUIRE(other_refunds(100, 900) == 900);
  const int before = stripe.calls("GET /v1/refunds");
  op.idempotency_key = "key-ours";
  auto too_old = g.lookup(op);
  CHECK(too_old.result == outcome::outcome_unknown);
  CHECK(stripe.calls("GET /v1/refunds") == before + 10);

  // An unknown intent (HTTP 404) is no verdict; an unreachable Stripe is unavailable.
  op.reference = "pi_missing";
  CHECK(g.lookup(op).result == outcome::outcome_unknown);
  stripe.stop();
  op.reference = sale.reference;
  CHECK(g.lookup(op).result == outcome::unavailable);
}
