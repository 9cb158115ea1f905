// The inventory agent against a fresh migrated, seeded database: typed messages (the order saga's
// door), REST through the typed door, the sweeper, alerts and the no-oversell invariant.
#include <atomic>
#include <future>
#include <random>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "inventory/inventory_agent.hpp"
#include "inventory/inventory_messages.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::inventory;
using mercato::test::agent_fixture;
using mercato::test::fixture_options;
using mercato::test::spec_for;
using nlohmann::json;

namespace {

std::string product(int n) { return fmt::format("10000000-0000-4000-8000-0000000000{:02d}", n); }
std::string warehouse(int n) { return fmt::format("20000000-0000-4000-8000-00000000000{}", n); }

fixture_options seeded() {
  fixture_options o;
  o.seed = true;
  return o;
}

struct inventory_fixture : agent_fixture {
  inventory_fixture() : agent_fixture({spec_for("inventory", &spawn_inventory_agent)}, seeded()) {}

  template <class Reply, class Message>
  test::reply<Reply> ask_inv(Message m) {
    return ask<inventory_actor, Reply>("inventory", std::move(m));
  }
  // Creates `item` with `quantity` units in warehouse `wh` (receive_stock; the product agent is
  // not running, so the item is accepted as is).
  void stock(const std::string& item, const std::string& wh, int64_t quantity, const std::string& ref) {
    auto r = ask_inv<movement_record>(receive_stock{item, wh, quantity, "initial_stock", ref});
    REQUIRE(r.ok());
  }
  int64_t sql_int(const std::string& sql) { return database().value<int64_t>(sql); }
  item_stock level(const std::string& item) {
    auto s = ask_inv<stock_summary>(get_stock_summary{{item}});
    REQUIRE(s.ok());
    REQUIRE(s->items.size() == 1);
    return s->items.front();
  }
};

}  // namespace

TEST_CASE("check_availability reports per warehouse and a single warehouse", "[inventory][agent]") {
  inventory_fixture f;
  auto r = f.ask_inv<availability_report>(check_availability{{{product(1), 5, ""}, {product(2), 5, ""}}});
  REQUIRE(r.ok());
  REQUIRE(r->lines.size() == 2);
  CHECK(r->lines[0].total_available == 700 + 200 + 600);
  CHECK(r->lines[0].warehouses.size() == 3);
  CHECK(r->all_available);
  CHECK(r->single_warehouse_id == warehouse(1));
  auto big = f.ask_inv<availability_report>(check_availability{{{product(1), 701, ""}}});
  REQUIRE(big.ok());
  CHECK(big->lines[0].available == false);  // no single warehouse holds 701 (lines never split)
  CHECK(big->single_warehouse_id.empty());
  auto unknown = f.ask_inv<availability_report>(check_availability{{{"no-such-item", 1, ""}}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error.code == "unknown_item");
  CHECK(unknown.error.kind == failure_kind::invalid);
}

TEST_CASE("check_availability asked together shares one read, each answered as if alone",
          "[inventory][agent][concurrency]") {
  inventory_fixture f;
  const std::vector<check_availability> asks{
      check_availability{{{product(1), 5, ""}, {product(2), 5, ""}}},
      check_availability{{{product(1), 701, ""}}},
      check_availability{{{"no-such-item", 1, ""}}},
      check_availability{{{product(1), 5, warehouse(2)}}},
      check_availability{{{product(2), 1, ""}, {product(2), 1, ""}}},
      check_availability{{{product(3), 1, ""}}},
  };
  auto together = f.ask_all<inventory_actor, availability_report>("inventory", asks);
  REQUIRE(together.size() == asks.size());
  auto shared = f.get("inventory", "/health").json()["shared_statements"]["availability"];
  CHECK(shared["items"] == asks.size());
  CHECK(shared["batches"].get<size_t>() < asks.size());

  REQUIRE(together[0].ok());
  CHECK(together[0]->all_available);
  CHECK(together[0]->lines[0].total_available == 700 + 200 + 600);
  REQUIRE(together[1].ok());
  CHECK_FALSE(together[1]->all_available);
  REQUIRE_FALSE(together[2].ok());
  CHECK(together[2].error.code == "unknown_item");
  // Each report is the one the same request gets on its own.
  for (size_t i = 0; i < asks.size(); ++i) {
    INFO("request " << i);
    auto alone = f.ask_inv<availability_report>(asks[i]);
    REQUIRE(alone.ok() == together[i].ok());
    if (!alone.ok()) {
      CHECK(alone.error.code == together[i].error.code);
      CHECK(alone.error.message == together[i].error.message);
      continue;
    }
    CHECK(alone->all_available == together[i]->all_available);
    CHECK(alone->single_warehouse_id == together[i]->single_warehouse_id);
    REQUIRE(alone->lines.size() == together[i]->lines.size());
    for (size_t k = 0; k < alone->lines.size(); ++k) {
      CHECK(alone->lines[k].product_id == together[i]->lines[k].product_id);
      CHECK(alone->lines[k].requested == together[i]->lines[k].requested);
      CHECK(alone->lines[k].available == together[i]->lines[k].available);
      CHECK(alone->lines[k].total_available == together[i]->lines[k].total_available);
      CHECK(alone->lines[k].warehouses.size() == together[i]->lines[k].warehouses.size());
    }
  }
}

TEST_CASE("reserve_stock is all-or-nothing and idempotent by order", "[inventory][agent]") {
  inventory_fixture f;
  reserve_stock req{"order-1", {{product(1), 2, ""}, {product(2), 1, ""}, {product(1), 1, ""}}, 600, true};
  auto r = f.ask_inv<reservation_set>(req);
  REQUIRE(r.ok());
  REQUIRE(r->reservations.size() == 2);  // the two product(1) lines are summed
  CHECK(r->reservations[0].quantity + r->reservations[1].quantity == 4);
  for (const auto& res : r->reservations) CHECK(res.warehouse_id == warehouse(1));
  CHECK(f.level(product(1)).reserved == 3);

  auto again = f.ask_inv<reservation_set>(req);
  REQUIRE(again.ok());
  CHECK(again->replayed);
  CHECK(again->reservations.size() == 2);
  CHECK(f.level(product(1)).reserved == 3);

  auto other = f.ask_inv<reservation_set>(reserve_stock{"order-1", {{product(1), 1, ""}}, 600, true});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error.kind == failure_kind::conflict);
  CHECK(other.error.code == "conflict");

  // Insufficient on the second line: nothing at all is reserved.
  auto before = f.sql_int("SELECT count(*) FROM inventory.reservations");
  auto shortr = f.ask_inv<reservation_set>(
      reserve_stock{"order-2", {{product(3), 1, ""}, {product(12), 999, ""}}, 600, true});
  REQUIRE_FALSE(shortr.ok());
  CHECK(shortr.error.code == "insufficient_stock");
  auto detail = json::parse(shortr.error.detail);
  CHECK(detail["product_id"] == product(12));
  CHECK(detail["requested"] == 999);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations") == before);
  CHECK(f.level(product(3)).reserved == 0);

  auto unknown_wh = f.ask_inv<reservation_set>(reserve_stock{"order-3", {{product(3), 1, "WH-404"}}, 600, true});
  REQUIRE_FALSE(unknown_wh.ok());
  CHECK(unknown_wh.error.code == "unknown_warehouse");

  REQUIRE(f.eventually([&] { return f.events("inventory.stock_reserved").size() == 1; }));
  auto ev = json::parse(f.events("inventory.stock_reserved").front().payload);
  CHECK(ev["order_id"] == "order-1");
  CHECK(ev["reservations"].size() == 2);
  REQUIRE(f.eventually([&] { return f.events("inventory.stock_changed").size() == 2; }));
  for (const auto& e : f.events("inventory.stock_changed")) {
    auto p = json::parse(e.payload);
    CHECK(p["change_type"] == "reservation");
    CHECK(p["warehouse_id"] == warehouse(1));
    if (p["product_id"] == product(1)) {
      CHECK(p["available"] == 1500 - 3);
      CHECK(p["available_quantity"] == 700 - 3);
      CHECK(p["reserved"] == 3);
      CHECK(e.correlation_id == "order-1");
    }
  }
}

