// Idempotency store (Stripe semantics) in a migrated database: byte-for-byte replay, mismatches,
// key limits, one execution under concurrent duplicates, rollback freeing a key, expiry and prune.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "db/idempotency_store.hpp"
#include "support/db_fixture.hpp"

using namespace mercato;
using db::claim_state;
using test::migrated_database;
using namespace std::chrono_literals;

namespace {

const db::idempotency_store store{"orders"};
constexpr auto endpoint = "POST /orders";

// Claims `key` in its own transaction on `c`; when claimed, saves `response` and commits.
db::claim_result claim_and_save(pqxx::connection& c, const std::string& key, const std::string& fp,
                                const db::stored_response& response, const char* on = endpoint) {
  pqxx::work tx{c};
  auto r = store.claim(tx, key, on, fp);
  if (r.state == claim_state::claimed) store.save(tx, key, response);
  tx.commit();
  return r;
}

}  // namespace

TEST_CASE_METHOD(migrated_database, "a repeated request replays the stored response byte for byte",
                 "[db][idempotency]") {
  const std::string body = "{\"id\":\"ord_1\",\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\\n\"}\r\n  \t";
  const auto fp = db::idempotency_store::fingerprint("POST", "/orders", R"({"sku":"A1","qty":2})");
  auto c = connect();
  CHECK(claim_and_save(*c, "key-1", fp, {201, body}).state == claim_state::claimed);

  auto other = connect();  // a later request, on another connection
  pqxx::work tx{*other};
  auto again = store.claim(tx, "key-1", endpoint, fp);
  REQUIRE(again.state == claim_state::replay);
  CHECK(again.stored.status == 201);
  CHECK(again.stored.body.size() == body.size());
  CHECK(again.stored.body == body);
}

TEST_CASE_METHOD(migrated_database, "an answer given with the claim is stored without save()",
                 "[db][idempotency]") {
  const auto fp = db::idempotency_store::fingerprint("POST", "/orders", R"({"sku":"A1"})");
  auto c = connect();
  {
    pqxx::work tx{*c};
    const db::stored_response answer{201, R"({"order_id":"ord_7"})"};
    CHECK(store.claim(tx, "key-answer", endpoint, fp, &answer).state == claim_state::claimed);
    tx.commit();
  }
  pqxx::work tx{*c};
  auto again = store.claim(tx, "key-answer", endpoint, fp);
  REQUIRE(again.state == claim_state::replay);
  CHECK(again.stored.status == 201);
  CHECK(again.stored.body == R"({"order_id":"ord_7"})");
}

TEST_CASE_METHOD(migrated_database, "the same key with another request or endpoint is a mismatch",
                 "[db][idempotency]") {
  const auto fp = db::idempotency_store::fingerprint("POST", "/orders", R"({"qty":1})");
  const auto other_fp = db::idempotency_store::fingerprint("POST", "/orders", R"({"qty":2})");
  CHECK(fp == db::idempotency_store::fingerprint("POST", "/orders", R"({"qty":1})"));
  CHECK(fp != other_fp);
  CHECK(fp != db::idempotency_store::fingerprint("PUT", "/orders", R"({"qty":1})"));
  CHECK(fp != db::idempotency_store::fingerprint("POST", "/carts", R"({"qty":1})"));

  auto c = connect();
  claim_and_save(*c, "key-2", fp, {201, "created"});
  pqxx::work tx{*c};
  CHECK(store.claim(tx, "key-2", endpoint, other_fp).state == claim_state::mismatch);
  CHECK(store.claim(tx, "key-2", "POST /carts", fp).state == claim_state::mismatch);
  CHECK(store.claim(tx, "key-2", endpoint, fp).state == claim_state::replay);
}

TEST_CASE_METHOD(migrated_database, "peek tells what a claim would decide and claims nothing",
                 "[db][idempotency]") {
  const auto fp = db::idempotency_store::fingerprint("POST", "/orders", R"({"qty":1})");
  auto c = connect();
  claim_and_save(*c, "key-peek", fp, {201, R"({"order_id":"ord_9"})"});
  claim_and_save(*c, "key-old", fp, {201, "old"});
  exec("UPDATE orders.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key-old'");
  pqxx::work tx{*c};
  auto replay = store.peek(tx, "key-peek", endpoint, fp);
  REQUIRE(replay);
  CHECK(replay->state == claim_state::replay);
  CHECK(replay->stored.status == 201);
  CHECK(replay->stored.body == R"({"order_id":"ord_9"})");
  auto other = store.peek(tx, "key-peek", endpoint, "another-fp");
  REQUIRE(other);
  CHECK(other->state == claim_state::mismatch);
  CHECK_FALSE(store.peek(tx, "key-unused", endpoint, fp));
  CHECK_FALSE(store.peek(tx, "key-old", endpoint, fp));  // expired: a claim would take it
  CHECK(tx.exec1("SELECT count(*) FROM orders.idempotency_keys")[0].as<int>() == 2);
}

