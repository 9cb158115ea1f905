// The six signals, levels, decisions, recommendations and identifier normalisation (fraud_rules.hpp).
#include "fraud_detection/fraud_rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace mercato::fraud {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

void add(assessment& a, std::string_view type, std::string value, int contribution) {
  a.signals.push_back({std::string{type}, std::move(value), contribution});
}

std::string recommendation_for(const signal& s) {
  if (s.signal_type == signal_name::high_amount) return "Review order with high amount: " + s.signal_value;
  if (s.signal_type == signal_name::high_velocity)
    return "Investigate high order velocity: " + s.signal_value;
  if (s.signal_type == signal_name::bad_ip_reputation) return "Block IP address: " + s.signal_value;
  if (s.signal_type == signal_name::address_mismatch) return "Verify shipping and billing addresses";
  if (s.signal_type == signal_name::new_account) return "Monitor new account activity closely";
  return "Verify payment method changes";
}

}  // namespace

std::string format_amount(money::cents amount) { return "$" + money::format(amount); }

std::string level_for(int score, const rule_settings& s) {
  if (score >= s.critical_from) return "critical";
  if (score >= s.high_from) return "high";
  if (score >= s.medium_from) return "medium";
  return "low";
}

std::string decision_for(std::string_view level) {
  if (level == "critical") return "blocked";
  if (level == "high") return "manual_review";
  if (level == "medium") return "flagged";
  return "approved";
}

assessment assess(const score_input& in, const rule_settings& s) {
  assessment a;
  // A signal whose condition holds is listed even when it contributes 0 (1000 < amount < 1100).
  if (in.amount && *in.amount > s.high_amount_threshold) {
    const int64_t points = (*in.amount - s.high_amount_threshold) / s.high_amount_step;
    add(a, signal_name::high_amount, format_amount(*in.amount),
        static_cast<int>(std::min<int64_t>(s.high_amount_max, points)));
  }
  if (in.order_count_24h && *in.order_count_24h > s.velocity_threshold) {
    const int64_t n = *in.order_count_24h;
    const int64_t points = std::min<int64_t>(s.velocity_max, n * s.velocity_per_order);
    add(a, signal_name::high_velocity, fmt::format("{} orders in 24h", n), static_cast<int>(points));
  }
  if (in.ip_reputation && *in.ip_reputation == "bad")
    add(a, signal_name::bad_ip_reputation, in.ip_address.empty() ? "unknown" : in.ip_address,
        s.bad_ip_weight);
  if (in.address_mismatch && *in.address_mismatch)
    add(a, signal_name::address_mismatch, "Shipping and billing addresses differ significantly",
        s.address_mismatch_weight);
  if (in.account_age_days && *in.account_age_days < s.new_account_days)
    add(a, signal_name::new_account, fmt::format("Account created {} days ago", *in.account_age_days),
        s.new_account_weight);
  if (in.payment_method_changes_7d && *in.payment_method_changes_7d > s.payment_changes_threshold)
    add(a, signal_name::frequent_payment_changes,
        fmt::format("{} changes in 7 days", *in.payment_method_changes_7d), s.payment_changes_weight);

  int total = 0;
  for (const auto& sig : a.signals) {
    total += sig.risk_contribution;
    a.triggered_rules.push_back(
        {{"rule", sig.signal_type}, {"risk_contribution", sig.risk_contribution}});
  }
  a.risk_score = std::min(100, total);
  a.risk_level = level_for(a.risk_score, s);
  a.decision = decision_for(a.risk_level);
  if (a.risk_level == "high" || a.risk_level == "critical") {
    a.recommendations.emplace_back("Contact customer to verify order details");
    a.recommendations.emplace_back("Request additional identity verification");
  }
  for (const auto& sig : a.signals) a.recommendations.push_back(recommendation_for(sig));
  return a;
}

assessment blocked_assessment(std::string_view entity_type) {
  assessment a;
  a.risk_score = 100;
  a.risk_level = "critical";
  a.decision = "blocked";
  a.triggered_rules.push_back({{"rule", "blocked_entity"}, {"type", std::string{entity_type}}});
  a.recommendations.emplace_back("Entity is blocked");
  return a;
}

// -- identifiers ------------------------------------------------------------------------------

const std::vector<std::string>& block_types() {
  static const std::vector<std::string> types{"email", "ip", "customer", "phone", "card_fingerprint"};
  return types;
}

bool is_block_type(std::string_view type) {
  const auto& t = block_types();
  return std::find(t.begin(), t.end(), type) != t.end();
}

