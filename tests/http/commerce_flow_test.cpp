// Order-to-cash through real sockets: the full server (all 26 agents, the six domain agents real)
// against a fresh migrated and seeded database, driven over the legacy ports and the gateway
// prefix exactly as the old clients and the dashboard do.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/database.hpp"
#include "commerce_server.hpp"
#include "prometheus_text.hpp"
#include "server_fixture.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;


TEST_CASE("a new product and customer order through the legacy ports, read back through the gateway",
          "[http][commerce]") {
  commerce_server s;

  auto product = s.call("product", "POST", "/products",
                        json{{"sku", "FLOW-001"}, {"name", "Flow Kettle"}, {"price", "40.00"},
                             {"category", "Home & Kitchen"}, {"stock_quantity", 5}});
  REQUIRE(product.status == 200);
  REQUIRE(s.available("FLOW-001") == 5);

  // A NUL in a name would reach PostgreSQL cut short ("Flo"): refused, nothing written.
  auto nul_name = s.call("customer", "POST", "/customers",
                         json{{"customer_id", "FLOW-C1"}, {"email", "flow.buyer@example.com"},
                              {"first_name", std::string("Flo\0rence", 8)}, {"last_name", "Buyer"}});
  CHECK(nul_name.status == 422);
  CHECK(s.db.value<int64_t>("SELECT count(*) FROM customers.customer_profiles WHERE customer_id = 'FLOW-C1'") == 0);
  auto customer = s.call("customer", "POST", "/customers",
                         json{{"customer_id", "FLOW-C1"}, {"email", "flow.buyer@example.com"},
                              {"first_name", "Flo"}, {"last_name", "Buyer"}});
  REQUIRE(customer.status == 201);
  auto address = s.call("customer", "POST", "/customers/FLOW-C1/addresses",
                        json{{"address_type", "both"}, {"street_address_1", "1 Main St"},
                             {"city", "Austin"}, {"state_province", "TX"}, {"postal_code", "78701"},
                             {"country_code", "US"}, {"is_default", true}});
  REQUIRE(address.status == 201);

  auto placed = s.call("order", "POST", "/orders", order_body("FLOW-C1", "FLOW-001", 2));
  INFO(placed.body);
  REQUIRE(placed.status == 201);
  const auto order = json_body(placed);
  CHECK(order["status"] == "confirmed");
  CHECK(order["payment_status"] == "authorized");
  // 2 × 40.00 = 80.00, standard shipping free from 75.00, Texas 8.25 % on 80.00 = 6.60.
  CHECK(order["subtotal"].get<double>() == Approx(80.00));
  CHECK(order["tax_amount"].get<double>() == Approx(6.60));
  CHECK(order["total_amount"].get<double>() == Approx(86.60));
  CHECK(s.available("FLOW-001") == 3);
  // The order events reach the customer agent through the outbox relay and its durable consumer,
  // which acknowledges each once applied (/metrics shows nothing left held).
  CHECK(eventually([&] { return json_body(s.call("customer", "GET", "/customers/FLOW-C1"))["total_orders"] == 1; }));
  CHECK(eventually([&] {
    const auto m = s.gateway("GET", "/metrics").body;
    return m.find("mercato_event_consumer_held{consumer=\"customer\"} 0\n") != std::string::npos &&
           m.find("mercato_event_consumer_attached{consumer=\"customer\"} 1\n") != std::string::npos;
  }));
  // The database's side of /metrics: the pool's four connections up, nothing waiting for one, and
  // at least every event the customer agent applied counted as published (only the relay
  // delivers to a durable consumer).
  CHECK(eventually([&] {
    return parse_prometheus(s.gateway("GET", "/metrics").body).value("mercato_db_pool_connected") == 4;
  }));
  const auto metrics = parse_prometheus(s.gateway("GET", "/metrics").body);
  CHECK(metrics.value("mercato_db_pool_connections") == 4);
  CHECK(metrics.value("mercato_db_pool_queued") == 0);
  const auto applied = s.db.value<int64_t>("SELECT count(*) FROM customers.processed_events");
  CHECK(applied >= 1);
  CHECK(metrics.value("mercato_outbox_published_total") >= static_cast<double>(applied));
  CHECK(metrics.value("mercato_db_retention_deleted_total") == 0);
  CHECK(metrics.value("mercato_db_statistics_analyzed_total"));
  // Every unit that ran was timed from its submit to a connection taking it, and while it ran.
  CHECK(metrics.types.at("mercato_db_pool_wait_seconds") == "histogram");
  CHECK(metrics.value("mercato_db_unit_duration_seconds_count") >= 1);
  CHECK(metrics.value("mercato_db_pool_wait_seconds_count") >= metrics.value("mercato_db_unit_duration_seconds_count"));
  CHECK(metrics.value("mercato_db_pool_wait_seconds_bucket", {{"le", "+Inf"}}) ==
        metrics.value("mercato_db_pool_wait_seconds_count"));

  const std::string id = order["order_id"];
  auto via_gateway = s.gateway("GET", "/api/order/orders/" + id);
  REQUIRE(via_gateway.status == 200);
  CHECK(json_body(via_gateway)["order_number"] == order["order_number"]);
  auto payments = s.gateway("GET", "/api/payment/payments?order_id=" + id);
  REQUIRE(payments.status == 200);
  REQUIRE(json_body(payments).size() == 1);
  CHECK(json_body(payments)[0]["status"] == "authorized");

  SECTION("cancel through the gateway voids the authorization and releases the stock") {
    auto cancelled = s.gateway("POST", "/api/order/orders/" + id + "/cancel",
                               json{{"reason", "customer_request"}, {"requested_by", "test"}});
    INFO(cancelled.body);
    REQUIRE(cancelled.status == 200);
    CHECK(json_body(cancelled)["status"] == "cancelled");
    CHECK(eventually([&] { return s.available("FLOW-001") == 5; }));
    CHECK(eventually([&] {
      auto p = s.gateway("GET", "/api/payment/payments?order_id=" + id);
      return p.status == 200 && json_body(p).size() == 1 && json_body(p)[0]["status"] == "voided";
    }));
    auto again = s.call("order", "DELETE", "/orders/" + id + "?reason=customer_request");
    CHECK(again.status == 200);
  }

  SECTION("two partial shipments capture their share, then the order ships and is delivered") {
    const auto items = order["items"];
    const std::string item = items[0]["item_id"];
    std::vector<std::string> shipments;
    for (int i = 0; i < 2; ++i) {
      auto created = s.call("order", "POST", "/orders/" + id + "/shipments",
                            json{{"items", json::array({json{{"order_item_id", item}, {"quantity", 1}}})}});
      INFO(created.body);
      REQUIRE(created.status == 201);
      shipments.push_back(json_body(created)["shipment_id"]);
      auto tracked = s.call("order", "PATCH", "/orders/shipments/" + shipments.back() + "/tracking",
                            json{{"tracking_number", "TRK" + std::to_string(i)}, {"carrier", "FLATRATE"}});
      INFO(tracked.body);
      REQUIRE(tracked.status == 200);
    }
    auto over = s.call("order", "POST", "/orders/" + id + "/shipments",
                       json{{"items", json::array({json{{"order_item_id", item}, {"quantity", 1}}})}});
    CHECK(over.status == 409);
    auto shipped = json_body(s.call("order", "GET", "/orders/" + id));
    CHECK(shipped["status"] == "shipped");
    CHECK(shipped["amount_captured"].get<double>() == Approx(86.60));
    CHECK(shipped["payment_status"] == "captured");
    for (const auto& sh : shipments) {
      auto delivered = s.call("order", "POST", "/orders/shipments/" + sh + "/delivered", json::object());
      INFO(delivered.body);
      REQUIRE(delivered.status == 200);
    }
    CHECK(json_body(s.call("order", "GET", "/orders/" + id))["status"] == "delivered");
  }
}

