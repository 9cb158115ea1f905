// Transactional outbox and relay on a migrated database: one publication per committed change,
// nothing for a rolled-back one, recovery of leftovers at start, order per aggregate, consumer dedup.
#include <algorithm>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/outbox.hpp"
#include "support/db_fixture.hpp"
#include "support/plan_capture.hpp"
#include "mercato/event.hpp"

using namespace mercato;
using test::migrated_database;
using namespace std::chrono_literals;

namespace {

const db::outbox orders_outbox{"orders"};

// What the bus delivered for "orders.*".
class collector {
 public:
  explicit collector(event_bus& bus) {
    bus.subscribe("orders.*", [this](const event& e) {
      std::lock_guard<std::mutex> guard{mutex_};
      seen_.push_back(e);
    });
  }
  std::vector<event> events() const {
    std::lock_guard<std::mutex> guard{mutex_};
    return seen_;
  }
  size_t count(const std::string& event_id) const {
    size_t n = 0;
    for (const auto& e : events()) n += e.event_id == event_id;
    return n;
  }
  // Waits until `event_id` was delivered (at least once).
  bool wait_for(const std::string& event_id) const {
    return test::eventually([&] { return count(event_id) > 0; }, 5s);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<event> seen_;
};

// A relay of the test database's "orders" outbox.
db::relay_settings relay_for(const test::fresh_database& database) {
  db::relay_settings s;
  s.url = database.url();
  s.schemas = {"orders"};
  s.poll_interval = 50ms;
  return s;
}

event enqueue_committed(pqxx::connection& c, const std::string& aggregate, std::string payload = "{}") {
  auto e = make_event("orders", "order_created", std::move(payload), "corr-1");
  pqxx::work tx{c};
  orders_outbox.enqueue(tx, e, aggregate);
  tx.commit();
  return e;
}

}  // namespace

TEST_CASE_METHOD(migrated_database, "a committed event is published once, as written", "[db][outbox]") {
  event_bus bus;
  collector seen{bus};
  db::outbox_relay relay{relay_for(*this), bus};
  relay.start();
  auto c = connect();

  const auto e = enqueue_committed(*c, "order-1", R"({"order_id":"order-1","total":{"amount":1250,"currency":"EUR"}})");
  relay.wake();
  REQUIRE(seen.wait_for(e.event_id));
  // A later event is published by a later pass: the first one was not published again.
  const auto marker = enqueue_committed(*c, "order-2");
  relay.wake();
  REQUIRE(seen.wait_for(marker.event_id));
  CHECK(seen.count(e.event_id) == 1);
  CHECK(test::eventually([&] { return relay.published() == 2; }));  // counted after its commit

  const auto got = seen.events().front();
  CHECK(got.event_id == e.event_id);
  CHECK(got.name == "orders.order_created");
  CHECK(got.publisher == e.publisher);
  CHECK(got.correlation_id == "corr-1");
  CHECK(got.occurred_at == e.occurred_at);
  CHECK(nlohmann::json::parse(got.payload) == nlohmann::json::parse(e.payload));  // jsonb re-renders
  // Settled rows are deleted by a later pass (the next wake, or settle_after after the last one).
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
  CHECK(seen.events().size() == 2);
}

TEST_CASE_METHOD(migrated_database, "a rolled-back change publishes nothing", "[db][outbox]") {
  event_bus bus;
  collector seen{bus};
  db::outbox_relay relay{relay_for(*this), bus};
  relay.start();
  auto c = connect();

  const auto rolled_back = make_event("orders", "order_created", "{}");
  {
    pqxx::work tx{*c};
    orders_outbox.enqueue(tx, rolled_back, "order-1");
    tx.abort();
  }
  relay.wake();
  const auto marker = enqueue_committed(*c, "order-2");
  relay.wake();
  REQUIRE(seen.wait_for(marker.event_id));
  CHECK(seen.count(rolled_back.event_id) == 0);
  CHECK(seen.events().size() == 1);
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
}

TEST_CASE_METHOD(migrated_database, "events written by the change's own statement are published with it, none if it wrote nothing",
                 "[db][outbox]") {
  event_bus bus;
  collector seen{bus};
  db::outbox_relay relay{relay_for(*this), bus};
  relay.start();
  auto c = connect();
  exec("CREATE TABLE orders.cte_probe (id text PRIMARY KEY)");

  // One autocommit statement: the change (a row) and its two events, conditional on the row.
  auto write = [&](const std::string& id, const std::vector<event>& events) {
    db::outbox_rows rows;
    for (const auto& e : events) rows.add(e, id);
    pqxx::nontransaction tx{*c};
    return tx.exec_params("WITH p AS (INSERT INTO orders.cte_probe (id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id),"
                          " ev AS (" + orders_outbox.insert_rows_sql(2, "EXISTS (SELECT 1 FROM p)") + ")"
                          " SELECT count(*) FROM p",
                          id, rows.json())[0][0].as<int>();
  };
  const auto created = make_event("orders", "order_created", R"({"order_id":"o-1","note":"quote \" and é"})", "corr-9");
  const auto confirmed = make_event("orders", "order_confirmed", R"({"order_id":"o-1"})", "corr-9");
  REQUIRE(write("o-1", {created, confirmed}) == 1);
  const auto duplicate = make_event("orders", "order_created", "{}");
  REQUIRE(write("o-1", {duplicate}) == 0);  // the row existed: no change, so no event
  relay.wake();
  REQUIRE(seen.wait_for(confirmed.event_id));

