// Idempotency store (see idempotency_store.hpp).
#include "db/idempotency_store.hpp"

#include "db/hot_statement.hpp"

#include <pqxx/pqxx>

#include "db/migrations.hpp"
#include "db/sql_names.hpp"

namespace mercato::db {

idempotency_store::idempotency_store(std::string schema)
    : table_(qualified_table(schema, "idempotency_keys")) {}

bool idempotency_store::valid_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

std::string idempotency_store::fingerprint(std::string_view method, std::string_view path,
                                           std::string_view body) {
  std::string text;
  text.reserve(method.size() + path.size() + body.size() + 2);
  text.append(method).push_back('\n');
  text.append(path).push_back('\n');
  text.append(body);
  return checksum_of(text);
}

claim_result idempotency_store::claim(pqxx::work& tx, std::string_view key,
                                      std::string_view endpoint,
                                      std::string_view fingerprint, const stored_response* answer) const {
  const int status = answer ? answer->status : 0;
  const std::string body = answer ? answer->body : std::string{};
  // A concurrent claim of the same key blocks here until the first transaction ends.
  auto inserted = exec_hot(tx,
      "INSERT INTO " + table_ +
          " (key, endpoint, request_hash, status_code, response_body) VALUES ($1, $2, $3, $4, $5)"
          " ON CONFLICT (key) DO NOTHING RETURNING 1",
      std::string(key), std::string(endpoint), std::string(fingerprint), status, body);
  if (!inserted.empty()) return {claim_state::claimed, {}};

  auto row = exec_hot1(tx,
      "SELECT endpoint, request_hash, status_code, response_body,"
      " created_at < now() - make_interval(secs => $2) FROM " + table_ +
          " WHERE key = $1 FOR UPDATE",
      std::string(key), static_cast<double>(std::chrono::seconds(retention).count()));
  if (row[4].as<bool>()) {  // expired: the key is free again
    exec_hot(tx, "UPDATE " + table_ +
                       " SET endpoint = $2, request_hash = $3, status_code = $4, response_body = $5,"
                       " created_at = now() WHERE key = $1",
                   std::string(key), std::string(endpoint), std::string(fingerprint), status, body);
    return {claim_state::claimed, {}};
  }
  if (row[0].as<std::string>() != endpoint || row[1].as<std::string>() != fingerprint)
    return {claim_state::mismatch, {}};
  return {claim_state::replay, {row[2].as<int>(), row[3].as<std::string>()}};
}

std::optional<claim_result> idempotency_store::peek(pqxx::transaction_base& tx, std::string_view key,
                                                   std::string_view endpoint, std::string_view fingerprint) const {
  auto rows = tx.exec_params("SELECT endpoint, request_hash, status_code, response_body FROM " + table_ +
                                 " WHERE key = $1 AND created_at >= now() - make_interval(secs => $2)",
                             std::string(key), static_cast<double>(std::chrono::seconds(retention).count()));
  if (rows.empty()) return std::nullopt;
  const auto& row = rows[0];
  if (row[0].as<std::string>() != endpoint || row[1].as<std::string>() != fingerprint)
    return claim_result{claim_state::mismatch, {}};
  return claim_result{claim_state::replay, {row[2].as<int>(), row[3].as<std::string>()}};
}

std::string idempotency_store::claim_new_rows_sql(const std::string& claim_expr, const std::string& from) const {
  const std::string c = "(" + claim_expr + ")";
  return "INSERT INTO " + table_ + " (key, endpoint, request_hash, status_code, response_body) SELECT " + c +
         "->>'key', " + c + "->>'endpoint', " + c + "->>'request_hash', (" + c + "->>'status_code')::int, " + c +
         "->>'response_body' FROM " + from + " WHERE " + c + " IS NOT NULL ON CONFLICT (key) DO NOTHING RETURNING key";
}

nlohmann::json idempotency_store::claim_json(std::string_view key, std::string_view endpoint,
                                             std::string_view fingerprint, const stored_response& answer) {
  return {{"key", key},
          {"endpoint", endpoint},
          {"request_hash", fingerprint},
          {"status_code", answer.status},
          {"response_body", answer.body}};
}

void idempotency_store::save(pqxx::work& tx, std::string_view key,
                             const stored_response& response) const {
  exec_hot(tx, "UPDATE " + table_ + " SET status_code = $2, response_body = $3 WHERE key = $1",
                 std::string(key), response.status, response.body);
}

size_t idempotency_store::prune(pqxx::work& tx, std::chrono::seconds older_than) const {
  auto r = tx.exec_params("DELETE FROM " + table_ + " WHERE created_at < now() - make_interval(secs => $1)",
                          static_cast<double>(older_than.count()));
  return r.affected_rows();
}

}  // namespace mercato::db
