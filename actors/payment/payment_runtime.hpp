// The payment actor's internals shared by payment_agent.cpp (typed messages, timers) and
// routes.cpp (REST): its state, its full interface, and `on_pool`, which runs a function over a
// pool connection (several transactions plus the gateway call in between) and continues inside
// the actor with its outcome.
#pragma once

#include <memory>

#include <caf/all.hpp>

#include "db/batch_queue.hpp"
#include "db/db_pool.hpp"
#include "db/outbox.hpp"
#include "payment/payment_messages.hpp"
#include "payment/payment_operations.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/shared_reads.hpp"

namespace mercato::payment {

using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using webhook_atom = caf::atom_constant<caf::atom("webhooks")>;

using payment_impl =
    payment_actor::extend<caf::reacts_to<reconcile_atom>, caf::reacts_to<expire_atom>,
                          caf::reacts_to<webhook_atom>>;

// An authorize_payment waiting in payment_state::authorizations.
struct pending_authorization {
  authorize_input input;
  caf::typed_response_promise<payment_view> promise;
};

struct payment_state : agent_state {
  std::shared_ptr<payment_operations> ops;
  // The saga's authorizations (one per order placed): those that wait while a batch runs leave
  // together as one payment_operations::authorize_all job ([payment] authorize_batch_max,
  // authorize_batches_in_flight; db/batch_queue.hpp).
  db::batch_queue<pending_authorization> authorizations{32, 2};
  // count_method_changes (fraud asks once per order scored) shares statements the same way, up
  // to 32 asks per statement (runtime/shared_reads.hpp).
  shared_reads<method_changes_ask, int64_t> method_changes{32, 2};
};

using payment_self = payment_impl::stateful_pointer<payment_state>;

// Runs `work(pqxx::connection&) -> T` on a pool thread; `done(db::outcome<T>)` runs in the actor.
// Wakes the outbox relay afterwards (operations commit their events themselves).
template <class T, class Work, class Done>
void on_pool(payment_self self, Work work, Done done) {
  const auto& ctx = self->state.shell->context();
  caf::actor me = caf::actor_cast<caf::actor>(self);
  auto shared_done = std::make_shared<Done>(std::move(done));
  db::outbox_relay* relay = ctx.relay;
  if (!ctx.database) {
    db::error e{db::errc::unavailable, "no database configured", {}};
    caf::anon_send(me, continuation{[shared_done, e]() { (*shared_done)(db::outcome<T>::fail(e)); }});
    return;
  }
  ctx.database->submit(db::pool::unit{
      [me, work = std::move(work), shared_done, relay, schema = ctx.spec->schema](pqxx::connection& c) {
        // Closed while idle (a database restart): nothing sent yet, so a fresh connection is safe.
        if (db::pool::closed_while_idle(c)) throw db::pool::never_sent("the server closed the connection while it was idle");
        auto value = db::outcome<T>::success(work(c));
        if (relay) relay->wake(schema);
        caf::anon_send(me, continuation{[shared_done, value]() mutable {
                         (*shared_done)(std::move(value));
                       }});
      },
      [me, shared_done](db::error e) {
        caf::anon_send(me, continuation{[shared_done, e]() {
                         (*shared_done)(db::outcome<T>::fail(e));
                       }});
      },
      true});
}

void add_payment_routes(payment_self self);

}  // namespace mercato::payment
