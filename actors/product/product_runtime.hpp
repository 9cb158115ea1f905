// The product actor's state and the helpers its message handlers and REST routes share: waiting
// for the initial load, the single-writer queue (one write transaction in flight, so committed
// rows reach the model in commit order), and the stock look-ups at inventory.
#pragma once

#include <deque>
#include <functional>
#include <string>

#include <caf/all.hpp>

#include "db/batch_queue.hpp"
#include "db/db_pool.hpp"
#include "db/outbox.hpp"
#include "http/router.hpp"
#include "product/attributes.hpp"
#include "product/catalog.hpp"
#include "product/product_messages.hpp"
#include "product/product_store.hpp"
#include "product/seo.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/db_call.hpp"

namespace mercato::product {

struct product_state : agent_state {
  catalog model;
  attribute_catalog attributes;  // typed attribute definitions and values (same invariant as `model`)
  seo_catalog seo;               // stored SEO rows
  std::string store_base_url;    // config store.base_url: sitemap and canonical URLs
  bool loaded = false;
  std::vector<std::function<void()>> waiting;  // requests that arrived before the load finished
  std::deque<std::function<void()>> writes;    // queued write jobs
  bool writing = false;
  bool stock_refresh_in_flight = false;
  // order.order_confirmed sales that arrive while one statement records others wait and share the
  // next (record_sales): one statement per order was about 2 % of the database's time under load.
  db::batch_queue<sale> sales{64, 1};
};

using product_self = product_actor::stateful_pointer<product_state>;

// Runs `fn` now if the model is loaded, else once it is (bounded queue: 503 beyond it is the
// caller's business via `refuse`).
bool when_loaded(product_self self, std::function<void()> fn);

// Queues a write transaction: `work(tx)` on a pool thread inside a savepoint, then `done` in the
// actor with the unit result or the database error; the next write starts after `done`.
template <class T, class Work, class Done>
void write_unit(product_self self, Work work, Done done) {
  self->state.writes.push_back([self, work = std::move(work), done = std::move(done)]() mutable {
    db::pool* pool = self->state.shell->context().database;
    auto finish = [self]() {
      self->state.writing = false;
      if (!self->state.writes.empty()) {
        auto next = std::move(self->state.writes.front());
        self->state.writes.pop_front();
        self->state.writing = true;
        next();
      }
    };
    if (!pool) {
      db::outcome<unit_result<T>> none = db::outcome<unit_result<T>>::fail(
          db::error{db::errc::unavailable, "no database configured", {}});
      done(none);
      finish();
      return;
    }
    db_transact<unit_result<T>>(
        self, *pool, [work](pqxx::work& tx) { return guarded<T>(tx, work); },
        [self, done, finish](db::outcome<unit_result<T>> r) mutable {
          done(r);
          const auto& ctx = self->state.shell->context();
          if (ctx.relay) ctx.relay->wake(ctx.spec->schema);
          finish();
        });
  });
  if (!self->state.writing) {
    auto next = std::move(self->state.writes.front());
    self->state.writes.pop_front();
    self->state.writing = true;
    next();
  }
}

// Asks inventory for the available totals of `ids` (1 s) and stores them in the model.
void refresh_stock(product_self self, std::vector<std::string> ids);
// Sends the pending initial_stock movement of `product_id`; `then(pending)` after the answer.
void send_initial_stock(product_self self, const std::string& product_id, int64_t quantity,
                        std::function<void(bool pending)> then);

void add_product_routes(product_self self);
void add_attribute_routes(product_self self);  // attribute_routes.cpp
void add_seo_routes(product_self self);        // seo_routes.cpp

}  // namespace mercato::product
