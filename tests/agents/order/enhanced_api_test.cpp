// The enhanced order API through the real order agent's REST door: orders are inserted with SQL
// (independent of the sagas), then notes, tags, timeline, modifications, splits, plans, delivery
// attempts, cancellation requests and analytics are driven over HTTP.
#include <atomic>
#include <map>
#include <thread>

#include <catch2/catch.hpp>

#include "order/order_agent.hpp"
#include "order/order_messages.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using json = nlohmann::json;

namespace {

struct enhanced_fixture {
  agent_fixture f{{spec_for("order", &spawn_order_agent)}};

  // An order with two lines: 4 × 10.00 (discount 2.00, tax 3.00) and 1 × 25.00 (tax 2.00);
  // subtotal 65.00 − 2.00 + shipping 5.00 + tax 5.00 = 73.00.
  std::string add_order(const std::string& status = "confirmed", const std::string& created = "now()",
                        const std::string& number_suffix = "") {
    static std::atomic<int> n{0};
    int k = ++n;
    std::string id = fmt_uuid(k);
    std::string number = "ORD-20240101-" + std::to_string(900000 + k) + number_suffix;
    f.database().exec(
        "INSERT INTO orders.orders (order_id, order_number, customer_id, customer_name, status, payment_status, "
        "subtotal, discount_amount, shipping_cost, tax_amount, total_amount, amount_authorized, amount_captured, "
        "shipping_address, cancelled_at, created_at) VALUES ('" + id + "', '" + number + "', 'CUST-001', 'Ann', '" +
        status + "', 'authorized', 65, 2, 5, 5, 73, 73, 0, "
        "'{\"street\": \"1 Main\", \"city\": \"Austin\", \"postal_code\": \"73301\", \"country\": \"US\"}', " +
        (status == "cancelled" ? "now()" : "NULL") + ", " + created + ")");
    f.database().exec(
        "INSERT INTO orders.order_items (item_id, order_id, line_number, product_id, sku, product_name, quantity, "
        "unit_price, discount_amount, tax_amount, total_price) VALUES "
        "('" + item_uuid(k, 1) + "', '" + id + "', 1, 'P1', 'SKU-1', 'Widget', 4, 10, 2, 3, 40), "
        "('" + item_uuid(k, 2) + "', '" + id + "', 2, 'P2', 'SKU-2', 'Gadget', 1, 25, 0, 2, 25)");
    numbers[id] = number;
    return id;
  }
  std::string add_shipment(const std::string& order_id, const std::string& status = "shipped") {
    static std::atomic<int> n{0};
    std::string id = "c0000000-0000-4000-8000-" + pad(++n);
    f.database().exec("INSERT INTO orders.partial_shipments (shipment_id, order_id, shipment_number, status, shipped_at) "
                      "VALUES ('" + id + "', '" + order_id + "', 1, '" + status + "', now())");
    return id;
  }

  http_reply call(const std::string& method, const std::string& target, const json& body = nullptr) {
    return f.http("order", method, target, body.is_null() ? std::string{} : body.dump());
  }
  int64_t count(const std::string& sql) { return f.database().value<int64_t>(sql); }
  std::string text(const std::string& sql) { return f.database().value<std::string>(sql); }

  static std::string pad(int k) {
    std::string s = std::to_string(k);
    return std::string(12 - s.size(), '0') + s;
  }
  static std::string fmt_uuid(int k) { return "b0000000-0000-4000-8000-" + pad(k); }
  static std::string item_uuid(int k, int line) { return "a000000" + std::to_string(line) + "-0000-4000-8000-" + pad(k); }
  std::map<std::string, std::string> numbers;
};

}  // namespace

