#include "domain/money.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace mercato::money {
namespace {

// Parses [-]digits[.digits] into a value scaled by 10^scale, rounding half-up (away from zero)
// on the first dropped digit.
std::optional<int64_t> parse_scaled(std::string_view text, int scale, int64_t limit) {
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  int64_t whole = 0;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + (text[i] - '0');
    if (whole > limit) return std::nullopt;
  }
  int64_t fraction = 0;
  int fraction_digits = 0;
  bool round_up = false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (fraction_digits < scale) {
        fraction = fraction * 10 + (text[i] - '0');
        ++fraction_digits;
      } else if (fraction_digits == scale) {
        round_up = text[i] >= '5';
        ++fraction_digits;  // later digits do not matter for half-up
      }
    }
  }
  if (i != text.size() || digits == 0) return std::nullopt;  // also rejects "1e2"
  for (int k = std::min(fraction_digits, scale); k < scale; ++k) fraction *= 10;
  int64_t scaled_unit = 1;
  for (int k = 0; k < scale; ++k) scaled_unit *= 10;
  int64_t value = whole * scaled_unit + fraction + (round_up ? 1 : 0);
  if (value > limit) return std::nullopt;
  return negative ? -value : value;
}

}  // namespace

std::optional<cents> parse_decimal(std::string_view text) {
  return parse_scaled(text, 2, max_amount);
}

std::optional<cents> from_json(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    if (v > max_amount / 100 || v < -max_amount / 100) return std::nullopt;
    return v * 100;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::fabs(d) * 100.0 > static_cast<double>(max_amount)) return std::nullopt;
    // Shortest decimal text of the double, then exact decimal rounding (0.1 + 0.2 style noise).
    return parse_decimal(fmt::format("{:.6f}", d));
  }
  if (value.is_string()) return parse_decimal(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::string format(cents amount) {
  const bool negative = amount < 0;
  const uint64_t a = negative ? static_cast<uint64_t>(-amount) : static_cast<uint64_t>(amount);
  return fmt::format("{}{}.{:02d}", negative ? "-" : "", a / 100, a % 100);
}

nlohmann::json to_json(cents amount) {
  if (amount % 100 == 0) return static_cast<double>(amount / 100);
  return static_cast<double>(amount) / 100.0;
}

namespace {
int64_t div_half_up(__int128 numerator, int64_t denominator) {
  const bool negative = numerator < 0;
  if (negative) numerator = -numerator;
  __int128 q = (numerator + denominator / 2) / denominator;
  return negative ? -static_cast<int64_t>(q) : static_cast<int64_t>(q);
}
}  // namespace

cents apply_rate_e4(cents amount, int64_t rate_e4) {
  return div_half_up(static_cast<__int128>(amount) * rate_e4, 10'000);
}

cents percent_of(cents amount, int64_t percent_e2) {
  return div_half_up(static_cast<__int128>(amount) * percent_e2, 10'000);
}

std::optional<int64_t> parse_rate_e4(std::string_view text) {
  auto dot = text.find('.');
  if (dot != std::string_view::npos && text.size() - dot - 1 > 4) return std::nullopt;
  return parse_scaled(text, 4, 1'000'000'000);
}

std::string format_rate_e4(int64_t rate_e4) {
  return fmt::format("{}{}.{:04d}", rate_e4 < 0 ? "-" : "", std::llabs(rate_e4) / 10000,
                     std::llabs(rate_e4) % 10000);
}

}  // namespace mercato::money