TEST_CASE("no oversell: 50 concurrent single-unit reservations on 10 units", "[inventory][agent][concurrency]") {
  inventory_fixture f;
  f.stock("item-hot", "WH-001", 10, "init-hot");
  auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
  std::atomic<int> arrived{0};
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < 50; ++i)
    results.push_back(std::async(std::launch::async, [&, i] {
      caf::scoped_actor self{f.system()};
      test::arrive_and_wait(arrived, 50);
      std::string outcome;
      self->request(handle, std::chrono::seconds(20),
                    reserve_stock{"order-" + std::to_string(i), {{"item-hot", 1, ""}}, 600, true})
          .receive([&](reservation_set&) { outcome = "ok"; },
                   [&](caf::error& e) { outcome = read_failure(e).code; });
      return outcome;
    }));
  int ok = 0, insufficient = 0;
  for (auto& r : results) {
    auto o = r.get();
    if (o == "ok") ++ok;
    else if (o == "insufficient_stock") ++insufficient;
    else FAIL("unexpected outcome " << o);
  }
  CHECK(ok == 10);
  CHECK(insufficient == 40);
  auto s = f.level("item-hot");
  CHECK(s.on_hand == 10);
  CHECK(s.reserved == 10);
  CHECK(s.available == 0);
  CHECK(f.sql_int("SELECT sum(quantity_change) FROM inventory.stock_movements WHERE product_id = 'item-hot'") == 10);
  CHECK(f.sql_int("SELECT sum(reserved_change) FROM inventory.stock_movements WHERE product_id = 'item-hot'") == 10);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE product_id = 'item-hot' AND status = 'active'") == 10);
  // Crossing into zero opened exactly one critical alert.
  REQUIRE(f.eventually([&] {
    int n = 0;
    for (const auto& e : f.events("inventory.stock_out"))
      if (json::parse(e.payload)["product_id"] == "item-hot") ++n;
    return n == 1;
  }));
}

TEST_CASE("two concurrent reserve_stock for the same order make one set", "[inventory][agent][concurrency]") {
  inventory_fixture f;
  auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
  std::atomic<int> arrived{0};
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 4; ++i)
    results.push_back(std::async(std::launch::async, [&] {
      caf::scoped_actor self{f.system()};
      test::arrive_and_wait(arrived, 4);
      bool ok = false;
      self->request(handle, std::chrono::seconds(20),
                    reserve_stock{"order-same", {{product(4), 3, ""}, {product(5), 2, ""}}, 600, true})
          .receive([&](reservation_set& s) { ok = s.reservations.size() == 2; }, [&](caf::error&) {});
      return ok;
    }));
  for (auto& r : results) CHECK(r.get());
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-same'") == 2);
  CHECK(f.level(product(4)).reserved == 3);
  CHECK(f.level(product(5)).reserved == 2);
}