TEST_CASE("idempotency keys are 1 to 255 printable characters", "[db][idempotency]") {
  using db::idempotency_store;
  CHECK(idempotency_store::valid_key("a"));
  CHECK(idempotency_store::valid_key("9f1c2a5e-6b7d-4c3e-8f00-123456789abc"));
  CHECK(idempotency_store::valid_key(std::string(255, 'k')));
  CHECK_FALSE(idempotency_store::valid_key(""));
  CHECK_FALSE(idempotency_store::valid_key(std::string(256, 'k')));
  CHECK_FALSE(idempotency_store::valid_key("key\n"));
  CHECK_FALSE(idempotency_store::valid_key("key\t1"));
  CHECK_FALSE(idempotency_store::valid_key(std::string("k\0y", 3)));
  CHECK_FALSE(idempotency_store::valid_key("key\x7f"));
  CHECK_FALSE(idempotency_store::valid_key("cl\xc3\xa9"));
}

TEST_CASE_METHOD(migrated_database, "concurrent requests with one key execute once", "[db][idempotency]") {
  exec("CREATE TABLE orders.idempotent_effects (thread integer NOT NULL)");
  constexpr int clients = 8;
  const auto fp = db::idempotency_store::fingerprint("POST", "/orders", "{}");
  std::vector<std::unique_ptr<pqxx::connection>> connections;
  for (int i = 0; i < clients; ++i) connections.push_back(connect());

  std::mutex mutex;
  std::vector<db::claim_result> results(clients);
  std::vector<std::string> errors;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      try {
        test::arrive_and_wait(ready, clients);
        pqxx::work tx{*connections[i]};
        auto r = store.claim(tx, "same-key", endpoint, fp);
        if (r.state == claim_state::claimed) {
          tx.exec_params("INSERT INTO orders.idempotent_effects VALUES ($1)", i);
          // Hold the claim until every other client waits on the key's row.
          test::eventually(
              [&] {
                pqxx::connection probe{url()};
                pqxx::nontransaction q{probe};
                return q.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                               " AND wait_event_type = 'Lock'")[0]
                           .as<int>() == clients - 1;
              },
              5s);
          store.save(tx, "same-key", {201, "made by client " + std::to_string(i)});
        }
        tx.commit();
        std::lock_guard<std::mutex> guard{mutex};
        results[i] = r;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> guard{mutex};
        errors.push_back(e.what());
      }
    });
  for (auto& t : threads) t.join();

  REQUIRE(errors.empty());
  CHECK(value<int>("SELECT count(*) FROM orders.idempotent_effects") == 1);
  const int winner = value<int>("SELECT thread FROM orders.idempotent_effects");
  for (int i = 0; i < clients; ++i) {
    INFO("client " << i);
    if (i == winner) {
      CHECK(results[i].state == claim_state::claimed);
    } else {
      CHECK(results[i].state == claim_state::replay);
      CHECK(results[i].stored.status == 201);
      CHECK(results[i].stored.body == "made by client " + std::to_string(winner));
    }
  }
}

TEST_CASE_METHOD(migrated_database, "a rolled-back claim frees the key", "[db][idempotency]") {
  auto c = connect();
  {
    pqxx::work tx{*c};
    REQUIRE(store.claim(tx, "key-3", endpoint, "first-request").state == claim_state::claimed);
    store.save(tx, "key-3", {500, "never committed"});
    tx.abort();
  }
  pqxx::work tx{*c};
  CHECK(store.claim(tx, "key-3", endpoint, "second-request").state == claim_state::claimed);
}

TEST_CASE_METHOD(migrated_database, "keys expire after 24 hours and prune deletes old ones",
                 "[db][idempotency]") {
  auto c = connect();
  for (const char* key : {"old-1", "old-2", "fresh"}) claim_and_save(*c, key, "fp", {200, key});
  exec("UPDATE orders.idempotency_keys SET created_at = now() - interval '25 hours'"
       " WHERE key IN ('old-1', 'old-2')");

  SECTION("an expired key can be claimed again, even for another request") {
    pqxx::work tx{*c};
    CHECK(store.claim(tx, "old-1", endpoint, "another-fp").state == claim_state::claimed);
    CHECK(store.claim(tx, "fresh", endpoint, "another-fp").state == claim_state::mismatch);
  }
  SECTION("prune deletes keys older than the retention, only those") {
    {
      pqxx::work tx{*c};
      CHECK(store.prune(tx, db::idempotency_store::retention) == 2);
      tx.commit();
    }
    CHECK(value<std::string>("SELECT string_agg(key, ',') FROM orders.idempotency_keys") == "fresh");
    pqxx::work tx{*c};
    CHECK(store.prune(tx, db::idempotency_store::retention) == 0);
  }
}
