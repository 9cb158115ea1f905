// Reading fraud_detection's inputs (plain C++): the scoring request in its three shapes (typed
// message, REST FraudCheckRequest, the legacy flat body) and the block request (embedded or flat),
// with FastAPI-shaped issues, normalised identifiers and the canonical input behind input_hash.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"
#include "fraud_detection/fraud_rules.hpp"

namespace mercato::fraud {

// order | payment | customer | account | transaction
bool is_entity_type(std::string_view type);

// One scoring, validated. `data` is the canonical (normalised) form of the caller's data: it is
// what input_hash covers and what the check stores, so enrichment values count only when the
// caller supplied them.
struct score_request {
  std::string entity_type;
  std::string entity_id;
  std::string customer_id;  // empty when not given
  score_input input;
  nlohmann::json data = nlohmann::json::object();
  std::string input_hash;  // sha256 of {entity_type, entity_id, customer_id, data}
};

// The typed doors (score_order: entity_type "order", amount required; score: generic). Issues are
// located under {"data", key}.
std::optional<score_request> read_score_message(std::string entity_type, std::string entity_id,
                                                std::string customer_id, const nlohmann::json& data,
                                                bool amount_required, const rule_settings& settings,
                                                input::issue_list& issues);

// POST /check_fraud: {entity_type, entity_id, customer_id?, data{}} or the flat legacy form whose
// other top-level keys go into `data`; entity_type defaults to payment when transaction_id is
// present, else order; entity_id to transaction_id or order_id, else a new UUID.
std::optional<score_request> read_check_request(const nlohmann::json& body,
                                                const rule_settings& settings,
                                                input::issue_list& issues);

struct block_request {
  std::string entity_type;
  std::string entity_value;  // normalised
  std::string reason;
  std::optional<int64_t> duration_hours;  // nullopt: permanent
  std::string blocked_by;
};

// POST /block_entity: {"request": {...}, "blocked_by": ...} or the flat form.
std::optional<block_request> read_block_request(const nlohmann::json& body, input::issue_list& issues);
// The typed door: same rules; issues located at the field names.
std::optional<block_request> validate_block(block_request raw, input::issue_list& issues);

// "2024-05-01", "2024-05-01T10:00:00Z", "...T10:00:00.123+02:00": an ISO 8601 date or date-time.
bool is_iso8601(std::string_view text);

// Days from an ISO 8601 registration date to `now` (fractional, rounded to 0.01, never negative);
// nullopt when the text is not a date.
std::optional<double> account_age_days(std::string_view registration_date,
                                       std::chrono::system_clock::time_point now);

// A canonical UUID string (8-4-4-4-12 hex)?
bool is_uuid(std::string_view text);

}  // namespace mercato::fraud
