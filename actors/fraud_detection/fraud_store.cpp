// SQL of the fraud schema (fraud_store.hpp). Statements are parameterized; identifiers are fixed.
#include "fraud_detection/fraud_store.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include <pqxx/pqxx>

#include "db/db_pool.hpp"
#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "runtime/uuid.hpp"

namespace mercato::fraud {
namespace {

using nlohmann::json;

#define FRAUD_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

constexpr const char* check_columns =
    "c.check_id::text, c.entity_type, c.entity_id, coalesce(c.customer_id, ''), c.risk_score,"
    " c.risk_level, c.decision, c.triggered_rules::text, c.signals::text,"
    " to_jsonb(c.unavailable_signals)::text, to_jsonb(c.recommendations)::text,"
    " coalesce(host(c.ip_address), ''), coalesce(c.email, ''), coalesce(c.review_outcome, ''),"
    " coalesce(c.reviewed_by, ''), coalesce(" FRAUD_TS("c.reviewed_at") ", ''),"
    " coalesce(c.review_notes, ''), " FRAUD_TS("c.created_at");
constexpr int check_column_count = 18;

constexpr const char* block_columns =
    "b.block_id::text, b.entity_type, b.entity_value, b.reason, b.blocked_by, " FRAUD_TS("b.blocked_at")
    ", coalesce(" FRAUD_TS("b.expires_at") ", ''),"
    " (b.is_active AND (b.expires_at IS NULL OR b.expires_at > now())),"
    " coalesce(b.unblocked_by, ''), coalesce(" FRAUD_TS("b.unblocked_at") ", '')";

// An active block is in force until it expires, whether or not the expiry job has run yet.
constexpr const char* block_in_force = "b.is_active AND (b.expires_at IS NULL OR b.expires_at > now())";

const db::outbox& fraud_outbox() {
  static const db::outbox box{"fraud"};
  return box;
}

std::vector<std::string> string_list(const pqxx::field& f) {
  std::vector<std::string> out;
  for (const auto& v : json::parse(f.c_str())) out.push_back(v.get<std::string>());
  return out;
}

check_record read_check(const pqxx::row& row, int offset = 0) {
  check_record c;
  c.check_id = row[offset + 0].as<std::string>();
  c.entity_type = row[offset + 1].as<std::string>();
  c.entity_id = row[offset + 2].as<std::string>();
  c.customer_id = row[offset + 3].as<std::string>();
  c.risk_score = row[offset + 4].as<int>();
  c.risk_level = row[offset + 5].as<std::string>();
  c.decision = row[offset + 6].as<std::string>();
  c.triggered_rules = json::parse(row[offset + 7].c_str());
  c.signals = json::parse(row[offset + 8].c_str());
  c.unavailable_signals = string_list(row[offset + 9]);
  c.recommendations = string_list(row[offset + 10]);
  c.ip_address = row[offset + 11].as<std::string>();
  c.email = row[offset + 12].as<std::string>();
  c.review_outcome = row[offset + 13].as<std::string>();
  c.reviewed_by = row[offset + 14].as<std::string>();
  c.reviewed_at = row[offset + 15].as<std::string>();
  c.review_notes = row[offset + 16].as<std::string>();
  c.created_at = row[offset + 17].as<std::string>();
  return c;
}

block_record read_block(const pqxx::row& row) {
  block_record b;
  b.block_id = row[0].as<std::string>();
  b.entity_type = row[1].as<std::string>();
  b.entity_value = row[2].as<std::string>();
  b.reason = row[3].as<std::string>();
  b.blocked_by = row[4].as<std::string>();
  b.blocked_at = row[5].as<std::string>();
  b.expires_at = row[6].as<std::string>();
  b.is_active = row[7].as<bool>();
  b.unblocked_by = row[8].as<std::string>();
  b.unblocked_at = row[9].as<std::string>();
  return b;
}

json null_if_empty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json check_event_payload(const check_record& c) {
  return {{"check_id", c.check_id},       {"entity_type", c.entity_type},
          {"entity_id", c.entity_id},     {"customer_id", null_if_empty(c.customer_id)},
          {"risk_score", c.risk_score},   {"risk_level", c.risk_level},
          {"decision", c.decision}};
}

event fraud_event(std::string_view name, const json& payload, const std::string& correlation) {
  return make_event("fraud", std::string{name}, payload.dump(), correlation);
}

void publish(pqxx::work& tx, std::string_view name, const json& payload, const std::string& correlation,
             const std::string& aggregate) {
  fraud_outbox().enqueue(tx, fraud_event(name, payload, correlation), aggregate);
}

void publish_unblocked(pqxx::work& tx, const block_record& b, std::string_view reason) {
  publish(tx, "entity_unblocked",
          {{"block_id", b.block_id},
           {"entity_type", b.entity_type},
           {"entity_value", b.entity_value},
           {"reason", reason},
           {"unblocked_by", b.unblocked_by}},
          b.block_id, b.block_id);
}

std::optional<check_record> check_by_input(pqxx::transaction_base& tx, const score_request& req) {
  auto r = tx.exec_params(std::string{"SELECT "} + check_columns +
                              " FROM fraud.fraud_checks c WHERE c.entity_type = $1 AND"
                              " c.entity_id = $2 AND c.input_hash = $3",
                          req.entity_type, req.entity_id, req.input_hash);
  if (r.empty()) return std::nullopt;
  return read_check(r[0]);
}

}  // namespace

json to_json(const check_record& c) {
  json signals = c.signals;
  return {{"check_id", c.check_id},
          {"entity_type", c.entity_type},
          {"entity_id", c.entity_id},
          {"customer_id", null_if_empty(c.customer_id)},
          {"risk_score", c.risk_score},
          {"risk_level", c.risk_level},
          {"decision", c.decision},
          {"triggered_rules", c.triggered_rules},
          {"signals", std::move(signals)},
          {"unavailable_signals", c.unavailable_signals},
          {"recommendations", c.recommendations},
          {"ip_address", null_if_empty(c.ip_address)},
          {"email", null_if_empty(c.email)},
          {"review_outcome", null_if_empty(c.review_outcome)},
          {"reviewed_by", null_if_empty(c.reviewed_by)},
          {"reviewed_at", null_if_empty(c.reviewed_at)},
          {"review_notes", null_if_empty(c.review_notes)},
          {"created_at", c.created_at}};
}

json to_json(const block_record& b) {
  return {{"block_id", b.block_id},
          {"entity_type", b.entity_type},
          {"entity_value", b.entity_value},
          {"reason", b.reason},
          {"blocked_by", b.blocked_by},
          {"blocked_at", b.blocked_at},
          {"expires_at", null_if_empty(b.expires_at)},
          {"is_active", b.is_active},
          {"unblocked_by", null_if_empty(b.unblocked_by)},
          {"unblocked_at", null_if_empty(b.unblocked_at)}};
}

std::vector<scored_check> score_checks(pqxx::nontransaction& tx, const std::vector<score_request>& requests,
                                       const std::vector<std::vector<std::string>>& unavailable,
                                       const rule_settings& settings) {
  if (unavailable.size() != requests.size())
    throw std::invalid_argument("score_checks: one unavailable list per request");
  std::vector<scored_check> out(requests.size());
  if (requests.empty()) return out;

  // Identical requests (same entity and input hash) of one batch share one check: the first of
  // them is scored, the others answer its check (created = false), as if they came after it.
  std::vector<size_t> first_of(requests.size());
  std::vector<size_t> distinct;  // indexes into `requests`
  {
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& r = requests[i];
      auto [it, fresh] = seen.emplace(r.entity_type + '\n' + r.entity_id + '\n' + r.input_hash, i);
      first_of[i] = it->second;
      if (fresh) distinct.push_back(i);
    }
  }

