// The order-to-cash flow end to end: order, product, inventory, customer, fraud and payment agents
// running on a seeded database; REST through the order agent's typed door.
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "customer/customer_agent.hpp"
#include "customer/customer_messages.hpp"
#include "order/order_agent.hpp"
#include "order/order_messages.hpp"
#include "order/order_store.hpp"
#include "payment/payment_messages.hpp"
#include "runtime/uuid.hpp"
#include "order_suite.hpp"
#include "support/agent_fixture.hpp"
#include "support/plan_capture.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;

namespace {

const std::string prod1 = "10000000-0000-4000-8000-000000000001";  // PROD-001, 199.99
const std::string prod3 = "10000000-0000-4000-8000-000000000003";

json order_body(const std::string& token = "tok_visa", int qty = 1, const std::string& product = "PROD-001") {
  json b = {{"customer_id", "CUST-001"}, {"items", {{{"product_id", product}, {"quantity", qty}}}}};
  if (!token.empty()) b["payment_token"] = token;
  return b;
}

}  // namespace

TEST_CASE("order flow: happy path confirms, authorizes, confirms reservations, taxes 8.25 pct", "[order][flow]") {
  auto f = make_order_fixture();
  auto r = f->post("order", "/orders", order_body());
  REQUIRE(r.status == 201);
  auto o = r.json();
  CHECK(o["status"] == "confirmed");
  CHECK(o["payment_status"] == "authorized");
  CHECK(o["subtotal"].get<double>() == Approx(199.99));
  CHECK(o["tax_amount"].get<double>() == Approx(16.50));  // 199.99 × 8.25 % = 16.499 → 16.50
  CHECK(o["shipping_cost"].get<double>() == Approx(0.0));  // free standard above 75.00
  CHECK(o["total_amount"].get<double>() == Approx(216.49));
  CHECK(o["amount_authorized"].get<double>() == Approx(216.49));
  CHECK(o["order_number"].get<std::string>().rfind("ORD-", 0) == 0);
  const std::string id = o["order_id"];
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id::text = '" + id +
                      "' AND status = 'confirmed'") >= 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + id + "' AND state = 'completed'") == 1);
  // The order handed fraud the signals it knows (the customer's age, its velocity), so none was
  // asked for again and none is unavailable.
  CHECK(count(*f, "SELECT count(*) FROM fraud.fraud_checks WHERE entity_id = '" + id +
                      "' AND input_data ? 'account_age_days' AND (input_data->>'order_count_24h')::int = 0 "
                      "AND cardinality(unavailable_signals) = 0") == 1);
  CHECK(f->eventually([&] { return f->events("order.order_confirmed").size() == 1; }));
  CHECK(f->eventually([&] { return f->events("order.order_created").size() == 1; }));
  auto created = json::parse(f->events("order.order_created").at(0).payload);
  CHECK(created["order_number"] == o["order_number"]);
  CHECK(created["order_id"] == o["order_id"]);
  // The product agent counts the confirmation's units for PROD-001's `popular` rank (by catalog
  // id, not by the order line's id).
  CHECK(f->eventually([&] {
    return count(*f, "SELECT coalesce(sum(units), 0) FROM catalog.item_sales_daily WHERE item_id = '" + prod1 + "'") == 1;
  }));
  CHECK(count(*f, "SELECT count(*) FROM catalog.item_sales_daily") == 1);
  // by id, by number, and under /api
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "confirmed");
  CHECK(f->get("order", "/orders/" + o["order_number"].get<std::string>()).status == 200);
  CHECK(f->get("order", "/api/orders/" + id).status == 200);
  CHECK(f->get("order", "/orders/recent").status == 200);
  CHECK(f->get("order", "/orders/nope").status == 404);
  auto page = f->get("order", "/orders?page=1&limit=10").json();
  CHECK(page["totalItems"] == 1);
  CHECK(f->get("order", "/orders").json().size() == 1);
  CHECK(f->get("order", "/openapi.json").status == 200);
  auto health = f->get("order", "/health").json();
  CHECK(health["database_connected"] == true);
  // The one placement went out alone: one shared statement of one placement, one confirmation.
  CHECK(health["shared_statements"]["placements"]["items"] == 1);
  CHECK(health["shared_statements"]["placements"]["largest"] == 1);
  CHECK(health["shared_statements"]["confirmations"]["batches"] == 1);
  auto inventory_health = f->get("inventory", "/health").json();
  CHECK(inventory_health["shared_statements"]["confirmations"]["items"] == 1);
  CHECK(inventory_health["shared_statements"]["reserves"]["items"] == 1);
  auto stats = f->ask<order_actor, outbox_stats_reply>("order", outbox_stats{});
  REQUIRE(stats.ok());
  CHECK(stats->failed == 0);
}

TEST_CASE("order flow: bad input is 422 and writes nothing", "[order][flow]") {
  auto f = make_order_fixture();
  CHECK(f->post("order", "/orders", json{{"customer_id", "CUST-001"}, {"items", json::array()}}).status == 422);
  CHECK(f->post("order", "/orders", order_body("tok_visa", 0)).status == 422);
  auto unknown = f->post("order", "/orders", order_body("tok_visa", 1, "PROD-999"));
  CHECK(unknown.status == 422);
  auto cust = order_body();
  cust["customer_id"] = "CUST-404";
  CHECK(f->post("order", "/orders", cust).status == 422);
  auto suspended = order_body();
  suspended["customer_id"] = "CUST-005";
  auto s = f->post("order", "/orders", suspended);
  CHECK(s.status == 422);
  auto promo = order_body();
  promo["promotion_codes"] = {"SAVE10"};
  auto p = f->post("order", "/orders", promo);
  CHECK(p.status == 422);
  CHECK(p.body.find("Promotion code 'SAVE10' is not valid") != std::string::npos);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 0);
}

TEST_CASE("order flow: insufficient stock is 409 with no order", "[order][flow]") {
  auto f = make_order_fixture();
  auto r = f->post("order", "/orders", order_body("tok_visa", 10000));
  CHECK(r.status == 409);
  CHECK(r.body.find("Insufficient stock for product PROD-001") != std::string::npos);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 0);
}

TEST_CASE("order flow: expected price lower is 409, higher charges the server price", "[order][flow]") {
  auto f = make_order_fixture();
  auto low = order_body();
  low["items"][0]["unit_price"] = 150.00;
  auto r = f->post("order", "/orders", low);
  CHECK(r.status == 409);
  CHECK(r.body.find("Price changed for product PROD-001: expected 150.00, current 199.99") != std::string::npos);
  auto high = order_body();
  high["items"][0]["price"] = "250.00";
  auto h = f->post("order", "/orders", high);
  REQUIRE(h.status == 201);
  CHECK(h.json()["items"][0]["unit_price"].get<double>() == Approx(199.99));
}

TEST_CASE("order flow: blocked e-mail cancels with fraud_detected and reserves nothing", "[order][flow]") {
  auto f = make_order_fixture();
  auto b = f->post("fraud_detection", "/block_entity",
                   json{{"entity_type", "email"}, {"entity_value", "alice.martin@example.com"}, {"value", "alice.martin@example.com"},
                        {"reason", "test"}, {"blocked_by", "test"}});
  REQUIRE(b.status < 300);
  auto r = f->post("order", "/orders", order_body());
  REQUIRE(r.status == 201);
  auto o = r.json();
  CHECK(o["status"] == "cancelled");
  CHECK(o["cancellation_reason"] == "fraud_detected");
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id::text = '" +
                      o["order_id"].get<std::string>() + "'") == 0);
}

