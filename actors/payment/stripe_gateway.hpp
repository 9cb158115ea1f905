// Stripe adapter behind the gateway interface (agents/8004-payment.md "External parts"): the
// REST calls over HTTP (psp_http.hpp), form-encoded, `Authorization: Bearer <api_key>`,
// `Idempotency-Key: <transaction_id>`, amounts in minor units:
//   authorize  POST /v1/payment_intents (amount, currency, payment_method, confirm=true,
//              capture_method manual|automatic, metadata[transaction_id], expand[]=latest_charge;
//              manual: payment_method_options[card][request_multicapture]=if_available)
//   capture    POST /v1/payment_intents/{id}/capture (amount_to_capture; final_capture=false on
//              a partial capture that leaves the authorization open)
//   cancel     POST /v1/payment_intents/{id}/cancel
//   refund     POST /v1/refunds (payment_intent, amount, metadata[mercato_transaction_id])
//   lookup     GET  /v1/payment_intents/{id}?expand[]=latest_charge (reconciliation);
//              refunds: GET /v1/refunds?payment_intent={id}&limit=100[&starting_after=re_…]
// Multicapture: the authorization answer says, on its charge
// (payment_method_details.card.multicapture.status), whether Stripe takes several partial
// captures; the caller asks for a non-final capture only then. A capture answer whose intent is
// `succeeded` closed the authorization (remainder released): `closed` tells the caller.
// Answers: 2xx → by the object's status; 402 / other 4xx → declined (error.decline_code or code);
// 409 (key in use), 5xx and idempotency_error (the key was used with other parameters) → outcome
// unknown (re-sent later with the same key, which Stripe answers with its first response);
// 429 → unavailable. Connection refused / connect timeout →
// unavailable (GATEWAY_UNAVAILABLE, nothing sent); no answer after connecting → outcome unknown
// (pending + 202 + reconciliation). Never a success without a Stripe answer.
// Configured only when an API key is set and the base URL is https:// (http:// only to a loopback
// test server: the key never crosses a network in clear); unconfigured, the agent answers 503
// "Payment gateway 'Stripe' is not configured" before calling. Calls block: they run on database
// pool threads only. Webhook signatures (Stripe-Signature t=…,v1=… over "t.payload", 300 s
// tolerance) are verified here too.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "payment/payment_gateway.hpp"

namespace mercato {
struct payment_config;
}

namespace mercato::payment {

struct stripe_settings {
  std::string api_key;
  std::string webhook_secret;
  std::string base_url = "https://api.stripe.com";
  int64_t timeout_ms = 10000;
  std::string ca_file;  // PEM of trusted CAs for https (default: the system store)
  // Where api_key / webhook_secret came from ("config", "STRIPE_API_KEY", … or "" when unset),
  // and why a setting is not used: for the start log (never the secrets themselves).
  std::string api_key_origin, webhook_secret_origin;
  std::vector<std::string> warnings;

  // Why base_url cannot carry the API key (empty when it can): https://, or http:// to a
  // loopback host (a local test server).
  std::string url_problem() const;
};

// The settings from the config's [payment] section (`cfg`, its MERCATO_STRIPE_* overrides
// already applied), each falling back to the contract's environment name when the config leaves
// it unset (empty, or the built-in default): stripe_secret_key → STRIPE_API_KEY,
// stripe_webhook_secret → STRIPE_WEBHOOK_SECRET, stripe_base_url → STRIPE_BASE_URL,
// stripe_timeout_ms → STRIPE_TIMEOUT_MS, stripe_ca_file → STRIPE_CA_FILE. `getenv_fn` defaults
// to the process environment.
stripe_settings resolve_stripe_settings(const mercato::payment_config& cfg,
                                        const char* (*getenv_fn)(const char*) = nullptr);

class stripe_gateway final : public payment_gateway {
 public:
  explicit stripe_gateway(stripe_settings s)
      : settings_(std::move(s)), configured_(!settings_.api_key.empty() && settings_.url_problem().empty()) {}
  std::string_view adapter() const noexcept override { return "stripe"; }
  bool configured() const noexcept override { return configured_; }

  gateway_result authorize(money::cents amount, std::string_view currency, std::string_view token,
                           bool capture, std::string_view idempotency_key) override;
  gateway_result capture(std::string_view reference, money::cents amount, bool final,
                         std::string_view idempotency_key) override;
  gateway_result cancel(std::string_view reference, std::string_view idempotency_key) override;
  gateway_result refund(std::string_view reference, money::cents amount,
                        std::string_view idempotency_key) override;
  // GET /v1/payment_intents/{id} and the verdict its state gives on `op` (reconciliation):
  //   authorize/sale  requires_capture / succeeded → approved; requires_payment_method,
  //                   canceled, requires_action → declined; processing, requires_confirmation →
  //                   undecided;
  //   capture         amount_received ≥ captured_before + amount → approved (closed unless the
  //                   intent still requires_capture); still requires_capture without it →
  //                   undecided (re-sending executes it); succeeded / canceled without it →
  //                   declined;
  //   void            canceled, or succeeded with nothing capturable and nothing received
  //                   beyond captured_before > 0 → approved; requires_capture → undecided;
  //                   otherwise declined;
  //   refund          GET /v1/refunds of the intent (newest first, 100 a page, at most 10 pages
  //                   followed by starting_after), the one whose metadata[mercato_transaction_id]
  //                   is our transaction id (= the key): succeeded / pending → approved with its
  //                   re_ id; failed / canceled → declined with its failure_reason (the create
  //                   answer's verdict); not in the whole list → undecided (never reached
  //                   Stripe: re-sent with its key); not in the 10 pages → undecided;
  //   no intent id → undecided.
  // An HTTP error is never a verdict (undecided; unavailable when Stripe could not be reached).
  gateway_result lookup(const pending_operation& op) override;

  // Stripe-Signature check of a webhook body at unix time `now`.
  bool verify_signature(std::string_view header, std::string_view body, int64_t now) const;
  const stripe_settings& settings() const noexcept { return settings_; }

 private:
  struct answer;
  answer call(const char* method, std::string target, std::vector<std::pair<std::string, std::string>> form,
              std::string_view idempotency_key) const;
  gateway_result lookup_refund(const pending_operation& op) const;
  stripe_settings settings_;
  bool configured_ = false;
};

// The signature check itself (exposed for tests): header "t=<unix>,v1=<hex>[,v1=…]".
bool verify_stripe_signature(std::string_view header, std::string_view body,
                             std::string_view secret, int64_t now, int64_t tolerance_seconds = 300);

}  // namespace mercato::payment
