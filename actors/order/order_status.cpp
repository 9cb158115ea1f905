// The order status machine (see order_status.hpp).
#include "order/order_status.hpp"

#include <array>
#include <utility>

namespace mercato::order {
namespace {

constexpr std::array<const char*, 8> statuses{"pending",   "confirmed", "processing", "shipped",
                                              "delivered", "cancelled", "returned",   "refunded"};

constexpr std::array<std::pair<const char*, const char*>, 11> edges{{
    {"pending", "confirmed"},
    {"pending", "cancelled"},
    {"confirmed", "processing"},
    {"confirmed", "cancelled"},
    {"processing", "cancelled"},
    {"confirmed", "shipped"},
    {"processing", "shipped"},
    {"shipped", "delivered"},
    {"shipped", "returned"},
    {"delivered", "returned"},
    {"delivered", "refunded"},
}};

bool paid(const std::string& payment_status) {
  return payment_status == "authorized" || payment_status == "partially_captured" ||
         payment_status == "captured";
}

}  // namespace

bool is_order_status(const std::string& s) {
  for (const char* x : statuses)
    if (s == x) return true;
  return false;
}

bool is_cancellation_reason(const std::string& s) {
  for (const char* x : {"customer_request", "out_of_stock", "payment_failed", "fraud_detected",
                        "duplicate_order", "address_issue", "pricing_error", "marketplace_cancelled",
                        "platform_cancelled", "other"})
    if (s == x) return true;
  return false;
}

bool can_transition(const std::string& from, const std::string& to) {
  if (from == "returned" && to == "refunded") return true;
  for (const auto& [a, b] : edges)
    if (from == a && to == b) return true;
  return false;
}

status_decision decide_status_change(const std::string& current, const std::string& requested,
                                     const std::string& payment_status) {
  status_decision d;
  if (requested == "paid") {
    if (!paid(payment_status)) return {status_decision::reject_conflict, {}, "Order has no successful payment"};
    if (current != "pending") return {status_decision::unchanged, current, {}};
    return {status_decision::apply, "confirmed", {}};
  }
  if (!is_order_status(requested))
    return {status_decision::reject_invalid, {}, "Unknown order status '" + requested + "'"};
  if (requested == current) return {status_decision::unchanged, current, {}};
  const std::string illegal = "Cannot change order status from '" + current + "' to '" + requested + "'";
  if (requested == "pending" || requested == "returned" || requested == "refunded")
    return {status_decision::reject_conflict, {}, illegal + " (set by the returns/refund workflow)"};
  if (!can_transition(current, requested)) return {status_decision::reject_conflict, {}, illegal};
  if (requested == "confirmed" && !(paid(payment_status) || payment_status == "not_required"))
    return {status_decision::reject_conflict, {}, "Order has no successful payment"};
  d.kind = status_decision::apply;
  d.target = requested;
  return d;
}

int progress_percentage(const std::string& status) {
  if (status == "confirmed") return 25;
  if (status == "processing") return 50;
  if (status == "shipped") return 75;
  if (status == "delivered" || status == "returned" || status == "refunded") return 100;
  return 0;
}

}  // namespace mercato::order