TEST_CASE("order flow: declined card waits for payment, pay with a good card confirms", "[order][flow]") {
  auto f = make_order_fixture();
  auto r = f->post("order", "/orders", order_body("tok_chargeDeclined"));
  REQUIRE(r.status == 201);
  auto o = r.json();
  CHECK(o["status"] == "pending");
  CHECK(o["payment_status"] == "failed");
  CHECK_FALSE(o["payment_due_at"].is_null());
  const std::string id = o["order_id"];
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id::text = '" + id +
                      "' AND status = 'active'") >= 1);
  CHECK(f->post("order", "/orders/" + id + "/review", json{{"approve", true}, {"reviewed_by", "x"}}).status == 409);
  auto paid = f->post("order", "/orders/" + id + "/pay", json{{"payment_token", "tok_visa"}});
  REQUIRE(paid.status == 200);
  CHECK(paid.json()["status"] == "confirmed");
  CHECK(paid.json()["payment_status"] == "authorized");
  CHECK(f->post("order", "/orders/" + id + "/pay", json{{"payment_token", "tok_visa"}}).status == 409);
}

TEST_CASE("order flow: cancel a confirmed order voids and releases, twice gives one void", "[order][flow]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body()).json();
  const std::string id = o["order_id"];
  auto c1 = f->http("order", "DELETE", "/orders/" + id + "?reason=customer_request");
  REQUIRE(c1.status == 200);
  CHECK(c1.json()["status"] == "cancelled");
  CHECK(c1.json()["payment_action"] == "void");
  auto c2 = f->post("order", "/orders/" + id + "/cancel", json{{"reason", "customer_request"}});
  CHECK(c2.status == 200);
  CHECK(count(*f, "SELECT count(*) FROM payments.payment_transactions t JOIN payments.payments p USING (payment_id) "
                  "WHERE p.order_id::text = '" + id + "' AND t.transaction_type = 'void'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id::text = '" + id +
                      "' AND status IN ('active', 'confirmed')") == 0);
  auto view = f->get("order", "/orders/" + id).json();
  CHECK(view["status"] == "cancelled");
  CHECK(view["payment_status"] == "voided");
  CHECK(f->http("order", "DELETE", "/orders/" + id).status == 422);  // reason required
  CHECK(f->http("order", "DELETE", "/orders/00000000-0000-4000-8000-000000000000?reason=x").status == 404);
}

TEST_CASE("order flow: two partial shipments capture the total, over-ship 409, delivered", "[order][flow]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body("tok_visa", 3)).json();
  REQUIRE(o["status"] == "confirmed");
  const std::string id = o["order_id"];
  const std::string item = o["items"][0]["item_id"];
  auto over = f->post("order", "/orders/" + id + "/shipments", json{{"items", {{{"order_item_id", item}, {"quantity", 4}}}}});
  CHECK(over.status == 409);
  auto s1 = f->post("order", "/orders/" + id + "/shipments", json{{"items", {{{"order_item_id", item}, {"quantity", 1}}}}});
  REQUIRE(s1.status == 201);
  auto s2 = f->post("order", "/orders/" + id + "/shipments", json{{"items", {{{"order_item_id", 1}, {"quantity", 2}}}}});
  REQUIRE(s2.status == 201);
  CHECK(f->post("order", "/orders/" + id + "/shipments", json{{"items", {{{"order_item_id", item}, {"quantity", 1}}}}}).status == 409);
  auto t1 = f->http("order", "PATCH", "/orders/shipments/" + s1.json()["shipment_id"].get<std::string>() + "/tracking",
                    json{{"tracking_number", "TRK1"}}.dump());
  REQUIRE(t1.status == 200);
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "processing");
  auto t2 = f->http("order", "PATCH", "/orders/shipments/" + s2.json()["shipment_id"].get<std::string>() + "/tracking",
                    json{{"tracking_number", "TRK2"}}.dump());
  REQUIRE(t2.status == 200);
  auto shipped = f->get("order", "/orders/" + id).json();
  CHECK(shipped["status"] == "shipped");
  CHECK(shipped["payment_status"] == "captured");
  CHECK(shipped["amount_captured"].get<double>() == Approx(shipped["total_amount"].get<double>()));
  CHECK(t1.json()["captured_amount"].get<double>() + t2.json()["captured_amount"].get<double>() ==
        Approx(shipped["total_amount"].get<double>()));
  CHECK(f->http("order", "DELETE", "/orders/" + id + "?reason=other").status == 409);
  auto moved = f->http("order", "PUT", "/orders/" + id,
                       json{{"shipping_address", {{"country", "US"}, {"city", "X"}, {"postal_code", "1"}, {"street", "y"}}}}.dump());
  CHECK(moved.status == 409);
  // No editable field (only unknown ones, or nulls): 422, nothing written, the connection kept.
  const auto version_sql = "SELECT version FROM orders.orders WHERE order_id = '" + id + "'";
  const auto modified_sql = "SELECT count(*) FROM orders.order_timeline WHERE order_id = '" + id +
                            "' AND event_type = 'order_modified'";
  const auto version = count(*f, version_sql);
  auto empty = f->http("order", "PUT", "/orders/" + id, json{{"colour", "red"}, {"notes", nullptr}}.dump());
  CHECK(empty.status == 422);
  CHECK(empty.json()["detail"][0]["loc"] == json::array({"body"}));
  CHECK(count(*f, version_sql) == version);
  CHECK(count(*f, modified_sql) == 0);
  // Unknown fields beside a real one are ignored and not recorded as modifications.
  auto noted = f->http("order", "PUT", "/orders/" + id, json{{"notes", "leave at door"}, {"colour", "red"}}.dump());
  REQUIRE(noted.status == 200);
  CHECK(noted.json()["notes"] == "leave at door");
  CHECK(count(*f, version_sql) == version + 1);
  CHECK(count(*f, modified_sql) == 1);
  auto stats = f->get("order", "/orders/stats?range=7d").json();
  CHECK(stats["total_orders"] == 1);
  CHECK(stats["by_status"]["shipped"] == 1);
  CHECK(f->get("order", "/orders/stats?range=2w").status == 422);
  auto tracking = f->get("order", "/orders/" + id + "/tracking").json();
  CHECK(tracking["progress_percentage"] == 75);
  CHECK(tracking["shipments"].size() == 2);
  CHECK(f->post("order", "/orders/shipments/" + s1.json()["shipment_id"].get<std::string>() + "/delivered", json::object()).status == 200);
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "shipped");
  CHECK(f->post("order", "/orders/shipments/" + s2.json()["shipment_id"].get<std::string>() + "/delivered", json::object()).status == 200);
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "delivered");
  CHECK(f->eventually([&] { return f->events("order.order_delivered").size() == 1; }));
  // captures, shipments and the timeline point at rows that exist
  CHECK(f->database().orphan_references() == "");
}

