// The HTTP tests' commerce server: the full server (all 26 agents) over a fresh migrated and
// seeded database of its own, with helpers to call agents on their legacy ports.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "db/database.hpp"
#include "prometheus_text.hpp"
#include "server_fixture.hpp"
#include "support/db_fixture.hpp"

namespace mercato::test {

using nlohmann::json;

// A server over its own seeded database.
struct commerce_server {
  migrated_database db;
  std::unique_ptr<test_server> server;

  explicit commerce_server(const std::function<void(config&)>& adjust = {}) {
    database_config seed_cfg;
    seed_cfg.url = db.url();
    seed_cfg.seed_dir = source_dir() + "/db/seed";
    db::seed(seed_cfg);
    server = std::make_unique<test_server>([this, &adjust](config& c) {
      c.database.url = db.url();
      c.database.migrations_dir = migrations_dir();
      c.database.pool_size = 4;
      if (adjust) adjust(c);
    });
  }

  // `client_timeout` bounds the test's own wait; it must stay above the gateway's deadline
  // wherever a test tells the gateway's answers apart from no answer.
  http_result call(std::string_view agent, const std::string& method, const std::string& target,
                   const json& body = nullptr, request_headers headers = {},
                   std::chrono::milliseconds client_timeout = std::chrono::seconds(5)) {
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    http_connection connection{server->legacy_port(agent), client_timeout};
    return connection.request(method, target, body.is_null() ? "" : body.dump(), headers);
  }
  http_result gateway(const std::string& method, const std::string& target, const json& body = nullptr) {
    request_headers headers;
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    return request(server->gateway_port(), method, target, body.is_null() ? "" : body.dump(), headers);
  }
  // Crashes the order agent once placements are in its hands (the gateway counts them in
  // flight): a fixed pause could pass before a slow machine's clients had sent one.
  void crash_order_mid_placement() {
    REQUIRE(eventually([&] {
      const auto v = parse_prometheus(gateway("GET", "/metrics").body).value("mercato_agent_in_flight",
                                                                            {{"agent", "order"}});
      return v && *v >= 1;
    }));
    server->admin("crash order");
  }
  int64_t available(const std::string& sku) {
    auto r = call("inventory", "GET", "/inventory/" + sku + "/availability?quantity=1");
    REQUIRE(r.status == 200);
    return json_body(r)["data"]["total_available"].get<int64_t>();
  }
};

inline json order_body(const std::string& customer, const std::string& sku, int qty,
                       const std::string& token = "tok_visa") {
  return json{{"customer_id", customer},
              {"items", json::array({json{{"product_id", sku}, {"quantity", qty}}})},
              {"payment_token", token}};
}

}  // namespace mercato::test
