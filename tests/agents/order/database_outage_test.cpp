// The order path when the database goes away: every connection cut in the middle of placements
// (what a restart does to the server), and an outage long enough that a failing saga step cannot
// record its failure. Afterwards every saga settles, and orders, stock, reservations and payments
// agree (broken_order_invariants: the bench's bench/sql/order_consistency.sql).
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "order/order_agent.hpp"
#include "order/order_messages.hpp"
#include "order/order_store.hpp"
#include "order_suite.hpp"
#include "support/agent_fixture.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;

namespace {

const std::string prod3 = "10000000-0000-4000-8000-000000000003";

json order_body(const std::string& product = "PROD-001") {
  return {{"customer_id", "CUST-001"},
          {"payment_token", "tok_visa"},
          {"items", {{{"product_id", product}, {"quantity", 1}}}}};
}

// A connection to the server's maintenance database, to act on the fixture's database from
// outside: cut its connections, refuse new ones (neither may be done from inside).
class outside_connection {
 public:
  explicit outside_connection(const fresh_database& db)
      : db_name_(db.name()), conn_(url_with_dbname(db.url(), "postgres")) {}

  // Ends every client backend of the database; how many.
  int64_t cut_connections() {
    return pqxx::nontransaction(conn_)
        .exec_params1("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                      "datname = $1 AND backend_type = 'client backend') t",
                      db_name_)[0]
        .as<int64_t>();
  }
  // Whether the database accepts new connections (ALLOW_CONNECTIONS binds superusers too).
  void allow_connections(bool allow) {
    pqxx::nontransaction(conn_).exec("ALTER DATABASE " + conn_.quote_name(db_name_) + " ALLOW_CONNECTIONS " +
                                     (allow ? "true" : "false"));
  }

 private:
  std::string db_name_;
  pqxx::connection conn_;
};

// While alive, the database accepts no new connection; open ones stay.
class refused_connections {
 public:
  explicit refused_connections(outside_connection& admin) : admin_(admin) { admin_.allow_connections(false); }
  ~refused_connections() {
    try {
      admin_.allow_connections(true);
    } catch (const std::exception& e) {  // a destructor must not throw; the next query fails instead
      WARN("could not allow connections again: " << e.what());
    }
  }

 private:
  outside_connection& admin_;
};

// Saga leases of ten minutes, far longer than a test waits: a saga that resumes within the test
// was not resumed by its lease running out.
std::unique_ptr<agent_fixture> make_long_lease_fixture() {
  return make_order_fixture([](config& c) {
    c.order.saga_lease = std::chrono::minutes(10);
    c.order.saga_poll_interval = std::chrono::milliseconds(500);
  });
}

// Holds `table` against writes and runs `act` (in which a saga step must come to wait on that
// lock); then the outage: every connection cut, the waiting statement's included, and new ones
// refused until a second after `act` returned. Returns what `act` returned.
template <class Act>
auto act_through_outage(agent_fixture& f, const std::string& table, Act act) -> decltype(act()) {
  outside_connection admin{f.database()};
  auto holder = f.database().connect();
  pqxx::work hold{*holder};
  hold.exec("LOCK TABLE " + table + " IN SHARE MODE");
  auto acting = std::async(std::launch::async, act);
  REQUIRE(f.eventually([&] {
    return count(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                    "wait_event_type = 'Lock'") == 1;
  }));
  refused_connections outage{admin};
  CHECK(admin.cut_connections() >= 2);
  try {
    hold.abort();
  } catch (const std::exception&) {  // its connection is gone, and the lock with it
  }
  REQUIRE(acting.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  auto result = acting.get();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return result;
}

}  // namespace

