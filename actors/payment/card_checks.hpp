// Raw card data checks for the test gateway (agents/8004-payment.md "Test gateway"): Luhn,
// length, brand by prefix, expiry not past, CVC length. Plain C++; the number is never stored.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mercato::payment {

// Digits only (spaces and dashes removed); nullopt when anything else is in it.
std::optional<std::string> normalize_card_number(std::string_view raw);
bool luhn_valid(std::string_view digits);
// 13..19 digits and Luhn-valid.
bool card_number_valid(std::string_view digits);
// visa | mastercard | amex | discover | unknown
std::string card_brand(std::string_view digits);
// Month 1..12 and (year, month) not before (now_year, now_month).
bool expiry_valid(int month, int year, int now_year, int now_month);
// 3 digits, or 4 for amex.
bool cvc_valid(std::string_view cvc, std::string_view brand);
// HMAC-SHA256 of the number with the install secret (hex): same card → same fingerprint.
std::string card_fingerprint(std::string_view digits, std::string_view secret);

}  // namespace mercato::payment
