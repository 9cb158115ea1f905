// SQL of the customer agent (schema `customers`): every function runs inside the caller's
// transaction on a pool thread and answers a value or a domain failure (not_found, conflict,
// invalid) without throwing, so the transaction still commits what it should (nothing, for a
// refusal). Documents are the REST shapes of agents/8007-customer.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "customer/customer_messages.hpp"
#include "customer/daily_schedule.hpp"
#include "domain/money.hpp"
#include "mercato/event.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::customer::store {

using json = nlohmann::json;

// A value, or the failure that refused the request.
template <class T>
struct result {
  std::optional<T> value;
  failure error;

  bool ok() const noexcept { return value.has_value(); }
  static result of(T v) { return result{std::move(v), {}}; }
  static result fail(failure_kind kind, std::string code, std::string message, std::string detail = {}) {
    return result{std::nullopt, failure{kind, std::move(code), std::move(message), std::move(detail)}};
  }
  template <class U>
  static result from(const result<U>& other) {
    return result{std::nullopt, other.error};
  }
};

std::string not_found_text(const std::string& customer_id);  // "Customer with ID {id} not found"

// ---- profiles -------------------------------------------------------------------------------

struct new_profile {
  std::string customer_id;  // empty → a UUID
  std::string email;        // normalized
  std::optional<std::string> phone, first_name, last_name, date_of_birth, gender, company_name;
  std::string customer_type = "individual";
  std::optional<std::string> referral_code;
  std::string source = "api";
};
// 409 id_taken / email_taken, 422 unknown referral code. Enrols in loyalty (bronze, referral code),
// creates the store-credit account, publishes customer_registered.
result<json> create_profile(pqxx::work& tx, const new_profile& p);

// The live profile (deleted ones are gone), or nullopt.
std::optional<json> load_profile(pqxx::transaction_base& tx, const std::string& customer_id);
result<json> get_profile(pqxx::transaction_base& tx, const std::string& customer_id);
result<json> find_by_email(pqxx::work& tx, const std::string& email);

struct profile_filter {
  std::optional<std::string> email, account_status, customer_type, loyalty_tier, search;
  // ISO date (whole UTC days) or instant ending in Z, both inclusive (validated by profile_input).
  std::optional<std::string> registered_from, registered_to;
  // notifications.marketing_email is true (opted in) / is not.
  std::optional<bool> marketing_opt_in;
  int64_t skip = 0;
  int64_t limit = 100;
};
// CustomerProfile documents, registration_date DESC, customer_id.
json list_profiles(pqxx::work& tx, const profile_filter& f);
// How many profiles match `f` (skip/limit ignored).
int64_t count_profiles(pqxx::work& tx, const profile_filter& f);

// `changes` holds validated, normalized PUT fields (null = clear). 404, 409 email_taken,
// 409 illegal account status change. Publishes customer_updated with the changed field names.
result<json> update_profile(pqxx::work& tx, const std::string& customer_id, const json& changes);

// Erasure: 404, 409 "Customer has open orders". `open_orders`: the order agent's count_open_orders
// answer; nullopt (order agent down) → this agent's projection of the order events it has seen.
result<bool> erase_profile(pqxx::work& tx, const std::string& customer_id,
                           std::optional<int64_t> open_orders = std::nullopt);

// ensure_customer: by e-mail (case-insensitive) or created with `source`.
result<ensured_customer> ensure_profile(pqxx::work& tx, const ensure_customer& m);

// The typed summary (validate_customer / get_customer): loyalty, credit and default addresses.
// One statement each (so a unit of only this needs no transaction).
result<customer_profile> summary(pqxx::transaction_base& tx, const std::string& customer_id);
// The same for several customers in ONE statement (the agent's shared reads): one result per id,
// in the ids' order; an id may repeat.
std::vector<result<customer_profile>> summaries(pqxx::transaction_base& tx, const std::vector<std::string>& ids);
customer_profile summary_of(pqxx::transaction_base& tx, const json& profile);
// The same for a list of profile documents, in their order (two queries for the whole list).
std::vector<customer_profile> summaries_of(pqxx::work& tx, const json& profiles);

// ---- addresses ------------------------------------------------------------------------------

// `fields` validated by the routes (country_code upper-cased). 404, 409 "Address limit reached (20)".
result<json> add_address(pqxx::work& tx, const std::string& customer_id, const json& fields);
result<json> list_addresses(pqxx::work& tx, const std::string& customer_id,
                            const std::optional<std::string>& type);
result<json> update_address(pqxx::work& tx, const std::string& customer_id,
                            const std::string& address_id, const json& fields);
result<bool> delete_address(pqxx::work& tx, const std::string& customer_id, const std::string& address_id);
result<json> make_default_address(pqxx::work& tx, const std::string& customer_id,
                                  const std::string& address_id);

// ---- preferences ----------------------------------------------------------------------------

result<json> get_preferences(pqxx::work& tx, const std::string& customer_id);
// `prefs` is {category: {key: value}} with known categories only.
result<json> put_preferences(pqxx::work& tx, const std::string& customer_id, const json& prefs);