TEST_CASE("expired reservations are swept once and cannot be confirmed", "[inventory][agent]") {
  inventory_fixture f;
  auto r = f.ask_inv<reservation_set>(reserve_stock{"order-ttl", {{product(6), 4, "WH-002"}}, 1, true});
  REQUIRE(r.ok());
  auto rid = r->reservations.front().reservation_id;
  auto keep = f.ask_inv<reservation_set>(reserve_stock{"order-keep", {{product(6), 1, ""}}, 1, true});
  REQUIRE(keep.ok());
  auto confirmed = f.ask_inv<reservation_set>(confirm_reservations{"order-keep"});
  REQUIRE(confirmed.ok());
  CHECK(confirmed->reservations.front().status == "confirmed");
  CHECK(confirmed->reservations.front().expires_at.empty());
  CHECK(f.level(product(6)).reserved == 5);

  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  auto late = f.ask_inv<reservation_set>(confirm_reservations{"order-ttl"});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error.code == "expired");
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE status = 'confirmed'") == 1);

  auto swept = f.ask_inv<sweep_result>(release_expired_reservations{});
  REQUIRE(swept.ok());
  CHECK(swept->released == 1);
  CHECK(swept->units == 4);
  auto twice = f.ask_inv<sweep_result>(release_expired_reservations{});
  REQUIRE(twice.ok());
  CHECK(twice->released == 0);
  CHECK(f.level(product(6)).reserved == 1);  // the confirmed one stays

  auto again = f.ask_inv<reservation_set>(confirm_reservations{"order-ttl"});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error.code == "expired");
  auto rel = f.ask_inv<release_result>(release_reservations{"order-ttl", {}, "cancelled"});
  REQUIRE(rel.ok());
  CHECK(rel->released == 0);
  auto h = f.post("inventory", "/inventory/release-reservation/" + rid, json::object());
  REQUIRE(h.status == 200);
  CHECK(h.json()["data"]["status"] == "expired");
  CHECK(f.level(product(6)).reserved == 1);
  REQUIRE(f.eventually([&] { return f.events("inventory.reservation_expired").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(f.events("inventory.reservation_expired").size() == 1);
}

TEST_CASE("confirm with one stale reservation of the order confirms none of them and answers expired",
          "[inventory][agent]") {
  inventory_fixture f;
  auto r = f.ask_inv<reservation_set>(reserve_stock{"order-part", {{product(1), 1, ""}, {product(2), 1, ""}}, 600, true});
  REQUIRE(r.ok());
  REQUIRE(r->reservations.size() == 2);
  // One row past its expiry, the sweeper not run yet: the order cannot be confirmed in part.
  f.database().exec("UPDATE inventory.reservations SET expires_at = now() - interval '1 second'"
                    " WHERE order_id = 'order-part' AND product_id = '" + product(2) + "'");
  auto late = f.ask_inv<reservation_set>(confirm_reservations{"order-part"});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error.code == "expired");
  auto lines = json::parse(late.error.detail)["lines"];
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["product_id"] == product(2));
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-part' AND status = 'active'") == 2);
}

TEST_CASE("confirm after a stale set was replaced confirms the live set, and a replay answers it again",
          "[inventory][agent]") {
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-redo", {{product(7), 2, ""}}, 600, true}).ok());
  f.database().exec("UPDATE inventory.reservations SET expires_at = now() - interval '1 second'"
                    " WHERE order_id = 'order-redo'");
  auto renewed = f.ask_inv<reservation_set>(reserve_stock{"order-redo", {{product(7), 2, ""}}, 600, true});
  REQUIRE(renewed.ok());
  REQUIRE(renewed->reservations.size() == 1);
  const auto live_id = renewed->reservations.front().reservation_id;
  for (int round = 0; round < 2; ++round) {
    auto confirmed = f.ask_inv<reservation_set>(confirm_reservations{"order-redo"});
    REQUIRE(confirmed.ok());
    CHECK(confirmed->order_id == "order-redo");
    REQUIRE(confirmed->reservations.size() == 1);
    CHECK(confirmed->reservations.front().reservation_id == live_id);
    CHECK(confirmed->reservations.front().status == "confirmed");
    CHECK(confirmed->reservations.front().expires_at.empty());
  }
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-redo' AND status = 'expired'") == 1);
  CHECK(f.level(product(7)).reserved == 2);
}

