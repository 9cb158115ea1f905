// Reserves that share a transaction (store::reserve_batch, the saga's door under load): each order
// answered as if alone, in arrival order on one view of the locked levels, one write for all; and
// the actor's fallback when a shared transaction fails (each order again on its own). The saga's
// confirmations share a statement the same way (store::confirm_all_active).
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "config/config.hpp"
#include "inventory/inventory_agent.hpp"
#include "inventory/inventory_messages.hpp"
#include "inventory/inventory_store.hpp"
#include "support/agent_fixture.hpp"
#include "support/plan_capture.hpp"

using namespace mercato;
using namespace mercato::inventory;
using mercato::test::agent_fixture;
using mercato::test::fixture_options;
using mercato::test::plan_capture;
using mercato::test::spec_for;
using mercato::test::check_key_probes;
using nlohmann::json;

namespace {

fixture_options with(std::function<void(config&)> adjust = {}) {
  fixture_options o;
  o.seed = true;
  o.adjust = std::move(adjust);
  return o;
}

struct batch_fixture : agent_fixture {
  explicit batch_fixture(fixture_options o = with())
      : agent_fixture({spec_for("inventory", &spawn_inventory_agent)}, std::move(o)) {}

  void stock(const std::string& item, int64_t quantity) {
    auto r = ask<inventory_actor, movement_record>(
        "inventory", receive_stock{item, "WH-001", quantity, "initial_stock", "init-" + item});
    REQUIRE(r.ok());
  }
  int64_t sql_int(const std::string& sql) { return database().value<int64_t>(sql); }
  // Published inventory events named `name` whose payload has `key` = `value`.
  std::vector<event> published(const std::string& name, const std::string& key, const std::string& value) {
    std::vector<event> out;
    for (auto& e : events("inventory." + name))
      if (json::parse(e.payload).value(key, "") == value) out.push_back(std::move(e));
    return out;
  }

  // Runs the requests through reserve_batch in one committed transaction.
  std::vector<store::result<reservation_set>> batch(const std::vector<reserve_stock>& requests) {
    auto c = database().connect();
    pqxx::work tx{*c};
    auto reg = store::load_warehouses(tx);
    auto out = store::reserve_batch(tx, requests, reg);
    tx.commit();
    return out;
  }
};

reserve_stock request(const std::string& order, std::vector<stock_line> lines, int64_t ttl = 600) {
  return reserve_stock{order, std::move(lines), ttl, true};
}

int64_t reserved_in(const reservation_set& s) {
  int64_t n = 0;
  for (const auto& r : s.reservations) n += r.quantity;
  return n;
}

}  // namespace

