// Database work from inside an agent: the unit runs on a pool thread (never a scheduler thread)
// and the agent continues with its outcome as a message (a `continuation`), so agent state is
// touched only by the agent. Usage:
//
//   db_transact<order_row>(self, *ctx.database,
//       [id](pqxx::work& tx) { return load_order(tx, id); },
//       [self, reply](db::outcome<order_row> r) { ... reply ... });
#pragma once

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "db/db_pool.hpp"
#include "mercato/agent_actor.hpp"

namespace mercato {

template <class T, class Self, class Work, class Done>
void db_transact(Self* self, db::pool& pool, Work work, Done done) {
  caf::actor me = caf::actor_cast<caf::actor>(self);
  pool.transact<T>(std::move(work), [me, done = std::move(done)](db::outcome<T> result) {
    caf::anon_send(me, continuation{[done, result]() mutable { done(std::move(result)); }});
  });
}

// db_transact without BEGIN/COMMIT, for a unit of one statement or of reads only (see
// db::pool::autocommit): `work` takes a pqxx::nontransaction&.
template <class T, class Self, class Work, class Done>
void db_autocommit(Self* self, db::pool& pool, db::pool::effect kind, Work work, Done done) {
  caf::actor me = caf::actor_cast<caf::actor>(self);
  pool.autocommit<T>(kind, std::move(work), [me, done = std::move(done)](db::outcome<T> result) {
    caf::anon_send(me, continuation{[done, result]() mutable { done(std::move(result)); }});
  });
}

// How an agent runs a unit of store work.
enum class unit_mode {
  transaction,  // BEGIN … COMMIT (`tx` a pqxx::work&): db_transact
  // Without BEGIN/COMMIT (`tx` a pqxx::nontransaction&): db_autocommit.
  reads,      // reads only: run again once on a dead connection
  one_write,  // one writing statement (after reads): a dead connection fails it with unavailable,
              // never re-run, as the statement may have committed
};

// db_transact or db_autocommit, as `Mode` says.
template <class T, unit_mode Mode, class Self, class Work, class Done>
void db_unit(Self* self, db::pool& pool, Work work, Done done) {
  if constexpr (Mode == unit_mode::transaction)
    db_transact<T>(self, pool, std::move(work), std::move(done));
  else
    db_autocommit<T>(self, pool, Mode == unit_mode::reads ? db::pool::effect::read : db::pool::effect::write,
                     std::move(work), std::move(done));
}

}  // namespace mercato
