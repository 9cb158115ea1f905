// Inside the fraud_detection actor (shared by fraud_detection_agent.cpp and routes.cpp): its state,
// its full typed interface (the public one plus the expiry timer), and the domain operations both
// doors (typed messages and REST) call. Not for other agents: they use fraud_messages.hpp.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "db/batch_queue.hpp"
#include "db/outbox.hpp"
#include "fraud_detection/fraud_agent_interface.hpp"
#include "fraud_detection/fraud_input.hpp"
#include "fraud_detection/fraud_messages.hpp"
#include "fraud_detection/fraud_rules.hpp"
#include "fraud_detection/fraud_store.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/db_call.hpp"

namespace mercato::fraud {

template <class T>
using reply_fn = std::function<void(refusable<T>)>;

// Scorings share statements (score_checks). Defaults of [fraud_detection] scoring_batch_max and
// scoring_batches_in_flight: up to 32 per lookup + insert, as the order agent's placements (32
// rows already take most of the per-statement saving, bench/pg_batch.sh), and a second statement
// beside the first only for a backlog (db/batch_queue.hpp; an idle agent sends each one at once).
inline constexpr size_t scoring_batch_max = 32;
inline constexpr size_t scoring_batches_in_flight = 2;

// A scoring whose enrichment is done, waiting for (or carried by) a shared statement.
struct pending_scoring {
  score_request req;
  std::vector<std::string> unavailable;
  reply_fn<scored_check> done;
};

struct fraud_state : agent_state {
  rule_settings settings;
  db::batch_queue<pending_scoring> scorings{scoring_batch_max, scoring_batches_in_flight};
};

using fraud_self = fraud_agent_actor::stateful_pointer<fraud_state>;

// Runs `work(tx) -> refusable<T>` on a pool thread as `Mode` says (runtime/db_call.hpp: a
// transaction, `tx` a pqxx::work&, or without BEGIN/COMMIT, `tx` a pqxx::nontransaction&) and
// continues inside the actor with the result, a refusal, or the database failure. Wakes the
// outbox relay after a write that produced a value.
template <class T, unit_mode Mode = unit_mode::transaction, class Work>
void fraud_db(fraud_self self, bool writes, Work work, reply_fn<T> done) {
  const auto& ctx = self->state.shell->context();
  if (!ctx.database) {
    done({std::nullopt, {failure_kind::unavailable, "database_unavailable", "Database unavailable", {}}});
    return;
  }
  db_unit<refusable<T>, Mode>(self, *ctx.database, std::move(work),
                              [done = std::move(done), relay = ctx.relay, schema = ctx.spec->schema,
                               writes](db::outcome<refusable<T>> r) {
                                if (!r.ok()) {
                                  done({std::nullopt, db_failure(*r.failure)});
                                  return;
                                }
                                if (writes && relay && r.value->value) relay->wake(schema);
                                done(std::move(*r.value));
                              });
}

// Enrichment (1 s per owning agent, in parallel, only for signals the caller did not supply),
// then, without a transaction and shared with the scorings that meet it (state.scorings), two
// statements: the lookup (idempotency, blocked short-circuit, IP history) and the insert of the
// checks with their events (see score_checks).
void run_scoring(fraud_self self, score_request req, reply_fn<scored_check> done);
void run_review(fraud_self self, review_request req, reply_fn<check_record> done);
void run_block(fraud_self self, block_request req, reply_fn<blocked_outcome> done);

// The typed reply for a check.
fraud_result to_result(const check_record& c);
// A failure for a list of validation issues (code invalid, detail = the issues as JSON).
failure invalid_input(const input::issue_list& issues);

void add_fraud_routes(fraud_self self);

}  // namespace mercato::fraud