  // One statement for the batch: per document `n`, the stored check of an identical request, the
  // first identifier that is actively blocked (in the contract's order), and the IP's
  // blocked/rejected history.
  static const std::string lookup_sql =
      std::string{"WITH d AS (SELECT x.j, x.n"
                  " FROM mercato.batch_items($1::jsonb) AS x(j, n))"
                  " SELECT d.n, "} +
      check_columns +
      ", blocked.entity_type, ip.hits"
      " FROM d"
      // LATERAL … LIMIT 1 keeps this a probe of the unique index per document: as a plain join,
      // the generic plan (which assumes 100 documents) hashes a sequential scan of the table.
      " LEFT JOIN LATERAL (SELECT * FROM fraud.fraud_checks c WHERE c.entity_type = d.j->>'entity_type'"
      "   AND c.entity_id = d.j->>'entity_id' AND c.input_hash = d.j->>'input_hash' LIMIT 1) c ON true"
      " LEFT JOIN LATERAL (SELECT b.entity_type FROM fraud.blocked_entities b"
      "   WHERE " + block_in_force + " AND ("
      "     (b.entity_type = 'email' AND b.entity_value = d.j->>'email') OR"
      "     (b.entity_type = 'ip' AND b.entity_value = d.j->>'ip_address') OR"
      "     (b.entity_type = 'customer' AND b.entity_value = d.j->>'customer_id') OR"
      "     (b.entity_type = 'phone' AND b.entity_value = d.j->>'phone') OR"
      "     (b.entity_type = 'card_fingerprint' AND b.entity_value = d.j->>'card_fingerprint'))"
      "   ORDER BY array_position(ARRAY['email','ip','customer','phone','card_fingerprint'],"
      "                           b.entity_type)"
      "   LIMIT 1) blocked ON true"
      " LEFT JOIN LATERAL (SELECT count(*) AS hits FROM fraud.fraud_checks h"
      "   WHERE (d.j->>'ip_history')::boolean AND h.ip_address = NULLIF(d.j->>'ip_address', '')::inet"
      "     AND h.created_at > now() - make_interval(days => $2::int)"
      "     AND (h.decision = 'blocked' OR h.review_outcome = 'rejected')) ip ON true"
      " ORDER BY d.n";
  auto need_ip_history = [](const score_request& r) {
    return !r.input.ip_reputation && !r.input.ip_address.empty();
  };
  json lookup_docs = json::array();
  for (size_t i : distinct) {
    const auto& r = requests[i];
    lookup_docs.push_back({{"entity_type", r.entity_type},
                           {"entity_id", r.entity_id},
                           {"input_hash", r.input_hash},
                           {"email", r.input.email},
                           {"ip_address", r.input.ip_address},
                           {"customer_id", r.customer_id},
                           {"phone", r.input.phone},
                           {"card_fingerprint", r.input.card_fingerprint},
                           {"ip_history", need_ip_history(r)}});
  }
  // Scoring runs for every order: its statements are prepared once per connection.
  pqxx::result lookup;
  try {
    lookup = db::exec_hot(tx, lookup_sql, lookup_docs.dump(-1, ' ', false, json::error_handler_t::replace),
                          static_cast<int>(settings.ip_history_days));
  } catch (const pqxx::broken_connection& e) {
    // Nothing written yet: the pool runs the unit again on a fresh connection. A break during
    // the insert below is not re-run (the unit is a `write`): that statement may have committed.
    throw db::pool::never_sent(e.what());
  }
  if (lookup.size() != distinct.size())
    throw std::runtime_error("fraud lookup returned " + std::to_string(lookup.size()) + " rows for " +
                             std::to_string(distinct.size()) + " requests");

