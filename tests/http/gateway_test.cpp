// HTTP tests of routing and conventions (DESIGN.md §3): legacy ports vs /api/<prefix>, every
// agent's platform routes, FastAPI errors, CORS, and the gateway's own endpoints and /metrics.
#include <catch2/catch.hpp>

#include <string>

#include "mercato/agent_spec.hpp"
#include "prometheus_text.hpp"
#include "server_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr const char* fastapi_not_found = R"({"detail":"Not Found"})";

}  // namespace

TEST_CASE("a legacy port and its gateway prefix reach the same agent", "[http][routing]") {
  test_server server;
  const auto legacy = server.get("order", "/health");
  const auto routed = server.get_gateway("/api/order/health");
  REQUIRE(legacy.status == 200);
  REQUIRE(routed.status == 200);
  const auto a = json_body(legacy);
  const auto b = json_body(routed);
  CHECK(a.at("agent_id") == "order_agent");
  CHECK(b.at("agent_id") == "order_agent");
  CHECK(a.at("incarnation") == b.at("incarnation"));
  CHECK(a.at("status") == "healthy");
  for (const char* field : {"uptime_seconds", "database", "restarts"}) CHECK(a.contains(field));

  // The query string is not part of the path; the bare prefix is the agent's root.
  CHECK(server.get_gateway("/api/order/health?verbose=1").status == 200);
  const auto root = server.get_gateway("/api/order");
  REQUIRE(root.status == 200);
  CHECK(json_body(root).at("agent") == "order");
}

TEST_CASE("all 26 agents answer /health on their legacy port and their prefix", "[http][routing]") {
  test_server server;
  REQUIRE(agent_registry().size() == 26);
  for (const auto& spec : agent_registry()) {
    const std::string name(spec.name);
    INFO("agent " << name);
    const auto legacy = server.get(name, "/health");
    REQUIRE(legacy.status == 200);
    CHECK(json_body(legacy).at("agent_id") == std::string(spec.health_id));
    const auto routed = server.get_gateway("/api/" + std::string(spec.prefix) + "/health");
    REQUIRE(routed.status == 200);
    CHECK(json_body(routed).at("agent_id") == std::string(spec.health_id));
  }
}

TEST_CASE("gateway prefixes are whole path segments", "[http][routing]") {
  test_server server;
  const auto hyphenated = server.get_gateway("/api/after-sales/health");
  REQUIRE(hyphenated.status == 200);
  CHECK(json_body(hyphenated).at("agent_id") == "after_sales_agent");

  for (const char* target : {"/api/unknown/x", "/api/orderx/health", "/api/", "/nothing/here"}) {
    INFO(target);
    const auto r = server.get_gateway(target);
    CHECK(r.status == 404);
    CHECK(r.body == fastapi_not_found);
    CHECK_THAT(r.header("content-type"), StartsWith("application/json"));
  }
}

TEST_CASE("every agent serves /, /openapi.json and /docs", "[http][platform]") {
  test_server server;
  const auto root = server.get("order", "/");
  REQUIRE(root.status == 200);
  const auto about = json_body(root);
  CHECK(about.at("name") == "Order Agent");
  CHECK(about.contains("version"));

  const auto openapi = server.get("order", "/openapi.json");
  REQUIRE(openapi.status == 200);
  CHECK_THAT(openapi.header("content-type"), StartsWith("application/json"));
  const auto doc = json_body(openapi);
  CHECK(doc.contains("openapi"));
  REQUIRE(doc.contains("paths"));
  CHECK(doc.at("paths").contains("/health"));
  CHECK(doc.at("paths").at("/health").contains("get"));

  const auto docs = server.get("order", "/docs");
  REQUIRE(docs.status == 200);
  CHECK_THAT(docs.header("content-type"), StartsWith("text/html"));
  CHECK_THAT(docs.body, Contains("openapi.json"));

  // The same document through the gateway prefix.
  const auto routed = server.get_gateway("/api/order/openapi.json");
  REQUIRE(routed.status == 200);
  CHECK(json_body(routed) == doc);
}

