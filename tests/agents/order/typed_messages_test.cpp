// The order agent's typed messages for other agents: list_orders_query, sales_summary,
// record_shipment_event and place_replacement_order, through the fixture's typed door.
#include <catch2/catch.hpp>

#include "inventory/inventory_messages.hpp"
#include "order/order_agent.hpp"
#include "order/order_messages.hpp"
#include "order_suite.hpp"
#include "support/agent_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;

namespace {

json order_body(int qty = 1, const std::string& customer = "CUST-001") {
  return {{"customer_id", customer}, {"payment_token", "tok_visa"}, {"items", {{{"product_id", "PROD-001"}, {"quantity", qty}}}}};
}

std::string today(agent_fixture& f) {
  return f.database().value<std::string>("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
}

}  // namespace

TEST_CASE("order typed: list_orders_query filters like GET /orders and sales_summary excludes cancelled",
          "[order][typed]") {
  auto f = make_order_fixture();
  auto a = f->post("order", "/orders", order_body(1, "CUST-001")).json();
  auto b = f->post("order", "/orders", order_body(2, "CUST-002")).json();
  REQUIRE(a["status"] == "confirmed");
  REQUIRE(b["status"] == "confirmed");
  REQUIRE(f->post("order", "/orders/" + b["order_id"].get<std::string>() + "/cancel", json{{"reason", "other"}}).status == 200);

  order::list_orders_query all;
  auto l = f->ask<order_actor, order::order_list>("order", all);
  REQUIRE(l.ok());
  CHECK(l->total == 2);
  REQUIRE(l->orders.size() == 2);
  CHECK(l->orders[0].order_id == b["order_id"]);  // newest first
  CHECK(l->orders[0].view["items"].size() == 1);

  order::list_orders_query q;
  q.filter.customer_id = "CUST-001";
  q.filter.statuses = {"confirmed"};
  q.filter.limit = 1;
  auto one = f->ask<order_actor, order::order_list>("order", q);
  REQUIRE(one.ok());
  CHECK(one->total == 1);
  REQUIRE(one->orders.size() == 1);
  CHECK(one->orders[0].order_id == a["order_id"]);
  CHECK(one->orders[0].total_amount == 21649);

  order::list_orders_query paged;
  paged.filter.skip = 1;
  paged.filter.limit = 1;
  auto second = f->ask<order_actor, order::order_list>("order", paged);
  REQUIRE(second.ok());
  CHECK(second->total == 2);
  REQUIRE(second->orders.size() == 1);
  CHECK(second->orders[0].order_id == a["order_id"]);

  order::list_orders_query bad_status;
  bad_status.filter.statuses = {"lost"};
  CHECK(f->ask<order_actor, order::order_list>("order", bad_status).error.kind == failure_kind::invalid);
  order::list_orders_query bad_sort;
  bad_sort.filter.sort_by = "customer_id; DROP TABLE x";
  CHECK(f->ask<order_actor, order::order_list>("order", bad_sort).error.kind == failure_kind::invalid);
  order::list_orders_query bad_limit;
  bad_limit.filter.limit = 0;
  CHECK(f->ask<order_actor, order::order_list>("order", bad_limit).error.kind == failure_kind::invalid);

  // sales: the cancelled order is not counted; revenue = total − refunded
  auto s = f->ask<order_actor, order::sales_summary_reply>("order", order::sales_summary{});
  REQUIRE(s.ok());
  CHECK(s->orders == 1);
  CHECK(s->revenue == 21649);
  CHECK(s->currency == "USD");
  REQUIRE(s->by_day.size() == 1);
  CHECK(s->by_day[0].key == today(*f));
  CHECK(s->by_day[0].orders == 1);
  CHECK(s->by_day[0].revenue == 21649);
  REQUIRE(s->by_channel.size() == 1);
  CHECK(s->by_channel[0].key == "direct");
  REQUIRE(s->top_products.size() == 1);
  CHECK(s->top_products[0].units == 1);
  CHECK(s->top_products[0].revenue == 19999);
  CHECK(s->top_products[0].name.empty() == false);
  // a bare date as `to` includes that day; a window before today is empty
  auto day = f->ask<order_actor, order::sales_summary_reply>("order", order::sales_summary{today(*f), today(*f), "day"});
  REQUIRE(day.ok());
  CHECK(day->orders == 1);
  auto past = f->ask<order_actor, order::sales_summary_reply>("order", order::sales_summary{"2020-01-01", "2020-01-31", "day"});
  REQUIRE(past.ok());
  CHECK(past->orders == 0);
  CHECK(past->revenue == 0);
  CHECK(past->by_day.empty());
  CHECK(past->top_products.empty());
  CHECK(f->ask<order_actor, order::sales_summary_reply>("order", order::sales_summary{"", "", "week"}).error.kind ==
        failure_kind::invalid);
  CHECK(f->ask<order_actor, order::sales_summary_reply>("order", order::sales_summary{"yesterday-ish", "", "day"})
            .error.kind == failure_kind::invalid);
  // the dashboard route shares the top-products query
  auto sales = f->get("order", "/analytics/sales?timeRange=7d").json();
  REQUIRE(sales["top_products"].size() == 1);
  CHECK(sales["top_products"][0]["units"] == 1);
  CHECK(sales["top_products"][0]["revenue"].get<double>() == Approx(199.99));
}

TEST_CASE("order typed: record_shipment_event moves a partial shipment, repeats change nothing", "[order][typed]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body(1)).json();
  REQUIRE(o["status"] == "confirmed");
  const std::string id = o["order_id"];
  auto sh = f->post("order", "/orders/" + id + "/shipments", json{{"items", {{{"order_item_id", 1}, {"quantity", 1}}}}});
  REQUIRE(sh.status == 201);
  const std::string sid = sh.json()["shipment_id"];
  auto send = [&](const std::string& status, const std::string& order = "", const std::string& shipment = "") {
    order::record_shipment_event e;
    e.order_id = order.empty() ? id : order;
    e.order_shipment_id = shipment.empty() ? sid : shipment;
    e.status = status;
    e.tracking_number = "1Z999";
    e.carrier = "UPS";
    return f->ask<order_actor, order::shipment_event_result>("order", e);
  };
  CHECK(send("in_transit", "00000000-0000-4000-8000-000000000000").error.kind == failure_kind::not_found);
  CHECK(send("in_transit", "", "00000000-0000-4000-8000-000000000000").error.kind == failure_kind::not_found);
  CHECK(send("teleported").error.kind == failure_kind::invalid);
  CHECK(count(*f, "SELECT count(*) FROM orders.partial_shipments WHERE status = 'pending'") == 1);

  auto label = send("label_created");  // tracking data only
  REQUIRE(label.ok());
  CHECK(label->applied == false);
  CHECK(label->status == "pending");
  CHECK(count(*f, "SELECT count(*) FROM orders.partial_shipments WHERE tracking_number = '1Z999'") == 1);

  auto moving = send("in_transit");  // hand-over (capture + stock commit), then in transit
  REQUIRE(moving.ok());
  CHECK(moving->applied);
  CHECK(moving->status == "in_transit");
  auto after = f->get("order", "/orders/" + id).json();
  CHECK(after["status"] == "shipped");
  CHECK(after["payment_status"] == "captured");
  auto again = send("in_transit");
  REQUIRE(again.ok());
  CHECK(again->applied == false);
  auto ofd = send("out_for_delivery");
  REQUIRE(ofd.ok());
  CHECK(ofd->status == "out_for_delivery");
  auto stale = send("picked_up");
  REQUIRE(stale.ok());
  CHECK(stale->applied == false);
  CHECK(stale->status == "out_for_delivery");

  auto delivered = send("delivered");
  REQUIRE(delivered.ok());
  CHECK(delivered->applied);
  CHECK(delivered->status == "delivered");
  CHECK(f->get("order", "/orders/" + id).json()["status"] == "delivered");
  auto twice = send("delivered");
  REQUIRE(twice.ok());
  CHECK(twice->applied == false);
  CHECK(count(*f, "SELECT quantity_delivered FROM orders.order_items WHERE order_id = '" + id + "'") == 1);
  CHECK(f->eventually([&] { return f->events("order.order_delivered").size() == 1; }));

  // a failed attempt, then a new round and the delivery
  auto o2 = f->post("order", "/orders", order_body(1, "CUST-002")).json();
  REQUIRE(o2["status"] == "confirmed");
  const std::string id2 = o2["order_id"];
  auto sh2 = f->post("order", "/orders/" + id2 + "/shipments", json{{"items", {{{"order_item_id", 1}, {"quantity", 1}}}}});
  REQUIRE(sh2.status == 201);
  const std::string sid2 = sh2.json()["shipment_id"];
  CHECK(send("in_transit", id2, sid).error.kind == failure_kind::not_found);  // not that order's shipment
  // the transport event takes the same path (a return-direction one is left to returns)
  json ev{{"shipment_id", "30000000-0000-4000-8000-000000000001"}, {"order_id", id2}, {"order_shipment_id", sid2},
          {"direction", "return"}, {"carrier_code", "UPS"}, {"tracking_number", "1Z2"}, {"status", "in_transit"}};
  f->bus().publish(make_event("transport", "shipment_status_updated", ev.dump(), id2));
  ev["direction"] = "outbound";
  ev["status"] = "failed_delivery";
  f->bus().publish(make_event("transport", "shipment_status_updated", ev.dump(), id2));
  CHECK(f->eventually([&] { return f->events("order.delivery_failed").size() == 1; }));
  CHECK(count(*f, "SELECT count(*) FROM orders.partial_shipments WHERE shipment_id = '" + sid2 +
                      "' AND status = 'failed' AND tracking_number = '1Z2'") == 1);
  CHECK(count(*f, "SELECT count(*) FROM orders.order_timeline WHERE order_id = '" + id2 +
                      "' AND event_type = 'shipment_in_transit'") == 0);
  CHECK(send("failed_delivery", id2, sid2)->applied == false);
  auto retry = send("out_for_delivery", id2, sid2);
  REQUIRE(retry.ok());
  CHECK(retry->applied);
  CHECK(retry->status == "out_for_delivery");
  auto done = send("delivered", id2, sid2);
  REQUIRE(done.ok());
  CHECK(done->status == "delivered");
  CHECK(f->get("order", "/orders/" + id2).json()["status"] == "delivered");
}

TEST_CASE("order typed: place_replacement_order at 0.00, idempotent by reference, stock reserved", "[order][typed]") {
  auto f = make_order_fixture();
  auto o = f->post("order", "/orders", order_body(2)).json();
  REQUIRE(o["status"] == "confirmed");
  const std::string id = o["order_id"];
  const std::string item = o["items"][0]["item_id"];

  order::place_replacement_order r;
  r.original_order_id = id;
  r.items = {{item, "", 1}};
  r.reason = "exchange";
  r.reference = "return:R-1:I-1";
  auto rep = f->ask<order_actor, order::order_view>("order", r);
  REQUIRE(rep.ok());
  CHECK(rep->status == "confirmed");
  CHECK(rep->payment_status == "not_required");
  CHECK(rep->total_amount == 0);
  CHECK(rep->view["channel"] == "replacement");
  CHECK(rep->view["replacement_of"] == id);
  CHECK(rep->view["customer_id"] == "CUST-001");
  CHECK(rep->view["shipping_address"] == o["shipping_address"]);
  REQUIRE(rep->view["items"].size() == 1);
  CHECK(rep->view["items"][0]["quantity"] == 1);
  CHECK(rep->view["items"][0]["unit_price"].get<double>() == Approx(0.0));
  CHECK(rep->view["items"][0]["product_id"] == o["items"][0]["product_id"]);
  CHECK(count(*f, "SELECT coalesce(sum(quantity), 0) FROM inventory.reservations WHERE order_id::text = '" +
                      rep->order_id + "' AND status = 'confirmed'") == 1);

  auto replay = f->ask<order_actor, order::order_view>("order", r);
  REQUIRE(replay.ok());
  CHECK(replay->order_id == rep->order_id);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE channel = 'replacement'") == 1);

  // by product id (SKU) too
  order::place_replacement_order by_product = r;
  by_product.items = {{"", "PROD-001", 2}};
  by_product.reference = "return:R-2:I-1";
  auto second = f->ask<order_actor, order::order_view>("order", by_product);
  REQUIRE(second.ok());
  CHECK(second->order_id != rep->order_id);
  CHECK(second->view["items"][0]["quantity"] == 2);

  // errors: nothing written
  order::place_replacement_order missing = r;
  missing.original_order_id = "00000000-0000-4000-8000-000000000000";
  missing.reference = "return:R-3";
  CHECK(f->ask<order_actor, order::order_view>("order", missing).error.kind == failure_kind::not_found);
  order::place_replacement_order too_many = r;
  too_many.items = {{item, "", 3}};
  too_many.reference = "return:R-4";
  auto tm = f->ask<order_actor, order::order_view>("order", too_many);
  CHECK(tm.error.kind == failure_kind::invalid);
  CHECK(tm.error.detail.find("quantity") != std::string::npos);
  order::place_replacement_order foreign = r;
  foreign.items = {{"", "PROD-003", 1}};
  foreign.reference = "return:R-5";
  CHECK(f->ask<order_actor, order::order_view>("order", foreign).error.kind == failure_kind::invalid);
  order::place_replacement_order empty = r;
  empty.items.clear();
  empty.reference = "return:R-6";
  CHECK(f->ask<order_actor, order::order_view>("order", empty).error.kind == failure_kind::invalid);
  order::place_replacement_order no_ref = r;
  no_ref.reference.clear();
  CHECK(f->ask<order_actor, order::order_view>("order", no_ref).error.kind == failure_kind::invalid);

  auto gone = f->post("order", "/orders", order_body(1, "CUST-002")).json();
  REQUIRE(f->post("order", "/orders/" + gone["order_id"].get<std::string>() + "/cancel", json{{"reason", "other"}}).status == 200);
  order::place_replacement_order of_cancelled = r;
  of_cancelled.original_order_id = gone["order_number"];
  of_cancelled.items = {{"1", "", 1}};
  of_cancelled.reference = "return:R-8";
  auto oc = f->ask<order_actor, order::order_view>("order", of_cancelled);
  CHECK(oc.error.kind == failure_kind::invalid);
  CHECK(oc.error.message == "Order in status 'cancelled' cannot be replaced");

  // insufficient stock: everything left of the product is held by another order
  auto avail = f->ask<inventory_actor, inventory::availability_report>(
      "inventory", inventory::check_availability{{{o["items"][0]["product_id"].get<std::string>(), 1, {}}}});
  REQUIRE(avail.ok());
  const std::string pid = o["items"][0]["product_id"];
  std::vector<inventory::stock_line> all_left;
  for (const auto& w : avail->lines.at(0).warehouses)
    if (w.available > 0) all_left.push_back({pid, w.available, w.warehouse_id});
  REQUIRE_FALSE(all_left.empty());
  auto hold = f->ask<inventory_actor, inventory::reservation_set>(
      "inventory", inventory::reserve_stock{"20000000-0000-4000-8000-000000000009", all_left, 600, false});
  INFO(hold.error.code << ": " << hold.error.message);
  REQUIRE(hold.ok());
  order::place_replacement_order short_stock = r;
  short_stock.reference = "return:R-7";
  auto ss = f->ask<order_actor, order::order_view>("order", short_stock);
  CHECK(ss.error.kind == failure_kind::conflict);
  CHECK(ss.error.code == "insufficient_stock");
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE channel = 'replacement'") == 2);
  CHECK(count(*f, "SELECT count(*) FROM orders.orders WHERE replacement_reference = 'return:R-7'") == 0);
  CHECK(f->database().orphan_references() == "");
}
