// The in-process event bus: pattern subscriptions, and durable consumers that hold events until
// acknowledged (plain C++, no actors: a consumer is a callback here).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mercato/event.hpp"

using namespace mercato;
using namespace std::chrono_literals;

namespace {

event order_event(const std::string& name, const std::string& id) {
  event e = make_event("order", name, "{}", id);
  e.event_id = id;
  return e;
}

std::vector<std::string> ids_of(const std::vector<event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event_id);
  return out;
}

event_bus::consumer_stats stats_of(const event_bus& bus, const std::string& consumer) {
  for (const auto& s : bus.consumers())
    if (s.consumer == consumer) return s;
  FAIL("no consumer " << consumer);
  return {};
}

}  // namespace

TEST_CASE("subscriptions match exact names, publisher wildcards and everything") {
  event_bus bus;
  std::vector<std::string> exact, publisher, all;
  bus.subscribe("order.order_confirmed", [&](const event& e) { exact.push_back(e.event_id); });
  auto id = bus.subscribe("order.*", [&](const event& e) { publisher.push_back(e.event_id); });
  bus.subscribe("*", [&](const event& e) { all.push_back(e.event_id); });
  bus.publish(order_event("order_confirmed", "e1"));
  bus.publish(order_event("order_created", "e2"));
  bus.publish(make_event("payment", "payment_authorized", "{}"));
  bus.unsubscribe(id);
  bus.publish(order_event("order_created", "e3"));
  CHECK(exact == std::vector<std::string>{"e1"});
  CHECK(publisher == std::vector<std::string>{"e1", "e2"});
  CHECK(all.size() == 4);
}

TEST_CASE("a throwing subscriber is skipped, the others still receive the event") {
  event_bus bus;
  int received = 0;
  bus.subscribe("*", [](const event&) { throw std::runtime_error("broken subscriber"); });
  bus.subscribe("*", [&](const event&) { ++received; });
  bus.publish(order_event("order_created", "e1"));
  CHECK(received == 1);
}

TEST_CASE("a durable consumer gets what was published while it was detached, in order") {
  event_bus bus;
  bus.declare_consumer("customer", {"order.*"});
  bus.publish(order_event("order_created", "e1"));
  bus.publish(make_event("payment", "payment_authorized", "{}"));  // not its pattern: not held
  bus.publish(order_event("order_confirmed", "e2"));
  CHECK(stats_of(bus, "customer").held == 2);

  std::vector<event> got;
  bus.attach("customer", [&](const event& e) { got.push_back(e); });
  CHECK(ids_of(got) == std::vector<std::string>{"e1", "e2"});
  bus.publish(order_event("order_shipped", "e3"));
  CHECK(ids_of(got) == std::vector<std::string>{"e1", "e2", "e3"});

  bus.ack("customer", "e1");
  bus.ack("customer", "e1");  // a second acknowledgement (a duplicate delivery) is harmless
  bus.ack("customer", "e3");
  CHECK(stats_of(bus, "customer").held == 1);
}

TEST_CASE("a new incarnation receives what the crashed one did not acknowledge") {
  event_bus bus;
  bus.declare_consumer("customer", {"order.*"});
  std::vector<event> first, second;
  auto token = bus.attach("customer", [&](const event& e) { first.push_back(e); });
  bus.publish(order_event("order_created", "e1"));
  bus.publish(order_event("order_confirmed", "e2"));
  bus.ack("customer", "e1");  // e2 was still in the mailbox when the incarnation crashed
  bus.detach("customer", token);
  bus.publish(order_event("order_shipped", "e3"));  // while restarting
  CHECK(ids_of(first) == std::vector<std::string>{"e1", "e2"});

  bus.attach("customer", [&](const event& e) { second.push_back(e); });
  CHECK(ids_of(second) == std::vector<std::string>{"e2", "e3"});
  auto s = stats_of(bus, "customer");
  CHECK(s.attached);
  CHECK(s.redelivered == 1);  // e2; e3 had never been delivered
}

TEST_CASE("a late detach from an old incarnation leaves the new one attached") {
  event_bus bus;
  bus.declare_consumer("customer", {"order.*"});
  int old_count = 0, new_count = 0;
  auto old_token = bus.attach("customer", [&](const event&) { ++old_count; });
  bus.attach("customer", [&](const event&) { ++new_count; });  // the replacement of a hung one
  bus.detach("customer", old_token);                              // the hung one exits at last
  bus.publish(order_event("order_created", "e1"));
  CHECK(old_count == 0);
  CHECK(new_count == 1);
  CHECK(stats_of(bus, "customer").attached);
}

TEST_CASE("events left unacknowledged are delivered again once stale") {
  event_bus bus;
  bus.declare_consumer("product", {"order.order_confirmed"});
  std::vector<std::string> got;
  bus.attach("product", [&](const event& e) { got.push_back(e.event_id); });
  bus.publish(order_event("order_confirmed", "e1"));
  bus.publish(order_event("order_confirmed", "e2"));
  bus.ack("product", "e2");
  CHECK(bus.redeliver_stale(1h) == 0);  // not stale yet
  CHECK(bus.redeliver_stale(0ms) == 1);
  CHECK(got == std::vector<std::string>{"e1", "e2", "e1"});
  // A re-publication of a held event (the outbox relay after a crash) is not held twice.
  bus.publish(order_event("order_confirmed", "e1"));
  CHECK(stats_of(bus, "product").held == 1);
}

TEST_CASE("a consumer's backlog is bounded: beyond the limit the oldest is dropped and counted") {
  event_bus bus;
  bus.declare_consumer("customer", {"order.*"});
  const size_t n = event_bus::max_held_per_consumer + 2;
  for (size_t i = 0; i < n; ++i) bus.publish(order_event("order_created", "e" + std::to_string(i)));
  auto s = stats_of(bus, "customer");
  CHECK(s.held == event_bus::max_held_per_consumer);
  CHECK(s.dropped == 2);
  std::string first;
  bus.attach("customer", [&](const event& e) {
    if (first.empty()) first = e.event_id;
  });
  CHECK(first == "e2");
}
