// Card checks (see card_checks.hpp).
#include "payment/card_checks.hpp"

#include <cctype>

#include "domain/sha256.hpp"

namespace mercato::payment {

std::optional<std::string> normalize_card_number(std::string_view raw) {
  std::string digits;
  for (char c : raw) {
    if (c == ' ' || c == '-') continue;
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits.push_back(c);
  }
  return digits;
}

bool luhn_valid(std::string_view digits) {
  if (digits.empty()) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool card_number_valid(std::string_view digits) {
  return digits.size() >= 13 && digits.size() <= 19 && luhn_valid(digits);
}

std::string card_brand(std::string_view d) {
  auto prefix = [&](size_t n) { return d.size() >= n ? std::stoi(std::string(d.substr(0, n))) : -1; };
  if (!d.empty() && d[0] == '4') return "visa";
  int p2 = prefix(2), p4 = prefix(4);
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return "mastercard";
  if (p2 == 34 || p2 == 37) return "amex";
  if (p4 == 6011 || p2 == 65) return "discover";
  return "unknown";
}

bool expiry_valid(int month, int year, int now_year, int now_month) {
  if (month < 1 || month > 12) return false;
  if (year < 100) year += 2000;  // "27" means 2027
  return year > now_year || (year == now_year && month >= now_month);
}

bool cvc_valid(std::string_view cvc, std::string_view brand) {
  size_t want = brand == "amex" ? 4 : 3;
  if (cvc.size() != want) return false;
  for (char c : cvc)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string card_fingerprint(std::string_view digits, std::string_view secret) {
  return crypto::to_hex(crypto::hmac_sha256(secret, digits));
}

}  // namespace mercato::payment