TEST_CASE("a reserve batch answers every order as if alone, in arrival order", "[inventory][batch]") {
  batch_fixture f;
  f.stock("item-a", 5);
  f.stock("item-b", 10);
  const std::vector<reserve_stock> requests{
      request("order-1", {{"item-a", 3, ""}}),                    // served first: 3 of 5
      request("order-2", {{"item-a", 3, ""}}),                    // 2 left: refused, nothing held
      request("order-3", {{"item-b", 4, ""}, {"item-a", 2, ""}}),  // the last 2 and 4 of b
      request("order-1", {{"item-a", 3, ""}}),                    // order-1 again: its set, replayed
      request("order-4", {}),                                     // bad input
      request("order-5", {{"item-unknown", 1, ""}}),              // unknown item
      request("order-1", {{"item-a", 1, ""}}),                    // order-1 with another set
  };
  auto out = f.batch(requests);
  REQUIRE(out.size() == 7);
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i].value.order_id == requests[i].order_id);
  REQUIRE(out[0].ok());
  CHECK(reserved_in(out[0].value) == 3);
  CHECK_FALSE(out[0].value.replayed);
  REQUIRE_FALSE(out[1].ok());
  CHECK(out[1].error->code == "insufficient_stock");
  CHECK(json::parse(out[1].error->detail)["available"] == 2);
  REQUIRE(out[2].ok());
  CHECK(reserved_in(out[2].value) == 6);
  REQUIRE(out[3].ok());
  CHECK(out[3].value.replayed);
  CHECK(out[3].value.reservations.front().reservation_id == out[0].value.reservations.front().reservation_id);
  REQUIRE_FALSE(out[4].ok());
  CHECK(out[4].error->kind == failure_kind::invalid);
  REQUIRE_FALSE(out[5].ok());
  CHECK(out[5].error->code == "unknown_item");
  REQUIRE_FALSE(out[6].ok());
  CHECK(out[6].error->code == "conflict");

  // Levels, reservations and ledger agree with the answers.
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-a'") == 5);
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-b'") == 4);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-1'") == 1);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-2'") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-3' AND status = 'active'") == 2);
  CHECK(f.sql_int("SELECT coalesce(sum(reserved_change), 0) FROM inventory.stock_movements"
                  " WHERE product_id = 'item-a' AND movement_type = 'reservation'") == 5);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE movement_type = 'reservation'"
                  " AND notes = 'order order-3'") == 2);
  // One stock_reserved per reserving order, carrying its own correlation id and reservations.
  REQUIRE(f.eventually([&] { return f.events("inventory.stock_reserved").size() == 2; }));
  for (const std::string order : {"order-1", "order-3"}) {
    auto reserved = f.published("stock_reserved", "order_id", order);
    REQUIRE(reserved.size() == 1);
    CHECK(reserved.front().correlation_id == order);
  }
  CHECK(json::parse(f.published("stock_reserved", "order_id", "order-3").front().payload)["reservations"].size() == 2);
  // item-a went from 5 to 0 available in one write: one stock_changed with the end state, one
  // stock_out alert.
  REQUIRE(f.eventually([&] { return !f.published("stock_out", "product_id", "item-a").empty(); }));
  std::vector<event> changed;
  for (auto& e : f.published("stock_changed", "product_id", "item-a"))
    if (json::parse(e.payload)["change_type"] == "reservation") changed.push_back(e);
  REQUIRE(changed.size() == 1);
  CHECK(json::parse(changed.front().payload)["available"] == 0);
  CHECK(json::parse(changed.front().payload)["reserved"] == 5);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_alerts WHERE product_id = 'item-a' AND status = 'open'") == 1);
}

TEST_CASE("a reserve batch's statements probe reservations by key under a generic plan",
          "[inventory][batch][plans]") {
  batch_fixture f;
  f.stock("item-p", 50);
  f.stock("item-q", 50);
  auto c = f.database().connect();
  plan_capture plans{*c};
  {
    pqxx::work tx{*c};
    auto reg = store::load_warehouses(tx);
    auto out = store::reserve_batch(tx, {request("order-p1", {{"item-p", 2, ""}}),
                                         request("order-p2", {{"item-p", 1, ""}, {"item-q", 3, ""}})}, reg);
    REQUIRE(out.size() == 2);
    CHECK(out[0].ok());
    CHECK(out[1].ok());
    tx.commit();
  }
  // Reservations grow with every order; stock levels and open alerts only with the catalogue.
  check_key_probes(plans, "FROM inventory.stock_levels WHERE product_id = ANY", "reservations");
  check_key_probes(plans, "UPDATE inventory.stock_levels s", "reservations");
}

TEST_CASE("a reserve batch rewrites its stock levels in place (HOT updates, no new index entries)",
          "[inventory][batch]") {
  // Levels are the order path's most updated rows: an update that changes an indexed column (as
  // the index on available_quantity did until migration 0015) writes an entry in every index of
  // the table and leaves a dead version chain for the next lock read to walk.
  batch_fixture f;
  f.stock("item-h", 50);
  f.stock("item-i", 50);
  auto c = f.database().connect();
  pqxx::work tx{*c};
  auto reg = store::load_warehouses(tx);
  auto out = store::reserve_batch(tx, {request("order-h1", {{"item-h", 2, ""}}),
                                       request("order-h2", {{"item-h", 1, ""}, {"item-i", 3, ""}})}, reg);
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].ok());
  REQUIRE(out[1].ok());
  // This transaction's own counts, before it ends.
  auto counts = tx.exec1(
      "SELECT pg_stat_get_xact_tuples_updated('inventory.stock_levels'::regclass),"
      " pg_stat_get_xact_tuples_hot_updated('inventory.stock_levels'::regclass)");
  CHECK(counts[0].as<int64_t>() == 2);
  CHECK(counts[1].as<int64_t>() == counts[0].as<int64_t>());
  tx.commit();
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-h'") == 3);
}