std::optional<std::string> normalize_email(std::string_view raw) {
  std::string e = lower(trim(raw));
  const auto at = e.find('@');
  if (e.empty() || e.size() > 320 || at == std::string::npos || at == 0 ||
      e.find('@', at + 1) != std::string::npos)
    return std::nullopt;
  const std::string_view domain = std::string_view{e}.substr(at + 1);
  const auto dot = domain.find('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || domain.back() == '.')
    return std::nullopt;
  for (unsigned char c : e)
    if (std::isspace(c) || std::iscntrl(c)) return std::nullopt;
  return e;
}

std::optional<std::string> normalize_ip(std::string_view raw) {
  const std::string text{trim(raw)};
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN] = {};
  unsigned char bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    if (!inet_ntop(AF_INET, bytes, buffer, sizeof buffer)) return std::nullopt;
    return std::string{buffer};
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    if (!inet_ntop(AF_INET6, bytes, buffer, sizeof buffer)) return std::nullopt;
    return std::string{buffer};
  }
  return std::nullopt;
}

std::optional<std::string> normalize_phone(std::string_view raw) {
  std::string digits;
  for (unsigned char c : raw) {
    if (std::isdigit(c)) {
      digits.push_back(static_cast<char>(c));
    } else if (!(std::isspace(c) || c == '+' || c == '-' || c == '(' || c == ')' || c == '.' ||
                 c == '/')) {
      return std::nullopt;  // letters or other symbols: not a phone number
    }
  }
  if (digits.size() < 4 || digits.size() > 20) return std::nullopt;
  return "+" + digits;
}

std::optional<std::string> normalize_entity(std::string_view type, std::string_view raw) {
  if (type == "email") return normalize_email(raw);
  if (type == "ip") return normalize_ip(raw);
  if (type == "phone") return normalize_phone(raw);
  if (type == "customer" || type == "card_fingerprint") {
    if (raw.empty() || raw.size() > 255) return std::nullopt;
    return std::string{raw};
  }
  return std::nullopt;
}

nlohmann::json rules_json(const rule_settings& s) {
  using nlohmann::json;
  return json{
      {"store_currency", s.store_currency},
      {"signals",
       json::array({
           {{"signal_type", signal_name::high_amount},
            {"condition", fmt::format("amount > {}", money::format(s.high_amount_threshold))},
            {"contribution", fmt::format("min({}, floor((amount - {}) / {}))", s.high_amount_max,
                                         money::format(s.high_amount_threshold),
                                         money::format(s.high_amount_step))},
            {"threshold", money::to_json(s.high_amount_threshold)},
            {"step", money::to_json(s.high_amount_step)},
            {"max_contribution", s.high_amount_max}},
           {{"signal_type", signal_name::high_velocity},
            {"condition", fmt::format("order_count_24h > {}", s.velocity_threshold)},
            {"contribution", fmt::format("min({}, count * {})", s.velocity_max, s.velocity_per_order)},
            {"threshold", s.velocity_threshold},
            {"per_order", s.velocity_per_order},
            {"max_contribution", s.velocity_max}},
           {{"signal_type", signal_name::bad_ip_reputation},
            {"condition", "ip_reputation = \"bad\""},
            {"contribution", std::to_string(s.bad_ip_weight)},
            {"weight", s.bad_ip_weight},
            {"history_min_hits", s.ip_history_min_hits},
            {"history_days", s.ip_history_days}},
           {{"signal_type", signal_name::address_mismatch},
            {"condition", "address_mismatch = true"},
            {"contribution", std::to_string(s.address_mismatch_weight)},
            {"weight", s.address_mismatch_weight}},
           {{"signal_type", signal_name::new_account},
            {"condition", fmt::format("account_age_days < {}", s.new_account_days)},
            {"contribution", std::to_string(s.new_account_weight)},
            {"threshold_days", s.new_account_days},
            {"weight", s.new_account_weight}},
           {{"signal_type", signal_name::frequent_payment_changes},
            {"condition", fmt::format("payment_method_changes_7d > {}", s.payment_changes_threshold)},
            {"contribution", std::to_string(s.payment_changes_weight)},
            {"threshold", s.payment_changes_threshold},
            {"weight", s.payment_changes_weight}},
       })},
      {"max_score", 100},
      {"levels",
       json::array({{{"level", "critical"}, {"min_score", s.critical_from}, {"decision", "blocked"}},
                    {{"level", "high"}, {"min_score", s.high_from}, {"decision", "manual_review"}},
                    {{"level", "medium"}, {"min_score", s.medium_from}, {"decision", "flagged"}},
                    {{"level", "low"}, {"min_score", 0}, {"decision", "approved"}}})},
      {"blocked_entity_types", block_types()},
  };
}

}  // namespace mercato::fraud
