// The order actor's private types, shared by its translation units (order_agent.cpp, the sagas,
// the shipments and the REST table): the extended interface (timer), the state (caches and the
// in-memory part of running sagas) and the entry points each file implements.
#pragma once

#include "order/shipping_rates.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "db/batch_queue.hpp"
#include "db/db_pool.hpp"
#include "db/outbox.hpp"
#include "domain/json_input.hpp"
#include "inventory/inventory_messages.hpp"
#include "mercato/agent_context.hpp"
#include "order/order_messages.hpp"
#include "order/order_model.hpp"
#include "order/order_store.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/agent_shell.hpp"

namespace mercato::order {

using saga_tick_atom = caf::atom_constant<caf::atom("sagatick")>;
using order_impl = order_actor::extend<caf::reacts_to<saga_tick_atom>>;

// What a placement call answers: the order (201), or a failure / validation issues.
struct place_outcome {
  std::optional<failure> error;
  input::issue_list issues;  // non-empty → 422 list
  order_record order;
  bool existing = false;     // duplicate channel order / idempotent replay
};
using place_done = std::function<void(place_outcome)>;
using json_done = std::function<void(const failure* error, const nlohmann::json& result)>;

// The in-memory part of a place saga between two persisted points.
struct place_run {
  std::string saga_id;
  order_record order;
  place_context c;
  std::vector<step_log> steps;
  std::vector<std::function<void()>> waiters;  // run when the saga settles (confirmed, parked, …)
  bool aborted = false;                          // the order was cancelled meanwhile
  std::function<void()> on_abort;               // the cancel saga's compensation, deferred
  int64_t attempts = 0;
  std::string cancel_reason;                     // set when compensating
  // The last moment a caller still waits for (place_wait after its request); none for callers
  // answered only when the run settles (review, pay).
  std::chrono::steady_clock::time_point answer_by{};
};

// A successful placement waiting for its final statement (finish_confirmed).
struct pending_confirmation {
  std::shared_ptr<place_run> run;
  nlohmann::json doc;  // confirmation_doc()
};

// A new placement waiting for its commit statement (commit_placement).
struct pending_placement {
  nlohmann::json doc;  // placement_doc()
  std::string key;     // its Idempotency-Key, "" for none: keys are distinct within one statement
  // Its part of the statement: placed, nullopt when the key existed (nothing written), or the
  // statement's failure.
  std::function<void(db::outcome<std::optional<placed_stamp>>)> written;
  // Set when a statement carrying it failed with its outcome unknown (the connection dropped):
  // until then it is looked up rather than failed (placement.cpp, settle_unknown_write).
  std::chrono::steady_clock::time_point unknown_until{};
};

// Shaped like runtime/agent_behavior.hpp's agent_state (shell + name, all start_agent touches)
// without deriving from it: that struct's name collides with mercato/agent_directory.hpp's enum
// agent_state, which agent_call.hpp pulls in, so no TU may include both headers.
struct order_state {
  std::unique_ptr<agent_shell> shell;
  const char* name = "order";
  agent_context ctx;
  std::string lease_owner;   // "<process token>:<incarnation>"
  std::string owner_prefix;  // "<process token>:"
  std::vector<tax_rate> tax_rates;
  bool tax_loaded = false;
  std::unordered_map<std::string, std::shared_ptr<place_run>> runs;  // by order id
  // Runs whose step failed and waits for its retry while their callers still wait (place_wait):
  // the saga driver's resumption takes the run back, callers and all (retry_later).
  std::unordered_map<std::string, std::shared_ptr<place_run>> retrying;  // by order id
  std::chrono::steady_clock::time_point retry_scan_at{};  // the latest scan scheduled for them
  std::unordered_set<std::string> keys_in_flight;                    // Idempotency-Keys
  std::unordered_set<std::string> busy_sagas;                        // cancel / recovery in progress
  std::unordered_set<std::string> captures_in_flight;                // shipment ids
  // Orders this incarnation parked in waiting_payment: only their payment events need a look (the
  // hot path's own payment_authorized events are ignored without touching the database; waits
  // parked before a restart are caught by the deadline check, which asks get_order_payment).
  std::unordered_set<std::string> awaiting_payment;
  std::chrono::milliseconds place_wait{10000};  // [order] in the config
  int64_t payment_window_s = 1800;
  int64_t review_window_s = 86400;
  shipping_table shipping;                       // [shipping] in the config
  int64_t saga_max_attempts = 20;                // failing step retries before `failed`
  int64_t retry_after_agent_stop_ms = 100;       // [order] retry_after_agent_stop_ms
  std::chrono::milliseconds saga_poll_interval{5000};
  int64_t saga_lease_s = 30;                     // a claimed saga is owned this long
  saga_lease lease() const { return {lease_owner, saga_lease_s}; }
  // Confirmations that arrive while the in-flight limit is reached leave together
  // (db/batch_queue.hpp; [order] confirm_batch_max, confirm_batches_in_flight).
  db::batch_queue<pending_confirmation> confirmations{32, 2};
  // New placements likewise ([order] placement_batch_max, placement_batches_in_flight).
  db::batch_queue<pending_placement> placements{32, 2};
};

using order_self = order_impl::stateful_pointer<order_state>;

// placement.cpp: POST /orders and place_order, up to the written order and the saga's start.
void place_new_order(order_self self, place_order msg, place_done done);
// price_quote.cpp: POST /orders/quote.
void price_quote(order_self self, const nlohmann::json& body, json_done done);

// place_saga.cpp
// The run of an order's placement saga in this incarnation, running or parked for a retry; null
// when there is none.
std::shared_ptr<place_run> find_run(order_self self, const std::string& order_id);
// Runs the saga of a placement just written (fraud → reserve → points/credit → authorize → confirm).
void start_place_saga(order_self self, std::shared_ptr<place_run> run);
void resume_place_saga(order_self self, const saga_row& saga);
void review_order(order_self self, const std::string& order_ref, bool approve, const std::string& reviewer,
                  const std::string& notes, json_done done);
void pay_order(order_self self, const std::string& order_ref, payment_request payment, json_done done);
// A payment made at the payment agent for a waiting order (payment_authorized event) resumes it.
void resume_if_paid(order_self self, const std::string& order_id);

// cancel_saga.cpp
void cancel_order_saga(order_self self, const std::string& order_ref, const std::string& reason,
                       const std::string& requested_by, money::cents refund_amount, json_done done);
void resume_cancel_saga(order_self self, const saga_row& saga);

// shipments.cpp
void create_shipment(order_self self, const std::string& order_ref, const nlohmann::json& body, json_done done);
void ship_shipment(order_self self, const std::string& shipment_id, const std::string& tracking_number,
                   const std::string& carrier, json_done done);
void deliver_shipment(order_self self, const std::string& shipment_id, const std::string& delivered_at,
                      json_done done);
void fail_shipment(order_self self, const std::string& shipment_id, const std::string& reason, json_done done);
void change_status(order_self self, const std::string& order_ref, const std::string& status,
                   const std::string& actor, const std::string& reason, json_done done);

// routes.cpp
void add_order_routes(order_self self);

// order_queries.cpp (typed reads)
caf::result<order_list> answer_list_orders(order_self self, list_orders_query msg);
caf::result<sales_summary_reply> answer_sales_summary(order_self self, sales_summary msg);

// shipment_events.cpp: a carrier status for a partial shipment (record_shipment_event), also fed by
// the transport events (shipment_status_updated, shipment_delivered)
using shipment_event_done = std::function<void(const failure*, shipment_event_result)>;
void apply_shipment_event(order_self self, record_shipment_event msg, shipment_event_done done);
caf::result<shipment_event_result> answer_shipment_event(order_self self, record_shipment_event msg);
void on_transport_event(order_self self, const event& e);

// replacement_order.cpp: place_replacement_order
caf::result<order_view> answer_replacement_order(order_self self, place_replacement_order msg);

// saga_record.cpp: writes a saga's retry record (`write`, one transaction, which sets
// step_attempts to `attempts` and releases the lease) and calls `landed(true)`. When the database
// is unavailable, `stalled` runs once and the record is written again, with a backoff, while this
// incarnation still holds the saga's lease and the record is not there yet, for at most the
// lease; `landed(false)` when it gives up or the lease went to another owner (the saga driver
// resumes the saga from its last record).
void record_saga(order_self self, std::string saga_id, int64_t attempts, std::function<void(pqxx::work&)> write,
                 std::function<void()> stalled, std::function<void(bool)> landed);

// order_agent.cpp helpers
void reload_tax_rates(order_self self, std::function<void()> then = {});
// Runs the saga driver once `delay` has passed, besides its regular ticks: a retry due within
// place_wait is resumed then, not at the next tick.
void scan_sagas_after(order_self self, std::chrono::milliseconds delay);
// Retry delay for attempt n (1, 2, 4 … s, cap 60 s).
int64_t backoff_ms(int64_t attempt);
// The delay before retrying a step that failed with `f` on attempt n: backoff_ms, except
// `after_agent_stop_ms` for a first failure because the step's agent stopped holding it (a crash,
// a hang cut loose).
int64_t retry_delay_ms(int64_t attempt, const failure& f, int64_t after_agent_stop_ms);
nlohmann::json saga_failed_payload(const std::string& saga_id, const std::string& type,
                                   const std::string& step, const std::string& error,
                                   const order_record& o);
// What an order reserves: its lines, a bundle line as its components (place and replacement).
std::vector<inventory::stock_line> stock_lines(const order_record& o);
// Standard event payload fields (order_id, order_number, customer_id, status, occurred_at).
nlohmann::json event_base(const order_record& o);
// Enqueues `<order>.<name>` in the outbox inside `tx`.
void enqueue_event(pqxx::work& tx, const std::string& name, const nlohmann::json& payload,
                   const std::string& order_id);
order_view to_order_view(const order_record& o);
failure not_found_order();

}  // namespace mercato::order