TEST_CASE("order flow: Idempotency-Key same body replays, other body is 422", "[order][flow]") {
  auto f = make_order_fixture();
  auto a = f->post("order", "/orders", order_body(), {{"Idempotency-Key", "key-1"}});
  REQUIRE(a.status == 201);
  auto b = f->post("order", "/orders", order_body(), {{"Idempotency-Key", "key-1"}});
  REQUIRE(b.status == 201);
  CHECK(a.json()["order_id"] == b.json()["order_id"]);
  CHECK(a.json()["status"] == b.json()["status"]);
  CHECK(f->post("order", "/orders", order_body("tok_visa", 2), {{"Idempotency-Key", "key-1"}}).status == 422);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 1);
  // The placement's own statement claimed the key with its answer.
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys WHERE key = 'key-1' AND status_code = 201 "
                  "AND response_body::jsonb->>'order_id' = '" + a.json()["order_id"].get<std::string>() + "'") == 1);
  // A second order of the same customer (new key): the same statement counted the first one for
  // the fraud velocity signal.
  auto second = f->post("order", "/orders", order_body("tok_visa", 2), {{"Idempotency-Key", "key-2"}});
  REQUIRE(second.status == 201);
  CHECK(count(*f, "SELECT count(*) FROM fraud.fraud_checks WHERE entity_id = '" +
                      second.json()["order_id"].get<std::string>() + "' AND (input_data->>'order_count_24h')::int = 1") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 2);
  auto pruned = f->ask<order_actor, count_reply>("order", prune_idempotency_keys{});
  REQUIRE(pruned.ok());
  CHECK(pruned->count == 0);  // keys live at least 24 h
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys") == 2);
  // Past the replay window a key goes, however short a time the caller asks for. A processed-event
  // mark stays however old: which marks may go depends on the outboxes (the retention keeper's rule).
  f->database().exec("UPDATE orders.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key-1'");
  f->database().exec("INSERT INTO orders.processed_events (event_id, consumer, processed_at) "
                     "VALUES (gen_random_uuid(), 'order-test', now() - interval '30 days')");
  pruned = f->ask<order_actor, count_reply>("order", prune_idempotency_keys{60});
  REQUIRE(pruned.ok());
  CHECK(pruned->count == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys WHERE key = 'key-2'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.processed_events WHERE consumer = 'order-test'") == 1);
}

TEST_CASE("order flow: 50 concurrent orders for the last 10 units confirm exactly 10", "[order][flow][concurrency]") {
  auto f = make_order_fixture();
  f->database().exec("UPDATE inventory.stock_levels SET quantity = CASE WHEN warehouse_id = "
                     "'20000000-0000-4000-8000-000000000001' THEN 10 ELSE 0 END WHERE product_id::text = '" + prod3 + "'");
  std::vector<std::future<int>> results;
  auto handle = f->directory().handle("order");
  for (int i = 0; i < 50; ++i) {
    results.push_back(std::async(std::launch::async, [&f, handle] {
      caf::scoped_actor s{f->system()};
      int status = 0;
      order::place_order msg;
      msg.body = order_body("tok_visa", 1, "PROD-003");
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(30), msg)
          .receive([&](order::order_view& v) { status = v.status == "confirmed" ? 1 : 2; },
                   [&](caf::error&) { status = 3; });
      return status;
    }));
  }
  int confirmed = 0;
  for (auto& r : results) confirmed += r.get() == 1 ? 1 : 0;
  CHECK(confirmed == 10);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == 10);
  CHECK(count(*f, "SELECT count(*) FROM inventory.stock_levels WHERE quantity < 0 OR reserved_quantity > quantity") == 0);
  CHECK(f->database().orphan_references() == "");
}

TEST_CASE("order flow: concurrent confirmations share statements, each order keeps its own record",
          "[order][flow][concurrency][batch]") {
  auto f = make_order_fixture();
  const int n = 24;
  std::vector<std::future<std::string>> results;
  auto handle = f->directory().handle("order");
  for (int i = 0; i < n; ++i) {
    results.push_back(std::async(std::launch::async, [&f, handle, i] {
      caf::scoped_actor s{f->system()};
      std::string status;
      order::place_order msg;
      msg.body = order_body("tok_visa", 1, i % 2 ? "PROD-001" : "PROD-003");
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(30), msg)
          .receive([&](order::order_view& v) { status = v.status; }, [&](caf::error& e) { status = to_string(e); });
      return status;
    }));
  }
  for (auto& r : results) CHECK(r.get() == "confirmed");
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed' AND confirmed_at IS NOT NULL") == n);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE state = 'completed'") == n);
  // Every saga has its own confirm step and numbers its steps 1..k without gaps, and no step names
  // another order (a batch joined wrongly would copy steps across sagas).
  CHECK(count(*f, "SELECT count(DISTINCT saga_id) FROM orders.saga_steps WHERE step = 'confirm_reservations'") == n);
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps st JOIN orders.sagas s USING (saga_id) "
                  "WHERE st.idempotency_key NOT LIKE s.order_id::text || ':%'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM (SELECT saga_id FROM orders.saga_steps GROUP BY saga_id "
                  "HAVING max(seq) <> count(*) OR min(seq) <> 1) gaps") == 0);
  CHECK(count(*f, "SELECT count(*) FROM (SELECT order_id FROM orders.order_timeline WHERE event_type = "
                  "'order_confirmed' GROUP BY order_id HAVING count(*) = 1) once") == n);
  CHECK(count(*f, "SELECT count(*) FROM orders.order_timeline WHERE event_type = 'order_confirmed'") == n);
  // Each order's confirmation events, once each (published or still in the outbox).
  CHECK(f->eventually([&] {
    return count(*f, "SELECT count(*) FROM customers.customer_orders WHERE confirmed") == n;
  }, std::chrono::seconds(10)));
}

TEST_CASE("order store: a batch of confirmations answers per order and writes only the pending ones",
          "[order][store][batch]") {
  auto f = make_order_fixture();
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto r = f->post("order", "/orders", order_body("tok_chargeDeclined"));
    REQUIRE(r.status == 201);
    REQUIRE(r.json()["status"] == "pending");
    ids.push_back(r.json()["order_id"].get<std::string>());
  }
  const std::string pending = ids[0], cancelled = ids[1];
  f->database().exec("UPDATE orders.orders SET status = 'cancelled', cancelled_at = now(), payment_due_at = NULL WHERE order_id = '" + cancelled + "'");
  auto saga_of = [&](const std::string& id) {
    return f->database().value<std::string>("SELECT saga_id::text FROM orders.sagas WHERE order_id = '" + id + "'");
  };
  const auto steps_before = count(*f, "SELECT count(*) FROM orders.saga_steps WHERE saga_id = '" + saga_of(pending) + "'");
  REQUIRE(steps_before > 0);
  auto doc = [&](const std::string& id, const std::string& saga) {
    order::order_record o;
    o.order_id = id;
    o.payment_status = "authorized";
    order::step_log s;
    s.step = "authorize_payment";
    s.key = id + ":authorize_payment";
    s.status = "succeeded";
    s.direction = "do";
    s.attempt = 1;
    return order::confirmation_doc(o, saga, json::object(), {s},
                            json::array({order::outbox_row("order_confirmed", json{{"order_id", id}}, id)}));
  };
  const std::string unknown = "30000000-0000-4000-8000-00000000dead";
  json docs = json::array({doc(pending, saga_of(pending)), doc(cancelled, saga_of(cancelled)),
                           doc(unknown, "30000000-0000-4000-8000-00000000beef")});
  auto c = f->database().connect();
  plan_capture plans{*c};
  pqxx::nontransaction tx{*c};
  auto stamps = order::commit_confirmations(tx, docs);
  REQUIRE(stamps.size() == 3);
  // The generic plan probes each order by key; it does not hash all pending orders.
  check_key_probes(plans, "UPDATE orders.orders SET status = 'confirmed'");
  CHECK(stamps[0].has_value());
  CHECK_FALSE(stamps[1].has_value());
  CHECK_FALSE(stamps[2].has_value());
  if (stamps[0]) CHECK_FALSE(stamps[0]->confirmed_at.empty());
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE order_id = '" + pending + "' AND status = 'confirmed'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE order_id = '" + cancelled + "' AND status = 'cancelled'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + pending + "' AND state = 'completed'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + cancelled + "' AND state = 'completed'") == 0);
  // The pending order's log continues after its existing steps; nothing for the others.
  CHECK(count(*f, "SELECT max(seq) FROM orders.saga_steps WHERE saga_id = '" + saga_of(pending) + "'") == steps_before + 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps WHERE idempotency_key LIKE '" + cancelled + "%' "
                  "AND step = 'authorize_payment' AND attempt = 1 AND status = 'succeeded'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.order_timeline WHERE event_type = 'order_confirmed' AND order_id IN ('" +
                      pending + "', '" + cancelled + "')") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.outbox_events WHERE name = 'order.order_confirmed' AND aggregate_id IN ('" + cancelled +
                      "', '" + unknown + "')") == 0);
}