TEST_CASE("unknown paths answer FastAPI's 404, wrong methods 405 with Allow", "[http][errors]") {
  test_server server;
  const auto port = server.legacy_port("order");

  const auto missing = request(port, "GET", "/no/such/route");
  CHECK(missing.status == 404);
  CHECK(missing.body == fastapi_not_found);
  CHECK_THAT(missing.header("content-type"), StartsWith("application/json"));

  const auto wrong = request(port, "POST", "/health", R"({"x":1})");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow") == "GET, HEAD");
  CHECK(json_body(wrong).at("detail") == "Method Not Allowed");

  const auto routed = request(server.gateway_port(), "DELETE", "/api/order/health");
  CHECK(routed.status == 405);
  CHECK_THAT(routed.header("allow"), Contains("GET"));

  const auto own = request(server.gateway_port(), "POST", "/metrics");
  CHECK(own.status == 405);
  CHECK_THAT(own.header("allow"), Contains("GET"));
}

// RFC 9110 §9.3.2: HEAD gets the headers GET would get, Content-Length included, and no body. A
// body sent anyway would be read as the start of the next response on a keep-alive connection.
TEST_CASE("HEAD answers a GET route's headers without its body, and the connection stays usable", "[http]") {
  test_server server;
  for (const auto& [port, path] : std::vector<std::pair<uint16_t, std::string>>{
           {server.legacy_port("order"), "/health"},
           {server.gateway_port(), "/api/order/health"},
           {server.gateway_port(), "/health"}}) {  // the gateway's own
    CAPTURE(port, path);
    http_connection c{port};
    const auto get = c.request("GET", path);
    REQUIRE(get.status == 200);
    const auto head = c.request("HEAD", path);
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(std::stoul(head.header("content-length")) > 0);
    CHECK(head.header("content-type") == get.header("content-type"));
    const auto after = c.request("GET", path);  // framing intact: a whole JSON body
    CHECK(after.status == 200);
    CHECK(json_body(after).is_object());
  }
  http_connection c{server.legacy_port("order")};
  const auto missing = c.request("HEAD", "/no/such/route");  // an error's body is dropped too
  CHECK(missing.status == 404);
  CHECK(missing.body.empty());
  CHECK(c.request("GET", "/health").status == 200);
}

TEST_CASE("a NUL character in the target is 400 and in a JSON body 422, before any agent", "[http][errors]") {
  test_server server;
  const auto port = server.legacy_port("order");
  // Without the screen the agent would answer these (200 for /health, 405 for a POST to it).
  CHECK(request(port, "GET", "/health").status == 200);
  for (const auto* target : {"/health%00", "/health?x=a%00b", "/he%00alth"}) {
    const auto refused = request(port, "GET", target);
    INFO(target);
    CHECK(refused.status == 400);
    CHECK_THAT(json_body(refused).at("detail").get<std::string>(), Contains("%00"));
  }
  const auto nul = request(server.gateway_port(), "POST", "/api/order/health", R"({"name":"A\u0000B"})");
  CHECK(nul.status == 422);
  CHECK(json_body(nul).at("detail").at(0).at("type") == "value_error.nul_character");
  // An escaped backslash before "u0000" is literal text, not a NUL: the agent answers as usual.
  CHECK(request(server.gateway_port(), "POST", "/api/order/health", R"({"name":"A\\u0000B"})").status == 405);
}

TEST_CASE("CORS: preflights are answered and responses carry the allowed origin", "[http][cors]") {
  test_server server;
  const request_headers preflight{{"Origin", "https://shop.example"},
                                  {"Access-Control-Request-Method", "POST"},
                                  {"Access-Control-Request-Headers", "Content-Type"}};
  const request_headers simple{{"Origin", "https://shop.example"}};

  struct door {
    const char* what;
    uint16_t port;
    std::string path;
  };
  const door doors[] = {{"legacy port", server.legacy_port("order"), "/health"},
                        {"gateway prefix", server.gateway_port(), "/api/order/health"},
                        {"gateway endpoint", server.gateway_port(), "/health"}};
  for (const auto& d : doors) {
    INFO(d.what << " " << d.path);
    const auto pre = request(d.port, "OPTIONS", d.path, "", preflight);
    CHECK(pre.status == 204);
    CHECK(pre.header("access-control-allow-origin") == "*");
    CHECK_THAT(pre.header("access-control-allow-methods"), Contains("POST"));
    CHECK_THAT(pre.header("access-control-allow-headers"), Contains("Content-Type"));

    const auto get = request(d.port, "GET", d.path, "", simple);
    CHECK(get.status == 200);
    CHECK(get.header("access-control-allow-origin") == "*");
  }
  // Without an Origin there is nothing to allow.
  CHECK_FALSE(server.get("order", "/health").has_header("access-control-allow-origin"));
}

