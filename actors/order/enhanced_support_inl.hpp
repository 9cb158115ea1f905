// Template part of enhanced_support.hpp.
#pragma once

#include <utility>

#include "db/outbox.hpp"
#include "log/log.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::order::enhanced {

template <class T>
void run_unit(const deps_ptr& deps, std::function<T(pqxx::work&)> work,
              std::function<void(unit_result<T>&)> done, bool wakes_relay) {
  auto shared_done = std::make_shared<std::function<void(unit_result<T>&)>>(std::move(done));
  auto finish = [deps, shared_done](std::shared_ptr<unit_result<T>> r) {
    deps->in_actor([shared_done, r]() { (*shared_done)(*r); });
  };
  db::pool::unit u;
  u.run = [work = std::move(work), finish, deps, wakes_relay](pqxx::connection& c) {
    auto r = std::make_shared<unit_result<T>>();
    try {
      r->value = db::pool::run_in_transaction<T>(c, work);
      if (wakes_relay && deps->relay) deps->relay->wake("orders");
    } catch (const refusal& refused) {  // the transaction was rolled back on the way out
      r->error = refused.response;
    }
    finish(std::move(r));
  };
  u.fail = [finish](db::error e) {
    if (e.code == db::errc::internal)  // a bug in SQL or code: keep the cause
      log::error("order", "enhanced_unit_failed", {{"reason", e.message}, {"sqlstate", e.sqlstate}});
    auto r = std::make_shared<unit_result<T>>();
    r->error = failure_response(db_failure(e));
    finish(std::move(r));
  };
  deps->database->submit(std::move(u));
}

}  // namespace mercato::order::enhanced
