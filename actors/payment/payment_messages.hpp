// payment's typed interface (agents/8004-payment.md "Typed messages"). Typed callers are trusted for
// the amount (the order agent computed it).
#pragma once

#include <string>

#include "domain/money.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::payment {

struct payment_view {
  std::string payment_id;
  std::string order_id;
  std::string customer_id;
  int gateway_id = 0;
  std::string method_id;
  std::string status;  // pending | authorized | partially_captured | captured | partially_refunded |
                       // refunded | voided | failed | expired
  std::string currency;
  money::cents authorized_amount = 0;
  money::cents captured_amount = 0;
  money::cents refunded_amount = 0;
  money::cents fee_amount = 0;
  std::string authorization_code;
  std::string expires_at;
  std::string transaction_id;  // the transaction this operation created (or replayed)
};

// Errors: declined (conflict; detail {"error_code","message"}), no_payment_method (invalid),
// gateway_unavailable / outcome_unknown (unavailable; retry with the same key), invalid.
struct authorize_payment {
  std::string order_id;
  std::string customer_id;
  money::cents amount = 0;
  std::string currency = "USD";
  std::string method_id;      // or payment_token; neither → the customer's default method
  std::string payment_token;  // test tokens: tok_visa, tok_mastercard, tok_chargeDeclined, …
  int gateway_id = 0;         // 0 = default gateway
  bool capture = false;       // true = sale
  std::string idempotency_key;
  int risk_score = -1;
};
// order_id or payment_id. Errors: not_capturable, amount_exceeds_remaining, authorization_expired,
// declined (conflict), outcome_unknown (unavailable).
struct capture_payment {
  std::string order_id;
  std::string payment_id;
  money::cents amount = 0;
  bool final = false;
  std::string idempotency_key;
  // Where the authorization takes a single capture (no multicapture at the PSP), a partial capture
  // would release the rest for good: capture the whole remainder instead. The order agent sets it
  // (a shop ships the rest of an order it is owed money for); REST captures keep the exact amount.
  bool whole_if_single_capture = false;
};
struct void_payment {  // errors: not_voidable (conflict: captured; refund instead)
  std::string order_id;
  std::string payment_id;
  std::string idempotency_key;
};
struct refund_payment {  // errors: amount_exceeds_refundable, not_captured (conflict), declined
  std::string order_id;
  std::string payment_id;
  money::cents amount = 0;
  std::string reason = "other";
  std::string idempotency_key;
  std::string requested_by;
};
struct refund_view {
  std::string refund_id;
  std::string payment_id;
  std::string order_id;
  money::cents amount = 0;
  std::string status;  // completed | failed | pending
};
// Void when nothing was captured, else refund the captured amount (or refund_amount ≥ 0).
struct cancel_order_payment {
  std::string order_id;
  money::cents refund_amount = -1;  // -1 = everything captured
  std::string idempotency_key;
};
struct cancel_payment_result {
  std::string action;  // void | refund | none
  bool has_payment = false;
  payment_view payment;
};
struct get_order_payment {
  std::string order_id;
};
struct order_payment {
  bool found = false;  // a live payment exists
  payment_view payment;
};
// Money collected elsewhere (marketplace, external storefront): External gateway, captured.
struct record_external_payment {
  std::string order_id;
  std::string customer_id;
  money::cents amount = 0;
  std::string currency = "USD";
  std::string source;  // marketplace:<connection_id> | d2c:<store_id>
  std::string reference;
};
struct count_method_changes {
  std::string customer_id;
  int64_t days = 7;
};
// Background work on demand (infrastructure jobs, tests); the agent also runs them on timers.
// Reconciliation re-sends pending gateway operations older than `older_than_seconds` with their
// PSP key; expiry moves authorizations past expires_at to expired. Reply: rows handled.
struct reconcile_payments {
  int64_t older_than_seconds = 30;
};
struct expire_authorizations {};
// Re-applies stored webhooks not yet processed (retry_count < 10); also a 60 s timer. Reply: how
// many were processed by this pass.
struct retry_webhooks {
  int64_t limit = 100;
};

}  // namespace mercato::payment

MERCATO_MESSAGE(mercato::payment::payment_view)
MERCATO_MESSAGE(mercato::payment::authorize_payment)
MERCATO_MESSAGE(mercato::payment::capture_payment)
MERCATO_MESSAGE(mercato::payment::void_payment)
MERCATO_MESSAGE(mercato::payment::refund_payment)
MERCATO_MESSAGE(mercato::payment::refund_view)
MERCATO_MESSAGE(mercato::payment::cancel_order_payment)
MERCATO_MESSAGE(mercato::payment::cancel_payment_result)
MERCATO_MESSAGE(mercato::payment::get_order_payment)
MERCATO_MESSAGE(mercato::payment::order_payment)
MERCATO_MESSAGE(mercato::payment::record_external_payment)
MERCATO_MESSAGE(mercato::payment::count_method_changes)
MERCATO_MESSAGE(mercato::payment::reconcile_payments)
MERCATO_MESSAGE(mercato::payment::expire_authorizations)
MERCATO_MESSAGE(mercato::payment::retry_webhooks)

namespace mercato {
using payment_actor = agent_actor::extend<
    caf::replies_to<payment::authorize_payment>::with<payment::payment_view>,
    caf::replies_to<payment::capture_payment>::with<payment::payment_view>,
    caf::replies_to<payment::void_payment>::with<payment::payment_view>,
    caf::replies_to<payment::refund_payment>::with<payment::refund_view>,
    caf::replies_to<payment::cancel_order_payment>::with<payment::cancel_payment_result>,
    caf::replies_to<payment::get_order_payment>::with<payment::order_payment>,
    caf::replies_to<payment::record_external_payment>::with<payment::payment_view>,
    caf::replies_to<payment::count_method_changes>::with<count_reply>,
    caf::replies_to<payment::reconcile_payments>::with<count_reply>,
    caf::replies_to<payment::expire_authorizations>::with<count_reply>,
    caf::replies_to<payment::retry_webhooks>::with<count_reply>,
    caf::replies_to<prune_idempotency_keys>::with<count_reply>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>>;
}  // namespace mercato
