// Loyalty programme rules (see loyalty_rules.hpp).
#include "customer/loyalty_rules.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mercato::customer::loyalty {

std::string_view to_string(tier t) noexcept {
  switch (t) {
    case tier::bronze: return "bronze";
    case tier::silver: return "silver";
    case tier::gold: return "gold";
    case tier::platinum: return "platinum";
    case tier::diamond: return "diamond";
  }
  return "bronze";
}

std::optional<tier> parse_tier(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(tier::diamond); ++i)
    if (to_string(static_cast<tier>(i)) == name) return static_cast<tier>(i);
  return std::nullopt;
}

int64_t threshold(tier t) noexcept {
  switch (t) {
    case tier::bronze: return 0;
    case tier::silver: return 1'000;
    case tier::gold: return 5'000;
    case tier::platinum: return 15'000;
    case tier::diamond: return 50'000;
  }
  return 0;
}

int64_t multiplier_e3(tier t) noexcept {
  switch (t) {
    case tier::bronze: return 1000;
    case tier::silver: return 1100;
    case tier::gold: return 1250;
    case tier::platinum: return 1500;
    case tier::diamond: return 2000;
  }
  return 1000;
}

tier tier_for(int64_t qualifying_points) noexcept {
  tier best = tier::bronze;
  for (int i = 0; i <= static_cast<int>(tier::diamond); ++i)
    if (qualifying_points >= threshold(static_cast<tier>(i))) best = static_cast<tier>(i);
  return best;
}

std::optional<tier> next_tier(tier t) noexcept {
  if (t == tier::diamond) return std::nullopt;
  return static_cast<tier>(static_cast<int>(t) + 1);
}

int64_t points_to_next_tier(tier t, int64_t qualifying_points) noexcept {
  auto n = next_tier(t);
  if (!n) return 0;
  return std::max<int64_t>(0, threshold(*n) - qualifying_points);
}

quote quote_redemption(int64_t points, money::cents merchandise_amount, int64_t balance) noexcept {
  quote q;
  q.points = points;
  if (points <= 0) {
    q.error = quote_error::not_positive;
    return q;
  }
  q.discount = points_value(points);
  if (points < minimum_redemption)
    q.error = quote_error::below_minimum;
  else if (q.discount * 2 > merchandise_amount)  // at most 50 % of the merchandise after promotions
    q.error = quote_error::exceeds_cap;
  else if (points > balance)
    q.error = quote_error::insufficient_points;
  return q;
}

std::string_view error_code(quote_error e) noexcept {
  switch (e) {
    case quote_error::none: return "";
    case quote_error::not_positive: return "invalid_points";
    case quote_error::below_minimum: return "below_minimum";
    case quote_error::exceeds_cap: return "exceeds_cap";
    case quote_error::insufficient_points: return "insufficient_points";
  }
  return "";
}

std::string error_message(const quote& q, money::cents merchandise_amount, int64_t balance) {
  switch (q.error) {
    case quote_error::none: return {};
    case quote_error::not_positive: return "Points to redeem must be a positive whole number";
    case quote_error::below_minimum:
      return fmt::format("At least {} points must be redeemed per order", minimum_redemption);
    case quote_error::exceeds_cap:
      return fmt::format("Points can cover at most 50% of the merchandise amount ({} of {})",
                         money::format(merchandise_amount / 2), money::format(merchandise_amount));
    case quote_error::insufficient_points:
      return fmt::format("Insufficient points: requested {}, available {}", q.points, balance);
  }
  return {};
}

int64_t points_for(money::cents eligible_amount, tier t) noexcept {
  if (eligible_amount <= 0) return 0;
  // cents × multiplier/1000 ÷ 100 cents per point, floored
  return eligible_amount * multiplier_e3(t) / 100'000;
}

int64_t points_to_reverse(int64_t earned, money::cents eligible, money::cents refunded_cumulative,
                          int64_t already_reversed) noexcept {
  if (earned <= 0 || eligible <= 0 || refunded_cumulative <= 0) return 0;
  money::cents refunded = std::min(refunded_cumulative, eligible);
  // earned ≤ ~1e10 and refunded ≤ 1e12 could overflow int64 in the product: use 128 bits.
  auto target = static_cast<int64_t>(static_cast<__int128>(earned) * refunded / eligible);
  target = std::min(target, earned);
  return std::max<int64_t>(0, target - already_reversed);
}

tier reviewed_tier(tier current, int64_t qualifying_points) noexcept {
  tier reached = tier_for(qualifying_points);
  if (reached >= current) return reached;
  return static_cast<tier>(static_cast<int>(current) - 1);
}

bool closed_order_status(std::string_view status) noexcept {
  for (std::string_view c : {"cancelled", "delivered", "returned", "refunded", "failed", "completed"})
    if (status == c) return true;
  return false;
}

bool order_event_matters(std::string_view name, std::string_view new_status) noexcept {
  for (std::string_view n : {"order_created", "order_confirmed", "order_cancelled", "order_delivered",
                             "order_refunded", "order_failed"})
    if (name == n) return true;
  return name == "order_status_updated" && closed_order_status(new_status);
}

}  // namespace mercato::customer::loyalty
