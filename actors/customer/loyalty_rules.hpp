// Loyalty programme rules (agents/8007-customer.md "Rules"), plain C++: tiers and their earning
// multipliers, the redemption quote (minimum, 50 % cap, 100 points = 1.00), earning, the pro-rata
// reversal on refunds, the yearly tier review, and when the daily jobs run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "customer/daily_schedule.hpp"
#include "domain/money.hpp"

namespace mercato::customer::loyalty {

enum class tier : int { bronze = 0, silver, gold, platinum, diamond };

inline constexpr int64_t minimum_redemption = 500;  // points per order
inline constexpr int64_t points_per_unit = 100;     // 100 points = 1.00
inline constexpr int64_t referral_bonus = 250;
inline constexpr int expiry_days = 365;

// Points expiry and tier review: daily at 02:00 UTC, and at start if missed (daily_schedule.hpp).
inline constexpr schedule::daily_schedule job_schedule{std::chrono::hours(2)};

std::string_view to_string(tier t) noexcept;
std::optional<tier> parse_tier(std::string_view name) noexcept;
// Qualifying points to reach `t` (bronze 0, silver 1,000, gold 5,000, platinum 15,000, diamond 50,000).
int64_t threshold(tier t) noexcept;
// Earning multiplier in thousandths (bronze 1000 … diamond 2000).
int64_t multiplier_e3(tier t) noexcept;
// Highest tier whose threshold `qualifying_points` reaches.
tier tier_for(int64_t qualifying_points) noexcept;
// The next tier and the qualifying points still missing; nullopt at diamond.
std::optional<tier> next_tier(tier t) noexcept;
int64_t points_to_next_tier(tier t, int64_t qualifying_points) noexcept;

// Value of `points` in cents (1 point = 0.01).
inline money::cents points_value(int64_t points) noexcept { return points * 100 / points_per_unit; }

enum class quote_error { none, not_positive, below_minimum, exceeds_cap, insufficient_points };
struct quote {
  quote_error error = quote_error::none;
  int64_t points = 0;
  money::cents discount = 0;
};
// Checks in the order: positive, ≥ minimum, value ≤ 50 % of the merchandise amount, ≤ balance.
quote quote_redemption(int64_t points, money::cents merchandise_amount, int64_t balance) noexcept;
// The machine code ("below_minimum", …) and the human text of a quote error.
std::string_view error_code(quote_error e) noexcept;
std::string error_message(const quote& q, money::cents merchandise_amount, int64_t balance);

// ⌊eligible × multiplier⌋ with 1 point per 1.00 at bronze.
int64_t points_for(money::cents eligible_amount, tier t) noexcept;
// Points of an order to reverse now so that the cumulative reversal is ⌊earned × refunded ÷
// eligible⌋, never more than earned: `already_reversed` were taken by earlier refunds.
int64_t points_to_reverse(int64_t earned, money::cents eligible, money::cents refunded_cumulative,
                          int64_t already_reversed) noexcept;

// The tier after a review at tier_expiry_date: up to tier_for(qualifying) if higher, otherwise at
// most one level down (never below what the qualifying points reach).
tier reviewed_tier(tier current, int64_t qualifying_points) noexcept;

// Whether an order event (short name, e.g. "order_confirmed") can change what the customer agent
// keeps — open orders, statistics, points: the lifecycle events, and status updates into a closed
// status. The others (the pending → confirmed update that accompanies order_confirmed, notes,
// tags, shipments) are acknowledged without a transaction.
bool order_event_matters(std::string_view name, std::string_view new_status) noexcept;
// A status after which an order is no longer open.
bool closed_order_status(std::string_view status) noexcept;

}  // namespace mercato::customer::loyalty
