// The payment state machine and fee rule (agents/8004-payment.md "Rules") as plain functions:
// which operation a payment in a given state accepts, for which amount, and the state after it.
// Refusals carry the domain code and the contract's HTTP text (all are 409 conflicts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/money.hpp"

namespace mercato::payment {

struct payment_amounts {
  std::string status;
  money::cents authorized = 0;
  money::cents captured = 0;
  money::cents refunded = 0;
  bool capture_final = false;
  bool expired = false;  // expires_at is past (authorizations only)
};

struct refusal {
  std::string code;     // not_capturable, amount_exceeds_remaining, authorization_expired, …
  std::string message;  // the REST detail text
};

// pending, authorized, partially_captured, captured, partially_refunded.
bool is_live_status(std::string_view status);

money::cents capturable_remaining(const payment_amounts& p);
money::cents refundable_amount(const payment_amounts& p);

// amount 0 means "the remaining amount".
std::optional<refusal> check_capture(const payment_amounts& p, money::cents amount);
std::optional<refusal> check_void(const payment_amounts& p);
std::optional<refusal> check_refund(const payment_amounts& p, money::cents amount);

// States after a successful operation.
std::string status_after_capture(const payment_amounts& p, money::cents amount, bool final);
// void of an authorization → voided; of a partially captured one → captured (remainder released).
std::string status_after_void(const payment_amounts& p);
std::string status_after_refund(const payment_amounts& p, money::cents amount);

// fee = round-half-up(amount × percent / 100 + fixed); percent in hundredths (2.90 % = 290).
money::cents transaction_fee(money::cents amount, int64_t percent_e2, money::cents fixed);

}  // namespace mercato::payment