TEST_CASE("notes are created, listed, edited and deleted, with 404 and 422", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  auto r = t.call("POST", "/orders/" + id + "/notes",
                  {{"note_type", "internal"}, {"note_text", "Call before delivery"}, {"created_by", "agent-7"}});
  REQUIRE(r.status == 201);
  auto note = r.json();
  REQUIRE(note["note_text"] == "Call before delivery");
  REQUIRE(note["is_visible_to_customer"] == false);
  REQUIRE(t.call("POST", "/api/orders/" + t.numbers[id] + "/notes",
                 {{"note_type", "customer"}, {"note_text", "Thanks"}, {"is_visible_to_customer", true},
                  {"created_by", "cs"}}).status == 201);
  auto all = t.call("GET", "/orders/" + id + "/notes").json();
  REQUIRE(all.size() == 2);
  REQUIRE(all[0]["note_text"] == "Call before delivery");  // oldest first
  REQUIRE(t.call("GET", "/orders/" + id + "/notes?visible_to_customer=true").json().size() == 1);

  auto bad = t.call("POST", "/orders/" + id + "/notes", {{"note_type", "secret"}, {"note_text", ""}});
  REQUIRE(bad.status == 422);
  REQUIRE(bad.json()["detail"].size() == 3);  // note_type, note_text, created_by
  REQUIRE(t.call("POST", "/orders/nope/notes", {{"note_type", "internal"}, {"note_text", "x"}, {"created_by", "a"}})
              .status == 404);
  REQUIRE(t.count("SELECT count(*) FROM orders.order_notes") == 2);

  std::string note_id = note["note_id"];
  auto patched = t.call("PATCH", "/orders/notes/" + note_id, {{"note_text", "Call twice"}});
  REQUIRE(patched.status == 200);
  REQUIRE(patched.json()["note_text"] == "Call twice");
  auto del = t.call("DELETE", "/orders/notes/" + note_id);
  REQUIRE(del.status == 200);
  REQUIRE(del.json()["status"] == "deleted");
  REQUIRE(t.call("DELETE", "/orders/notes/" + note_id).json()["detail"] == "Note not found");
  REQUIRE(t.call("PATCH", "/orders/notes/not-a-uuid", {{"note_text", "x"}}).status == 404);
}

TEST_CASE("tags are normalised, duplicates answer 200 with one row, at most 20 per order", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  auto first = t.call("POST", "/orders/" + id + "/tags", {{"tag", "VIP"}, {"added_by", "ops"}});
  REQUIRE(first.status == 201);
  REQUIRE(first.json()["tag"] == "vip");
  auto again = t.call("POST", "/orders/" + id + "/tags", {{"tag", "vip"}, {"added_by", "other"}});
  REQUIRE(again.status == 200);
  REQUIRE(again.json()["added_by"] == "ops");
  REQUIRE(t.count("SELECT count(*) FROM orders.order_tags WHERE tag = 'vip'") == 1);
  REQUIRE(t.text("SELECT array_to_string(tags, ',') FROM orders.orders WHERE order_id = '" + id + "'") == "vip");
  REQUIRE(t.call("POST", "/orders/" + id + "/tags", {{"tag", "no spaces"}}).status == 422);

  auto other = t.add_order();
  REQUIRE(t.call("POST", "/orders/" + other + "/tags", {{"tag", "vip"}}).status == 201);
  auto tagged = t.call("GET", "/orders/tags/vip/orders").json();
  REQUIRE(tagged.size() == 2);

  for (int i = 1; i < 20; ++i)
    REQUIRE(t.call("POST", "/orders/" + id + "/tags", {{"tag", "t" + std::to_string(i)}}).status == 201);
  auto over = t.call("POST", "/orders/" + id + "/tags", {{"tag", "one-too-many"}});
  REQUIRE(over.status == 409);
  REQUIRE(t.call("GET", "/orders/" + id + "/tags").json().size() == 20);

  auto removed = t.call("DELETE", "/orders/" + id + "/tags/VIP");
  REQUIRE(removed.status == 200);
  REQUIRE(removed.json()["status"] == "removed");
  REQUIRE(t.call("DELETE", "/orders/" + id + "/tags/vip").json()["detail"] == "Tag not found");
  REQUIRE(t.call("GET", "/orders/tags/vip/orders").json() == json::array({other}));
}

