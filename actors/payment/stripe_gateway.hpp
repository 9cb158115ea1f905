// Stripe adapter behind the gateway interface. Configured only when an API key is set
// (env STRIPE_API_KEY); unconfigured, the agent answers 503 "Payment gateway 'Stripe' is not
// configured" before calling it. This build has no HTTP client for outbound PSP calls (no libcurl
// linked into agent libraries), so a configured adapter reports every call as `unavailable`
// (nothing sent → a definite failure GATEWAY_UNAVAILABLE, never a success). Webhook signatures
// (Stripe-Signature t=…,v1=… over "t.payload", 300 s tolerance) are verified here.
#pragma once

#include <cstdint>
#include <string>

#include "payment/payment_gateway.hpp"

namespace mercato::payment {

struct stripe_settings {
  std::string api_key;
  std::string webhook_secret;
  std::string base_url = "https://api.stripe.com";
  // STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_BASE_URL.
  static stripe_settings from_environment();
};

class stripe_gateway final : public payment_gateway {
 public:
  explicit stripe_gateway(stripe_settings s) : settings_(std::move(s)) {}
  std::string_view adapter() const noexcept override { return "stripe"; }
  bool configured() const noexcept override { return !settings_.api_key.empty(); }

  gateway_result authorize(money::cents, std::string_view, std::string_view, bool,
                           std::string_view) override { return not_sent(); }
  gateway_result capture(std::string_view, money::cents, bool, std::string_view) override {
    return not_sent();
  }
  gateway_result cancel(std::string_view, std::string_view) override { return not_sent(); }
  gateway_result refund(std::string_view, money::cents, std::string_view) override {
    return not_sent();
  }

  // Stripe-Signature check of a webhook body at unix time `now`.
  bool verify_signature(std::string_view header, std::string_view body, int64_t now) const;
  const stripe_settings& settings() const noexcept { return settings_; }

 private:
  gateway_result not_sent() const;
  stripe_settings settings_;
};

// The signature check itself (exposed for tests): header "t=<unix>,v1=<hex>[,v1=…]".
bool verify_stripe_signature(std::string_view header, std::string_view body,
                             std::string_view secret, int64_t now, int64_t tolerance_seconds = 300);

}  // namespace mercato::payment
