// Stripe adapter behind the gateway interface (agents/8004-payment.md "External parts"): the five
// REST calls over HTTP (psp_http.hpp), form-encoded, `Authorization: Bearer <api_key>`,
// `Idempotency-Key: <transaction_id>`, amounts in minor units:
//   authorize  POST /v1/payment_intents (amount, currency, payment_method, confirm=true,
//              capture_method manual|automatic, metadata[transaction_id])
//   capture    POST /v1/payment_intents/{id}/capture (amount_to_capture)
//   cancel     POST /v1/payment_intents/{id}/cancel
//   refund     POST /v1/refunds (payment_intent, amount)
//   lookup     GET  /v1/payment_intents/{id}
// Answers: 2xx → by the object's status; 402 / other 4xx → declined (error.decline_code or code);
// 409 (key in use) and 5xx → outcome unknown (re-sent later with the same key, which Stripe
// answers with its first response); 429 → unavailable. Connection refused / connect timeout →
// unavailable (GATEWAY_UNAVAILABLE, nothing sent); no answer after connecting → outcome unknown
// (pending + 202 + reconciliation). Never a success without a Stripe answer.
// Configured only when an API key is set (env STRIPE_API_KEY or [payment] stripe_secret_key);
// unconfigured, the agent answers 503 "Payment gateway 'Stripe' is not configured" before calling.
// Calls block: they run on database pool threads only. Webhook signatures (Stripe-Signature
// t=…,v1=… over "t.payload", 300 s tolerance) are verified here too.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "payment/payment_gateway.hpp"

namespace mercato::payment {

struct stripe_settings {
  std::string api_key;
  std::string webhook_secret;
  std::string base_url = "https://api.stripe.com";
  int64_t timeout_ms = 10000;
  std::string ca_file;  // PEM of trusted CAs for https (default: the system store)
  // STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_BASE_URL, STRIPE_TIMEOUT_MS, STRIPE_CA_FILE.
  static stripe_settings from_environment();
};

class stripe_gateway final : public payment_gateway {
 public:
  explicit stripe_gateway(stripe_settings s) : settings_(std::move(s)) {}
  std::string_view adapter() const noexcept override { return "stripe"; }
  bool configured() const noexcept override { return !settings_.api_key.empty(); }

  gateway_result authorize(money::cents amount, std::string_view currency, std::string_view token,
                           bool capture, std::string_view idempotency_key) override;
  gateway_result capture(std::string_view reference, money::cents amount, bool final,
                         std::string_view idempotency_key) override;
  gateway_result cancel(std::string_view reference, std::string_view idempotency_key) override;
  gateway_result refund(std::string_view reference, money::cents amount,
                        std::string_view idempotency_key) override;
  // GET /v1/payment_intents/{id}: approved when authorized or captured at Stripe. (Reconciliation
  // re-sends the original call with its key instead, which Stripe answers with the first result.)
  gateway_result lookup(std::string_view reference);

  // Stripe-Signature check of a webhook body at unix time `now`.
  bool verify_signature(std::string_view header, std::string_view body, int64_t now) const;
  const stripe_settings& settings() const noexcept { return settings_; }

 private:
  struct answer;
  answer call(const char* method, std::string target, std::vector<std::pair<std::string, std::string>> form,
              std::string_view idempotency_key) const;
  stripe_settings settings_;
};

// The signature check itself (exposed for tests): header "t=<unix>,v1=<hex>[,v1=…]".
bool verify_stripe_signature(std::string_view header, std::string_view body,
                             std::string_view secret, int64_t now, int64_t tolerance_seconds = 300);

}  // namespace mercato::payment
