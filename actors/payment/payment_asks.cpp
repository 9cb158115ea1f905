// Requests to other agents (see payment_asks.hpp).
#include "payment/payment_asks.hpp"

#include <caf/all.hpp>

#include "mercato/agent_directory.hpp"

namespace mercato::payment {
namespace {

template <class Handle, class Reply, class Message, class OnReply>
void ask(caf::actor me, const agent_context& ctx, std::string_view agent, Message message,
         std::chrono::milliseconds timeout, OnReply on_reply, std::function<void(failure)> on_failure) {
  caf::actor raw = ctx.directory ? ctx.directory->handle(agent) : caf::actor{};
  if (!raw) {
    failure f{failure_kind::unavailable, "dependency_unavailable", std::string(agent) + " is not available", {}};
    caf::anon_send(me, continuation{[on_failure, f] { on_failure(f); }});
    return;
  }
  me.home_system().spawn([=](caf::event_based_actor* helper) {
    helper->request(caf::actor_cast<Handle>(raw), timeout, message)
        .then(
            [=](Reply& reply) {
              auto copy = reply;
              caf::anon_send(me, continuation{[on_reply, copy]() mutable { on_reply(copy); }});
            },
            [=](caf::error& e) {
              failure f = read_failure(e);
              caf::anon_send(me, continuation{[on_failure, f] { on_failure(f); }});
            });
  });
}

}  // namespace

void ask_fraud_score(caf::actor me, const agent_context& ctx, fraud::score_entity message,
                     std::function<void(std::optional<fraud::fraud_result>, failure)> done) {
  ask<fraud_actor, fraud::fraud_result>(
      me, ctx, "fraud_detection", std::move(message), std::chrono::milliseconds(1000),
      [done](fraud::fraud_result& r) { done(r, failure{}); },
      [done](failure f) { done(std::nullopt, std::move(f)); });
}

void ask_customer(caf::actor me, const agent_context& ctx, std::string customer_id,
                  std::function<void(bool, failure)> done) {
  ask<customer_actor, customer::customer_profile>(
      me, ctx, "customer", customer::get_customer{std::move(customer_id)}, std::chrono::milliseconds(1000),
      [done](customer::customer_profile&) { done(true, failure{}); },
      [done](failure f) { done(false, std::move(f)); });
}

void ask_order_payable(caf::actor me, const agent_context& ctx, std::string order_id,
                       std::function<void(std::optional<order::order_payable>, failure)> done) {
  ask<order_actor, order::order_payable>(
      me, ctx, "order", order::get_order_payable{std::move(order_id)}, std::chrono::milliseconds(2000),
      [done](order::order_payable& r) { done(r, failure{}); },
      [done](failure f) { done(std::nullopt, std::move(f)); });
}

}  // namespace mercato::payment