TEST_CASE("a confirm that waits on the sweeper's locks sees the rows it expired and confirms none",
          "[inventory][agent][concurrency]") {
  inventory_fixture f;
  auto r = f.ask_inv<reservation_set>(reserve_stock{"order-swept", {{product(3), 1, ""}, {product(4), 1, ""}}, 600, true});
  REQUIRE(r.ok());
  // A stand-in for the sweeper: holds the order's rows and expires them while the confirm waits.
  auto conn = f.database().connect();
  pqxx::work sweeper{*conn};
  sweeper.exec("SELECT 1 FROM inventory.reservations WHERE order_id = 'order-swept' FOR UPDATE");
  auto confirm = std::async(std::launch::async, [&] {
    caf::scoped_actor self{f.system()};
    auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
    std::string outcome;
    self->request(handle, std::chrono::seconds(10), confirm_reservations{"order-swept"})
        .receive([&](reservation_set& s) { outcome = "confirmed " + std::to_string(s.reservations.size()); },
                 [&](caf::error& e) { outcome = read_failure(e).code; });
    return outcome;
  });
  CHECK(f.eventually([&] {
    return f.sql_int("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                     " AND wait_event_type = 'Lock'") == 1;
  }));
  sweeper.exec("UPDATE inventory.reservations SET status = 'expired', expires_at = now() - interval '1 second',"
               " closed_at = now() WHERE order_id = 'order-swept'");
  sweeper.commit();
  CHECK(confirm.get() == "expired");
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-swept' AND status = 'expired'") == 2);
}

TEST_CASE("a stale set is replaced when the order reserves again", "[inventory][agent]") {
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-r", {{product(7), 2, ""}}, 1, true}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  auto again = f.ask_inv<reservation_set>(reserve_stock{"order-r", {{product(7), 2, ""}}, 600, true});
  REQUIRE(again.ok());
  CHECK_FALSE(again->replayed);
  CHECK(f.level(product(7)).reserved == 2);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-r' AND status = 'expired'") == 1);
}

TEST_CASE("release and fulfil: on hand and reserved drop together, replays change nothing", "[inventory][agent]") {
  inventory_fixture f;
  auto base = f.level(product(8));
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-f", {{product(8), 5, ""}, {product(9), 2, ""}}, 600, true}).ok());
  REQUIRE(f.ask_inv<reservation_set>(confirm_reservations{"order-f"}).ok());
  auto over = f.ask_inv<fulfillment_result>(fulfill_reservations{"order-f", {{product(8), 6, ""}}, "ship-0"});
  REQUIRE_FALSE(over.ok());
  CHECK(over.error.code == "not_reserved");

  auto done = f.ask_inv<fulfillment_result>(fulfill_reservations{"order-f", {{product(8), 5, ""}}, "ship-1"});
  REQUIRE(done.ok());
  REQUIRE(done->movement_ids.size() == 1);
  auto after = f.level(product(8));
  CHECK(after.on_hand == base.on_hand - 5);
  CHECK(after.reserved == 0);
  auto replay = f.ask_inv<fulfillment_result>(fulfill_reservations{"order-f", {{product(8), 5, ""}}, "ship-1"});
  REQUIRE(replay.ok());
  CHECK(replay->movement_ids == done->movement_ids);
  CHECK(f.level(product(8)).on_hand == base.on_hand - 5);

  auto rel = f.ask_inv<release_result>(release_reservations{"order-f", {}, "cancelled"});
  REQUIRE(rel.ok());
  CHECK(rel->released == 1);
  CHECK(rel->units == 2);
  CHECK(f.level(product(9)).reserved == 0);
  auto none = f.ask_inv<release_result>(release_reservations{"order-f", {}, "cancelled"});
  REQUIRE(none.ok());
  CHECK(none->released == 0);
  REQUIRE(f.eventually([&] { return f.events("inventory.stock_committed").size() == 1; }));
  REQUIRE(f.eventually([&] {
    for (const auto& e : f.events("inventory.stock_movement_recorded")) {
      auto p = json::parse(e.payload);
      if (p["movement_type"] == "fulfillment")
        return p["quantity_change"] == -5 && p["reference_id"] == "ship-1" && p["product_id"] == product(8);
    }
    return false;
  }));
  REQUIRE(f.eventually([&] { return f.events("inventory.stock_released").size() == 1; }));
}

TEST_CASE("receive_stock is idempotent by reference and extend moves the expiry", "[inventory][agent]") {
  inventory_fixture f;
  auto first = f.ask_inv<movement_record>(receive_stock{product(10), "WH-003", 25, "purchase", "po-77"});
  REQUIRE(first.ok());
  auto replay = f.ask_inv<movement_record>(receive_stock{product(10), "WH-003", 25, "purchase", "po-77"});
  REQUIRE(replay.ok());
  CHECK(replay->movement_id == first->movement_id);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE reference_id = 'po-77'") == 1);
  auto fresh = f.ask_inv<movement_record>(receive_stock{"brand-new-item", "", 5, "purchase", "po-79"});
  REQUIRE(fresh.ok());
  CHECK(fresh->warehouse_id == warehouse(1));  // the default warehouse: first active by code
  CHECK(fresh->quantity_after == 5);
  auto bad = f.ask_inv<movement_record>(receive_stock{product(10), "WH-404", 1, "purchase", "po-78"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error.code == "unknown_warehouse");

  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-x", {{product(10), 1, ""}}, 60, true}).ok());
  auto ext = f.ask_inv<reservation_set>(extend_reservations{"order-x", 3600});
  REQUIRE(ext.ok());
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-x'"
                  " AND expires_at > now() + interval '50 minutes'") == 1);
  auto missing = f.ask_inv<reservation_set>(extend_reservations{"order-none", 3600});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error.kind == failure_kind::not_found);

  auto stats = f.ask_inv<outbox_stats_reply>(outbox_stats{});
  REQUIRE(stats.ok());
  CHECK(stats->failed == 0);
}

TEST_CASE("REST reserve, availability and reservation listing", "[inventory][rest]") {
  inventory_fixture f;
  auto avail = f.get("inventory", "/inventory/" + product(1) + "/availability?quantity=5");
  REQUIRE(avail.status == 200);
  auto a = avail.json();
  CHECK(a["success"] == true);
  CHECK(a["status_code"] == 200);
  CHECK(a["message"] == "Product availability checked");
  CHECK(a["data"]["available"] == true);
  CHECK(a["data"]["total_available"] == 1500);
  CHECK(a["data"]["can_fulfill_from_single_warehouse"] == true);
  CHECK(f.get("inventory", "/inventory/nope/availability").status == 404);
  CHECK(f.get("inventory", "/inventory/" + product(1) + "/availability?quantity=0").status == 422);

  json body = {{"product_id", product(2)}, {"quantity", 3}, {"order_id", "rest-1"}, {"warehouse_id", "WH-002"}};
  auto created = f.post("inventory", "/inventory/reserve", body);
  REQUIRE(created.status == 201);
  auto data = created.json()["data"];
  CHECK(data["warehouse_id"] == warehouse(2));
  CHECK(data["status"] == "active");
  auto same = f.post("inventory", "/inventory/reserve", body);
  REQUIRE(same.status == 200);
  CHECK(same.json()["data"]["reservation_id"] == data["reservation_id"]);
  body["quantity"] = 4;
  auto changed = f.post("inventory", "/inventory/reserve", body);
  CHECK(changed.status == 409);
  CHECK(changed.json()["detail"] == "Active reservation already exists for this order and product");
  // Another item for the same order is a separate line.
  auto second = f.post("inventory", "/inventory/reserve",
                       {{"product_id", product(3)}, {"quantity", 1}, {"order_id", "rest-1"}});
  CHECK(second.status == 201);
  auto too_many = f.post("inventory", "/inventory/reserve",
                         {{"product_id", product(12)}, {"quantity", 5}, {"order_id", "rest-2"}, {"warehouse_id", "WH-002"}});
  REQUIRE(too_many.status == 409);
  CHECK(too_many.json()["detail"] ==
        "Insufficient stock for product " + product(12) + " in warehouse WH-002: requested 5, available 0");
  CHECK(f.post("inventory", "/inventory/reserve", {{"product_id", product(2)}, {"quantity", 0}, {"order_id", "x"}}).status == 422);
  CHECK(f.post("inventory", "/inventory/reserve",
               {{"product_id", product(2)}, {"quantity", 1}, {"order_id", "x"}, {"expires_at", "2001-01-01T00:00:00Z"}})
            .status == 422);
  CHECK(f.post("inventory", "/inventory/reserve", {{"product_id", "ghost"}, {"quantity", 1}, {"order_id", "x"}}).status == 422);
  CHECK(f.post("inventory", "/inventory/reserve",
               {{"product_id", product(2)}, {"quantity", 1}, {"order_id", "x"}, {"warehouse_id", "WH-9"}})
            .status == 422);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'x'") == 0);

  auto list = f.get("inventory", "/inventory/reservations?order_id=rest-1");
  REQUIRE(list.status == 200);
  CHECK(list.json()["data"].size() == 2);

  std::string rid = data["reservation_id"];
  auto confirmed = f.post("inventory", "/inventory/reservations/" + rid + "/confirm", json::object());
  REQUIRE(confirmed.status == 200);
  CHECK(confirmed.json()["data"]["status"] == "confirmed");
  CHECK(confirmed.json()["data"]["expires_at"].is_null());
  auto released = f.post("inventory", "/inventory/release-reservation/" + rid, json::object());
  REQUIRE(released.status == 200);
  CHECK(released.json()["data"]["status"] == "released");
  CHECK(f.post("inventory", "/inventory/release-reservation/00000000-0000-4000-8000-000000000000", json::object()).status == 404);
  CHECK(f.post("inventory", "/inventory/release-reservation/not-a-uuid", json::object()).status == 404);
}

