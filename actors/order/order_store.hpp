// SQL of the order agent's schema (orders.*): every function runs inside the caller's transaction
// on a database thread (db_transact), never on the actor thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/idempotency_store.hpp"
#include "order/order_model.hpp"

namespace mercato::order {

// ---- orders ----

struct step_log {
  std::string step;
  std::string direction = "do";
  int attempt = 1;
  std::string status = "succeeded";
  std::string key;
  nlohmann::json result;
  std::string error;
};


// The Idempotency-Key store of POST /orders (orders.idempotency_keys).
const db::idempotency_store& order_keys();

// Who runs a saga and for how long nobody else may ([order] saga_lease_ms): a new saga is leased
// to its placing incarnation.
struct saga_lease {
  std::string owner;  // "<process token>:<incarnation>"
  int64_t seconds = 30;
};

// The Idempotency-Key of a placement, claimed by the placement's own statement.
struct key_claim {
  std::string key;
  std::string endpoint;
  std::string fingerprint;
  db::stored_response answer;  // stored with the claim (the order's id is known before the insert)
};

// New placements, any number of them in ONE statement (the hot path: the order agent batches
// them, db/batch_queue.hpp). Per order: the order (pending), its lines, its place saga (running,
// leased to `lease_owner` for 30 s), the order_created timeline entry and `events` (outbox rows,
// outbox_row(); their payloads get the generated order_number). The saga's context gets
// `order_count_24h`, the customer's orders of the last 24 h before this one (the fraud velocity
// signal, counted up to recent_orders_cap; earlier documents of the same statement count).
// With `claim`, the statement claims the key first and writes nothing of that order when the key
// exists: the caller then decides with idempotency_store::claim() (replay, mismatch, expired).
nlohmann::json placement_doc(const order_record& o, const std::string& saga_id, const nlohmann::json& context,
                             const saga_lease& lease, const nlohmann::json& events,
                             const key_claim* claim = nullptr);
struct placed_stamp {
  std::string order_number;
  std::string created_at;
  int64_t order_count_24h = 0;
};
// `docs`: an array of placement_doc(), their keys distinct. Element i of the result is for
// docs[i]: placed, or nullopt when its key existed (nothing of it written). One statement, so it
// may run in autocommit.
std::vector<std::optional<placed_stamp>> insert_placed_orders(pqxx::transaction_base& tx, const nlohmann::json& docs);
// What insert_placed_orders answered for the placement of `order_id` with saga `saga_id`, read
// back (its statement's answer was lost with the connection); nullopt when it was not written.
std::optional<placed_stamp> find_placed_order(pqxx::transaction_base& tx, const std::string& order_id,
                                              const std::string& saga_id);
// One placement through the same statement; fills o.order_number / created_at and returns
// order_count_24h (nullopt: the key existed).
std::optional<int64_t> insert_placed_order(pqxx::transaction_base& tx, order_record& o, const std::string& saga_id,
                                           const nlohmann::json& context, const saga_lease& lease,
                                           const nlohmann::json& events, const key_claim* claim = nullptr);

// The end of successful placements, any number of them in ONE statement (the hot path: the order
// agent batches them, db/batch_queue.hpp). Per order: confirmed (only if still pending), saga
// completed, its steps, a timeline entry and its events (outbox rows as outbox_row() builds them).
struct confirmed_stamp {
  std::string confirmed_at;
  std::string updated_at;
};
// One order's part of that statement.
nlohmann::json confirmation_doc(const order_record& o, const std::string& saga_id, const nlohmann::json& context,
                                const std::vector<step_log>& steps, const nlohmann::json& events);
// `docs`: an array of confirmation_doc(). Element i of the result is for docs[i]: when its
// confirmation landed, or nullopt when that order was no longer pending (cancelled meanwhile).
std::vector<std::optional<confirmed_stamp>> commit_confirmations(pqxx::transaction_base& tx,
                                                                 const nlohmann::json& docs);
// An order_items row as the batched inserts read it (jsonb_array_elements).
nlohmann::json item_row(const order_line& l);
// An outbox row for the batched statements above: the columns db::outbox::enqueue writes.
nlohmann::json outbox_row(const std::string& name, const nlohmann::json& payload, const std::string& order_id);

// By UUID or order_number; `lock` takes FOR UPDATE on the order row.
std::optional<order_record> load_order(pqxx::work& tx, const std::string& ref, bool lock = false);
// The order ids of an existing channel order (import de-duplication), or "".
std::string find_channel_order(pqxx::work& tx, const std::string& channel, const std::string& channel_name,
                               const std::string& channel_order_id);

// order_filter (the filters of GET /orders) is in order_model.hpp: the typed list_orders_query carries it.
std::vector<order_record> list_orders(pqxx::work& tx, const order_filter& f, bool with_lines = true);
int64_t count_orders(pqxx::work& tx, const order_filter& f);
// Orders of `customer_id` in the last `hours`, without `exclude_order_id`, counted up to
// recent_orders_cap.
inline constexpr int64_t recent_orders_cap = 100;
int64_t count_recent(pqxx::work& tx, const std::string& customer_id, int64_t hours,
                     const std::string& exclude_order_id);

// Field updates (bump version and updated_at). Strings that are empty leave the column alone.
struct order_update {
  std::optional<std::string> status;
  std::optional<std::string> payment_status;
  std::optional<std::string> fulfillment_status;
  std::optional<money::cents> amount_authorized;
  std::optional<money::cents> amount_captured;
  std::optional<money::cents> amount_refunded;
  std::optional<std::string> fraud_decision;
  std::optional<int64_t> fraud_score;
  std::optional<std::string> fraud_check_id;
  std::optional<int64_t> payment_due_in_seconds;  // -1 clears
  std::optional<int64_t> review_due_in_seconds;   // -1 clears
  bool set_confirmed_at = false, set_shipped_at = false, set_delivered_at = false;
  std::optional<std::string> cancellation_reason;  // sets cancelled_at/by too
  std::string cancelled_by;
  std::optional<nlohmann::json> shipping_address, billing_address, gift_options;
  std::optional<std::string> notes, priority_level, scheduled_delivery_date, delivery_instructions;
};
void update_order(pqxx::work& tx, const std::string& order_id, const order_update& u);

// ---- sagas ----

struct saga_row {
  std::string saga_id, order_id, saga_type, state, current_step;
  int64_t step_attempts = 0;
  std::string next_attempt_at, deadline_at, lease_owner, lease_until, last_error, created_at, updated_at;
  nlohmann::json context;
  bool deadline_passed = false;
};

std::string insert_saga(pqxx::work& tx, const std::string& order_id, const std::string& type,
                        const std::string& state, const nlohmann::json& context, const saga_lease& lease);
// Changes the saga's state; `delay_ms` ≥ 0 sets next_attempt_at = now + delay; `deadline_s` ≥ 0
// sets deadline_at; the lease is released unless `keep_lease`.
struct saga_update {
  std::string state;
  std::string current_step;
  std::optional<int64_t> attempts;
  int64_t delay_ms = -1;
  int64_t deadline_s = -1;
  std::optional<nlohmann::json> context;
  std::optional<std::string> last_error;
  bool keep_lease = false;
};
void update_saga(pqxx::work& tx, const std::string& saga_id, const saga_update& u);
void append_steps(pqxx::work& tx, const std::string& saga_id, const std::vector<step_log>& steps);
std::optional<saga_row> load_saga(pqxx::work& tx, const std::string& saga_id);
// What a re-write of a saga's retry record finds on the saga row, locked (saga_record.cpp).
enum class saga_rewrite {
  due,             // `owner` holds the lease and the record is not there: write it
  landed_earlier,  // an earlier write whose answer was lost did commit: step_attempts reached `attempts`
  lease_gone,      // another owner took the saga over (or the row is gone): leave it alone
};
// A retry record sets step_attempts to `attempts` and releases the lease, so either tells that an
// earlier write landed. When it did and `owner` holds the lease again (its saga driver claimed the
// saga while the run was still in memory), the lease is released so that the driver resumes the
// saga at its next scan instead of when the lease runs out.
saga_rewrite check_saga_rewrite(pqxx::work& tx, const std::string& saga_id, const std::string& owner,
                                int64_t attempts);
std::vector<saga_row> sagas_of_order(pqxx::work& tx, const std::string& order_id);
// Whether the order's place saga is being worked on: running or compensating and due, not waiting
// out a retry's backoff nor parked. A saga whose incarnation crashed stays so until the saga driver
// resumes it.
bool placement_in_progress(pqxx::work& tx, const std::string& order_id);
std::optional<saga_row> live_saga(pqxx::work& tx, const std::string& order_id, const std::string& type,
                                  bool lock = false);
nlohmann::json saga_steps_json(pqxx::work& tx, const std::string& saga_id);
std::vector<saga_row> list_sagas(pqxx::work& tx, const std::string& state, const std::string& type,
                                 int64_t skip, int64_t limit);
// Claims due sagas (running/compensating with next_attempt_at ≤ now, waiting ones past their
// deadline; leases free, expired or held by `stale_owner_prefix` but not `owner`), FOR UPDATE
// SKIP LOCKED, leasing them to `owner` for `lease_s`.
std::vector<saga_row> claim_due_sagas(pqxx::work& tx, const std::string& owner,
                                      const std::string& stale_owner_prefix, int64_t lease_s,
                                      int64_t limit);
nlohmann::json render_saga(const saga_row& s);

// ---- tax rates ----

struct tax_rate {
  std::string tax_rate_id, country, region, name, effective_from, effective_to;
  int64_t rate_e5 = 0;
};
std::vector<tax_rate> load_tax_rates(pqxx::work& tx);
nlohmann::json render_tax_rate(const tax_rate& r);
// The rate in force now for (country, region), else (country, NULL), else 0.
int64_t pick_tax_rate(const std::vector<tax_rate>& rates, const std::string& country,
                      const std::string& region, const std::string& now_iso);

// ---- shipments ----

struct shipment_item {
  std::string item_id;
  int64_t quantity = 0;
};
struct shipment_row {
  std::string shipment_id, order_id, warehouse_id, status, carrier, tracking_number, shipped_at,
      estimated_delivery, actual_delivery, capture_transaction_id, created_at, updated_at;
  int64_t shipment_number = 0;
  money::cents captured_amount = 0;
  bool on_hold = false;
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<shipment_item> items;
};
std::vector<shipment_row> load_shipments(pqxx::work& tx, const std::string& order_id);
std::optional<shipment_row> load_shipment(pqxx::work& tx, const std::string& shipment_id, bool lock = false);
nlohmann::json render_shipment(const shipment_row& s);

// ISO 8601 text of a timestamptz column expression, for SELECT lists.
std::string iso_sql(const std::string& column);

}  // namespace mercato::order