TEST_CASE("concurrent tag additions never exceed 20 tags", "[order][enhanced][concurrency]") {
  enhanced_fixture t;
  auto id = t.add_order();
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      caf::scoped_actor self{t.f.system()};
      auto handle = caf::actor_cast<order_actor>(t.f.directory().handle("order"));
      for (int i = 0; i < 7; ++i) {
        http_request req;
        req.method = "POST";
        req.path = "/orders/" + id + "/tags";
        req.body = json{{"tag", "w" + std::to_string(w) + "-" + std::to_string(i)}}.dump();
        self->request(handle, std::chrono::seconds(10), req)
            .receive([&](http_response& r) { (r.status == 201 ? created : refused)++; }, [](caf::error&) {});
      }
    });
  for (auto& th : threads) th.join();
  REQUIRE(created == 20);
  REQUIRE(refused == 8);
  REQUIRE(t.count("SELECT count(*) FROM orders.order_tags WHERE order_id = '" + id + "'") == 20);
  REQUIRE(t.count("SELECT cardinality(tags) FROM orders.orders WHERE order_id = '" + id + "'") == 20);
}

TEST_CASE("the timeline lists every mutation oldest first and takes custom events", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  REQUIRE(t.call("POST", "/orders/" + id + "/tags", {{"tag", "gift"}}).status == 201);
  REQUIRE(t.call("POST", "/orders/" + id + "/notes",
                 {{"note_type", "system"}, {"note_text", "n"}, {"created_by", "x"}}).status == 201);
  auto custom = t.call("POST", "/orders/" + id + "/timeline",
                       {{"event_type", "customer_called"}, {"event_description", "Asked about delivery"},
                        {"event_data", {{"minutes", 4}}}, {"triggered_by", "cs-1"}});
  REQUIRE(custom.status == 201);
  REQUIRE(custom.json()["event_data"]["minutes"] == 4);
  auto events = t.call("GET", "/api/orders/" + id + "/timeline").json();
  REQUIRE(events.size() == 3);
  REQUIRE(events[0]["event_type"] == "tag_added");
  REQUIRE(events[1]["event_type"] == "note_added");
  REQUIRE(events[2]["event_type"] == "customer_called");
  REQUIRE(t.call("POST", "/orders/" + id + "/timeline", {{"event_type", "Bad-Type"}, {"event_description", "x"}})
              .status == 422);
  REQUIRE(t.call("GET", "/orders/unknown/timeline").status == 404);
}