TEST_CASE("REST moves: sign rules, unreserved limit, atomic transfer", "[inventory][rest]") {
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-m", {{product(3), 150, "WH-001"}}, 600, true}).ok());
  // WH-001 holds 200 of product 3, 150 reserved: 50 unreserved.
  auto out = f.post("inventory", "/inventory/move",
                    {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", -51},
                     {"movement_type", "outbound"}});
  REQUIRE(out.status == 409);
  CHECK(out.json()["detail"] == "Insufficient unreserved stock: available 50");
  CHECK(f.post("inventory", "/inventory/move",
               {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", -5},
                {"movement_type", "inbound"}})
            .status == 422);
  CHECK(f.post("inventory", "/inventory/move",
               {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", 0},
                {"movement_type", "adjustment"}})
            .status == 422);
  CHECK(f.post("inventory", "/inventory/move",
               {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", -5},
                {"movement_type", "transfer"}, {"to_warehouse_id", "WH-001"}})
            .status == 422);
  auto moved = f.post("inventory", "/inventory/move",
                      {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", -40},
                       {"movement_type", "transfer"}, {"to_warehouse_id", "WH-003"}, {"reference_id", "tr-1"}});
  REQUIRE(moved.status == 201);
  CHECK(moved.json()["message"] == "Stock movement recorded successfully");
  CHECK(moved.json()["data"]["quantity_after"] == 160);
  CHECK(moved.json()["data"]["available_after"] == 10);
  CHECK(moved.json()["data"]["movement_ids"].size() == 2);
  CHECK(f.sql_int("SELECT quantity FROM inventory.stock_levels WHERE product_id = '" + product(3) +
                  "' AND warehouse_id = '" + warehouse(3) + "'") == 100 + 40);
  auto replay = f.post("inventory", "/inventory/move",
                       {{"product_id", product(3)}, {"warehouse_id", "WH-001"}, {"quantity_change", -40},
                        {"movement_type", "transfer"}, {"to_warehouse_id", "WH-003"}, {"reference_id", "tr-1"}});
  REQUIRE(replay.status == 200);
  CHECK(f.level(product(3)).on_hand == 200 + 600 + 100);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE reference_id = 'tr-1'") == 2);
}

