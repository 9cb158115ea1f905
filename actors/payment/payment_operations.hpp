// Money-moving operations in three phases (agents/8004-payment.md "How an operation runs"):
//   1. lock the payment, check the FSM, insert a `pending` transaction with its idempotency key,
//      commit;
//   2. call the gateway outside any transaction, with the transaction_id as PSP idempotency key;
//   3. lock the payment again, apply the answer, audit + outbox, commit.
// A second operation while (2) runs hits the one-in-flight index (409); a repeated key returns the
// stored transaction, or re-sends a still-pending one with the same PSP key (never a second
// charge). Runs on a database pool thread with its connection; no actors here.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction>

#include "db/outbox.hpp"
#include "payment/payment_gateway.hpp"
#include "payment/payment_store.hpp"
#include "payment/stripe_gateway.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::payment {

struct payment_settings {
  int64_t authorization_ttl_seconds = 7 * 24 * 3600;
  std::string default_card;         // test mode: used when a request names no instrument
  bool test_gateway_enabled = true;
  std::string fingerprint_secret = "mercato-payment-fingerprint";
  int64_t reconcile_after_seconds = 30;
  int64_t give_up_after_seconds = 24 * 3600;
  // MERCATO_PAYMENT_DEFAULT_CARD, MERCATO_PAYMENT_TEST_GATEWAY (0/1),
  // MERCATO_PAYMENT_AUTH_TTL_SECONDS, MERCATO_PAYMENT_FINGERPRINT_SECRET.
  static payment_settings from_environment();
};

// Gateway rows (cached once per incarnation) and their adapters.
class gateway_registry {
 public:
  gateway_registry(payment_settings settings, stripe_settings stripe);
  std::optional<gateway_row> row(tx_t& tx, int gateway_id);
  std::vector<gateway_row> rows(tx_t& tx);
  payment_gateway* adapter(const gateway_row& g);  // nullptr for `external`
  bool configured(const gateway_row& g) const;
  int default_gateway_id() const;
  // Whether an authorization may run on a gateway that answers in-process (the test gateway is
  // enabled): else the agent sends each authorization straight to authorize().
  bool in_process_enabled() const noexcept { return settings_.test_gateway_enabled; }
  const payment_settings& settings() const noexcept { return settings_; }
  const stripe_gateway& stripe() const noexcept { return stripe_; }

 private:
  payment_settings settings_;
  stripe_gateway stripe_;
  std::mutex mutex_;
  std::vector<gateway_row> rows_;
};

struct operation_result {
  std::optional<failure> refusal;  // refused, declined, or outcome unknown
  bool outcome_unknown = false;
  bool has_transaction = false;
  payment_row payment;
  transaction_row transaction;
  std::optional<refund_row> refund;
  bool replayed = false;
  bool wrote_events = false;
};

struct authorize_input {
  std::string order_id, customer_id;
  money::cents amount = 0;
  std::string currency = "USD";
  std::string method_id, token;
  int gateway_id = 0;
  bool capture = false;
  std::string key;
  int risk_score = -1;
  std::string risk_level;
  bool fraud_blocked = false;  // fraud said block: record a failed FRAUD_BLOCKED transaction
};
struct capture_input {
  std::string payment_id, order_id;
  money::cents amount = 0;  // 0 = remaining
  bool final = false;
  std::string key;
  bool whole_if_single_capture = false;  // see capture_payment
};
struct void_input {
  std::string payment_id, order_id, key;
};
struct refund_input {
  std::string payment_id, order_id;
  money::cents amount = 0;  // 0 = refundable
  std::string reason = "other", refund_type, key, requested_by, notes;
};
struct external_input {
  std::string order_id, customer_id;
  money::cents amount = 0;
  std::string currency = "USD", source, reference;
};
struct cancel_result {
  std::string action = "none";  // void | refund | none
  operation_result result;
  bool has_payment = false;
};

class payment_operations {
 public:
  explicit payment_operations(std::shared_ptr<gateway_registry> gateways)
      : gateways_(std::move(gateways)) {}

  operation_result authorize(pqxx::connection& c, const authorize_input& in);
  // authorize() for the authorizations that meet in the payment agent's queue. Those of orders on
  // an in-process gateway (payment_gateway::in_process) share one staging statement and one
  // completion statement, with the gateway's answers in between. nullopt for every other input (a
  // refusal, a repeated key, a live payment, a network PSP, a second input of one order): the
  // caller runs authorize() for it, in a job of its own so that network calls stay concurrent.
  // Every step is keyed as in authorize(), so inputs of a batch that failed midway may be re-run
  // one by one.
  std::vector<std::optional<operation_result>> authorize_all(pqxx::connection& c,
                                                             const std::vector<authorize_input>& ins);
  operation_result capture(pqxx::connection& c, const capture_input& in);
  operation_result cancel_authorization(pqxx::connection& c, const void_input& in);
  operation_result refund(pqxx::connection& c, const refund_input& in);
  cancel_result cancel_order(pqxx::connection& c, const std::string& order_id,
                             money::cents refund_amount, const std::string& key);
  operation_result record_external(pqxx::connection& c, const external_input& in);
  // Reconciliation of a pending transaction: the PSP's records are looked up first (the
  // adapter's lookup: a Stripe intent by its id) and decide it when they can; otherwise the call
  // is re-sent with its key; the answer is applied as a direct one. An unreachable PSP leaves it
  // pending. A transaction pending longer than give_up_after_seconds fails with GATEWAY_TIMEOUT.
  operation_result resume(pqxx::connection& c, const std::string& transaction_id, bool give_up);
  // Authorizations past expires_at → expired (remainder released), payment_expired.
  int64_t expire_authorizations(pqxx::connection& c, int64_t limit = 500);

