// SQL of the `fraud` schema: checks (scoring in two statements per batch, reviews, listings), blocked
// entities (block, unblock, expiry, lookup), analytics and outbox health. Every function runs on a
// pool thread inside the caller's transaction (scoring: without one) and writes its events to
// fraud.outbox atomically with its change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "fraud_detection/fraud_input.hpp"
#include "fraud_detection/fraud_rules.hpp"
#include "mercato/domain_messages.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::fraud {

struct check_record {
  std::string check_id;
  std::string entity_type;
  std::string entity_id;
  std::string customer_id;  // empty: none
  int risk_score = 0;
  std::string risk_level;
  std::string decision;
  nlohmann::json triggered_rules = nlohmann::json::array();
  nlohmann::json signals = nlohmann::json::array();
  std::vector<std::string> unavailable_signals;
  std::vector<std::string> recommendations;
  std::string ip_address;
  std::string email;
  std::string review_outcome;  // empty until reviewed
  std::string reviewed_by;
  std::string reviewed_at;
  std::string review_notes;
  std::string created_at;
};
// FraudCheckResult plus the review fields (null until reviewed).
nlohmann::json to_json(const check_record& c);

struct block_record {
  std::string block_id;
  std::string entity_type;
  std::string entity_value;
  std::string reason;
  std::string blocked_by;
  std::string blocked_at;
  std::string expires_at;  // empty: permanent
  bool is_active = false;  // effective: active and not expired
  std::string unblocked_by;
  std::string unblocked_at;
};
nlohmann::json to_json(const block_record& b);

// A result or the refusal (not_found, conflict, invalid) to answer instead.
template <class T>
struct refusable {
  std::optional<T> value;
  failure refusal;
};

struct scored_check {
  check_record check;
  bool created = false;  // false: the stored check of an identical earlier request
};
// Scoring of a batch of requests (the agent batches the scorings that meet, see README) in two
// statements without BEGIN/COMMIT (run it as an autocommit `write` unit): ONE lookup for all of
// them (the stored check of an identical request, the first actively blocked identifier, the IP's
// blocked/rejected history), the rules in C++, then ONE insert of every new check with its events
// (events only for checks actually inserted). Per request, in order: the stored check of an
// identical request (nothing written), or the new check. Identical requests within the batch
// share one check; blocked checks earlier in the batch count in a later request's IP history (as
// if scored one after the other). A new check that loses the insert to an identical one committed
// meanwhile answers that one (read by a further statement). A connection lost during the lookup
// is thrown as db::pool::never_sent (safe to run again). `unavailable[i]` lists the signals
// enrichment could not obtain for `requests[i]`. Any other failure throws; a lookup or insert
// statement that failed wrote nothing.
std::vector<scored_check> score_checks(pqxx::nontransaction& tx, const std::vector<score_request>& requests,
                                       const std::vector<std::vector<std::string>>& unavailable,
                                       const rule_settings& settings);
// score_checks of one request (the same statements).
scored_check score_check(pqxx::nontransaction& tx, const score_request& req,
                         const std::vector<std::string>& unavailable, const rule_settings& settings);

struct review_request {
  std::string check_id;  // or entity_type + entity_id (their latest check)
  std::string entity_type;
  std::string entity_id;
  std::string outcome;  // approved | rejected
  std::string reviewed_by;
  std::string notes;
};
refusable<check_record> review_check(pqxx::work& tx, const review_request& r);

std::optional<check_record> find_check(pqxx::work& tx, const std::string& check_id);

struct check_filter {
  std::string entity_type, entity_id, decision, risk_level, from, to;  // empty: any
  std::string customer_id;
  int64_t skip = 0;
  int64_t limit = 100;
};
// Newest first.
std::vector<check_record> list_checks(pqxx::work& tx, const check_filter& f);

struct blocked_outcome {
  block_record block;
  bool created = false;  // false: the identical active block already existed
};
blocked_outcome insert_block(pqxx::work& tx, const block_request& r);
std::optional<block_record> find_block(pqxx::work& tx, const std::string& block_id);
// Newest first; `entity_type` empty: all types.
std::vector<block_record> list_blocks(pqxx::work& tx, const std::string& entity_type, bool active_only,
                                      int64_t skip, int64_t limit);
struct unblock_outcome {
  block_record block;
  bool changed = false;  // false: it was already inactive
};
std::optional<unblock_outcome> unblock(pqxx::work& tx, const std::string& block_id,
                                       const std::string& unblocked_by);
// The active, unexpired block of a normalised identifier.
std::optional<block_record> active_block(pqxx::work& tx, const std::string& entity_type,
                                         const std::string& entity_value);
// Deactivates expired blocks (entity_unblocked, reason "expired"); returns how many.
int64_t expire_due_blocks(pqxx::work& tx);

// GET /analytics/summary over the last `days`.
nlohmann::json summary(pqxx::work& tx, int64_t days);

outbox_stats_reply read_outbox_stats(pqxx::work& tx);

}  // namespace mercato::fraud
