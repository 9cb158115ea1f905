// customer's typed interface (agents/8007-customer.md "Typed messages"), the part other agents use.
#pragma once

#include <string>

#include "domain/money.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::customer {

// The profile summary other agents need (validate_customer, get_customer).
struct customer_profile {
  std::string customer_id;
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::string status;             // active | suspended | …
  std::string registration_date;  // ISO 8601
  std::string loyalty_tier;
  int64_t points_balance = 0;
  money::cents store_credit_balance = 0;
  std::string default_shipping_address_json;  // address object or empty
  std::string default_billing_address_json;
};

// Errors: not_found (customer_not_found); validate_customer also inactive (invalid,
// code customer_inactive, message "Customer account is suspended").
struct validate_customer {
  std::string customer_id;
};
struct get_customer {
  std::string customer_id;
};

// Value of redeeming `points` against `merchandise_amount` (no side effect).
// Errors: below_minimum, exceeds_cap, insufficient_points (invalid).
struct quote_redemption {
  std::string customer_id;
  int64_t points = 0;
  money::cents merchandise_amount = 0;
};
struct redemption {
  int64_t points = 0;
  money::cents value = 0;
};
// Takes the points for an order; idempotent by order_id.
struct redeem_points {
  std::string customer_id;
  std::string order_id;
  int64_t points = 0;
  money::cents merchandise_amount = 0;
  std::string idempotency_key;
};
// Gives an order's redeemed points back; idempotent (the second call restores nothing).
struct restore_points {
  std::string customer_id;
  std::string order_id;
  std::string idempotency_key;
};
// Store credit taken / given back for an order; idempotent by order_id.
// Errors: insufficient_credit (invalid).
struct redeem_store_credit {
  std::string customer_id;
  std::string order_id;
  money::cents amount = 0;
  std::string idempotency_key;
};
struct restore_store_credit {
  std::string customer_id;
  std::string order_id;
  std::string idempotency_key;
};
struct credit_result {
  money::cents amount = 0;   // taken (redeem) or given back (restore) by this order
  money::cents balance = 0;  // afterwards
};

}  // namespace mercato::customer

MERCATO_MESSAGE(mercato::customer::customer_profile)
MERCATO_MESSAGE(mercato::customer::validate_customer)
MERCATO_MESSAGE(mercato::customer::get_customer)
MERCATO_MESSAGE(mercato::customer::quote_redemption)
MERCATO_MESSAGE(mercato::customer::redemption)
MERCATO_MESSAGE(mercato::customer::redeem_points)
MERCATO_MESSAGE(mercato::customer::restore_points)
MERCATO_MESSAGE(mercato::customer::redeem_store_credit)
MERCATO_MESSAGE(mercato::customer::restore_store_credit)
MERCATO_MESSAGE(mercato::customer::credit_result)

namespace mercato {
using customer_actor = agent_actor::extend<
    caf::replies_to<customer::validate_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::get_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::quote_redemption>::with<customer::redemption>,
    caf::replies_to<customer::redeem_points>::with<customer::redemption>,
    caf::replies_to<customer::restore_points>::with<customer::redemption>,
    caf::replies_to<customer::redeem_store_credit>::with<customer::credit_result>,
    caf::replies_to<customer::restore_store_credit>::with<customer::credit_result>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>>;
}  // namespace mercato
