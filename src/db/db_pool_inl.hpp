// Template part of db_pool.hpp that needs libpqxx; kept apart so the header above stays light to
// read. Included by db_pool.hpp.
#pragma once

#include <pqxx/transaction>

namespace mercato::db {

template <class T, class Work>
T pool::run_in_transaction(pqxx::connection& c, Work& work) {
  static_assert(!std::is_void_v<T>, "a unit of work returns a value (use bool for none)");
  pqxx::work tx{c};
  T result = work(tx);
  tx.commit();
  return result;
}

}  // namespace mercato::db