  // C++ scoring of each new request, in batch order. Blocked checks written earlier in this batch
  // count in a later request's IP history, as if the requests had been scored one after the other.
  std::vector<size_t> fresh;  // indexes into `requests` whose check goes to the insert
  std::vector<std::string> blocked_ips;
  json insert_docs = json::array();
  db::outbox_rows events;
  for (size_t k = 0; k < distinct.size(); ++k) {
    const size_t i = distinct[k];
    const auto& req = requests[i];
    const auto& row = lookup[static_cast<pqxx::result::size_type>(k)];
    if (row[0].as<size_t>() != k + 1) throw std::runtime_error("fraud lookup rows out of order");
    if (!row[1].is_null()) {
      out[i] = {read_check(row, 1), false};
      continue;
    }
    const auto& in = req.input;
    assessment a;
    std::vector<std::string> missing = unavailable[i];
    if (!row[1 + check_column_count].is_null()) {
      a = blocked_assessment(row[1 + check_column_count].as<std::string>());
      missing.clear();  // nothing was scored
    } else {
      score_input scored = in;
      if (need_ip_history(req)) {
        const int64_t hits = row[2 + check_column_count].as<int64_t>() +
                             std::count(blocked_ips.begin(), blocked_ips.end(), in.ip_address);
        scored.ip_reputation = hits >= settings.ip_history_min_hits ? "bad" : "unknown";
      }
      a = assess(scored, settings);
    }

    check_record c;
    c.check_id = uuid_v4();
    c.entity_type = req.entity_type;
    c.entity_id = req.entity_id;
    c.customer_id = req.customer_id;
    c.risk_score = a.risk_score;
    c.risk_level = a.risk_level;
    c.decision = a.decision;
    c.triggered_rules = a.triggered_rules;
    c.signals = json::array();
    for (const auto& s : a.signals)
      c.signals.push_back({{"signal_type", s.signal_type},
                           {"signal_value", s.signal_value},
                           {"risk_contribution", s.risk_contribution}});
    c.unavailable_signals = std::move(missing);
    c.recommendations = a.recommendations;
    c.ip_address = in.ip_address;
    c.email = in.email;
    if (c.decision == "blocked" && !c.ip_address.empty()) blocked_ips.push_back(c.ip_address);

    json payload = check_event_payload(c);
    events.add(fraud_event("fraud_check_completed", payload, c.entity_id), c.check_id);
    if (c.risk_level == "high" || c.risk_level == "critical") {
      payload["signals"] = c.signals;
      payload["triggered_rules"] = c.triggered_rules;
      events.add(fraud_event("fraud_alert", payload, c.entity_id), c.check_id);
    }
    insert_docs.push_back({{"check_id", c.check_id},
                           {"entity_type", c.entity_type},
                           {"entity_id", c.entity_id},
                           {"customer_id", c.customer_id},
                           {"input_hash", req.input_hash},
                           {"input_data", req.data},
                           {"risk_score", c.risk_score},
                           {"risk_level", c.risk_level},
                           {"decision", c.decision},
                           {"triggered_rules", c.triggered_rules},
                           {"signals", c.signals},
                           {"unavailable_signals", c.unavailable_signals},
                           {"recommendations", c.recommendations},
                           {"ip_address", c.ip_address},
                           {"email", c.email}});
    out[i] = {std::move(c), true};
    fresh.push_back(i);
  }

