// What a payment service provider adapter implements (agents/8004-payment.md "Gateway interface").
// Every call carries the PSP idempotency key (= our transaction_id): re-sending the same call with
// the same key after a timeout returns the first answer and never moves money twice. Adapters are
// called from database pool threads, outside any transaction, and must be thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "domain/money.hpp"

namespace mercato::payment {

struct gateway_result {
  enum class outcome {
    approved,         // the PSP did it
    declined,         // the PSP refused: error_code / message
    outcome_unknown,  // sent, no answer (timeout): re-send with the same key later
    unavailable,      // not sent (connection refused, not configured): nothing happened
  };
  outcome result = outcome::unavailable;
  std::string reference;  // PSP id of the charge / refund
  std::string auth_code;
  std::string error_code;
  std::string message;

  bool approved() const noexcept { return result == outcome::approved; }
};

class payment_gateway {
 public:
  virtual ~payment_gateway() = default;
  virtual std::string_view adapter() const noexcept = 0;  // test | stripe | external
  // False when the adapter lacks what it needs (API key): callers answer 503 before any call.
  virtual bool configured() const noexcept = 0;

  // `token` names the instrument at the PSP; `capture` = sale (authorize + capture at once).
  virtual gateway_result authorize(money::cents amount, std::string_view currency,
                                   std::string_view token, bool capture,
                                   std::string_view idempotency_key) = 0;
  virtual gateway_result capture(std::string_view reference, money::cents amount, bool final,
                                 std::string_view idempotency_key) = 0;
  virtual gateway_result cancel(std::string_view reference, std::string_view idempotency_key) = 0;
  virtual gateway_result refund(std::string_view reference, money::cents amount,
                                std::string_view idempotency_key) = 0;
};

}  // namespace mercato::payment
