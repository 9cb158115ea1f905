// The order agent's plain data: a parsed place-order request, an order as stored (record + lines),
// and the saga context that lets a restarted agent resume a placement. No CAF, no SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"

namespace mercato::order {

inline constexpr const char* store_currency = "USD";

// One requested line of POST /orders (items[] or lines[]).
struct line_request {
  std::string ref;  // product / variant / bundle id or SKU
  std::string variant_id;
  int64_t quantity = 0;
  std::optional<money::cents> expected_unit_price;  // unit_price / price: an upper bound
  std::vector<std::string> selected_components;
};

struct payment_request {
  std::string type = "card";  // card | marketplace | external
  std::string method_id;
  std::string token;
  int gateway_id = 0;
  std::string source;  // connection_id / store_id (external payments)
};

// A validated POST /orders body (every accepted form folded into one shape).
struct place_request {
  std::string customer_id;
  std::vector<line_request> lines;
  nlohmann::json shipping_address;  // null = the customer's default
  nlohmann::json billing_address;   // null = shipping
  std::string notes;
  std::string channel = "direct";
  std::string channel_name;
  std::string channel_order_id;
  std::string currency = store_currency;
  std::vector<std::string> promotion_codes;
  int64_t redeem_points = 0;
  money::cents use_store_credit = 0;
  std::string shipping_service_level = "standard";
  std::string carrier_code;
  std::optional<money::cents> expected_shipping;
  std::optional<money::cents> expected_total;
  payment_request payment;
  bool channel_prices = false;  // price_source "channel"
  std::optional<money::cents> channel_tax;
  nlohmann::json gift_options;  // null or object
  std::string scheduled_delivery_date;
  std::string delivery_instructions;
  std::string priority_level = "normal";
  std::vector<std::string> tags;
  nlohmann::json metadata = nlohmann::json::object();
  std::string ip_address;
};

// One stored order line.
struct order_line {
  std::string item_id;
  int line_number = 0;
  std::string product_id;  // the sellable item id inventory keys on
  std::string variant_id;
  std::string sku;
  std::string product_name;
  std::string category;
  nlohmann::json bundle_components;  // null or [{item_id, sku, quantity}]
  int64_t quantity = 0;
  money::cents unit_price = 0;
  money::cents discount_amount = 0;
  money::cents tax_amount = 0;
  money::cents total_price = 0;
  int64_t quantity_shipped = 0;
  int64_t quantity_delivered = 0;
  int64_t quantity_returned = 0;
};

// One stored order, as the view renders it.
struct order_record {
  std::string order_id;
  std::string order_number;
  std::string customer_id;
  std::string customer_name;
  std::string customer_email;
  std::string channel = "direct";
  std::string channel_name;
  std::string channel_order_id;
  std::string status = "pending";
  std::string payment_status = "pending";
  std::string fulfillment_status = "unfulfilled";
  std::string return_status = "none";
  std::string fraud_decision;
  std::optional<int64_t> fraud_score;
  std::string fraud_check_id;
  std::string currency = store_currency;
  money::cents subtotal = 0;
  money::cents discount_amount = 0;
  money::cents shipping_cost = 0;
  money::cents tax_amount = 0;
  money::cents total_amount = 0;
  money::cents amount_authorized = 0;
  money::cents amount_captured = 0;
  money::cents amount_refunded = 0;
  std::vector<std::string> promotion_codes;
  int64_t points_redeemed = 0;
  money::cents store_credit_used = 0;
  std::string shipping_service_level = "standard";
  std::string carrier_code;
  nlohmann::json shipping_address;
  nlohmann::json billing_address;
  std::string notes;
  nlohmann::json gift_options;  // {is_gift, gift_message, gift_wrap_type, hide_prices, gift_receipt}
  std::string scheduled_delivery_date;
  std::string delivery_instructions;
  std::string priority_level = "normal";
  bool is_split_order = false;
  std::string parent_order_id;
  std::string replacement_of;
  std::string payment_due_at;
  std::string review_due_at;
  std::string cancellation_reason;
  std::string cancelled_at;
  std::string cancelled_by;
  std::string confirmed_at;
  std::string shipped_at;
  std::string delivered_at;
  std::vector<std::string> tags;
  nlohmann::json metadata = nlohmann::json::object();
  std::string created_at;
  std::string updated_at;
  int64_t version = 1;
  std::vector<order_line> lines;
};

// The filters of GET /orders (REST and the typed list_orders_query), read by order_store list_orders /
// count_orders.
struct order_filter {
  std::vector<std::string> statuses;
  std::string customer_id, channel, payment_status, fulfillment_status, tag, search;
  std::string date_from, date_to;  // ISO dates/times
  std::string sort_by = "created_at";
  bool ascending = false;
  int64_t skip = 0, limit = 100;
};

// What a place saga needs to resume after a restart (stored as sagas.context).
struct place_context {
  std::string customer_id;
  std::string customer_email;
  std::string customer_phone;
  std::string ip_address;
  bool address_mismatch = false;
  // Fraud signals the order already knows, handed to score_order so that the fraud agent does not
  // ask the customer and order agents again (-1: unknown, the fraud agent asks).
  int64_t account_age_days = -1;
  int64_t order_count_24h = -1;  // the customer's other orders in the last 24 h, at insert
  int64_t redeem_points = 0;
  money::cents store_credit = 0;
  money::cents merchandise_amount = 0;  // subtotal (for the points redemption)
  money::cents total = 0;
  std::string currency = store_currency;
  payment_request payment;
  int payment_attempt = 1;
  // Filled as the saga goes (persisted at waiting points).
  std::string fraud_decision;
  int64_t fraud_score = -1;
  std::string fraud_check_id;
  bool reserved = false;
  bool redeemed = false;
  bool review_approved = false;
  bool authorized = false;
  std::string cancel_reason;  // set while compensating
  std::string idempotency_key;  // the client's, echoed in order_failed
  std::string requested_by;
};

nlohmann::json to_json(const place_context& c);
place_context place_context_from_json(const nlohmann::json& j);

}  // namespace mercato::order