TEST_CASE("order store: a batch of placements answers per order, a taken key writes nothing of its order",
          "[order][store][batch]") {
  auto f = make_order_fixture();
  // A key an earlier request holds: its placement in the batch must write nothing.
  f->database().exec("INSERT INTO orders.idempotency_keys (key, endpoint, request_hash, status_code, response_body)"
                     " VALUES ('taken', 'POST /orders', 'h0', 201, '{}')");
  auto placement = [](int i, const std::string& customer) {
    order::order_record o;
    o.order_id = uuid_v4();
    o.customer_id = customer;
    o.subtotal = o.total_amount = 1000 * (i + 1);
    o.shipping_address = o.billing_address = json::object();
    order::order_line l;
    l.item_id = uuid_v4();
    l.line_number = 1;
    l.product_id = "PROD-001";
    l.sku = "SKU-001";
    l.product_name = "Item";
    l.quantity = i + 1;
    l.unit_price = 1000;
    l.total_price = 1000 * (i + 1);
    o.lines.push_back(l);
    return o;
  };
  const char* keys[] = {"k-0", "taken", "", "k-3"};
  const char* customers[] = {"CUST-001", "CUST-001", "CUST-002", "CUST-001"};
  std::vector<order::order_record> orders;
  json docs = json::array();
  for (int i = 0; i < 4; ++i) {
    orders.push_back(placement(i, customers[i]));
    const auto& o = orders.back();
    order::key_claim claim{keys[i], "POST /orders", "h" + std::to_string(i), {201, "{\"order_id\":\"" + o.order_id + "\"}"}};
    const auto events = json::array({order::outbox_row("order_created", json{{"order_id", o.order_id}}, o.order_id)});
    docs.push_back(order::placement_doc(o, uuid_v4(), json::object(), order::saga_lease{"test", 30}, events,
                                        *keys[i] ? &claim : nullptr));
  }
  auto c = f->database().connect();
  plan_capture plans{*c};
  pqxx::nontransaction tx{*c};
  auto placed = order::insert_placed_orders(tx, docs);
  REQUIRE(placed.size() == 4);
  check_key_probes(plans, "INSERT INTO orders.orders");
  REQUIRE(placed[0].has_value());
  CHECK_FALSE(placed[1].has_value());
  REQUIRE(placed[2].has_value());
  REQUIRE(placed[3].has_value());
  // The velocity count sees the customer's earlier documents of the same statement.
  CHECK(placed[0]->order_count_24h == 0);
  CHECK(placed[2]->order_count_24h == 0);
  CHECK(placed[3]->order_count_24h == 1);
  CHECK(placed[0]->order_number != placed[3]->order_number);
  CHECK(placed[0]->order_number.rfind("ORD-", 0) == 0);
  for (int i : {0, 2, 3}) {
    const std::string id = orders[i].order_id;
    INFO("placement " << i);
    CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE order_id = '" + id + "' AND order_number = '" +
                        placed[i]->order_number + "' AND total_amount = " + std::to_string(10 * (i + 1))) == 1);
    CHECK(count(*f, "SELECT count(*) FROM orders.order_items WHERE order_id = '" + id + "' AND quantity = " +
                        std::to_string(i + 1)) == 1);
    CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + id + "' AND (context->>'order_count_24h')::int = " +
                        std::to_string(placed[i]->order_count_24h)) == 1);
    CHECK(count(*f, "SELECT count(*) FROM orders.order_timeline WHERE order_id = '" + id + "' AND event_type = 'order_created'") == 1);
    CHECK(count(*f, "SELECT count(*) FROM orders.outbox_events WHERE aggregate_id = '" + id + "' AND payload->>'order_number' = '" +
                        placed[i]->order_number + "'") == 1);
  }
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys WHERE key IN ('k-0', 'k-3') AND response_body LIKE '%order_id%'") == 2);
  // Nothing of the placement whose key was taken; the key still holds its first answer.
  const std::string lost = orders[1].order_id;
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE order_id = '" + lost + "'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.order_items WHERE order_id = '" + lost + "'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + lost + "'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.outbox_events WHERE aggregate_id = '" + lost + "'") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys WHERE key = 'taken' AND request_hash = 'h0'") == 1);
}

TEST_CASE("order flow: a placement that cannot be written fails only its own request",
          "[order][flow][concurrency][batch]") {
  // One placement statement at a time, so placements share statements. A trigger refuses orders
  // above 300.00 (quantity 2): a statement carrying one of them fails as a whole.
  auto f = make_order_fixture([](config& c) { c.order.placement_batches_in_flight = 1; });
  f->database().exec(
      "CREATE FUNCTION orders.refuse_large_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " IF NEW.total_amount > 300 THEN RAISE EXCEPTION 'test: order refused'; END IF; RETURN NEW; END $$;"
      "CREATE TRIGGER refuse_large_order BEFORE INSERT ON orders.orders"
      " FOR EACH ROW EXECUTE FUNCTION orders.refuse_large_order()");
  const int n = 16, refused = 4;  // every 4th order asks for 2 units
  std::vector<std::future<std::string>> placed;
  auto handle = f->directory().handle("order");
  for (int i = 0; i < n; ++i)
    placed.push_back(std::async(std::launch::async, [&f, handle, i] {
      caf::scoped_actor s{f->system()};
      order::place_order msg;
      msg.body = order_body("tok_visa", i % 4 == 0 ? 2 : 1);
      msg.idempotency_key = "split-" + std::to_string(i);
      std::string out;
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(30), msg)
          .receive([&](order::order_view& v) { out = v.status; }, [&](caf::error& e) { out = "error:" + read_failure(e).code; });
      return out;
    }));
  int confirmed = 0, failed = 0;
  for (auto& p : placed) {
    const auto out = p.get();
    if (out == "confirmed") ++confirmed;
    else if (out.rfind("error:", 0) == 0) ++failed;
  }
  CHECK(confirmed == n - refused);
  CHECK(failed == refused);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == n - refused);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE total_amount > 300") == 0);
  // The refused requests wrote nothing: no key claimed, no saga, no event (a retry may place them).
  CHECK(count(*f, "SELECT count(*) FROM orders.idempotency_keys") == n - refused);
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas") == n - refused);
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations") == n - refused);
}