  auto got = seen.events();
  REQUIRE(got.size() == 2);
  CHECK(got[0].event_id == created.event_id);  // in the order given
  CHECK(got[1].event_id == confirmed.event_id);
  CHECK(got[0].name == "orders.order_created");
  CHECK(got[0].correlation_id == "corr-9");
  CHECK(got[0].occurred_at == created.occurred_at);
  CHECK(nlohmann::json::parse(got[0].payload) == nlohmann::json::parse(created.payload));
  CHECK(seen.count(duplicate.event_id) == 0);
}

TEST_CASE_METHOD(migrated_database, "events committed while no relay ran are published at its start",
                 "[db][outbox]") {
  auto c = connect();
  const auto left_over = enqueue_committed(*c, "order-1");  // then the process "crashed"
  CHECK(value<int>("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL") == 1);

  event_bus bus;
  collector seen{bus};
  db::relay_settings settings = relay_for(*this);
  settings.poll_interval = 10s;  // only the first pass can publish it within the wait below
  db::outbox_relay relay{settings, bus};
  relay.start();
  REQUIRE(seen.wait_for(left_over.event_id));
  CHECK(seen.count(left_over.event_id) == 1);
  CHECK(test::eventually(
      [&] { return value<int>("SELECT count(*) FROM orders.outbox WHERE published_at IS NULL") == 0; }));
}

TEST_CASE_METHOD(migrated_database, "events of one aggregate are published in order", "[db][outbox]") {
  event_bus bus;
  collector seen{bus};
  auto settings = relay_for(*this);
  settings.batch = 7;  // several batches and passes while events are still being written
  db::outbox_relay relay{settings, bus};
  relay.start();
  auto c = connect();

  constexpr int count = 50;
  std::vector<std::string> written;
  for (int i = 0; i < count; ++i) {
    written.push_back(enqueue_committed(*c, "order-42", "{\"seq\": " + std::to_string(i) + "}").event_id);
    if (i % 5 == 0) relay.wake();
  }
  relay.wake();
  REQUIRE(seen.wait_for(written.back()));
  std::vector<std::string> published;
  for (const auto& e : seen.events()) published.push_back(e.event_id);
  CHECK(published == written);
}

TEST_CASE_METHOD(migrated_database, "mark_processed de-duplicates deliveries per consumer", "[db][outbox]") {
  const auto id = make_event("orders", "order_created", "{}").event_id;
  auto c = connect();
  auto mark = [&](const std::string& consumer, bool commit) {
    pqxx::work tx{*c};
    const bool first = db::mark_processed(tx, "payments", id, consumer);
    if (commit) tx.commit();
    return first;
  };
  CHECK(mark("payments.capture", false));  // rolled back: not recorded
  CHECK(mark("payments.capture", true));
  CHECK_FALSE(mark("payments.capture", true));
  CHECK(mark("payments.refund", true));  // another consumer of the same event
}

TEST_CASE_METHOD(migrated_database, "wake(schema) drains that outbox, the sweep finds the others",
                 "[db][outbox]") {
  event_bus bus;
  collector seen{bus};
  db::relay_settings settings = relay_for(*this);
  settings.schemas = {"orders", "payments"};
  settings.poll_interval = 10s;  // no sweep inside this test after the first pass
  db::outbox_relay relay{settings, bus};
  auto c = connect();
  const auto left_over = enqueue_committed(*c, "order-0");
  relay.start();
  REQUIRE(seen.wait_for(left_over.event_id));  // the start's sweep has read the orders outbox
  // Settled at once (no durable consumer), so deleted by a pass settle_after later; after that
  // nothing is due in the orders outbox.
  REQUIRE(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));

  // An "orders" event while only "payments" is woken stays put: a wake drains its own outbox.
  const auto order_event = enqueue_committed(*c, "order-1");
  relay.wake("payments");
  std::this_thread::sleep_for(300ms);
  CHECK(seen.count(order_event.event_id) == 0);
  CHECK(value<int>("SELECT count(*) FROM orders.outbox") == 1);

  relay.wake("orders");
  REQUIRE(seen.wait_for(order_event.event_id));

  // A schema the relay does not know wakes every outbox.
  const auto second = enqueue_committed(*c, "order-2");
  relay.wake("no_such_schema");
  REQUIRE(seen.wait_for(second.event_id));
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
}

