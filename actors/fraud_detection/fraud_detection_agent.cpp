// The fraud_detection actor: typed messages (score_order, score, record_review, is_blocked,
// block_entity, customer_history, outbox_stats, expire_blocks), the enrichment calls to order,
// customer and payment, the block-expiry timer, and the REST table (routes.cpp).
#include "fraud_detection/fraud_detection_agent.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fraud_detection/fraud_agent_state.hpp"
#include "fraud_detection/fraud_enrichment.hpp"
#include "log/log.hpp"

namespace mercato {
namespace fraud {
namespace {

constexpr auto expiry_interval = std::chrono::minutes(10);

template <class T>
caf::error as_error(const refusable<T>& r) {
  if (r.refusal.kind == failure_kind::internal)
    log::error("fraud_detection", "operation_failed", {{"code", r.refusal.code}, {"message", r.refusal.message}});
  return make_failure(r.refusal);
}

void schedule_expiry(fraud_self self) {
  self->delayed_send(self, expiry_interval, expire_atom::value);
}

void run_expiry(fraud_self self, std::function<void(refusable<int64_t>)> done) {
  fraud_db<int64_t>(
      self, true, [](pqxx::work& tx) { return refusable<int64_t>{expire_due_blocks(tx), {}}; },
      std::move(done));
}

// A batch's requests, read on the pool thread; the callbacks stay with the actor.
struct scoring_batch_input {
  std::vector<score_request> requests;
  std::vector<std::vector<std::string>> unavailable;
};

void write_scorings(fraud_self self, std::vector<pending_scoring> batch, bool queued);

// Tells state.scorings that a batch it handed out is done, and sends the next one, if any.
void scoring_batch_done(fraud_self self) {
  self->state.scorings.finished([self](auto next) { write_scorings(self, std::move(next), true); });
}

// Scores a batch as ONE autocommit write unit (score_checks: one lookup, one insert, no
// BEGIN/COMMIT). `queued`: the batch came from state.scorings, which hears exactly once that it is
// done. A shared statement that failed wrote nothing: unless the database is unreachable (each
// would fail alike; a connection lost during the insert may even have committed it), each scoring
// is run again alone, so one that cannot be written fails only its own request.
void write_scorings(fraud_self self, std::vector<pending_scoring> batch, bool queued) {
  auto input = std::make_shared<scoring_batch_input>();
  input->requests.reserve(batch.size());
  input->unavailable.reserve(batch.size());
  auto replies = std::make_shared<std::vector<reply_fn<scored_check>>>();
  replies->reserve(batch.size());
  for (auto& item : batch) {
    input->requests.push_back(std::move(item.req));
    input->unavailable.push_back(std::move(item.unavailable));
    replies->push_back(std::move(item.done));
  }
  const auto& ctx = self->state.shell->context();
  if (!ctx.database) {
    if (queued) scoring_batch_done(self);
    for (auto& reply : *replies)
      reply({std::nullopt, {failure_kind::unavailable, "database_unavailable", "Database unavailable", {}}});
    return;
  }
  db_unit<std::vector<scored_check>, unit_mode::one_write>(
      self, *ctx.database,
      [input, settings = self->state.settings](pqxx::nontransaction& tx) {
        return score_checks(tx, input->requests, input->unavailable, settings);
      },
      [self, input, replies, queued, relay = ctx.relay,
       schema = ctx.spec->schema](db::outcome<std::vector<scored_check>> r) {
        if (queued) scoring_batch_done(self);
        const size_t n = replies->size();
        if (!r.ok() && n > 1 && r.failure->code != db::errc::unavailable) {
          log::warn("fraud_detection", "fraud_batch_failed", {{"checks", n}, {"error", r.failure->message}});
          // The unit is over: its input is the actor's again.
          for (size_t i = 0; i < n; ++i)
            write_scorings(self,
                           {pending_scoring{std::move(input->requests[i]), std::move(input->unavailable[i]),
                                            std::move((*replies)[i])}},
                           false);
          return;
        }
        if (!r.ok()) {
          const failure refusal = db_failure(*r.failure);
          for (auto& reply : *replies) reply({std::nullopt, refusal});
          return;
        }
        auto& checks = *r.value;
        auto created = [](const scored_check& c) { return c.created; };
        if (relay && std::any_of(checks.begin(), checks.end(), created)) relay->wake(schema);
        for (size_t i = 0; i < n; ++i) (*replies)[i]({std::move(checks[i]), {}});
      });
}

fraud_agent_actor::behavior_type fraud_agent(fraud_self self, agent_context ctx) {
  start_agent(self, ctx);
  if (ctx.settings)
    self->state.scorings = db::batch_queue<pending_scoring>{ctx.settings->fraud.scoring_batch_max,
                                                            ctx.settings->fraud.scoring_batches_in_flight};
  add_fraud_routes(self);
  self->state.shell->set_health_extras([self] {
    return ",\"shared_statements\":{\"scorings\":" + self->state.scorings.health_json() + "}";
  });
  self->send(self, expire_atom::value);  // blocks that expired while the agent was down
  return {
      on_http_call(self),
      on_http_request(self),
      on_heartbeat(self),
      on_fault(self),
      on_continuation(self),
      [=](score_order& m) -> caf::result<fraud_result> {
        input::issue_list issues;
        auto req = read_score_message("order", std::move(m.order_id), std::move(m.customer_id), m.data,
                                      true, self->state.settings, issues);
        if (!req) return make_failure(invalid_input(issues));
        // The promise only after validation: once made, it owns the reply.
        auto rp = self->make_response_promise<fraud_result>();
        run_scoring(self, std::move(*req), [rp](refusable<scored_check> r) mutable {
          if (r.value) rp.deliver(to_result(r.value->check));
          else rp.deliver(as_error(r));
        });
        return rp;
      },
      [=](score_entity& m) -> caf::result<fraud_result> {
        input::issue_list issues;
        auto req = read_score_message(std::move(m.entity_type), std::move(m.entity_id),
                                      std::move(m.customer_id), m.data, false, self->state.settings,
                                      issues);
        if (!req) return make_failure(invalid_input(issues));
        // The promise only after validation: once made, it owns the reply.
        auto rp = self->make_response_promise<fraud_result>();
        run_scoring(self, std::move(*req), [rp](refusable<scored_check> r) mutable {
          if (r.value) rp.deliver(to_result(r.value->check));
          else rp.deliver(as_error(r));
        });
        return rp;
      },
      [=](record_review& m) -> caf::result<fraud_result> {
        if (m.outcome != "approved" && m.outcome != "rejected")
          return make_failure(failure_kind::invalid, "invalid", "outcome must be approved or rejected");
        if (m.reviewed_by.empty())
          return make_failure(failure_kind::invalid, "invalid", "reviewed_by is required");
        if (m.check_id.empty() && (m.entity_type.empty() || m.entity_id.empty()))
          return make_failure(failure_kind::invalid, "invalid",
                              "check_id or entity_type and entity_id are required");
        auto rp = self->make_response_promise<fraud_result>();
        review_request req{m.check_id, m.entity_type, m.entity_id, m.outcome, m.reviewed_by, m.notes};
        run_review(self, std::move(req), [rp](refusable<check_record> r) mutable {
          if (r.value) rp.deliver(to_result(*r.value));
          else rp.deliver(as_error(r));
        });
        return rp;
      },
      [=](is_blocked& m) -> caf::result<block_status> {
        if (!is_block_type(m.entity_type))
          return make_failure(failure_kind::invalid, "invalid_type",
                              "entity_type must be one of email, ip, customer, phone, card_fingerprint");
        auto value = normalize_entity(m.entity_type, m.value);
        if (!value) return block_status{false, nullptr};  // nothing invalid can have been blocked
        auto rp = self->make_response_promise<block_status>();
        fraud_db<block_status>(
            self, false,
            [type = m.entity_type, v = *value](pqxx::work& tx) {
              refusable<block_status> out;
              out.value = block_status{};
              if (auto b = active_block(tx, type, v)) out.value = block_status{true, to_json(*b)};
              return out;
            },
            [rp](refusable<block_status> r) mutable {
              if (r.value) rp.deliver(std::move(*r.value));
              else rp.deliver(as_error(r));
            });
        return rp;
      },
      [=](block_entity& m) -> caf::result<block_result> {
        input::issue_list issues;
        block_request raw{m.entity_type, m.entity_value, m.reason, std::nullopt, m.blocked_by};
        if (m.duration_hours != 0) raw.duration_hours = m.duration_hours;
        auto req = validate_block(std::move(raw), issues);
        if (!req) return make_failure(invalid_input(issues));
        auto rp = self->make_response_promise<block_result>();
        run_block(self, std::move(*req), [rp](refusable<blocked_outcome> r) mutable {
          if (r.value) rp.deliver(block_result{r.value->created, to_json(r.value->block)});
          else rp.deliver(as_error(r));
        });
        return rp;
      },
      [=](customer_history& m) -> caf::result<check_history> {
        if (m.customer_id.empty() || m.limit < 1 || m.limit > 100)
          return make_failure(failure_kind::invalid, "invalid",
                              "customer_id is required and limit must be 1..100");
        auto rp = self->make_response_promise<check_history>();
        check_filter f;
        f.customer_id = m.customer_id;
        f.limit = m.limit;
        fraud_db<check_history>(
            self, false,
            [f](pqxx::work& tx) {
              check_history h;
              for (const auto& c : list_checks(tx, f)) h.checks.push_back(to_result(c));
              return refusable<check_history>{std::move(h), {}};
            },
            [rp](refusable<check_history> r) mutable {
              if (r.value) rp.deliver(std::move(*r.value));
              else rp.deliver(as_error(r));
            });
        return rp;
      },
      [=](outbox_stats) -> caf::result<outbox_stats_reply> {
        auto rp = self->make_response_promise<outbox_stats_reply>();
        fraud_db<outbox_stats_reply>(
            self, false,
            [](pqxx::work& tx) { return refusable<outbox_stats_reply>{read_outbox_stats(tx), {}}; },
            [rp](refusable<outbox_stats_reply> r) mutable {
              if (r.value) rp.deliver(*r.value);
              else rp.deliver(as_error(r));
            });
        return rp;
      },
      [=](expire_blocks) -> caf::result<count_reply> {
        auto rp = self->make_response_promise<count_reply>();
        run_expiry(self, [rp](refusable<int64_t> r) mutable {
          if (r.value) rp.deliver(count_reply{*r.value});
          else rp.deliver(as_error(r));
        });
        return rp;
      },
      [=](event&) {},  // fraud_detection consumes no events
      [=](expire_atom) {
        run_expiry(self, [](refusable<int64_t> r) {
          if (!r.value)
            log::warn("fraud_detection", "block_expiry_failed", {{"message", r.refusal.message}});
          else if (*r.value > 0)
            log::info("fraud_detection", "blocks_expired", {{"count", *r.value}});
        });
        schedule_expiry(self);
      },
  };
}

}  // namespace

fraud_result to_result(const check_record& c) {
  return fraud_result{c.check_id, c.entity_type, c.entity_id, c.customer_id,
                      c.risk_score, c.risk_level, c.decision,  to_json(c)};
}

failure invalid_input(const input::issue_list& issues) {
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& i : issues) detail.push_back({{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
  std::string message = "Invalid input";
  if (!issues.empty()) {
    message.clear();
    for (size_t k = 0; k < issues[0].loc.size(); ++k) message += (k ? "." : "") + issues[0].loc[k];
    message += ": " + issues[0].msg;
  }
  return {failure_kind::invalid, "invalid", std::move(message), detail.dump()};
}

void run_scoring(fraud_self self, score_request req, reply_fn<scored_check> done) {
  enrich(self, self->state.shell->context(), std::move(req),
         [self, done = std::move(done)](score_request r, std::vector<std::string> unavailable) mutable {
           auto batch = self->state.scorings.push(
               pending_scoring{std::move(r), std::move(unavailable), std::move(done)});
           if (!batch.empty()) write_scorings(self, std::move(batch), true);
         });
}

void run_review(fraud_self self, review_request req, reply_fn<check_record> done) {
  fraud_db<check_record>(
      self, true, [req = std::move(req)](pqxx::work& tx) { return review_check(tx, req); },
      std::move(done));
}

void run_block(fraud_self self, block_request req, reply_fn<blocked_outcome> done) {
  fraud_db<blocked_outcome>(
      self, true,
      [req = std::move(req)](pqxx::work& tx) {
        return refusable<blocked_outcome>{insert_block(tx, req), {}};
      },
      std::move(done));
}

}  // namespace fraud

caf::actor spawn_fraud_detection_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(fraud::fraud_agent, ctx));
}

}  // namespace mercato