  if (!fresh.empty()) {
    // The new checks and their events in one statement: a check's events (aggregate = its id)
    // exist only if that check was inserted.
    static const std::string insert_sql =
        "WITH d AS (SELECT x.j, x.n FROM mercato.batch_items($1::jsonb) AS x(j, n)),"
        " inserted AS (INSERT INTO fraud.fraud_checks (check_id, entity_type, entity_id, customer_id,"
        "   input_hash, input_data, risk_score, risk_level, decision, triggered_rules, signals,"
        "   unavailable_signals, recommendations, ip_address, email)"
        "  SELECT (d.j->>'check_id')::uuid, d.j->>'entity_type', d.j->>'entity_id',"
        "   NULLIF(d.j->>'customer_id', ''), d.j->>'input_hash', d.j->'input_data',"
        "   (d.j->>'risk_score')::int, d.j->>'risk_level', d.j->>'decision', d.j->'triggered_rules',"
        "   d.j->'signals', ARRAY(SELECT jsonb_array_elements_text(d.j->'unavailable_signals')),"
        "   ARRAY(SELECT jsonb_array_elements_text(d.j->'recommendations')),"
        "   NULLIF(d.j->>'ip_address', '')::inet, NULLIF(d.j->>'email', '')"
        "  FROM d ORDER BY d.n"
        "  ON CONFLICT (entity_type, entity_id, input_hash) DO NOTHING"
        "  RETURNING check_id, created_at),"
        " events AS (" +
        fraud_outbox().insert_rows_sql(2, "(r.e->>'aggregate_id')::uuid IN (SELECT check_id FROM inserted)") + ")"
        " SELECT check_id::text, " FRAUD_TS("created_at") " FROM inserted";
    auto inserted = db::exec_hot(
        tx, insert_sql, insert_docs.dump(-1, ' ', false, json::error_handler_t::replace), events.json());
    std::unordered_map<std::string, std::string> created_at;
    for (const auto& row : inserted) created_at.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    for (size_t i : fresh) {
      auto it = created_at.find(out[i].check.check_id);
      if (it != created_at.end()) {
        out[i].check.created_at = it->second;
        continue;
      }
      // An identical request committed first (concurrent retry): its check is the answer. This
      // statement's snapshot may predate that commit, so a new statement reads it.
      auto existing = check_by_input(tx, requests[i]);
      if (!existing) throw std::runtime_error("fraud check vanished after a conflicting insert");
      out[i] = {std::move(*existing), false};
    }
  }

