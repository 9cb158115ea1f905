// Statements that run on every order (the placement path, the outbox, idempotency keys) are
// prepared once per connection, so PostgreSQL parses and plans them once instead of per call:
// profiling POST /orders showed parse + analyse + plan at a third of PostgreSQL's CPU.
//
// The name is derived from the text, so call sites stay plain SQL. libpqxx prepares lazily on
// first use, an identical re-definition is a map look-up, and a reconnected connection starts
// with an empty map and re-prepares. Use it only for texts from a bounded set (literals, or a
// table name from the registry): every distinct text is a prepared statement on each connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <pqxx/connection_base>
#include <pqxx/result>
#include <pqxx/transaction_base>

// A parameter the planner must not look into, for hot statements: `(SELECT $1::text[])::text[]`
// is computed once per execution (an InitPlan), so a custom plan knows no more about it than the
// cached generic plan. PostgreSQL plans a prepared statement anew whenever the custom plans it
// made first cost less than the generic one (plancache.c, choose_custom_plan): a custom plan for
// a 1-element array beats a generic plan costed for 10, and the statement is then planned on
// every call (inventory's stock reads and reserve writes were: bench/pg_profile.sh, "plans").
// `param` is "$n", `type` its SQL type, e.g. MERCATO_OPAQUE_PARAM("$1", "text[]").
#define MERCATO_OPAQUE_PARAM(param, type) "(SELECT " param "::" type ")::" type

namespace mercato::db {

// "hot_" + 16 hex digits of the text's 64-bit hash (std::hash).
std::string hot_statement_name(std::string_view sql);

template <class... Args>
pqxx::result exec_hot(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  const std::string name = hot_statement_name(sql);
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

template <class... Args>
pqxx::row exec_hot1(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
  auto r = exec_hot(tx, sql, std::forward<Args>(args)...);
  if (r.size() != 1)
    throw pqxx::unexpected_rows("Expected 1 row from a hot statement, got " + std::to_string(r.size()));
  return r[0];
}

}  // namespace mercato::db
