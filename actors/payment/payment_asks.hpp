// Requests to other agents (fraud `score`, customer `get_customer`, order `get_order_payable`).
// They live in their own TU because runtime/agent_call.hpp (agent_directory.hpp's `enum agent_state`) cannot be included
// next to runtime/agent_behavior.hpp (`struct agent_state`); a short-lived helper actor makes the
// request and the outcome comes back to the payment actor as a `continuation`.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include <caf/actor.hpp>

#include "customer/customer_messages.hpp"
#include "fraud_detection/fraud_messages.hpp"
#include "order/order_messages.hpp"
#include "mercato/agent_context.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::payment {

void ask_fraud_score(caf::actor me, const agent_context& ctx, fraud::score_entity message,
                     std::function<void(std::optional<fraud::fraud_result>, failure)> done);
void ask_customer(caf::actor me, const agent_context& ctx, std::string customer_id,
                  std::function<void(bool found, failure)> done);
// What may be collected for an order (REST payments naming an order_id); nullopt + the failure
// (not_found, unavailable, …) otherwise.
void ask_order_payable(caf::actor me, const agent_context& ctx, std::string order_id,
                       std::function<void(std::optional<order::order_payable>, failure)> done);

}  // namespace mercato::payment