  for (size_t i = 0; i < requests.size(); ++i)
    if (first_of[i] != i) out[i] = {out[first_of[i]].check, false};
  return out;
}

scored_check score_check(pqxx::nontransaction& tx, const score_request& req,
                         const std::vector<std::string>& unavailable, const rule_settings& settings) {
  return std::move(score_checks(tx, {req}, {unavailable}, settings).front());
}

refusable<check_record> review_check(pqxx::work& tx, const review_request& r) {
  refusable<check_record> out;
  pqxx::result found;
  if (!r.check_id.empty()) {
    if (is_uuid(r.check_id))
      found = tx.exec_params(std::string{"SELECT "} + check_columns +
                                 " FROM fraud.fraud_checks c WHERE c.check_id = $1::uuid FOR UPDATE",
                             r.check_id);
  } else {
    found = tx.exec_params(std::string{"SELECT "} + check_columns +
                               " FROM fraud.fraud_checks c WHERE c.entity_type = $1 AND"
                               " c.entity_id = $2 ORDER BY c.created_at DESC, c.check_id DESC"
                               " LIMIT 1 FOR UPDATE",
                           r.entity_type, r.entity_id);
  }
  if (found.empty()) {
    out.refusal = {failure_kind::not_found, "not_found", "Fraud check not found", {}};
    return out;
  }
  check_record c = read_check(found[0]);
  if (!c.review_outcome.empty()) {
    out.refusal = {failure_kind::conflict, "already_reviewed", "Check already reviewed", {}};
    return out;
  }
  if (c.decision != "manual_review" && c.decision != "flagged") {
    out.refusal = {failure_kind::conflict, "not_reviewable",
                   "Only manual_review or flagged checks can be reviewed", {}};
    return out;
  }
  auto updated = tx.exec_params(
      std::string{"UPDATE fraud.fraud_checks AS c SET review_outcome = $2, reviewed_by = $3,"
                  " reviewed_at = now(), review_notes = NULLIF($4, '')"
                  " WHERE c.check_id = $1::uuid RETURNING "} +
          check_columns,
      c.check_id, r.outcome, r.reviewed_by, r.notes);
  c = read_check(updated[0]);
  publish(tx, "fraud_review_recorded",
          {{"check_id", c.check_id},
           {"outcome", c.review_outcome},
           {"entity_type", c.entity_type},
           {"entity_id", c.entity_id},
           {"customer_id", null_if_empty(c.customer_id)},
           {"reviewed_by", c.reviewed_by}},
          c.entity_id, c.check_id);
  out.value = std::move(c);
  return out;
}

std::optional<check_record> find_check(pqxx::work& tx, const std::string& check_id) {
  if (!is_uuid(check_id)) return std::nullopt;
  auto r = tx.exec_params(
      std::string{"SELECT "} + check_columns + " FROM fraud.fraud_checks c WHERE c.check_id = $1::uuid",
      check_id);
  if (r.empty()) return std::nullopt;
  return read_check(r[0]);
}

std::vector<check_record> list_checks(pqxx::work& tx, const check_filter& f) {
  // Empty filters drop out: unnamed statements are planned with the actual values.
  auto rows = tx.exec_params(
      std::string{"SELECT "} + check_columns +
          " FROM fraud.fraud_checks c"
          " WHERE ($1 = '' OR c.entity_type = $1) AND ($2 = '' OR c.entity_id = $2)"
          "   AND ($3 = '' OR c.decision = $3) AND ($4 = '' OR c.risk_level = $4)"
          "   AND (NULLIF($5, '') IS NULL OR c.created_at >= NULLIF($5, '')::timestamptz)"
          "   AND (NULLIF($6, '') IS NULL OR c.created_at <= NULLIF($6, '')::timestamptz)"
          "   AND ($7 = '' OR c.customer_id = $7)"
          " ORDER BY c.created_at DESC, c.check_id DESC OFFSET $8 LIMIT $9",
      f.entity_type, f.entity_id, f.decision, f.risk_level, f.from, f.to, f.customer_id, f.skip,
      f.limit);
  std::vector<check_record> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(read_check(row));
  return out;
}

