// PSP webhooks (agents/8004-payment.md "REST" webhooks, "External parts", "Background work"):
// POST /api/v1/payment/webhooks/{gateway_name} verifies the Stripe-Signature (t=…,v1=… HMAC-SHA256
// of "t.payload", 300 s tolerance), stores the event once in payments.payment_webhooks (UNIQUE
// (gateway_id, event_id): a duplicate answers 200 {received: true} and is not applied again), then
// applies it through the payment state machine in its own transaction:
//   payment_intent.succeeded      pending authorize/sale → approved; captured total (amount_received)
//                                 above ours → a capture of the difference (final)
//   payment_intent.payment_failed pending authorize/sale → failed (last_payment_error code)
//   payment_intent.canceled       pending authorize/sale → failed `canceled`; authorized /
//                                 partially_captured → void (remainder released)
//   charge.refunded               pending refund → completed; refunded total (amount_refunded) above
//                                 ours → a refund of the difference
//   charge.dispute.created        `dispute_opened` event + audit row (no state change)
// Payments are matched by gateway_reference (the PaymentIntent id) or metadata.transaction_id.
// An event that cannot be applied yet (no matching payment, another operation in flight) stays
// unprocessed with its processing_error; the 60 s retry job re-applies it (retry_count < 10).
// An event the FSM refuses (e.g. canceled after capture) is marked processed with the refusal as
// processing_error: it never changes state. Runs on a pool thread.
#pragma once

#include <cstdint>
#include <string>

#include <pqxx/connection>

#include "mercato/http_message.hpp"
#include "payment/payment_operations.hpp"

namespace mercato::payment {

// The whole route: 404 unknown gateway, 400 bad signature / timestamp / body, else 200.
http_response receive_webhook(payment_operations& ops, pqxx::connection& c, const http_request& req,
                              const std::string& gateway_name, int64_t now_unix);

// Applies the stored webhook `webhook_id` unless already processed; true when it is processed now.
bool apply_webhook(payment_operations& ops, pqxx::connection& c, int64_t webhook_id);

// Retry job: unprocessed webhooks with retry_count < 10, oldest first; returns how many were
// processed by this pass.
int64_t reapply_webhooks(payment_operations& ops, pqxx::connection& c, int64_t limit = 100);

}  // namespace mercato::payment