TEST_CASE("order flow: a confirmation that cannot be written fails only its own order",
          "[order][flow][concurrency][batch]") {
  // One confirmation statement at a time, so confirmations share statements. A trigger refuses to
  // confirm orders above 300.00 (quantity 2): a statement carrying one of them fails as a whole.
  auto f = make_order_fixture([](config& c) {
    c.order.confirm_batches_in_flight = 1;
    c.order.place_wait = std::chrono::milliseconds(3000);
  });
  f->database().exec(
      "CREATE FUNCTION orders.refuse_large_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
      " IF NEW.status = 'confirmed' AND OLD.status = 'pending' AND NEW.total_amount > 300 THEN"
      "  RAISE EXCEPTION 'test: confirmation refused'; END IF; RETURN NEW; END $$;"
      "CREATE TRIGGER refuse_large_confirmation BEFORE UPDATE ON orders.orders"
      " FOR EACH ROW EXECUTE FUNCTION orders.refuse_large_confirmation()");
  const int n = 16, refused = 4;  // every 4th order asks for 2 units
  std::vector<std::future<void>> placed;
  auto handle = f->directory().handle("order");
  for (int i = 0; i < n; ++i)
    placed.push_back(std::async(std::launch::async, [&f, handle, i] {
      caf::scoped_actor s{f->system()};
      order::place_order msg;
      msg.body = order_body("tok_visa", i % 4 == 0 ? 2 : 1);
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(30), msg)
          .receive([](order::order_view&) {}, [](caf::error&) {});
    }));
  for (auto& p : placed) p.get();
  // Every order of one unit is confirmed, and none of them ever saw its confirmation fail: the
  // statements they shared with a refused order were split, not retried with it.
  CHECK(f->eventually([&] {
    return count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == n - refused;
  }, std::chrono::seconds(15)));
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed' AND total_amount > 300") == 0);
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps st JOIN orders.sagas s USING (saga_id)"
                  " JOIN orders.orders o USING (order_id) WHERE st.step = 'confirm_order'"
                  " AND st.status = 'failed' AND o.total_amount < 300") == 0);
  // The refused ones failed their own confirmation and wait for a retry (pending, saga running).
  CHECK(count(*f, "SELECT count(DISTINCT o.order_id) FROM orders.saga_steps st JOIN orders.sagas s USING (saga_id)"
                  " JOIN orders.orders o USING (order_id) WHERE st.step = 'confirm_order'"
                  " AND st.status = 'failed' AND o.total_amount > 300 AND o.status = 'pending'") == refused);
}

TEST_CASE("order flow: a crash of the order actor during placements leaves no orphan", "[order][flow][crash]") {
  auto f = make_order_fixture();
  auto handle = f->directory().handle("order");
  std::vector<std::future<void>> placed;
  for (int i = 0; i < 8; ++i)
    placed.push_back(std::async(std::launch::async, [&f, handle] {
      caf::scoped_actor s{f->system()};
      order::place_order msg;
      msg.body = order_body();
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(5), msg)
          .receive([](order::order_view&) {}, [](caf::error&) {});
    }));
  // The crash lands once an order is written, while its saga and the other placements run (a
  // fixed 30 ms sleep sometimes crashed the agent before any commit on a loaded machine).
  REQUIRE(f->eventually([&] { return count(*f, "SELECT count(*) FROM orders.orders") >= 1; },
                        std::chrono::seconds(5)));
  f->inject("order", "throw");
  for (auto& p : placed) p.get();
  REQUIRE(f->wait_running("order"));
  // after the restart every saga reaches a terminal state
  CHECK(f->eventually(
      [&] { return count(*f, "SELECT count(*) FROM orders.sagas WHERE state NOT IN ('completed', 'compensated')") == 0; },
      std::chrono::seconds(40)));
  // every order confirmed or cancelled, no live reservation or authorization without a confirmed
  // order, one live payment per confirmed one, stock that adds up
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// The fraud agent crashes while it holds the saga's fraud_check ask (its scoring insert waits
// behind a lock). CAF tells the asker nothing when a receiver dies holding a request; the ask
// table learns it from the directory and fails the step with agent_stopped at once, not at the
// call timeout. The retry, retry_after_agent_stop later, then confirms the order, and the
// caller, who still waits (place_wait), hears that.
TEST_CASE("order flow: a saga step whose agent crashes while holding it fails at once and is retried",
          "[order][flow][crash]") {
  // Asks time out after 30 s here, so a failure within 10 s can only be the crash noticed. The
  // driver's regular scan is 10 minutes away, so only the scan scheduled for the retry resumes it.
  // The retry after an agent's stop is set to 300 ms (100 by default) to show the setting applies.
  auto f = make_order_fixture(
      [](config& c) {
        c.order.saga_poll_interval = std::chrono::minutes(10);
        c.order.retry_after_agent_stop = std::chrono::milliseconds(300);
      },
      std::chrono::seconds(30));
  auto holder = f->database().connect();
  auto hold = std::make_unique<pqxx::work>(*holder);
  hold->exec("LOCK TABLE fraud.fraud_checks IN SHARE MODE");
  auto placed = std::async(std::launch::async, [&f] {
    caf::scoped_actor s{f->system()};
    order::place_order msg;
    msg.body = order_body();
    std::string status;
    s->request(caf::actor_cast<order_actor>(f->directory().handle("order")), std::chrono::seconds(30), msg)
        .receive([&](order::order_view& v) { status = v.status; }, [&](caf::error& e) { status = caf::to_string(e); });
    return status;
  });
  // The saga's fraud ask is out once the scoring's insert waits on the lock.
  REQUIRE(f->eventually([&] {
    return count(*f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                     "wait_event_type = 'Lock'") == 1;
  }));
  const auto crashed_at = std::chrono::steady_clock::now();
  f->inject("fraud_detection", "throw");
  REQUIRE(f->eventually(
      [&] {
        return count(*f, "SELECT count(*) FROM orders.saga_steps WHERE step = 'fraud_check' AND status = 'failed'"
                         " AND error LIKE '%stopped before answering%'") == 1;
      },
      std::chrono::seconds(10)));
  CHECK(std::chrono::steady_clock::now() - crashed_at < std::chrono::seconds(10));
  hold->commit();
  hold.reset();
  // Answered with the retried saga's outcome, not the pending order of the failed step.
  CHECK(placed.get() == "confirmed");
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM fraud.fraud_checks") == 1);
  // A step failed by its agent's stop is retried retry_after_agent_stop later, not after the 1 s
  // backoff of other failures (the confirmation's steps are written with it, at least a retry
  // delay after the failed one's record).
  CHECK(count(*f, "SELECT count(*) FROM orders.saga_steps f JOIN orders.saga_steps c USING (saga_id) "
                  "WHERE f.status = 'failed' AND c.started_at > f.started_at "
                  "AND c.started_at - f.started_at >= interval '300 milliseconds' "
                  "AND c.started_at - f.started_at < interval '1 second'") > 0);
  CHECK(broken_order_invariants(*f) == std::vector<std::string>{});
}

