// HTTP tests of the connection layer: size limits (413, 431), malformed requests (400), slow and
// idle clients (408, idle close), keep-alive and pipelining.
#include <catch2/catch.hpp>

#include <string>

#include "server_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using Catch::Matchers::Contains;

namespace {

// Small limits, so that each one is cheap to cross.
void small_limits(config& c) {
  c.gateway.max_body_bytes = 1024;
  c.gateway.max_header_bytes = 2048;
  c.gateway.read_timeout = 300ms;
  c.gateway.keep_alive_idle_timeout = 500ms;
}

// Long enough for any of the server's deadlines above to pass several times over.
constexpr auto patience = 5s;

// The single response in `reply`, which must also have closed the connection.
http_result only_response_then_close(const raw_reply& reply) {
  INFO("raw reply: " << reply.bytes);
  CHECK(reply.closed_by_server);
  const auto responses = parse_responses(reply.bytes);
  REQUIRE(responses.size() == 1);
  return responses.front();
}

}  // namespace

TEST_CASE("a body over max_body_bytes gets 413 and the connection is closed", "[http][limits]") {
  test_server server(small_limits);
  const auto port = server.legacy_port("order");

  http_connection connection{port, patience};
  const auto refused = connection.request("POST", "/orders", std::string(1025, 'x'));
  CHECK(refused.status == 413);
  CHECK(json_body(refused).contains("detail"));
  CHECK(connection.read_until_close(patience).closed_by_server);

  // Through the gateway prefix too; a body of exactly the limit is not refused.
  CHECK(request(server.gateway_port(), "POST", "/api/order/orders", std::string(4096, 'x')).status ==
        413);
  CHECK(request(port, "POST", "/orders", std::string(1024, 'x')).status != 413);
}

TEST_CASE("a header over max_header_bytes gets 431 and the connection is closed",
          "[http][limits]") {
  test_server server(small_limits);
  http_connection connection{server.legacy_port("order"), patience};
  const auto refused =
      connection.request("GET", "/health", "", {{"X-Padding", std::string(3000, 'a')}});
  CHECK(refused.status == 431);
  CHECK(connection.read_until_close(patience).closed_by_server);

  // Headers within the limit are fine.
  CHECK(request(server.legacy_port("order"), "GET", "/health", "",
                {{"X-Padding", std::string(1000, 'a')}})
            .status == 200);
}

TEST_CASE("malformed requests get 400 and the connection is closed", "[http][limits]") {
  test_server server(small_limits);
  const auto port = server.legacy_port("order");
  for (const char* bytes :
       {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET /health FTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        "\x01\x02\x03\x04\r\n\r\n"}) {
    INFO("request: " << bytes);
    const auto r = only_response_then_close(raw_send(port, bytes, patience));
    CHECK(r.status == 400);
    CHECK(json_body(r).contains("detail"));
  }
  // A target that is not a path is a 400 as well (the request itself parsed).
  CHECK(request(server.gateway_port(), "GET", "health").status == 400);
}

TEST_CASE("a client that stalls mid-request gets 408 and the connection is closed",
          "[http][limits]") {
  test_server server(small_limits);
  SECTION("half a request line") {
    const auto r = only_response_then_close(raw_send(server.legacy_port("order"), "GET /hea",
                                                     patience));
    CHECK(r.status == 408);
  }
  SECTION("headers never finished, through the gateway") {
    const auto r = only_response_then_close(
        raw_send(server.gateway_port(), "GET /api/order/health HTTP/1.1\r\nHost: x\r\n", patience));
    CHECK(r.status == 408);
  }
}

TEST_CASE("idle connections are closed after keep_alive_idle_timeout", "[http][limits]") {
  test_server server(small_limits);
  SECTION("a connection that never sends anything gets no answer, only a close") {
    const auto reply = raw_send(server.legacy_port("order"), "", patience);
    CHECK(reply.closed_by_server);
    CHECK(reply.bytes.empty());
  }
  SECTION("a keep-alive connection that goes quiet after a request") {
    http_connection connection{server.gateway_port(), patience};
    REQUIRE(connection.request("GET", "/api/order/health").status == 200);
    const auto reply = connection.read_until_close(patience);
    CHECK(reply.closed_by_server);
    CHECK(reply.bytes.empty());
  }
}

TEST_CASE("keep-alive: many requests on one connection", "[http][keepalive]") {
  test_server server;
  SECTION("legacy port") {
    http_connection connection{server.legacy_port("order")};
    for (const char* target : {"/health", "/", "/no/such/route", "/openapi.json", "/health"}) {
      INFO(target);
      const auto r = connection.request("GET", target);
      CHECK((r.status == 200 || r.status == 404));
      CHECK(r.header("connection") != "close");
    }
    CHECK(connection.request("POST", "/health", "{}").status == 405);
    CHECK(connection.request("GET", "/health").status == 200);
  }
  SECTION("gateway port, several agents and the gateway's own endpoints") {
    http_connection connection{server.gateway_port()};
    for (const char* target : {"/api/order/health", "/api/product/health", "/health", "/metrics",
                               "/api/unknown/x", "/api/after-sales/health"}) {
      INFO(target);
      const auto r = connection.request("GET", target);
      CHECK((r.status == 200 || r.status == 404));
    }
  }
  SECTION("pipelined requests are answered in order; Connection: close ends it") {
    const auto reply = raw_send(server.legacy_port("order"),
                                "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                patience);
    CHECK(reply.closed_by_server);
    const auto responses = parse_responses(reply.bytes);
    REQUIRE(responses.size() == 3);
    CHECK(responses[0].status == 200);
    CHECK(responses[1].status == 404);
    CHECK(responses[2].status == 200);
    CHECK(responses[2].header("connection") == "close");
  }
  SECTION("HTTP/1.0 without keep-alive is closed after one answer") {
    const auto r = only_response_then_close(
        raw_send(server.legacy_port("order"), "GET /health HTTP/1.0\r\n\r\n", patience));
    CHECK(r.status == 200);
  }
}
