// fraud_detection's scoring rules as plain C++ (agents/8010-fraud_detection.md "Rules"): the six
// weighted signals, score → level → decision, the seed's recommendation texts, the blocked-entity
// short-circuit result, and the normalisation of identifiers (e-mail, IP, phone) shared by blocks
// and lookups. No actors, no SQL: the agent and the tests call these directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/money.hpp"

namespace mercato::fraud {

// Weights and thresholds ([fraud] in config later); the defaults are the contract's.
struct rule_settings {
  std::string store_currency = "USD";
  money::cents high_amount_threshold = 100000;  // amount > 1000.00 raises high_amount
  money::cents high_amount_step = 10000;        // one point per full 100.00 above the threshold
  int high_amount_max = 30;
  int64_t velocity_threshold = 5;  // order_count_24h > 5
  int velocity_per_order = 3;
  int velocity_max = 25;
  int bad_ip_weight = 40;
  int address_mismatch_weight = 20;
  double new_account_days = 1.0;  // account_age_days < 1
  int new_account_weight = 15;
  int64_t payment_changes_threshold = 2;  // payment_method_changes_7d > 2
  int payment_changes_weight = 15;
  int medium_from = 25;
  int high_from = 50;
  int critical_from = 75;
  int64_t ip_history_min_hits = 2;  // blocked/rejected checks of the same IP ...
  int64_t ip_history_days = 30;     // ... within this many days make ip_reputation "bad"
};

// The normalised, validated inputs of one scoring (keys of `data`). Enrichment fills the
// optional counts the caller did not supply.
struct score_input {
  std::optional<money::cents> amount;
  std::string currency;
  std::string email;             // normalised, or empty
  std::string phone;             // normalised, or empty
  std::string ip_address;        // canonical, or empty
  std::string card_fingerprint;  // as given, or empty
  std::optional<std::string> ip_reputation;  // lower-cased
  std::optional<int64_t> order_count_24h;
  std::optional<double> account_age_days;
  std::optional<bool> address_mismatch;
  std::optional<int64_t> payment_method_changes_7d;
};

struct signal {
  std::string signal_type;
  std::string signal_value;
  int risk_contribution = 0;
};

struct assessment {
  int risk_score = 0;
  std::string risk_level;
  std::string decision;
  nlohmann::json triggered_rules = nlohmann::json::array();
  std::vector<signal> signals;
  std::vector<std::string> recommendations;
};

// Signal names (also the names listed in unavailable_signals).
namespace signal_name {
inline constexpr std::string_view high_amount = "high_amount";
inline constexpr std::string_view high_velocity = "high_velocity";
inline constexpr std::string_view bad_ip_reputation = "bad_ip_reputation";
inline constexpr std::string_view address_mismatch = "address_mismatch";
inline constexpr std::string_view new_account = "new_account";
inline constexpr std::string_view frequent_payment_changes = "frequent_payment_changes";
}  // namespace signal_name

// The six signals over `in`, capped score, level, decision and recommendations.
assessment assess(const score_input& in, const rule_settings& s = {});
// The short-circuit result when an identifier of type `entity_type` is actively blocked.
assessment blocked_assessment(std::string_view entity_type);

std::string level_for(int score, const rule_settings& s = {});
std::string decision_for(std::string_view level);

// "$1234.50"
std::string format_amount(money::cents amount);

// -- identifiers ------------------------------------------------------------------------------
// Types that can be blocked, in the order the short-circuit checks them.
const std::vector<std::string>& block_types();
bool is_block_type(std::string_view type);
// Trimmed + lower-cased; nullopt unless it looks like local@domain.tld.
std::optional<std::string> normalize_email(std::string_view raw);
// Canonical text (IPv4 dotted quad, IPv6 compressed); nullopt when not an IP address.
std::optional<std::string> normalize_ip(std::string_view raw);
// "+" followed by the digits; nullopt with fewer than 4 or more than 20 digits.
std::optional<std::string> normalize_phone(std::string_view raw);
// Per type (customer and card_fingerprint as given, non-empty, ≤ 255); nullopt when invalid.
std::optional<std::string> normalize_entity(std::string_view type, std::string_view raw);

// GET /rules: the weights and thresholds in force.
nlohmann::json rules_json(const rule_settings& s);

}  // namespace mercato::fraud