blocked_outcome insert_block(pqxx::work& tx, const block_request& r) {
  // An expired block the job has not reached yet must not stand in for the new one.
  auto expired = tx.exec_params(
      std::string{"UPDATE fraud.blocked_entities AS b SET is_active = false, unblocked_by = 'system',"
                  " unblocked_at = now() WHERE b.entity_type = $1 AND b.entity_value = $2"
                  " AND b.is_active AND b.expires_at IS NOT NULL AND b.expires_at <= now()"
                  " RETURNING "} +
          block_columns,
      r.entity_type, r.entity_value);
  for (const auto& row : expired) publish_unblocked(tx, read_block(row), "expired");

  auto inserted = tx.exec_params(
      std::string{"INSERT INTO fraud.blocked_entities AS b (block_id, entity_type, entity_value,"
                  " reason, blocked_by, expires_at)"
                  " VALUES ($1::uuid, $2, $3, $4, $5,"
                  "  CASE WHEN $6::int > 0 THEN now() + make_interval(hours => $6::int) END)"
                  " ON CONFLICT (entity_type, entity_value) WHERE is_active DO NOTHING"
                  " RETURNING "} +
          block_columns,
      uuid_v4(), r.entity_type, r.entity_value, r.reason, r.blocked_by,
      static_cast<int>(r.duration_hours.value_or(0)));
  if (inserted.empty()) {
    auto existing = tx.exec_params(std::string{"SELECT "} + block_columns +
                                       " FROM fraud.blocked_entities b WHERE b.entity_type = $1"
                                       " AND b.entity_value = $2 AND b.is_active",
                                   r.entity_type, r.entity_value);
    if (existing.empty()) throw std::runtime_error("active block vanished after a conflicting insert");
    return {read_block(existing[0]), false};
  }
  block_record b = read_block(inserted[0]);
  publish(tx, "entity_blocked",
          {{"block_id", b.block_id},
           {"entity_type", b.entity_type},
           {"entity_value", b.entity_value},
           {"reason", b.reason},
           {"blocked_by", b.blocked_by},
           {"expires_at", null_if_empty(b.expires_at)}},
          b.block_id, b.block_id);
  return {std::move(b), true};
}

std::optional<block_record> find_block(pqxx::work& tx, const std::string& block_id) {
  if (!is_uuid(block_id)) return std::nullopt;
  auto r = tx.exec_params(std::string{"SELECT "} + block_columns +
                              " FROM fraud.blocked_entities b WHERE b.block_id = $1::uuid",
                          block_id);
  if (r.empty()) return std::nullopt;
  return read_block(r[0]);
}

std::vector<block_record> list_blocks(pqxx::work& tx, const std::string& entity_type, bool active_only,
                                      int64_t skip, int64_t limit) {
  auto rows = tx.exec_params(std::string{"SELECT "} + block_columns +
                                 " FROM fraud.blocked_entities b"
                                 " WHERE ($1 = '' OR b.entity_type = $1) AND (NOT $2::boolean OR (" +
                                 block_in_force +
                                 "))"
                                 " ORDER BY b.blocked_at DESC, b.block_id DESC OFFSET $3 LIMIT $4",
                             entity_type, active_only ? "true" : "false", skip, limit);
  std::vector<block_record> out;
  for (const auto& row : rows) out.push_back(read_block(row));
  return out;
}