TEST_CASE("modifications apply field changes and refuse stale or late ones", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  json address{{"street", "9 Elm"}, {"city", "Dallas"}, {"postal_code", "75001"}, {"country", "US"}};
  auto r = t.call("POST", "/orders/" + id + "/modifications",
                  {{"modification_type", "address_change"}, {"field_name", "shipping_address"},
                   {"old_value", {{"street", "1 Main"}, {"city", "Austin"}, {"postal_code", "73301"}, {"country", "US"}}},
                   {"new_value", address}, {"reason", "moved"}, {"modified_by", "cs-2"}});
  REQUIRE(r.status == 201);
  REQUIRE(r.json()["new_value"] == address);
  REQUIRE(r.json()["old_value"]["city"] == "Austin");
  REQUIRE(t.text("SELECT shipping_address->>'city' FROM orders.orders WHERE order_id = '" + id + "'") == "Dallas");
  REQUIRE(t.f.eventually([&] { return !t.f.events("order.order_modified").empty(); }));

  // the same old value again is stale now
  auto stale = t.call("POST", "/orders/" + id + "/modifications",
                      {{"modification_type", "address_change"},
                       {"old_value", {{"street", "1 Main"}, {"city", "Austin"}, {"postal_code", "73301"}, {"country", "US"}}},
                       {"new_value", address}, {"modified_by", "cs-2"}});
  REQUIRE(stale.status == 409);
  auto priority = t.call("POST", "/orders/" + id + "/modifications",
                         {{"modification_type", "priority_change"}, {"old_value", "normal"}, {"new_value", "urgent"},
                          {"modified_by", "ops"}});
  REQUIRE(priority.status == 201);
  REQUIRE(t.text("SELECT priority_level FROM orders.orders WHERE order_id = '" + id + "'") == "urgent");
  REQUIRE(t.call("POST", "/orders/" + id + "/modifications",
                 {{"modification_type", "delivery_date_change"}, {"new_value", "2001-01-01"}, {"modified_by", "ops"}})
              .status == 422);
  REQUIRE(t.call("POST", "/orders/" + id + "/modifications",
                 {{"modification_type", "delivery_date_change"}, {"new_value", "2999-12-31"}, {"modified_by", "ops"}})
              .status == 201);
  REQUIRE(t.call("POST", "/orders/" + id + "/modifications",
                 {{"modification_type", "address_change"}, {"new_value", {{"city", "X"}}}, {"modified_by", "ops"}})
              .status == 422);
  REQUIRE(t.call("POST", "/orders/" + id + "/modifications",
                 {{"modification_type", "notes_change"}, {"new_value", "x"}, {"modified_by", "ops"},
                  {"order_id", "b0000000-0000-4000-8000-999999999999"}}).status == 422);
  auto list = t.call("GET", "/orders/" + id + "/modifications").json();
  REQUIRE(list.size() == 3);
  REQUIRE(list[0]["modification_type"] == "address_change");

  t.add_shipment(id);
  auto late = t.call("POST", "/orders/" + id + "/modifications",
                     {{"modification_type", "address_change"}, {"new_value", address}, {"modified_by", "cs"}});
  REQUIRE(late.status == 409);
  REQUIRE(t.count("SELECT count(*) FROM orders.order_modifications") == 3);
}

TEST_CASE("splits move quantities to child orders with exact totals", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  auto r = t.call("POST", "/orders/splits?split_by=planner",
                  {{"order_id", t.numbers[id]}, {"split_reason", "multi_warehouse"},
                   {"item_splits", {{{"item_id", 1}, {"quantity", 1}, {"warehouse_id", "WH-002"}},
                                    {{"item_id", "2"},
                                     {"quantity", 1}, {"warehouse_id", "WH-002"}}}}});
  INFO(r.body);
  REQUIRE(r.status == 201);
  auto splits = r.json();
  REQUIRE(splits.size() == 1);
  std::string child = splits[0]["child_order_id"];
  REQUIRE(splits[0]["split_by"] == "planner");
  // child: 1 × 10.00 (discount 0.50, tax 0.75) + 1 × 25.00 (tax 2.00) = 35 − 0.5 + 2.75
  REQUIRE(t.text("SELECT subtotal || '/' || discount_amount || '/' || tax_amount || '/' || total_amount "
                 "FROM orders.orders WHERE order_id = '" + child + "'") == "35.00/0.50/2.75/37.25");
  REQUIRE(t.text("SELECT subtotal || '/' || discount_amount || '/' || tax_amount || '/' || total_amount "
                 "FROM orders.orders WHERE order_id = '" + id + "'") == "30.00/1.50/2.25/35.75");
  REQUIRE(t.text("SELECT parent_order_id::text FROM orders.orders WHERE order_id = '" + child + "'") == id);
  REQUIRE(t.count("SELECT count(*) FROM orders.order_items WHERE order_id = '" + id + "'") == 1);
  REQUIRE(t.call("GET", "/orders/" + id + "/child-orders").json().size() == 1);

  auto too_many = t.call("POST", "/orders/splits",
                         {{"order_id", id}, {"split_reason", "multi_warehouse"},
                          {"item_splits", {{{"item_id", 1}, {"quantity", 5}}}}});
  REQUIRE(too_many.status == 422);
  REQUIRE(too_many.json()["detail"][0]["loc"] == json::array({"body", "item_splits", 0, "quantity"}));
  auto everything = t.call("POST", "/orders/splits", {{"order_id", id}, {"split_reason", "multi_warehouse"},
                                                      {"item_splits", {{{"item_id", 1}, {"quantity", 3}}}}});
  REQUIRE(everything.status == 422);
  auto pending = t.add_order("pending");
  REQUIRE(t.call("POST", "/orders/splits", {{"order_id", pending}, {"split_reason", "delivery_speed"},
                                             {"item_splits", {{{"item_id", 1}, {"quantity", 1}}}}}).status == 409);
  REQUIRE(t.call("POST", "/orders/splits", {{"order_id", "nope"}, {"split_reason", "delivery_speed"},
                                             {"item_splits", {{{"item_id", 1}, {"quantity", 1}}}}}).status == 404);
  REQUIRE(t.count("SELECT count(*) FROM orders.order_splits") == 1);
  // the child orders' items and timeline entries point at orders that exist
  CHECK(t.f.database().orphan_references() == "");
}

