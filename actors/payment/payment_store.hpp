// SQL for the payments schema: rows as plain structs, one function per statement. Every function
// runs inside the caller's transaction; row locks are taken in one order (payment, then its
// transaction / refund rows) so concurrent operations cannot deadlock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "db/outbox.hpp"
#include "domain/money.hpp"

namespace mercato::payment {

struct gateway_row {
  int gateway_id = 0;
  std::string gateway_name, gateway_type, adapter;
  bool is_active = false, is_test_mode = false;
  std::vector<std::string> currencies;
  int64_t fee_percent_e2 = 0;  // 2.90 % = 290
  money::cents fee_fixed = 0, min_amount = 1, max_amount = money::max_amount;
  std::string created_at, updated_at;
};

struct method_row {
  std::string method_id, customer_id;
  int gateway_id = 0;
  std::string method_type, card_brand, card_last_four;
  int expiry_month = 0, expiry_year = 0;
  std::string holder_name, fingerprint, gateway_token, gateway_customer_id;
  bool is_default = false, is_verified = false;
  std::string created_at, updated_at;
};

struct payment_row {
  std::string payment_id, order_id, customer_id;
  int gateway_id = 0;
  std::string method_id, instrument_token, currency, status;
  money::cents amount = 0, authorized = 0, captured = 0, refunded = 0, fee = 0;
  std::string authorization_code, gateway_reference;
  int risk_score = -1;
  std::string risk_level, source, expires_at, authorized_at;
  bool capture_final = false;
  // The PSP takes several partial captures of this authorization (multicapture): a partial
  // capture may leave the rest open. False: a capture closes the authorization (rest released).
  bool multicapture = false;
  bool expired = false;  // expires_at < now() when read
  int version = 0;
  std::string created_at, updated_at;
};

struct transaction_row {
  std::string transaction_id, payment_id, order_id, customer_id;
  int gateway_id = 0;
  std::string payment_method_id, type, status;
  money::cents amount = 0, fee = 0, net = 0;
  bool capture_final = false;
  std::string gateway_transaction_id, authorization_code, error_code, error_message;
  std::string idempotency_key;
  int risk_score = -1;
  std::string risk_level, initiated_at, completed_at, created_at, updated_at;
  std::string currency;
};

struct refund_row {
  std::string refund_id, transaction_id, payment_id, order_id, customer_id;
  std::string refund_type, refund_reason;
  money::cents amount = 0;
  std::string currency, status, gateway_refund_id, error_code, error_message, notes, requested_by;
  std::string requested_at, completed_at, created_at, updated_at;
};

using tx_t = pqxx::transaction_base;

// Gateways
std::vector<gateway_row> load_gateways(tx_t& tx);

// Methods
std::optional<method_row> find_method(tx_t& tx, const std::string& method_id);  // not deleted
std::optional<method_row> default_method(tx_t& tx, const std::string& customer_id);
std::vector<method_row> list_methods(tx_t& tx, const std::string& customer_id);
// Inserts; when `make_default` (or the customer has no default yet) it becomes the default.
method_row insert_method(tx_t& tx, const method_row& m, bool make_default);
// Soft delete; the newest remaining method becomes default when the deleted one was. False: none.
bool delete_method(tx_t& tx, const std::string& method_id);
std::optional<method_row> set_default_method(tx_t& tx, const std::string& method_id);
// Payment-method changes (fraud's frequent_payment_changes signal) per (customer, days), in ONE
// statement for all of `asks` (the agent's shared reads); one count per ask, in their order.
struct method_changes_ask {
  std::string customer_id;
  int64_t days = 7;
};
std::vector<int64_t> method_changes_since(tx_t& tx, const std::vector<method_changes_ask>& asks);

// Payments
std::optional<payment_row> get_payment(tx_t& tx, const std::string& payment_id, bool lock = false);
std::optional<payment_row> live_payment_for_order(tx_t& tx, const std::string& order_id,
                                                  bool lock = false);
std::optional<payment_row> latest_payment_for_order(tx_t& tx, const std::string& order_id);
struct payment_filter {
  std::string order_id, customer_id, status;
  int64_t skip = 0, limit = 100;
};
std::vector<payment_row> list_payments(tx_t& tx, const payment_filter& f);
// The payment a PSP knows as `reference` on gateway `gateway_id` (webhooks), locked.
std::optional<payment_row> payment_by_reference(tx_t& tx, int gateway_id, const std::string& reference);
// Inserts the payment and its first transaction in one statement. With `find_earlier`, an
// authorize/sale of the same order under t.idempotency_key (authorization_by_key) is returned
// instead and nothing is written. Neither inserted nor earlier: the order already has a live
// payment (nothing written).
struct staging {
  bool inserted = false;
  std::optional<transaction_row> earlier;
};
staging insert_payment_with_transaction(tx_t& tx, const payment_row& p, const transaction_row& t,
                                        bool find_earlier);
// insert_payment_with_transaction for several new authorizations in one statement (the
// authorizations of orders that meet in the payment agent's queue); per item, in order.
struct staged_authorization {
  payment_row payment;
  transaction_row transaction;
};
std::vector<staging> stage_authorizations(tx_t& tx, const std::vector<staged_authorization>& items,
                                          bool find_earlier);
struct audit_entry {
  std::string action, old_status;
  money::cents amount = 0;
  std::string actor = "payment";
};
// One statement: writes the mutable columns of `next` (status, amounts, codes, multicapture,
// expiry; version bumped) when `changed`, the audit row `a` (new status: next.status) and `events` into `outbox`.
// Returns the payment as written (`next` when unchanged).
payment_row record_outcome(tx_t& tx, const payment_row& next, bool changed,
                           int ttl_seconds_if_authorizing, const audit_entry& a,
                           const db::outbox& outbox, const db::outbox_rows& events);
// A new payment's version (0007_payments.sql: DEFAULT 1); record_outcome, the only UPDATE of a
// payment, bumps it.
inline constexpr int new_payment_version = 1;
// Phase 3 in one autocommit statement (no BEGIN/COMMIT): what lock_and_complete and
// record_outcome write, only while the payment is still at `version` (the one `next` was
// planned from; it is locked for the statement, and a concurrent write makes the re-check under
// the lock fail) and `t` still pending. nullopt: nothing was written, the caller takes the
// locking path. `payment` is `next` when `changed` is false.
struct optimistic_completion {
  transaction_row transaction;
  payment_row payment;
};
std::optional<optimistic_completion> complete_if_unchanged(tx_t& tx, const transaction_row& t, int version,
                                                           const payment_row& next, bool changed,
                                                           int ttl_seconds, const audit_entry& a,
                                                           const db::outbox& outbox,
                                                           const db::outbox_rows& events);
// complete_if_unchanged for several transactions in one statement (each of its own payment: the
// batch locks them in payment_id order); per item, in order.
struct completion {
  transaction_row transaction;  // completed with the PSP's answer
  int version = 0;
  payment_row next;
  bool changed = false;
  int ttl_seconds = 0;
  audit_entry audit;
  const db::outbox_rows* events = nullptr;
};
std::vector<std::optional<optimistic_completion>> complete_all_if_unchanged(tx_t& tx,
                                                                           const std::vector<completion>& items,
                                                                           const db::outbox& outbox);
void audit(tx_t& tx, const std::string& payment_id, const std::string& action,
           const std::string& old_status, const std::string& new_status, money::cents amount,
           const std::string& actor = "payment");

// Transactions
std::optional<transaction_row> get_transaction(tx_t& tx, const std::string& transaction_id);
std::optional<transaction_row> transaction_by_key(tx_t& tx, const std::string& payment_id,
                                                  const std::string& key);
// The authorize/sale transaction of `order_id` with `key`.
std::optional<transaction_row> authorization_by_key(tx_t& tx, const std::string& order_id,
                                                    const std::string& key);
std::vector<transaction_row> transactions_of(tx_t& tx, const std::string& payment_id);
// The payment's operation still pending at the gateway, if any (at most one: the in-flight index).
std::optional<transaction_row> in_flight_transaction(tx_t& tx, const std::string& payment_id);
// Keeps the PSP's id that came with an undecided answer on the pending transaction
// (gateway_transaction_id), so that reconciliation can look the operation up there.
void remember_pending_reference(tx_t& tx, const std::string& transaction_id, const std::string& reference);
// False when another operation is in flight on the payment or the key exists (nothing written).
bool insert_transaction(tx_t& tx, const transaction_row& t);
// One statement: locks t.payment_id (FOR UPDATE) and completes the pending transaction `t` with
// its status, fee, net, gateway codes and error (and capture_final when `t` says so). `completed` is empty when `t` was no longer
// pending (applied meanwhile); `payment` when the payment does not exist (then nothing changed).
struct locked_completion {
  std::optional<payment_row> payment;
  std::optional<transaction_row> completed;
};
locked_completion lock_and_complete(tx_t& tx, const transaction_row& t);
// Pending transactions initiated more than `older_than_seconds` ago (reconciliation).
std::vector<std::string> stale_pending_transactions(tx_t& tx, int64_t older_than_seconds,
                                                    int64_t limit);

// Refunds
void insert_refund(tx_t& tx, const refund_row& r);
refund_row update_refund(tx_t& tx, const refund_row& r);
std::optional<refund_row> refund_by_transaction(tx_t& tx, const std::string& transaction_id);
std::vector<refund_row> refunds_of(tx_t& tx, const std::string& payment_id);

// Authorizations past expires_at without an operation in flight (sweeper), locked.
std::vector<std::string> expired_authorizations(tx_t& tx, int64_t limit);

}  // namespace mercato::payment
