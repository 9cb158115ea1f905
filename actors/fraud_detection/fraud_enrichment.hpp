// Enrichment of a scoring: asks the owning agents, in parallel and with a 1 s timeout each, for the
// signals the caller did not supply (order count_recent_orders, customer get_customer →
// account_age_days, payment count_method_changes). A missing answer marks the signal unavailable
// (it then contributes 0). Runs inside the fraud actor; `done` is called there exactly once.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "fraud_detection/fraud_agent_interface.hpp"
#include "fraud_detection/fraud_input.hpp"
#include "mercato/agent_context.hpp"

namespace mercato::fraud {

inline constexpr std::chrono::milliseconds enrichment_timeout{1000};

// `unavailable` in a fixed order (high_velocity, new_account, frequent_payment_changes).
using enriched_fn = std::function<void(score_request req, std::vector<std::string> unavailable)>;

void enrich(fraud_agent_actor::pointer self, const agent_context& ctx, score_request req,
            enriched_fn done);

}  // namespace mercato::fraud
