// A stand-in for the order agent in the payment suites: answers heartbeats and get_order_payable
// from a fixed table (REST payments naming an order_id are checked against it).
//   ORD-R1     CUST-001 USD 100.00, nothing authorized, pending
//   ORD-PAY    CUST-001 USD  49.99, nothing authorized, pending
//   ORD-CONF   CUST-001 USD  30.00, 10.00 authorized (balance 20.00), confirmed
//   ORD-SHIP   CUST-001 USD  10.00, balance 10.00, shipped
// anything else → not_found.
#pragma once

#include <caf/all.hpp>

#include "mercato/agent_context.hpp"
#include "order/order_messages.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::test {

inline caf::actor spawn_fake_order(caf::local_actor* supervisor, const agent_context&) {
  return supervisor->spawn<caf::linked>([](caf::event_based_actor*) -> caf::behavior {
    return {
        [](heartbeat_atom, uint64_t seq) { return heartbeat_reply{seq, 0}; },
        [](order::get_order_payable& m) -> caf::result<order::order_payable> {
          auto row = [&](money::cents total, money::cents authorized, const char* status) {
            order::order_payable o;  // by field: the struct may grow (fields with defaults)
            o.order_id = m.order_id;
            o.customer_id = "CUST-001";
            o.currency = "USD";
            o.total_amount = total;
            o.amount_authorized = authorized;
            o.balance_due = total - authorized;
            o.status = status;
            o.payment_status = "pending";
            return o;
          };
          if (m.order_id == "ORD-R1") return row(10000, 0, "pending");
          if (m.order_id == "ORD-PAY") return row(4999, 0, "pending");
          if (m.order_id == "ORD-CONF") return row(3000, 1000, "confirmed");
          if (m.order_id == "ORD-SHIP") return row(1000, 0, "shipped");
          return make_failure(failure_kind::not_found, "order_not_found", "Order not found");
        },
    };
  });
}

}  // namespace mercato::test