namespace {

// A durable consumer of "orders.*" on `bus` that records what it was given and acknowledges only
// when told to.
class durable_consumer {
 public:
  explicit durable_consumer(event_bus& bus) : bus_(bus) {
    bus_.declare_consumer("test.consumer", {"orders.*"});
    token_ = bus_.attach("test.consumer", [this](const event& e) {
      std::lock_guard<std::mutex> guard{mutex_};
      seen_.push_back(e.event_id);
    });
  }
  ~durable_consumer() { bus_.detach("test.consumer", token_); }
  bool wait_for(const std::string& event_id) const {
    return test::eventually([&] {
      std::lock_guard<std::mutex> guard{mutex_};
      return std::count(seen_.begin(), seen_.end(), event_id) > 0;
    }, 5s);
  }
  void ack(const std::string& event_id) { bus_.ack("test.consumer", event_id); }

 private:
  event_bus& bus_;
  uint64_t token_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> seen_;
};

}  // namespace

TEST_CASE_METHOD(migrated_database, "an event a durable consumer holds keeps its row until acknowledged",
                 "[db][outbox]") {
  event_bus bus;
  durable_consumer consumer{bus};
  collector plain{bus};
  db::outbox_relay relay{relay_for(*this), bus};
  relay.start();
  auto c = connect();

  const auto e = enqueue_committed(*c, "order-1");
  relay.wake();
  REQUIRE(consumer.wait_for(e.event_id));
  // Published once (the row is skipped by later passes while held), and its row is still there.
  relay.wake();
  std::this_thread::sleep_for(200ms);  // several passes (poll 50 ms)
  CHECK(plain.count(e.event_id) == 1);
  CHECK(value<int>("SELECT count(*) FROM orders.outbox") == 1);

  consumer.ack(e.event_id);
  relay.wake();
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
  CHECK(plain.count(e.event_id) == 1);
}

TEST_CASE_METHOD(migrated_database,
                 "an event still unacknowledged when the process dies is published again at the next start",
                 "[db][outbox]") {
  auto c = connect();
  event e;
  {
    event_bus bus;
    durable_consumer consumer{bus};
    db::relay_settings settings = relay_for(*this);
    settings.mark_after = 100ms;
    db::outbox_relay relay{settings, bus};
    relay.start();
    e = enqueue_committed(*c, "order-1");
    relay.wake();
    REQUIRE(consumer.wait_for(e.event_id));
    // Held past mark_after: the row is marked published, and kept.
    CHECK(test::eventually([&] {
      return value<int>("SELECT count(*) FROM orders.outbox WHERE published_at IS NOT NULL") == 1;
    }));
  }  // the "crash": bus, consumer and relay are gone, the acknowledgement never came

  event_bus bus;
  durable_consumer consumer{bus};
  db::relay_settings settings = relay_for(*this);
  settings.poll_interval = 10s;  // only the start's recovery pass can publish it within the wait
  db::outbox_relay relay{settings, bus};
  relay.start();
  REQUIRE(consumer.wait_for(e.event_id));
  consumer.ack(e.event_id);
  relay.wake();
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
}

