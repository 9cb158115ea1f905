// A fake Stripe API on loopback for the payment suite: the endpoints the adapter uses
// (POST /v1/payment_intents, /v1/payment_intents/{id}/capture, /v1/payment_intents/{id}/cancel,
// POST /v1/refunds, GET /v1/payment_intents/{id}, GET /v1/refunds), form-encoded, Bearer key
// checked, with Stripe's idempotency semantics (same Idempotency-Key + same request → the first
// response; another request → 400 idempotency_error) and `expand[]=latest_charge` (the charge
// object instead of its id).
//
// Payment methods: pm_card_visa / pm_card_mastercard / pm_card_amex approve;
// pm_card_chargeDeclined → 402 card_declined; pm_card_timeout → the intent is created and its
// answer stored, but the response is sent only after `slow_ms` (the caller times out; a re-send
// gets the stored answer at once); pm_card_noMulticapture approves but never has multicapture;
// pm_card_refundFail approves, and its refunds are answered succeeded but turn failed
// (failure_reason expired_or_canceled_card) right after, as Stripe's test card does later.
//
// Multicapture, as Stripe's: a manual-capture intent created with
// payment_method_options[card][request_multicapture]=if_available (and a card that has it) gets
// payment_method_details.card.multicapture.status "available" on its charge, else "unavailable"
// (also for every intent while set_multicapture(false)). A capture (amount_to_capture, default all
// that is capturable) adds to amount_received; with final_capture=false (only where available, else
// 400) the intent stays requires_capture with the rest capturable, until a capture takes it all;
// a final capture (the default) makes it succeeded and releases the rest (amount_capturable 0).
// Cancel releases what is capturable (status canceled, amount_received kept). Refunds take from
// what was received, on the charge (amount_refunded); each refund is kept with its metadata
// (metadata[k]=v) and listed by GET /v1/refunds as Stripe does: newest first, payment_intent
// filter, limit 1..100 (default 10), starting_after=<refund id>, has_more.
// stop() closes the listener: later calls are refused. It also signs webhooks.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace mercato::test {

class fake_stripe {
 public:
  explicit fake_stripe(std::string api_key = "sk_test_fake", int slow_ms = 1500);
  ~fake_stripe();
  fake_stripe(const fake_stripe&) = delete;
  fake_stripe& operator=(const fake_stripe&) = delete;

  std::string base_url() const;  // http://127.0.0.1:<port>
  void stop();

  // Intents created from now on have multicapture only if `available` (default true).
  void set_multicapture(bool available);
  // The next call on `route` acts, but its answer comes only after `slow_ms` (a lost answer).
  void answer_late(const std::string& route);
  // The next call on `route` does nothing and is closed unanswered (it never reached the API).
  void drop(const std::string& route);

  // Calls received per "METHOD /path-pattern" (e.g. "POST /v1/payment_intents/{id}/capture"),
  // replays included; `executed` counts only calls that acted (not idempotent replays).
  int calls(const std::string& route) const;
  int executed(const std::string& route) const;
  // Late answers written so far (answer_late, pm_card_timeout): the fake serves one call at a
  // time, so a test waits for this before its next call, which would otherwise queue behind one.
  int late_answers() const;
  nlohmann::json intent(const std::string& id) const;
  nlohmann::json charge(const std::string& id) const;
  nlohmann::json refund(const std::string& id) const;
  std::string last_body(const std::string& route) const;  // POST: the form; GET: the query

  // A webhook body and its Stripe-Signature header for `secret` at unix time `t`.
  static std::string signature(const std::string& body, const std::string& secret, int64_t t);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mercato::test