TEST_CASE("CORS with an origin list echoes allowed origins and refuses others", "[http][cors]") {
  test_server server([](config& c) { c.gateway.cors_allowed_origins = {"https://shop.example"}; });
  const auto port = server.legacy_port("order");

  const auto allowed = request(port, "OPTIONS", "/health", "",
                               {{"Origin", "https://shop.example"},
                                {"Access-Control-Request-Method", "GET"}});
  CHECK(allowed.status == 204);
  CHECK(allowed.header("access-control-allow-origin") == "https://shop.example");
  CHECK_THAT(allowed.header("vary"), Contains("Origin"));

  const auto refused = request(port, "OPTIONS", "/health", "",
                               {{"Origin", "https://evil.example"},
                                {"Access-Control-Request-Method", "GET"}});
  CHECK(refused.status == 403);
  CHECK_FALSE(refused.has_header("access-control-allow-origin"));

  const auto get = request(port, "GET", "/health", "", {{"Origin", "https://evil.example"}});
  CHECK(get.status == 200);
  CHECK_FALSE(get.has_header("access-control-allow-origin"));
}

TEST_CASE("gateway /health, /ready and /live", "[http][gateway]") {
  test_server server;
  const auto health = server.get_gateway("/health");
  REQUIRE(health.status == 200);
  const auto body = json_body(health);
  CHECK(body.at("status") == "healthy");
  CHECK(body.at("agents_total") == 26);
  CHECK(body.at("agents_running") == 26);
  REQUIRE(body.at("agents").size() == 26);
  for (const auto& a : body.at("agents")) {
    INFO(a.dump());
    CHECK(a.at("state") == "running");
  }
  CHECK(body.at("agents").at(20).at("prefix") == "/api/after-sales");

  const auto ready = server.get_gateway("/ready");
  CHECK(ready.status == 200);
  CHECK(json_body(ready).at("ready") == true);

  const auto live = server.get_gateway("/live");
  CHECK(live.status == 200);
  CHECK(json_body(live).at("status") == "alive");

  const auto openapi = server.get_gateway("/openapi.json");
  REQUIRE(openapi.status == 200);
  CHECK(json_body(openapi).at("paths").contains("/health"));
}

TEST_CASE("/metrics is Prometheus text and counts requests per agent", "[http][metrics]") {
  test_server server;
  for (int i = 0; i < 3; ++i) REQUIRE(server.get("order", "/health").status == 200);
  REQUIRE(server.get_gateway("/api/order/nope").status == 404);

  const auto metrics = server.get_gateway("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.header("content-type"), StartsWith("text/plain"));
  prometheus_text parsed;
  REQUIRE_NOTHROW(parsed = parse_prometheus(metrics.body));
  CHECK(parsed.types["mercato_http_requests_total"] == "counter");
  CHECK(parsed.types["mercato_agent_restarts_total"] == "counter");

  const auto ok = parsed.value("mercato_http_requests_total",
                               {{"agent", "order"}, {"method", "GET"}, {"status", "200"}});
  REQUIRE(ok);
  CHECK(*ok >= 3);
  const auto not_found = parsed.value("mercato_http_requests_total",
                                      {{"agent", "order"}, {"status", "404"}});
  REQUIRE(not_found);
  CHECK(*not_found >= 1);
  CHECK(parsed.value("mercato_agent_restarts_total", {{"agent", "order"}, {"reason", "crash"}}) ==
        0.0);
  CHECK(parsed.value("mercato_agent_up", {{"agent", "product"}}) == 1.0);
  CHECK(parsed.value("mercato_http_request_duration_seconds_count", {{"agent", "order"}}));
}

TEST_CASE("the Prometheus parser refuses malformed lines", "[http][metrics]") {
  const std::string typed = "# TYPE m counter\n";
  CHECK_NOTHROW(parse_prometheus(typed + "m{a=\"x\\\"y\",b=\"\"} 1.5e3\nm +Inf\n"));
  for (const char* bad : {"m 1\n", "# TYPE m counter\nm{a=\"x} 1\n", "# TYPE m counter\nm 1x\n",
                          "# TYPE m counter\nm{a=x} 1\n", "# TYPE m counter\n1m 1\n",
                          "# TYPE m counter\nm  1\n", "# TYPE m countr\n"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_prometheus(bad), std::invalid_argument);
  }
}
