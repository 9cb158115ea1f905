// fraud_detection's typed interface (agents/8010-fraud_detection.md "Typed messages").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mercato/agent_actor.hpp"
#include "mercato/domain_messages.hpp"

namespace mercato::fraud {

// `data` keys as in the contract: amount (number), currency, email, phone, ip_address,
// ip_reputation?, order_count_24h?, account_age_days?, address_mismatch?,
// payment_method_changes_7d?, card_fingerprint?. Errors: invalid.
struct score_order {
  std::string order_id;
  std::string customer_id;
  nlohmann::json data = nlohmann::json::object();
};
// The generic form (message `score`): entity_type order|payment|customer|account|transaction.
struct score_entity {
  std::string entity_type;
  std::string entity_id;
  std::string customer_id;
  nlohmann::json data = nlohmann::json::object();
};

struct fraud_result {
  std::string check_id;
  std::string entity_type;
  std::string entity_id;
  std::string customer_id;
  int risk_score = 0;
  std::string risk_level;  // low | medium | high | critical
  std::string decision;    // approved | flagged | manual_review | blocked
  nlohmann::json check;    // the full FraudCheckResult JSON (REST shape)
};

// check_id, or entity_type + entity_id (latest check). Errors: not_found, already_reviewed (conflict).
struct record_review {
  std::string check_id;
  std::string entity_type;
  std::string entity_id;
  std::string outcome;  // approved | rejected
  std::string reviewed_by;
  std::string notes;
};

struct is_blocked {
  std::string entity_type;  // email | ip | customer | phone | card_fingerprint
  std::string value;
};
struct block_status {
  bool blocked = false;
  nlohmann::json block;  // the block row when blocked
};

// Blocks an identifier (value normalised like the scoring lookup). duration_hours 0 = permanent,
// else 1..8760. Errors: invalid. An identical active block is not an error: created = false and
// `block` is the existing one.
struct block_entity {
  std::string entity_type;  // email | ip | customer | phone | card_fingerprint
  std::string entity_value;
  std::string reason;
  int64_t duration_hours = 0;
  std::string blocked_by;
};
struct block_result {
  bool created = false;
  nlohmann::json block;  // block_id, entity_type, entity_value, reason, blocked_by, blocked_at,
                         // expires_at, is_active, unblocked_by, unblocked_at
};

// A customer's latest checks, newest first (limit 1..100). Errors: invalid.
struct customer_history {
  std::string customer_id;
  int64_t limit = 10;
};
struct check_history {
  std::vector<fraud_result> checks;
};

// Runs the block-expiry sweep now (it also runs every 10 minutes); replies how many blocks expired.
struct expire_blocks {};

}  // namespace mercato::fraud

MERCATO_MESSAGE(mercato::fraud::score_order)
MERCATO_MESSAGE(mercato::fraud::score_entity)
MERCATO_MESSAGE(mercato::fraud::fraud_result)
MERCATO_MESSAGE(mercato::fraud::record_review)
MERCATO_MESSAGE(mercato::fraud::is_blocked)
MERCATO_MESSAGE(mercato::fraud::block_status)
MERCATO_MESSAGE(mercato::fraud::block_entity)
MERCATO_MESSAGE(mercato::fraud::block_result)
MERCATO_MESSAGE(mercato::fraud::customer_history)
MERCATO_MESSAGE(mercato::fraud::check_history)
MERCATO_MESSAGE(mercato::fraud::expire_blocks)

namespace mercato {
using fraud_actor = agent_actor::extend<
    caf::replies_to<fraud::score_order>::with<fraud::fraud_result>,
    caf::replies_to<fraud::score_entity>::with<fraud::fraud_result>,
    caf::replies_to<fraud::record_review>::with<fraud::fraud_result>,
    caf::replies_to<fraud::is_blocked>::with<fraud::block_status>,
    caf::replies_to<outbox_stats>::with<outbox_stats_reply>,
    caf::reacts_to<event>,
    caf::replies_to<fraud::block_entity>::with<fraud::block_result>,
    caf::replies_to<fraud::customer_history>::with<fraud::check_history>,
    caf::replies_to<fraud::expire_blocks>::with<count_reply>>;
}  // namespace mercato