  // Applies a PSP answer that arrived another way (a webhook) to the pending transaction `t`
  // inside the caller's transaction: the same phase 3 (payment locked, transaction
  // completed/failed, payment FSM, audit, outbox) as a direct answer.
  operation_result settle(pqxx::work& tx, const transaction_row& t, const gateway_result& r) {
    return apply_in(tx, t, r);
  }

  gateway_registry& gateways() { return *gateways_; }

 private:
  // `resend`: the transaction was sent before (same key); an unreachable PSP keeps it pending.
  // `staged`: the payment and gateway rows the caller just wrote or read in the transaction that
  // staged `t` (saves a read transaction); else they are read here.
  struct staged_rows {
    payment_row payment;
    gateway_row gateway;
  };
  operation_result send_and_apply(pqxx::connection& c, const transaction_row& t, bool resend = false,
                                  const staged_rows* staged = nullptr);
  // Phase 1 of an operation on an existing payment (capture, void, refund), then phases 2 and 3:
  // locks the payment (by id, else the order's), answers a repeated key (replay_by_key), asks
  // `plan(payment)` for the pending transaction or a refusal, stages it (one operation in
  // flight per payment: else 409) and lets `finish(tx, payment, t)` add its rows or complete it in
  // the same transaction (a result: no gateway call; nullopt: the gateway is called).
  template <class Plan, class Finish>
  operation_result stage_and_send(pqxx::connection& c, const std::string& payment_id, const std::string& order_id,
                                  const std::string& key, std::string_view type, Plan plan, Finish finish);
  // Phase 3. `known`: the payment as the caller last saw it (staged with `t`, or read after `t`
  // was staged); then apply_if_unchanged is tried first.
  operation_result apply(pqxx::connection& c, const transaction_row& t, const gateway_result& r,
                         const payment_row* known = nullptr);
  // Phase 3 planned from `known` and written in one autocommit statement instead of a
  // transaction of two (store::complete_if_unchanged): saves BEGIN, COMMIT and a round trip on
  // every authorization, capture and void. nullopt when the payment changed since (a concurrent
  // retry of the key, reconciliation, a webhook): nothing written, the caller runs apply_in.
  // Not for refunds (their refund row is updated in the same transaction).
  std::optional<operation_result> apply_if_unchanged(pqxx::connection& c, const transaction_row& t,
                                                     const gateway_result& r, const payment_row& known);
  // Phase 3 inside `tx`: locks t's payment, completes `t` with `r`, moves the payment's FSM and
  // writes its audit row and events.
  operation_result apply_in(pqxx::work& tx, transaction_row t, const gateway_result& r);
  // Phase 3's decisions, without I/O. `t` completed with the PSP's answer `r` (fee from `g`):
  transaction_row completed_transaction(transaction_row t, const gateway_result& r,
                                        const std::optional<gateway_row>& g) const;
  // and what the completed `t` does to `p`: the payment's next state, whether it changed, the
  // authorization's time to live (0: unchanged), the audit row and the events (a refund's
  // events need its row, updated by the caller).
  struct outcome {
    payment_row next;
    bool changed = false;
    int ttl_seconds = 0;
    audit_entry audit;
    db::outbox_rows events;
  };
  outcome plan_outcome(const payment_row& p, const transaction_row& t, const gateway_result& r,
                       const refund_row* refund) const;
  operation_result stored(tx_t& tx, const transaction_row& t);
  std::optional<operation_result> replay_by_key(pqxx::connection& c, tx_t& tx,
                                                const std::string& payment_id, const std::string& key,
                                                std::string_view type);

  std::shared_ptr<gateway_registry> gateways_;
  db::outbox outbox_{"payments"};
};

// Text of the failure a declined / failed transaction answers with.
failure declined_failure(const transaction_row& t);

// A new pending gateway operation of `type` on payment `p` for `amount`, under idempotency key
// `key` (empty: its own transaction_id), ready to be staged with insert_transaction.
transaction_row pending_transaction(const payment_row& p, const char* type, money::cents amount,
                                    const std::string& key);
// The pending refund row of the refund transaction `t` on payment `p` (notes, requested_by: the
// caller's).
refund_row pending_refund(const payment_row& p, const transaction_row& t, const std::string& type,
                          const std::string& reason);

}  // namespace mercato::payment
