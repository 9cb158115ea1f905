// Money as exact integer cents (DESIGN: never a binary float). Parsed from JSON numbers or numeric
// strings ("19.90": the dashboard sends strings) and from PostgreSQL NUMERIC text; rendered as
// "12.30" for SQL parameters and as a JSON number for bodies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace mercato::money {

using cents = int64_t;

// Largest accepted amount: NUMERIC(12,2) holds 9,999,999,999.99.
inline constexpr cents max_amount = 999'999'999'999;

// "12.3", "12.30", "-4", "0.005" (rounded half-up to 0.01). nullopt when not a decimal number or
// out of NUMERIC(12,2) range.
std::optional<cents> parse_decimal(std::string_view text);
// A JSON number or numeric string, as parse_decimal. nullopt for other types (bool, null, …).
std::optional<cents> from_json(const nlohmann::json& value);

// "12.30", "-0.05".
std::string format(cents amount);
// The JSON number for an amount (value exact to the cent).
nlohmann::json to_json(cents amount);

// amount × rate, rate in parts per ten thousand (8.25 % = 825), rounded half-up to the cent.
cents apply_rate_e4(cents amount, int64_t rate_e4);
// amount × percent / 100 with percent in hundredths (2.90 % = 290), rounded half-up.
cents percent_of(cents amount, int64_t percent_e2);

// A NUMERIC rate text ("0.0825") in parts per ten thousand (825); nullopt when not a decimal or more
// than four decimals.
std::optional<int64_t> parse_rate_e4(std::string_view text);
std::string format_rate_e4(int64_t rate_e4);  // "0.0825"

}  // namespace mercato::money