TEST_CASE("the same Idempotency-Key returns the same order, another body with it is refused",
          "[http][commerce]") {
  commerce_server s;
  request_headers key{{"Idempotency-Key", "flow-key-1"}};
  auto first = s.call("order", "POST", "/orders", order_body("CUST-001", "PROD-002", 1), key);
  REQUIRE(first.status == 201);
  auto second = s.call("order", "POST", "/orders", order_body("CUST-001", "PROD-002", 1), key);
  CHECK(second.status == 201);
  CHECK(second.body == first.body);
  auto other = s.call("order", "POST", "/orders", order_body("CUST-001", "PROD-002", 2), key);
  CHECK(other.status == 422);
  auto list = json_body(s.call("order", "GET", "/orders?customer_id=CUST-001"));
  CHECK(list.size() == 1);
}

// POST /orders answers with the order as it is once place_wait has passed (agents/8000-order.md).
// The gateway waits for the order agent longer than that (agent_request_timeout in the config),
// so a saga that is held up gives the client its pending order, not a 504 for an order that exists.
TEST_CASE("a placement whose saga is held up is answered 201 pending after place_wait, not 504",
          "[http][commerce]") {
  commerce_server s{[](config& c) {
    c.gateway.request_timeout = std::chrono::milliseconds(1500);  // every other agent's deadline
    c.order.place_wait = std::chrono::seconds(2);
  }};
  // Fraud's scoring insert waits behind this lock, so the saga stands at its fraud step.
  auto holder = s.db.connect();
  auto hold = std::make_unique<pqxx::work>(*holder);
  hold->exec("LOCK TABLE fraud.fraud_checks IN SHARE MODE");

  auto r = s.call("order", "POST", "/orders", order_body("CUST-001", "PROD-002", 1), {}, std::chrono::seconds(15));
  REQUIRE(r.status == 201);
  const auto placed = json_body(r);
  CHECK(placed["status"] == "pending");
  hold->commit();
  hold.reset();

  // Released, the saga goes on and confirms the order the client was told about.
  const std::string id = placed["order_id"].get<std::string>();
  CHECK(eventually([&] { return json_body(s.call("order", "GET", "/orders/" + id))["status"] == "confirmed"; },
                   std::chrono::seconds(30)));
  CHECK(s.db.value<int64_t>("SELECT count(*) FROM orders.orders") == 1);
}

