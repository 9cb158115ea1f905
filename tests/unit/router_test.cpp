// Route matching, dispatch answers (404/405/400) and OpenAPI rendering of an agent's REST table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "http/router.hpp"

using mercato::http_request;
using mercato::http_response;
using mercato::http::router;

namespace {

// Dispatches and captures the answer synchronously.
http_response call(const router& r, std::string method, std::string path) {
  http_response out;
  out.status = -1;
  http_request req;
  req.method = std::move(method);
  req.path = std::move(path);
  r.dispatch(std::move(req), mercato::make_reply_channel([&](http_response&& resp) { out = resp; }));
  return out;
}

router sample_router() {
  router r;
  auto echo = [](const char* name) {
    return [name](mercato::http::request_context& c) {
      std::string body = std::string(name) + ":" + c.params.get("id");
      c.respond(http_response::json(200, body));
    };
  };
  r.add("GET", "/orders/{id}", "one order", echo("by_id"));
  r.add("GET", "/orders/stats", "statistics", echo("stats"));
  r.add("POST", "/orders", "create", echo("create"));
  r.add("GET", "/orders", "list", echo("list"));
  return r;
}

}  // namespace

TEST_CASE("literal segments win over placeholders whatever the declaration order") {
  auto r = sample_router();
  CHECK(call(r, "GET", "/orders/stats").body == "stats:");
  CHECK(call(r, "GET", "/orders/42").body == "by_id:42");
}

TEST_CASE("placeholders are percent-decoded") {
  auto r = sample_router();
  CHECK(call(r, "GET", "/orders/a%20b").body == "by_id:a b");
  CHECK(call(r, "GET", "/orders/%zz").status == 400);
}

TEST_CASE("a trailing slash matches the same route") {
  auto r = sample_router();
  CHECK(call(r, "GET", "/orders/").body == "list:");
}

TEST_CASE("unknown path answers 404 in FastAPI shape") {
  auto r = sample_router();
  auto resp = call(r, "GET", "/nothing/here");
  CHECK(resp.status == 404);
  CHECK(resp.body == R"({"detail":"Not Found"})");
}

TEST_CASE("known path with another method answers 405 with Allow") {
  auto r = sample_router();
  auto resp = call(r, "DELETE", "/orders");
  REQUIRE(resp.status == 405);
  REQUIRE(resp.headers.size() == 1);
  CHECK(resp.headers[0].first == "Allow");
  CHECK(resp.headers[0].second == "POST, GET, HEAD");
}

TEST_CASE("HEAD runs the GET route, a path without one answers 405") {
  router r;
  r.add("GET", "/orders", "list", [](mercato::http::request_context& c) { c.respond(http_response::json(200, "[]")); });
  r.add("POST", "/carts", "create", [](mercato::http::request_context& c) { c.respond(http_response::json(201, "{}")); });
  auto head = call(r, "HEAD", "/orders");
  CHECK(head.status == 200);
  CHECK(head.body == "[]");  // the gateway drops it on the wire and keeps its Content-Length
  auto no_get = call(r, "HEAD", "/carts");
  CHECK(no_get.status == 405);
  REQUIRE(no_get.headers.size() == 1);
  CHECK(no_get.headers[0].second == "POST");
}

TEST_CASE("openapi lists every route with its path parameters") {
  auto r = sample_router();
  auto doc = nlohmann::json::parse(r.openapi("Order Agent", "1.0", "/api/order"));
  CHECK(doc["openapi"] == "3.0.2");
  CHECK(doc["info"]["title"] == "Order Agent");
  REQUIRE(doc["paths"].contains("/api/order/orders/{id}"));
  auto params = doc["paths"]["/api/order/orders/{id}"]["get"]["parameters"];
  REQUIRE(params.size() == 1);
  CHECK(params[0]["name"] == "id");
  CHECK(doc["paths"]["/api/order/orders"].contains("post"));
  CHECK(doc["paths"]["/api/order/orders"]["post"].contains("requestBody"));
}

TEST_CASE("docs page escapes HTML") {
  router r;
  r.add("GET", "/x", "<script>", [](mercato::http::request_context&) {});
  auto page = mercato::http::docs_page("T&T", r.routes(), "openapi.json");
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(page.find("&lt;script&gt;") != std::string::npos);
  CHECK(page.find("T&amp;T") != std::string::npos);
}