TEST_CASE("fulfillment plans respect unplanned quantities and the transition table", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  auto r = t.call("POST", "/orders/" + id + "/fulfillment-plan",
                  {{"warehouse_id", "WH-001"}, {"fulfillment_strategy", "single_warehouse"},
                   {"items", {{{"order_item_id", 1}, {"quantity", 3}}}}, {"priority", 5}});
  REQUIRE(r.status == 201);
  std::string plan = r.json()["plan_id"];
  REQUIRE(r.json()["items"][0]["quantity"] == 3);
  auto over = t.call("POST", "/orders/" + id + "/fulfillment-plan",
                     {{"warehouse_id", "WH-002"}, {"fulfillment_strategy", "split_shipment"},
                      {"items", {{{"order_item_id", 1}, {"quantity", 2}}}}});
  REQUIRE(over.status == 422);
  REQUIRE(t.call("GET", "/orders/" + id + "/fulfillment-plan").json()["plan_id"] == plan);
  REQUIRE(t.call("PATCH", "/orders/fulfillment-plans/" + plan + "/status", {{"status", "completed"}}).status == 409);
  REQUIRE(t.call("PATCH", "/orders/fulfillment-plans/" + plan + "/status", {{"status", "in_progress"}}).status == 200);
  auto done = t.call("PATCH", "/orders/fulfillment-plans/" + plan + "/status",
                     {{"status", "completed"}, {"actual_processing_time", 42}});
  REQUIRE(done.status == 200);
  REQUIRE(done.json()["actual_processing_time"] == 42);
  REQUIRE(t.call("PATCH", "/orders/fulfillment-plans/" + plan + "/status", {{"status", "cancelled"}}).status == 409);
  REQUIRE(t.call("PATCH", "/orders/fulfillment-plans/b0000000-0000-4000-8000-000000000000/status",
                 {{"status", "cancelled"}}).status == 404);
  auto pending = t.add_order("pending");
  REQUIRE(t.call("POST", "/orders/" + pending + "/fulfillment-plan",
                 {{"warehouse_id", "WH-001"}, {"fulfillment_strategy", "dropship"},
                  {"items", {{{"order_item_id", 1}, {"quantity", 1}}}}}).status == 409);
  REQUIRE(t.call("GET", "/orders/" + pending + "/fulfillment-plan").json().is_null());
  REQUIRE(t.call("GET", "/orders/" + id + "/fulfillment-plans").json().size() == 1);
}