TEST_CASE("crashing the order agent during placements leaves every order consistent",
          "[http][commerce][crash]") {
  commerce_server s;
  const int64_t before = s.available("PROD-003");
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        try {
          s.call("order", "POST", "/orders", order_body("CUST-00" + std::to_string(1 + t % 3), "PROD-003", 1),
                 {{"Idempotency-Key", "crash-" + std::to_string(t) + "-" + std::to_string(i)}});
        } catch (const std::exception&) {
          // a connection cut by the crash: the saga decides what became of that order
        }
      }
      ++done;
    });
  }
  s.crash_order_mid_placement();
  for (auto& c : clients) c.join();

  // Every order ends confirmed or cancelled (recovery included), and stock adds up: the units
  // missing from PROD-003 are exactly the confirmed orders' units.
  json orders;
  REQUIRE(eventually(
      [&] {
        auto r = s.call("order", "GET", "/orders?limit=1000");
        if (r.status != 200) return false;
        orders = json_body(r);
        for (const auto& o : orders)
          if (o["status"] != "confirmed" && o["status"] != "cancelled") return false;
        return true;
      },
      std::chrono::seconds(30)));
  int64_t confirmed = 0;
  for (const auto& o : orders)
    if (o["status"] == "confirmed") ++confirmed;
  CHECK(confirmed > 0);
  CHECK(s.available("PROD-003") == before - confirmed);
  // One live authorization per confirmed order and none for cancelled ones.
  auto payments = json_body(s.gateway("GET", "/api/payment/payments?limit=1000"));
  int64_t authorized = 0;
  for (const auto& p : payments)
    if (p["status"] == "authorized") ++authorized;
  CHECK(authorized == confirmed);
}

// Legacy clients send no Idempotency-Key. Placements the order agent held when it crashed are sent
// again by the gateway to the next incarnation under a key it minted (gateway/resend_policy.hpp),
// so every order written was answered 201: none exists whose client got a 503 and would place it a
// second time. Requests that arrive while the agent restarts get 503 and write nothing.
// The gateway's deadline is raised to 15 s and the clients wait 30 s: a slow machine then shows up
// as a late answer, never as a client that gave up at the same moment the gateway answered 504.
TEST_CASE("crashing the order agent during key-less placements: every order written was answered 201",
          "[http][commerce][crash]") {
  commerce_server s{[](config& c) { c.gateway.request_timeout = std::chrono::seconds(15); }};
  const char* customers[] = {"CUST-001", "CUST-002", "CUST-003", "CUST-006"};
  std::atomic<int> created{0}, refused{0}, other{0}, unanswered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        try {
          auto r = s.call("order", "POST", "/orders", order_body(customers[t], "PROD-003", 1), {},
                          std::chrono::seconds(30));
          if (r.status == 201) ++created;
          else if (r.status == 503) ++refused;
          else ++other;
        } catch (const std::exception&) {  // the client's read timed out
          ++unanswered;
        }
      }
    });
  }
  s.crash_order_mid_placement();
  for (auto& c : clients) c.join();

  CHECK(unanswered == 0);
  CHECK(other == 0);
  CHECK(created + refused == 48);
  REQUIRE(eventually(
      [&] {
        return s.db.value<int64_t>(
                   "SELECT count(*) FROM orders.orders WHERE status NOT IN ('confirmed', 'cancelled')") == 0;
      },
      std::chrono::seconds(30)));
  CHECK(s.db.value<int64_t>("SELECT count(*) FROM orders.orders") == created);
  // The crash caught placements in flight, and they went to the new incarnation.
  const auto metrics = s.gateway("GET", "/metrics").body;
  const std::string counter = "mercato_http_resent_after_agent_stop_total ";
  const auto at = metrics.find("\n" + counter);
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(metrics.substr(at + 1 + counter.size())) >= 1);
  // Each order was placed under a key the gateway minted, one per request.
  CHECK(s.db.value<int64_t>("SELECT count(*) FROM orders.idempotency_keys WHERE key LIKE 'mercato-resend-%'") ==
        created);
}
