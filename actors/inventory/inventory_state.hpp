// What the inventory actor's two doors (typed messages in inventory_agent.cpp, REST in routes.cpp)
// share: the actor type with its private timers, its state (caches it can rebuild) and the helper
// that runs a store operation on a pool thread and continues inside the actor.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "db/batch_queue.hpp"
#include "db/db_error.hpp"
#include "db/outbox.hpp"
#include "inventory/inventory_messages.hpp"
#include "inventory/inventory_store.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/db_call.hpp"
#include "runtime/shared_reads.hpp"

namespace mercato::inventory {

using sweep_atom = caf::atom_constant<caf::atom("inv_sweep")>;  // [inventory] sweep_interval_ms
using audit_atom = caf::atom_constant<caf::atom("inv_audit")>;  // hourly consistency check
using refresh_atom = caf::atom_constant<caf::atom("inv_reg")>;  // register + caches, every 60 s

using inventory_impl = inventory_actor::extend<caf::reacts_to<sweep_atom>, caf::reacts_to<audit_atom>,
                                               caf::reacts_to<refresh_atom>>;

// What the product agent told us about an item (names and prices for lists, alerts and value).
struct product_info {
  std::string product_id, sku, name, category, image_url;
  int64_t price_cents = 0;
};

// A saga's reserve_stock waiting to share a transaction with others (store::reserve_batch).
struct pending_reserve {
  reserve_stock request;
  caf::typed_response_promise<reservation_set> promise;
};

// A saga's confirm_reservations waiting to share a statement with others (store::confirm_all_active).
struct pending_confirm {
  std::string order_id;
  caf::typed_response_promise<reservation_set> promise;
};

struct inventory_state : agent_state {
  store::register_ptr warehouses;  // null until loaded (stores then load it in their transaction)
  std::shared_ptr<store::label_book> labels = std::make_shared<store::label_book>();
  using steady = std::chrono::steady_clock;
  std::unordered_map<std::string, std::pair<std::string, steady::time_point>> item_by_ref;  // SKU/id → item
  std::unordered_map<std::string, std::pair<product_info, steady::time_point>> products;    // item → info
  int64_t oversell_detected_total = 0;
  int64_t repaired_levels = 0;
  int64_t swept = 0;
  // From [inventory]: the sweeper's period, a REST reservation's default lifetime, and how the
  // saga's reserves share transactions and its confirmations statements (reserve_batch_max,
  // reserve_batches_in_flight).
  std::chrono::milliseconds sweep_interval{15000};
  int64_t rest_reservation_ttl_s = 900;
  db::batch_queue<pending_reserve> reserves{32, 2};
  // The saga's confirmations share statements the same way, with the same limits.
  db::batch_queue<pending_confirm> confirms{32, 2};
  // check_availability (the order agent's, once per order placed) reads the levels of every
  // request that meets it in one statement (runtime/shared_reads.hpp), up to 32 requests.
  shared_reads<std::vector<stock_line>, store::result<availability_report>> availability{32, 2};
};

using inventory_self = inventory_impl::stateful_pointer<inventory_state>;

inline constexpr std::chrono::seconds cache_ttl{60};

// A database error as the failure the contract wants: lock timeout → unavailable (retryable), a
// CHECK violation → conflict (it would have been an oversell: a bug, logged), else db_failure.
failure store_failure(const db::error& e);

// Runs `work(tx, const warehouse_register&) -> store::result<T>` on a pool thread as `Unit` says
// (runtime/db_call.hpp) and calls `done(std::optional<failure>, T)` inside the actor. `writes`:
// wake the outbox relay afterwards.
template <class T, unit_mode Unit, class Work, class Done>
void run_on_store(inventory_self self, bool writes, Work work, Done done) {
  const auto& ctx = self->state.shell->context();
  if (!ctx.database) {
    done(std::optional<failure>{failure{failure_kind::unavailable, "database_unavailable",
                                        "Database not configured", {}}},
         T{});
    return;
  }
  store::register_ptr reg = self->state.warehouses;
  std::shared_ptr<const store::label_book> labels = self->state.labels;
  auto unit = [reg, labels, work](auto& tx) {
    store::label_scope scope{labels.get()};
    auto r = reg ? reg : std::make_shared<const warehouse_register>(store::load_warehouses(tx));
    return work(tx, *r);
  };
  auto finish = [self, writes, done](db::outcome<store::result<T>> o) mutable {
    if (!o.ok()) {
      done(std::optional<failure>{store_failure(*o.failure)}, T{});
      return;
    }
    const auto& ctx = self->state.shell->context();
    if (writes && ctx.relay) ctx.relay->wake(ctx.spec->schema);
    done(std::move(o.value->error), std::move(o.value->value));
  };
  db_unit<store::result<T>, Unit>(self, *ctx.database, std::move(unit), std::move(finish));
}

template <class T, class Work, class Done>
void with_store(inventory_self self, bool writes, Work work, Done done) {
  run_on_store<T, unit_mode::transaction>(self, writes, std::move(work), std::move(done));
}

// A typed request answered from a store operation (see run_on_store).
template <class T, unit_mode Unit = unit_mode::transaction, class Work>
caf::result<T> reply_on_store(inventory_self self, bool writes, Work work) {
  auto rp = self->make_response_promise<T>();
  run_on_store<T, Unit>(self, writes, std::move(work), [rp](std::optional<failure> f, T value) mutable {
    if (f)
      rp.deliver(make_failure(*f));
    else
      rp.deliver(std::move(value));
  });
  return rp;
}

template <class T, class Work>
caf::result<T> reply_from_store(inventory_self self, bool writes, Work work) {
  return reply_on_store<T>(self, writes, std::move(work));
}

// For a request that only reads: no transaction (see run_on_store).
template <class T, class Work>
caf::result<T> reply_from_reads(inventory_self self, Work work) {
  return reply_on_store<T, unit_mode::reads>(self, false, std::move(work));
}

// SKU or item id → item id (product agent, cached 60 s); falls back to `ref` itself when the
// product agent does not know it or is not running (item ids are opaque to inventory).
// `k(item, known)`: known = the product agent vouched for the item.
void resolve_item(inventory_self self, const std::string& ref, std::function<void(std::string, bool)> k);
// Fills the product cache for `ids` (1 s budget); `k(ok)` — ok false when the product agent is down.
void load_products(inventory_self self, std::vector<std::string> ids, std::function<void(bool)> k);
const product_info* cached_product(inventory_self self, const std::string& id);

void add_inventory_routes(inventory_self self);

}  // namespace mercato::inventory