TEST_CASE("three failed delivery attempts fail the shipment and publish delivery_failed", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order("shipped");
  auto ship = t.add_shipment(id);
  for (int i = 1; i <= 3; ++i) {
    auto r = t.call("POST", "/orders/" + id + "/delivery-attempts",
                    {{"shipment_id", ship}, {"attempt_number", i}, {"status", "customer_not_home"},
                     {"failure_reason", "nobody home"}});
    INFO(r.body);
    REQUIRE(r.status == 201);
    REQUIRE(r.json()["attempt_number"] == i);
  }
  REQUIRE(t.f.eventually([&] { return !t.f.events("order.delivery_failed").empty(); }));
  REQUIRE(t.text("SELECT status FROM orders.partial_shipments WHERE shipment_id = '" + ship + "'") == "failed");
  auto failed = t.f.events("order.delivery_failed");
  REQUIRE(failed.size() == 1);  // published once, by the transaction that failed the shipment
  auto payload = json::parse(failed[0].payload);
  REQUIRE(payload["attempts"] == 3);
  REQUIRE(payload["failure_reason"] == "nobody home");
  auto fourth = t.call("POST", "/orders/" + id + "/delivery-attempts",
                       {{"shipment_id", ship}, {"attempt_number", 4}, {"status", "failed"}, {"failure_reason", "x"}});
  REQUIRE(fourth.status == 409);
  REQUIRE(t.call("GET", "/orders/" + id + "/delivery-attempts").json().size() == 3);
}

TEST_CASE("delivery attempts: numbering, validation and a successful delivery", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order("shipped");
  auto ship = t.add_shipment(id);
  REQUIRE(t.call("POST", "/orders/" + id + "/delivery-attempts",
                 {{"shipment_id", ship}, {"attempt_number", 2}, {"status", "failed"}, {"failure_reason", "x"}})
              .status == 409);
  REQUIRE(t.call("POST", "/orders/" + id + "/delivery-attempts", {{"shipment_id", ship}, {"status", "failed"}})
              .status == 422);  // failure_reason missing
  REQUIRE(t.call("POST", "/orders/" + id + "/delivery-attempts",
                 {{"shipment_id", "b0000000-0000-4000-8000-000000000000"}, {"status", "successful"}}).status == 422);
  REQUIRE(t.call("POST", "/orders/" + id + "/delivery-attempts",
                 {{"shipment_id", ship}, {"status", "successful"}, {"attempted_at", "2999-01-01T00:00:00Z"}})
              .status == 422);
  auto ok = t.call("POST", "/orders/" + id + "/delivery-attempts", {{"shipment_id", ship}, {"status", "successful"}});
  INFO(ok.body);
  REQUIRE(ok.status == 201);
  REQUIRE(t.text("SELECT status FROM orders.partial_shipments WHERE shipment_id = '" + ship + "'") == "delivered");
  REQUIRE(t.call("POST", "/orders/" + id + "/delivery-attempts", {{"shipment_id", ship}, {"status", "successful"}})
              .status == 409);
}