// The customer agent crashes with the placement's customer check still in its mailbox (queued
// behind a hang and the crash), so CAF bounces the check. A check only reads, so the order agent
// sends it once more to the next incarnation (ask_agent_resending) instead of refusing the
// placement with 503; the inventory and product checks go the same way.
TEST_CASE("order flow: a placement whose customer check was bounced by the customer agent's crash is placed",
          "[order][flow][crash]") {
  auto f = make_order_fixture();
  REQUIRE(f->inject("customer", "hang", 500).ok);
  REQUIRE(f->inject("customer", "throw").ok);
  caf::scoped_actor s{f->system()};
  order::place_order msg;
  msg.body = order_body();
  std::string status;
  s->request(caf::actor_cast<order_actor>(f->directory().handle("order")), std::chrono::seconds(10), msg)
      .receive([&](order::order_view& v) { status = v.status; }, [&](caf::error& e) { status = caf::to_string(e); });
  CHECK(status == "confirmed");
  CHECK(f->directory().find("customer")->incarnation() == 2);  // the crash did happen
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE status = 'confirmed'") == 1);
}

// An agent an operator stopped is not coming back: the check is not sent again, and the
// placement is refused at once, not at the call's timeout.
TEST_CASE("order flow: with the customer agent stopped, a placement is refused 503 at once", "[order][flow]") {
  auto f = make_order_fixture({}, std::chrono::seconds(30));
  REQUIRE(f->stop("customer").ok);
  const auto sent = std::chrono::steady_clock::now();
  auto r = f->post("order", "/orders", order_body());
  CHECK(r.status == 503);
  CHECK(std::chrono::steady_clock::now() - sent < std::chrono::seconds(5));
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 0);
}

namespace {
// 6 × PROD-002 (≈ 4,540 with tax: high amount, 30 points) billed elsewhere (address mismatch, 20
// points) = 50 → manual_review.
json review_body() {
  json b = order_body("tok_visa", 6, "PROD-002");
  b["billing_address"] = {{"country", "US"}, {"state", "NY"}, {"city", "New York"}, {"postal_code", "10001"},
                          {"street", "1 Broadway"}};
  return b;
}
}  // namespace

TEST_CASE("order flow: manual review then approve confirms", "[order][flow][review]") {
  auto f = make_order_fixture();
  auto r = f->post("order", "/orders", review_body());
  REQUIRE(r.status == 201);
  auto o = r.json();
  REQUIRE(o["fraud_decision"] == "manual_review");
  CHECK(o["status"] == "pending");
  const std::string id = o["order_id"];
  CHECK(count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + id + "' AND state = 'waiting_review'") == 1);
  CHECK(f->post("order", "/orders/" + id + "/review", json{{"approve", true}}).status == 422);
  auto a = f->post("order", "/orders/" + id + "/review", json{{"approve", true}, {"reviewed_by", "analyst"}});
  REQUIRE(a.status == 200);
  CHECK(a.json()["status"] == "confirmed");
  CHECK(f->post("order", "/orders/" + id + "/review", json{{"approve", true}, {"reviewed_by", "analyst"}}).status == 409);
}

TEST_CASE("order flow: manual review then reject cancels and releases", "[order][flow][review]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", review_body()).json();
  REQUIRE(o["fraud_decision"] == "manual_review");
  const std::string id = o["order_id"];
  auto r = f->post("order", "/orders/" + id + "/review", json{{"approve", false}, {"reviewed_by", "analyst"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["status"] == "cancelled");
  CHECK(r.json()["cancellation_reason"] == "fraud_detected");
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id = '" + id +
                      "' AND status IN ('active', 'confirmed')") == 0);
}

TEST_CASE("order flow: payment window expiry cancels and releases the stock", "[order][flow][deadline]") {
  auto f = make_order_fixture([](config& c) { c.order.payment_window = std::chrono::seconds(1); });
  auto o = f->post("order", "/orders", order_body("tok_chargeDeclined")).json();
  CHECK(o["status"] == "pending");
  const std::string id = o["order_id"];
  CHECK(f->eventually([&] { return f->get("order", "/orders/" + id).json()["status"] == "cancelled"; },
                      std::chrono::seconds(15)));
  auto v = f->get("order", "/orders/" + id).json();
  CHECK(v["cancellation_reason"] == "payment_failed");
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id = '" + id +
                      "' AND status IN ('active', 'confirmed')") == 0);
}

TEST_CASE("order flow: status changes follow the table, legacy paid, query or body", "[order][flow][status]") {
  auto f = make_order_fixture();
  auto pend = f->post("order", "/orders", order_body("tok_chargeDeclined")).json();
  const std::string pid = pend["order_id"];
  auto paid = f->http("order", "PUT", "/orders/" + pid + "/status", json{{"status", "paid"}}.dump());
  CHECK(paid.status == 409);
  CHECK(paid.body.find("Order has no successful payment") != std::string::npos);
  auto o = f->post("order", "/orders", order_body()).json();
  const std::string id = o["order_id"];
  CHECK(f->http("order", "PUT", "/orders/" + id + "/status", json{{"status", "paid"}}.dump()).status == 200);
  CHECK(f->http("order", "PATCH", "/orders/" + id + "/status?status=bogus").status == 422);
  auto bad = f->http("order", "PATCH", "/orders/" + id + "/status?status=delivered");
  CHECK(bad.status == 409);
  CHECK(bad.body.find("Cannot change order status from 'confirmed' to 'delivered'") != std::string::npos);
  CHECK(f->http("order", "PATCH", "/orders/" + id + "/status", json{{"status", "processing"}}.dump()).json()["status"] ==
        "processing");
  auto shipped = f->http("order", "PATCH", "/orders/" + id + "/status?status=shipped");
  REQUIRE(shipped.status == 200);
  CHECK(shipped.json()["status"] == "shipped");
  CHECK(shipped.json()["payment_status"] == "captured");
  CHECK(f->http("order", "PATCH", "/api/orders/" + id + "/status?status=delivered").json()["status"] == "delivered");
  auto saga = f->get("order", "/orders/" + id + "/saga").json();
  CHECK(saga["sagas"].size() == 1);
  CHECK(saga["sagas"][0]["steps"].size() >= 4);
  CHECK(f->get("order", "/sagas?state=completed").json().size() >= 1);
  CHECK(f->post("order", "/sagas/" + saga["sagas"][0]["saga_id"].get<std::string>() + "/retry", json::object()).status == 409);
  auto tracking = f->get("order", "/orders/" + id + "/tracking").json();
  CHECK(tracking["progress_percentage"] == 100);
}