// What a database restart does to the server: every connection drops at once, between or inside
// the statements of the saga steps (a commit may have happened without its answer arriving).
// Placements race three such cuts; afterwards every saga settles, every order is confirmed or
// cancelled, every order written was answered as an order, and stock, reservations and payments
// agree.
TEST_CASE("order outage: connections cut during placements leave every order consistent", "[order][outage]") {
  auto f = make_order_fixture();
  const std::string wh1 = "20000000-0000-4000-8000-000000000001";
  f->database().exec("UPDATE inventory.stock_levels SET quantity = CASE WHEN warehouse_id = '" + wh1 +
                     "' THEN 30 ELSE 0 END WHERE product_id::text = '" + prod3 + "'");
  auto handle = f->directory().handle("order");
  std::atomic<int> answered{0}, confirmed{0}, timed_out{0}, orders_answered{0};
  std::vector<std::future<void>> placed;
  for (int i = 0; i < 40; ++i)
    placed.push_back(std::async(std::launch::async, [&, i, handle] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * (i % 8)));
      caf::scoped_actor s{f->system()};
      order::place_order msg;
      msg.body = order_body("PROD-003");
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(45), msg)
          .receive(
              [&](order::order_view& v) {
                ++answered;
                ++orders_answered;
                if (v.status == "confirmed") ++confirmed;
              },
              [&](caf::error& e) {
                if (e == caf::sec::request_timeout) ++timed_out;
                else ++answered;  // an error answer (503) is an answer, not a hang
              });
    }));
  outside_connection admin{f->database()};
  int64_t cut = 0;
  for (int ms : {15, 45, 120}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    cut += admin.cut_connections();
  }
  for (auto& p : placed) p.get();
  CHECK(cut > 0);
  CHECK(timed_out == 0);
  CHECK(answered == 40);
  CHECK(f->eventually(
      [&] {
        return count(*f, "SELECT count(*) FROM orders.sagas WHERE state NOT IN ('completed', 'compensated')") == 0;
      },
      std::chrono::seconds(60)));
  const int64_t orders = count(*f, "SELECT count(*) FROM orders.orders");
  const int64_t confirmed_orders = count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'");
  // Every order written was answered as an order: none exists whose request got an error (a
  // client without an Idempotency-Key would place it again).
  CHECK(orders == orders_answered);
  CHECK(confirmed_orders >= confirmed);  // an order answered confirmed stays confirmed
  CHECK(confirmed_orders <= 30);
  CHECK(count(*f, "SELECT coalesce(sum(quantity), 0) FROM inventory.reservations WHERE status = 'confirmed'") ==
        confirmed_orders);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// A saga step that fails because the database is down cannot record its failure while it is down
// either. The run writes the record again until the database is back (actors/order/saga_record.cpp),
// so the saga resumes about a second later instead of when its lease runs out: the lease here is
// ten minutes, far longer than the test waits.
TEST_CASE("order outage: a saga step failing while the database refuses connections resumes when it is back",
          "[order][outage]") {
  auto f = make_long_lease_fixture();
  // Fraud's scoring insert waits behind the lock, so the saga stands at its fraud step. The caller
  // hears of its order while the saga can record nothing: it is pending.
  const std::string status = act_through_outage(*f, "fraud.fraud_checks", [&f] {
    caf::scoped_actor s{f->system()};
    order::place_order msg;
    msg.body = order_body();
    std::string out;
    s->request(caf::actor_cast<order_actor>(f->directory().handle("order")), std::chrono::seconds(60), msg)
        .receive([&](order::order_view& v) { out = v.status; },
                 [&](caf::error& e) { out = "error " + caf::to_string(e); });
    return out;
  });
  CHECK(status == "pending");
  // Resumed long before the lease ends: confirmed, with the failed fraud step on record.
  CHECK(f->eventually([&] { return count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == 1; },
                      std::chrono::seconds(60)));
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps WHERE step = 'fraud_check' AND status = 'failed'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE state = 'completed' AND lease_owner IS NULL") == 1);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// The cancel saga likewise: its stock release fails while the database refuses connections, the
// failure is recorded once the database is back, and the compensation finishes long before the
// saga's ten-minute lease would end.
TEST_CASE("order outage: a cancel's compensation failing while the database refuses connections resumes",
          "[order][outage]") {
  auto f = make_long_lease_fixture();
  auto placed = f->post("order", "/orders", order_body());
  REQUIRE(placed.status == 201);
  const std::string id = placed.json()["order_id"];
  REQUIRE(placed.json()["status"] == "confirmed");
  // Inventory's release waits behind the lock, so the compensation stands at its first step. The
  // order was cancelled before the compensation began: the caller hears so.
  auto cancelled = act_through_outage(*f, "inventory.stock_levels", [&f, &id] {
    return f->post("order", "/orders/" + id + "/cancel", json{{"reason", "other"}});
  });
  CHECK(cancelled.status == 200);
  CHECK(f->eventually(
      [&] {
        return count(*f, "SELECT count(*) FROM orders.sagas WHERE saga_type = 'cancel_order' AND state = 'completed' "
                         "AND lease_owner IS NULL") == 1;
      },
      std::chrono::seconds(60)));
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps st JOIN orders.sagas s USING (saga_id) WHERE "
                  "s.saga_type = 'cancel_order' AND st.step = 'release_reservations' AND st.status = 'failed'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'cancelled' AND payment_status = 'voided'") == 1);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// A retry record whose commit answer was lost may have landed. record_saga's re-write must then