TEST_CASE("a stale set in a reserve batch is expired and replaced after the batch's write", "[inventory][batch]") {
  batch_fixture f;
  f.stock("item-a", 4);
  f.stock("item-b", 4);
  REQUIRE(f.batch({request("order-s", {{"item-a", 2, ""}}, 1)})[0].ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // order-x takes the 2 units of item-a the stale set leaves; order-s's stale 2 are then expired
  // and reserved again for it, after the batch's write; order-y is served in the batch.
  auto out = f.batch({request("order-x", {{"item-a", 2, ""}, {"item-b", 1, ""}}),
                      request("order-s", {{"item-a", 2, ""}}), request("order-y", {{"item-b", 3, ""}})});
  REQUIRE(out.size() == 3);
  CHECK(out[0].ok());
  REQUIRE(out[1].ok());
  CHECK_FALSE(out[1].value.replayed);
  CHECK(out[2].ok());
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-s' AND status = 'expired'") == 1);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-s' AND status = 'active'") == 1);
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-a'") == 4);
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-b'") == 4);
  REQUIRE(f.eventually([&] { return f.published("reservation_expired", "order_id", "order-s").size() == 1; }));
  CHECK(f.published("reservation_expired", "order_id", "order-s").front().correlation_id == "order-s");
}

TEST_CASE("a failed shared reserve is retried one order per transaction", "[inventory][batch][concurrency]") {
  // One reserve transaction at a time, so requests that arrive while it runs share the next one.
  batch_fixture f{with([](config& c) { c.inventory.reserve_batches_in_flight = 1; })};
  f.stock("item-locked", 5);
  f.stock("item-free", 5);
  auto conn = f.database().connect();
  pqxx::work blocker{*conn};
  blocker.exec("SELECT 1 FROM inventory.stock_levels WHERE product_id = 'item-locked' FOR UPDATE");
  auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
  auto send = [&](reserve_stock m) {
    return std::async(std::launch::async, [&f, handle, m] {
      caf::scoped_actor self{f.system()};
      std::string outcome;
      self->request(handle, std::chrono::seconds(30), m)
          .receive([&](reservation_set&) { outcome = "ok"; }, [&](caf::error& e) { outcome = read_failure(e).code; });
      return outcome;
    });
  };
  // The first waits 3 s on the lock alone; the next three queue behind it, then share a
  // transaction that times out on item-locked too. Alone, the two on item-free succeed.
  auto first = send(request("order-z", {{"item-locked", 1, ""}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto locked = send(request("order-a", {{"item-locked", 1, ""}}));
  auto free_1 = send(request("order-b", {{"item-free", 2, ""}}));
  auto free_2 = send(request("order-c", {{"item-free", 3, ""}}));
  CHECK(first.get() == "lock_timeout");
  CHECK(free_1.get() == "ok");
  CHECK(free_2.get() == "ok");
  CHECK(locked.get() == "lock_timeout");
  blocker.abort();
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-free'") == 5);
  CHECK(f.sql_int("SELECT reserved_quantity FROM inventory.stock_levels WHERE product_id = 'item-locked'") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id IN ('order-z', 'order-a')") == 0);
}

TEST_CASE("confirmations in one statement: each order all or none, the others left for confirm()", "[inventory][batch]") {
  batch_fixture f;
  f.stock("item-c", 20);
  f.stock("item-c2", 20);
  for (const auto& order : {"order-ok", "order-stale", "order-done"})
    REQUIRE(f.batch({request(order, {{"item-c", 2, ""}})})[0].value.reservations.size() == 1);
  REQUIRE(f.batch({request("order-two", {{"item-c", 1, ""}, {"item-c2", 1, ""}})})[0].value.reservations.size() == 2);
  f.database().exec("UPDATE inventory.reservations SET expires_at = now() - interval '1 second'"
                    " WHERE order_id = 'order-stale'");
  f.database().exec("UPDATE inventory.reservations SET status = 'confirmed', expires_at = NULL"
                    " WHERE order_id = 'order-done'");

  auto c = f.database().connect();
  plan_capture plans{*c};
  pqxx::nontransaction tx{*c};
  const std::vector<std::string> ids{"order-ok", "order-stale", "order-none", "order-two", "order-done", "order-ok"};
  auto out = store::confirm_all_active(tx, ids);
  REQUIRE(out.size() == ids.size());
  // The generic plan finds the rows by order, not through every open reservation.
  check_key_probes(plans, "inventory.reservations");
  REQUIRE(out[0]);
  CHECK(out[0]->order_id == "order-ok");
  REQUIRE(out[0]->reservations.size() == 1);
  CHECK(out[0]->reservations[0].status == "confirmed");
  CHECK(out[0]->reservations[0].quantity == 2);
  REQUIRE(out[5]);  // the same order asked twice gets its set twice
  CHECK(out[5]->reservations[0].reservation_id == out[0]->reservations[0].reservation_id);
  REQUIRE(out[3]);
  CHECK(out[3]->reservations.size() == 2);
  CHECK_FALSE(out[1]);  // one stale row: nothing written, confirm() decides
  CHECK_FALSE(out[2]);  // nothing reserved
  CHECK_FALSE(out[4]);  // already confirmed: confirm()'s replay answers it
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id IN ('order-ok', 'order-two')"
                  " AND status = 'confirmed' AND expires_at IS NULL") == 3);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-stale' AND status = 'active'") == 1);
}

TEST_CASE("a failed shared confirmation is retried one order per statement", "[inventory][batch][concurrency]") {
  // One confirmation statement at a time, so requests that arrive while it runs share the next.
  batch_fixture f{with([](config& c) { c.inventory.reserve_batches_in_flight = 1; })};
  f.stock("item-d", 20);
  for (const auto& order : {"order-first", "order-bad", "order-good-1", "order-good-2"})
    REQUIRE(f.batch({request(order, {{"item-d", 1, ""}})})[0].value.reservations.size() == 1);
  // A fault that only order-bad's rows meet: the shared statement fails as a whole.
  f.database().exec("CREATE FUNCTION inventory.test_refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                    " IF NEW.order_id = 'order-bad' AND NEW.status = 'confirmed' THEN"
                    " RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$");
  f.database().exec("CREATE TRIGGER test_refuse_bad BEFORE UPDATE ON inventory.reservations"
                    " FOR EACH ROW EXECUTE FUNCTION inventory.test_refuse_bad()");
  auto conn = f.database().connect();
  pqxx::work blocker{*conn};
  blocker.exec("SELECT 1 FROM inventory.reservations WHERE order_id = 'order-first' FOR UPDATE");
  auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
  auto send = [&](std::string order) {
    return std::async(std::launch::async, [&f, handle, order] {
      caf::scoped_actor self{f.system()};
      std::string outcome;
      self->request(handle, std::chrono::seconds(30), confirm_reservations{order})
          .receive([&](reservation_set& s) { outcome = "confirmed " + std::to_string(s.reservations.size()); },
                   [&](caf::error& e) { outcome = read_failure(e).code; });
      return outcome;
    });
  };
  // The first waits on the lock alone; the next three queue behind it and share a statement.
  auto first = send("order-first");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto bad = send("order-bad");
  auto good_1 = send("order-good-1");
  auto good_2 = send("order-good-2");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  blocker.abort();
  CHECK(first.get() == "confirmed 1");
  CHECK(good_1.get() == "confirmed 1");
  CHECK(good_2.get() == "confirmed 1");
  CHECK(bad.get() != "confirmed 1");
  f.database().exec("DROP TRIGGER test_refuse_bad ON inventory.reservations");
  f.database().exec("DROP FUNCTION inventory.test_refuse_bad()");
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE status = 'confirmed'"
                  " AND order_id IN ('order-first', 'order-good-1', 'order-good-2')") == 3);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-bad' AND status = 'active'") == 1);
}
