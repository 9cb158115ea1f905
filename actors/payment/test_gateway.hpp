// The built-in test gateway: deterministic, no network. Behaves like a PSP with idempotency keys
// (a repeated key returns the recorded answer) and a ledger per charge (capture ≤ authorized,
// refund ≤ captured), so "no double capture after a timeout" can be tested for real.
//
// Test cards and tokens (tokens name the same cards; any other Luhn-valid number is approved):
//   4242424242424242  tok_visa                              approved
//   5555555555554444  tok_mastercard                        approved
//   378282246310005   tok_amex                              approved
//   4000000000000002  tok_chargeDeclined                    declined card_declined
//   4000000000009995  tok_chargeDeclinedInsufficientFunds   declined insufficient_funds
//   4000000000000069  tok_chargeDeclinedExpiredCard         declined expired_card
//   4000000000000127  tok_chargeDeclinedIncorrectCvc        declined incorrect_cvc
//   4000000000000119  tok_chargeDeclinedProcessingError     processing_error (retryable, nothing
//                     (alias tok_processingError)           charged)
//   4100000000000019  tok_chargeDeclinedFraudulent          declined fraudulent
//   4000000000000341  tok_captureDeclined                   authorized; every capture declined
//   4000000000005126  tok_refundFail                        approved; refunds fail refund_failed
//   4000000000000408  tok_timeout                           the first call with a key records
//                     the operation as done but answers outcome_unknown (a simulated timeout, at
//                     once: no thread sleeps); the same call re-sent with the same key then
//                     returns the recorded result, and so does a lookup of the key
//                     (reconciliation: "approved"). Applies to authorize, capture, void and refund.
// Every charge accepts several partial captures (multicapture); a final capture or one that
// reaches the authorized amount closes it.
//
// Stored instruments: a card saved through the test gateway becomes the token test_pm_<uuid>
// whose last two hex digits carry the card's test behaviour (the PSP's vault, kept stateless so it
// survives restarts); charge references test_ch_<uuid> carry it the same way.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "payment/payment_gateway.hpp"

namespace mercato::payment {

enum class test_behaviour : int {
  approve = 0,
  card_declined,
  insufficient_funds,
  expired_card,
  incorrect_cvc,
  processing_error,
  fraudulent,
  capture_declined,
  refund_fail,
  timeout,
  invalid,  // unknown token
};

test_behaviour behaviour_of_card(std::string_view digits);
test_behaviour behaviour_of_token(std::string_view token);  // tok_* or test_pm_*
// A fresh stored-instrument token for a card with `b`.
std::string make_test_token(test_behaviour b);

class test_gateway final : public payment_gateway {
 public:
  std::string_view adapter() const noexcept override { return "test"; }
  bool configured() const noexcept override { return true; }
  bool in_process() const noexcept override { return true; }

  gateway_result authorize(money::cents amount, std::string_view currency, std::string_view token,
                           bool capture, std::string_view idempotency_key) override;
  gateway_result capture(std::string_view reference, money::cents amount, bool final,
                         std::string_view idempotency_key) override;
  gateway_result cancel(std::string_view reference, std::string_view idempotency_key) override;
  gateway_result refund(std::string_view reference, money::cents amount,
                        std::string_view idempotency_key) override;
  // The recorded answer of op's key; outcome_unknown when the key never arrived.
  gateway_result lookup(const pending_operation& op) override;

  // Ledger views for tests and reconciliation: calls that moved money, per charge.
  money::cents captured_total(const std::string& reference) const;
  int capture_calls(const std::string& reference) const;

 private:
  struct charge {
    money::cents authorized = 0;
    money::cents captured = 0;
    money::cents refunded = 0;
    bool voided = false;
    bool final = false;
    int capture_calls = 0;
  };
  // Returns the recorded answer of a key, or records `fresh()` (run under the lock) and answers it,
  // as outcome_unknown the first time when the charge's behaviour is `timeout`.
  template <class Fresh>
  gateway_result once(std::string_view key, test_behaviour b, Fresh fresh);

  mutable std::mutex mutex_;
  std::map<std::string, gateway_result, std::less<>> by_key_;
  std::map<std::string, charge, std::less<>> charges_;
};

// The process-wide test PSP (its state outlives agent restarts, as a real PSP's would).
test_gateway& shared_test_gateway();

}  // namespace mercato::payment
