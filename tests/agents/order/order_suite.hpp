// What the order suite's files share: the six agents of the order-to-cash flow on a seeded
// database, and the order path's invariants as the bench checks them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/agent_fixture.hpp"

namespace mercato::test {

// product, inventory, customer, fraud_detection, payment and order; `adjust` edits the config,
// `call_timeout` bounds the agents' asks to each other.
std::unique_ptr<agent_fixture> make_order_fixture(std::function<void(config&)> adjust = {},
                                                  std::chrono::milliseconds call_timeout = std::chrono::seconds(3));

inline int64_t count(agent_fixture& f, const std::string& sql) { return f.database().value<int64_t>(sql); }

// bench/sql/order_consistency.sql against the fixture's database: "name value" for each invariant
// that is not 0 (unsettled sagas, orphaned reservations or authorizations, confirmed orders without
// one live payment, reserved stock that is not the sum of the live reservations, negative stock,
// orphan references, orders neither confirmed nor cancelled). Empty when the order path is sound.
std::vector<std::string> broken_order_invariants(agent_fixture& f);

}  // namespace mercato::test