TEST_CASE("low-stock alerts open once, stay quiet while low and resolve on restock", "[inventory][alerts]") {
  inventory_fixture f;
  // Seed: product 11 at WH-003 is low, product 12 at WH-002 is out: opened at start-up.
  REQUIRE(f.eventually([&] { return f.sql_int("SELECT count(*) FROM inventory.stock_alerts WHERE status = 'open'") == 2; }));
  auto alerts = f.get("inventory", "/alerts");
  REQUIRE(alerts.status == 200);
  REQUIRE(alerts.json().is_array());
  CHECK(alerts.json().size() == 2);

  f.stock("item-low", "WH-001", 30, "init-low");
  auto put = f.http("inventory", "PUT", "/inventory/item-low/WH-001", json{{"reorder_point", 10}}.dump());
  REQUIRE(put.status == 200);
  auto low_events = [&](const std::string& name) {
    int n = 0;
    for (const auto& e : f.events(name))
      if (json::parse(e.payload)["product_id"] == "item-low") ++n;
    return n;
  };
  auto move = [&](int64_t change, const std::string& type) {
    return f.post("inventory", "/inventory/move",
                  {{"product_id", "item-low"}, {"warehouse_id", "WH-001"}, {"quantity_change", change},
                   {"movement_type", type}});
  };
  REQUIRE(move(-21, "outbound").status == 201);  // 9 left: crosses the reorder point
  REQUIRE(move(-2, "outbound").status == 201);   // still low: no event
  REQUIRE(move(-1, "adjustment").status == 201);
  REQUIRE(f.eventually([&] { return low_events("inventory.stock_low") == 1; }));
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_alerts WHERE product_id = 'item-low' AND status = 'open'") == 1);
  auto low = f.get("inventory", "/analytics/low-stock");
  REQUIRE(low.status == 200);
  CHECK(low.json()["data"]["count"] == 3);
  CHECK(low.json()["data"]["alerts"][0]["current_quantity"] == 0);  // product 12 first (ascending)
  REQUIRE(move(50, "inbound").status == 201);
  REQUIRE(f.eventually([&] { return low_events("inventory.stock_replenished") == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(low_events("inventory.stock_low") == 1);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_alerts WHERE product_id = 'item-low' AND status = 'resolved'") == 1);
  CHECK(f.get("inventory", "/alerts?status=resolved").json().size() == 1);
}

TEST_CASE("PUT manages settings and quantity but never reserved", "[inventory][rest]") {
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-p", {{product(4), 30, "WH-001"}}, 600, true}).ok());
  auto path = "/inventory/" + product(4) + "/WH-001";
  CHECK(f.http("inventory", "PUT", path, json{{"reserved_quantity", 3}}.dump()).status == 422);
  auto below = f.http("inventory", "PUT", path, json{{"quantity", 29}}.dump());
  CHECK(below.status == 409);
  auto ok = f.http("inventory", "PUT", path, json{{"quantity", 35}, {"location", "B-1"}, {"max_stock", 500}}.dump());
  REQUIRE(ok.status == 200);
  auto item = ok.json()["data"];
  CHECK(item["quantity"] == 35);
  CHECK(item["reserved_quantity"] == 30);
  CHECK(item["available_quantity"] == 5);
  CHECK(item["location"] == "B-1");
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE product_id = '" + product(4) +
                  "' AND movement_type = 'adjustment'") == 1);
  CHECK(f.http("inventory", "PUT", "/inventory/" + product(4) + "/WH-404", json{{"quantity", 1}}.dump()).status == 404);
  CHECK(f.http("inventory", "PUT", "/inventory/ghost/WH-001", json{{"quantity", 1}}.dump()).status == 404);
}

TEST_CASE("REST listings and analytics", "[inventory][rest]") {
  inventory_fixture f;
  auto list = f.get("inventory", "/inventory?per_page=5&page=2");
  REQUIRE(list.status == 200);
  auto j = list.json();
  CHECK(j["data"]["total"] == 39);  // 12 products × 3 warehouses + 3 variant levels
  CHECK(j["data"]["items"].size() == 5);
  CHECK(j["data"]["total_pages"] == 8);
  CHECK(j["totalItems"] == 14);
  auto one = f.get("inventory", "/inventory?product_id=" + product(1) + "&warehouse_id=WH-002");
  REQUIRE(one.status == 200);
  REQUIRE(one.json()["data"]["items"].size() == 1);
  CHECK(one.json()["data"]["items"][0]["quantity"] == 200);
  CHECK(one.json()["data"]["items"][0]["warehouse_code"] == "WH-002");
  CHECK(f.get("inventory", "/inventory?stockStatus=out").json()["data"]["total"] == 1);
  CHECK(f.get("inventory", "/inventory?per_page=0").status == 422);

  auto value = f.get("inventory", "/analytics/inventory-value");
  REQUIRE(value.status == 200);
  CHECK(value.json()["data"]["total_units"] == f.sql_int("SELECT sum(quantity) FROM inventory.stock_levels"));
  CHECK(value.json()["data"]["warehouses"].size() == 3);
  CHECK(value.json()["data"]["total_value"].is_null());  // the product agent is not running
  auto moves = f.get("inventory", "/analytics/stock-movements?days=7");
  REQUIRE(moves.status == 200);
  CHECK(moves.json()["data"]["movements_by_type"]["inbound"]["count"] == 38);
  CHECK(f.get("inventory", "/analytics/stock-movements?days=0").status == 422);
  auto health = f.get("inventory", "/health");
  REQUIRE(health.status == 200);
  CHECK(health.json()["status"] == "healthy");
}

TEST_CASE("a crashed inventory agent restarts and keeps its reservations", "[inventory][agent]") {
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-c", {{product(5), 2, ""}}, 600, true}).ok());
  f.inject("inventory", "throw");
  REQUIRE(f.eventually([&] {
    auto r = f.ask_inv<reservation_set>(reserve_stock{"order-c", {{product(5), 2, ""}}, 600, true});
    return r.ok() && r->replayed;
  }));
  CHECK(f.level(product(5)).reserved == 2);
}

TEST_CASE("returns, adjustments, transfers, snapshots and low-stock counts by typed message", "[inventory][agent]") {
  inventory_fixture f;
  auto ret = f.ask_inv<movement_record>(receive_returned_stock{product(2), "WH-002", 2, "return:r1:item1"});
  REQUIRE(ret.ok());
  CHECK(ret->quantity_after == 402);
  auto again = f.ask_inv<movement_record>(receive_returned_stock{product(2), "WH-002", 2, "return:r1:item1"});
  REQUIRE(again.ok());
  CHECK(again->movement_id == ret->movement_id);
  CHECK(f.level(product(2)).on_hand == 900 + 402 + 800);

  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-a", {{product(2), 400, "WH-002"}}, 600, true}).ok());
  auto too_much = f.ask_inv<movement_record>(adjust_stock{product(2), "WH-002", -3, "outbound", "cnt-1", "count"});
  REQUIRE_FALSE(too_much.ok());
  CHECK(too_much.error.code == "insufficient_unreserved");
  auto fine = f.ask_inv<movement_record>(adjust_stock{product(2), "WH-002", -2, "adjustment", "cnt-2", "count"});
  REQUIRE(fine.ok());
  CHECK(fine->available_after == 0);
  auto wrong_sign = f.ask_inv<movement_record>(adjust_stock{product(2), "WH-002", 2, "outbound", "cnt-3", ""});
  REQUIRE_FALSE(wrong_sign.ok());
  CHECK(wrong_sign.error.kind == failure_kind::invalid);

  auto tr = f.ask_inv<transfer_result>(transfer_stock{product(1), "WH-001", "WH-002", 100, "tr-9"});
  REQUIRE(tr.ok());
  REQUIRE(tr->movements.size() == 2);
  CHECK(tr->movements[0].quantity_after == 600);
  CHECK(tr->movements[1].quantity_after == 300);
  auto avail = f.ask_inv<availability_list>(get_availability{{product(1), "unknown"}});
  REQUIRE(avail.ok());
  REQUIRE(avail->items.size() == 1);
  CHECK(avail->items[0].available == 1500);

  auto snap = f.ask_inv<stock_levels>(stock_snapshot{"WH-003", 0, 5});
  REQUIRE(snap.ok());
  REQUIRE(snap->levels.size() == 5);
  CHECK(snap->levels[0].product_id == product(1));
  CHECK(snap->levels[0].warehouse_id == warehouse(3));
  REQUIRE(f.eventually([&] {
    auto c = f.ask_inv<low_stock_count>(count_low_stock{});
    return c.ok() && c->critical == 2 && c->warning == 1;  // seed's two + product 2 at WH-002 now at 0
  }));
}

TEST_CASE("check_availability form 2 lists levels per warehouse", "[inventory][agent]") {
  inventory_fixture f;
  check_availability_levels form2{{product(1), product(2)}, {"WH-002", warehouse(3)}};
  auto r = f.ask_inv<stock_levels>(form2);
  REQUIRE(r.ok());
  REQUIRE(r->levels.size() == 4);
  CHECK(r->levels[0].product_id == product(1));
  CHECK(r->levels[0].warehouse_id == warehouse(2));
  CHECK(r->levels[0].on_hand == 200);
  auto none = f.ask_inv<stock_levels>(check_availability_levels{{product(1)}, {"WH-404"}});
  REQUIRE(none.ok());
  CHECK(none->levels.empty());
  form2.warehouse_ids.clear();
  auto all = f.ask_inv<stock_levels>(form2);
  REQUIRE(all.ok());
  CHECK(all->levels.size() == 6);
}

TEST_CASE("a level locked elsewhere makes reserve_stock fail as unavailable, not hang", "[inventory][agent][concurrency]") {
  inventory_fixture f;
  auto conn = f.database().connect();
  pqxx::work blocker{*conn};
  blocker.exec("SELECT 1 FROM inventory.stock_levels WHERE product_id = '" + product(1) + "' FOR UPDATE");
  auto started = std::chrono::steady_clock::now();
  auto r = f.ask_inv<reservation_set>(reserve_stock{"order-lock", {{product(1), 1, ""}}, 600, true});
  auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(r.ok());
  CHECK(r.error.kind == failure_kind::unavailable);
  CHECK(r.error.code == "lock_timeout");
  CHECK(waited >= std::chrono::milliseconds(2500));
  blocker.abort();
  CHECK(f.sql_int("SELECT count(*) FROM inventory.reservations WHERE order_id = 'order-lock'") == 0);
  auto retry = f.ask_inv<reservation_set>(reserve_stock{"order-lock", {{product(1), 1, ""}}, 600, true});
  CHECK(retry.ok());
}

TEST_CASE("the consistency check repairs reserved_quantity from the reservations", "[inventory][agent]") {
  using audit_atom = caf::atom_constant<caf::atom("inv_audit")>;  // the agent's hourly timer message
  inventory_fixture f;
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"order-k", {{product(2), 4, "WH-001"}}, 600, true}).ok());
  f.database().exec("UPDATE inventory.stock_levels SET reserved_quantity = 9 WHERE product_id = '" + product(2) +
                    "' AND warehouse_id = '" + warehouse(1) + "'");
  caf::anon_send(f.directory().handle("inventory"), audit_atom::value);
  // The counter moves when the audit's result reaches the agent, after the repair committed.
  REQUIRE(f.eventually([&] { return f.get("inventory", "/health").json()["reserved_repairs_total"] == 1; }));
  CHECK(f.level(product(2)).reserved == 4);
  auto health = f.get("inventory", "/health").json();
  CHECK(health["oversell_detected_total"] == 0);
}