TEST_CASE_METHOD(migrated_database, "a relay pass reads the pending index in id order, never the whole of it",
                 "[db][outbox][plans]") {
  // 300 rows published and deleted (dead until a vacuum) and 3 pending: the pass on the relay's
  // session settings walks outbox_pending in id order and stops after its batch. A bitmap scan
  // would read every entry, the dead rows' too (session 14: 2,700 a pass under the orders bench).
  auto writer = connect();
  exec("INSERT INTO orders.outbox (events) SELECT jsonb_build_array(jsonb_build_object('event_id',"
       " gen_random_uuid()::text, 'aggregate_id', 'dead-' || i, 'name', 'orders.order_created', 'publisher', 'orders',"
       " 'correlation_id', '', 'payload', '{}', 'occurred_at', '2026-11-26T00:00:00.000Z')) FROM generate_series(1, 300) i");
  exec("DELETE FROM orders.outbox");
  event_bus bus;
  collector seen{bus};
  db::relay_settings settings = relay_for(*this);
  settings.batch = 2;
  db::outbox_relay relay{settings, bus};
  auto c = connect();
  db::outbox_relay::configure_session(*c);
  CHECK(relay.drain_once(*c) == 0);  // the start's recovery pass (it reads every row, by id)

  std::vector<event> pending;
  for (int i = 0; i < 3; ++i) pending.push_back(enqueue_committed(*writer, "order-" + std::to_string(i)));
  test::plan_capture plans{*c};
  CHECK(relay.drain_once(*c) == 3);  // two passes: a full batch, then the rest
  for (const auto& e : pending) CHECK(seen.count(e.event_id) == 1);

  const auto passes = plans.plans_of("FROM orders.outbox");
  REQUIRE(passes.size() >= 2);
  for (const auto& plan : passes) {
    INFO(plan);
    CHECK(plan.find("Index Scan using outbox_pending on outbox") != std::string::npos);
    CHECK(plan.find("Bitmap") == std::string::npos);
    CHECK(plan.find("Seq Scan") == std::string::npos);
  }
}

TEST_CASE_METHOD(migrated_database,
                 "a shared statement's events are one outbox row, published in order, kept while any is held",
                 "[db][outbox]") {
  // Two documents of one statement (as db::batch_queue shares them): the first with two events,
  // the second with one. The second document comes first in the input: events follow `n`.
  std::vector<event> first{make_event("orders", "order_confirmed", R"({"order_id":"o-1"})", "o-1"),
                           make_event("orders", "order_status_updated", R"({"order_id":"o-1"})", "o-1")};
  std::vector<event> second{make_event("orders", "order_confirmed", R"({"order_id":"o-2"})", "o-2")};
  auto document = [](int n, const std::string& aggregate, const std::vector<event>& events) {
    db::outbox_rows rows;
    for (const auto& e : events) rows.add(e, aggregate);
    return nlohmann::json{{"n", n}, {"events", rows.array()}};
  };
  const auto docs = nlohmann::json::array({document(2, "o-2", second), document(1, "o-1", first)});
  {
    auto c = connect();
    pqxx::nontransaction tx{*c};
    tx.exec_params("WITH c AS (SELECT (d->>'n')::int AS n, d AS j FROM jsonb_array_elements($1::jsonb) AS d),"
                   " ev AS (" + orders_outbox.insert_rows_sql("c", "c.j->'events'") + ") SELECT 1",
                   docs.dump());
  }
  CHECK(value<int>("SELECT count(*) FROM orders.outbox") == 1);
  CHECK(value<std::string>("SELECT string_agg(aggregate_id || ':' || name, ',' ORDER BY position)"
                           " FROM orders.outbox_events") ==
        "o-1:orders.order_confirmed,o-1:orders.order_status_updated,o-2:orders.order_confirmed");
  CHECK(value<std::string>("SELECT payload->>'order_id' FROM orders.outbox_events WHERE position = 3") == "o-2");
  {
    auto c = connect();
    pqxx::read_transaction tx{*c};
    const auto backlog = orders_outbox.read_backlog(tx);
    CHECK(backlog.pending == 3);
    CHECK(backlog.failed == 0);
    CHECK(backlog.oldest_age_seconds >= 0);
  }

  event_bus bus;
  durable_consumer consumer{bus};
  collector plain{bus};
  db::outbox_relay relay{relay_for(*this), bus};
  relay.start();
  REQUIRE(consumer.wait_for(second[0].event_id));
  std::vector<std::string> published;
  for (const auto& e : plain.events()) published.push_back(e.event_id);
  CHECK(published == std::vector<std::string>{first[0].event_id, first[1].event_id, second[0].event_id});
  CHECK(plain.events()[1].payload == first[1].payload);
  CHECK(test::eventually([&] { return relay.published() == 3; }));  // counted after the batch

  // Two of the three acknowledged: the row stays, for the one still held.
  consumer.ack(first[0].event_id);
  consumer.ack(second[0].event_id);
  relay.wake();
  std::this_thread::sleep_for(200ms);  // several passes (poll 50 ms, settle 50 ms)
  CHECK(value<int>("SELECT count(*) FROM orders.outbox") == 1);
  consumer.ack(first[1].event_id);
  relay.wake();
  CHECK(test::eventually([&] { return value<int>("SELECT count(*) FROM orders.outbox") == 0; }));
  CHECK(plain.events().size() == 3);  // published once each
}