TEST_CASE("cancellation requests: one pending, reject, approve cancels the order", "[order][enhanced]") {
  enhanced_fixture t;
  auto id = t.add_order();
  auto r = t.call("POST", "/orders/" + id + "/cancellation-requests",
                  {{"requested_by", "CUST-001"}, {"reason", "customer_request"}, {"detailed_reason", "changed mind"}});
  REQUIRE(r.status == 201);
  std::string first = r.json()["request_id"];
  REQUIRE(r.json()["status"] == "pending");
  auto dup = t.call("POST", "/orders/" + id + "/cancellation-requests",
                    {{"requested_by", "CUST-001"}, {"reason", "other"}});
  REQUIRE(dup.status == 409);
  REQUIRE(dup.json()["detail"] == "A cancellation request is already pending");
  REQUIRE(t.call("POST", "/orders/" + id + "/cancellation-requests", {{"requested_by", "x"}, {"reason", "bored"}})
              .status == 422);
  REQUIRE(t.call("GET", "/orders/cancellation-requests/pending").json().size() == 1);

  auto rejected = t.call("POST", "/orders/cancellation-requests/" + first + "/review",
                         {{"status", "rejected"}, {"reviewed_by", "lead"}, {"review_notes", "already packed"}});
  REQUIRE(rejected.status == 200);
  REQUIRE(rejected.json()["status"] == "rejected");
  REQUIRE(t.call("POST", "/orders/cancellation-requests/" + first + "/review",
                 {{"status", "approved"}, {"reviewed_by", "lead"}}).status == 409);
  REQUIRE(t.call("POST", "/orders/cancellation-requests/b0000000-0000-4000-8000-000000000000/review",
                 {{"status", "approved"}, {"reviewed_by", "lead"}}).json()["detail"] == "Cancellation request not found");

  auto second = t.call("POST", "/orders/" + id + "/cancellation-requests",
                       {{"requested_by", "CUST-001"}, {"reason", "duplicate_order"}}).json()["request_id"];
  REQUIRE(t.call("POST", "/orders/cancellation-requests/" + second.get<std::string>() + "/review",
                 {{"status", "approved"}, {"reviewed_by", "lead"}, {"refund_amount", 10}}).status == 422);  // nothing captured
  auto approved = t.call("POST", "/orders/cancellation-requests/" + second.get<std::string>() + "/review",
                         {{"status", "approved"}, {"reviewed_by", "lead"}});
  INFO(approved.body);
  REQUIRE(approved.status == 200);
  REQUIRE(approved.json()["status"] == "completed");
  REQUIRE(t.text("SELECT status FROM orders.orders WHERE order_id = '" + id + "'") == "cancelled");
  REQUIRE(t.f.eventually([&] { return t.f.events("order.cancellation_reviewed").size() == 2; }));
  REQUIRE(t.f.events("order.cancellation_requested").size() == 2);
  REQUIRE(t.call("GET", "/orders/" + id + "/cancellation-requests").json().size() == 2);
  REQUIRE(t.call("POST", "/orders/" + id + "/cancellation-requests", {{"requested_by", "x"}, {"reason", "other"}})
              .status == 409);
}

TEST_CASE("sales analytics and KPIs count revenue net of refunds with growth", "[order][enhanced]") {
  enhanced_fixture t;
  t.add_order("confirmed", "now() - interval '1 day'");
  t.add_order("delivered", "now() - interval '2 days'");
  t.add_order("pending", "now() - interval '1 day'");     // not counted
  t.add_order("cancelled", "now() - interval '1 day'");   // not counted
  t.add_order("confirmed", "now() - interval '40 days'");  // previous 30 days
  t.f.database().exec("UPDATE orders.orders SET amount_captured = 73, amount_refunded = 3 WHERE status = 'delivered'");
  auto sales = t.call("GET", "/analytics/sales?timeRange=30d");
  REQUIRE(sales.status == 200);
  auto s = sales.json();
  REQUIRE(s["total_orders"] == 2);
  REQUIRE(s["total_revenue"].get<double>() == Approx(143.0));
  REQUIRE(s["avg_order_value"].get<double>() == Approx(71.5));
  REQUIRE(s["growth"].get<double>() == Approx(95.89));  // 143 vs 73
  REQUIRE(s["orderGrowth"].get<double>() == Approx(100.0));
  REQUIRE(s["conversion_rate"].is_null());
  REQUIRE(s["top_products"][0]["name"] == "Widget");
  REQUIRE(s["top_products"][0]["units"] == 8);
  auto kpis = t.call("GET", "/analytics/kpis?timeRange=7d").json();
  REQUIRE(kpis["totalOrders"] == 2);
  REQUIRE(kpis["ordersGrowth"].is_null());  // nothing in the previous 7 days
  REQUIRE(t.call("GET", "/analytics/kpis?timeRange=5w").status == 422);
  auto custom = t.call("GET", "/analytics/sales?startDate=2000-01-01&endDate=2000-01-31").json();
  REQUIRE(custom["total_orders"] == 0);
  REQUIRE(t.call("GET", "/analytics/sales?startDate=2000-13-01&endDate=2000-01-31").status == 422);
}
