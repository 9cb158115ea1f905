// Rules of the enhanced order API (see enhanced_rules.hpp).
#include "order/enhanced_rules.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace mercato::order::enhanced {
namespace {

bool contains(const std::vector<std::string_view>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

std::optional<std::string> normalize_tag(std::string_view raw) {
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.front()))) raw.remove_prefix(1);
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.back()))) raw.remove_suffix(1);
  if (raw.empty() || raw.size() > 50) return std::nullopt;
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == ':' || l == '-';
    if (!ok) return std::nullopt;
    out.push_back(l);
  }
  return out;
}

const std::vector<std::string_view>& note_types() {
  static const std::vector<std::string_view> v{"internal", "customer", "system", "agent"};
  return v;
}
const std::vector<std::string_view>& split_reasons() {
  static const std::vector<std::string_view> v{"multi_warehouse",     "partial_availability",
                                               "delivery_speed",      "carrier_limitations",
                                               "customer_request",    "cost_optimization"};
  return v;
}
const std::vector<std::string_view>& fulfillment_strategies() {
  static const std::vector<std::string_view> v{"single_warehouse", "split_shipment", "dropship",
                                               "store_pickup", "hybrid"};
  return v;
}
const std::vector<std::string_view>& plan_statuses() {
  static const std::vector<std::string_view> v{"planned", "in_progress", "completed", "cancelled",
                                               "on_hold"};
  return v;
}
const std::vector<std::string_view>& delivery_statuses() {
  static const std::vector<std::string_view> v{
      "successful",          "failed",          "customer_not_home", "address_issue",
      "refused_by_customer", "damaged_package", "weather_delay",     "rescheduled"};
  return v;
}
const std::vector<std::string_view>& cancellation_reasons() {
  static const std::vector<std::string_view> v{
      "customer_request", "out_of_stock",  "payment_failed",        "fraud_detected",
      "duplicate_order",  "address_issue", "pricing_error",         "marketplace_cancelled",
      "platform_cancelled", "other"};
  return v;
}
const std::vector<std::string_view>& modification_types() {
  static const std::vector<std::string_view> v{
      "status_change",        "item_added",      "item_removed",        "quantity_changed",
      "address_change",       "delivery_date_change", "priority_change", "gift_options_change",
      "notes_change"};
  return v;
}

bool is_note_type(std::string_view v) { return contains(note_types(), v); }
bool is_split_reason(std::string_view v) { return contains(split_reasons(), v); }
bool is_fulfillment_strategy(std::string_view v) { return contains(fulfillment_strategies(), v); }
bool is_plan_status(std::string_view v) { return contains(plan_statuses(), v); }
bool is_delivery_status(std::string_view v) { return contains(delivery_statuses(), v); }
bool is_cancellation_reason(std::string_view v) { return contains(cancellation_reasons(), v); }
bool is_modification_type(std::string_view v) { return contains(modification_types(), v); }

bool is_timeline_event_type(std::string_view v) {
  if (v.empty() || v.size() > 100) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

bool plan_transition_allowed(std::string_view from, std::string_view to) {
  if (from == to || !is_plan_status(from) || !is_plan_status(to)) return false;
  if (from == "completed" || from == "cancelled") return false;  // terminal
  if (to == "cancelled") return true;
  if (from == "planned") return to == "in_progress" || to == "on_hold";
  if (from == "in_progress") return to == "completed" || to == "on_hold";
  // on_hold goes back to where a plan can be held from
  if (from == "on_hold") return to == "planned" || to == "in_progress";
  return false;
}

attempt_verdict check_attempt(const attempt_history& h, int number) {
  if (h.delivered) return attempt_verdict::shipment_delivered;
  if (h.failed || h.recorded >= max_delivery_attempts) return attempt_verdict::shipment_failed;
  if (number != 0 && number != h.recorded + 1) return attempt_verdict::not_next;
  return attempt_verdict::ok;
}

bool cancellable_status(std::string_view status) {
  return status == "pending" || status == "confirmed" || status == "processing";
}

std::optional<modification_target> field_modification(std::string_view type) {
  if (type == "address_change") return modification_target{"shipping_address", {"shipping_address", "billing_address"}};
  if (type == "delivery_date_change")
    return modification_target{"scheduled_delivery_date", {"scheduled_delivery_date"}};
  if (type == "priority_change") return modification_target{"priority_level", {"priority_level"}};
  if (type == "gift_options_change") return modification_target{"gift_options", {"gift_options"}};
  if (type == "notes_change") return modification_target{"notes", {"notes"}};
  return std::nullopt;
}

std::string item_change_refusal(std::string_view type, std::string_view payment_status,
                                int64_t quantity, int64_t quantity_shipped, int64_t new_quantity) {
  const bool unpaid = payment_status == "pending" || payment_status == "failed";
  if (type == "item_added" || (type == "quantity_changed" && new_quantity > quantity)) {
    if (!unpaid) return "Items can only be added or increased while the payment is pending or failed";
    return {};
  }
  // removals and decreases: until the line ships
  if (quantity_shipped > 0) return "Items can only be removed or decreased until the line ships";
  if (type == "quantity_changed" && new_quantity < 1) return "Quantity must be at least 1 (remove the item instead)";
  return {};
}

money::cents prorate(money::cents amount, int64_t moved, int64_t quantity) {
  if (quantity <= 0 || moved <= 0) return 0;
  if (moved >= quantity) return amount;
  __int128 num = static_cast<__int128>(amount) * moved;
  return static_cast<money::cents>((num * 2 + quantity) / (2 * static_cast<__int128>(quantity)));
}

std::optional<int64_t> range_seconds(std::string_view range) {
  if (range == "24h") return 24 * 3600;
  if (range == "7d") return 7 * 86400;
  if (range == "30d") return 30 * 86400;
  if (range == "90d") return 90 * 86400;
  if (range == "1y") return 365 * 86400;
  return std::nullopt;
}

std::optional<double> growth_percent(double current, double previous) {
  if (previous == 0) return std::nullopt;
  double g = (current - previous) / previous * 100.0;
  return std::round(g * 100.0) / 100.0;
}

}  // namespace mercato::order::enhanced
