// Template part of db_pool.hpp that needs libpqxx; kept apart so the header above stays light to
// read. Included by db_pool.hpp.
#pragma once

#include <exception>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "log/log.hpp"

namespace mercato::db {

template <class T, class Work>
T pool::run_in_transaction(pqxx::connection& c, Work& work) {
  static_assert(!std::is_void_v<T>, "a unit of work returns a value (use bool for none)");
  std::optional<pqxx::work> opened;
  try {
    opened.emplace(c);  // sends BEGIN: the first contact with the server
  } catch (const pqxx::broken_connection& e) {
    throw never_sent(e.what());
  }
  pqxx::work& tx = *opened;
  T result = work(tx);
  tx.commit();
  return result;
}

template <class T, class Work>
T pool::run_in_autocommit(pqxx::connection& c, effect kind, Work& work) {
  static_assert(!std::is_void_v<T>, "a unit of work returns a value (use bool for none)");
  pqxx::nontransaction tx{c};  // sends nothing
  if (kind == effect::write) {
    // A write is never run twice (its statement may have committed before the connection broke),
    // but a connection the server closed while it sat idle in the pool is found before anything
    // is sent. That case (the usual one after a database restart) then runs on a fresh connection,
    // like a transaction whose BEGIN failed.
    if (closed_while_idle(c)) throw never_sent("the server closed the connection while it was idle");
    return work(tx);
  }
  try {
    return work(tx);
  } catch (const pqxx::broken_connection& e) {
    throw never_sent(e.what());  // reads only: running them again is harmless
  }
}

template <class Done, class Outcome>
void pool::complete(Done& done, Outcome&& result) {
  try {
    done(std::forward<Outcome>(result));
  } catch (const std::exception& e) {
    log::error("db", "unit_callback_failed", {{"reason", e.what()}});
  }
}

}  // namespace mercato::db