TEST_CASE("product_deleted hides the item's levels from lists but keeps its ledger", "[inventory][agent]") {
  inventory_fixture f;
  REQUIRE(f.get("inventory", "/inventory?product_id=" + product(9)).json()["data"]["total"] == 3);
  f.bus().publish(make_event("product", "product_deleted", json{{"product_id", product(9)}}.dump()));
  REQUIRE(f.eventually([&] {
    return f.get("inventory", "/inventory?product_id=" + product(9)).json()["data"]["total"] == 0;
  }));
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels WHERE product_id = '" + product(9) + "'") == 3);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE product_id = '" + product(9) + "'") == 3);
}

TEST_CASE("an order with a live and a stale part cannot reserve a new set over it", "[inventory][agent]") {
  inventory_fixture f;
  REQUIRE(f.post("inventory", "/inventory/reserve", {{"product_id", product(1)}, {"quantity", 1}, {"order_id", "mix"}}).status == 201);
  REQUIRE(f.ask_inv<reservation_set>(reserve_stock{"mix-short", {{product(2), 1, ""}}, 1, true}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // The stale order re-reserves: its expired row is replaced.
  auto renewed = f.ask_inv<reservation_set>(reserve_stock{"mix-short", {{product(2), 1, ""}}, 600, true});
  REQUIRE(renewed.ok());
  CHECK(f.level(product(2)).reserved == 1);
  // A different set for an order that holds a live one is a conflict, and changes nothing.
  auto other = f.ask_inv<reservation_set>(reserve_stock{"mix", {{product(3), 1, ""}}, 600, true});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error.code == "conflict");
  CHECK(f.level(product(3)).reserved == 0);
}

TEST_CASE("mixed concurrent operations keep levels, reservations and ledger consistent", "[inventory][agent][concurrency]") {
  inventory_fixture f;
  const std::vector<std::string> items{"mix-a", "mix-b", "mix-c"};
  for (const auto& item : items) {
    f.stock(item, "WH-001", 40, "init-" + item);
    f.stock(item, "WH-002", 25, "init2-" + item);
  }
  auto handle = caf::actor_cast<inventory_actor>(f.directory().handle("inventory"));
  std::atomic<int> arrived{0}, internal_errors{0}, done_ops{0};
  const int threads = 6, ops = 25;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      caf::scoped_actor self{f.system()};
      std::mt19937 rng(static_cast<unsigned>(t * 7919 + 1));
      test::arrive_and_wait(arrived, threads);
      auto on_error = [&](caf::error& e) {
        auto fl = read_failure(e);
        if (fl.kind == failure_kind::internal) ++internal_errors;
      };
      for (int i = 0; i < ops; ++i) {
        std::string order = "mix-order-" + std::to_string(t) + "-" + std::to_string(rng() % 6);
        const auto& a = items[rng() % 3];
        const auto& b = items[rng() % 3];
        auto timeout = std::chrono::seconds(30);
        switch (rng() % 6) {
          case 0:
          case 1:
            self->request(handle, timeout,
                          reserve_stock{order, {{a, int64_t(1 + rng() % 5), ""}, {b, int64_t(1 + rng() % 3), ""}},
                                        int64_t(1 + rng() % 2), true})
                .receive([&](reservation_set&) {}, on_error);
            break;
          case 2:
            self->request(handle, timeout, release_reservations{order, {}, "test"})
                .receive([&](release_result&) {}, on_error);
            break;
          case 3:
            self->request(handle, timeout, confirm_reservations{order}).receive([&](reservation_set&) {}, on_error);
            self->request(handle, timeout, fulfill_reservations{order, {}, "ship-" + order + "-" + std::to_string(i)})
                .receive([&](fulfillment_result&) {}, on_error);
            break;
          case 4:
            self->request(handle, timeout,
                          adjust_stock{a, rng() % 2 ? "WH-001" : "WH-002", rng() % 2 ? -2 : 3, "adjustment", "", "t"})
                .receive([&](movement_record&) {}, on_error);
            break;
          default:
            self->request(handle, timeout, release_expired_reservations{}).receive([&](sweep_result&) {}, on_error);
        }
        ++done_ops;
      }
    });
  for (auto& th : pool) th.join();
  CHECK(done_ops == threads * ops);
  CHECK(internal_errors == 0);
  // The mix really exercised the paths (reservations, releases or expiries, shipments).
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE product_id LIKE 'mix-%' AND movement_type = 'reservation'") > 10);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_movements WHERE product_id LIKE 'mix-%' AND movement_type = 'release'") > 0);
  // Invariants: reserved = live reservations, on hand and reserved = their ledger sums, never negative.
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels s WHERE s.product_id LIKE 'mix-%' AND s.reserved_quantity <>"
                  " COALESCE((SELECT sum(quantity) FROM inventory.reservations r WHERE r.product_id = s.product_id"
                  " AND r.warehouse_id = s.warehouse_id AND r.status IN ('active', 'confirmed')), 0)") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels s WHERE s.product_id LIKE 'mix-%' AND"
                  " (s.quantity, s.reserved_quantity) <> (SELECT COALESCE(sum(quantity_change), 0), COALESCE(sum(reserved_change), 0)"
                  " FROM inventory.stock_movements m WHERE m.product_id = s.product_id AND m.warehouse_id = s.warehouse_id)") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels WHERE available_quantity < 0 OR reserved_quantity < 0") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels s WHERE s.product_id LIKE 'mix-%' AND s.alert_state <>"
                  " CASE WHEN available_quantity <= 0 THEN 'critical' WHEN available_quantity <= reorder_point THEN 'warning'"
                  " ELSE 'none' END") == 0);
  CHECK(f.sql_int("SELECT count(*) FROM inventory.stock_levels s WHERE s.product_id LIKE 'mix-%' AND (s.alert_state = 'none')"
                  " <> NOT EXISTS (SELECT 1 FROM inventory.stock_alerts a WHERE a.product_id = s.product_id"
                  " AND a.warehouse_id = s.warehouse_id AND a.status = 'open')") == 0);
}