TEST_CASE("order flow: tax rates CRUD and quote", "[order][flow][tax]") {
  auto f = make_order_fixture();
  CHECK(f->get("order", "/tax-rates").json().size() == 4);
  auto dup = f->post("order", "/tax-rates", json{{"country", "US"}, {"region", "TX"}, {"rate", 0.05}});
  CHECK(dup.status == 409);
  CHECK(f->post("order", "/tax-rates", json{{"country", "US"}, {"rate", 1.5}}).status == 422);
  auto wa = f->post("order", "/tax-rates", json{{"country", "US"}, {"region", "WA"}, {"rate", "0.065"}, {"name", "WA"}});
  REQUIRE(wa.status == 201);
  const std::string wid = wa.json()["tax_rate_id"];
  CHECK(f->http("order", "PUT", "/tax-rates/" + wid, json{{"rate", 0.07}}.dump()).json()["rate"].get<double>() == Approx(0.07));
  auto q = f->post("order", "/orders/quote",
                   json{{"items", {{{"product_id", "PROD-001"}, {"quantity", 1}}}},
                        {"shipping_address", {{"country", "US"}, {"state", "WA"}, {"city", "Seattle"},
                                              {"postal_code", "98101"}, {"street", "1 Pike"}}}});
  REQUIRE(q.status == 200);
  CHECK(q.json()["tax"].get<double>() == Approx(14.00));  // 199.99 × 7 % = 13.9993
  CHECK(f->http("order", "DELETE", "/tax-rates/" + wid).status == 204);
  CHECK(f->http("order", "DELETE", "/tax-rates/" + wid).status == 404);
}

TEST_CASE("order flow: a payment made at the payment agent resumes a waiting order", "[order][flow][deadline]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body("tok_chargeDeclined")).json();
  REQUIRE(o["status"] == "pending");
  const std::string id = o["order_id"];
  payment::authorize_payment a;
  a.order_id = id;
  a.customer_id = "CUST-001";
  a.amount = 21649;
  a.payment_token = "tok_visa";
  a.idempotency_key = "external-auth-1";
  auto r = f->ask<payment_actor, payment::payment_view>("payment", a);
  REQUIRE(r.ok());
  CHECK(f->eventually([&] { return f->get("order", "/orders/" + id).json()["status"] == "confirmed"; }));
  CHECK(f->get("order", "/orders/" + id).json()["payment_status"] == "authorized");
}

TEST_CASE("order flow: a marketplace order twice is one order at channel prices, captured", "[order][flow][channel]") {
  auto f = make_order_fixture();
  json b = {{"customer_id", "CUST-002"},
            {"channel", "marketplace"},
            {"channel_name", "amazon"},
            {"channel_order_id", "AMZ-1001"},
            {"price_source", "channel"},
            {"payment", {{"type", "marketplace"}, {"connection_id", "conn-1"}}},
            {"shipping", {{"amount", 4.50}}},
            {"items", {{{"product_id", "PROD-001"}, {"quantity", 2}, {"unit_price", 150.00}}}}};
  order::place_order msg;
  msg.body = b;
  auto first = f->ask<order_actor, order::order_view>("order", msg);
  REQUIRE(first.ok());
  CHECK(first->status == "confirmed");
  CHECK(first->payment_status == "captured");
  CHECK(first->view["subtotal"].get<double>() == Approx(300.00));
  CHECK(first->view["shipping_cost"].get<double>() == Approx(4.50));
  auto second = f->ask<order_actor, order::order_view>("order", msg);
  REQUIRE(second.ok());
  CHECK(second->order_id == first->order_id);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 1);
  auto missing = f->ask<order_actor, order::order_view>("order", order::get_order{"ORD-00000000-000000"});
  CHECK(missing.error.kind == failure_kind::not_found);
  auto by_number = f->ask<order_actor, order::order_view>("order", order::get_order{first->order_number});
  REQUIRE(by_number.ok());
  CHECK(by_number->order_id == first->order_id);
  auto recent = f->ask<order_actor, count_reply>("order", order::count_recent_orders{"CUST-002", 24, ""});
  REQUIRE(recent.ok());
  CHECK(recent->count == 1);
}

TEST_CASE("order flow: cancelling a waiting order releases its stock, no payment action", "[order][flow]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body("tok_chargeDeclined")).json();
  REQUIRE(o["status"] == "pending");
  const std::string id = o["order_id"];
  auto c = f->post("order", "/orders/" + id + "/cancel", json{{"reason", "customer_request"}});
  REQUIRE(c.status == 200);
  CHECK(c.json()["payment_action"] == "none");
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id = '" + id +
                      "' AND status IN ('active', 'confirmed')") == 0);
  CHECK(f->post("order", "/orders/" + id + "/pay", json{{"payment_token", "tok_visa"}}).status == 409);
  CHECK(f->get("order", "/orders?status=cancelled").json().size() == 1);
  CHECK(f->get("order", "/orders?status=confirmed").json().size() == 0);
  CHECK(f->get("order", "/orders?status=nonsense").status == 422);
  CHECK(f->eventually([&] { return f->events("order.order_cancelled").size() == 1; }));
}

TEST_CASE("order flow: the d2c form and the quote give the same totals", "[order][flow][d2c]") {
  auto f = make_order_fixture();
  json dest = {{"country", "US"}, {"state", "CA"}, {"city", "San Jose"}, {"postal_code", "95113"}, {"street", "1 Main"}};
  json cart = {{"customer_id", "CUST-003"},
               {"lines", {{{"product_id", "PROD-001"}, {"quantity", 1}}, {{"product_id", prod3}, {"quantity", 2}}}},
               {"shipping", {{"service_level", "express"}, {"destination", dest}}}};
  auto q = f->post("order", "/orders/quote", cart);
  REQUIRE(q.status == 200);
  auto quote = q.json();
  CHECK(quote["shipping"].get<double>() == Approx(14.99));
  json order = cart;
  order["payment"] = {{"type", "card"}, {"token", "tok_visa"}};
  order["channel"] = "d2c";
  order["channel_name"] = "store-1";
  order["expected_total"] = quote["total"];
  auto r = f->post("order", "/orders", order);
  REQUIRE(r.status == 201);
  auto o = r.json();
  CHECK(o["status"] == "confirmed");
  CHECK(o["total_amount"].get<double>() == Approx(quote["total"].get<double>()));
  CHECK(o["tax_amount"].get<double>() == Approx(quote["tax"].get<double>()));
  CHECK(o["shipping_service_level"] == "express");
  CHECK(o["items"].size() == 2);
  order["expected_total"] = quote["total"].get<double>() - 1.0;
  order["channel_order_id"] = "web-2";
  auto lower = f->post("order", "/orders", order);
  CHECK(lower.status == 409);
  CHECK(lower.body.find("Order total changed") != std::string::npos);
  order::quote_order typed;
  typed.body = cart;
  auto tq = f->ask<order_actor, order::order_quote>("order", typed);
  REQUIRE(tq.ok());
  CHECK(tq->quote["total"] == quote["total"]);
  auto by_status = f->ask<order_actor, order::status_counts>("order", order::count_orders_by_status{});
  REQUIRE(by_status.ok());
  REQUIRE(by_status->counts.size() == 1);
  CHECK(by_status->counts[0] == std::make_pair(std::string{"confirmed"}, int64_t{1}));
  auto bad_level = cart;
  bad_level["shipping"]["service_level"] = "teleport";
  CHECK(f->post("order", "/orders/quote", bad_level).status == 422);
}

