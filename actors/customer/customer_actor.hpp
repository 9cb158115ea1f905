// The customer agent's actor type, state and the bridge from its SQL (customer_store) to replies:
// shared by customer_agent.cpp (typed messages, events, timers) and routes.cpp (REST).
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include <caf/all.hpp>

#include "customer/customer_messages.hpp"
#include "customer/customer_store.hpp"
#include "db/outbox.hpp"
#include "domain/json_input.hpp"
#include "http/router.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/db_call.hpp"
#include "runtime/shared_reads.hpp"

namespace mercato::customer {

// Timer of the daily loyalty jobs (points expiry, tier review; loyalty_jobs.cpp).
using loyalty_tick_atom = caf::atom_constant<caf::atom("lytick")>;

using customer_impl = customer_actor::extend<caf::reacts_to<loyalty_tick_atom>>;

struct customer_state : agent_state {
  // Order events are applied in arrival order (a refund must not overtake the delivery that
  // earned the points it reverses), one batch at a time: a placement publishes four order events,
  // and under load the queued ones share one transaction (or, when all are order_created /
  // order_confirmed, one statement: store::apply_in_one_statement).
  struct queued_event {
    event e;
    int attempts = 0;
  };
  std::deque<queued_event> pending_events;
  bool applying_event = false;
  // After a batch failed, this many events are applied one per transaction, so that the one at
  // fault is skipped alone.
  size_t apply_singly = 0;
  // Per daily loyalty job (loyalty_jobs.cpp's order), the latest slot a completed run is known to
  // cover; unknown after a start, when job_runs decides.
  std::array<std::optional<schedule::date>, 2> loyalty_jobs_covered;
  // validate_customer and get_customer (once per order, from the order agent) read the summary
  // together with the reads that meet them: one statement for up to 32 customers, a second one
  // beside it only for a backlog (runtime/shared_reads.hpp).
  shared_reads<std::string, store::result<customer_profile>> summaries{32, 2};
};

using customer_self = customer_impl::stateful_pointer<customer_state>;

// Runs `work(tx) -> store::result<T>` on a pool thread as `Mode` says (runtime/db_call.hpp); back
// in the actor, calls on_ok(T&&) or on_fail(const failure&) (database errors mapped by
// db_failure). After a transaction the outbox relay is woken (the unit may have written events);
// a unit without one writes none.
template <class T, unit_mode Mode = unit_mode::transaction, class Work, class OnOk, class OnFail>
void run_store(customer_self self, Work work, OnOk on_ok, OnFail on_fail) {
  const agent_context& ctx = self->state.shell->context();
  if (!ctx.database) {
    on_fail(failure{failure_kind::unavailable, "database_unavailable", "Database not configured", {}});
    return;
  }
  db::outbox_relay* relay = Mode == unit_mode::transaction ? ctx.relay : nullptr;
  auto finish = [relay, schema = ctx.spec->schema, on_ok = std::move(on_ok),
                 on_fail = std::move(on_fail)](db::outcome<store::result<T>> r) mutable {
    if (!r.ok()) return on_fail(db_failure(*r.failure));
    if (!r.value->ok()) return on_fail(r.value->error);
    if (relay) relay->wake(schema);
    on_ok(std::move(*r.value->value));
  };
  db_unit<store::result<T>, Mode>(self, *ctx.database, std::move(work), std::move(finish));
}

// The same for a REST handler: answers failure_response(f) or render(T&&) -> http_response.
template <class T, class Work, class Render>
void respond_with(customer_self self, http::request_context& rc, Work work, Render render) {
  auto ctx = std::make_shared<http::request_context>(std::move(rc));
  run_store<T>(
      self, std::move(work), [ctx, render = std::move(render)](T&& v) mutable { ctx->respond(render(std::move(v))); },
      [ctx](const failure& f) { ctx->respond(failure_response(f)); });
}

void add_customer_routes(customer_self self);
// On loyalty_tick_atom (the first at start): runs the daily loyalty jobs a slot is owed to, then
// schedules the next tick.
void run_due_loyalty_jobs(customer_self self);

}  // namespace mercato::customer
