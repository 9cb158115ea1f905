// The enhanced order API (agents/8000-order.md REST, second half): modifications, splits,
// fulfilment plans, delivery attempts, cancellation requests, notes, tags, timeline, analytics.
// Its routes run SQL on the order schema through `database` and continue inside the order actor
// through `in_actor`; where they need a saga (cancel on an approved request, delivering a
// shipment) they call the order agent's hooks, which answer inside the actor.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"
#include "http/router.hpp"
#include "runtime/agent_error.hpp"

namespace mercato {
namespace db {
class pool;
class outbox_relay;
}  // namespace db

namespace order {

// Outcome of a hook: `error` null on success, `result` the REST document (order_view / shipment).
using hook_done = std::function<void(const failure* error, const nlohmann::json& result)>;

struct enhanced_dependencies {
  db::pool* database = nullptr;
  db::outbox_relay* relay = nullptr;  // wake() after committing outbox events
  // Runs `fn` inside the order actor (a continuation message).
  std::function<void(std::function<void()> fn)> in_actor;
  // Runs the cancel saga (agents/8000-order.md "Cancel saga") for an order; refund_amount -1 = all.
  std::function<void(const std::string& order_id, const std::string& reason,
                     const std::string& requested_by, money::cents refund_amount, hook_done done)>
      cancel_order;
  // Marks a shipment delivered at `delivered_at` (ISO 8601) and advances the order.
  std::function<void(const std::string& shipment_id, const std::string& delivered_at, hook_done done)>
      deliver_shipment;
  // Marks a shipment failed after the third failed delivery attempt.
  std::function<void(const std::string& shipment_id, const std::string& reason, hook_done done)>
      fail_shipment;
};

// Adds the enhanced routes (both /orders… and /api/orders… prefixes) to `routes`.
void add_enhanced_routes(http::router& routes, const enhanced_dependencies& deps);

}  // namespace order
}  // namespace mercato