std::optional<unblock_outcome> unblock(pqxx::work& tx, const std::string& block_id,
                                       const std::string& unblocked_by) {
  if (!is_uuid(block_id)) return std::nullopt;
  auto changed = tx.exec_params(
      std::string{"UPDATE fraud.blocked_entities AS b SET is_active = false, unblocked_by = $2,"
                  " unblocked_at = now() WHERE b.block_id = $1::uuid AND b.is_active RETURNING "} +
          block_columns,
      block_id, unblocked_by);
  if (!changed.empty()) {
    block_record b = read_block(changed[0]);
    publish_unblocked(tx, b, "manual");
    return unblock_outcome{std::move(b), true};
  }
  if (auto b = find_block(tx, block_id)) return unblock_outcome{std::move(*b), false};
  return std::nullopt;
}

std::optional<block_record> active_block(pqxx::work& tx, const std::string& entity_type,
                                         const std::string& entity_value) {
  auto r = tx.exec_params(std::string{"SELECT "} + block_columns +
                              " FROM fraud.blocked_entities b WHERE b.entity_type = $1"
                              " AND b.entity_value = $2 AND " +
                              block_in_force,
                          entity_type, entity_value);
  if (r.empty()) return std::nullopt;
  return read_block(r[0]);
}

int64_t expire_due_blocks(pqxx::work& tx) {
  auto rows = tx.exec(std::string{"UPDATE fraud.blocked_entities AS b SET is_active = false,"
                                  " unblocked_by = 'system', unblocked_at = now()"
                                  " WHERE b.is_active AND b.expires_at IS NOT NULL"
                                  " AND b.expires_at <= now() RETURNING "} +
                      block_columns);
  for (const auto& row : rows) publish_unblocked(tx, read_block(row), "expired");
  return static_cast<int64_t>(rows.size());
}

json summary(pqxx::work& tx, int64_t days) {
  const std::string window = " c.created_at > now() - make_interval(days => $1::int)";
  const int d = static_cast<int>(days);
  auto totals = tx.exec_params1(
      "SELECT count(*), coalesce(round(avg(c.risk_score)::numeric, 2), 0)::float8,"
      " count(*) FILTER (WHERE c.review_outcome = 'approved'),"
      " count(*) FILTER (WHERE c.review_outcome = 'rejected'),"
      " count(*) FILTER (WHERE c.review_outcome IS NULL AND c.decision IN ('manual_review', 'flagged'))"
      " FROM fraud.fraud_checks c WHERE" + window,
      d);
  json by_decision{{"approved", 0}, {"flagged", 0}, {"manual_review", 0}, {"blocked", 0}};
  for (const auto& row : tx.exec_params(
           "SELECT c.decision, count(*) FROM fraud.fraud_checks c WHERE" + window + " GROUP BY 1", d))
    by_decision[row[0].as<std::string>()] = row[1].as<int64_t>();
  json by_level{{"low", 0}, {"medium", 0}, {"high", 0}, {"critical", 0}};
  for (const auto& row : tx.exec_params(
           "SELECT c.risk_level, count(*) FROM fraud.fraud_checks c WHERE" + window + " GROUP BY 1", d))
    by_level[row[0].as<std::string>()] = row[1].as<int64_t>();
  json top = json::array();
  for (const auto& row : tx.exec_params(
           "SELECT s->>'signal_type', count(*) FROM fraud.fraud_checks c"
           " CROSS JOIN LATERAL jsonb_array_elements(c.signals) s WHERE" + window +
               " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
           d))
    top.push_back({{"signal_type", row[0].as<std::string>()}, {"count", row[1].as<int64_t>()}});
  auto active = tx.exec1(std::string{"SELECT count(*) FROM fraud.blocked_entities b WHERE "} +
                         block_in_force);
  return {{"days", days},
          {"total_checks", totals[0].as<int64_t>()},
          {"by_decision", by_decision},
          {"by_level", by_level},
          {"top_signals", top},
          {"average_score", totals[1].as<double>()},
          {"blocked_entities_active", active[0].as<int64_t>()},
          {"review_outcomes",
           {{"approved", totals[2].as<int64_t>()},
            {"rejected", totals[3].as<int64_t>()},
            {"pending", totals[4].as<int64_t>()}}}};
}

outbox_stats_reply read_outbox_stats(pqxx::work& tx) {
  const auto b = fraud_outbox().read_backlog(tx);
  return outbox_stats_reply{b.pending, b.oldest_age_seconds, b.failed};
}

}  // namespace mercato::fraud
