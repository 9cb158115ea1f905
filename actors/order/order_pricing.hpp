// Pricing arithmetic of an order (agents/8000-order.md "Pricing a new order"): order-level
// discounts spread over lines in proportion to line totals (largest remainder to the cent), tax per
// line on (line total − allocated discount) rounded half-up, shipping untaxed, and the client's
// expected figures treated as upper bounds. Plain C++.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/money.hpp"

namespace mercato::order {

// Splits `amount` over `weights` proportionally; the cents lost to rounding go to the largest
// remainders (ties: earlier lines). Σ result = amount when Σ weights > 0; else all zero.
std::vector<money::cents> spread(money::cents amount, const std::vector<money::cents>& weights);

// amount × rate (rate in parts per 100,000: 8.875 % = 8875), half-up to the cent.
money::cents apply_rate_e5(money::cents amount, int64_t rate_e5);
// "0.08875" → 8875; nullopt when not a decimal in [0, 1) with ≤ 5 decimals.
std::optional<int64_t> parse_rate_e5(const std::string& text);
std::string format_rate_e5(int64_t rate_e5);  // "0.08875"

struct line_price {
  money::cents unit_price = 0;
  int64_t quantity = 0;
};
struct line_amounts {
  money::cents total_price = 0;  // unit × quantity
  money::cents discount = 0;
  money::cents tax = 0;
};
struct order_totals {
  std::vector<line_amounts> lines;
  money::cents subtotal = 0;
  money::cents discount = 0;
  money::cents shipping = 0;
  money::cents tax = 0;
  money::cents total = 0;
};

// `discount` is capped at the subtotal. `fixed_tax` (a channel's own figure) is spread over the
// lines instead of applying `tax_rate_e5`.
order_totals price_order(const std::vector<line_price>& lines, money::cents discount,
                         money::cents shipping, int64_t tax_rate_e5,
                         std::optional<money::cents> fixed_tax = std::nullopt);

// Client-sent expectations (upper bounds). Returns the 409 text of the first one exceeded, or "".
struct expected_line {
  std::string sku;
  std::optional<money::cents> unit_price;
  money::cents current_unit_price = 0;
};
std::string check_expected(const std::vector<expected_line>& lines,
                           std::optional<money::cents> expected_shipping, money::cents shipping,
                           std::optional<money::cents> expected_total, money::cents total);

// What k units of a line pay: round(k × line_paid ÷ quantity) for all but the last units, which
// take the remainder, so refunding or capturing every unit sums exactly to the line.
// `already` = units already counted before these k.
money::cents units_value(money::cents line_paid, int64_t quantity, int64_t already, int64_t k);

}  // namespace mercato::order
