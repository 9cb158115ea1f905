// Idempotency keys with Stripe's semantics, stored in the owning agent's schema: the claim happens
// in the same transaction as the work, so a concurrent duplicate waits on the key's row and then
// replays the stored answer; a key reused with another request is refused (422); keys live 24 h.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

namespace mercato::db {

struct stored_response {
  int status = 0;
  std::string body;
};

enum class claim_state {
  claimed,   // first use: do the work, then save() in the same transaction
  replay,    // same key, same request: answer `stored` byte for byte
  mismatch,  // same key, different request (or endpoint): 422
};

struct claim_result {
  claim_state state = claim_state::claimed;
  stored_response stored;
};

class idempotency_store {
 public:
  static constexpr std::chrono::hours retention{24};

  // `schema` is an agent schema name from the registry ([a-z_]+).
  explicit idempotency_store(std::string schema);

  // 1..255 printable ASCII characters.
  static bool valid_key(std::string_view key);
  // Fingerprint of a request: method, agent path and body (hex digest).
  static std::string fingerprint(std::string_view method, std::string_view path,
                                 std::string_view body);

  // `answer`, when the work's answer is known before the work is done, is stored with a new
  // claim (the save() round trip is then not needed).
  claim_result claim(pqxx::work& tx, std::string_view key, std::string_view endpoint,
                     std::string_view fingerprint, const stored_response* answer = nullptr) const;
  // What claim() would decide, without claiming or locking: nullopt for a key that is unused or
  // expired (a claim would take it), else replay (with the stored answer) or mismatch. For a
  // request about to be refused by a check its first send passed: when its key already holds an
  // answer, that answer is the request's.
  std::optional<claim_result> peek(pqxx::transaction_base& tx, std::string_view key, std::string_view endpoint,
                                   std::string_view fingerprint) const;
  // For units whose work is one statement (so it may run in autocommit), any number of them in
  // one statement: the text of a data-modifying CTE that claims the NEW keys among the json
  // objects `claim_expr` (claim_json(): key, endpoint, fingerprint, the answer) of the rows of
  // `from`, yielding the `key` of each new one. Rows whose claim_expr is NULL claim nothing; keys
  // must be distinct within one statement. Make the rest of each unit's part conditional on its
  // key's row; without one the key exists, nothing of that unit may be written, and claim()
  // decides (replay, mismatch, or an expired key).
  std::string claim_new_rows_sql(const std::string& claim_expr, const std::string& from) const;
  static nlohmann::json claim_json(std::string_view key, std::string_view endpoint, std::string_view fingerprint,
                                   const stored_response& answer);
  void save(pqxx::work& tx, std::string_view key, const stored_response& response) const;
  // Deletes keys older than `older_than`; returns how many.
  size_t prune(pqxx::work& tx, std::chrono::seconds older_than) const;

 private:
  std::string table_;  // "<schema>.idempotency_keys", quoted
};

}  // namespace mercato::db