TEST_CASE("50 concurrent REST reservations of one unit on 10 units: 10 succeed, 40 get 409", "[inventory][rest][concurrency]") {
  inventory_fixture f;
  f.stock("item-rest", "WH-002", 10, "init-rest");
  auto handle = caf::actor_cast<agent_actor>(f.directory().handle("inventory"));
  std::atomic<int> arrived{0};
  std::vector<std::future<int>> results;
  for (int i = 0; i < 50; ++i)
    results.push_back(std::async(std::launch::async, [&, i] {
      caf::scoped_actor self{f.system()};
      http_request req;
      req.method = "POST";
      req.path = "/inventory/reserve";
      req.body = json{{"product_id", "item-rest"}, {"quantity", 1}, {"order_id", "web-" + std::to_string(i)},
                      {"warehouse_id", "WH-002"}}
                     .dump();
      test::arrive_and_wait(arrived, 50);
      int status = 0;
      self->request(handle, std::chrono::seconds(20), std::move(req))
          .receive([&](http_response& r) { status = r.status; }, [&](caf::error&) { status = -1; });
      return status;
    }));
  int created = 0, conflicts = 0;
  for (auto& r : results) {
    int s = r.get();
    if (s == 201) ++created;
    else if (s == 409) ++conflicts;
    else FAIL("unexpected status " << s);
  }
  CHECK(created == 10);
  CHECK(conflicts == 40);
  auto s = f.level("item-rest");
  CHECK(s.on_hand == 10);
  CHECK(s.reserved == 10);
  CHECK(s.available == 0);
}

TEST_CASE("a fulfilled reservation cannot be released or confirmed by REST", "[inventory][rest]") {
  inventory_fixture f;
  auto r = f.ask_inv<reservation_set>(reserve_stock{"order-ship", {{product(10), 2, ""}}, 600, true});
  REQUIRE(r.ok());
  REQUIRE(f.ask_inv<fulfillment_result>(fulfill_reservations{"order-ship", {}, "ship-77"}).ok());
  auto id = r->reservations.front().reservation_id;
  auto rel = f.post("inventory", "/inventory/release-reservation/" + id, json::object());
  CHECK(rel.status == 409);
  CHECK(rel.json()["detail"] == "Reservation already fulfilled");
  CHECK(f.post("inventory", "/inventory/reservations/" + id + "/confirm", json::object()).status == 409);
  CHECK(f.get("inventory", "/inventory/reservations?status=bogus").status == 422);
  auto fulfilled = f.get("inventory", "/inventory/reservations?status=fulfilled");
  REQUIRE(fulfilled.status == 200);
  CHECK(fulfilled.json()["data"].size() == 1);
}
