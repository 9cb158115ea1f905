// What a payment service provider adapter implements (agents/8004-payment.md "Gateway interface").
// Every call carries the PSP idempotency key (= our transaction_id): re-sending the same call with
// the same key after a timeout returns the first answer and never moves money twice. Adapters are
// called from database pool threads, outside any transaction, and must be thread-safe.
#pragma once

#include <memory>
#include <optional>
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
  // capture: the PSP closed the authorization with this capture (no further capture possible,
  // the remainder released), whatever was asked; the payment then becomes captured and final.
  bool closed = false;
  // authorize: whether the PSP accepts several partial captures of this authorization
  // (multicapture); nullopt when the answer does not say.
  std::optional<bool> multicapture;

  bool approved() const noexcept { return result == outcome::approved; }
  // The PSP decided the operation (approved or declined): nothing to re-send.
  bool decided() const noexcept { return result == outcome::approved || result == outcome::declined; }
};

// A transaction still pending at the PSP (no answer yet), as reconciliation asks about it.
struct pending_operation {
  std::string type;             // authorize | sale | capture | void | refund
  std::string reference;        // the PSP's id of the payment (empty: none came back yet)
  std::string idempotency_key;  // the PSP key it was sent with (= transaction_id)
  money::cents amount = 0;
  money::cents captured_before = 0;  // the payment's captured total without this operation
};

class payment_gateway {
 public:
  virtual ~payment_gateway() = default;
  virtual std::string_view adapter() const noexcept = 0;  // test | stripe | external
  // False when the adapter lacks what it needs (API key): callers answer 503 before any call.
  virtual bool configured() const noexcept = 0;
  // True when every call answers from this process, without I/O (the test gateway): the payment
  // agent then runs the calls of several authorizations inside one pool job, between a shared
  // staging and a shared completion. A PSP over the network keeps one job per operation.
  virtual bool in_process() const noexcept { return false; }

  // `token` names the instrument at the PSP; `capture` = sale (authorize + capture at once).
  virtual gateway_result authorize(money::cents amount, std::string_view currency,
                                   std::string_view token, bool capture,
                                   std::string_view idempotency_key) = 0;
  // `final` false: keep the rest of the authorization open for a later capture (asked only where
  // the authorization has multicapture); true: the PSP releases the rest.
  virtual gateway_result capture(std::string_view reference, money::cents amount, bool final,
                                 std::string_view idempotency_key) = 0;
  virtual gateway_result cancel(std::string_view reference, std::string_view idempotency_key) = 0;
  virtual gateway_result refund(std::string_view reference, money::cents amount,
                                std::string_view idempotency_key) = 0;
  // What the PSP's own records say about `op` (reconciliation): approved / declined when they
  // decide it; outcome_unknown when they cannot (the caller then re-sends the call with its key);
  // unavailable when the PSP could not be asked. A lookup error is never a verdict. Default: no
  // lookup (outcome_unknown).
  virtual gateway_result lookup(const pending_operation& op);
};

inline gateway_result payment_gateway::lookup(const pending_operation&) {
  gateway_result r;
  r.result = gateway_result::outcome::outcome_unknown;
  r.message = "This gateway has no lookup";
  return r;
}

}  // namespace mercato::payment
