// A fake Stripe API on loopback for the payment suite: the five endpoints the adapter uses
// (POST /v1/payment_intents, /v1/payment_intents/{id}/capture, /v1/payment_intents/{id}/cancel,
// POST /v1/refunds, GET /v1/payment_intents/{id}), form-encoded, Bearer key checked, with Stripe's
// idempotency semantics (same Idempotency-Key + same request → the first response; another request
// → 400 idempotency_error). Payment methods: pm_card_visa approves; pm_card_chargeDeclined → 402
// card_declined; pm_card_timeout → the intent is created and its answer stored, but the response
// is sent only after `slow_ms` (the caller times out; a re-send gets the stored answer at once).
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

  // Calls received per "METHOD /path-pattern" (e.g. "POST /v1/payment_intents/{id}/capture"),
  // replays included; `executed` counts only calls that acted (not idempotent replays).
  int calls(const std::string& route) const;
  int executed(const std::string& route) const;
  nlohmann::json intent(const std::string& id) const;
  std::string last_body(const std::string& route) const;

  // A webhook body and its Stripe-Signature header for `secret` at unix time `t`.
  static std::string signature(const std::string& body, const std::string& secret, int64_t t);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mercato::test
