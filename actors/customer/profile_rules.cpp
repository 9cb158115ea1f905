// Profile rules (see profile_rules.hpp).
#include "customer/profile_rules.hpp"

#include <cctype>
#include <random>

namespace mercato::customer {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_domain(std::string_view d) {
  // labels of [a-z0-9-] separated by dots, at least two labels, a TLD of ≥ 2 letters
  if (d.empty() || d.size() > 253) return false;
  size_t labels = 0;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? d.size() - start : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    ++labels;
    if (dot == std::string_view::npos) {
      if (label.size() < 2) return false;
      for (char c : label)
        if (!std::isalpha(static_cast<unsigned char>(c))) return false;
      break;
    }
    start = dot + 1;
  }
  return labels >= 2;
}

}  // namespace

std::optional<std::string> normalize_email(std::string_view raw) {
  std::string_view t = trim(raw);
  if (t.empty() || t.size() > 254) return std::nullopt;
  std::string e;
  e.reserve(t.size());
  for (char c : t) e.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || e.find('@', at + 1) != std::string::npos) return std::nullopt;
  std::string_view local = std::string_view{e}.substr(0, at);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.') return std::nullopt;
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u) || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' ||
        c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\')
      return std::nullopt;
  }
  if (!valid_domain(std::string_view{e}.substr(at + 1))) return std::nullopt;
  return e;
}

std::optional<std::string> normalize_phone(std::string_view raw) {
  std::string_view t = trim(raw);
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '+' && out.empty() && i == 0) {
      out.push_back('+');
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      out.push_back(c);
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
      continue;
    } else {
      return std::nullopt;
    }
  }
  size_t digits = out.size() - (!out.empty() && out[0] == '+' ? 1 : 0);
  if (digits < 7 || digits > 15) return std::nullopt;
  return out;
}

bool valid_customer_id(std::string_view id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (c == '_' || c == '.' || c == ':' || c == '@' || c == '-') continue;
    return false;
  }
  return true;
}

bool valid_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  int y = std::stoi(std::string{s.substr(0, 4)});
  int m = std::stoi(std::string{s.substr(5, 2)});
  int d = std::stoi(std::string{s.substr(8, 2)});
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = days[m - 1] + (m == 2 && leap ? 1 : 0);
  return d <= max_day;
}

bool account_transition_allowed(std::string_view from, std::string_view to) {
  if (from == to) return true;
  if (to == "blocked") return true;
  if (from == "blocked") return to == "active";
  if (from == "active") return to == "inactive" || to == "suspended";
  if (from == "inactive" || from == "suspended") return to == "active";
  return false;
}

std::string make_referral_code() {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick(0, sizeof(alphabet) - 2);
  std::string code(8, 'A');
  for (char& c : code) c = alphabet[pick(rng)];
  return code;
}

bool valid_referral_code(std::string_view code) {
  if (code.size() != 8) return false;
  for (char c : code)
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '9'))) return false;
  return true;
}

bool interaction_transition_allowed(std::string_view from, std::string_view to) {
  if (from == "closed") return false;
  if (from == to) return true;
  if (from == "open") return to == "in_progress" || to == "closed";
  if (from == "in_progress") return to == "resolved" || to == "closed";
  if (from == "resolved") return to == "closed" || to == "in_progress";
  return false;
}

}  // namespace mercato::customer
