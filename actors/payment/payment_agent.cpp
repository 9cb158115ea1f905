// The payment agent (port 8004, schema payments): typed messages for the order / returns / fraud
// agents, REST routes (routes.cpp), and the timers for reconciliation (30 s) and authorization
// expiry (10 min) and webhook retry (60 s). Every money operation runs on a pool thread
// (payment_operations.hpp); the actor only translates messages and replies.
#include "payment/payment_agent.hpp"

#include <algorithm>
#include <chrono>

#include <pqxx/pqxx>

#include "config/config.hpp"
#include "db/idempotency_store.hpp"
#include "db/outbox.hpp"
#include "log/log.hpp"
#include "payment/payment_json.hpp"
#include "payment/payment_runtime.hpp"
#include "payment/payment_webhooks.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/uuid.hpp"

namespace mercato {
namespace payment {
namespace {

constexpr auto reconcile_every = std::chrono::seconds(30);
constexpr auto expire_every = std::chrono::minutes(10);
constexpr auto webhook_retry_every = std::chrono::seconds(60);

// The typed reply of an operation: its payment view, or the failure it met.
template <class Reply, class Make>
void deliver(caf::typed_response_promise<Reply>& rp, const db::outcome<operation_result>& o, Make make) {
  if (!o.ok()) {
    rp.deliver(make_failure(db_failure(*o.failure)));
    return;
  }
  if (o.value->refusal) {
    rp.deliver(make_failure(*o.value->refusal));
    return;
  }
  rp.deliver(make(*o.value));
}

template <class Reply, class Work, class Make>
caf::typed_response_promise<Reply> run_operation(payment_self self, Work work, Make make) {
  auto rp = self->template make_response_promise<Reply>();
  on_pool<operation_result>(self, std::move(work),
                            [rp, make](db::outcome<operation_result> o) mutable { deliver(rp, o, make); });
  return rp;
}

payment_view view_of(const operation_result& r) {
  return to_view(r.payment, r.has_transaction ? r.transaction.transaction_id : std::string{});
}

template <class T>
caf::typed_response_promise<count_reply> run_count(payment_self self, T work) {
  auto rp = self->make_response_promise<count_reply>();
  on_pool<int64_t>(self, std::move(work), [rp](db::outcome<int64_t> o) mutable {
    if (!o.ok()) rp.deliver(make_failure(db_failure(*o.failure)));
    else rp.deliver(count_reply{*o.value});
  });
  return rp;
}

// Authorizations that meet in state.authorizations share one pool job, authorize_all: one staging
// and one completion statement for those on an in-process gateway. The others (authorize_all
// leaves them) and every input of a failed job each take authorize() in a job of their own: every
// step is keyed by order and idempotency key, so what a failed job wrote is found again, never
// repeated, one authorization that cannot be written never fails the others, and calls to a
// network PSP stay concurrent.
void authorize_alone(payment_self self, authorize_input in, caf::typed_response_promise<payment_view> rp) {
  auto ops = self->state.ops;
  on_pool<operation_result>(self, [ops, in](pqxx::connection& c) { return ops->authorize(c, in); },
                            [rp](db::outcome<operation_result> o) mutable { deliver(rp, o, view_of); });
}

void send_authorizations(payment_self self, std::vector<pending_authorization> batch) {
  std::vector<authorize_input> ins;
  ins.reserve(batch.size());
  for (const auto& p : batch) ins.push_back(p.input);
  auto ops = self->state.ops;
  using answers = std::vector<std::optional<operation_result>>;
  on_pool<answers>(
      self, [ops, ins](pqxx::connection& c) { return ops->authorize_all(c, ins); },
      [self, batch](db::outcome<answers> o) mutable {
        self->state.authorizations.finished([self](auto next) { send_authorizations(self, std::move(next)); });
        if (!o.ok())
          log::warn("payment", "authorization_batch_failed",
                    {{"authorizations", batch.size()}, {"error", o.failure->message}});
        for (size_t i = 0; i < batch.size(); ++i) {
          auto& p = batch[i];
          if (o.ok() && (*o.value)[i])
            deliver(p.promise, db::outcome<operation_result>::success(std::move(*(*o.value)[i])), view_of);
          else
            authorize_alone(self, std::move(p.input), p.promise);
        }
      });
}

// `url` without a user:password@ part (a URL may carry credentials; logs never do).
std::string without_credentials(std::string url) {
  const auto scheme = url.find("://");
  const auto start = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = url.find('@', start);
  if (at != std::string::npos && at < url.find('/', start)) url.replace(start, at + 1 - start, "****@");
  return url;
}

// What the Stripe adapter will use and where its secrets came from; never the secrets.
void log_stripe_settings(const stripe_settings& s) {
  const bool configured = !s.api_key.empty() && s.url_problem().empty();
  log::info("payment", "stripe_settings",
            {{"configured", configured},
             {"api_key_from", s.api_key_origin.empty() ? "unset" : s.api_key_origin},
             {"webhook_secret_from", s.webhook_secret_origin.empty() ? "unset" : s.webhook_secret_origin},
             {"base_url", without_credentials(s.base_url)},
             {"timeout_ms", s.timeout_ms},
             {"ca_file", s.ca_file.empty() ? "system store" : s.ca_file}});
  for (const auto& w : s.warnings) log::warn("payment", "stripe_settings_ignored", {{"reason", w}});
}

int64_t reconcile(payment_operations& ops, pqxx::connection& c, int64_t older_than) {
  std::vector<std::string> stale, expired;
  {
    pqxx::read_transaction tx{c};
    stale = stale_pending_transactions(tx, older_than, 200);
    expired = stale_pending_transactions(tx, ops.gateways().settings().give_up_after_seconds, 200);
  }
  int64_t handled = 0;
  for (const auto& id : stale) {
    bool give_up = std::find(expired.begin(), expired.end(), id) != expired.end();
    auto r = ops.resume(c, id, give_up);
    if (!r.outcome_unknown) ++handled;
  }
  return handled;
}

payment_impl::behavior_type payment_agent(payment_self self, agent_context ctx) {
  start_agent(self, ctx);
  auto settings = payment_settings::from_environment();
  const payment_config section = ctx.settings ? ctx.settings->payment : payment_config{};
  if (ctx.settings)  // [payment] in the config file wins over the environment defaults
    settings.authorization_ttl_seconds = int64_t{section.authorization_days} * 86400;
  self->state.authorizations = db::batch_queue<pending_authorization>{section.authorize_batch_max,
                                                                      section.authorize_batches_in_flight};
  auto stripe = resolve_stripe_settings(section);
  log_stripe_settings(stripe);
  self->state.ops = std::make_shared<payment_operations>(
      std::make_shared<gateway_registry>(std::move(settings), std::move(stripe)));
  self->state.shell->set_root_message("Payment Agent Enhanced API is running!");  // the contract's text
  add_payment_routes(self);
  self->state.shell->set_health_extras([self] {
    return ",\"shared_statements\":{\"authorizations\":" + self->state.authorizations.health_json() +
           ",\"method_changes\":" + self->state.method_changes.health_json() + "}";
  });
  self->delayed_send(self, reconcile_every, reconcile_atom::value);
  self->delayed_send(self, expire_every, expire_atom::value);
  self->delayed_send(self, webhook_retry_every, webhook_atom::value);

  return {
      on_http_call(self),
      on_http_request(self),
      on_heartbeat(self),
      on_fault(self),
      on_continuation(self),
      [=](authorize_payment& m) -> caf::result<payment_view> {
        if (m.order_id.empty() || m.customer_id.empty() || m.amount <= 0 || m.currency.size() != 3)
          return make_failure(failure_kind::invalid, "invalid",
                              "order_id, customer_id, a positive amount and a currency are required");
        authorize_input in;
        in.order_id = m.order_id;
        in.customer_id = m.customer_id;
        in.amount = m.amount;
        in.currency = m.currency;
        in.method_id = m.method_id;
        in.token = m.payment_token;
        in.gateway_id = m.gateway_id;
        in.capture = m.capture;
        in.key = m.idempotency_key.empty() ? "order:" + m.order_id : m.idempotency_key;
        in.risk_score = m.risk_score;
        auto rp = self->make_response_promise<payment_view>();
        if (!self->state.ops->gateways().in_process_enabled()) {
          authorize_alone(self, std::move(in), rp);
          return rp;
        }
        auto batch = self->state.authorizations.push({std::move(in), rp});
        if (!batch.empty()) send_authorizations(self, std::move(batch));
        return rp;
      },
      [=](capture_payment& m) -> caf::result<payment_view> {
        capture_input in{m.payment_id, m.order_id, m.amount, m.final,
                         m.idempotency_key.empty() ? uuid_v4() : m.idempotency_key,
                         m.whole_if_single_capture};
        if (in.amount < 0) return make_failure(failure_kind::invalid, "invalid", "amount must be positive");
        auto ops = self->state.ops;
        return run_operation<payment_view>(
            self, [ops, in](pqxx::connection& c) { return ops->capture(c, in); }, view_of);
      },
      [=](void_payment& m) -> caf::result<payment_view> {
        void_input in{m.payment_id, m.order_id, m.idempotency_key.empty() ? uuid_v4() : m.idempotency_key};
        auto ops = self->state.ops;
        return run_operation<payment_view>(
            self, [ops, in](pqxx::connection& c) { return ops->cancel_authorization(c, in); }, view_of);
      },
      [=](refund_payment& m) -> caf::result<refund_view> {
        static const char* reasons[] = {"customer_request", "order_cancelled", "item_returned", "return",
                                        "damaged", "fraud", "other"};
        bool known = m.reason.empty();
        for (const char* r : reasons) known = known || m.reason == r;
        if (!known || m.amount < 0)
          return make_failure(failure_kind::invalid, "invalid", "Invalid refund reason or amount");
        refund_input in;
        in.payment_id = m.payment_id;
        in.order_id = m.order_id;
        in.amount = m.amount;
        in.reason = m.reason.empty() ? "other" : m.reason;
        in.key = m.idempotency_key.empty() ? uuid_v4() : m.idempotency_key;
        in.requested_by = m.requested_by;
        auto ops = self->state.ops;
        return run_operation<refund_view>(
            self, [ops, in](pqxx::connection& c) { return ops->refund(c, in); },
            [](const operation_result& r) {
              return r.refund ? to_refund_view(*r.refund) : refund_view{};
            });
      },
      [=](cancel_order_payment& m) -> caf::result<cancel_payment_result> {
        auto rp = self->make_response_promise<cancel_payment_result>();
        auto ops = self->state.ops;
        std::string order = m.order_id, key = m.idempotency_key;
        money::cents amount = m.refund_amount;
        on_pool<cancel_result>(
            self, [ops, order, amount, key](pqxx::connection& c) { return ops->cancel_order(c, order, amount, key); },
            [rp](db::outcome<cancel_result> o) mutable {
              if (!o.ok()) {
                rp.deliver(make_failure(db_failure(*o.failure)));
                return;
              }
              if (o.value->result.refusal) {
                rp.deliver(make_failure(*o.value->result.refusal));
                return;
              }
              cancel_payment_result out;
              out.action = o.value->action;
              out.has_payment = o.value->has_payment;
              if (out.has_payment) out.payment = view_of(o.value->result);
              rp.deliver(std::move(out));
            });
        return rp;
      },
      [=](get_order_payment& m) -> caf::result<order_payment> {
        auto rp = self->make_response_promise<order_payment>();
        std::string order = m.order_id;
        on_pool<std::optional<payment_row>>(
            self,
            [order](pqxx::connection& c) {
              pqxx::read_transaction tx{c};
              return live_payment_for_order(tx, order);
            },
            [rp](db::outcome<std::optional<payment_row>> o) mutable {
              if (!o.ok()) {
                rp.deliver(make_failure(db_failure(*o.failure)));
                return;
              }
              order_payment out;
              if (*o.value) {
                out.found = true;
                out.payment = to_view(**o.value);
              }
              rp.deliver(std::move(out));
            });
        return rp;
      },
      [=](record_external_payment& m) -> caf::result<payment_view> {
        bool source_ok = m.source.rfind("marketplace:", 0) == 0 || m.source.rfind("d2c:", 0) == 0;
        if (m.order_id.empty() || m.customer_id.empty() || m.amount <= 0 || m.currency.size() != 3 ||
            !source_ok)
          return make_failure(failure_kind::invalid, "invalid",
                              "order_id, customer_id, a positive amount, a currency and a source "
                              "(marketplace:<id> or d2c:<id>) are required");
        external_input in{m.order_id, m.customer_id, m.amount, m.currency, m.source, m.reference};
        auto ops = self->state.ops;
        return run_operation<payment_view>(
            self, [ops, in](pqxx::connection& c) { return ops->record_external(c, in); }, view_of);
      },
      [=](count_method_changes& m) -> caf::result<count_reply> {
        auto rp = self->make_response_promise<count_reply>();
        method_changes_ask ask{std::move(m.customer_id), m.days > 0 ? std::min<int64_t>(m.days, 3650) : 7};
        self->state.method_changes.read(
            std::move(ask),
            [rp](std::optional<failure> failed, int64_t n) mutable {
              if (failed) rp.deliver(make_failure(*failed));
              else rp.deliver(count_reply{n});
            },
            [self](std::vector<method_changes_ask> asks, shared_reads<method_changes_ask, int64_t>::finish_fn finish) {
              on_pool<std::vector<int64_t>>(
                  self,
                  [asks = std::move(asks)](pqxx::connection& c) {
                    pqxx::nontransaction tx{c};  // one read: no BEGIN/ROLLBACK round trips
                    return method_changes_since(tx, asks);
                  },
                  [finish](db::outcome<std::vector<int64_t>> o) {
                    if (!o.ok()) finish({db_failure(*o.failure), {}});
                    else finish({std::nullopt, std::move(*o.value)});
                  });
            });
        return rp;
      },
      [=](prune_idempotency_keys& m) -> caf::result<count_reply> {
        // Keys are kept for the replay window at least, whatever the caller asks.
        const auto older = std::max(std::chrono::seconds(m.older_than_seconds),
                                    std::chrono::seconds(db::idempotency_store::retention));
        return run_count(self, [older](pqxx::connection& c) {
          pqxx::work tx{c};
          auto n = db::idempotency_store{"payments"}.prune(tx, older);
          tx.commit();
          return static_cast<int64_t>(n);
        });
      },
      [=](outbox_stats) -> caf::result<outbox_stats_reply> {
        auto rp = self->make_response_promise<outbox_stats_reply>();
        on_pool<outbox_stats_reply>(
            self,
            [](pqxx::connection& c) {
              pqxx::read_transaction tx{c};
              const auto b = db::outbox{"payments"}.read_backlog(tx);
              return outbox_stats_reply{b.pending, b.oldest_age_seconds, b.failed};
            },
            [rp](db::outcome<outbox_stats_reply> o) mutable {
              if (!o.ok()) rp.deliver(make_failure(db_failure(*o.failure)));
              else rp.deliver(*o.value);
            });
        return rp;
      },
      [=](reconcile_payments& m) -> caf::result<count_reply> {
        auto ops = self->state.ops;
        int64_t older = std::max<int64_t>(m.older_than_seconds, 0);
        return run_count(self, [ops, older](pqxx::connection& c) { return reconcile(*ops, c, older); });
      },
      [=](expire_authorizations) -> caf::result<count_reply> {
        auto ops = self->state.ops;
        return run_count(self, [ops](pqxx::connection& c) { return ops->expire_authorizations(c); });
      },
      [=](retry_webhooks& m) -> caf::result<count_reply> {
        auto ops = self->state.ops;
        int64_t limit = std::clamp<int64_t>(m.limit, 1, 1000);
        return run_count(self, [ops, limit](pqxx::connection& c) { return reapply_webhooks(*ops, c, limit); });
      },
      [=](const event&) {
        // No subscriptions: the order agent drives payments by message.
      },
      [=](reconcile_atom) {
        auto ops = self->state.ops;
        int64_t older = ops->gateways().settings().reconcile_after_seconds;
        on_pool<int64_t>(self, [ops, older](pqxx::connection& c) { return reconcile(*ops, c, older); },
                         [self](db::outcome<int64_t> o) {
                           if (o.ok() && *o.value > 0)
                             log::info("payment", "payments_reconciled", {{"count", *o.value}});
                           self->delayed_send(self, reconcile_every, reconcile_atom::value);
                         });
      },
      [=](expire_atom) {
        auto ops = self->state.ops;
        on_pool<int64_t>(self, [ops](pqxx::connection& c) { return ops->expire_authorizations(c); },
                         [self](db::outcome<int64_t> o) {
                           if (o.ok() && *o.value > 0)
                             log::info("payment", "authorizations_expired", {{"count", *o.value}});
                           self->delayed_send(self, expire_every, expire_atom::value);
                         });
      },
      [=](webhook_atom) {
        auto ops = self->state.ops;
        on_pool<int64_t>(self, [ops](pqxx::connection& c) { return reapply_webhooks(*ops, c, 100); },
                         [self](db::outcome<int64_t> o) {
                           if (o.ok() && *o.value > 0)
                             log::info("payment", "webhooks_applied", {{"count", *o.value}});
                           self->delayed_send(self, webhook_retry_every, webhook_atom::value);
                         });
      },
  };
}

}  // namespace
}  // namespace payment

caf::actor spawn_payment_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(payment::payment_agent, ctx));
}

}  // namespace mercato
