// customer's typed interface (agents/8007-customer.md "Typed messages"), the part other agents use.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
  int64_t account_age_days = 0;
  bool email_verified = false;
  std::string preferred_language = "en";
  std::string customer_type = "individual";
  std::string document;  // the full CustomerProfile document (the REST shape) as JSON text
};

// The typed door of POST /customers (+ `source`): the same validation and store unit as REST.
// Empty text = absent. Reply: the new profile. Errors: invalid (code invalid_input, detail = the
// REST 422 list as JSON; unknown_referral_code), conflict email_taken / id_taken (seed texts).
struct create_customer {
  std::string customer_id;  // empty → a UUID
  std::string email;
  std::string phone;
  std::string first_name;
  std::string last_name;
  std::string date_of_birth;  // YYYY-MM-DD
  std::string gender;
  std::string customer_type = "individual";
  std::string company_name;
  std::string referral_code;  // another customer's
  std::string source = "api";  // d2c:<store>, marketplace:<name>, api, …
};

// The typed door of PUT /customers/{customer_id}: only the fields set change; `clear` names the
// nullable ones to set to null (phone, first_name, last_name, date_of_birth, gender,
// company_name). Reply: the updated profile. Errors: not_found ("Customer with ID {id} not found
// or update failed"), invalid (invalid_input, as create_customer), conflict email_taken /
// illegal_transition (account status).
struct update_customer {
  std::string customer_id;
  std::optional<std::string> email, phone, first_name, last_name, date_of_birth, gender, customer_type,
      company_name, account_status, kyc_status, preferred_language;
  std::optional<bool> email_verified, phone_verified;
  std::optional<std::string> metadata_json;  // a JSON object
  std::vector<std::string> clear;
};

// list_customers' filter; empty text / nullopt = any. registered_from/to: an ISO date (whole
// days, UTC) or instant, both inclusive. marketing_opt_in: preference notifications.marketing_email
// is true (opted in) / is not (default false: no consent).
struct customer_filter {
  std::string account_status;  // active | inactive | suspended | blocked
  std::string customer_type;   // individual | business
  std::string loyalty_tier;    // bronze … diamond
  std::string registered_from;
  std::string registered_to;
  std::optional<bool> marketing_opt_in;
  std::string email;   // exact (normalised)
  std::string search;  // name, e-mail, phone
};
// Live profiles, registration_date DESC, customer_id (GET /customers' order); limit 1..1000.
// Errors: invalid (invalid_input) for a bad filter value or window.
struct list_customers {
  customer_filter filter;
  int64_t skip = 0;
  int64_t limit = 100;
};
struct customer_list {
  std::vector<customer_profile> customers;
  int64_t total = 0;  // matching profiles, ignoring skip/limit
};

// Finds a live profile by e-mail (case-insensitive). Errors: not_found (customer_not_found).
struct find_customer {
  std::string email;
};

// Finds by e-mail or creates an active individual profile with `source` (marketplace, d2c).
// Blocked or suspended profiles are returned as they are. Errors: invalid (bad e-mail / phone).
struct ensure_customer {
  std::string email;
  std::string first_name;
  std::string last_name;
  std::string phone;
  std::string source;
};
struct ensured_customer {
  std::string customer_id;
  bool created = false;
  customer_profile profile;
};

// Credits store credit (a return's refund as credit); idempotent by reference (e.g. "return:<id>").
// Errors: not_found, invalid (amount <= 0, currency other than the store's).
struct add_store_credit {
  std::string customer_id;
  money::cents amount = 0;
  std::string currency = "USD";
  std::string reference;
};

// Logs a customer interaction (support tickets, chats…); errors: not_found, invalid
// (invalid_input: POST /customers/{id}/interactions' checks, detail = the 422 list). The reply is
// the CustomerInteraction document as JSON text.
struct record_interaction {
  std::string customer_id;
  std::string interaction_type;  // support_ticket | chat | email | phone | review | feedback
  std::string channel;
  std::string subject;
  std::string description;
  std::string priority = "medium";
  std::string reference;
};
struct interaction_recorded {
  std::string interaction_id;
  std::string json;
};

// Contact preferences as {category: {key: value}} JSON text; errors: not_found.
struct get_preferences {
  std::string customer_id;
};
struct preferences {
  std::string customer_id;
  std::string json = "{}";
};

// Customers with an order or a login in the last `days` days (backoffice reports).
struct count_active_customers {
  int64_t days = 30;
};

// Background jobs as messages, for tests and operations (the daily 02:00 UTC timer runs the same
// SQL and records its runs in customers.job_runs; these do not). `as_of` is an ISO 8601 instant
// ("" = now): the clock the job reads.
struct expire_points {
  std::string as_of;
};
struct review_tiers {
  std::string as_of;
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
MERCATO_MESSAGE(mercato::customer::find_customer)
MERCATO_MESSAGE(mercato::customer::ensure_customer)
MERCATO_MESSAGE(mercato::customer::ensured_customer)
MERCATO_MESSAGE(mercato::customer::add_store_credit)
MERCATO_MESSAGE(mercato::customer::record_interaction)
MERCATO_MESSAGE(mercato::customer::interaction_recorded)
MERCATO_MESSAGE(mercato::customer::get_preferences)
MERCATO_MESSAGE(mercato::customer::preferences)
MERCATO_MESSAGE(mercato::customer::count_active_customers)
MERCATO_MESSAGE(mercato::customer::expire_points)
MERCATO_MESSAGE(mercato::customer::review_tiers)
MERCATO_MESSAGE(mercato::customer::create_customer)
MERCATO_MESSAGE(mercato::customer::update_customer)
MERCATO_MESSAGE(mercato::customer::list_customers)
MERCATO_MESSAGE(mercato::customer::customer_list)

namespace mercato {
using customer_actor = agent_actor::extend<
    caf::replies_to<customer::validate_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::get_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::quote_redemption>::with<customer::redemption>,
    caf::replies_to<customer::redeem_points>::with<customer::redemption>,
    caf::replies_to<customer::restore_points>::with<customer::redemption>,
    caf::replies_to<customer::redeem_store_credit>::with<customer::credit_result>,
    caf::replies_to<customer::restore_store_credit>::with<customer::credit_result>,
    caf::replies_to<customer::find_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::ensure_customer>::with<customer::ensured_customer>,
    caf::replies_to<customer::create_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::update_customer>::with<customer::customer_profile>,
    caf::replies_to<customer::list_customers>::with<customer::customer_list>,
    caf::replies_to<customer::add_store_credit>::with<customer::credit_result>,
    caf::replies_to<customer::record_interaction>::with<customer::interaction_recorded>,
    caf::replies_to<customer::get_preferences>::with<customer::preferences>,
    caf::replies_to<customer::count_active_customers>::with<count_reply>,
    caf::replies_to<customer::expire_points>::with<count_reply>,
    caf::replies_to<customer::review_tiers>::with<count_reply>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>>;
}  // namespace mercato
