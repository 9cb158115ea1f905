// The payment agent pointed at the fake Stripe server (fake_stripe.hpp), for the Stripe suites.
// The agent takes its Stripe settings from the config's [payment] section (`via::config`) or,
// with the config left at its defaults, from the contract's environment names (`via::environment`:
// STRIPE_API_KEY, STRIPE_BASE_URL, STRIPE_TIMEOUT_MS, STRIPE_WEBHOOK_SECRET).
#pragma once

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "fake_stripe.hpp"
#include "payment/payment_agent.hpp"
#include "payment/payment_messages.hpp"
#include "payment/stripe_gateway.hpp"
#include "support/agent_fixture.hpp"

namespace mercato::test {

constexpr const char* stripe_webhook_secret = "whsec_stripe_test";
constexpr const char* stripe_api_key = "sk_test_fake";

// The Stripe adapter alone, talking to `stripe` (2 s timeout), for tests of its answers.
inline payment::stripe_settings adapter_settings(const fake_stripe& stripe) {
  payment::stripe_settings s;
  s.api_key = stripe_api_key;
  s.base_url = stripe.base_url();
  s.timeout_ms = 2000;
  return s;
}

// Sets the contract's environment names for the agent's start (and unsets them after).
struct stripe_env {
  explicit stripe_env(const std::string& base_url) {
    setenv("STRIPE_API_KEY", stripe_api_key, 1);
    setenv("STRIPE_BASE_URL", base_url.c_str(), 1);
    setenv("STRIPE_TIMEOUT_MS", "1000", 1);
    setenv("STRIPE_WEBHOOK_SECRET", stripe_webhook_secret, 1);
  }
  ~stripe_env() {
    for (const char* v : {"STRIPE_API_KEY", "STRIPE_BASE_URL", "STRIPE_TIMEOUT_MS", "STRIPE_WEBHOOK_SECRET"})
      unsetenv(v);
  }
};

struct stripe_fixture {
  enum class via { config, environment };

  explicit stripe_fixture(via how = via::config)
      : env(how == via::environment ? std::make_unique<stripe_env>(stripe.base_url()) : nullptr),
        f{{spec_for("payment", &spawn_payment_agent)}, options(how, stripe.base_url())} {}

  // Calls time out after 1 s (far above a loaded machine's local round trip); a late answer
  // comes after 2 s, well past it.
  fake_stripe stripe{stripe_api_key, 2000};
  std::unique_ptr<stripe_env> env;
  agent_fixture f;

  static fixture_options options(via how, const std::string& base_url) {
    fixture_options o;
    o.seed = true;
    if (how == via::config)
      o.adjust = [base_url](config& c) {
        c.payment.stripe_secret_key = stripe_api_key;
        c.payment.stripe_webhook_secret = stripe_webhook_secret;
        c.payment.stripe_base_url = base_url;
        c.payment.stripe_timeout = std::chrono::milliseconds(1000);
      };
    return o;
  }

  reply<payment::payment_view> authorize(const std::string& order, money::cents amount, const std::string& token,
                                         bool capture = false) {
    payment::authorize_payment m;
    m.order_id = order;
    m.customer_id = "CUST-001";
    m.amount = amount;
    m.payment_token = token;
    m.gateway_id = 2;
    m.capture = capture;
    m.idempotency_key = "auth-" + order;
    return f.ask<payment_actor, payment::payment_view>("payment", m);
  }
  reply<payment::payment_view> capture(const std::string& payment_id, money::cents amount, bool final,
                                       const std::string& key, bool whole_if_single_capture = false) {
    return f.ask<payment_actor, payment::payment_view>(
        "payment", payment::capture_payment{{}, payment_id, amount, final, key, whole_if_single_capture});
  }
  reply<payment::refund_view> refund(const std::string& payment_id, money::cents amount, const std::string& key) {
    payment::refund_payment r;
    r.payment_id = payment_id;
    r.amount = amount;
    r.reason = "customer_request";
    r.idempotency_key = key;
    return f.ask<payment_actor, payment::refund_view>("payment", r);
  }
  std::string scalar(const std::string& sql) {
    pqxx::connection c{f.database().url()};
    pqxx::read_transaction tx{c};
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string{} : r[0][0].c_str();
  }
  std::string column(const std::string& payment_id, const std::string& col) {
    return scalar("SELECT " + col + " FROM payments.payments WHERE payment_id = '" + payment_id + "'");
  }
  http_reply webhook(const nlohmann::json& event) {
    std::string body = event.dump();
    return f.http("payment", "POST", "/api/v1/payment/webhooks/Stripe", body,
                  {{"stripe-signature", fake_stripe::signature(body, stripe_webhook_secret, std::time(nullptr))}});
  }
};

}  // namespace mercato::test