// ---- interactions ---------------------------------------------------------------------------

result<json> add_interaction(pqxx::work& tx, const std::string& customer_id, const json& fields);
struct interaction_filter {
  std::optional<std::string> status, interaction_type;
  int64_t skip = 0;
  int64_t limit = 100;
};
result<json> list_interactions(pqxx::work& tx, const std::string& customer_id, const interaction_filter& f);
// 404 "Interaction not found"; 409 illegal status change; 422 resolution missing when resolving.
result<json> patch_interaction(pqxx::work& tx, const std::string& customer_id,
                               const std::string& interaction_id, const json& changes);

// ---- loyalty (loyalty_store.cpp) ------------------------------------------------------------

result<json> loyalty(pqxx::work& tx, const std::string& customer_id);
result<json> loyalty_transactions(pqxx::work& tx, const std::string& customer_id,
                                  const std::optional<std::string>& type, int64_t skip, int64_t limit);
// {transaction, loyalty}; 409 "Adjustment would make the balance negative".
result<json> adjust_points(pqxx::work& tx, const std::string& customer_id, int64_t points,
                           const std::string& reason, const std::string& adjusted_by);
result<redemption> quote_points(pqxx::work& tx, const quote_redemption& q);
result<redemption> redeem(pqxx::work& tx, const redeem_points& r);
result<redemption> restore(pqxx::work& tx, const restore_points& r);
// Expires lots whose expires_at ≤ as_of ("" = now); returns the number of lots expired.
int64_t expire_lots(pqxx::work& tx, const std::string& as_of);
// Reviews tiers whose tier_expiry_date ≤ as_of's date; returns the profiles reviewed.
int64_t review_tier_expiries(pqxx::work& tx, const std::string& as_of);

// ---- daily jobs (job_runs_store.cpp) --------------------------------------------------------

// A daily job's work for "now" (as_of ""): expire_lots, review_tier_expiries.
using daily_work = int64_t (*)(pqxx::work& tx, const std::string& as_of);
struct job_run {
  bool ran = false;         // false: a completed run already covered the slot; nothing done
  int64_t count = 0;        // what `work` returned
  schedule::date covered;   // the latest slot a completed run now covers (≥ the slot asked for)
};
// Runs `work` for the slot dated `slot` unless job_runs says a completed run covers it, and
// records the run in the same transaction. The job's row is locked first: a second incarnation
// running the same slot waits, then finds it covered.
result<job_run> run_daily_job(pqxx::work& tx, const std::string& job, schedule::date slot, daily_work work);

// ---- store credit (loyalty_store.cpp) -------------------------------------------------------

inline constexpr const char* store_currency = "USD";
result<json> store_credit(pqxx::work& tx, const std::string& customer_id);
result<credit_result> add_credit(pqxx::work& tx, const add_store_credit& m);
result<credit_result> redeem_credit(pqxx::work& tx, const redeem_store_credit& m);
result<credit_result> restore_credit(pqxx::work& tx, const restore_store_credit& m);
// {balance}; 409 "Adjustment would make the balance negative".
result<json> adjust_credit(pqxx::work& tx, const std::string& customer_id, money::cents amount,
                           const std::string& reason, const std::string& adjusted_by);

// ---- order events (loyalty_store.cpp) -------------------------------------------------------

// Applies an order.* event once (de-duplicated by event id): stats, open orders, earning on
// delivery (+ referral bonus), reversal on refunds. Returns false for a duplicate.
bool apply_order_event(pqxx::work& tx, const event& e);
// Whether an event's whole work, de-duplication included, is one statement (the events of every
// placement: order_created, order_confirmed), so that it may run without a transaction: its
// effects and its processed mark commit together, and running it again is a skipped duplicate.
bool applies_in_one_statement(const event& e);
// A run of consecutive events applies_in_one_statement accepts (else logic_error), applied in ONE
// statement over a jsonb array of them, with the effects of applying them one after the other:
// each de-duplicated by event id, an order's events folded into one row change, the orders that
// become confirmed counted per customer. In a transaction or, alone, without one. Returns how many
// were first deliveries (none for an empty run, which runs no statement).
int64_t apply_in_one_statement(pqxx::transaction_base& tx, const std::vector<event>& events);
// apply_order_event without a transaction, for an event applies_in_one_statement accepts: the run
// of that one event.
bool apply_order_event(pqxx::nontransaction& tx, const event& e);

outbox_stats_reply outbox_statistics(pqxx::work& tx);
int64_t count_active(pqxx::work& tx, int64_t days);

// ---- shared helpers (customer_store.cpp) ----------------------------------------------------

// SQL text rendering `column` (timestamptz) as ISO 8601 UTC.
std::string iso_sql(const std::string& column);
// Writes an event to the customers outbox in `tx`.
void publish(pqxx::work& tx, const std::string& name, const json& payload, const std::string& aggregate,
             const std::string& correlation = {});
// Locks the live profile row; false when there is none.
bool lock_profile(pqxx::work& tx, const std::string& customer_id);

}  // namespace mercato::customer::store
