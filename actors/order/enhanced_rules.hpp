// Rules of the enhanced order API (agents/8000-order.md "Rules"), as plain functions the routes and
// the unit tests share: tag format, fulfilment-plan transitions, delivery-attempt numbering,
// modification kinds, split arithmetic and the analytics windows. No SQL, no actors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"

namespace mercato::order::enhanced {

// ---- tags -------------------------------------------------------------------------------------
inline constexpr size_t max_tags_per_order = 20;
// Lower-cases and trims `raw`; nullopt unless the result matches ^[a-z0-9_:-]{1,50}$.
std::optional<std::string> normalize_tag(std::string_view raw);

// ---- enumerations (seed enums) ------------------------------------------------------------------
bool is_note_type(std::string_view v);
bool is_split_reason(std::string_view v);
bool is_fulfillment_strategy(std::string_view v);
bool is_plan_status(std::string_view v);
bool is_delivery_status(std::string_view v);
bool is_cancellation_reason(std::string_view v);
bool is_modification_type(std::string_view v);
bool is_timeline_event_type(std::string_view v);  // ^[a-z_]{1,100}$
const std::vector<std::string_view>& note_types();
const std::vector<std::string_view>& split_reasons();
const std::vector<std::string_view>& fulfillment_strategies();
const std::vector<std::string_view>& plan_statuses();
const std::vector<std::string_view>& delivery_statuses();
const std::vector<std::string_view>& cancellation_reasons();
const std::vector<std::string_view>& modification_types();

// ---- fulfilment plans ---------------------------------------------------------------------------
// planned → in_progress → completed; planned/in_progress ↔ on_hold; any non-completed → cancelled.
// The same status again is not a transition (callers answer it unchanged).
bool plan_transition_allowed(std::string_view from, std::string_view to);

// ---- delivery attempts --------------------------------------------------------------------------
inline constexpr int max_delivery_attempts = 3;
struct attempt_history {
  int recorded = 0;           // attempts already recorded for the shipment
  bool delivered = false;     // a successful attempt exists, or the shipment is delivered
  bool failed = false;        // the shipment is failed (3 failed attempts)
};
enum class attempt_verdict { ok, shipment_delivered, shipment_failed, not_next };
// `number` is the client's attempt_number (0 = not given: the next one is used).
attempt_verdict check_attempt(const attempt_history& h, int number);
// True when this (failed) attempt is the one that fails the shipment.
inline bool attempt_fails_shipment(int number, bool successful) {
  return !successful && number >= max_delivery_attempts;
}

// ---- cancellation -------------------------------------------------------------------------------
// Order statuses a cancellation request may be filed (and approved) in: before shipping.
bool cancellable_status(std::string_view status);

// ---- modifications ------------------------------------------------------------------------------
// The order column a modification of `type` changes, for the field modifications this API applies
// itself; empty for kinds that need the order core (status, items).
struct modification_target {
  std::string field;                  // the field name recorded (e.g. "shipping_address")
  std::vector<std::string> allowed;   // acceptable field_name values
};
std::optional<modification_target> field_modification(std::string_view type);
// Item changes (agents/8000-order.md Rules): additions and increases only while payment_status is
// pending/failed; removals and decreases until the line ships. Empty when allowed, else the reason.
std::string item_change_refusal(std::string_view type, std::string_view payment_status,
                                int64_t quantity, int64_t quantity_shipped, int64_t new_quantity);

// ---- splits -------------------------------------------------------------------------------------
// `part` of a line's `amount` for `moved` of `quantity` units, rounded half-up (the remainder stays
// with the parent line, so parent + child = original to the cent).
money::cents prorate(money::cents amount, int64_t moved, int64_t quantity);

// ---- analytics ----------------------------------------------------------------------------------
// Seconds of a named range ("24h", "7d", "30d", "90d", "1y"); nullopt otherwise.
std::optional<int64_t> range_seconds(std::string_view range);
// Percent change of `current` against `previous`, rounded to 2 decimals; nullopt when previous is 0.
std::optional<double> growth_percent(double current, double previous);

}  // namespace mercato::order::enhanced