TEST_CASE("order flow: typed status, payable, open orders and update_status", "[order][flow][typed]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body()).json();
  const std::string id = o["order_id"];
  auto st = f->ask<order_actor, order::order_status_reply>("order", order::get_order_status{id});
  REQUIRE(st.ok());
  CHECK(st->status == "confirmed");
  CHECK(st->saga_state == "completed");
  auto pay = f->ask<order_actor, order::order_payable>("order", order::get_order_payable{id});
  REQUIRE(pay.ok());
  CHECK(pay->total_amount == 21649);
  CHECK(pay->balance_due == 0);
  auto open = f->ask<order_actor, count_reply>("order", order::count_open_orders{"CUST-001"});
  REQUIRE(open.ok());
  CHECK(open->count == 1);
  auto bad = f->ask<order_actor, order::order_view>("order", order::update_status{id, "delivered", "test", ""});
  CHECK(bad.error.kind == failure_kind::conflict);
  auto ok = f->ask<order_actor, order::order_view>("order", order::update_status{id, "processing", "test", ""});
  REQUIRE(ok.ok());
  CHECK(ok->status == "processing");
  CHECK(f->ask<order_actor, order::order_status_reply>("order", order::get_order_status{"nope"}).error.kind ==
        failure_kind::not_found);
}

TEST_CASE("order flow: cancelling while the place saga runs leaves nothing behind", "[order][flow][race]") {
  auto f = make_order_fixture();
  auto handle = f->directory().handle("order");
  auto placed = std::async(std::launch::async, [&f, handle] {
    caf::scoped_actor s{f->system()};
    order::place_order msg;
    msg.body = order_body();
    std::string status;
    s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(15), msg)
        .receive([&](order::order_view& v) { status = v.status; }, [&](caf::error&) { status = "error"; });
    return status;
  });
  std::string id;
  REQUIRE(f->eventually([&] {
    auto c = f->database().connect();
    pqxx::nontransaction tx{*c};
    auto r = tx.exec("SELECT order_id::text FROM orders.orders LIMIT 1");
    if (r.empty()) return false;
    id = r[0][0].c_str();
    return true;
  }, std::chrono::seconds(10)));
  auto c = f->http("order", "DELETE", "/orders/" + id + "?reason=customer_request");
  CHECK(c.status == 200);
  placed.get();
  CHECK(f->eventually([&] {
    return count(*f, "SELECT count(*) FROM orders.sagas WHERE order_id = '" + id +
                         "' AND state NOT IN ('completed', 'compensated')") == 0;
  }));
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "cancelled");
  CHECK(count(*f, "SELECT count(*) FROM inventory.reservations WHERE order_id = '" + id +
                      "' AND status IN ('active', 'confirmed')") == 0);
  CHECK(count(*f, "SELECT count(*) FROM payments.payments WHERE order_id = '" + id + "' AND status = 'authorized'") == 0);
  CHECK(f->database().orphan_references() == "");
}

TEST_CASE("order flow: the same Idempotency-Key twice at once makes one order", "[order][flow][idempotency]") {
  auto f = make_order_fixture();
  auto handle = f->directory().handle("order");
  std::vector<std::future<std::string>> calls;
  for (int i = 0; i < 2; ++i)
    calls.push_back(std::async(std::launch::async, [&f, handle] {
      caf::scoped_actor s{f->system()};
      order::place_order msg;
      msg.body = order_body();
      msg.idempotency_key = "same-key";
      std::string out;
      s->request(caf::actor_cast<order_actor>(handle), std::chrono::seconds(15), msg)
          .receive([&](order::order_view& v) { out = v.order_id; },
                   [&](caf::error& e) { out = "error:" + read_failure(e).code; });
      return out;
    }));
  auto a = calls[0].get(), b = calls[1].get();
  INFO(a << " / " << b);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders") == 1);
  const bool one_conflict = (a == "error:conflict") != (b == "error:conflict");
  const bool same_order = a == b && a.rfind("error:", 0) != 0;
  CHECK((one_conflict || same_order));
}

TEST_CASE("order flow: points and store credit are taken and given back on cancel", "[order][flow][loyalty]") {
  auto f = make_order_fixture();
  auto before = f->ask<customer_actor, customer::customer_profile>("customer", customer::get_customer{"CUST-006"});
  REQUIRE(before.ok());
  REQUIRE(before->points_balance >= 1000);
  REQUIRE(before->store_credit_balance >= 2000);
  json b = order_body();
  b["customer_id"] = "CUST-006";
  b["redeem_points"] = 1000;
  b["use_store_credit"] = "20.00";
  auto r = f->post("order", "/orders", b);
  REQUIRE(r.status == 201);
  auto o = r.json();
  CHECK(o["status"] == "confirmed");
  CHECK(o["points_redeemed"] == 1000);
  CHECK(o["store_credit_used"].get<double>() == Approx(20.00));
  CHECK(o["discount_amount"].get<double>() > 20.00);
  CHECK(o["total_amount"].get<double>() ==
        Approx(o["subtotal"].get<double>() - o["discount_amount"].get<double>() + o["shipping_cost"].get<double>() +
               o["tax_amount"].get<double>()));
  auto during = f->ask<customer_actor, customer::customer_profile>("customer", customer::get_customer{"CUST-006"});
  REQUIRE(during.ok());
  CHECK(during->points_balance == before->points_balance - 1000);
  CHECK(during->store_credit_balance == before->store_credit_balance - 2000);
  const std::string id = o["order_id"];
  REQUIRE(f->http("order", "DELETE", "/orders/" + id + "?reason=customer_request").status == 200);
  auto after = f->ask<customer_actor, customer::customer_profile>("customer", customer::get_customer{"CUST-006"});
  REQUIRE(after.ok());
  CHECK(after->points_balance == before->points_balance);
  CHECK(after->store_credit_balance == before->store_credit_balance);
}

TEST_CASE("order flow: a failed saga is listed and resumed by retry", "[order][flow][retry]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body("tok_chargeDeclined")).json();
  const std::string id = o["order_id"];
  // as if the payment step had failed 20 times
  f->database().exec("UPDATE orders.sagas SET state = 'failed', last_error = 'payment agent unavailable' "
                     "WHERE order_id = '" + id + "'");
  auto failed = f->get("order", "/sagas?state=failed").json();
  REQUIRE(failed.size() == 1);
  const std::string saga = failed[0]["saga_id"];
  CHECK(f->post("order", "/sagas/00000000-0000-4000-8000-000000000000/retry", json::object()).status == 404);
  auto r = f->post("order", "/sagas/" + saga + "/retry", json::object());
  REQUIRE(r.status == 200);
  CHECK(r.json()["state"] == "running");
  // driven again: the card is still declined, so it parks waiting for payment
  CHECK(f->eventually([&] {
    return count(*f, "SELECT count(*) FROM orders.sagas WHERE saga_id = '" + saga + "' AND state = 'waiting_payment'") == 1;
  }));
  CHECK(f->post("order", "/sagas/" + saga + "/retry", json::object()).status == 409);
}

TEST_CASE("order flow: a pricing dependency down is 503 with Retry-After and no order", "[order][flow][unavailable]") {
  fixture_options o;
  o.seed = true;
  agent_fixture f{{spec_for("customer", &spawn_customer_agent), spec_for("order", &spawn_order_agent)}, o};
  auto r = f.post("order", "/orders", order_body());
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "5");
  CHECK(count(f, "SELECT count(*) FROM orders.orders") == 0);
}
