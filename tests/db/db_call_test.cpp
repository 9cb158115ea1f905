// db_transact from inside an actor: the unit runs on a pool thread, and the actor continues with
// its outcome as a `continuation` message, so only the actor touches its own state.
#include <memory>
#include <string>
#include <thread>
#include <tuple>

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "support/db_fixture.hpp"
#include "runtime/agent_behavior.hpp"
#include "runtime/db_call.hpp"

using namespace mercato;
using test::fresh_database;

namespace {

using load_atom = caf::atom_constant<caf::atom("load")>;
using peek_atom = caf::atom_constant<caf::atom("peek")>;

struct loader_state {
  int loaded = -1;                  // last value a unit returned
  int continuations = 0;            // outcomes handled
  bool all_in_actor = true;         // each outcome was handled while processing a continuation
  bool all_off_pool_thread = true;  // ... and not on the pool thread that ran the unit
};

// Loads an int with `sql` through the pool, keeps it in its state and answers "ok" or the error code.
caf::behavior loader(caf::stateful_actor<loader_state>* self, db::pool* pool) {
  return {
      on_continuation(self),
      [=](load_atom, const std::string& sql) {
        auto promise = self->make_response_promise();
        auto unit_thread = std::make_shared<std::thread::id>();
        db_transact<int>(
            self, *pool,
            [sql, unit_thread](pqxx::work& tx) {
              *unit_thread = std::this_thread::get_id();
              return tx.exec1(sql)[0].as<int>();
            },
            [self, promise, unit_thread](db::outcome<int> r) mutable {
              auto& st = self->state;
              auto* current = self->current_mailbox_element();
              st.all_in_actor = st.all_in_actor && current != nullptr &&
                                current->content().match_elements<continuation>();
              st.all_off_pool_thread = st.all_off_pool_thread && std::this_thread::get_id() != *unit_thread;
              ++st.continuations;
              if (!r.ok()) {
                promise.deliver(std::string(db::to_string(r.failure->code)));
                return;
              }
              st.loaded = *r.value;
              promise.deliver(std::string("ok"));
            });
      },
      [=](peek_atom) {
        const auto& st = self->state;
        return std::make_tuple(st.loaded, st.continuations, st.all_in_actor && st.all_off_pool_thread);
      },
  };
}

}  // namespace

TEST_CASE_METHOD(fresh_database, "db_transact continues inside the actor with the outcome", "[db][actor]") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system system{cfg};
  db::pool pool{pool_settings(2)};
  test::start_pool(pool);
  auto actor = system.spawn(loader, &pool);
  caf::scoped_actor self{system};

  auto load = [&](const std::string& sql) {
    std::string answer = "no answer";
    self->request(actor, std::chrono::seconds(10), load_atom::value, sql)
        .receive([&](const std::string& a) { answer = a; },
                 [&](const caf::error& e) { answer = system.render(e); });
    return answer;
  };
  auto peek = [&] {
    std::tuple<int, int, bool> out{-2, -2, false};
    self->request(actor, std::chrono::seconds(10), peek_atom::value)
        .receive([&](int loaded, int continuations, bool in_actor) { out = {loaded, continuations, in_actor}; },
                 [](const caf::error&) {});
    return out;
  };

  CHECK(load("SELECT 42") == "ok");
  CHECK(peek() == std::make_tuple(42, 1, true));

  CHECK(load("SELECT no_such_column FROM no_such_table") == "internal");
  CHECK(peek() == std::make_tuple(42, 2, true));  // the failure came back as a message too

  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
