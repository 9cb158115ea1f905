// Idempotency keys with Stripe's semantics, stored in the owning agent's schema: the claim happens
// in the same transaction as the work, so a concurrent duplicate waits on the key's row and then
// replays the stored answer; a key reused with another request is refused (422); keys live 24 h.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

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
  // For a unit whose work is one statement (so it may run in autocommit): the text of a
  // data-modifying CTE that claims a NEW key with its answer, yielding one row only then.
  // Parameters $p..$p+4: key, endpoint, fingerprint, status, body. Make the rest of the statement
  // conditional on its row; without one the key exists, nothing may be written, and claim()
  // decides (replay, mismatch, or an expired key).
  std::string claim_new_sql(int first_param) const;
  void save(pqxx::work& tx, std::string_view key, const stored_response& response) const;
  // Deletes keys older than `older_than`; returns how many.
  size_t prune(pqxx::work& tx, std::chrono::seconds older_than) const;

 private:
  std::string table_;  // "<schema>.idempotency_keys", quoted
};

}  // namespace mercato::db