// not append the failed step (or saga_failed) a second time, and a lease this incarnation's driver
// took meanwhile must not keep the saga waiting for the lease to run out.
TEST_CASE("order outage: a retry record is re-written only while it is missing and the lease is ours",
          "[order][outage]") {
  auto f = make_order_fixture();
  const std::string saga = "5a6a0000-0000-4000-8000-000000000001";
  const std::string me = "proc:1";
  auto set_saga = [&](const std::string& lease_owner, int attempts) {
    f->database().exec("DELETE FROM orders.sagas WHERE saga_id = '" + saga + "'");
    f->database().exec(
        "INSERT INTO orders.sagas (saga_id, order_id, saga_type, state, step_attempts, lease_owner, lease_until) "
        "VALUES ('" + saga + "', gen_random_uuid(), 'place_order', 'running', " + std::to_string(attempts) + ", " +
        (lease_owner.empty() ? "NULL, NULL" : "'" + lease_owner + "', now() + interval '1 minute'") + ")");
  };
  auto check = [&](int64_t attempts) {
    auto c = f->database().connect();
    pqxx::work tx{*c};
    auto outcome = order::check_saga_rewrite(tx, saga, me, attempts);
    tx.commit();
    return outcome;
  };
  auto lease_owner = [&] {
    return f->database().value<std::string>("SELECT coalesce(lease_owner, '') FROM orders.sagas WHERE saga_id = '" +
                                            saga + "'");
  };

  SECTION("the lease is ours and the record (attempt 3) is missing: write it") {
    set_saga(me, 2);
    CHECK(check(3) == order::saga_rewrite::due);
    CHECK(lease_owner() == me);
  }
  SECTION("another owner holds the lease: leave the saga alone") {
    set_saga("proc:2", 2);
    CHECK(check(3) == order::saga_rewrite::lease_gone);
    CHECK(lease_owner() == "proc:2");
  }
  SECTION("the first write landed and released the lease: nothing to do") {
    set_saga("", 3);
    CHECK(check(3) == order::saga_rewrite::landed_earlier);
    CHECK(lease_owner().empty());
  }
  SECTION("the first write landed and this incarnation's driver claimed the saga since: the lease is released") {
    set_saga(me, 3);
    CHECK(check(3) == order::saga_rewrite::landed_earlier);
    CHECK(lease_owner().empty());
    CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE saga_id = '" + saga + "' AND lease_until IS NULL") == 1);
  }
  SECTION("the saga is gone") {
    CHECK(check(1) == order::saga_rewrite::lease_gone);
  }
}
